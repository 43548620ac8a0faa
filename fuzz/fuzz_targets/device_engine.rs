//! The device engine fed arbitrary relay text on both of its links, in
//! every phase it can be driven to without a relay: never panics, and every
//! output it produces is well formed (frames it sends parse back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_device::{Command, Device, Input, LinkId, Output, State};
use tandem_pair::{ClientFrame, IdentityKey};

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
// Deterministic stand-in RNG for the fuzzer only (not a CSPRNG).
impl rand_core::CryptoRng for Fixed {}

fn check(outs: Vec<Output>) {
    for o in outs {
        if let Output::Send { text, .. } = o {
            ClientFrame::decode(&text).expect("the engine sends well-formed frames");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Fixed(0);
    let me = IdentityKey::from_seed(&[1u8; 32]);
    let state = State::found(&me, "fuzz", "ws://127.0.0.1:1/v1/ws", 10, &mut rng).expect("state");
    let mut dev = Device::new(me, state);
    check(dev.handle(Input::Command(Command::Connect), 10, &mut rng));
    check(dev.handle(Input::Command(Command::ShowOffer { lifetime_secs: 120 }), 10, &mut rng));
    // Each line is one frame, alternating links; a first byte picks the clock.
    let now = 10 + u64::from(data.first().copied().unwrap_or(0));
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        let Ok(text) = std::str::from_utf8(line) else { continue };
        let link = if i % 2 == 0 { LinkId::Main } else { LinkId::Pairing };
        check(dev.handle(Input::Text(link, text.to_owned()), now, &mut rng));
    }
    check(dev.handle(Input::Tick, now + 1000, &mut rng));
});
