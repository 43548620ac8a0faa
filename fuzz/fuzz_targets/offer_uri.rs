//! The pairing link parser: any text must parse or fail cleanly, and what
//! parses must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_pair::PairingOffer;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(offer) = PairingOffer::parse(text) {
        let again = PairingOffer::parse(&offer.to_uri()).expect("re-encoded offer parses");
        assert_eq!(again, offer);
        let _ = offer.check(0);
    }
});
