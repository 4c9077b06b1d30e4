//! A period's figures beside the earlier period's: the changes, computed once for the JSON
//! format and written the same way by the terminal funnel and every report format.

use fieldsync_funnel::Rate;
use fieldsync_funnel::stages::StageFigures;
use fieldsync_model::Pipeline;
use serde::Serialize;

use crate::figures::{Previous, Tracking};

/// How the figures moved from the earlier period to this one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// New leads, now minus before.
    pub new_leads: i64,
    /// Won deals, now minus before.
    pub won: i64,
    /// Lost deals, now minus before.
    pub lost: i64,
    /// The win rate's change in percentage points (`None` when either has none).
    pub win_rate_points: Option<f64>,
    /// Per stage in pipeline order, leads that reached it now minus before.
    pub reached: Vec<i64>,
}

fn difference(now: u64, before: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX)
}

/// A rate's change in percentage points.
fn points(now: Rate, before: Rate) -> Option<f64> {
    Some((now.value()? - before.value()?) * 100.0)
}

impl Change {
    /// From `before` to `now`.
    pub fn between(now: &Tracking, before: &Tracking) -> Change {
        Change {
            new_leads: difference(now.new_leads, before.new_leads),
            won: difference(now.outcomes.won, before.outcomes.won),
            lost: difference(now.outcomes.lost, before.outcomes.lost),
            win_rate_points: points(now.outcomes.win_rate, before.outcomes.win_rate),
            reached: now
                .funnel
                .stages
                .iter()
                .zip(&before.funnel.stages)
                .map(|(now, before)| difference(now.reached, before.reached))
                .collect(),
        }
    }
}

/// A count's change: `+3 (+25.0%)`, `-2 (-10.0%)`, `0`, or `+3` from nothing.
pub fn count_change(now: u64, before: u64) -> String {
    let change = difference(now, before);
    match (change, before) {
        (0, _) => "0".to_owned(),
        (_, 0) => format!("{change:+}"),
        _ => format!(
            "{change:+} ({:+.1}%)",
            change as f64 / before as f64 * 100.0
        ),
    }
}

/// A rate's change: `+8.3 pp`, or `n/a`.
pub fn rate_change(now: Rate, before: Rate) -> String {
    points(now, before).map_or_else(|| "n/a".to_owned(), |points| format!("{points:+.1} pp"))
}

/// The headline figures beside the earlier period's, as one sentence.
pub fn headline(now: &Tracking, previous: &Previous) -> String {
    let before = &previous.tracking;
    format!(
        "Against {} to {} ({}): new leads {} → {} ({}); won {} → {} ({}); win rate {} → {} ({}).",
        previous.first_day,
        previous.last_day,
        previous.compared_with.label(),
        before.new_leads,
        now.new_leads,
        count_change(now.new_leads, before.new_leads),
        before.outcomes.won,
        now.outcomes.won,
        count_change(now.outcomes.won, before.outcomes.won),
        before.outcomes.win_rate,
        now.outcomes.win_rate,
        rate_change(now.outcomes.win_rate, before.outcomes.win_rate),
    )
}

/// The funnel table's headings, with the earlier period's columns when there is one.
pub fn funnel_headers(compared: bool) -> Vec<&'static str> {
    let mut headers = vec![
        "stage",
        "open now",
        "reached",
        "to next",
        "ideal",
        "from first",
    ];
    if compared {
        headers.extend(["reached before", "change", "to next before"]);
    }
    headers
}

/// One stage's cells of the funnel table: stage, open now, reached, to next, ideal, from first,
/// and with an earlier period its reached count, the change and its conversion to next.
pub fn funnel_cells(
    stage: &StageFigures,
    before: Option<&StageFigures>,
    pipeline: &Pipeline,
) -> Vec<String> {
    let mut cells = vec![
        pipeline.stage_label(&stage.stage),
        stage.current.to_string(),
        stage.reached.to_string(),
        stage.to_next.map(|r| r.to_string()).unwrap_or_default(),
        stage
            .ideal_to_next
            .map(|ideal| format!("{:.0}%", ideal * 100.0))
            .unwrap_or_default(),
        stage.from_first.to_string(),
    ];
    if let Some(before) = before {
        cells.extend([
            before.reached.to_string(),
            count_change(stage.reached, before.reached),
            before.to_next.map(|r| r.to_string()).unwrap_or_default(),
        ]);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_a_person_says_them() {
        assert_eq!(count_change(15, 12), "+3 (+25.0%)");
        assert_eq!(count_change(9, 10), "-1 (-10.0%)");
        assert_eq!(count_change(4, 4), "0");
        assert_eq!(count_change(3, 0), "+3");
        assert_eq!(rate_change(Rate::new(5, 12), Rate::new(4, 12)), "+8.3 pp");
        assert_eq!(rate_change(Rate::new(1, 2), Rate::new(0, 0)), "n/a");
    }
}
