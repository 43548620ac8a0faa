//! Confirm on phone, the desktop's side: which approvals the phone's policy
//! covers, the request the phone is shown, and what its answer (or the
//! lack of one) turns into.
//!
//! The flow: the user approves on the desktop; when the phone's policy
//! covers the request, [`crate::Wallet::resolve`] does not sign but keeps
//! the approval pending, queues a request for the phone
//! ([`crate::Wallet::take_phone_outbox`]) and answers
//! [`Resolution::AwaitPhone`]. The phone's answer arrives through the group
//! ([`crate::Wallet::phone_message`]) and becomes the resolution the
//! desktop's approval would have been, or a 4001 rejection; so does the
//! timeout ([`crate::Wallet::expire_phone`]). Only the phone changes the
//! policy: the desktop has no call that loosens it (a phished desktop user
//! could be talked into that), except forgetting it when the phone that set
//! it leaves the group.

use alloy_primitives::{Address, U256};
use serde::Serialize;
use serde_json::{json, Value};
use tandem_confirm::{Answer, Policy, Rule, Sent};

use crate::approval::Edits;
use crate::{Answered, Approval, ApprovalKind, Error, Resolution, Result, Wallet};

/// The policy the phone set, as the desktop keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonePolicy {
    /// The rules.
    pub policy: Policy,
    /// The device (hex id) that set them, and answers.
    pub owner: String,
    /// When the phone set them (Unix seconds, its clock).
    pub set_at: u64,
}

/// An approval the user approved on the desktop that waits for the phone,
/// stored in the approval (`phone`) in the form [`PhoneWait::from_value`]
/// reads. With the `read-back` feature that form is also this type's serde
/// form, which the approval window reads (crates/ui); the core keeps its
/// hand-written reader (a derived one cost the core module 2.5 KB
/// gzipped, over its budget).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "read-back", derive(serde::Deserialize))]
#[cfg_attr(feature = "read-back", serde(rename_all = "camelCase"))]
pub struct PhoneWait {
    /// The request sent.
    pub sent: Sent,
    /// The rule that asked for the phone.
    pub rule: Rule,
    /// What the request asks, in words ("Send a transaction").
    pub action: String,
    /// How long the desktop waits (seconds).
    pub timeout_secs: u32,
}

/// A message for the phone, for the worker to hand to the device engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneOut {
    /// Send as a group *request* (a `tandem_confirm::Message::Request`) rather than data.
    pub request: bool,
    /// The message.
    pub text: String,
}

/// What the worker does for confirm on phone after a change, or when a
/// deadline passes ([`Wallet::phone_work`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PhoneWork {
    /// Requests the phone did not answer in time, rejected (4001).
    pub resolutions: Vec<Answered>,
    /// Messages for the phone.
    pub outbox: Vec<PhoneOut>,
    /// When to call again (ms since the epoch; 0: nothing waits).
    pub deadline: u64,
    /// Requests that waited too long for the user, rejected (4001;
    /// [`crate::Session::expire`]): not the phone's doing.
    pub expired: Vec<Answered>,
}

/// What a message from the group changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneOutcome {
    /// Resolutions to carry out (an answered approval).
    pub resolutions: Vec<Answered>,
    /// What to tell the user (a notification), if anything.
    pub notice: Option<String>,
    /// The phone's answer, when the message was one that counted: whether
    /// it approved (for the audit log, whatever became of the approval).
    pub approved: Option<bool>,
}

// The stored forms are JSON values read and written here by hand, as is
// the phone's policy and answer on arrival: `serde_json::Value` is in the
// core module anyway, and a derived reader per type cost it 17 KB gzipped
// (measured; its budget is 350). `tandem_confirm`'s typed readers, which
// the phone uses, are the reference: the tests feed this code their output.

fn field<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.get(k).unwrap_or(&Value::Null)
}

fn string(v: &Value, k: &str) -> String {
    field(v, k).as_str().unwrap_or_default().to_owned()
}

fn number(v: &Value, k: &str) -> u64 {
    field(v, k).as_u64().unwrap_or_default()
}

fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::Connect => "connect",
        Rule::Value => "value",
        Rule::Approval => "approval",
        Rule::Permit => "permit",
        Rule::AddNetwork => "add_network",
        Rule::KeyOnPhone => "key_on_phone",
    }
}

