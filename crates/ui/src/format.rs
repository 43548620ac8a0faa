//! Amounts and identifiers formatted for people.
//!
//! Quantities arrive as hex (`0x…`, JSON-RPC) or decimal strings of any size
//! (uint256 token balances exceed `u128`), so conversion works on digit limbs.

use crate::{Error, Result};

/// Converts digits in base `from` (most significant first) to base `to`.
fn convert_base(digits: &[u32], from: u64, to: u64) -> Vec<u32> {
    // Little-endian limbs in base `to`.
    let mut out: Vec<u32> = Vec::new();
    for &d in digits {
        let mut carry = u64::from(d);
        for limb in out.iter_mut() {
            let v = u64::from(*limb) * from + carry;
            *limb = (v % to) as u32;
            carry = v / to;
        }
        while carry > 0 {
            out.push((carry % to) as u32);
            carry /= to;
        }
    }
    out.reverse();
    out
}

/// Reads a non-negative integer given as `0x` hex or plain decimal and returns
/// its canonical decimal digits (no leading zeros; `"0"` for zero).
pub fn to_decimal(quantity: &str) -> Result<String> {
    let q = quantity.trim();
    let (digits, base): (Vec<u32>, u64) =
        if let Some(hex) = q.strip_prefix("0x").or_else(|| q.strip_prefix("0X")) {
            if hex.is_empty() {
                return Ok("0".into());
            }
            let d = hex
                .chars()
                .map(|c| c.to_digit(16))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::Amount(format!("`{}` is not a hex number", clip(q))))?;
            (d, 16)
        } else {
            if q.is_empty() {
                return Err(Error::Amount("the amount is empty".into()));
            }
            let d = q
                .chars()
                .map(|c| c.to_digit(10))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::Amount(format!("`{}` is not a whole number", clip(q))))?;
            (d, 10)
        };
    if digits.len() > 80 {
        return Err(Error::Amount("the number is larger than 256 bits".into()));
    }
    let dec = convert_base(&digits, base, 10);
    let s: String = dec
        .iter()
        .skip_while(|&&d| d == 0)
        .map(|&d| char::from_digit(d, 10).unwrap_or('0'))
        .collect();
    Ok(if s.is_empty() { "0".into() } else { s })
}

/// Decimal digits to a `0x` hex quantity (JSON-RPC style, no leading zeros).
pub fn decimal_to_hex(decimal: &str) -> Result<String> {
    let dec = to_decimal(decimal)?;
    let digits: Vec<u32> = dec.chars().filter_map(|c| c.to_digit(10)).collect();
    let hex = convert_base(&digits, 10, 16);
    let s: String = hex
        .iter()
        .skip_while(|&&d| d == 0)
        .map(|&d| char::from_digit(d, 16).unwrap_or('0'))
        .collect();
    Ok(format!("0x{}", if s.is_empty() { "0" } else { &s }))
}

