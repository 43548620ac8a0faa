//! Devices in memory for the protocol tests: a pairing run end to end, and
//! small helpers. Every random choice comes from a seeded ChaCha20 RNG whose
//! seed the test names, so a failure replays exactly.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use rand_chacha::rand_core::SeedableRng;
pub use rand_chacha::ChaCha20Rng;
use tandem_pair::*;

pub const RELAY: &str = "ws://127.0.0.1:9/v1/ws";
pub const NOW: u64 = 1_764_000_000;

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// One device: its identity and its view of the group.
pub struct Dev {
    pub key: IdentityKey,
    pub group: Group,
}

impl Dev {
    pub fn id(&self) -> DeviceId {
        self.key.device_id()
    }
    /// A group message from this device.
    pub fn send(&mut self, payload: &GroupPayload, rng: &mut ChaCha20Rng) -> Vec<u8> {
        self.group.seal(&self.key, payload, NOW + 10, rng).unwrap()
    }
}

pub fn app(data: &[u8]) -> GroupPayload {
    GroupPayload::App {
        data: Bytes(data.to_vec()),
    }
}

/// A device that founds its own group.
pub fn founder(name: &str, rng: &mut ChaCha20Rng) -> Dev {
    let key = IdentityKey::generate(rng);
    let group = Group::found(&key, name, RELAY, NOW, rng).unwrap();
    Dev { key, group }
}

/// What both screens showed in a pairing.
pub struct Codes {
    pub joiner: ComparisonCode,
    pub approver: ComparisonCode,
}

/// Runs a whole pairing in which both users confirm: `approver` (already in
/// a group) pairs a new device called `name` with `caps`. Returns the new
/// device and its token (not yet announced to other members).
pub fn pair_new(
    approver: &mut Dev,
    name: &str,
    caps: Capabilities,
    rng: &mut ChaCha20Rng,
) -> (Dev, SessionToken, Codes) {
    let key = IdentityKey::generate(rng);
    let mut joiner = Joiner::new(RELAY, NOW, DEFAULT_OFFER_LIFETIME_SECS, rng).unwrap();
    let offer = PairingOffer::parse(&joiner.offer().to_uri()).unwrap();
    let (mut a, hello) = Approver::start(&offer, &approver.key, NOW + 1, rng).unwrap();
    let (join, j_code) = joiner.on_hello(&hello, &key, name, NOW + 2, rng).unwrap();
    let req = a.on_join(&join, NOW + 3).unwrap();
    assert_eq!(req.name, name);
    assert_eq!(req.identity, key.public());
    let confirm = joiner.confirm(true, &key, rng).unwrap();
    a.on_confirm(&confirm).unwrap();
    a.user_decision(CodeCheck::Match).unwrap();
    assert!(a.is_confirmed());
    let token = a
        .issue_token(
            &approver.group,
            &approver.key,
            caps,
            DEFAULT_TOKEN_LIFETIME_SECS,
            NOW + 4,
            rng,
        )
        .unwrap();
    let accept = a
        .welcome(&mut approver.group, &approver.key, &token, NOW + 4, rng)
        .unwrap();
    let welcome = joiner.on_accept(&accept, &key, NOW + 5).unwrap();
    let codes = Codes {
        joiner: j_code,
        approver: req.code,
    };
    (
        Dev {
            key,
            group: welcome.group,
        },
        token,
        codes,
    )
}

/// Announces `token` from `from` to every device in `to`.
pub fn announce(
    from: &mut Dev,
    token: &SessionToken,
    name: &str,
    to: &mut [&mut Dev],
    rng: &mut ChaCha20Rng,
) {
    let msg = from.send(
        &GroupPayload::MemberAdded {
            token: token.clone(),
            name: name.into(),
        },
        rng,
    );
    for d in to {
        d.group.open(&msg, NOW + 11).unwrap();
    }
}

/// A phone (founder) with a desktop and a laptop, all with every capability
/// and the same view of the group.
pub fn trio(rng: &mut ChaCha20Rng) -> (Dev, Dev, Dev) {
    let mut phone = founder("phone", rng);
    let (mut desk, _, _) = pair_new(&mut phone, "desktop", Capabilities::ALL, rng);
    let (laptop, t, _) = pair_new(&mut phone, "laptop", Capabilities::ALL, rng);
    announce(&mut phone, &t, "laptop", &mut [&mut desk], rng);
    (phone, desk, laptop)
}

/// Applies `rev` (from `issuer`) to `devs`, and delivers each key update.
pub fn deliver_revocation(rev: &Revocation, devs: &mut [&mut Dev]) {
    for d in devs.iter_mut() {
        d.group.apply_revocation(&rev.record).unwrap();
    }
    for (to, bytes) in &rev.key_updates {
        if let Some(d) = devs.iter_mut().find(|d| d.id() == *to) {
            let epoch = d.group.open_key_update(&d.key, bytes).unwrap();
            assert_eq!(epoch, rev.record.seq());
        }
    }
}
