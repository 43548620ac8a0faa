//! The I/O-free engine of a Tandem group member (see the README).
//!
//! Everything a device does in its wallet group lives here, once, for every
//! shell: the command-line device (tokio), the extension's service worker
//! and the phone app (web-sys WebSocket and browser storage). A shell feeds
//! [`Input`]s (socket text, socket events, timer ticks, user commands) with
//! the current time and a CSPRNG, and carries out the [`Output`]s **in
//! order**: open or close a socket, send a text frame, persist
//! [`Device::state`], show an [`Event`]. Like rustls and quinn-proto, the
//! engine never touches a socket, a clock or a disk itself, so tests drive
//! it deterministically (reordering, duplicates, crashes between two steps).
//!
//! The rules the engine keeps:
//! - **Acknowledge after a durable apply.** A delivered message is
//!   acknowledged to the relay only after the state it changed was
//!   persisted ([`Output::Persist`] comes before the `ack`), or after it was
//!   stored for later ([`state::Deferred`]) when it needs a key or a
//!   revocation record that has not arrived yet.
//! - **Catch up before acting.** Nothing is sent to the group, no device is
//!   welcomed and no revocation is issued until the relay's mailbox has been
//!   processed and the revocation chain fetched ([`Event::Online`]).
//! - **Persist before sending.** A new group key is stored before the key
//!   updates that carry it leave; announcements and key updates wait in an
//!   outbox until the relay confirmed it stored them.
//! - **Pairing needs both screens.** See [`pairing`].

#[cfg(feature = "blobs")]
mod blob;
mod inbox;
pub mod json;
pub mod pairing;
pub mod state;
mod view;

use tandem_pair::map::VecMap;

use rand_core::CryptoRngCore;
use tandem_pair::{
    ClientFrame, CodeCheck, DeviceId, Error as PairError, IdentityKey, Recipient, RelayFrame,
    RevocationReason, RevocationRecord, RevocationTarget,
};

pub use pairing::{ApproverMode, PairingPhase};
pub use state::State;
pub use view::{DeviceView, DevicesView, RemovedView, Waiting};

/// Default lifetime of a session token this device issues: 30 days.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = tandem_pair::DEFAULT_TOKEN_LIFETIME_SECS;
/// How long the engine waits for a relay answer before giving up on it.
pub const REQUEST_TIMEOUT_SECS: u64 = 30;
/// A token this close to its expiry is refreshed: the device asks the group
/// (and the UI says so).
pub const REFRESH_BEFORE_SECS: u64 = 7 * 86_400;
/// How often an unanswered refresh request is repeated.
pub const REFRESH_ASK_EVERY_SECS: u64 = 86_400;

/// The engine's sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkId {
    /// The group's relay, authenticated as a member (or founder).
    Main,
    /// A pairing topic on the relay an offer names, as an anonymous guest
    /// (a throwaway identity: nothing links it to this device's group).
    Pairing,
}

/// What a shell feeds the engine.
#[derive(Debug)]
pub enum Input {
    /// A socket the engine asked for is open.
    Opened(LinkId),
    /// A text frame arrived on a socket.
    Text(LinkId, String),
    /// A socket closed (or could not be opened); `reason` is for the user.
    Closed(LinkId, String),
    /// Time passed (call at least every few seconds while anything is open).
    Tick,
    /// The user (or the shell) asks for something.
    Command(Command),
}

