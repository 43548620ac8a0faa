//! Group commit for PostgreSQL: publishes and acks from every connection of
//! this node are queued to one writer task, which folds whatever is waiting
//! into one transaction of a few set-wise statements and one `COMMIT` (one
//! WAL flush for the lot). Replies go out only after `COMMIT` returns, so
//! `published` never runs ahead of the disk.
//!
//! Each job is decided in memory before anything is written (recipients
//! from the subscriptions table, room from the mailboxes as stored), so a
//! refused publish writes nothing and no savepoints are needed; a failing
//! statement fails the whole batch, and every caller in it gets a storage
//! error (nothing in it was acknowledged).

use std::collections::{HashMap, HashSet};

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Client;

use super::{
    super::{split_full, MailboxLimits, MessageId, NewMessage, Published},
    connect_one, drop_unreferenced, notify, pg_err, to_i64, WRITER_NAME,
};
use crate::{Error, Result};

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 4096;

/// A unit of work for the writer.
pub(super) enum Job {
    Publish {
        msg: NewMessage,
        limits: MailboxLimits,
        reply: oneshot::Sender<Result<Published>>,
    },
    Ack {
        mailbox: Vec<u8>,
        ids: Vec<MessageId>,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// Starts the writer on its own connection.
pub(super) fn start(url: String, client: Client, node: u64) -> mpsc::UnboundedSender<Job> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(url, client, node, rx));
    tx
}

async fn run(url: String, client: Client, node: u64, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut client = Some(client);
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        let c = match client.take().filter(|c| !c.is_closed()) {
            Some(c) => c,
            None => match connect_one(&url, WRITER_NAME).await {
                Ok(c) => c,
                Err(e) => {
                    fail(batch, &e);
                    continue;
                }
            },
        };
        let mut c = c;
        match commit(&mut c, node, &batch).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    reply(job, outcome);
                }
            }
            Err(e) => {
                eprintln!("tandem-relay: PostgreSQL batch failed: {e}");
                fail(batch, &e);
            }
        }
        client = Some(c);
    }
}

/// What one job came to, sent once the batch committed.
enum Outcome {
    Published(Result<Published>),
    Acked,
}

fn reply(job: Job, outcome: Outcome) {
    match (job, outcome) {
        (Job::Publish { reply, .. }, Outcome::Published(r)) => {
            let _ = reply.send(r);
        }
        (Job::Ack { reply, .. }, _) => {
            let _ = reply.send(Ok(()));
        }
        (Job::Publish { reply, .. }, Outcome::Acked) => {
            let _ = reply.send(Err(Error::Storage("internal batch mix-up".into())));
        }
    }
}

fn fail(batch: Vec<Job>, e: &Error) {
    for job in batch {
        let err = Err(e.clone());
        match job {
            Job::Publish { reply, .. } => {
                let _ = reply.send(err);
            }
            Job::Ack { reply, .. } => {
                let _ = reply.send(err.map(|_: Published| ()));
            }
        }
    }
}

/// A publish decided in memory: its recipients (possibly none), or why not.
struct Planned {
    recipients: Vec<Vec<u8>>,
    full: Vec<Vec<u8>>,
    expires_at: u64,
}

