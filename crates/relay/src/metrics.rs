//! Counters exposed at `GET /metrics` in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! metrics {
    ($( $(#[doc = $doc:literal])* $name:ident : $kind:literal ),* $(,)?) => {
        /// Relay counters and gauges; all relaxed atomics.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $( $(#[doc = $doc])* pub $name: AtomicU64, )*
        }

        impl Metrics {
            /// Renders every metric, prefixed `tandem_relay_`.
            pub fn render(&self) -> String {
                let mut out = String::new();
                $(
                    out.push_str(concat!("# HELP tandem_relay_", stringify!($name), " ", $($doc,)* "\n"));
                    out.push_str(concat!("# TYPE tandem_relay_", stringify!($name), " ", $kind, "\n"));
                    out.push_str(&format!(
                        concat!("tandem_relay_", stringify!($name), " {}\n"),
                        self.$name.load(Ordering::Relaxed)
                    ));
                )*
                out
            }
        }
    };
}

metrics! {
    /// Open WebSocket connections.
    connections_open: "gauge",
    /// WebSocket connections accepted since start.
    connections_total: "counter",
    /// Connections refused because their IP had too many open.
    connections_refused_ip_limit: "counter",
    /// Devices that completed authentication.
    auth_ok: "counter",
    /// Failed authentications (bad signature, token, revoked, timeout).
    auth_failed: "counter",
    /// Frames received from devices.
    frames_in: "counter",
    /// Frames sent to devices.
    frames_out: "counter",
    /// Messages stored and acknowledged to their sender.
    messages_published: "counter",
    /// Message deliveries pushed to connected devices.
    messages_delivered: "counter",
    /// Message acknowledgements from recipients.
    messages_acked: "counter",
    /// Expired messages deleted.
    messages_expired: "counter",
    /// Error frames sent.
    error_frames: "counter",
    /// Frames refused by the per-device rate limit.
    rate_limited: "counter",
    /// Frames refused for exceeding the size limit.
    frames_oversize: "counter",
    /// Revocations accepted into a group's chain.
    revocations: "counter",
    /// Devices admitted to a group or given a refreshed token.
    admits: "counter",
    /// Connections closed because their device or token was revoked.
    revoked_disconnects: "counter",
    /// Blob puts stored.
    blob_puts: "counter",
    /// Blob gets served.
    blob_gets: "counter",
    /// Messages other relay nodes stored, pushed to devices connected here.
    node_deliveries: "counter",
    /// Times this node re-read every connected mailbox after it may have
    /// missed other nodes' notifications.
    node_resyncs: "counter",
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}
