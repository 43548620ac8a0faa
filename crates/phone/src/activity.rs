//! The Activity log on the phone (issue 12): the group's signed,
//! hash-chained audit log, the phone's sync status, and the entries this
//! phone writes itself (its answers to confirm-on-phone requests, its
//! unlocks and failed unlocks; pairings and revocations are recorded by
//! the device engine from its events).
//!
//! The log and sync live in the second artifact, `tandem_phone_sync`
//! (cargo feature `sync`): the plain module offers to turn them on
//! ([`Effect::ActivityOn`]: a flag `phone/boot.js` reads, then one
//! reload), and drops [`Effect::Audit`]. The decisions are here, tested
//! natively; `app` only carries them out.

#[cfg(any(feature = "sync", test))]
use crate::model::Screen;
use crate::model::{Effect, Phone};
use tandem_confirm::Request;
use tandem_sync::audit::Happened;
use tandem_sync::view::SyncView;
#[cfg(any(feature = "sync", test))]
use tandem_ui::audit::{AuditAction, AuditFilter, AuditScreen, AuditView};

/// Whether this build keeps the Activity log: the sync module, and the
/// native tests of its logic. In the plain module everything behind it is
/// dead code, so its size budget pays for none of it.
pub const LOG: bool = cfg!(any(feature = "sync", test));

/// `localStorage` key of the flag `phone/boot.js` reads: `"on"` loads
/// `tandem_phone_sync` instead of `tandem_phone`.
pub const FLAG_KEY: &str = "tandem.phone.activity";

/// `localStorage` key of the sealed sync state (the audit log with it).
pub const STATE_KEY: &str = "tandem.phone.sync";

/// `localStorage` key of the device engine's events the plain module
/// heard that belong in the log (a pairing this phone made, its token
/// refreshed or expired, a revocation it issued), waiting for the sync
/// module, which records them when it attaches: JSON
/// `[{"event": <the event's JSON>, "at_ms": <when heard>}]`. Nothing secret
/// (what the log itself will say), as the extension's `tandem.audit.queue`.
pub const QUEUE_KEY: &str = "tandem.phone.audit.queue";

/// Events kept waiting at most (the oldest go first).
const MAX_QUEUED: usize = 500;

/// An engine event heard by the plain module, kept for the log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Waiting {
    /// The event's JSON, as the engine emitted it.
    pub event: String,
    /// When it was heard (ms since the epoch).
    pub at_ms: f64,
}

/// Whether an engine event may make an entry (the sync module decides
/// which, as for the extension's worker: the end of a pairing, this
/// device's token refreshed or expired, a revocation).
fn may_record(e: &serde_json::Value) -> bool {
    matches!(
        e["kind"].as_str(),
        Some("token_refreshed" | "token_expired" | "device_revoked")
    ) || e["pairing"]["step"] == "paired"
}

/// The queue `stored` with `event` (heard at `at_ms`) added, when it may
/// make an entry; `None` when it does not.
pub fn queued(stored: Option<&str>, event: &str, at_ms: f64) -> Option<String> {
    let e: serde_json::Value = serde_json::from_str(event).ok()?;
    if !may_record(&e) {
        return None;
    }
    let mut q = waiting(stored);
    q.push(Waiting {
        event: event.to_owned(),
        at_ms,
    });
    let over = q.len().saturating_sub(MAX_QUEUED);
    q.drain(..over);
    serde_json::to_string(&q).ok()
}

