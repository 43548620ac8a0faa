//! Async client for the relay, used by the CLI, the load generator and tests.
//!
//! ```no_run
//! # async fn demo(key: tandem_pair::IdentityKey) -> tandem_relay::Result<()> {
//! use tandem_pair::{Membership, Recipient, Topic};
//! use tandem_relay::client::{Client, Incoming};
//! let mut c = Client::connect("ws://127.0.0.1:8787/v1/ws", &key, Membership::Guest).await?;
//! let topic = Topic([7; 32]);
//! c.subscribe(topic).await?; // ends after at most 10 minutes
//! let id = c.publish(Recipient::Topic(topic), b"sealed envelope").await?; // durable now
//! if let Incoming::Message(m) = c.recv().await? {
//!     c.ack(m.id).await?;
//! }
//! # let _ = id; Ok(()) }
//! ```
//!
//! A device joins a group in two steps on the relay: the approving device
//! registers the token it issued ([`Client::admit`]) before it sends the
//! welcome, then the new device connects with that token. Revocations go
//! through [`Client::revoke`]; a record that does not extend the group's
//! chain at its head is refused with code `conflict`: fetch the chain with
//! [`Client::revocations`] (its length at connect time is
//! [`Client::chain_len_at_connect`]), apply it, and decide again.
//!
//! Delivery is at-least-once: a message can arrive again after a reconnect
//! until it is acknowledged. The client drops duplicates it has already
//! returned on this connection.

use std::{
    collections::{HashSet, VecDeque},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
pub use tandem_connect::Socket;
pub use tandem_connect::Trust;
use tandem_pair::{
    Bytes, ClientFrame, DeviceId, GroupId, IdentityKey, MemberInfo, Membership, MessageId,
    Recipient, RelayFrame, RevocationRecord, SessionToken, Topic,
};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::{Error, Result};

/// A message delivered to this device.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Id to acknowledge with [`Client::ack`].
    pub id: MessageId,
    /// Sending device.
    pub from: DeviceId,
    /// How it was addressed.
    pub to: Recipient,
    /// The opaque envelope.
    pub payload: Vec<u8>,
    /// When the relay accepted it (Unix seconds).
    pub sent_at: u64,
}

impl core::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// Something the relay pushed to this device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incoming {
    /// A published message.
    Message(Delivery),
    /// A revocation in this device's group. With an id it is a copy from the
    /// mailbox: acknowledge it like a message. Without one it is the record
    /// that revoked this very device; the relay closes the connection next.
    Revoked {
        /// Id to acknowledge (`None` for the notice to the revoked device).
        id: Option<MessageId>,
        /// The signed record (signature already verified by the parser).
        record: RevocationRecord,
    },
    /// A token another device of the group registered (a new device or a
    /// refresh); acknowledge it like a message.
    Admitted {
        /// Id to acknowledge.
        id: MessageId,
        /// The token (signature already verified by the parser).
        token: Box<tandem_pair::SessionToken>,
    },
}

impl Incoming {
    /// The id to acknowledge, if any.
    pub fn id(&self) -> Option<MessageId> {
        match self {
            Self::Message(m) => Some(m.id),
            Self::Revoked { id, .. } => *id,
            Self::Admitted { id, .. } => Some(*id),
        }
    }
}

/// The relay's answer to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Id of the stored message.
    pub id: MessageId,
    /// For a group publish: members whose mailbox was full, who did not get
    /// it (everyone else did). Empty otherwise.
    pub full: Vec<DeviceId>,
}

/// A socket that completed the challenge/auth exchange ([`handshake`]).
pub struct Authenticated {
    /// The socket, ready for frames.
    pub socket: Socket,
    /// This device's id as the relay confirmed it.
    pub device: DeviceId,
    /// Its group, if not a guest.
    pub group: Option<GroupId>,
    /// Length of the group's revocation chain at the relay.
    pub revocations: u32,
}

impl core::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authenticated")
            .field("device", &self.device)
            .field("group", &self.group)
            .field("revocations", &self.revocations)
            .finish_non_exhaustive()
    }
}

