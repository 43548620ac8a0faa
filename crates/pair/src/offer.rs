//! The pairing offer: what the new device shows as a QR code.
//!
//! ```text
//! tandem:pair?v=2&relay=<ws(s) URL>&topic=<b64 32>&key=<b64 32>&commit=<b64 32>&exp=<unix secs>
//! ```
//!
//! `key` is the new device's ephemeral X25519 public key, `commit` is
//! SHA-256 over its secret pairing nonce (revealed later, so nobody can
//! grind keys to make the comparison codes collide). Nothing in the offer
//! grants access: the already-trusted device must still confirm the code.

use sha2::{Digest, Sha256};

use crate::frame::MAX_RELAY_URL_BYTES;
use crate::identity::Topic;
use crate::wire::{b64_array, b64_encode};
use crate::{Error, Result, PROTOCOL_VERSION};

const WHAT: &str = "pairing link";
const SCHEME: &str = "tandem:pair?";
/// Longest link accepted.
pub const MAX_OFFER_LEN: usize = 1024;
/// Default offer lifetime: 2 minutes.
pub const DEFAULT_OFFER_LIFETIME_SECS: u64 = 120;
const COMMIT_DOMAIN: &[u8] = b"tandem/pair/commit/v2";

/// A parsed pairing offer (public data only).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PairingOffer {
    /// Protocol version.
    pub version: u8,
    /// Relay WebSocket URL (`ws://` or `wss://`).
    pub relay: String,
    /// One-time pairing topic.
    pub topic: Topic,
    /// New device's ephemeral X25519 public key.
    pub key: [u8; 32],
    /// SHA-256 commitment to the new device's pairing nonce.
    pub commit: [u8; 32],
    /// Expiry (Unix seconds).
    pub expires_at: u64,
}

/// Commitment to a pairing nonce.
pub(crate) fn commitment(nonce: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(COMMIT_DOMAIN);
    h.update(nonce);
    h.finalize().into()
}

/// Checks a relay URL is usable in an offer and an auth transcript.
pub fn validate_relay_url(url: &str) -> Result<()> {
    const W: &str = "relay URL";
    if url.len() > MAX_RELAY_URL_BYTES {
        return Err(Error::TooLarge {
            what: W,
            len: url.len(),
            max: MAX_RELAY_URL_BYTES,
        });
    }
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
        .ok_or_else(|| Error::malformed(W, "must start with ws:// or wss://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Error::malformed(W, "missing host"));
    }
    if let Some(c) = url
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '&' | '#' | '%' | '?' | '=' | '+'))
    {
        return Err(Error::malformed(
            W,
            format!("character {c:?} is not allowed (no spaces, query or fragment)"),
        ));
    }
    Ok(())
}

/// [`validate_relay_url`], and the transport rule devices follow: `wss://`
/// anywhere, plain `ws://` only to this machine (localhost, 127.0.0.0/8,
/// `[::1]`), where nothing crosses a network.
pub fn check_transport(url: &str) -> Result<()> {
    validate_relay_url(url)?;
    let Some(rest) = url.strip_prefix("ws://") else {
        return Ok(());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(Error::malformed(
            "relay URL",
            format!("ws:// is only allowed to this machine; use wss://{rest}"),
        ))
    }
}

impl PairingOffer {
    /// The link text (what the QR encodes).
    pub fn to_uri(&self) -> String {
        format!(
            "{SCHEME}v={}&relay={}&topic={}&key={}&commit={}&exp={}",
            self.version,
            self.relay,
            self.topic.to_b64(),
            b64_encode(&self.key),
            b64_encode(&self.commit),
            self.expires_at
        )
    }

