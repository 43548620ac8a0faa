//! The axum application: `GET /v1/ws` (WebSocket), `GET /health`, `GET /metrics`.
//!
//! Connection life: the relay sends a `challenge`; the device must answer
//! with `auth` within [`Config::auth_timeout`]; then the device's mailbox is
//! replayed as `deliver`/`revoked` frames and live traffic follows. One task
//! owns each socket and `select!`s over the socket, its outbound queue and a
//! kill signal used when the device is revoked.
//!
//! The relay never logs or inspects payloads; error frames name the rule
//! that was broken, never the content.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        ConnectInfo, State,
    },
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use futures_util::{stream::FuturesUnordered, StreamExt};
use rand_core::{OsRng, RngCore};
use tandem_pair::{
    frame::MAX_FRAME_BYTES, Bytes, Capabilities, ClientFrame, DeviceId, ErrorCode, GroupId,
    IdentityPublic, MemberInfo, Membership, MessageId, Nonce, Recipient, RelayFrame,
    RevocationRecord, RevocationTarget, TokenId, Topic, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, Notify};

use crate::{
    limits::{ConnLimiter, RateLimiter},
    metrics::Metrics,
    store::{DeviceRecord, NewMessage, Store, StoredMessage},
    Config, Error,
};

/// Outbound queue length per connection. A device that falls this far
/// behind is disconnected; its messages stay in the mailbox for later.
const OUTBOUND_QUEUE: usize = 4096;

/// Unix seconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Shared relay state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.inner.public_url)
            .finish_non_exhaustive()
    }
}

struct Shared {
    config: Config,
    public_url: String,
    store: Arc<dyn Store>,
    metrics: Metrics,
    conn_limiter: Arc<ConnLimiter>,
    rate: RateLimiter,
    clock: Clock,
    next_conn: AtomicU64,
    hub: Mutex<HashMap<DeviceId, Vec<ConnHandle>>>,
    /// Revoked device ids and token ids.
    revoked: Mutex<HashSet<Vec<u8>>>,
}

#[derive(Clone)]
struct ConnHandle {
    id: u64,
    token: Option<TokenId>,
    tx: mpsc::Sender<Utf8Bytes>,
    kill: Arc<Notify>,
    /// Set before `kill` when the device fell behind (not revoked).
    slow: Arc<std::sync::atomic::AtomicBool>,
}

/// Who is on the other end of an authenticated connection.
#[derive(Clone)]
struct Session {
    device: DeviceId,
    group: Option<GroupId>,
    token: Option<TokenId>,
    caps: Capabilities,
}

impl AppState {
    /// State for a relay reachable at `public_url` (bound into auth
    /// challenges), loading the revocation list from `store`.
    pub async fn new(
        config: Config,
        store: Arc<dyn Store>,
        public_url: String,
    ) -> crate::Result<Self> {
        let revoked: HashSet<Vec<u8>> = store.revoked().await?.into_iter().collect();
        Ok(Self {
            inner: Arc::new(Shared {
                config,
                public_url,
                store,
                metrics: Metrics::default(),
                conn_limiter: Arc::new(ConnLimiter::default()),
                rate: RateLimiter::default(),
                clock: Arc::new(system_clock),
                next_conn: AtomicU64::new(1),
                hub: Mutex::new(HashMap::new()),
                revoked: Mutex::new(revoked),
            }),
        })
    }

    /// Replaces the clock (tests). Call it before the state is cloned
    /// (before [`app`]); on a shared state it has no effect.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        if let Some(s) = Arc::get_mut(&mut self.inner) {
            s.clock = clock;
        }
        self
    }

    /// The URL devices must sign in their auth answer.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// Counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Deletes expired mailbox messages now; returns how many.
    pub async fn expire_now(&self) -> crate::Result<u64> {
        let n = self.inner.store.expire((self.inner.clock)()).await?;
        self.inner
            .metrics
            .messages_expired
            .fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// Runs [`Self::expire_now`] every `every` until the process ends.
    pub fn spawn_sweeper(&self, every: std::time::Duration) {
        let st = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = st.expire_now().await {
                    eprintln!("tandem-relay: expiry sweep failed: {e}");
                }
            }
        });
    }
}

