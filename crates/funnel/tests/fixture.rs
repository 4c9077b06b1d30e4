//! Every figure against a hand-computed fixture. The expected numbers are written out by hand
//! below (the comments show the counting), never computed by the code under test.
//!
//! Pipeline b2b: acquisition, discovery, solution, negotiation, closing, care (the win stage:
//! a won lead reaches it at its win, and under pass-through every stage before it too).
//! Period: March 2024 (UTC) unless a test says otherwise; now: 2024-04-15.
//!
//! | lead | created | stage path | outcome |
//! |---|---|---|---|
//! | A | 03-02 | acq, disc 03-05, sol 03-10, neg 03-20 | won 03-25, 100 (referral) |
//! | B | 03-03 | acq, sol 03-06 (skipped disc), neg 03-12 | lost 03-28 price, at neg (website) |
//! | C | 03-04 | acq, disc 03-07, acq 03-09 (back), disc 03-11 (again), sol 04-02 | open, in sol (website) |
//! | D | 02-20 | acq, disc 03-15, sol 03-18 | open, in sol (event) |
//! | E | 03-10 | acq | deleted (referral) |
//! | F | 03-12 | acq | lost 03-14 competitor, at acq (trade-show) |
//! | G | 03-20 | acq, disc 03-21 | won 04-05, 50 (referral) |
//! | H | 04-03 | acq | open, in acq (website) |

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fieldsync_funnel::competitors::competitors;
use fieldsync_funnel::groups::{GroupBy, effectiveness, winning_profile};
use fieldsync_funnel::outcomes::outcomes;
use fieldsync_funnel::stages::funnel;
use fieldsync_funnel::{Counting, Period, Window};
use fieldsync_model::row::StageEntry;
use fieldsync_model::{LeadId, LeadRow, Money, Outcome, Pipeline, SmolStr, templates};

fn at(text: &str) -> DateTime<Utc> {
    let text = if text.len() == 5 {
        format!("2024-{text}T10:00:00Z")
    } else {
        text.to_owned()
    };
    text.parse().unwrap()
}

fn ms(text: &str) -> i64 {
    at(text).timestamp_millis()
}

fn row(n: u8, source: &str, created: &str, path: &[(&str, &str)]) -> LeadRow {
    let mut stage_path = vec![StageEntry {
        stage: "acquisition".into(),
        at_ms: ms(created),
    }];
    stage_path.extend(path.iter().map(|(stage, when)| StageEntry {
        stage: (*stage).into(),
        at_ms: ms(when),
    }));
    let last = stage_path.last().unwrap().clone();
    LeadRow {
        id: LeadId::from_bytes([n; 16]),
        number: SmolStr::default(),
        company: format!("lead {n}").into(),
        contact: SmolStr::default(),
        title: SmolStr::default(),
        phone: SmolStr::default(),
        email: SmolStr::default(),
        industry: SmolStr::default(),
        size: SmolStr::default(),
        region: SmolStr::default(),
        budget: SmolStr::default(),
        competitors: SmolStr::default(),
        source: source.into(),
        priority: None,
        owner: Some("lina".into()),
        stage: last.stage,
        stage_entered_ms: last.at_ms,
        created_ms: ms(created),
        amount: None,
        expected_close: None,
        outcome: Outcome::Open,
        outcome_ms: None,
        deal_amount: None,
        loss_reason: None,
        deleted: false,
        conflicts: 0,
        followups: 0,
        last_followup_ms: None,
        next_due: None,
        hold_until: None,
        stage_path,
    }
}

fn won(mut row: LeadRow, when: &str, amount: i64) -> LeadRow {
    row.outcome = Outcome::Won;
    row.outcome_ms = Some(ms(when));
    row.deal_amount = Some(Money::from_cents(amount * 100));
    row
}

fn lost(mut row: LeadRow, when: &str, reason: &str) -> LeadRow {
    row.outcome = Outcome::Lost;
    row.outcome_ms = Some(ms(when));
    row.loss_reason = Some(reason.into());
    row
}

fn fixture() -> Vec<LeadRow> {
    let mut deleted = row(5, "referral", "03-10", &[]);
    deleted.deleted = true;
    vec![
        won(
            row(
                1,
                "referral",
                "03-02",
                &[
                    ("discovery", "03-05"),
                    ("solution", "03-10"),
                    ("negotiation", "03-20"),
                ],
            ),
            "03-25",
            100,
        ),
        lost(
            row(
                2,
                "website",
                "03-03",
                &[("solution", "03-06"), ("negotiation", "03-12")],
            ),
            "03-28",
            "price",
        ),
        row(
            3,
            "website",
            "03-04",
            &[
                ("discovery", "03-07"),
                ("acquisition", "03-09"),
                ("discovery", "03-11"),
                ("solution", "04-02"),
            ],
        ),
        row(
            4,
            "event",
            "02-20",
            &[("discovery", "03-15"), ("solution", "03-18")],
        ),
        deleted,
        lost(row(6, "trade-show", "03-12", &[]), "03-14", "competitor"),
        won(
            row(7, "referral", "03-20", &[("discovery", "03-21")]),
            "04-05",
            50,
        ),
        row(8, "website", "04-03", &[]),
    ]
}

