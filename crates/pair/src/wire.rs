//! Byte-level helpers: a bounds-checked reader, a writer, base64url and hex
//! serde adapters shared by every wire structure.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

// base64url by hand: the `base64` crate's engine is ~5 KB of wasm for what
// is two loops here. Same output, and the same inputs accepted as its
// `URL_SAFE_NO_PAD` (no padding, no non-zero trailing bits); the tests
// below compare the two.
const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes bytes as unpadded base64url (RFC 4648 §5), the text form of all
/// binary fields in frames and links.
pub fn b64_encode(bytes: &[u8]) -> String {
    // Bytes first, one String at the end: a `char` pushed at a time cost
    // the device module 3.6 s of a 23 s profile (a state of megabytes
    // encoded again and again; scripts/bench-snapshot).
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            n |= u32::from(*b) << (16 - 8 * i);
        }
        for i in 0..=chunk.len() {
            out.push(B64_ALPHABET[(n >> (18 - 6 * i)) as usize & 63]);
        }
    }
    // The alphabet is ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// Decodes unpadded base64url; `what` names the field in the error.
pub fn b64_decode(what: &'static str, text: &str) -> Result<Vec<u8>> {
    let bad = |detail: String| Error::malformed(what, format!("not base64url: {detail}"));
    let input = text.as_bytes();
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    for (c, chunk) in input.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            let v = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => return Err(bad(format!("Invalid symbol {b}, offset {}.", 4 * c + i))),
            };
            n |= u32::from(v) << (18 - 6 * i);
        }
        // Bits below the last whole byte must be zero (canonical form).
        let (len, rest) = match chunk.len() {
            4 => (3, 0),
            3 => (2, n & 0xff),
            2 => (1, n & 0xffff),
            _ => return Err(bad(format!("Invalid input length: {}", input.len()))),
        };
        if rest != 0 {
            let at = 4 * c + chunk.len() - 1;
            return Err(bad(format!(
                "Invalid last symbol {}, offset {at}.",
                input[at]
            )));
        }
        out.extend_from_slice(&n.to_be_bytes()[1..=len]);
    }
    Ok(out)
}

pub(crate) fn b64_array<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N]> {
    let v = b64_decode(what, text)?;
    v.as_slice()
        .try_into()
        .map_err(|_| Error::malformed(what, format!("expected {N} bytes, got {}", v.len())))
}

/// Parses JSON bytes with the text parser (`serde_json::from_str`): every
/// JSON input in the wasm modules goes through `from_str`, so each type's
/// deserializer is compiled once, not once per input kind (`from_slice`
/// would instantiate a second copy of all of them). Accepts exactly what
/// `from_slice` accepts (JSON text is UTF-8 either way).
pub fn json_from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let text = core::str::from_utf8(bytes)
        .map_err(|e| <serde_json::Error as serde::de::Error>::custom(format_args!("{e}")))?;
    serde_json::from_str(text)
}

/// Opaque bytes carried in a JSON frame as base64url text.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    // Payloads are ciphertext, but logs should still never carry them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&b64_encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        b64_decode("bytes", &s)
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

/// Appends fields in the canonical binary layout (big-endian integers,
/// u16-length-prefixed variable fields).
#[derive(Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn with_domain(domain: &[u8]) -> Self {
        let mut w = Self(Vec::with_capacity(256));
        w.var(domain);
        w
    }
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// u16 length prefix, then the bytes. Callers bound lengths first.
    pub(crate) fn var(&mut self, v: &[u8]) -> &mut Self {
        let len = u16::try_from(v.len()).expect("variable fields are bounded below 64 KiB");
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(v);
        self
    }
}

