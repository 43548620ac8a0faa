//! The shell: accepts device WebSockets, opens one upstream connection to
//! the real relay for each, and pumps frames through the [`Engine`].

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::control::Command;
use crate::engine::{Action, Conn, Engine};

/// The running proxy: its engine and where connections are forwarded.
#[derive(Debug)]
pub struct Proxy {
    engine: Arc<Engine>,
    upstream: watch::Sender<Option<String>>,
}

impl Proxy {
    /// A proxy with no upstream yet: connections wait until one is set.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine: Arc::new(engine),
            upstream: watch::Sender::new(None),
        }
    }

    /// The engine (modes and reports).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Sets where new connections are forwarded (`ws://...`); connections
    /// already waiting go there too.
    pub fn set_upstream(&self, url: String) {
        self.upstream.send_replace(Some(url));
    }

    /// Runs one control line; returns the answer line (`ok` or `error: ...`).
    pub fn control(&self, line: &str) -> String {
        match Command::parse(line) {
            Ok(Command::Upstream(url)) => {
                self.set_upstream(url);
                "ok".into()
            }
            Ok(Command::Mode(m)) => {
                self.engine.add_mode(m);
                "ok".into()
            }
            Ok(Command::Clear) => {
                self.engine.clear();
                "ok".into()
            }
            Err(e) => format!("error: {e}"),
        }
    }

    /// Accepts connections forever.
    pub async fn serve(&self, listener: TcpListener) {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let engine = Arc::clone(&self.engine);
            let upstream = self.upstream.subscribe();
            tokio::spawn(async move { connection(tcp, engine, upstream).await });
        }
    }
}

async fn connection(
    tcp: TcpStream,
    engine: Arc<Engine>,
    mut upstream: watch::Receiver<Option<String>>,
) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut device) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let url = match upstream.wait_for(Option::is_some).await {
        Ok(u) => u.clone().unwrap_or_default(),
        Err(_) => return,
    };
    let relay = match tokio_tungstenite::connect_async_with_config(url.as_str(), None, true).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            engine.report(&format!("evil: cannot reach upstream {url}: {e}"));
            let _ = device.close(None).await;
            return;
        }
    };
    let (mut dev_tx, mut dev_rx) = device.split();
    let (mut rel_tx, mut rel_rx) = relay.split();
    let mut conn = Conn::default();
    loop {
        // Which side spoke, and what it said; `None` = that side is gone.
        let (actions, closing) = tokio::select! {
            m = dev_rx.next() => match m {
                Some(Ok(Message::Text(t))) => (engine.from_device(&mut conn, t.as_str()), None),
                Some(Ok(Message::Binary(b))) => {
                    if rel_tx.send(Message::Binary(b)).await.is_err() { break; }
                    continue;
                }
                Some(Ok(Message::Close(cf))) => (vec![], Some((false, Message::Close(cf)))),
                Some(Ok(_)) => continue, // pings are answered on each hop
                Some(Err(_)) | None => (vec![], Some((false, Message::Close(None)))),
            },
            m = rel_rx.next() => match m {
                Some(Ok(Message::Text(t))) => (engine.from_relay(&mut conn, t.as_str()), None),
                Some(Ok(Message::Binary(b))) => {
                    if dev_tx.send(Message::Binary(b)).await.is_err() { break; }
                    continue;
                }
                Some(Ok(Message::Close(cf))) => (vec![], Some((true, Message::Close(cf)))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => (vec![], Some((true, Message::Close(None)))),
            },
        };
        let mut ok = true;
        for a in actions {
            let sent = match a {
                Action::ToDevice(t) => dev_tx.send(Message::text(t)).await,
                Action::ToRelay(t) => rel_tx.send(Message::text(t)).await,
            };
            if sent.is_err() {
                ok = false;
                break;
            }
        }
        if let Some((from_relay, close)) = closing {
            // Pass the close (with the relay's code and reason) to the other side.
            let _ = if from_relay {
                dev_tx.send(close).await
            } else {
                rel_tx.send(close).await
            };
            break;
        }
        if !ok {
            break;
        }
    }
    engine.closed(&mut conn);
    let _ = dev_tx.close().await;
    let _ = rel_tx.close().await;
}
