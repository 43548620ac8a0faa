//! Confirm on phone, the phone's side: the requests a desktop sent (read
//! from the device engine's inbox), the user's answer, and this phone's
//! policy (sent to the group when it changes and whenever a device joins).
//!
//! A request stays in the engine's inbox (stored, sealed) until the user
//! answers it or it expires, so a reload of the app shows it again; the
//! inbox is cleared only below the oldest request still waiting.

use crate::model::{Effect, Phone, Screen};
use serde::Deserialize;
use serde_json::json;
use tandem_confirm::{digest, Answer, Message, Policy, Request, VERSION};

/// Where the policy is kept (plain JSON: it holds no secret).
pub const POLICY_KEY: &str = "tandem.phone.policy";
/// Where the shared addresses are kept (plain JSON: public addresses).
pub const SHARED_KEY: &str = "tandem.phone.shared";

/// The engine command that sends `m` to the group.
fn send(m: &Message) -> Effect {
    Effect::Command(
        json!({"kind": "send", "text": String::from_utf8(m.encode()).unwrap_or_default()}),
    )
}

/// One item of `DeviceHost::inbox()`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InboxItem {
    /// Inbox id.
    pub id: u64,
    /// Sender (hex device id; the group envelope proved it).
    pub from: String,
    /// Sent as a group request.
    pub request: bool,
    /// The data as text (`None`: not UTF-8).
    pub text: Option<String>,
}

/// A desktop's request that waits for this phone's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its inbox id.
    pub inbox_id: u64,
    /// The desktop that sent it (hex id).
    pub from: String,
    /// The digest of the bytes received (the answer carries it).
    pub digest: String,
    /// What it asks.
    pub request: Request,
}

impl Phone {
    /// Reads a policy stored by an earlier run (a bad one is replaced by the default).
    pub fn load_policy(&mut self, json: Option<&str>) {
        if let Some(p) = json.and_then(|j| serde_json::from_str::<Policy>(j).ok()) {
            if p.check().is_ok() {
                self.policy = p;
            }
        }
    }

    /// Reads the addresses shared by an earlier run.
    pub fn load_shared(&mut self, json: Option<&str>) {
        if let Some(list) = json.and_then(|j| serde_json::from_str::<Vec<String>>(j).ok()) {
            self.shared = list
                .into_iter()
                .filter(|a| tandem_confirm::is_address(a))
                .take(tandem_confirm::MAX_ACCOUNTS)
                .collect();
        }
    }

    /// The command that tells the group which accounts of this phone it may
    /// use (none when nothing is shared: nothing to say to a new device).
    pub(crate) fn announce_accounts(&self) -> Option<Effect> {
        (!self.shared.is_empty()).then(|| self.accounts_message())
    }

    fn accounts_message(&self) -> Effect {
        send(&Message::Accounts {
            v: VERSION,
            accounts: self.shared.clone(),
            set_at: self.now_secs(),
        })
    }

    /// The user chose to use this phone's account from the computers of
    /// its group (`share`), or to stop: stored, then sent to the group.
    pub(crate) fn share_accounts(&mut self, share: bool) -> Vec<Effect> {
        let Some(w) = &self.wallet else {
            self.error = Some("Unlock this phone first.".into());
            return Vec::new();
        };
        self.shared = if share {
            vec![w.address.clone()]
        } else {
            Vec::new()
        };
        self.error = None;
        self.notice = Some(if share {
            "Your computers now list this account, marked “on your phone”. Whatever they \
             sign with it comes here for your approval; the key stays on this phone."
                .into()
        } else {
            "Your computers no longer list this phone's account.".into()
        });
        vec![
            Effect::SaveShared(serde_json::to_string(&self.shared).unwrap_or_default()),
            self.accounts_message(),
        ]
    }

    fn me(&self) -> Option<&str> {
        self.devices.as_ref().map(|v| v.me.as_str())
    }

    /// The command that tells the group this phone's policy.
    pub(crate) fn announce_policy(&self) -> Effect {
        send(&Message::Policy {
            v: VERSION,
            policy: self.policy.clone(),
            set_at: self.now_secs(),
        })
    }

