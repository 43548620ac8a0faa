//! Accounts whose key lives only on the phone, used from this desktop.
//!
//! The phone shares its addresses (`tandem_confirm::Message::Accounts`);
//! they join the account list with the phone's device id as their origin
//! (`{"kind":"phone","device":…}`), selectable and connectable like local
//! ones. Signing for one goes through confirm on phone
//! ([`tandem_confirm::Rule::KeyOnPhone`]): the request carries exactly what
//! to sign ([`tandem_confirm::Sign`]), the phone signs it with its key, and
//! [`verified`] accepts the signature only if it recovers to that account
//! over the hash recomputed here from what was sent. When the phone leaves
//! the group, its accounts leave the list (and the sites they were shared
//! with).

use alloy_primitives::{hex, Address};
use serde_json::{json, Value};
use tandem_confirm::SignKind;
use tandem_eth::{eip191, eip712, signature, TransactionRequest};

use crate::{Account, Error, Resolution, Result, State};

/// The origin of an account on phone `device`.
fn origin(device: &str) -> Value {
    json!({ "kind": "phone", "device": device })
}

/// The phone (hex device id) holding the key of an account's origin, if
/// the key is not in this wallet's keyring.
pub fn device_of(account: &Account) -> Option<&str> {
    let o = &account.origin;
    (o.get("kind")?.as_str()? == "phone")
        .then(|| o.get("device")?.as_str())
        .flatten()
}

impl State {
    /// The phone holding `address`'s key, if it is one of the phone's accounts.
    pub fn key_device(&self, address: Address) -> Option<String> {
        self.accounts
            .iter()
            .find(|a| a.address == address)
            .and_then(device_of)
            .map(str::to_owned)
    }

    /// Phone `device` shares these accounts (replacing what it shared
    /// before). An address this wallet's keyring holds stays local; one
    /// another phone shares stays that phone's. Returns whether the list
    /// changed.
    pub fn set_phone_accounts(&mut self, device: &str, list: &[Address]) -> bool {
        let before = self.accounts.clone();
        self.accounts
            .retain(|a| device_of(a).is_none_or(|d| !d.eq_ignore_ascii_case(device)));
        let mut n = 0;
        for address in list {
            if self.accounts.iter().any(|a| a.address == *address) {
                continue;
            }
            n += 1;
            let name = before
                .iter()
                .find(|a| a.address == *address)
                .map(|a| a.name.clone())
                .unwrap_or_else(|| format!("Phone account {n}"));
            self.accounts.push(Account {
                address: *address,
                name,
                origin: origin(&device.to_ascii_lowercase()),
            });
        }
        self.forget_missing();
        before != self.accounts
    }

    /// Drops what refers to an account no longer in the list: the
    /// selection and the sites' grants.
    pub(crate) fn forget_missing(&mut self) {
        let accounts = &self.accounts;
        if !self
            .selected
            .is_some_and(|s| accounts.iter().any(|a| a.address == s))
        {
            self.selected = accounts.first().map(|a| a.address);
        }
        for site in &mut self.sites {
            site.accounts
                .retain(|a| accounts.iter().any(|x| x.address == *a));
        }
        self.sites.retain(|s| !s.accounts.is_empty());
    }
}

/// What the phone is asked to sign for an approved request (`resolution`
/// from [`crate::Wallet::approved`]): the kind, the account and the payload.
pub(crate) fn to_sign(resolution: &Resolution) -> Option<(SignKind, Address, String)> {
    Some(match resolution {
        Resolution::SignPersonal {
            address, message, ..
        } => (SignKind::Personal, *address, message.clone()),
        Resolution::SignTypedData {
            address,
            typed_data,
            ..
        } => (SignKind::TypedData, *address, typed_data.clone()),
        Resolution::SendTransaction {
            address,
            transaction,
            ..
        } => (SignKind::Transaction, *address, transaction.to_string()),
        _ => return None,
    })
}

fn refused(why: &str) -> Error {
    Error::Unauthorized(format!(
        "your phone's signature was refused ({why}); nothing was signed or sent"
    ))
}

/// Turns what the approval calls for (`resolution`: sign this message,
/// these typed data or this transaction with an account on the phone) and
/// the phone's `signature` into the answer for the dapp: the signature, or
/// the signed transaction to broadcast. The hash is recomputed here from
/// the desktop's own copy of what was sent; a signature that does not
/// recover to the account over it is refused.
pub(crate) fn verified(resolution: Resolution, signature: Option<&str>) -> Result<Resolution> {
    let (kind, address, payload) =
        to_sign(&resolution).ok_or_else(|| refused("nothing was to be signed"))?;
    let text = signature.ok_or_else(|| refused("the phone approved but sent no signature"))?;
    let bytes = hex::decode(text).map_err(|_| refused("it is not hex"))?;
    let sig = signature::parse_rsv(&bytes).map_err(|_| refused("it is not 65 bytes r, s, v"))?;
    let bad = |e: tandem_eth::Error| Error::Invalid(e.to_string());
    let (hash, tx) = match kind {
        SignKind::Personal => (eip191::hash(&eip191::message_bytes(&payload)), None),
        SignKind::TypedData => (
            eip712::signing_hash(&eip712::parse(&payload).map_err(bad)?).map_err(bad)?,
            None,
        ),
        SignKind::Transaction => {
            let req = TransactionRequest::from_json(&payload).map_err(bad)?;
            if req.from.is_some_and(|f| f != address) {
                return Err(refused("the transaction is from another account"));
            }
            let tx = req.build().map_err(bad)?;
            (tx.signature_hash(), Some(tx))
        }
    };
    if !signature::verify(address, &hash, &sig) {
        return Err(refused(&format!(
            "it is not {address}'s signature of what this computer sent"
        )));
    }
    Ok(match (resolution, tx) {
        (
            Resolution::SendTransaction {
                reply_to,
                origin,
                address,
                transaction,
            },
            Some(tx),
        ) => {
            let signed = tx.encode_signed(&sig);
            Resolution::SendSigned {
                reply_to,
                origin,
                address,
                transaction,
                raw: format!("0x{}", hex::encode(&signed.raw)),
                hash: format!("{:#x}", signed.hash),
            }
        }
        (r, _) => Resolution::Reply {
            reply_to: reply_to_of(r),
            result: json!(format!("0x{}", hex::encode(sig.as_bytes()))),
            changed: false,
        },
    })
}

fn reply_to_of(r: Resolution) -> Value {
    match r {
        Resolution::SignPersonal { reply_to, .. }
        | Resolution::SignTypedData { reply_to, .. }
        | Resolution::SendTransaction { reply_to, .. }
        | Resolution::SendSigned { reply_to, .. }
        | Resolution::Reply { reply_to, .. }
        | Resolution::Error { reply_to, .. } => reply_to,
        Resolution::AwaitPhone { .. } => Value::Null,
    }
}
