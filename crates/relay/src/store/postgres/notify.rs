//! Cross-node wake-ups through PostgreSQL's own `LISTEN/NOTIFY`.
//!
//! Every transaction that stores messages or accepts a revocation also
//! sends notifications on [`CHANNEL`]; PostgreSQL delivers them to every
//! listening node when (and only if) the transaction commits, in commit
//! order. A node ignores its own (it has already pushed them) and turns the
//! others' into [`Event`]s.
//!
//! Payloads are text (PostgreSQL caps one at 8000 bytes): a first line with
//! the sending node's id, then one line per event:
//!
//! ```text
//! <node id, hex>
//! d <message id> <mailbox hex>,<mailbox hex>,...
//! r <group hex> <kind> <target hex> <device hex> <seq>
//! m <group hex>
//! ```
//!
//! `m` says a group gained a device (or a device's record changed): nodes
//! drop what they cached of that group's members. It is sent in the same
//! transaction as the change, so it reaches every node before anything
//! stored after it (notably the `admitted` notice to the other members).
//!
//! Only ids travel this way, never a payload. A node whose listening
//! connection drops cannot know what it missed: when it is back it emits
//! [`Event::Resync`] and the relay re-reads what its devices need.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client};

use super::super::{Event, MessageId, RevokedEntry, TargetKind};
use crate::Result;

/// The notification channel every node listens on.
pub(super) const CHANNEL: &str = "tandem_relay";

/// Largest payload we send (PostgreSQL's limit is 8000 bytes).
const MAX_PAYLOAD: usize = 7900;

/// Events waiting for the relay; beyond this the listener stops reading
/// them one by one and asks for a [`Event::Resync`] instead.
const QUEUE: usize = 65_536;

/// How often the listening connection proves it is alive.
const HEALTH_EVERY: Duration = Duration::from_secs(5);

/// Builds the notification payloads for a set of event lines.
pub(super) fn payloads(node: u64, lines: &[String]) -> Vec<String> {
    let head = format!("{node:016x}");
    let mut out = Vec::new();
    let mut cur = head.clone();
    for line in lines {
        if cur.len() + 1 + line.len() > MAX_PAYLOAD && cur.len() > head.len() {
            out.push(std::mem::replace(&mut cur, head.clone()));
        }
        cur.push('\n');
        cur.push_str(line);
    }
    if cur.len() > head.len() {
        out.push(cur);
    }
    out
}

/// The line announcing a stored message.
pub(super) fn stored_line(id: MessageId, mailboxes: &[Vec<u8>]) -> String {
    let list: Vec<String> = mailboxes.iter().map(hex::encode).collect();
    format!("d {id} {}", list.join(","))
}

/// The line announcing an accepted revocation.
pub(super) fn revoked_line(e: &RevokedEntry) -> String {
    format!(
        "r {} {} {} {} {}",
        hex::encode(&e.group),
        e.kind.to_i64(),
        hex::encode(&e.target),
        hex::encode(&e.device),
        e.seq
    )
}

/// The line announcing that a group's devices changed.
pub(super) fn members_line(group: &[u8]) -> String {
    format!("m {}", hex::encode(group))
}

/// The events of one payload, unless `node` sent it itself. Lines that do
/// not parse are skipped (a newer node may send kinds this one ignores).
pub(super) fn parse(node: u64, payload: &str) -> Vec<Event> {
    let mut lines = payload.lines();
    let own = format!("{node:016x}");
    if lines.next().is_none_or(|h| h == own) {
        return Vec::new();
    }
    lines.filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Event> {
    let mut w = line.split(' ');
    match w.next()? {
        "d" => {
            let id = w.next()?.parse().ok()?;
            let mailboxes = w
                .next()?
                .split(',')
                .map(hex::decode)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            Some(Event::Stored { id, mailboxes })
        }
        "r" => Some(Event::Revoked(RevokedEntry {
            group: hex::decode(w.next()?).ok()?,
            kind: TargetKind::from_i64(w.next()?.parse().ok()?)?,
            target: hex::decode(w.next()?).ok()?,
            device: hex::decode(w.next()?).ok()?,
            seq: w.next()?.parse().ok()?,
        })),
        "m" => Some(Event::Members {
            group: hex::decode(w.next()?).ok()?,
        }),
        _ => None,
    }
}

/// Sends each of `$1` (text array) as a notification on [`CHANNEL`].
pub(super) const NOTIFY: &str = "SELECT pg_notify('tandem_relay', p) FROM unnest($1::text[]) p";

/// Sends `lines` as notifications inside the caller's transaction (they
/// go out when it commits).
pub(super) async fn notify(
    tx: &tokio_postgres::Transaction<'_>,
    node: u64,
    lines: &[String],
) -> Result<()> {
    tx.execute(NOTIFY, &[&payloads(node, lines)])
        .await
        .map_err(super::pg_err)?;
    Ok(())
}

/// One listening connection: the client and the notifications its
/// connection task forwards (the channel closes when the connection ends).
async fn listen(url: &str) -> Result<(Client, mpsc::UnboundedReceiver<String>)> {
    let (client, mut conn) = super::open(url, super::LISTEN_NAME).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %super::describe(&e), "PostgreSQL notification connection ended");
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(super::pg_err)?;
    Ok((client, rx))
}