/// The relay's router. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (the per-IP limit
/// needs the peer address); in `oneshot` tests add
/// `axum::extract::connect_info::MockConnectInfo`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/v1/ws", get(ws_handler))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn health(State(st): State<AppState>) -> Response {
    match st.inner.store.message_count().await {
        Ok(n) => Json(serde_json::json!({
            "status": "ok",
            "version": PROTOCOL_VERSION,
            "stored_messages": n,
            "connections": st.inner.metrics.connections_open.load(Ordering::Relaxed),
        }))
        .into_response(),
        Err(e) => {
            eprintln!("tandem-relay: health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "error", "error": "database unavailable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut body = st.inner.metrics.render();
    if let Ok(n) = st.inner.store.message_count().await {
        body.push_str("# HELP tandem_relay_messages_stored Messages waiting in mailboxes.\n");
        body.push_str("# TYPE tandem_relay_messages_stored gauge\n");
        body.push_str(&format!("tandem_relay_messages_stored {n}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn ws_handler(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    // Leave headroom above our own limit so an oversize frame gets a clear
    // error frame instead of a bare close; far larger frames are cut off by
    // the WebSocket layer.
    let hard = st.inner.config.max_frame_bytes.max(MAX_FRAME_BYTES) * 2;
    let ip = peer.ip();
    let slot = st
        .inner
        .conn_limiter
        .acquire(ip, st.inner.config.max_conns_per_ip);
    // Small socket buffers: most devices are idle most of the time, and
    // tungstenite's 128 KiB default read buffer dominated memory per
    // connection. Buffers grow on demand for big frames.
    ws.max_message_size(hard)
        .max_frame_size(hard)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            match slot {
                Some(slot) => {
                    Metrics::inc(&st.inner.metrics.connections_total);
                    Metrics::inc(&st.inner.metrics.connections_open);
                    run_connection(&st, socket).await;
                    st.inner
                        .metrics
                        .connections_open
                        .fetch_sub(1, Ordering::Relaxed);
                    drop(slot);
                }
                None => {
                    Metrics::inc(&st.inner.metrics.connections_refused_ip_limit);
                    let mut socket = socket;
                    let f = RelayFrame::error(
                        None,
                        ErrorCode::RateLimited,
                        "too many connections from your address; close some and retry",
                    );
                    let _ = socket.send(Message::Text(f.encode().into())).await;
                    let _ = socket.send(close(1008, "connection limit")).await;
                }
            }
        })
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Sends a frame straight to the socket.
async fn send(st: &AppState, socket: &mut WebSocket, f: &RelayFrame) -> bool {
    if matches!(f, RelayFrame::Error { .. }) {
        Metrics::inc(&st.inner.metrics.error_frames);
    }
    Metrics::inc(&st.inner.metrics.frames_out);
    socket.send(Message::Text(f.encode().into())).await.is_ok()
}

async fn run_connection(st: &AppState, mut socket: WebSocket) {
    let mut nonce = [0u8; 32];
    OsRng.fill_bytes(&mut nonce);
    let nonce = Nonce(nonce);
    if !send(
        st,
        &mut socket,
        &RelayFrame::Challenge {
            version: PROTOCOL_VERSION,
            nonce,
        },
    )
    .await
    {
        return;
    }
    let session = match tokio::time::timeout(
        st.inner.config.auth_timeout,
        authenticate(st, &mut socket, &nonce),
    )
    .await
    {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(_) => {
            Metrics::inc(&st.inner.metrics.auth_failed);
            let f = RelayFrame::error(
                None,
                ErrorCode::NotAuthenticated,
                "no auth frame within the time limit; answer the challenge promptly",
            );
            let _ = send(st, &mut socket, &f).await;
            let _ = socket.send(close(1008, "auth timeout")).await;
            return;
        }
    };
    Metrics::inc(&st.inner.metrics.auth_ok);

    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(OUTBOUND_QUEUE);
    let kill = Arc::new(Notify::new());
    let slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let conn_id = st.inner.next_conn.fetch_add(1, Ordering::Relaxed);
    let handle = ConnHandle {
        id: conn_id,
        token: session.token,
        tx,
        kill: Arc::clone(&kill),
        slow: Arc::clone(&slow),
    };
    if let Ok(mut hub) = st.inner.hub.lock() {
        hub.entry(session.device).or_default().push(handle);
    }
    // A revocation may have landed between the auth check and registering
    // in the hub; check again so it cannot slip through.
    if st.is_revoked(&session) {
        refuse_revoked(st, &mut socket).await;
        st.unregister(&session.device, conn_id);
        return;
    }

    serve(st, &mut socket, &session, &mut rx, &kill, &slow).await;

    st.unregister(&session.device, conn_id);
    let _ = st
        .inner
        .store
        .touch(session.device.0.to_vec(), (st.inner.clock)())
        .await;
}

async fn refuse_revoked(st: &AppState, socket: &mut WebSocket) {
    Metrics::inc(&st.inner.metrics.revoked_disconnects);
    let f = RelayFrame::error(
        None,
        ErrorCode::Revoked,
        "this device or its session was revoked by another device of the wallet; pair it again to use it",
    );
    let _ = send(st, socket, &f).await;
    let _ = socket.send(close(1008, "revoked")).await;
}

async fn serve(
    st: &AppState,
    socket: &mut WebSocket,
    session: &Session,
    rx: &mut mpsc::Receiver<Utf8Bytes>,
    kill: &Notify,
    slow: &std::sync::atomic::AtomicBool,
) {
    // Replay the mailbox.
    let mut after = 0;
    loop {
        let now = (st.inner.clock)();
        let batch = match st
            .inner
            .store
            .pending(
                session.device.0.to_vec(),
                after,
                st.inner.config.pending_batch,
                now,
            )
            .await
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("tandem-relay: mailbox read failed: {e}");
                let f = RelayFrame::error(
                    None,
                    ErrorCode::Internal,
                    "relay storage unavailable; retry later",
                );
                let _ = send(st, socket, &f).await;
                return;
            }
        };
        let full = batch.len() == st.inner.config.pending_batch;
        for m in batch {
            after = m.id;
            if let Some(f) = stored_to_frame(&m) {
                if !send(st, socket, &f).await {
                    return;
                }
                Metrics::inc(&st.inner.metrics.messages_delivered);
            }
        }
        if !full {
            break;
        }
    }

    let mut acks = FuturesUnordered::new();
    let idle_limit = st.inner.config.idle_timeout;
    let mut heartbeat = tokio::time::interval(idle_limit / 3);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_in = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = kill.notified() => {
                if slow.load(Ordering::Relaxed) {
                    let f = RelayFrame::error(
                        None,
                        ErrorCode::RateLimited,
                        "this connection fell too far behind reading its messages; reconnect to get them from the mailbox",
                    );
                    let _ = send(st, socket, &f).await;
                    let _ = socket.send(close(1008, "too slow")).await;
                } else {
                    refuse_revoked(st, socket).await;
                }
                return;
            }
            Some(r) = acks.next(), if !acks.is_empty() => {
                if let Err(e) = r { eprintln!("tandem-relay: ack failed: {e}"); }
            }
            _ = heartbeat.tick() => {
                let quiet = last_in.elapsed();
                if quiet >= idle_limit {
                    let f = RelayFrame::error(None, ErrorCode::BadFrame, "connection idle too long (no frames or pongs); reconnect");
                    let _ = send(st, socket, &f).await;
                    let _ = socket.send(close(1001, "idle")).await;
                    return;
                }
                if quiet >= idle_limit / 3 && socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            out = rx.recv() => {
                let Some(text) = out else { return };
                Metrics::inc(&st.inner.metrics.frames_out);
                if socket.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                last_in = Instant::now();
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Binary(_) => {
                        let f = RelayFrame::error(None, ErrorCode::BadFrame, "frames are JSON text messages, not binary");
                        if !send(st, socket, &f).await { return; }
                        continue;
                    }
                    Message::Close(_) => return,
                    _ => continue,
                };
                Metrics::inc(&st.inner.metrics.frames_in);
                let reply = match precheck(st, session, text.as_str()) {
                    Err(errors) => errors,
                    Ok(ClientFrame::Ack { id }) => {
                        // Acks do not hold up deliveries: they commit in the
                        // background (the store keeps their order) ...
                        let Ok(id) = i64::try_from(id.0) else { continue };
                        Metrics::inc(&st.inner.metrics.messages_acked);
                        acks.push(st.inner.store.ack(session.device.0.to_vec(), vec![id]));
                        continue;
                    }
                    Ok(frame) => {
                        // ... but every request waits for them, so a reply
                        // proves the acks sent before it are durable.
                        while let Some(r) = acks.next().await {
                            if let Err(e) = r { eprintln!("tandem-relay: ack failed: {e}"); }
                        }
                        handle_frame(st, session, frame).await
                    }
                };
                for f in reply {
                    if !send(st, socket, &f).await { return; }
                }
                if st.is_revoked(session) {
                    refuse_revoked(st, socket).await;
                    return;
                }
            }
        }
    }
}

