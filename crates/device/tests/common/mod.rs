//! A deterministic world for the engine: device engines with a "disk"
//! (their last persisted state), and an in-memory relay that follows the
//! relay's rules closely enough for schedules the tests choose: frames can
//! be delivered in any order, duplicated, or lost with a crash between any
//! two outputs. (Real sockets and the real relay binary are exercised by
//! the command-line device's tests.)
#![allow(clippy::unwrap_used, dead_code, unreachable_pub, missing_docs)]

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tandem_device::{Command, Device, Event, Input, LinkId, Output, State};
use tandem_pair::*;

pub const RELAY: &str = "ws://127.0.0.1:9/v1/ws";
pub const T0: u64 = 1_764_000_000;

/// One device: the engine, its disk, its events.
pub struct Node {
    pub name: String,
    seed: [u8; 32],
    pub dev: Device,
    /// JSON of the last persisted state.
    pub disk: String,
    pub events: Vec<Event>,
    /// Outputs not carried out yet (a crash drops them).
    pending: VecDeque<Output>,
    conns: BTreeMap<LinkId, usize>,
}

impl Node {
    /// Messages received, as stored (durable, each once).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.dev
            .state()
            .inbox()
            .iter()
            .map(|m| m.data.0.clone())
            .collect()
    }
    pub fn paired(&self) -> bool {
        self.events.iter().any(|e| {
            matches!(
                e,
                Event::Pairing(tandem_device::PairingPhase::Paired { .. })
            )
        })
    }
    pub fn pairing_failed(&self) -> Option<String> {
        self.events.iter().find_map(|e| match e {
            Event::Pairing(tandem_device::PairingPhase::Failed { error }) => Some(error.clone()),
            _ => None,
        })
    }
    pub fn last_code(&self) -> Option<String> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Pairing(tandem_device::PairingPhase::ConfirmCode { code })
            | Event::Pairing(tandem_device::PairingPhase::CompareCode { code, .. }) => {
                Some(code.clone())
            }
            _ => None,
        })
    }
    pub fn offer(&self) -> Option<String> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Pairing(tandem_device::PairingPhase::Offer { link, .. }) => Some(link.clone()),
            _ => None,
        })
    }
    pub fn group(&self) -> &Group {
        &self.dev.state().group
    }
}

struct Conn {
    node: usize,
    link: LinkId,
    url: String,
    nonce: Nonce,
    who: Option<(DeviceId, Option<GroupId>)>,
    /// Frames the relay sent that the device has not read yet.
    out: VecDeque<String>,
    topics: Vec<Topic>,
}

#[derive(Default)]
struct RelayState {
    conns: BTreeMap<usize, Conn>,
    next_conn: usize,
    next_msg: u64,
    /// Per device: stored messages (id, frame) until acked.
    mailbox: BTreeMap<DeviceId, Vec<(u64, RelayFrame)>>,
    chain: BTreeMap<GroupId, Vec<RevocationRecord>>,
    /// Devices known per group and whether revoked.
    members: BTreeMap<GroupId, BTreeMap<DeviceId, (IdentityPublic, bool)>>,
    tokens: BTreeMap<TokenId, (GroupId, DeviceId)>,
    /// Blobs per (group, name): value and version (compare and swap as the
    /// real relay does).
    blobs: BTreeMap<(GroupId, String), (Vec<u8>, u64)>,
    /// Frames the relay dropped on the floor (for assertions).
    pub refused: Vec<String>,
}

pub struct Sim {
    pub now: u64,
    pub rng: ChaCha20Rng,
    pub nodes: Vec<Node>,
    relay: RelayState,
}

impl Sim {
    pub fn new(seed: u64) -> Self {
        eprintln!("sim seed {seed}");
        Self {
            now: T0,
            rng: ChaCha20Rng::seed_from_u64(seed),
            nodes: Vec::new(),
            relay: RelayState::default(),
        }
    }

