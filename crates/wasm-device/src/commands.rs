//! What the popup asks the device engine for, as JSON. Decoding and checking
//! happen here, so the worker's JavaScript only passes text along.

use tandem_device::{ApproverMode, Command};
use tandem_pair::{CodeCheck, ComparisonCode, DeviceId, RevocationReason};

/// Every field any command has. Read as one flat object, not an enum: the
/// derive's per-variant readers for fifteen commands were 9 KB of the module
/// (measured); which fields a kind takes is checked by [`parse`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    kind: String,
    lifetime: Option<u64>,
    matches: Option<bool>,
    link: Option<String>,
    typing: Option<bool>,
    allow_other_relay: Option<bool>,
    typed: Option<String>,
    device: Option<String>,
    reason: Option<String>,
    erase: Option<bool>,
    days: Option<u64>,
    text: Option<String>,
    upto: Option<u64>,
}

impl Request {
    /// The fields given, by name.
    fn given(&self) -> [(&'static str, bool); 12] {
        [
            ("lifetime", self.lifetime.is_some()),
            ("matches", self.matches.is_some()),
            ("link", self.link.is_some()),
            ("typing", self.typing.is_some()),
            ("allow_other_relay", self.allow_other_relay.is_some()),
            ("typed", self.typed.is_some()),
            ("device", self.device.is_some()),
            ("reason", self.reason.is_some()),
            ("erase", self.erase.is_some()),
            ("days", self.days.is_some()),
            ("text", self.text.is_some()),
            ("upto", self.upto.is_some()),
        ]
    }
}

/// Each command and the fields it takes.
const KINDS: &[(&str, &[&str])] = &[
    ("connect", &[]),
    ("disconnect", &[]),
    ("list_devices", &[]),
    ("show_offer", &["lifetime"]),
    ("confirm_code", &["matches"]),
    ("accept_offer", &["link", "typing", "allow_other_relay"]),
    ("allow_other_relay", &[]),
    ("check_code", &["matches", "typed"]),
    ("cancel_pairing", &[]),
    ("start_over", &[]),
    ("revoke", &["device", "reason", "erase"]),
    ("refresh", &["device", "days"]),
    ("send", &["text"]),
    ("ask", &["text"]),
    ("clear_inbox", &["upto"]),
];

fn need<T>(v: Option<T>, kind: &str, field: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("bad device command: {kind} needs `{field}`"))
}

/// Parses one command.
pub(crate) fn parse(json: &str) -> Result<Command, String> {
    let r: Request = serde_json::from_str(json).map_err(|e| format!("bad device command: {e}"))?;
    let kind = r.kind.as_str();
    let Some((_, takes)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        return Err(format!("bad device command: unknown kind `{kind}`"));
    };
    if let Some((field, _)) = r
        .given()
        .into_iter()
        .find(|(f, given)| *given && !takes.contains(f))
    {
        return Err(format!("bad device command: {kind} takes no `{field}`"));
    }
    Ok(match kind {
        "connect" => Command::Connect,
        "disconnect" => Command::Disconnect,
        "list_devices" => Command::ListDevices,
        "show_offer" => Command::ShowOffer {
            lifetime_secs: r
                .lifetime
                .unwrap_or(tandem_pair::DEFAULT_OFFER_LIFETIME_SECS)
                .clamp(30, 600),
        },
        "confirm_code" => Command::ConfirmCode(need(r.matches, kind, "matches")?),
        "accept_offer" => {
            let link = need(r.link, kind, "link")?;
            let offer = tandem_pair::PairingOffer::parse(&link).map_err(|e| e.to_string())?;
            check_relay(&offer.relay)?;
            Command::AcceptOffer {
                link,
                mode: if r.typing.unwrap_or(false) {
                    ApproverMode::Typing
                } else {
                    ApproverMode::Compare
                },
                allow_other_relay: r.allow_other_relay.unwrap_or(false),
            }
        }
        "allow_other_relay" => Command::AllowOtherRelay,
        "check_code" => match (r.matches, r.typed) {
            (Some(true), None) => Command::CheckCode(CodeCheck::Match),
            (Some(false), None) => Command::CheckCode(CodeCheck::Differ),
            (None, Some(t)) => Command::CheckCode(CodeCheck::Typed(
                ComparisonCode::parse(&t).map_err(|e| e.to_string())?,
            )),
            _ => return Err("check_code takes either matches or typed".into()),
        },
        "cancel_pairing" => Command::CancelPairing,
        "start_over" => Command::StartOver,
        "revoke" => Command::Revoke {
            erase: r.erase.unwrap_or(false),
            device: device(r.device, kind)?,
            reason: r
                .reason
                .as_deref()
                .unwrap_or("unspecified")
                .parse::<RevocationReason>()
                .map_err(|e| e.to_string())?,
        },
        "refresh" => Command::Refresh {
            device: device(r.device, kind)?,
            lifetime_secs: r.days.unwrap_or(30).clamp(1, 90) * 86_400,
        },
        "send" => Command::Send(need(r.text, kind, "text")?.into_bytes()),
        "ask" => Command::Ask(need(r.text, kind, "text")?.into_bytes()),
        _ => Command::ClearInbox {
            upto: need(r.upto, kind, "upto")?,
        },
    })
}

