//! Connection attempts per client address, counted in one-minute windows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Counts connection attempts per address.
pub struct Throttle {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// Allows `per_minute` attempts per address per minute.
    pub fn new(per_minute: u32) -> Throttle {
        Throttle {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `addr` at `now`; false if it is over the limit.
    pub fn allow(&self, addr: IpAddr, now: Instant) -> bool {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(addr).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        *count += 1;
        *count <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_over_the_limit_wait_for_the_next_window() {
        let throttle = Throttle::new(2);
        let (a, b) = (
            "10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4])),
            IpAddr::from([10, 0, 0, 2]),
        );
        let now = Instant::now();
        assert!(throttle.allow(a, now));
        assert!(throttle.allow(a, now));
        assert!(!throttle.allow(a, now));
        assert!(throttle.allow(b, now));
        assert!(throttle.allow(a, now + WINDOW));
    }
}
