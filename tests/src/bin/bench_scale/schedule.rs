//! The schedule and deploy scenarios, and the cleaning between them.
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bosun_shared::client::{Client, ClientError, WatchEvent};
use bosun_shared::deployment::Deployment;
use bosun_shared::node::HOLLOW_LABEL;
use bosun_shared::pod::{Container, Pod, PodPhase};
use bosun_shared::{Kind, Object};
use futures::StreamExt;

use crate::{Options, DEADLINE};

/// A pod for the hollow nodes, not yet bound.
fn hollow_pod(name: String) -> Object {
    let mut p = Pod::default();
    p.metadata.name = name.into();
    p.metadata.namespace = "default".into();
    p.metadata.labels.insert("bench".into(), "schedule".into());
    p.spec
        .node_selector
        .insert(HOLLOW_LABEL.into(), "true".into());
    p.spec.containers.push(Container {
        name: "c".into(),
        image: "simulated:1".into(),
        ..Default::default()
    });
    p.into()
}

/// Waits until every hollow node is Ready.
pub async fn nodes_ready(client: &Client, want: usize) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let selector = format!("{HOLLOW_LABEL}=true");
    loop {
        let (nodes, _) = client.list(Kind::Node, None, Some(&selector)).await?;
        let ready = nodes
            .iter()
            .filter_map(Object::as_node)
            .filter(|n| n.is_ready())
            .count();
        if ready >= want {
            return Ok(start.elapsed());
        }
        if start.elapsed() > DEADLINE {
            bail!("{ready} of {want} hollow nodes Ready after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Schedule scenario: (creation seconds, bound pods/s, seconds until all Running).
pub async fn schedule(client: &Client, o: &Options) -> anyhow::Result<(f64, f64, f64)> {
    let (_, mut changes) = relist(client).await?;
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..o.clients {
        let (client, next, total) = (client.clone(), next.clone(), o.pods);
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                create_retrying(&client, hollow_pod(format!("sched-{i}"))).await?;
            }
        }));
    }
    let mut bound = HashSet::new();
    let mut running = HashSet::new();
    let mut all_bound = None;
    let mut created_at = None;
    let mut report = tokio::time::interval(Duration::from_secs(1));
    let waiting = async {
        loop {
            let event = tokio::select! {
                e = changes.next() => e,
                _ = report.tick() => {
                    eprintln!(
                        "  {:>5.1} s: {} bound, {} running",
                        start.elapsed().as_secs_f64(),
                        bound.len(),
                        running.len()
                    );
                    continue;
                }
            };
            let Some(event) = event else { break };
            let event = match event {
                Ok(e) => e,
                // Fell behind the store's history, or the master changed: count from a fresh
                // list, watch from there.
                Err(e) => {
                    eprintln!("  watch: {e}; listing again");
                    let (pods, watch) = relist(client).await?;
                    for p in pods.iter().filter_map(Object::as_pod) {
                        note(p, &mut bound, &mut running);
                    }
                    changes = watch;
                    continue;
                }
            };
            let Some(p) = event.object.as_pod() else {
                continue;
            };
            note(p, &mut bound, &mut running);
            if all_bound.is_none() && bound.len() == o.pods {
                all_bound = Some(start.elapsed());
            }
            if running.len() == o.pods {
                return anyhow::Ok(start.elapsed());
            }
        }
        bail!("the watch ended")
    };
    let writes = async {
        for w in writers {
            w.await??;
        }
        created_at = Some(start.elapsed());
        anyhow::Ok(())
    };
    let (all_running, written) =
        tokio::time::timeout(DEADLINE, async { tokio::join!(waiting, writes) })
            .await
            .context("schedule scenario timed out")?;
    written?;
    let all_running = all_running?;
    let bound_after = all_bound.context("never all bound")?;
    Ok((
        created_at.unwrap_or_default().as_secs_f64(),
        o.pods as f64 / bound_after.as_secs_f64(),
        all_running.as_secs_f64(),
    ))
}

