//! Byte-level helpers: a bounds-checked reader, a writer, base64url and hex
//! serde adapters shared by every wire structure.

use core::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// Encodes bytes as unpadded base64url (RFC 4648 §5), the text form of all
/// binary fields in frames and links.
pub fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes unpadded base64url; `what` names the field in the error.
pub fn b64_decode(what: &'static str, text: &str) -> Result<Vec<u8>> {
    B64.decode(text)
        .map_err(|e| Error::malformed(what, format!("not base64url: {e}")))
}

pub(crate) fn b64_array<const N: usize>(what: &'static str, text: &str) -> Result<[u8; N]> {
    let v = b64_decode(what, text)?;
    v.as_slice()
        .try_into()
        .map_err(|_| Error::malformed(what, format!("expected {N} bytes, got {}", v.len())))
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
