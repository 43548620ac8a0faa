//! Rate and connection limits.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

/// Token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: u32, now: Instant) -> Self {
        Self {
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token if available.
    pub fn take(&mut self, rate: u32, burst: u32, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * f64::from(rate)).min(f64::from(burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Per-device rate limits, shared by all of a device's connections.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<[u8; 16], TokenBucket>>,
}

impl RateLimiter {
    /// Whether `device` may send one more frame now.
    pub fn allow(&self, device: [u8; 16], rate: u32, burst: u32, now: Instant) -> bool {
        let Ok(mut b) = self.buckets.lock() else {
            return false;
        };
        if b.len() > 100_000 {
            // Drop idle full buckets so the map cannot grow without bound.
            b.retain(|_, v| now.saturating_duration_since(v.last).as_secs() < 60);
        }
        b.entry(device)
            .or_insert_with(|| TokenBucket::new(burst, now))
            .take(rate, burst, now)
    }
}

/// Counts open connections per IP address.
#[derive(Debug, Default)]
pub struct ConnLimiter {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// Holds one connection slot; released on drop.
#[derive(Debug)]
pub struct ConnSlot {
    limiter: Arc<ConnLimiter>,
    ip: IpAddr,
}

impl ConnLimiter {
    /// Takes a slot for `ip` unless it already has `max` connections.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ConnSlot> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnSlot {
            limiter: Arc::clone(self),
            ip,
        })
    }

    /// Open connections from `ip`.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.open
            .lock()
            .map(|o| o.get(&ip).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.limiter.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, t0);
        assert!(b.take(1, 3, t0) && b.take(1, 3, t0) && b.take(1, 3, t0));
        assert!(!b.take(1, 3, t0));
        assert!(b.take(1, 3, t0 + Duration::from_millis(1100)));
        assert!(!b.take(1, 3, t0 + Duration::from_millis(1100)));
    }

    #[test]
    fn conn_slots_are_released() {
        let l = Arc::new(ConnLimiter::default());
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = l.acquire(ip, 2).unwrap();
        let _b = l.acquire(ip, 2).unwrap();
        assert!(l.acquire(ip, 2).is_none());
        drop(a);
        assert_eq!(l.count(ip), 1);
        assert!(l.acquire(ip, 2).is_some());
    }
}
