//! Sign-In with Ethereum (EIP-4361, eips.ethereum.org/EIPS/eip-4361): a
//! `personal_sign` message that follows its ABNF is shown as a sign-in
//! (site, account, statement, URI, chain, nonce, times as dates), and checked
//! against the origin the browser reported for the request: a message that
//! signs the user in to another site is phishing, and says so loudly, as
//! MetaMask does. The spec's "Wallet Implementer Steps" ask exactly this:
//! check the whole message against the ABNF, match `domain` against the
//! request's source, warn when the sign-in phrase appears in a message that
//! does not conform.
//!
//! The ABNF (section "ABNF Message Format"), with RFC 3986 for `authority`,
//! `URI` and `pchar` and RFC 3339 for `date-time`:
//!
//! ```text
//! sign-in-with-ethereum =
//!     [ scheme "://" ] domain %s" wants you to sign in with your Ethereum account:" LF
//!     address LF
//!     LF
//!     [ statement LF ]
//!     LF
//!     %s"URI: " uri LF
//!     %s"Version: " version LF
//!     %s"Chain ID: " chain-id LF
//!     %s"Nonce: " nonce LF
//!     %s"Issued At: " issued-at
//!     [ LF %s"Expiration Time: " expiration-time ]
//!     [ LF %s"Not Before: " not-before ]
//!     [ LF %s"Request ID: " request-id ]
//!     [ LF %s"Resources:" resources ]
//! address = "0x" 40*40HEXDIG   ; EIP-55 checksummed where applicable
//! statement = *( reserved / unreserved / " " )
//! version = "1"
//! chain-id = 1*DIGIT
//! nonce = 8*( ALPHA / DIGIT )
//! request-id = *pchar
//! resources = *( LF resource )
//! resource = "- " URI
//! ```

use crate::view::{el, El};

/// The phrase that makes a message a sign-in request.
pub const PHRASE: &str = "wants you to sign in with your Ethereum account";
const HEADER_END: &str = " wants you to sign in with your Ethereum account:";
/// Longest message parsed (the spec leaves maximum lengths to implementers).
pub const MAX_LEN: usize = 16 * 1024;

/// An RFC 3339 `date-time` as written, and its Unix time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime {
    /// As the message wrote it.
    pub raw: String,
    /// Seconds since 1970 (UTC).
    pub unix: i64,
}

/// A message that follows the ABNF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `scheme` before `domain`, if given.
    pub scheme: Option<String>,
    /// The site the user signs in to (an RFC 3986 authority).
    pub domain: String,
    /// The account that signs in.
    pub address: String,
    /// What the user agrees to, if anything.
    pub statement: Option<String>,
    /// The resource the sign-in is for.
    pub uri: String,
    /// Always `1`.
    pub version: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The site's replay protection.
    pub nonce: String,
    /// When the message was made.
    pub issued_at: DateTime,
    /// When the signature stops being valid.
    pub expiration_time: Option<DateTime>,
    /// When the signature starts being valid.
    pub not_before: Option<DateTime>,
    /// The site's id for the request.
    pub request_id: Option<String>,
    /// URIs the sign-in covers.
    pub resources: Vec<String>,
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~".contains(c)
}
fn is_sub_delim(c: char) -> bool {
    "!$&'()*+,;=".contains(c)
}
fn is_reserved(c: char) -> bool {
    ":/?#[]@".contains(c) || is_sub_delim(c)
}

/// Percent signs are followed by two hex digits (RFC 3986 `pct-encoded`).
fn pct_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

fn scheme_ok(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic())
        && cs.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// RFC 3986 `authority`: `[ userinfo "@" ] host [ ":" port ]`.