/// An authenticated connection to a relay.
pub struct Client {
    ws: Socket,
    device: DeviceId,
    group: Option<GroupId>,
    chain_len: u32,
    next_req: u64,
    queue: VecDeque<Incoming>,
    seen: HashSet<MessageId>,
    timeout: Duration,
    /// Whether `admitted` notices are returned (else acknowledged and skipped).
    admitted: bool,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("device", &self.device)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

fn io(e: tungstenite::Error) -> Error {
    Error::Io(e.to_string())
}

/// Opens a WebSocket and completes the challenge/auth exchange. `relay_url`
/// is both where to connect and the URL signed into the challenge; a
/// `wss://` relay's certificate must verify against `trust`, and `ws://` is
/// refused unless it is this machine ([`tandem_connect::connect`]). A
/// revoked device gets [`Error::Revoked`] with the record that removed it.
pub async fn handshake(
    relay_url: &str,
    trust: &Trust,
    identity: &IdentityKey,
    membership: Membership,
    timeout: Duration,
) -> Result<Authenticated> {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let connect = tandem_connect::connect(relay_url, trust, config);
    let mut ws = tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| Error::Timeout("connecting"))??;
    let nonce = match next_frame(&mut ws, timeout, "challenge").await? {
        RelayFrame::Challenge { nonce, .. } => nonce,
        RelayFrame::Error { code, message, .. } => return Err(relay_err(code, message)),
        other => {
            return Err(Error::Protocol(format!(
                "expected a challenge, got {}",
                kind(&other)
            )))
        }
    };
    let auth = ClientFrame::Auth {
        identity: identity.public(),
        membership,
        signature: identity.sign_auth(relay_url, &nonce)?,
    };
    ws.send(Message::Text(auth.encode().into()))
        .await
        .map_err(io)?;
    match next_frame(&mut ws, timeout, "auth_ok").await? {
        RelayFrame::AuthOk {
            device,
            group,
            revocations,
        } => Ok(Authenticated {
            socket: ws,
            device,
            group,
            revocations,
        }),
        RelayFrame::Revoked { id: None, record } => Err(Error::Revoked {
            record: Box::new(record),
        }),
        RelayFrame::Error { code, message, .. } => Err(relay_err(code, message)),
        other => Err(Error::Protocol(format!(
            "expected auth_ok, got {}",
            kind(&other)
        ))),
    }
}

fn relay_err(code: tandem_pair::ErrorCode, message: String) -> Error {
    let code = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{code:?}"));
    Error::Relay { code, message }
}

fn kind(f: &RelayFrame) -> &'static str {
    match f {
        RelayFrame::Challenge { .. } => "challenge",
        RelayFrame::AuthOk { .. } => "auth_ok",
        RelayFrame::Ok { .. } => "ok",
        RelayFrame::Published { .. } => "published",
        RelayFrame::Deliver { .. } => "deliver",
        RelayFrame::Blob { .. } => "blob",
        RelayFrame::BlobStored { .. } => "blob_stored",
        RelayFrame::Members { .. } => "members",
        RelayFrame::Revoked { .. } => "revoked",
        RelayFrame::Admitted { .. } => "admitted",
        RelayFrame::Revocations { .. } => "revocations",
        RelayFrame::Pong { .. } => "pong",
        RelayFrame::Error { .. } => "error",
    }
}

async fn next_frame(
    ws: &mut Socket,
    timeout: Duration,
    waiting: &'static str,
) -> Result<RelayFrame> {
    // One deadline for the whole wait: pings and other control frames must
    // not extend it.
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| Error::Timeout(waiting))?
            .ok_or_else(|| Error::Io("the relay closed the connection".into()))?
            .map_err(io)?;
        match msg {
            Message::Text(t) => return Ok(RelayFrame::decode(t.as_str())?),
            Message::Close(c) => {
                let why = c.map(|c| c.reason.to_string()).unwrap_or_default();
                return Err(Error::Io(format!(
                    "the relay closed the connection ({why})"
                )));
            }
            _ => continue,
        }
    }
}

