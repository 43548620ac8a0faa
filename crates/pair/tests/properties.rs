#![allow(clippy::unwrap_used)]
//! Property tests for the parsers and the replay window.

use proptest::prelude::*;
use tandem_pair::{ClientFrame, Envelope, PairingOffer, ReplayGuard, Topic};

proptest! {
    #[test]
    fn offers_round_trip(topic in any::<[u8; 32]>(), key in any::<[u8; 32]>(),
                         commit in any::<[u8; 32]>(), exp in any::<u64>(), port in 1u16..) {
        let o = PairingOffer {
            version: 1,
            relay: format!("ws://127.0.0.1:{port}/v1/ws"),
            topic: Topic(topic),
            key,
            commit,
            expires_at: exp,
        };
        prop_assert_eq!(PairingOffer::parse(&o.to_uri()).unwrap(), o);
    }

    #[test]
    fn parsers_never_panic(text in ".{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = PairingOffer::parse(&text);
        let _ = ClientFrame::decode(&text);
        let _ = Envelope::decode(&bytes);
        let _ = tandem_pair::SessionToken::decode(&bytes);
        let _ = tandem_pair::RevocationRecord::decode(&bytes);
    }

    #[test]
    fn replay_guard_accepts_exactly_the_strict_increases(seqs in proptest::collection::vec(0u64..50, 0..60)) {
        let mut g = ReplayGuard::default();
        let mut last: Option<u64> = None;
        for s in seqs {
            let ok = g.accept(s).is_ok();
            prop_assert_eq!(ok, last.is_none_or(|l| s > l));
            if ok { last = Some(s); }
        }
    }
}
