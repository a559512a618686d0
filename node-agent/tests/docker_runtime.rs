//! The Docker runtime against the real engine on this machine. No registry is reachable, so the
//! tests import their own image: a rootfs holding the static busybox binary and a web page.
use std::collections::BTreeMap;
use std::future::Future;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use bosun_agent::runtime::docker::DockerRuntime;
use bosun_agent::runtime::{
    ContainerSpec, LogOptions, ObservedContainer, PortBinding, RunState, Runtime, RuntimeError,
};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The test image, imported by [`ensure_image`].
const IMAGE: &str = "bosun-test/busybox:runtime-test";
/// The label every test container carries (and [`Cleanup`] removes by).
const TEST_LABEL: (&str, &str) = ("bosun-test", "docker-runtime");
/// The label naming the test that made a container, so parallel tests clean up only their own.
const CASE_LABEL: &str = "bosun-test-case";
/// How long any awaited condition may take.
const DEADLINE: Duration = Duration::from_secs(30);
/// The page busybox httpd serves.
const INDEX_HTML: &str = "hello from bosun\n";

/// Imports [`IMAGE`] once per test run; a no-op when the engine already has it.
fn ensure_image() {
    static IMPORTED: OnceLock<()> = OnceLock::new();
    IMPORTED.get_or_init(|| {
        let present = Command::new("docker")
            .args(["image", "inspect", IMAGE])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run docker image inspect");
        if !present.success() {
            import_image();
        }
    });
}

fn import_image() {
    let rootfs = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(rootfs.path().join("bin")).unwrap();
    std::fs::create_dir_all(rootfs.path().join("www")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.path().join("bin/busybox")).unwrap();
    std::fs::write(rootfs.path().join("www/index.html"), INDEX_HTML).unwrap();

    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(rootfs.path())
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tar");
    let tar_out = tar.stdout.take().unwrap();
    let import = Command::new("docker")
        .args(["import", "-", IMAGE])
        .stdin(Stdio::from(tar_out))
        .output()
        .expect("run docker import");
    assert!(tar.wait().unwrap().success(), "tar of the rootfs failed");
    assert!(
        import.status.success(),
        "docker import failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
}

/// Removes the containers of one test when dropped, even when the test fails.
struct Cleanup {
    case: String,
}

impl Cleanup {
    /// Also removes what an earlier, aborted run of the same test left behind.
    fn new(case: &str) -> Cleanup {
        let cleanup = Cleanup {
            case: case.to_string(),
        };
        cleanup.remove_all();
        cleanup
    }

    fn remove_all(&self) {
        let filter = format!("label={CASE_LABEL}={}", self.case);
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
            .expect("run docker ps");
        let ids = String::from_utf8_lossy(&out.stdout);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .stdout(Stdio::null())
                .status();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// A connected runtime, the test image, and the cleanup guard for test `case`.
async fn setup(case: &str) -> (DockerRuntime, Cleanup) {
    ensure_image();
    let cleanup = Cleanup::new(case);
    let runtime = DockerRuntime::connect().await.expect("connect to docker");
    (runtime, cleanup)
}

/// The labels of test `case`'s containers.
fn labels(case: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TEST_LABEL.0.to_string(), TEST_LABEL.1.to_string()),
        (CASE_LABEL.to_string(), case.to_string()),
    ])
}

/// A container of test `case` running busybox with `args`; its name is unique per process.
fn spec(case: &str, suffix: &str, args: &[&str]) -> ContainerSpec {
    ContainerSpec {
        name: format!("bosun-rt-{case}-{suffix}-{}", std::process::id()),
        image: IMAGE.to_string(),
        command: vec!["/bin/busybox".to_string()],
        args: args.iter().map(|a| a.to_string()).collect(),
        labels: labels(case),
        ..Default::default()
    }
}

/// Publishes container port 8080 on `host_port`.
fn with_port(mut spec: ContainerSpec, host_port: u16) -> ContainerSpec {
    spec.ports.push(PortBinding {
        container_port: 8080,
        host_port: Some(host_port),
        protocol: "tcp".to_string(),
        host_ip: None,
    });
    spec
}

