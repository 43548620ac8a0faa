//! Auto-lock timing. The worker calls [`AutoLock::expired`] on every request and
//! from a periodic alarm; the session key is dropped once it returns true.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Shortest and longest auto-lock delay the settings accept, in minutes.
pub const MINUTES_RANGE: core::ops::RangeInclusive<u32> = 1..=1440;
/// Default auto-lock delay in minutes.
pub const DEFAULT_MINUTES: u32 = 15;

/// When the wallet was last used, and how long it may stay idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoLock {
    /// Milliseconds since the epoch of the last user or dapp activity.
    pub last_active: u64,
}

impl AutoLock {
    /// Records activity at `now`.
    pub fn touch(&mut self, now: u64) {
        self.last_active = self.last_active.max(now);
    }

    /// True once `minutes` have passed since the last activity. A clock that
    /// went backwards by more than the window also locks: it cannot be trusted.
    pub fn expired(&self, minutes: u32, now: u64) -> bool {
        let window = u64::from(minutes) * 60_000;
        now.saturating_sub(self.last_active) >= window
            || self.last_active.saturating_sub(now) >= window
    }

    /// Milliseconds since the epoch at which the wallet locks if left idle.
    pub fn deadline(&self, minutes: u32) -> u64 {
        self.last_active.saturating_add(u64::from(minutes) * 60_000)
    }
}

/// Checks an auto-lock setting.
pub fn check_minutes(minutes: u32) -> Result<u32> {
    if MINUTES_RANGE.contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Error::Invalid(format!(
            "auto-lock must be between {} and {} minutes, not {minutes}",
            MINUTES_RANGE.start(),
            MINUTES_RANGE.end()
        )))
    }
}
