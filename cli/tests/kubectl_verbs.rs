//! End to end with `bosun up`: the kubectl verbs a user types, their output, their exit codes
//! and their errors: namespaces (`create namespace`, `-n`, `-A`, deletion of what they hold),
//! `diff`, `apply --dry-run` and `--wait`, `delete -l`, `get -w`, `api-resources`,
//! `completion`, `version`, and not-found, invalid and usage errors.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{busybox_image, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn pod(image: &str, name: &str, app: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {app}}}
spec:
  containers:
  - name: c
    image: {image}
    command: ["/bin/busybox", "sleep", "3600"]
"#
    )
}

#[test]
fn namespaces_hold_objects_and_take_them_when_deleted() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    assert_eq!(
        c.bosun_ok(&["create", "namespace", "team-a"]),
        "namespace/team-a created\n"
    );
    let ns = c.wait_for_output(&["get", "ns"], "the built-in namespaces", DEADLINE, |o| {
        o.contains("default") && o.contains("bosun-system")
    })?;
    let rows: Vec<Vec<&str>> = ns.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["NAME", "STATUS", "AGE"], "{ns}");
    for name in ["bosun-system", "default", "team-a"] {
        assert!(
            rows.iter().any(|r| r[0] == name && r[1] == "Active"),
            "{ns}"
        );
    }

    let file = c.write_file("p.yaml", &pod(&image, "p1", "a"))?;
    // A namespace that does not exist is refused, naming it.
    let out = c.bosun(&["apply", "-f", &file, "-n", "team-b"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("Error from server (NotFound): namespaces \"team-b\" not found"),
        "{out}"
    );
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &file, "-n", "team-a", "--wait"]),
        "pod/p1 created\n"
    );
    let phase = c.bosun_ok(&[
        "get",
        "pod",
        "p1",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.status.phase}",
    ]);
    assert_eq!(phase, "Running", "--wait returns once the pod is Ready");
    let all = c.bosun_ok(&["get", "pods", "-A"]);
    assert!(all.starts_with("NAMESPACE "), "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("team-a ") && l.contains(" p1 ")),
        "{all}"
    );
    let out = c.bosun(&["get", "pods"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "No resources found in default namespace.\n");

    // Built-in namespaces stay; deleting another takes its objects with it.
    let out = c.bosun(&["delete", "namespace", "default"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("may not be deleted"), "{out}");
    c.bosun_ok(&["delete", "ns", "team-a"]);
    c.wait_for_output(
        &["get", "pods", "-A", "-o", "name"],
        "the pods of team-a to be deleted",
        DEADLINE,
        |o| o.is_empty(),
    )?;
    Ok(())
}

#[test]
fn diff_dry_run_delete_by_label_and_watch() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let v1 = c.write_file("v1.yaml", &pod(&image, "web", "web"))?;
    // diff of an object that does not exist shows it all as added.
    let out = c.bosun(&["diff", "-f", &v1]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout.contains("+++ MERGED/v1.Pod.default.web"),
        "{out}"
    );
    assert!(out.stdout.contains("+  name: web"), "{out}");
    // A dry run stores nothing.
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &v1, "--dry-run=server"]),
        "pod/web created (server dry run)\n"
    );
    let out = c.bosun(&["get", "pod", "web"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): pods \"web\" not found\n"
    );
    c.bosun_ok(&["apply", "-f", &v1]);
    let out = c.bosun(&["diff", "-f", &v1]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout, "");
    let v2 = c.write_file(
        "v2.yaml",
        &pod(&image, "web", "web").replace("app: web}", "app: web, tier: front}"),
    )?;
    let out = c.bosun(&["diff", "-f", &v2]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stdout.contains("+    tier: front"), "{out}");
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &v2, "--dry-run"]),
        "pod/web configured (dry run)\n"
    );
    assert_eq!(
        c.bosun_ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.metadata.labels.tier}"
        ]),
        ""
    );

    // get -w prints a row for each change after the list.
    let mut watch = c.spawn_client(&["get", "pods", "-w"], "get-watch")?;
    watch.wait_output_contains("web ", DEADLINE)?;
    let other = c.write_file("other.yaml", &pod(&image, "other", "web"))?;
    c.bosun_ok(&["apply", "-f", &other]);
    watch.wait_output_contains("other ", DEADLINE)?;
    watch.kill()?;
    assert_eq!(
        watch.output().matches("NAME").count(),
        1,
        "one header: {}",
        watch.output()
    );

    let deleted = c.bosun_ok(&["delete", "pods", "-l", "app=web", "--grace-period", "0"]);
    assert_eq!(
        deleted, "pod \"other\" deleted\npod \"web\" deleted\n",
        "{deleted}"
    );
    Ok(())
}