fn rule_of(name: &str) -> Option<Rule> {
    [
        Rule::Connect,
        Rule::Value,
        Rule::Approval,
        Rule::Permit,
        Rule::AddNetwork,
        Rule::KeyOnPhone,
    ]
    .into_iter()
    .find(|r| rule_name(*r) == name)
}

impl PhoneWait {
    pub(crate) fn to_value(&self) -> Value {
        json!({
            "sent": {
                "text": self.sent.text, "id": self.sent.id, "to": self.sent.to,
                "digest": self.sent.digest, "expiresAt": self.sent.expires_at,
            },
            "rule": rule_name(self.rule),
            "action": self.action,
            "timeoutSecs": self.timeout_secs,
        })
    }

    /// Reads the stored form.
    pub fn from_value(v: &Value) -> Option<PhoneWait> {
        let sent = field(v, "sent");
        Some(PhoneWait {
            sent: Sent {
                text: string(sent, "text"),
                id: string(sent, "id"),
                to: string(sent, "to"),
                digest: string(sent, "digest"),
                expires_at: number(sent, "expiresAt"),
            },
            rule: rule_of(field(v, "rule").as_str()?)?,
            action: string(v, "action"),
            timeout_secs: u32::try_from(number(v, "timeoutSecs")).ok()?,
        })
    }

    /// The request the phone was shown.
    pub fn request(&self) -> Option<tandem_confirm::Request> {
        match tandem_confirm::Message::decode(self.sent.text.as_bytes()) {
            Ok(tandem_confirm::Message::Request { request, .. }) => Some(request),
            _ => None,
        }
    }
}

fn policy_value(p: &Policy) -> Value {
    json!({
        "connect": p.connect,
        "value_above_milli": p.value_above_milli,
        "approvals": p.approvals,
        "add_network": p.add_network,
        "timeout_secs": p.timeout_secs,
    })
}

fn policy_of(v: &Value) -> Result<Policy> {
    let flag = |k: &str| {
        field(v, k)
            .as_bool()
            .ok_or_else(|| Error::Invalid(format!("the phone's policy has no `{k}`")))
    };
    let p = Policy {
        connect: flag("connect")?,
        value_above_milli: field(v, "value_above_milli").as_u64(),
        approvals: flag("approvals")?,
        add_network: flag("add_network")?,
        timeout_secs: u32::try_from(number(v, "timeout_secs")).unwrap_or_default(),
    };
    p.check().map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(p)
}

impl PhonePolicy {
    pub(crate) fn to_value(&self) -> Value {
        json!({ "policy": policy_value(&self.policy), "owner": self.owner, "setAt": self.set_at })
    }

    /// Reads the stored form.
    pub fn from_value(v: &Value) -> Option<PhonePolicy> {
        Some(PhonePolicy {
            policy: policy_of(field(v, "policy")).ok()?,
            owner: string(v, "owner"),
            set_at: number(v, "setAt"),
        })
    }
}

/// What a desktop reads from its phone (`tandem_confirm::ToDesktop`'s wire
/// form).
enum Incoming {
    Policy { policy: Policy, set_at: u64 },
    Answer(Answer),
    Accounts(Vec<Address>),
}

