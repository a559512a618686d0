//! Tests of [`super`]: the `docker` module.
use super::*;

fn server_error(status_code: u16, message: &str) -> BollardError {
    BollardError::DockerResponseServerError {
        status_code,
        message: message.to_string(),
    }
}

#[test]
fn errors_map_by_subject_and_status() {
    let e = map_error(
        server_error(404, "No such container: x"),
        Subject::Container("x"),
    );
    assert!(matches!(e, RuntimeError::ContainerNotFound(id) if id == "x"));

    let create = Subject::Create {
        name: "web",
        image: "busybox",
    };
    let e = map_error(server_error(404, "No such image: busybox:latest"), create);
    assert!(
        matches!(e, RuntimeError::ImageNotFound { image, message } if image == "busybox" && message.contains("No such image"))
    );
    let e = map_error(server_error(409, "Conflict. The container name"), create);
    assert!(
        matches!(e, RuntimeError::Container { name, message } if name == "web" && message.starts_with("Conflict"))
    );

    let e = map_error(server_error(500, "no such host"), Subject::Pull("x"));
    assert!(matches!(e, RuntimeError::ImageNotFound { image, .. } if image == "x"));
    let stream = BollardError::DockerStreamError {
        error: "manifest unknown".to_string(),
    };
    let e = map_error(stream, Subject::Pull("x"));
    assert!(
        matches!(e, RuntimeError::ImageNotFound { message, .. } if message == "manifest unknown")
    );

    let e = map_error(server_error(500, "boom"), Subject::Image("x"));
    assert!(matches!(e, RuntimeError::Engine(m) if m == "image \"x\": boom"));
    let e = map_error(BollardError::RequestTimeoutError, Subject::Container("c"));
    assert!(matches!(e, RuntimeError::Engine(m) if m.starts_with("container \"c\"")));
}

#[test]
fn docker_times_parse_and_zero_is_never() {
    assert_eq!(docker_time(DOCKER_ZERO_TIME), None);
    assert_eq!(docker_time(""), None);
    let t = docker_time("2024-05-07T21:09:36.5Z").expect("valid timestamp");
    let since_epoch = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    assert_eq!(since_epoch, Duration::from_millis(1_715_116_176_500));
    assert!(docker_time("2024-05-07T21:09:36.013165373Z").is_some());
}

#[test]
fn create_body_sets_ports_limits_and_overrides() {
    let spec = ContainerSpec {
        name: "web".into(),
        image: "busybox".into(),
        command: vec![],
        args: vec!["httpd".into()],
        env: vec![("A".into(), "1".into())],
        ports: vec![
            PortBinding {
                container_port: 80,
                host_port: Some(8080),
                protocol: String::new(),
                host_ip: None,
            },
            PortBinding {
                container_port: 53,
                host_port: None,
                protocol: "UDP".into(),
                host_ip: None,
            },
        ],
        memory_limit_bytes: Some(64 << 20),
        cpu_limit_millis: Some(500),
        ..Default::default()
    };
    let body = create_body(&spec);
    assert_eq!(body.entrypoint, None);
    assert_eq!(body.cmd, Some(vec!["httpd".to_string()]));
    assert_eq!(body.env, Some(vec!["A=1".to_string()]));
    assert_eq!(
        body.exposed_ports,
        Some(vec!["80/tcp".to_string(), "53/udp".to_string()])
    );
    let host = body.host_config.unwrap();
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.restart_policy, None);
    let bindings = host.port_bindings.unwrap();
    assert_eq!(bindings.len(), 1);
    let web = bindings["80/tcp"].as_ref().unwrap();
    assert_eq!(web[0].host_port.as_deref(), Some("8080"));
    assert_eq!(web[0].host_ip.as_deref(), Some("0.0.0.0"));
}

#[test]
fn grace_rounds_up_to_whole_seconds() {
    assert_eq!(whole_seconds(Duration::ZERO), 0);
    assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
    assert_eq!(whole_seconds(Duration::from_secs(10)), 10);
    assert_eq!(whole_seconds(Duration::MAX), i32::MAX);
}