fn stored_to_frame(m: &StoredMessage) -> Option<RelayFrame> {
    let id = MessageId(u64::try_from(m.id).ok()?);
    if m.topic.first() == Some(&b'r') {
        let record = RevocationRecord::decode(&m.payload).ok()?;
        return Some(RelayFrame::Revoked { id, record });
    }
    Some(RelayFrame::Deliver {
        id,
        from: DeviceId(m.sender.as_slice().try_into().ok()?),
        to: decode_recipient(&m.topic)?,
        payload: Bytes(m.payload.clone()),
        sent_at: m.sent_at,
    })
}

/// How a message's routing is stored in the `topic` column.
fn encode_recipient(to: &Recipient) -> Vec<u8> {
    match to {
        Recipient::Topic(t) => [b"t".as_slice(), &t.0].concat(),
        Recipient::Device(d) => [b"d".as_slice(), &d.0].concat(),
        Recipient::Group => b"g".to_vec(),
    }
}

fn decode_recipient(b: &[u8]) -> Option<Recipient> {
    match b.split_first()? {
        (b't', rest) => Some(Recipient::Topic(Topic(rest.try_into().ok()?))),
        (b'd', rest) => Some(Recipient::Device(DeviceId(rest.try_into().ok()?))),
        (b'g', []) => Some(Recipient::Group),
        _ => None,
    }
}

