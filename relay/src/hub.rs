//! The relay's running state: the members, one worker thread per team, and the open
//! connections.
//!
//! Each team's documents are served by one thread that owns the team's store and handles
//! that team's frames in arrival order. A pull subscribes the device in the same step as its
//! last offer, so no update falls between the feed a device reads and the updates it is sent.
//! Frames to a device go through its [`Outbox`], bounded in bytes; a device whose outbox is
//! full is closed ("too slow") and catches up from the feed when it reconnects, so nothing is
//! dropped silently. Documents kept loaded draw on one byte budget shared by every team.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use anyhow::bail;
use chrono::Utc;
use fieldsync_model::Stamp;
use fieldsync_sync::relay::{Budget, Continuation};
use fieldsync_sync::{Announcement, CloseReason, Outcome, Reach, Refusal, Team, Viewer};
use tokio::sync::{mpsc, oneshot};

use crate::config::Limits;
use crate::members::{Members, Role};
use crate::metrics::Metrics;
use crate::outbox::{End, Frame, Outbox};
use crate::storage::{Health, RelayStore, Reopening, StorageError, TeamFiles};
use crate::throttle::SignIns;

/// An open, authenticated connection, as the rest of the relay sees it.
pub struct Connection {
    /// Numbers connections for logs.
    pub id: u64,
    /// The member's team.
    pub team: String,
    /// The team's file.
    pub file: u32,
    /// The member.
    pub member: String,
    /// SHA-256 of the token the connection authenticated with.
    pub token_sha256: String,
    /// The member's role when the connection was accepted; the connection closes if it
    /// changes, since what the member sees changes with it.
    pub role: Role,
    outbox: Arc<Outbox>,
}

impl Connection {
    /// The member as the team's worker decides what they see.
    fn viewer(&self) -> Viewer {
        Viewer {
            member: self.member.clone(),
            role: self.role,
        }
    }

    /// Queues a frame; a full outbox closes the connection as too slow.
    fn send(&self, frame: Frame) {
        self.outbox.send(frame);
    }

    /// Asks the connection to close with `reason` (the first reason given wins).
    pub fn close(&self, reason: CloseReason) {
        self.outbox.end(End::Close(reason));
    }
}

/// Where the connection's reader learns that its frame was handled, and whether a long answer
/// continues.
type Done = oneshot::Sender<Option<Continuation>>;

enum Request {
    /// The feed's name and head.
    Feed(oneshot::Sender<Result<(String, u64), String>>),
    /// Space freed in the team's file given back: its size before and after.
    Compact(oneshot::Sender<Result<(u64, u64), String>>),
    /// A consistent copy of the team's store, written to a new file.
    Snapshot {
        to: PathBuf,
        done: oneshot::Sender<Result<(), String>>,
    },
    Frame {
        connection: Arc<Connection>,
        frame: Vec<u8>,
        arrived: Instant,
        done: Done,
    },
    /// The next step of a long answer to `connection`.
    Resume {
        connection: Arc<Connection>,
        continuation: Continuation,
        done: Done,
    },
    Leave(u64),
    /// The team's members as the members file lists them now, for the team document.
    Members(Vec<fieldsync_model::Member>),
}

struct TeamWorker {
    requests: mpsc::Sender<Request>,
    thread: JoinHandle<()>,
    /// When a connection last asked for it.
    last_used: Instant,
}

/// A file's modification time and length, to notice when it is replaced.
type FileStamp = (SystemTime, u64);

