//! Leader-only loops: scheduler, Deployment, ReplicaSet, DaemonSet, Job and CronJob
//! controllers, garbage collector, namespaces (built-in ones, deleted ones' objects), node
//! lifecycle,
//! eviction from tainted nodes,
//! and the promotion of caught-up learners.
//!
//! [`Manager`] starts them when this master becomes the Raft leader and cancels them when it
//! steps down; they are level-triggered, so a new leader simply picks up where the old one was.
pub mod claims;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod entries;
pub mod eviction;
pub mod gc;
pub mod job;
pub mod namespaces;
pub mod node_lifecycle;
pub mod pods;
pub mod queue;
pub mod replicaset;
pub mod scheduling;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::dispatcher::Registry;
use crate::store::Store;

pub struct Manager {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub events: crate::events::Recorder,
}

impl Manager {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut status = self.store.status_changes();
        loop {
            // Wait until we lead.
            if status.wait_for(|s| s.is_leader).await.is_err() {
                return;
            }
            let term = status.borrow().term;
            // A new leader may not have applied everything its predecessor committed (the
            // pods a controller made just before it crashed): a ReadIndex barrier waits until
            // it has, so no controller acts on a stale view and creates them twice.
            if let Err(e) = self.store.linearizable().await {
                tracing::warn!(term, error = %e, "leader not caught up; controllers wait");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
            info!(term, "starting controllers as leader");
            let leading = shutdown.child_token();
            let tasks = TaskTracker::new();
            tasks.spawn(
                scheduling::SchedulerLoop {
                    store: self.store.clone(),
                    events: self.events.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                deployment::DeploymentController {
                    store: self.store.clone(),
                    events: self.events.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                replicaset::ReplicaSetController {
                    store: self.store.clone(),
                    events: self.events.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                daemonset::DaemonSetController {
                    store: self.store.clone(),
                    events: self.events.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                cronjob::CronJobController {
                    store: self.store.clone(),
                    events: self.events.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                job::JobController {
                    store: self.store.clone(),
                    events: self.events.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                gc::GarbageCollector {
                    store: self.store.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                namespaces::NamespaceController {
                    store: self.store.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                eviction::Evictor::new(self.store.clone(), self.events.clone())
                    .run(leading.clone()),
            );
            tasks.spawn(
                crate::cluster::promote::Promoter {
                    store: self.store.clone(),
                }
                .run(leading.clone()),
            );
            tasks.spawn(
                node_lifecycle::NodeLifecycle {
                    store: self.store.clone(),
                    registry: self.registry.clone(),
                }
                .run(leading.clone()),
            );
            tasks.close();
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = status.wait_for(|s| !s.is_leader || s.term != term) => {}
            }
            leading.cancel();
            tasks.wait().await;
            if shutdown.is_cancelled() {
                return;
            }
            info!("stopped controllers: no longer leader");
        }
    }
}
