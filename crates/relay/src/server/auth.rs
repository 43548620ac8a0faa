//! The `challenge`/`auth` exchange and the membership rules checked there.

use axum::extract::ws::{Message, WebSocket};
use tandem_pair::{
    Capabilities, ClientFrame, ErrorCode, GroupId, IdentityPublic, Membership, Nonce, RelayFrame,
    SessionToken, MAX_MEMBERS,
};

use super::{mailbox_key, refuse, refuse_revoked, send, AppState, Session};
use crate::{membership::Refusal, metrics::Metrics, store::DeviceRecord, Error};

/// Reads frames until a valid `auth`; answers `auth_ok` and returns the
/// session, or sends the refusal and returns `None`.
pub(super) async fn authenticate(
    st: &AppState,
    socket: &mut WebSocket,
    nonce: &Nonce,
) -> Option<Session> {
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
                let f = RelayFrame::error(None, super::dispatch::pair_code(&e), e.to_string());
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
                let revocations = match session.group {
                    None => 0,
                    Some(g) => match st.inner.store.chain_head(g.0.to_vec()).await {
                        Ok(h) => h.map_or(0, |h| h.len),
                        Err(e) => {
                            let (code, message) = internal(e);
                            let _ = send(st, socket, &RelayFrame::error(None, code, message)).await;
                            return None;
                        }
                    },
                };
                // The group's devices into the member cache now rather
                // than at the device's first publish (a failure here is
                // retried there).
                if let Some(g) = session.group {
                    let _ = st.members(g).await;
                }
                let ok = RelayFrame::AuthOk {
                    device: session.device,
                    group: session.group,
                    revocations,
                };
                if !send(st, socket, &ok).await {
                    return None;
                }
                return Some(session);
            }
            Err((code, message)) => {
                Metrics::inc(&st.inner.metrics.auth_failed);
                if code == ErrorCode::Revoked {
                    let s = Session {
                        device: identity.device_id(),
                        group: membership.group(),
                        token: match &membership {
                            Membership::Member { token } => Some(token.id()),
                            _ => None,
                        },
                        caps: Capabilities(0),
                        mailbox: Vec::new(),
                    };
                    refuse_revoked(st, socket, &s).await;
                    return None;
                }
                refuse(st, socket, code, &message, (1008, "auth failed")).await;
                return None;
            }
        }
    }
}

fn internal(e: Error) -> Refusal {
    tracing::error!(error = %e, "authentication could not read the database");
    (
        ErrorCode::Internal,
        "relay storage unavailable; retry later".into(),
    )
}

fn revoked() -> Refusal {
    (ErrorCode::Revoked, String::new())
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
    let now = st.now();
    membership
        .verify(identity, now)
        .map_err(|e| (super::dispatch::pair_code(&e), e.to_string()))?;
    let device = identity.device_id();
    match membership {
        Membership::Guest => Ok(Session {
            device,
            group: None,
            token: None,
            caps: Capabilities(0),
            mailbox: mailbox_key(None, device),
        }),
        Membership::Founder { group, .. } => {
            if st.revoked_seq(Some(*group), device, None).is_some() {
                return Err(revoked());
            }
            register_founder(st, *group, identity, now).await?;
            Ok(Session {
                device,
                group: Some(*group),
                token: None,
                caps: Capabilities::ALL,
                mailbox: mailbox_key(Some(*group), device),
            })
        }
        Membership::Member { token } => {
            let group = token.group();
            let tid = token.id();
            if st.revoked_seq(Some(group), device, Some(tid)).is_some() {
                return Err(revoked());
            }
            let store = &st.inner.store;
            // Only tokens an approving device registered (`admit`) are
            // accepted: the relay never trusts a token just for its signature.
            let known = store
                .token(group.0.to_vec(), tid.0.to_vec())
                .await
                .map_err(internal)?
                .is_some_and(|t| t == token.encode());
            let rec = store
                .device(group.0.to_vec(), device.0.to_vec())
                .await
                .map_err(internal)?;
            let Some(rec) = rec.filter(|_| known) else {
                return Err((
                    ErrorCode::AuthFailed,
                    format!(
                        "session token {tid} is not registered for group {group} at this relay: \
                         the approving device must register it (admit) before this device connects"
                    ),
                ));
            };
            if rec.revoked.is_some() {
                return Err(revoked());
            }
            // A refresh never widens rights; an older token still held may
            // grant more than the current one, which is what counts.
            let current = rec
                .token
                .as_deref()
                .and_then(|t| SessionToken::decode(t).ok())
                .map_or(Capabilities(0), |t| t.capabilities());
            store
                .touch(group.0.to_vec(), device.0.to_vec(), now)
                .await
                .map_err(internal)?;
            Ok(Session {
                device,
                group: Some(group),
                token: Some(tid),
                caps: Capabilities(token.capabilities().0 & current.0),
                mailbox: mailbox_key(Some(group), device),
            })
        }
    }
}

/// Records the founder in its group on its first connection (the group's
/// first device), or refreshes its last-seen time.
async fn register_founder(
    st: &AppState,
    group: GroupId,
    identity: &IdentityPublic,
    now: u64,
) -> Result<(), Refusal> {
    let store = &st.inner.store;
    let device = identity.device_id();
    let _guards = st.membership_lock(&group).await.map_err(internal)?;
    let existing = store
        .device(group.0.to_vec(), device.0.to_vec())
        .await
        .map_err(internal)?;
    match existing {
        // Revoked on another node moments ago: its notice may still be on
        // the way here, the record is not.
        Some(r) if r.revoked.is_some() => Err(revoked()),
        Some(r) if r.founder => store
            .touch(group.0.to_vec(), device.0.to_vec(), now)
            .await
            .map_err(internal),
        existing => {
            if existing.is_none() {
                let count = store
                    .group_devices(group.0.to_vec())
                    .await
                    .map_err(internal)?
                    .len();
                if count >= MAX_MEMBERS {
                    return Err((
                        ErrorCode::TooLarge,
                        format!(
                            "this wallet group already has {MAX_MEMBERS} devices, the most it can hold"
                        ),
                    ));
                }
            }
            store
                .put_device(
                    DeviceRecord {
                        group: group.0.to_vec(),
                        device: device.0.to_vec(),
                        public_key: identity.0.to_vec(),
                        founder: true,
                        token: None,
                        revoked: None,
                        last_seen: Some(now),
                    },
                    None,
                )
                .await
                .map_err(internal)?;
            // A group's first device (or a founder another device knew
            // before it connected): publishes from now on reach it.
            st.inner.members.invalidate(group);
            Ok(())
        }
    }
}
