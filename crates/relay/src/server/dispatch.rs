//! Requests of an authenticated device: one function per frame kind.

use std::time::Instant;

use tandem_pair::{
    frame::{MAX_FRAME_BYTES, MAX_REVOCATIONS_PER_FRAME, MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTION_SECS},
    Bytes, Capabilities, ClientFrame, DeviceId, ErrorCode, GroupId, IdentityPublic, MemberInfo,
    MessageId, Recipient, RelayFrame, RevocationRecord, RevocationTarget, SessionToken, Topic,
};

use super::{
    encode_recipient, mailbox_device, mailbox_key, AppState, Session, ADMITTED_TOPIC, REVOKED_TOPIC,
};
use crate::{
    membership::{check_admit, check_revocation, Admission, GroupView, Refusal},
    metrics::Metrics,
    store::{DeviceRecord, MailboxLimits, NewMessage, NewRevocation, Subscribed, TargetKind},
    Error,
};

/// Error code for a `tandem-pair` parse or check failure.
pub(super) fn pair_code(e: &tandem_pair::Error) -> ErrorCode {
    match e.kind() {
        "too_large" => ErrorCode::TooLarge,
        "unsupported_version" => ErrorCode::UnsupportedVersion,
        "revoked" => ErrorCode::Revoked,
        "malformed" => ErrorCode::BadFrame,
        _ => ErrorCode::AuthFailed,
    }
}

fn err(req: u64, (code, message): Refusal) -> Vec<RelayFrame> {
    vec![RelayFrame::error(Some(req), code, message)]
}

fn forbidden(req: u64, message: impl Into<String>) -> Vec<RelayFrame> {
    err(req, (ErrorCode::Forbidden, message.into()))
}

fn req_of(f: &ClientFrame) -> Option<u64> {
    match f {
        ClientFrame::Subscribe { req, .. }
        | ClientFrame::Unsubscribe { req, .. }
        | ClientFrame::Publish { req, .. }
        | ClientFrame::BlobPut { req, .. }
        | ClientFrame::BlobGet { req, .. }
        | ClientFrame::Revoke { req, .. }
        | ClientFrame::Admit { req, .. }
        | ClientFrame::Revocations { req, .. }
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
pub(super) fn precheck(
    st: &AppState,
    s: &Session,
    text: &str,
) -> Result<ClientFrame, Vec<RelayFrame>> {
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

pub(super) async fn handle_frame(
    st: &AppState,
    s: &Session,
    frame: ClientFrame,
) -> Vec<RelayFrame> {
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
                    tracing::error!(error = %e, device = %s.device, "request failed");
                    "relay storage unavailable; retry later".to_string()
                }
                _ => e.to_string(),
            };
            vec![RelayFrame::error(req, code, message)]
        }
    }
}

/// The session's group, or the refusal for a guest.
fn group_of(s: &Session, req: u64, what: &str) -> Result<GroupId, Vec<RelayFrame>> {
    s.group.ok_or_else(|| {
        forbidden(
            req,
            format!(
                "a device that is not paired cannot {what}; only pairing topics are open to it"
            ),
        )
    })
}

/// The session's capability check (founder = all, member = its token's).
fn require(s: &Session, req: u64, cap: Capabilities, what: &str) -> Result<(), Vec<RelayFrame>> {
    if s.caps.contains(cap) {
        Ok(())
    } else {
        Err(forbidden(
            req,
            format!("this device's session token does not allow it to {what}"),
        ))
    }
}

macro_rules! check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(frames) => return Ok(frames),
        }
    };
}

