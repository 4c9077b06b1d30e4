//! In-memory devices, an in-memory relay store and a network between them that can drop,
//! duplicate and reorder frames and restart either side.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::convert::Infallible;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use fieldsync_model::Role;
use fieldsync_sync::{
    CloseReason, DeviceDocs, DeviceSession, DocChanges, Heads, Hello, Stored, Team, Viewer,
    accept_hello, welcome,
};

/// A device's durable state: what survives a restart.
#[derive(Default)]
pub struct MemoryDevice {
    pub actor: String,
    pub docs: BTreeMap<String, AutoCommit>,
    pub acked: HashMap<String, Heads>,
    pub pending: BTreeSet<String>,
    pub since: u64,
    /// The relay's feed `since` counts in.
    pub feed: Option<String>,
    /// Documents the session set aside.
    pub set_aside: BTreeSet<String>,
}

impl MemoryDevice {
    pub fn new(name: &str) -> Self {
        MemoryDevice {
            actor: name.to_owned(),
            ..Default::default()
        }
    }

    fn actor_id(&self) -> ActorId {
        ActorId::from(self.actor.as_bytes())
    }

    /// The document `id`, started if this device has none of it.
    fn doc_mut(&mut self, id: &str) -> &mut AutoCommit {
        let actor = self.actor_id();
        self.docs.entry(id.to_owned()).or_insert_with(|| {
            // Every device starts a document from the same first change, as a lead's
            // creation does, so the list below is one object everywhere.
            let mut doc = AutoCommit::new().with_actor(ActorId::from(id.as_bytes()));
            if id != fieldsync_model::TEAM_DOC_ID {
                // What the relay requires of a lead.
                fieldsync_model::well_formed::put_skeleton(&mut doc, id, "test").unwrap();
            }
            doc.put_object(ROOT, "followups", ObjType::List).unwrap();
            doc.commit_with(CommitOptions::default().with_time(0));
            doc.with_actor(actor)
        })
    }

    /// A local edit of the owner register (`None`: the pool), creating the document if needed.
    pub fn set_owner(&mut self, id: &str, owner: Option<&str>) {
        let doc = self.doc_mut(id);
        match owner {
            Some(owner) => doc.put(ROOT, "owner", owner).unwrap(),
            None => doc
                .put(ROOT, "owner", automerge::ScalarValue::Null)
                .unwrap(),
        }
        doc.commit();
        self.pending.insert(id.to_owned());
    }