impl AppState {
    fn is_revoked(&self, s: &Session) -> bool {
        let Ok(r) = self.inner.revoked.lock() else {
            return true;
        };
        r.contains(s.device.0.as_slice()) || s.token.is_some_and(|t| r.contains(t.0.as_slice()))
    }

    fn is_revoked_id(&self, id: &[u8]) -> bool {
        self.inner
            .revoked
            .lock()
            .map(|r| r.contains(id))
            .unwrap_or(true)
    }

    fn unregister(&self, device: &DeviceId, conn_id: u64) {
        if let Ok(mut hub) = self.inner.hub.lock() {
            if let Some(v) = hub.get_mut(device) {
                v.retain(|h| h.id != conn_id);
                if v.is_empty() {
                    hub.remove(device);
                }
            }
        }
    }

    /// Pushes a frame to every live connection of each device.
    fn push(&self, devices: &[Vec<u8>], frame: &RelayFrame) {
        // Encoded once; clones share the buffer.
        let text = Utf8Bytes::from(frame.encode());
        let Ok(hub) = self.inner.hub.lock() else {
            return;
        };
        for d in devices {
            let Ok(id) = <[u8; 16]>::try_from(d.as_slice()) else {
                continue;
            };
            if let Some(conns) = hub.get(&DeviceId(id)) {
                for c in conns {
                    // A full queue means the device is not reading: cut it
                    // off; the message is safe in its mailbox.
                    if c.tx.try_send(text.clone()).is_err() {
                        c.slow.store(true, Ordering::Relaxed);
                        c.kill.notify_one();
                    } else {
                        Metrics::inc(&self.inner.metrics.messages_delivered);
                    }
                }
            }
        }
    }

    /// Disconnects every connection of a device, or holding a token.
    fn kill(&self, target: &RevocationTarget) {
        let Ok(hub) = self.inner.hub.lock() else {
            return;
        };
        for (dev, conns) in hub.iter() {
            for c in conns {
                let hit = match target {
                    RevocationTarget::Device(d) => d == dev,
                    RevocationTarget::Token(t) => c.token.as_ref() == Some(t),
                };
                if hit {
                    c.kill.notify_one();
                }
            }
        }
    }
}