async fn dispatch(
    st: &AppState,
    s: &Session,
    frame: ClientFrame,
) -> crate::Result<Vec<RelayFrame>> {
    let store = &st.inner.store;
    let now = st.now();
    Ok(match frame {
        ClientFrame::Auth { .. } => vec![RelayFrame::error(
            None,
            ErrorCode::BadFrame,
            "already authenticated; auth is only valid as the first frame",
        )],
        ClientFrame::Ping { req } => vec![RelayFrame::Pong { req }],
        ClientFrame::Subscribe { req, topic, until } => {
            subscribe(st, s, req, topic, until, now).await?
        }
        ClientFrame::Unsubscribe { req, topic } => {
            store
                .unsubscribe(
                    s.mailbox.clone(),
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
            store.ack(s.mailbox.clone(), vec![id]).await?;
            Metrics::inc(&st.inner.metrics.messages_acked);
            vec![]
        }
        ClientFrame::Publish { req, to, payload } => publish(st, s, req, to, payload, now).await?,
        ClientFrame::BlobPut {
            req,
            key,
            value,
            expected,
        } => {
            let group = check!(group_of(s, req, "store blobs"));
            check!(require(s, req, Capabilities::MESSAGE, "store blobs"));
            let max = st.inner.config.blob_max_bytes;
            if value.0.len() > max {
                return Ok(err(
                    req,
                    (
                        ErrorCode::TooLarge,
                        format!("blob of {} bytes is over the limit of {max}", value.0.len()),
                    ),
                ));
            }
            let used = store.blob_usage(group.0.to_vec()).await?;
            let old = store
                .blob_get(group.0.to_vec(), key.as_bytes().to_vec())
                .await?
                .map_or(0, |b| b.value.len() as u64);
            let quota = st.inner.config.blob_quota_bytes;
            if used - old.min(used) + value.0.len() as u64 > quota {
                return Ok(err(req, (ErrorCode::TooLarge, format!("the group's blob storage quota of {quota} bytes is used up; delete or shrink blobs"))));
            }
            let version = match store
                .blob_put(group.0.to_vec(), key.into_bytes(), value.0, expected, now)
                .await
            {
                Ok(v) => v,
                Err(e @ crate::Error::BlobVersionConflict { .. }) => {
                    return Ok(err(req, (ErrorCode::Conflict, e.to_string())));
                }
                Err(e) => return Err(e),
            };
            Metrics::inc(&st.inner.metrics.blob_puts);
            vec![RelayFrame::BlobStored { req, version }]
        }
        ClientFrame::BlobGet { req, key } => {
            let group = check!(group_of(s, req, "read blobs"));
            check!(require(s, req, Capabilities::MESSAGE, "read blobs"));
            let blob = store
                .blob_get(group.0.to_vec(), key.as_bytes().to_vec())
                .await?;
            Metrics::inc(&st.inner.metrics.blob_gets);
            let version = blob.as_ref().map_or(0, |b| b.version);
            vec![RelayFrame::Blob {
                req,
                key,
                value: blob.map(|b| Bytes(b.value)),
                version,
            }]
        }
        ClientFrame::Members { req } => {
            let group = check!(group_of(s, req, "list devices"));
            let mut members = Vec::new();
            for r in store.group_devices(group.0.to_vec()).await? {
                let (Ok(d), Ok(k)) = (
                    <[u8; 16]>::try_from(r.device.as_slice()),
                    <[u8; 32]>::try_from(r.public_key.as_slice()),
                ) else {
                    continue;
                };
                let device = DeviceId(d);
                let online = st.online(&mailbox_key(Some(group), device));
                members.push(MemberInfo {
                    device,
                    identity: IdentityPublic(k),
                    founder: r.founder,
                    revoked: r.revoked.is_some(),
                    last_seen: if online { Some(now) } else { r.last_seen },
                });
            }
            vec![RelayFrame::Members { req, members }]
        }
        ClientFrame::Revocations { req, after } => {
            let group = check!(group_of(s, req, "read revocations"));
            let total = store
                .chain_head(group.0.to_vec())
                .await?
                .map_or(0, |h| h.len);
            let mut records = Vec::new();
            for bytes in store
                .revocations(group.0.to_vec(), after, MAX_REVOCATIONS_PER_FRAME)
                .await?
            {
                records.push(RevocationRecord::decode(&bytes).map_err(|e| {
                    Error::Storage(format!("stored revocation record is unreadable: {e}"))
                })?);
            }
            vec![RelayFrame::Revocations {
                req,
                records,
                total,
            }]
        }
        ClientFrame::Admit { req, token } => admit(st, s, req, token, now).await?,
        ClientFrame::Revoke { req, record } => revoke(st, s, req, record, now).await?,
    })
}

async fn subscribe(
    st: &AppState,
    s: &Session,
    req: u64,
    topic: Topic,
    until: Option<u64>,
    now: u64,
) -> crate::Result<Vec<RelayFrame>> {
    // A pairing topic lives as long as its offer, and never long.
    let latest = now.saturating_add(MAX_SUBSCRIPTION_SECS);
    let until = until.map_or(latest, |u| u.min(latest));
    if until <= now {
        return Ok(err(
            req,
            (
                ErrorCode::BadFrame,
                "the subscription would end before it starts (`until` is in the past); \
                 the pairing offer has expired"
                    .into(),
            ),
        ));
    }
    // Count-then-insert of one mailbox and of one topic runs alone.
    let topic_key = encode_recipient(&Recipient::Topic(topic));
    let _guards = st.lock_two(&s.mailbox, &topic_key).await;
    let outcome = st
        .inner
        .store
        .subscribe(s.mailbox.clone(), topic_key, until, now, MAX_SUBSCRIPTIONS)
        .await?;
    if outcome == Subscribed::TopicFull {
        return Ok(err(
            req,
            (
                ErrorCode::Forbidden,
                "this pairing code is already in use by two devices (the new device and the one \
                 that answered it first); pairing codes work once: show a new QR code"
                    .into(),
            ),
        ));
    }
    if outcome == Subscribed::TooMany {
        return Ok(err(
            req,
            (
                ErrorCode::RateLimited,
                format!(
                    "this device already holds {MAX_SUBSCRIPTIONS} pairing-topic subscriptions, the most at once; \
                     unsubscribe one or wait until one ends (at most {MAX_SUBSCRIPTION_SECS} s)"
                ),
            ),
        ));
    }
    Ok(vec![RelayFrame::Ok { req }])
}

async fn publish(
    st: &AppState,
    s: &Session,
    req: u64,
    to: Recipient,
    payload: Bytes,
    now: u64,
) -> crate::Result<Vec<RelayFrame>> {
    let arrived = Instant::now();
    let store = &st.inner.store;
    let (recipients, partial) = match &to {
        Recipient::Topic(_) => (None, false),
        Recipient::Device(d) => {
            let group = check!(group_of(s, req, "publish to a device"));
            check!(require(s, req, Capabilities::MESSAGE, "send messages"));
            let members = st.members(group).await?;
            match members.revoked(*d) {
                None => {
                    return Ok(err(
                        req,
                        (
                            ErrorCode::NotFound,
                            format!("device {d} is not a device of your group at this relay"),
                        ),
                    ))
                }
                Some(true) => return Ok(forbidden(req, format!("device {d} was revoked"))),
                Some(false) => (Some(vec![mailbox_key(Some(group), *d)]), false),
            }
        }
        Recipient::Group => {
            let group = check!(group_of(s, req, "publish to a group"));
            check!(require(s, req, Capabilities::MESSAGE, "send messages"));
            let members = st.members(group).await?;
            let recipients = members.active_others(group, s.device);
            // One member's full mailbox must not silence the group.
            (Some(recipients), true)
        }
    };
    let published = store
        .publish(
            NewMessage {
                topic: encode_recipient(&to),
                sender: s.device.0.to_vec(),
                sender_mailbox: s.mailbox.clone(),
                payload: payload.0.clone(),
                sent_at: now,
                expires_at: now.saturating_add(st.inner.config.message_ttl.as_secs()),
                recipients,
                partial,
            },
            st.inner.config.mailbox,
        )
        .await;
    st.storage_result(&published);
    let published = published?;
    st.inner.metrics.publish_durable.observe(arrived.elapsed());
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
        Some(arrived),
    );
    Ok(vec![RelayFrame::Published {
        req,
        id,
        full: published
            .full
            .iter()
            .filter_map(|m| mailbox_device(m))
            .collect(),
    }])
}

