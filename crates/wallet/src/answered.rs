//! Answered approvals until their page has the answer: what survives an MV3
//! service-worker restart between the user's Approve and the page's reply.
//!
//! When the user answers, the worker records the resolution
//! ([`crate::Wallet::resolve`]) as `{ id, then }` and stores that record in
//! the same storage write as the session half the approval just left, before
//! it does anything else. It then carries the record forward, one step at a
//! time, each step decided here ([`answer_step`]) and stored before the next:
//!
//! ```text
//! send_transaction --signed--> send_signed --sent--> reply --delivered--> (gone)
//! sign_personal / sign_typed_data --signed--------> reply --delivered--> (gone)
//! ```
//!
//! A worker killed anywhere starts again from the last stored step: an
//! unsigned transaction is signed again (its nonce and fees were fixed when
//! it was approved, and RFC 6979 signing is deterministic, so it is the same
//! transaction), a signed one is only ever sent as those same bytes (a node
//! that already has them knows their hash), and a reply is delivered again
//! to the document that asked (a page ignores an answer it already has).
//! Nothing is signed with a new nonce, nothing is sent twice.
//!
//! The same holds for the answers the worker reaches without the window:
//! the phone's (confirm on phone), a request the phone did not answer in
//! time or that waited too long, and the withdrawals (the window or the
//! page's tab closed, the wallet locked, the phone left the group). Those
//! calls hand back [`Answered`] records, which the worker stores the same
//! way before it carries them out.

use serde::Serialize;
use serde_json::{json, Value};

use crate::{Error, Resolution, Result, Session};

/// An answered approval in the form the worker records it, `{ id, then }`:
/// the approval's id and what its answer calls for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answered {
    /// The approval (it has left the queue).
    pub id: u64,
    /// What to do for its page.
    pub then: Resolution,
}

/// A request that waited this long for the user expires (ms): a request is
/// not approved long after, out of the context the page asked it in.
pub const STALE_MS: u64 = 30 * 60_000;

/// What an answered approval's resolution (`then`, its JSON) becomes after
/// the worker's step: `{ signed: { raw, hash } }` (a `send_transaction` was
/// signed: from now on only these bytes are sent for it; refused for
/// anything else, so a transaction is never signed twice into two sends),
/// or `{ result }` / `{ error }` (its reply for the page: only delivering is
/// left).
pub fn answer_step(then: &Value, step: &Value) -> Result<Value> {
    let mut next = then.clone();
    match (step.get("signed"), step.get("result"), step.get("error")) {
        (Some(s), None, None)
            if then["type"] == "send_transaction"
                && s["raw"].is_string()
                && s["hash"].is_string() =>
        {
            next["type"] = json!("send_signed");
            next["raw"] = s["raw"].clone();
            next["hash"] = s["hash"].clone();
            return Ok(next);
        }
        (None, Some(result), None) => {
            next = json!({"type": "reply", "result": result, "changed": false});
        }
        (None, None, Some(error)) => next = json!({"type": "error", "error": error}),
        _ => {
            return Err(Error::Invalid(
                "a step is { result }, { error }, or { signed } for an unsigned transaction".into(),
            ))
        }
    }
    next["reply_to"] = then["reply_to"].clone();
    Ok(next)
}

impl Session {
    /// Rejects the requests that waited [`STALE_MS`] for the user (not those
    /// the phone is asked about: they have the phone's timeout).
    pub fn expire(&mut self, now: u64) -> Vec<Answered> {
        let (gone, keep) = core::mem::take(&mut self.approvals)
            .into_iter()
            .partition(|a| a.phone.is_none() && now.saturating_sub(a.created_at) >= STALE_MS);
        self.approvals = keep;
        gone.into_iter()
            .map(|a: crate::Approval| Answered {
                id: a.id,
                then: Resolution::Error {
                    reply_to: a.reply_to,
                    error: json!({
                        "code": Error::Rejected.code(),
                        "message": "this request waited 30 minutes without an answer and expired; ask again",
                    }),
                },
            })
            .collect()
    }
}