fn pipeline() -> Pipeline {
    let mut pipeline = templates::b2b();
    for (stage, ideal) in pipeline
        .stages
        .iter_mut()
        .zip([0.6, 0.6, 0.5, 0.5, 0.9, 0.0])
    {
        stage.ideal_rate = Some(ideal);
    }
    pipeline
}

fn march() -> Period {
    Period::days(
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(),
        &Utc,
    )
}

fn reached(counting: Counting, window: Window) -> Vec<u64> {
    reached_in(&fixture(), counting, window)
}

fn reached_in(rows: &[LeadRow], counting: Counting, window: Window) -> Vec<u64> {
    funnel(rows, &pipeline(), march(), at("04-15"), counting, window)
        .stages
        .iter()
        .map(|s| s.reached)
        .collect()
}

fn to_next(counting: Counting, window: Window) -> Vec<String> {
    let rows = fixture();
    funnel(&rows, &pipeline(), march(), at("04-15"), counting, window)
        .stages
        .iter()
        .filter_map(|s| s.to_next.map(|r| r.to_string()))
        .collect()
}

#[test]
fn cohort_pass_through() {
    // Created in March, not deleted: A B C F G.
    // acq: all 5. disc: A, B (skipped it, passed on 03-06), C, G = 4. sol: A, B, C (04-02,
    // before now), G (won 04-05 from discovery: passed every stage to care) = 4. neg: A, B, G
    // = 3. closing and care: the wins A and G = 2.
    assert_eq!(
        reached(Counting::PassThrough, Window::Cohort),
        [5, 4, 4, 3, 2, 2]
    );
    assert_eq!(
        to_next(Counting::PassThrough, Window::Cohort),
        ["80.0%", "100.0%", "75.0%", "66.7%", "100.0%"]
    );
}

#[test]
fn a_win_from_negotiation_reaches_closing_under_pass_through_but_not_strict() {
    // A: acq, disc, sol, neg 03-20, won 03-25.
    let a = &fixture()[..1];
    assert_eq!(
        reached_in(a, Counting::PassThrough, Window::Cohort),
        [1, 1, 1, 1, 1, 1]
    );
    assert_eq!(
        reached_in(a, Counting::Strict, Window::Cohort),
        [1, 1, 1, 1, 0, 0]
    );
}

#[test]
fn a_win_that_entered_the_win_stage_counts_as_one_recorded_before_win_stages() {
    // The same win, as a document made today records it (the win's entry into care is left
    // out of the row's path) and as the previous release saved it (no entry): the stage paths
    // are equal, and so is every figure.
    let lead = fieldsync_model::LeadDoc::create(
        &LeadId::from_bytes([1; 16]),
        &fieldsync_model::NewLead {
            fields: vec![
                (fieldsync_model::Field::Company, "A".into()),
                (fieldsync_model::Field::Contact, "张伟".into()),
            ],
            owner: None,
            created_at: at("03-02"),
            number: None,
        },
        &pipeline(),
        &fieldsync_model::Stamp {
            by: "lina".into(),
            now: at("03-02"),
        },
        automerge::ActorId::random(),
    );
    let mut doc = lead.unwrap();
    let stamp = fieldsync_model::Stamp {
        by: "lina".into(),
        now: at("03-25"),
    };
    let actions = [
        fieldsync_model::Action::Move {
            to: "negotiation".into(),
            at: at("03-20"),
        },
        fieldsync_model::Action::Won {
            amount: Money::from_units(100),
            at: at("03-25"),
            note: None,
        },
    ];
    for action in actions {
        doc.apply(&[action], &pipeline(), &stamp).unwrap();
    }
    let now = LeadRow::from_lead(&doc.view());
    assert_eq!(now.stage, "care", "the win entered the win stage");
    // The same lead saved by the release before win stages (created 03-02, moved to
    // negotiation 03-20, won 03-25 for 100): it stayed in negotiation.
    let saved = include_bytes!("data/won-before-win-stages.automerge");
    let legacy = fieldsync_model::LeadDoc::load(saved, automerge::ActorId::random()).unwrap();
    let legacy = LeadRow::from_lead(&legacy.view());
    assert_eq!(legacy.stage, "negotiation");
    assert_eq!(legacy.stage_path, now.stage_path);
    for counting in [Counting::PassThrough, Counting::Strict] {
        for window in [Window::Cohort, Window::Activity] {
            assert_eq!(
                reached_in(std::slice::from_ref(&now), counting, window),
                reached_in(std::slice::from_ref(&legacy), counting, window)
            );
        }
    }
    assert_eq!(
        reached_in(&[now], Counting::PassThrough, Window::Cohort),
        [1, 1, 1, 1, 1, 1]
    );
}