    /// The owner register's values as this device sees them (`None`: the pool).
    pub fn owners(&self, id: &str) -> Vec<Option<String>> {
        self.docs
            .get(id)
            .map(|doc| {
                fieldsync_model::visibility::owner_ops(doc)
                    .into_iter()
                    .map(|(owner, _)| owner)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A local edit: creates the document if needed, sets `field` and appends a follow-up.
    pub fn edit(&mut self, id: &str, field: &str, value: &str, followup: Option<&str>) {
        let doc = self.doc_mut(id);
        doc.put(ROOT, field, value).unwrap();
        if let Some(text) = followup {
            let (_, list) = doc.get(ROOT, "followups").unwrap().unwrap();
            let len = doc.length(&list);
            doc.insert(&list, len, text).unwrap();
        }
        doc.commit();
        self.pending.insert(id.to_owned());
    }

    pub fn heads(&mut self, id: &str) -> Option<Heads> {
        self.docs.get_mut(id).map(|doc| Heads::new(doc.get_heads()))
    }

    /// Every follow-up of every document.
    pub fn followups(&self) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for doc in self.docs.values() {
            if let Some((_, list)) = doc.get(ROOT, "followups").unwrap() {
                for index in 0..doc.length(&list) {
                    let (value, _) = doc.get(&list, index).unwrap().unwrap();
                    all.insert(value.as_str().unwrap_or_default().to_owned());
                }
            }
        }
        all
    }

    /// Each document's heads.
    pub fn all_heads(&mut self) -> BTreeMap<String, Heads> {
        let ids: Vec<String> = self.docs.keys().cloned().collect();
        ids.into_iter()
            .map(|id| {
                let heads = self.heads(&id).unwrap();
                (id, heads)
            })
            .collect()
    }
}

impl DeviceDocs for MemoryDevice {
    type Error = Infallible;

    fn pending(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DocChanges>, Infallible> {
        let ids: Vec<String> = self
            .pending
            .iter()
            .filter(|id| after.is_none_or(|after| id.as_str() > after))
            .take(limit)
            .cloned()
            .collect();
        Ok(ids
            .into_iter()
            .map(|id| {
                let acked = self.acked.get(&id).cloned().unwrap_or_default();
                let doc = self.docs.get_mut(&id).unwrap();
                DocChanges {
                    heads: Heads::new(doc.get_heads()),
                    data: doc.save_after(acked.hashes()),
                    id,
                }
            })
            .collect())
    }

    fn whole(&mut self, id: &str) -> Result<Option<DocChanges>, Infallible> {
        Ok(self.docs.get_mut(id).map(|doc| DocChanges {
            id: id.to_owned(),
            heads: Heads::new(doc.get_heads()),
            data: doc.save(),
        }))
    }

    fn acknowledged(&mut self, stored: &[Stored]) -> Result<(), Infallible> {
        for entry in stored {
            self.acked.insert(entry.id.clone(), entry.heads.clone());
            if self.heads(&entry.id).as_ref() == Some(&entry.heads) {
                self.pending.remove(&entry.id);
            }
        }
        Ok(())
    }

    fn heads(&mut self, ids: &[&str]) -> Result<Vec<Option<Heads>>, Infallible> {
        Ok(ids.iter().map(|id| MemoryDevice::heads(self, id)).collect())
    }

    fn apply(&mut self, docs: &[DocChanges]) -> Result<Vec<String>, Infallible> {
        let mut incomplete = Vec::new();
        for change in docs {
            let mut doc = match self.docs.get_mut(&change.id) {
                Some(doc) => doc.fork().with_actor(self.actor_id()),
                None => AutoCommit::new().with_actor(self.actor_id()),
            };
            doc.load_incremental(&change.data).unwrap();
            if !doc.get_missing_deps(&[]).is_empty() {
                incomplete.push(change.id.clone());
                continue;
            }
            let heads = Heads::new(doc.get_heads());
            if !self.pending.contains(&change.id) {
                self.acked.insert(change.id.clone(), heads);
            }
            self.docs.insert(change.id.clone(), doc);
        }
        Ok(incomplete)
    }

    fn set_since(&mut self, seq: u64) -> Result<(), Infallible> {
        self.since = seq;
        Ok(())
    }

    fn follow_feed(&mut self, feed: &str, behind: bool) -> Result<bool, Infallible> {
        let over = behind
            || self
                .feed
                .as_deref()
                .is_some_and(|followed| followed != feed);
        self.feed = Some(feed.to_owned());
        if over {
            self.since = 0;
            self.acked.clear();
            self.pending = self.docs.keys().cloned().collect();
        }
        Ok(over)
    }

    fn pending_of(&mut self, ids: &[String]) -> Result<Vec<DocChanges>, Infallible> {
        let ids: Vec<String> = ids
            .iter()
            .filter(|id| self.pending.contains(*id))
            .cloned()
            .collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| {
                let acked = self.acked.get(&id).cloned().unwrap_or_default();
                let doc = self.docs.get_mut(&id)?;
                Some(DocChanges {
                    heads: Heads::new(doc.get_heads()),
                    data: doc.save_after(acked.hashes()),
                    id,
                })
            })
            .collect())
    }

    fn forget(&mut self, ids: &[String]) -> Result<(), Infallible> {
        for id in ids {
            self.docs.remove(id);
            self.acked.remove(id);
            self.pending.remove(id);
        }
        Ok(())
    }
    fn set_aside(&mut self, ids: &[String], _reason: &str) -> Result<(), Infallible> {
        self.set_aside.extend(ids.iter().cloned());
        Ok(())
    }
    fn held(&mut self) -> Result<Vec<String>, Infallible> {
        Ok(self
            .docs
            .keys()
            .filter(|id| *id != fieldsync_model::TEAM_DOC_ID)
            .cloned()
            .collect())
    }
}

pub use fieldsync_sync::relay::MemoryTeamStore;

/// A connection between one device and the relay.
pub struct Link {
    pub session: DeviceSession,
    pub to_relay: VecDeque<Vec<u8>>,
    pub to_device: VecDeque<Vec<u8>>,
    pub authenticated: bool,
    pub subscribed: bool,
}

/// What can go wrong with a frame in flight.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    None,
    /// The connection breaks: this frame and everything queued are lost.
    Drop,
    Duplicate,
    /// The frame is delivered after the next one.
    Reorder,
}

/// What the network does next in a property test: a device connects, drops its connection,
/// or one frame is delivered (with the fault its random byte stands for).
#[derive(Clone, Debug)]
pub enum NetOp {
    Connect(usize),
    Disconnect(usize),
    Deliver { device: usize, up: bool, fault: u8 },
}