fn read_incoming(text: &str) -> Result<Incoming> {
    if text.len() > tandem_confirm::MAX_MESSAGE_LEN {
        return Err(Error::Invalid("a confirmation message is too long".into()));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::Invalid(format!("not a confirmation message: {e}")))?;
    let (kind, body) = match v.as_object() {
        Some(o) if o.len() == 1 => o.iter().next().map(|(k, b)| (k.as_str(), b)),
        _ => None,
    }
    .ok_or_else(|| Error::Invalid("not a confirmation message".into()))?;
    let version = number(body, "v");
    if version != u64::from(tandem_confirm::VERSION) {
        return Err(Error::Invalid(format!(
            "confirmation message version {version}; this wallet speaks {}",
            tandem_confirm::VERSION
        )));
    }
    match kind {
        "policy" => Ok(Incoming::Policy {
            policy: policy_of(field(body, "policy"))?,
            set_at: number(body, "set_at"),
        }),
        "answer" => {
            let a = field(body, "answer");
            Ok(Incoming::Answer(Answer {
                id: string(a, "id"),
                digest: string(a, "digest"),
                approve: field(a, "approve")
                    .as_bool()
                    .ok_or_else(|| Error::Invalid("an answer says neither yes nor no".into()))?,
                signature: field(a, "signature").as_str().map(str::to_owned),
            }))
        }
        "accounts" => {
            let list = field(body, "accounts")
                .as_array()
                .ok_or_else(|| Error::Invalid("the phone's accounts message has no list".into()))?;
            if list.len() > tandem_confirm::MAX_ACCOUNTS {
                return Err(Error::Invalid(format!(
                    "a phone shares at most {} accounts",
                    tandem_confirm::MAX_ACCOUNTS
                )));
            }
            list.iter()
                .map(|a| {
                    a.as_str()
                        .filter(|a| tandem_confirm::is_address(a))
                        .and_then(|a| a.parse().ok())
                        .ok_or_else(|| {
                            Error::Invalid(
                                "the phone shared something that is not an address".into(),
                            )
                        })
                })
                .collect::<Result<_>>()
                .map(Incoming::Accounts)
        }
        other => Err(Error::Invalid(format!(
            "a `{other}` message is not for a desktop"
        ))),
    }
}

fn secs(now_ms: u64) -> u64 {
    now_ms / 1000
}

fn rejected(message: &str) -> Value {
    json!({ "code": 4001, "message": message })
}

fn hex_u256(v: Option<&Value>) -> U256 {
    v.and_then(Value::as_str)
        .and_then(|s| U256::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok())
        .unwrap_or_default()
}

impl Wallet {
    /// The phone's policy, if a phone set one.
    pub fn phone_policy(&self) -> Option<PhonePolicy> {
        self.state.phone.as_ref().and_then(PhonePolicy::from_value)
    }

    /// Approval `id` as the worker hands it to the approval window
    /// (`approvals.get`): the approval's JSON with `needsPhone`, the rule of
    /// the phone's policy that covers it (`connect`, `value`, `approval`,
    /// `permit`, `add_network`) or `null`. `tandem-ui` reads it as its
    /// `model::Approval` (its tests read this very text).
    pub fn approval_json(&self, id: u64) -> Result<String> {
        let a = self.session.approval(id)?;
        let mut json = serde_json::to_string(a).expect("serializing plain data cannot fail");
        json.pop(); // the object's closing brace
        json.push_str(",\"needsPhone\":");
        json.push_str(
            &serde_json::to_string(&self.needs_phone(a))
                .expect("serializing plain data cannot fail"),
        );
        json.push('}');
        Ok(json)
    }

    /// The rule of the phone's policy that covers approval `a`, if any.
    pub fn needs_phone(&self, a: &Approval) -> Option<Rule> {
        if let ApprovalKind::PersonalSign | ApprovalKind::TypedData | ApprovalKind::Transaction =
            a.kind
        {
            let signer = a
                .request
                .get("address")
                .and_then(|x| x.as_str()?.parse::<Address>().ok());
            if signer.is_some_and(|s| self.state.key_device(s).is_some()) {
                return Some(Rule::KeyOnPhone);
            }
        }
        let p = &self.phone_policy()?.policy;
        let d = &a.display;
        match a.kind {
            ApprovalKind::Connect => {
                let already = d
                    .get("alreadyPermitted")
                    .and_then(Value::as_array)
                    .is_some_and(|l| !l.is_empty());
                (p.connect && !already).then_some(Rule::Connect)
            }
            ApprovalKind::Transaction => {
                let tx = a.request.get("transaction");
                let data = tx
                    .and_then(|t| t.get("data"))
                    .and_then(Value::as_str)
                    .unwrap_or("0x");
                // The window's own reading of the call (unlimited in
                // practice, as some dapps ask MAX - small; or a whole
                // collection).
                let grants_all = crate::decode::token_call(data).is_some_and(|c| c.grants_all());
                if p.approvals && grants_all {
                    return Some(Rule::Approval);
                }
                let value = hex_u256(tx.and_then(|t| t.get("value")));
                let limit = p
                    .value_above_milli
                    .map(|m| U256::from(m) * U256::from(1_000_000_000_000_000u64));
                limit.is_some_and(|l| value > l).then_some(Rule::Value)
            }
            ApprovalKind::TypedData => {
                let primary = d.get("primaryType").and_then(Value::as_str).unwrap_or("");
                (p.approvals && crate::decode::is_permit(primary)).then_some(Rule::Permit)
            }
            ApprovalKind::AddChain => {
                // A new network, or a known one whose name, RPC or currency
                // the site would change.
                let known = d.get("alreadyKnown").is_some_and(|k| !k.is_null());
                let changes = d.get("network") != d.get("alreadyKnown");
                (p.add_network && (!known || changes)).then_some(Rule::AddNetwork)
            }
            ApprovalKind::PersonalSign | ApprovalKind::SwitchChain | ApprovalKind::WatchAsset => {
                None
            }
            // A bundle is never sent to the phone: one its policy covers is
            // refused (`crate::calls::check_approval`, in the extra module).
            ApprovalKind::Calls => None,
        }
    }

