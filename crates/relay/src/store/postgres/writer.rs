//! Group commit for PostgreSQL: publishes, acks and membership changes
//! from every connection of this node are queued to one writer task, which
//! folds whatever is waiting into one transaction of a few set-wise
//! statements and one `COMMIT` (one WAL flush for the lot). Replies go out
//! only after `COMMIT` returns, so `published` never runs ahead of the
//! disk.
//!
//! Every transaction that notifies the other nodes holds PostgreSQL's
//! notification-queue lock from its `COMMIT` until the commit is flushed,
//! so notifying transactions commit one at a time across the database.
//! Membership changes notify, so they come here too: a batch of them costs
//! one flush under that lock instead of one each (measured: 10,000
//! devices joining took 38-49 s when each committed on its own).
//!
//! Each job is decided in memory before anything is written (recipients
//! from the subscriptions table, room from the mailboxes as stored), so a
//! refused publish writes nothing and no savepoints are needed; a failing
//! statement fails the whole batch, and every caller in it gets a storage
//! error (nothing in it was acknowledged).

use std::collections::{HashMap, HashSet};
use std::sync::{atomic::Ordering, Arc};

use futures_util::future::{join_all, BoxFuture};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, Row, Statement};

use super::{
    super::{
        split_full, DeviceRecord, MailboxLimits, MessageId, NewMessage, Published, WriterStats,
    },
    connect_one, notify, pg_err, to_i64, DROP_UNREFERENCED, WRITER_NAME,
};
use crate::{Error, Result};

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 4096;

/// A device id's length, the tail of a group member's mailbox key.
const DEVICE_ID_LEN: usize = 16;

/// A unit of work for the writer.
pub(super) enum Job {
    Publish {
        msg: NewMessage,
        limits: MailboxLimits,
        reply: oneshot::Sender<Result<Published>>,
    },
    /// Removes acked messages; `reply` None for a queued ack (nobody
    /// waits), and an ack of no ids with a reply is a barrier.
    Ack {
        mailbox: Vec<u8>,
        ids: Vec<MessageId>,
        reply: Option<oneshot::Sender<Result<()>>>,
    },
    /// Stores a group member (and the token it was admitted with); the
    /// other nodes hear that the group's members changed.
    Device {
        rec: DeviceRecord,
        token_id: Option<Vec<u8>>,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// Starts the writer on its own connection.
pub(super) fn start(
    url: String,
    conn: Conn,
    node: u64,
    stats: Arc<WriterStats>,
) -> mpsc::UnboundedSender<Job> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(url, conn, node, rx, stats));
    tx
}

async fn run(
    url: String,
    conn: Conn,
    node: u64,
    mut rx: mpsc::UnboundedReceiver<Job>,
    stats: Arc<WriterStats>,
) {
    let mut client = Some(conn);
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let started = std::time::Instant::now();
        let batch = std::mem::take(&mut jobs);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let c = match client.take().filter(|c| !c.client.is_closed()) {
            Some(c) => c,
            None => match Conn::open(&url).await {
                Ok(c) => c,
                Err(e) => {
                    fail(batch, &e, &stats);
                    continue;
                }
            },
        };
        let done = commit(&c, node, &batch, &stats).await;
        stats.batch.observe(started.elapsed());
        match done {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    reply(job, outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "PostgreSQL batch failed");
                fail(batch, &e, &stats);
            }
        }
        client = Some(c);
    }
}

/// What one job came to, sent once the batch committed.
enum Outcome {
    Published(Result<Published>),
    Done,
}

fn reply(job: Job, outcome: Outcome) {
    match (job, outcome) {
        (Job::Publish { reply, .. }, Outcome::Published(r)) => {
            let _ = reply.send(r);
        }
        (Job::Ack { reply, .. }, _) => {
            if let Some(reply) = reply {
                let _ = reply.send(Ok(()));
            }
        }
        (Job::Device { reply, .. }, _) => {
            let _ = reply.send(Ok(()));
        }
        (Job::Publish { reply, .. }, Outcome::Done) => {
            let _ = reply.send(Err(Error::Storage("internal batch mix-up".into())));
        }
    }
}

