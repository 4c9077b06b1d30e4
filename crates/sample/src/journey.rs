//! How a sample lead travels: when it moves, what is said on each touch, how it ends.
//!
//! Each source has the win rate and average deal size of the playbooks' channel example
//! (website 15% at 8, trade show 25% at 12, referral 30% at 15, in 10k units), spread evenly
//! over the five moves from acquisition to won, so the funnel narrows stage by stage.

use chrono::{DateTime, Duration, Utc};
use fieldsync_model::{Action, ContactChannel, FollowUpDraft, Money, Stamp};
use rand::Rng;
use rand::seq::IndexedRandom;

/// A source channel's win rate and average deal size (units).
pub struct SourceProfile {
    /// Channel key.
    pub key: &'static str,
    /// Share of leads expected to be won.
    pub win_rate: f64,
    /// Average deal size.
    pub deal_size: f64,
    /// Relative number of leads from it.
    pub weight: u32,
}

/// The six default channels.
pub const SOURCES: [SourceProfile; 6] = [
    SourceProfile {
        key: "website",
        win_rate: 0.15,
        deal_size: 8.0,
        weight: 30,
    },
    SourceProfile {
        key: "trade-show",
        win_rate: 0.25,
        deal_size: 12.0,
        weight: 20,
    },
    SourceProfile {
        key: "referral",
        win_rate: 0.30,
        deal_size: 15.0,
        weight: 15,
    },
    SourceProfile {
        key: "social",
        win_rate: 0.10,
        deal_size: 6.0,
        weight: 15,
    },
    SourceProfile {
        key: "search-ads",
        win_rate: 0.12,
        deal_size: 7.0,
        weight: 12,
    },
    SourceProfile {
        key: "event",
        win_rate: 0.20,
        deal_size: 10.0,
        weight: 8,
    },
];

const SUMMARIES: [&str; 10] = [
    "介绍产品方案，客户对价格比较敏感",
    "interested in product A but comparing with competitor B",
    "现场拜访，演示系统，IT部门参加",
    "sent the quotation; waiting for purchasing feedback",
    "客户确认需求，预算需要总部审批",
    "discussed the implementation timeline with the project lead",
    "电话沟通合同条款，对付款方式有异议",
    "demo went well; decision maker asked for references",
    "微信跟进，客户表示下周内部讨论",
    "final quote with 3% discount sent",
];
const FEEDBACK: [&str; 6] = [
    "认可方案",
    "objection: price too high",
    "需要更多案例",
    "approval from IT pending",
    "对竞品更熟悉",
    "positive, wants a trial",
];
const NEXT_STEPS: [&str; 6] = [
    "send a comparison sheet",
    "安排技术交流",
    "prepare the contract draft",
    "邀请参观样板客户",
    "follow up on the budget approval",
    "发送正式报价",
];
const LOSS_REASONS: [&str; 6] = [
    "price",
    "competitor",
    "no-budget",
    "need-changed",
    "no-decision",
    "invalid",
];

/// Events for one lead are built by this, in time order, stopping at `now`.
pub struct Journey<'a, R: Rng> {
    /// Randomness.
    pub rng: &'a mut R,
    /// The rep doing the work.
    pub rep: &'a str,
    /// The end of the sample period.
    pub now: DateTime<Utc>,
    /// Events so far.
    pub events: Vec<(Action, Stamp)>,
}

impl<R: Rng> Journey<'_, R> {
    /// A stamp for an event at `at`: recorded within the next day, never after now.
    fn stamp(&mut self, at: DateTime<Utc>) -> Stamp {
        let delay = Duration::minutes(self.rng.random_range(0..20 * 60));
        Stamp {
            by: self.rep.to_owned(),
            now: (at + delay).min(self.now),
        }
    }

    fn push(&mut self, action: Action, at: DateTime<Utc>) {
        let stamp = self.stamp(at);
        self.events.push((action, stamp));
    }

    /// One to three touches between `from` and `until`; the last names a next step.
    pub fn touches(&mut self, from: DateTime<Utc>, until: DateTime<Utc>) {
        let span = (until - from).num_minutes().max(1);
        let count = self.rng.random_range(1..=3);
        let mut times: Vec<DateTime<Utc>> = (0..count)
            .map(|_| from + Duration::minutes(self.rng.random_range(0..span)))
            .collect();
        times.sort();
        for (i, at) in times.iter().copied().enumerate() {
            if at > self.now {
                break;
            }
            let last = i + 1 == times.len();
            let channel = *[
                ContactChannel::Phone,
                ContactChannel::Visit,
                ContactChannel::Email,
                ContactChannel::Message,
            ]
            .choose(self.rng)
            .unwrap_or(&ContactChannel::Phone);
            let draft = FollowUpDraft {
                at,
                channel,
                summary: SUMMARIES
                    .choose(self.rng)
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                feedback: self.rng.random_bool(0.6).then(|| {
                    FEEDBACK
                        .choose(self.rng)
                        .copied()
                        .unwrap_or_default()
                        .to_owned()
                }),
                next: last.then(|| {
                    NEXT_STEPS
                        .choose(self.rng)
                        .copied()
                        .unwrap_or_default()
                        .to_owned()
                }),
                due: last.then(|| {
                    fieldsync_model::Due::Date(
                        (at + Duration::days(self.rng.random_range(2..8))).date_naive(),
                    )
                }),
                zone: chrono::Offset::fix(&chrono::Utc),
            };
            self.push(Action::Log(draft), at);
        }
    }

    /// A move to `stage` at `at`.
    pub fn move_to(&mut self, stage: &str, at: DateTime<Utc>) {
        self.push(
            Action::Move {
                to: stage.to_owned(),
                at,
            },
            at,
        );
    }

    /// Closes the lead as won with a deal around `deal_size`.
    pub fn win(&mut self, deal_size: f64, at: DateTime<Utc>) {
        let amount =
            Money::from_cents((deal_size * self.rng.random_range(0.5..1.5) * 100.0).round() as i64);
        self.push(
            Action::Won {
                amount,
                at,
                note: None,
            },
            at,
        );
    }

    /// Ends a lead that stopped moving: mostly lost, sometimes abandoned, else left open.
    pub fn stall(&mut self, at: DateTime<Utc>) {
        let roll: f64 = self.rng.random();
        if roll < 0.6 {
            let reason = LOSS_REASONS
                .choose(self.rng)
                .copied()
                .unwrap_or("price")
                .to_owned();
            self.push(
                Action::Lost {
                    reason,
                    note: None,
                    at,
                },
                at,
            );
        } else if roll < 0.75 {
            let reason = Some(
                LOSS_REASONS
                    .choose(self.rng)
                    .copied()
                    .unwrap_or("invalid")
                    .to_owned(),
            );
            self.push(
                Action::Abandon {
                    reason,
                    note: None,
                    at,
                },
                at,
            );
        }
    }
}
