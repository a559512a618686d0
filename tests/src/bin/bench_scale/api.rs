//! The API scenario: write and list latency at a steady churn, with watchers, over every object
//! the earlier phases left stored (Kubernetes' API call SLOs measure the same two things).
//!
//! - `WATCHERS` clients, each on its own connection, watch every object of the cluster and
//!   decode every event (each sees every write below);
//! - one writer makes `WRITES_PER_SECOND` writes a second, each a create, an update or a
//!   delete of a ConfigMap, in turn, and times each;
//! - one lister lists every pod of the cluster once a second and times each list twice: until
//!   the response is in (what Kubernetes' list SLO measures, at the API server), and until
//!   every object is decoded too, as a client program sees it.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_shared::client::Client;
use bosun_shared::configmap::ConfigMap;
use bosun_shared::pki::tls::Credentials;
use bosun_shared::{Kind, Object};
use bosun_tests::bench::quantile;
use futures::StreamExt;

/// Clients watching every pod during the scenario.
pub const WATCHERS: usize = 10;
/// The churn.
pub const WRITES_PER_SECOND: u32 = 20;

/// What the scenario measured.
pub struct Latency {
    pub objects: usize,
    pub writes: Vec<Duration>,
    /// Until the response is in.
    pub lists: Vec<Duration>,
    /// Until the response is in and every object decoded.
    pub decoded: Vec<Duration>,
    pub events_seen: u64,
    /// The changes one watcher saw, by kind and event: what changed meanwhile besides the
    /// churn.
    pub changes: std::collections::BTreeMap<String, u64>,
}

impl Latency {
    pub fn rows(&self, seconds: u64) -> Vec<String> {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        vec![
            format!(
                "| api: write p50 / p99 ({} writes at {WRITES_PER_SECOND}/s for {seconds} s, {WATCHERS} watchers) | {} / {} |",
                self.writes.len(),
                ms(quantile(&self.writes, 0.5)),
                ms(quantile(&self.writes, 0.99))
            ),
            format!(
                "| api: list of all {} pods, p50 / p99 ({} lists) | {} / {} |",
                self.objects,
                self.lists.len(),
                ms(quantile(&self.lists, 0.5)),
                ms(quantile(&self.lists, 0.99))
            ),
            format!(
                "| api: the same lists with every pod decoded, p50 / p99 | {} / {} |",
                ms(quantile(&self.decoded, 0.5)),
                ms(quantile(&self.decoded, 0.99))
            ),
            format!("| api: events delivered to the watchers | {} |", self.events_seen),
            format!(
                "| api: changes one watcher saw, by kind | {} |",
                self.changes
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ]
    }
}

fn config_map(i: u64, generation: u64) -> Object {
    let mut c = ConfigMap::default();
    c.metadata.name = format!("churn-{i}").into();
    c.metadata.namespace = "default".into();
    c.data.insert("generation".into(), generation.to_string());
    c.into()
}

/// Runs the scenario for `seconds` against the master at `server`.
pub async fn run(server: &str, credentials: &Credentials, seconds: u64) -> anyhow::Result<Latency> {
    let client = Client::connect(server, credentials).await?;
    let (_, revision) = client.list(Kind::Pod, None, None).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let watcher = Client::connect(server, credentials).await?;
        let mut events = Box::pin(watcher.watch(None, None, revision).await?);
        let (stop, seen) = (stop.clone(), seen.clone());
        watchers.push(tokio::spawn(async move {
            let mut changes = std::collections::BTreeMap::<String, u64>::new();
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(200), events.next()).await {
                    Ok(Some(Ok(e))) => {
                        seen.fetch_add(1, Ordering::Relaxed);
                        let what = format!("{} {}", e.object.kind().as_str(), e.event);
                        *changes.entry(what).or_default() += 1;
                    }
                    Ok(Some(Err(e))) => return Err(anyhow::anyhow!("watch: {e}")),
                    Ok(None) => return Err(anyhow::anyhow!("the watch ended")),
                    Err(_) => {}
                }
            }
            anyhow::Ok(changes)
        }));
    }
    let lister = {
        let (client, stop) = (Client::connect(server, credentials).await?, stop.clone());
        tokio::spawn(async move {
            let (mut took, mut decoded) = (Vec::new(), Vec::new());
            let mut objects = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let start = Instant::now();
                let (raw, _) = client.list_raw(Kind::Pod, None, None).await?;
                took.push(start.elapsed());
                let pods = raw
                    .iter()
                    .map(|b| Object::from_json(b))
                    .collect::<Result<Vec<_>, _>>()?;
                decoded.push(start.elapsed());
                objects = pods.len();
            }
            anyhow::Ok((took, decoded, objects))
        })
    };
    let mut writes = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / WRITES_PER_SECOND);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let total = seconds * u64::from(WRITES_PER_SECOND);
    for n in 0..total {
        tick.tick().await;
        let (i, step) = (n / 3, n % 3);
        let start = Instant::now();
        match step {
            0 => client.create(&config_map(i, 0)).await.map(|_| ()),
            1 => client.update(&config_map(i, 1)).await.map(|_| ()),
            _ => client
                .delete(Kind::ConfigMap, "default", &format!("churn-{i}"))
                .await
                .map(|_| ()),
        }
        .with_context(|| format!("write {n} (configmap churn-{i})"))?;
        writes.push(start.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let mut changes = std::collections::BTreeMap::new();
    for w in watchers {
        changes = w.await??;
    }
    let (mut lists, mut decoded, objects) = lister.await??;
    let seen = seen.load(Ordering::Relaxed);
    anyhow::ensure!(
        seen >= total * WATCHERS as u64,
        "the watchers saw {seen} events, fewer than the {total} writes times {WATCHERS}"
    );
    writes.sort();
    lists.sort();
    decoded.sort();
    Ok(Latency {
        objects,
        writes,
        lists,
        decoded,
        events_seen: seen,
        changes,
    })
}
