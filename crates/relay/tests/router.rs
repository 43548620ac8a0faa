//! The router called directly with `oneshot` (no socket): health, metrics,
//! unknown routes, and the WebSocket route refusing plain HTTP.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use std::net::SocketAddr;

use axum::{
    body::{to_bytes, Body},
    extract::connect_info::MockConnectInfo,
    http::{Request, StatusCode},
    Router,
};
use tandem_relay::{app, store, AppState};
use tower::ServiceExt;

async fn router() -> (Router, common::TempDir) {
    let dir = common::TempDir::new("router");
    let db = dir.path().join("r.db").to_string_lossy().into_owned();
    let store = store::open(&db).await.unwrap();
    let state = AppState::new(common::loose(), store, "ws://127.0.0.1:1/v1/ws".into())
        .await
        .unwrap();
    let r = app(state).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5555))));
    (r, dir)
}

async fn get(r: &Router, path: &str) -> (StatusCode, String) {
    let resp = r
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn health_reports_ok_with_database() {
    let (r, _dir) = router().await;
    let (status, body) = get(&r, "/health").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["stored_messages"], 0);
    assert_eq!(v["connections"], 0);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let (r, _dir) = router().await;
    let (status, body) = get(&r, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for name in [
        "tandem_relay_connections_open 0",
        "tandem_relay_messages_published 0",
        "tandem_relay_messages_stored 0",
    ] {
        assert!(body.contains(name), "missing {name} in\n{body}");
    }
    assert!(body.contains("# TYPE tandem_relay_connections_open gauge"));
    assert!(body.contains("# TYPE tandem_relay_auth_failed counter"));
}

#[tokio::test]
async fn websocket_route_needs_an_upgrade_and_unknown_routes_404() {
    let (r, _dir) = router().await;
    let (status, _) = get(&r, "/v1/ws").await;
    assert!(status.is_client_error(), "{status}");
    let (status, _) = get(&r, "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