/// Mailboxes of a group's active devices other than `sender`.
fn active_others(group: GroupId, members: &[DeviceRecord], sender: DeviceId) -> Vec<Vec<u8>> {
    members
        .iter()
        .filter(|r| r.revoked.is_none() && r.device != sender.0)
        .filter_map(|r| <[u8; 16]>::try_from(r.device.as_slice()).ok())
        .map(|d| mailbox_key(Some(group), DeviceId(d)))
        .collect()
}

/// The group as stored now (call with the group's lock held).
async fn load_view(st: &AppState, group: GroupId) -> crate::Result<(GroupView, Vec<DeviceRecord>)> {
    let store = &st.inner.store;
    let records = store.group_devices(group.0.to_vec()).await?;
    let head = store.chain_head(group.0.to_vec()).await?;
    let view = GroupView::load(group, &records, head).map_err(Error::Storage)?;
    Ok((view, records))
}

async fn admit(
    st: &AppState,
    s: &Session,
    req: u64,
    token: SessionToken,
    now: u64,
) -> crate::Result<Vec<RelayFrame>> {
    let group = check!(group_of(s, req, "approve devices"));
    // Held until the notice is stored, so it reaches every mailbox in the
    // same order as revocations.
    let _guards = st.membership_lock(&group).await?;
    let (view, records) = load_view(st, group).await?;
    let admission = match check_admit(&view, s.device, &token, now) {
        Ok(a) => a,
        Err(r) => return Ok(err(req, r)),
    };
    let store = &st.inner.store;
    let tid = token.id();
    let encoded = token.encode();
    if let Some(known) = store.token(group.0.to_vec(), tid.0.to_vec()).await? {
        if known != encoded {
            return Ok(forbidden(
                req,
                format!("token id {tid} is already used by another token of this group; issue a new token"),
            ));
        }
    }
    if admission != Admission::Unchanged {
        let subject = token.subject();
        store
            .put_device(
                DeviceRecord {
                    group: group.0.to_vec(),
                    device: subject.device_id().0.to_vec(),
                    public_key: subject.0.to_vec(),
                    founder: false,
                    token: Some(encoded),
                    revoked: None,
                    last_seen: None,
                },
                Some(tid.0.to_vec()),
            )
            .await?;
        // Before anyone hears of it: the next publish reaches the new device.
        st.members_changed(group).await;
        Metrics::inc(&st.inner.metrics.admits);
        // Every other member learns the token from the relay, in order with
        // the chain, whatever becomes of the approver's own announcement.
        let recipients = active_others(group, &records, s.device);
        let published = store
            .publish(
                NewMessage {
                    topic: ADMITTED_TOPIC.to_vec(),
                    sender: s.device.0.to_vec(),
                    sender_mailbox: s.mailbox.clone(),
                    payload: token.encode(),
                    sent_at: now,
                    expires_at: now.saturating_add(st.inner.config.message_ttl.as_secs()),
                    recipients: Some(recipients),
                    partial: false,
                },
                // Like a revocation, never dropped for a full mailbox.
                MailboxLimits::UNLIMITED,
            )
            .await?;
        st.push(
            &published.recipients,
            &RelayFrame::Admitted {
                id: MessageId(published.id as u64),
                token,
            },
            None,
        );
    }
    Ok(vec![RelayFrame::Ok { req }])
}

