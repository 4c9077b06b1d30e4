//! The real relay as a child process, and the teams and devices the benchmarks put on it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use fieldsync_model::{LeadId, templates};
use fieldsync_sample::{SampleSpec, generate};
use fieldsync_store::{Remote, Store, StoreOptions};

use crate::sibling_binary;

/// The relay under test, as a child process.
pub struct Relay {
    child: Child,
    data: PathBuf,
    /// Where it listens.
    pub addr: String,
    /// The certificate authority's PEM, when the relay serves TLS.
    pub ca_pem: Option<String>,
}

/// Reps the benchmark's teams spread their leads over.
pub const REPS: usize = 10;

impl Relay {
    /// A relay serving plain ws:// on a free port, its data in `data`.
    pub fn start(data: &Path) -> Result<Relay> {
        Relay::spawn(data, &[], None)
    }

    /// [`Relay::start`] with `extra` serve flags.
    pub fn start_with(data: &Path, extra: &[&str]) -> Result<Relay> {
        let extra: Vec<String> = extra.iter().map(|flag| (*flag).to_owned()).collect();
        Relay::spawn(data, &extra, None)
    }

    /// A relay serving TLS with a certificate for 127.0.0.1 from an authority made here.
    pub fn start_tls(data: &Path) -> Result<Relay> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let key = KeyPair::generate()?;
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &ca)?;
        std::fs::create_dir_all(data)?;
        let (cert_path, key_path) = (data.join("cert.pem"), data.join("key.pem"));
        std::fs::write(&cert_path, cert.pem())?;
        std::fs::write(&key_path, key.serialize_pem())?;
        let tls = [
            "--tls-cert".to_owned(),
            cert_path.display().to_string(),
            "--tls-key".to_owned(),
            key_path.display().to_string(),
        ];
        Relay::spawn(data, &tls, Some(ca.pem()))
    }

    fn spawn(data: &Path, extra: &[String], ca_pem: Option<String>) -> Result<Relay> {
        let mut child = Command::new(sibling_binary("fieldsync-relay")?)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            // Benchmarks sign in far more often than devices do, unless they say otherwise.
            .args(
                if extra.iter().any(|flag| flag == "--connects-per-minute") {
                    &[][..]
                } else {
                    &["--connects-per-minute", "1000000"][..]
                },
            )
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("relay stdout")?).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .context("relay did not say where it listens")?
            .to_owned();
        Ok(Relay {
            child,
            data: data.to_owned(),
            addr,
            ca_pem,
        })
    }

    /// The address devices join.
    pub fn url(&self) -> String {
        match self.ca_pem {
            Some(_) => format!("wss://{}/sync", self.addr),
            None => format!("ws://{}/sync", self.addr),
        }
    }

    /// Runs `fieldsync-relay ARGS` on its data folder; returns what it printed.
    pub fn admin(&self, args: &[&str]) -> Result<String> {
        let output = Command::new(sibling_binary("fieldsync-relay")?)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .output()?;
        if !output.status.success() {
            bail!(
                "fieldsync-relay {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    /// Adds `name` to `team` with `role`; returns the token.
    pub fn member(&self, team: &str, name: &str, role: &str) -> Result<String> {
        let out = self.admin(&["member", "add", team, name, "--role", role])?;
        Ok(out.lines().last().unwrap_or_default().to_owned())
    }

    /// One value from /metrics (a plain HTTP/1.0 GET over loopback).
    pub fn metric(&self, name: &str) -> Result<f64> {
        let mut stream = TcpStream::connect(&self.addr)?;
        write!(
            stream,
            "GET /metrics HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.addr
        )?;
        let mut body = String::new();
        stream.read_to_string(&mut body)?;
        Ok(body
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0))
    }

    /// Bytes received and sent, from /metrics.
    pub fn wire_bytes(&self) -> Result<f64> {
        Ok(self.metric("fieldsync_relay_bytes_received_total")?
            + self.metric("fieldsync_relay_bytes_sent_total")?)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The relay's resident memory, from /proc.
    pub fn rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS")?;
        Ok(kb / 1024.0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A device store of `me`, a member with `role`, joined to `team` on `relay`.
pub fn device(
    dir: &Path,
    relay: &Relay,
    team: &str,
    me: &str,
    role: &str,
) -> Result<(PathBuf, Store)> {
    let home = dir.join(format!("{team}-{me}"));
    let mut store = Store::init(
        &home.join("store.redb"),
        me,
        templates::b2b(),
        StoreOptions::default(),
    )?;
    store.set_remote(&Remote {
        url: relay.url(),
        team: team.to_owned(),
        token: relay.member(team, me, role)?,
        ca_pem: relay.ca_pem.clone(),
    })?;
    Ok((home, store))
}

/// The sample team of `leads` leads, spread over [`REPS`] reps (`rep0`, `rep1`...).
pub fn spread_team(leads: usize) -> Vec<fieldsync_model::LeadHistory> {
    let spec = SampleSpec {
        leads,
        seed: 11,
        now: Utc::now(),
        days: 90,
    };
    generate(&spec)
        .enumerate()
        .map(|(n, mut history)| {
            history.new.owner = Some(format!("rep{}", n % REPS));
            history
        })
        .collect()
}

/// A manager's device holding a pushed team of `leads` leads on `relay`; returns its home,
/// the leads' ids and the push's time.
pub fn pushed_team(
    dir: &Path,
    relay: &Relay,
    team: &str,
    leads: usize,
) -> Result<(PathBuf, Vec<LeadId>, Duration)> {
    relay.admin(&["team", "create", team])?;
    let (home, mut store) = device(dir, relay, team, "boss", "manager")?;
    store.create_leads(spread_team(leads), |_| {})?;
    let ids: Vec<LeadId> = store.rows()?.into_iter().map(|row| row.id).collect();
    drop(store);
    let push = sync(&home)?;
    Ok((home, ids, push))
}

/// Runs `fieldsync sync` on `home` as a whole process; returns its time.
pub fn sync(home: &Path) -> Result<Duration> {
    let started = Instant::now();
    let output = Command::new(sibling_binary("fieldsync")?)
        .arg("--home")
        .arg(home)
        .arg("sync")
        .output()?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "fieldsync sync: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(elapsed)
}