impl Client {
    /// Connects and authenticates with `identity` as `membership`,
    /// trusting the built-in roots for a `wss://` relay.
    pub async fn connect(
        relay_url: &str,
        identity: &IdentityKey,
        membership: Membership,
    ) -> Result<Self> {
        Self::connect_with(relay_url, &Trust::webpki(), identity, membership).await
    }

    /// [`Self::connect`] trusting `trust` (for instance the built-in roots
    /// and a private CA: [`Trust::with_ca_file`]).
    pub async fn connect_with(
        relay_url: &str,
        trust: &Trust,
        identity: &IdentityKey,
        membership: Membership,
    ) -> Result<Self> {
        let timeout = Duration::from_secs(10);
        let a = handshake(relay_url, trust, identity, membership, timeout).await?;
        Ok(Self {
            ws: a.socket,
            device: a.device,
            group: a.group,
            chain_len: a.revocations,
            next_req: 1,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            timeout,
            admitted: false,
        })
    }

    /// Returns the relay's `admitted` notices ([`Incoming::Admitted`]) from
    /// [`Self::recv`] too. By default they are acknowledged and skipped:
    /// this client serves tests and the load generator; a real device
    /// (`tandem-device`) applies them to its member list.
    pub fn with_admitted_notices(mut self) -> Self {
        self.admitted = true;
        self
    }

    /// This device's id as the relay confirmed it.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The group the relay accepted, if not a guest.
    pub fn group(&self) -> Option<GroupId> {
        self.group
    }

    /// Length of the group's revocation chain when this connection was
    /// accepted (`auth_ok`). If it is longer than the chain this device
    /// holds, fetch the rest with [`Self::revocations`].
    pub fn chain_len_at_connect(&self) -> u32 {
        self.chain_len
    }

    /// How long requests wait for the relay (default 10 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends a raw frame (tests use this to send malformed input).
    pub async fn send_raw(&mut self, text: String) -> Result<()> {
        self.ws.send(Message::Text(text.into())).await.map_err(io)
    }

    /// Reads the next frame, whatever it is (tests).
    pub async fn next_raw(&mut self) -> Result<RelayFrame> {
        next_frame(&mut self.ws, self.timeout, "a frame").await
    }

    /// Consumes the client, returning the socket (load generator).
    pub fn into_socket(self) -> Socket {
        self.ws
    }

    async fn request(&mut self, make: impl FnOnce(u64) -> ClientFrame) -> Result<RelayFrame> {
        let req = self.next_req;
        self.next_req += 1;
        self.ws
            .send(Message::Text(make(req).encode().into()))
            .await
            .map_err(io)?;
        loop {
            let f = next_frame(&mut self.ws, self.timeout, "a reply").await?;
            match f {
                RelayFrame::Deliver { .. }
                | RelayFrame::Revoked { .. }
                | RelayFrame::Admitted { .. } => self.enqueue(f),
                RelayFrame::Error {
                    req: r,
                    code,
                    message,
                } if r == Some(req) || r.is_none() => return Err(relay_err(code, message)),
                RelayFrame::Ok { req: r }
                | RelayFrame::Published { req: r, .. }
                | RelayFrame::Blob { req: r, .. }
                | RelayFrame::BlobStored { req: r, .. }
                | RelayFrame::Members { req: r, .. }
                | RelayFrame::Revocations { req: r, .. }
                | RelayFrame::Pong { req: r }
                    if r == req =>
                {
                    return Ok(f)
                }
                _ => {} // a stale reply to an abandoned request
            }
        }
    }

    fn enqueue(&mut self, f: RelayFrame) {
        let inc = match f {
            RelayFrame::Deliver {
                id,
                from,
                to,
                payload,
                sent_at,
            } => Incoming::Message(Delivery {
                id,
                from,
                to,
                payload: payload.0,
                sent_at,
            }),
            RelayFrame::Revoked { id, record } => Incoming::Revoked { id, record },
            RelayFrame::Admitted { id, token } => Incoming::Admitted {
                id,
                token: Box::new(token),
            },
            _ => return,
        };
        // Copies with an id already returned are duplicates.
        if inc.id().is_none_or(|id| self.seen.insert(id)) {
            self.queue.push_back(inc);
        }
    }

