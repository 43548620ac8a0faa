//! The axum application: `GET /v1/ws` (WebSocket), `GET /health`, `GET /metrics`,
//! `GET`/`PUT`/`DELETE /v1/backup/<id>` (backups under recovery-phrase keys),
//! and with `--app-dir` the phone web app's files under `GET /app/`.
//!
//! Connection life: the relay sends a `challenge`; the device must answer
//! with `auth` within [`Config::auth_timeout`]; then the device's mailbox is
//! replayed as `deliver`/`revoked` frames and live traffic follows. One task
//! owns each socket and `select!`s over the socket, its outbound queue and a
//! signal (revoked, fell behind, or replay the mailbox).
//!
//! Everything a group member does is scoped to its group: its mailbox is
//! keyed by (group, device), revocations by (group, kind, id), and devices
//! and tokens are known per group, so nothing done in one group reaches a
//! device of another.
//!
//! The relay never logs or inspects payloads; error frames name the rule
//! that was broken, never the content.

mod auth;
mod backup;
mod dispatch;
mod members;
mod nodes;
mod phone_app;

use std::{
    collections::{HashMap, VecDeque},
    hash::{Hash, Hasher},
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        ConnectInfo, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use futures_util::SinkExt;
use rand_core::{OsRng, RngCore};
use tandem_pair::{
    frame::MAX_FRAME_BYTES, Bytes, Capabilities, ClientFrame, DeviceId, ErrorCode, GroupId,
    MessageId, Nonce, Recipient, RelayFrame, RevocationRecord, TokenId, Topic, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, Notify};

use crate::{
    limits::{ConnLimiter, RateLimiter},
    metrics::Metrics,
    store::{RevokedEntry, Store, StoredMessage, TargetKind},
    Config,
};

/// Outbound queue length per connection. A device that falls this far
/// behind is disconnected; its messages stay in the mailbox for later.
const OUTBOUND_QUEUE: usize = 4096;

/// Membership changes (admit, revoke, a founder's first connection) of one
/// group run one at a time; groups share these stripes by hash.
const LOCK_STRIPES: usize = 64;

/// WebSocket close code with which the relay ends connections when it shuts
/// down: "service restart", reconnect shortly (clients:
/// [`tandem_connect::RESTART_CLOSE_CODE`]).
const RESTART: u16 = tandem_connect::RESTART_CLOSE_CODE;

/// Health checks that take longer than this count as a failed database.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

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

/// A revoked device or token of one group.
type RevokedKey = (GroupId, TargetKind, [u8; 16]);

struct Shared {
    config: Config,
    public_url: String,
    store: Arc<dyn Store>,
    metrics: Metrics,
    conn_limiter: Arc<ConnLimiter>,
    rate: RateLimiter,
    /// Backup requests per client address (`/v1/backup`).
    backup_rate: RateLimiter,
    clock: Clock,
    next_conn: AtomicU64,
    /// Live connections by mailbox key.
    hub: Mutex<HashMap<Vec<u8>, Vec<ConnHandle>>>,
    /// Revoked devices and tokens per group, with the chain position of the
    /// record that revoked them (a mirror of the store, checked per frame).
    revoked: Mutex<HashMap<RevokedKey, u32>>,
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Each group's devices, for the publish path.
    members: members::MemberCache,
    /// What other nodes on the same database commit, until [`app`] starts
    /// following it.
    events: Mutex<Option<mpsc::Receiver<crate::store::Event>>>,
    /// Set by [`AppState::shut_down`]: connections close with [`RESTART`].
    closing: AtomicBool,
    /// Whether the last publish or ack failed in the database (cleared by
    /// the next that succeeds): `/health` reports it.
    storage_failing: AtomicBool,
    /// Time zero of [`Outbound::since_us`].
    epoch: Instant,
}

/// A frame queued for a connection, with when the publish that caused it
/// arrived (microseconds after [`Shared::epoch`]; 0 when not timed).
struct Outbound {
    text: Utf8Bytes,
    since_us: u64,
}

#[derive(Clone)]
struct ConnHandle {
    id: u64,
    signal: Arc<Signal>,
}

/// What the relay asks of a connection's task: frames to send, and a set
/// of reasons to stop or rescan, behind one wake-up (one `Notify` polled
/// per loop turn, not one per reason: the loop turns for every frame of
/// every connection).
///
/// The frames wait in a plain queue, not a channel: a tokio channel
/// allocates a block of 32 slots when it is made, about 1.6 KiB for every
/// idle connection, where an empty `VecDeque` allocates nothing.
#[derive(Default)]
struct Signal {
    wake: Notify,
    reasons: AtomicU8,
    outbound: Mutex<VecDeque<Outbound>>,
}

impl Signal {
    /// The device fell behind reading: close (its mailbox keeps the rest).
    const SLOW: u8 = 1;
    /// The device or its token was revoked: tell it and close.
    const REVOKED: u8 = 2;
    /// Replay the mailbox: another node's messages may have been missed.
    const RESCAN: u8 = 4;
    /// The relay is shutting down: send what is queued, close with
    /// [`RESTART`].
    const SHUTDOWN: u8 = 8;

    fn raise(&self, reason: u8) {
        self.reasons.fetch_or(reason, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Queues a frame; false when [`OUTBOUND_QUEUE`] frames already wait
    /// (the device is not reading). Wakes the task only when the queue was
    /// empty: it takes what is queued until it finds the queue empty.
    fn queue(&self, out: Outbound) -> bool {
        let was_empty = {
            let mut q = self.lock_outbound();
            if q.len() >= OUTBOUND_QUEUE {
                return false;
            }
            q.push_back(out);
            q.len() == 1
        };
        if was_empty {
            self.wake.notify_one();
        }
        true
    }

    /// Up to `max` queued frames into `into`; whether more are left.
    fn take(&self, into: &mut Vec<Outbound>, max: usize) -> bool {
        let mut q = self.lock_outbound();
        let n = q.len().min(max);
        into.extend(q.drain(..n));
        if q.is_empty() && q.capacity() > SHRINK_ABOVE {
            // A burst is over: an idle connection holds no large buffer.
            q.shrink_to(SHRINK_ABOVE);
        }
        !q.is_empty()
    }

    fn lock_outbound(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        self.outbound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Outbound queue capacity a connection keeps once it is drained.
const SHRINK_ABOVE: usize = 8;

/// Who is on the other end of an authenticated connection.
#[derive(Clone)]
struct Session {
    device: DeviceId,
    group: Option<GroupId>,
    token: Option<TokenId>,
    caps: Capabilities,
    /// Where its messages wait ([`mailbox_key`]).
    mailbox: Vec<u8>,
}

/// The mailbox of `device`: per group for members, so that another group
/// (which may admit any device id it likes) can never reach it; the bare
/// device id for a guest.
fn mailbox_key(group: Option<GroupId>, device: DeviceId) -> Vec<u8> {
    match group {
        Some(g) => [g.0.as_slice(), &device.0].concat(),
        None => device.0.to_vec(),
    }
}

/// The device a mailbox key belongs to.
fn mailbox_device(key: &[u8]) -> Option<DeviceId> {
    let tail = key.get(key.len().checked_sub(16)?..)?;
    Some(DeviceId(tail.try_into().ok()?))
}

fn id16(b: &[u8]) -> Option<[u8; 16]> {
    b.try_into().ok()
}

impl AppState {
    /// State for a relay reachable at `public_url` (bound into auth
    /// challenges), loading every group's revoked devices and tokens from
    /// `store`.
    pub async fn new(
        config: Config,
        store: Arc<dyn Store>,
        public_url: String,
    ) -> crate::Result<Self> {
        let mut revoked = HashMap::new();
        for RevokedEntry {
            group,
            seq,
            kind,
            target,
            device,
        } in store.revoked().await?
        {
            let (Some(g), Some(t), Some(d)) = (id16(&group), id16(&target), id16(&device)) else {
                continue;
            };
            revoked.insert((GroupId(g), kind, t), seq);
            revoked.insert((GroupId(g), TargetKind::Device, d), seq);
        }
        let events = std::sync::Mutex::new(store.events());
        Ok(Self {
            inner: Arc::new(Shared {
                config,
                public_url,
                store,
                metrics: Metrics::default(),
                conn_limiter: Arc::new(ConnLimiter::default()),
                rate: RateLimiter::default(),
                backup_rate: RateLimiter::default(),
                clock: Arc::new(system_clock),
                next_conn: AtomicU64::new(1),
                hub: Mutex::new(HashMap::new()),
                revoked: Mutex::new(revoked),
                locks: (0..LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
                members: members::MemberCache::default(),
                events,
                closing: AtomicBool::new(false),
                storage_failing: AtomicBool::new(false),
                epoch: Instant::now(),
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

    /// Messages waiting in mailboxes now (also in `/health` and `/metrics`).
    pub async fn stored_messages(&self) -> crate::Result<u64> {
        self.inner.store.message_count().await
    }

    /// Deletes expired mailbox messages and ended pairing-topic
    /// subscriptions now; returns how many messages.
    pub async fn expire_now(&self) -> crate::Result<u64> {
        let n = self.inner.store.expire(self.now()).await?;
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
                    tracing::error!(error = %e, "expiry sweep failed");
                }
            }
        });
    }

    fn now(&self) -> u64 {
        (self.inner.clock)()
    }

    /// Starts a graceful shutdown: every connection sends what is queued
    /// for it, waits for its acks to commit, and closes with close code
    /// 1012 (service restart) so devices reconnect; connections that
    /// authenticate from now on are closed the same way. Requests being
    /// handled finish first (a publish in flight is committed and
    /// acknowledged). Wait for them with [`Self::drained`].
    pub fn shut_down(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        let Ok(hub) = self.inner.hub.lock() else {
            return;
        };
        for c in hub.values().flatten() {
            c.signal.raise(Signal::SHUTDOWN);
        }
    }

    /// Waits until no connection is open, at most `limit`; true when none
    /// is.
    pub async fn drained(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.inner.metrics.connections_open.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn closing(&self) -> bool {
        self.inner.closing.load(Ordering::SeqCst)
    }

    /// Records whether a durable write worked, for `/health`.
    fn storage_result<T>(&self, r: &crate::Result<T>) {
        let failed = matches!(r, Err(crate::Error::Storage(_)));
        if self.inner.storage_failing.load(Ordering::Relaxed) != failed {
            self.inner.storage_failing.store(failed, Ordering::Relaxed);
        }
    }

    fn since_us(&self, t: Instant) -> u64 {
        // +1: 0 means "not timed".
        u64::try_from(t.saturating_duration_since(self.inner.epoch).as_micros())
            .unwrap_or(u64::MAX - 1)
            + 1
    }

    /// Serialises membership changes of `group`: in this process, then
    /// across every node sharing the database. Hold both until the change
    /// and its notices are stored.
    async fn membership_lock(
        &self,
        group: &GroupId,
    ) -> crate::Result<(tokio::sync::MutexGuard<'_, ()>, crate::store::GroupGuard)> {
        let local = self.lock_for(&group.0).lock().await;
        let nodes = self.inner.store.lock_group(group.0.to_vec()).await?;
        Ok((local, nodes))
    }

    /// Locks the slots of two keys (one lock when they share a slot), always
    /// in slot order, so two callers never wait on each other.
    async fn lock_two(
        &self,
        a: &[u8],
        b: &[u8],
    ) -> (
        tokio::sync::MutexGuard<'_, ()>,
        Option<tokio::sync::MutexGuard<'_, ()>>,
    ) {
        let (ia, ib) = (self.slot(a), self.slot(b));
        let locks = &self.inner.locks;
        if ia == ib {
            return (locks[ia].lock().await, None);
        }
        let (first, second) = (ia.min(ib), ia.max(ib));
        let g1 = locks[first].lock().await;
        let g2 = locks[second].lock().await;
        (g1, Some(g2))
    }

    fn slot(&self, key: &[u8]) -> usize {
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % self.inner.locks.len() as u64) as usize
    }

    fn lock_for(&self, key: &[u8]) -> &tokio::sync::Mutex<()> {
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        let locks = &self.inner.locks;
        &locks[(h.finish() % locks.len() as u64) as usize]
    }
}

/// The relay's router. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (the per-IP limit
/// needs the peer address, or with [`Config::proxies`] the forwarded one
/// when the peer is a trusted proxy); in `oneshot` tests add
/// `axum::extract::connect_info::MockConnectInfo`.
pub fn app(state: AppState) -> Router {
    let events = state.inner.events.lock().ok().and_then(|mut e| e.take());
    if let Some(events) = events {
        tokio::spawn(nodes::follow(state.clone(), events));
    }
    let mut router = Router::new()
        .route("/v1/ws", get(ws_handler))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(backup::router());
    if let Some(dir) = &state.inner.config.app_dir {
        router = router.merge(phone_app::router(dir));
    }
    router.with_state(state)
}

/// 200 when the database answers and the last durable write worked; 503
/// with the reason otherwise (and while shutting down), so a load balancer
/// takes the node out.
async fn health(State(st): State<AppState>) -> Response {
    let unavailable = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "error", "error": reason})),
        )
            .into_response()
    };
    if st.closing() {
        return unavailable("shutting down");
    }
    let n = match tokio::time::timeout(HEALTH_TIMEOUT, st.inner.store.message_count()).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            return unavailable(&format!("database unavailable: {e}"));
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer within {HEALTH_TIMEOUT:?}");
            return unavailable("database unavailable: no answer within 3 s");
        }
    };
    if st.inner.storage_failing.load(Ordering::Relaxed) {
        return unavailable("database unavailable: the last write failed");
    }
    Json(serde_json::json!({
        "status": "ok",
        "version": PROTOCOL_VERSION,
        "stored_messages": n,
        "connections": st.inner.metrics.connections_open.load(Ordering::Relaxed),
    }))
    .into_response()
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut body = st.inner.metrics.render();
    if let Some(w) = st.inner.store.writer_stats() {
        w.render(&mut body);
    }
    let gauge = |body: &mut String, name: &str, help: &str, v: u64| {
        body.push_str(&format!(
            "# HELP tandem_relay_{name} {help}\n# TYPE tandem_relay_{name} gauge\ntandem_relay_{name} {v}\n"
        ));
    };
    if let Ok(n) = st.inner.store.message_count().await {
        gauge(
            &mut body,
            "messages_stored",
            "Messages waiting in mailboxes.",
            n,
        );
    }
    if let Ok(d) = st.inner.store.mailbox_depths().await {
        gauge(
            &mut body,
            "mailboxes_waiting",
            "Mailboxes with at least one message waiting.",
            d.mailboxes,
        );
        gauge(
            &mut body,
            "mailbox_entries",
            "Deliveries waiting in all mailboxes (a message to three devices counts three).",
            d.entries,
        );
        gauge(
            &mut body,
            "mailbox_depth_max",
            "Deliveries waiting in the fullest mailbox.",
            d.deepest,
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn ws_handler(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // Leave headroom above our own limit so an oversize frame gets a clear
    // error frame instead of a bare close; far larger frames are cut off by
    // the WebSocket layer.
    let hard = st.inner.config.max_frame_bytes.max(MAX_FRAME_BYTES) * 2;
    // Behind the operator's proxies the client is in their forwarding
    // header; from anyone else, the header is just a claim.
    let ip = st.inner.config.proxies.client_ip(peer.ip(), &headers);
    let slot = st
        .inner
        .conn_limiter
        .acquire(ip, st.inner.config.max_conns_per_ip);
    // Small socket buffers: most devices are idle most of the time, and
    // tungstenite's 128 KiB default read buffer dominated memory per
    // connection. Buffers grow on demand for big frames. 2 KiB holds any
    // ack, publish or delivery of a wallet's small messages in one read;
    // it took 2 KiB per idle connection off 4 KiB's (docs/benchmarks.md)
    // for more reads per large frame (a 256 KiB blob: 128 instead of 64).
    ws.max_message_size(hard)
        .max_frame_size(hard)
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            // On the heap, once: captured by value, the socket (368 bytes)
            // was part of every state of this future and copied into the
            // next one's.
            let socket = Box::new(socket);
            async move {
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
                        // The address is not logged (docs/deploy.md: the relay keeps it in
                        // memory only).
                        tracing::info!("connection refused: per-IP limit");
                        Box::pin(refuse_ip_limit(&st, socket)).await;
                    }
                }
            }
        })
}

