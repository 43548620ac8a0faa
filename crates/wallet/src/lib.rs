#![doc = include_str!("../README.md")]

#[cfg(feature = "extra")]
mod activity;
pub mod answered;
pub mod approval;
pub mod calls;
pub mod confirm;
pub mod decode;
pub mod display;
mod error;
#[cfg(feature = "extra")]
pub mod fees;
#[cfg(feature = "extra")]
pub mod holdings;
pub mod lock;
pub mod network;
#[cfg(feature = "extra")]
pub mod portfolio;
pub mod provider;
pub mod remote;
pub mod rpc;
pub mod shown;
pub mod state;
#[cfg(feature = "extra")]
pub mod token;

pub use answered::{answer_step, Answered, STALE_MS};
pub use approval::{Approval, ApprovalKind, Edits, Fill, Resolution};
pub use confirm::{PhoneOut, PhoneOutcome, PhonePolicy, PhoneWait, PhoneWork};
pub use error::{Error, Result};
#[cfg(feature = "extra")]
pub use holdings::Holdings;
pub use lock::AutoLock;
pub use network::Network;
pub use provider::Outcome;
pub use state::{Account, Activity, Asset, Session, Settings, Site, State, TxStatus};

/// The controller: persisted state plus the session. Every method is a pure
/// function of its inputs and the clock value passed in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wallet {
    /// Non-secret state (`chrome.storage.local`).
    pub state: State,
    /// Approvals and lock clock (`chrome.storage.session`).
    pub session: Session,
}

impl Wallet {
    /// Loads both halves from their stored JSON (empty strings for a new wallet).
    pub fn load(state: &str, session: &str) -> Result<Self> {
        Ok(Self {
            state: State::from_json(state)?,
            session: Session::from_json(session)?,
        })
    }

    /// Whether the auto-lock window has passed at `now` (ms). While a
    /// request the user approved here waits for the phone, the wallet stays
    /// unlocked until the phone answers or the wait times out (at most the
    /// phone's timeout, 10 minutes): locking then would leave the phone's
    /// Approve unable to sign, after the user approved on both devices.
    pub fn lock_expired(&self, now: u64) -> bool {
        let waiting = self
            .session
            .approvals
            .iter()
            .filter_map(Self::phone_wait)
            .any(|w| now <= w.sent.expires_at.saturating_mul(1000));
        !waiting
            && self
                .session
                .lock
                .expired(self.state.settings.auto_lock_minutes, now)
    }
}