/// The benchmark's pods and a watch from their list's revision, retried while the masters
/// change leader.
async fn relist(
    client: &Client,
) -> anyhow::Result<(
    Vec<Object>,
    std::pin::Pin<Box<impl futures::Stream<Item = Result<WatchEvent, ClientError>>>>,
)> {
    let start = Instant::now();
    loop {
        let listed = async {
            let (pods, revision) = client.list(Kind::Pod, Some("default"), None).await?;
            let watch = client
                .watch(Some(Kind::Pod), Some("default"), revision)
                .await?;
            Ok::<_, ClientError>((pods, Box::pin(watch)))
        };
        match listed.await {
            Ok(r) => return Ok(r),
            Err(e) if start.elapsed() < DEADLINE => {
                eprintln!("  list: {e}; again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Creates `obj`, retrying while the masters change leader (a create whose outcome was
/// unknown and that did land counts).
async fn create_retrying(client: &Client, obj: Object) -> anyhow::Result<()> {
    let mut last = None;
    for _ in 0..50 {
        match client.create(&obj).await {
            Ok(_) => return Ok(()),
            Err(e) if e.to_string().contains("already exists") && last.is_some() => return Ok(()),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("create failed")))
}

/// Counts a pod of the schedule scenario (named `sched-*`) as bound and as running when it is.
fn note(p: &Pod, bound: &mut HashSet<String>, running: &mut HashSet<String>) {
    note_named("sched-", p, bound, running)
}

/// Counts a pod named `prefix*` as bound and as running when it is.
fn note_named(prefix: &str, p: &Pod, bound: &mut HashSet<String>, running: &mut HashSet<String>) {
    if !p.metadata.name.starts_with(prefix) {
        return;
    }
    if p.spec.node_name.is_some() {
        bound.insert(p.metadata.name.to_string());
    }
    if p.phase() == PodPhase::Running {
        running.insert(p.metadata.name.to_string());
    }
}

/// Deploy scenario: seconds from the create until every replica is bound (seen on a watch of
/// the pods), and until the Deployment counts every replica ready.
pub async fn deploy(client: &Client, o: &Options) -> anyhow::Result<(f64, f64)> {
    let manifest = format!(
        r#"{{"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {{"name": "fleet", "namespace": "default"}},
            "spec": {{"replicas": {}, "selector": {{"matchLabels": {{"app": "fleet"}}}},
              "template": {{"metadata": {{"labels": {{"app": "fleet"}}}},
                "spec": {{"nodeSelector": {{"{HOLLOW_LABEL}": "true"}},
                  "containers": [{{"name": "app", "image": "simulated:1"}}]}}}}}}}}"#,
        o.replicas
    );
    let d: Deployment = serde_json::from_str(&manifest)?;
    let (_, mut changes) = relist(client).await?;
    let start = Instant::now();
    create_retrying(client, Object::Deployment(d)).await?;
    let all_bound = async {
        let (mut bound, mut running) = (HashSet::new(), HashSet::new());
        while bound.len() < o.replicas {
            match changes.next().await {
                Some(Ok(e)) => {
                    if let Some(p) = e.object.as_pod() {
                        note_named("fleet-", p, &mut bound, &mut running);
                    }
                }
                Some(Err(e)) => {
                    eprintln!("  watch: {e}; listing again");
                    let (pods, watch) = relist(client).await?;
                    for p in pods.iter().filter_map(Object::as_pod) {
                        note_named("fleet-", p, &mut bound, &mut running);
                    }
                    changes = watch;
                }
                None => bail!("the watch ended"),
            }
        }
        anyhow::Ok(start.elapsed().as_secs_f64())
    };
    let all_ready = async {
        let mut report = Instant::now();
        loop {
            let ready = match client.get(Kind::Deployment, "default", "fleet").await {
                Ok(obj) => obj
                    .as_deployment()
                    .and_then(|d| d.status.as_ref())
                    .map_or(0, |s| s.ready_replicas),
                Err(_) => 0,
            };
            if ready as usize >= o.replicas {
                return anyhow::Ok(start.elapsed().as_secs_f64());
            }
            if report.elapsed() >= Duration::from_secs(1) {
                eprintln!("  {:>5.1} s: {ready} ready", start.elapsed().as_secs_f64());
                report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let (bound, ready) =
        tokio::time::timeout(DEADLINE, async { tokio::join!(all_bound, all_ready) })
            .await
            .with_context(|| {
                format!(
                    "{} replicas not bound and ready after {DEADLINE:?}",
                    o.replicas
                )
            })?;
    Ok((bound?, ready?))
}

/// Delete scenario: deletes every pod of the namespace from `--clients` concurrent writers;
/// seconds from the first delete until none is left (each removed once its node reported its
/// containers stopped).
pub async fn delete_all(client: &Client, o: &Options) -> anyhow::Result<f64> {
    let (pods, _) = client.list(Kind::Pod, Some("default"), None).await?;
    let names: Vec<String> = pods.iter().map(|p| p.meta().name.to_string()).collect();
    let names = Arc::new(names);
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..o.clients {
        let (client, next, names) = (client.clone(), next.clone(), names.clone());
        writers.push(tokio::spawn(async move {
            while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                // Gone already, or deleted by an attempt whose answer was lost: both fine.
                let _ = client.delete(Kind::Pod, "default", name).await;
            }
        }));
    }
    for w in writers {
        w.await?;
    }
    loop {
        let (left, _) = client.list(Kind::Pod, Some("default"), None).await?;
        if left.is_empty() {
            return Ok(start.elapsed().as_secs_f64());
        }
        if start.elapsed() > DEADLINE {
            bail!("{} pods left {DEADLINE:?} after deleting them", left.len());
        }
        // A delete lost to a change of leader is made again.
        for p in left
            .iter()
            .filter(|p| p.meta().deletion_timestamp.is_none())
        {
            let _ = client.delete(Kind::Pod, "default", &p.meta().name).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
