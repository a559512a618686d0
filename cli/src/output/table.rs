//! `get` tables: a header in caps and one row per object, aligned like kubectl's.
use std::time::SystemTime;

use bosun_shared::cronjob::CronJob;
use bosun_shared::daemonset::DaemonSet;
use bosun_shared::deployment::Deployment;
use bosun_shared::event::Event;
use bosun_shared::job::Job;
use bosun_shared::node::Node;
use bosun_shared::pod::Pod;
use bosun_shared::replicaset::ReplicaSet;
use bosun_shared::time::age;
use bosun_shared::{Kind, Object};

use super::columns::{
    job_completions, job_duration, job_status, node_roles, node_status, pod_ready, pod_restarts,
    pod_status, selector_string,
};
use super::tabwriter::TABLE;

/// The table of `objects` (those of another kind than `kind` are skipped). `""` when there is
/// no row: the caller prints `No resources found ...` instead. `all_namespaces` prefixes a
/// NAMESPACE column for namespaced kinds.
pub(crate) fn render(
    kind: Kind,
    objects: &[Object],
    wide: bool,
    all_namespaces: bool,
    now: SystemTime,
) -> String {
    let mut objects: Vec<&Object> = objects.iter().filter(|o| o.kind() == kind).collect();
    if kind == Kind::Event {
        // Oldest first, as they happened.
        objects.sort_by_key(|o| o.as_event().map(event_order));
    }
    if objects.is_empty() {
        return String::new();
    }
    let namespace = all_namespaces && kind.namespaced();
    let mut rows = Vec::with_capacity(objects.len() + 1);
    let mut header = headers(kind, wide);
    if namespace {
        header.insert(0, "NAMESPACE");
    }
    rows.push(header.into_iter().map(str::to_string).collect());
    for object in objects {
        let mut row = match object {
            Object::Pod(p) => pod_row(p, wide, now),
            Object::Deployment(d) => deployment_row(d, wide, now),
            Object::ReplicaSet(rs) => replica_set_row(rs, wide, now),
            Object::Job(j) => job_row(j, wide, now),
            Object::DaemonSet(d) => daemon_set_row(d, wide, now),
            Object::CronJob(cj) => cron_job_row(cj, wide, now),
            Object::Node(n) => node_row(n, wide, now),
            Object::Event(e) => event_row(e, wide, now),
            Object::PersistentVolumeClaim(c) => {
                let bound = c.node().is_some();
                let size = c
                    .spec
                    .resources
                    .requests
                    .get("storage")
                    .map(|q| q.0.clone());
                let mut row = vec![
                    c.metadata.name.to_string(),
                    c.phase().to_string(),
                    c.spec.volume_name.clone().unwrap_or_default(),
                    if bound {
                        size.unwrap_or_default()
                    } else {
                        String::new()
                    },
                    if bound {
                        access_modes(&c.spec.access_modes)
                    } else {
                        String::new()
                    },
                    c.spec
                        .storage_class_name
                        .clone()
                        .unwrap_or_else(|| "<unset>".into()),
                    age(c.metadata.creation_timestamp.as_deref(), now),
                ];
                if wide {
                    row.push(
                        c.spec
                            .volume_mode
                            .clone()
                            .unwrap_or_else(|| "Filesystem".into()),
                    );
                }
                row
            }
            Object::ConfigMap(c) => vec![
                c.metadata.name.to_string(),
                (c.data.len() + c.binary_data.len()).to_string(),
                age(c.metadata.creation_timestamp.as_deref(), now),
            ],
            Object::Namespace(n) => vec![
                n.metadata.name.to_string(),
                super::describe::namespace_phase(n).to_string(),
                age(n.metadata.creation_timestamp.as_deref(), now),
            ],
            Object::Secret(s) => vec![
                s.metadata.name.to_string(),
                s.type_.clone(),
                s.data.len().to_string(),
                age(s.metadata.creation_timestamp.as_deref(), now),
            ],
        };
        if namespace {
            row.insert(0, object.meta().namespace.to_string());
        }
        rows.push(row);
    }
    align(&rows)
}