    fn expect_ok(f: RelayFrame) -> Result<()> {
        match f {
            RelayFrame::Ok { .. } => Ok(()),
            other => Err(Error::Protocol(format!(
                "expected ok, got {}",
                kind(&other)
            ))),
        }
    }

    /// Receives payloads published to a pairing topic (durable: they wait in
    /// this device's mailbox while it is offline) for as long as the relay
    /// allows ([`tandem_pair::frame::MAX_SUBSCRIPTION_SECS`]). A device holds
    /// at most [`tandem_pair::frame::MAX_SUBSCRIPTIONS`] at once.
    pub async fn subscribe(&mut self, topic: Topic) -> Result<()> {
        self.subscribe_inner(topic, None).await
    }

    /// [`Self::subscribe`] until `until` (Unix seconds; the pairing offer's
    /// expiry), or the relay's maximum if that comes first.
    pub async fn subscribe_until(&mut self, topic: Topic, until: u64) -> Result<()> {
        self.subscribe_inner(topic, Some(until)).await
    }

    async fn subscribe_inner(&mut self, topic: Topic, until: Option<u64>) -> Result<()> {
        let f = self
            .request(|req| ClientFrame::Subscribe { req, topic, until })
            .await?;
        Self::expect_ok(f)
    }

    /// Stops receiving a topic.
    pub async fn unsubscribe(&mut self, topic: Topic) -> Result<()> {
        let f = self
            .request(|req| ClientFrame::Unsubscribe { req, topic })
            .await?;
        Self::expect_ok(f)
    }

    /// Publishes `payload`; returns once the relay has stored it durably.
    /// For a group publish, members whose mailbox is full are skipped; use
    /// [`Self::publish_report`] to learn which.
    pub async fn publish(&mut self, to: Recipient, payload: &[u8]) -> Result<MessageId> {
        self.publish_report(to, payload).await.map(|p| p.id)
    }

    /// Publishes `payload`; returns, once the relay has stored it durably,
    /// its id and the group members whose mailbox was full.
    pub async fn publish_report(&mut self, to: Recipient, payload: &[u8]) -> Result<Published> {
        let payload = Bytes(payload.to_vec());
        match self
            .request(|req| ClientFrame::Publish { req, to, payload })
            .await?
        {
            RelayFrame::Published { id, full, .. } => Ok(Published { id, full }),
            other => Err(Error::Protocol(format!(
                "expected published, got {}",
                kind(&other)
            ))),
        }
    }

    /// Next pushed message or revocation, waiting up to the client timeout.
    pub async fn recv(&mut self) -> Result<Incoming> {
        let t = self.timeout;
        self.recv_timeout(t).await
    }