/// Tells a device over the per-IP connection limit why, and closes.
async fn refuse_ip_limit(st: &AppState, mut socket: Box<WebSocket>) {
    refuse(
        st,
        &mut socket,
        ErrorCode::RateLimited,
        "too many connections from your address; close some and retry",
        (1008, "connection limit"),
    )
    .await;
}

/// Ends a connection the relay will not serve: an `error` frame that says
/// why (counted as a rejection), then the close frame `(code, reason)`.
/// Either may fail when the device is already gone; nothing is left to do
/// then.
async fn refuse(
    st: &AppState,
    socket: &mut WebSocket,
    code: ErrorCode,
    message: &str,
    (close_code, reason): (u16, &'static str),
) {
    let _ = send(st, socket, &RelayFrame::error(None, code, message)).await;
    let _ = socket.send(close(close_code, reason)).await;
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Sends a frame straight to the socket.
async fn send(st: &AppState, socket: &mut WebSocket, f: &RelayFrame) -> bool {
    if let RelayFrame::Error { code, .. } = f {
        Metrics::inc(&st.inner.metrics.error_frames);
        st.inner.metrics.rejected.inc(*code);
    }
    Metrics::inc(&st.inner.metrics.frames_out);
    socket.send(Message::Text(f.encode().into())).await.is_ok()
}

async fn run_connection(st: &AppState, mut socket: Box<WebSocket>) {
    // Boxed, as the rare paths in `serve`: the state of an unboxed await
    // is part of the connection's future for its whole life.
    let Some(session) = Box::pin(handshake(st, &mut socket)).await else {
        return;
    };
    Metrics::inc(&st.inner.metrics.auth_ok);
    Metrics::inc(&st.inner.metrics.connections_authenticated);
    let started = Instant::now();
    tracing::debug!(device = %session.device, group = ?session.group.map(|g| hex::encode(g.0)), "authenticated");
    connection(st, &mut socket, &session).await;
    st.inner
        .metrics
        .connections_authenticated
        .fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(device = %session.device, secs = started.elapsed().as_secs(), "connection ended");
}

/// The challenge and the device's answer: its session, or `None` when it
/// failed (it was told why) or went away.
async fn handshake(st: &AppState, socket: &mut WebSocket) -> Option<Session> {
    let mut nonce = [0u8; 32];
    OsRng.fill_bytes(&mut nonce);
    let nonce = Nonce(nonce);
    if !send(
        st,
        socket,
        &RelayFrame::Challenge {
            version: PROTOCOL_VERSION,
            nonce,
        },
    )
    .await
    {
        return None;
    }
    match tokio::time::timeout(
        st.inner.config.auth_timeout,
        auth::authenticate(st, socket, &nonce),
    )
    .await
    {
        Ok(found) => found,
        Err(_) => {
            Metrics::inc(&st.inner.metrics.auth_failed);
            refuse(
                st,
                socket,
                ErrorCode::NotAuthenticated,
                "no auth frame within the time limit; answer the challenge promptly",
                (1008, "auth timeout"),
            )
            .await;
            None
        }
    }
}

/// An authenticated connection, registered in the hub while it lasts.
async fn connection(st: &AppState, socket: &mut WebSocket, session: &Session) {
    let signal = Arc::new(Signal::default());
    let conn_id = st.inner.next_conn.fetch_add(1, Ordering::Relaxed);
    let handle = ConnHandle {
        id: conn_id,
        signal: Arc::clone(&signal),
    };
    if let Ok(mut hub) = st.inner.hub.lock() {
        hub.entry(session.mailbox.clone()).or_default().push(handle);
    }
    // A revocation may have landed between the auth check and registering
    // in the hub; check again so it cannot slip through.
    if st.is_revoked(session) {
        Box::pin(refuse_revoked(st, socket, session)).await;
        st.unregister(&session.mailbox, conn_id);
        return;
    }
    // Likewise a shutdown that began while this device authenticated.
    if st.closing() {
        signal.raise(Signal::SHUTDOWN);
    }

    serve(st, socket, session, &signal).await;

    st.unregister(&session.mailbox, conn_id);
    if let Some(group) = session.group {
        let _ = st
            .inner
            .store
            .touch(group.0.to_vec(), session.device.0.to_vec(), st.now())
            .await;
    }
}

/// Tells a revoked device which record removed it (`revoked` without an
/// id), then `error revoked`, then closes.
async fn refuse_revoked(st: &AppState, socket: &mut WebSocket, s: &Session) {
    Metrics::inc(&st.inner.metrics.revoked_disconnects);
    if let Some(record) = st.revoking_record(s.group, s.device, s.token).await {
        let _ = send(st, socket, &RelayFrame::Revoked { id: None, record }).await;
    }
    refuse(
        st,
        socket,
        ErrorCode::Revoked,
        "this device or its session was revoked by a device of the wallet; pair it again to use it",
        (1008, "revoked"),
    )
    .await;
}

/// Sends everything waiting in the session's mailbox; false when the
/// connection is gone or the mailbox cannot be read.
async fn replay(st: &AppState, socket: &mut WebSocket, session: &Session) -> bool {
    let mut after = 0;
    loop {
        let batch = match st
            .inner
            .store
            .pending(
                session.mailbox.clone(),
                after,
                st.inner.config.pending_batch,
                st.now(),
            )
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, device = %session.device, "mailbox read failed");
                let f = RelayFrame::error(
                    None,
                    ErrorCode::Internal,
                    "relay storage unavailable; retry later",
                );
                let _ = send(st, socket, &f).await;
                return false;
            }
        };
        let full = batch.len() == st.inner.config.pending_batch;
        for m in batch {
            after = m.id;
            if let Some(f) = stored_to_frame(&m) {
                if !send(st, socket, &f).await {
                    return false;
                }
                Metrics::inc(&st.inner.metrics.messages_delivered);
            }
        }
        if !full {
            return true;
        }
    }
}

