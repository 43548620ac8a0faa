//! Relay frame parsers (both directions): never panic; what parses
//! re-encodes to something that parses to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_pair::{ClientFrame, RelayFrame};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = ClientFrame::decode(text) {
        assert_eq!(ClientFrame::decode(&f.encode()).expect("re-encoded"), f);
    }
    if let Ok(f) = RelayFrame::decode(text) {
        assert_eq!(RelayFrame::decode(&f.encode()).expect("re-encoded"), f);
    }
});
