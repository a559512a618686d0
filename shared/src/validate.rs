//! Object validation: every rule an object must pass before Bosun stores it, reported the way
//! Kubernetes reports them, as a field path and a message
//! (`spec.template.spec.containers[0].image: Required value`).
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use crate::meta::{ObjectMeta, StringMap};
use crate::names;
use crate::object::Object;
use crate::pod::{Container, PodSpec, ResourceRequirements};
use crate::quantity::{format_bytes, Quantity};
use crate::selector::LabelSelector;
use workloads::{validate_cron_job, validate_deployment_spec, validate_job, validate_replicated};

/// Smallest memory request or limit: Docker refuses memory limits below 6 MiB
/// ("Minimum memory limit allowed is 6MB", 6291456 bytes).
pub const MIN_MEMORY_BYTES: i64 = 6 * 1024 * 1024;

/// The resources a container may request or be limited to.
pub const SUPPORTED_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// One broken rule: where (`metadata.name`) and what (`Invalid value: "Web_1": ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON-ish path of the field, e.g. `spec.containers[0].resources.limits.memory`.
    pub path: String,
    /// Kubernetes-style message: `Required value`, `Invalid value: <value>: <rule>`, ...
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl FieldError {
    /// An error with a free-form message.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// `Required value`: the field is missing or empty.
    pub fn required(path: impl Into<String>) -> Self {
        Self::new(path, "Required value")
    }

    /// `Invalid value: <value>: <detail>`; strings are quoted, numbers are not.
    pub fn invalid(
        path: impl Into<String>,
        value: impl fmt::Debug,
        detail: impl fmt::Display,
    ) -> Self {
        Self::new(path, format!("Invalid value: {value:?}: {detail}"))
    }

    /// `Unsupported value: <value>: supported values: "A", "B"`.
    pub fn unsupported(
        path: impl Into<String>,
        value: impl fmt::Debug,
        supported: &[&str],
    ) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self::new(
            path,
            format!(
                "Unsupported value: {value:?}: supported values: {}",
                list.join(", ")
            ),
        )
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(path: impl Into<String>, value: impl fmt::Debug) -> Self {
        Self::new(path, format!("Duplicate value: {value:?}"))
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(path: impl Into<String>, detail: impl fmt::Display) -> Self {
        Self::new(path, format!("Forbidden: {detail}"))
    }
}

/// Checks an object against every rule Bosun enforces; an empty list means it is valid.
pub fn validate(obj: &Object) -> Vec<FieldError> {
    let mut errs = Vec::new();
    validate_meta(obj.meta(), obj.kind().namespaced(), &mut errs);
    match obj {
        Object::Pod(pod) => validate_pod_spec(&pod.spec, "spec", &mut errs),
        Object::Deployment(d) => validate_deployment_spec(&d.spec, &mut errs),
        Object::Job(j) => validate_job(&j.spec, "spec", &mut errs),
        Object::CronJob(c) => validate_cron_job(c, &mut errs),
        Object::DaemonSet(d) => {
            validate_replicated(None, &d.spec.selector, &d.spec.template, &mut errs)
        }
        Object::ReplicaSet(r) => validate_replicated(
            r.spec.replicas,
            &r.spec.selector,
            &r.spec.template,
            &mut errs,
        ),
        Object::Node(n) => crate::taint::validate_taints(&n.spec.taints, "spec.taints", &mut errs),
        Object::Secret(s) => crate::secret::validate_secret(s, &mut errs),
        Object::ConfigMap(c) => crate::configmap::validate_config_map(c, &mut errs),
        Object::PersistentVolumeClaim(c) => crate::pvc::validate_claim(c, &mut errs),
        Object::Namespace(n) => {
            if let Err(e) = crate::names::validate_dns1123_label(&n.metadata.name) {
                errs.push(FieldError::invalid("metadata.name", &n.metadata.name, &e));
            }
        }
        Object::Event(e) => {
            if e.involved_object.name.is_empty() {
                errs.push(FieldError::required("involvedObject.name"));
            }
            if e.reason.is_empty() {
                errs.push(FieldError::required("reason"));
            }
        }
    }
    errs
}

fn validate_meta(meta: &ObjectMeta, namespaced: bool, errs: &mut Vec<FieldError>) {
    if meta.name.is_empty() {
        errs.push(FieldError::required("metadata.name"));
    } else if let Err(rule) = names::validate_dns1123_subdomain(&meta.name) {
        errs.push(FieldError::invalid("metadata.name", &meta.name, rule));
    }
    if !namespaced && !meta.namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on a cluster-scoped object",
        ));
    } else if !meta.namespace.is_empty() {
        if let Err(rule) = names::validate_dns1123_label(&meta.namespace) {
            errs.push(FieldError::invalid(
                "metadata.namespace",
                &meta.namespace,
                rule,
            ));
        }
    }
    validate_labels(&meta.labels, "metadata.labels", errs);
    validate_annotations(&meta.annotations, "metadata.annotations", errs);
}