/// What waits in the stored queue, oldest first (an unreadable queue is
/// none).
pub fn waiting(stored: Option<&str>) -> Vec<Waiting> {
    stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// The entry for this phone's answer to a desktop's request: the site,
/// what it asked, on which chain, in one line, and the answer given here
/// (`me`: this phone's device id, hex).
pub fn answered(r: &Request, approved: bool, me: Option<&str>) -> Happened {
    let mut summary = r.amount.clone().unwrap_or_default();
    if let Some(to) = &r.recipient {
        summary.push_str(" to ");
        summary.push_str(to);
    }
    if summary.is_empty() {
        summary.clone_from(&r.action);
    }
    Happened::Sign {
        site: r.site.clone(),
        method: r.action.clone(),
        chain: r.chain.as_ref().map_or(0, |c| c.id),
        summary,
        approved,
        approved_on: me.map(str::to_owned),
    }
}

/// The phone's sync status line: "Offline", "n changes waiting" or
/// "Synced …". The log syncs whether or not a wallet category does (the
/// phone writes none of the wallet's records), so a status that counted
/// only categories would say "off" while entries go out. `outbox`: the
/// device engine's messages the relay has not stored yet (log entries
/// handed to it are no longer counted by the sync state); `sent_at`: when
/// the relay last stored one. "Synced" is timed by the later of that and
/// the last snapshot the relay stored: both are the relay's word.
pub fn status_line(v: &SyncView, outbox: usize, sent_at: Option<f64>, now_ms: f64) -> String {
    let waiting = v.to_send + v.held + v.log_waiting + outbox;
    let changes = match waiting {
        1 => "1 change waiting".to_owned(),
        n => format!("{n} changes waiting"),
    };
    let confirmed = match (v.synced_at.map(|t| t as f64), sent_at) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    match (v.online, waiting) {
        (false, 0) => "Offline".into(),
        (false, _) => format!("Offline: {changes}"),
        (true, 0) => match confirmed {
            Some(t) => format!("Synced {}", tandem_ui::format::relative_time(t, now_ms)),
            // Nothing sent since this page opened, nothing waiting.
            None => "Synced: the Activity log is up to date".into(),
        },
        (true, _) => changes,
    }
}

/// What turning the log off does, said before it is done: the paragraphs
/// of the Activity screen's question (`waiting`: this phone's entries not
/// handed to the device engine yet, which go nowhere while it is off).
pub fn turn_off_text(waiting: usize) -> Vec<String> {
    let mut out = vec![
        "This phone stops receiving your devices' Activity log and stops recording \
         its own unlocks and answers in it. The app reloads once into its smaller \
         version; unlock it again."
            .to_owned(),
    ];
    match waiting {
        0 => {}
        1 => out.push(
            "1 entry of this phone has not reached your other devices yet: kept, it goes \
             when you turn the log on again; deleted, it is lost."
                .into(),
        ),
        n => out.push(format!(
            "{n} entries of this phone have not reached your other devices yet: kept, they \
             go when you turn the log on again; deleted, they are lost."
        )),
    }
    out
}

/// The two ways to turn it off: (action argument, button, what it means).
pub const TURN_OFF: [(&str, &str, &str); 2] = [
    (
        "keep",
        "Turn off and keep this phone's copy",
        "This phone's copy of the log stays on it, sealed, and shows again if you turn \
         the log on again. What your other devices record while it is off reaches this \
         phone once it is on again and one of them records something new.",
    ),
    (
        "delete",
        "Turn off and delete this phone's copy",
        "This phone's copy of the log is deleted; your other devices keep theirs. If you \
         turn the log on again, this phone gets it back from them, and its new entries \
         follow its old ones.",
    ),
];

impl Phone {
    /// The taps of the Activity screen and of the switch that turns it on;
    /// `None` when `action` is none of them.
    pub(crate) fn activity_act(&mut self, action: &str, arg: &str) -> Option<Vec<Effect>> {
        if action == "activity-on" && !self.activity {
            self.notice =
                Some("Turning on the Activity log: the app reloads once; unlock it again.".into());
            return Some(vec![Effect::ActivityOn]);
        }
        #[cfg(any(feature = "sync", test))]
        return self.log_act(action, arg);
        #[cfg(not(any(feature = "sync", test)))]
        {
            let _ = arg;
            None
        }
    }

    /// The line under the connection on Home (`None` before sync opened).
    pub fn sync_status(&self) -> Option<String> {
        #[cfg(any(feature = "sync", test))]
        return self.sync.as_ref().map(|v| {
            let outbox = self.devices.as_ref().map_or(0, |d| d.waiting.outbox);
            status_line(v, outbox, self.sent_at, self.now_ms)
        });
        #[cfg(not(any(feature = "sync", test)))]
        None
    }
}

#[cfg(any(feature = "sync", test))]
impl Phone {
    fn log_act(&mut self, action: &str, arg: &str) -> Option<Vec<Effect>> {
        let mut out = Vec::new();
        match action {
            "activity-open" if self.activity => {
                self.turning_off = false;
                self.go(Screen::Activity);
            }
            // The log screen's back button (the extension's view).
            "back" if self.screen == Screen::Activity => self.go(Screen::Home),
            "activity-off-ask" if self.activity => self.turning_off = true,
            "activity-off-cancel" => self.turning_off = false,
            "activity-off" if self.activity && self.turning_off => {
                let delete = match arg {
                    "keep" => false,
                    "delete" => true,
                    _ => return None,
                };
                self.turning_off = false;
                self.notice = Some(
                    "Turning off the Activity log: the app reloads once; unlock it again.".into(),
                );
                out.push(Effect::ActivityOff { delete });
            }
            _ => match tandem_ui::audit::parse(action, arg)? {
                AuditAction::Filter(which, value) => {
                    if let Some(s) = self.audit.as_mut() {
                        s.filter.set(which, value);
                    }
                }
                AuditAction::Export(format) => out.push(Effect::AuditExport(format)),
            },
        }
        Some(out)
    }

    /// The log as the device engine read and checked it.
    pub fn on_audit(&mut self, view: AuditView) {
        let filter = self
            .audit
            .take()
            .map_or_else(AuditFilter::default, |s| s.filter);
        self.audit = Some(AuditScreen { view, filter });
    }

    /// The sync state as the device engine reports it.
    pub fn on_sync(&mut self, view: SyncView) {
        self.sync = Some(view);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::testing;
    use serde_json::json;

    fn sync_view(online: bool, log_waiting: usize, on: bool) -> SyncView {
        serde_json::from_value(json!({
            "online": online,
            "categories": [{"category": "accounts", "on": on}],
            "to_send": 0, "held": 0, "unsaved": 0, "synced_at": 1_000,
            "log_waiting": log_waiting, "records": [], "notices": [],
        }))
        .unwrap()
    }

    #[test]
    fn the_plain_module_keeps_the_events_that_belong_in_the_log() {
        let paired =
            r#"{"kind":"pairing","pairing":{"step":"paired","device":"ab","name":"Laptop"}}"#;
        let q = queued(None, paired, 5.0).unwrap();
        let revoked = r#"{"kind":"device_revoked","record":{}}"#;
        let q = queued(Some(&q), revoked, 6.0).unwrap();
        assert_eq!(
            waiting(Some(&q)),
            vec![
                Waiting {
                    event: paired.into(),
                    at_ms: 5.0
                },
                Waiting {
                    event: revoked.into(),
                    at_ms: 6.0
                },
            ]
        );
        // A step before the end of a pairing, a connection: nothing kept.
        let code = r#"{"kind":"pairing","pairing":{"step":"compare","code":"1234"}}"#;
        assert_eq!(queued(Some(&q), code, 7.0), None);
        assert_eq!(queued(Some(&q), r#"{"kind":"online"}"#, 7.0), None);
        assert_eq!(queued(None, "not json", 7.0), None);
        assert_eq!(waiting(Some("garbage")), vec![]);
        // Bounded: the oldest go first.
        let mut q = None;
        for i in 0..(MAX_QUEUED + 2) {
            q = queued(q.as_deref(), paired, i as f64);
        }
        let w = waiting(q.as_deref());
        assert_eq!(w.len(), MAX_QUEUED);
        assert_eq!(w[0].at_ms, 2.0);
    }

    #[test]
    fn the_status_line_counts_log_entries_waiting_and_says_offline() {
        assert_eq!(
            status_line(&sync_view(false, 0, false), 0, None, 0.0),
            "Offline"
        );
        assert_eq!(
            status_line(&sync_view(false, 2, false), 0, None, 0.0),
            "Offline: 2 changes waiting"
        );
        assert_eq!(
            status_line(&sync_view(true, 1, false), 0, None, 0.0),
            "1 change waiting"
        );
        // Entries handed to the device engine wait until the relay stores them.
        assert_eq!(
            status_line(&sync_view(true, 0, false), 2, Some(0.0), 0.0),
            "2 changes waiting"
        );
    }

    #[test]
    fn synced_says_when_the_relay_last_stored_what_this_phone_sent() {
        // No wallet category on (the snapshots' time is absent): the time
        // the relay stored the phone's last message.
        let mut v = sync_view(true, 0, false);
        v.synced_at = None;
        assert_eq!(
            status_line(&v, 0, Some(1_000.0), 121_000.0),
            "Synced 2 min ago"
        );
        // Nothing sent since the page opened: no time to give.
        assert_eq!(
            status_line(&v, 0, None, 121_000.0),
            "Synced: the Activity log is up to date"
        );
        // A snapshot the relay stored later counts too.
        v.synced_at = Some(61_000);
        assert_eq!(
            status_line(&v, 0, Some(1_000.0), 121_000.0),
            "Synced 1 min ago"
        );
        assert_eq!(status_line(&v, 0, None, 70_000.0), "Synced just now");
    }

    #[test]
    fn a_sent_event_times_the_home_screens_status() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.sync = Some(sync_view(true, 0, false));
        p.sync.as_mut().unwrap().synced_at = None;
        assert_eq!(
            p.sync_status().unwrap(),
            "Synced: the Activity log is up to date"
        );
        p.now_ms = 5_000.0;
        let sent =
            serde_json::from_value(json!({"kind": "sent", "what": "message", "full": []})).unwrap();
        p.on_event(sent);
        assert_eq!(p.sent_at, Some(5_000.0));
        p.now_ms = 5_000.0 + 180_000.0;
        assert_eq!(p.sync_status().unwrap(), "Synced 3 min ago");
    }

    #[test]
    fn turning_the_log_off_says_what_happens_first_then_keeps_or_deletes_the_copy() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.activity = true;
        p.activity_act("activity-open", "");
        p.on_audit(
            serde_json::from_value(json!({"me": "aa", "entries": [], "devices": []})).unwrap(),
        );
        // Without the question answered, nothing is turned off.
        assert_eq!(p.activity_act("activity-off", "keep"), None);
        let page = crate::screens::view(&p);
        assert!(page.find("activity-off").is_none());
        p.activity_act("activity-off-ask", "");
        let page = crate::screens::view(&p);
        let asked = page.find("activity-off").unwrap().text_content();
        assert!(
            asked.contains("stops receiving your devices' Activity log"),
            "{asked}"
        );
        assert!(
            asked.contains("reloads once into its smaller version"),
            "{asked}"
        );
        assert!(
            asked.contains("shows again if you turn the log on again"),
            "{asked}"
        );
        // Said before it happens: entries written elsewhere while off come
        // once a new one shows the gap (the engine then asks for them), and a
        // deleted copy comes back from the other devices.
        assert!(
            asked.contains("one of them records something new"),
            "{asked}"
        );
        assert!(asked.contains("your other devices keep theirs"), "{asked}");
        assert!(
            asked.contains("its new entries follow its old ones"),
            "{asked}"
        );
        assert!(page.find("activity-off-keep").is_some());
        // Under the log's intro, before its filters and entries.
        let ids = page.testids();
        let pos = |id: &str| ids.iter().position(|t| t == id).unwrap();
        assert!(
            pos("audit-about") < pos("activity-off") && pos("activity-off") < pos("audit-filters")
        );
        assert!(page.find("activity-off-delete").is_some());
        // "Keep it on" closes the question.
        p.activity_act("activity-off-cancel", "");
        assert!(!p.turning_off);
        assert_eq!(p.activity_act("activity-off", "keep"), None);
        // An unknown choice is refused.
        p.activity_act("activity-off-ask", "");
        assert_eq!(p.activity_act("activity-off", "wipe"), None);
        assert_eq!(
            p.activity_act("activity-off", "keep"),
            Some(vec![Effect::ActivityOff { delete: false }])
        );
        assert!(!p.turning_off);
        p.activity_act("activity-off-ask", "");
        assert_eq!(
            p.activity_act("activity-off", "delete"),
            Some(vec![Effect::ActivityOff { delete: true }])
        );
        // The plain module has nothing to turn off.
        p.activity = false;
        p.turning_off = true;
        assert_eq!(p.activity_act("activity-off-ask", ""), None);
        assert_eq!(p.activity_act("activity-off", "keep"), None);
    }

    #[test]
    fn entries_not_sent_yet_are_named_before_the_log_turns_off() {
        assert_eq!(turn_off_text(0).len(), 1);
        assert!(turn_off_text(1)[1].starts_with("1 entry of this phone has not reached"));
        assert!(turn_off_text(3)[1].starts_with("3 entries of this phone have not reached"));
    }

    #[test]
    fn an_answer_becomes_a_signed_entry_naming_this_phone() {
        let r: Request = serde_json::from_value(json!({
            "id": "0".repeat(32), "to": "bb", "created_at": 1, "expires_at": 2,
            "rule": "value", "site": "https://app.example", "action": "Send a transaction",
            "chain": {"id": 31337, "name": "Anvil", "symbol": "ETH"},
            "amount": "1 ETH", "recipient": "0x1",
        }))
        .unwrap();
        assert_eq!(
            answered(&r, false, Some("bb")),
            Happened::Sign {
                site: "https://app.example".into(),
                method: "Send a transaction".into(),
                chain: 31337,
                summary: "1 ETH to 0x1".into(),
                approved: false,
                approved_on: Some("bb".into()),
            }
        );
    }

    #[test]
    fn the_plain_module_offers_the_log_and_the_sync_module_opens_and_filters_it() {
        let (mut p, _) = testing::imported(None, 0.0, true);
        p.screen = Screen::Home;
        assert_eq!(
            p.activity_act("activity-on", ""),
            Some(vec![Effect::ActivityOn])
        );
        // Only the sync module opens the screen.
        assert_eq!(p.activity_act("activity-open", ""), None);
        assert_eq!(p.screen, Screen::Home);
        p.activity = true;
        p.activity_act("activity-open", "");
        assert_eq!(p.screen, Screen::Activity);
        p.on_audit(
            serde_json::from_value(json!({"me": "aa", "entries": [], "devices": []})).unwrap(),
        );
        p.activity_act("audit-filter-kind", "unlock");
        // A new read of the log keeps the filter.
        p.on_audit(
            serde_json::from_value(json!({"me": "aa", "entries": [], "devices": []})).unwrap(),
        );
        assert_eq!(p.audit.as_ref().unwrap().filter.kind, "unlock");
        assert_eq!(
            p.activity_act("audit-export", "csv"),
            Some(vec![Effect::AuditExport("csv".into())])
        );
        assert_eq!(p.activity_act("audit-export", "xml"), None);
        p.activity_act("back", "");
        assert_eq!(p.screen, Screen::Home);
        assert_eq!(p.activity_act("scan", ""), None);
    }
}