    /// Approval `a`, approved on the desktop with `edits`, goes to the phone:
    /// the request is queued for it and the approval waits. `summary` is the
    /// request as the approval window showed it (`tandem_ui::confirm::summary`:
    /// a `tandem_confirm::Request` whose id, recipient device and times are
    /// set here).
    pub(crate) fn ask_phone(
        &mut self,
        a: &Approval,
        rule: Rule,
        edits: &Edits,
        summary: &str,
        now_ms: u64,
        nonce: [u8; 16],
    ) -> Result<Resolution> {
        let policy = self.phone_policy();
        let timeout_secs = policy
            .as_ref()
            .map_or(tandem_confirm::DEFAULT_TIMEOUT_SECS, |p| {
                p.policy.timeout_secs
            });
        // The edits are applied now (and checked: the phone is asked only
        // about something the desktop can carry out); the phone's approval
        // then signs exactly this.
        let mut approved_request = a.request.clone();
        if let Some(tx) = approved_request
            .get_mut("transaction")
            .and_then(Value::as_object_mut)
        {
            crate::approval::apply_edits(tx, edits)?;
            crate::approval::check_transaction(&Value::Object(tx.clone()))?;
        }
        if let Some(list) = &edits.accounts {
            if list.is_empty() {
                return Err(Error::Invalid("choose at least one account".into()));
            }
            if let Some(bad) = list
                .iter()
                .find(|x| !self.state.accounts.iter().any(|acc| acc.address == **x))
            {
                return Err(Error::Invalid(format!("no account {bad} in this wallet")));
            }
            if let Some(r) = approved_request.as_object_mut() {
                r.insert("accounts".into(), json!(list));
            }
        }
        let mut request: Value = serde_json::from_str(summary).unwrap_or(Value::Null);
        let Some(fields) = request.as_object_mut() else {
            return Err(Error::Invalid(
                "this request needs your phone: approve it in Tandem's approval window, \
                 which shows the phone what you approved"
                    .into(),
            ));
        };
        // An account on the phone: the phone holding its key is asked, with
        // exactly what to sign (as the desktop would sign it itself).
        let to = if rule == Rule::KeyOnPhone {
            let approved = Approval {
                request: approved_request.clone(),
                ..a.clone()
            };
            // Signing kinds change no state here: this only reads what to sign.
            let (kind, account, payload) =
                crate::remote::to_sign(&self.approved(&approved, &Edits::default(), now_ms)?)
                    .ok_or_else(|| Error::Invalid("nothing to sign on the phone".into()))?;
            fields.insert(
                "sign".into(),
                json!({ "kind": kind, "account": format!("{account:#x}"), "payload": payload }),
            );
            self.state
                .key_device(account)
                .ok_or_else(|| Error::Invalid(format!("the key of {account} is not on a phone")))?
        } else {
            policy
                .ok_or_else(|| Error::Invalid("no phone confirms requests".into()))?
                .owner
        };
        let now = secs(now_ms);
        let expires_at = now + u64::from(timeout_secs);
        let id = tandem_confirm::hex(&nonce);
        fields.insert("id".into(), json!(id));
        fields.insert("to".into(), json!(to));
        fields.insert("created_at".into(), json!(now));
        fields.insert("expires_at".into(), json!(expires_at));
        fields.insert("rule".into(), json!(rule_name(rule)));
        fields.insert("site".into(), json!(a.origin));
        let action = string(&request, "action");
        let text =
            json!({ "request": { "v": tandem_confirm::VERSION, "request": request } }).to_string();
        let wait = PhoneWait {
            sent: Sent {
                digest: tandem_confirm::digest(text.as_bytes()),
                text: text.clone(),
                id,
                to,
                expires_at,
            },
            rule,
            action,
            timeout_secs,
        };
        let stored = self
            .session
            .approvals
            .iter_mut()
            .find(|x| x.id == a.id)
            .ok_or(Error::NoSuchApproval(a.id))?;
        stored.phone = Some(wait.to_value());
        stored.request = approved_request;
        self.session.queue_for_phone(true, text);
        self.session.lock.touch(now_ms);
        Ok(Resolution::AwaitPhone { id: a.id, rule })
    }