async fn serve(st: &AppState, socket: &mut WebSocket, session: &Session, signal: &Signal) {
    if !Box::pin(replay(st, socket, session)).await {
        return;
    }

    // Acks are queued on the writer without waiting; a request that
    // follows them waits for a barrier (see below).
    let mut acks_queued = false;
    let idle_limit = st.inner.config.idle_timeout;
    let mut heartbeat = tokio::time::interval(idle_limit / 3);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_in = Instant::now();
    // One registration with the `Notify` for the connection's life, renewed
    // only when it fires: a fresh `notified()` per loop turn registered and
    // unregistered a waiter (under the Notify's lock) for every frame
    // (2.5% of the relay's CPU in a profile at 20,000 deliveries/s).
    let wake = signal.wake.notified();
    tokio::pin!(wake);
    // Requests, mailbox replays and the ways a connection ends run as
    // boxed futures (`answer`, `replay`, `end`, `heartbeat_due`): an async
    // fn's state is as large as its largest await, and a connection holds
    // it the whole time it is idle. Unboxed (with the handshake's), every
    // idle connection's task held 4.9 KiB of such state, now 1.1 KiB; a
    // box costs one allocation per request instead. Acks and deliveries,
    // the hot paths, stay inline.
    //
    // Frames were left queued after the last write (at most
    // [`WRITE_BATCH`] go per turn): write more before reading.
    let mut more_out = false;
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    loop {
        // Biased: queued deliveries go out before the next incoming frame is
        // handled, so the answer to a frame (e.g. `pong`) follows everything
        // pushed to this device before the frame arrived.
        tokio::select! {
            biased;
            _ = &mut wake => {
                wake.set(signal.wake.notified());
                let reasons = signal.reasons.fetch_and(!Signal::RESCAN, Ordering::Relaxed);
                if reasons & (Signal::SHUTDOWN | Signal::SLOW | Signal::REVOKED) != 0 {
                    Box::pin(end(st, socket, session, signal, reasons, acks_queued)).await;
                    return;
                }
                if reasons & Signal::RESCAN != 0 && !Box::pin(replay(st, socket, session)).await {
                    return;
                }
                more_out = signal.take(&mut batch, WRITE_BATCH);
                if !write_queued(st, socket, &mut batch).await {
                    return;
                }
            }
            _ = heartbeat.tick() => {
                let quiet = last_in.elapsed();
                if quiet >= idle_limit / 3 && !Box::pin(heartbeat_due(st, socket, quiet >= idle_limit)).await {
                    return;
                }
            }
            () = std::future::ready(()), if more_out => {
                more_out = signal.take(&mut batch, WRITE_BATCH);
                if !write_queued(st, socket, &mut batch).await {
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
                        if !Box::pin(answer(st, socket, session, Err(vec![f]), false)).await { return; }
                        continue;
                    }
                    Message::Close(_) => return,
                    _ => continue,
                };
                Metrics::inc(&st.inner.metrics.frames_in);
                let frame = match dispatch::precheck(st, session, text.as_str()) {
                    Ok(ClientFrame::Ack { id }) => {
                        // Acks do not hold up deliveries, nor wake this task
                        // again: they are queued on the writer (in order)
                        // and commit in the background ...
                        let Ok(id) = i64::try_from(id.0) else { continue };
                        Metrics::inc(&st.inner.metrics.messages_acked);
                        st.inner.store.ack_queued(session.mailbox.clone(), vec![id]);
                        acks_queued = true;
                        continue;
                    }
                    other => other,
                };
                // ... but every request waits for them (see `answer`).
                if !Box::pin(answer(st, socket, session, frame, acks_queued)).await {
                    return;
                }
                acks_queued = false;
            }
        }
    }
}

