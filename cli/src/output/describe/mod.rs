//! `bosun describe`: kubectl's multi-section text, one file per kind.
//!
//! Text is written line by line into a [`Writer`], cells separated by `\t`, then aligned at once
//! with Go's tabwriter rules (padding 2), exactly as kubectl's `PrefixWriter` does; that is why
//! a heading line such as `Containers:` restarts the alignment of the `key:  value` lines below.
use std::time::SystemTime;

use bosun_shared::meta::{Condition, StringMap};
use bosun_shared::Object;

use super::tabwriter::DESCRIBE;

mod container;
mod deployment;
mod events;
mod job;
mod node;
mod pod;
mod timestamp;

/// The `describe` text of `obj`, ending with `events` about it. `related` are the objects
/// shown with it: for a Deployment its pods, for a Node the pods bound to it; objects of other
/// kinds, and `related` of a Pod, are ignored.
pub fn describe(
    obj: &Object,
    related: &[Object],
    events: &[&bosun_shared::event::Event],
    now: SystemTime,
) -> String {
    let pods: Vec<&bosun_shared::pod::Pod> = related.iter().filter_map(Object::as_pod).collect();
    let mut w = Writer::default();
    match obj {
        Object::Pod(p) => pod::describe(&mut w, p, now),
        Object::Deployment(d) => deployment::describe(&mut w, d, &pods, now),
        Object::ReplicaSet(rs) => deployment::describe_replica_set(&mut w, rs, &pods, now),
        Object::Job(j) => job::describe(&mut w, j, &pods, now),
        Object::DaemonSet(d) => deployment::describe_daemon_set(&mut w, d, &pods, now),
        Object::CronJob(cj) => job::describe_cron_job(&mut w, cj, related, now),
        Object::Node(n) => node::describe(&mut w, n, &pods, now),
        Object::Event(e) => events::describe(&mut w, e),
        Object::Secret(s) => describe_secret(&mut w, s),
        Object::Namespace(n) => describe_namespace(&mut w, n),
        Object::ConfigMap(c) => describe_config_map(&mut w, c),
        Object::PersistentVolumeClaim(c) => describe_claim(&mut w, c),
    }
    if obj.kind() != bosun_shared::Kind::Event {
        events::section(&mut w, events, now);
    }
    w.finish()
}

/// `describe configmap`: the values, as kubectl shows them.
fn describe_config_map(w: &mut Writer, c: &bosun_shared::configmap::ConfigMap) {
    w.field(0, "Name", &c.metadata.name);
    w.field(0, "Namespace", &c.metadata.namespace);
    w.labels(0, "Labels", &c.metadata.labels);
    w.annotations(0, "Annotations", &c.metadata.annotations);
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    for (k, v) in &c.data {
        w.line(0, &format!("{k}:"));
        w.line(0, "----");
        w.line(0, v);
        w.line(0, "");
    }
    w.line(0, "");
    w.line(0, "BinaryData");
    w.line(0, "====");
    for (k, v) in &c.binary_data {
        w.field(0, k, format!("{} bytes", v.len()));
    }
}

/// `describe pvc`.
fn describe_claim(w: &mut Writer, c: &bosun_shared::pvc::PersistentVolumeClaim) {
    w.field(0, "Name", &c.metadata.name);
    w.field(0, "Namespace", &c.metadata.namespace);
    w.field(
        0,
        "StorageClass",
        c.spec.storage_class_name.as_deref().unwrap_or(""),
    );
    w.field(0, "Status", c.phase());
    w.field(0, "Volume", c.spec.volume_name.as_deref().unwrap_or(""));
    w.field(0, "Node", c.node().unwrap_or("<none>"));
    w.labels(0, "Labels", &c.metadata.labels);
    w.annotations(0, "Annotations", &c.metadata.annotations);
    let size = c
        .spec
        .resources
        .requests
        .get("storage")
        .map(|q| q.0.as_str())
        .unwrap_or("");
    w.field(0, "Capacity", size);
    w.field(
        0,
        "Access Modes",
        super::table::access_modes(&c.spec.access_modes),
    );
    w.field(
        0,
        "VolumeMode",
        c.spec.volume_mode.as_deref().unwrap_or("Filesystem"),
    );
}

/// `describe namespace`.
fn describe_namespace(w: &mut Writer, n: &bosun_shared::namespace::Namespace) {
    w.field(0, "Name", &n.metadata.name);
    w.labels(0, "Labels", &n.metadata.labels);
    w.annotations(0, "Annotations", &n.metadata.annotations);
    w.field(0, "Status", namespace_phase(n));
}

