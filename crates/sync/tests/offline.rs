//! A device that goes offline while its reads are unanswered asks again at
//! its next flush (the answers will never come over the dropped link).

use tandem_pair::DeviceId;
use tandem_sync::{Out, Syncer};

fn reads(outs: &[Out]) -> usize {
    outs.iter()
        .filter(|o| matches!(o, Out::GetBlob { .. }))
        .count()
}

#[test]
fn reads_lost_with_the_link_are_asked_again() {
    let mut s = Syncer::new(DeviceId([3; 16]));
    let first = s.flush();
    assert_eq!(reads(&first), 7, "page 0 of every category");
    assert_eq!(reads(&s.flush()), 0, "still waiting for those answers");
    s.offline();
    assert_eq!(reads(&s.flush()), 7, "asked again after the link dropped");
}
