//! Session token and revocation record decoders: never panic; anything
//! accepted carries a valid signature and re-encodes byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_pair::{RevocationRecord, SessionToken};

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = SessionToken::decode(data) {
        assert_eq!(t.encode(), data);
    }
    if let Ok(r) = RevocationRecord::decode(data) {
        assert_eq!(r.encode(), data);
    }
});
