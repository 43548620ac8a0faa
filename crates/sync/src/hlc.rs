//! Hybrid logical clocks (Kulkarni et al., "Logical Physical Clocks", 2014):
//! a stamp follows the wall clock when it moves forward and a counter when
//! it does not, so stamps a device makes always increase, a stamp made after
//! seeing another is greater than it, and they stay close to real time.

use serde::{Deserialize, Serialize};
use tandem_pair::DeviceId;

/// How far ahead of the receiver's clock a stamp may be before its op waits
/// for the clock to catch up (five minutes: phones and computers that keep
/// network time are within seconds of each other).
pub const MAX_AHEAD_MS: u64 = 5 * 60 * 1000;

/// When and where an op was made. Ordered by time, then counter, then device:
/// two devices never make equal stamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// Milliseconds since the Unix epoch (the clock's physical part).
    pub ms: u64,
    /// Orders stamps made in the same millisecond (the logical part).
    pub n: u32,
    /// The device that made the op.
    pub device: DeviceId,
}

/// A device's clock: the last stamp it made or saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    device: DeviceId,
    ms: u64,
    n: u32,
}

impl Clock {
    /// A clock for `device` that has seen nothing yet.
    pub fn new(device: DeviceId) -> Self {
        Self {
            device,
            ms: 0,
            n: 0,
        }
    }

    /// The device this clock stamps for.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// A new stamp, greater than every stamp this clock made or saw, given
    /// the wall clock's reading `wall_ms`.
    pub fn stamp(&mut self, wall_ms: u64) -> Stamp {
        if wall_ms > self.ms {
            self.ms = wall_ms;
            self.n = 0;
        } else if let Some(n) = self.n.checked_add(1) {
            self.n = n;
        } else {
            // 2^32 stamps in one millisecond: move the physical part on.
            self.ms += 1;
            self.n = 0;
        }
        Stamp {
            ms: self.ms,
            n: self.n,
            device: self.device,
        }
    }

    /// The last stamp's time and counter.
    pub fn last(&self) -> (u64, u32) {
        (self.ms, self.n)
    }

    /// Takes note of a stamp from another device, so the next stamp made
    /// here is greater. Only for stamps that are not too far ahead (see
    /// [`MAX_AHEAD_MS`]): the caller parks the others.
    pub fn witness(&mut self, s: &Stamp) {
        if (s.ms, s.n) > (self.ms, self.n) {
            self.ms = s.ms;
            self.n = s.n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: DeviceId = DeviceId([1; 16]);
    const B: DeviceId = DeviceId([2; 16]);

    #[test]
    fn stamps_increase_even_when_the_wall_clock_goes_back() {
        let mut c = Clock::new(A);
        let s1 = c.stamp(1_000);
        let s2 = c.stamp(1_000);
        let s3 = c.stamp(900);
        let s4 = c.stamp(2_000);
        assert!(s1 < s2 && s2 < s3 && s3 < s4);
        assert_eq!((s3.ms, s3.n), (1_000, 2));
        assert_eq!((s4.ms, s4.n), (2_000, 0));
    }

    #[test]
    fn a_stamp_made_after_seeing_another_is_greater() {
        let mut a = Clock::new(A);
        let mut b = Clock::new(B);
        let from_a = a.stamp(5_000);
        b.witness(&from_a);
        let from_b = b.stamp(4_000);
        assert!(from_b > from_a);
        assert_eq!(from_b.device, B);
    }

    #[test]
    fn the_counter_never_wraps() {
        let mut c = Clock::new(A);
        c.witness(&Stamp {
            ms: 10,
            n: u32::MAX,
            device: B,
        });
        let s = c.stamp(10);
        assert_eq!((s.ms, s.n), (11, 0));
    }
}