#[test]
fn cohort_strict() {
    // B skipped discovery: it counts at acquisition only. C went back to acquisition and into
    // discovery again: counted once, at its first entry (03-07), then solution 04-02.
    // acq 5; disc A C G = 3; sol A C = 2; neg A = 1.
    assert_eq!(
        reached(Counting::Strict, Window::Cohort),
        [5, 3, 2, 1, 0, 0]
    );
    assert_eq!(
        to_next(Counting::Strict, Window::Cohort),
        ["60.0%", "66.7%", "50.0%", "0.0%", "n/a"]
    );
}

#[test]
fn activity_pass_through() {
    // Entries in March, any lead but the deleted E.
    // acq: A B C F G (D entered in February, H in April) = 5.
    // disc: A, B (passed 03-06), C (03-07), D (03-15), G = 5. sol: A, B, D (C's is in April) = 3.
    // neg: A, B = 2. closing and care: A, won 03-25 (G's win on 04-05 is in April) = 1.
    assert_eq!(
        reached(Counting::PassThrough, Window::Activity),
        [5, 5, 3, 2, 1, 1]
    );
    assert_eq!(
        to_next(Counting::PassThrough, Window::Activity),
        ["100.0%", "60.0%", "66.7%", "50.0%", "100.0%"]
    );
}

#[test]
fn activity_strict() {
    // acq: A B C F G = 5. disc: A C D G = 4. sol: A D = 2. neg: A = 1.
    assert_eq!(
        reached(Counting::Strict, Window::Activity),
        [5, 4, 2, 1, 0, 0]
    );
}

#[test]
fn current_counts_and_the_bottleneck() {
    let rows = fixture();
    let strict = funnel(
        &rows,
        &pipeline(),
        march(),
        at("04-15"),
        Counting::Strict,
        Window::Cohort,
    );
    // Open and not deleted now: C and D in solution, H in acquisition.
    let current: Vec<u64> = strict.stages.iter().map(|s| s.current).collect();
    assert_eq!(current, [1, 0, 2, 0, 0, 0]);
    assert_eq!(strict.leads, 5);
    let bottlenecks = |figures: &fieldsync_funnel::stages::Funnel| -> Vec<String> {
        figures
            .stages
            .iter()
            .filter(|s| s.bottleneck)
            .map(|s| s.stage.clone())
            .collect()
    };
    // Strict, against ideals 60/60/50/50/90: 60%, 66.7%, 50%, then negotiation -> closing at
    // 0% against 50% is the one step short.
    assert_eq!(bottlenecks(&strict), ["negotiation"]);
    // Pass-through, 80/100/75/66.7/100: no step is short.
    let pass = funnel(
        &rows,
        &pipeline(),
        march(),
        at("04-15"),
        Counting::PassThrough,
        Window::Cohort,
    );
    assert!(bottlenecks(&pass).is_empty());
    let from_first: Vec<String> = pass
        .stages
        .iter()
        .map(|s| s.from_first.to_string())
        .collect();
    assert_eq!(
        from_first,
        ["100.0%", "80.0%", "80.0%", "60.0%", "40.0%", "40.0%"]
    );
    // A step after the win stage is never the bottleneck: make care a sales stage's
    // successor that falls short (care -> an added stage no one reached) and it is not named.
    let mut after = pipeline();
    after.stages.push(fieldsync_model::pipeline::Stage {
        key: "renewal".into(),
        label: fieldsync_model::pipeline::Label {
            en: "renewal".into(),
            zh: "续约".into(),
        },
        probability: 100,
        stale_days: 30,
        ideal_rate: None,
        sales: None,
        entry: None,
        exit: None,
        ideal_open: None,
    });
    after.stages[5].ideal_rate = Some(0.9);
    let figures = funnel(
        &rows,
        &after,
        march(),
        at("04-15"),
        Counting::PassThrough,
        Window::Cohort,
    );
    assert_eq!(figures.stages[5].to_next.unwrap().to_string(), "0.0%");
    assert!(bottlenecks(&figures).is_empty());
}

