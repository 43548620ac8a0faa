//! Envelopes: the opaque payloads devices publish through the relay.
//!
//! ```text
//! header = version u8 (=2) | kind u8 | topic [32] | sender device id [16]
//!        | epoch u32 | seq u64                                   (62 bytes)
//! envelope = header | body [| signature [64] for signed kinds]
//! body (encrypted kinds) = nonce [24] | XChaCha20-Poly1305 ciphertext and tag
//! ```
//!
//! Encrypted bodies are XChaCha20-Poly1305 with AAD = the whole header (so
//! version, type, topic, sender, epoch and sequence are all authenticated)
//! and a fresh random 192-bit nonce from the caller's CSPRNG. Nonces never
//! depend on state a device could lose: a device restored from an old backup
//! still cannot repeat a (key, nonce) pair. Signed kinds carry an Ed25519
//! signature over `u16 len‖"tandem/envelope/v2" ‖ header ‖ body`.
//!
//! Sequence numbers serve ordering and replay detection only: receivers keep
//! a bounded window per sender ([`ReplayWindow`]), and senders take them from
//! a counter that never falls behind the clock ([`SequenceCounter::take`]).

use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::frame::MAX_PAYLOAD_BYTES;
use crate::identity::{IdentityKey, IdentityPublic, Signature, Topic};
use crate::wire::{Reader, Writer};
use crate::{DeviceId, Error, Result, PROTOCOL_VERSION};

const WHAT: &str = "envelope";
const SIG_DOMAIN: &[u8] = b"tandem/envelope/v2";
/// Header length in bytes.
pub const HEADER_LEN: usize = 1 + 1 + 32 + 16 + 4 + 8;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// XChaCha20 nonce length (random per message, carried before the ciphertext).
pub const NONCE_LEN: usize = 24;

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
    /// Pairing step 4, approver -> new device, encrypted: welcome or decline.
    PairAccept,
    /// Pairing step 3, new device -> approver, encrypted: whether the new
    /// device's user confirmed that the two codes match.
    PairConfirm,
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
            Self::PairConfirm => 6,
        }
    }
    fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            1 => Self::PairHello,
            2 => Self::PairJoin,
            3 => Self::PairAccept,
            4 => Self::Group,
            5 => Self::KeyUpdate,
            6 => Self::PairConfirm,
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
    /// Sender's sequence number (ordering and replay detection).
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
}

/// A parsed envelope (not yet decrypted or verified).
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Header.
    pub header: Header,
    /// Nonce, ciphertext and tag or, for `PairHello`, plaintext.
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
        let min = match header.kind {
            EnvelopeKind::PairHello => 0,
            // An ephemeral X25519 key precedes the sealed part.
            EnvelopeKind::KeyUpdate => 32 + NONCE_LEN + TAG_LEN,
            _ => NONCE_LEN + TAG_LEN,
        };
        if body.len() < min {
            return Err(Error::malformed(
                WHAT,
                "body shorter than its nonce and tag",
            ));
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

    /// Encrypts `plaintext` under `key` with AAD = header and a random nonce.
    pub fn seal(
        key: &[u8; 32],
        header: Header,
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        Self {
            header,
            body: seal_body(key, &header, plaintext, rng),
            signature: None,
        }
    }

    /// Decrypts with `key`; any change to header or body fails with
    /// [`Error::Tampered`].
    pub fn open(&self, key: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>> {
        open_body(key, &self.header, &self.body)
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

/// `nonce ‖ XChaCha20-Poly1305(key, nonce, AAD = header, plaintext)`.
pub(crate) fn seal_body(
    key: &[u8; 32],
    header: &Header,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let ct = XChaCha20Poly1305::new(key.into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &header.encode(),
            },
        )
        .expect("encryption of bounded input cannot fail");
    let mut body = Vec::with_capacity(NONCE_LEN + ct.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&ct);
    body
}

/// Opens what [`seal_body`] made.
pub(crate) fn open_body(
    key: &[u8; 32],
    header: &Header,
    body: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(Error::Tampered);
    }
    let (nonce, ct) = body.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ct,
                aad: &header.encode(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Tampered)
}

/// How many recent sequence numbers a [`ReplayWindow`] remembers.
pub const REPLAY_WINDOW: usize = 64;

/// Rejects replayed messages from one sender under one key while accepting
/// messages that arrive out of order: it remembers the last
/// [`REPLAY_WINDOW`] sequence numbers it accepted, and refuses anything at
/// or below the oldest one it had to forget.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayWindow {
    /// Everything at or below this was forgotten and is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    floor: Option<u64>,
    /// Increasing, no repeats (serialized as the `BTreeSet` it once was).
    #[serde(deserialize_with = "sorted_set")]
    seen: Vec<u64>,
}

