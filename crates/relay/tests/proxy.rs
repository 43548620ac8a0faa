//! The per-IP connection limit behind a proxy, against the real relay
//! binary on 127.0.0.1. A forwarding header is believed only from an
//! address given with `--trusted-proxy`: a client that connects directly
//! and forges one is limited by its real address; through a trusted proxy
//! (here the test itself, connecting from 127.0.0.1 as a proxy on the
//! relay's machine does) distinct clients get distinct limits.
#![allow(clippy::unwrap_used)]

mod common;

use common::{RelayProc, TempDir};
use futures_util::StreamExt;
use tandem_pair::{ErrorCode, RelayFrame};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

type Socket = tandem_relay::client::Socket;

fn relay(dir: &TempDir, extra: &[&str]) -> RelayProc {
    let db = dir.path().join("relay.db");
    let mut args = vec!["--database", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    RelayProc::spawn(&args)
}

/// Opens a WebSocket carrying `headers`; returns it if the relay admitted
/// it (its first frame is the auth challenge), `None` if the per-IP limit
/// refused it (its first frame says so).
async fn open(url: &str, headers: &[(&'static str, &str)]) -> Option<Socket> {
    let mut req = url.into_client_request().unwrap();
    for (name, value) in headers {
        req.headers_mut()
            .append(*name, HeaderValue::from_str(value).unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let first = loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => break RelayFrame::decode(t.as_str()).unwrap(),
            _ => continue,
        }
    };
    match first {
        RelayFrame::Challenge { .. } => Some(ws),
        RelayFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::RateLimited, "{message}");
            assert!(message.contains("too many connections"), "{message}");
            None
        }
        other => panic!("unexpected first frame {other:?}"),
    }
}

fn xff(v: &str) -> [(&'static str, &str); 1] {
    [("x-forwarded-for", v)]
}

#[tokio::test]
async fn forged_forwarding_headers_from_a_direct_client_do_not_dodge_the_per_ip_limit() {
    let dir = TempDir::new("proxy-forged");
    // No trusted proxy at all, then a trusted proxy that is not this client.
    for extra in [&[][..], &["--trusted-proxy", "10.0.0.0/8,192.0.2.1"]] {
        let mut args = vec!["--max-conns-per-ip", "2"];
        args.extend_from_slice(extra);
        let relay = relay(&dir, &args);
        let mut held = Vec::new();
        for fake in ["198.51.100.1", "198.51.100.2"] {
            held.push(
                open(&relay.url, &xff(fake))
                    .await
                    .expect("within the limit"),
            );
        }
        // A third address claimed in every way a header can claim one.
        let forged = [
            ("x-forwarded-for", "198.51.100.3"),
            ("forwarded", "for=198.51.100.3"),
            ("x-forwarded-for", "10.0.0.9, 198.51.100.3"),
        ];
        assert!(
            open(&relay.url, &forged).await.is_none(),
            "a forged header gave a direct client ({extra:?}) more connections"
        );
    }
}

#[tokio::test]
async fn through_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let dir = TempDir::new("proxy-trusted");
    let relay = relay(
        &dir,
        &["--max-conns-per-ip", "1", "--trusted-proxy", "127.0.0.1"],
    );
    let url = relay.url.as_str();
    let mut held = Vec::new();
    held.push(open(url, &xff("203.0.113.5")).await.expect("first client"));
    held.push(
        open(url, &xff("203.0.113.6"))
            .await
            .expect("another client"),
    );
    assert!(
        open(url, &xff("203.0.113.5")).await.is_none(),
        "same client"
    );
    // The client wrote the left part itself; the proxy appended the
    // address it really saw, which is the one that counts.
    assert!(
        open(url, &xff("192.0.2.77, 203.0.113.6")).await.is_none(),
        "a forged left entry must not make a new client"
    );
    // A second proxy of ours in the chain is skipped.
    held.push(
        open(url, &xff("203.0.113.7, 127.0.0.1"))
            .await
            .expect("client behind two proxies"),
    );
    // IPv6 clients, with a port, are addresses like any other.
    held.push(
        open(url, &xff("[2001:db8::1]:4711"))
            .await
            .expect("v6 client"),
    );
    assert!(open(url, &xff("2001:db8::1")).await.is_none());
    // No header at all: the proxy's own address, limited like a client.
    held.push(open(url, &[]).await.expect("the proxy itself"));
    assert!(open(url, &[]).await.is_none());
}

#[tokio::test]
async fn rfc_7239_forwarded_when_the_proxy_writes_that() {
    let dir = TempDir::new("proxy-forwarded");
    let relay = relay(
        &dir,
        &[
            "--max-conns-per-ip",
            "1",
            "--trusted-proxy",
            "127.0.0.0/8",
            "--proxy-header",
            "forwarded",
        ],
    );
    let url = relay.url.as_str();
    let fwd = |v| [("forwarded", v)];
    let _a = open(url, &fwd(r#"for="[2001:db8:cafe::17]:4711";proto=https"#))
        .await
        .expect("first client");
    let _b = open(url, &fwd("for=192.0.2.60"))
        .await
        .expect("second client");
    assert!(open(url, &fwd("for=192.0.2.60")).await.is_none());
    // In this mode X-Forwarded-For is only the client's claim.
    let both = [
        ("forwarded", "for=192.0.2.60"),
        ("x-forwarded-for", "198.51.100.200"),
    ];
    assert!(open(url, &both).await.is_none());
}
