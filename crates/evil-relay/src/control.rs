//! The control protocol: one command per stdin line, one answer per command.

use crate::mode::Mode;
use crate::{Error, Result};

/// A control line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `upstream ws://HOST:PORT/PATH`: where to forward connections.
    Upstream(String),
    /// `mode <M>`: add a mode.
    Mode(Mode),
    /// `clear`: remove every mode.
    Clear,
}

impl Command {
    /// Parses one control line.
    pub fn parse(line: &str) -> Result<Self> {
        let line = line.trim();
        let (word, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(w, r)| (w, r.trim()));
        match word {
            "upstream" => {
                if !(rest.starts_with("ws://") && rest.len() > 5)
                    || rest.contains(char::is_whitespace)
                {
                    return Err(Error::Control(
                        "usage: upstream ws://127.0.0.1:PORT/v1/ws".into(),
                    ));
                }
                Ok(Self::Upstream(rest.to_owned()))
            }
            "mode" => Mode::parse(rest).map(Self::Mode),
            "clear" if rest.is_empty() => Ok(Self::Clear),
            "clear" => Err(Error::Control("clear takes no argument".into())),
            "" => Err(Error::Control("empty line".into())),
            other => Err(Error::Control(format!(
                "unknown command `{other}`; expected upstream, mode or clear"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(
            Command::parse("upstream ws://127.0.0.1:9/v1/ws\n").unwrap(),
            Command::Upstream("ws://127.0.0.1:9/v1/ws".into())
        );
        assert_eq!(Command::parse("clear").unwrap(), Command::Clear);
        assert!(matches!(
            Command::parse("mode drop revoked").unwrap(),
            Command::Mode(Mode::DropRevoked)
        ));
        for bad in [
            "",
            "upstream",
            "upstream http://x",
            "upstream ws://a b",
            "mode",
            "clear all",
            "go",
        ] {
            assert!(Command::parse(bad).is_err(), "{bad}");
        }
    }
}