    /// A new device that founds its own group.
    pub fn device(&mut self, name: &str) -> usize {
        let mut seed = [0u8; 32];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut self.rng, &mut seed);
        let identity = IdentityKey::from_seed(&seed);
        let state = State::found(&identity, name, RELAY, self.now, &mut self.rng).unwrap();
        let disk = serde_json::to_string(&state).unwrap();
        self.nodes.push(Node {
            name: name.into(),
            seed,
            dev: Device::new(identity, state),
            disk,
            events: Vec::new(),
            pending: VecDeque::new(),
            conns: BTreeMap::new(),
        });
        self.nodes.len() - 1
    }

    pub fn input(&mut self, n: usize, input: Input) {
        let outs = self.nodes[n].dev.handle(input, self.now, &mut self.rng);
        self.nodes[n].pending.extend(outs);
        self.carry_out(n, usize::MAX);
    }

    pub fn cmd(&mut self, n: usize, c: Command) {
        self.input(n, Input::Command(c));
    }

    /// Carries out at most `limit` pending outputs of node `n`.
    fn carry_out(&mut self, n: usize, limit: usize) {
        let mut done = 0;
        while done < limit {
            let Some(o) = self.nodes[n].pending.pop_front() else {
                return;
            };
            done += 1;
            match o {
                Output::Persist => {
                    self.nodes[n].disk = serde_json::to_string(self.nodes[n].dev.state()).unwrap();
                }
                Output::Event(e) => self.nodes[n].events.push(e),
                Output::Connect { link, url } => {
                    if let Some(c) = self.nodes[n].conns.remove(&link) {
                        self.relay.conns.remove(&c);
                    }
                    let id = self.relay.next_conn;
                    self.relay.next_conn += 1;
                    let nonce = Nonce::random(&mut self.rng);
                    let mut conn = Conn {
                        node: n,
                        link,
                        url,
                        nonce,
                        who: None,
                        out: VecDeque::new(),
                        topics: Vec::new(),
                    };
                    conn.out.push_back(
                        RelayFrame::Challenge {
                            version: PROTOCOL_VERSION,
                            nonce,
                        }
                        .encode(),
                    );
                    self.relay.conns.insert(id, conn);
                    self.nodes[n].conns.insert(link, id);
                }
                Output::Close { link } => {
                    if let Some(c) = self.nodes[n].conns.remove(&link) {
                        self.relay.conns.remove(&c);
                    }
                }
                Output::Send { link, text } => {
                    if let Some(&c) = self.nodes[n].conns.get(&link) {
                        self.relay_handle(c, &text);
                    }
                }
            }
        }
    }

    /// The relay frames waiting for node `n` on `link`.
    pub fn waiting(&self, n: usize, link: LinkId) -> usize {
        self.nodes[n]
            .conns
            .get(&link)
            .and_then(|c| self.relay.conns.get(c))
            .map_or(0, |c| c.out.len())
    }

    /// Delivers the next frame for node `n` on `link`; false if none.
    pub fn step(&mut self, n: usize, link: LinkId) -> bool {
        let Some(&c) = self.nodes[n].conns.get(&link) else {
            return false;
        };
        let Some(text) = self.relay.conns.get_mut(&c).and_then(|c| c.out.pop_front()) else {
            return false;
        };
        self.input(n, Input::Text(link, text));
        true
    }

    /// Swaps the next two frames waiting for `n` on `link`.
    pub fn swap(&mut self, n: usize, link: LinkId) {
        if let Some(c) = self.nodes[n]
            .conns
            .get(&link)
            .and_then(|c| self.relay.conns.get_mut(c))
        {
            if c.out.len() >= 2 {
                c.out.swap(0, 1);
            }
        }
    }

    /// Delivers the next frame for `n` twice.
    pub fn duplicate(&mut self, n: usize, link: LinkId) {
        if let Some(c) = self.nodes[n]
            .conns
            .get(&link)
            .and_then(|c| self.relay.conns.get_mut(c))
        {
            if let Some(f) = c.out.front().cloned() {
                c.out.push_front(f);
            }
        }
    }

    /// Delivers everything until nothing moves.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            for n in 0..self.nodes.len() {
                for link in [LinkId::Main, LinkId::Pairing] {
                    moved |= self.step(n, link);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the simulation did not settle");
    }

    /// Node `n` stops between two outputs: what was not carried out is
    /// lost, its sockets close, and it restarts from its disk.
    pub fn crash(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.pending.clear();
        for (_, c) in std::mem::take(&mut node.conns) {
            self.relay.conns.remove(&c);
        }
        let state: State = serde_json::from_str(&node.disk).unwrap();
        node.dev = Device::new(IdentityKey::from_seed(&node.seed), state);
    }

    /// Feeds an input to `n` but carries out only its first `k` outputs,
    /// then crashes it.
    pub fn input_then_crash(&mut self, n: usize, input: Input, k: usize) {
        let outs = self.nodes[n].dev.handle(input, self.now, &mut self.rng);
        self.nodes[n].pending.extend(outs);
        self.carry_out(n, k);
        self.crash(n);
    }

    /// Delivers the next frame on `link` to `n` with a crash after `k` of
    /// the outputs it causes. Returns false if nothing was waiting.
    pub fn step_then_crash(&mut self, n: usize, link: LinkId, k: usize) -> bool {
        let Some(&c) = self.nodes[n].conns.get(&link) else {
            return false;
        };
        let Some(text) = self.relay.conns.get_mut(&c).and_then(|c| c.out.pop_front()) else {
            return false;
        };
        self.input_then_crash(n, Input::Text(link, text), k);
        true
    }

    /// Pairs `joiner` into `approver`'s group with both users confirming.
    pub fn pair(&mut self, approver: usize, joiner: usize) {
        self.cmd(approver, Command::Connect);
        self.run();
        self.cmd(joiner, Command::ShowOffer { lifetime_secs: 120 });
        self.run();
        let link = self.nodes[joiner].offer().unwrap();
        self.cmd(
            approver,
            Command::AcceptOffer {
                link,
                mode: tandem_device::ApproverMode::Compare,
                allow_other_relay: false,
            },
        );
        self.run();
        self.confirm_codes(approver, joiner);
        self.cmd(joiner, Command::Connect);
        self.run();
    }

    /// Both screens show the same code and both users confirm it: the
    /// pairing ends with both devices paired.
    pub fn confirm_codes(&mut self, approver: usize, joiner: usize) {
        let a = self.nodes[approver].last_code();
        let j = self.nodes[joiner].last_code();
        assert!(
            a.is_some() && a == j,
            "both screens show the same code: {a:?} / {j:?}: {:?}",
            self.nodes[joiner].events
        );
        self.cmd(joiner, Command::ConfirmCode(true));
        self.run();
        self.cmd(approver, Command::CheckCode(CodeCheck::Match));
        self.run();
        assert!(
            self.nodes[joiner].paired(),
            "{:?}",
            self.nodes[joiner].events
        );
        assert!(
            self.nodes[approver].paired(),
            "{:?}",
            self.nodes[approver].events
        );
    }

    /// The relay loses every group message waiting for node `n` (as when its
    /// mailbox was full): revocation and admission notices stay.
    pub fn lose_group_messages(&mut self, n: usize) {
        let d = self.nodes[n].dev.id();
        if let Some(m) = self.relay.mailbox.get_mut(&d) {
            m.retain(|(_, f)| !matches!(f, RelayFrame::Deliver { .. }));
        }
    }

    // ------------------------------------------------------------ relay

    fn push(&mut self, conn: usize, f: &RelayFrame) {
        if let Some(c) = self.relay.conns.get_mut(&conn) {
            c.out.push_back(f.encode());
        }
    }

    fn main_conns_of(&self, d: &DeviceId) -> Vec<usize> {
        self.relay
            .conns
            .iter()
            .filter(|(_, c)| c.link == LinkId::Main && c.who.as_ref().is_some_and(|w| w.0 == *d))
            .map(|(id, _)| *id)
            .collect()
    }

    fn store(&mut self, to: DeviceId, make: impl Fn(u64) -> RelayFrame) {
        self.relay.next_msg += 1;
        let id = self.relay.next_msg;
        let f = make(id);
        self.relay
            .mailbox
            .entry(to)
            .or_default()
            .push((id, f.clone()));
        for c in self.main_conns_of(&to) {
            self.push(c, &f);
        }
    }

    fn active_members(&self, g: &GroupId) -> Vec<DeviceId> {
        self.relay
            .members
            .get(g)
            .map(|m| m.iter().filter(|(_, (_, r))| !r).map(|(d, _)| *d).collect())
            .unwrap_or_default()
    }

    fn refuse(&mut self, conn: usize, req: Option<u64>, code: ErrorCode, msg: &str) {
        self.relay.refused.push(msg.to_owned());
        self.push(conn, &RelayFrame::error(req, code, msg));
    }

    fn relay_handle(&mut self, conn: usize, text: &str) {
        let Ok(frame) = ClientFrame::decode(text) else {
            return self.refuse(conn, None, ErrorCode::BadFrame, "bad frame");
        };
        let now = self.now;
        let who = self.relay.conns.get(&conn).and_then(|c| c.who);
        match frame {
            ClientFrame::Auth {
                identity,
                membership,
                signature,
            } => {
                let c = &self.relay.conns[&conn];
                if identity.verify_auth(&c.url, &c.nonce, &signature).is_err()
                    || membership.verify(&identity, now).is_err()
                {
                    return self.refuse(conn, None, ErrorCode::AuthFailed, "auth failed");
                }
                let device = identity.device_id();
                let group = membership.group();
                if let (Membership::Member { token }, Some(g)) = (&membership, group) {
                    let known = self.relay.tokens.get(&token.id()) == Some(&(g, device));
                    if !known {
                        return self.refuse(
                            conn,
                            None,
                            ErrorCode::AuthFailed,
                            "token not admitted",
                        );
                    }
                }
                if let Some(g) = group {
                    let members = self.relay.members.entry(g).or_default();
                    let e = members.entry(device).or_insert((identity, false));
                    if e.1 {
                        let rec = self.relay.chain[&g]
                            .iter()
                            .find(|r| r.target() == RevocationTarget::Device(device))
                            .cloned();
                        if let Some(record) = rec {
                            self.push(conn, &RelayFrame::Revoked { id: None, record });
                        }
                        return self.refuse(conn, None, ErrorCode::Revoked, "revoked");
                    }
                }
                let revocations =
                    group.map_or(0, |g| self.relay.chain.get(&g).map_or(0, Vec::len) as u32);
                if let Some(c) = self.relay.conns.get_mut(&conn) {
                    c.who = Some((device, group));
                }
                self.push(
                    conn,
                    &RelayFrame::AuthOk {
                        device,
                        group,
                        revocations,
                    },
                );
                if self.relay.conns[&conn].link == LinkId::Main {
                    let stored = self.relay.mailbox.get(&device).cloned().unwrap_or_default();
                    for (_, f) in stored {
                        self.push(conn, &f);
                    }
                }
            }
            _ if who.is_none() => {
                self.refuse(conn, None, ErrorCode::NotAuthenticated, "auth first")
            }
            ClientFrame::Ping { req } => self.push(conn, &RelayFrame::Pong { req }),
            ClientFrame::Subscribe { req, topic, .. } => {
                if let Some(c) = self.relay.conns.get_mut(&conn) {
                    c.topics.push(topic);
                }
                self.push(conn, &RelayFrame::Ok { req });
            }
            ClientFrame::Unsubscribe { req, .. } => self.push(conn, &RelayFrame::Ok { req }),
            ClientFrame::Ack { id } => {
                let (device, _) = who.unwrap();
                if let Some(m) = self.relay.mailbox.get_mut(&device) {
                    m.retain(|(i, _)| *i != id.0);
                }
            }
            ClientFrame::Publish { req, to, payload } => {
                let (from, group) = who.unwrap();
                self.relay.next_msg += 1;
                let id = MessageId(self.relay.next_msg);
                let deliver = |id: u64| RelayFrame::Deliver {
                    id: MessageId(id),
                    from,
                    to,
                    payload: payload.clone(),
                    sent_at: now,
                };
                match to {
                    Recipient::Topic(t) => {
                        let targets: Vec<usize> = self
                            .relay
                            .conns
                            .iter()
                            .filter(|(id, c)| **id != conn && c.topics.contains(&t))
                            .map(|(id, _)| *id)
                            .collect();
                        for c in targets {
                            self.push(c, &deliver(id.0));
                        }
                    }
                    Recipient::Device(d) => {
                        let g = group.unwrap();
                        if !self.active_members(&g).contains(&d) {
                            return self.refuse(
                                conn,
                                Some(req),
                                ErrorCode::NotFound,
                                "no such device",
                            );
                        }
                        self.store(d, deliver);
                    }
                    Recipient::Group => {
                        let g = group.unwrap();
                        for d in self.active_members(&g) {
                            if d != from {
                                self.store(d, deliver);
                            }
                        }
                    }
                }
                self.push(
                    conn,
                    &RelayFrame::Published {
                        req,
                        id,
                        full: vec![],
                    },
                );
            }
            ClientFrame::Admit { req, token } => {
                let (from, group) = who.unwrap();
                let g = group.unwrap();
                for d in self.active_members(&g) {
                    if d != from {
                        let t = token.clone();
                        self.store(d, move |id| RelayFrame::Admitted {
                            id: MessageId(id),
                            token: t.clone(),
                        });
                    }
                }
                self.relay
                    .tokens
                    .insert(token.id(), (g, token.subject_device()));
                self.relay
                    .members
                    .entry(g)
                    .or_default()
                    .entry(token.subject_device())
                    .or_insert((token.subject(), false));
                self.push(conn, &RelayFrame::Ok { req });
            }
            ClientFrame::Revoke { req, record } => {
                let (from, group) = who.unwrap();
                let g = group.unwrap();
                let chain = self.relay.chain.entry(g).or_default();
                let head = chain
                    .last()
                    .map_or(RevocationId::NONE, RevocationRecord::id);
                if record.seq() as usize != chain.len() + 1 || record.prev() != head {
                    return self.refuse(conn, Some(req), ErrorCode::Conflict, "chain moved on");
                }
                if record.issuer_device() != from {
                    return self.refuse(conn, Some(req), ErrorCode::Forbidden, "not yours");
                }
                let RevocationTarget::Device(target) = record.target() else {
                    return self.refuse(conn, Some(req), ErrorCode::Forbidden, "devices only here");
                };
                chain.push(record.clone());
                if let Some(m) = self
                    .relay
                    .members
                    .get_mut(&g)
                    .and_then(|m| m.get_mut(&target))
                {
                    m.1 = true;
                }
                self.relay.mailbox.remove(&target);
                for c in self.main_conns_of(&target) {
                    self.push(
                        c,
                        &RelayFrame::Revoked {
                            id: None,
                            record: record.clone(),
                        },
                    );
                }
                for d in self.active_members(&g) {
                    if d != from {
                        let r = record.clone();
                        self.store(d, move |id| RelayFrame::Revoked {
                            id: Some(MessageId(id)),
                            record: r.clone(),
                        });
                    }
                }
                self.push(conn, &RelayFrame::Ok { req });
            }
            ClientFrame::Revocations { req, after } => {
                let (_, group) = who.unwrap();
                let chain = self
                    .relay
                    .chain
                    .get(&group.unwrap())
                    .cloned()
                    .unwrap_or_default();
                let total = chain.len() as u32;
                let records = chain.into_iter().skip(after as usize).collect();
                self.push(
                    conn,
                    &RelayFrame::Revocations {
                        req,
                        records,
                        total,
                    },
                );
            }
            ClientFrame::Members { req } => {
                let (_, group) = who.unwrap();
                let g = group.unwrap();
                let online: Vec<DeviceId> = self
                    .relay
                    .conns
                    .values()
                    .filter_map(|c| c.who.map(|w| w.0))
                    .collect();
                let members = self.relay.members[&g]
                    .iter()
                    .map(|(d, (k, r))| MemberInfo {
                        device: *d,
                        identity: *k,
                        founder: false,
                        revoked: *r,
                        last_seen: online.contains(d).then_some(now),
                    })
                    .collect();
                self.push(conn, &RelayFrame::Members { req, members });
            }
            ClientFrame::BlobPut {
                req,
                key,
                value,
                expected,
            } => {
                let g = who.unwrap().1.unwrap();
                let slot = self.relay.blobs.entry((g, key)).or_insert((Vec::new(), 0));
                if expected.is_some_and(|e| e != slot.1) {
                    let msg = format!("now at version {}", slot.1);
                    return self.refuse(conn, Some(req), ErrorCode::Conflict, &msg);
                }
                *slot = (value.0, slot.1 + 1);
                let version = slot.1;
                self.push(conn, &RelayFrame::BlobStored { req, version });
            }
            ClientFrame::BlobGet { req, key } => {
                let g = who.unwrap().1.unwrap();
                let (value, version) = match self.relay.blobs.get(&(g, key.clone())) {
                    Some((v, n)) if *n > 0 => (Some(Bytes(v.clone())), *n),
                    _ => (None, 0),
                };
                self.push(
                    conn,
                    &RelayFrame::Blob {
                        req,
                        key,
                        value,
                        version,
                    },
                );
            }
        }
    }
}

impl Sim {
    /// A malicious relay rewrites blob `name` of `n`'s group.
    pub fn tamper_blob(&mut self, n: usize, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
        let g = self.nodes[n].group().id();
        if let Some((v, _)) = self.relay.blobs.get_mut(&(g, name.to_owned())) {
            f(v);
        }
    }
}
