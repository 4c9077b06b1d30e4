//! The `fieldsync-relay` command line: `serve`, and the team and member admin commands.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use clap::Parser;

use fieldsync_relay::config::{Cli, Command, MemberCommand, Serve, TeamCommand};
use fieldsync_relay::members::Members;
use fieldsync_relay::metrics::Metrics;
use fieldsync_relay::team_store::RedbFiles;
use fieldsync_relay::{backup, hub, server, sockets, tls};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fieldsync-relay: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let data = cli.data;
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Serve(serve) => {
            drop(out);
            run_server(data, serve)
        }
        Command::Backup { out: file } => {
            writeln!(out, "{}", backup::backup(&data, &file)?)?;
            Ok(())
        }
        Command::Compact => {
            writeln!(out, "{}", backup::compact(&data)?)?;
            Ok(())
        }
        Command::Restore { from } => {
            writeln!(out, "{}", backup::restore(&data, &from)?)?;
            Ok(())
        }
        Command::Team(TeamCommand::Create { name }) => {
            fieldsync_relay::team_files::create_team(&data, &name, now)?;
            writeln!(out, "made team '{name}'")?;
            Ok(())
        }
        Command::Member(MemberCommand::Add { team, name, role }) => {
            let token =
                Members::update(&data, |members| members.add_member(&team, &name, role, now))?;
            writeln!(
                out,
                "added {name} to team '{team}' as {role}. Their token, shown this once (give it to them for `fieldsync join`):"
            )?;
            writeln!(out, "{token}")?;
            Ok(())
        }
        Command::Member(MemberCommand::Remove { team, name }) => {
            Members::update(&data, |members| members.remove_member(&team, &name, now))?;
            writeln!(
                out,
                "removed {name} from team '{team}': their devices are refused and open connections close"
            )?;
            Ok(())
        }
        Command::Member(MemberCommand::List { team }) => {
            let members = Members::load(&data)?;
            let record = members.team(&team)?;
            writeln!(out, "NAME\tROLE\tADDED\tREMOVED")?;
            for (name, member) in &record.members {
                let removed = member.removed_at.map_or_else(
                    || "-".to_owned(),
                    |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
                );
                writeln!(
                    out,
                    "{name}\t{}\t{}\t{removed}",
                    member.role,
                    member.added_at.format("%Y-%m-%d %H:%M UTC")
                )?;
            }
            Ok(())
        }
    }
}

fn run_server(data: std::path::PathBuf, serve: Serve) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if serve.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    fieldsync_store::private::create_dir(&data)?;
    let tls = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let mut limits = serve.limits;
    // Every socket takes a file descriptor: the relay takes all the system allows it, and
    // keeps its connection limit below that with room for its files.
    let open_files = sockets::raise_fd_limit();
    let fitting = sockets::fitting_limit(limits.max_connections, open_files);
    if fitting < limits.max_connections {
        tracing::warn!(
            wanted = limits.max_connections,
            open_files,
            "--max-connections lowered to {fitting} to fit the open-file limit (raise it with `ulimit -n` or LimitNOFILE=)"
        );
        limits.max_connections = fitting;
    }
    let metrics = Metrics::default();
    let files = RedbFiles::new(&data, metrics.documents.clone());
    let hub = Arc::new(hub::Hub::new(data.clone(), limits, metrics, files)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind(serve.listen)?;
    let address = listener.local_addr()?;
    // The first line on stdout says where the relay listens (port 0 picks one).
    println!("listening on {address}");
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    tracing::info!(%address, data = %data.display(), "relay started: {scheme}://{address}/sync");
    runtime.block_on(server::serve(listener, tls, hub, server::shutdown_signal()))
}