/// The relay's shared state.
pub struct Hub {
    data: PathBuf,
    /// The limits in force.
    pub limits: Limits,
    /// The metrics.
    pub metrics: Metrics,
    /// Sign-in counts, for throttling.
    pub sign_ins: SignIns,
    /// The memory every team's loaded documents share.
    pub cache: Arc<Budget>,
    /// Which teams' storage is failing.
    pub health: Arc<Health>,
    files: Arc<dyn TeamFiles>,
    members: RwLock<(Arc<Members>, Option<FileStamp>)>,
    teams: Mutex<HashMap<u32, TeamWorker>>,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    no_connections: tokio::sync::Notify,
    next_id: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Hub {
    /// The hub of the relay whose members are in `data` and whose teams' documents `files`
    /// opens, counting into `metrics`.
    pub fn new(
        data: PathBuf,
        limits: Limits,
        metrics: Metrics,
        files: Arc<dyn TeamFiles>,
    ) -> anyhow::Result<Hub> {
        crate::team_files::adopt_team_files(&data, files.as_ref())?;
        let sign_ins = SignIns::new(limits.connects_per_minute);
        let hub = Hub {
            data,
            cache: Budget::new(limits.cache_bytes),
            health: Health::new(
                metrics.storage_failing.clone(),
                metrics.storage_errors.clone(),
            ),
            files,
            limits,
            metrics,
            sign_ins,
            members: RwLock::new((Arc::new(Members::default()), None)),
            teams: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            no_connections: tokio::sync::Notify::new(),
            next_id: AtomicU64::new(1),
        };
        hub.reload_members()?;
        Ok(hub)
    }

    /// The data directory.
    pub fn data(&self) -> &std::path::Path {
        &self.data
    }

    /// The members as last read.
    pub fn members(&self) -> Arc<Members> {
        self.members
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    /// Re-reads the members file if it changed, and closes the connections of anyone no longer
    /// a member (or no longer holding the token they connected with).
    pub fn reload_members(&self) -> anyhow::Result<()> {
        let path = Members::path(&self.data);
        let stamp = std::fs::metadata(&path).ok().map(|meta| {
            (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            )
        });
        {
            let current = self
                .members
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if current.1 == stamp && stamp.is_some() {
                return Ok(());
            }
        }
        if stamp.is_none() && !current_is_empty(&self.members) {
            bail!(
                "{} is missing: put it back from a backup (`fieldsync-relay restore --from FILE`); until then devices are told to sync later, and the teams it listed are served to no one new",
                path.display()
            );
        }
        let members = Arc::new(Members::load(&self.data)?);
        *self
            .members
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (members.clone(), stamp);
        for (file, worker) in lock(&self.teams).iter() {
            if let Some(roster) = roster_of(&members, *file) {
                let _ = worker.requests.try_send(Request::Members(roster));
            }
        }
        for connection in lock(&self.connections).values() {
            if let Err(reason) = members.authorize(
                &connection.team,
                &connection.member,
                &connection.token_sha256,
            ) {
                tracing::info!(
                    connection = connection.id,
                    team = %connection.team,
                    member = %connection.member,
                    "member removed: closing their connection"
                );
                connection.close(reason);
            } else if members.role(&connection.team, &connection.member) != Some(connection.role) {
                tracing::info!(
                    connection = connection.id,
                    team = %connection.team,
                    member = %connection.member,
                    "role changed: closing their connection"
                );
                connection.close(CloseReason::RoleChanged);
            }
        }
        Ok(())
    }

    /// Registers an authenticated connection to team file `file`, sending through `outbox`,
    /// and returns its handle and the team's feed (its name and head).
    pub async fn join(
        self: &Arc<Self>,
        file: u32,
        team: &str,
        member: &str,
        token_sha256: String,
        outbox: Arc<Outbox>,
    ) -> anyhow::Result<(Arc<Connection>, (String, u64))> {
        let feed = self.ask(file, Request::Feed).await?;
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            team: team.to_owned(),
            file,
            member: member.to_owned(),
            role: self.members().role(team, member).unwrap_or(Role::Rep),
            token_sha256,
            outbox,
        });
        lock(&self.connections).insert(connection.id, connection.clone());
        self.metrics.connections.inc();
        // A removal that landed between authentication and registration still closes it.
        if let Err(reason) = self
            .members()
            .authorize(team, member, &connection.token_sha256)
        {
            connection.close(reason);
        }
        Ok((connection, feed))
    }