fn device(hex: Option<String>, kind: &str) -> Result<DeviceId, String> {
    DeviceId::from_hex(&need(hex, kind, "device")?).map_err(|e| e.to_string())
}

/// A relay URL a device may use: `wss://` anywhere, `ws://` only on this
/// machine (loopback), where nothing crosses a network.
pub(crate) fn check_relay(url: &str) -> Result<(), String> {
    tandem_pair::offer::check_transport(url).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ok(json: &str) -> String {
        format!("{:?}", parse(json).unwrap())
    }

    fn err(json: &str) -> String {
        parse(json).map(|c| format!("{c:?}")).unwrap_err()
    }

    const DEV: &str = "00112233445566778899aabbccddeeff";

    /// Every command the popup and the phone app send, and what it becomes.
    #[test]
    fn every_command_reads_as_before() {
        let link = tandem_pair::PairingOffer {
            version: tandem_pair::PROTOCOL_VERSION,
            relay: "ws://127.0.0.1:8787/v1/ws".into(),
            topic: tandem_pair::Topic([1; 32]),
            key: [2; 32],
            commit: [3; 32],
            expires_at: 1_000,
        }
        .to_uri();
        let id = DeviceId::from_hex(DEV).unwrap();
        for (json, want) in [
            (r#"{"kind":"connect"}"#.to_string(), "Connect".to_string()),
            (r#"{"kind":"disconnect"}"#.into(), "Disconnect".into()),
            (r#"{"kind":"list_devices"}"#.into(), "ListDevices".into()),
            (
                r#"{"kind":"show_offer"}"#.into(),
                format!(
                    "ShowOffer {{ lifetime_secs: {} }}",
                    tandem_pair::DEFAULT_OFFER_LIFETIME_SECS
                ),
            ),
            (
                r#"{"kind":"show_offer","lifetime":5}"#.into(),
                "ShowOffer { lifetime_secs: 30 }".into(),
            ),
            (
                r#"{"kind":"confirm_code","matches":true}"#.into(),
                "ConfirmCode(true)".into(),
            ),
            (
                format!(r#"{{"kind":"accept_offer","link":"{link}","typing":true}}"#),
                format!(
                    "{:?}",
                    Command::AcceptOffer {
                        link: link.clone(),
                        mode: ApproverMode::Typing,
                        allow_other_relay: false,
                    }
                ),
            ),
            (
                r#"{"kind":"allow_other_relay"}"#.into(),
                "AllowOtherRelay".into(),
            ),
            (
                r#"{"kind":"check_code","matches":false}"#.into(),
                "CheckCode(Differ)".into(),
            ),
            (
                r#"{"kind":"cancel_pairing"}"#.into(),
                "CancelPairing".into(),
            ),
            (r#"{"kind":"start_over"}"#.into(), "StartOver".into()),
            (
                format!(r#"{{"kind":"revoke","device":"{DEV}","reason":"lost","erase":true}}"#),
                format!(
                    "{:?}",
                    Command::Revoke {
                        erase: true,
                        device: id,
                        reason: RevocationReason::Lost,
                    }
                ),
            ),
            (
                format!(r#"{{"kind":"refresh","device":"{DEV}","days":400}}"#),
                format!(
                    "{:?}",
                    Command::Refresh {
                        device: id,
                        lifetime_secs: 90 * 86_400
                    }
                ),
            ),
            (
                r#"{"kind":"send","text":"hi"}"#.into(),
                format!("{:?}", Command::Send(b"hi".to_vec())),
            ),
            (
                r#"{"kind":"ask","text":"hi"}"#.into(),
                format!("{:?}", Command::Ask(b"hi".to_vec())),
            ),
            (
                r#"{"kind":"clear_inbox","upto":4}"#.into(),
                "ClearInbox { upto: 4 }".into(),
            ),
        ] {
            assert_eq!(ok(&json), want, "{json}");
        }
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        assert!(err(r#"{"kind":"launch"}"#).contains("unknown kind `launch`"));
        assert!(err(r#"{"kind":"connect","text":"x"}"#).contains("connect takes no `text`"));
        assert!(err(r#"{"kind":"connect","color":"x"}"#).contains("unknown field `color`"));
        assert!(err(r#"{"kind":"confirm_code"}"#).contains("confirm_code needs `matches`"));
        assert!(err(r#"{"kind":"revoke"}"#).contains("revoke needs `device`"));
        assert!(err(r#"{"kind":"revoke","device":"zz"}"#).contains("device"));
        assert!(err(&format!(
            r#"{{"kind":"revoke","device":"{DEV}","reason":"bored"}}"#
        ))
        .contains("lost"));
        assert!(err(r#"{"kind":"check_code"}"#).contains("either matches or typed"));
        assert!(err(r#"{"kind":"accept_offer","link":"x"}"#).contains("pairing link"));
        assert!(err(r#"{"matches":true}"#).contains("missing field `kind`"));
        assert!(err(r#"{"kind":"send","text":1}"#).contains("invalid type"));
        assert!(err("[]").contains("bad device command"));
    }
}
