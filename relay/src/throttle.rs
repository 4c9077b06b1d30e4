//! Sign-in throttling that does not lock out an office. Everyone behind one address (a
//! company's NAT, a proxy) shares it, so nothing is counted by address alone:
//!
//! - **Failed sign-ins** are counted per (address, team, member), in one-minute windows. Over
//!   the limit, that member's sign-ins from that address are refused before the token is
//!   checked, except from a device that has signed in as the member before (a known device):
//!   someone guessing lina's token locks out neither her colleagues nor her own devices.
//! - **Successful sign-ins** are counted per (address, team, member, device), so one device
//!   reconnecting in a loop is slowed without touching anyone else.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Entries kept before the stale ones are swept.
const SWEEP_AT: usize = 100_000;

/// Events per key in one-minute windows.
struct Windows<K> {
    per_minute: u32,
    counts: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Hash + Eq> Windows<K> {
    fn new(per_minute: u32) -> Self {
        Windows {
            per_minute,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// The count of `key`'s window at `now`, after adding `add`.
    fn count(&self, key: K, now: Instant, add: u32) -> u32 {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.len() > SWEEP_AT {
            counts.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = counts.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        *count += add;
        *count
    }
}

/// Who is signing in, as a hello says.
pub struct SignIn<'a> {
    /// The client's address.
    pub addr: IpAddr,
    /// The team named.
    pub team: &'a str,
    /// The member named.
    pub member: &'a str,
    /// The device named.
    pub device: &'a str,
}

/// The relay's sign-in counts.
pub struct SignIns {
    failed: Windows<(IpAddr, String, String)>,
    succeeded: Windows<(IpAddr, String, String, String)>,
    known: Mutex<HashSet<(String, String, String)>>,
}

impl SignIns {
    /// Allows `per_minute` failed sign-ins per (address, team, member), and `per_minute`
    /// sign-ins per device.
    pub fn new(per_minute: u32) -> SignIns {
        SignIns {
            failed: Windows::new(per_minute),
            succeeded: Windows::new(per_minute),
            known: Mutex::new(HashSet::new()),
        }
    }

    fn is_known(&self, who: &SignIn<'_>) -> bool {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&(
                who.team.to_owned(),
                who.member.to_owned(),
                who.device.to_owned(),
            ))
    }

    /// Whether `who` may try to sign in at `now` (checked before the token).
    pub fn may_try(&self, who: &SignIn<'_>, now: Instant) -> bool {
        let key = (who.addr, who.team.to_owned(), who.member.to_owned());
        self.failed.count(key, now, 0) < self.failed.per_minute || self.is_known(who)
    }

    /// Counts a failed sign-in of `who` at `now`.
    pub fn failed(&self, who: &SignIn<'_>, now: Instant) {
        let key = (who.addr, who.team.to_owned(), who.member.to_owned());
        self.failed.count(key, now, 1);
    }

    /// Counts a successful sign-in of `who` at `now`, which makes its device known; false if
    /// the device signed in more often than allowed this minute.
    pub fn succeeded(&self, who: &SignIn<'_>, now: Instant) -> bool {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((
                who.team.to_owned(),
                who.member.to_owned(),
                who.device.to_owned(),
            ));
        let key = (
            who.addr,
            who.team.to_owned(),
            who.member.to_owned(),
            who.device.to_owned(),
        );
        self.succeeded.count(key, now, 1) <= self.succeeded.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_out_only_the_guessed_member_and_never_a_known_device() {
        let sign_ins = SignIns::new(2);
        let office = IpAddr::from([10, 0, 0, 1]);
        let now = Instant::now();
        let who = |member, device| SignIn {
            addr: office,
            team: "east",
            member,
            device,
        };
        assert!(sign_ins.succeeded(&who("lina", "phone"), now));
        for _ in 0..130 {
            sign_ins.failed(&who("lina", "attacker"), now);
        }
        assert!(!sign_ins.may_try(&who("lina", "attacker"), now));
        assert!(
            sign_ins.may_try(&who("lina", "phone"), now),
            "a known device"
        );
        assert!(
            sign_ins.may_try(&who("wang", "laptop"), now),
            "another member"
        );
        assert!(
            sign_ins.may_try(&who("lina", "attacker"), now + WINDOW),
            "the next minute"
        );
    }

    #[test]
    fn a_device_reconnecting_in_a_loop_is_slowed_alone() {
        let sign_ins = SignIns::new(2);
        let now = Instant::now();
        let who = |device| SignIn {
            addr: IpAddr::from([10, 0, 0, 1]),
            team: "east",
            member: "lina",
            device,
        };
        assert!(sign_ins.succeeded(&who("phone"), now));
        assert!(sign_ins.succeeded(&who("phone"), now));
        assert!(!sign_ins.succeeded(&who("phone"), now));
        assert!(sign_ins.succeeded(&who("laptop"), now));
    }
}