fn authority_ok(s: &str) -> bool {
    let (userinfo, hostport) = match s.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    let user_ok = userinfo.is_none_or(|u| {
        u.chars()
            .all(|c| is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '%')
            && pct_ok(u)
    });
    let Some((host, port)) = split_host_port(hostport) else {
        return false;
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner.strip_suffix(']').is_some_and(|ip| {
            !ip.is_empty()
                && ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || ":.".contains(c))
        })
    } else {
        host.chars()
            .all(|c| is_unreserved(c) || is_sub_delim(c) || c == '%')
            && pct_ok(host)
    };
    user_ok && host_ok && port.is_none_or(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// `(host, port)` of `host[:port]` (IPv6 literals in brackets).
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.starts_with('[') {
        let end = s.find(']')?;
        let rest = &s[end + 1..];
        return match rest.strip_prefix(':') {
            Some(p) => Some((&s[..=end], Some(p))),
            None if rest.is_empty() => Some((s, None)),
            None => None,
        };
    }
    Some(match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

/// RFC 3986 `URI`: `scheme ":" hier-part [ "?" query ] [ "#" fragment ]`,
/// checked for its scheme, its characters and, with `//`, its authority.
fn uri_ok(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let chars_ok = rest
        .chars()
        .all(|c| is_unreserved(c) || is_reserved(c) || c == '%')
        && pct_ok(rest)
        && rest.matches('#').count() <= 1;
    let auth_ok = rest.strip_prefix("//").is_none_or(|r| {
        let end = r.find(['/', '?', '#']).unwrap_or(r.len());
        authority_ok(&r[..end])
    });
    scheme_ok(scheme) && chars_ok && auth_ok
}

/// Days from 1970-01-01 to a proleptic Gregorian date: Howard Hinnant's
/// `days_from_civil` (howardhinnant.github.io/date_algorithms.html), the
/// inverse of `format::civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn date_time(s: &str) -> Result<DateTime, String> {
    let bad = || format!("`{}` is not an RFC 3339 date-time", crate::format::clip(s));
    let b = s.as_bytes();
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, sec) = (num(11..13), num(14..16), num(17..19));
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (y, mo, d, h, mi, sec) else {
        return Err(bad());
    };
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            let sign = match rb.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            if rb.len() != 6 || rb[3] != b':' {
                return Err(bad());
            }
            let (Some(oh), Some(om)) = (num(s.len() - 5..s.len() - 3), num(s.len() - 2..s.len()))
            else {
                return Err(bad());
            };
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad());
    }
    Ok(DateTime {
        raw: s.to_owned(),
        unix: days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset,
    })
}

/// Whether `text` claims to be a sign-in request (the spec asks wallets to
/// warn when such a message does not conform).
pub fn mentions_sign_in(text: &str) -> bool {
    text.contains(PHRASE)
}

/// The `[scheme "://"] domain` a message's first line claims, read loosely,
/// for messages that do not follow the ABNF (a phishing page need not
/// follow it either).
pub fn claimed_site(text: &str) -> Option<&str> {
    let first = text.split('\n').next()?;
    first.strip_suffix(HEADER_END).filter(|s| !s.is_empty())
}