#[test]
fn outcomes_by_cohort_and_by_activity() {
    let rows = fixture();
    // Cohort A B C F G: won A (100) and G (50), lost B (price, at negotiation) and F
    // (competitor, at acquisition).
    let cohort = outcomes(&rows, &pipeline(), march(), at("04-15"), Window::Cohort);
    assert_eq!((cohort.won, cohort.lost, cohort.abandoned), (2, 2, 0));
    assert_eq!(cohort.win_rate.to_string(), "50.0%");
    assert_eq!(cohort.average_deal, Some(Money::from_cents(7_500)));
    assert_eq!(cohort.median_deal, Some(Money::from_cents(5_000)));
    let reasons: Vec<(String, String)> = cohort
        .loss_reasons
        .iter()
        .map(|r| (r.reason.clone(), r.share.to_string()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("competitor".into(), "50.0%".into()),
            ("price".into(), "50.0%".into())
        ]
    );
    let lost_at: Vec<&str> = cohort.lost_at.iter().map(|l| l.stage.as_str()).collect();
    assert_eq!(lost_at, ["acquisition", "negotiation"]);
    // Activity: outcomes set in March: A won 03-25, B lost 03-28, F lost 03-14 (G won in April).
    let activity = outcomes(&rows, &pipeline(), march(), at("04-15"), Window::Activity);
    assert_eq!((activity.won, activity.lost), (1, 2));
    assert_eq!(activity.win_rate.to_string(), "33.3%");
    assert_eq!(activity.average_deal, Some(Money::from_cents(10_000)));
}

#[test]
fn channel_effectiveness() {
    let rows = fixture();
    // Created in March: referral A (won 100), G (won 50); website B, C; trade-show F.
    let by_source = effectiveness(&rows, &march(), Window::Cohort, GroupBy::Source);
    let table: Vec<(String, u64, u64, String, Option<Money>)> = by_source
        .into_iter()
        .map(|g| {
            (
                g.group,
                g.leads,
                g.won,
                g.conversion.to_string(),
                g.average_deal,
            )
        })
        .collect();
    assert_eq!(
        table,
        [
            (
                "referral".into(),
                2,
                2,
                "100.0%".into(),
                Some(Money::from_cents(7_500))
            ),
            ("website".into(), 2, 0, "0.0%".into(), None),
            ("trade-show".into(), 1, 0, "0.0%".into(), None),
        ]
    );
}

#[test]
fn groups_follow_the_window_so_their_wins_add_up_to_the_reports() {
    let rows = fixture();
    for window in [Window::Cohort, Window::Activity] {
        let top = outcomes(&rows, &pipeline(), march(), at("04-15"), window);
        for by in [GroupBy::Source, GroupBy::Owner, GroupBy::Industry] {
            let groups = effectiveness(&rows, &march(), window, by);
            let won: u64 = groups.iter().map(|g| g.won).sum();
            assert_eq!(won, top.won, "{window:?} {by:?}");
        }
    }
    // Activity in March: decided were A (referral, won 03-25), B (website, lost 03-28) and F
    // (trade-show, lost 03-14); G's win on 04-05 and C, D, H (open) do not count.
    let activity: Vec<(String, u64, u64, String)> =
        effectiveness(&rows, &march(), Window::Activity, GroupBy::Source)
            .into_iter()
            .map(|g| (g.group, g.leads, g.won, g.conversion.to_string()))
            .collect();
    assert_eq!(
        activity,
        [
            ("referral".into(), 1, 1, "100.0%".into()),
            ("trade-show".into(), 1, 0, "0.0%".into()),
            ("website".into(), 1, 0, "0.0%".into()),
        ]
    );
}

#[test]
fn competitor_notes() {
    let mut rows = fixture();
    rows[0].competitors = "用友, SAP".into(); // A, won
    rows[1].competitors = "sap".into(); // B, lost (price)
    rows[2].competitors = "金蝶、用友，用友".into(); // C, open; names 用友 twice
    rows[4].competitors = "用友".into(); // E, deleted
    rows[5].competitors = "用友".into(); // F, lost to a competitor
    rows[7].competitors = "SAP".into(); // H, created in April
    // March, not deleted: 用友 by A, C, F = 3 (won A; lost F, to a competitor) = 1 of 2.
    // SAP by A and B ("sap" is the same) = 2 (won A; lost B, price) = 1 of 2. 金蝶 by C: open.
    let table: Vec<(String, u64, u64, u64, u64, String)> = competitors(&rows, &march())
        .into_iter()
        .map(|c| {
            (
                c.competitor,
                c.leads,
                c.won,
                c.lost,
                c.lost_to_competitor,
                c.win_rate.to_string(),
            )
        })
        .collect();
    assert_eq!(
        table,
        [
            ("用友".into(), 3, 1, 1, 1, "50.0%".into()),
            ("SAP".into(), 2, 1, 1, 0, "50.0%".into()),
            ("金蝶".into(), 1, 0, 0, 0, "n/a".into()),
        ]
    );
}