fn fail(batch: Vec<Job>, e: &Error, stats: &WriterStats) {
    for job in batch {
        let err = Err(e.clone());
        match job {
            Job::Publish { reply, .. } => {
                let _ = reply.send(err);
            }
            Job::Ack {
                reply: Some(reply), ..
            } => {
                let _ = reply.send(err.map(|_: Published| ()));
            }
            Job::Ack { reply: None, .. } => {
                stats.acks_failed.fetch_add(1, Ordering::Relaxed);
            }
            Job::Device { reply, .. } => {
                let _ = reply.send(err.map(|_: Published| ()));
            }
        }
    }
}

/// The writer's statements, prepared once per connection, so that each
/// runs in one message and a batch's statements go out together
/// (pipelined): two round trips to plan, one to write and commit.
struct Statements {
    ack: Statement,
    drop_unreferenced: Statement,
    subscribers: Statement,
    revoked: Statement,
    usage: Statement,
    ids: Statement,
    messages: Statement,
    inbox: Statement,
    devices: Statement,
    tokens: Statement,
    notify: Statement,
}

impl Statements {
    async fn prepare(c: &Client) -> Result<Self> {
        let p = |sql: &'static str| async move { c.prepare(sql).await.map_err(pg_err) };
        Ok(Self {
            ack: p(
                "DELETE FROM inbox i USING unnest($1::bytea[], $2::int8[]) AS a(mailbox, id) \
                    WHERE i.mailbox = a.mailbox AND i.msg_id = a.id",
            )
            .await?,
            drop_unreferenced: p(DROP_UNREFERENCED).await?,
            subscribers: p(super::SUBSCRIBERS).await?,
            // The group devices a batch names, locked until its COMMIT: a
            // revocation (which updates its device's row) commits either
            // before this read, and the device gets nothing of the batch,
            // or after the batch, whose messages then came first. Another
            // node's cached member list may be a notification behind.
            revoked: p("SELECT c.mailbox, d.revoked IS NOT NULL \
                        FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS c(mailbox, grp, device) \
                        JOIN devices d ON d.grp = c.grp AND d.device = c.device \
                        FOR SHARE OF d")
            .await?,
            // Room in each mailbox a publish may reach, as stored (other
            // nodes fill them too).
            usage: p(
                "SELECT i.mailbox, COUNT(*), COALESCE(SUM(octet_length(m.payload)), 0)::int8 \
                      FROM inbox i JOIN messages m ON m.id = i.msg_id \
                      WHERE i.mailbox = ANY($1::bytea[]) GROUP BY i.mailbox",
            )
            .await?,
            ids: p("SELECT nextval('messages_id_seq') FROM generate_series(1, $1::int8)").await?,
            messages: p(
                "INSERT INTO messages(id, topic, sender, payload, sent_at, expires_at) \
                         SELECT * FROM unnest($1::int8[], $2::bytea[], $3::bytea[], $4::bytea[], \
                         $5::int8[], $6::int8[])",
            )
            .await?,
            inbox: p("INSERT INTO inbox(mailbox, msg_id) \
                      SELECT * FROM unnest($1::bytea[], $2::int8[])")
            .await?,
            // As `put_device` on SQLite: a device stored again keeps the
            // last-seen time it had unless the new record brings one, and
            // its revocation (only a revocation sets that).
            devices: p(
                "INSERT INTO devices(grp, device, public_key, founder, token, revoked, last_seen) \
                 SELECT g, d, k, f, t, NULL, s FROM unnest($1::bytea[], $2::bytea[], \
                 $3::bytea[], $4::bool[], $5::bytea[], $6::int8[]) AS x(g, d, k, f, t, s) \
                 ON CONFLICT(grp, device) DO UPDATE SET \
                 public_key = excluded.public_key, founder = excluded.founder, \
                 token = excluded.token, \
                 last_seen = COALESCE(excluded.last_seen, devices.last_seen)",
            )
            .await?,
            tokens: p("INSERT INTO tokens(grp, token_id, device, token) \
                       SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bytea[]) \
                       ON CONFLICT DO NOTHING")
            .await?,
            notify: p(notify::NOTIFY).await?,
        })
    }
}

/// A writer connection and its statements.
pub(super) struct Conn {
    client: Client,
    st: Statements,
}