/// Parses `text` per the ABNF; the error says which term does not conform.
pub fn parse(text: &str) -> Result<Message, String> {
    if text.len() > MAX_LEN {
        return Err(format!("longer than {MAX_LEN} bytes"));
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let line = |i: usize| lines.get(i).copied();
    let site = line(0).and_then(|l| l.strip_suffix(HEADER_END)).ok_or(
        "the first line is not `<domain> wants you to sign in with your Ethereum account:`",
    )?;
    let (scheme, domain) = match site.split_once("://") {
        Some((sc, d)) => (Some(sc), d),
        None => (None, site),
    };
    if scheme.is_some_and(|sc| !scheme_ok(sc)) {
        return Err(format!(
            "`{}` is not a URI scheme",
            scheme.unwrap_or_default()
        ));
    }
    if domain.is_empty() || !authority_ok(domain) {
        return Err(format!(
            "`{}` is not a domain (an RFC 3986 authority)",
            crate::format::clip(domain)
        ));
    }
    let address = line(1).unwrap_or_default();
    let hex = address.strip_prefix("0x").unwrap_or_default();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("the second line is not a 0x address of 40 hex digits".into());
    }
    let mixed =
        hex.chars().any(|c| c.is_ascii_uppercase()) && hex.chars().any(|c| c.is_ascii_lowercase());
    if mixed && crate::format::checksum_address(address) != address {
        return Err("the address's capitals are not its EIP-55 checksum".into());
    }
    if line(2) != Some("") {
        return Err("an empty line must follow the address".into());
    }
    let (statement, mut i) = match (line(3), line(4)) {
        (Some(""), Some(l)) if l.starts_with("URI: ") => (None, 4),
        (Some(st), Some("")) => {
            if !st
                .chars()
                .all(|c| is_reserved(c) || is_unreserved(c) || c == ' ')
            {
                return Err(
                    "the statement holds characters EIP-4361 does not allow (it allows \
                     letters, digits, spaces and URI punctuation)"
                        .into(),
                );
            }
            (Some(st.to_owned()), 5)
        }
        _ => return Err("the statement must be one line between empty lines".into()),
    };
    let mut field = |name: &str| -> Result<&str, String> {
        let v = line(i)
            .and_then(|l| l.strip_prefix(name))
            .ok_or_else(|| format!("`{}` is missing or out of order", name.trim_end()))?;
        i += 1;
        Ok(v)
    };
    let uri = field("URI: ")?;
    if !uri_ok(uri) {
        return Err(format!("`{}` is not a URI", crate::format::clip(uri)));
    }
    let version = field("Version: ")?;
    if version != "1" {
        return Err(format!(
            "version `{}` is not 1",
            crate::format::clip(version)
        ));
    }
    let chain = field("Chain ID: ")?;
    let chain_id = chain
        .bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| chain.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| format!("chain id `{}` is not a number", crate::format::clip(chain)))?;
    let nonce = field("Nonce: ")?;
    if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("the nonce must be at least 8 letters or digits".into());
    }
    let issued_at = date_time(field("Issued At: ")?)?;
    let mut optional = |name: &str| -> Option<&str> {
        let v = line(i)?.strip_prefix(name)?;
        i += 1;
        Some(v)
    };
    let expiration_time = optional("Expiration Time: ").map(date_time).transpose()?;
    let not_before = optional("Not Before: ").map(date_time).transpose()?;
    let request_id = optional("Request ID: ").map(str::to_owned);
    if let Some(r) = &request_id {
        let pchar = |c: char| is_unreserved(c) || is_sub_delim(c) || ":@%".contains(c);
        if !r.chars().all(pchar) || !pct_ok(r) {
            return Err("the request id holds characters a URI path cannot".into());
        }
    }
    let mut resources = Vec::new();
    if line(i) == Some("Resources:") {
        i += 1;
        while let Some(l) = line(i) {
            let r = l
                .strip_prefix("- ")
                .filter(|r| uri_ok(r))
                .ok_or_else(|| format!("resource `{}` is not `- <URI>`", crate::format::clip(l)))?;
            resources.push(r.to_owned());
            i += 1;
        }
    }
    if let Some(extra) = line(i) {
        return Err(format!(
            "unexpected line `{}` after the last field",
            crate::format::clip(extra)
        ));
    }
    Ok(Message {
        scheme: scheme.map(str::to_owned),
        domain: domain.to_owned(),
        address: address.to_owned(),
        statement,
        uri: uri.to_owned(),
        version: version.to_owned(),
        chain_id,
        nonce: nonce.to_owned(),
        issued_at,
        expiration_time,
        not_before,
        request_id,
        resources,
    })
}