    /// Next pushed message or revocation, waiting up to `timeout`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Incoming> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(i) = self.queue.pop_front() {
                match i {
                    Incoming::Admitted { id, .. } if !self.admitted => {
                        // Best effort: the socket may be closing (a revoked
                        // device); the relay then keeps the notice.
                        let _ = self.ack(id).await;
                        continue;
                    }
                    i => return Ok(i),
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match next_frame(&mut self.ws, left, "a message").await? {
                f @ (RelayFrame::Deliver { .. }
                | RelayFrame::Revoked { .. }
                | RelayFrame::Admitted { .. }) => self.enqueue(f),
                RelayFrame::Error { code, message, .. } => return Err(relay_err(code, message)),
                _ => {}
            }
        }
    }

    /// A pushed message or revocation already received (for instance while
    /// waiting for a reply), without reading the socket.
    pub fn try_recv(&mut self) -> Option<Incoming> {
        loop {
            match self.queue.pop_front()? {
                // Not acknowledged here (no socket access): the relay keeps
                // it for the next connection.
                Incoming::Admitted { .. } if !self.admitted => {}
                i => return Some(i),
            }
        }
    }

    /// Acknowledges a delivered message: the relay deletes it from this
    /// device's mailbox.
    pub async fn ack(&mut self, id: MessageId) -> Result<()> {
        self.ws
            .send(Message::Text(ClientFrame::Ack { id }.encode().into()))
            .await
            .map_err(io)
    }

    /// Stores an encrypted blob for the group under `key`: replaces it, or
    /// with `expected`, only if it is still at that version (0: absent;
    /// else a `conflict` error and nothing changes). Returns the new version.
    pub async fn blob_put(
        &mut self,
        key: &str,
        value: &[u8],
        expected: Option<u64>,
    ) -> Result<u64> {
        let (key, value) = (key.to_owned(), Bytes(value.to_vec()));
        match self
            .request(|req| ClientFrame::BlobPut {
                req,
                key,
                value,
                expected,
            })
            .await?
        {
            RelayFrame::BlobStored { version, .. } => Ok(version),
            other => Err(Error::Protocol(format!(
                "expected blob_stored, got {}",
                kind(&other)
            ))),
        }
    }

    /// Reads a blob of the group: its value and version.
    pub async fn blob_get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u64)>> {
        let key = key.to_owned();
        match self
            .request(|req| ClientFrame::BlobGet { req, key })
            .await?
        {
            RelayFrame::Blob { value, version, .. } => Ok(value.map(|b| (b.0, version))),
            other => Err(Error::Protocol(format!(
                "expected blob, got {}",
                kind(&other)
            ))),
        }
    }

    /// Registers a token this device issued, so the relay lets its subject
    /// connect as a member of the group (or moves an existing member to this
    /// refreshed token). Do it before sending the welcome.
    pub async fn admit(&mut self, token: SessionToken) -> Result<()> {
        let f = self
            .request(|req| ClientFrame::Admit { req, token })
            .await?;
        Self::expect_ok(f)
    }

    /// Sends a revocation signed by this device. It must extend the group's
    /// chain at its head (error code `conflict` otherwise).
    pub async fn revoke(&mut self, record: RevocationRecord) -> Result<()> {
        let f = self
            .request(|req| ClientFrame::Revoke { req, record })
            .await?;
        Self::expect_ok(f)
    }

    /// Records of the group's revocation chain after position `after`, in
    /// order (at most [`tandem_pair::frame::MAX_REVOCATIONS_PER_FRAME`]),
    /// and the chain's total length. Ask again from `after + records.len()`
    /// while that is below the total.
    pub async fn revocations(&mut self, after: u32) -> Result<(Vec<RevocationRecord>, u32)> {
        match self
            .request(|req| ClientFrame::Revocations { req, after })
            .await?
        {
            RelayFrame::Revocations { records, total, .. } => Ok((records, total)),
            other => Err(Error::Protocol(format!(
                "expected revocations, got {}",
                kind(&other)
            ))),
        }
    }

    /// The whole chain after position `after`, fetched page by page.
    pub async fn revocation_chain(&mut self, after: u32) -> Result<Vec<RevocationRecord>> {
        let mut out = Vec::new();
        loop {
            let held = after.saturating_add(u32::try_from(out.len()).unwrap_or(u32::MAX));
            let (page, total) = self.revocations(held).await?;
            if page.is_empty() {
                return Ok(out);
            }
            out.extend(page);
            if after.saturating_add(u32::try_from(out.len()).unwrap_or(u32::MAX)) >= total {
                return Ok(out);
            }
        }
    }

    /// The group's devices with last-seen times.
    pub async fn members(&mut self) -> Result<Vec<MemberInfo>> {
        match self.request(|req| ClientFrame::Members { req }).await? {
            RelayFrame::Members { members, .. } => Ok(members),
            other => Err(Error::Protocol(format!(
                "expected members, got {}",
                kind(&other)
            ))),
        }
    }

    /// Round trip to the relay; also a barrier. The relay handles a
    /// connection's frames in order and sends everything already pushed to
    /// this device before answering, so when `ping` returns, every message
    /// published to this device before the ping was sent has been received
    /// (and is waiting in [`Self::try_recv`]), and every ack sent before it
    /// is durable.
    pub async fn ping(&mut self) -> Result<()> {
        match self.request(|req| ClientFrame::Ping { req }).await? {
            RelayFrame::Pong { .. } => Ok(()),
            other => Err(Error::Protocol(format!(
                "expected pong, got {}",
                kind(&other)
            ))),
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) -> Result<()> {
        let _ = self.ws.close(None).await;
        Ok(())
    }
}
