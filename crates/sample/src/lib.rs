//! A deterministic sample sales team for demos, tests and benchmarks.
//!
//! [`generate`] yields [`LeadHistory`] values (a new lead plus the events that follow it) for
//! three reps working the `b2b` pipeline over the `days` before `now`: leads from the six
//! channels at the playbooks' win rates, moving stage by stage with one to three follow-ups per
//! stage, some moving back a stage, most of the rest lost for a reason or abandoned. The same
//! size, seed and `now` always give the same team, ids included. No I/O.

mod journey;
pub mod names;

use automerge::ScalarValue;
use chrono::{DateTime, Duration, Utc};
use fieldsync_model::{Field, LeadHistory, LeadId, Money, NewLead, Priority, Stamp, templates};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use journey::Journey;
pub use journey::SOURCES;

/// The sample team's reps.
pub const REPS: [&str; 3] = ["lina", "wangwei", "zhangmin"];

/// What to generate.
#[derive(Clone, Debug)]
pub struct SampleSpec {
    /// Number of leads.
    pub leads: usize,
    /// Random seed.
    pub seed: u64,
    /// The end of the period; nothing happens after it.
    pub now: DateTime<Utc>,
    /// Length of the period in days (leads are created across it).
    pub days: i64,
}

impl SampleSpec {
    /// `leads` leads over the quarter before `now`, with seed 42.
    pub fn quarter(leads: usize, now: DateTime<Utc>) -> Self {
        Self {
            leads,
            seed: 42,
            now,
            days: 90,
        }
    }
}

/// `len` printable ASCII characters no compressor shrinks much, the same for the same `seed`:
/// what tests and benchmarks push when a document must be as large as it looks.
pub fn noise(len: usize, seed: u64) -> String {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 90) as u8)
        })
        .collect()
}

/// The sample team's leads, one history per lead, in creation order.
pub fn generate(spec: &SampleSpec) -> impl Iterator<Item = LeadHistory> + use<> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let spec = spec.clone();
    let weights = WeightedIndex::new(SOURCES.iter().map(|s| s.weight)).ok();
    let start = spec.now - Duration::days(spec.days);
    let step =
        Duration::days(spec.days).num_seconds() / i64::try_from(spec.leads.max(1)).unwrap_or(1);
    (0..spec.leads).map(move |n| {
        let created = start
            + Duration::seconds(
                step * i64::try_from(n).unwrap_or(0) + rng.random_range(0..step.max(1)),
            );
        let source = weights.as_ref().map_or(0, |w| w.sample(&mut rng));
        one_lead(&mut rng, &spec, created, n, source)
    })
}

fn text(value: String) -> ScalarValue {
    ScalarValue::Str(value.into())
}

fn one_lead(
    rng: &mut ChaCha8Rng,
    spec: &SampleSpec,
    created: DateTime<Utc>,
    n: usize,
    source: usize,
) -> LeadHistory {
    let profile = &SOURCES[source];
    let rep = REPS[n % REPS.len()];
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let (contact, pinyin) = names::contact(rng);
    let (size, size_index) = names::size(rng);
    let priority = match size_index {
        4 | 3 if rng.random_bool(0.7) => Priority::High,
        0 => Priority::Low,
        _ => Priority::Medium,
    };
    let estimate =
        Money::from_cents((profile.deal_size * rng.random_range(0.6..1.4) * 100.0).round() as i64);
    let expected_close = (created + Duration::days(rng.random_range(30..90))).date_naive();
    let fields = vec![
        (Field::Company, text(names::company(rng))),
        (Field::Contact, text(contact)),
        (Field::Title, text(names::title(rng))),
        (Field::Phone, text(names::phone(rng))),
        (Field::Email, text(names::email(rng, &pinyin))),
        (Field::Industry, text(names::industry(rng))),
        (Field::Size, text(size)),
        (Field::Budget, text(names::budget(rng, size_index))),
        (Field::Competitors, text(names::competitors(rng))),
        (Field::Source, text(profile.key.to_owned())),
        (Field::Priority, text(priority.key().to_owned())),
        (Field::Amount, ScalarValue::Int(estimate.cents())),
        (
            Field::ExpectedClose,
            text(expected_close.format("%Y-%m-%d").to_string()),
        ),
    ];
    let mut journey = Journey {
        rng,
        rep,
        now: spec.now,
        events: Vec::new(),
    };
    let stages = templates::b2b().stages;
    // Five moves from acquisition to won; each succeeds with the fifth root of the win rate.
    let step_rate = profile.win_rate.powf(1.0 / 5.0);
    let mut at = created;
    let mut stage = 0;
    loop {
        let stay = Duration::hours(journey.rng.random_range(24..14 * 24));
        let leave = at + stay;
        journey.touches(at, leave.min(spec.now));
        if leave > spec.now {
            break;
        }
        if !journey.rng.random_bool(step_rate) {
            journey.stall(leave);
            break;
        }
        if stage == 4 {
            // The win enters account care, the pipeline's win stage.
            journey.win(profile.deal_size, leave);
            break;
        }
        // Now and then a deal slips back a stage before moving on.
        if stage >= 2 && journey.rng.random_bool(0.05) {
            journey.move_to(&stages[stage - 1].key, leave);
            at = leave + Duration::hours(journey.rng.random_range(24..72));
            if at > spec.now {
                break;
            }
        }
        stage += 1;
        journey.move_to(&stages[stage].key, at.max(leave));
        at = at.max(leave);
    }
    let events = journey.events;
    LeadHistory {
        id: LeadId::from_bytes(id),
        new: NewLead {
            fields,
            owner: Some(rep.to_owned()),
            created_at: created,
            number: None,
        },
        creator: Stamp {
            by: rep.to_owned(),
            now: created,
        },
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldsync_model::{LeadDoc, Outcome};

    fn spec(leads: usize, seed: u64) -> SampleSpec {
        SampleSpec {
            leads,
            seed,
            now: "2024-06-30T12:00:00Z".parse().unwrap(),
            days: 90,
        }
    }

    #[test]
    fn same_seed_same_team() {
        let a: Vec<_> = generate(&spec(50, 7)).collect();
        let b: Vec<_> = generate(&spec(50, 7)).collect();
        let c: Vec<_> = generate(&spec(50, 8)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn every_history_applies_cleanly_and_the_funnel_narrows() {
        let pipeline = templates::b2b();
        let mut reached = vec![0usize; pipeline.stages.len()];
        let mut outcomes = std::collections::HashMap::new();
        for history in generate(&spec(600, 42)) {
            let mut doc = LeadDoc::create(
                &history.id,
                &history.new,
                &pipeline,
                &history.creator,
                automerge::ActorId::random(),
            )
            .unwrap();
            for (action, stamp) in &history.events {
                assert!(stamp.now >= history.new.created_at);
                doc.apply(std::slice::from_ref(action), &pipeline, stamp)
                    .unwrap_or_else(|e| panic!("{action:?}: {e}"));
            }
            let lead = doc.view();
            for change in &lead.stage_changes {
                let index = pipeline.stage_index(change.to.as_deref().unwrap()).unwrap();
                reached[index] += 1;
            }
            *outcomes.entry(lead.outcome).or_insert(0) += 1;
        }
        assert_eq!(reached[0], 600);
        assert!(
            reached.windows(2).take(4).all(|w| w[0] > w[1]),
            "each stage has fewer leads than the one before: {reached:?}"
        );
        assert!(
            outcomes[&Outcome::Won] > 20 && outcomes[&Outcome::Lost] > 50,
            "{outcomes:?}"
        );
    }
}