/// Starts listening (returning only once `LISTEN` is in place, so nothing
/// committed after this returns is missed) and keeps the listener alive in
/// a task for as long as the relay runs.
pub(super) async fn start(url: String, node: u64) -> Result<mpsc::Receiver<Event>> {
    let first = listen(&url).await?;
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(follow(url, node, first, tx));
    Ok(rx)
}

async fn follow(
    url: String,
    node: u64,
    first: (Client, mpsc::UnboundedReceiver<String>),
    events: mpsc::Sender<Event>,
) {
    let mut current = Some(first);
    let mut backoff = Duration::from_millis(50);
    loop {
        let (client, mut incoming) = match current.take() {
            Some(c) => c,
            None => match listen(&url).await {
                Ok(c) => {
                    backoff = Duration::from_millis(50);
                    tracing::info!(
                        "listening for other relay nodes again; re-reading the mailboxes of the \
                         devices connected here"
                    );
                    // LISTEN is in place: whatever was committed while we
                    // were away is now in the database for the re-read.
                    if events.send(Event::Resync).await.is_err() {
                        return;
                    }
                    c
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "cannot listen for other relay nodes");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        let mut health = tokio::time::interval(HEALTH_EVERY);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        health.tick().await;
        let mut overflowed = false;
        loop {
            tokio::select! {
                n = incoming.recv() => {
                    let Some(payload) = n else { break };
                    for e in parse(node, &payload) {
                        match events.try_send(e) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(_)) => overflowed = true,
                            Err(mpsc::error::TrySendError::Closed(_)) => return,
                        }
                    }
                    // The relay fell behind: one re-read replaces what was dropped.
                    if overflowed && events.send(Event::Resync).await.is_ok() {
                        overflowed = false;
                    }
                }
                _ = health.tick() => {
                    let alive = tokio::time::timeout(HEALTH_EVERY, client.simple_query("SELECT 1")).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!("the PostgreSQL notification connection stopped answering");
                        break;
                    }
                }
            }
        }
        if events.is_closed() {
            return;
        }
        tracing::warn!("lost the PostgreSQL notification connection; reconnecting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notify_statement_names_the_channel() {
        assert!(NOTIFY.contains(&format!("'{CHANNEL}'")));
    }

    #[test]
    fn payloads_round_trip_and_split_under_the_limit() {
        let mailboxes: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 32]).collect();
        let rev = RevokedEntry {
            group: vec![1; 16],
            seq: 3,
            kind: TargetKind::Token,
            target: vec![2; 16],
            device: vec![3; 16],
        };
        let mut lines: Vec<String> = (0..40).map(|i| stored_line(i, &mailboxes)).collect();
        lines.push(revoked_line(&rev));
        lines.push(members_line(&[4; 16]));
        let p = payloads(7, &lines);
        assert!(p.len() > 1 && p.iter().all(|p| p.len() <= MAX_PAYLOAD));
        // Its own node ignores them; another gets every event back.
        assert!(p.iter().all(|p| parse(7, p).is_empty()));
        let events: Vec<Event> = p.iter().flat_map(|p| parse(8, p)).collect();
        assert_eq!(events.len(), 42);
        assert_eq!(
            events[5],
            Event::Stored {
                id: 5,
                mailboxes: mailboxes.clone()
            }
        );
        assert_eq!(events[40], Event::Revoked(rev));
        assert_eq!(events[41], Event::Members { group: vec![4; 16] });
        // Unknown or damaged lines are skipped, not fatal.
        let odd = format!("{:016x}\nx 1 2\nd notanumber ab\nd 9 zz\nd 4 ab", 1);
        assert_eq!(
            parse(2, &odd),
            vec![Event::Stored {
                id: 4,
                mailboxes: vec![vec![0xab]]
            }]
        );
    }
}