impl Conn {
    pub(super) async fn open(url: &str) -> Result<Self> {
        let client = connect_one(url, WRITER_NAME).await?;
        // Plan each batch for its own arrays: a generic plan for "any of
        // these mailboxes" scanned whole tables here (measured 5x slower).
        client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .await
            .map_err(pg_err)?;
        let st = Statements::prepare(&client).await?;
        Ok(Self { client, st })
    }
}

type Rows = std::result::Result<Vec<Row>, tokio_postgres::Error>;

/// Sends `requests` in this order without waiting between them, and waits
/// for every answer; the first error fails them all.
async fn pipeline(requests: Vec<BoxFuture<'_, Rows>>) -> Result<Vec<Vec<Row>>> {
    join_all(requests)
        .await
        .into_iter()
        .collect::<std::result::Result<_, _>>()
        .map_err(pg_err)
}

async fn commit(c: &Conn, node: u64, batch: &[Job], stats: &WriterStats) -> Result<Vec<Outcome>> {
    let r = write(c, node, batch, stats).await;
    if r.is_err() {
        // Whatever failed, the connection must not stay inside the batch.
        let _ = c.client.batch_execute("ROLLBACK").await;
    }
    r
}

async fn write(c: &Conn, node: u64, batch: &[Job], stats: &WriterStats) -> Result<Vec<Outcome>> {
    let (client, st) = (&c.client, &c.st);
    // Acks first: a mailbox's room below counts what is acked here. (A
    // device's ack and its next request never share a batch: the relay
    // waits for a barrier behind the acks before it handles the request.)
    let (ack_boxes, ack_ids): (Vec<&[u8]>, Vec<i64>) = batch
        .iter()
        .filter_map(|j| match j {
            Job::Ack { mailbox, ids, .. } => {
                Some(ids.iter().map(move |id| (mailbox.as_slice(), *id)))
            }
            Job::Publish { .. } | Job::Device { .. } => None,
        })
        .flatten()
        .unzip();
    let publishes: Vec<(&NewMessage, MailboxLimits)> = batch
        .iter()
        .filter_map(|j| match j {
            Job::Publish { msg, limits, .. } => Some((msg, *limits)),
            Job::Ack { .. } | Job::Device { .. } => None,
        })
        .collect();
    let devices = DeviceRows::of(batch);
    // Topic subscribers, as stored: another node may have taken them.
    let topics: Vec<&[u8]> = publishes
        .iter()
        .filter(|(m, _)| m.recipients.is_none())
        .map(|(m, _)| m.topic.as_slice())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // Ids for every publish (a refused one leaves a gap), taken in queue
    // order: one sender's messages are queued in the order it sent them.
    let wanted = publishes.len() as i64;
    // The group mailboxes named (a group's member is its group id, then its
    // 16-byte device id). Share locks: other nodes' batches do not wait.
    let named: Vec<&[u8]> = publishes
        .iter()
        .filter_map(|(m, _)| m.recipients.as_ref())
        .flatten()
        .map(Vec::as_slice)
        .filter(|r| r.len() > DEVICE_ID_LEN)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (named_groups, named_devices): (Vec<&[u8]>, Vec<&[u8]>) = named
        .iter()
        .map(|r| r.split_at(r.len() - DEVICE_ID_LEN))
        .unzip();
    let begin: BoxFuture<'_, Rows> =
        Box::pin(async { client.batch_execute("BEGIN").await.map(|()| Vec::new()) });
    let mut plan = pipeline(vec![
        begin,
        Box::pin(client.query(&st.ack, &[&ack_boxes, &ack_ids])),
        Box::pin(client.query(&st.drop_unreferenced, &[&ack_ids])),
        Box::pin(client.query(&st.subscribers, &[&topics])),
        Box::pin(client.query(&st.revoked, &[&named, &named_groups, &named_devices])),
        Box::pin(client.query(&st.ids, &[&wanted])),
    ])
    .await?;
    let mut ids: Vec<i64> = plan
        .pop()
        .unwrap_or_default()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let revoked: HashSet<Vec<u8>> = plan
        .pop()
        .unwrap_or_default()
        .iter()
        .filter(|r| r.get::<_, bool>(1))
        .map(|r| r.get(0))
        .collect();
    let mut subs: HashMap<Vec<u8>, Vec<(Vec<u8>, u64)>> = HashMap::new();
    for r in plan.pop().unwrap_or_default() {
        subs.entry(r.get(0))
            .or_default()
            .push((r.get(1), r.get::<_, i64>(2) as u64));
    }
    ids.sort_unstable();
    if ids.len() != publishes.len() {
        return Err(Error::Storage(
            "PostgreSQL returned the wrong number of message ids".into(),
        ));
    }
    let candidates: Vec<(Vec<Vec<u8>>, u64)> = publishes
        .iter()
        .map(|(m, _)| {
            let (mut c, expires_at) = candidates(m, &subs);
            c.retain(|r| !revoked.contains(r));
            (c, expires_at)
        })
        .collect();
    let all: Vec<&[u8]> = candidates
        .iter()
        .flat_map(|(c, _)| c.iter().map(Vec::as_slice))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut usage: HashMap<Vec<u8>, (u64, u64)> = client
        .query(&st.usage, &[&all])
        .await
        .map_err(pg_err)?
        .iter()
        .map(|r| {
            (
                r.get(0),
                (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64),
            )
        })
        .collect();

    // Decide every publish in memory, in queue order.
    let mut rows = MessageRows::default();
    let mut lines = Vec::new();
    let mut published: Vec<Result<Published>> = Vec::with_capacity(publishes.len());
    for (((m, limits), id), (cands, expires_at)) in publishes.iter().zip(ids).zip(candidates) {
        let len = m.payload.len() as u64;
        let split = split_full(cands, len, *limits, m.partial, |r| {
            usage.get(r).copied().unwrap_or((0, 0))
        });
        let (recipients, full) = match split {
            Ok(s) => s,
            Err(e) => {
                published.push(Err(e));
                continue;
            }
        };
        for r in &recipients {
            let e = usage.entry(r.clone()).or_insert((0, 0));
            e.0 += 1;
            e.1 += len;
        }
        if !recipients.is_empty() {
            rows.push(id, m, expires_at, &recipients);
            lines.push(notify::stored_line(id, &recipients));
        }
        published.push(Ok(Published {
            id,
            recipients,
            full,
        }));
    }

    lines.extend(devices.groups.iter().map(|g| notify::members_line(g)));
    let payloads = notify::payloads(node, &lines);
    let commit: BoxFuture<'_, Rows> =
        Box::pin(async { client.batch_execute("COMMIT").await.map(|()| Vec::new()) });
    // A failed statement aborts the transaction and PostgreSQL turns the
    // COMMIT into a rollback: every answer is checked.
    let committing = std::time::Instant::now();
    let device_params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &devices.group,
        &devices.device,
        &devices.public_key,
        &devices.founder,
        &devices.token,
        &devices.last_seen,
    ];
    let token_params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
        &devices.token_group,
        &devices.token_id,
        &devices.token_device,
        &devices.token_value,
    ];
    let mut writes: Vec<BoxFuture<'_, Rows>> = Vec::with_capacity(2);
    if !devices.group.is_empty() {
        writes.push(Box::pin(client.query(&st.devices, &device_params)));
        writes.push(Box::pin(client.query(&st.tokens, &token_params)));
    }
    let written = pipeline(
        writes
            .into_iter()
            .chain::<[BoxFuture<'_, Rows>; 4]>([
                Box::pin(client.query(
                    &st.messages,
                    &[
                        &rows.id,
                        &rows.topic,
                        &rows.sender,
                        &rows.payload,
                        &rows.sent_at,
                        &rows.expires_at,
                    ],
                )),
                Box::pin(client.query(&st.inbox, &[&rows.inbox_mailbox, &rows.inbox_id])),
                Box::pin(client.query(&st.notify, &[&payloads])),
                commit,
            ])
            .collect(),
    )
    .await;
    stats.commit.observe(committing.elapsed());
    written?;

    let mut published = published.into_iter();
    Ok(batch
        .iter()
        .map(|j| match j {
            Job::Publish { .. } => Outcome::Published(
                published
                    .next()
                    .unwrap_or_else(|| Err(Error::Storage("internal batch mix-up".into()))),
            ),
            Job::Ack { .. } | Job::Device { .. } => Outcome::Done,
        })
        .collect())
}