    /// The engine's inbox: requests for this phone are kept until answered;
    /// cancellations remove theirs; the rest is cleared.
    pub fn on_inbox(&mut self, items: Vec<InboxItem>) -> Vec<Effect> {
        let Some(me) = self.me().map(str::to_owned) else {
            return Vec::new(); // the device list names this phone; wait for it
        };
        let now = self.now_secs();
        let mut arrived = false;
        for item in &items {
            self.inbox_max = self.inbox_max.max(item.id);
            let Some(text) = &item.text else { continue };
            match (item.request, Message::decode(text.as_bytes())) {
                (true, Ok(Message::Request { request, .. })) => {
                    let known = self.confirms.iter().any(|c| c.request.id == request.id)
                        || self.answered.contains(&request.id);
                    if known || !request.to.eq_ignore_ascii_case(&me) {
                        continue;
                    }
                    if request.expires_at < now {
                        self.answered.push(request.id);
                        continue;
                    }
                    self.confirms.push(Incoming {
                        inbox_id: item.id,
                        from: item.from.clone(),
                        digest: digest(text.as_bytes()),
                        request,
                    });
                    arrived = true;
                }
                (false, Ok(Message::Cancel { id, reason, .. })) => {
                    let before = self.confirms.len();
                    self.confirms.retain(|c| c.request.id != id);
                    if self.confirms.len() != before {
                        self.answered.push(id);
                        self.notice = Some(format!("The computer withdrew its request: {reason}."));
                        if self.screen == Screen::Approve && self.confirms.is_empty() {
                            self.screen = Screen::Home;
                        }
                    }
                }
                _ => {}
            }
        }
        if arrived
            && self.wallet.is_some()
            && matches!(
                self.screen,
                Screen::Home | Screen::Approve | Screen::Activity | Screen::Sync | Screen::Wallet
            )
        {
            self.screen = Screen::Approve;
            self.error = None;
        }
        self.clear_inbox()
    }

    /// Clears the inbox below the oldest request still waiting.
    fn clear_inbox(&mut self) -> Vec<Effect> {
        let upto = self
            .confirms
            .iter()
            .map(|c| c.inbox_id.saturating_sub(1))
            .min()
            .unwrap_or(self.inbox_max);
        if upto <= self.inbox_cleared {
            return Vec::new();
        }
        self.inbox_cleared = upto;
        vec![Effect::Command(
            json!({"kind": "clear_inbox", "upto": upto}),
        )]
    }

    /// Requests whose time ran out are dropped (the desktop gave up too).
    pub(crate) fn expire_confirms(&mut self) -> Vec<Effect> {
        let now = self.now_secs();
        let before = self.confirms.len();
        let (gone, keep): (Vec<Incoming>, Vec<Incoming>) = core::mem::take(&mut self.confirms)
            .into_iter()
            .partition(|c| c.request.expires_at < now);
        self.confirms = keep;
        if self.confirms.len() == before {
            return Vec::new();
        }
        self.answered.extend(gone.into_iter().map(|c| c.request.id));
        self.notice = Some("A request from your computer expired; nothing was signed.".into());
        if self.screen == Screen::Approve && self.confirms.is_empty() {
            self.screen = Screen::Home;
        }
        self.clear_inbox()
    }

    /// The user answered request `id`.
    pub(crate) fn answer(&mut self, id: &str, approve: bool) -> Vec<Effect> {
        let mut out = self.expire_confirms();
        let Some(i) = self.confirms.iter().position(|c| c.request.id == id) else {
            if out.is_empty() {
                self.error = Some("That request is no longer waiting.".into());
            }
            return out;
        };
        // A request for this phone's own account: it signs here, with the
        // key that never leaves it; the computer checks the signature.
        let signed = match (&self.confirms[i].request.sign, approve) {
            (Some(what), true) => Some(
                self.wallet
                    .as_ref()
                    .ok_or_else(|| "Unlock this phone to sign.".to_owned())
                    .and_then(|w| w.sign(what)),
            ),
            _ => None,
        };
        let signature = match signed {
            Some(Err(e)) => {
                self.error = Some(e);
                return out;
            }
            Some(Ok(s)) => Some(s),
            None => None,
        };
        let c = self.confirms.remove(i);
        let own = tandem_ui::confirm::own_send(&c.request);
        let m = Message::Answer {
            v: VERSION,
            answer: Answer {
                id: c.request.id.clone(),
                digest: c.digest,
                approve,
                signature,
            },
        };
        out.push(Effect::Command(json!({
            "kind": "send", "text": String::from_utf8(m.encode()).unwrap_or_default()
        })));
        // This phone's own chain says what it answered (the desktop's
        // says where it was answered).
        if crate::activity::LOG {
            out.push(Effect::Audit(crate::activity::answered(
                &c.request,
                approve,
                self.me(),
            )));
        }
        self.answered.push(c.request.id);
        self.notice = Some(if approve {
            format!("Approved: {} goes on.", self.device_name(&c.from))
        } else if own {
            format!("Rejected: {} does not send it.", self.device_name(&c.from))
        } else {
            format!("Rejected: {} tells the site no.", self.device_name(&c.from))
        });
        if self.confirms.is_empty() {
            self.screen = Screen::Home;
        }
        out.extend(self.clear_inbox());
        out
    }

