//! The `fieldsync` command line: parse, run, report.
//!
//! Exit codes: 0 success, 1 a clean "no", 2 an error (one line on stderr, prefixed
//! `fieldsync:`). A closed pipe (`fieldsync lead list | head`) ends quietly with 0.

/// mimalloc: reading thousands of Automerge documents during a sync is allocation-heavy, and
/// the system allocator was 15% of a bootstrap's samples (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod cmd;
mod context;
mod output;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// Clap's multi-line usage errors become one line naming the problem and where help is.
fn usage_error(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().filter(|line| !line.trim().is_empty());
    let mut first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    // "the following required arguments were not provided:" names them on the next lines.
    if first.ends_with(':') {
        let named: Vec<&str> = lines
            .take_while(|line| line.starts_with(' '))
            .map(str::trim)
            .collect();
        first = format!("{first} {}", named.join(", "));
    }
    let tip = rendered
        .lines()
        .find_map(|line| line.trim().strip_prefix("tip: "))
        .map(|tip| format!(" ({tip})"))
        .unwrap_or_default();
    format!("{first}{tip}; see --help")
}

/// The error for a command that stopped on a panic: almost always a store damaged on disk.
fn stopped(panic: &(dyn std::any::Any + Send)) -> anyhow::Error {
    let why = fieldsync_store::panic_message(panic);
    anyhow::anyhow!(
        "this device's store could not be read ({why}): it may be damaged; `fieldsync repair` rebuilds it from what still reads, keeping the changes not yet pushed, and fetches the rest from the team's relay"
    )
}

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = err.print();
            return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
        Err(err) => {
            eprintln!("fieldsync: {}", usage_error(&err));
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // A damaged store can make the storage engine panic: that is one clear line and a way
    // back, not a crash.
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cmd::run(cli, &mut out).and_then(|clean| {
            out.flush()?;
            Ok(clean)
        })
    }))
    .unwrap_or_else(|panic| Err(stopped(panic.as_ref())));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("fieldsync: {message}");
            ExitCode::from(2)
        }
    }
}
