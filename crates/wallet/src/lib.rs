#![doc = include_str!("../README.md")]

pub mod approval;
pub mod confirm;
mod error;
pub mod lock;
pub mod network;
pub mod provider;
pub mod state;

pub use approval::{Approval, ApprovalKind, Edits, Fill, Resolution};
pub use confirm::{PhoneOut, PhoneOutcome, PhonePolicy, PhoneWait, PhoneWork};
pub use error::{Error, Result};
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

    /// Whether the auto-lock window has passed at `now`.
    pub fn lock_expired(&self, now: u64) -> bool {
        self.session
            .lock
            .expired(self.state.settings.auto_lock_minutes, now)
    }
}
