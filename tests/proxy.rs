//! docs/operations.md's nginx configuration, run as written (with this test's ports, paths and
//! a certificate made for it) in front of the real relay: devices sync over wss:// through it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod certs;
mod relay;
mod util;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use certs::Certificates;
use relay::Relay;
use util::Device;

/// How long nginx has to open its port.
const START_LIMIT: Duration = Duration::from_secs(20);

/// The nginx block of docs/operations.md.
fn documented_config() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"),
    )
    .unwrap();
    let block = doc.split_once("```nginx\n").expect("an nginx block").1;
    block.split_once("```").unwrap().0.to_owned()
}

/// nginx running the documented configuration from `prefix`.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(prefix: &Path, relay: &str, port: u16, cert: &Path, key: &Path) -> Nginx {
    let config = documented_config()
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
        .replace("/etc/ssl/fieldsync/fullchain.pem", cert.to_str().unwrap())
        .replace("/etc/ssl/fieldsync/key.pem", key.to_str().unwrap())
        .replace("127.0.0.1:7700", relay);
    let config = config.replace(
        "http {",
        "http {\n    access_log off;\n    client_body_temp_path tmp;\n    proxy_temp_path tmp;",
    );
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    std::fs::write(prefix.join("nginx.conf"), config).unwrap();
    let child = Command::new(nginx())
        .arg("-p")
        .arg(prefix)
        .args(["-c", "nginx.conf", "-e", "stderr"])
        .args(["-g", "daemon off; master_process off; pid nginx.pid;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts (scripts/install-test-deps installs it)");
    let deadline = Instant::now() + START_LIMIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not open port {port}");
        std::thread::yield_now();
    }
    Nginx(child)
}

fn nginx() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

#[test]
fn devices_sync_over_wss_through_the_documented_nginx_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certificates::new();
    let (ca_path, cert_path, key_path) = (
        certs.path("ca.pem"),
        certs.path("cert.pem"),
        certs.path("key.pem"),
    );

    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let port = free_port();
    let _nginx = start_nginx(
        &dir.path().join("nginx"),
        &relay.addr,
        port,
        &cert_path,
        &key_path,
    );
    let url = format!("wss://127.0.0.1:{port}/sync");
    let join = |me: &str, role: &str| {
        let token = relay.member_as("east", me, role);
        let device = Device::init(me);
        device.ok(&[
            "join",
            &url,
            "--team",
            "east",
            "--token",
            &token,
            "--ca-file",
            ca_path.to_str().unwrap(),
        ]);
        device
    };
    let manager = join("boss", "manager");
    let lina = join("lina", "rep");
    let lead = lina.add(&["--company", "代理转发科技", "--contact", "周"]);
    assert!(lina.ok(&["sync"]).contains("sent"));
    manager.ok(&["sync"]);
    assert_eq!(manager.show(&lead)["company"], "代理转发科技");
}