/// Handles a request (or sends the errors of a frame that is none): after
/// the acks queued before it are durable (a barrier behind them on the
/// writer), so a reply proves them durable. False when the connection is
/// to end.
async fn answer(
    st: &AppState,
    socket: &mut WebSocket,
    session: &Session,
    frame: Result<ClientFrame, Vec<RelayFrame>>,
    acks_queued: bool,
) -> bool {
    if acks_queued {
        let r = st.inner.store.barrier().await;
        st.storage_result(&r);
    }
    let reply = match frame {
        Ok(frame) => dispatch::handle_frame(st, session, frame).await,
        Err(errors) => errors,
    };
    for f in reply {
        if !send(st, socket, &f).await {
            return false;
        }
    }
    if st.is_revoked(session) {
        refuse_revoked(st, socket, session).await;
        return false;
    }
    true
}

/// Ends a connection the relay was asked to end (`reasons`): shutting
/// down, too slow, or revoked.
async fn end(
    st: &AppState,
    socket: &mut WebSocket,
    session: &Session,
    signal: &Signal,
    reasons: u8,
    acks_queued: bool,
) {
    if reasons & Signal::SHUTDOWN != 0 && reasons & Signal::REVOKED == 0 {
        // Deliveries already queued go out, and the acks sent so far
        // commit, before the close: nothing the device was told is lost,
        // and it reconnects for the rest.
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        while signal.take(&mut batch, WRITE_BATCH) || !batch.is_empty() {
            if !write_queued(st, socket, &mut batch).await {
                return;
            }
        }
        if acks_queued {
            let r = st.inner.store.barrier().await;
            st.storage_result(&r);
        }
        Metrics::inc(&st.inner.metrics.shutdown_closes);
        let _ = socket
            .send(close(RESTART, tandem_connect::RESTART_CLOSE_REASON))
            .await;
        return;
    }
    if reasons & Signal::SLOW != 0 {
        refuse(
            st,
            socket,
            ErrorCode::RateLimited,
            "this connection fell too far behind reading its messages; reconnect to get them from the mailbox",
            (1008, "too slow"),
        )
        .await;
        return;
    }
    refuse_revoked(st, socket, session).await;
}

