//! What the proxy does to traffic: one [`Mode`] per `mode` control line.

use core::fmt;

use tandem_pair::envelope::HEADER_LEN;
use tandem_pair::{EnvelopeKind, PairingOffer};

use crate::{Error, Result};

/// The envelope kinds a mode can target, by their wire names.
const KINDS: [(&str, EnvelopeKind); 6] = [
    ("pair_hello", EnvelopeKind::PairHello),
    ("pair_join", EnvelopeKind::PairJoin),
    ("pair_confirm", EnvelopeKind::PairConfirm),
    ("pair_accept", EnvelopeKind::PairAccept),
    ("group", EnvelopeKind::Group),
    ("key_update", EnvelopeKind::KeyUpdate),
];

/// The name a report line uses for an envelope kind.
pub fn kind_name(kind: EnvelopeKind) -> &'static str {
    KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("unknown", |(n, _)| n)
}

fn parse_kind(word: &str) -> Result<EnvelopeKind> {
    KINDS
        .iter()
        .find(|(n, _)| *n == word)
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            Error::Mode(format!(
                "unknown envelope kind `{word}`; expected one of pair_hello, pair_join, \
                 pair_confirm, pair_accept, group, key_update"
            ))
        })
}

/// Where [`Mode::Tamper`] flips a byte when no offset is given: the first
/// byte of the ciphertext (after the 24-byte nonce, and after the ephemeral
/// key of a key update), or the first body byte of a plaintext hello.
pub fn default_tamper_offset(kind: EnvelopeKind) -> usize {
    match kind {
        EnvelopeKind::PairHello => 0,
        EnvelopeKind::KeyUpdate => 32 + 24,
        _ => 24,
    }
}

/// One attack, as given on a `mode` line.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `drop <kind>`: withhold `deliver` frames of this kind from devices,
    /// acknowledging them upstream so the relay does not redeliver them.
    Drop(EnvelopeKind),
    /// `drop revoked`: withhold `revoked` frames (acknowledged upstream).
    DropRevoked,
    /// `replay <kind>`: deliver each matching frame twice, same id.
    Replay(EnvelopeKind),
    /// `tamper <kind> [OFFSET]`: flip one bit (xor 0x01) of the payload's
    /// byte at OFFSET counted from the start of the envelope body (right
    /// after the 62-byte header, so never the version byte); without OFFSET,
    /// [`default_tamper_offset`]. An offset past the end hits the last byte.
    Tamper {
        /// Kind to tamper with.
        kind: EnvelopeKind,
        /// Offset into the body, if given.
        offset: Option<usize>,
    },
    /// `reorder <kind>`: on each connection, hold the first matching
    /// `deliver` and release it right after the next `deliver` to that
    /// device, so the two arrive swapped.
    Reorder(EnvelopeKind),
    /// `substitute-hello <offer link>`: replace the hello a device publishes
    /// on this offer's topic with the proxy's own, and open the joiner's
    /// answer with the proxy's keys.
    SubstituteHello(PairingOffer),
    /// `forge-welcome`: once a substituted handshake gets the joiner's join,
    /// confirm in the joiner's name and send it a welcome at once.
    ForgeWelcome,
}

impl Mode {
    /// Parses the text after `mode ` (or a `--mode` argument).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let (word, rest) = text
            .split_once(char::is_whitespace)
            .map_or((text, ""), |(w, r)| (w, r.trim()));
        let args: Vec<&str> = rest.split_whitespace().collect();
        let one_kind = |args: &[&str]| match args {
            [k] => parse_kind(k),
            _ => Err(Error::Mode(format!("`{word}` takes one envelope kind"))),
        };
        match word {
            "drop" if args == ["revoked"] => Ok(Self::DropRevoked),
            "drop" => one_kind(&args).map(Self::Drop),
            "replay" => one_kind(&args).map(Self::Replay),
            "reorder" => one_kind(&args).map(Self::Reorder),
            "tamper" => match args.as_slice() {
                [k] => Ok(Self::Tamper {
                    kind: parse_kind(k)?,
                    offset: None,
                }),
                [k, n] => Ok(Self::Tamper {
                    kind: parse_kind(k)?,
                    offset: Some(n.parse().map_err(|_| {
                        Error::Mode(format!(
                            "tamper offset `{n}` is not a byte offset (0, 1, 2...)"
                        ))
                    })?),
                }),
                _ => Err(Error::Mode(
                    "usage: tamper <kind> [offset into the envelope body]".into(),
                )),
            },
            "substitute-hello" => {
                if rest.is_empty() {
                    return Err(Error::Mode(
                        "usage: substitute-hello tandem:pair?v=2&...".into(),
                    ));
                }
                PairingOffer::parse(rest)
                    .map(Self::SubstituteHello)
                    .map_err(|e| Error::Mode(format!("substitute-hello: {e}")))
            }
            "forge-welcome" if args.is_empty() => Ok(Self::ForgeWelcome),
            "forge-welcome" => Err(Error::Mode("forge-welcome takes no argument".into())),
            "" => Err(Error::Mode("missing mode".into())),
            other => Err(Error::Mode(format!(
                "unknown mode `{other}`; expected drop, replay, tamper, reorder, \
                 substitute-hello or forge-welcome"
            ))),
        }
    }

    /// Where a tamper mode flips a byte in a payload of `len` bytes: an
    /// index into the whole envelope, never 0 (the version byte).
    pub(crate) fn tamper_position(kind: EnvelopeKind, offset: Option<usize>, len: usize) -> usize {
        let want = HEADER_LEN.saturating_add(offset.unwrap_or_else(|| default_tamper_offset(kind)));
        want.min(len.saturating_sub(1)).max(1)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Drop(k) => write!(f, "drop {}", kind_name(*k)),
            Self::DropRevoked => f.write_str("drop revoked"),
            Self::Replay(k) => write!(f, "replay {}", kind_name(*k)),
            Self::Tamper { kind, offset: None } => write!(f, "tamper {}", kind_name(*kind)),
            Self::Tamper {
                kind,
                offset: Some(n),
            } => write!(f, "tamper {} {n}", kind_name(*kind)),
            Self::Reorder(k) => write!(f, "reorder {}", kind_name(*k)),
            Self::SubstituteHello(o) => write!(f, "substitute-hello {}", o.to_uri()),
            Self::ForgeWelcome => f.write_str("forge-welcome"),
        }
    }
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mode({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_mode_and_refuses_bad_ones() {
        for text in [
            "drop pair_confirm",
            "drop revoked",
            "replay group",
            "tamper key_update",
            "tamper pair_accept 30",
            "reorder group",
            "forge-welcome",
        ] {
            assert_eq!(Mode::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Mode::parse("  drop   pair_join ").unwrap(),
            Mode::Drop(EnvelopeKind::PairJoin)
        );
        for bad in [
            "",
            "drop",
            "drop nothing",
            "drop group extra",
            "tamper group x",
            "tamper",
            "substitute-hello",
            "substitute-hello https://example.com",
            "forge-welcome now",
            "explode",
        ] {
            assert!(Mode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tamper_never_hits_the_version_byte() {
        let k = EnvelopeKind::Group;
        assert_eq!(Mode::tamper_position(k, None, 200), HEADER_LEN + 24);
        assert_eq!(Mode::tamper_position(k, Some(1000), 200), 199);
        // A hello with an empty body: the last header byte, still not byte 0.
        assert_eq!(
            Mode::tamper_position(k, Some(0), HEADER_LEN),
            HEADER_LEN - 1
        );
    }
}
