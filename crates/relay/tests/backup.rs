//! `/v1/backup/<id>` under attack and in use: the router called directly
//! (`oneshot`) on a real SQLite store, and once over a real socket. Writes
//! and deletes need the backup's key (the one its id names, registered by
//! the first write) and a counter above the stored one; anything else is
//! refused and changes nothing.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::net::SocketAddr;

use axum::{
    body::{to_bytes, Body},
    extract::connect_info::MockConnectInfo,
    http::{Request, StatusCode},
    Router,
};
use tandem_pair::backup::{BackupKeys, BackupRefusal, StoredBackup, MAX_BACKUP_BYTES};
use tandem_pair::{Bytes, Signature};
use tandem_relay::{app, store, AppState, Config};
use tower::ServiceExt;

async fn router(config: Config) -> (Router, common::TempDir) {
    let dir = common::TempDir::new("backup");
    let db = dir.path().join("r.db").to_string_lossy().into_owned();
    let store = store::open(&db).await.unwrap();
    let state = AppState::new(config, store, "ws://127.0.0.1:1/v1/ws".into())
        .await
        .unwrap();
    let r = app(state).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5555))));
    (r, dir)
}

async fn call(r: &Router, method: &str, path: &str, body: Option<String>) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let resp = r.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*"),
        "{method} {path}: {status}"
    );
    let body = to_bytes(resp.into_body(), 4 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn path(k: &BackupKeys) -> String {
    format!("/v1/backup/{}", k.id())
}

fn put(k: &BackupKeys, counter: u64, data: &[u8]) -> Option<String> {
    Some(serde_json::to_string(&k.put(counter, data.to_vec())).unwrap())
}

fn del(k: &BackupKeys, counter: u64) -> Option<String> {
    Some(serde_json::to_string(&k.delete(counter)).unwrap())
}

fn code(body: &str) -> String {
    serde_json::from_str::<BackupRefusal>(body).unwrap().error
}

async fn read(r: &Router, k: &BackupKeys) -> Option<StoredBackup> {
    let (status, body) = call(r, "GET", &path(k), None).await;
    match status {
        StatusCode::OK => Some(serde_json::from_str(&body).unwrap()),
        StatusCode::NOT_FOUND => None,
        s => panic!("GET answered {s}: {body}"),
    }
}

#[tokio::test]
async fn a_backup_is_written_read_and_deleted_by_its_key() {
    let (r, _dir) = router(common::loose()).await;
    let k = BackupKeys::derive(&[1; 32]);
    assert_eq!(read(&r, &k).await, None);
    let (status, body) = call(&r, "PUT", &path(&k), put(&k, 5, b"sealed")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = read(&r, &k).await.unwrap();
    assert_eq!(
        (got.counter, got.data),
        (5, Some(Bytes(b"sealed".to_vec())))
    );
    let (status, _) = call(&r, "PUT", &path(&k), put(&k, 6, b"sealed 2")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&r, "DELETE", &path(&k), del(&k, 7)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = read(&r, &k).await.unwrap();
    assert_eq!((got.counter, got.data), (7, None));
    // The owner may write again above the delete.
    let (status, _) = call(&r, "PUT", &path(&k), put(&k, 8, b"again")).await;
    assert_eq!(status, StatusCode::OK);
    // The browser's preflight for PUT and DELETE.
    let (status, _) = call(&r, "OPTIONS", &path(&k), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// An attacker without the phrase's key: writes unsigned, wrongly signed,
/// signed by its own key for the victim's id (first write and later), and
/// deletes signed by its own key. Every one is refused and the backup is
/// unchanged.
#[tokio::test]
async fn backup_writes_and_deletes_without_the_backups_key_are_refused() {
    let (r, _dir) = router(common::loose()).await;
    let victim = BackupKeys::derive(&[1; 32]);
    let mallory = BackupKeys::derive(&[2; 32]);

    // Before the victim's first write: Mallory's key cannot claim its id.
    let mut claim = mallory.put(1, b"mallory's".to_vec());
    let (status, body) = call(
        &r,
        "PUT",
        &path(&victim),
        Some(serde_json::to_string(&claim).unwrap()),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert_eq!(read(&r, &victim).await, None);

    let (status, _) = call(&r, "PUT", &path(&victim), put(&victim, 10, b"victim's")).await;
    assert_eq!(status, StatusCode::OK);

    // Unsigned (a zero signature), and signed but altered (another counter,
    // other data), with the victim's own key named.
    let mut unsigned = victim.put(11, b"evil".to_vec());
    unsigned.signature = Signature([0; 64]);
    let mut recountered = victim.put(11, b"evil".to_vec());
    recountered.counter = 12;
    let mut swapped = victim.put(11, b"good".to_vec());
    swapped.data = Bytes(b"evil".to_vec());
    claim.counter = 99;
    for bad in [
        unsigned,
        recountered,
        swapped,
        claim,
        mallory.put(50, b"evil".to_vec()),
    ] {
        let (status, body) = call(
            &r,
            "PUT",
            &path(&victim),
            Some(serde_json::to_string(&bad).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "forbidden");
    }
    // A body that is not a write at all.
    let (status, body) = call(&r, "PUT", &path(&victim), Some("{\"key\":1}".into())).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request".into())
    );

    // Deletes: unsigned, and signed by Mallory's key.
    let mut unsigned = victim.delete(20);
    unsigned.signature = Signature([0; 64]);
    for bad in [unsigned, mallory.delete(20)] {
        let (status, body) = call(
            &r,
            "DELETE",
            &path(&victim),
            Some(serde_json::to_string(&bad).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let got = read(&r, &victim).await.unwrap();
    assert_eq!(
        (got.counter, got.data),
        (10, Some(Bytes(b"victim's".to_vec())))
    );
}

/// An attacker who recorded the owner's requests plays them again: an old
/// write after a newer one, the same write twice, an old write after a
/// delete, a delete twice. Every one is refused as stale, naming the
/// counter held, and the backup is unchanged.
#[tokio::test]
async fn replayed_or_stale_backup_writes_and_deletes_are_refused() {
    let (r, _dir) = router(common::loose()).await;
    let k = BackupKeys::derive(&[1; 32]);
    let first = put(&k, 10, b"v1");
    let second = put(&k, 11, b"v2");
    assert_eq!(
        call(&r, "PUT", &path(&k), first.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&r, "PUT", &path(&k), second.clone()).await.0,
        StatusCode::OK
    );
    for replay in [first.clone(), second.clone()] {
        let (status, body) = call(&r, "PUT", &path(&k), replay).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let refusal: BackupRefusal = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (refusal.error.as_str(), refusal.counter),
            ("stale", Some(11))
        );
    }
    let delete = del(&k, 12);
    assert_eq!(
        call(&r, "DELETE", &path(&k), delete.clone()).await.0,
        StatusCode::OK
    );
    for replay in [first, second] {
        let (status, body) = call(&r, "PUT", &path(&k), replay).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "stale".into())
        );
    }
    let (status, body) = call(&r, "DELETE", &path(&k), delete).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "stale".into())
    );
    let got = read(&r, &k).await.unwrap();
    assert_eq!((got.counter, got.data), (12, None));
    // A delete of a backup never written.
    let other = BackupKeys::derive(&[3; 32]);
    let (status, _) = call(&r, "DELETE", &path(&other), del(&other, 1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn backups_over_the_size_limit_and_bad_ids_are_refused_clearly() {
    let (r, _dir) = router(common::loose()).await;
    let k = BackupKeys::derive(&[1; 32]);
    let big = vec![0u8; MAX_BACKUP_BYTES + 1];
    let (status, body) = call(&r, "PUT", &path(&k), put(&k, 1, &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("at most"), "{body}");
    let fits = vec![7u8; MAX_BACKUP_BYTES];
    let (status, body) = call(&r, "PUT", &path(&k), put(&k, 2, &fits)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&r, "GET", "/v1/backup/nothex", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("64 hex characters"), "{body}");
}

#[tokio::test]
async fn backup_requests_from_one_address_are_rate_limited() {
    let config = Config {
        rate_per_sec: 1,
        rate_burst: 3,
        ..Config::default()
    };
    let (r, _dir) = router(config).await;
    let k = BackupKeys::derive(&[1; 32]);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(call(&r, "GET", &path(&k), None).await.0);
    }
    assert_eq!(&statuses[..3], &[StatusCode::NOT_FOUND; 3]);
    assert!(
        statuses[3..].contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_backup_round_trips_over_a_real_socket() {
    let relay = common::start_relay(common::loose()).await;
    let k = BackupKeys::derive(&[9; 32]);
    let url = format!("{}{}", relay.http, path(&k));
    // A minimal HTTP/1.1 client over TCP (the relay's tests carry no HTTP
    // client crate): PUT then GET, each on its own connection.
    async fn http(method: &str, url: &str, body: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!(
            "{method} /{path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out[9..12].parse().unwrap();
        let body = out.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }
    let (status, body) = http("PUT", &url, &put(&k, 3, b"sealed").unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = http("GET", &url, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"counter\":3"), "{body}");
}
