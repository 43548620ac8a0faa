//! Envelope parsing and opening, plus the handshake and group entry points
//! that consume untrusted envelopes: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_pair::{Approver, Envelope, Group, IdentityKey, Joiner, PairingOffer, RevocationRecord};

struct Fixed(u8);
impl rand_core::RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        u32::from(self.0)
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
// Deterministic stand-in RNG for the fuzzer only (not a CSPRNG; never used
// outside this harness).
impl rand_core::CryptoRng for Fixed {}

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data) {
        assert_eq!(Envelope::decode(&env.encode()).expect("re-encoded"), env);
        let _ = env.open(&[7u8; 32]);
    }
    let mut rng = Fixed(0);
    let relay = "ws://127.0.0.1:1/v1/ws";
    let me = IdentityKey::from_seed(&[1u8; 32]);
    let mut joiner = Joiner::new(relay, 0, 120, &mut rng).expect("offer");
    let _ = joiner.on_hello(data, &me, "fuzz", 1, &mut rng);
    let _ = joiner.on_accept(data, &me, 1);
    let offer = PairingOffer::parse(&joiner.offer().to_uri()).expect("own offer parses");
    let (mut approver, _) = Approver::start(&offer, &me, 1, &mut rng).expect("hello");
    let _ = approver.on_join(data, 1);
    let _ = approver.on_confirm(data);
    let mut group = Group::found(&me, "fuzz", relay, 0, &mut rng).expect("group");
    let _ = group.open(data, 1);
    let _ = group.open_key_update(&me, data);
    if let Ok(r) = RevocationRecord::decode(data) {
        let _ = group.apply_revocation(&r);
    }
});