/// Columns of the device rows (and tokens) one batch stores, sent as
/// arrays. A device stored twice in one batch is stored as the later job
/// has it (one statement may not change a row twice); the relay's group
/// lock keeps that from happening, this keeps it harmless.
#[derive(Default)]
struct DeviceRows<'a> {
    group: Vec<&'a [u8]>,
    device: Vec<&'a [u8]>,
    public_key: Vec<&'a [u8]>,
    founder: Vec<bool>,
    token: Vec<Option<&'a [u8]>>,
    last_seen: Vec<Option<i64>>,
    token_group: Vec<&'a [u8]>,
    token_id: Vec<&'a [u8]>,
    token_device: Vec<&'a [u8]>,
    token_value: Vec<&'a [u8]>,
    /// Each group changed, once.
    groups: std::collections::BTreeSet<&'a [u8]>,
}

impl<'a> DeviceRows<'a> {
    fn of(batch: &'a [Job]) -> Self {
        let mut rows = Self::default();
        let mut last: HashMap<(&[u8], &[u8]), usize> = HashMap::new();
        let jobs: Vec<(&DeviceRecord, Option<&Vec<u8>>)> = batch
            .iter()
            .filter_map(|j| match j {
                Job::Device { rec, token_id, .. } => Some((rec, token_id.as_ref())),
                Job::Publish { .. } | Job::Ack { .. } => None,
            })
            .collect();
        for (i, (rec, _)) in jobs.iter().enumerate() {
            last.insert((&rec.group, &rec.device), i);
        }
        for (i, (rec, token_id)) in jobs.iter().enumerate() {
            rows.groups.insert(&rec.group);
            if let (Some(id), Some(token)) = (token_id, &rec.token) {
                rows.token_group.push(&rec.group);
                rows.token_id.push(id);
                rows.token_device.push(&rec.device);
                rows.token_value.push(token);
            }
            if last.get(&(rec.group.as_slice(), rec.device.as_slice())) != Some(&i) {
                continue;
            }
            rows.group.push(&rec.group);
            rows.device.push(&rec.device);
            rows.public_key.push(&rec.public_key);
            rows.founder.push(rec.founder);
            rows.token.push(rec.token.as_deref());
            rows.last_seen.push(rec.last_seen.map(to_i64));
        }
        rows
    }
}

