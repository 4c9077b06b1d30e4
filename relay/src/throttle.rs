//! Sign-in throttling that does not lock out an office, and keeps a bounded amount whatever
//! clients send. Everyone behind one address (a company's NAT, a proxy) shares it, so nothing
//! a member does is counted by address alone:
//!
//! - **Failed sign-ins** are counted per (address, team, member) for a member on the team's
//!   roster, and per address for names that are on no roster (there is no token there to
//!   guess, and counting each made-up name would let anyone fill the table), in one-minute
//!   windows. Over the limit, sign-ins are refused before the token is checked, except from a
//!   device that presents its **sign-in ticket**: a secret this relay gave it at its last
//!   successful sign-in (an HMAC of its team, member and device names under a key this relay
//!   process made at start). A device's name is not a secret (it is in every change it makes),
//!   so a name alone exempts nothing: someone guessing lina's token locks out neither her
//!   colleagues nor her own devices, and has none of their guesses checked.
//! - **Successful sign-ins** are counted per (address, team, member, device), so one device
//!   reconnecting in a loop is slowed without touching anyone else.
//! - **Bounded.** A count is kept under a keyed hash of what it counts (8 bytes, whatever the
//!   names), in a table of at most [`CAPACITY`] entries, swept of windows older than a minute
//!   at least once a minute. When a table of failures is full of live windows, a sign-in it
//!   cannot count is refused as throttled (a ticket still gets in); a full table of successes
//!   counts nothing more. IPv6 addresses count by their /64, the block one machine is given.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const WINDOW: Duration = Duration::from_secs(60);

/// The most windows a table keeps (about 32 bytes each, so a few megabytes in all).
pub const CAPACITY: usize = 100_000;

/// How often a full table is swept at most.
const SWEEP_FULL: Duration = Duration::from_secs(1);

/// The bytes of a ticket's HMAC a device is given (hex, twice as many characters).
const TICKET_BYTES: usize = 16;

/// The part of an address that names one client: all of an IPv4 address, the /64 of IPv6.
fn block(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
    }
}

/// One table's windows: a start and a count under each key's hash.
struct Table {
    windows: HashMap<u64, (Instant, u32)>,
    swept: Instant,
}

/// Events per key in one-minute windows, in a bounded table.
struct Windows {
    per_minute: u32,
    hasher: RandomState,
    table: Mutex<Table>,
}

impl Windows {
    fn new(per_minute: u32, now: Instant) -> Self {
        Windows {
            per_minute,
            hasher: RandomState::new(),
            table: Mutex::new(Table {
                windows: HashMap::new(),
                swept: now,
            }),
        }
    }

    /// The count of `key`'s window at `now` after adding `add`, or `None` if the table is full
    /// of live windows and `key` has none.
    fn count(&self, key: impl Hash, now: Instant, add: u32) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Swept once a minute, and when full at most once a second: a flood of new keys costs
        // one pass over the table a second, not one per sign-in.
        let since_swept = now.duration_since(table.swept);
        if since_swept >= WINDOW || (table.windows.len() >= CAPACITY && since_swept >= SWEEP_FULL) {
            table
                .windows
                .retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            table.swept = now;
        }
        let full = table.windows.len() >= CAPACITY;
        let window = match table.windows.get_mut(&hash) {
            Some(window) => window,
            None if full => return None,
            None if add == 0 => return Some(0),
            None => table.windows.entry(hash).or_insert((now, 0)),
        };
        if now.duration_since(window.0) >= WINDOW {
            *window = (now, 0);
        }
        window.1 += add;
        Some(window.1)
    }

    fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .windows
            .len()
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
    /// Whether that member is on the team's roster.
    pub on_roster: bool,
    /// The device named.
    pub device: &'a str,
    /// The ticket presented (empty for none).
    pub ticket: &'a str,
}

impl SignIn<'_> {
    /// What this sign-in's failures count against.
    fn failure_key(&self) -> (IpAddr, Option<(&str, &str)>) {
        let member = self.on_roster.then_some((self.team, self.member));
        (block(self.addr), member)
    }

    /// The text a ticket is the HMAC of: the names, each ended by a zero byte.
    fn ticket_text(&self) -> Vec<u8> {
        let mut text = Vec::new();
        for name in [self.team, self.member, self.device] {
            text.extend_from_slice(name.as_bytes());
            text.push(0);
        }
        text
    }
}

/// The relay's sign-in counts and its ticket key.
pub struct SignIns {
    failed: Windows,
    succeeded: Windows,
    ticket_key: [u8; 32],
}

impl SignIns {
    /// Allows `per_minute` failed sign-ins per (address, team, member), and `per_minute`
    /// sign-ins per device.
    pub fn new(per_minute: u32) -> SignIns {
        let now = Instant::now();
        SignIns {
            failed: Windows::new(per_minute, now),
            succeeded: Windows::new(per_minute, now),
            ticket_key: rand::random(),
        }
    }

    fn mac(&self, who: &SignIn<'_>) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.ticket_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(&who.ticket_text());
        mac
    }

    /// The ticket to give `who` for its next sign-in.
    pub fn ticket(&self, who: &SignIn<'_>) -> String {
        hex::encode(&self.mac(who).finalize().into_bytes()[..TICKET_BYTES])
    }

