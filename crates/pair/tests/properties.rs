#![allow(clippy::unwrap_used)]
//! Property tests for the parsers and the replay window.

use proptest::prelude::*;
use tandem_pair::{ClientFrame, Envelope, PairingOffer, ReplayWindow, Topic, PROTOCOL_VERSION};

proptest! {
    #[test]
    fn offers_round_trip(topic in any::<[u8; 32]>(), key in any::<[u8; 32]>(),
                         commit in any::<[u8; 32]>(), exp in any::<u64>(), port in 1u16..) {
        let o = PairingOffer {
            version: PROTOCOL_VERSION,
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
        let _ = tandem_pair::RelayFrame::decode(&text);
        let _ = Envelope::decode(&bytes);
        let _ = tandem_pair::SessionToken::decode(&bytes);
        let _ = tandem_pair::RevocationRecord::decode(&bytes);
    }

    /// Any order of delivery, with duplicates: each sequence number is taken
    /// exactly once while it is within the window, and never after.
    #[test]
    fn replay_window_takes_each_message_once(seqs in proptest::collection::vec(0u64..200, 0..300)) {
        let mut w = ReplayWindow::default();
        let mut taken = std::collections::BTreeSet::new();
        for s in seqs {
            let ok = w.accept(s).is_ok();
            if ok {
                prop_assert!(taken.insert(s), "{} taken twice", s);
            }
            // Within the window (at most 64 taken numbers above it), a new
            // number is never refused.
            let newer = taken.iter().filter(|t| **t > s).count();
            if !ok && !taken.contains(&s) {
                prop_assert!(newer >= tandem_pair::envelope::REPLAY_WINDOW, "{} refused early", s);
            }
        }
    }
}