    /// Sends team file `file`'s worker the request `request` makes with a reply channel, and
    /// waits for the reply.
    async fn ask<T>(
        &self,
        file: u32,
        request: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Request,
    ) -> anyhow::Result<T> {
        let requests = self.worker(file)?;
        let (reply, answer) = oneshot::channel();
        let stopped = || anyhow::anyhow!("team worker stopped");
        requests.send(request(reply)).await.map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|err| anyhow::anyhow!(err))
    }

    /// Writes a consistent copy of every team's store into `dir`, and the members file beside
    /// them, while the relay serves; returns the number of teams.
    pub async fn backup(&self, dir: &std::path::Path) -> anyhow::Result<usize> {
        let teams = crate::backup::plan(&self.data, dir, self.files.as_ref())?;
        for (file, to) in &teams {
            let to = to.clone();
            self.ask(*file, |done| Request::Snapshot { to, done })
                .await?;
        }
        Ok(teams.len())
    }

    /// Compacts every team's file while the relay serves (each between two of its requests);
    /// returns the files' sizes before and after, in all.
    pub async fn compact(&self) -> anyhow::Result<(u64, u64)> {
        let files: Vec<u32> = self
            .members()
            .teams
            .values()
            .map(|team| team.file)
            .collect();
        let (mut before, mut after) = (0, 0);
        for file in files {
            let (was, is) = self.ask(file, Request::Compact).await?;
            before += was;
            after += is;
        }
        Ok((before, after))
    }

    /// Hands a frame from `connection` to its team's worker and waits until it is handled;
    /// returns where the answer continues, if it is long.
    pub async fn frame(
        &self,
        file: u32,
        connection: &Arc<Connection>,
        frame: Vec<u8>,
    ) -> Option<Continuation> {
        self.request(file, connection, |done| Request::Frame {
            connection: connection.clone(),
            frame,
            arrived: Instant::now(),
            done,
        })
        .await
    }

    /// Asks `connection`'s team worker for the next step of a long answer.
    pub async fn resume(
        &self,
        file: u32,
        connection: &Arc<Connection>,
        continuation: Continuation,
    ) -> Option<Continuation> {
        self.request(file, connection, |done| Request::Resume {
            connection: connection.clone(),
            continuation,
            done,
        })
        .await
    }

    async fn request(
        &self,
        file: u32,
        connection: &Connection,
        request: impl FnOnce(Done) -> Request,
    ) -> Option<Continuation> {
        let Ok(requests) = self.worker(file) else {
            connection.close(CloseReason::Storage);
            return None;
        };
        let (done, handled) = oneshot::channel();
        if requests.send(request(done)).await.is_err() {
            connection.close(CloseReason::ShuttingDown);
            return None;
        }
        handled.await.ok().flatten()
    }

    /// Forgets a closed connection.
    pub fn leave(&self, file: u32, connection: &Connection) {
        let mut connections = lock(&self.connections);
        if connections.remove(&connection.id).is_some() {
            self.metrics.connections.dec();
        }
        if connections.is_empty() {
            self.no_connections.notify_waiters();
        }
        drop(connections);
        if let Some(worker) = lock(&self.teams).get(&file) {
            let _ = worker.requests.try_send(Request::Leave(connection.id));
        }
    }

    /// What stops the relay from serving every team now, if anything: a data directory it
    /// cannot write to (full, read-only), a members file it cannot read, teams whose storage
    /// failed at its last use.
    pub fn readiness(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // A file of its own each time (removed when dropped): checks may run side by side.
        let written = tempfile::Builder::new()
            .prefix(".readyz-")
            .tempfile_in(&self.data)
            .and_then(|mut probe| {
                std::io::Write::write_all(&mut probe, b"ok")?;
                probe.as_file().sync_all()
            });
        if let Err(err) = written {
            problems.push(format!(
                "cannot write to the data directory {}: {err}",
                self.data.display()
            ));
        }
        if let Err(err) = self.reload_members() {
            problems.push(format!("cannot read the members file: {err:#}"));
        }
        let members = self.members();
        for (file, err) in self.health.report() {
            let team = members
                .teams
                .iter()
                .find(|(_, team)| team.file == file)
                .map_or_else(|| "?".to_owned(), |(name, _)| name.clone());
            problems.push(format!(
                "team '{team}' ({}): storage failing: {err}; its devices are told to sync later. If the file is damaged or missing, stop the relay and put the team back from a backup: `fieldsync-relay --data {} restore --from FILE`",
                self.files.relative_path(file).display(),
                self.data.display()
            ));
        }
        problems
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        lock(&self.connections).len()
    }

    /// Returns once no connection is open.
    pub async fn idle(&self) {
        loop {
            let notified = self.no_connections.notified();
            if self.connection_count() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Closes every connection with `reason`.
    pub fn close_all(&self, reason: CloseReason) {
        for connection in lock(&self.connections).values() {
            connection.close(reason);
        }
    }

    /// Stops the team workers once they have handled every frame already queued.
    pub fn stop_workers(&self) {
        let workers: Vec<TeamWorker> = lock(&self.teams).drain().map(|(_, w)| w).collect();
        for worker in workers {
            drop(worker.requests);
            let _ = worker.thread.join();
        }
    }

    /// Stops the workers of teams no device has been connected to for `idle`: their files
    /// close and their documents leave memory, until a device of theirs connects again.
    /// Returns how many stopped.
    pub fn stop_idle_workers(&self, idle: std::time::Duration) -> usize {
        let mut teams = lock(&self.teams);
        let connected: std::collections::HashSet<u32> = lock(&self.connections)
            .values()
            .map(|connection| connection.file)
            .collect();
        let idle: Vec<u32> = teams
            .iter()
            .filter(|(file, worker)| {
                !connected.contains(file) && worker.last_used.elapsed() >= idle
            })
            .map(|(file, _)| *file)
            .collect();
        for file in &idle {
            if let Some(worker) = teams.remove(file) {
                // Joined with the team map held, so no new worker opens the file before
                // this one has closed it.
                drop(worker.requests);
                let _ = worker.thread.join();
                tracing::info!(team_file = file, "team idle: its worker stopped");
            }
        }
        self.metrics.team_workers.set(teams.len() as i64);
        idle.len()
    }

    /// The page cache a team file opened now gets: its share of the store cache among the
    /// teams of the members file, and never less than 1 MiB.
    fn store_cache_share(&self) -> usize {
        let teams = self.members().teams.len().max(1);
        (self.limits.store_cache_bytes / teams).max(1 << 20)
    }

    /// The request queue of team file `file`'s worker, starting it if needed.
    fn worker(&self, file: u32) -> anyhow::Result<mpsc::Sender<Request>> {
        let mut teams = lock(&self.teams);
        if let Some(worker) = teams.get_mut(&file) {
            worker.last_used = Instant::now();
            return Ok(worker.requests.clone());
        }
        let store = Reopening::new(
            self.files.clone(),
            file,
            self.store_cache_share(),
            self.health.clone(),
        );
        let (requests, queue) = mpsc::channel(4096);
        let team = Team::new(store, self.cache.clone()).max_document(self.limits.max_document);
        let metrics = WorkerMetrics {
            documents_stored: self.metrics.documents_stored.clone(),
            documents_cached: self.metrics.documents_cached.clone(),
            cache_bytes: self.metrics.cache_bytes.clone(),
            budget: self.cache.clone(),
            bytes_sent: self.metrics.bytes_sent.clone(),
            sync_latency: self.metrics.sync_latency.clone(),
        };
        if let Some(roster) = roster_of(&self.members(), file) {
            // The queue is new and empty: this is the worker's first request.
            let _ = requests.try_send(Request::Members(roster));
        }
        let thread = std::thread::Builder::new()
            .name(format!("team-{file}"))
            .spawn(move || run_worker(team, queue, metrics))?;
        teams.insert(
            file,
            TeamWorker {
                requests: requests.clone(),
                thread,
                last_used: Instant::now(),
            },
        );
        self.metrics.team_workers.set(teams.len() as i64);
        Ok(requests)
    }
}

/// Whether the members held now list no team (a relay that has none yet has no file either).
fn current_is_empty(members: &RwLock<(Arc<Members>, Option<FileStamp>)>) -> bool {
    members
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .0
        .teams
        .is_empty()
}

/// The roster of the team whose documents are in file `file`.
fn roster_of(members: &Members, file: u32) -> Option<Vec<fieldsync_model::Member>> {
    members
        .teams
        .values()
        .find(|team| team.file == file)
        .map(|team| team.roster())
}

struct WorkerMetrics {
    documents_stored: prometheus::IntCounter,
    documents_cached: prometheus::IntGauge,
    cache_bytes: prometheus::IntGauge,
    budget: Arc<Budget>,
    bytes_sent: prometheus::IntCounter,
    sync_latency: prometheus::Histogram,
}

/// The team's devices that have pulled the feed, with the member each serves.
type Subscribers = HashMap<u64, (Arc<Connection>, Viewer)>;

/// Sends each announcement to every subscriber but `from`, as what it is to their member: the
/// update, a revoke, or nothing. Each frame is shared among those it goes to.
fn announce(
    announcements: Vec<Announcement>,
    subscribers: &Subscribers,
    from: Option<u64>,
    metrics: &WorkerMetrics,
) {
    for announcement in announcements {
        let (mut update, mut arrive, mut revoke) = (None, None, None);
        for (subscriber, viewer) in subscribers.values().filter(|s| Some(s.0.id) != from) {
            let frame = match announcement.reach(viewer) {
                Reach::Update => update
                    .get_or_insert_with(|| Frame::from(announcement.update.clone()))
                    .clone(),
                Reach::Arrive => arrive
                    .get_or_insert_with(|| {
                        Frame::from(announcement.arrive.clone().unwrap_or_default())
                    })
                    .clone(),
                Reach::Revoke => revoke
                    .get_or_insert_with(|| Frame::from(announcement.revoke.clone()))
                    .clone(),
                Reach::Nothing => continue,
            };
            metrics.bytes_sent.inc_by(frame.len() as u64);
            subscriber.send(frame);
        }
    }
}

/// A team's worker: handles its frames in order until every sender is gone.
fn run_worker(
    mut team: Team<Reopening>,
    mut queue: mpsc::Receiver<Request>,
    metrics: WorkerMetrics,
) {
    let mut subscribers: Subscribers = HashMap::new();
    while let Some(request) = queue.blocking_recv() {
        match request {
            Request::Feed(reply) => {
                let _ = reply.send(team.feed().map_err(|err| err.to_string()));
            }
            Request::Compact(done) => {
                let _ = done.send(team.store_mut().compact().map_err(|err| err.to_string()));
            }
            Request::Snapshot { to, done } => {
                let _ = done.send(
                    team.store_mut()
                        .snapshot(&to)
                        .map_err(|err| err.to_string()),
                );
            }
            Request::Leave(id) => {
                subscribers.remove(&id);
            }
            Request::Members(roster) => {
                let stamp = Stamp {
                    by: "relay".to_owned(),
                    now: Utc::now(),
                };
                match team.record_members(&roster, &stamp) {
                    Ok(recorded) => {
                        announce(recorded.announcements, &subscribers, None, &metrics);
                    }
                    Err(err) => tracing::warn!(error = %err, "could not record the team's members"),
                }
            }
            Request::Frame {
                connection,
                frame,
                arrived,
                done,
            } => {
                let cached_before = team.cached();
                let viewer = connection.viewer();
                let handled = team.handle(&frame, &viewer);
                let more = deliver(handled, &connection, viewer, &mut subscribers, &metrics);
                let _ = done.send(more);
                metrics
                    .documents_cached
                    .add(team.cached() as i64 - cached_before as i64);
                metrics
                    .cache_bytes
                    .set(i64::try_from(metrics.budget.used()).unwrap_or(i64::MAX));
                metrics
                    .sync_latency
                    .observe(arrived.elapsed().as_secs_f64());
            }
            Request::Resume {
                connection,
                continuation,
                done,
            } => {
                let viewer = connection.viewer();
                let handled = team.resume(continuation, &viewer);
                let more = deliver(handled, &connection, viewer, &mut subscribers, &metrics);
                let _ = done.send(more);
            }
        }
    }
    metrics.documents_cached.sub(team.cached() as i64);
}

/// Sends what handling a request of `connection` produced: its replies, and the announcements
/// for the team's other devices; subscribes it if it pulled, or closes it if it was refused.
/// Returns where a long answer continues.
fn deliver(
    handled: Result<Outcome, Refusal<StorageError>>,
    connection: &Arc<Connection>,
    viewer: Viewer,
    subscribers: &mut Subscribers,
    metrics: &WorkerMetrics,
) -> Option<Continuation> {
    match handled {
        Ok(outcome) => {
            metrics.documents_stored.inc_by(outcome.stored as u64);
            for reply in outcome.reply {
                metrics.bytes_sent.inc_by(reply.len() as u64);
                connection.send(Frame::from(reply));
            }
            if outcome.subscribe {
                subscribers.insert(connection.id, (connection.clone(), viewer));
            }
            announce(outcome.broadcast, subscribers, Some(connection.id), metrics);
            outcome.more
        }
        Err(refusal) => {
            tracing::warn!(
                connection = connection.id,
                team = ?connection.team,
                member = ?connection.member,
                error = %refusal,
                "closing connection"
            );
            connection.close(refusal.close_reason());
            None
        }
    }
}