const HTTPD: &[&str] = &["httpd", "-f", "-p", "8080", "-h", "/www"];

/// A host port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Polls `probe` until it yields a value, panicking with `what` after [`DEADLINE`].
async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `list` reports the container `id` in a state `accept` takes.
async fn wait_for_container(
    runtime: &DockerRuntime,
    case: &str,
    id: &str,
    what: &str,
    accept: impl Fn(&ObservedContainer) -> bool,
) -> ObservedContainer {
    wait_for(what, || async {
        let listed = runtime.list(&labels(case)).await.unwrap();
        listed.into_iter().find(|c| c.id == id && accept(c))
    })
    .await
}

/// One HTTP GET of `/` on the local `port`; the whole response, if any.
async fn http_get(port: u16) -> Option<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let request = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        Some(response)
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

fn docker_inspect(id: &str, format: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "--format", format, id])
        .output()
        .expect("run docker inspect");
    assert!(out.status.success(), "docker inspect {id} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn info_reports_the_engine() {
    let runtime = DockerRuntime::connect().await.unwrap();
    let info = runtime.info().await.unwrap();
    assert!(info.version.starts_with("docker://"), "{info:?}");
    assert!(
        info.cpu_millis >= 1000 && info.cpu_millis % 1000 == 0,
        "{info:?}"
    );
    assert!(info.memory_bytes > 0, "{info:?}");
    assert_eq!(info.os, "linux");
    assert!(!info.arch.is_empty());
}

#[tokio::test]
async fn http_container_runs_serves_and_stops() {
    let case = "http";
    let (runtime, _cleanup) = setup(case).await;
    assert!(runtime.image_present(IMAGE).await.unwrap());
    let port = free_port();
    let id = runtime
        .create(&with_port(spec(case, "web", HTTPD), port))
        .await
        .unwrap();
    runtime.start(&id).await.unwrap();

    let running = wait_for_container(&runtime, case, &id, "running", |c| {
        c.state == RunState::Running
    })
    .await;
    assert_eq!(*running.labels, labels(case));
    assert_eq!(running.image, IMAGE);
    assert!(running.name.starts_with("bosun-rt-http-web"));
    assert!(running.started_at.is_some());
    assert_eq!((running.exit_code, running.finished_at), (None, None));

    let response = wait_for("HTTP 200 from busybox httpd", || async {
        http_get(port).await.filter(|r| r.contains(" 200 "))
    })
    .await;
    assert!(response.contains(INDEX_HTML.trim()), "{response}");

    runtime.stop(&id, Duration::from_secs(2)).await.unwrap();
    runtime.stop(&id, Duration::from_secs(2)).await.unwrap();
    let stopped = wait_for_container(&runtime, case, &id, "exited", |c| {
        c.state == RunState::Exited
    })
    .await;
    assert!(stopped.exit_code.is_some() && stopped.finished_at.is_some());

    runtime.remove(&id).await.unwrap();
    runtime.remove(&id).await.unwrap();
    assert!(runtime.list(&labels(case)).await.unwrap().is_empty());
}

