#![doc = include_str!("../README.md")]

pub mod control;
pub mod engine;
mod error;
pub mod mode;
pub mod proxy;

pub use control::Command;
pub use engine::{Action, Conn, Engine};
pub use error::{Error, Result};
pub use mode::Mode;
pub use proxy::Proxy;

/// Writes one line to stdout and flushes it at once: tests read the
/// proxy's stdout line by line while it runs. Lines from concurrent
/// connections never interleave.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
