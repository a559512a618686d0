//! The Job controller: runs a Job's pods by [`decide`] (parallelism, completions, back-off,
//! limits, indexes, TTL) and writes its status, marking the finished pods it counts in the
//! same write. Woken by changes of the Job and of its pods,
//! and again when a decision asks (a back-off ending, a deadline, a TTL).
mod decide;

use std::time::{Duration, SystemTime};

use bosun_shared::event::{Event, ObjectReference, NORMAL, WARNING};
use bosun_shared::job::{
    Job, COMPLETION_INDEX_ANNOTATION, COMPLETION_INDEX_ENV, COUNTED_ANNOTATION, JOB_NAME_LABEL,
};
use bosun_shared::meta::ObjectMeta;
use bosun_shared::pod::{EnvVar, Pod};
use bosun_shared::{Kind, Object, ToCompactString};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::entries::propose_owned;
use super::pods::{controlled, controller_ref, delete_of, delete_op, PodNames};
use super::queue::{all_keys, owner_key, reconcile_loop, Key};
use crate::store::{Change, Command, Op, Store, StoreError};

/// The label kubectl shows (`job-name`), besides [`JOB_NAME_LABEL`].
const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// Reporter of this controller's events.
const COMPONENT: &str = "job-controller";

pub struct JobController {
    pub store: Store,
    pub events: crate::events::Recorder,
}

impl JobController {
    pub async fn run(self, shutdown: CancellationToken) {
        let keys_of = |c: &Change| match &*c.object {
            Object::Job(j) => Some((j.metadata.namespace.clone(), j.metadata.name.clone())),
            _ => owner_key(c, Kind::Job.as_str()),
        };
        reconcile_loop(
            "job",
            &self.store,
            &shutdown,
            keys_of,
            || all_keys(&self.store, Kind::Job),
            |key| self.reconcile(key),
        )
        .await;
    }

    async fn reconcile(&self, (ns, name): Key) -> Result<Option<Duration>, StoreError> {
        let stored = self.store.get(Kind::Job, &ns, &name);
        let Some(Object::Job(job)) = stored.as_deref() else {
            return Ok(None); // deleted: the garbage collector removes its pods
        };
        let owned = controlled(&self.store, Kind::Pod, &ns, &job.metadata.uid);
        // Terminating pods are on their way out: neither active nor counted.
        let pods: Vec<&Pod> = owned
            .iter()
            .filter_map(|o| o.as_pod())
            .filter(|p| !p.is_terminating())
            .collect();
        let d = decide::decide(job, &pods, SystemTime::now());
        let mut ops: Vec<Op> = d.delete.iter().copied().map(delete_op).collect();
        let mut names = PodNames::new(&self.store, &ns);
        for index in &d.create {
            let mut pod: Object = new_pod(job, *index, &mut names).into();
            crate::store::stamp_new(&mut pod);
            ops.push(Op::Create(pod));
        }
        if d.delete_job {
            info!(job = %format!("{ns}/{name}"), "deleting finished job: ttlSecondsAfterFinished passed");
            ops.push(delete_of(Kind::Job, &job.metadata));
            self.store.propose(Command { ops }).await?;
            return Ok(None);
        }
        if !ops.is_empty() {
            info!(
                job = %format!("{ns}/{name}"),
                create = d.create.len(),
                delete = d.delete.len(),
                "job pods"
            );
            let owner = Object::Job(job.clone());
            propose_owned(&self.store, &self.events, &owner, ops, COMPONENT).await?;
        }
        let finished = finish_event(job, &d.status);
        if job.status.as_ref() != Some(&d.status) || !d.count.is_empty() {
            // The new counts and the marks of the pods they count, in one write.
            let mut ops: Vec<Op> = d.count.iter().map(|p| mark_counted(p)).collect();
            let mut updated = job.clone();
            updated.status = Some(d.status);
            ops.push(Op::UpdateStatus {
                object: updated.into(),
                expected_revision: Some(job.metadata.revision()),
            });
            self.store.propose(Command { ops }).await?;
            if let Some(e) = finished {
                self.events.record(e);
            }
        }
        Ok(d.requeue)
    }
}

/// Marks a finished pod as counted in its Job's status (compare-and-swap on the pod).
fn mark_counted(p: &Pod) -> Op {
    let mut marked = p.clone();
    marked
        .metadata
        .annotations
        .insert(COUNTED_ANNOTATION.into(), "true".into());
    Op::Update {
        expected_revision: Some(p.metadata.revision()),
        object: marked.into(),
    }
}

/// The event of a Job that `status` newly marks Complete or Failed.
fn finish_event(job: &Job, status: &bosun_shared::job::JobStatus) -> Option<Event> {
    let was = |type_: &str| {
        job.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == type_ && c.status == "True")
        })
    };
    let c = status.conditions.iter().find(|c| {
        (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True" && !was(&c.type_)
    })?;
    let about = ObjectReference::to(&Object::from(job.clone()));
    Some(if c.type_ == "Complete" {
        Event::about(about, NORMAL, "Completed", "Job completed", COMPONENT)
    } else {
        let reason = c.reason.clone().unwrap_or_else(|| "Failed".into());
        let message = c.message.clone().unwrap_or_else(|| "Job has failed".into());
        Event::about(about, WARNING, &reason, message, COMPONENT)
    })
}

/// A pod of the Job's template: `<job>-<5 random>`, or `<job>-<index>-<5 random>` with the
/// index in an annotation and in `JOB_COMPLETION_INDEX` for an Indexed Job.
fn new_pod(job: &Job, index: Option<i32>, names: &mut PodNames) -> Pod {
    let t = &job.spec.template;
    let mut labels = t.metadata.labels.clone();
    labels.insert(JOB_NAME_LABEL.into(), job.metadata.name.clone());
    labels.insert(LEGACY_JOB_NAME_LABEL.into(), job.metadata.name.clone());
    let mut annotations = t.metadata.annotations.clone();
    let mut spec = t.spec.clone();
    let name = match index {
        Some(i) => {
            annotations.insert(COMPLETION_INDEX_ANNOTATION.into(), i.to_compact_string());
            for c in spec.init_containers.iter_mut().chain(&mut spec.containers) {
                c.env.push(EnvVar {
                    name: COMPLETION_INDEX_ENV.into(),
                    value: i.to_string(),
                    value_from: None,
                });
            }
            names.generate(&format!("{}-{i}", job.metadata.name))
        }
        None => names.generate(&job.metadata.name),
    };
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: job.metadata.namespace.clone(),
            labels,
            annotations,
            owner_references: vec![controller_ref(Kind::Job, &job.metadata)],
            ..Default::default()
        },
        spec,
        ..Default::default()
    }
}