/// An origin or URL split for comparison: scheme, host (lowercase) and the
/// port, explicit or the scheme's default.
#[derive(Debug, PartialEq, Eq)]
struct Site {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// `[scheme "://"] [userinfo "@"] host [":" port] [path...]`.
fn site(s: &str) -> Option<Site> {
    let (scheme, rest) = match s.split_once("://") {
        Some((sc, r)) if scheme_ok(sc) => (Some(sc.to_ascii_lowercase()), r),
        _ => (None, s),
    };
    let auth = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let hostport = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let (host, port) = split_host_port(hostport)?;
    let port = match port {
        Some(p) => Some(p.parse().ok()?),
        None => scheme.as_deref().and_then(default_port),
    };
    (!host.is_empty()).then(|| Site {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// Whether a message's `[scheme://]domain` (or a URI) names `origin`, the
/// site the browser says asked: same host, same port (a missing one is the
/// origin scheme's default), same scheme when one is given.
pub fn same_site(claimed: &str, origin: &str) -> bool {
    let (Some(c), Some(o)) = (site(claimed), site(origin)) else {
        return false;
    };
    let port = c
        .port
        .or_else(|| o.scheme.as_deref().and_then(default_port));
    c.host == o.host && port == o.port && c.scheme.is_none_or(|s| Some(s) == o.scheme)
}

/// A finding about a sign-in message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable id (`siwe-domain-mismatch`, ...), the warning's `data-testid`.
    pub id: &'static str,
    /// Loud (phishing, another account) or a caution.
    pub danger: bool,
    /// Text for the user.
    pub message: String,
}

/// What the approval window says about `text`, signed by `signer` for a
/// request from `origin`, with the wallet on `chain` at `now` (Unix seconds).
pub fn findings(
    text: &str,
    origin: &str,
    signer: &str,
    chain: Option<u64>,
    now: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |id, danger, message: String| {
        out.push(Finding {
            id,
            danger,
            message,
        })
    };
    let phishing = |claimed: &str| {
        format!(
            "This message signs you in to {claimed}, but the request comes from {origin}. \
             A site asking you to sign in to another site is a phishing attempt: reject it."
        )
    };
    match parse(text) {
        Ok(m) => {
            let claimed = match &m.scheme {
                Some(s) => format!("{s}://{}", m.domain),
                None => m.domain.clone(),
            };
            if !same_site(&claimed, origin) {
                add("siwe-domain-mismatch", true, phishing(&claimed));
            }
            if !same_site(&m.uri, origin) {
                add(
                    "siwe-uri-mismatch",
                    true,
                    format!(
                        "The sign-in is for {}, which is not {origin}, the site asking.",
                        m.uri
                    ),
                );
            }
            if !m.address.eq_ignore_ascii_case(signer) {
                add(
                    "siwe-address-mismatch",
                    true,
                    format!(
                        "The message names the account {}, but {} is the account that would \
                         sign it.",
                        m.address,
                        crate::format::checksum_address(signer)
                    ),
                );
            }
            if let Some(c) = chain.filter(|c| *c != m.chain_id) {
                add(
                    "siwe-chain-mismatch",
                    false,
                    format!(
                        "The message is for chain {}; the wallet is on chain {c}.",
                        m.chain_id
                    ),
                );
            }
            if let Some(e) = m.expiration_time.as_ref().filter(|e| e.unix <= now) {
                add(
                    "siwe-expired",
                    false,
                    format!("This sign-in expired at {}.", shown_time(e)),
                );
            }
            if let Some(nb) = m.not_before.as_ref().filter(|nb| nb.unix > now) {
                add(
                    "siwe-not-yet",
                    false,
                    format!("This sign-in is valid only from {}.", shown_time(nb)),
                );
            }
        }
        Err(why) if mentions_sign_in(text) => {
            if let Some(claimed) = claimed_site(text).filter(|c| !same_site(c, origin)) {
                add("siwe-domain-mismatch", true, phishing(claimed));
            }
            add(
                "siwe-malformed",
                false,
                format!(
                    "This message says it signs you in with your Ethereum account, but it does \
                     not follow the Sign-In with Ethereum format (EIP-4361): {why}. Tandem cannot \
                     show it as a sign-in; read it in full."
                ),
            );
        }
        Err(_) => {}
    }
    out
}

/// A date-time as `YYYY-MM-DD HH:MM:SS UTC`, or as written if it is not one
/// (before 1970 or after 9999).
pub fn shown_time(t: &DateTime) -> String {
    u64::try_from(t.unix)
        .ok()
        .and_then(|s| crate::reveal::utc(&s.to_string()))
        .unwrap_or_else(|| t.raw.clone())
}

/// The approval window's sign-in card, for a message that follows the ABNF.
pub fn card(m: &Message) -> El {
    let row = |label: &str, value: String, id: &str| crate::view::kv(label, value, id);
    el("section")
        .class("card")
        .tid("siwe-card")
        .child(el("h2").text("Sign in with Ethereum"))
        .child(row(
            "Site",
            match &m.scheme {
                Some(s) => format!("{s}://{}", m.domain),
                None => m.domain.clone(),
            },
            "siwe-domain",
        ))
        .child(row("Account", m.address.clone(), "siwe-address"))
        .maybe(
            m.statement
                .as_ref()
                .map(|s| row("Statement", s.clone(), "siwe-statement")),
        )
        .child(row("URI", m.uri.clone(), "siwe-uri"))
        .child(row("Chain ID", m.chain_id.to_string(), "siwe-chain"))
        .child(row("Nonce", m.nonce.clone(), "siwe-nonce"))
        .child(row("Issued at", shown_time(&m.issued_at), "siwe-issued"))
        .maybe(
            m.expiration_time
                .as_ref()
                .map(|t| row("Expires", shown_time(t), "siwe-expires")),
        )
        .maybe(
            m.not_before
                .as_ref()
                .map(|t| row("Not before", shown_time(t), "siwe-not-before")),
        )
        .maybe(
            m.request_id
                .as_ref()
                .map(|r| row("Request ID", r.clone(), "siwe-request-id")),
        )
        .maybe((!m.resources.is_empty()).then(|| {
            el("div")
                .class("kv")
                .child(el("span").class("k").text("Resources"))
                .child(
                    el("ul")
                        .class("v mono")
                        .tid("siwe-resources")
                        .children(m.resources.iter().map(|r| el("li").text(r.clone()))),
                )
        }))
}

/// The findings as a warning list (`data-testid` = the finding's id).
pub fn warnings(fs: &[Finding]) -> Option<El> {
    (!fs.is_empty()).then(|| {
        el("ul")
            .class("warnings")
            .attr("role", "alert")
            .children(fs.iter().map(|f| {
                el("li")
                    .class(if f.danger { "warn danger" } else { "warn" })
                    .tid(f.id)
                    .text(f.message.clone())
            }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EIP-4361's example message (section "Example message"), verbatim.
    const EXAMPLE: &str = "example.com wants you to sign in with your Ethereum account:\n\
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\
\n\
I accept the ExampleOrg Terms of Service: https://example.com/tos\n\
\n\
URI: https://example.com/login\n\
Version: 1\n\
Chain ID: 1\n\
Nonce: 32891756\n\
Issued At: 2021-09-30T16:25:24Z\n\
Resources:\n\
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n\
- https://example.com/my-web2-claim.json";

    const SIGNER: &str = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";
    const NOW: i64 = 1_633_019_124; // 2021-09-30T16:25:24Z

    #[test]
    fn parses_the_eip_example() {
        let m = parse(EXAMPLE).unwrap();
        assert_eq!(m.scheme, None);
        assert_eq!(m.domain, "example.com");
        assert_eq!(m.address, SIGNER);
        assert_eq!(
            m.statement.as_deref(),
            Some("I accept the ExampleOrg Terms of Service: https://example.com/tos")
        );
        assert_eq!(m.uri, "https://example.com/login");
        assert_eq!((m.version.as_str(), m.chain_id), ("1", 1));
        assert_eq!(m.nonce, "32891756");
        assert_eq!(m.issued_at.unix, NOW);
        assert_eq!(shown_time(&m.issued_at), "2021-09-30 16:25:24 UTC");
        assert_eq!(m.resources.len(), 2);
        assert!(findings(EXAMPLE, "https://example.com", SIGNER, Some(1), NOW).is_empty());
    }

    /// EIP-4361's example with the optional scheme and a port
    /// (`https://example.com:3388`, as in the EIP's ABNF revision that
    /// added `[ scheme "://" ]`), and every optional field.
    #[test]
    fn parses_scheme_port_and_optional_fields() {
        let text = EXAMPLE
            .replace("example.com wants", "https://example.com:3388 wants")
            .replace(
                "URI: https://example.com/login",
                "URI: https://example.com:3388/login",
            )
            .replace(
                "Issued At: 2021-09-30T16:25:24Z",
                "Issued At: 2021-09-30T18:25:24.123+02:00\nExpiration Time: 2021-10-01T00:00:00Z\n\
                 Not Before: 2021-09-30T16:00:00Z\nRequest ID: req-1:a@b",
            );
        let m = parse(&text).unwrap();
        assert_eq!(m.scheme.as_deref(), Some("https"));
        assert_eq!(m.domain, "example.com:3388");
        assert_eq!(m.issued_at.unix, NOW, "the +02:00 offset is applied");
        assert_eq!(
            shown_time(m.expiration_time.as_ref().unwrap()),
            "2021-10-01 00:00:00 UTC"
        );
        assert_eq!(m.request_id.as_deref(), Some("req-1:a@b"));
        assert!(findings(&text, "https://example.com:3388", SIGNER, Some(1), NOW).is_empty());
        // The same site without its port, or over http, is not the site.
        let ids = |o: &str| -> Vec<&str> {
            findings(&text, o, SIGNER, Some(1), NOW)
                .iter()
                .map(|f| f.id)
                .collect()
        };
        assert_eq!(
            ids("https://example.com"),
            ["siwe-domain-mismatch", "siwe-uri-mismatch"]
        );
        assert_eq!(
            ids("http://example.com:3388"),
            ["siwe-domain-mismatch", "siwe-uri-mismatch"]
        );
    }

    /// Messages viem 2.57's `createSiweMessage` wrote (viem/siwe, run in
    /// Node with these fields): a real dapp library's output parses.
    #[test]
    fn parses_what_viem_writes() {
        let with = "127.0.0.1:5173 wants you to sign in with your Ethereum account:\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\nSign in to the Tandem test dapp.\n\nURI: http://127.0.0.1:5173/login\nVersion: 1\nChain ID: 31337\nNonce: n0nce12345678\nIssued At: 2026-11-30T20:00:00.000Z\nExpiration Time: 2099-01-01T00:00:00.000Z\nResources:\n- https://docs.example/terms";
        let m = parse(with).unwrap();
        assert_eq!((m.domain.as_str(), m.chain_id), ("127.0.0.1:5173", 31337));
        assert_eq!(shown_time(&m.issued_at), "2026-11-30 20:00:00 UTC");
        assert_eq!(m.resources, ["https://docs.example/terms"]);
        let without = "app.uniswap.org wants you to sign in with your Ethereum account:\n0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n\n\nURI: https://app.uniswap.org/login\nVersion: 1\nChain ID: 1\nNonce: abcdefgh12345\nIssued At: 2026-11-30T20:00:00.000Z";
        assert_eq!(parse(without).unwrap().statement, None);
    }

    #[test]
    fn a_message_without_a_statement_parses() {
        let text = EXAMPLE.replace(
            "\nI accept the ExampleOrg Terms of Service: https://example.com/tos\n",
            "\n",
        );
        let m = parse(&text).unwrap();
        assert_eq!(m.statement, None);
        assert_eq!(m.uri, "https://example.com/login");
    }

    #[test]
    fn another_sites_sign_in_is_flagged_as_phishing_naming_both() {
        let f = findings(EXAMPLE, "https://evil.example", SIGNER, Some(1), NOW);
        assert_eq!(f[0].id, "siwe-domain-mismatch");
        assert!(f[0].danger);
        assert!(
            f[0].message.contains("example.com") && f[0].message.contains("https://evil.example")
        );
        assert_eq!(f[1].id, "siwe-uri-mismatch");
        // Look-alikes: a subdomain, a suffix, userinfo.
        assert!(!same_site("example.com", "https://example.com.evil.io"));
        assert!(!same_site("example.com", "https://login.example.com"));
        assert!(!same_site("example.com@evil.io", "https://example.com"));
        assert!(same_site("EXAMPLE.com", "https://example.com"));
        assert!(same_site("127.0.0.1:5173", "http://127.0.0.1:5173"));
        assert!(!same_site("127.0.0.1", "http://127.0.0.1:5173"));
        assert!(same_site("[::1]:80", "http://[::1]"));
    }

    #[test]
    fn another_account_an_expired_message_and_another_chain_are_flagged() {
        let other = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let ids: Vec<_> = findings(EXAMPLE, "https://example.com", other, Some(10), NOW)
            .into_iter()
            .map(|f| (f.id, f.danger))
            .collect();
        assert_eq!(
            ids,
            [
                ("siwe-address-mismatch", true),
                ("siwe-chain-mismatch", false)
            ]
        );
        let expiring = EXAMPLE.replace(
            "Issued At: 2021-09-30T16:25:24Z",
            "Issued At: 2021-09-30T16:25:24Z\nExpiration Time: 2021-09-30T16:30:00Z",
        );
        let late = findings(
            &expiring,
            "https://example.com",
            SIGNER,
            Some(1),
            NOW + 3600,
        );
        assert_eq!(late[0].id, "siwe-expired");
        assert!(late[0].message.contains("2021-09-30 16:30:00 UTC"));
    }

    #[test]
    fn messages_that_do_not_conform_say_why_and_still_check_the_domain() {
        let cases = [
            (EXAMPLE.replace("Version: 1", "Version: 2"), "version"),
            (EXAMPLE.replace("Nonce: 32891756", "Nonce: 1234"), "nonce"),
            (EXAMPLE.replace("0xC02aaA39", "0xc02aaA39"), "EIP-55"),
            (EXAMPLE.replace("16:25:24Z", "16:25:24"), "RFC 3339"),
            (EXAMPLE.replace("2021-09-30T", "2021-02-30T"), "RFC 3339"),
            (EXAMPLE.replace("Terms", "T\u{202e}erms"), "statement"),
            (
                EXAMPLE.replace("\nURI: https://example.com/login", ""),
                "URI",
            ),
            (format!("{EXAMPLE}\n"), "resource"),
            (EXAMPLE.replace("Chain ID: 1", "Chain ID: one"), "chain id"),
            (EXAMPLE.replace("URI: https://", "URI: https ://"), "URI"),
        ];
        for (text, what) in &cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(what), "{what}: {err}");
            let f = findings(text, "https://evil.example", SIGNER, Some(1), NOW);
            let ids: Vec<_> = f.iter().map(|f| f.id).collect();
            assert_eq!(ids, ["siwe-domain-mismatch", "siwe-malformed"], "{what}");
            let ok = findings(text, "https://example.com", SIGNER, Some(1), NOW);
            assert_eq!(
                ok.len(),
                1,
                "{what}: only the format warning on the right site"
            );
        }
        // Not a sign-in at all: nothing to say.
        assert!(findings("Hello", "https://a.example", SIGNER, None, NOW).is_empty());
    }

    #[test]
    fn dates_convert_both_ways() {
        for (s, unix) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:00:00Z", 951_825_600),
            ("2021-09-30T16:25:24z", NOW),
            ("2021-09-30t11:25:24-05:00", NOW),
        ] {
            assert_eq!(date_time(s).unwrap().unix, unix, "{s}");
        }
        for s in [
            "2021-13-01T00:00:00Z",
            "2021-09-30T24:00:00Z",
            "2021-09-30T16:25:24+2:00",
            "2021-09-30 16:25:24Z",
        ] {
            assert!(date_time(s).is_err(), "{s}");
        }
    }

    /// The approval window as the worker makes it (crate::chain's helpers
    /// run the real controller), for a sign-in message from the test site.
    mod window {
        use crate::chain::tests::{ask, page, text, worker, A0, A1, SITE};
        use crate::view::view;
        use serde_json::json;

        fn sign_in(domain: &str, address: &str) -> String {
            format!(
                "{domain} wants you to sign in with your Ethereum account:\n{address}\n\n\
                 Sign in to the test dapp.\n\nURI: http://{domain}/login\nVersion: 1\n\
                 Chain ID: 31337\nNonce: abcdef123456\nIssued At: 2026-11-30T20:00:00Z\n\
                 Expiration Time: 2026-11-30T21:00:00Z"
            )
        }

        #[test]
        fn a_sign_in_for_this_site_is_a_structured_card_without_warnings() {
            let mut w = worker();
            let host = SITE.strip_prefix("http://").unwrap();
            let id = ask(&mut w, "personal_sign", json!([sign_in(host, A0), A0]));
            let ui = page(&w, id);
            assert_eq!(text(&ui, "siwe-domain"), host);
            assert_eq!(text(&ui, "siwe-address"), A0);
            assert_eq!(text(&ui, "siwe-statement"), "Sign in to the test dapp.");
            assert_eq!(text(&ui, "siwe-chain"), "31337");
            assert_eq!(text(&ui, "siwe-nonce"), "abcdef123456");
            assert_eq!(text(&ui, "siwe-issued"), "2026-11-30 20:00:00 UTC");
            assert_eq!(text(&ui, "siwe-expires"), "2026-11-30 21:00:00 UTC");
            let v = view(&ui, "");
            assert!(v.find("siwe-domain-mismatch").is_none());
            assert!(v.find("siwe-address-mismatch").is_none());
        }

        #[test]
        fn a_sign_in_for_another_site_or_account_is_warned_about_naming_both() {
            let mut w = worker();
            let id = ask(
                &mut w,
                "personal_sign",
                json!([sign_in("app.uniswap.org", A1), A0]),
            );
            let ui = page(&w, id);
            let warn = text(&ui, "siwe-domain-mismatch");
            assert!(
                warn.contains("app.uniswap.org") && warn.contains(SITE),
                "{warn}"
            );
            assert!(text(&ui, "siwe-address-mismatch").contains(A1));
            assert_eq!(text(&ui, "siwe-domain"), "app.uniswap.org");
        }

        #[test]
        fn hidden_characters_are_escaped_and_warned_about() {
            let mut w = worker();
            let id = ask(
                &mut w,
                "personal_sign",
                json!(["Send 1 ETH to \u{202e}0x1234\u{200b}", A0]),
            );
            let ui = page(&w, id);
            assert_eq!(
                text(&ui, "sign-message"),
                "Send 1 ETH to ⟨U+202E⟩0x1234⟨U+200B⟩"
            );
            assert!(text(&ui, "sign-hidden-warning").contains("2 hidden characters"));
            // In typed data too, and the contract and chain get their own rows.
            let td = json!({
                "types": {
                    "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                    "M": [{"name": "note", "type": "string"}]
                },
                "primaryType": "M",
                "domain": {"chainId": 31337, "verifyingContract": "0xcccccccccccccccccccccccccccccccccccccccc"},
                "message": {"note": "ok\u{202e}kaerb"}
            });
            let id = ask(&mut w, "eth_signTypedData_v4", json!([A0, td]));
            let ui = page(&w, id);
            assert_eq!(text(&ui, "typed-field-message.note"), "ok⟨U+202E⟩kaerb");
            assert!(view(&ui, "").text_content().contains("hidden character"));
            assert_eq!(
                text(&ui, "typed-verifying-contract"),
                "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
            );
            assert_eq!(
                text(&ui, "typed-domain-chain"),
                "Localhost 8545 · chain 31337"
            );
        }
    }
}
