//! Object validation: every rule an object must pass before Bosun stores it, reported the way
//! Kubernetes reports them, as a field path and a message
//! (`spec.template.spec.containers[0].image: Required value`).
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use crate::deployment::DeploymentSpec;
use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::pod::{Container, PodSpec, ResourceRequirements, RestartPolicy};
use crate::quantity::{format_bytes, Quantity};
use crate::selector::LabelSelector;

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
        Object::Node(n) => crate::taint::validate_taints(&n.spec.taints, "spec.taints", &mut errs),
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

fn validate_labels(labels: &BTreeMap<String, String>, path: &str, errs: &mut Vec<FieldError>) {
    for (key, value) in labels {
        if let Err(rule) = names::validate_label_key(key) {
            errs.push(FieldError::invalid(path, key, rule));
        }
        if let Err(rule) = names::validate_label_value(value) {
            errs.push(FieldError::invalid(path, value, rule));
        }
    }
}

fn validate_annotations(
    annotations: &BTreeMap<String, String>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    for key in annotations.keys() {
        if let Err(rule) = names::validate_label_key(key) {
            errs.push(FieldError::invalid(path, key, rule));
        }
    }
}

fn validate_deployment_spec(spec: &DeploymentSpec, errs: &mut Vec<FieldError>) {
    if let Some(replicas) = spec.replicas.filter(|r| *r < 0) {
        errs.push(FieldError::invalid(
            "spec.replicas",
            replicas,
            "must be greater than or equal to 0",
        ));
    }
    let template = &spec.template;
    validate_labels(
        &template.metadata.labels,
        "spec.template.metadata.labels",
        errs,
    );
    validate_annotations(
        &template.metadata.annotations,
        "spec.template.metadata.annotations",
        errs,
    );
    if spec.selector.is_empty() {
        errs.push(FieldError::required("spec.selector"));
    } else {
        let selector_ok = validate_selector(&spec.selector, "spec.selector", errs);
        if selector_ok && !spec.selector.matches(&template.metadata.labels) {
            errs.push(FieldError::invalid(
                "spec.selector",
                selector_string(&spec.selector),
                format!(
                    "selector does not match template labels ({})",
                    labels_string(&template.metadata.labels)
                ),
            ));
        }
    }
    let policy = template.spec.restart_policy.unwrap_or_default();
    if policy != RestartPolicy::Always {
        errs.push(FieldError::unsupported(
            "spec.template.spec.restartPolicy",
            format!("{policy:?}"),
            &["Always"],
        ));
    }
    validate_pod_spec(&template.spec, "spec.template.spec", errs);
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

fn labels_string(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "none".to_string();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

fn validate_pod_spec(spec: &PodSpec, path: &str, errs: &mut Vec<FieldError>) {
    let containers = format!("{path}.containers");
    match spec.containers.len() {
        0 => errs.push(FieldError::required(&containers)),
        1 => {}
        n => errs.push(FieldError::new(
            &containers,
            format!(
                "Too many: {n}: Bosun runs one container per pod until multi-container pods \
                 (shared network namespace) land; split into separate pods"
            ),
        )),
    }
    let mut names = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let p = format!("{containers}[{i}]");
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            errs.push(FieldError::duplicate(format!("{p}.name"), &c.name));
        }
        validate_container(c, &p, &mut host_ports, errs);
    }
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
    }
    validate_ports(c, path, host_ports, errs);
    validate_resources(&c.resources, &format!("{path}.resources"), errs);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::Deployment;
    use crate::node::Node;
    use crate::pod::{ContainerPort, EnvVar, Pod};

    fn pod() -> Pod {
        let mut p = Pod::default();
        p.metadata.name = "web".into();
        p.metadata.namespace = "default".into();
        p.spec.containers.push(Container {
            name: "web".into(),
            image: "nginx:1.27".into(),
            ..Container::default()
        });
        p
    }

    fn deployment() -> Deployment {
        let mut d = Deployment::default();
        d.metadata.name = "web".into();
        d.metadata.namespace = "default".into();
        d.spec.replicas = Some(3);
        d.spec
            .selector
            .match_labels
            .insert("app".into(), "web".into());
        d.spec
            .template
            .metadata
            .labels
            .insert("app".into(), "web".into());
        d.spec.template.spec = pod().spec;
        d
    }

    fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Quantity::from(*v)))
            .collect()
    }

    /// Each case mutates a valid object and expects exactly one error, at `path`,
    /// whose message contains `fragment`.
    fn expect_one(case: &str, obj: Object, path: &str, fragment: &str) {
        let errs = validate(&obj);
        assert_eq!(errs.len(), 1, "{case}: {errs:?}");
        assert_eq!(errs[0].path, path, "{case}: {}", errs[0]);
        assert!(errs[0].message.contains(fragment), "{case}: {}", errs[0]);
    }

    #[test]
    fn valid_objects_pass() {
        assert_eq!(validate(&pod().into()), vec![]);
        assert_eq!(validate(&deployment().into()), vec![]);
        let mut node = Node::default();
        node.metadata.name = "node-1.lab".into();
        assert_eq!(validate(&node.into()), vec![]);
        let mut full = pod();
        let c = &mut full.spec.containers[0];
        c.env.push(EnvVar {
            name: "MODE".into(),
            value: "prod".into(),
        });
        c.ports.push(ContainerPort {
            container_port: 80,
            host_port: Some(8080),
            protocol: Some("UDP".into()),
            name: Some("http".into()),
            host_ip: Some("0.0.0.0".into()),
        });
        c.resources.requests = quantities(&[("cpu", "250m"), ("memory", "64Mi")]);
        c.resources.limits = quantities(&[("cpu", "1"), ("memory", "128Mi")]);
        full.metadata
            .labels
            .insert("app.kubernetes.io/name".into(), "web".into());
        assert_eq!(validate(&full.into()), vec![]);
    }

    #[test]
    fn pod_rules() {
        type Mutate = fn(&mut Pod);
        let cases: &[(&str, Mutate, &str, &str)] = &[
            (
                "no name",
                |p| p.metadata.name.clear(),
                "metadata.name",
                "Required value",
            ),
            (
                "bad name",
                |p| p.metadata.name = "Web_1".into(),
                "metadata.name",
                "Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain",
            ),
            (
                "bad namespace",
                |p| p.metadata.namespace = "my.ns".into(),
                "metadata.namespace",
                "RFC 1123 label",
            ),
            (
                "bad label key",
                |p| {
                    p.metadata.labels.insert("a b".into(), "x".into());
                },
                "metadata.labels",
                "Invalid value: \"a b\": name part",
            ),
            (
                "bad label value",
                |p| {
                    p.metadata.labels.insert("app".into(), "a b".into());
                },
                "metadata.labels",
                "a valid label",
            ),
            (
                "no containers",
                |p| p.spec.containers.clear(),
                "spec.containers",
                "Required value",
            ),
            (
                "container name",
                |p| p.spec.containers[0].name = "Web".into(),
                "spec.containers[0].name",
                "RFC 1123 label",
            ),
            (
                "no container name",
                |p| p.spec.containers[0].name.clear(),
                "spec.containers[0].name",
                "Required value",
            ),
            (
                "no image",
                |p| p.spec.containers[0].image.clear(),
                "spec.containers[0].image",
                "Required value",
            ),
            (
                "port 0",
                |p| p.spec.containers[0].ports.push(ContainerPort::default()),
                "spec.containers[0].ports[0].containerPort",
                "Invalid value: 0: must be between 1 and 65535",
            ),
            (
                "host port",
                |p| {
                    p.spec.containers[0].ports.push(ContainerPort {
                        container_port: 80,
                        host_port: Some(70000),
                        ..ContainerPort::default()
                    })
                },
                "spec.containers[0].ports[0].hostPort",
                "Invalid value: 70000",
            ),
            (
                "protocol",
                |p| {
                    p.spec.containers[0].ports.push(ContainerPort {
                        container_port: 80,
                        protocol: Some("SCTP".into()),
                        ..ContainerPort::default()
                    })
                },
                "spec.containers[0].ports[0].protocol",
                "Unsupported value: \"SCTP\": supported values: \"TCP\", \"UDP\"",
            ),
            (
                "env name",
                |p| p.spec.containers[0].env.push(EnvVar::default()),
                "spec.containers[0].env[0].name",
                "Required value",
            ),
            (
                "gpu",
                |p| p.spec.containers[0].resources.limits = quantities(&[("nvidia.com/gpu", "1")]),
                "spec.containers[0].resources.limits.nvidia.com/gpu",
                "unsupported resource; Bosun supports cpu and memory",
            ),
            (
                "bad quantity",
                |p| p.spec.containers[0].resources.limits = quantities(&[("memory", "12XB")]),
                "spec.containers[0].resources.limits.memory",
                "Invalid value: \"12XB\": quantity \"12XB\" is not a number",
            ),
            (
                "tiny memory",
                |p| p.spec.containers[0].resources.limits = quantities(&[("memory", "4Mi")]),
                "spec.containers[0].resources.limits.memory",
                "must be at least 6Mi (Docker",
            ),
            (
                "request over limit",
                |p| {
                    let r = &mut p.spec.containers[0].resources;
                    r.requests = quantities(&[("cpu", "2")]);
                    r.limits = quantities(&[("cpu", "500m")]);
                },
                "spec.containers[0].resources.requests.cpu",
                "Invalid value: \"2\": must be less than or equal to cpu limit of 500m",
            ),
            (
                "grace",
                |p| p.spec.termination_grace_period_seconds = Some(-1),
                "spec.terminationGracePeriodSeconds",
                "greater than or equal to 0",
            ),
        ];
        for (case, mutate, path, fragment) in cases {
            let mut p = pod();
            mutate(&mut p);
            expect_one(case, p.into(), path, fragment);
        }
    }

    #[test]
    fn one_container_per_pod_and_unique_names() {
        let mut p = pod();
        p.spec.containers.push(p.spec.containers[0].clone());
        let errs = validate(&p.into());
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("spec.containers: Too many: 2: Bosun runs one container per pod")
        );
        assert_eq!(text[1], "spec.containers[1].name: Duplicate value: \"web\"");
    }

    #[test]
    fn deployment_rules() {
        type Mutate = fn(&mut Deployment);
        let cases: &[(&str, Mutate, &str, &str)] = &[
            (
                "replicas",
                |d| d.spec.replicas = Some(-1),
                "spec.replicas",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                "no selector",
                |d| d.spec.selector = LabelSelector::default(),
                "spec.selector",
                "Required value",
            ),
            (
                "mismatch",
                |d| {
                    d.spec
                        .template
                        .metadata
                        .labels
                        .insert("app".into(), "db".into());
                },
                "spec.selector",
                "Invalid value: \"app=web\": selector does not match template labels (app=db)",
            ),
            (
                "restart policy",
                |d| d.spec.template.spec.restart_policy = Some(RestartPolicy::Never),
                "spec.template.spec.restartPolicy",
                "Unsupported value: \"Never\": supported values: \"Always\"",
            ),
            (
                "template image",
                |d| d.spec.template.spec.containers[0].image.clear(),
                "spec.template.spec.containers[0].image",
                "Required value",
            ),
            (
                "template memory",
                |d| {
                    d.spec.template.spec.containers[0].resources.limits =
                        quantities(&[("memory", "lots")])
                },
                "spec.template.spec.containers[0].resources.limits.memory",
                "Invalid value: \"lots\"",
            ),
        ];
        for (case, mutate, path, fragment) in cases {
            let mut d = deployment();
            mutate(&mut d);
            expect_one(case, d.into(), path, fragment);
        }
    }

    #[test]
    fn nodes_are_cluster_scoped() {
        let mut node = Node::default();
        node.metadata.name = "n1".into();
        node.metadata.namespace = "default".into();
        expect_one("namespace", node.into(), "metadata.namespace", "Forbidden");
    }

    #[test]
    fn field_errors_display_like_kubectl() {
        let e = FieldError::invalid("metadata.name", "Web_1", "rule");
        assert_eq!(
            e.to_string(),
            "metadata.name: Invalid value: \"Web_1\": rule"
        );
        assert_eq!(
            FieldError::invalid("spec.replicas", -1, "x").to_string(),
            "spec.replicas: Invalid value: -1: x"
        );
    }
}
