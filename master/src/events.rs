//! Events: [`Recorder`], the handle the scheduler, the controllers and the dispatcher (for
//! what agents report) record [`Event`]s with, and [`EventWriter`], the task that stores them.
//!
//! Recording never waits: the handle puts the event on a bounded queue and drops it when the
//! queue is full (events are diagnostics; losing one under a flood is better than slowing the
//! component that reports it). The writer stores a burst of events as one Raft entry. The same
//! event again (same object, part, type, reason, message and reporter) within the
//! writer's memory is counted on the stored one (`count`, `lastTimestamp`) instead of stored
//! anew, as Kubernetes' event correlator does; beyond ten similar events about one object
//! (messages aside), the others are combined into one series ([`aggregate`]). Events are kept
//! bounded: beyond its share of [`MAX_EVENTS`] (every master runs a writer: the leader's
//! components' events, and those its agents' sessions report) the writer deletes the oldest
//! it created as it stores new ones; every [`PRUNE_EVERY`] the leader also deletes events last seen over [`EVENT_TTL`]
//! ago and, beyond [`MAX_EVENTS`], the oldest (those of an earlier leader included).
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use bosun_shared::event::{Event, ObjectReference, NORMAL};
use bosun_shared::{Kind, Object};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::store::{Command, Op, Store, StoreError};

pub mod aggregate;

/// Events waiting to be stored.
pub const EVENTS_CAPACITY: usize = 1024;
/// Events kept, cluster-wide.
pub const MAX_EVENTS: usize = 2_000;
/// An event not seen again for this long is deleted (Kubernetes' default is one hour too).
pub const EVENT_TTL: Duration = Duration::from_secs(3600);
/// Events stored in one Raft entry at most.
const BATCH: usize = 256;
/// How often expired and excess events are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// Series remembered for counting repeats; forgotten all at once beyond this.
const SERIES_MEMORY: usize = 4_096;

/// Records events; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Event>,
}

impl Recorder {
    /// A recorder and the queue its [`EventWriter`] reads.
    pub fn channel() -> (Recorder, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(EVENTS_CAPACITY);
        (Recorder { tx }, rx)
    }

    /// Queues `event`; drops it when the queue is full.
    pub fn record(&self, event: Event) {
        if self.tx.try_send(event).is_err() {
            debug!("event dropped: the event queue is full");
        }
    }

    /// Records an event about `obj`.
    pub fn about(&self, obj: &Object, type_: &str, reason: &str, message: String, by: &str) {
        self.record(Event::about(
            ObjectReference::to(obj),
            type_,
            reason,
            message,
            by,
        ));
    }

    /// Queues every event of `events`.
    pub fn record_all(&self, events: Vec<Event>) {
        for e in events {
            self.record(e);
        }
    }

    /// The events of what `owner`'s controller does with `ops`: pods, ReplicaSets and Jobs it
    /// creates or deletes, as `SuccessfulCreate` / `SuccessfulDelete` (recorded once the ops
    /// are stored).
    pub fn ops_events(owner: &Object, ops: &[Op], by: &str) -> Vec<Event> {
        let mut out = Vec::new();
        let about = ObjectReference::to(owner);
        for op in ops {
            let (reason, kind, name) = match op {
                Op::Create(o) => ("SuccessfulCreate", o.kind(), o.meta().name.to_string()),
                Op::Delete { kind, name, .. } => ("SuccessfulDelete", *kind, name.clone()),
                _ => continue,
            };
            if !matches!(kind, Kind::Pod | Kind::ReplicaSet | Kind::Job) {
                continue;
            }
            let verb = if reason == "SuccessfulCreate" {
                "Created"
            } else {
                "Deleted"
            };
            let what = kind.as_str().to_ascii_lowercase();
            let message = format!("{verb} {what}: {name}");
            out.push(Event::about(about.clone(), NORMAL, reason, message, by));
        }
        out
    }
}

/// What makes two events the same series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    involved: ObjectReference,
    type_: String,
    reason: String,
    message: String,
    component: String,
    host: String,
}

/// Combined events (whatever their latest message) are one series.
fn series_of(e: &Event) -> SeriesKey {
    let message = if aggregate::is_combined(&e.message) {
        aggregate::COMBINED.to_string()
    } else {
        e.message.clone()
    };
    SeriesKey {
        involved: e.involved_object.clone(),
        type_: e.type_.clone(),
        reason: e.reason.clone(),
        message,
        component: e.source.component.clone(),
        host: e.source.host.clone(),
    }
}

/// What the writer remembers between batches.
#[derive(Default)]
struct Memory {
    /// Stored event of each series: (namespace, name).
    series: HashMap<SeriesKey, (String, String)>,
    similar: aggregate::Aggregator,
    /// Events this writer created, oldest first: the first to go beyond its share.
    created: VecDeque<(String, String)>,
}

/// Stores recorded events; runs on every master (the leader's components record events, and
/// every master's agent sessions those their agents report). A follower's go through the
/// leader.
pub struct EventWriter {
    pub store: Store,
    pub writer: crate::peers::Writer,
    pub rx: mpsc::Receiver<Event>,
}

