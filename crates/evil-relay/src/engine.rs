//! The attacks, frame by frame, without I/O: the proxy's shell feeds every
//! text frame in and sends the [`Action`]s that come out, in order.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use rand_core::OsRng;
use tandem_pair::envelope::Header;
use tandem_pair::{
    Approver, Bytes, Capabilities, ClientFrame, CodeCheck, Envelope, EnvelopeKind, Group,
    IdentityKey, JoinRequest, MessageId, Recipient, RelayFrame, Topic, DEFAULT_TOKEN_LIFETIME_SECS,
};

use crate::mode::{kind_name, Mode};

/// What the shell must do next with a connection's two sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send this text frame to the device.
    ToDevice(String),
    /// Send this text frame to the real relay.
    ToRelay(String),
}

/// Where report lines go (stdout in the binary).
pub type Reporter = Box<dyn Fn(&str) + Send + Sync>;

/// The proxy's shared state: active modes, the attacker's identity and the
/// handshakes it hijacked.
pub struct Engine {
    inner: Mutex<Inner>,
    report: Reporter,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("modes", &self.modes())
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Active modes with the id each got when added.
    modes: Vec<(u64, Mode)>,
    next_mode: u64,
    /// The attacker's own device key (answers hellos, founds its group).
    identity: IdentityKey,
    /// Handshakes where the proxy's hello replaced the real approver's.
    attacks: HashMap<Topic, Approver>,
}

impl Inner {
    fn has(&self, wanted: &Mode) -> bool {
        self.modes.iter().any(|(_, m)| m == wanted)
    }
}

/// Request ids the proxy uses for its own frames on a device's upstream
/// connection, far above anything a device counts to, so their answers can
/// be told apart and swallowed.
const OWN_REQ_BASE: u64 = 1 << 62;

/// One device connection's state.
#[derive(Debug, Default)]
pub struct Conn {
    /// A `deliver` held back by a reorder mode.
    held: Option<Held>,
    /// Reorder modes (by id) that already held a frame on this connection.
    reordered: HashSet<u64>,
    /// Requests the proxy itself sent upstream and whose answers it eats.
    own_reqs: HashSet<u64>,
    next_own_req: u64,
}

impl Conn {
    fn own_req(&mut self) -> u64 {
        let req = OWN_REQ_BASE + self.next_own_req;
        self.next_own_req += 1;
        self.own_reqs.insert(req);
        req
    }
}