/// A heartbeat found the connection quiet: a ping, or the close when it
/// has been quiet for the whole idle limit. False when the connection is
/// to end.
async fn heartbeat_due(st: &AppState, socket: &mut WebSocket, idle: bool) -> bool {
    if idle {
        refuse(
            st,
            socket,
            ErrorCode::BadFrame,
            "connection idle too long (no frames or pongs); reconnect",
            (1001, "idle"),
        )
        .await;
        return false;
    }
    socket.send(Message::Ping(Default::default())).await.is_ok()
}

/// Most frames a connection writes before one flush.
const WRITE_BATCH: usize = 32;

/// Writes the frames taken from the queue (at most [`WRITE_BATCH`]) with
/// one flush: a device that is sent several frames at once gets them in
/// one write, not one system call each. Times live deliveries (publish ->
/// deliver); leaves `batch` empty.
async fn write_queued(st: &AppState, socket: &mut WebSocket, batch: &mut Vec<Outbound>) -> bool {
    if batch.is_empty() {
        return true;
    }
    for out in batch.iter_mut() {
        Metrics::inc(&st.inner.metrics.frames_out);
        if socket
            .feed(Message::Text(std::mem::take(&mut out.text)))
            .await
            .is_err()
        {
            batch.clear();
            return false;
        }
    }
    let flushed = socket.flush().await.is_ok();
    if flushed {
        for out in batch.iter() {
            observe_delivery(st, out.since_us);
        }
    }
    batch.clear();
    flushed
}

