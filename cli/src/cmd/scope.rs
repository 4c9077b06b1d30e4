//! What `--period`, `--from/--to`, `--strict/--pass-through`, `--cohort/--activity` and
//! `--compare` mean: the period (in the user's zone), the counting rules and the earlier period
//! a funnel or report covers.

use anyhow::Result;
use fieldsync_funnel::period::Calendar;
use fieldsync_funnel::{Compare, Counting, Span, Window};
use fieldsync_model::{ValidationError, when};
use fieldsync_report::Scope;

use crate::args::{CompareArg, PeriodArg, ScopeArgs};
use crate::context::Context;

/// The days the arguments name, in the user's zone.
fn span(cx: &Context, args: &ScopeArgs) -> Result<Span> {
    let date = |field: &'static str, text: &str| {
        when::parse_date(text, cx.now, &cx.zone)
            .map_err(|problem| ValidationError::new(field, problem))
    };
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        let (first, last) = (date("from", from)?, date("to", to)?);
        if last < first {
            return Err(ValidationError::new(
                "to",
                format!("{last} is before --from {first}: give the period's first day to --from and its last to --to"),
            )
            .into());
        }
        return Ok(Span::days(first, last));
    }
    let calendar = match args.period {
        PeriodArg::Week => Calendar::Week,
        PeriodArg::Month => Calendar::Month,
        PeriodArg::Quarter => Calendar::Quarter,
        PeriodArg::Year => Calendar::Year,
    };
    Ok(Span::containing(calendar, cx.now, &cx.zone))
}

/// The scope the arguments name; checks the dates before anything is opened.
pub fn scope(cx: &Context, args: &ScopeArgs) -> Result<Scope> {
    let span = span(cx, args)?;
    let compare = match args.compare {
        CompareArg::Previous => Compare::Previous,
        CompareArg::YearAgo => Compare::YearAgo,
        CompareArg::None => Compare::None,
    };
    Ok(Scope {
        period: span.period(&cx.zone),
        compare: span
            .compared(compare)
            .map(|earlier| (compare, earlier.period(&cx.zone))),
        counting: if args.strict {
            Counting::Strict
        } else {
            Counting::PassThrough
        },
        window: if args.activity {
            Window::Activity
        } else {
            Window::Cohort
        },
        now: cx.now,
    })
}