/// Reads what a `BTreeSet<u64>` reads (a sequence in any order, repeats
/// allowed) into a sorted `Vec` without repeats.
fn sorted_set<'de, D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Vec<u64>, D::Error> {
    let mut v = Vec::new();
    for s in <Vec<u64> as serde::Deserialize>::deserialize(d)? {
        if let Err(at) = v.binary_search(&s) {
            v.insert(at, s);
        }
    }
    Ok(v)
}

impl ReplayWindow {
    /// Whether `seq` would be accepted (nothing is recorded).
    pub fn check(&self, seq: u64) -> Result<()> {
        let replay = || Error::Replay {
            seq,
            last: self.seen.last().copied().or(self.floor).unwrap_or(0),
        };
        if self.floor.is_some_and(|f| seq <= f) || self.seen.binary_search(&seq).is_ok() {
            return Err(replay());
        }
        Ok(())
    }

    /// Records `seq`; fails if it was seen or is too old. Call only after
    /// the message authenticated, or a forger could fill the window.
    pub fn accept(&mut self, seq: u64) -> Result<()> {
        self.check(seq)?;
        let at = self.seen.partition_point(|s| *s < seq);
        self.seen.insert(at, seq);
        if self.seen.len() > REPLAY_WINDOW {
            self.floor = Some(self.seen.remove(0));
        }
        Ok(())
    }

    /// Highest sequence accepted.
    pub fn last(&self) -> Option<u64> {
        self.seen.last().copied()
    }
}

/// Hands out increasing sequence numbers for one sender. Each number is at
/// least `now · 2^20`, so a device restored from an older copy of its state
/// (whose counter went back) still numbers its messages above everything it
/// sent before, as long as its clock moved forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SequenceCounter {
    next: u64,
}

impl SequenceCounter {
    /// The next sequence number at `now` (Unix seconds).
    pub fn take(&mut self, now: u64) -> Result<u64> {
        let s = self.next.max(now.saturating_mul(1 << 20));
        self.next = s.checked_add(1).ok_or(Error::SequenceExhausted)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

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
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let env = Envelope::seal(&key, header(3), b"hello", &mut rng);
        let again = Envelope::seal(&key, header(3), b"hello", &mut rng);
        assert_ne!(
            env.body[..NONCE_LEN],
            again.body[..NONCE_LEN],
            "fresh nonce per message"
        );
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
    fn xchacha20poly1305_draft_vector() {
        // draft-irtf-cfrg-xchacha-03 §A.3.1: the AEAD_XChaCha20_Poly1305 test
        // vector (checks the primitive this module relies on).
        let key: [u8; 32] =
            hex::decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
                .unwrap()
                .try_into()
                .unwrap();
        let nonce: [u8; NONCE_LEN] =
            hex::decode("404142434445464748494a4b4c4d4e4f5051525354555657")
                .unwrap()
                .try_into()
                .unwrap();
        let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let ct = XChaCha20Poly1305::new((&key).into())
            .encrypt(&XNonce::from(nonce), Payload { msg: pt, aad: &aad })
            .unwrap();
        assert_eq!(
            hex::encode(&ct[pt.len()..]),
            "c0875924c1c7987947deafd8780acf49"
        );
        assert_eq!(hex::encode(&ct[..16]), "bd6d179d3e83d43b9576579493c0e939");
    }

    #[test]
    fn replay_window_takes_reordered_messages_once() {
        let mut g = ReplayWindow::default();
        g.accept(5).unwrap();
        g.accept(1).unwrap(); // late, but new
        assert_eq!(g.accept(5), Err(Error::Replay { seq: 5, last: 5 }));
        assert_eq!(g.accept(1).unwrap_err().kind(), "replay");
        g.accept(6).unwrap();
        // Past the window, the oldest are forgotten and refused for good.
        for s in 100..100 + REPLAY_WINDOW as u64 {
            g.accept(s).unwrap();
        }
        // 1, 5 and 6 were forgotten: the floor is now 6.
        assert_eq!(g.accept(2).unwrap_err().kind(), "replay");
        assert_eq!(g.accept(6).unwrap_err().kind(), "replay", "at the floor");
        g.accept(7).unwrap(); // above the floor, never seen: a late message
        assert_eq!(g.last(), Some(99 + REPLAY_WINDOW as u64));
    }

    #[test]
    fn sequence_numbers_never_fall_behind_the_clock() {
        let mut c = SequenceCounter::default();
        let a = c.take(1_000).unwrap();
        let b = c.take(1_000).unwrap();
        assert_eq!((a, b), (1_000 << 20, (1_000 << 20) + 1));
        // A state restored from before `a` was taken, a second later.
        let mut restored = SequenceCounter::default();
        assert!(restored.take(1_001).unwrap() > b);
        let mut full = SequenceCounter { next: u64::MAX };
        assert_eq!(full.take(0).unwrap_err().kind(), "sequence_exhausted");
    }
}
