//! Tests of [`super`]: the `probe` module.
use super::*;
use crate::pod::Pod;
use crate::validate::validate;

fn http(port: ProbePort) -> HttpGetAction {
    HttpGetAction {
        path: "/healthz".into(),
        port,
        host: None,
        scheme: SCHEME_HTTP.into(),
        http_headers: vec![],
    }
}

fn exec_probe() -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: vec!["true".into()],
        }),
        ..Probe::default()
    }
}

/// A valid pod whose only container has a named port `http` and the probes `edit` sets.
fn pod_with(edit: impl FnOnce(&mut Container)) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = "web".into();
    p.metadata.namespace = "default".into();
    let mut c = Container {
        name: "web".into(),
        image: "nginx".into(),
        ports: vec![ContainerPort {
            container_port: 8080,
            name: Some("http".into()),
            ..Default::default()
        }],
        ..Container::default()
    };
    edit(&mut c);
    p.spec.containers.push(c);
    p
}

fn errors(pod: Pod) -> Vec<String> {
    validate(&pod.into())
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn valid_probes_pass() {
    let pod = pod_with(|c| {
        c.liveness_probe = Some(Box::new(exec_probe()));
        c.readiness_probe = Some(Box::new(Probe {
            http_get: Some(http(ProbePort::Name("http".into()))),
            success_threshold: 2,
            ..Probe::default()
        }));
        c.startup_probe = Some(Box::new(Probe {
            tcp_socket: Some(TcpSocketAction {
                port: ProbePort::Number(8080),
                host: Some("127.0.0.1".into()),
            }),
            termination_grace_period_seconds: Some(5),
            ..Probe::default()
        }));
    });
    assert_eq!(errors(pod), Vec::<String>::new());
}

#[test]
fn probe_rules_name_the_field() {
    type Edit = Box<dyn FnOnce(&mut Container)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "no handler",
            Box::new(|c| c.liveness_probe = Some(Box::new(Probe::default()))),
            "spec.containers[0].livenessProbe: Required value: must specify a handler type",
        ),
        (
            "two handlers",
            Box::new(|c| {
                let mut p = exec_probe();
                p.tcp_socket = Some(TcpSocketAction {
                    port: ProbePort::Number(80),
                    host: None,
                });
                c.readiness_probe = Some(Box::new(p));
            }),
            "spec.containers[0].readinessProbe: Forbidden: may not specify more than 1 handler",
        ),
        (
            "empty command",
            Box::new(|c| {
                c.startup_probe = Some(Box::new(Probe {
                    exec: Some(ExecAction::default()),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].startupProbe.exec.command: Required value",
        ),
        (
            "period 0",
            Box::new(|c| {
                c.readiness_probe = Some(Box::new(Probe {
                    period_seconds: 0,
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].readinessProbe.periodSeconds: Invalid value: 0: must be greater \
             than or equal to 1",
        ),
        (
            "timeout 0",
            Box::new(|c| {
                c.liveness_probe = Some(Box::new(Probe {
                    timeout_seconds: 0,
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].livenessProbe.timeoutSeconds: Invalid value: 0",
        ),
        (
            "failure threshold 0",
            Box::new(|c| {
                c.liveness_probe = Some(Box::new(Probe {
                    failure_threshold: 0,
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].livenessProbe.failureThreshold: Invalid value: 0",
        ),
        (
            "negative initial delay",
            Box::new(|c| {
                c.liveness_probe = Some(Box::new(Probe {
                    initial_delay_seconds: -1,
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].livenessProbe.initialDelaySeconds: Invalid value: -1: must be \
             greater than or equal to 0",
        ),
        (
            "liveness success threshold 2",
            Box::new(|c| {
                c.liveness_probe = Some(Box::new(Probe {
                    success_threshold: 2,
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        ),
        (
            "startup success threshold 3",
            Box::new(|c| {
                c.startup_probe = Some(Box::new(Probe {
                    success_threshold: 3,
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1",
        ),
        (
            "unknown port name",
            Box::new(|c| {
                c.readiness_probe = Some(Box::new(Probe {
                    http_get: Some(http(ProbePort::Name("metrics".into()))),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"metrics\": must be \
             the name of one of the container's ports",
        ),
        (
            "port out of range",
            Box::new(|c| {
                c.liveness_probe = Some(Box::new(Probe {
                    tcp_socket: Some(TcpSocketAction {
                        port: ProbePort::Number(70000),
                        host: None,
                    }),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 70000",
        ),
        (
            "HTTPS",
            Box::new(|c| {
                let mut get = http(ProbePort::Number(443));
                get.scheme = "HTTPS".into();
                c.liveness_probe = Some(Box::new(Probe {
                    http_get: Some(get),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: \"HTTPS\"",
        ),
        (
            "path with a space",
            Box::new(|c| {
                let mut get = http(ProbePort::Number(80));
                get.path = "/a b".into();
                c.liveness_probe = Some(Box::new(Probe {
                    http_get: Some(get),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].livenessProbe.httpGet.path: Invalid value: \"/a b\"",
        ),
        (
            "header name",
            Box::new(|c| {
                let mut get = http(ProbePort::Number(80));
                get.http_headers.push(HttpHeader {
                    name: "X Bad".into(),
                    value: "1".into(),
                });
                c.liveness_probe = Some(Box::new(Probe {
                    http_get: Some(get),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].livenessProbe.httpGet.httpHeaders[0].name: Invalid value",
        ),
        (
            "header value with a newline",
            Box::new(|c| {
                let mut get = http(ProbePort::Number(80));
                get.http_headers.push(HttpHeader {
                    name: "X-Ok".into(),
                    value: "1\r\nEvil: yes".into(),
                });
                c.liveness_probe = Some(Box::new(Probe {
                    http_get: Some(get),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].livenessProbe.httpGet.httpHeaders[0].value: Invalid value",
        ),
        (
            "bad host",
            Box::new(|c| {
                c.readiness_probe = Some(Box::new(Probe {
                    tcp_socket: Some(TcpSocketAction {
                        port: ProbePort::Number(80),
                        host: Some("not a host".into()),
                    }),
                    ..Probe::default()
                }))
            }),
            "spec.containers[0].readinessProbe.tcpSocket.host: Invalid value: \"not a host\"",
        ),
        (
            "grace on readiness",
            Box::new(|c| {
                c.readiness_probe = Some(Box::new(Probe {
                    termination_grace_period_seconds: Some(3),
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Forbidden",
        ),
        (
            "grace 0 on liveness",
            Box::new(|c| {
                c.liveness_probe = Some(Box::new(Probe {
                    termination_grace_period_seconds: Some(0),
                    ..exec_probe()
                }))
            }),
            "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0",
        ),
    ];
    for (case, edit, expected) in cases {
        let errs = errors(pod_with(edit));
        assert_eq!(errs.len(), 1, "{case}: {errs:?}");
        assert!(errs[0].starts_with(expected), "{case}: {}", errs[0]);
    }
}

#[test]
fn deployment_template_probes_are_validated_with_their_path() {
    let mut d = crate::deployment::Deployment::default();
    d.metadata.name = "web".into();
    d.metadata.namespace = "default".into();
    d.spec
        .selector
        .match_labels
        .insert("app".into(), "web".into());
    d.spec
        .template
        .metadata
        .labels
        .insert("app".into(), "web".into());
    d.spec.template.spec = pod_with(|c| {
        c.readiness_probe = Some(Box::new(Probe {
            period_seconds: -5,
            ..exec_probe()
        }))
    })
    .spec;
    let errs: Vec<String> = validate(&d.into())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("spec.template.spec.containers[0].readinessProbe.periodSeconds: "),
        "{}",
        errs[0]
    );
}

#[test]
fn ports_read_as_numbers_or_names_and_resolve() {
    let get: HttpGetAction = serde_json::from_str(r#"{"port": 8080}"#).unwrap();
    assert_eq!(get.port, ProbePort::Number(8080));
    assert_eq!((get.path.as_str(), get.scheme.as_str()), ("/", "HTTP"));
    let tcp: TcpSocketAction = serde_json::from_str(r#"{"port": "http"}"#).unwrap();
    assert_eq!(tcp.port, ProbePort::Name("http".into()));
    assert_eq!(
        serde_json::to_string(&tcp).unwrap(),
        r#"{"port":"http"}"#,
        "a name stays a string"
    );
    let err = serde_json::from_str::<TcpSocketAction>(r#"{"port": true}"#).unwrap_err();
    assert!(
        err.to_string().contains("a port number or the name"),
        "{err}"
    );

    let ports = pod_with(|_| {}).spec.containers[0].ports.clone();
    assert_eq!(tcp.port.resolve(&ports), Ok(8080));
    assert_eq!(ProbePort::Number(81).resolve(&ports), Ok(81));
    assert!(ProbePort::Name("admin".into())
        .resolve(&ports)
        .unwrap_err()
        .contains("no port named \"admin\""));
}

#[test]
fn defaults_are_written_out_except_a_zero_delay() {
    let json = serde_json::to_value(exec_probe()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "exec": {"command": ["true"]},
            "periodSeconds": 10,
            "timeoutSeconds": 1,
            "successThreshold": 1,
            "failureThreshold": 3,
        })
    );
    let back: Probe =
        serde_json::from_value(serde_json::json!({"exec": {"command": ["true"]}})).unwrap();
    assert_eq!(back, exec_probe());
}
