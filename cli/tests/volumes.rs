//! End to end with `bosun up` and the real Docker engine: ConfigMaps and Secrets created with
//! `bosun create`, reaching a container as environment (`valueFrom`, `envFrom`) and as files
//! (configMap and secret volumes, read-only, updated in the running pod when the ConfigMap
//! changes); `emptyDir` on disk and in memory, `hostPath` with its type check, `subPath`;
//! a missing ConfigMap holding a pod in CreateContainerConfigError until it exists; the
//! Secret's value nowhere in plain text (nor base64) under the master's or the agent's data
//! directory; a deleted pod's volumes removed.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{busybox_image, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);
const SECRET: &str = "s3cr3t-Value-42";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn pod(image: &str, host_dir: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: {image}
    command: ["/bin/busybox", "sleep", "3600"]
    env:
    - name: MODE
      valueFrom: {{configMapKeyRef: {{name: settings, key: MODE}}}}
    - name: PASSWORD
      valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
    - name: POD_NAME
      valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
    envFrom:
    - configMapRef: {{name: settings}}
      prefix: CFG_
    volumeMounts:
    - {{name: conf, mountPath: /etc/app}}
    - {{name: creds, mountPath: /run/creds}}
    - {{name: scratch, mountPath: /scratch}}
    - {{name: scratch, mountPath: /logs, subPath: logs}}
    - {{name: mem, mountPath: /mem}}
    - {{name: host, mountPath: /host}}
  volumes:
  - name: conf
    configMap: {{name: settings}}
  - name: creds
    secret: {{secretName: db, defaultMode: 0400}}
  - name: scratch
    emptyDir: {{}}
  - name: mem
    emptyDir: {{medium: Memory}}
  - name: host
    hostPath: {{path: {host_dir}, type: DirectoryOrCreate}}
"#
    )
}

fn settings(conf: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  MODE: prod\n  app.conf: |\n    {conf}\n"
    )
}

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            found.extend(files_containing(&p, needle));
        } else if meta.is_file() {
            if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(p.display().to_string());
                }
            }
        }
    }
    found
}

#[test]
fn config_and_secrets_reach_containers_as_env_and_files() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let host_dir = c.dir().join("files/host-volume");
    let cm = c.write_file("settings.yaml", &settings("color=blue"))?;

    // A pod whose ConfigMap does not exist yet waits, saying why.
    let file = c.write_file("app.yaml", &pod(&image, host_dir.to_str().unwrap()))?;
    c.bosun_ok(&[
        "create",
        "secret",
        "generic",
        "db",
        "--from-literal",
        &format!("password={SECRET}"),
    ]);
    c.bosun_ok(&["apply", "-f", &file]);
    c.wait_for_output(
        &[
            "get",
            "pod",
            "app",
            "-o",
            "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
        ],
        "the pod to wait for its ConfigMap",
        DEADLINE,
        |o| o == "CreateContainerConfigError",
    )?;
    let described = c.bosun_ok(&["describe", "pod", "app"]);
    assert!(
        described.contains("configmap \"settings\" not found"),
        "{described}"
    );
    c.bosun_ok(&["apply", "-f", &cm]);
    c.wait_for_output(
        &["get", "pod", "app", "-o", "jsonpath={.status.phase}"],
        "the pod to run once its ConfigMap exists",
        DEADLINE,
        |o| o == "Running",
    )?;

    let exec = |cmd: &str| c.bosun(&["exec", "app", "--", "/bin/busybox", "sh", "-c", cmd]);
    let env = exec("env").stdout;
    for want in [
        "MODE=prod\n",
        &format!("PASSWORD={SECRET}\n"),
        "POD_NAME=app\n",
        "CFG_MODE=prod\n",
    ] {
        assert!(env.contains(want), "{want:?} not in {env}");
    }
    assert_eq!(exec("cat /etc/app/app.conf").stdout, "color=blue\n");
    assert_eq!(exec("cat /run/creds/password").stdout, SECRET);
    assert_eq!(exec("stat -L -c %a /run/creds/password").stdout, "400\n");
    let ro = exec("touch /etc/app/new");
    assert!(!ro.success(), "configMap volumes are read-only: {ro}");
    assert!(
        exec("grep ' /mem ' /proc/mounts").stdout.contains("tmpfs"),
        "medium: Memory is a tmpfs"
    );
    assert!(
        exec("echo kept > /scratch/logs/a && cat /logs/a").stdout == "kept\n",
        "subPath"
    );
    assert!(exec("echo from-pod > /host/f").success());
    assert_eq!(std::fs::read_to_string(host_dir.join("f"))?, "from-pod\n");

    // A change of the ConfigMap reaches the running pod's files.
    c.write_file("settings.yaml", &settings("color=green"))?;
    c.bosun_ok(&["apply", "-f", &cm]);
    bosun_tests::wait_for_blocking("the new app.conf in the pod", DEADLINE, || {
        Ok((exec("cat /etc/app/app.conf").stdout == "color=green\n").then_some(()))
    })?;

    // The Secret is nowhere in plain text (nor base64) on disk: not in the master's Raft
    // log, store or snapshots, not in the agent's data directory, not in the logs.
    let agent_dir = c.dir().join("up/agent");
    let master_dir = c.dir().join("up/master");
    assert!(
        agent_dir.is_dir() && master_dir.is_dir(),
        "{}",
        c.dir().display()
    );
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(SECRET);
    for dir in [c.dir().join("up"), c.dir().join("logs")] {
        for needle in [SECRET, encoded.as_str()] {
            assert_eq!(
                files_containing(&dir, needle.as_bytes()),
                Vec::<String>::new(),
                "{needle} under {}",
                dir.display()
            );
        }
    }
    // It is stored sealed, and served in full to an administrator.
    assert_eq!(
        c.bosun_ok(&["get", "secret", "db", "-o", "jsonpath={.data.password}"]),
        encoded
    );

    // A deleted pod's volumes go with it.
    let uid = c.bosun_ok(&["get", "pod", "app", "-o", "jsonpath={.metadata.uid}"]);
    assert!(agent_dir.join("pods").join(&uid).exists());
    c.bosun_ok(&["delete", "pod", "app", "--grace-period", "0"]);
    bosun_tests::wait_for_blocking("the pod's volumes to be removed", DEADLINE, || {
        Ok((!agent_dir.join("pods").join(&uid).exists()).then_some(()))
    })?;
    Ok(())
}

#[test]
fn a_host_path_of_the_wrong_type_holds_the_pod_with_the_reason() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let missing = c.dir().join("files/not-there");
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hp\nspec:\n  containers:\n  - name: c\n    image: {image}\n    command: [\"/bin/busybox\", \"sleep\", \"3600\"]\n    volumeMounts: [{{name: h, mountPath: /h}}]\n  volumes:\n  - name: h\n    hostPath: {{path: {}, type: Directory}}\n",
        missing.display()
    );
    let file = c.write_file("hp.yaml", &manifest)?;
    c.bosun_ok(&["apply", "-f", &file]);
    let message = c.wait_for_output(
        &[
            "get",
            "pod",
            "hp",
            "-o",
            "jsonpath={.status.containerStatuses[0].state.waiting.message}",
        ],
        "the type check to hold the pod",
        DEADLINE,
        |o| o.contains("hostPath type check failed"),
    )?;
    assert!(message.contains("does not exist"), "{message}");
    Ok(())
}