impl NetOp {
    /// Network events on `devices` devices, mostly deliveries.
    pub fn strategy(devices: usize) -> impl proptest::strategy::Strategy<Value = NetOp> {
        use proptest::prelude::*;
        prop_oneof![
            2 => (0..devices).prop_map(NetOp::Connect),
            1 => (0..devices).prop_map(NetOp::Disconnect),
            12 => (0..devices, any::<bool>(), any::<u8>())
                .prop_map(|(device, up, fault)| NetOp::Deliver { device, up, fault }),
        ]
    }

    /// Makes it happen on `net`.
    pub fn apply(self, net: &mut Net) {
        match self {
            NetOp::Connect(device) => net.connect(device),
            NetOp::Disconnect(device) => net.disconnect(device),
            NetOp::Deliver { device, up, fault } => {
                net.step(device, up, Fault::from_byte(fault));
            }
        }
    }
}

impl Fault {
    /// The fault a property test's random byte stands for: mostly none.
    pub fn from_byte(byte: u8) -> Fault {
        match byte % 16 {
            0 => Fault::Drop,
            1 => Fault::Duplicate,
            2 => Fault::Reorder,
            _ => Fault::None,
        }
    }
}

/// A relay with one team and several devices.
pub struct Net {
    pub team: Team<MemoryTeamStore>,
    pub devices: Vec<MemoryDevice>,
    pub links: Vec<Option<Link>>,
    /// Frames each device received from the relay (to check what crossed the wire).
    pub wire: Vec<Vec<Vec<u8>>>,
    pub closes: Vec<CloseReason>,
    /// Steps of long answers the relay resumed.
    pub resumed: usize,
    /// Each device's member's role (the member is the device's actor name).
    pub roles: Vec<Role>,
}

pub const TOKEN: &str = "secret";

fn hello(device: &MemoryDevice) -> Hello {
    Hello {
        version: fieldsync_sync::PROTOCOL_VERSION,
        team: "team".into(),
        member: device.actor.clone(),
        device: device.actor.clone(),
        token: TOKEN.into(),
        ticket: String::new(),
    }
}

/// A cache budget of about `docs` of this network's small documents.
pub fn small_documents(docs: usize) -> std::sync::Arc<fieldsync_sync::relay::Budget> {
    fieldsync_sync::relay::Budget::new(docs * 2048 * fieldsync_sync::relay::MEMORY_PER_SAVED_BYTE)
}

impl Net {
    /// `devices` devices on a relay whose cache holds about `cached` small documents.
    pub fn new(devices: usize, cached: usize) -> Net {
        Net {
            team: Team::new(MemoryTeamStore::default(), small_documents(cached)),
            devices: (0..devices)
                .map(|i| MemoryDevice::new(&format!("device{i}")))
                .collect(),
            links: (0..devices).map(|_| None).collect(),
            wire: vec![Vec::new(); devices],
            closes: Vec::new(),
            resumed: 0,
            roles: vec![Role::Rep; devices],
        }
    }

    /// The member device `i` syncs for, as the relay sees them.
    pub fn viewer(&self, i: usize) -> Viewer {
        Viewer {
            member: self.devices[i].actor.clone(),
            role: self.roles[i],
        }
    }

    /// Records every device's member and role in the team document, as the relay does when
    /// its members file changes: announces the change and closes the connections of members
    /// whose role changed.
    pub fn record_roster(&mut self) {
        let roster: Vec<fieldsync_model::Member> = self
            .devices
            .iter()
            .zip(&self.roles)
            .map(|(device, role)| fieldsync_model::Member {
                name: device.actor.clone(),
                role: *role,
                removed: false,
            })
            .collect();
        let stamp = fieldsync_model::Stamp {
            by: "relay".into(),
            now: "2026-01-01T00:00:00Z".parse().unwrap(),
        };
        let recorded = self.team.record_members(&roster, &stamp).unwrap();
        for j in 0..self.links.len() {
            let viewer = self.viewer(j);
            if recorded.role_changed.contains(&viewer.member) {
                self.links[j] = None;
                continue;
            }
            if let Some(link) = self.links[j].as_mut().filter(|link| link.subscribed) {
                link.to_device.extend(
                    recorded
                        .announcements
                        .iter()
                        .filter_map(|announcement| announcement.frame_for(&viewer))
                        .map(<[u8]>::to_vec),
                );
            }
        }
    }

    /// Connects device `i` (a new session from its durable state).
    pub fn connect(&mut self, i: usize) {
        let mut session = DeviceSession::new(hello(&self.devices[i]), self.devices[i].since);
        let first = session.start();
        self.links[i] = Some(Link {
            session,
            to_relay: VecDeque::from([first]),
            to_device: VecDeque::new(),
            authenticated: false,
            subscribed: false,
        });
    }