#[test]
fn winning_customer_profile() {
    let mut rows = fixture();
    for (index, industry) in [
        (0, "制造"),
        (1, "制造"),
        (2, "零售"),
        (5, "制造"),
        (6, "零售"),
        (7, "制造"),
    ] {
        rows[index].industry = industry.into();
    }
    rows[0].budget = "20+".into(); // A, won 100
    rows[6].budget = "5-10".into(); // G, won 50
    let profile = winning_profile(&rows, &march(), Window::Cohort);
    let dimensions: Vec<GroupBy> = profile.iter().map(|(by, _)| *by).collect();
    assert_eq!(dimensions, GroupBy::PROFILE);
    let table = |by: GroupBy| -> Vec<(String, u64, u64, String, String, Option<Money>)> {
        let (_, groups) = profile.iter().find(|(b, _)| *b == by).unwrap();
        groups
            .iter()
            .map(|g| {
                (
                    g.group.clone(),
                    g.leads,
                    g.won,
                    g.conversion.to_string(),
                    g.share_of_won.to_string(),
                    g.average_deal,
                )
            })
            .collect()
    };
    // March leads A B C F G; wins A (100) and G (50). 制造: A B F, won A. 零售: C G, won G.
    // H (制造) was created in April. Most wins first, then most leads.
    assert_eq!(
        table(GroupBy::Industry),
        [
            (
                "制造".into(),
                3,
                1,
                "33.3%".into(),
                "50.0%".into(),
                Some(Money::from_cents(10_000))
            ),
            (
                "零售".into(),
                2,
                1,
                "50.0%".into(),
                "50.0%".into(),
                Some(Money::from_cents(5_000))
            ),
        ]
    );
    // Budget: 20+ (A) and 5-10 (G) one win each (tie broken by key); B C F recorded none.
    assert_eq!(
        table(GroupBy::Budget),
        [
            (
                "20+".into(),
                1,
                1,
                "100.0%".into(),
                "50.0%".into(),
                Some(Money::from_cents(10_000))
            ),
            (
                "5-10".into(),
                1,
                1,
                "100.0%".into(),
                "50.0%".into(),
                Some(Money::from_cents(5_000))
            ),
            ("".into(), 3, 0, "0.0%".into(), "0.0%".into(), None),
        ]
    );
}

#[test]
fn an_empty_period_has_no_rates_only_not_applicable() {
    let rows = fixture();
    let empty = Period::days(
        NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2023, 1, 31).unwrap(),
        &Utc,
    );
    for window in [Window::Cohort, Window::Activity] {
        let figures = funnel(
            &rows,
            &pipeline(),
            empty,
            at("04-15"),
            Counting::Strict,
            window,
        );
        assert!(figures.stages.iter().all(|s| s.reached == 0));
        assert!(
            figures
                .stages
                .iter()
                .all(|s| s.from_first.to_string() == "n/a")
        );
        assert!(figures.stages.iter().all(|s| !s.bottleneck));
        let ended = outcomes(&rows, &pipeline(), empty, at("04-15"), window);
        assert_eq!(ended.win_rate.to_string(), "n/a");
        assert_eq!(ended.average_deal, None);
        let json = serde_json::to_string(&figures).unwrap();
        assert!(!json.contains("NaN"), "{json}");
    }
}

#[test]
fn period_edges_follow_the_users_zone() {
    // Created 2024-03-31 17:00 UTC: still March in UTC, already April 1st in Shanghai.
    let late = row(9, "website", "2024-03-31T17:00:00Z", &[]);
    let rows = [late];
    let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    let march_utc = Period::days(day(1), day(31), &Utc);
    let march_shanghai = Period::days(day(1), day(31), &shanghai);
    let count = |period| {
        funnel(
            &rows,
            &pipeline(),
            period,
            at("04-15"),
            Counting::Strict,
            Window::Cohort,
        )
        .leads
    };
    assert_eq!(count(march_utc), 1);
    assert_eq!(count(march_shanghai), 0);
}

/// Count, mean and median, rounded to three decimals.
type Summary = (u64, Option<f64>, Option<f64>);

fn days(d: &fieldsync_funnel::durations::Days) -> Summary {
    let round = |v: Option<f64>| v.map(|v| (v * 1000.0).round() / 1000.0);
    (d.count, round(d.average), round(d.median))
}

