//! End to end with `bosun up`, the real Docker engine and a registry stand-in on a local port
//! (no registry is reachable here): `imagePullPolicy` `Never` refuses a missing image,
//! `IfNotPresent` never asks a registry for an image the node has, `Always` asks every time,
//! and `imagePullSecrets` credentials reach the registry.
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_tests::docker::docker;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

/// Requests the registry saw: (path, Authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A registry that asks for Basic credentials, answers the API check once given some, and has
/// no image: enough for the engine to show what it sends.
fn registry() -> anyhow::Result<(u16, Seen)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut auth = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("authorization") {
                        auth = Some(v.trim().to_string());
                    }
                }
            }
            let response = match (&auth, path.as_str()) {
                (None, _) => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"bosun-test\"\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: 0\r\n\r\n".to_string(),
                (Some(_), "/v2/") => "HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: 2\r\n\r\n{}".to_string(),
                (Some(_), _) => {
                    let body = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
                    format!("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                }
            };
            log.lock().expect("registry log").push((path, auth));
            let _ = (&stream).write_all(response.as_bytes());
        }
    });
    Ok((port, seen))
}

fn pod(name: &str, image: &str, policy: &str, secret: bool) -> String {
    let secrets = if secret {
        "  imagePullSecrets: [{name: regcred}]\n"
    } else {
        ""
    };
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{secrets}  containers:\n  - name: c\n    image: {image}\n    imagePullPolicy: {policy}\n    command: [\"/bin/busybox\", \"sleep\", \"3600\"]\n"
    )
}

fn waiting_reason(c: &TestCluster, pod: &str, reason: &str) -> anyhow::Result<String> {
    c.wait_for_output(
        &["get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}"],
        reason,
        DEADLINE,
        |o| o.starts_with(reason),
    )
}

#[test]
fn pull_policies_and_registry_credentials() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let (port, seen) = registry()?;
    // The test image, also known under the stand-in registry's name.
    let local = format!("127.0.0.1:{port}/bosun-test/busybox:latest");
    docker(&["tag", &image, &local])?;
    let cleanup = scopeguard(&local);

    // Never: a missing image is not pulled.
    let never = c.write_file(
        "never.yaml",
        &pod("never", "bosun.invalid/none:1", "Never", false),
    )?;
    c.bosun_ok(&["apply", "-f", &never]);
    let status = waiting_reason(&c, "never", "ErrImageNeverPull")?;
    assert!(
        status.contains("is not present with pull policy of Never"),
        "{status}"
    );

    // IfNotPresent: the node has the image, no registry is asked.
    let present = c.write_file(
        "present.yaml",
        &pod("present", &local, "IfNotPresent", false),
    )?;
    c.bosun_ok(&["apply", "-f", &present]);
    c.wait_for_output(
        &["get", "pod", "present", "-o", "jsonpath={.status.phase}"],
        "Running",
        DEADLINE,
        |o| o == "Running",
    )?;
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );

    // Always: the registry is asked even though the node has the image.
    let always = c.write_file("always.yaml", &pod("always", &local, "Always", false))?;
    c.bosun_ok(&["apply", "-f", &always]);
    waiting_reason(&c, "always", "ErrImagePull")?;
    assert!(
        !seen.lock().unwrap().is_empty(),
        "Always asked the registry"
    );

    // imagePullSecrets: the secret's credentials reach the registry.
    let config = format!(
        r#"{{"auths": {{"127.0.0.1:{port}": {{"username": "alice", "password": "s3cret"}}}}}}"#
    );
    c.bosun_ok(&[
        "create",
        "secret",
        "generic",
        "regcred",
        "--type",
        "kubernetes.io/dockerconfigjson",
        "--from-literal",
        &format!(".dockerconfigjson={config}"),
    ]);
    let private = format!("127.0.0.1:{port}/private/app:1");
    let with_secret = c.write_file(
        "private.yaml",
        &pod("private", &private, "IfNotPresent", true),
    )?;
    c.bosun_ok(&["apply", "-f", &with_secret]);
    // base64("alice:s3cret")
    let expected = "Basic YWxpY2U6czNjcmV0";
    wait_for_blocking("the credentials at the registry", DEADLINE, || {
        let seen = seen.lock().unwrap();
        Ok(seen
            .iter()
            .any(|(_, a)| a.as_deref() == Some(expected))
            .then_some(()))
    })?;
    waiting_reason(&c, "private", "ErrImagePull")?;

    // A registry secret that is not a Docker config is refused, naming the field.
    let out = c.bosun(&[
        "create",
        "secret",
        "generic",
        "broken",
        "--type",
        "kubernetes.io/dockerconfigjson",
        "--from-literal",
        ".dockerconfigjson=nope",
    ]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("data[.dockerconfigjson]"), "{out}");
    drop(cleanup);
    Ok(())
}

/// Removes the extra image tag when dropped.
struct Untag(String);

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker(&["rmi", &self.0]);
    }
}

fn scopeguard(tag: &str) -> Untag {
    Untag(tag.to_string())
}
