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
//!
//! The same offer as an *app link*, which a phone's own camera app opens in
//! the browser: the phone web app served by the relay that carries the
//! pairing, with the link above in the fragment (which never reaches a
//! server):
//!
//! ```text
//! https://<relay host[:port]>/app/#tandem:pair?v=2&relay=wss://<relay host[:port]>/...&...
//! http://127.0.0.1:8787/app/#tandem:pair?v=2&relay=ws://127.0.0.1:8787/v1/ws&...
//! ```
//!
//! `https` goes with a `wss://` relay, `http` only with a `ws://` relay on
//! this machine, and the link's host must be the relay's: a link that
//! would open one site's app for another site's relay is refused.

use sha2::{Digest, Sha256};

use crate::frame::MAX_RELAY_URL_BYTES;
use crate::identity::Topic;
use crate::wire::{b64_array, b64_encode};
use crate::{Error, Result, PROTOCOL_VERSION};

const WHAT: &str = "pairing link";
const SCHEME: &str = "tandem:pair?";
/// Path of the phone web app on a relay; the pairing link follows `#`.
const APP_PATH: &str = "/app/";
/// Longest link accepted (either form).
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
            format!(
                "character '{}' is not allowed (no spaces, query or fragment)",
                shown(&c.to_string())
            ),
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
        Err(Error::PlainTextRelay {
            url: url.to_owned(),
            secure: format!("wss://{rest}"),
        })
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

    /// The app link: `https://<relay host[:port]>/app/#` followed by
    /// [`Self::to_uri`] (`http://` for a `ws://` relay, which devices only
    /// accept on this machine). The relay that carries the pairing also
    /// serves the phone app, so a phone's camera app opens the right one.
    pub fn to_app_link(&self) -> String {
        let (scheme, rest) = match self.relay.strip_prefix("wss://") {
            Some(rest) => ("https", rest),
            None => ("http", self.relay.strip_prefix("ws://").unwrap_or_default()),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        format!("{scheme}://{authority}{APP_PATH}#{}", self.to_uri())
    }

    /// Parses a link, `tandem:pair?...` or an app link
    /// `http(s)://<host>/app/#tandem:pair?...` (see [`Self::to_app_link`])
    /// whose scheme and host match the offer's relay. Every parameter must
    /// appear exactly once, unknown parameters are refused. Does not check
    /// expiry (see [`Self::check`]).
    pub fn parse(uri: &str) -> Result<Self> {
        let uri = uri.trim();
        if uri.len() > MAX_OFFER_LEN {
            return Err(Error::TooLarge {
                what: WHAT,
                len: uri.len(),
                max: MAX_OFFER_LEN,
            });
        }
        if let Some((secure, rest)) = strip_web_scheme(uri) {
            return Self::parse_app_link(secure, rest);
        }
        Self::parse_pairing(uri)
    }

    /// An app link after `https://` (`secure`) or `http://`.
    fn parse_app_link(secure: bool, rest: &str) -> Result<Self> {
        let (location, fragment) = rest.split_once('#').ok_or_else(|| {
            Error::malformed(
                WHAT,
                "a web link is a pairing link only with the pairing after '#' \
                 (https://<relay>/app/#tandem:pair?...)",
            )
        })?;
        let (authority, path) = location
            .find('/')
            .map_or((location, ""), |i| location.split_at(i));
        if authority.is_empty() || path != APP_PATH {
            return Err(Error::malformed(
                WHAT,
                "not a Tandem app link (expected https://<relay>/app/#tandem:pair?...)",
            ));
        }
        if !fragment.starts_with(SCHEME) {
            return Err(Error::malformed(
                WHAT,
                "the part after '#' is not a Tandem pairing link (expected tandem:pair?...)",
            ));
        }
        let offer = Self::parse_pairing(fragment)?;
        let relay_rest = if secure {
            offer.relay.strip_prefix("wss://").ok_or_else(|| {
                Error::malformed(WHAT, "an https:// app link must name a wss:// relay")
            })?
        } else {
            let rest = offer.relay.strip_prefix("ws://").ok_or_else(|| {
                Error::malformed(WHAT, "an http:// app link must name a ws:// relay")
            })?;
            check_transport(&offer.relay).map_err(|_| {
                Error::malformed(
                    WHAT,
                    "an http:// app link is only for a relay on this machine; use https://",
                )
            })?;
            rest
        };
        let relay_authority = relay_rest.split('/').next().unwrap_or_default();
        if origin(secure, authority) != origin(secure, relay_authority) {
            return Err(Error::malformed(
                WHAT,
                format!(
                    "the app link's host \"{}\" is not its relay's host \"{}\": refused, \
                     it could open another site's app",
                    shown(&shorten(authority)),
                    shown(&shorten(relay_authority))
                ),
            ));
        }
        Ok(offer)
    }

    /// The `tandem:pair?...` form.
    fn parse_pairing(uri: &str) -> Result<Self> {
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
                        format!("unknown parameter \"{}\"", shown(&truncate(name))),
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

/// `s` for an error message: printable ASCII as is (`"` and `\\` escaped),
/// anything else as `\u{...}`, so a control or bidi character in a link is
/// shown, never rendered. By hand: the device module formats no `Debug`, and
/// `escape_debug` would link Unicode's printable tables (4.5 KB gzipped).
fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    out
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// `(secure, rest)` for a text starting with `https://` or `http://` (any
/// case, as browsers and camera apps may write the scheme).
fn strip_web_scheme(text: &str) -> Option<(bool, &str)> {
    for (prefix, secure) in [("https://", true), ("http://", false)] {
        if text
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        {
            return Some((secure, &text[prefix.len()..]));
        }
    }
    None
}

/// A host[:port] as a browser compares it: lower case, without the
/// scheme's default port (443 for https/wss, 80 for http/ws).
fn origin(secure: bool, authority: &str) -> String {
    let a = authority.to_ascii_lowercase();
    let default = if secure { ":443" } else { ":80" };
    match a.strip_suffix(default) {
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => a,
    }
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

    fn secure_offer() -> PairingOffer {
        PairingOffer {
            relay: "wss://relay.example/v1/ws".into(),
            ..offer()
        }
    }

    fn detail(e: &Error) -> String {
        assert_eq!(e.kind(), "malformed", "{e}");
        e.to_string()
    }

    #[test]
    fn app_links_round_trip() {
        let o = secure_offer();
        let link = o.to_app_link();
        assert_eq!(
            link,
            format!("https://relay.example/app/#{}", o.to_uri()),
            "https for a wss:// relay, the pairing link in the fragment"
        );
        assert_eq!(PairingOffer::parse(&link).unwrap(), o);
        assert_eq!(PairingOffer::parse(&format!("  {link}\n")).unwrap(), o);

        // A loopback ws:// relay: http, with the port.
        let o = offer();
        let link = o.to_app_link();
        assert!(
            link.starts_with(
                "http://127.0.0.1:8080/app/#tandem:pair?v=2&relay=ws://127.0.0.1:8080/ws&"
            ),
            "{link}"
        );
        assert_eq!(PairingOffer::parse(&link).unwrap(), o);
        for relay in ["ws://localhost:8787/v1/ws", "ws://[::1]:8787/v1/ws"] {
            let o = PairingOffer {
                relay: relay.into(),
                ..offer()
            };
            assert_eq!(PairingOffer::parse(&o.to_app_link()).unwrap(), o, "{relay}");
        }

        // As a browser shows it: host in lower case, default port dropped.
        let o = PairingOffer {
            relay: "wss://Relay.Example:443/v1/ws".into(),
            ..offer()
        };
        assert_eq!(PairingOffer::parse(&o.to_app_link()).unwrap(), o);
        let shown = format!("HTTPS://relay.example/app/#{}", o.to_uri());
        assert_eq!(PairingOffer::parse(&shown).unwrap(), o);
        // A non-default port is part of the host.
        let o = PairingOffer {
            relay: "wss://relay.example:8443/v1/ws".into(),
            ..offer()
        };
        let link = o.to_app_link();
        assert!(
            link.starts_with("https://relay.example:8443/app/#"),
            "{link}"
        );
        assert_eq!(PairingOffer::parse(&link).unwrap(), o);
        let e = PairingOffer::parse(&link.replace(":8443/app/", "/app/")).unwrap_err();
        assert!(detail(&e).contains("not its relay's host"), "{e}");
    }

    #[test]
    fn app_link_for_another_host_is_refused() {
        let uri = secure_offer().to_uri();
        for host in [
            "evil.example",
            "relay.example.evil.example",
            "relay.example@evil.example",
            "relay.example:444",
            "evil.example:443",
        ] {
            let e = PairingOffer::parse(&format!("https://{host}/app/#{uri}")).unwrap_err();
            let d = detail(&e);
            assert!(
                d.contains("not its relay's host") && d.contains("relay.example"),
                "{host}: {e}"
            );
        }
        let uri = offer().to_uri();
        let e = PairingOffer::parse(&format!("http://127.0.0.2:8080/app/#{uri}")).unwrap_err();
        assert!(detail(&e).contains("not its relay's host"), "{e}");
        let e = PairingOffer::parse(&format!("http://127.0.0.1:8081/app/#{uri}")).unwrap_err();
        assert!(detail(&e).contains("not its relay's host"), "{e}");
    }

    #[test]
    fn app_link_scheme_must_match_the_relay() {
        // http with a relay that is not on this machine (or not ws://).
        let o = PairingOffer {
            relay: "ws://relay.example/v1/ws".into(),
            ..offer()
        };
        let e = PairingOffer::parse(&o.to_app_link()).unwrap_err();
        assert!(
            detail(&e).contains("only for a relay on this machine"),
            "{e}"
        );
        let uri = secure_offer().to_uri();
        let e = PairingOffer::parse(&format!("http://relay.example/app/#{uri}")).unwrap_err();
        assert!(detail(&e).contains("must name a ws:// relay"), "{e}");
        // https with a plain ws:// relay, even on this machine.
        let uri = offer().to_uri();
        let e = PairingOffer::parse(&format!("https://127.0.0.1:8080/app/#{uri}")).unwrap_err();
        assert!(detail(&e).contains("must name a wss:// relay"), "{e}");
    }

    #[test]
    fn app_link_needs_the_pairing_in_its_fragment() {
        let o = secure_offer();
        let uri = o.to_uri();
        for (text, says) in [
            ("https://relay.example/app/".to_owned(), "after '#'"),
            ("https://relay.example".to_owned(), "after '#'"),
            (format!("https://relay.example/app/?{uri}"), "after '#'"),
            (
                "https://relay.example/app/#".to_owned(),
                "not a Tandem pairing link",
            ),
            (
                "https://relay.example/app/#home".to_owned(),
                "not a Tandem pairing link",
            ),
            (
                format!("https://relay.example/app/#x{uri}"),
                "not a Tandem pairing link",
            ),
            (
                format!("https://relay.example/#{uri}"),
                "not a Tandem app link",
            ),
            (
                format!("https://relay.example/app#{uri}"),
                "not a Tandem app link",
            ),
            (
                format!("https://relay.example/app/x#{uri}"),
                "not a Tandem app link",
            ),
            (
                format!("https://relay.example/app/?a#{uri}"),
                "not a Tandem app link",
            ),
            (format!("https:///app/#{uri}"), "not a Tandem app link"),
        ] {
            let e = PairingOffer::parse(&text).unwrap_err();
            assert!(detail(&e).contains(says), "{text}: {e}");
        }
        // The pairing link inside is checked as usual.
        let link = o.to_app_link();
        for bad in [
            link.replace("v=2", "v=1"),
            link.replace("&exp=1000", ""),
            format!("{link}&x=1"),
        ] {
            let e = PairingOffer::parse(&bad).unwrap_err();
            assert!(
                matches!(e.kind(), "malformed" | "unsupported_version"),
                "{bad}: {e}"
            );
        }
        // And the length limit covers the whole link.
        let long = format!("{link}{}", "A".repeat(MAX_OFFER_LEN));
        assert_eq!(PairingOffer::parse(&long).unwrap_err().kind(), "too_large");
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
            assert_eq!(e.kind(), "plain_text_relay", "{bad}: {e}");
            assert!(e.to_string().contains(bad), "{bad}: {e}");
            assert!(e.to_string().contains("use wss://"), "{bad}: {e}");
        }
    }

    /// The device module is built with `-Zfmt-debug=none` (scripts/build):
    /// these messages quote what was wrong through Display and
    /// `escape_debug`, so they still say it, and a control or bidi character
    /// in a link is shown escaped, never rendered.
    #[test]
    fn refusals_quote_the_offending_text_without_debug() {
        let good = offer().to_uri();
        let e = PairingOffer::parse(&format!("{good}&x\u{202e}y=1")).unwrap_err();
        assert!(
            detail(&e).ends_with("unknown parameter \"x\\u{202e}y\""),
            "{e}"
        );
        let e = validate_relay_url("ws://a\u{7}b").unwrap_err();
        assert!(
            detail(&e).contains("character '\\u{7}' is not allowed"),
            "{e}"
        );
        let uri = secure_offer().to_uri();
        let e = PairingOffer::parse(&format!("https://evil.example/app/#{uri}")).unwrap_err();
        assert!(
            detail(&e).contains("host \"evil.example\" is not its relay's host \"relay.example\""),
            "{e}"
        );
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