/// kubectl's short access modes: `RWO,ROX`.
pub fn access_modes(modes: &[String]) -> String {
    modes
        .iter()
        .map(|m| match m.as_str() {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Aligns rows as `get` does: columns three spaces apart, no trailing spaces.
pub fn align(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace(['\t', '\n'], " ")).collect();
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    TABLE.align(&text)
}

fn headers(kind: Kind, wide: bool) -> Vec<&'static str> {
    let (narrow, extra): (&[&str], &[&str]) = match kind {
        Kind::Pod => (
            &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            &["IP", "NODE"],
        ),
        Kind::Deployment => (
            &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::ReplicaSet => (
            &["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::DaemonSet => (
            &[
                "NAME",
                "DESIRED",
                "CURRENT",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "NODE SELECTOR",
                "AGE",
            ],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::CronJob => (
            &[
                "NAME",
                "SCHEDULE",
                "TIMEZONE",
                "SUSPEND",
                "ACTIVE",
                "LAST SCHEDULE",
                "AGE",
            ],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::Job => (
            &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::Event => (
            &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            &["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"],
        ),
        Kind::Secret => (&["NAME", "TYPE", "DATA", "AGE"], &[]),
        Kind::Namespace => (&["NAME", "STATUS", "AGE"], &[]),
        Kind::ConfigMap => (&["NAME", "DATA", "AGE"], &[]),
        Kind::PersistentVolumeClaim => (
            &[
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "ACCESS MODES",
                "STORAGECLASS",
                "AGE",
            ],
            &["VOLUMEMODE"],
        ),
        Kind::Node => (
            &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
            &["INTERNAL-IP", "OS-IMAGE", "CONTAINER-RUNTIME"],
        ),
    };
    let mut h = narrow.to_vec();
    if wide {
        h.extend_from_slice(extra);
    }
    h
}

/// NAME READY STATUS RESTARTS AGE [IP NODE].
pub(crate) fn pod_row(pod: &Pod, wide: bool, now: SystemTime) -> Vec<String> {
    let mut row = vec![
        pod.metadata.name.to_string(),
        pod_ready(pod),
        pod_status(pod),
        pod_restarts(pod, now),
        age(pod.metadata.creation_timestamp.as_deref(), now),
    ];
    if wide {
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref());
        row.push(ip.map_or_else(none, str::to_string));
        row.push(
            pod.spec
                .node_name
                .as_deref()
                .map_or_else(none, str::to_string),
        );
    }
    row
}

/// NAME READY UP-TO-DATE AVAILABLE AGE [CONTAINERS IMAGES SELECTOR].
fn deployment_row(d: &Deployment, wide: bool, now: SystemTime) -> Vec<String> {
    let status = d.status.clone().unwrap_or_default();
    let mut row = vec![
        d.metadata.name.to_string(),
        format!("{}/{}", status.ready_replicas, d.replicas()),
        status.updated_replicas.to_string(),
        status.available_replicas.to_string(),
        age(d.metadata.creation_timestamp.as_deref(), now),
    ];
    if wide {
        template_columns(&mut row, &d.spec.template.spec.containers, &d.spec.selector);
    }
    row
}

/// NAME DESIRED CURRENT READY AGE [CONTAINERS IMAGES SELECTOR].
fn replica_set_row(rs: &ReplicaSet, wide: bool, now: SystemTime) -> Vec<String> {
    let status = rs.status.clone().unwrap_or_default();
    let mut row = vec![
        rs.metadata.name.to_string(),
        rs.replicas().to_string(),
        status.replicas.to_string(),
        status.ready_replicas.to_string(),
        age(rs.metadata.creation_timestamp.as_deref(), now),
    ];
    if wide {
        template_columns(
            &mut row,
            &rs.spec.template.spec.containers,
            &rs.spec.selector,
        );
    }
    row
}

/// NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE [CONTAINERS IMAGES
/// SELECTOR].
fn daemon_set_row(d: &DaemonSet, wide: bool, now: SystemTime) -> Vec<String> {
    let s = d.status.clone().unwrap_or_default();
    let selector = &d.spec.template.spec.node_selector;
    let node_selector = if selector.is_empty() {
        none()
    } else {
        let pairs: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join(",")
    };
    let mut row = vec![
        d.metadata.name.to_string(),
        s.desired_number_scheduled.to_string(),
        s.current_number_scheduled.to_string(),
        s.number_ready.to_string(),
        s.updated_number_scheduled.to_string(),
        s.number_available.to_string(),
        node_selector,
        age(d.metadata.creation_timestamp.as_deref(), now),
    ];
    if wide {
        template_columns(&mut row, &d.spec.template.spec.containers, &d.spec.selector);
    }
    row
}

/// When an event last happened (RFC 3339), for ordering.
pub(crate) fn event_seen(e: &Event) -> String {
    e.last_timestamp
        .clone()
        .or_else(|| e.metadata.creation_timestamp.as_deref().map(str::to_string))
        .unwrap_or_default()
}

/// Oldest first: when it last happened, then the store's order for what shares a second.
pub(crate) fn event_order(e: &Event) -> (String, u64) {
    (event_seen(e), e.metadata.revision())
}

/// LAST SEEN TYPE REASON OBJECT MESSAGE [SUBOBJECT SOURCE FIRST SEEN COUNT NAME].
fn event_row(e: &Event, wide: bool, now: SystemTime) -> Vec<String> {
    let last = event_seen(e);
    let mut row = vec![
        age(Some(&last), now),
        e.type_.clone(),
        e.reason.clone(),
        e.object_column(),
        e.message.clone(),
    ];
    if wide {
        let source = match (&e.source.component, &e.source.host) {
            (c, h) if h.is_empty() => c.clone(),
            (c, h) => format!("{c}, {h}"),
        };
        row.extend([
            e.involved_object.field_path.clone(),
            source,
            age(e.first_timestamp.as_deref(), now),
            e.count.to_string(),
            e.metadata.name.to_string(),
        ]);
    }
    row
}

/// NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE [CONTAINERS IMAGES SELECTOR].
fn cron_job_row(cj: &CronJob, wide: bool, now: SystemTime) -> Vec<String> {
    let s = cj.status.clone().unwrap_or_default();
    let last = match s.last_schedule_time.as_deref() {
        Some(t) => age(Some(t), now),
        None => none(),
    };
    let mut row = vec![
        cj.metadata.name.to_string(),
        cj.spec.schedule.clone(),
        cj.spec.time_zone.clone().unwrap_or_else(none),
        if cj.spec.suspend == Some(true) {
            "True"
        } else {
            "False"
        }
        .to_string(),
        s.active.len().to_string(),
        last,
        age(cj.metadata.creation_timestamp.as_deref(), now),
    ];
    if wide {
        let containers = &cj.spec.job_template.spec.template.spec.containers;
        let selector = bosun_shared::selector::LabelSelector::default();
        template_columns(&mut row, containers, &selector);
    }
    row
}

/// NAME STATUS COMPLETIONS DURATION AGE [CONTAINERS IMAGES SELECTOR].
fn job_row(job: &Job, wide: bool, now: SystemTime) -> Vec<String> {
    let mut row = vec![
        job.metadata.name.to_string(),
        job_status(job),
        job_completions(job),
        job_duration(job, now),
        age(job.metadata.creation_timestamp.as_deref(), now),
    ];
    if wide {
        let selector = bosun_shared::selector::LabelSelector::default();
        template_columns(&mut row, &job.spec.template.spec.containers, &selector);
    }
    row
}

/// CONTAINERS IMAGES SELECTOR of a controller's pod template.
fn template_columns(
    row: &mut Vec<String>,
    containers: &[bosun_shared::pod::Container],
    selector: &bosun_shared::selector::LabelSelector,
) {
    let join = |f: fn(&bosun_shared::pod::Container) -> &str| {
        containers.iter().map(f).collect::<Vec<_>>().join(",")
    };
    row.push(join(|c| &c.name));
    row.push(join(|c| &c.image));
    row.push(selector_string(selector));
}

/// NAME STATUS ROLES AGE VERSION [INTERNAL-IP OS-IMAGE CONTAINER-RUNTIME].
fn node_row(n: &Node, wide: bool, now: SystemTime) -> Vec<String> {
    let info = n
        .status
        .as_ref()
        .map(|s| s.node_info.clone())
        .unwrap_or_default();
    let mut row = vec![
        n.metadata.name.to_string(),
        node_status(n),
        node_roles(n),
        age(n.metadata.creation_timestamp.as_deref(), now),
        info.kubelet_version,
    ];
    if wide {
        let unknown = |s: String| {
            if s.is_empty() {
                "<unknown>".to_string()
            } else {
                s
            }
        };
        row.push(n.address("InternalIP").map_or_else(none, str::to_string));
        row.push(unknown(info.operating_system));
        row.push(unknown(info.container_runtime_version));
    }
    row
}

fn none() -> String {
    "<none>".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixtures::{self, now, running_pod, waiting};

    fn objects(items: impl IntoIterator<Item = impl Into<Object>>) -> Vec<Object> {
        items.into_iter().map(Into::into).collect()
    }

    #[test]
    fn pods_align_like_kubectl() {
        let mut crashing = running_pod("web-7d9c5b-x2x9q", "n1");
        let status = crashing.status.as_mut().unwrap();
        status.container_statuses[0].state = waiting("CrashLoopBackOff");
        status.container_statuses[0].ready = false;
        status.container_statuses[0].restart_count = 12;
        let pods = objects([
            running_pod("web-1", "n1"),
            crashing,
            fixtures::pod("db", &["db", "proxy"]),
        ]);
        assert_eq!(
            render(Kind::Pod, &pods, false, false, now()),
            "NAME               READY   STATUS             RESTARTS   AGE\n\
             web-1              1/1     Running            0          5m30s\n\
             web-7d9c5b-x2x9q   0/1     CrashLoopBackOff   12         5m30s\n\
             db                 0/2     Pending            0          5m30s\n"
        );
        assert_eq!(
            render(Kind::Pod, &pods, true, true, now()),
            "NAMESPACE   NAME               READY   STATUS             RESTARTS   AGE     IP         NODE\n\
             default     web-1              1/1     Running            0          5m30s   10.0.0.1   n1\n\
             default     web-7d9c5b-x2x9q   0/1     CrashLoopBackOff   12         5m30s   10.0.0.1   n1\n\
             default     db                 0/2     Pending            0          5m30s   <none>     <none>\n"
        );
    }

    #[test]
    fn deployments_align_like_kubectl() {
        let mut d = fixtures::deployment("web", 3);
        d.status.as_mut().unwrap().ready_replicas = 1;
        let deploys = objects([d, fixtures::deployment("api-server", 1)]);
        assert_eq!(
            render(Kind::Deployment, &deploys, false, false, now()),
            "NAME         READY   UP-TO-DATE   AVAILABLE   AGE\n\
             web          1/3     3            3           60m\n\
             api-server   1/1     1            1           60m\n"
        );
        assert_eq!(
            render(Kind::Deployment, &deploys[..1], true, false, now()),
            "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR\n\
             web    1/3     3            3           60m   nginx        nginx:1.25   app=web\n"
        );
    }

    #[test]
    fn nodes_align_like_kubectl_and_ignore_all_namespaces() {
        let mut cordoned = fixtures::node("worker-2");
        cordoned.spec.unschedulable = true;
        cordoned.metadata.labels.insert(
            "node-role.kubernetes.io/worker".into(),
            String::new().into(),
        );
        let nodes = objects([fixtures::node("n1"), cordoned]);
        assert_eq!(
            render(Kind::Node, &nodes, false, true, now()),
            "NAME       STATUS                     ROLES    AGE   VERSION\n\
             n1         Ready                      <none>   2d    v0.1.0\n\
             worker-2   Ready,SchedulingDisabled   worker   2d    v0.1.0\n"
        );
        assert_eq!(
            render(Kind::Node, &nodes[..1], true, false, now()),
            "NAME   STATUS   ROLES    AGE   VERSION   INTERNAL-IP   OS-IMAGE   CONTAINER-RUNTIME\n\
             n1     Ready    <none>   2d    v0.1.0    10.0.0.1      linux      docker://24.0.7\n"
        );
    }

    #[test]
    fn no_rows_render_nothing() {
        assert_eq!(render(Kind::Pod, &[], false, false, now()), "");
        let nodes = objects([fixtures::node("n1")]);
        assert_eq!(render(Kind::Pod, &nodes, true, true, now()), "");
    }
}
