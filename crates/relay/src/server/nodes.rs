//! Several relay nodes on one database: what the others commit reaches the
//! devices connected here.
//!
//! The store reports other nodes' commits as [`Event`]s. A stored message
//! is fetched (once for a run of events) and pushed to the connections of
//! its mailboxes that are here, exactly as if this node had stored it; a
//! revocation is recorded and cuts the removed device off; after events may
//! have been missed, the revoked set is read again and every connection
//! replays its mailbox (deliveries are at least once: devices drop ids
//! they already have).

use std::collections::HashMap;

use tandem_pair::{DeviceId, GroupId};
use tokio::sync::mpsc;

use super::{id16, mailbox_key, stored_to_frame, AppState, Signal};
use crate::{
    metrics::Metrics,
    store::{Event, MessageId, RevokedEntry},
};

/// Most events handled together (one fetch of their messages).
const RUN: usize = 1024;

/// Follows `events` until the store stops sending them.
pub(super) async fn follow(st: AppState, mut events: mpsc::Receiver<Event>) {
    let mut run = Vec::with_capacity(RUN);
    while events.recv_many(&mut run, RUN).await > 0 {
        // Messages for mailboxes connected here, in commit order.
        let mut wanted: Vec<(MessageId, Vec<Vec<u8>>)> = Vec::new();
        for e in run.drain(..) {
            match e {
                Event::Stored { id, mailboxes } => {
                    let here: Vec<Vec<u8>> =
                        mailboxes.into_iter().filter(|m| st.online(m)).collect();
                    if !here.is_empty() {
                        wanted.push((id, here));
                    }
                }
                Event::Revoked(entry) => {
                    deliver(&st, std::mem::take(&mut wanted)).await;
                    revoked(&st, &entry);
                }
                Event::Members { group } => {
                    // Messages stored before the change go out first; the
                    // publishes of devices that hear of it see the new view.
                    deliver(&st, std::mem::take(&mut wanted)).await;
                    if let Some(g) = id16(&group) {
                        st.members_changed_elsewhere(GroupId(g));
                    }
                }
                Event::Resync => {
                    deliver(&st, std::mem::take(&mut wanted)).await;
                    resync(&st).await;
                }
            }
        }
        deliver(&st, wanted).await;
    }
}

async fn deliver(st: &AppState, wanted: Vec<(MessageId, Vec<Vec<u8>>)>) {
    if wanted.is_empty() {
        return;
    }
    let ids = wanted.iter().map(|(id, _)| *id).collect();
    let found = match st.inner.store.messages(ids).await {
        Ok(m) => m,
        Err(e) => {
            // The devices still get them: from their mailbox on the next
            // connection, or at the re-read after the database is back.
            tracing::error!(error = %e, "cannot fetch messages stored by another node");
            return;
        }
    };
    let by_id: HashMap<MessageId, _> = found.iter().map(|m| (m.id, m)).collect();
    for (id, mailboxes) in wanted {
        // Gone: acknowledged (or expired) in the meantime.
        let Some(frame) = by_id.get(&id).and_then(|m| stored_to_frame(m)) else {
            continue;
        };
        st.push(&mailboxes, &frame, None);
        Metrics::inc(&st.inner.metrics.node_deliveries);
    }
}

fn revoked(st: &AppState, e: &RevokedEntry) {
    let (Some(g), Some(t), Some(d)) = (id16(&e.group), id16(&e.target), id16(&e.device)) else {
        return;
    };
    let (group, device) = (GroupId(g), DeviceId(d));
    st.members_changed_elsewhere(group);
    st.mark_revoked(group, e.kind, t, device, e.seq);
    st.kill(&mailbox_key(Some(group), device));
}

async fn resync(st: &AppState) {
    Metrics::inc(&st.inner.metrics.node_resyncs);
    st.inner.members.clear();
    match st.inner.store.revoked().await {
        Ok(all) => {
            for e in &all {
                revoked(st, e);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot re-read revocations"),
    }
    let Ok(hub) = st.inner.hub.lock() else { return };
    for c in hub.values().flatten() {
        c.signal.raise(Signal::RESCAN);
    }
}
