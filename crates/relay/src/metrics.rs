//! Counters, gauges and latency histograms exposed at `GET /metrics` in the
//! Prometheus text format (version 0.0.4).
//!
//! Written by hand rather than with a metrics crate: a few dozen fixed
//! series of relaxed atomics cost one `fetch_add` on the hot path and no
//! registry, labels map or lock, and the text format is a few lines.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use tandem_pair::ErrorCode;

macro_rules! metrics {
    ($( $(#[doc = $doc:literal])* $name:ident : $kind:literal ),* $(,)?) => {
        /// Relay counters, gauges and histograms; all relaxed atomics.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $( $(#[doc = $doc])* pub $name: AtomicU64, )*
            /// Publish frame received -> the message committed durably.
            pub publish_durable: Histogram,
            /// Publish frame received -> the delivery written to a
            /// recipient's socket (live deliveries; mailbox replays are not
            /// timed).
            pub publish_deliver: Histogram,
            /// Error frames sent, by the code they carry.
            pub rejected: Rejected,
        }

        impl Metrics {
            /// Renders every metric, prefixed `tandem_relay_`.
            pub fn render(&self) -> String {
                let mut out = String::new();
                $(
                    // Each doc line starts with its own space (`/// text`).
                    out.push_str(concat!("# HELP tandem_relay_", stringify!($name), $($doc,)* "\n"));
                    out.push_str(concat!("# TYPE tandem_relay_", stringify!($name), " ", $kind, "\n"));
                    out.push_str(&format!(
                        concat!("tandem_relay_", stringify!($name), " {}\n"),
                        self.$name.load(Ordering::Relaxed)
                    ));
                )*
                self.publish_durable.render(
                    &mut out,
                    "publish_durable_seconds",
                    "Time from receiving a publish to its message being durably committed.",
                );
                self.publish_deliver.render(
                    &mut out,
                    "publish_deliver_seconds",
                    "Time from receiving a publish to writing its delivery to a connected recipient (live pushes only).",
                );
                self.rejected.render(&mut out);
                out
            }
        }
    };
}

metrics! {
    /// Open WebSocket connections.
    connections_open: "gauge",
    /// Open connections whose device has authenticated.
    connections_authenticated: "gauge",
    /// Connections closed with the restart hint when the relay shut down.
    shutdown_closes: "counter",
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
    /// Groups' device lists read from the database for the member cache
    /// (a publish that found its group uncached, a device's login, and the
    /// re-read after a group's devices changed).
    member_loads: "counter",
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Upper bounds of the latency buckets, in microseconds (0.25 ms to 10 s).
const BUCKETS_US: [u64; 16] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 7_500_000, 10_000_000,
];

/// A latency histogram with fixed buckets; `observe` is two relaxed adds.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last one is +Inf.
    counts: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = BUCKETS_US.partition_point(|&b| b < us);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub(crate) fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP tandem_relay_{name} {help}");
        let _ = writeln!(out, "# TYPE tandem_relay_{name} histogram");
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            match BUCKETS_US.get(i) {
                Some(&b) => {
                    let le = b as f64 / 1e6;
                    let _ = writeln!(
                        out,
                        "tandem_relay_{name}_bucket{{le=\"{le}\"}} {cumulative}"
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "tandem_relay_{name}_bucket{{le=\"+Inf\"}} {cumulative}"
                    );
                }
            }
        }
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "tandem_relay_{name}_sum {sum}");
        let _ = writeln!(out, "tandem_relay_{name}_count {cumulative}");
    }
}

/// Every error code the relay sends, in the order of [`Rejected`]'s slots.
const CODES: [ErrorCode; 12] = [
    ErrorCode::BadFrame,
    ErrorCode::UnsupportedVersion,
    ErrorCode::NotAuthenticated,
    ErrorCode::AuthFailed,
    ErrorCode::Forbidden,
    ErrorCode::Revoked,
    ErrorCode::RateLimited,
    ErrorCode::TooLarge,
    ErrorCode::MailboxFull,
    ErrorCode::NotFound,
    ErrorCode::Conflict,
    ErrorCode::Internal,
];

/// Error frames sent, one counter per [`ErrorCode`] (the `reason` label).
#[derive(Debug, Default)]
pub struct Rejected([AtomicU64; CODES.len() + 1]);

impl Rejected {
    /// Counts one error frame with `code`.
    pub fn inc(&self, code: ErrorCode) {
        let i = CODES.iter().position(|c| *c == code).unwrap_or(CODES.len());
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Error frames sent with `code` so far.
    pub fn get(&self, code: ErrorCode) -> u64 {
        let i = CODES.iter().position(|c| *c == code).unwrap_or(CODES.len());
        self.0[i].load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String) {
        out.push_str("# HELP tandem_relay_frames_rejected_total Error frames sent, by reason (the error code).\n");
        out.push_str("# TYPE tandem_relay_frames_rejected_total counter\n");
        for (i, c) in self.0.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            // A code newer than this list (the enum is non-exhaustive).
            let reason = match CODES.get(i) {
                Some(code) => code_name(*code),
                None if n == 0 => continue,
                None => "other".into(),
            };
            let _ = writeln!(
                out,
                "tandem_relay_frames_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }
}

/// The code as the wire spells it (`rate_limited`).
fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_bounded() {
        let h = Histogram::default();
        for ms in [0.1, 0.3, 3.0, 3.0, 40.0, 20_000.0] {
            h.observe(Duration::from_secs_f64(ms / 1e3));
        }
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "test");
        assert!(
            out.contains("tandem_relay_x_seconds_bucket{le=\"0.00025\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("tandem_relay_x_seconds_bucket{le=\"0.0005\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("tandem_relay_x_seconds_bucket{le=\"0.005\"} 4\n"),
            "{out}"
        );
        assert!(
            out.contains("tandem_relay_x_seconds_bucket{le=\"0.05\"} 5\n"),
            "{out}"
        );
        assert!(
            out.contains("tandem_relay_x_seconds_bucket{le=\"10\"} 5\n"),
            "{out}"
        );
        assert!(
            out.contains("tandem_relay_x_seconds_bucket{le=\"+Inf\"} 6\n"),
            "{out}"
        );
        assert!(out.contains("tandem_relay_x_seconds_count 6\n"), "{out}");
        assert_eq!(h.count(), 6);
    }

    /// One space between a series' name and its help text, and between
    /// the lines of a help text that spans several doc lines.
    #[test]
    fn help_lines_are_single_spaced() {
        let out = Metrics::default().render();
        let help: Vec<&str> = out.lines().filter(|l| l.starts_with("# HELP")).collect();
        assert!(help.len() > 5, "{out}");
        for l in help {
            assert!(!l.contains("  "), "{l:?}");
            assert!(!l.ends_with(' '), "{l:?}");
        }
    }

    #[test]
    fn every_error_code_has_its_own_reason_label() {
        let r = Rejected::default();
        r.inc(ErrorCode::RateLimited);
        r.inc(ErrorCode::RateLimited);
        r.inc(ErrorCode::TooLarge);
        let mut out = String::new();
        r.render(&mut out);
        assert!(out.contains("{reason=\"rate_limited\"} 2\n"), "{out}");
        assert!(out.contains("{reason=\"too_large\"} 1\n"), "{out}");
        assert!(out.contains("{reason=\"mailbox_full\"} 0\n"), "{out}");
        assert!(
            !out.contains("reason=\"other\""),
            "every code is named: {out}"
        );
    }
}