    /// Messages queued for the phone since the last call (the worker sends
    /// them through the device engine).
    pub fn take_phone_outbox(&mut self) -> Vec<PhoneOut> {
        let taken = core::mem::take(&mut self.session.phone_outbox);
        taken
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|m| PhoneOut {
                request: field(m, "request").as_bool().unwrap_or_default(),
                text: string(m, "text"),
            })
            .collect()
    }

    /// Rejects what timed out, hands over the messages for the phone, and
    /// names the next deadline.
    pub fn phone_work(&mut self, now_ms: u64) -> PhoneWork {
        let resolutions = self.expire_phone(now_ms);
        PhoneWork {
            resolutions,
            expired: self.session.expire(now_ms),
            outbox: self.take_phone_outbox(),
            deadline: self
                .session
                .approvals
                .iter()
                .filter_map(Self::phone_wait)
                .map(|w| (w.sent.expires_at + 1) * 1000)
                .min()
                .unwrap_or(0),
        }
    }

    /// The approval's wait for the phone, if it waits.
    pub fn phone_wait(a: &Approval) -> Option<PhoneWait> {
        a.phone.as_ref().and_then(PhoneWait::from_value)
    }

    /// A message that arrived from device `from` (hex id) of the group: the
    /// phone's policy or an answer. Anything else is ignored.
    pub fn phone_message(&mut self, from: &str, text: &str, now_ms: u64) -> Result<PhoneOutcome> {
        let mut out = PhoneOutcome::default();
        match read_incoming(text)? {
            Incoming::Policy { policy, set_at } => {
                // The first phone to set a policy owns it; only it changes
                // it (another member, say a compromised laptop, cannot
                // switch the phone's protection off) until it leaves the
                // group ([`Wallet::phone_gone`]).
                let current = self.phone_policy();
                if let Some(p) = &current {
                    if !p.owner.eq_ignore_ascii_case(from) {
                        return Err(Error::Unauthorized(
                            "only the phone that set the confirmation policy can change it".into(),
                        ));
                    }
                }
                let newer = current.as_ref().is_none_or(|p| set_at >= p.set_at);
                if newer {
                    out.notice = Some(
                        "Your phone set what it must confirm before this browser signs \
                         (Tandem → Devices shows it)."
                            .into(),
                    );
                    self.state.phone = Some(
                        PhonePolicy {
                            policy,
                            owner: from.to_ascii_lowercase(),
                            set_at,
                        }
                        .to_value(),
                    );
                }
            }
            Incoming::Accounts(list) => {
                if self.state.set_phone_accounts(from, &list) {
                    out.notice = Some(if list.is_empty() {
                        "Your phone stopped sharing its accounts with this browser.".into()
                    } else {
                        format!(
                            "Your phone shares {} account(s): they are listed here, \
                             marked “on your phone”, and sign there.",
                            list.len()
                        )
                    });
                }
            }
            Incoming::Answer(answer) => {
                let Some((a, wait)) = self.session.approvals.iter().find_map(|a| {
                    Self::phone_wait(a)
                        .filter(|w| w.sent.id == answer.id)
                        .map(|w| (a.clone(), w))
                }) else {
                    // Already answered, cancelled or timed out: nothing waits.
                    return Ok(out);
                };
                let approve = wait
                    .sent
                    .check(from, &answer, secs(now_ms))
                    .map_err(|r| Error::Unauthorized(format!("an answer was refused: {r}")))?;
                let resolution = if approve {
                    let approved = self.approved(&a, &Edits::default(), now_ms);
                    let approved = if wait.rule == Rule::KeyOnPhone {
                        approved
                            .and_then(|r| crate::remote::verified(r, answer.signature.as_deref()))
                    } else {
                        approved
                    };
                    match approved {
                        Ok(r) => r,
                        Err(e) => Resolution::Error {
                            reply_to: a.reply_to.clone(),
                            error: e.to_rpc(),
                        },
                    }
                } else {
                    // The wallet's own Send is no site to name.
                    let from = if a.origin == crate::provider::WALLET_ORIGIN {
                        "this wallet's own Send"
                    } else {
                        &a.origin
                    };
                    out.notice = Some(format!(
                        "Rejected on your phone: “{}” from {from}.",
                        wait.action
                    ));
                    Resolution::Error {
                        reply_to: a.reply_to.clone(),
                        error: rejected("Rejected on your phone"),
                    }
                };
                self.session.approvals.retain(|x| x.id != a.id);
                out.approved = Some(approve);
                out.resolutions.push(Answered {
                    id: a.id,
                    then: resolution,
                });
            }
        }
        Ok(out)
    }

    /// Approvals whose phone did not answer in time: each is rejected
    /// (4001) and the phone is told to stop showing it.
    pub fn expire_phone(&mut self, now_ms: u64) -> Vec<Answered> {
        let now = secs(now_ms);
        self.take_waiting(|w| now > w.sent.expires_at, false)
    }

    /// Removes the approvals waiting for the phone that `gone` picks, and
    /// rejects them (4001); the phone is told to drop them.
    #[inline(never)]
    fn take_waiting(&mut self, gone: impl Fn(&PhoneWait) -> bool, left: bool) -> Vec<Answered> {
        let mut out = Vec::new();
        let mut keep = Vec::new();
        for a in core::mem::take(&mut self.session.approvals) {
            match Self::phone_wait(&a).filter(|w| gone(w)) {
                Some(w) => {
                    self.session
                        .cancel_on_phone(&a, "the computer stopped waiting");
                    let message = if !left {
                        format!(
                            "Timed out: your phone did not confirm within {} seconds",
                            w.timeout_secs
                        )
                    } else {
                        "The phone that had to confirm this left the wallet group".into()
                    };
                    out.push(Answered {
                        id: a.id,
                        then: Resolution::Error {
                            reply_to: a.reply_to,
                            error: rejected(&message),
                        },
                    });
                }
                None => keep.push(a),
            }
        }
        self.session.approvals = keep;
        out
    }

    /// The device `device` (hex id) left the group or was revoked: if it set
    /// the policy, the policy goes (nothing could answer), and requests
    /// waiting for it are rejected. Returns the resolutions.
    /// Its accounts (keys on it) leave the list and the sites.
    pub fn phone_gone(&mut self, device: &str) -> Vec<Answered> {
        self.state.set_phone_accounts(device, &[]);
        if self
            .phone_policy()
            .is_some_and(|p| p.owner.eq_ignore_ascii_case(device))
        {
            self.state.phone = None;
        }
        self.take_waiting(|w| w.sent.to.eq_ignore_ascii_case(device), true)
    }
}

impl crate::Session {
    /// Queues a message for the phone (`request`: as a group request).
    fn queue_for_phone(&mut self, request: bool, text: String) {
        let m = json!({"request": request, "text": text});
        match &mut self.phone_outbox {
            Value::Array(list) => list.push(m),
            other => *other = Value::Array(vec![m]),
        }
    }

    /// Tells the phone to drop the request of approval `a` (if it was sent).
    pub(crate) fn cancel_on_phone(&mut self, a: &Approval, reason: &str) {
        if let Some(w) = Wallet::phone_wait(a) {
            // `tandem_confirm::Message::Cancel`, written as its wire form
            // (the id is hex, the reasons are this file's plain words).
            let text = format!(
                r#"{{"cancel":{{"v":{},"id":"{}","reason":"{reason}"}}}}"#,
                tandem_confirm::VERSION,
                w.sent.id
            );
            self.queue_for_phone(false, text);
        }
    }
}