async fn authenticate(st: &AppState, socket: &mut WebSocket, nonce: &Nonce) -> Option<Session> {
    loop {
        let msg = socket.recv().await?.ok()?;
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => return None,
            Message::Binary(_) => {
                let f = RelayFrame::error(
                    None,
                    ErrorCode::BadFrame,
                    "frames are JSON text messages, not binary",
                );
                if !send(st, socket, &f).await {
                    return None;
                }
                continue;
            }
            _ => continue,
        };
        Metrics::inc(&st.inner.metrics.frames_in);
        let frame = match ClientFrame::decode(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                let f = RelayFrame::error(None, pair_code(&e), e.to_string());
                if !send(st, socket, &f).await {
                    return None;
                }
                continue;
            }
        };
        let ClientFrame::Auth {
            identity,
            membership,
            signature,
        } = frame
        else {
            let f = RelayFrame::error(
                None,
                ErrorCode::NotAuthenticated,
                "send an auth frame answering the challenge first",
            );
            if !send(st, socket, &f).await {
                return None;
            }
            continue;
        };
        match check_auth(st, nonce, &identity, &membership, &signature).await {
            Ok(session) => {
                let ok = RelayFrame::AuthOk {
                    device: session.device,
                    group: session.group,
                };
                if !send(st, socket, &ok).await {
                    return None;
                }
                return Some(session);
            }
            Err((code, message)) => {
                Metrics::inc(&st.inner.metrics.auth_failed);
                if code == ErrorCode::Revoked {
                    refuse_revoked(st, socket).await;
                    return None;
                }
                let f = RelayFrame::error(None, code, message);
                let _ = send(st, socket, &f).await;
                let _ = socket.send(close(1008, "auth failed")).await;
                return None;
            }
        }
    }
}

type Refusal = (ErrorCode, String);

fn internal(e: Error) -> Refusal {
    eprintln!("tandem-relay: {e}");
    (
        ErrorCode::Internal,
        "relay storage unavailable; retry later".into(),
    )
}

async fn check_auth(
    st: &AppState,
    nonce: &Nonce,
    identity: &IdentityPublic,
    membership: &Membership,
    signature: &tandem_pair::Signature,
) -> Result<Session, Refusal> {
    identity
        .verify_auth(&st.inner.public_url, nonce, signature)
        .map_err(|e| {
            (
                ErrorCode::AuthFailed,
                format!("challenge signature rejected: {e}"),
            )
        })?;
    let now = (st.inner.clock)();
    membership
        .verify(identity, now)
        .map_err(|e| (pair_code(&e), e.to_string()))?;
    let device = identity.device_id();
    if st.is_revoked_id(&device.0) {
        return Err((ErrorCode::Revoked, String::new()));
    }
    let store = &st.inner.store;
    match membership {
        Membership::Guest => Ok(Session {
            device,
            group: None,
            token: None,
            caps: Capabilities(0),
        }),
        Membership::Founder { group, .. } => {
            store
                .upsert_device(DeviceRecord {
                    device: device.0.to_vec(),
                    group: group.0.to_vec(),
                    public_key: identity.0.to_vec(),
                    founder: true,
                    token_id: None,
                    last_seen: now,
                })
                .await
                .map_err(internal)?;
            Ok(Session {
                device,
                group: Some(*group),
                token: None,
                caps: Capabilities::ALL,
            })
        }
        Membership::Member { token } => {
            let tid = token.id();
            if st.is_revoked_id(&tid.0) {
                return Err((ErrorCode::Revoked, String::new()));
            }
            let group = token.group();
            let existing = store.device(device.0.to_vec()).await.map_err(internal)?;
            // A token the relay already accepted stays valid even if its
            // issuer is revoked later (revoke it, or its holder, explicitly).
            let known = existing
                .as_ref()
                .is_some_and(|r| r.token_id.as_deref() == Some(&tid.0[..]) && r.group == group.0);
            if !known {
                let issuer = token.issuer_device();
                let rec = store.device(issuer.0.to_vec()).await.map_err(internal)?;
                // Active: known in this group, device not revoked, and the
                // token it joined with (if not the founder) not revoked.
                let active = rec.is_some_and(|r| {
                    r.group == group.0
                        && !st.is_revoked_id(&issuer.0)
                        && r.token_id.as_deref().is_none_or(|t| !st.is_revoked_id(t))
                });
                if !active {
                    return Err((
                        ErrorCode::AuthFailed,
                        format!(
                            "session token issuer {issuer} is not an active device of group {group} at this relay"
                        ),
                    ));
                }
            }
            store
                .upsert_device(DeviceRecord {
                    device: device.0.to_vec(),
                    group: group.0.to_vec(),
                    public_key: identity.0.to_vec(),
                    founder: false,
                    token_id: Some(tid.0.to_vec()),
                    last_seen: now,
                })
                .await
                .map_err(internal)?;
            Ok(Session {
                device,
                group: Some(group),
                token: Some(tid),
                caps: token.capabilities(),
            })
        }
    }
}

