//! Envelopes: the opaque payloads devices publish through the relay.
//!
//! ```text
//! header = version u8 (=1) | kind u8 | topic [32] | sender device id [16]
//!        | epoch u32 | seq u64                                   (62 bytes)
//! envelope = header | body [| signature [64] for signed kinds]
//! ```
//!
//! Encrypted bodies are ChaCha20-Poly1305 with AAD = the whole header (so
//! version, type, topic, sender, epoch and sequence are all authenticated)
//! and nonce = `0u32 ‖ seq` under a key used by one sender only. Signed
//! kinds carry an Ed25519 signature over
//! `u16 len‖"tandem/envelope/v1" ‖ header ‖ body`.

use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    ChaCha20Poly1305, Nonce,
};
use zeroize::Zeroizing;

use crate::frame::MAX_PAYLOAD_BYTES;
use crate::identity::{IdentityKey, IdentityPublic, Signature, Topic};
use crate::wire::{Reader, Writer};
use crate::{DeviceId, Error, Result, PROTOCOL_VERSION};

const WHAT: &str = "envelope";
const SIG_DOMAIN: &[u8] = b"tandem/envelope/v1";
/// Header length in bytes.
pub const HEADER_LEN: usize = 1 + 1 + 32 + 16 + 4 + 8;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// What an envelope carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum EnvelopeKind {
    /// Pairing step 1, approver -> new device, plaintext: approver's
    /// ephemeral X25519 key and nonce.
    PairHello,
    /// Pairing step 2, new device -> approver, encrypted: nonce reveal,
    /// identity, signature.
    PairJoin,
    /// Pairing step 3, approver -> new device, encrypted: welcome or decline.
    PairAccept,
    /// A group message under the group key, signed by the sender.
    Group,
    /// A new group key sealed to one device's X25519 key, signed by the sender.
    KeyUpdate,
}

impl EnvelopeKind {
    fn to_u8(self) -> u8 {
        match self {
            Self::PairHello => 1,
            Self::PairJoin => 2,
            Self::PairAccept => 3,
            Self::Group => 4,
            Self::KeyUpdate => 5,
        }
    }
    fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            1 => Self::PairHello,
            2 => Self::PairJoin,
            3 => Self::PairAccept,
            4 => Self::Group,
            5 => Self::KeyUpdate,
            _ => return Err(Error::malformed(WHAT, format!("unknown kind {v}"))),
        })
    }
    /// Whether the envelope ends with the sender's signature.
    pub fn is_signed(self) -> bool {
        matches!(self, Self::Group | Self::KeyUpdate)
    }
}

/// The authenticated header of every envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// Message type.
    pub kind: EnvelopeKind,
    /// Pairing topic, group topic, or recipient's device topic.
    pub topic: Topic,
    /// Sending device (all zero in `PairHello`, before identities are known).
    pub sender: DeviceId,
    /// Group key epoch (0 in pairing).
    pub epoch: u32,
    /// Sender's sequence number; strictly increasing per sender and key.
    pub seq: u64,
}

impl Header {
    /// The 62 header bytes (also the AEAD associated data).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut w = Writer::default();
        w.u8(PROTOCOL_VERSION)
            .u8(self.kind.to_u8())
            .raw(&self.topic.0)
            .raw(&self.sender.0)
            .u32(self.epoch)
            .u64(self.seq);
        w.0.try_into().expect("header is fixed size")
    }

    fn nonce(&self) -> Nonce {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&self.seq.to_be_bytes());
        Nonce::from(n)
    }
}