    pub fn disconnect(&mut self, i: usize) {
        self.links[i] = None;
    }

    /// The relay restarts: every connection drops and its cache is lost.
    pub fn restart_relay(&mut self) {
        let store = std::mem::take(self.team.store_mut());
        self.team = Team::new(store, small_documents(4));
        for link in &mut self.links {
            *link = None;
        }
    }

    /// Delivers one frame on link `i`, towards the relay if `up`; returns false if none was queued.
    pub fn step(&mut self, i: usize, up: bool, fault: Fault) -> bool {
        let Some(link) = self.links[i].as_mut() else {
            return false;
        };
        let queue = if up {
            &mut link.to_relay
        } else {
            &mut link.to_device
        };
        let Some(frame) = queue.pop_front() else {
            return false;
        };
        let frames = match fault {
            Fault::None => vec![frame],
            Fault::Drop => {
                self.links[i] = None;
                return true;
            }
            Fault::Duplicate => vec![frame.clone(), frame],
            Fault::Reorder => match queue.pop_front() {
                Some(next) => vec![next, frame],
                None => vec![frame],
            },
        };
        for frame in frames {
            if up {
                self.deliver_to_relay(i, &frame);
            } else {
                self.deliver_to_device(i, &frame);
            }
            if self.links[i].is_none() {
                break;
            }
        }
        true
    }

    fn deliver_to_relay(&mut self, i: usize, frame: &[u8]) {
        let Some(link) = self.links[i].as_mut() else {
            return;
        };
        if !link.authenticated {
            match accept_hello(frame, |hello| {
                if hello.token == TOKEN {
                    Ok(())
                } else {
                    Err(CloseReason::Unauthorized)
                }
            }) {
                Ok(_) => {
                    link.authenticated = true;
                    link.to_device.push_back({
                        let (feed, head) = self.team.feed().unwrap();
                        welcome(feed, head, String::new(), 0)
                    });
                }
                Err(reason) => {
                    self.closes.push(reason);
                    self.links[i] = None;
                }
            }
            return;
        }
        let viewer = self.viewer(i);
        let viewers: Vec<Viewer> = (0..self.links.len()).map(|j| self.viewer(j)).collect();
        let Some(link) = self.links[i].as_mut() else {
            return;
        };
        let mut handled = self.team.handle(frame, &viewer);
        // A long answer's steps, one after another (this network has no flow control).
        while let Ok(outcome) = &mut handled
            && let Some(more) = outcome.more.take()
        {
            link.to_device.extend(std::mem::take(&mut outcome.reply));
            self.resumed += 1;
            handled = self.team.resume(more, &viewer);
        }
        match handled {
            Ok(outcome) => {
                link.to_device.extend(outcome.reply);
                link.subscribed |= outcome.subscribe;
                for (j, other) in self.links.iter_mut().enumerate() {
                    if let Some(other) = other.as_mut().filter(|o| j != i && o.subscribed) {
                        other.to_device.extend(
                            outcome
                                .broadcast
                                .iter()
                                .filter_map(|announcement| announcement.frame_for(&viewers[j]))
                                .map(<[u8]>::to_vec),
                        );
                    }
                }
            }
            Err(refusal) => {
                self.closes.push(refusal.close_reason());
                self.links[i] = None;
            }
        }
    }

    fn deliver_to_device(&mut self, i: usize, frame: &[u8]) {
        self.wire[i].push(frame.to_vec());
        let Some(link) = self.links[i].as_mut() else {
            return;
        };
        match link.session.receive(frame, &mut self.devices[i]) {
            Ok(frames) => link.to_relay.extend(frames),
            Err(_) => self.links[i] = None,
        }
    }

    /// Delivers every queued frame, in turn, with no faults, until nothing moves.
    pub fn settle(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.links.len() {
                moved |= self.step(i, true, Fault::None);
                moved |= self.step(i, false, Fault::None);
            }
            if !moved {
                break;
            }
        }
    }

    /// Connects every device, settles, and checks each session finished its pass.
    pub fn sync_all(&mut self) {
        for i in 0..self.devices.len() {
            self.connect(i);
        }
        self.settle();
        for (i, link) in self.links.iter().enumerate() {
            let link = link
                .as_ref()
                .unwrap_or_else(|| panic!("device {i} was disconnected"));
            assert!(
                link.session.is_synced(),
                "device {i} did not finish syncing"
            );
        }
    }
}
