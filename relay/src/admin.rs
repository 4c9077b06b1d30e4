//! The relay's admin socket, `admin.sock` in its data directory: how an operator's command on
//! the same machine asks the running relay for what only it can do consistently while it
//! serves (a backup). It is a Unix socket in the relay's private directory, made readable and
//! writable by the relay's user only; one line asks, one line answers.

use std::path::{Path, PathBuf};

/// The socket's file name in the data directory.
pub const SOCKET: &str = "admin.sock";

/// The socket of the relay serving `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET)
}

/// Has the relay serving `data` do `command`, or, if no relay serves it, runs `stopped`
/// instead; returns what the answer says after "ok".
pub fn run(
    data: &Path,
    command: &str,
    stopped: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    match ask(data, command) {
        None => stopped(),
        Some(Err(err)) => anyhow::bail!("the running relay did not answer: {err}"),
        Some(Ok(answer)) => match answer.split_once(' ').unwrap_or((&answer, "")) {
            ("ok", rest) => Ok(rest.to_owned()),
            (_, why) => anyhow::bail!("the running relay could not: {why}"),
        },
    }
}

#[cfg(unix)]
mod unix {
    use std::io::{self, BufRead, Write};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::sync::Arc;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::UnixListener;

    use crate::hub::Hub;

    /// Answers commands on `DATA/admin.sock` until the task is dropped.
    pub async fn serve(data: &Path, hub: Arc<Hub>) -> io::Result<()> {
        let path = super::socket_path(data);
        // One left by a relay that was killed answers nobody.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        loop {
            let (stream, _) = listener.accept().await?;
            let hub = hub.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let asked = BufReader::new(read.take(4096)).read_line(&mut line).await;
                let reply = match asked {
                    Ok(_) => answer(line.trim_end(), &hub).await,
                    Err(err) => format!("error {err}"),
                };
                let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
            });
        }
    }

    async fn answer(command: &str, hub: &Hub) -> String {
        match command.split_once(' ') {
            Some(("backup", dir)) => match hub.backup(Path::new(dir)).await {
                Ok(teams) => format!("ok {teams}"),
                Err(err) => format!("error {err:#}"),
            },
            _ if command == "compact" => match hub.compact().await {
                Ok((before, after)) => format!("ok {before} {after}"),
                Err(err) => format!("error {err:#}"),
            },
            _ if command == "ping" => "ok".to_owned(),
            _ => format!("error unknown command {command:?}"),
        }
    }

    /// Asks the relay serving `data`; `None` if no relay answers there.
    pub fn ask(data: &Path, command: &str) -> Option<io::Result<String>> {
        let mut stream = std::os::unix::net::UnixStream::connect(super::socket_path(data)).ok()?;
        let asked = (|| {
            writeln!(stream, "{command}")?;
            let mut line = String::new();
            io::BufReader::new(stream).read_line(&mut line)?;
            Ok(line.trim_end().to_owned())
        })();
        Some(asked)
    }
}

#[cfg(unix)]
pub use unix::{ask, serve};

/// Without Unix sockets there is no admin socket: commands find no running relay.
#[cfg(not(unix))]
pub fn ask(_data: &Path, _command: &str) -> Option<std::io::Result<String>> {
    None
}

/// Without Unix sockets there is no admin socket to serve.
#[cfg(not(unix))]
pub async fn serve(_data: &Path, _hub: std::sync::Arc<crate::hub::Hub>) -> std::io::Result<()> {
    std::future::pending().await
}