/// Candidate mailboxes of a publish and its (possibly lowered) expiry.
fn candidates(m: &NewMessage, subs: &HashMap<Vec<u8>, Vec<(Vec<u8>, u64)>>) -> (Vec<Vec<u8>>, u64) {
    match &m.recipients {
        Some(r) => {
            // A mailbox named twice holds the message once.
            let mut seen = HashSet::new();
            let unique = r
                .iter()
                .filter(|x| seen.insert(x.as_slice()))
                .cloned()
                .collect();
            (unique, m.expires_at)
        }
        None => {
            let live: Vec<&(Vec<u8>, u64)> = subs
                .get(&m.topic)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter(|(d, until)| *d != m.sender_mailbox && *until > m.sent_at)
                .collect();
            // Nothing outlives the subscription that brought it.
            let expires_at = live
                .iter()
                .map(|(_, until)| *until)
                .min()
                .map_or(m.expires_at, |end| m.expires_at.min(end));
            (
                live.into_iter().map(|(d, _)| d.clone()).collect(),
                expires_at,
            )
        }
    }
}

/// Columns of the rows one batch inserts, sent as arrays.
#[derive(Default)]
struct MessageRows<'a> {
    id: Vec<i64>,
    topic: Vec<&'a [u8]>,
    sender: Vec<&'a [u8]>,
    payload: Vec<&'a [u8]>,
    sent_at: Vec<i64>,
    expires_at: Vec<i64>,
    inbox_mailbox: Vec<Vec<u8>>,
    inbox_id: Vec<i64>,
}

impl<'a> MessageRows<'a> {
    fn push(&mut self, id: i64, m: &'a NewMessage, expires_at: u64, recipients: &[Vec<u8>]) {
        self.id.push(id);
        self.topic.push(&m.topic);
        self.sender.push(&m.sender);
        self.payload.push(&m.payload);
        self.sent_at.push(to_i64(m.sent_at));
        self.expires_at.push(to_i64(expires_at));
        for r in recipients {
            self.inbox_mailbox.push(r.clone());
            self.inbox_id.push(id);
        }
    }
}