/// A parsed envelope (not yet decrypted or verified).
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Header.
    pub header: Header,
    /// Ciphertext (with tag) or, for `PairHello`, plaintext.
    pub body: Vec<u8>,
    /// Sender's signature, for signed kinds.
    pub signature: Option<Signature>,
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("header", &self.header)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Envelope {
    /// Parses bytes received from the relay.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::versioned(WHAT, bytes, MAX_PAYLOAD_BYTES)?;
        let header = Header {
            kind: EnvelopeKind::from_u8(r.u8()?)?,
            topic: Topic(r.array()?),
            sender: DeviceId(r.array()?),
            epoch: r.u32()?,
            seq: r.u64()?,
        };
        let rest = r.rest();
        let (body, signature) = if header.kind.is_signed() {
            if rest.len() < 64 {
                return Err(Error::malformed(WHAT, "missing signature"));
            }
            let (b, s) = rest.split_at(rest.len() - 64);
            (b, Some(Signature(s.try_into().expect("64 bytes"))))
        } else {
            (rest, None)
        };
        if header.kind != EnvelopeKind::PairHello && body.len() < TAG_LEN {
            return Err(Error::malformed(WHAT, "ciphertext shorter than its tag"));
        }
        Ok(Self {
            header,
            body: body.to_vec(),
            signature,
        })
    }

    /// Bytes to publish.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len() + 64);
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(&self.body);
        if let Some(s) = &self.signature {
            out.extend_from_slice(&s.0);
        }
        out
    }

    /// Builds a plaintext envelope (only `PairHello` is sent this way).
    pub(crate) fn plain(header: Header, body: Vec<u8>) -> Self {
        Self {
            header,
            body,
            signature: None,
        }
    }

    /// Encrypts `plaintext` under `key` with AAD = header.
    pub fn seal(key: &[u8; 32], header: Header, plaintext: &[u8]) -> Self {
        let body = ChaCha20Poly1305::new(key.into())
            .encrypt(
                &header.nonce(),
                Payload {
                    msg: plaintext,
                    aad: &header.encode(),
                },
            )
            .expect("encryption of bounded input cannot fail");
        Self {
            header,
            body,
            signature: None,
        }
    }

    /// Decrypts with `key`; any change to header or body fails with
    /// [`Error::Tampered`].
    pub fn open(&self, key: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>> {
        ChaCha20Poly1305::new(key.into())
            .decrypt(
                &self.header.nonce(),
                Payload {
                    msg: &self.body,
                    aad: &self.header.encode(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut w = Writer::with_domain(SIG_DOMAIN);
        w.raw(&self.header.encode()).raw(&self.body);
        w.0
    }

    /// Adds the sender's signature (signed kinds).
    pub fn sign(mut self, sender: &IdentityKey) -> Self {
        self.signature = Some(sender.sign(&self.signed_message()));
        self
    }

    /// Verifies the sender's signature, and that the header names that sender.
    pub fn verify(&self, sender: &IdentityPublic) -> Result<()> {
        if sender.device_id() != self.header.sender {
            return Err(Error::BadSignature(WHAT));
        }
        let sig = self
            .signature
            .as_ref()
            .ok_or_else(|| Error::malformed(WHAT, "missing signature"))?;
        sender.verify(WHAT, &self.signed_message(), sig)
    }
}

/// Rejects replayed and reordered messages from one sender under one key:
/// sequence numbers must strictly increase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayGuard {
    last: Option<u64>,
}

impl ReplayGuard {
    /// Fails unless `seq` is above every sequence accepted so far. Call only
    /// after the message authenticated, or a forger could advance the window.
    pub fn accept(&mut self, seq: u64) -> Result<()> {
        if let Some(last) = self.last {
            if seq <= last {
                return Err(Error::Replay { seq, last });
            }
        }
        self.last = Some(seq);
        Ok(())
    }

    /// Highest sequence accepted.
    pub fn last(&self) -> Option<u64> {
        self.last
    }
}

/// Hands out strictly increasing sequence numbers for one sender and key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SequenceCounter {
    next: u64,
}

impl SequenceCounter {
    /// The next sequence number.
    pub fn take(&mut self) -> Result<u64> {
        let s = self.next;
        self.next = s.checked_add(1).ok_or(Error::SequenceExhausted)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(seq: u64) -> Header {
        Header {
            kind: EnvelopeKind::PairJoin,
            topic: Topic([4; 32]),
            sender: DeviceId([5; 16]),
            epoch: 0,
            seq,
        }
    }

    #[test]
    fn seal_open_and_tamper() {
        let key = [9u8; 32];
        let env = Envelope::seal(&key, header(3), b"hello");
        let bytes = env.encode();
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(&*back.open(&key).unwrap(), b"hello");
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x04;
            match Envelope::decode(&b) {
                Ok(e) => assert_eq!(e.open(&key).unwrap_err(), Error::Tampered, "byte {i}"),
                Err(e) => assert!(
                    matches!(e.kind(), "malformed" | "unsupported_version"),
                    "{e}"
                ),
            }
        }
        assert_eq!(back.open(&[8u8; 32]).unwrap_err(), Error::Tampered);
        assert!(Envelope::decode(&bytes[..HEADER_LEN + 3]).is_err());
        assert!(Envelope::decode(&[]).is_err());
    }

    #[test]
    fn rfc8439_aead_vector() {
        // RFC 8439 §2.8.2: ChaCha20-Poly1305 AEAD test vector (checks the
        // primitive this module relies on; our nonce layout differs).
        let key: [u8; 32] =
            hex::decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
                .unwrap()
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = hex::decode("070000004041424344454647")
            .unwrap()
            .try_into()
            .unwrap();
        let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let ct = ChaCha20Poly1305::new((&key).into())
            .encrypt(&Nonce::from(nonce), Payload { msg: pt, aad: &aad })
            .unwrap();
        assert_eq!(
            hex::encode(&ct[pt.len()..]),
            "1ae10b594f09e26a7e902ecbd0600691"
        );
        assert_eq!(hex::encode(&ct[..16]), "d31a8d34648e60db7b86afbc53ef7ec2");
    }

    #[test]
    fn replay_guard_requires_strict_increase() {
        let mut g = ReplayGuard::default();
        g.accept(0).unwrap();
        g.accept(5).unwrap();
        assert_eq!(g.accept(5), Err(Error::Replay { seq: 5, last: 5 }));
        assert_eq!(g.accept(1), Err(Error::Replay { seq: 1, last: 5 }));
        g.accept(6).unwrap();
        let mut c = SequenceCounter::default();
        assert_eq!((c.take().unwrap(), c.take().unwrap()), (0, 1));
    }
}
