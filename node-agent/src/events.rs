//! [`EventLog`]: what happened to this node's pods (images pulled, containers started, crashed,
//! killed by a probe), queued for the session, which sends it to the master as Events.
//!
//! Bounded: while no master answers, the oldest events go first once [`CAPACITY`] wait.
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use bosun_proto::v1::PodEvent;
use bosun_shared::pod::Pod;
use tokio::sync::Notify;

/// Events kept while they cannot be sent.
pub const CAPACITY: usize = 256;
/// Attempts remembered by [`EventLog::once`] before it forgets them all.
const ONCE_MEMORY: usize = 4_096;

#[derive(Default)]
pub struct EventLog {
    queue: Mutex<VecDeque<PodEvent>>,
    /// (container attempt id, reason) already reported.
    reported: Mutex<HashSet<(String, &'static str)>>,
    /// Notified when an event is queued.
    pub changed: Notify,
}

impl EventLog {
    /// Queues an event about container `container` of `pod`.
    pub fn push(&self, pod: &Pod, container: &str, type_: &str, reason: &str, message: String) {
        let e = PodEvent {
            namespace: pod.metadata.namespace.to_string(),
            name: pod.metadata.name.to_string(),
            uid: pod.metadata.uid.to_string(),
            r#type: type_.into(),
            reason: reason.into(),
            message,
            field_path: field_path(pod, container),
        };
        let mut q = self.queue.lock().expect("event queue lock");
        if q.len() >= CAPACITY {
            q.pop_front();
        }
        q.push_back(e);
        drop(q);
        self.changed.notify_one();
    }

    /// True the first time it is asked about (`attempt`, `reason`): for events a pass would
    /// otherwise repeat every second.
    pub fn once(&self, attempt: &str, reason: &'static str) -> bool {
        let mut r = self.reported.lock().expect("reported events lock");
        if r.len() >= ONCE_MEMORY {
            r.clear();
        }
        r.insert((attempt.to_string(), reason))
    }

    /// Takes every queued event.
    pub fn drain(&self) -> Vec<PodEvent> {
        self.queue
            .lock()
            .expect("event queue lock")
            .drain(..)
            .collect()
    }
}

/// Where in the pod an event points: `spec.containers{web}`, `spec.initContainers{setup}`,
/// or nowhere for the pod's sandbox.
fn field_path(pod: &Pod, container: &str) -> String {
    if container == crate::sandbox::CONTAINER {
        String::new()
    } else if pod.spec.init_containers.iter().any(|c| c.name == container) {
        format!("spec.initContainers{{{container}}}")
    } else {
        format!("spec.containers{{{container}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_oldest_first_and_once_per_attempt() {
        let log = EventLog::default();
        let pod = Pod::default();
        for i in 0..CAPACITY + 5 {
            log.push(&pod, "c", "Normal", "Started", format!("m{i}"));
        }
        let got = log.drain();
        assert_eq!(got.len(), CAPACITY);
        assert_eq!(got[0].message, "m5", "the oldest went first");
        assert_eq!(got[0].field_path, "spec.containers{c}");
        assert!(log.drain().is_empty());
        assert!(log.once("a1", "BackOff"));
        assert!(!log.once("a1", "BackOff"));
        assert!(log.once("a1", "Unhealthy"));
        assert!(log.once("a2", "BackOff"));
    }
}
