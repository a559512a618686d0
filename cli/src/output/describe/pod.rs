//! `describe pod`.
use std::time::SystemTime;

use bosun_shared::pod::{Pod, ResourceRequirements};
use bosun_shared::quantity::Quantity;
use bosun_shared::time::age;

use super::timestamp::rfc1123z;
use super::{container, Writer};
use crate::output::columns::phase_str;

pub(super) fn describe(w: &mut Writer, pod: &Pod, now: SystemTime) {
    let meta = &pod.metadata;
    let status = pod.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Namespace", &meta.namespace);
    let node = match (&pod.spec.node_name, &status.host_ip) {
        (None, _) => "<none>".to_string(),
        (Some(node), Some(ip)) => format!("{node}/{ip}"),
        (Some(node), None) => node.to_string(),
    };
    w.field(0, "Node", node);
    if let Some(start) = &status.start_time {
        w.field(0, "Start Time", rfc1123z(start));
    }
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    match &meta.deletion_timestamp {
        Some(t) if !status.phase.is_terminal() => {
            w.field(
                0,
                "Status",
                format!("Terminating (lasts {})", age(Some(t), now)),
            );
        }
        _ => w.field(0, "Status", phase_str(status.phase)),
    }
    if let Some(reason) = status.reason.as_deref().filter(|s| !s.is_empty()) {
        w.field(0, "Reason", reason);
    }
    if let Some(message) = status.message.as_deref().filter(|s| !s.is_empty()) {
        w.field(0, "Message", message);
    }
    w.field(0, "IP", status.pod_ip.as_deref().unwrap_or("<none>"));
    if let Some(owner) = meta.controller() {
        w.field(0, "Controlled By", format!("{}/{}", owner.kind, owner.name));
    }
    let spec = &pod.spec;
    if !spec.init_containers.is_empty() {
        let statuses = &status.init_container_statuses;
        container::containers(w, "Init Containers", &spec.init_containers, statuses, "");
    }
    container::containers(
        w,
        "Containers",
        &spec.containers,
        &status.container_statuses,
        "",
    );
    w.conditions(&status.conditions, &[]);
    w.field(0, "QoS Class", qos_class(pod));
    w.labels(0, "Node-Selectors", &pod.spec.node_selector);
}

/// `Guaranteed` (every container limits CPU and memory, requests equal to limits),
/// `BestEffort` (no requests or limits at all) or `Burstable`.
fn qos_class(pod: &Pod) -> &'static str {
    const RESOURCES: [&str; 2] = ["cpu", "memory"];
    // Init containers count, as in Kubernetes' `GetPodQOS`.
    let containers: Vec<_> = pod.spec.all_containers().collect();
    let sets_any = |r: &ResourceRequirements| {
        RESOURCES
            .iter()
            .any(|k| r.requests.contains_key(*k) || r.limits.contains_key(*k))
    };
    if !containers.iter().any(|c| sets_any(&c.resources)) {
        return "BestEffort";
    }
    let millis = |q: &Quantity| q.millis().ok();
    let guaranteed = containers.iter().all(|c| {
        RESOURCES.iter().all(|k| match c.resources.limits.get(*k) {
            None => false,
            Some(limit) => c
                .resources
                .requests
                .get(*k)
                .is_none_or(|req| millis(req) == millis(limit)),
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixtures::{self, ago, now, running_pod};
    use bosun_shared::meta::{Condition, OwnerReference};
    use bosun_shared::Object;

    fn describe(pod: Pod) -> String {
        crate::output::describe(&Object::from(pod), &[], &[], now())
    }

    #[test]
    fn an_unschedulable_pod_shows_its_condition() {
        let mut pod = fixtures::pod("big", &["app"]);
        pod.metadata.labels.insert("app".into(), "big".into());
        pod.spec.containers[0]
            .resources
            .requests
            .insert("memory".into(), "64Gi".into());
        pod.status.as_mut().unwrap().conditions.push(Condition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("Unschedulable".into()),
            message: Some("0/1 nodes available: 1 insufficient memory".into()),
            last_transition_time: Some(ago(42).into()),
            ..Default::default()
        });
        assert_eq!(
            describe(pod),
            "Name:         big
Namespace:    default
Node:         <none>
Labels:       app=big
Annotations:  <none>
Status:       Pending
IP:           <none>
Containers:
  app:
    Image:  nginx:1.25
    Port:   <none>
    Requests:
      memory:     64Gi
    Environment:  <none>
Conditions:
  Type           Status
  PodScheduled   False
QoS Class:       Burstable
Node-Selectors:  <none>
Events:          <none>
"
        );
    }

    #[test]
    fn probes_are_shown_as_kubectl_shows_them() {
        use bosun_shared::probe::{ExecAction, HttpGetAction, Probe, ProbePort};
        let mut pod = running_pod("web-abc12", "n1");
        let c = &mut pod.spec.containers[0];
        c.readiness_probe = Some(Box::new(Probe {
            http_get: Some(HttpGetAction {
                path: "/healthz".into(),
                port: ProbePort::Number(8080),
                host: None,
                scheme: "HTTP".into(),
                http_headers: vec![],
            }),
            period_seconds: 5,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
            ..Default::default()
        }));
        c.liveness_probe = Some(Box::new(Probe {
            exec: Some(ExecAction {
                command: vec!["cat".into(), "/tmp/alive".into()],
            }),
            initial_delay_seconds: 2,
            period_seconds: 10,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
            ..Default::default()
        }));
        let out = describe(pod);
        for want in [
            "    Liveness:       exec [cat /tmp/alive] delay=2s timeout=1s period=10s #success=1 #failure=3\n",
            "    Readiness:      http-get http://:8080/healthz delay=0s timeout=1s period=5s #success=1 #failure=3\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
    }

    #[test]
    fn a_running_pod() {
        let mut pod = running_pod("web-abc12", "n1");
        pod.metadata.owner_references.push(OwnerReference {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            uid: "uid-web".into(),
            controller: Some(true),
        });
        let out = describe(pod);
        for want in [
            "Node:           n1/10.0.0.1\n",
            "Start Time:     Wed, 31 Dec 2025 23:55:10 +0000\n",
            "Status:         Running\n",
            "IP:             10.0.0.1\n",
            "Controlled By:  Deployment/web\n",
            "    Container ID:   docker://abc123\n",
            "    State:          Running\n      Started:      Wed, 31 Dec 2025 23:55:20 +0000\n",
            "    Ready:          True\n    Restart Count:  0\n",
            "  Ready          True\n",
            "QoS Class:       BestEffort\n",
            "Events:          <none>\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
    }

    #[test]
    fn qos_classes() {
        let mut pod = fixtures::pod("p", &["a"]);
        assert_eq!(qos_class(&pod), "BestEffort");
        let r = &mut pod.spec.containers[0].resources;
        r.limits.insert("cpu".into(), "1".into());
        r.limits.insert("memory".into(), "1Gi".into());
        assert_eq!(qos_class(&pod), "Guaranteed");
        let r = &mut pod.spec.containers[0].resources;
        r.requests.insert("cpu".into(), "1000m".into());
        assert_eq!(qos_class(&pod), "Guaranteed");
        let r = &mut pod.spec.containers[0].resources;
        r.requests.insert("memory".into(), "512Mi".into());
        assert_eq!(qos_class(&pod), "Burstable");
    }
}