/// Publish -> deliver time of a live delivery (0: not timed).
fn observe_delivery(st: &AppState, since_us: u64) {
    if since_us != 0 {
        let now = st.since_us(Instant::now());
        st.inner
            .metrics
            .publish_deliver
            .observe(Duration::from_micros(now.saturating_sub(since_us)));
    }
}

/// Mailbox topic of revocation notices (pairing and group topics start
/// with other letters, see [`encode_recipient`]).
const REVOKED_TOPIC: &[u8] = b"r";
/// Mailbox topic of `admitted` notices (the payload is the token).
const ADMITTED_TOPIC: &[u8] = b"a";

fn stored_to_frame(m: &StoredMessage) -> Option<RelayFrame> {
    let id = MessageId(u64::try_from(m.id).ok()?);
    if m.topic == REVOKED_TOPIC {
        let record = RevocationRecord::decode(&m.payload).ok()?;
        return Some(RelayFrame::Revoked {
            id: Some(id),
            record,
        });
    }
    if m.topic == ADMITTED_TOPIC {
        let token = tandem_pair::SessionToken::decode(&m.payload).ok()?;
        return Some(RelayFrame::Admitted { id, token });
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
    /// Chain position of the record that revoked this session's device or
    /// token in its group (guests are never revoked).
    fn revoked_seq(
        &self,
        group: Option<GroupId>,
        device: DeviceId,
        token: Option<TokenId>,
    ) -> Option<u32> {
        let group = group?;
        let Ok(r) = self.inner.revoked.lock() else {
            return Some(0);
        };
        r.get(&(group, TargetKind::Device, device.0))
            .or_else(|| token.and_then(|t| r.get(&(group, TargetKind::Token, t.0))))
            .copied()
    }

    fn is_revoked(&self, s: &Session) -> bool {
        self.revoked_seq(s.group, s.device, s.token).is_some()
    }

    /// The record that revoked a device or its token, from the store.
    async fn revoking_record(
        &self,
        group: Option<GroupId>,
        device: DeviceId,
        token: Option<TokenId>,
    ) -> Option<RevocationRecord> {
        let seq = self.revoked_seq(group, device, token)?;
        let group = group?;
        let bytes = self
            .inner
            .store
            .revocations(group.0.to_vec(), seq.checked_sub(1)?, 1)
            .await
            .ok()?;
        RevocationRecord::decode(bytes.first()?).ok()
    }

    /// Records a revocation accepted into `group`'s chain.
    fn mark_revoked(
        &self,
        group: GroupId,
        kind: TargetKind,
        target: [u8; 16],
        device: DeviceId,
        seq: u32,
    ) {
        if let Ok(mut r) = self.inner.revoked.lock() {
            r.insert((group, kind, target), seq);
            r.insert((group, TargetKind::Device, device.0), seq);
        }
    }

    fn unregister(&self, mailbox: &[u8], conn_id: u64) {
        if let Ok(mut hub) = self.inner.hub.lock() {
            if let Some(v) = hub.get_mut(mailbox) {
                v.retain(|h| h.id != conn_id);
                if v.is_empty() {
                    hub.remove(mailbox);
                }
            }
        }
    }

    /// The devices of `group`, from the member cache or the database.
    async fn members(&self, group: GroupId) -> crate::Result<Arc<members::Members>> {
        self.inner
            .members
            .get(
                self.inner.store.as_ref(),
                group,
                &self.inner.metrics.member_loads,
            )
            .await
    }

    /// After a change to `group`'s devices committed here: the cache
    /// forgets the group and reads it again before the change is told to
    /// anyone, so the first publish after it (often the new device's first
    /// sync) does not wait for the database. A failed read only leaves the
    /// group uncached.
    async fn members_changed(&self, group: GroupId) {
        self.inner.members.invalidate(group);
        if let Err(e) = self.members(group).await {
            tracing::warn!(error = %e, "cannot re-read a group's devices; its next publish will");
        }
    }

    /// Another node changed `group`'s devices: forget them, and read them
    /// again in the background if the group was in use here (a node does
    /// not load the groups of every other node's devices).
    fn members_changed_elsewhere(&self, group: GroupId) {
        if self.inner.members.invalidate(group) {
            let st = self.clone();
            tokio::spawn(async move {
                let _ = st.members(group).await;
            });
        }
    }

    /// Whether a mailbox has a live connection.
    fn online(&self, mailbox: &[u8]) -> bool {
        self.inner
            .hub
            .lock()
            .map(|h| h.contains_key(mailbox))
            .unwrap_or(false)
    }

    /// Pushes a frame to every live connection of each mailbox; `since`
    /// is when the publish behind it arrived, for the publish -> deliver
    /// histogram.
    fn push(&self, mailboxes: &[Vec<u8>], frame: &RelayFrame, since: Option<Instant>) {
        // Encoded once; clones share the buffer.
        let text = Utf8Bytes::from(frame.encode());
        let since_us = since.map_or(0, |t| self.since_us(t));
        let Ok(hub) = self.inner.hub.lock() else {
            return;
        };
        for m in mailboxes {
            if let Some(conns) = hub.get(m) {
                for c in conns {
                    // A full queue means the device is not reading: cut it
                    // off; the message is safe in its mailbox.
                    let out = Outbound {
                        text: text.clone(),
                        since_us,
                    };
                    if !c.signal.queue(out) {
                        c.signal.raise(Signal::SLOW);
                    } else {
                        Metrics::inc(&self.inner.metrics.messages_delivered);
                    }
                }
            }
        }
    }

    /// Disconnects every connection of a mailbox (its device was revoked).
    fn kill(&self, mailbox: &[u8]) {
        let Ok(hub) = self.inner.hub.lock() else {
            return;
        };
        for c in hub.get(mailbox).into_iter().flatten() {
            c.signal.raise(Signal::REVOKED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(n: u64) -> Outbound {
        Outbound {
            text: Utf8Bytes::from(n.to_string()),
            since_us: n,
        }
    }

    /// Whether the signal's `Notify` holds a wake-up (polled once).
    fn woken(s: &Signal) -> bool {
        let n = s.wake.notified();
        tokio::pin!(n);
        n.as_mut().enable()
    }

    #[test]
    fn the_outbound_queue_wakes_once_per_burst_and_refuses_a_device_that_is_not_reading() {
        let s = Signal::default();
        assert!(!woken(&s));
        assert!(s.queue(out(1)));
        assert!(s.queue(out(2)));
        // One wake-up for the burst: the task takes until it finds the
        // queue empty.
        assert!(woken(&s));
        assert!(!woken(&s));

        let mut batch = Vec::new();
        assert!(s.take(&mut batch, 1), "one left");
        assert!(!s.take(&mut batch, 8), "drained");
        let got: Vec<u64> = batch.iter().map(|o| o.since_us).collect();
        assert_eq!(got, [1, 2], "in order");
        batch.clear();

        // Empty again: the next frame wakes the task.
        assert!(s.queue(out(3)));
        assert!(woken(&s));
        assert!(!s.take(&mut batch, 8));
        batch.clear();

        for i in 0..OUTBOUND_QUEUE as u64 {
            assert!(s.queue(out(i)));
        }
        assert!(
            !s.queue(out(0)),
            "a full queue refuses (the caller cuts the device off)"
        );
        while s.take(&mut batch, WRITE_BATCH) {
            batch.clear();
        }
        // A drained burst leaves no large buffer behind.
        assert!(s.lock_outbound().capacity() <= SHRINK_ABOVE);
    }
}
