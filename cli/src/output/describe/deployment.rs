//! `describe deployment`.
//! `describe replicaset` shares the template and pods parts.
use std::time::SystemTime;

use bosun_shared::deployment::{Deployment, PodTemplateSpec};
use bosun_shared::pod::Pod;
use bosun_shared::replicaset::ReplicaSet;
use bosun_shared::strategy::{IntOrPercent, StrategyType};

use super::timestamp::rfc1123z_or_unknown;
use super::{container, ConditionColumn, Writer};
use crate::output::columns::selector_string;
use crate::output::table;

/// Header of the `Pods:` table.
const POD_HEADER: [&str; 5] = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"];

pub(super) fn describe(w: &mut Writer, d: &Deployment, pods: &[&Pod], now: SystemTime) {
    let meta = &d.metadata;
    let status = d.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Namespace", &meta.namespace);
    w.field(
        0,
        "CreationTimestamp",
        rfc1123z_or_unknown(meta.creation_timestamp.as_deref()),
    );
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    w.field(0, "Selector", selector_string(&d.spec.selector));
    // As the deployment controller computes it: pods that exist but are not available.
    let unavailable = (status.replicas - status.available_replicas).max(0);
    w.field(
        0,
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {unavailable} unavailable",
            d.replicas(),
            status.updated_replicas,
            status.replicas,
            status.available_replicas,
        ),
    );
    let strategy = &d.spec.strategy;
    w.field(0, "StrategyType", format!("{:?}", strategy.kind()));
    if strategy.kind() == StrategyType::RollingUpdate {
        let ru = strategy.rolling_update.clone().unwrap_or_default();
        let show = |v: Option<IntOrPercent>| v.map_or_else(|| "25%".into(), |v| v.to_string());
        w.field(
            0,
            "RollingUpdateStrategy",
            format!(
                "{} max unavailable, {} max surge",
                show(ru.max_unavailable),
                show(ru.max_surge)
            ),
        );
    }
    pod_template(w, &d.spec.template);
    w.conditions(&status.conditions, &[ConditionColumn::Reason]);
    pods_table(w, pods, now);
}

/// `describe replicaset`, as kubectl's.
pub(super) fn describe_replica_set(
    w: &mut Writer,
    rs: &ReplicaSet,
    pods: &[&Pod],
    now: SystemTime,
) {
    let meta = &rs.metadata;
    let status = rs.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Namespace", &meta.namespace);
    w.field(0, "Selector", selector_string(&rs.spec.selector));
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    if let Some(owner) = meta.controller() {
        w.field(0, "Controlled By", format!("{}/{}", owner.kind, owner.name));
    }
    w.field(
        0,
        "Replicas",
        format!("{} current / {} desired", status.replicas, rs.replicas()),
    );
    let phase = |p: bosun_shared::pod::PodPhase| pods.iter().filter(|x| x.phase() == p).count();
    use bosun_shared::pod::PodPhase;
    w.field(
        0,
        "Pods Status",
        format!(
            "{} Running / {} Waiting / {} Succeeded / {} Failed",
            phase(PodPhase::Running),
            phase(PodPhase::Pending),
            phase(PodPhase::Succeeded),
            phase(PodPhase::Failed)
        ),
    );
    pod_template(w, &rs.spec.template);
    pods_table(w, pods, now);
}

/// `describe daemonset`, as kubectl's.
pub(super) fn describe_daemon_set(
    w: &mut Writer,
    d: &bosun_shared::daemonset::DaemonSet,
    pods: &[&Pod],
    now: SystemTime,
) {
    let meta = &d.metadata;
    let s = d.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Namespace", &meta.namespace);
    w.field(0, "Selector", selector_string(&d.spec.selector));
    w.labels(0, "Node-Selector", &d.spec.template.spec.node_selector);
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    let fields = [
        (
            "Desired Number of Nodes Scheduled",
            s.desired_number_scheduled,
        ),
        (
            "Current Number of Nodes Scheduled",
            s.current_number_scheduled,
        ),
        (
            "Number of Nodes Scheduled with Up-to-date Pods",
            s.updated_number_scheduled,
        ),
        (
            "Number of Nodes Scheduled with Available Pods",
            s.number_available,
        ),
        ("Number of Nodes Misscheduled", s.number_misscheduled),
    ];
    for (k, v) in fields {
        w.field(0, k, v.to_string());
    }
    pod_template(w, &d.spec.template);
    pods_table(w, pods, now);
}

/// `Pod Template:` with its labels, annotations, containers and node selector.
pub(super) fn pod_template(w: &mut Writer, template: &PodTemplateSpec) {
    w.line(0, "Pod Template:");
    w.labels(1, "Labels", &template.metadata.labels);
    if !template.metadata.annotations.is_empty() {
        w.annotations(1, "Annotations", &template.metadata.annotations);
    }
    if !template.spec.init_containers.is_empty() {
        let init = &template.spec.init_containers;
        container::containers(w, "Init Containers", init, &[], "  ");
    }
    container::containers(w, "Containers", &template.spec.containers, &[], "  ");
    if !template.spec.node_selector.is_empty() {
        w.labels(1, "Node-Selectors", &template.spec.node_selector);
    }
}

/// `Pods:` and a `get pods` table of them, indented, or `<none>`.
pub(super) fn pods_table(w: &mut Writer, pods: &[&Pod], now: SystemTime) {
    if pods.is_empty() {
        return w.field(0, "Pods", "<none>");
    }
    w.line(0, "Pods:");
    let mut rows = vec![POD_HEADER.map(str::to_string).to_vec()];
    rows.extend(pods.iter().map(|p| table::pod_row(p, false, now)));
    // Already aligned and free of tabs: the lines pass through the describe alignment as is.
    for line in table::align(&rows).lines() {
        w.line(1, line);
    }
}

#[cfg(test)]
mod tests {
    use crate::output::fixtures::{self, now, running_pod};
    use bosun_shared::Object;

    #[test]
    fn a_deployment_with_its_pods() {
        let mut d = fixtures::deployment("web", 2);
        let status = d.status.as_mut().unwrap();
        status.available_replicas = 1;
        status.ready_replicas = 1;
        let mut pending = fixtures::pod("web-b", &["nginx"]);
        pending.metadata.labels.insert("app".into(), "web".into());
        let related: Vec<Object> = vec![
            running_pod("web-a", "n1").into(),
            pending.into(),
            fixtures::node("n1").into(),
        ];
        let out = crate::output::describe(&d.into(), &related, &[], now());
        assert_eq!(
            out,
            "Name:                   web
Namespace:              default
CreationTimestamp:      Wed, 31 Dec 2025 23:00:00 +0000
Labels:                 <none>
Annotations:            <none>
Selector:               app=web
Replicas:               2 desired | 2 updated | 2 total | 1 available | 1 unavailable
StrategyType:           RollingUpdate
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=web
  Containers:
   nginx:
    Image:        nginx:1.25
    Port:         <none>
    Environment:  <none>
Conditions:
  Type        Status  Reason
  ----        ------  ------
  Available   True    MinimumReplicasAvailable
Pods:
  NAME    READY   STATUS    RESTARTS   AGE
  web-a   1/1     Running   0          5m30s
  web-b   0/1     Pending   0          5m30s
Events:  <none>
"
        );
    }

    #[test]
    fn a_deployment_without_pods() {
        let d = fixtures::deployment("web", 1);
        let out = crate::output::describe(&d.into(), &[], &[], now());
        assert!(
            out.ends_with("Pods:         <none>\nEvents:       <none>\n"),
            "{out}"
        );
    }
}