#[derive(Debug)]
struct Held {
    id: MessageId,
    kind: &'static str,
    text: String,
    replay: bool,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn ack(id: MessageId) -> Action {
    Action::ToRelay(ClientFrame::Ack { id }.encode())
}

/// What the joiner would send if its user had confirmed the code (the
/// handshake's `CONFIRM_MATCH`).
const CONFIRM_MATCH: u8 = 1;

/// Plays the rest of the handshake as an approver that asks nobody: a
/// confirmation sealed in the joiner's name with the session key, then a
/// welcome into a group the attacker just founded.
fn forge_welcome(
    approver: &mut Approver,
    me: &IdentityKey,
    joiner: &JoinRequest,
    now: u64,
) -> tandem_pair::Result<Vec<u8>> {
    let (j2a, _) = approver.kat_session_keys();
    let header = Header {
        kind: EnvelopeKind::PairConfirm,
        topic: approver.offer().topic,
        sender: joiner.identity.device_id(),
        epoch: 0,
        seq: 1,
    };
    let confirm = Envelope::seal(&j2a, header, &[CONFIRM_MATCH], &mut OsRng).encode();
    approver.on_confirm(&confirm)?;
    approver.user_decision(CodeCheck::Match)?;
    let relay = approver.offer().relay.clone();
    let mut group = Group::found(me, "evil relay", &relay, now, &mut OsRng)?;
    let token = approver.issue_token(
        &group,
        me,
        Capabilities::ALL,
        DEFAULT_TOKEN_LIFETIME_SECS,
        now,
        &mut OsRng,
    )?;
    approver.welcome(&mut group, me, &token, now, &mut OsRng)
}

impl Engine {
    /// A proxy with no modes (pure pass-through) and a fresh attacker key;
    /// `report` gets one line per thing it does to the traffic.
    pub fn new(report: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            inner: Mutex::new(Inner {
                modes: Vec::new(),
                next_mode: 0,
                identity: IdentityKey::generate(&mut OsRng),
                attacks: HashMap::new(),
            }),
            report: Box::new(report),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not stop the proxy reporting what it does.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports one line.
    pub fn report(&self, line: &str) {
        (self.report)(line);
    }

    /// Adds a mode.
    pub fn add_mode(&self, mode: Mode) {
        let mut inner = self.lock();
        let id = inner.next_mode;
        inner.next_mode += 1;
        inner.modes.push((id, mode));
    }

    /// Removes every mode (hijacked handshakes stay hijacked).
    pub fn clear(&self) {
        self.lock().modes.clear();
    }

    /// The active modes, oldest first.
    pub fn modes(&self) -> Vec<Mode> {
        self.lock().modes.iter().map(|(_, m)| m.clone()).collect()
    }

    /// A text frame from a device, on its way to the relay.
    pub fn from_device(&self, _conn: &mut Conn, text: &str) -> Vec<Action> {
        let pass = || vec![Action::ToRelay(text.to_owned())];
        let Ok(ClientFrame::Publish {
            req,
            to: Recipient::Topic(topic),
            payload,
        }) = ClientFrame::decode(text)
        else {
            return pass();
        };
        if !Envelope::decode(&payload.0).is_ok_and(|e| e.header.kind == EnvelopeKind::PairHello) {
            return pass();
        }
        let mut inner = self.lock();
        let Some(offer) = inner.modes.iter().find_map(|(_, m)| match m {
            Mode::SubstituteHello(o) if o.topic == topic => Some(o.clone()),
            _ => None,
        }) else {
            return pass();
        };
        match Approver::start(&offer, &inner.identity, now(), &mut OsRng) {
            Ok((approver, hello)) => {
                inner.attacks.insert(topic, approver);
                self.report(&format!("evil: substituted hello on topic {topic}"));
                // Same request id: the device gets its `published` as usual.
                vec![Action::ToRelay(
                    ClientFrame::Publish {
                        req,
                        to: Recipient::Topic(topic),
                        payload: Bytes(hello),
                    }
                    .encode(),
                )]
            }
            Err(e) => {
                // An expired offer cannot pair anyway: let the real hello go.
                self.report(&format!(
                    "evil: cannot substitute hello on topic {topic}: {e}"
                ));
                pass()
            }
        }
    }

    /// A text frame from the relay, on its way to a device.
    pub fn from_relay(&self, conn: &mut Conn, text: &str) -> Vec<Action> {
        let pass = || vec![Action::ToDevice(text.to_owned())];
        let Ok(frame) = RelayFrame::decode(text) else {
            return pass();
        };
        match frame {
            RelayFrame::Published { req, id, .. } if conn.own_reqs.remove(&req) => {
                self.report(&format!("evil: forged message stored id={}", id.0));
                vec![]
            }
            RelayFrame::Error {
                req: Some(req),
                code,
                message,
            } if conn.own_reqs.remove(&req) => {
                self.report(&format!(
                    "evil: relay refused a forged message: {code:?}: {message}"
                ));
                vec![]
            }
            RelayFrame::Revoked { id, .. } if self.lock().has(&Mode::DropRevoked) => match id {
                Some(id) => {
                    self.report(&format!("evil: dropped revoked id={}", id.0));
                    vec![ack(id)]
                }
                None => {
                    self.report("evil: dropped revoked notice");
                    vec![]
                }
            },
            RelayFrame::Deliver {
                id,
                from,
                to,
                payload,
                sent_at,
            } => self.deliver(conn, text, id, from, to, payload, sent_at),
            _ => pass(),
        }
    }

    #[allow(clippy::too_many_arguments)] // the fields of one `deliver` frame
    fn deliver(
        &self,
        conn: &mut Conn,
        text: &str,
        id: MessageId,
        from: tandem_pair::DeviceId,
        to: Recipient,
        mut payload: Bytes,
        sent_at: u64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let mut inner = self.lock();
        let header = Envelope::decode(&payload.0).ok().map(|e| e.header);
        if let Some(h) = header.filter(|h| h.kind == EnvelopeKind::PairJoin) {
            self.attack_join(&mut inner, conn, h.topic, &payload.0, &mut out);
        }
        let Some(kind) = header.map(|h| h.kind) else {
            // Not an envelope: nothing targets it, but it is still "the next
            // deliver" for a held frame.
            out.push(Action::ToDevice(text.to_owned()));
            self.release(conn, id, &mut out);
            return out;
        };
        let name = kind_name(kind);
        let id_n = id.0;

        if inner.has(&Mode::Drop(kind)) {
            self.report(&format!("evil: dropped deliver kind={name} id={id_n}"));
            out.push(ack(id));
            return out;
        }

        let mut text = text.to_owned();
        if let Some(offset) = inner.modes.iter().find_map(|(_, m)| match m {
            Mode::Tamper { kind: k, offset } if *k == kind => Some(*offset),
            _ => None,
        }) {
            let pos = Mode::tamper_position(kind, offset, payload.0.len());
            if let Some(b) = payload.0.get_mut(pos) {
                *b ^= 0x01;
            }
            text = RelayFrame::Deliver {
                id,
                from,
                to,
                payload,
                sent_at,
            }
            .encode();
            self.report(&format!(
                "evil: tampered deliver kind={name} id={id_n} byte={pos}"
            ));
        }

        let replay = inner.has(&Mode::Replay(kind));
        if conn.held.is_none() {
            let reorder = inner.modes.iter().find_map(|(mode_id, m)| match m {
                Mode::Reorder(k) if *k == kind && !conn.reordered.contains(mode_id) => {
                    Some(*mode_id)
                }
                _ => None,
            });
            if let Some(mode_id) = reorder {
                conn.reordered.insert(mode_id);
                conn.held = Some(Held {
                    id,
                    kind: name,
                    text,
                    replay,
                });
                self.report(&format!("evil: held deliver kind={name} id={id_n}"));
                return out;
            }
        }

        out.push(Action::ToDevice(text.clone()));
        if replay {
            out.push(Action::ToDevice(text));
            self.report(&format!("evil: replayed deliver kind={name} id={id_n}"));
        }
        self.release(conn, id, &mut out);
        out
    }

    /// Sends the frame a reorder mode held, right after `after`.
    fn release(&self, conn: &mut Conn, after: MessageId, out: &mut Vec<Action>) {
        let Some(h) = conn.held.take() else { return };
        out.push(Action::ToDevice(h.text.clone()));
        if h.replay {
            out.push(Action::ToDevice(h.text));
            self.report(&format!(
                "evil: replayed deliver kind={} id={}",
                h.kind, h.id.0
            ));
        }
        self.report(&format!(
            "evil: reordered deliver kind={} id={} after id={}",
            h.kind, h.id.0, after.0
        ));
    }

    /// The joiner's answer to a hello the proxy substituted: open it with
    /// the attacker's keys, and with `forge-welcome` answer it at once.
    fn attack_join(
        &self,
        inner: &mut Inner,
        conn: &mut Conn,
        topic: Topic,
        join: &[u8],
        out: &mut Vec<Action>,
    ) {
        let forge = inner.has(&Mode::ForgeWelcome);
        let Some(approver) = inner.attacks.get_mut(&topic) else {
            return;
        };
        let now = now();
        let request = match approver.on_join(join, now) {
            Ok(r) => r,
            Err(e) => {
                self.report(&format!("evil: cannot open the join on topic {topic}: {e}"));
                return;
            }
        };
        self.report(&format!("evil: joiner code {}", request.code));
        if !forge {
            return;
        }
        let Some(mut approver) = inner.attacks.remove(&topic) else {
            return;
        };
        match forge_welcome(&mut approver, &inner.identity, &request, now) {
            Ok(welcome) => {
                let req = conn.own_req();
                out.push(Action::ToRelay(
                    ClientFrame::Publish {
                        req,
                        to: Recipient::Topic(topic),
                        payload: Bytes(welcome),
                    }
                    .encode(),
                ));
                self.report("evil: forged welcome sent");
            }
            Err(e) => self.report(&format!("evil: cannot forge a welcome: {e}")),
        }
    }

    /// The connection ended: a frame still held is lost (never acked, so
    /// the relay delivers it again on the device's next connection).
    pub fn closed(&self, conn: &mut Conn) {
        if let Some(h) = conn.held.take() {
            self.report(&format!(
                "evil: discarded held deliver kind={} id={} (connection closed)",
                h.kind, h.id.0
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use tandem_pair::envelope::HEADER_LEN;
    use tandem_pair::{DeviceId, Joiner, PairingOffer};

    fn engine() -> (Engine, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        (
            Engine::new(move |l| sink.lock().unwrap().push(l.to_owned())),
            lines,
        )
    }

    fn envelope(kind: EnvelopeKind, seq: u64) -> Vec<u8> {
        let header = Header {
            kind,
            topic: Topic([7; 32]),
            sender: DeviceId([1; 16]),
            epoch: 0,
            seq,
        };
        let env = Envelope::seal(&[3; 32], header, &[0; 64], &mut OsRng);
        if kind.is_signed() {
            env.sign(&IdentityKey::generate(&mut OsRng)).encode()
        } else {
            env.encode()
        }
    }

    fn deliver(id: u64, payload: Vec<u8>) -> String {
        RelayFrame::Deliver {
            id: MessageId(id),
            from: DeviceId([1; 16]),
            to: Recipient::Topic(Topic([7; 32])),
            payload: Bytes(payload),
            sent_at: 5,
        }
        .encode()
    }

    fn to_device(a: &Action) -> RelayFrame {
        match a {
            Action::ToDevice(t) => RelayFrame::decode(t).unwrap(),
            Action::ToRelay(t) => panic!("expected a frame to the device, got {t}"),
        }
    }

    #[test]
    fn passes_everything_through_without_modes() {
        let (e, lines) = engine();
        let mut c = Conn::default();
        let d = deliver(1, envelope(EnvelopeKind::Group, 1));
        assert_eq!(e.from_relay(&mut c, &d), vec![Action::ToDevice(d.clone())]);
        for odd in ["not json", r#"{"type":"mystery"}"#] {
            assert_eq!(
                e.from_relay(&mut c, odd),
                vec![Action::ToDevice(odd.into())]
            );
            assert_eq!(
                e.from_device(&mut c, odd),
                vec![Action::ToRelay(odd.into())]
            );
        }
        assert!(lines.lock().unwrap().is_empty());
    }

    #[test]
    fn drop_acks_upstream_and_tamper_flips_one_body_byte() {
        let (e, lines) = engine();
        let mut c = Conn::default();
        e.add_mode(Mode::parse("drop pair_confirm").unwrap());
        e.add_mode(Mode::parse("tamper group").unwrap());
        let out = e.from_relay(&mut c, &deliver(4, envelope(EnvelopeKind::PairConfirm, 1)));
        assert_eq!(
            out,
            vec![Action::ToRelay(
                ClientFrame::Ack { id: MessageId(4) }.encode()
            )]
        );
        let original = envelope(EnvelopeKind::Group, 1);
        let out = e.from_relay(&mut c, &deliver(5, original.clone()));
        let RelayFrame::Deliver { payload, .. } = to_device(&out[0]) else {
            panic!()
        };
        let diff: Vec<usize> = (0..original.len())
            .filter(|&i| original[i] != payload.0[i])
            .collect();
        assert_eq!(diff, vec![HEADER_LEN + 24]);
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "evil: dropped deliver kind=pair_confirm id=4",
                "evil: tampered deliver kind=group id=5 byte=86",
            ]
        );
    }

    #[test]
    fn reorder_swaps_once_per_connection_and_replay_doubles() {
        let (e, _) = engine();
        let mut c = Conn::default();
        e.add_mode(Mode::parse("reorder group").unwrap());
        e.add_mode(Mode::parse("replay key_update").unwrap());
        let ids = |out: Vec<Action>| -> Vec<u64> {
            out.iter()
                .map(|a| match to_device(a) {
                    RelayFrame::Deliver { id, .. } => id.0,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert!(e
            .from_relay(&mut c, &deliver(1, envelope(EnvelopeKind::Group, 1)))
            .is_empty());
        assert_eq!(
            ids(e.from_relay(&mut c, &deliver(2, envelope(EnvelopeKind::Group, 2)))),
            [2, 1]
        );
        assert_eq!(
            ids(e.from_relay(&mut c, &deliver(3, envelope(EnvelopeKind::Group, 3)))),
            [3]
        );
        assert_eq!(
            ids(e.from_relay(&mut c, &deliver(4, envelope(EnvelopeKind::KeyUpdate, 4)))),
            [4, 4]
        );
        // A new connection gets its own first swap.
        let mut c2 = Conn::default();
        assert!(e
            .from_relay(&mut c2, &deliver(5, envelope(EnvelopeKind::Group, 5)))
            .is_empty());
        e.closed(&mut c2);
    }

    #[test]
    fn substituted_hello_reads_the_code_and_forges_a_welcome() {
        let (e, lines) = engine();
        let mut phone = Conn::default();
        let mut joiner = Joiner::new("ws://127.0.0.1:1/v1/ws", now(), 120, &mut OsRng).unwrap();
        let offer = PairingOffer::parse(&joiner.offer().to_uri()).unwrap();
        e.add_mode(Mode::SubstituteHello(offer.clone()));
        e.add_mode(Mode::ForgeWelcome);
        let honest = IdentityKey::generate(&mut OsRng);
        let (_, real_hello) = Approver::start(&offer, &honest, now(), &mut OsRng).unwrap();
        let publish = ClientFrame::Publish {
            req: 9,
            to: Recipient::Topic(offer.topic),
            payload: Bytes(real_hello.clone()),
        };
        let out = e.from_device(&mut phone, &publish.encode());
        let [Action::ToRelay(sent)] = out.as_slice() else {
            panic!("{out:?}")
        };
        let ClientFrame::Publish {
            req: 9, payload, ..
        } = ClientFrame::decode(sent).unwrap()
        else {
            panic!("{sent}")
        };
        assert_ne!(payload.0, real_hello);

        let desk = IdentityKey::generate(&mut OsRng);
        let (join, code) = joiner
            .on_hello(&payload.0, &desk, "desk", now(), &mut OsRng)
            .unwrap();
        let out = e.from_relay(&mut phone, &deliver(11, join.clone()));
        assert_eq!(out.len(), 2, "{out:?}");
        let Action::ToRelay(forged) = &out[0] else {
            panic!("{out:?}")
        };
        let ClientFrame::Publish { req, payload, .. } = ClientFrame::decode(forged).unwrap() else {
            panic!("{forged}")
        };
        assert!(req >= OWN_REQ_BASE);
        // The original join still reaches the phone.
        assert!(
            matches!(to_device(&out[1]), RelayFrame::Deliver { payload, .. } if payload.0 == join)
        );
        // The joiner's user has not confirmed: the welcome is refused.
        assert_eq!(
            joiner
                .on_accept(&payload.0, &desk, now())
                .unwrap_err()
                .kind(),
            "not_confirmed"
        );
        // The relay's answer to the forged publish never reaches the phone.
        let published = RelayFrame::Published {
            req,
            id: MessageId(12),
            full: vec![],
        };
        assert!(e.from_relay(&mut phone, &published.encode()).is_empty());
        assert_eq!(
            *lines.lock().unwrap(),
            [
                format!("evil: substituted hello on topic {}", offer.topic),
                format!("evil: joiner code {code}"),
                "evil: forged welcome sent".into(),
                "evil: forged message stored id=12".into(),
            ]
        );
    }
}