async fn commit(c: &mut Client, node: u64, batch: &[Job]) -> Result<Vec<Outcome>> {
    let tx = c.transaction().await.map_err(pg_err)?;

    // Acks first: a mailbox's room below counts what is acked here. (A
    // device's ack and its next request never share a batch: the relay
    // waits for the ack before it handles the request.)
    let (ack_boxes, ack_ids): (Vec<&[u8]>, Vec<i64>) = batch
        .iter()
        .filter_map(|j| match j {
            Job::Ack { mailbox, ids, .. } => {
                Some(ids.iter().map(move |id| (mailbox.as_slice(), *id)))
            }
            Job::Publish { .. } => None,
        })
        .flatten()
        .unzip();
    if !ack_ids.is_empty() {
        let gone: Vec<i64> = tx
            .query(
                "DELETE FROM inbox i USING unnest($1::bytea[], $2::int8[]) AS a(mailbox, id) \
                 WHERE i.mailbox = a.mailbox AND i.msg_id = a.id RETURNING i.msg_id",
                &[&ack_boxes, &ack_ids],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        drop_unreferenced(&tx, &gone).await?;
    }

    let publishes: Vec<(&NewMessage, MailboxLimits)> = batch
        .iter()
        .filter_map(|j| match j {
            Job::Publish { msg, limits, .. } => Some((msg, *limits)),
            Job::Ack { .. } => None,
        })
        .collect();
    let mut planned: Vec<Result<Planned>> = Vec::with_capacity(publishes.len());
    if !publishes.is_empty() {
        // Topic subscribers, as stored: another node may have taken them.
        let topics: Vec<&[u8]> = publishes
            .iter()
            .filter(|(m, _)| m.recipients.is_none())
            .map(|(m, _)| m.topic.as_slice())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut subs: HashMap<Vec<u8>, Vec<(Vec<u8>, u64)>> = HashMap::new();
        if !topics.is_empty() {
            for r in tx
                .query(
                    "SELECT topic, mailbox, until FROM subscriptions WHERE topic = ANY($1)",
                    &[&topics],
                )
                .await
                .map_err(pg_err)?
            {
                subs.entry(r.get(0))
                    .or_default()
                    .push((r.get(1), r.get::<_, i64>(2) as u64));
            }
        }
        let candidates: Vec<(Vec<Vec<u8>>, u64)> = publishes
            .iter()
            .map(|(m, _)| candidates(m, &subs))
            .collect();
        // Room in each mailbox, as stored (other nodes fill them too).
        let all: Vec<&[u8]> = candidates
            .iter()
            .flat_map(|(c, _)| c.iter().map(Vec::as_slice))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut usage: HashMap<Vec<u8>, (u64, u64)> = HashMap::new();
        if !all.is_empty() {
            for r in tx
                .query(
                    "SELECT i.mailbox, COUNT(*), COALESCE(SUM(octet_length(m.payload)), 0)::int8 \
                     FROM inbox i JOIN messages m ON m.id = i.msg_id \
                     WHERE i.mailbox = ANY($1) GROUP BY i.mailbox",
                    &[&all],
                )
                .await
                .map_err(pg_err)?
            {
                usage.insert(
                    r.get(0),
                    (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64),
                );
            }
        }
        for ((m, limits), (cands, expires_at)) in publishes.iter().zip(candidates) {
            let len = m.payload.len() as u64;
            let plan = split_full(cands, len, *limits, m.partial, |r| {
                usage.get(r).copied().unwrap_or((0, 0))
            })
            .map(|(recipients, full)| {
                for r in &recipients {
                    let e = usage.entry(r.clone()).or_insert((0, 0));
                    e.0 += 1;
                    e.1 += len;
                }
                Planned {
                    recipients,
                    full,
                    expires_at,
                }
            });
            planned.push(plan);
        }
    }

    // Ids for the accepted publishes, in queue order (one sender's
    // messages are queued in the order it sent them).
    let accepted = planned.iter().filter(|p| p.is_ok()).count();
    let mut ids: Vec<i64> = if accepted == 0 {
        Vec::new()
    } else {
        tx.query(
            "SELECT nextval('messages_id_seq') FROM generate_series(1, $1::int8)",
            &[&(accepted as i64)],
        )
        .await
        .map_err(pg_err)?
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    ids.sort_unstable();
    let mut ids = ids.into_iter();
    let mut rows = MessageRows::default();
    let mut lines = Vec::new();
    let mut published: Vec<Result<Published>> = Vec::with_capacity(planned.len());
    for ((m, _), plan) in publishes.iter().zip(planned) {
        let plan = match plan {
            Ok(p) => p,
            Err(e) => {
                published.push(Err(e));
                continue;
            }
        };
        let id = ids
            .next()
            .ok_or_else(|| Error::Storage("PostgreSQL returned too few message ids".into()))?;
        if !plan.recipients.is_empty() {
            rows.push(id, m, plan.expires_at, &plan.recipients);
            lines.push(notify::stored_line(id, &plan.recipients));
        }
        published.push(Ok(Published {
            id,
            recipients: plan.recipients,
            full: plan.full,
        }));
    }
    rows.insert(&tx).await?;
    notify::notify(&tx, node, &lines).await?;
    tx.commit().await.map_err(pg_err)?;

    let mut published = published.into_iter();
    Ok(batch
        .iter()
        .map(|j| match j {
            Job::Publish { .. } => Outcome::Published(
                published
                    .next()
                    .unwrap_or_else(|| Err(Error::Storage("internal batch mix-up".into()))),
            ),
            Job::Ack { .. } => Outcome::Acked,
        })
        .collect())
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

    async fn insert(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO messages(id, topic, sender, payload, sent_at, expires_at) \
             SELECT * FROM unnest($1::int8[], $2::bytea[], $3::bytea[], $4::bytea[], $5::int8[], $6::int8[])",
            &[
                &self.id,
                &self.topic,
                &self.sender,
                &self.payload,
                &self.sent_at,
                &self.expires_at,
            ],
        )
        .await
        .map_err(pg_err)?;
        tx.execute(
            "INSERT INTO inbox(mailbox, msg_id) SELECT * FROM unnest($1::bytea[], $2::int8[])",
            &[&self.inbox_mailbox, &self.inbox_id],
        )
        .await
        .map_err(pg_err)?;
        Ok(())
    }
}
