//! fieldsync-relay: serves a team's documents to its devices over websockets, and manages
//! teams and members in its data directory. The binary is a thin command line over this
//! library; `fieldsync demo` embeds the same relay in-process.
//!
//! - [`config`]: flags, environment variables and limits.
//! - [`admin`]: the admin socket an operator's commands reach the running relay through.
//! - [`backup`]: backups taken while the relay serves, and restores.
//! - [`members`]: teams, members and token hashes in `members.json`.
//! - [`storage`]: team stores behind the protocol core's trait, reopened after a failure.
//! - [`team_files`]: a team's file made with the team, and checked before serving.
//! - [`team_store`]: one team's documents and changes feed in redb.
//! - [`hub`]: team workers and open connections.
//! - [`connection`]: one device's websocket.
//! - [`outbox`]: a connection's outgoing frames, bounded in bytes, and its writer.
//! - [`server`]: HTTP routes, pre-authentication bounds, the members watcher, shutdown.
//! - [`sockets`]: every accepted socket counted against the limit; the open-file limit.
//! - [`tls`]: the relay's own TLS certificate and key.
//! - [`metrics`]: Prometheus metrics.
//! - [`embedded`]: a relay running inside another program, on 127.0.0.1.

pub mod admin;
pub mod backup;
pub mod config;
mod connection;
pub mod embedded;
pub mod hub;
pub mod members;
pub mod metrics;
mod outbox;
pub mod server;
pub mod sockets;
pub mod storage;
pub mod team_files;
pub mod team_store;
mod throttle;
pub mod tls;