#[test]
fn time_in_stage_and_cycles_for_the_cohort() {
    use fieldsync_funnel::durations::durations;
    let rows = fixture();
    let figures = durations(&rows, &pipeline(), march(), Window::Cohort);
    // Completed stays of A B C F G (all events at 10:00, so whole days):
    // A acq 3, disc 5, sol 10, neg 5 (to won); B acq 3, sol 6, neg 16 (to lost);
    // C acq 3, disc 2, acq 2 (back), disc 22 (then solution, still open); F acq 2; G acq 1, disc 15.
    let stage = |key: &str| figures.stages.iter().find(|s| s.stage == key).unwrap();
    // First stays: acq [1,2,3,3,3]; disc [2,5,15]; sol [6,10]; neg [5,16].
    assert_eq!(
        days(&stage("acquisition").first_stay),
        (5, Some(2.4), Some(3.0))
    );
    assert_eq!(
        days(&stage("discovery").first_stay),
        (3, Some(7.333), Some(5.0))
    );
    assert_eq!(
        days(&stage("solution").first_stay),
        (2, Some(8.0), Some(6.0))
    );
    assert_eq!(
        days(&stage("negotiation").first_stay),
        (2, Some(10.5), Some(5.0))
    );
    // Cumulative per lead: acq [1,2,3,3,5] (C: 3 + 2); disc [5,15,24] (C: 2 + 22).
    assert_eq!(
        days(&stage("acquisition").cumulative),
        (5, Some(2.8), Some(3.0))
    );
    assert_eq!(
        days(&stage("discovery").cumulative),
        (3, Some(14.667), Some(15.0))
    );
    assert_eq!(days(&stage("closing").cumulative), (0, None, None));
    // Creation to won: A 23 days, G 16.
    assert_eq!(days(&figures.to_won), (2, Some(19.5), Some(16.0)));
    // Proposal cycle (discovery -> negotiation): A only, 15 days (B skipped discovery).
    // Negotiation cycle (negotiation -> won): A, 5 days.
    let cycles: Vec<(&str, Summary)> = figures
        .cycles
        .iter()
        .map(|c| (c.name, days(&c.days)))
        .collect();
    assert_eq!(
        cycles,
        [
            ("proposal", (1, Some(15.0), Some(15.0))),
            ("negotiation", (1, Some(5.0), Some(5.0)))
        ]
    );
}

#[test]
fn a_won_customer_in_account_care_ends_its_closing_stay_at_the_win() {
    use fieldsync_funnel::durations::durations;
    let mut rows = fixture();
    // A (won 03-25 in negotiation) moves on to account care on 04-01.
    rows[0].stage_path.push(StageEntry {
        stage: "care".into(),
        at_ms: ms("04-01"),
    });
    let figures = durations(&rows, &pipeline(), march(), Window::Cohort);
    let stage = |key: &str| figures.stages.iter().find(|s| s.stage == key).unwrap();
    // Negotiation first stays are still A 5 (03-20 to the win on 03-25, not to 04-01) and B 16.
    assert_eq!(
        days(&stage("negotiation").first_stay),
        (2, Some(10.5), Some(5.0))
    );
    // Care goes on: no completed stay.
    assert_eq!(days(&stage("care").first_stay), (0, None, None));
    // The funnel counts A as having reached care at its win, as without the move (and G, won
    // from discovery, passed every stage to care).
    assert_eq!(
        reached_in(&rows, Counting::PassThrough, Window::Cohort),
        [5, 4, 4, 3, 2, 2]
    );
}

#[test]
fn the_weighted_open_pipeline_and_expected_closes() {
    use fieldsync_funnel::pipeline_value::open_pipeline;
    let mut rows = fixture();
    // Open now: C (solution, 40%), D (solution, 40%), H (acquisition, 10%).
    for (n, amount, close) in [
        (3u8, 30, Some("2024-05-10")),
        (4, 20, Some("2024-04-20")),
        (8, 10, None),
    ] {
        let row = rows
            .iter_mut()
            .find(|r| r.id == LeadId::from_bytes([n; 16]))
            .unwrap();
        row.amount = Some(Money::from_cents(amount * 100));
        row.expected_close = close.map(SmolStr::from);
    }
    // Read on 2024-05-15: April's expected closes are past.
    let value = open_pipeline(
        &rows,
        &pipeline(),
        NaiveDate::from_ymd_opt(2024, 5, 15).unwrap(),
    );
    let past: Vec<(String, bool)> = value
        .expected
        .iter()
        .map(|m| (m.month.clone(), m.past))
        .collect();
    assert_eq!(
        past,
        [("2024-04".to_owned(), true), ("2024-05".to_owned(), false)]
    );
    assert_eq!((value.leads, value.with_amount), (3, 3));
    assert_eq!(value.amount, Money::from_cents(6_000));
    // 30 x 0.4 + 20 x 0.4 + 10 x 0.1 = 21.
    assert_eq!(value.weighted, Money::from_cents(2_100));
    let months: Vec<(String, u64, Money, Money)> = value
        .expected
        .into_iter()
        .map(|m| (m.month, m.leads, m.amount, m.weighted))
        .collect();
    assert_eq!(
        months,
        [
            (
                "2024-04".into(),
                1,
                Money::from_cents(2_000),
                Money::from_cents(800)
            ),
            (
                "2024-05".into(),
                1,
                Money::from_cents(3_000),
                Money::from_cents(1_200)
            ),
        ]
    );
}