    /// Parses a link; every parameter must appear exactly once, unknown
    /// parameters are refused. Does not check expiry (see [`Self::check`]).
    pub fn parse(uri: &str) -> Result<Self> {
        let uri = uri.trim();
        if uri.len() > MAX_OFFER_LEN {
            return Err(Error::TooLarge {
                what: WHAT,
                len: uri.len(),
                max: MAX_OFFER_LEN,
            });
        }
        let query = uri.strip_prefix(SCHEME).ok_or_else(|| {
            Error::malformed(WHAT, "not a Tandem pairing link (expected tandem:pair?...)")
        })?;
        let mut v = None;
        let mut relay = None;
        let mut topic = None;
        let mut key = None;
        let mut commit = None;
        let mut exp = None;
        for part in query.split('&') {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| Error::malformed(WHAT, "parameter without '='"))?;
            let slot = match name {
                "v" => &mut v,
                "relay" => &mut relay,
                "topic" => &mut topic,
                "key" => &mut key,
                "commit" => &mut commit,
                "exp" => &mut exp,
                _ => {
                    return Err(Error::malformed(
                        WHAT,
                        format!("unknown parameter {:?}", truncate(name)),
                    ))
                }
            };
            if slot.replace(value).is_some() {
                return Err(Error::malformed(WHAT, format!("parameter {name} repeated")));
            }
        }
        fn need<'a>(o: Option<&'a str>, n: &str) -> Result<&'a str> {
            o.ok_or_else(|| Error::malformed(WHAT, format!("missing parameter {n}")))
        }
        let version: u8 = need(v, "v")?
            .parse()
            .map_err(|_| Error::malformed(WHAT, "v is not a number"))?;
        if version != PROTOCOL_VERSION {
            return Err(Error::UnsupportedVersion {
                what: WHAT,
                version,
                supported: PROTOCOL_VERSION,
            });
        }
        let relay = need(relay, "relay")?;
        validate_relay_url(relay)?;
        let exp_text = need(exp, "exp")?;
        if exp_text.is_empty() || !exp_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::malformed(WHAT, "exp is not a number"));
        }
        Ok(Self {
            version,
            relay: relay.to_owned(),
            topic: Topic(b64_array(WHAT, need(topic, "topic")?)?),
            key: b64_array(WHAT, need(key, "key")?)?,
            commit: b64_array(WHAT, need(commit, "commit")?)?,
            expires_at: exp_text
                .parse()
                .map_err(|_| Error::malformed(WHAT, "exp is out of range"))?,
        })
    }

    /// Fails once expired.
    pub fn check(&self, now: u64) -> Result<()> {
        if now >= self.expires_at {
            return Err(Error::OfferExpired {
                ago_secs: now - self.expires_at,
            });
        }
        Ok(())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> PairingOffer {
        PairingOffer {
            version: PROTOCOL_VERSION,
            relay: "ws://127.0.0.1:8080/ws".into(),
            topic: Topic([1; 32]),
            key: [2; 32],
            commit: [3; 32],
            expires_at: 1_000,
        }
    }

    #[test]
    fn roundtrip_and_expiry() {
        let o = offer();
        let uri = o.to_uri();
        assert!(uri.starts_with("tandem:pair?v=2&relay=ws://127.0.0.1:8080/ws&topic="));
        assert_eq!(PairingOffer::parse(&uri).unwrap(), o);
        o.check(999).unwrap();
        assert_eq!(o.check(1_030), Err(Error::OfferExpired { ago_secs: 30 }));
    }

    #[test]
    fn plain_ws_only_to_this_machine() {
        for ok in [
            "ws://127.0.0.1:8787/v1/ws",
            "ws://127.8.9.1/v1/ws",
            "ws://localhost:1/v1/ws",
            "ws://[::1]:8787/v1/ws",
            "wss://relay.example/v1/ws",
            "wss://10.0.0.2:443/v1/ws",
        ] {
            check_transport(ok).unwrap();
        }
        for bad in [
            "ws://relay.example/v1/ws",
            "ws://10.0.0.2:8787/v1/ws",
            "ws://128.0.0.1/v1/ws",
            "ws://localhost.evil.example/v1/ws",
            "ws://[::2]/v1/ws",
        ] {
            let e = check_transport(bad).unwrap_err();
            assert!(e.to_string().contains("wss://"), "{bad}: {e}");
        }
    }

    #[test]
    fn malformed_links_are_refused_clearly() {
        let good = offer().to_uri();
        let cases = [
            String::new(),
            "https://example.com".into(),
            good.replace("v=2", "v=1"),
            good.replace("v=2&", ""),
            good.replace("relay=ws://", "relay=http://"),
            good.replace("exp=1000", "exp=-1"),
            good.replace("exp=1000", "exp=99999999999999999999999"),
            good.replace("topic=", "topic=A"),
            format!("{good}&exp=5"),
            format!("{good}&x=1"),
            format!("{good}&"),
            good.replace("relay=ws://127.0.0.1:8080/ws", "relay=ws://a b"),
            "tandem:pair?".into(),
            "x".repeat(2000),
        ];
        for c in cases {
            let e = PairingOffer::parse(&c).unwrap_err();
            assert!(
                matches!(e.kind(), "malformed" | "unsupported_version" | "too_large"),
                "{c}: {e}"
            );
        }
    }
}