/// What the user can ask for.
#[derive(Debug, Clone)]
pub enum Command {
    /// Go online: connect to the group's relay and catch up.
    Connect,
    /// Close every socket.
    Disconnect,
    /// Send application data to every other device of the group.
    Send(Vec<u8>),
    /// Send a request (to sign or to confirm something) to every other
    /// device of the group; it arrives as [`Event::Request`].
    Ask(Vec<u8>),
    /// Revoke a device (or this device, to leave the group).
    Revoke {
        /// Device to revoke.
        device: DeviceId,
        /// Why.
        reason: RevocationReason,
        /// Ask the device to erase its wallet too (lost or compromised only).
        erase: bool,
    },
    /// Issue a fresh session token for a device (default 30 days).
    Refresh {
        /// Device.
        device: DeviceId,
        /// Lifetime in seconds.
        lifetime_secs: u64,
    },
    /// Ask the relay for the group's devices and when it last saw them.
    ListDevices,
    /// New device: show a one-time pairing offer valid `lifetime_secs`.
    ShowOffer {
        /// Offer lifetime in seconds.
        lifetime_secs: u64,
    },
    /// Trusted device: answer a pairing link (the QR's text).
    AcceptOffer {
        /// The link.
        link: String,
        /// Compare (both screens show the code) or typing mode.
        mode: ApproverMode,
        /// The user already agreed to use the relay the link names although
        /// it is not the group's.
        allow_other_relay: bool,
    },
    /// The user agreed to the relay warning ([`Event::OtherRelay`]).
    AllowOtherRelay,
    /// The new device's user compared the codes.
    ConfirmCode(bool),
    /// The trusted device's user compared or typed the code.
    CheckCode(CodeCheck),
    /// Give up the pairing in progress.
    CancelPairing,
    /// Prove the group link alive (a ping the relay must answer in time;
    /// browsers also keep a worker with an active socket running).
    KeepAlive,
    /// Leave the old group behind on this device only (its token expired,
    /// or it was removed): a new identity key and a group of one, ready to
    /// pair again. The old group is not told (it may already have revoked
    /// this device, or can revoke it from its list).
    StartOver,
    /// The shell has shown (or handled) inbox messages up to this id.
    ClearInbox {
        /// Highest id handled.
        upto: u64,
    },
    #[cfg(feature = "blobs")]
    /// Store `data` as the group's blob `name` on the relay, sealed under
    /// the current group key and signed by this device; with `expected`,
    /// only if the relay still holds that version (0: none). Answered by
    /// [`Event::BlobStored`] or [`Event::BlobConflict`]. Online only.
    PutBlob {
        /// Blob name (not secret: the relay sees it).
        name: String,
        /// Contents.
        data: Vec<u8>,
        /// Compare and swap against this version.
        expected: Option<u64>,
    },
    #[cfg(feature = "blobs")]
    /// Read the group's blob `name`: [`Event::Blob`] or
    /// [`Event::BlobUnreadable`]. Online only.
    GetBlob {
        /// Blob name.
        name: String,
    },
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a WebSocket to `url` for `link` (closing any open one first).
    Connect {
        /// Which socket.
        link: LinkId,
        /// Relay URL.
        url: String,
    },
    /// Send this text frame on `link`.
    Send {
        /// Which socket.
        link: LinkId,
        /// JSON frame.
        text: String,
    },
    /// Close `link`.
    Close {
        /// Which socket.
        link: LinkId,
    },
    /// Store [`Device::state`] durably now, before the next output.
    Persist,
    /// Tell the user (or the log).
    Event(Event),
}

/// What happened, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Connected, the mailbox is processed and the revocation chain is
    /// current: the device acts on up-to-date state.
    Online,
    /// The group relay connection is gone (it will be retried on `Connect`).
    Offline {
        /// Why.
        reason: String,
    },
    /// Application data from another device (also kept in
    /// [`State::inbox`] until [`Command::ClearInbox`]).
    Message {
        /// Inbox id.
        id: u64,
        /// Sender.
        from: DeviceId,
        /// Data.
        data: Vec<u8>,
    },
    /// A request (e.g. to sign) from another device (also in the inbox).
    Request {
        /// Inbox id.
        id: u64,
        /// Sender.
        from: DeviceId,
        /// Data.
        data: Vec<u8>,
    },
    /// The relay stored a message this device sent.
    Sent {
        /// What it was.
        what: String,
        /// Devices whose mailbox was full (they did not get it).
        full: Vec<DeviceId>,
    },
    /// A device joined the group (announced by `by`).
    DeviceAdded {
        /// New device.
        device: DeviceId,
        /// Its name.
        name: String,
        /// Who approved it.
        by: DeviceId,
    },
    /// A device's name arrived (its approver's announcement).
    DeviceNamed {
        /// Device.
        device: DeviceId,
        /// Its name.
        name: String,
    },
    /// A device's session token was refreshed.
    TokenRefreshed {
        /// Device.
        device: DeviceId,
        /// New expiry.
        expires_at: u64,
    },
    /// A device was revoked (not this one).
    DeviceRevoked {
        /// The record.
        record: RevocationRecord,
    },
    /// This device was removed from its group: its group keys are wiped.
    RemovedFromGroup {
        /// The record.
        record: RevocationRecord,
    },
    /// The group key moved to a new epoch.
    KeyRotated {
        /// Epoch.
        epoch: u32,
    },
    /// A delivered message was refused (forged, replayed, not allowed…).
    Rejected {
        /// Sender as the relay named it.
        from: DeviceId,
        /// Why.
        error: String,
    },
    /// A delivered message waits for a key or record that has not arrived.
    Deferred {
        /// Sender.
        from: DeviceId,
        /// Why.
        reason: String,
    },
    /// Someone's revocation conflicts with the chain this device follows.
    ChainConflict {
        /// Detail.
        detail: String,
    },
    /// The relay's answer to [`Command::ListDevices`] was merged in.
    Devices,
    /// A pairing step for the UI.
    Pairing(PairingPhase),
    /// A revocation the user asked for was accepted by the relay.
    RevokeDone {
        /// The record.
        record: RevocationRecord,
        /// Devices the new key was sealed to.
        key_updates: usize,
    },
    /// This device's session token expires soon; it asked the group for a
    /// new one (the UI says so; a week before expiry at the latest).
    TokenExpiring {
        /// Unix seconds.
        expires_at: u64,
    },
    /// This device's session token expired (reported once per token): the
    /// relay no longer lets it in, so it must pair again (or another
    /// device's late refresh arrives while it is still online).
    TokenExpired {
        /// Unix seconds.
        expires_at: u64,
    },
    /// [`Command::StartOver`] done: a new device, ready to pair.
    StartedOver,
    /// The group's blob `name` as the relay holds it, opened.
    Blob {
        /// Name.
        name: String,
        /// Its version at the relay (0: there is none).
        version: u64,
        /// Contents (`None`: there is none).
        data: Option<Vec<u8>>,
    },
    /// The relay holds blob `name` at `version` but this device cannot
    /// accept it (altered, from a revoked device, or under a key epoch it
    /// never held): replace it by compare and swap against `version`.
    BlobUnreadable {
        /// Name.
        name: String,
        /// Its version at the relay.
        version: u64,
        /// Why (plain language).
        error: String,
    },
    /// A blob put was stored at `version`.
    BlobStored {
        /// Name.
        name: String,
        /// New version.
        version: u64,
    },
    /// A compare-and-swap put lost: another device wrote first. Nothing
    /// changed; read the blob, merge and put again.
    BlobConflict {
        /// Name.
        name: String,
    },
    /// A request failed.
    Failed {
        /// What was being done.
        what: String,
        /// Why (plain language).
        error: String,
    },
}