#[test]
fn alerts_for_stale_leads_missed_cadences_past_steps_and_anomalies() {
    use fieldsync_funnel::alerts::{AnomalyKind, LeadAlertKind, alerts};
    use fieldsync_model::Priority;
    // Now 2024-05-10 10:00 UTC; b2b stages allow 30 days each.
    // P: high priority, in acquisition since 05-01, last follow-up 05-06, next step due 05-08:
    //    silent 4 days against a cadence of 3 (1 over); the step is 2 days past due.
    // Q: low priority, in acquisition since 03-01 (70 days, 40 over the limit), last follow-up
    //    05-01 (9 days, within 14), next step due later today (due, not overdue).
    // R: won 05-01 in negotiation, created 01-01: 121 days against 4 x 30 = 120 allowed.
    // S, T: abandoned. Closed: R, S, T; abandoned 2 of 3, over 30%.
    let mut p = row(11, "website", "05-01", &[]);
    p.priority = Some(Priority::High);
    p.last_followup_ms = Some(ms("05-06"));
    p.next_due = Some("2024-05-08".into());
    let mut q = row(12, "website", "03-01", &[]);
    q.priority = Some(Priority::Low);
    q.last_followup_ms = Some(ms("05-01"));
    q.next_due = Some("2024-05-10T12:00:00Z".into());
    let r = won(
        row(13, "referral", "01-01", &[("negotiation", "04-20")]),
        "05-01",
        10,
    );
    let mut abandoned = Vec::new();
    for n in [14u8, 15] {
        let mut lead = row(n, "social", "04-01", &[]);
        lead.outcome = Outcome::Abandoned;
        lead.outcome_ms = Some(ms("04-10"));
        lead.owner = None;
        abandoned.push(lead);
    }
    let rows: Vec<LeadRow> = [p, q, r].into_iter().chain(abandoned).collect();
    let found = alerts(
        &rows,
        &pipeline(),
        at("05-10"),
        FixedOffset::east_opt(0).unwrap(),
    );
    let leads: Vec<(LeadAlertKind, LeadId, i64, i64)> = found
        .leads
        .iter()
        .map(|a| (a.kind, a.id.clone(), a.days_over, a.limit_days))
        .collect();
    let (p, q) = (LeadId::from_bytes([11; 16]), LeadId::from_bytes([12; 16]));
    assert_eq!(
        leads,
        [
            (LeadAlertKind::Stale, q.clone(), 40, 30),
            (LeadAlertKind::NextStepOverdue, p.clone(), 2, 0),
            (LeadAlertKind::FollowUpOverdue, p, 1, 3),
            (LeadAlertKind::NextStepDue, q, 0, 0),
        ]
    );
    let anomalies: Vec<(AnomalyKind, usize)> = found
        .anomalies
        .iter()
        .map(|a| (a.kind, a.leads.len()))
        .collect();
    assert_eq!(
        anomalies,
        [
            (AnomalyKind::HighAbandonRate, 2),
            (AnomalyKind::LongCycle, 1)
        ]
    );
}