#[tokio::test]
async fn logs_contain_the_output() {
    let case = "logs";
    let (runtime, _cleanup) = setup(case).await;
    let args = ["sh", "-c", "echo hello; sleep 30"];
    let id = runtime.create(&spec(case, "echo", &args)).await.unwrap();
    runtime.start(&id).await.unwrap();

    // Followed: the first chunks arrive while the container still runs.
    let mut followed = runtime
        .logs(
            &id,
            &LogOptions {
                follow: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut seen = String::new();
    let read = tokio::time::timeout(DEADLINE, async {
        while !seen.contains("hello") {
            let chunk = followed.next().await.expect("log stream ended").unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    read.await.expect("hello in the followed logs");

    let all = runtime
        .logs(
            &id,
            &LogOptions {
                tail: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let chunks: Vec<_> = all.collect().await;
    let text: String = chunks
        .into_iter()
        .map(|c| String::from_utf8_lossy(&c.unwrap()).into_owned())
        .collect();
    assert!(text.contains("hello"), "{text:?}");
}

#[tokio::test]
async fn exit_code_is_observed() {
    let case = "exit";
    let (runtime, _cleanup) = setup(case).await;
    let id = runtime
        .create(&spec(case, "exit3", &["sh", "-c", "exit 3"]))
        .await
        .unwrap();
    runtime.start(&id).await.unwrap();
    let exited = wait_for_container(&runtime, case, &id, "exited", |c| {
        c.state == RunState::Exited
    })
    .await;
    assert_eq!(exited.exit_code, Some(3));
    let (started, finished) = (exited.started_at.unwrap(), exited.finished_at.unwrap());
    // Docker stamps StartedAt when its start call returns and FinishedAt with the process's
    // exit time, so an instant exit may finish "before" it started: allow either order.
    let apart = finished
        .duration_since(started)
        .unwrap_or_else(|e| e.duration());
    assert!(
        apart < DEADLINE,
        "started {started:?}, finished {finished:?}"
    );
    assert_eq!(exited.error, None);
    assert!(!exited.oom_killed);
}

#[tokio::test]
async fn missing_images_are_not_found() {
    let case = "missing-image";
    let (runtime, _cleanup) = setup(case).await;
    let missing = "bosun-test/does-not-exist:never";
    assert!(!runtime.image_present(missing).await.unwrap());
    match runtime.pull(missing, None).await {
        Err(RuntimeError::ImageNotFound { image, message }) => {
            assert_eq!(image, missing);
            assert!(!message.is_empty());
        }
        other => panic!("pulling a missing image: {other:?}"),
    }
    let mut spec = spec(case, "nope", &["true"]);
    spec.image = missing.to_string();
    assert!(matches!(
        runtime.create(&spec).await,
        Err(RuntimeError::ImageNotFound { image, .. }) if image == missing
    ));
}

#[tokio::test]
async fn missing_containers() {
    let case = "missing-container";
    let (runtime, _cleanup) = setup(case).await;
    let missing = "bosun-rt-no-such-container";
    assert!(matches!(
        runtime.stop(missing, Duration::from_secs(1)).await,
        Err(RuntimeError::ContainerNotFound(id)) if id == missing
    ));
    assert!(matches!(
        runtime.start(missing).await,
        Err(RuntimeError::ContainerNotFound(_))
    ));
    assert!(matches!(
        runtime.logs(missing, &LogOptions::default()).await,
        Err(RuntimeError::ContainerNotFound(_))
    ));
    runtime.remove(missing).await.unwrap();
}

#[tokio::test]
async fn duplicate_name_is_a_container_error() {
    let case = "duplicate";
    let (runtime, _cleanup) = setup(case).await;
    let spec = spec(case, "twin", HTTPD);
    runtime.create(&spec).await.unwrap();
    match runtime.create(&spec).await {
        Err(RuntimeError::Container { name, message }) => {
            assert_eq!(name, spec.name);
            assert!(message.contains("already in use"), "{message}");
        }
        other => panic!("creating a duplicate name: {other:?}"),
    }
}

#[tokio::test]
async fn second_container_on_a_host_port_fails_to_start() {
    let case = "port-conflict";
    let (runtime, _cleanup) = setup(case).await;
    let port = free_port();
    let first = runtime
        .create(&with_port(spec(case, "first", HTTPD), port))
        .await
        .unwrap();
    let second = runtime
        .create(&with_port(spec(case, "second", HTTPD), port))
        .await
        .unwrap();
    runtime.start(&first).await.unwrap();
    match runtime.start(&second).await {
        Err(RuntimeError::Container { name, message }) => {
            assert_eq!(name, second);
            assert!(message.contains(&port.to_string()), "{message}");
        }
        other => panic!("starting on a taken port: {other:?}"),
    }
    let observed = wait_for_container(&runtime, case, &second, "start error", |c| {
        c.error.is_some()
    })
    .await;
    assert_eq!(observed.state, RunState::Created);
    assert_eq!(observed.exit_code, None);
}

#[tokio::test]
async fn limits_are_applied() {
    let case = "limits";
    let (runtime, _cleanup) = setup(case).await;
    let mut spec = spec(case, "limited", HTTPD);
    spec.memory_limit_bytes = Some(64 << 20);
    spec.cpu_limit_millis = Some(500);
    spec.env = vec![("GREETING".to_string(), "hi".to_string())];
    spec.working_dir = Some("/www".to_string());
    let id = runtime.create(&spec).await.unwrap();

    assert_eq!(docker_inspect(&id, "{{.HostConfig.Memory}}"), "67108864");
    assert_eq!(docker_inspect(&id, "{{.HostConfig.NanoCpus}}"), "500000000");
    // The API leaves the policy empty when none is given; the CLI would write "no".
    let restart = docker_inspect(&id, "{{.HostConfig.RestartPolicy.Name}}");
    assert!(restart.is_empty() || restart == "no", "{restart}");
    assert_eq!(docker_inspect(&id, "{{.Config.WorkingDir}}"), "/www");
    let env = docker_inspect(&id, "{{json .Config.Env}}");
    assert!(env.contains("GREETING=hi"), "{env}");

    runtime.start(&id).await.unwrap();
    wait_for_container(&runtime, case, &id, "running with limits", |c| {
        c.state == RunState::Running
    })
    .await;
}

#[tokio::test]
async fn exec_runs_commands_in_a_running_container() {
    let case = "exec";
    let (runtime, _cleanup) = setup(case).await;
    let id = runtime
        .create(&spec(case, "sleeper", &["sleep", "600"]))
        .await
        .unwrap();
    let sh = |script: &str| -> Vec<String> {
        ["/bin/busybox", "sh", "-c", script]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let second = Duration::from_secs(5);
    match runtime.exec(&id, &sh("true"), second).await {
        Err(RuntimeError::Container { message, .. }) => {
            assert!(message.contains("is not running"), "{message}")
        }
        other => panic!("exec in a created container: {other:?}"),
    }
    runtime.start(&id).await.unwrap();
    let ok = runtime.exec(&id, &sh("exit 0"), second).await.unwrap();
    assert_eq!(ok.exit_code, 0);
    let failed = runtime
        .exec(&id, &sh("echo out; echo err >&2; exit 3"), second)
        .await
        .unwrap();
    assert_eq!(failed.exit_code, 3);
    assert!(
        failed.output.contains("out\n") && failed.output.contains("err\n"),
        "{:?}",
        failed.output
    );
    match runtime
        .exec(&id, &sh("sleep 5"), Duration::from_millis(300))
        .await
    {
        Err(RuntimeError::ExecTimeout { after, .. }) => {
            assert_eq!(after, Duration::from_millis(300))
        }
        other => panic!("a slow command: {other:?}"),
    }
    match runtime
        .exec("bosun-rt-no-such-container", &sh("true"), second)
        .await
    {
        Err(RuntimeError::ContainerNotFound(_)) => {}
        other => panic!("exec in a missing container: {other:?}"),
    }
}

#[tokio::test]
async fn http_probes_reach_a_container_at_its_ip() {
    use bosun_agent::probe::action::Outcome;
    use bosun_shared::probe::{HttpGetAction, ProbePort};
    let case = "probe-ip";
    let (runtime, _cleanup) = setup(case).await;
    let id = runtime.create(&spec(case, "httpd", HTTPD)).await.unwrap();
    runtime.start(&id).await.unwrap();
    let running = wait_for_container(&runtime, case, &id, "running with an IP", |c| {
        c.state == RunState::Running && c.ip.is_some()
    })
    .await;
    let ip = running.ip.unwrap();
    let get = |path: &str| HttpGetAction {
        path: path.to_string(),
        port: ProbePort::Number(8080),
        host: None,
        scheme: "HTTP".to_string(),
        http_headers: vec![],
    };
    let timeout = Duration::from_secs(2);
    wait_for("httpd to answer at the container's IP", || async {
        let outcome = bosun_agent::probe::http::get(&ip, 8080, &get("/index.html"), timeout).await;
        (outcome == Outcome::Success).then_some(())
    })
    .await;
    assert_eq!(
        bosun_agent::probe::http::get(&ip, 8080, &get("/missing"), timeout).await,
        Outcome::Failure("HTTP probe failed with statuscode: 404".to_string())
    );
    assert_eq!(
        bosun_agent::probe::tcp::connect(&ip, 8080, timeout).await,
        Outcome::Success
    );
}