/// Compares two canonical decimal strings.
pub fn cmp_decimal(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// True if the quantity (decimal or hex, as a dapp or a node spells it) is
/// so large it means "no limit": at least 2^128, read by the wallet's own
/// rule (`tandem_wallet::decode::is_unlimited_word`, which the worker's
/// warning and the phone's policy use). Permit2's 2^160 - 1 is above it.
pub fn is_unlimited(quantity: &str) -> bool {
    decimal_to_hex(quantity).is_ok_and(|h| {
        let h = h.strip_prefix("0x").unwrap_or(&h);
        h.len() > 64 || tandem_wallet::decode::is_unlimited_word(&format!("{h:0>64}"))
    })
}

fn group_thousands(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a base-unit quantity (wei, token units) with `decimals`, showing at
/// most `max_frac` fraction digits (rounded down) and grouping thousands.
/// A non-zero amount too small to show becomes `<0.0001` (for `max_frac` 4).
pub fn format_units(quantity: &str, decimals: u8, max_frac: usize) -> Result<String> {
    let dec = to_decimal(quantity)?;
    let d = usize::from(decimals);
    let padded = if dec.len() <= d {
        format!("{}{}", "0".repeat(d + 1 - dec.len()), dec)
    } else {
        dec.clone()
    };
    let (int, frac) = padded.split_at(padded.len() - d);
    let shown: String = frac.chars().take(max_frac).collect();
    let shown = shown.trim_end_matches('0');
    let int = group_thousands(int);
    if shown.is_empty() {
        if int == "0" && dec != "0" {
            if max_frac == 0 {
                return Ok("<1".into());
            }
            return Ok(format!("<0.{}1", "0".repeat(max_frac - 1)));
        }
        Ok(int)
    } else {
        Ok(format!("{int}.{shown}"))
    }
}

/// Formats a native amount in its chain's `decimals` (18 for ether-like
/// currencies) with 4 fraction digits, plus the symbol.
pub fn format_native(wei: &str, decimals: u8, symbol: &str) -> String {
    match format_units(wei, decimals, 4) {
        Ok(v) => format!("{v} {symbol}"),
        Err(_) => format!("? {symbol}"),
    }
}

/// Parses a human decimal amount (`"1.5"`) into base units with `decimals`
/// (returns decimal digits). Rejects more fraction digits than `decimals`.
pub fn parse_units(amount: &str, decimals: u8) -> Result<String> {
    let a = amount.trim().replace(',', "");
    if a.is_empty() {
        return Err(Error::Amount("enter an amount".into()));
    }
    let (int, frac) = match a.split_once('.') {
        Some((i, f)) => (i, f),
        None => (a.as_str(), ""),
    };
    let ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !ok(int) || !ok(frac) || (int.is_empty() && frac.is_empty()) {
        return Err(Error::Amount(format!("`{}` is not a number", clip(&a))));
    }
    if frac.len() > usize::from(decimals) {
        return Err(Error::Amount(format!(
            "at most {decimals} digits after the decimal point"
        )));
    }
    let mut digits = String::from(int);
    digits.push_str(frac);
    digits.push_str(&"0".repeat(usize::from(decimals) - frac.len()));
    to_decimal(if digits.is_empty() { "0" } else { &digits })
}

/// Reads a quantity that must fit in `u128` (gas, fees, native values).
pub fn to_u128(quantity: &str) -> Result<u128> {
    to_decimal(quantity)?
        .parse::<u128>()
        .map_err(|_| Error::Amount("the number is too large".into()))
}

/// EIP-55 mixed-case checksum of a `0x` address; other input is returned
/// unchanged (it is shown, not trusted: the worker validates addresses).
pub fn checksum_address(address: &str) -> String {
    use sha3::{Digest, Keccak256};
    let a = address.trim();
    let Some(hex) = a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")) else {
        return a.to_owned();
    };
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return a.to_owned();
    }
    let lower = hex.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// `0x1234…abcd`: enough to recognise an address, short enough for a popup.
pub fn shorten_address(address: &str) -> String {
    let checked = checksum_address(address);
    let a = checked.as_str();
    if a.len() <= 13 || !a.is_char_boundary(6) || !a.is_char_boundary(a.len() - 4) {
        return a.to_owned();
    }
    format!("{}…{}", &a[..6], &a[a.len() - 4..])
}

/// `2 min ago`, `3 h ago`, ... from two millisecond timestamps.
pub fn relative_time(then_ms: f64, now_ms: f64) -> String {
    let secs = ((now_ms - then_ms) / 1000.0).max(0.0) as u64;
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// `1:42` for a number of seconds left (never negative).
pub fn clock(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1..=12, day, minutes into the day) of Unix seconds shifted
/// by `utc_offset_min` (the page's time zone: minutes east of UTC).
pub(crate) fn civil(unix_secs: u64, utc_offset_min: i32) -> (i64, usize, i64, i64) {
    let t = i64::try_from(unix_secs).unwrap_or(i64::MAX / 2) + i64::from(utc_offset_min) * 60;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Days to the proleptic Gregorian calendar: Howard Hinnant's
    // `civil_from_days` (howardhinnant.github.io/date_algorithms.html).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as usize, day, secs / 60)
}

/// `14 Mar 2025`: a calendar date in the page's time zone.
pub fn date(unix_secs: u64, utc_offset_min: i32) -> String {
    let (y, m, d, _) = civil(unix_secs, utc_offset_min);
    format!("{d} {} {y}", MONTHS[(m - 1) % 12])
}

/// `14 Mar 2025, 09:26`: date and time in the page's time zone.
pub fn date_time(unix_secs: u64, utc_offset_min: i32) -> String {
    let (_, _, _, min) = civil(unix_secs, utc_offset_min);
    format!(
        "{}, {:02}:{:02}",
        date(unix_secs, utc_offset_min),
        min / 60,
        min % 60
    )
}

/// Cuts untrusted text for error messages.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() > 24 {
        let head: String = s.chars().take(24).collect();
        format!("{head}…")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_decimal_agree() {
        assert_eq!(to_decimal("0x0").unwrap(), "0");
        assert_eq!(to_decimal("0x").unwrap(), "0");
        assert_eq!(
            to_decimal("0xde0b6b3a7640000").unwrap(),
            "1000000000000000000"
        );
        assert_eq!(to_decimal("000123").unwrap(), "123");
        // 2^256 - 1, from the uint256 definition.
        assert_eq!(
            to_decimal(&format!("0x{}", "f".repeat(64))).unwrap(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(
            decimal_to_hex("1000000000000000000").unwrap(),
            "0xde0b6b3a7640000"
        );
        assert_eq!(decimal_to_hex("0").unwrap(), "0x0");
    }

    #[test]
    fn bad_quantities_are_rejected_with_a_reason() {
        assert!(matches!(to_decimal("0xzz"), Err(Error::Amount(m)) if m.contains("hex")));
        assert!(matches!(to_decimal("12a"), Err(Error::Amount(m)) if m.contains("whole")));
        assert!(to_decimal("").is_err());
        assert!(to_decimal(&"9".repeat(81)).is_err());
        assert!(to_decimal("-1").is_err());
    }

    #[test]
    fn formats_units() {
        assert_eq!(format_units("0xde0b6b3a7640000", 18, 4).unwrap(), "1");
        assert_eq!(format_units("1500000000000000000", 18, 4).unwrap(), "1.5");
        assert_eq!(
            format_units("10000000000000000000000", 18, 4).unwrap(),
            "10,000"
        );
        assert_eq!(format_units("123456789", 6, 2).unwrap(), "123.45");
        assert_eq!(format_units("1", 18, 4).unwrap(), "<0.0001");
        assert_eq!(format_units("0", 18, 4).unwrap(), "0");
        assert_eq!(format_units("5", 0, 4).unwrap(), "5");
        assert_eq!(
            format_native("0x21e19e0c9bab2400000", 18, "ETH"),
            "10,000 ETH"
        );
        // A 6-decimal native currency (EIP-3085 allows any): 2.5 units.
        assert_eq!(format_native("0x2625a0", 6, "USDN"), "2.5 USDN");
    }

    #[test]
    fn parses_units_both_ways() {
        assert_eq!(parse_units("1.5", 9).unwrap(), "1500000000");
        assert_eq!(parse_units("0.000000001", 9).unwrap(), "1");
        assert_eq!(parse_units("2", 18).unwrap(), "2000000000000000000");
        assert_eq!(parse_units(".5", 1).unwrap(), "5");
        assert!(parse_units("1.0000000001", 9).is_err());
        assert!(parse_units("1e9", 9).is_err());
        assert!(parse_units("", 9).is_err());
        assert!(parse_units(".", 9).is_err());
        for s in ["0", "1", "123456789012345678901234567890"] {
            let f = format_units(&parse_units(s, 18).unwrap(), 18, 18).unwrap();
            assert_eq!(f.replace(',', ""), s);
        }
    }

    #[test]
    fn unlimited_threshold() {
        assert!(is_unlimited(&format!("0x{}", "f".repeat(64))));
        assert!(is_unlimited(&format!("0x{}", "f".repeat(40)))); // Permit2 uint160 max
        assert!(!is_unlimited("1000000000000000000000000"));
        assert!(!is_unlimited("garbage"));
    }

    #[test]
    fn eip55_checksums() {
        // The test vectors listed in EIP-55 (eips.ethereum.org/EIPS/eip-55).
        for v in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            assert_eq!(checksum_address(&v.to_lowercase()), v);
            assert_eq!(checksum_address(&v.to_uppercase().replace("0X", "0x")), v);
        }
        assert_eq!(checksum_address("0x1234"), "0x1234");
        assert_eq!(checksum_address("not an address"), "not an address");
    }

    #[test]
    fn shortens_addresses() {
        assert_eq!(
            shorten_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            "0xf39F…2266"
        );
        assert_eq!(shorten_address("0x1234"), "0x1234");
    }

    #[test]
    fn calendar_dates() {
        // 2025-03-14T09:26:53Z (checked with `date -u -d @1741944413`).
        assert_eq!(date(1_741_944_413, 0), "14 Mar 2025");
        assert_eq!(date_time(1_741_944_413, 0), "14 Mar 2025, 09:26");
        assert_eq!(date_time(1_741_944_413, 60), "14 Mar 2025, 10:26");
        assert_eq!(date_time(1_741_944_413, -600), "13 Mar 2025, 23:26");
        assert_eq!(date(0, 0), "1 Jan 1970");
        // A leap day: 2024-02-29T12:00:00Z.
        assert_eq!(date(1_709_208_000, 0), "29 Feb 2024");
        assert_eq!(clock(102), "1:42");
        assert_eq!(clock(5), "0:05");
        assert_eq!(clock(600), "10:00");
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative_time(0.0, 30_000.0), "just now");
        assert_eq!(relative_time(0.0, 120_000.0), "2 min ago");
        assert_eq!(relative_time(0.0, 7_200_000.0), "2 h ago");
        assert_eq!(relative_time(10.0, 0.0), "just now");
    }
}
