//! End to end with `bosun up` and the real Docker engine: a CronJob every minute with
//! `concurrencyPolicy: Forbid` whose Job runs longer than a minute never has two Jobs active;
//! the run that fell due meanwhile starts only once the first has finished.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_tests::{busybox_image, TestCluster};
use serde_json::Value;

/// The first run within a minute, then a 65 s Job, then the next run.
const DEADLINE: Duration = Duration::from_secs(200);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn cronjob(image: &str) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: work
            image: {image}
            command: ["/bin/busybox", "sleep", "65"]
"#
    )
}

/// (name, finished) of the CronJob's Jobs, by name.
fn jobs(c: &TestCluster) -> anyhow::Result<Vec<(String, bool)>> {
    let out = c.try_bosun_ok(&["get", "jobs", "-o", "json"])?;
    let v: Value = serde_json::from_str(&out).context("get jobs -o json")?;
    let mut jobs: Vec<(String, bool)> = v["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|j| {
            j["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("tick-"))
        })
        .map(|j| {
            let finished = j["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["status"] == "True"));
            (
                j["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                finished,
            )
        })
        .collect();
    jobs.sort();
    Ok(jobs)
}

#[test]
fn forbid_never_runs_two_jobs_at_once() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(Duration::from_secs(60))?;
    let path = c.write_file("tick.yaml", &cronjob(&image))?;
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &path]).trim(),
        "cronjob.batch/tick created"
    );
    let started = Instant::now();
    let mut first_finished = false;
    loop {
        let j = jobs(&c)?;
        let active = j.iter().filter(|(_, f)| !f).count();
        assert!(active <= 1, "two jobs active under Forbid: {j:?}");
        if let Some((_, f)) = j.first() {
            first_finished |= *f;
        }
        if j.len() >= 2 {
            assert!(
                first_finished,
                "the second run started before the first ended: {j:?}"
            );
            break;
        }
        anyhow::ensure!(
            started.elapsed() < DEADLINE,
            "no second run: {j:?}\n{}",
            c.logs_tail(30)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let table = c.bosun_ok(&["get", "cronjobs"]);
    assert!(
        table.contains("* * * * *") && table.contains("tick"),
        "{table}"
    );
    let describe = c.bosun_ok(&["describe", "cronjob", "tick"]);
    assert!(
        describe.contains("Concurrency Policy:") && describe.contains("Forbid"),
        "{describe}"
    );
    // Deleting the CronJob takes its Jobs and their pods with it (garbage collector).
    c.bosun_ok(&["delete", "cronjob", "tick"]);
    bosun_tests::wait_for_blocking("the jobs and pods of tick collected", DEADLINE, || {
        let pods = c.try_bosun_ok(&["get", "pods", "-o", "name"])?;
        Ok((jobs(&c)?.is_empty() && pods.trim().is_empty()).then_some(()))
    })?;
    Ok(())
}
