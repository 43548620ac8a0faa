#![doc = include_str!("../README.md")]

pub mod client;
pub mod config;
mod error;
pub mod forwarded;
pub mod limits;
mod membership;
pub mod metrics;
mod sched;
pub mod server;
pub mod store;
pub mod tls;

pub use config::{Config, Invocation, LogFormat, LogLevel, TlsFiles};
pub use error::{Error, Result};
pub use server::{app, AppState};