/// A namespace's phase (`Active` when not reported).
pub fn namespace_phase(n: &bosun_shared::namespace::Namespace) -> &str {
    n.status
        .as_ref()
        .map(|s| s.phase.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("Active")
}

/// `describe secret`: never the values, only their sizes (as kubectl).
fn describe_secret(w: &mut Writer, s: &bosun_shared::secret::Secret) {
    w.field(0, "Name", &s.metadata.name);
    w.field(0, "Namespace", &s.metadata.namespace);
    w.labels(0, "Labels", &s.metadata.labels);
    w.annotations(0, "Annotations", &s.metadata.annotations);
    w.line(0, "");
    w.field(0, "Type", &s.type_);
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    for (k, v) in &s.data {
        w.field(0, k, format!("{} bytes", v.len()));
    }
}

/// `Pod Template:` and what it holds, as `rollout history --revision` prints it.
pub fn pod_template(t: &bosun_shared::deployment::PodTemplateSpec) -> String {
    let mut w = Writer::default();
    deployment::pod_template(&mut w, t);
    w.finish()
}

/// Collects describe lines; see the module documentation.
#[derive(Default)]
pub(super) struct Writer {
    text: String,
}

impl Writer {
    /// Writes `line` indented by `level` steps of two spaces. `\t` ends an aligned cell.
    pub fn line(&mut self, level: usize, line: &str) {
        for _ in 0..level {
            self.text.push_str("  ");
        }
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// `key:  value`, aligned with its neighbours. Tabs and newlines in `value` become spaces.
    pub fn field(&mut self, level: usize, key: &str, value: impl AsRef<str>) {
        self.line(level, &format!("{key}:\t{}", clean(value.as_ref())));
    }

    /// `Labels:  a=b` with one `k=v` per line, or `<none>` (kubectl's `printLabelsMultiline`).
    pub fn labels(&mut self, level: usize, title: &str, labels: &StringMap) {
        self.multiline(level, title, labels.iter().map(|(k, v)| format!("{k}={v}")));
    }

    /// `Annotations:  key: value` with one annotation per line, or `<none>`.
    pub fn annotations(&mut self, level: usize, title: &str, map: &StringMap) {
        self.multiline(level, title, map.iter().map(|(k, v)| format!("{k}: {v}")));
    }

    /// `Taints:  key=value:Effect` with one taint per line, or `<none>`.
    pub fn taints(&mut self, level: usize, taints: &[bosun_shared::taint::Taint]) {
        let text = |t: &bosun_shared::taint::Taint| match t.value.as_str() {
            "" => format!("{}:{}", t.key, t.effect),
            v => format!("{}={v}:{}", t.key, t.effect),
        };
        self.multiline(level, "Taints", taints.iter().map(text));
    }

    /// `title:  first`, then each further item on its own line under the first.
    fn multiline(&mut self, level: usize, title: &str, items: impl Iterator<Item = String>) {
        let mut items = items.peekable();
        if items.peek().is_none() {
            return self.field(level, title, "<none>");
        }
        for (i, item) in items.enumerate() {
            if i == 0 {
                self.field(level, title, item);
            } else {
                self.line(0, &format!("\t{}", clean(&item)));
            }
        }
    }

    /// `Conditions:` and a table of `Type Status`, with `columns` naming further fields.
    pub fn conditions(&mut self, conditions: &[Condition], columns: &[ConditionColumn]) {
        if conditions.is_empty() {
            return;
        }
        self.line(0, "Conditions:");
        let mut header = vec!["Type", "Status"];
        header.extend(columns.iter().map(|c| c.header()));
        self.line(1, &header.join("\t"));
        if !columns.is_empty() {
            let rule: Vec<String> = header.iter().map(|h| "-".repeat(h.len())).collect();
            self.line(1, &rule.join("\t"));
        }
        for c in conditions {
            // kubectl leaves a space after the type, which widens the column by one.
            let mut cells = vec![format!("{} ", clean(&c.type_)), clean(&c.status)];
            cells.extend(columns.iter().map(|col| col.value(c)));
            self.line(1, &cells.join("\t"));
        }
    }

    /// The aligned text.
    pub fn finish(self) -> String {
        DESCRIBE.align(&self.text)
    }
}

/// An optional column of a `Conditions:` table.
#[derive(Debug, Clone, Copy)]
pub(super) enum ConditionColumn {
    LastHeartbeatTime,
    LastTransitionTime,
    Reason,
    Message,
}

impl ConditionColumn {
    fn header(self) -> &'static str {
        match self {
            ConditionColumn::LastHeartbeatTime => "LastHeartbeatTime",
            ConditionColumn::LastTransitionTime => "LastTransitionTime",
            ConditionColumn::Reason => "Reason",
            ConditionColumn::Message => "Message",
        }
    }

    fn value(self, c: &Condition) -> String {
        let text = |s: &Option<bosun_shared::CompactString>| clean(s.as_deref().unwrap_or(""));
        match self {
            ConditionColumn::LastHeartbeatTime => {
                timestamp::rfc1123z_or_unknown(c.last_heartbeat_time())
            }
            ConditionColumn::LastTransitionTime => {
                timestamp::rfc1123z_or_unknown(c.last_transition_time.as_deref())
            }
            ConditionColumn::Reason => text(&c.reason),
            ConditionColumn::Message => text(&c.message),
        }
    }
}

/// A value fit for one cell: tabs and newlines would break the alignment.
pub(super) fn clean(s: &str) -> String {
    s.replace(['\t', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_one_per_line_aligned_with_the_other_fields() {
        let mut w = Writer::default();
        w.field(0, "Name", "web");
        let labels = [("app", "web"), ("tier", "front")]
            .map(|(k, v)| (k.into(), v.into()))
            .into_iter()
            .collect();
        w.labels(0, "Labels", &labels);
        w.annotations(0, "Annotations", &StringMap::new());
        w.field(0, "Status", "Running\twith\ttabs");
        assert_eq!(
            w.finish(),
            "Name:         web\n\
             Labels:       app=web\n              tier=front\n\
             Annotations:  <none>\n\
             Status:       Running with tabs\n"
        );
    }
}
