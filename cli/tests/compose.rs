//! End to end with `bosun up` and the real Docker engine: Docker Compose files converted
//! (`compose convert`) and deployed (`compose up`, `compose down`): short and long port
//! syntax, environment as a list and as a map, `.env` interpolation, a healthcheck, the
//! deploy section (replicas, resources, a placement constraint), `restart: "no"`, labels, and
//! keys Bosun does not run listed rather than dropped; `build` refused with its reason.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bosun_tests::net::{free_port, http_get};
use bosun_tests::{busybox_image, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

const HOME_LAB: &str = r#"name: lab
services:
  web:
    image: ${IMAGE}
    command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"]
    ports:
      - "${WEB_PORT}:8080"
      - target: 8081
        published: "${ADMIN_PORT}"
        protocol: tcp
    environment:
      - MODE=prod
      - GREETING
    healthcheck:
      test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/hostname"]
      interval: 2s
      timeout: 1s
      retries: 3
    deploy:
      replicas: 1
      resources:
        limits: {cpus: "0.5", memory: 64M}
      placement:
        constraints: ["node.hostname == ${NODE}"]
    labels:
      com.example.description: "Home lab web"
    volumes:
      - webdata:/srv/data
      - ./shared:/shared:ro
  worker:
    image: ${IMAGE}
    entrypoint: /bin/busybox sh -c
    command: ["echo worker $$WORKER_ID debug=$$DEBUG; sleep 3600"]
    environment:
      WORKER_ID: 7
      DEBUG: yes
    deploy:
      replicas: 2
  once:
    image: ${IMAGE}
    command: /bin/busybox echo done
    restart: "no"
  extra:
    image: ${IMAGE}
    command: ["/bin/busybox", "sleep", "3600"]
    networks: [back]
    depends_on: [web]
networks:
  back: {}
volumes:
  webdata: {}
"#;

fn docker_inspect(format: &str, label: &str) -> anyhow::Result<String> {
    let ids = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label={label}")])
        .output()?;
    let id = String::from_utf8(ids.stdout)?;
    let id = id.lines().next().unwrap_or_default().to_string();
    let out = Command::new("docker")
        .args(["inspect", "--format", format, &id])
        .output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

#[test]
fn a_home_lab_compose_file_runs_on_the_cluster_and_comes_down() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let (web_port, admin_port) = (free_port(), free_port());
    c.write_file(
        ".env",
        &format!(
            "IMAGE={image}\nWEB_PORT={web_port}\nADMIN_PORT={admin_port}\nNODE={}\nGREETING=hello from env\n",
            c.node_name()
        ),
    )?;
    let file = c.write_file("compose.yaml", HOME_LAB)?;

    // convert: the manifests, and every key not converted named on stderr.
    let out = c.bosun(&["compose", "convert", "-f", &file]);
    assert!(out.success(), "{out}");
    for needle in [
        "kind: Deployment",
        "name: lab-web",
        "hostPort: ",
        "containerPort: 8081",
        "kind: Pod",
        "restartPolicy: Never",
        "kubernetes.io/hostname: ",
        "memory: 64Mi",
        "cpu: 500m",
    ] {
        assert!(out.stdout.contains(needle), "{needle:?} missing: {out}");
    }
    for needle in [
        "services.extra.networks",
        "services.extra.depends_on",
        "networks: ",
    ] {
        assert!(out.stderr.contains(needle), "{needle:?} not listed: {out}");
    }

    let up = c.bosun(&["compose", "up", "-f", &file, "--wait", "--timeout", "60s"]);
    assert!(up.success(), "{up}\n{}", c.logs_tail(40));
    for line in [
        "deployment.apps/lab-web created",
        "deployment.apps/lab-worker created",
        "deployment.apps/lab-extra created",
        "pod/lab-once created",
    ] {
        assert!(up.stdout.contains(line), "{line:?}: {up}");
    }
    let project = "bosun.dev/compose-project=lab";
    let pods = c.bosun_ok(&["get", "pods", "-l", project, "-o", "name"]);
    assert_eq!(
        pods.lines().count(),
        5,
        "web, 2 workers, once, extra: {pods}"
    );

    // The published ports, short syntax: the web server answers on the host.
    let (status, body) = http_get(&format!("127.0.0.1:{web_port}"), "/hostname", DEADLINE)?;
    assert_eq!(status, 200, "{body}");
    let web = c.bosun_ok(&[
        "get",
        "pods",
        "-l",
        "bosun.dev/compose-service=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let env = c.bosun_ok(&["exec", &web, "--", "/bin/busybox", "env"]);
    assert!(env.contains("MODE=prod\n"), "{env}");
    assert!(env.contains("GREETING=hello from env\n"), "{env}");
    let ports = c.bosun_ok(&[
        "get",
        "pod",
        &web,
        "-o",
        "jsonpath={.spec.containers[0].ports[*].hostPort}",
    ]);
    assert_eq!(ports, format!("{web_port} {admin_port}"));
    let note = c.bosun_ok(&[
        "get",
        "pod",
        &web,
        "-o",
        "jsonpath={.metadata.annotations.com\\.example\\.description}",
    ]);
    assert_eq!(note, "Home lab web");
    let probe = c.bosun_ok(&[
        "get",
        "pod",
        &web,
        "-o",
        "jsonpath={.spec.containers[0].livenessProbe.periodSeconds}",
    ]);
    assert_eq!(probe, "2");
    // The named volume is a claim bound to the pod's node; the bind mount is the host's
    // directory, read-only.
    let claim = c.bosun_ok(&[
        "get",
        "pvc",
        "lab-webdata",
        "-o",
        "jsonpath={.status.phase}",
    ]);
    assert_eq!(claim, "Bound");
    let write = [
        "exec",
        &web,
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "echo kept > /srv/data/f",
    ];
    assert!(c.bosun(&write).success());
    std::fs::write(c.dir().join("files/shared/hello"), "from the host\n")?;
    let shared = c.bosun_ok(&["exec", &web, "--", "/bin/busybox", "cat", "/shared/hello"]);
    assert_eq!(shared, "from the host\n");
    let ro = c.bosun(&["exec", &web, "--", "/bin/busybox", "touch", "/shared/x"]);
    assert!(!ro.success(), "{ro}");
    let label = "bosun.pod.name=".to_string() + &web;
    assert_eq!(
        docker_inspect("{{.HostConfig.Memory}}", &label)?,
        (64 << 20).to_string()
    );
    assert_eq!(
        docker_inspect("{{.HostConfig.NanoCpus}}", &label)?,
        "500000000"
    );

    // Environment as a map, `$$` kept for the shell, `yes` kept as text (YAML 1.2).
    let logs = c.wait_for_output(
        &["logs", "-l", "bosun.dev/compose-service=worker"],
        "both workers' output",
        DEADLINE,
        |o| o.matches("worker 7 debug=yes").count() == 2,
    )?;
    assert!(logs.contains("[pod/lab-worker-"), "{logs}");
    c.wait_for_output(
        &["get", "pod", "lab-once", "-o", "jsonpath={.status.phase}"],
        "the one-shot service to finish",
        DEADLINE,
        |o| o == "Succeeded",
    )?;

    let down = c.bosun_ok(&["compose", "down", "-f", &file, "--volumes"]);
    assert!(
        down.contains("persistentvolumeclaim \"lab-webdata\" deleted"),
        "{down}"
    );
    assert!(
        down.contains("deployment.apps \"lab-web\" deleted"),
        "{down}"
    );
    assert!(down.contains("pod \"lab-once\" deleted"), "{down}");
    c.wait_for_output(
        &["get", "pods", "-l", project, "-o", "name"],
        "the project's pods to be gone",
        DEADLINE,
        |o| o.is_empty(),
    )?;
    Ok(())
}

#[test]
fn compose_files_bosun_cannot_run_are_refused_with_the_reason() -> anyhow::Result<()> {
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let build = c.write_file(
        "build.yaml",
        "services:\n  app:\n    build: .\n    ports: [\"8080\"]\n",
    )?;
    let out = c.bosun(&["compose", "up", "-f", &build]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("services.app.build"), "{out}");
    assert!(out.stderr.contains("Bosun does not build images"), "{out}");
    let bad_port = c.write_file(
        "ports.yaml",
        "services:\n  app:\n    image: x\n    ports: [\"80:abc\"]\n",
    )?;
    let out = c.bosun(&["compose", "convert", "-f", &bad_port]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("services.app.ports[0]"), "{out}");
    let missing = c.bosun(&["compose", "convert", "-f", "/nonexistent/compose.yaml"]);
    assert_eq!(missing.code(), Some(1), "{missing}");
    assert!(
        missing.stderr.contains("/nonexistent/compose.yaml"),
        "{missing}"
    );
    // Nothing was created.
    assert_eq!(c.bosun_ok(&["get", "deployments", "-o", "name"]), "");
    Ok(())
}