#[test]
fn errors_exit_codes_and_the_offline_verbs() -> anyhow::Result<()> {
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    // Usage errors: exit code 2.
    for args in [
        &["get"][..],
        &["frobnicate"],
        &["delete", "pods"],
        &["logs"],
        &["exec", "p"],
    ] {
        let out = c.bosun(args);
        assert_eq!(out.code(), Some(2), "bosun {args:?}: {out}");
        assert!(out.stdout.is_empty(), "usage errors go to stderr: {out}");
    }
    // Bad input to the server: exit code 1 and a message naming the problem.
    let out = c.bosun(&["get", "pods", "-o", "bogus"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("allowed formats are: json,jsonpath,name,wide,yaml"),
        "{out}"
    );
    let out = c.bosun(&["get", "frobs"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("doesn't have a resource type \"frobs\""),
        "{out}"
    );
    let out = c.bosun(&["get", "pods", "-o", "jsonpath={.items"]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("unclosed action"), "{out}");
    let bad = c.write_file(
        "bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers: []\n",
    )?;
    let out = c.bosun(&["apply", "-f", &bad]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(out.stderr.contains("metadata.name"), "{out}");

    let api = c.bosun_ok(&["api-resources"]);
    assert!(api.starts_with("NAME "), "{api}");
    assert!(
        api.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["cronjobs", "cj", "batch/v1", "true", "CronJob"]),
        "{api}"
    );

    let version = c.bosun(&["version"]);
    assert!(version.success(), "{version}");
    assert!(version.stdout.starts_with("Client Version: v"), "{version}");
    assert!(version.stdout.contains("\nServer Version: v"), "{version}");
    assert!(!version.stderr.contains("WARNING"), "{version}");

    // Completion scripts parse in their shell, and bash's completes object names.
    let script = c.write_file("completion.bash", &c.bosun_ok(&["completion", "bash"]))?;
    assert!(std::fs::read_to_string(&script)?.contains("complete -F _bosun_names"));
    let checked = std::process::Command::new("bash")
        .args(["-n", &script])
        .output()?;
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for shell in ["zsh", "fish"] {
        assert!(!c.bosun_ok(&["completion", shell]).is_empty());
    }
    Ok(())
}

#[test]
fn manifests_warn_about_unknown_fields_and_refuse_bad_values_with_their_path() -> anyhow::Result<()>
{
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    // Several documents, one field Bosun does not implement: applied, with a warning naming
    // the field.
    let multi = format!(
        "{}---\n# a comment-only document\n---\n{}",
        pod(&image, "first", "a").replace("spec:\n", "spec:\n  priorityClassName: high\n"),
        pod(&image, "second", "a")
    );
    let file = c.write_file("multi.yaml", &multi)?;
    let out = c.bosun(&["apply", "-f", &file]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "pod/first created\npod/second created\n");
    assert!(
        out.stderr.contains("spec.priorityClassName") && out.stderr.contains("ignored"),
        "{out}"
    );
    // A bad quantity or a bad name anywhere refuses the whole file, naming the field, and
    // nothing of it is stored.
    let bad = format!(
        "{}---\n{}",
        pod(&image, "third", "a"),
        pod(&image, "fourth", "a").replace(
            "    command:",
            "    resources: {limits: {memory: 12XB}}\n    command:"
        )
    );
    let file = c.write_file("bad.yaml", &bad)?;
    let out = c.bosun(&["apply", "-f", &file]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("spec.containers[0].resources.limits.memory: Invalid value: \"12XB\""),
        "{out}"
    );
    assert!(out.stderr.contains("(document 2)"), "{out}");
    let out = c.bosun(&["get", "pod", "third"]);
    assert_eq!(
        out.code(),
        Some(1),
        "nothing of a refused file is stored: {out}"
    );
    let file = c.write_file("name.yaml", &pod(&image, "Bad_Name", "a"))?;
    let out = c.bosun(&["apply", "-f", &file]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stderr
            .contains("metadata.name: Invalid value: \"Bad_Name\""),
        "{out}"
    );
    Ok(())
}
