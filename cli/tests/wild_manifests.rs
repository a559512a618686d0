//! End to end with `bosun up`: the Pod, Deployment, DaemonSet (with its hostPath volume), Job
//! and CronJob examples of the Kubernetes documentation (`examples/kubernetes-docs/`,
//! unchanged) apply without a warning and are stored as written.
use std::path::Path;
use std::time::Duration;

use bosun_tests::TestCluster;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn examples(dir: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(dir)
        .display()
        .to_string()
}

#[test]
fn the_kubernetes_documentation_examples_apply_unchanged() -> anyhow::Result<()> {
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let docs = examples("kubernetes-docs");
    let out = c.bosun(&["apply", "-f", &docs]);
    assert!(out.success(), "{out}");
    // The directory's files in name order.
    assert_eq!(
        out.stdout,
        "cronjob.batch/hello created\n\
         daemonset.apps/fluentd-elasticsearch created\n\
         pod/liveness-exec created\n\
         job.batch/pi created\n\
         deployment.apps/nginx-deployment created\n\
         pod/nginx created\n"
    );
    assert_eq!(
        out.stderr, "",
        "the examples use only fields Bosun implements"
    );
    // Stored as written.
    let probe = c.bosun_ok(&[
        "get", "pod", "liveness-exec", "-o",
        "jsonpath={.spec.containers[0].livenessProbe.exec.command[*]} {.spec.containers[0].livenessProbe.periodSeconds}",
    ]);
    assert_eq!(probe, "cat /tmp/healthy 5");
    let ds = c.bosun_ok(&["get", "ds", "-n", "kube-system", "-o", "name"]);
    assert_eq!(ds, "daemonset.apps/fluentd-elasticsearch\n");
    let cron = c.bosun_ok(&["get", "cj", "hello", "-o", "jsonpath={.spec.schedule}"]);
    assert_eq!(cron, "* * * * *");
    let job = c.bosun_ok(&["get", "job", "pi", "-o", "jsonpath={.spec.backoffLimit}"]);
    assert_eq!(job, "4");
    // The Deployment makes its 3 replicas (their image cannot be pulled here: no registry).
    c.wait_for_output(
        &["get", "pods", "-l", "app=nginx", "-o", "name"],
        "3 nginx pods",
        DEADLINE,
        |o| o.lines().count() == 3,
    )?;
    // Applying them again changes nothing.
    let again = c.bosun_ok(&["apply", "-f", &docs]);
    assert_eq!(again.matches(" unchanged\n").count(), 6, "{again}");
    let diff = c.bosun(&["diff", "-f", &docs]);
    assert_eq!(diff.code(), Some(0), "{diff}");
    let volume = c.bosun_ok(&[
        "get",
        "ds",
        "fluentd-elasticsearch",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.spec.template.spec.volumes[0].hostPath.path}",
    ]);
    assert_eq!(volume, "/var/log");
    c.bosun_ok(&["delete", "-f", &docs, "--grace-period", "0"]);
    Ok(())
}
