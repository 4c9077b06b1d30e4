//! `fieldsync app`: serves the app on 127.0.0.1 over this device's store, syncs while it
//! runs, prints the address (with this launch's key) and opens the browser, until Ctrl-C.
//!
//! The browser is not handed the address itself: a command line is visible to every user of
//! the machine, and the address carries the key. It opens a page in the store's folder,
//! readable by this user only, that forwards to the address (as Jupyter does).

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use fieldsync_web::{App, serve, syncing};

use crate::args::AppArgs;
use crate::context::Context;

/// The page that forwards the browser to the address, in the home folder.
const LAUNCH_PAGE: &str = "app-launch.html";

/// Writes the forwarding page, readable by this user only.
fn launch_page(home: &Path, url: &str) -> Result<std::path::PathBuf> {
    let path = home.join(LAUNCH_PAGE);
    let page = format!(
        "<!DOCTYPE html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; url={url}\"><title>fieldsync</title><a href=\"{url}\">fieldsync</a>\n"
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(page.as_bytes())?;
    Ok(path)
}

/// Serves until Ctrl-C or SIGTERM.
pub fn run(cx: &Context, args: &AppArgs, out: &mut impl Write) -> Result<()> {
    drop(cx.open_store()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = fieldsync_web::server::bind(args.port)
            .await
            .with_context(|| {
                format!(
                    "cannot serve on 127.0.0.1:{}: pass another --port (0 picks a free one)",
                    args.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let app = App::new(Context::store_path_in(&cx.home), cx.store_options(), port);
        writeln!(out, "fieldsync app: open {}", app.url())?;
        writeln!(
            out,
            "(Ctrl-C stops it; it syncs with the team while it runs)"
        )?;
        out.flush()?;
        let (stop_sync, stopped) = tokio::sync::watch::channel(false);
        let syncer = syncing::start(std::sync::Arc::clone(&app), stopped);
        if !args.no_open {
            let page = launch_page(&cx.home, &app.url())?;
            if let Err(err) = webbrowser::open(&format!("file://{}", page.display())) {
                eprintln!("fieldsync: cannot open a browser ({err}); open the address above");
            }
        }
        serve(listener, app, shutdown()).await?;
        let _ = stop_sync.send(true);
        let _ = tokio::task::spawn_blocking(move || syncer.join()).await;
        writeln!(out, "stopped")?;
        Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
