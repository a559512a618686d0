//! Controllers against the in-memory runtime with many simulated nodes ([`sim::Sim`]: one
//! in-process master and 20 in-process agents on in-memory engines, over real gRPC).
//!
//! - A Deployment of 40 spreads 2 per node, rolls to a new image without ever dropping below
//!   `replicas - maxUnavailable` ready pods, keeps its pods through an agent restart shorter
//!   than the node grace period, and a stopped agent's pods are replaced on the other nodes;
//!   when every agent is lost at once (a fault on the masters' side), no pod is evicted,
//!   neither then nor as the agents come back one by one.
//! - A DaemonSet runs one pod on every node, a joining node included; a Job of 6 completions
//!   at parallelism 2 never has more than 2 pods running and completes with the right counts,
//!   two of its succeeded pods deleted on the way still counted (6 pods in all);
//!   a work-queue Job (no completions) starts no worker once one succeeded.
use std::collections::BTreeMap;
use std::time::Duration;

use bosun_shared::pod::PodPhase;
use bosun_shared::{Kind, Object};

mod common;
mod sim;
use common::wait_for;
use sim::{Sim, DEADLINE, NODES};

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 40
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{rollingUpdate: {{maxSurge: 25%, maxUnavailable: 25%}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{{name: main, image: \"{image}\"}}]
"
    )
}

/// A Job `name` of `parallelism` pods that run `img:1` once, with `completions` if given.
fn job(name: &str, completions: Option<i32>, parallelism: i32) -> String {
    let completions = completions.map_or(String::new(), |c| format!("completions: {c}\n  "));
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  {completions}parallelism: {parallelism}
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers: [{{name: main, image: \"img:1\"}}]
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_spreads_rolls_within_its_bounds_and_survives_a_lost_node() {
    let mut sim = Sim::start(NODES).await;
    sim.apply(&deployment("img:1")).await;
    wait_for("40 ready pods of img:1", DEADLINE, || async {
        let ready = sim.ready_pods("web-").await;
        (ready.len() == 40 && sim.running("web-").len() == 40).then_some(())
    })
    .await;
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for (node, _, _) in sim.running("web-") {
        *per_node.entry(node).or_default() += 1;
    }
    assert_eq!(
        per_node.values().copied().collect::<Vec<_>>(),
        vec![2; NODES],
        "replicas spread evenly: {per_node:?}"
    );

    // Rolling update: never fewer than 40 - 25% ready, never more than 40 + 25% running.
    // Pods being stopped do not count, as in Kubernetes: a replacement starts once its old
    // pod is marked terminating, and an agent busy elsewhere may stop the old container a
    // moment later (the rollout counted 51 containers once, on a loaded machine).
    sim.apply(&deployment("img:2")).await;
    let mut lowest_ready = usize::MAX;
    let mut highest_running = 0;
    let mut highest_containers = 0;
    let end = tokio::time::Instant::now() + DEADLINE;
    loop {
        let terminating = terminating_pods(&sim).await;
        let ready = sim.ready_pods("web-").await;
        let containers = sim.running("web-");
        highest_containers = highest_containers.max(containers.len());
        let running = containers
            .iter()
            .filter(|(_, pod, _)| !terminating.contains(pod))
            .count();
        lowest_ready = lowest_ready.min(ready.len());
        highest_running = highest_running.max(running);
        let done = ready.len() == 40 && ready.iter().all(|(_, image)| image == "img:2");
        if done && containers.len() == 40 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "rollout did not finish: {} ready, {running} running",
            ready.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "rollout: at least {lowest_ready} ready, at most {highest_running} running \
         ({highest_containers} containers with those being stopped)"
    );
    assert!(lowest_ready >= 30, "ready pods fell to {lowest_ready}");
    assert!(highest_running <= 50, "{highest_running} pods ran at once");

    // An agent restarted within the grace period (here after 2 s, longer than the pods'
    // 1 s toleration) keeps its pods: nothing is replaced.
    let before = pod_names(&sim).await;
    let busiest = sim.busiest_node("web-");
    sim.restart_node(busiest, Duration::from_secs(2)).await;
    sim.wait_ready_nodes(NODES).await;
    let calm_until = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < calm_until {
        assert_eq!(
            pod_names(&sim).await,
            before,
            "pods replaced after an agent restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A node stops answering: its pods are replaced on the other 19 once it is lost (3 s
    // without a heartbeat) and their toleration (1 s) has passed.
    let lost = sim.busiest_node("web-");
    let lost_pods: Vec<String> = sim
        .running("web-")
        .into_iter()
        .filter(|(node, _, _)| *node == sim.nodes[lost].name)
        .map(|(_, pod, _)| pod)
        .collect();
    assert!(!lost_pods.is_empty());
    let since = std::time::Instant::now();
    sim.nodes[lost].stop.cancel();
    wait_for("the lost node's pods replaced", DEADLINE, || async {
        let running = sim.running("web-");
        let names = pod_names(&sim).await;
        let replaced = lost_pods.iter().all(|p| !names.contains(p));
        (replaced && running.len() == 40 && sim.ready_pods("web-").await.len() == 40).then_some(())
    })
    .await;
    let took = since.elapsed();
    eprintln!(
        "lost node: its {} pods ran elsewhere after {took:?}",
        lost_pods.len()
    );
    assert!(
        took >= Duration::from_secs(3),
        "replaced before the node was lost"
    );
    let node = sim
        .client
        .get(Kind::Node, "", &sim.nodes[lost].name)
        .await
        .expect("the lost node is still listed");
    assert!(
        !node.as_node().unwrap().is_ready(),
        "the lost node is NotReady"
    );

    // Every other agent lost at once: evictions are held, nothing is replaced, and nothing
    // is when they come back one by one (the first ones back end the hold).
    let before = pod_names(&sim).await;
    let others: Vec<usize> = (0..NODES).filter(|&i| i != lost).collect();
    for &i in &others {
        sim.nodes[i].stop.cancel();
    }
    sim.wait_ready_nodes(0).await;
    let calm_until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < calm_until {
        assert_eq!(
            pod_names(&sim).await,
            before,
            "pods evicted while every node was lost"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for &i in &others {
        sim.restart_node(i, Duration::from_millis(150)).await;
        assert_eq!(
            pod_names(&sim).await,
            before,
            "pods evicted as the nodes came back"
        );
    }
    sim.wait_ready_nodes(others.len()).await;
    let calm_until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < calm_until {
        assert_eq!(
            pod_names(&sim).await,
            before,
            "pods evicted after the nodes came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pods of the Job `batch` the master holds.
async fn batch_pods(sim: &Sim) -> Vec<bosun_shared::pod::Pod> {
    sim.list(Kind::Pod)
        .await
        .iter()
        .filter_map(Object::as_pod)
        .filter(|p| p.metadata.name.starts_with("batch-"))
        .cloned()
        .collect()
}

/// Names of the Deployment's pods the master holds.
/// Names of the pods `web-…` marked for deletion whose containers may still be stopping.
async fn terminating_pods(sim: &Sim) -> std::collections::BTreeSet<String> {
    sim.list(Kind::Pod)
        .await
        .iter()
        .filter_map(Object::as_pod)
        .filter(|p| p.metadata.name.starts_with("web-") && p.is_terminating())
        .map(|p| p.metadata.name.to_string())
        .collect()
}

async fn pod_names(sim: &Sim) -> Vec<String> {
    let mut names: Vec<String> = sim
        .list(Kind::Pod)
        .await
        .iter()
        .map(|o| o.meta().name.to_string())
        .filter(|n| n.starts_with("web-"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemonset_covers_every_node_and_a_job_keeps_to_its_parallelism() {
    let mut sim = Sim::start(NODES).await;
    sim.apply(
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: main, image: \"img:1\"}]
",
    )
    .await;
    let one_each = |sim: &Sim, n: usize| {
        let mut nodes: Vec<String> = sim.running("agent-").into_iter().map(|r| r.0).collect();
        nodes.sort();
        nodes.dedup();
        sim.running("agent-").len() == n && nodes.len() == n
    };
    wait_for("a DaemonSet pod on each of 20 nodes", DEADLINE, || async {
        one_each(&sim, NODES).then_some(())
    })
    .await;
    sim.add_node();
    wait_for("a DaemonSet pod on the joining node", DEADLINE, || async {
        one_each(&sim, NODES + 1).then_some(())
    })
    .await;

    sim.apply(&job("batch", Some(6), 2)).await;
    // The work: every Job container that runs finishes successfully after a moment.
    // The first two pods that succeed are deleted: they still count, and only 6 pods run.
    let mut most_running = 0;
    let mut seen = std::collections::BTreeSet::new();
    let mut deleted = false;
    let end = tokio::time::Instant::now() + DEADLINE;
    let status = loop {
        let running = sim.running("batch-");
        most_running = most_running.max(running.len());
        for (node, c) in sim.containers("batch-") {
            node.engine.exit(&c.observed.id, 0).unwrap();
        }
        let pods = batch_pods(&sim).await;
        seen.extend(pods.iter().map(|p| p.metadata.name.clone()));
        let job = sim.client.get(Kind::Job, "default", "batch").await.unwrap();
        let status = job.as_job().unwrap().status.clone().unwrap_or_default();
        if status.succeeded == 2 && !deleted {
            for p in pods.iter().filter(|p| p.phase() == PodPhase::Succeeded) {
                sim.client
                    .delete(Kind::Pod, "default", &p.metadata.name)
                    .await
                    .unwrap();
            }
            deleted = true;
        }
        if status.succeeded == 6 && status.active == 0 {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "the Job did not complete: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("job: at most {most_running} pods running at once; {status:?}");
    assert!(deleted, "two succeeded pods were deleted on the way");
    assert_eq!(seen.len(), 6, "one pod per completion: {seen:?}");
    assert!(most_running <= 2, "{most_running} Job pods ran at once");
    assert_eq!(status.failed, 0, "{status:?}");
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Complete" && c.status == "True"),
        "{status:?}"
    );

    // A work queue (no completions): 3 workers; once one succeeds no new one starts, and the
    // Job is complete when the others have ended too.
    sim.apply(&job("queue", None, 3)).await;
    wait_for("3 workers running", DEADLINE, || async {
        (sim.running("queue-").len() == 3).then_some(())
    })
    .await;
    let (node, first) = sim.containers("queue-").remove(0);
    node.engine.exit(&first.observed.id, 0).unwrap();
    let queue_pods = || async {
        let pods = sim.list(Kind::Pod).await;
        pods.iter()
            .filter(|o| o.meta().name.starts_with("queue-"))
            .count()
    };
    let calm_until = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < calm_until {
        assert_eq!(
            queue_pods().await,
            3,
            "no worker starts after one succeeded"
        );
        assert!(sim.running("queue-").len() <= 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job = sim.client.get(Kind::Job, "default", "queue").await.unwrap();
    assert!(
        job.as_job().unwrap().finished().is_none(),
        "two workers still run"
    );
    for (node, c) in sim.containers("queue-") {
        node.engine.exit(&c.observed.id, 0).unwrap();
    }
    let status = wait_for("the work queue complete", DEADLINE, || async {
        let job = sim.client.get(Kind::Job, "default", "queue").await.ok()?;
        let job = job.as_job()?.clone();
        job.finished()?;
        job.status
    })
    .await;
    assert_eq!((status.succeeded, status.active), (3, 0), "{status:?}");
}
