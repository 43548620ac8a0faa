//! Async client for the relay, used by the CLI, the load generator and tests.
//!
//! ```no_run
//! # async fn demo(key: tandem_pair::IdentityKey) -> tandem_relay::Result<()> {
//! use tandem_pair::{Membership, Recipient, Topic};
//! use tandem_relay::client::{Client, Incoming};
//! let mut c = Client::connect("ws://127.0.0.1:8787/v1/ws", &key, Membership::Guest).await?;
//! let topic = Topic([7; 32]);
//! c.subscribe(topic).await?;
//! let id = c.publish(Recipient::Topic(topic), b"sealed envelope").await?; // durable now
//! if let Incoming::Message(m) = c.recv().await? {
//!     c.ack(m.id).await?;
//! }
//! # let _ = id; Ok(()) }
//! ```
//!
//! Delivery is at-least-once: a message can arrive again after a reconnect
//! until it is acknowledged. The client drops duplicates it has already
//! returned on this connection.

use std::{
    collections::{HashSet, VecDeque},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use tandem_pair::{
    Bytes, ClientFrame, DeviceId, GroupId, IdentityKey, MemberInfo, Membership, MessageId,
    Recipient, RelayFrame, RevocationRecord, Topic,
};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{self, Message},
    MaybeTlsStream, WebSocketStream,
};

use crate::{Error, Result};

/// The WebSocket type the client runs on.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
    /// A revocation in this device's group (acknowledge it like a message).
    Revoked {
        /// Id to acknowledge.
        id: MessageId,
        /// The signed record (signature already verified by the parser).
        record: RevocationRecord,
    },
}

impl Incoming {
    /// The id to acknowledge.
    pub fn id(&self) -> MessageId {
        match self {
            Self::Message(m) => m.id,
            Self::Revoked { id, .. } => *id,
        }
    }
}

/// An authenticated connection to a relay.
pub struct Client {
    ws: Socket,
    device: DeviceId,
    group: Option<GroupId>,
    next_req: u64,
    queue: VecDeque<Incoming>,
    seen: HashSet<MessageId>,
    timeout: Duration,
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

/// Opens a WebSocket and completes the challenge/auth exchange, returning
/// the raw socket and the relay's `auth_ok` answer. `relay_url` is both
/// where to connect and the URL signed into the challenge.
pub async fn handshake(
    relay_url: &str,
    identity: &IdentityKey,
    membership: Membership,
    timeout: Duration,
) -> Result<(Socket, DeviceId, Option<GroupId>)> {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let connect = tokio_tungstenite::connect_async_with_config(relay_url, Some(config), true);
    let (mut ws, _) = tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| Error::Timeout("connecting"))?
        .map_err(|e| Error::Io(format!("cannot connect to {relay_url}: {e}")))?;
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
        RelayFrame::AuthOk { device, group } => Ok((ws, device, group)),
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
        RelayFrame::Members { .. } => "members",
        RelayFrame::Revoked { .. } => "revoked",
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
    /// Connects and authenticates with `identity` as `membership`.
    pub async fn connect(
        relay_url: &str,
        identity: &IdentityKey,
        membership: Membership,
    ) -> Result<Self> {
        let timeout = Duration::from_secs(10);
        let (ws, device, group) = handshake(relay_url, identity, membership, timeout).await?;
        Ok(Self {
            ws,
            device,
            group,
            next_req: 1,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            timeout,
        })
    }

    /// This device's id as the relay confirmed it.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The group the relay accepted, if not a guest.
    pub fn group(&self) -> Option<GroupId> {
        self.group
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
                RelayFrame::Deliver { .. } | RelayFrame::Revoked { .. } => self.enqueue(f),
                RelayFrame::Error {
                    req: r,
                    code,
                    message,
                } if r == Some(req) || r.is_none() => return Err(relay_err(code, message)),
                RelayFrame::Ok { req: r }
                | RelayFrame::Published { req: r, .. }
                | RelayFrame::Blob { req: r, .. }
                | RelayFrame::Members { req: r, .. }
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
            _ => return,
        };
        if self.seen.insert(inc.id()) {
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
    /// this device's mailbox while it is offline).
    pub async fn subscribe(&mut self, topic: Topic) -> Result<()> {
        let f = self
            .request(|req| ClientFrame::Subscribe { req, topic })
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
    pub async fn publish(&mut self, to: Recipient, payload: &[u8]) -> Result<MessageId> {
        let payload = Bytes(payload.to_vec());
        match self
            .request(|req| ClientFrame::Publish { req, to, payload })
            .await?
        {
            RelayFrame::Published { id, .. } => Ok(id),
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
                return Ok(i);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match next_frame(&mut self.ws, left, "a message").await? {
                f @ (RelayFrame::Deliver { .. } | RelayFrame::Revoked { .. }) => self.enqueue(f),
                RelayFrame::Error { code, message, .. } => return Err(relay_err(code, message)),
                _ => {}
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

    /// Stores an encrypted blob for the group under `key` (replaces).
    pub async fn blob_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let (key, value) = (key.to_owned(), Bytes(value.to_vec()));
        let f = self
            .request(|req| ClientFrame::BlobPut { req, key, value })
            .await?;
        Self::expect_ok(f)
    }

    /// Reads a blob of the group.
    pub async fn blob_get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_owned();
        match self
            .request(|req| ClientFrame::BlobGet { req, key })
            .await?
        {
            RelayFrame::Blob { value, .. } => Ok(value.map(|b| b.0)),
            other => Err(Error::Protocol(format!(
                "expected blob, got {}",
                kind(&other)
            ))),
        }
    }

    /// Sends a revocation signed by this device.
    pub async fn revoke(&mut self, record: RevocationRecord) -> Result<()> {
        let f = self
            .request(|req| ClientFrame::Revoke { req, record })
            .await?;
        Self::expect_ok(f)
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

    /// Round trip to the relay.
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
