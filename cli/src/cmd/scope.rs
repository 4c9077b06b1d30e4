//! What `--period`, `--from/--to`, `--strict/--pass-through` and `--cohort/--activity` mean:
//! the period (in the user's zone) and counting rules a funnel or report covers.

use anyhow::Result;
use fieldsync_funnel::period::Calendar;
use fieldsync_funnel::{Counting, Period, Window};
use fieldsync_model::{ValidationError, when};
use fieldsync_report::Scope;

use crate::args::{PeriodArg, ScopeArgs};
use crate::context::Context;

/// The period the arguments name, in the user's zone.
fn period(cx: &Context, args: &ScopeArgs) -> Result<Period> {
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
        return Ok(Period::days(first, last, &cx.zone));
    }
    let calendar = match args.period {
        PeriodArg::Week => Calendar::Week,
        PeriodArg::Month => Calendar::Month,
        PeriodArg::Quarter => Calendar::Quarter,
        PeriodArg::Year => Calendar::Year,
    };
    Ok(Period::containing(calendar, cx.now, &cx.zone))
}

/// The scope the arguments name; checks the dates before anything is opened.
pub fn scope(cx: &Context, args: &ScopeArgs) -> Result<Scope> {
    Ok(Scope {
        period: period(cx, args)?,
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
