//! The relay's command line: flags, their environment variables and defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::members::Role;

/// fieldsync-relay: stores and forwards a team's lead documents between its devices.
#[derive(Debug, Parser)]
#[command(name = "fieldsync-relay", version, about)]
pub struct Cli {
    /// The relay's data directory: members.json and one redb file per team.
    #[arg(
        long,
        env = "FIELDSYNC_RELAY_DATA",
        global = true,
        default_value = "fieldsync-relay-data"
    )]
    pub data: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The relay's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve /sync (websocket), /healthz and /metrics.
    Serve(Serve),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage a team's members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Save the members and every team's documents in one zip file; consistent while the
    /// relay serves (it makes the copy itself).
    Backup {
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Give back the space freed inside every team's file (while the relay serves, too).
    Compact,
    /// Put a backup back, into a stopped relay's data directory; what it held is moved aside.
    Restore {
        /// The backup to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
}

/// `team ...`
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Make a team.
    Create {
        /// The team's name.
        name: String,
    },
}

/// `member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a member and print their token (once, alone on the last line).
    Add {
        /// The team.
        team: String,
        /// The member's name.
        name: String,
        /// The member's role: rep or manager (a manager may change the team's pipeline).
        #[arg(long, default_value_t = Role::Rep)]
        role: Role,
    },
    /// Remove a member: their devices are refused from now on and open connections close.
    Remove {
        /// The team.
        team: String,
        /// The member's name.
        name: String,
    },
    /// List a team's members.
    List {
        /// The team.
        team: String,
    },
}

/// `serve` flags.
#[derive(Debug, Args)]
pub struct Serve {
    /// Address to listen on (port 0 picks a free port; the address is printed on start).
    #[arg(long, env = "FIELDSYNC_RELAY_LISTEN", default_value = "127.0.0.1:7700")]
    pub listen: SocketAddr,
    /// Log format.
    #[arg(long, env = "FIELDSYNC_RELAY_LOG_FORMAT", value_parser = ["text", "json"], default_value = "text")]
    pub log_format: String,
    /// Serve TLS (wss://) with this certificate chain, PEM (the server's certificate first).
    /// Without it the relay speaks plain ws://, for a relay behind a TLS-terminating proxy.
    #[arg(
        long,
        env = "FIELDSYNC_RELAY_TLS_CERT",
        requires = "tls_key",
        value_name = "PEM"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "FIELDSYNC_RELAY_TLS_KEY",
        requires = "tls_cert",
        value_name = "PEM"
    )]
    pub tls_key: Option<PathBuf>,
    /// The limits.
    #[command(flatten)]
    pub limits: Limits,
}

/// The limits alone, to read their defaults.
#[derive(Debug, Parser)]
struct LimitsOnly {
    #[command(flatten)]
    limits: Limits,
}

impl Default for Limits {
    /// The defaults the flags document.
    fn default() -> Limits {
        LimitsOnly::parse_from(["fieldsync-relay"]).limits
    }
}

/// Every bound the relay puts on its inputs.
#[derive(Clone, Debug, Args)]
pub struct Limits {
    /// Largest frame accepted from a device, in bytes.
    #[arg(long, env = "FIELDSYNC_RELAY_MAX_FRAME", default_value_t = 8 << 20)]
    pub max_frame: usize,
    /// Time a new connection has to authenticate.
    #[arg(long, env = "FIELDSYNC_RELAY_HELLO_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub hello_timeout: Duration,
    /// Largest frame accepted before authentication, in bytes.
    #[arg(long, env = "FIELDSYNC_RELAY_HELLO_BYTES", default_value_t = 16 << 10)]
    pub hello_bytes: usize,
    /// Interval between pings to each device.
    #[arg(long, env = "FIELDSYNC_RELAY_PING_INTERVAL", value_parser = humantime::parse_duration, default_value = "15s")]
    pub ping_interval: Duration,
    /// A device silent this long (no pong, no frame) is disconnected.
    #[arg(long, env = "FIELDSYNC_RELAY_PING_TIMEOUT", value_parser = humantime::parse_duration, default_value = "45s")]
    pub ping_timeout: Duration,
    /// Bytes queued for one device before it counts as fallen behind and is disconnected
    /// ("too slow"); a single frame larger than this is still sent, alone.
    #[arg(long, env = "FIELDSYNC_RELAY_SEND_QUEUE_BYTES", default_value_t = 8 << 20)]
    pub send_queue_bytes: usize,
    /// Longest a device may take to read one frame before it is disconnected.
    #[arg(long, env = "FIELDSYNC_RELAY_SEND_TIMEOUT", value_parser = humantime::parse_duration, default_value = "30s")]
    pub send_timeout: Duration,
    /// Connection attempts allowed per client address per minute.
    #[arg(
        long,
        env = "FIELDSYNC_RELAY_CONNECTS_PER_MINUTE",
        default_value_t = 120
    )]
    pub connects_per_minute: u32,
    /// Open connections allowed in all.
    #[arg(
        long,
        env = "FIELDSYNC_RELAY_MAX_CONNECTIONS",
        default_value_t = 20_000
    )]
    pub max_connections: usize,
    /// A team no device has been connected to for this long has its worker stopped and its
    /// file closed (it opens again when a device connects).
    #[arg(long, env = "FIELDSYNC_RELAY_TEAM_IDLE", value_parser = humantime::parse_duration, default_value = "10m")]
    pub team_idle: Duration,
    /// Memory for documents kept loaded, in bytes, shared by every team (estimated from the
    /// documents' stored size).
    #[arg(long, env = "FIELDSYNC_RELAY_CACHE_BYTES", default_value_t = 256 << 20)]
    pub cache_bytes: usize,
    /// Memory for the team files' page caches, in bytes, shared by the teams of the members
    /// file (each team file gets its share when it is opened).
    #[arg(long, env = "FIELDSYNC_RELAY_STORE_CACHE_BYTES", default_value_t = 256 << 20)]
    pub store_cache_bytes: usize,
    /// Largest a lead's document may be, in bytes, stored or its new changes unpacked; a
    /// device pushing a larger one is refused (4013).
    #[arg(long, env = "FIELDSYNC_RELAY_MAX_DOCUMENT", default_value_t = fieldsync_sync::relay::MAX_DOCUMENT)]
    pub max_document: usize,
}