fn pair_code(e: &tandem_pair::Error) -> ErrorCode {
    match e.kind() {
        "too_large" => ErrorCode::TooLarge,
        "unsupported_version" => ErrorCode::UnsupportedVersion,
        "revoked" => ErrorCode::Revoked,
        "malformed" => ErrorCode::BadFrame,
        _ => ErrorCode::AuthFailed,
    }
}

fn err(req: u64, code: ErrorCode, message: impl Into<String>) -> Vec<RelayFrame> {
    vec![RelayFrame::error(Some(req), code, message)]
}

fn req_of(f: &ClientFrame) -> Option<u64> {
    match f {
        ClientFrame::Subscribe { req, .. }
        | ClientFrame::Unsubscribe { req, .. }
        | ClientFrame::Publish { req, .. }
        | ClientFrame::BlobPut { req, .. }
        | ClientFrame::BlobGet { req, .. }
        | ClientFrame::Revoke { req, .. }
        | ClientFrame::Members { req }
        | ClientFrame::Ping { req } => Some(*req),
        ClientFrame::Auth { .. } | ClientFrame::Ack { .. } => None,
    }
}

/// Best-effort request id from a frame that failed to parse, so the client
/// can match the error to its request.
fn sniff_req(text: &str) -> Option<u64> {
    if text.len() > MAX_FRAME_BYTES {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(text)
        .ok()?
        .get("req")?
        .as_u64()
}

/// Limits and parsing, before any storage work.
fn precheck(st: &AppState, s: &Session, text: &str) -> Result<ClientFrame, Vec<RelayFrame>> {
    if !st.inner.rate.allow(
        s.device.0,
        st.inner.config.rate_per_sec,
        st.inner.config.rate_burst,
        Instant::now(),
    ) {
        Metrics::inc(&st.inner.metrics.rate_limited);
        return Err(vec![RelayFrame::error(
            sniff_req(text),
            ErrorCode::RateLimited,
            format!(
                "rate limit of {} frames/s per device exceeded; slow down and retry",
                st.inner.config.rate_per_sec
            ),
        )]);
    }
    let max = st.inner.config.max_frame_bytes;
    if text.len() > max {
        Metrics::inc(&st.inner.metrics.frames_oversize);
        return Err(vec![RelayFrame::error(
            None,
            ErrorCode::TooLarge,
            format!(
                "frame of {} bytes is over this relay's limit of {max} bytes",
                text.len()
            ),
        )]);
    }
    ClientFrame::decode(text).map_err(|e| {
        if e.kind() == "too_large" {
            Metrics::inc(&st.inner.metrics.frames_oversize);
        }
        vec![RelayFrame::error(
            sniff_req(text),
            pair_code(&e),
            e.to_string(),
        )]
    })
}

async fn handle_frame(st: &AppState, s: &Session, frame: ClientFrame) -> Vec<RelayFrame> {
    let req = req_of(&frame);
    match dispatch(st, s, frame).await {
        Ok(frames) => frames,
        Err(e) => {
            let code = match &e {
                Error::MailboxFull { .. } => ErrorCode::MailboxFull,
                _ => ErrorCode::Internal,
            };
            let message = match code {
                ErrorCode::Internal => {
                    eprintln!("tandem-relay: {e}");
                    "relay storage unavailable; retry later".to_string()
                }
                _ => e.to_string(),
            };
            vec![RelayFrame::error(req, code, message)]
        }
    }
}

async fn dispatch(
    st: &AppState,
    s: &Session,
    frame: ClientFrame,
) -> crate::Result<Vec<RelayFrame>> {
    let store = &st.inner.store;
    let now = (st.inner.clock)();
    Ok(match frame {
        ClientFrame::Auth { .. } => vec![RelayFrame::error(
            None,
            ErrorCode::BadFrame,
            "already authenticated; auth is only valid as the first frame",
        )],
        ClientFrame::Ping { req } => vec![RelayFrame::Pong { req }],
        ClientFrame::Subscribe { req, topic } => {
            store
                .subscribe(
                    s.device.0.to_vec(),
                    encode_recipient(&Recipient::Topic(topic)),
                )
                .await?;
            vec![RelayFrame::Ok { req }]
        }
        ClientFrame::Unsubscribe { req, topic } => {
            store
                .unsubscribe(
                    s.device.0.to_vec(),
                    encode_recipient(&Recipient::Topic(topic)),
                )
                .await?;
            vec![RelayFrame::Ok { req }]
        }
        ClientFrame::Ack { id } => {
            let Ok(id) = i64::try_from(id.0) else {
                return Ok(vec![RelayFrame::error(
                    None,
                    ErrorCode::NotFound,
                    "no such message id",
                )]);
            };
            store.ack(s.device.0.to_vec(), vec![id]).await?;
            Metrics::inc(&st.inner.metrics.messages_acked);
            vec![]
        }
        ClientFrame::Publish { req, to, payload } => {
            let topic = encode_recipient(&to);
            let explicit: Option<Vec<Vec<u8>>> = match &to {
                Recipient::Topic(_) => None,
                Recipient::Device(d) => {
                    let Some(group) = s.group else {
                        return Ok(err(
                            req,
                            ErrorCode::Forbidden,
                            "a device that is not paired may only publish to pairing topics",
                        ));
                    };
                    if st.is_revoked_id(&d.0) {
                        return Ok(err(
                            req,
                            ErrorCode::Forbidden,
                            format!("device {d} was revoked"),
                        ));
                    }
                    if let Some(rec) = store.device(d.0.to_vec()).await? {
                        if rec.group != group.0 {
                            return Ok(err(
                                req,
                                ErrorCode::Forbidden,
                                format!("device {d} is not in your group"),
                            ));
                        }
                    }
                    Some(vec![d.0.to_vec()])
                }
                Recipient::Group => {
                    let Some(group) = s.group else {
                        return Ok(err(
                            req,
                            ErrorCode::Forbidden,
                            "a device that is not paired has no group to publish to",
                        ));
                    };
                    let members = store.group_devices(group.0.to_vec()).await?;
                    Some(
                        members
                            .into_iter()
                            .map(|r| r.device)
                            .filter(|d| *d != s.device.0 && !st.is_revoked_id(d))
                            .collect(),
                    )
                }
            };
            let published = store
                .publish(
                    NewMessage {
                        topic,
                        sender: s.device.0.to_vec(),
                        payload: payload.0.clone(),
                        sent_at: now,
                        expires_at: now + st.inner.config.message_ttl.as_secs(),
                        recipients: explicit,
                    },
                    st.inner.config.mailbox,
                )
                .await?;
            Metrics::inc(&st.inner.metrics.messages_published);
            let id = MessageId(published.id as u64);
            st.push(
                &published.recipients,
                &RelayFrame::Deliver {
                    id,
                    from: s.device,
                    to,
                    payload,
                    sent_at: now,
                },
            );
            vec![RelayFrame::Published { req, id }]
        }
        ClientFrame::BlobPut { req, key, value } => {
            let Some(group) = s.group else {
                return Ok(err(
                    req,
                    ErrorCode::Forbidden,
                    "only paired devices may store blobs",
                ));
            };
            let max = st.inner.config.blob_max_bytes;
            if value.0.len() > max {
                return Ok(err(
                    req,
                    ErrorCode::TooLarge,
                    format!("blob of {} bytes is over the limit of {max}", value.0.len()),
                ));
            }
            let used = store.blob_usage(group.0.to_vec()).await?;
            let old = store
                .blob_get(group.0.to_vec(), key.as_bytes().to_vec())
                .await?
                .map_or(0, |b| b.value.len() as u64);
            let quota = st.inner.config.blob_quota_bytes;
            if used - old.min(used) + value.0.len() as u64 > quota {
                return Ok(err(req, ErrorCode::TooLarge, format!("the group's blob storage quota of {quota} bytes is used up; delete or shrink blobs")));
            }
            store
                .blob_put(group.0.to_vec(), key.into_bytes(), value.0, None, now)
                .await?;
            Metrics::inc(&st.inner.metrics.blob_puts);
            vec![RelayFrame::Ok { req }]
        }
        ClientFrame::BlobGet { req, key } => {
            let Some(group) = s.group else {
                return Ok(err(
                    req,
                    ErrorCode::Forbidden,
                    "only paired devices may read blobs",
                ));
            };
            let blob = store
                .blob_get(group.0.to_vec(), key.as_bytes().to_vec())
                .await?;
            Metrics::inc(&st.inner.metrics.blob_gets);
            vec![RelayFrame::Blob {
                req,
                key,
                value: blob.map(|b| Bytes(b.value)),
            }]
        }
        ClientFrame::Members { req } => {
            let Some(group) = s.group else {
                return Ok(err(
                    req,
                    ErrorCode::Forbidden,
                    "a device that is not paired has no group",
                ));
            };
            let online: HashSet<DeviceId> = st
                .inner
                .hub
                .lock()
                .map(|h| h.keys().copied().collect())
                .unwrap_or_default();
            let mut members = Vec::new();
            for r in store.group_devices(group.0.to_vec()).await? {
                let (Ok(d), Ok(k)) = (
                    <[u8; 16]>::try_from(r.device.as_slice()),
                    <[u8; 32]>::try_from(r.public_key.as_slice()),
                ) else {
                    continue;
                };
                let device = DeviceId(d);
                members.push(MemberInfo {
                    device,
                    identity: IdentityPublic(k),
                    founder: r.founder,
                    revoked: st.is_revoked_id(&d),
                    last_seen: Some(if online.contains(&device) {
                        now
                    } else {
                        r.last_seen
                    }),
                });
            }
            vec![RelayFrame::Members { req, members }]
        }
        ClientFrame::Revoke { req, record } => revoke(st, s, req, record, now).await?,
    })
}

async fn revoke(
    st: &AppState,
    s: &Session,
    req: u64,
    record: RevocationRecord,
    now: u64,
) -> crate::Result<Vec<RelayFrame>> {
    let Some(group) = s.group else {
        return Ok(err(
            req,
            ErrorCode::Forbidden,
            "a device that is not paired cannot revoke",
        ));
    };
    if !s.caps.contains(Capabilities::REVOKE) {
        return Ok(err(
            req,
            ErrorCode::Forbidden,
            "this device's session token does not allow revoking",
        ));
    }
    if record.issuer_device() != s.device {
        return Ok(err(
            req,
            ErrorCode::Forbidden,
            "the revocation must be signed by the device sending it",
        ));
    }
    if record.group() != group {
        return Ok(err(
            req,
            ErrorCode::Forbidden,
            "the revocation is for another group",
        ));
    }
    if let Err(e) = record.check(now) {
        return Ok(err(req, pair_code(&e), e.to_string()));
    }
    let target = record.target();
    let target_bytes = match target {
        RevocationTarget::Device(d) => {
            // Only devices of this group (or unknown ones) can be revoked by it.
            if let Some(rec) = st.inner.store.device(d.0.to_vec()).await? {
                if rec.group != group.0 {
                    return Ok(err(
                        req,
                        ErrorCode::Forbidden,
                        format!("device {d} is not in your group"),
                    ));
                }
            }
            d.0.to_vec()
        }
        RevocationTarget::Token(t) => t.0.to_vec(),
    };
    let encoded = record.encode();
    let fresh = st
        .inner
        .store
        .revoke(target_bytes.clone(), encoded.clone(), now)
        .await?;
    if let Ok(mut r) = st.inner.revoked.lock() {
        r.insert(target_bytes);
    }
    st.kill(&target);
    if let RevocationTarget::Device(d) = target {
        // Nothing waiting for it can ever be fetched again.
        st.inner.store.forget_device(d.0.to_vec()).await?;
    }
    if fresh {
        Metrics::inc(&st.inner.metrics.revocations);
        // Fan out to every other active member, through the mailbox so
        // offline devices learn it when they return.
        let members = st.inner.store.group_devices(group.0.to_vec()).await?;
        let recipients: Vec<Vec<u8>> = members
            .into_iter()
            .map(|r| r.device)
            .filter(|d| *d != s.device.0 && !st.is_revoked_id(d))
            .collect();
        let published = st
            .inner
            .store
            .publish(
                NewMessage {
                    topic: b"r".to_vec(),
                    sender: s.device.0.to_vec(),
                    payload: encoded,
                    sent_at: now,
                    expires_at: now + st.inner.config.message_ttl.as_secs(),
                    recipients: Some(recipients),
                },
                // A revocation must never be dropped for a full mailbox.
                crate::store::MailboxLimits {
                    max_messages: u64::MAX,
                    max_bytes: u64::MAX,
                },
            )
            .await?;
        st.push(
            &published.recipients,
            &RelayFrame::Revoked {
                id: MessageId(published.id as u64),
                record,
            },
        );
    }
    Ok(vec![RelayFrame::Ok { req }])
}