fn validate_labels(labels: &StringMap, path: &str, errs: &mut Vec<FieldError>) {
    for (key, value) in labels {
        if let Err(rule) = names::validate_label_key(key) {
            errs.push(FieldError::invalid(path, key, rule));
        }
        if let Err(rule) = names::validate_label_value(value) {
            errs.push(FieldError::invalid(path, value, rule));
        }
    }
}

fn validate_annotations(annotations: &StringMap, path: &str, errs: &mut Vec<FieldError>) {
    for key in annotations.keys() {
        if let Err(rule) = names::validate_label_key(key) {
            errs.push(FieldError::invalid(path, key, rule));
        }
    }
}

/// Validates a selector's labels and expressions; returns false when it had errors.
fn validate_selector(sel: &LabelSelector, path: &str, errs: &mut Vec<FieldError>) -> bool {
    let before = errs.len();
    validate_labels(&sel.match_labels, &format!("{path}.matchLabels"), errs);
    for (i, req) in sel.match_expressions.iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        if let Err(rule) = names::validate_label_key(&req.key) {
            errs.push(FieldError::invalid(format!("{p}.key"), &req.key, rule));
        }
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => errs.push(FieldError::new(
                format!("{p}.values"),
                "Required value: must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !req.values.is_empty() => {
                errs.push(FieldError::forbidden(
                    format!("{p}.values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ))
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::unsupported(
                format!("{p}.operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            )),
        }
    }
    errs.len() == before
}

/// `app=web,tier in (a,b),!legacy`: a selector as `-l` spells it.
fn selector_string(sel: &LabelSelector) -> String {
    let labels = sel.match_labels.iter().map(|(k, v)| format!("{k}={v}"));
    let exprs = sel
        .match_expressions
        .iter()
        .map(|r| match r.operator.as_str() {
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            op => format!(
                "{} {} ({})",
                r.key,
                op.to_ascii_lowercase(),
                r.values.join(",")
            ),
        });
    labels.chain(exprs).collect::<Vec<_>>().join(",")
}

fn labels_string(labels: &StringMap) -> String {
    if labels.is_empty() {
        return "none".to_string();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

fn validate_pod_spec(spec: &PodSpec, path: &str, errs: &mut Vec<FieldError>) {
    let containers = format!("{path}.containers");
    if spec.containers.is_empty() {
        errs.push(FieldError::required(&containers));
    }
    // Names are unique across init containers and containers; host ports across the pod.
    let mut names = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    let init = spec.init_containers.iter().map(|c| (c, "initContainers"));
    let apps = spec.containers.iter().map(|c| (c, "containers"));
    let mut index = BTreeMap::<&str, usize>::new();
    for (c, list) in init.chain(apps) {
        let i = index.entry(list).or_default();
        let p = format!("{path}.{list}[{i}]");
        *i += 1;
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            errs.push(FieldError::duplicate(format!("{p}.name"), &c.name));
        }
        validate_container(c, &p, &mut host_ports, errs);
        if list == "initContainers" {
            validate_init_container(c, &p, errs);
        }
        crate::volume::validate_mounts(&c.volume_mounts, &spec.volumes, &p, errs);
    }
    crate::volume::validate_volumes(&spec.volumes, path, errs);
    if let Some(node) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        if let Err(rule) = names::validate_dns1123_subdomain(node) {
            errs.push(FieldError::invalid(format!("{path}.nodeName"), node, rule));
        }
    }
    validate_labels(&spec.node_selector, &format!("{path}.nodeSelector"), errs);
    crate::taint::validate_tolerations(&spec.tolerations, &format!("{path}.tolerations"), errs);
    if let Some(grace) = spec.termination_grace_period_seconds.filter(|g| *g < 0) {
        errs.push(FieldError::invalid(
            format!("{path}.terminationGracePeriodSeconds"),
            grace,
            "must be greater than or equal to 0",
        ));
    }
}

/// What an init container may not have: it runs to completion, so nothing probes it and it
/// has no hooks (Kubernetes' rules).
fn validate_init_container(c: &Container, path: &str, errs: &mut Vec<FieldError>) {
    let fields = [
        ("lifecycle", c.lifecycle.is_some()),
        ("livenessProbe", c.liveness_probe.is_some()),
        ("readinessProbe", c.readiness_probe.is_some()),
        ("startupProbe", c.startup_probe.is_some()),
    ];
    for (field, set) in fields {
        if set {
            errs.push(FieldError::forbidden(
                format!("{path}.{field}"),
                "may not be set for init containers",
            ));
        }
    }
}

/// Checks one container; `host_ports` collects `port/PROTO` across the pod to find clashes.
fn validate_container(
    c: &Container,
    path: &str,
    host_ports: &mut BTreeSet<String>,
    errs: &mut Vec<FieldError>,
) {
    if c.name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name")));
    } else if let Err(rule) = names::validate_dns1123_label(&c.name) {
        errs.push(FieldError::invalid(format!("{path}.name"), &c.name, rule));
    }
    if c.image.trim().is_empty() {
        errs.push(FieldError::required(format!("{path}.image")));
    } else if c.image.trim() != c.image {
        errs.push(FieldError::invalid(
            format!("{path}.image"),
            &c.image,
            "must not have leading or trailing whitespace",
        ));
    }
    if let Some(dir) = c.working_dir.as_deref().filter(|d| !d.is_empty()) {
        if !dir.starts_with('/') {
            errs.push(FieldError::invalid(
                format!("{path}.workingDir"),
                dir,
                "must be an absolute path",
            ));
        }
    }
    if let Some(policy) = c.image_pull_policy.as_deref() {
        const POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
        if !POLICIES.contains(&policy) {
            errs.push(FieldError::unsupported(
                format!("{path}.imagePullPolicy"),
                policy,
                &POLICIES,
            ));
        }
    }
    for (i, env) in c.env.iter().enumerate() {
        let p = format!("{path}.env[{i}].name");
        if env.name.is_empty() {
            errs.push(FieldError::required(p));
        } else if let Err(rule) = names::validate_env_var_name(&env.name) {
            errs.push(FieldError::invalid(p, &env.name, rule));
        }
        if let Some(from) = &env.value_from {
            crate::env::validate_source(from, &format!("{path}.env[{i}].valueFrom"), errs);
        }
    }
    for (i, from) in c.env_from.iter().enumerate() {
        crate::env::validate_from(from, &format!("{path}.envFrom[{i}]"), errs);
    }
    if let Some(l) = &c.lifecycle {
        crate::lifecycle::validate(l, &format!("{path}.lifecycle"), errs);
    }
    validate_ports(c, path, host_ports, errs);
    validate_resources(&c.resources, &format!("{path}.resources"), errs);
    crate::probe::validate_probes(c, path, errs);
}

fn validate_ports(
    c: &Container,
    path: &str,
    host_ports: &mut BTreeSet<String>,
    errs: &mut Vec<FieldError>,
) {
    const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
    let mut port_names = BTreeSet::new();
    for (i, port) in c.ports.iter().enumerate() {
        let p = format!("{path}.ports[{i}]");
        if !(1..=65535).contains(&port.container_port) {
            errs.push(FieldError::invalid(
                format!("{p}.containerPort"),
                port.container_port,
                PORT_RANGE,
            ));
        }
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        if !matches!(protocol, "TCP" | "UDP") {
            errs.push(FieldError::unsupported(
                format!("{p}.protocol"),
                protocol,
                &["TCP", "UDP"],
            ));
        }
        // hostPort 0: Bosun publishes the port on any free host port.
        if let Some(host) = port.host_port.filter(|h| *h != 0) {
            if !(1..=65535).contains(&host) {
                errs.push(FieldError::invalid(
                    format!("{p}.hostPort"),
                    host,
                    PORT_RANGE,
                ));
            } else if !host_ports.insert(format!("{host}/{protocol}")) {
                errs.push(FieldError::duplicate(
                    format!("{p}.hostPort"),
                    format!("{host}/{protocol}"),
                ));
            }
        }
        if let Some(name) = port.name.as_deref() {
            if let Err(rule) = names::validate_port_name(name) {
                errs.push(FieldError::invalid(format!("{p}.name"), name, rule));
            } else if !port_names.insert(name) {
                errs.push(FieldError::duplicate(format!("{p}.name"), name));
            }
        }
        if let Some(ip) = port.host_ip.as_deref().filter(|ip| !ip.is_empty()) {
            if ip.parse::<IpAddr>().is_err() {
                errs.push(FieldError::invalid(
                    format!("{p}.hostIP"),
                    ip,
                    "must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
    }
}

fn validate_resources(r: &ResourceRequirements, path: &str, errs: &mut Vec<FieldError>) {
    let requests = parse_resources(&r.requests, &format!("{path}.requests"), errs);
    let limits = parse_resources(&r.limits, &format!("{path}.limits"), errs);
    for (name, &(request, request_millis)) in &requests {
        let Some(&(limit, limit_millis)) = limits.get(name) else {
            continue;
        };
        if request_millis > limit_millis {
            errs.push(FieldError::invalid(
                format!("{path}.requests.{name}"),
                request.0.as_str(),
                format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
}

/// Checks each resource's name and quantity; returns the valid ones in thousandths.
fn parse_resources<'a>(
    map: &'a BTreeMap<String, Quantity>,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> BTreeMap<&'a str, (&'a Quantity, i64)> {
    let mut parsed = BTreeMap::new();
    for (name, quantity) in map {
        let p = format!("{path}.{name}");
        if !SUPPORTED_RESOURCES.contains(&name.as_str()) {
            let detail = "unsupported resource; Bosun supports cpu and memory";
            errs.push(FieldError::new(
                p,
                format!("Unsupported value: {name:?}: {detail}"),
            ));
            continue;
        }
        let millis = match quantity.millis() {
            Ok(m) => m,
            Err(e) => {
                errs.push(FieldError::invalid(p, quantity.0.as_str(), e));
                continue;
            }
        };
        if name == "memory" && millis < MIN_MEMORY_BYTES * 1000 {
            errs.push(FieldError::invalid(
                p,
                quantity.0.as_str(),
                format!(
                    "must be at least {} (Docker's minimum memory limit is 6MB)",
                    format_bytes(MIN_MEMORY_BYTES)
                ),
            ));
            continue;
        }
        parsed.insert(name.as_str(), (quantity, millis));
    }
    parsed
}

mod workloads;

#[cfg(test)]
mod tests;