/// Reads fields back, failing with a clear error instead of panicking on
/// short or long input.
pub(crate) struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Self { what, buf }
    }
    /// A reader over a versioned encoding: refuses input longer than `max`
    /// before parsing anything, then reads and checks the version byte.
    pub(crate) fn versioned(what: &'static str, buf: &'a [u8], max: usize) -> Result<Self> {
        if buf.len() > max {
            return Err(Error::TooLarge {
                what,
                len: buf.len(),
                max,
            });
        }
        let mut r = Self::new(what, buf);
        let version = r.u8()?;
        if version != crate::PROTOCOL_VERSION {
            return Err(Error::UnsupportedVersion {
                what,
                version,
                supported: crate::PROTOCOL_VERSION,
            });
        }
        Ok(r)
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(Error::malformed(
                self.what,
                format!("truncated: needed {n} more bytes, {} left", self.buf.len()),
            ));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("length checked by take"))
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub(crate) fn var(&mut self, max: usize) -> Result<&'a [u8]> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        if len > max {
            return Err(Error::malformed(
                self.what,
                format!("field of {len} bytes exceeds {max}"),
            ));
        }
        self.take(len)
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }
    pub(crate) fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::malformed(
                self.what,
                format!("{} unexpected trailing bytes", self.buf.len()),
            ))
        }
    }
}

/// Defines a fixed-size public identifier shown as lowercase hex.
macro_rules! hex_id {
    ($(#[$m:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses lowercase or uppercase hex of exactly the right length.
            pub fn from_hex(text: &str) -> $crate::Result<Self> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(text.trim(), &mut out).map_err(|_| {
                    $crate::Error::malformed(
                        $what,
                        format!("expected {} hex characters", 2 * $len),
                    )
                })?;
                Ok(Self(out))
            }

            /// Fresh random id.
            pub fn random(rng: &mut impl rand_core::CryptoRngCore) -> Self {
                let mut out = [0u8; $len];
                rng.fill_bytes(&mut out);
                Self(out)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl core::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                Self::from_hex(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> core::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use hex_id;

/// Defines a fixed-size public byte string shown as base64url.
macro_rules! b64_id {
    ($(#[$m:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Unpadded base64url.
            pub fn to_b64(&self) -> String {
                $crate::wire::b64_encode(&self.0)
            }

            /// Parses unpadded base64url of exactly the right length.
            pub fn from_b64(text: &str) -> $crate::Result<Self> {
                $crate::wire::b64_array($what, text).map(Self)
            }

            /// Fresh random value.
            pub fn random(rng: &mut impl rand_core::CryptoRngCore) -> Self {
                let mut out = [0u8; $len];
                rng.fill_bytes(&mut out);
                Self(out)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.to_b64())
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_b64())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_b64())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> core::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_b64(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use b64_id;

#[cfg(test)]
mod b64_tests {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use proptest::prelude::*;

    fn same(text: &str) {
        let ours = super::b64_decode("x", text).ok();
        let theirs = URL_SAFE_NO_PAD.decode(text).ok();
        assert_eq!(ours, theirs, "{text:?}");
    }

    #[test]
    fn edge_cases_match_the_base64_crate() {
        for text in [
            "", "A", "AA", "AB", "AAA", "AAB", "AAAA", "AAAAA", "AQ", "AR", "AQE", "AQF", "AAAA=",
            "AA==", "AAA=", "A===", "=", "+/+/", "-_-_", "AA AA", " AAA", "AAA\n", "\u{e9}AA",
            "QUJD", "QUJDRA", "QUJDRB", "QUJDRA==",
        ] {
            same(text);
        }
    }

    proptest! {
        #[test]
        fn encodes_like_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..70)) {
            let text = super::b64_encode(&bytes);
            prop_assert_eq!(&text, &URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(super::b64_decode("x", &text).unwrap(), bytes);
        }

        #[test]
        fn decodes_like_the_base64_crate(text in "[A-Za-z0-9_=+/ -]{0,13}") {
            same(&text);
        }

        #[test]
        fn decodes_the_alphabet_like_the_base64_crate(text in "[A-Za-z0-9_-]{0,13}") {
            same(&text);
        }
    }
}
