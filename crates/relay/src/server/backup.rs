//! `GET`, `PUT` and `DELETE /v1/backup/<id>`: the encrypted backups that
//! restore a wallet's synced metadata from its recovery phrase
//! (`tandem_pair::backup`, `docs/protocol.md`).
//!
//! A device restoring has no group yet, so this path is not a group's: it
//! is plain HTTP, and what protects a backup is its keys. Anyone may read a
//! backup by its id (a hash no one can guess without the phrase; the
//! contents are sealed under a key only the phrase gives). A write must be
//! signed by the key whose hash is the id, and every later write or delete
//! by the key the first write registered, with a counter above the stored
//! one, so a recorded request cannot be played again. Each request costs a
//! token of its address's bucket (the relay's `--rate`/`--rate-burst`), and
//! a backup is at most [`MAX_BACKUP_BYTES`].
//!
//! Every answer carries `Access-Control-Allow-Origin: *` (and `OPTIONS`
//! answers the preflight): the extension's worker and the phone app fetch
//! it from their own origins; nothing here depends on cookies or origins.

use std::{net::SocketAddr, time::Instant};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use tandem_pair::backup::{
    BackupId, BackupPublic, BackupRefusal, DeleteBackup, PutBackup, StoredBackup, MAX_BACKUP_BYTES,
};

use super::AppState;
use crate::Error;

/// The largest request body: a backup in base64 inside its JSON.
const BODY_LIMIT: usize = MAX_BACKUP_BYTES / 3 * 4 + 64 * 1024;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/backup/{id}",
            get(read).put(write).delete(remove).options(preflight),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

fn cors(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A refusal: its status, stable code, message and (for `stale`) the
/// counter held; answered with [`BackupRefusal`] and the CORS header.
struct Refused {
    status: StatusCode,
    error: &'static str,
    message: String,
    counter: Option<u64>,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        cors(
            (
                self.status,
                Json(BackupRefusal {
                    error: self.error.into(),
                    message: self.message,
                    counter: self.counter,
                }),
            )
                .into_response(),
        )
    }
}

fn refuse(status: StatusCode, error: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        status,
        error,
        message: message.into(),
        counter: None,
    }
}

fn stored(s: StoredBackup) -> Response {
    cors(Json(s).into_response())
}

/// The store's refusals as answers; anything else is the relay's own
/// failure (details in its log only).
fn store_error(e: Error) -> Refused {
    match e {
        Error::BackupStale { current } => Refused {
            counter: Some(current),
            ..refuse(
                StatusCode::CONFLICT,
                "stale",
                format!("the backup is at counter {current}; write above it"),
            )
        },
        Error::BackupKey => refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this backup belongs to another key",
        ),
        e => {
            tracing::error!(error = %e, "backup storage failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the relay could not store or read the backup; try again later",
            )
        }
    }
}

/// Takes a token of the client address's bucket, or the refusal.
fn admit(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Refused> {
    let ip = st.inner.config.proxies.client_ip(peer.ip(), headers);
    let key = match ip {
        std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(a) => a.octets(),
    };
    let c = &st.inner.config;
    if st
        .inner
        .backup_rate
        .allow(key, c.rate_per_sec, c.rate_burst, Instant::now())
    {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many backup requests from your address; wait a moment",
        ))
    }
}

fn backup_id(text: &str) -> Result<BackupId, Refused> {
    BackupId::from_hex(text).map_err(|_| {
        refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a backup id is 64 hex characters",
        )
    })
}

fn body<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Refused> {
    serde_json::from_slice(bytes).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the request is not a backup {what}: {e}"),
        )
    })
}

fn refused(e: &tandem_pair::Error) -> Refused {
    match e {
        tandem_pair::Error::TooLarge { len, max, .. } => refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the backup is {len} bytes; at most {max} are stored"),
        ),
        e => refuse(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
    }
}

async fn preflight() -> Response {
    let mut res = cors(StatusCode::NO_CONTENT.into_response());
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, PUT, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    res
}

async fn read(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let run = async {
        admit(&st, peer, &headers)?;
        let id = backup_id(&id)?;
        match st.inner.store.backup_get(id.0.to_vec()).await {
            Ok(Some(row)) => Ok::<Response, Refused>(stored(StoredBackup {
                counter: row.counter,
                data: row.value.map(tandem_pair::Bytes),
                updated_at: row.updated_at,
            })),
            Ok(None) => Err(refuse(
                StatusCode::NOT_FOUND,
                "not_found",
                "there is no backup under this id",
            )),
            Err(e) => Err(store_error(e)),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn write(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let run = async {
        admit(&st, peer, &headers)?;
        let id = backup_id(&id)?;
        let put: PutBackup = body("write", &bytes)?;
        put.verify(&id).map_err(|e| refused(&e))?;
        let now = st.now();
        st.inner
            .store
            .backup_put(
                id.0.to_vec(),
                put.key.0.to_vec(),
                put.counter,
                Some(put.data.0),
                now,
            )
            .await
            .map_err(store_error)?;
        Ok::<Response, Refused>(stored(StoredBackup {
            counter: put.counter,
            data: None,
            updated_at: now,
        }))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn remove(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let not_found = || {
        refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no backup under this id",
        )
    };
    let run = async {
        admit(&st, peer, &headers)?;
        let id = backup_id(&id)?;
        let del: DeleteBackup = body("delete", &bytes)?;
        let row = st
            .inner
            .store
            .backup_get(id.0.to_vec())
            .await
            .map_err(store_error)?
            .ok_or_else(not_found)?;
        let key = BackupPublic(row.public_key.as_slice().try_into().map_err(|_| {
            store_error(Error::Storage("a stored backup key is not 32 bytes".into()))
        })?);
        del.verify(&id, &key).map_err(|e| refused(&e))?;
        let now = st.now();
        let done = st
            .inner
            .store
            .backup_put(id.0.to_vec(), key.0.to_vec(), del.counter, None, now)
            .await
            .map_err(store_error)?;
        if !done {
            return Err(not_found());
        }
        Ok::<Response, Refused>(stored(StoredBackup {
            counter: del.counter,
            data: None,
            updated_at: now,
        }))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