    /// Whether `who` presents the ticket this relay gave it (compared in constant time).
    fn has_ticket(&self, who: &SignIn<'_>) -> bool {
        hex::decode(who.ticket).is_ok_and(|given| {
            given.len() == TICKET_BYTES && self.mac(who).verify_truncated_left(&given).is_ok()
        })
    }

    /// Whether `who` may try to sign in at `now` (checked before the token).
    pub fn may_try(&self, who: &SignIn<'_>, now: Instant) -> bool {
        self.has_ticket(who)
            || self
                .failed
                .count(who.failure_key(), now, 0)
                .is_some_and(|count| count < self.failed.per_minute)
    }

    /// Counts a failed sign-in of `who` at `now`.
    pub fn failed(&self, who: &SignIn<'_>, now: Instant) {
        self.failed.count(who.failure_key(), now, 1);
    }

    /// Counts a successful sign-in of `who` at `now`; false if the device signed in more often
    /// than allowed this minute.
    pub fn succeeded(&self, who: &SignIn<'_>, now: Instant) -> bool {
        let key = (block(who.addr), who.team, who.member, who.device);
        self.succeeded
            .count(key, now, 1)
            .is_none_or(|count| count <= self.succeeded.per_minute)
    }

    /// Windows kept: (failed, succeeded).
    pub fn kept(&self) -> (usize, usize) {
        (self.failed.len(), self.succeeded.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who<'a>(member: &'a str, device: &'a str, ticket: &'a str) -> SignIn<'a> {
        SignIn {
            addr: IpAddr::from([10, 0, 0, 1]),
            team: "east",
            member,
            on_roster: member != "nobody",
            device,
            ticket,
        }
    }

    #[test]
    fn failures_lock_out_only_the_guessed_member_and_never_a_ticket_holder() {
        let sign_ins = SignIns::new(2);
        let now = Instant::now();
        let ticket = sign_ins.ticket(&who("lina", "phone", ""));
        for _ in 0..130 {
            sign_ins.failed(&who("lina", "attacker", ""), now);
        }
        assert!(!sign_ins.may_try(&who("lina", "attacker", ""), now));
        assert!(
            !sign_ins.may_try(&who("lina", "phone", ""), now),
            "a known device's name alone"
        );
        assert!(
            sign_ins.may_try(&who("lina", "phone", &ticket), now),
            "the device's own ticket"
        );
        assert!(
            !sign_ins.may_try(&who("lina", "attacker", &ticket), now),
            "another device's ticket"
        );
        assert!(
            !sign_ins.may_try(&who("lina", "phone", &ticket[..30]), now),
            "part of a ticket"
        );
        assert!(
            sign_ins.may_try(&who("wang", "laptop", ""), now),
            "another member"
        );
        assert!(
            sign_ins.may_try(&who("lina", "attacker", ""), now + WINDOW),
            "the next minute"
        );
    }

    #[test]
    fn a_device_reconnecting_in_a_loop_is_slowed_alone() {
        let sign_ins = SignIns::new(2);
        let now = Instant::now();
        assert!(sign_ins.succeeded(&who("lina", "phone", ""), now));
        assert!(sign_ins.succeeded(&who("lina", "phone", ""), now));
        assert!(!sign_ins.succeeded(&who("lina", "phone", ""), now));
        assert!(sign_ins.succeeded(&who("lina", "laptop", ""), now));
    }

    #[test]
    fn made_up_names_share_one_count_per_address_and_the_tables_stay_bounded() {
        let sign_ins = SignIns::new(5);
        let now = Instant::now();
        for n in 0..CAPACITY + 10 {
            let name = format!("nobody-{n}");
            let made_up = SignIn {
                member: &name,
                on_roster: false,
                ..who("nobody", "x", "")
            };
            sign_ins.failed(&made_up, now);
        }
        assert_eq!(sign_ins.kept().0, 1, "one window for the address");
        assert!(!sign_ins.may_try(&who("nobody", "x", ""), now));
        assert!(sign_ins.may_try(&who("lina", "phone", ""), now));

        for n in 0..CAPACITY + 10 {
            let addr = IpAddr::from((n as u32).to_be_bytes());
            sign_ins.failed(
                &SignIn {
                    addr,
                    ..who("lina", "x", "")
                },
                now,
            );
        }
        assert_eq!(sign_ins.kept().0, CAPACITY);
        let ticket = sign_ins.ticket(&who("wang", "phone", ""));
        assert!(
            !sign_ins.may_try(&who("wang", "laptop", ""), now),
            "a full table refuses what it cannot count"
        );
        assert!(sign_ins.may_try(&who("wang", "phone", &ticket), now));
        sign_ins.failed(&who("wang", "laptop", ""), now + WINDOW);
        assert_eq!(sign_ins.kept().0, 1, "swept by age");
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64() {
        let sign_ins = SignIns::new(1);
        let now = Instant::now();
        let from = |addr: &str| SignIn {
            addr: addr.parse().unwrap(),
            ..who("lina", "x", "")
        };
        sign_ins.failed(&from("2001:db8:1:2::1"), now);
        assert!(!sign_ins.may_try(&from("2001:db8:1:2:ffff::9"), now));
        assert!(sign_ins.may_try(&from("2001:db8:1:3::1"), now));
    }
}
