//! TLS end to end: the real relay serving `wss://` with a certificate made at test time by a
//! certificate authority made at test time, devices joined with `--ca-file`, the visibility
//! flows over it, and one clear line when a device does not trust the relay's certificate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod certs;
mod relay;
mod util;

use std::path::PathBuf;
use std::process::Command;

use certs::Certificates;
use relay::{Relay, relay_binary};
use util::Device;

/// A relay serving TLS with `certs`' certificate.
fn tls_relay(certs: &Certificates) -> Relay {
    let cert = certs.path("cert.pem");
    let key = certs.path("key.pem");
    Relay::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
}

/// A device of `me` with `role`, joined over wss:// trusting `ca` (if any).
fn joined_tls(relay: &Relay, me: &str, role: &str, ca: Option<&PathBuf>) -> Device {
    let token = relay.member_as("east", me, role);
    let device = Device::init(me);
    let mut args = vec![
        "join".to_owned(),
        relay.wss_url(),
        "--team".into(),
        "east".into(),
        "--token".into(),
        token,
    ];
    if let Some(ca) = ca {
        args.extend(["--ca-file".to_owned(), ca.to_str().unwrap().to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    device.ok(&args);
    device
}

fn ids(device: &Device) -> Vec<String> {
    let mut ids: Vec<String> = device
        .list(&[])
        .iter()
        .map(|lead| lead["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn visibility_and_a_handover_work_over_wss_with_the_teams_own_authority() {
    let certs = Certificates::new();
    let relay = tls_relay(&certs);
    relay.admin(&["team", "create", "east"]);
    let ca = certs.path("ca.pem");
    let manager = joined_tls(&relay, "boss", "manager", Some(&ca));
    let lina = joined_tls(&relay, "lina", "rep", Some(&ca));
    let wang = joined_tls(&relay, "wang", "rep", Some(&ca));
    let own = lina.add(&["--company", "加密传输科技", "--contact", "李"]);
    let pooled = manager.add(&["--company", "Pool Works", "--contact", "P"]);
    manager.ok(&["lead", "edit", &pooled, "--unassign"]);
    for device in [&lina, &manager, &wang, &lina] {
        let said = device.ok(&["sync"]);
        assert!(said.contains("synced with wss://127.0.0.1:"), "{said}");
    }
    let mut all = vec![own.clone(), pooled.clone()];
    all.sort();
    assert_eq!(ids(&manager), all);
    assert_eq!(ids(&lina), all);
    assert_eq!(ids(&wang), std::slice::from_ref(&pooled));

    manager.ok(&["lead", "edit", &own, "--owner", "wang"]);
    manager.ok(&["sync"]);
    wang.ok(&["sync"]);
    lina.ok(&["sync"]);
    assert_eq!(ids(&wang), all);
    assert_eq!(ids(&lina), [pooled]);
}

#[test]
fn a_certificate_the_device_does_not_trust_is_one_clear_line() {
    let certs = Certificates::new();
    let relay = tls_relay(&certs);
    relay.admin(&["team", "create", "east"]);
    // No --ca-file: the test authority is not among the web's public ones.
    let untrusting = joined_tls(&relay, "lina", "rep", None);
    // Another team's authority does not vouch for this relay either.
    let other = Certificates::new();
    let wrong = joined_tls(&relay, "wang", "rep", Some(&other.path("ca.pem")));
    for device in [&untrusting, &wrong] {
        let before = device.store_bytes();
        let err = device.fails(&["sync"]);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("the relay's certificate is not trusted by this device")
                && err.contains("--ca-file"),
            "{err}"
        );
        assert_eq!(device.store_bytes(), before);
    }
    // A file that is no certificate is refused at join, with nothing written.
    let device = Device::init("zhang");
    let before = device.store_bytes();
    let err = device.fails(&[
        "join",
        &relay.wss_url(),
        "--team",
        "east",
        "--token",
        "abc",
        "--ca-file",
        certs.path("key.pem").to_str().unwrap(),
    ]);
    assert!(err.contains("ca-file: holds no certificate"), "{err}");
    assert_eq!(device.store_bytes(), before);
}

#[test]
fn a_relay_given_a_key_that_does_not_match_its_certificate_says_so() {
    let certs = Certificates::new();
    let other = Certificates::new();
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(relay_binary())
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(certs.path("cert.pem"))
        .arg("--tls-key")
        .arg(other.path("key.pem"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("does not go with --tls-cert"), "{err}");
}

#[test]
fn an_authority_in_the_platforms_store_is_trusted_without_a_ca_file() {
    let certs = Certificates::new();
    let relay = tls_relay(&certs);
    relay.admin(&["team", "create", "east"]);
    let device = joined_tls(&relay, "lina", "rep", None);
    // The system's store, as OpenSSL-style tools and rustls-native-certs read it: the test's
    // authority stands in for one a company installs on its devices.
    let output = device
        .process()
        .arg("sync")
        .env("SSL_CERT_FILE", certs.path("ca.pem"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("synced with wss://127.0.0.1:"), "{said}");
}
