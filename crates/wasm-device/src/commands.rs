//! What the popup asks the device engine for, as JSON. Decoding and checking
//! happen here, so the worker's JavaScript only passes text along.

use tandem_device::{ApproverMode, Command};
use tandem_pair::{CodeCheck, ComparisonCode, DeviceId, RevocationReason};
use wasm_bindgen::JsError;

tandem_pair::internally_tagged! {
    #[serde(tag = "kind")]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum Request {
        Connect,
        Disconnect,
        ListDevices,
        ShowOffer {
            #[serde(default = "default_lifetime")]
            lifetime: u64,
        },
        ConfirmCode {
            matches: bool,
        },
        AcceptOffer {
            link: String,
            #[serde(default)]
            typing: bool,
            #[serde(default)]
            allow_other_relay: bool,
        },
        AllowOtherRelay,
        CheckCode {
            #[serde(default)]
            matches: Option<bool>,
            #[serde(default)]
            typed: Option<String>,
        },
        CancelPairing,
        StartOver,
        Revoke {
            device: String,
            #[serde(default)]
            reason: Option<String>,
            #[serde(default)]
            erase: bool,
        },
        Refresh {
            device: String,
            #[serde(default = "default_days")]
            days: u64,
        },
        Send {
            text: String,
        },
        Ask {
            text: String,
        },
        ClearInbox {
            upto: u64,
        },
    }
}

fn default_lifetime() -> u64 {
    tandem_pair::DEFAULT_OFFER_LIFETIME_SECS
}

fn default_days() -> u64 {
    30
}

fn bad(e: impl core::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Parses one command.
pub(crate) fn parse(json: &str) -> Result<Command, JsError> {
    let r: Request =
        serde_json::from_str(json).map_err(|e| bad(format!("bad device command: {e}")))?;
    Ok(match r {
        Request::Connect => Command::Connect,
        Request::Disconnect => Command::Disconnect,
        Request::ListDevices => Command::ListDevices,
        Request::ShowOffer { lifetime } => Command::ShowOffer {
            lifetime_secs: lifetime.clamp(30, 600),
        },
        Request::ConfirmCode { matches } => Command::ConfirmCode(matches),
        Request::AcceptOffer {
            link,
            typing,
            allow_other_relay,
        } => {
            let offer = tandem_pair::PairingOffer::parse(&link).map_err(bad)?;
            check_relay(&offer.relay)?;
            Command::AcceptOffer {
                link,
                mode: if typing {
                    ApproverMode::Typing
                } else {
                    ApproverMode::Compare
                },
                allow_other_relay,
            }
        }
        Request::AllowOtherRelay => Command::AllowOtherRelay,
        Request::CheckCode { matches, typed } => match (matches, typed) {
            (Some(true), None) => Command::CheckCode(CodeCheck::Match),
            (Some(false), None) => Command::CheckCode(CodeCheck::Differ),
            (None, Some(t)) => {
                Command::CheckCode(CodeCheck::Typed(ComparisonCode::parse(&t).map_err(bad)?))
            }
            _ => return Err(bad("check_code takes either matches or typed")),
        },
        Request::CancelPairing => Command::CancelPairing,
        Request::StartOver => Command::StartOver,
        Request::Revoke {
            device,
            reason,
            erase,
        } => Command::Revoke {
            erase,
            device: DeviceId::from_hex(&device).map_err(bad)?,
            reason: reason
                .as_deref()
                .unwrap_or("unspecified")
                .parse::<RevocationReason>()
                .map_err(bad)?,
        },
        Request::Refresh { device, days } => Command::Refresh {
            device: DeviceId::from_hex(&device).map_err(bad)?,
            lifetime_secs: days.clamp(1, 90) * 86_400,
        },
        Request::Send { text } => Command::Send(text.into_bytes()),
        Request::Ask { text } => Command::Ask(text.into_bytes()),
        Request::ClearInbox { upto } => Command::ClearInbox { upto },
    })
}

/// A relay URL a device may use: `wss://` anywhere, `ws://` only on this
/// machine (loopback), where nothing crosses a network.
pub(crate) fn check_relay(url: &str) -> Result<(), JsError> {
    tandem_pair::offer::check_transport(url).map_err(bad)
}