impl EventWriter {
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut memory = Memory::default();
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = prune.tick() => self.prune().await,
                first = self.rx.recv() => {
                    let Some(first) = first else { return };
                    let now = std::time::Instant::now();
                    let mut batch = vec![memory.similar.observe(first, now)];
                    while batch.len() < BATCH {
                        match self.rx.try_recv() {
                            Ok(e) => batch.push(memory.similar.observe(e, now)),
                            Err(_) => break,
                        }
                    }
                    if memory.series.len() > SERIES_MEMORY {
                        memory.series.clear();
                    }
                    self.write(batch, &mut memory).await;
                }
            }
        }
    }

    /// Stores `batch`: repeats of a remembered series bump its stored event, others are new;
    /// beyond its share of [`MAX_EVENTS`], the oldest this writer created go in the same
    /// entry.
    async fn write(&self, batch: Vec<Event>, memory: &mut Memory) {
        let series = &mut memory.series;
        let now = bosun_shared::time::now_rfc3339();
        // Repeats within the batch are counted once.
        let mut merged: Vec<(SeriesKey, Event)> = Vec::new();
        let mut index: HashMap<SeriesKey, usize> = HashMap::new();
        for e in batch {
            let key = series_of(&e);
            match index.get(&key) {
                Some(&i) => {
                    let m = &mut merged[i].1;
                    m.count += e.count.max(1);
                    m.message = e.message; // the latest, for a combined series
                }
                None => {
                    index.insert(key.clone(), merged.len());
                    merged.push((key, e));
                }
            }
        }
        let mut ops = Vec::with_capacity(merged.len());
        let mut named = Vec::with_capacity(merged.len());
        for (key, mut e) in merged {
            let stored = series
                .get(&key)
                .and_then(|(ns, name)| self.store.get(Kind::Event, ns, name))
                .and_then(|o| o.as_event().cloned());
            match stored {
                Some(mut s) => {
                    s.count += e.count.max(1);
                    s.last_timestamp = Some(now.to_string());
                    s.message = e.message;
                    ops.push(Op::Update {
                        object: Object::Event(s),
                        expected_revision: None,
                    });
                }
                None => {
                    let ns = match e.involved_object.namespace.as_str() {
                        "" => "default".to_string(),
                        ns => ns.to_string(),
                    };
                    let name = event_name(&e.involved_object.name);
                    e.metadata.name = name.as_str().into();
                    e.metadata.namespace = ns.as_str().into();
                    e.count = e.count.max(1);
                    e.first_timestamp = Some(now.to_string());
                    e.last_timestamp = Some(now.to_string());
                    let mut obj: Object = e.into();
                    crate::store::stamp_new(&mut obj);
                    ops.push(Op::Create(obj));
                    named.push((key, (ns, name)));
                }
            }
        }
        // Events stay bounded as they come, rather than tens of thousands stored in a burst
        // of pods and deleted in one go at the next prune.
        let mut own = memory.created.len() + named.len();
        // Each master's share: with every writer keeping MAX_EVENTS of its own, three masters
        // stored 6,000 and the leader's prune deleted 4,000 in one burst, which doubled the
        // API's write and list p99 in bench-scale (session 20).
        let share = MAX_EVENTS / self.store.status().voters.len().max(1);
        while own > share {
            let Some((ns, name)) = memory.created.pop_front() else {
                break;
            };
            own -= 1;
            if let Some(old) = self.store.get(Kind::Event, &ns, &name) {
                ops.push(Op::remove(Kind::Event, old.meta()));
            }
        }
        memory
            .created
            .extend(named.iter().map(|(_, stored)| stored.clone()));
        match self.writer.write(Command { ops: ops.clone() }).await {
            Ok(_) => {}
            // The outcome is unknown, or no master leads: a retry could count repeats twice.
            Err(e @ (StoreError::Unavailable(_) | StoreError::NotLeader { .. })) => {
                debug!(error = %e, "a batch of events may not have been stored");
            }
            // One stale op (an event pruned meanwhile) fails the whole entry: the rest go one
            // by one.
            Err(e) => {
                debug!(error = %e, "storing a batch of events failed; storing them one by one");
                for op in ops {
                    if let Err(e) = self.writer.write(Command { ops: vec![op] }).await {
                        debug!(error = %e, "event not stored");
                    }
                }
            }
        }
        series.extend(named);
    }

    /// Deletes events last seen over [`EVENT_TTL`] ago, then the oldest beyond [`MAX_EVENTS`].
    pub async fn prune(&self) {
        if !self.store.status().is_leader {
            return;
        }
        let (events, _) = self.store.list(Kind::Event, None, None);
        // Timestamps have a resolution of a second; the revision orders what shares one.
        let mut by_age: Vec<((SystemTime, u64), &Object)> = events
            .iter()
            .filter_map(|o| {
                let e = o.as_event()?;
                let seen = e
                    .last_timestamp
                    .as_deref()
                    .or(e.metadata.creation_timestamp.as_deref())
                    .and_then(bosun_shared::time::parse_rfc3339)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                Some(((seen, o.meta().revision()), &**o))
            })
            .collect();
        by_age.sort_by_key(|(t, _)| *t);
        let cutoff = SystemTime::now() - EVENT_TTL;
        let excess = by_age.len().saturating_sub(MAX_EVENTS);
        let ops: Vec<Op> = by_age
            .iter()
            .enumerate()
            .filter(|(i, ((seen, _), _))| *i < excess || *seen < cutoff)
            .map(|(_, (_, o))| Op::remove(Kind::Event, o.meta()))
            .collect();
        if ops.is_empty() {
            return;
        }
        let n = ops.len();
        for chunk in ops.chunks(BATCH) {
            let cmd = Command {
                ops: chunk.to_vec(),
            };
            if let Err(e) = self.store.propose(cmd).await {
                warn!(error = %e, "deleting old events failed");
                return;
            }
        }
        debug!(deleted = n, "old events deleted");
    }
}

/// `<object name>.<16 hex digits>`, as Kubernetes names events.
fn event_name(involved: &str) -> String {
    let suffix = uuid::Uuid::new_v4().as_u64_pair().0;
    // Object names are at most 253 characters; the suffix takes 17.
    let base: String = involved.chars().take(253 - 17).collect();
    format!("{base}.{suffix:016x}")
}
