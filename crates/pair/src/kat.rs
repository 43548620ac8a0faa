//! Known-answer vectors for the pairing handshake (feature `kat`, for tests
//! only: it exposes session secrets).
//!
//! A vector fixes every random byte the handshake consumes (a *tape*, read in
//! the order the protocol draws randomness) and records every message and
//! derived secret. `crates/pair/tests/vectors/handshake.json` holds one; the
//! native tests and the wasm build in a browser both recompute it from the
//! tape and must match it byte for byte.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::handshake::{CodeCheck, Joiner};
use crate::{Approver, Capabilities, Group, IdentityKey, PairingOffer};

/// An RNG that hands out a fixed byte string, in order, and panics when it
/// runs out (a vector that needs more randomness is a broken vector).
#[derive(Debug)]
pub struct TapeRng {
    tape: Vec<u8>,
    pos: usize,
}

impl TapeRng {
    /// Reads from `tape`.
    pub fn new(tape: Vec<u8>) -> Self {
        Self { tape, pos: 0 }
    }
    /// Bytes consumed so far.
    pub fn used(&self) -> usize {
        self.pos
    }
}

impl RngCore for TapeRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let end = self.pos + dest.len();
        assert!(end <= self.tape.len(), "the randomness tape ran out");
        dest.copy_from_slice(&self.tape[self.pos..end]);
        self.pos = end;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TapeRng {}

/// Secrets of one handshake, as the joiner derived them.
#[derive(Clone, Debug)]
pub struct Secrets {
    /// Transcript hash after the hello.
    pub th1: [u8; 32],
    /// Transcript hash after the nonce reveal.
    pub th2: [u8; 32],
    /// Joiner-to-approver key.
    pub k_ja: [u8; 32],
    /// Approver-to-joiner key.
    pub k_aj: [u8; 32],
    /// X25519 shared secret.
    pub shared: [u8; 32],
}

/// The fixed inputs of a handshake vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// Every random byte, hex, in the order drawn: approver identity seed
    /// (32), group salt (16), group key (32), joiner identity seed (32),
    /// joiner X25519 secret (32), joiner nonce N_J (32), topic (32),
    /// approver X25519 secret (32), N_A (32), then a 24-byte nonce per
    /// encrypted message (join, confirm), the token id (16) and the welcome's
    /// nonce (24).
    pub tape: String,
    /// Relay URL in the offer (also the group's relay).
    pub relay: String,
    /// Clock (Unix seconds) for every step.
    pub now: u64,
    /// Offer lifetime (seconds).
    pub offer_lifetime: u64,
    /// Token lifetime (seconds).
    pub token_lifetime: u64,
    /// Names the two devices give themselves.
    pub approver_name: String,
    /// Name of the new device.
    pub joiner_name: String,
}

/// Everything the handshake produced, hex unless noted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Approver's Ed25519 public key.
    pub approver_identity: String,
    /// Joiner's Ed25519 public key.
    pub joiner_identity: String,
    /// Group id.
    pub group: String,
    /// The QR link (text).
    pub offer: String,
    /// `PairHello` envelope.
    pub hello: String,
    /// X25519 shared secret.
    pub shared: String,
    /// Transcript hash th1.
    pub th1: String,
    /// Joiner-to-approver key.
    pub k_ja: String,
    /// Approver-to-joiner key.
    pub k_aj: String,
    /// `PairJoin` envelope.
    pub join: String,
    /// Transcript hash th2.
    pub th2: String,
    /// The comparison code (6 digits).
    pub code: String,
    /// `PairConfirm` envelope.
    pub confirm: String,
    /// The session token issued to the joiner.
    pub token: String,
    /// `PairAccept` envelope carrying the welcome.
    pub accept: String,
    /// Random bytes consumed (must equal the tape's length).
    pub tape_used: usize,
}

/// A whole vector: inputs and the outputs they must give.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vector {
    /// Where the vector comes from and what it checks.
    pub source: String,
    /// Inputs.
    pub inputs: Inputs,
    /// Outputs.
    pub outputs: Outputs,
}

/// Runs the handshake on `inputs` and records every message and secret.
/// Panics on any protocol failure (the inputs are supposed to be good).
pub fn run(inputs: &Inputs) -> Outputs {
    let tape = hex::decode(&inputs.tape).expect("tape is hex");
    let mut rng = TapeRng::new(tape);
    let now = inputs.now;
    let phone = IdentityKey::generate(&mut rng);
    let mut group =
        Group::found(&phone, &inputs.approver_name, &inputs.relay, now, &mut rng).expect("found");
    let desk = IdentityKey::generate(&mut rng);
    let mut joiner =
        Joiner::new(&inputs.relay, now, inputs.offer_lifetime, &mut rng).expect("offer");
    let offer_text = joiner.offer().to_uri();
    let offer = PairingOffer::parse(&offer_text).expect("offer parses");
    let (mut approver, hello) = Approver::start(&offer, &phone, now, &mut rng).expect("hello");
    let (join, code) = joiner
        .on_hello(&hello, &desk, &inputs.joiner_name, now, &mut rng)
        .expect("join");
    let secrets = joiner.kat_secrets().expect("secrets after the hello");
    let request = approver.on_join(&join, now).expect("join accepted");
    assert!(
        request.code.matches(&code),
        "both sides derive the same code"
    );
    let confirm = joiner.confirm(true, &desk, &mut rng).expect("confirm");
    approver.on_confirm(&confirm).expect("confirm accepted");
    approver
        .user_decision(CodeCheck::Match)
        .expect("user confirms");
    let token = approver
        .issue_token(
            &group,
            &phone,
            Capabilities::ALL,
            inputs.token_lifetime,
            now,
            &mut rng,
        )
        .expect("token");
    let accept = approver
        .welcome(&mut group, &phone, &token, now, &mut rng)
        .expect("welcome");
    let welcome = joiner
        .on_accept(&accept, &desk, now)
        .expect("welcome accepted");
    assert_eq!(welcome.group.id(), group.id());
    Outputs {
        approver_identity: hex::encode(phone.public().0),
        joiner_identity: hex::encode(desk.public().0),
        group: group.id().to_hex(),
        offer: offer_text,
        hello: hex::encode(&hello),
        shared: hex::encode(secrets.shared),
        th1: hex::encode(secrets.th1),
        k_ja: hex::encode(secrets.k_ja),
        k_aj: hex::encode(secrets.k_aj),
        join: hex::encode(&join),
        th2: hex::encode(secrets.th2),
        code: code.to_string(),
        confirm: hex::encode(&confirm),
        token: hex::encode(token.encode()),
        accept: hex::encode(&accept),
        tape_used: rng.used(),
    }
}