#[derive(Debug)]
enum Phase {
    Closed,
    Connecting,
    Authenticating,
    Syncing,
    Ready,
}

#[derive(Debug, Clone)]
enum Pending {
    Outbox(u64),
    Revoke(RevocationRecord),
    Chain,
    Members,
    Admit(pairing::AdmitFor),
    Barrier,
    KeepAlive,
    #[cfg(feature = "blobs")]
    BlobPut(String),
    #[cfg(feature = "blobs")]
    BlobGet,
}

/// One group member. See the crate documentation.
pub struct Device {
    identity: IdentityKey,
    state: State,
    phase: Phase,
    next_req: u64,
    waiting: VecMap<u64, (Pending, u64)>,
    in_flight: Vec<u64>,
    revoke_in_flight: bool,
    pairing: Option<pairing::Session>,
    /// Devices whose refresh request this device answers when online.
    refresh_due: Vec<DeviceId>,
    out: Vec<Output>,
}

impl core::fmt::Debug for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("me", &self.identity.device_id())
            .field("phase", &self.phase)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Device {
    /// An engine for `identity` with its stored `state`.
    pub fn new(identity: IdentityKey, state: State) -> Self {
        Self {
            identity,
            state,
            phase: Phase::Closed,
            next_req: 1,
            waiting: VecMap::new(),
            in_flight: Vec::new(),
            revoke_in_flight: false,
            pairing: None,
            refresh_due: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The state to persist (when asked with [`Output::Persist`]).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// This device's id.
    pub fn id(&self) -> DeviceId {
        self.identity.device_id()
    }

    /// This device's identity key.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// Whether the group relay connection is up and caught up.
    pub fn is_online(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// Whether a pairing is in progress.
    pub fn is_pairing(&self) -> bool {
        self.pairing.is_some()
    }

    /// Handles one input; returns what the shell must do, in order.
    pub fn handle(&mut self, input: Input, now: u64, rng: &mut impl CryptoRngCore) -> Vec<Output> {
        match input {
            Input::Opened(_) => {}
            Input::Text(link, text) => match RelayFrame::decode(&text) {
                Ok(frame) => match link {
                    LinkId::Main => self.on_main_frame(frame, now, rng),
                    LinkId::Pairing => self.on_pairing_frame(frame, now, rng),
                },
                Err(e) => {
                    self.fail("reading the relay's answer", &e.to_string());
                    self.close(link);
                }
            },
            Input::Closed(link, reason) => self.on_closed(link, &reason),
            Input::Tick => self.on_tick(now, rng),
            Input::Command(c) => self.on_command(c, now, rng),
        }
        core::mem::take(&mut self.out)
    }

    // ------------------------------------------------------------ plumbing

    pub(crate) fn emit(&mut self, e: Event) {
        self.out.push(Output::Event(e));
    }

    pub(crate) fn persist(&mut self) {
        self.out.push(Output::Persist);
    }

    pub(crate) fn fail(&mut self, what: &str, error: &str) {
        self.emit(Event::Failed {
            what: what.to_owned(),
            error: error.to_owned(),
        });
    }

    pub(crate) fn send(&mut self, link: LinkId, frame: &ClientFrame) {
        self.out.push(Output::Send {
            link,
            text: frame.encode(),
        });
    }

    fn take_req(&mut self) -> u64 {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    pub(crate) fn request(
        &mut self,
        pending: Pending,
        now: u64,
        make: impl FnOnce(u64) -> ClientFrame,
    ) {
        let req = self.take_req();
        self.waiting.insert(req, (pending, now));
        let f = make(req);
        self.send(LinkId::Main, &f);
    }

    pub(crate) fn close(&mut self, link: LinkId) {
        self.out.push(Output::Close { link });
        match link {
            LinkId::Main => self.reset_main(),
            LinkId::Pairing => {
                if let Some(p) = &mut self.pairing {
                    p.link_closed();
                }
            }
        }
    }

    fn reset_main(&mut self) {
        self.phase = Phase::Closed;
        self.waiting.clear();
        self.in_flight.clear();
        self.revoke_in_flight = false;
    }

    fn connect_main(&mut self) {
        if !matches!(self.phase, Phase::Closed) {
            return;
        }
        if self.state.removed_by().is_some() {
            self.fail(
                "connecting",
                "this device was removed from its wallet group; pair it again",
            );
            return;
        }
        self.phase = Phase::Connecting;
        self.out.push(Output::Connect {
            link: LinkId::Main,
            url: self.state.group.relay().to_owned(),
        });
    }

    fn on_closed(&mut self, link: LinkId, reason: &str) {
        match link {
            LinkId::Main => {
                let was = !matches!(self.phase, Phase::Closed);
                self.reset_main();
                if was {
                    self.emit(Event::Offline {
                        reason: reason.to_owned(),
                    });
                }
            }
            LinkId::Pairing => {
                if let Some(p) = &mut self.pairing {
                    p.link_closed();
                }
                self.pairing_link_lost(reason);
            }
        }
    }

    fn on_tick(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        // Requests the relay never answered: the connection is not healthy.
        let stale = self
            .waiting
            .values()
            .any(|(_, at)| now.saturating_sub(*at) > REQUEST_TIMEOUT_SECS);
        if stale {
            self.fail(
                "waiting for the relay",
                "the relay stopped answering; reconnecting",
            );
            self.close(LinkId::Main);
            self.connect_main();
        }
        self.pairing_tick(now, rng);
        self.state.used_offers.retain(|(_, exp)| *exp > now);
        self.note_token_expired(now);
        self.work(now, rng);
    }

    /// This device's token is past its expiry: said once (per token), also
    /// while offline (an expired device may never get online again).
    fn note_token_expired(&mut self, now: u64) {
        let Some(expires_at) = self.own_token_expiry() else {
            return;
        };
        if now < expires_at || self.state.expiry_noted == Some(expires_at) {
            return;
        }
        self.state.expiry_noted = Some(expires_at);
        self.persist();
        self.emit(Event::TokenExpired { expires_at });
    }

    fn on_command(&mut self, c: Command, now: u64, rng: &mut impl CryptoRngCore) {
        match c {
            Command::Connect => self.connect_main(),
            Command::Disconnect => {
                if !matches!(self.phase, Phase::Closed) {
                    self.close(LinkId::Main);
                }
                if self.pairing.is_some() {
                    self.cancel_pairing("cancelled", rng);
                }
            }
            Command::Send(data) => self.send_group(
                tandem_pair::GroupPayload::App {
                    data: tandem_pair::Bytes(data),
                },
                "message",
                now,
                rng,
            ),
            Command::Ask(data) => self.send_group(
                tandem_pair::GroupPayload::Request {
                    data: tandem_pair::Bytes(data),
                },
                "request",
                now,
                rng,
            ),
            Command::Revoke {
                device,
                reason,
                erase,
            } => {
                let target = RevocationTarget::Device(device);
                if !self.state.intents.iter().any(|i| i.target == target) {
                    self.state.intents.push(state::Intent {
                        target,
                        reason,
                        erase,
                    });
                    self.persist();
                }
                self.connect_main();
                self.work(now, rng);
            }
            Command::Refresh {
                device,
                lifetime_secs,
            } => self.refresh(device, lifetime_secs, now, rng),
            #[cfg(feature = "blobs")]
            Command::PutBlob {
                name,
                data,
                expected,
            } => self.put_blob(name, &data, expected, now, rng),
            #[cfg(feature = "blobs")]
            Command::GetBlob { name } => self.get_blob(name, now),
            Command::ListDevices => {
                self.connect_main();
                if self.is_online() {
                    self.request(Pending::Members, now, |req| ClientFrame::Members { req });
                }
            }
            Command::ShowOffer { lifetime_secs } => self.show_offer(lifetime_secs, now, rng),
            Command::AcceptOffer {
                link,
                mode,
                allow_other_relay,
            } => self.accept_offer(&link, mode, allow_other_relay, now, rng),
            Command::AllowOtherRelay => self.allow_other_relay(now, rng),
            Command::ConfirmCode(ok) => self.joiner_confirm(ok, now, rng),
            Command::CheckCode(check) => self.approver_check(check, now, rng),
            Command::CancelPairing => self.cancel_pairing("cancelled on this device", rng),
            Command::StartOver => {
                if self.pairing.is_some() {
                    self.cancel_pairing("cancelled: starting over", rng);
                }
                if !matches!(self.phase, Phase::Closed) {
                    self.close(LinkId::Main);
                }
                let relay = self.state.group.relay().to_owned();
                let name = self.state.name.clone();
                let identity = IdentityKey::generate(rng);
                match State::found(&identity, &name, &relay, now, rng) {
                    Ok(state) => {
                        self.identity = identity;
                        self.state = state;
                        self.persist();
                        self.emit(Event::StartedOver);
                    }
                    Err(e) => self.fail("starting over", &e.to_string()),
                }
            }
            Command::KeepAlive => {
                let waiting = self
                    .waiting
                    .values()
                    .any(|(p, _)| matches!(p, Pending::KeepAlive));
                if self.is_online() && !waiting {
                    self.request(Pending::KeepAlive, now, |req| ClientFrame::Ping { req });
                }
            }
            Command::ClearInbox { upto } => {
                let before = self.state.inbox.len();
                self.state.inbox.retain(|m| m.id > upto);
                if self.state.inbox.len() != before {
                    self.persist();
                }
            }
        }
    }

    fn send_group(
        &mut self,
        payload: tandem_pair::GroupPayload,
        what: &str,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        if self.state.outbox.len() >= state::MAX_OUTBOX {
            self.fail(
                "sending",
                "too many messages are waiting for the relay; connect and try again",
            );
            return;
        }
        match self.state.group.seal(&self.identity, &payload, now, rng) {
            Ok(env) => {
                self.state.push_outbox(Recipient::Group, env, what);
                self.persist();
                self.connect_main();
                self.flush_outbox(now);
            }
            Err(e) => self.fail("sending", &e.to_string()),
        }
    }

    fn refresh(&mut self, device: DeviceId, lifetime: u64, now: u64, rng: &mut impl CryptoRngCore) {
        match self
            .state
            .group
            .prepare_refresh(&self.identity, &device, lifetime, now, rng)
        {
            Ok(token) => {
                self.connect_main();
                if !self.is_online() {
                    self.fail(
                        "refreshing",
                        "not connected to the relay; try again when online",
                    );
                    return;
                }
                self.request(
                    Pending::Admit(pairing::AdmitFor::Refresh(Box::new(token.clone()))),
                    now,
                    |req| ClientFrame::Admit { req, token },
                );
            }
            Err(e) => self.fail("refreshing", &e.to_string()),
        }
    }

    /// Publishes every outbox item not already on its way.
    pub(crate) fn flush_outbox(&mut self, now: u64) {
        if !self.is_online() {
            return;
        }
        let items: Vec<state::OutboxItem> = self
            .state
            .outbox
            .iter()
            .filter(|i| !self.in_flight.contains(&i.id))
            .cloned()
            .collect();
        for item in items {
            self.in_flight.push(item.id);
            self.request(Pending::Outbox(item.id), now, |req| ClientFrame::Publish {
                req,
                to: item.to,
                payload: item.payload.clone(),
            });
        }
    }

    /// Everything that waits for the device to be online and caught up.
    pub(crate) fn work(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        if !self.is_online() {
            return;
        }
        self.rotate_if_due(now, rng);
        self.next_intent(now);
        for device in core::mem::take(&mut self.refresh_due) {
            self.refresh(device, DEFAULT_TOKEN_LIFETIME_SECS, now, rng);
        }
        self.ask_refresh_if_due(now, rng);
        self.flush_outbox(now);
        self.pairing_online(now, rng);
    }

    /// When this device's token expires, while it is an active member
    /// holding one (a founder has none).
    fn own_token_expiry(&self) -> Option<u64> {
        self.state
            .group
            .member(&self.id())
            .filter(|m| m.is_active())
            .and_then(|m| m.token.as_ref())
            .map(tandem_pair::SessionToken::expires_at)
    }

    /// A week before this device's token expires it asks the group for a
    /// new one (again each day until one arrives).
    fn ask_refresh_if_due(&mut self, now: u64, rng: &mut impl CryptoRngCore) {
        let me = self.id();
        let Some(expires_at) = self.own_token_expiry() else {
            return;
        };
        if expires_at > now.saturating_add(REFRESH_BEFORE_SECS) || now >= expires_at {
            return;
        }
        if self
            .state
            .refresh_asked_at
            .is_some_and(|t| now.saturating_sub(t) < REFRESH_ASK_EVERY_SECS)
        {
            return;
        }
        if self.state.group.refresh_responder(&me).is_none() {
            return;
        }
        match self.state.group.seal(
            &self.identity,
            &tandem_pair::GroupPayload::RefreshMe,
            now,
            rng,
        ) {
            Ok(env) => {
                self.state.refresh_asked_at = Some(now);
                self.state
                    .push_outbox(Recipient::Group, env, "token refresh request");
                self.persist();
                self.emit(Event::TokenExpiring { expires_at });
            }
            Err(e) => self.fail("asking for a new token", &e.to_string()),
        }
    }

    /// Another device asked for a new token: the one responder answers.
    pub(crate) fn on_refresh_request(&mut self, from: DeviceId, now: u64) {
        if self.state.group.refresh_responder(&from) != Some(self.id()) {
            return;
        }
        let due = self
            .state
            .group
            .member(&from)
            .and_then(|m| m.token.as_ref())
            .is_some_and(|t| t.expires_at() <= now.saturating_add(REFRESH_BEFORE_SECS));
        if due && !self.refresh_due.contains(&from) {
            self.refresh_due.push(from);
        }
    }

    /// If this device is the rotator the chain names and has not made the
    /// key yet, make it, persist it, and queue the key updates.
    pub(crate) fn rotate_if_due(&mut self, now: u64, rng: &mut impl CryptoRngCore) -> usize {
        if !self.state.group.must_rotate() {
            return 0;
        }
        match self.state.group.rotate(&self.identity, now, rng) {
            Ok(updates) => {
                let n = updates.len();
                for (to, env) in updates {
                    self.state
                        .push_outbox(Recipient::Device(to), env, "new group key");
                }
                self.persist();
                self.emit(Event::KeyRotated {
                    epoch: self.state.group.epoch(),
                });
                n
            }
            Err(e) => {
                self.fail("rotating the group key", &e.to_string());
                0
            }
        }
    }

    fn next_intent(&mut self, now: u64) {
        if self.revoke_in_flight {
            return;
        }
        while let Some(intent) = self.state.intents.first().copied() {
            let active = match intent.target {
                RevocationTarget::Device(d) => self.state.group.is_active(&d),
                RevocationTarget::Token(_) => true,
            };
            if !active || !self.state.group.is_active(&self.id()) {
                // Someone else revoked it first (or this device is gone).
                self.state.intents.remove(0);
                self.persist();
                let what = match intent.target {
                    RevocationTarget::Device(d) => format!("device {d}"),
                    RevocationTarget::Token(t) => format!("token {t}"),
                };
                self.fail(
                    "revoking",
                    &format!("{what} is not an active member (already revoked?)"),
                );
                continue;
            }
            match self.state.group.prepare_revocation_erasing(
                &self.identity,
                intent.target,
                intent.reason,
                intent.erase,
                now,
            ) {
                Ok(record) => {
                    self.revoke_in_flight = true;
                    self.request(Pending::Revoke(record.clone()), now, |req| {
                        ClientFrame::Revoke { req, record }
                    });
                }
                Err(e) => {
                    self.state.intents.remove(0);
                    self.persist();
                    self.fail("revoking", &e.to_string());
                }
            }
            return;
        }
    }

    // --------------------------------------------------------- main link

    fn on_main_frame(&mut self, frame: RelayFrame, now: u64, rng: &mut impl CryptoRngCore) {
        match frame {
            RelayFrame::Challenge { nonce, .. } => {
                let membership = match self.state.group.membership() {
                    Ok(m) => m,
                    Err(e) => {
                        self.fail("connecting", &e.to_string());
                        self.close(LinkId::Main);
                        return;
                    }
                };
                match self.identity.sign_auth(self.state.group.relay(), &nonce) {
                    Ok(signature) => {
                        self.phase = Phase::Authenticating;
                        let f = ClientFrame::Auth {
                            identity: self.identity.public(),
                            membership,
                            signature,
                        };
                        self.send(LinkId::Main, &f);
                    }
                    Err(e) => {
                        self.fail("connecting", &e.to_string());
                        self.close(LinkId::Main);
                    }
                }
            }
            RelayFrame::AuthOk { revocations, .. } => {
                if revocations > self.state.group.chain_len() {
                    let after = self.state.group.chain_len();
                    self.request(Pending::Chain, now, |req| ClientFrame::Revocations {
                        req,
                        after,
                    });
                }
                // The relay answers frames only after replaying the mailbox:
                // the pong means every stored message has been handled.
                let barrier = self.take_req();
                self.waiting.insert(barrier, (Pending::Barrier, now));
                self.send(LinkId::Main, &ClientFrame::Ping { req: barrier });
                self.phase = Phase::Syncing;
            }
            RelayFrame::Pong { req } => {
                let pending = self.waiting.remove(&req).map(|(p, _)| p);
                if let Some(Pending::Barrier) = pending {
                    self.phase = Phase::Ready;
                    self.retry_deferred(now, rng);
                    self.emit(Event::Online);
                    self.work(now, rng);
                }
            }
            RelayFrame::Deliver {
                id, from, payload, ..
            } => {
                self.on_delivery(from, payload.0, now, rng);
                self.send(LinkId::Main, &ClientFrame::Ack { id });
            }
            RelayFrame::Admitted { id, token } => {
                self.on_admitted(token, now, rng);
                self.send(LinkId::Main, &ClientFrame::Ack { id });
            }
            RelayFrame::Revoked { id, record } => {
                self.on_record(&record, now, rng);
                if let Some(id) = id {
                    self.send(LinkId::Main, &ClientFrame::Ack { id });
                }
            }
            RelayFrame::Revocations {
                req,
                records,
                total,
            } => {
                self.waiting.remove(&req);
                for r in &records {
                    self.on_record(r, now, rng);
                }
                let have = self.state.group.chain_len();
                if have < total && !records.is_empty() {
                    self.request(Pending::Chain, now, |req| ClientFrame::Revocations {
                        req,
                        after: have,
                    });
                } else {
                    self.retry_deferred(now, rng);
                    self.work(now, rng);
                }
            }
            RelayFrame::Published { req, full, .. } => {
                if let Some((Pending::Outbox(id), _)) = self.waiting.remove(&req) {
                    self.in_flight.retain(|i| *i != id);
                    if let Some(pos) = self.state.outbox.iter().position(|i| i.id == id) {
                        let item = self.state.outbox.remove(pos);
                        self.persist();
                        self.emit(Event::Sent {
                            what: item.what,
                            full,
                        });
                    }
                }
            }
            RelayFrame::Ok { req } => match self.waiting.remove(&req) {
                Some((Pending::Revoke(record), _)) => self.revoke_accepted(record, now, rng),
                Some((Pending::Admit(what), _)) => self.admitted(what, now, rng),
                _ => {}
            },
            RelayFrame::Members { req, members } => {
                self.waiting.remove(&req);
                for m in members {
                    if let Some(t) = m.last_seen {
                        self.state.group.touch(&m.device, t);
                    }
                }
                self.persist();
                self.emit(Event::Devices);
            }
            RelayFrame::Error { req, code, message } => {
                self.on_main_error(req, code, &message, now, rng)
            }
            #[cfg(feature = "blobs")]
            RelayFrame::Blob {
                req,
                key,
                value,
                version,
            } => self.on_blob(req, key, value, version),
            #[cfg(feature = "blobs")]
            RelayFrame::BlobStored { req, version } => self.on_blob_stored(req, version),
            #[cfg(not(feature = "blobs"))]
            RelayFrame::Blob { .. } | RelayFrame::BlobStored { .. } => {}
        }
    }

    fn on_main_error(
        &mut self,
        req: Option<u64>,
        code: tandem_pair::ErrorCode,
        message: &str,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        use tandem_pair::ErrorCode;
        let pending = req.and_then(|r| self.waiting.remove(&r)).map(|(p, _)| p);
        match (pending, code) {
            (Some(Pending::Revoke(_)), ErrorCode::Conflict) => {
                // The chain moved on: catch up, then decide again.
                self.revoke_in_flight = false;
                let after = self.state.group.chain_len();
                self.request(Pending::Chain, now, |req| ClientFrame::Revocations {
                    req,
                    after,
                });
            }
            (Some(Pending::Revoke(_)), _) => {
                self.revoke_in_flight = false;
                self.state.intents.remove(0);
                self.persist();
                self.fail("revoking", message);
                self.work(now, rng);
            }
            (Some(Pending::Outbox(id)), ErrorCode::Forbidden | ErrorCode::NotFound) => {
                // The recipient is gone: this message can never be delivered.
                self.in_flight.retain(|i| *i != id);
                self.state.outbox.retain(|i| i.id != id);
                self.persist();
                self.fail("sending", message);
            }
            (Some(Pending::Outbox(id)), _) => {
                // Kept: sent again on the next connection.
                self.in_flight.retain(|i| *i != id);
                self.fail("sending", message);
            }
            (Some(Pending::Admit(what)), _) => self.admit_failed(what, message, rng),
            #[cfg(feature = "blobs")]
            (Some(p @ (Pending::BlobPut(_) | Pending::BlobGet)), code) => {
                self.blob_failed(p, code, message)
            }
            (_, ErrorCode::Revoked) => {
                self.fail("connecting", message);
                self.close(LinkId::Main);
            }
            (None, _) => {
                // An error about the connection itself (auth, limits).
                self.fail("talking to the relay", message);
                if matches!(self.phase, Phase::Connecting | Phase::Authenticating) {
                    self.close(LinkId::Main);
                }
            }
            (Some(_), _) => self.fail("talking to the relay", message),
        }
    }

    fn revoke_accepted(
        &mut self,
        record: RevocationRecord,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        self.revoke_in_flight = false;
        match self.state.group.apply_revocation(&record) {
            Ok(_) => {
                if !self.state.intents.is_empty() {
                    self.state.intents.remove(0);
                }
                let n = self.rotate_if_due(now, rng);
                self.persist();
                self.announce_record(&record);
                self.emit(Event::RevokeDone {
                    record,
                    key_updates: n,
                });
            }
            Err(e) => {
                // The relay took a record this device cannot apply: its
                // chain differs from the relay's.
                self.emit(Event::ChainConflict {
                    detail: e.to_string(),
                });
                let after = self.state.group.chain_len();
                self.request(Pending::Chain, now, |req| ClientFrame::Revocations {
                    req,
                    after,
                });
            }
        }
        self.work(now, rng);
    }

    /// Applies a record the relay delivered and reports what it did.
    fn on_record(&mut self, record: &RevocationRecord, now: u64, rng: &mut impl CryptoRngCore) {
        match self.state.group.apply_revocation(record) {
            Ok(tandem_pair::Applied::New) => {
                self.announce_record(record);
                self.rotate_if_due(now, rng);
                self.persist();
                self.retry_deferred(now, rng);
            }
            Ok(tandem_pair::Applied::Known) => {}
            Err(PairError::ChainGap { have, .. }) => {
                if !self
                    .waiting
                    .values()
                    .any(|(p, _)| matches!(p, Pending::Chain))
                {
                    self.request(Pending::Chain, now, |req| ClientFrame::Revocations {
                        req,
                        after: have,
                    });
                }
            }
            Err(e) => self.emit(Event::ChainConflict {
                detail: e.to_string(),
            }),
        }
    }

    /// A token the relay registered (new device or refresh), in chain order.
    fn on_admitted(
        &mut self,
        token: tandem_pair::SessionToken,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) {
        let device = token.subject_device();
        let by = token.issuer_device();
        let expires_at = token.expires_at();
        match self.state.group.learn_admitted(token) {
            Ok(tandem_pair::Learned::Added) => {
                self.persist();
                self.emit(Event::DeviceAdded {
                    device,
                    name: String::new(),
                    by,
                });
                self.retry_deferred(now, rng);
            }
            Ok(tandem_pair::Learned::Refreshed) => {
                if device == self.id() {
                    self.state.refresh_asked_at = None;
                }
                self.persist();
                self.emit(Event::TokenRefreshed { device, expires_at });
            }
            Ok(tandem_pair::Learned::Known) => {}
            Err(e) => self.emit(Event::ChainConflict {
                detail: format!("the relay registered a token this device refuses: {e}"),
            }),
        }
    }

    fn announce_record(&mut self, record: &RevocationRecord) {
        let me = self.id();
        let target = match record.target() {
            RevocationTarget::Device(d) => Some(d),
            RevocationTarget::Token(t) => self
                .state
                .group
                .members()
                .find(|m| m.token.as_ref().is_some_and(|tok| tok.id() == t))
                .map(tandem_pair::Member::device),
        };
        if target == Some(me) {
            self.state.outbox.clear();
            self.state.deferred.clear();
            self.state.intents.clear();
            self.emit(Event::RemovedFromGroup {
                record: record.clone(),
            });
            if !matches!(self.phase, Phase::Closed) {
                self.close(LinkId::Main);
            }
        } else {
            self.emit(Event::DeviceRevoked {
                record: record.clone(),
            });
        }
    }

    /// The device list, for the UI (merged with what the relay reported).
    pub fn devices(&self) -> Vec<DeviceView> {
        view::devices(&self.state.group, self.id())
    }

    /// The Devices screen's data; `pairing` is the last pairing step the
    /// shell saw (the engine reports steps as events).
    pub fn view(&self, pairing: Option<PairingPhase>) -> DevicesView {
        let g = &self.state.group;
        DevicesView {
            me: self.id().to_hex(),
            name: self.state.name.clone(),
            group: g.id().to_hex(),
            relay: g.relay().to_owned(),
            epoch: g.epoch(),
            online: self.is_online(),
            paired: g
                .members()
                .any(|m| m.is_active() && m.device() != self.id()),
            pairing_active: self.is_pairing(),
            pairing,
            devices: self.devices(),
            removed: self.removed(),
            waiting: Waiting {
                outbox: self.state.outbox().len(),
                revocations: self.state.intents().len(),
                deferred: self.state.deferred().len(),
            },
        }
    }

    /// The record that removed this device, shaped for the UI.
    pub fn removed(&self) -> Option<RemovedView> {
        view::removed(&self.state.group, self.id())
    }
}
