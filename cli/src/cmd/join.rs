//! `fieldsync join`: remember the team's relay, team and token in this device's store.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::ValidationError;
use fieldsync_store::Remote;

use crate::args::JoinArgs;
use crate::context::Context;
use fieldsync_client::session::check_url;
use fieldsync_client::tls::certificates;

/// Stores the relay to sync with; nothing goes over the network until `fieldsync sync`.
pub fn run(cx: &Context, args: &JoinArgs, out: &mut impl Write) -> Result<()> {
    check_url(&args.url)?;
    let team = fieldsync_model::validate::required(
        "team",
        fieldsync_model::validate::line("team", &args.team)?,
    )?;
    let token = args.token.trim();
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return Err(ValidationError::new(
            "token",
            "must be the token `fieldsync-relay member add` printed, with no spaces",
        )
        .into());
    }
    let ca_pem = match &args.ca_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path).map_err(|err| {
                ValidationError::new("ca-file", format!("cannot read {}: {err}", path.display()))
            })?;
            certificates(&pem, "ca-file")?;
            Some(pem)
        }
        None => None,
    };
    let mut store = cx.open_store()?;
    store.set_remote(&Remote {
        url: args.url.clone(),
        team: team.clone(),
        token: token.to_owned(),
        ca_pem,
    })?;
    writeln!(
        out,
        "joined team '{team}' at {} as {}; run `fieldsync sync` to push and pull",
        args.url,
        store.me()
    )?;
    Ok(())
}
