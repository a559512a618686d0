//! The CronJob controller: starts a Job at each scheduled time by [`decide`], and keeps the
//! history within its limits. The Job of a run and the CronJob's `lastScheduleTime` are
//! written in one Raft entry, and the Job's name comes from the scheduled time, so no run
//! starts twice, even when the leader changes in between. Woken by changes of the CronJob and
//! of its Jobs, and at the next scheduled time.
mod decide;

use std::time::{Duration, SystemTime};

use bosun_shared::cronjob::{CronJob, SCHEDULED_AT_ANNOTATION};
use bosun_shared::job::Job;
use bosun_shared::meta::ObjectMeta;
use bosun_shared::time::to_rfc3339;
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::pods::{controlled, controller_ref, delete_of};
use super::queue::{all_keys, reconcile_loop, Key};
use crate::events::Recorder;
use crate::store::{Change, Command, Op, Store, StoreError};

/// Reporter of this controller's events.
const COMPONENT: &str = "cronjob-controller";

pub struct CronJobController {
    pub store: Store,
    pub events: crate::events::Recorder,
}

impl CronJobController {
    pub async fn run(self, shutdown: CancellationToken) {
        let keys_of = |c: &Change| {
            let m = c.object.meta();
            match &*c.object {
                Object::CronJob(_) => Some((m.namespace.clone(), m.name.clone())),
                Object::Job(_) => m
                    .controller()
                    .filter(|o| o.kind == Kind::CronJob.as_str())
                    .map(|o| (m.namespace.clone(), o.name.clone())),
                _ => None,
            }
        };
        reconcile_loop(
            "cronjob",
            &self.store,
            &shutdown,
            keys_of,
            || all_keys(&self.store, Kind::CronJob),
            |key| self.reconcile(key),
        )
        .await;
    }

    async fn reconcile(&self, (ns, name): Key) -> Result<Option<Duration>, StoreError> {
        let stored = self.store.get(Kind::CronJob, &ns, &name);
        let Some(Object::CronJob(cj)) = stored.as_deref() else {
            return Ok(None); // deleted: the garbage collector removes its Jobs
        };
        let owned = controlled(&self.store, Kind::Job, &ns, &cj.metadata.uid);
        let jobs: Vec<&Job> = owned.iter().filter_map(|o| o.as_job()).collect();
        let d = decide::decide(cj, &jobs, SystemTime::now());
        if d.too_many_missed {
            warn!(cronjob = %format!("{ns}/{name}"), "more than {} runs were missed; starting the latest only", decide::MISSED_CAP);
        }
        let mut ops: Vec<Op> = d
            .delete
            .iter()
            .map(|j| delete_of(Kind::Job, &j.metadata))
            .collect();
        if !ops.is_empty() {
            self.store
                .propose(Command {
                    ops: std::mem::take(&mut ops),
                })
                .await?;
        }
        let status_changed = cj.status.as_ref() != Some(&d.status);
        let mut updated = cj.clone();
        updated.status = Some(d.status);
        let status_op = Op::UpdateStatus {
            object: updated.clone().into(),
            expected_revision: Some(cj.metadata.revision()),
        };
        match d.run {
            Some(t) => {
                let mut job: Object = new_job(cj, t).into();
                crate::store::stamp_new(&mut job);
                info!(cronjob = %format!("{ns}/{name}"), job = %job.meta().name, scheduled = %to_rfc3339(t), "starting scheduled run");
                let both = Command {
                    ops: vec![Op::Create(job), status_op.clone()],
                };
                let events =
                    Recorder::ops_events(&Object::CronJob(cj.clone()), &both.ops, COMPONENT);
                match self.store.propose(both).await {
                    Ok(_) => self.events.record_all(events),
                    // A previous leader started this run: only the status is left to write.
                    Err(StoreError::AlreadyExists(_)) => {
                        self.store
                            .propose(Command {
                                ops: vec![status_op],
                            })
                            .await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            None if status_changed => {
                self.store
                    .propose(Command {
                        ops: vec![status_op],
                    })
                    .await?;
            }
            None => {}
        }
        Ok(d.requeue)
    }
}

/// The Job of the run scheduled at `t`.
fn new_job(cj: &CronJob, t: SystemTime) -> Job {
    let template = &cj.spec.job_template;
    let mut annotations = template.metadata.annotations.clone();
    annotations.insert(SCHEDULED_AT_ANNOTATION.into(), to_rfc3339(t));
    Job {
        metadata: ObjectMeta {
            name: decide::job_name(cj, t).into(),
            namespace: cj.metadata.namespace.clone(),
            labels: template.metadata.labels.clone(),
            annotations,
            owner_references: vec![controller_ref(Kind::CronJob, &cj.metadata)],
            ..Default::default()
        },
        spec: template.spec.clone(),
        ..Default::default()
    }
}