#[test]
fn a_lead_on_hold_is_out_of_the_alerts_until_its_hold_ends() {
    use fieldsync_funnel::alerts::{AnomalyKind, LeadAlertKind, alerts};
    // Now 2024-05-10. All in acquisition since 03-01 and never followed up: stale and silent.
    // H1 on hold until 05-12 (ends in 2 days), H2 until 06-30 (far), H3 until 05-09 (over).
    let mut rows = Vec::new();
    for (n, until) in [(21u8, "2024-05-12"), (22, "2024-06-30"), (23, "2024-05-09")] {
        let mut lead = row(n, "website", "03-01", &[]);
        lead.hold_until = Some(until.parse().unwrap());
        rows.push(lead);
    }
    let found = alerts(
        &rows,
        &pipeline(),
        at("05-10"),
        FixedOffset::east_opt(0).unwrap(),
    );
    let of = |n: u8| -> Vec<(LeadAlertKind, i64)> {
        found
            .leads
            .iter()
            .filter(|a| a.id == LeadId::from_bytes([n; 16]))
            .map(|a| (a.kind, a.days_over))
            .collect()
    };
    assert_eq!(of(21), [(LeadAlertKind::HoldEnding, -2)]);
    assert!(of(22).is_empty());
    let ended: Vec<LeadAlertKind> = of(23).into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(
        ended,
        [LeadAlertKind::FollowUpOverdue, LeadAlertKind::Stale]
    );
    assert_eq!(
        found.leads[found.leads.len() - 1].describe(),
        "on hold, ends in 2 days"
    );

    // Six open leads not on hold, one of which moved in the last 14 days: a low move rate.
    // A deal won straight from acquisition never passed the funnel.
    let mut rows: Vec<LeadRow> = (30u8..35)
        .map(|n| row(n, "website", "03-01", &[]))
        .collect();
    rows.push(row(36, "website", "03-01", &[("discovery", "05-05")]));
    rows.push(won(row(37, "referral", "04-01", &[]), "04-03", 20));
    let found = alerts(
        &rows,
        &pipeline(),
        at("05-10"),
        FixedOffset::east_opt(0).unwrap(),
    );
    let anomalies: Vec<(AnomalyKind, String, usize)> = found
        .anomalies
        .iter()
        .map(|a| (a.kind, a.detail.clone(), a.leads.len()))
        .collect();
    assert_eq!(
        anomalies,
        [
            (
                AnomalyKind::LowMoveRate,
                "1 of 6 open leads moved stage in the last 14 days (under 20%)".into(),
                5
            ),
            (
                AnomalyKind::WonOutsideFunnel,
                "1 won deal was won straight from lead acquisition 线索获取, without passing the funnel".into(),
                1
            ),
        ]
    );
}

#[test]
fn a_rep_far_from_the_ideal_open_leads_of_a_stage_is_an_anomaly() {
    use fieldsync_funnel::alerts::{AnomalyKind, alerts};
    // The layers deck: ideal open leads per rep 10 graded, 13 contacted, 7 lead, 2 opportunity.
    // lina holds 30 in contacted (over twice 13), 5 in lead (within half to twice 7), none
    // graded or in opportunity (under half). Leads in the pool count for no rep.
    let layers = templates::layers();
    let mut rows = Vec::new();
    for (n, stage) in (0u8..30)
        .map(|n| (n, "contacted"))
        .chain((30u8..35).map(|n| (n, "lead")))
    {
        let mut lead = row(n, "website", "05-08", &[]);
        lead.stage = stage.into();
        rows.push(lead);
    }
    let mut pooled = row(40, "website", "05-08", &[]);
    pooled.stage = "graded".into();
    pooled.owner = None;
    rows.push(pooled);
    let found = alerts(
        &rows,
        &layers,
        at("05-10"),
        FixedOffset::east_opt(0).unwrap(),
    );
    let off: Vec<(String, usize)> = found
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::OffIdealLoad)
        .map(|a| (a.detail.clone(), a.leads.len()))
        .collect();
    assert_eq!(
        off,
        [
            (
                "lina holds 0 open leads in graded 已分级 against an ideal 10 per rep".to_owned(),
                0
            ),
            (
                "lina holds 30 open leads in contacted 已接触 against an ideal 13 per rep"
                    .to_owned(),
                30
            ),
            (
                "lina holds 0 open leads in opportunity 意向客户(商机) against an ideal 2 per rep"
                    .to_owned(),
                0
            ),
        ]
    );
}

#[test]
fn a_step_due_at_a_time_is_due_today_on_the_readers_day() {
    use fieldsync_funnel::alerts::{LeadAlertKind, alerts};
    // Now 2024-05-10 10:00 UTC (18:00 in Shanghai). A step due at 17:00 UTC is due later today
    // in London, but at 01:00 tomorrow in Shanghai.
    let mut lead = row(50, "website", "05-09", &[]);
    lead.last_followup_ms = Some(ms("05-10"));
    lead.next_due = Some("2024-05-10T17:00:00Z".into());
    let due = |hours: i32| -> bool {
        let zone = FixedOffset::east_opt(hours * 3600).unwrap();
        alerts(std::slice::from_ref(&lead), &pipeline(), at("05-10"), zone)
            .leads
            .iter()
            .any(|a| a.kind == LeadAlertKind::NextStepDue)
    };
    assert!(due(0));
    assert!(!due(8));
}
