#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod answered;
pub mod audit;
pub mod backup;
pub mod balances;
mod engine;
mod hlc;
mod record;
mod replica;
pub mod sites;
pub mod view;

pub use engine::{
    blob_name, page_of, Out, SyncStatus, Syncer, MAX_MESSAGE_BYTES, OWN_KEPT, OWN_SLACK, PAGES,
};
pub use hlc::{Clock, Stamp, MAX_AHEAD_MS};
pub use record::{
    Account, Activity, ActivityStatus, Balance, Category, Contact, Field, Network, Site, Token,
    Value, MAX_TEXT,
};
pub use replica::{Change, Notice, Op, Received, Replica, Snapshot, Status, MAX_RECORDS};

use core::fmt;

/// An op, value or snapshot that cannot be used, in plain language.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A field or value that breaks the rules of its category.
    Invalid(String),
    /// A category holds as many records as it may.
    Full(Category),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(s) => f.write_str(s),
            Self::Full(c) => write!(
                f,
                "{} already holds {MAX_RECORDS} records; remove some first",
                c.label()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// This crate's result.
pub type Result<T, E = Error> = core::result::Result<T, E>;

pub(crate) fn invalid(s: impl Into<String>) -> Error {
    Error::Invalid(s.into())
}