    /// A device's name from the list, or "Your computer".
    pub fn device_name(&self, id: &str) -> String {
        self.devices
            .as_ref()
            .and_then(|v| v.devices.iter().find(|d| d.id.eq_ignore_ascii_case(id)))
            .map(tandem_ui::devices::device_name)
            .unwrap_or_else(|| "Your computer".into())
    }

    /// Saves the policy form: stored here, then sent to the group.
    pub(crate) fn save_policy(
        &mut self,
        checked: &dyn Fn(&str) -> bool,
        field: &dyn Fn(&str) -> String,
    ) -> Vec<Effect> {
        match tandem_ui::confirm::read_policy_form(checked, field) {
            Ok(p) => {
                self.policy = p;
                self.error = None;
                let lines = self.policy.describe();
                self.notice = Some(if lines.is_empty() {
                    "Saved: your computer no longer asks this phone for anything.".into()
                } else {
                    format!(
                        "Saved: your computer now asks this phone before: {}.",
                        lines.join("; ")
                    )
                });
                vec![
                    Effect::SavePolicy(serde_json::to_string(&self.policy).unwrap_or_default()),
                    self.announce_policy(),
                ]
            }
            Err(e) => {
                self.error = Some(e);
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{open_phone, view};
    use tandem_confirm::{Chain, Rule, Sent};

    const NOW_MS: f64 = 1_700_000_000_000.0;
    const ME: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
    const DESK: &str = "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d";

    fn phone() -> Phone {
        let mut p = open_phone(NOW_MS, true);
        p.devices = Some(view(ME, &[DESK]));
        p
    }

    fn request(id: u8, to: &str) -> (Sent, String) {
        request_from(id, to, "https://app.example")
    }

    fn request_from(id: u8, to: &str, site: &str) -> (Sent, String) {
        let now = (NOW_MS / 1000.0) as u64;
        let (sent, bytes) = Sent::new(Request {
            id: tandem_confirm::hex(&[id; 16]),
            to: to.into(),
            created_at: now,
            expires_at: now + 120,
            rule: Rule::Value,
            site: site.into(),
            action: "Send a transaction".into(),
            chain: Some(Chain {
                id: 31337,
                name: "Localhost".into(),
                symbol: "ETH".into(),
            }),
            account: None,
            recipient: Some("0x7099".into()),
            amount: Some("1 ETH".into()),
            token: None,
            spender: None,
            details: vec![],
            warnings: vec![],
            sign: None,
        });
        (sent, String::from_utf8(bytes).unwrap_or_default())
    }

    fn item(id: u64, request: bool, text: &str) -> InboxItem {
        InboxItem {
            id,
            from: DESK.into(),
            request,
            text: Some(text.into()),
        }
    }

    fn sent_text(e: &Effect) -> Option<Message> {
        match e {
            Effect::Command(c) if c["kind"] == "send" => {
                Message::decode(c["text"].as_str()?.as_bytes()).ok()
            }
            _ => None,
        }
    }

    #[test]
    fn a_request_opens_the_approve_screen_and_the_answer_is_what_the_desktop_checks() {
        let mut p = phone();
        let (sent, text) = request(1, ME);
        let out = p.on_inbox(vec![item(4, true, &text)]);
        assert_eq!(p.screen, Screen::Approve);
        // Kept in the engine's inbox until answered: nothing cleared yet
        // below the request (ids 1..3 belong to nobody waiting).
        assert_eq!(
            out,
            vec![Effect::Command(json!({"kind": "clear_inbox", "upto": 3}))]
        );
        let out = p.answer(&sent.id, true);
        let Some(Message::Answer { answer, .. }) = sent_text(&out[0]) else {
            panic!("{out:?}");
        };
        assert_eq!(
            sent.check(DESK, &answer, sent.expires_at),
            Err(tandem_confirm::Refusal::WrongDevice)
        );
        assert_eq!(sent.check(ME, &answer, sent.expires_at - 1), Ok(true));
        // This phone's own entry, then the inbox cleared.
        assert!(matches!(
            &out[1],
            Effect::Audit(tandem_sync::audit::Happened::Sign { approved: true, approved_on: Some(me), .. })
                if me == ME
        ));
        assert_eq!(
            out[2],
            Effect::Command(json!({"kind": "clear_inbox", "upto": 4}))
        );
        assert_eq!(p.screen, Screen::Home);
        assert!(p
            .notice
            .as_deref()
            .unwrap_or("")
            .contains(&format!("dev {DESK}")));
        // The same request read again (a reload before the clear landed)
        // is not asked twice.
        p.on_inbox(vec![item(4, true, &text)]);
        assert!(p.confirms.is_empty());
    }

    #[test]
    fn the_wallets_own_send_is_shown_as_a_send_from_the_computer_not_a_site() {
        let mut p = phone();
        let (sent, text) = request_from(5, ME, "tandem:wallet");
        p.on_inbox(vec![item(6, true, &text)]);
        let v = crate::screens::view(&p);
        assert_eq!(
            v.find("confirm-row-from")
                .map(|e| e.text_content())
                .as_deref(),
            Some(format!("Send from Tandem on dev {DESK}").as_str())
        );
        assert!(v.find("confirm-row-site").is_none());
        assert!(!v.text_content().contains("tandem:wallet"));
        p.answer(&sent.id, false);
        assert_eq!(
            p.notice.as_deref(),
            Some(format!("Rejected: dev {DESK} does not send it.").as_str())
        );
    }

    #[test]
    fn requests_for_another_device_expired_ones_and_garbage_are_not_shown() {
        let mut p = phone();
        let (_, other) = request(2, DESK);
        let (old_sent, old) = request(3, ME);
        let out = p.on_inbox(vec![
            item(1, true, &other),
            item(2, true, "not json"),
            item(3, false, &request(4, ME).1), // a request sent as plain data
        ]);
        assert!(p.confirms.is_empty());
        assert_eq!(
            out,
            vec![Effect::Command(json!({"kind": "clear_inbox", "upto": 3}))]
        );
        p.now_ms = (old_sent.expires_at as f64 + 1.0) * 1000.0;
        p.on_inbox(vec![item(5, true, &old)]);
        assert!(p.confirms.is_empty());
        assert_eq!(p.screen, Screen::Home);
    }

    #[test]
    fn a_cancel_from_the_desktop_or_the_deadline_takes_the_request_away() {
        let mut p = phone();
        let (sent, text) = request(1, ME);
        p.on_inbox(vec![item(1, true, &text)]);
        let cancel = Message::Cancel {
            v: VERSION,
            id: sent.id.clone(),
            reason: "cancelled on the computer".into(),
        };
        let cancel = String::from_utf8(cancel.encode()).unwrap_or_default();
        p.on_inbox(vec![item(2, false, &cancel)]);
        assert!(p.confirms.is_empty());
        assert_eq!(p.screen, Screen::Home);
        assert!(p.notice.as_deref().unwrap_or("").contains("withdrew"));
        // Approving it now sends nothing.
        assert!(p
            .answer(&sent.id, true)
            .iter()
            .all(|e| sent_text(e).is_none()));

        let (sent, text) = request(5, ME);
        p.on_inbox(vec![item(3, true, &text)]);
        p.now_ms = (sent.expires_at as f64 + 1.0) * 1000.0;
        let out = p.expire_confirms();
        assert!(p.confirms.is_empty());
        assert!(out.iter().all(|e| sent_text(e).is_none()));
    }

    #[test]
    fn a_device_this_phone_approved_learns_its_policy() {
        let mut p = phone();
        let event: tandem_ui::pairing::DeviceEvent = serde_json::from_value(json!({
            "kind": "pairing", "pairing": {"step": "paired", "name": "Chrome on Linux", "device": DESK}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        p.on_event(event);
        let out = p.take_queued();
        assert!(
            matches!(sent_text(&out[0]), Some(Message::Policy { policy, .. }) if policy == Policy::default()),
            "{out:?}"
        );
    }

    #[test]
    fn the_policy_form_saves_here_and_tells_the_group() {
        let mut p = phone();
        let checked = |n: &str| n != "policy-connect";
        let field = |id: &str| match id {
            "policy-value-input" => "2.5".to_owned(),
            _ => "60".to_owned(),
        };
        let out = p.save_policy(&checked, &field);
        assert_eq!(
            p.policy,
            Policy {
                connect: false,
                value_above_milli: Some(2_500),
                approvals: true,
                add_network: true,
                timeout_secs: 60,
            }
        );
        assert!(matches!(&out[0], Effect::SavePolicy(j) if j.contains("2500")));
        assert!(
            matches!(sent_text(&out[1]), Some(Message::Policy { policy, .. }) if policy == p.policy)
        );
        let mut again = phone();
        again.load_policy(Some(&serde_json::to_string(&p.policy).unwrap_or_default()));
        assert_eq!(again.policy, p.policy);
        again.load_policy(Some("{\"broken\":1}"));
        assert_eq!(again.policy, p.policy);
    }

    fn sign_request(id: u8, account: &str) -> (Sent, String) {
        let (_, text) = request(id, ME);
        let Ok(Message::Request { mut request, .. }) = Message::decode(text.as_bytes()) else {
            panic!("not a request");
        };
        request.rule = Rule::KeyOnPhone;
        request.sign = Some(tandem_confirm::Sign {
            kind: tandem_confirm::SignKind::Personal,
            account: account.into(),
            payload: "0x68656c6c6f".into(),
        });
        let (sent, bytes) = Sent::new(request);
        (sent, String::from_utf8(bytes).unwrap_or_default())
    }

    // anvil's accounts 0 (this phone's, from the test phrase) and 1.
    const A0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const A1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    #[test]
    fn a_request_for_this_phones_account_is_signed_here_and_one_for_another_is_not() {
        use tandem_eth::{eip191, signature};
        let mut p = phone();
        let (sent, text) = sign_request(1, A0);
        p.on_inbox(vec![item(4, true, &text)]);
        let out = p.answer(&sent.id, true);
        let Some(Message::Answer { answer, .. }) = sent_text(&out[0]) else {
            panic!("{out:?}");
        };
        assert_eq!(sent.check(ME, &answer, sent.expires_at), Ok(true));
        let sig = hex::decode(
            answer
                .signature
                .unwrap_or_default()
                .trim_start_matches("0x"),
        )
        .unwrap_or_default();
        let sig = signature::parse_rsv(&sig).expect("65 bytes");
        let hash = eip191::hash(&eip191::message_bytes("0x68656c6c6f"));
        assert_eq!(
            signature::recover(&hash, &sig).ok(),
            A0.parse().ok(),
            "the phone's key signed what was asked"
        );

        // An account whose key this phone does not hold: nothing is sent,
        // the request still waits (the user can reject it).
        let (sent, text) = sign_request(2, A1);
        p.on_inbox(vec![item(5, true, &text)]);
        let out = p.answer(&sent.id, true);
        assert!(out.iter().all(|e| sent_text(e).is_none()), "{out:?}");
        assert!(p
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not this phone's account"));
        assert_eq!(p.confirms.len(), 1);
        // A reject carries no signature.
        let out = p.answer(&sent.id, false);
        let Some(Message::Answer { answer, .. }) = sent_text(&out[0]) else {
            panic!("{out:?}");
        };
        assert!(!answer.approve && answer.signature.is_none());
    }

    #[test]
    fn sharing_the_account_sends_its_address_and_stopping_sends_none() {
        let mut p = phone();
        assert_eq!(p.announce_accounts(), None, "nothing to tell a new device");
        let out = p.share_accounts(true);
        assert!(matches!(&out[0], Effect::SaveShared(j) if j.contains(A0)));
        let Some(Message::Accounts { accounts, .. }) = sent_text(&out[1]) else {
            panic!("{out:?}");
        };
        assert_eq!(accounts, [A0]);
        assert!(
            p.announce_accounts().is_some(),
            "a device that joins learns it"
        );
        let mut again = phone();
        again.load_shared(Some(&serde_json::to_string(&p.shared).unwrap_or_default()));
        assert_eq!(again.shared, [A0]);
        let out = p.share_accounts(false);
        let Some(Message::Accounts { accounts, .. }) = sent_text(&out[1]) else {
            panic!("{out:?}");
        };
        assert!(accounts.is_empty());
    }
}
