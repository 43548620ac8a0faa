//! Answered approvals until their page has the answer: what survives an MV3
//! service-worker restart between the user's Approve and the page's reply.
//!
//! [`crate::Wallet::resolve_recorded`] takes the approval out of the queue and,
//! in the same step, records what it resolved to here, in the session half that the
//! worker persists before it does anything else. The worker then drives each
//! record forward, persisting after every step:
//!
//! ```text
//! send_transaction --signed--> send_signed --sent--> reply --delivered--> (gone)
//! sign_personal / sign_typed_data --signed--------> reply --delivered--> (gone)
//! ```
//!
//! A worker killed anywhere starts again from the last recorded step: an
//! unsigned transaction is signed again (its nonce and fees were fixed when
//! it was approved, and RFC 6979 signing is deterministic, so it is the same
//! transaction), a signed one is only ever sent as those same bytes (a node
//! that already has them answers with the same hash), and a reply is
//! delivered again to the document that asked (a page ignores an answer it
//! already has). Nothing is signed with a new nonce, nothing is sent twice.

use serde_json::{json, Value};

use crate::{Error, Resolution, Result, Session};

/// A request that waited this long for the user expires (ms): a request is
/// not approved long after, out of the context the page asked it in.
pub const STALE_MS: u64 = 30 * 60_000;

impl crate::Wallet {
    /// [`crate::Wallet::resolve`], its answer recorded in the same step (the
    /// approval leaves the queue and its answer enters the record in one
    /// change of the session, which the worker persists before it acts on
    /// it). Returns the resolution's JSON. Kept as JSON, through this text:
    /// the core module needs no decoder of resolutions, only of the steps
    /// the worker reports.
    #[allow(clippy::too_many_arguments)]
    pub fn resolve_recorded(
        &mut self,
        id: u64,
        approve: bool,
        edits: &crate::Edits,
        unlocked: bool,
        now: u64,
        phone: &str,
        nonce: [u8; 16],
    ) -> Result<String> {
        let r = self.resolve(id, approve, edits, unlocked, now, phone, nonce)?;
        let text = serde_json::to_string(&r).expect("serializing plain data cannot fail");
        if !matches!(r, Resolution::AwaitPhone { .. }) {
            let then: Value = serde_json::from_str(&text).expect("JSON just written parses");
            if !self.session.answered.is_array() {
                self.session.answered = json!([]);
            }
            if let Some(list) = self.session.answered.as_array_mut() {
                list.push(json!({ "id": id, "then": then }));
            }
        }
        Ok(text)
    }
}

impl Session {
    /// Answered approvals not yet delivered: `(id, resolution JSON)`, oldest first.
    pub fn answered(&self) -> Vec<(u64, &Value)> {
        self.answered
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|a| Some((a["id"].as_u64()?, &a["then"])))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn answered_mut(&mut self, id: u64) -> Result<&mut Value> {
        self.answered
            .as_array_mut()
            .and_then(|l| l.iter_mut().find(|a| a["id"] == id))
            .map(|a| &mut a["then"])
            .ok_or(Error::NoSuchApproval(id))
    }

    /// A step the worker took for answer `id` (the one call the worker
    /// makes): `{ signed: { raw, hash } }` ([`Session::signed`]), `{ result }`
    /// or `{ error }` ([`Session::settled`]), `{ delivered: true }`
    /// ([`Session::delivered`]).
    pub fn step(&mut self, id: u64, step: &Value) -> Result<()> {
        if let Some(s) = step.get("signed") {
            let field = |k: &str| s[k].as_str().map(str::to_owned);
            let (Some(raw), Some(hash)) = (field("raw"), field("hash")) else {
                return Err(Error::Invalid("signed is { raw, hash }".into()));
            };
            return self.signed(id, raw, hash);
        }
        if step["delivered"] == true {
            self.delivered(id);
            return Ok(());
        }
        self.settled(id, step)
    }

    /// The transaction of answer `id` is signed as `raw` (hash `hash`): from
    /// now on only these bytes are sent for it. Refused unless it waited to
    /// be signed, so a transaction is never signed twice into two sends.
    pub fn signed(&mut self, id: u64, raw: String, hash: String) -> Result<()> {
        let r = self.answered_mut(id)?;
        if r["type"] != "send_transaction" {
            return Err(Error::Invalid(format!(
                "answer {id} has no transaction to sign"
            )));
        }
        r["type"] = json!("send_signed");
        r["raw"] = json!(raw);
        r["hash"] = json!(hash);
        Ok(())
    }

    /// Answer `id` has its reply for the page (`{ result }`: a signature or
    /// the sent transaction's hash; `{ error }`): only delivering is left.
    pub fn settled(&mut self, id: u64, reply: &Value) -> Result<()> {
        let then = match (reply.get("result"), reply.get("error")) {
            (Some(result), None) => json!({"type": "reply", "result": result, "changed": false}),
            (None, Some(error)) => json!({"type": "error", "error": error}),
            _ => return Err(Error::Invalid("a reply is { result } or { error }".into())),
        };
        let r = self.answered_mut(id)?;
        let reply_to = r["reply_to"].take();
        *r = then;
        r["reply_to"] = reply_to;
        Ok(())
    }

    /// Answer `id` went to its page (or the page is gone): forgotten.
    pub fn delivered(&mut self, id: u64) {
        if let Some(l) = self.answered.as_array_mut() {
            l.retain(|a| a["id"] != id);
        }
    }

    /// Rejects the requests that waited [`STALE_MS`] for the user (not those
    /// the phone is asked about: they have the phone's timeout).
    pub fn expire(&mut self, now: u64) -> Vec<Resolution> {
        let (gone, keep) = core::mem::take(&mut self.approvals)
            .into_iter()
            .partition(|a| a.phone.is_none() && now.saturating_sub(a.created_at) >= STALE_MS);
        self.approvals = keep;
        gone.into_iter()
            .map(|a: crate::Approval| Resolution::Error {
                reply_to: a.reply_to,
                error: json!({
                    "code": Error::Rejected.code(),
                    "message": "this request waited 30 minutes without an answer and expired; ask again",
                }),
            })
            .collect()
    }
}
