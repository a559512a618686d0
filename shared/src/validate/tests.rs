//! Tests of [`super`]: the `validate` module.
use super::*;
use crate::deployment::Deployment;
use crate::node::Node;
use crate::pod::{ContainerPort, EnvVar, Pod, RestartPolicy};
use crate::strategy::IntOrPercent::{Int, Percent};
use crate::strategy::{IntOrPercent, RollingUpdate, StrategyType};

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
        value_from: None,
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
fn container_names_are_unique_across_init_containers() {
    let mut p = pod();
    let web = p.spec.containers[0].clone();
    p.spec.containers.push(crate::pod::Container {
        name: "sidecar".into(),
        ..web.clone()
    });
    assert!(validate(&p.clone().into()).is_empty(), "two containers");
    p.spec.init_containers.push(web.clone());
    p.spec.init_containers.push(crate::pod::Container {
        name: "sidecar".into(),
        ..web
    });
    let text: Vec<String> = validate(&p.into())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        [
            "spec.containers[0].name: Duplicate value: \"web\"",
            "spec.containers[1].name: Duplicate value: \"sidecar\"",
        ],
    );
}

#[test]
fn init_containers_have_no_probes_nor_hooks() {
    let mut p = pod();
    let mut init = crate::pod::Container {
        name: "init".into(),
        ..p.spec.containers[0].clone()
    };
    init.liveness_probe = Some(Box::new(crate::probe::Probe {
        exec: Some(crate::probe::ExecAction {
            command: vec!["true".into()],
        }),
        ..Default::default()
    }));
    init.lifecycle = Some(Default::default());
    p.spec.init_containers.push(init);
    let text: Vec<String> = validate(&p.into())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        [
            "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers",
            "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers",
        ],
    );
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
        (
            "unavailable above 100%",
            |d| {
                d.spec.strategy.rolling_update = Some(bounds(Some(Percent(10)), Some(Percent(101))))
            },
            "spec.strategy.rollingUpdate.maxUnavailable",
            "Invalid value: \"101%\": must not be greater than 100%",
        ),
        (
            "negative surge",
            |d| d.spec.strategy.rolling_update = Some(bounds(Some(Int(-1)), None)),
            "spec.strategy.rollingUpdate.maxSurge",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "both zero",
            |d| d.spec.strategy.rolling_update = Some(bounds(Some(Int(0)), Some(Percent(0)))),
            "spec.strategy.rollingUpdate.maxUnavailable",
            "may not be 0 when `maxSurge` is 0",
        ),
        (
            "recreate with rolling bounds",
            |d| {
                d.spec.strategy.type_ = Some(StrategyType::Recreate);
                d.spec.strategy.rolling_update = Some(bounds(Some(Int(1)), None));
            },
            "spec.strategy.rollingUpdate",
            "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        ),
        (
            "progress deadline",
            |d| d.spec.progress_deadline_seconds = Some(0),
            "spec.progressDeadlineSeconds",
            "Invalid value: 0: must be greater than 0",
        ),
    ];
    for (case, mutate, path, fragment) in cases {
        let mut d = deployment();
        mutate(&mut d);
        expect_one(case, d.into(), path, fragment);
    }
    // A surge above 100% is valid, as in Kubernetes.
    let mut d = deployment();
    d.spec.strategy.rolling_update = Some(bounds(Some(Percent(200)), None));
    assert!(validate(&d.into()).is_empty());
}

fn bounds(max_surge: Option<IntOrPercent>, max_unavailable: Option<IntOrPercent>) -> RollingUpdate {
    RollingUpdate {
        max_surge,
        max_unavailable,
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
