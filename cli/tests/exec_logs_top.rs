//! End to end with `bosun up` and the real Docker engine: `exec` (output, stderr and exit
//! code; piped input; a real terminal with `-it`, driven through a pseudo-terminal), `logs -f`
//! of a Deployment merging its replicas with a prefix, `logs --tail/--since/--previous`, and
//! `top nodes|pods` from Docker's stats.
use std::path::Path;
use std::time::Duration;

use bosun_tests::pty::PtyProcess;
use bosun_tests::{busybox_image, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn deployment(image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: app
        image: {image}
        command: ["/bin/busybox", "sh", "-c", "i=0; while true; do echo tick $i from $HOSTNAME; i=$((i+1)); sleep 0.2; done"]
"#
    )
}

#[test]
fn exec_logs_and_top_reach_the_containers() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let file = c.write_file("web.yaml", &deployment(&image))?;
    c.bosun_ok(&["apply", "-f", &file]);
    let phases = c.wait_for_output(
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ],
        "both replicas Running",
        DEADLINE,
        |out| out == "Running Running",
    )?;
    assert_eq!(phases, "Running Running");
    let names = c.bosun_ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "--sort-by",
        ".metadata.name",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
    ]);
    let pods: Vec<&str> = names.lines().collect();
    assert_eq!(pods.len(), 2, "{names}");
    let pod = pods[0];

    // Output, stderr and the exit code come back apart.
    let out = c.bosun(&[
        "exec",
        pod,
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(out.code(), Some(7), "{out}");
    assert_eq!(out.stdout, "out\n");
    assert!(out.stderr.contains("err\n"), "{out}");
    assert!(
        out.stderr.contains("command terminated with exit code 7"),
        "{out}"
    );
    // Input piped with -i reaches the command, and its end ends `cat`.
    let out = c.bosun_stdin(&["exec", "-i", pod, "--", "cat"], "hello through stdin\n");
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "hello through stdin\n");
    // A mebibyte through `cat`: input and output flow at once (the agent writes the
    // command's input from a task of its own, so a full output pipe cannot stall it).
    let big = "0123456789abcdef\n".repeat(64 * 1024);
    let out = c.bosun_stdin(&["exec", "-i", pod, "--", "cat"], &big);
    assert!(out.success(), "exit {:?}: {}", out.code(), out.stderr);
    assert_eq!(out.stdout.len(), big.len());
    // A container the pod does not have is refused with the choices.
    let out = c.bosun(&["exec", pod, "-c", "nope", "--", "true"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains("container nope is not valid for pod"),
        "{out}"
    );

    // -it: a real terminal in the container, typed keys and all.
    let config = c.config_path().to_str().unwrap().to_string();
    let mut term = PtyProcess::spawn(
        bin(),
        &["--config", &config, "exec", "-it", pod, "--", "sh"],
        &[("NO_COLOR", "1")],
    )?;
    term.write("tty; echo answer=$((6*7))\r")?;
    term.wait_output_contains("answer=42", DEADLINE)?;
    assert!(term.output().contains("/dev/pts/"), "{}", term.output());
    term.write("exit 5\r")?;
    let status = term.wait_exit(DEADLINE)?;
    assert_eq!(status.code(), Some(5), "{}", term.output());

    // logs -f of the Deployment merges both replicas, each line prefixed.
    let mut follow = c.spawn_client(&["logs", "-f", "deploy/web"], "logs-follow")?;
    for p in &pods {
        follow.wait_output_contains(&format!("[pod/{p}/app] tick"), DEADLINE)?;
    }
    follow.kill()?;
    let tail = c.bosun_ok(&["logs", pod, "--tail", "1"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(tail.starts_with("tick "), "{tail}");
    let recent = c.bosun_ok(&["logs", pod, "--since", "1s", "--timestamps"]);
    assert!(
        recent
            .lines()
            .all(|l| l.starts_with("20") && l.contains(" tick ")),
        "{recent}"
    );
    let out = c.bosun(&["logs", pod, "--previous"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains("previous terminated container"),
        "{out}"
    );
    let merged = c.bosun_ok(&["logs", "-l", "app=web", "--tail", "2"]);
    assert_eq!(merged.lines().count(), 4, "{merged}");

    // top: Docker's figures for the pods, /proc's for the node.
    let top = c.bosun_ok(&["top", "pods"]);
    let mut lines = top.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "CPU(cores)", "MEMORY(bytes)"]),
        "{top}"
    );
    for p in &pods {
        assert!(
            top.lines().any(|l| l.starts_with(p) && l.ends_with("Mi")),
            "{top}"
        );
    }
    let nodes = c.bosun_ok(&["top", "nodes"]);
    let row = nodes
        .lines()
        .find(|l| l.starts_with(c.node_name()))
        .unwrap_or_else(|| panic!("{nodes}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert!(cols[1].ends_with('m') && cols[2].ends_with('%'), "{nodes}");
    assert!(cols[3].ends_with("Mi") && cols[4].ends_with('%'), "{nodes}");
    let used: u64 = cols[3].trim_end_matches("Mi").parse()?;
    assert!(used > 0, "{nodes}");
    Ok(())
}