async fn revoke(
    st: &AppState,
    s: &Session,
    req: u64,
    record: RevocationRecord,
    now: u64,
) -> crate::Result<Vec<RelayFrame>> {
    let group = check!(group_of(s, req, "revoke"));
    // Held until the fan-out is stored, so notices reach every mailbox in
    // chain order.
    let _guards = st.membership_lock(&group).await?;
    let (view, records) = load_view(st, group).await?;
    let removed = match check_revocation(&view, s.device, &record, now) {
        Ok(d) => d,
        Err(r) => return Ok(err(req, r)),
    };
    let (kind, target) = match record.target() {
        RevocationTarget::Device(d) => (TargetKind::Device, d.0),
        RevocationTarget::Token(t) => (TargetKind::Token, t.0),
    };
    let encoded = record.encode();
    let store = &st.inner.store;
    let appended = store
        .append_revocation(NewRevocation {
            group: group.0.to_vec(),
            seq: record.seq(),
            kind,
            target: target.to_vec(),
            device: removed.0.to_vec(),
            record: encoded.clone(),
            at: now,
        })
        .await?;
    if !appended {
        return Ok(err(
            req,
            (
                ErrorCode::Conflict,
                "another revocation took this position of the chain first; fetch the chain (revocations) and retry".into(),
            ),
        ));
    }
    Metrics::inc(&st.inner.metrics.revocations);
    // No publish from now on reaches the removed device.
    st.members_changed(group).await;
    st.mark_revoked(group, kind, target, removed, record.seq());
    // The removed device learns which record removed it, then is cut off;
    // nothing waiting for it can ever be fetched again.
    let removed_mailbox = mailbox_key(Some(group), removed);
    st.kill(&removed_mailbox);
    store.forget_device(removed_mailbox).await?;
    // Every other remaining member gets the record through its mailbox, so
    // offline devices learn it when they return.
    let others: Vec<DeviceRecord> = records
        .into_iter()
        .filter(|r| r.device != removed.0)
        .collect();
    let recipients = active_others(group, &others, s.device);
    let published = store
        .publish(
            NewMessage {
                topic: REVOKED_TOPIC.to_vec(),
                sender: s.device.0.to_vec(),
                sender_mailbox: s.mailbox.clone(),
                payload: encoded,
                sent_at: now,
                expires_at: now.saturating_add(st.inner.config.message_ttl.as_secs()),
                recipients: Some(recipients),
                partial: false,
            },
            // A revocation must never be dropped for a full mailbox.
            MailboxLimits::UNLIMITED,
        )
        .await?;
    st.push(
        &published.recipients,
        &RelayFrame::Revoked {
            id: Some(MessageId(published.id as u64)),
            record,
        },
        None,
    );
    Ok(vec![RelayFrame::Ok { req }])
}
