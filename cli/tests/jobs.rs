//! End to end with `bosun up` and the real Docker engine: Jobs.
//! - 6 completions, parallelism 2, `restartPolicy: OnFailure`, and every pod's first attempt
//!   fails (a counter on the test host answers `fail` to a pod's first request, `ok` after):
//!   the Job completes with 6 succeeded pods, each restarted once, never more than 2 at once.
//! - An Indexed Job gives each pod its index in `JOB_COMPLETION_INDEX`.
//! - A Job whose pods always fail stops at its backoffLimit, `Failed` with
//!   `BackoffLimitExceeded`; `ttlSecondsAfterFinished` then deletes it with its pods.
//!
//! And CronJobs: one every minute with `concurrencyPolicy: Forbid` whose Job runs longer than
//! a minute never has two Jobs active; the run that fell due meanwhile starts only once the
//! first has finished. (In this file so that its two minutes of waiting for the clock overlap
//! the Jobs test: test binaries run one after another, the tests of one binary side by side.)
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};
use serde_json::Value;

/// Three waves of pods, each waiting out a 10 s restart back-off.
const DEADLINE: Duration = Duration::from_secs(120);
/// The CronJob's first run within a minute, then a 65 s Job, then the next run.
const CRON_DEADLINE: Duration = Duration::from_secs(200);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

/// An HTTP server on the test host answering `GET /<name>`: `fail` the first time a name
/// asks, `ok` after. Returns its port.
fn counter() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("0.0.0.0:0")?;
    let port = listener.local_addr()?.port();
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let name = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let n = {
                let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                let n = s.entry(name).or_default();
                *n += 1;
                *n
            };
            let body = if n == 1 { "fail" } else { "ok" };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(port)
}

fn job(image: &str, name: &str, spec: &str, policy: &str, script: &str) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{spec}
  template:
    spec:
      restartPolicy: {policy}
      terminationGracePeriodSeconds: 1
      containers:
      - name: work
        image: {image}
        command: ["/bin/busybox", "sh", "-c", {script:?}]
"#
    )
}

fn get_json(c: &TestCluster, args: &[&str]) -> anyhow::Result<Value> {
    let mut full = args.to_vec();
    full.extend(["-o", "json"]);
    let out = c.try_bosun_ok(&full)?;
    serde_json::from_str(&out).context("-o json")
}

/// The pods of Job `name`.
fn job_pods(c: &TestCluster, name: &str) -> anyhow::Result<Vec<Value>> {
    let sel = format!("job-name={name}");
    let v = get_json(c, &["get", "pods", "-l", &sel])?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

fn condition(job: &Value, type_: &str) -> Option<(String, String)> {
    let c = job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_ && c["status"] == "True")?;
    Some((
        c["type"].as_str()?.to_string(),
        c["reason"].as_str().unwrap_or_default().to_string(),
    ))
}

#[test]
fn jobs_retry_run_in_parallel_index_and_fail_at_their_limit() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;

    // 6 completions, 2 at a time, each pod failing once.
    let port = counter()?;
    let script = format!(
        "gw=$(ip route | awk '/default/ {{print $3}}'); r=$(wget -q -O - http://$gw:{port}/$HOSTNAME); echo \"$HOSTNAME: $r\"; [ \"$r\" = ok ]"
    );
    let spec = "  completions: 6\n  parallelism: 2\n  backoffLimit: 10";
    let path = c.write_file(
        "retry.yaml",
        &job(&image, "retry", spec, "OnFailure", &script),
    )?;
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &path]).trim(),
        "job.batch/retry created"
    );
    let started = Instant::now();
    let done = loop {
        let pods = job_pods(&c, "retry")?;
        let active = pods
            .iter()
            .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
            .count();
        assert!(active <= 2, "{active} pods running with parallelism 2");
        let j = get_json(&c, &["get", "job", "retry"])?;
        if condition(&j, "Complete").is_some() {
            break j;
        }
        assert!(
            condition(&j, "Failed").is_none() && started.elapsed() < DEADLINE,
            "job did not complete: {j:#}\n{}",
            c.logs_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(done["status"]["succeeded"], 6, "{done:#}");
    assert_eq!(done["status"]["failed"], 0, "{done:#}");
    assert_eq!(done["status"]["active"], 0, "{done:#}");
    let pods = job_pods(&c, "retry")?;
    assert_eq!(pods.len(), 6);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Succeeded", "{p:#}");
        assert_eq!(
            p["status"]["containerStatuses"][0]["restartCount"], 1,
            "{p:#}"
        );
    }
    let table = c.bosun_ok(&["get", "jobs"]);
    assert!(
        table.contains("Complete") && table.contains("6/6"),
        "{table}"
    );

    // Indexed: each pod gets its index.
    let spec = "  completions: 3\n  parallelism: 3\n  completionMode: Indexed";
    let script = "echo index=$JOB_COMPLETION_INDEX";
    let path = c.write_file(
        "indexed.yaml",
        &job(&image, "indexed", spec, "Never", script),
    )?;
    c.bosun_ok(&["apply", "-f", &path]);
    let j = wait_for_blocking("the indexed job complete", DEADLINE, || {
        let j = get_json(&c, &["get", "job", "indexed"])?;
        Ok(condition(&j, "Complete").is_some().then_some(j))
    })?;
    assert_eq!(j["status"]["completedIndexes"], "0-2", "{j:#}");
    let pods = job_pods(&c, "indexed")?;
    assert_eq!(pods.len(), 3);
    for p in &pods {
        let index = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            .as_str()
            .context("index annotation")?
            .to_string();
        let name = p["metadata"]["name"].as_str().context("name")?;
        let logs = c.bosun_ok(&["logs", name]);
        assert_eq!(logs.trim(), format!("index={index}"), "{name}");
    }

    // Always failing, backoffLimit 1: Failed, then deleted 3 s after with its pods.
    let spec = "  backoffLimit: 1\n  ttlSecondsAfterFinished: 3";
    let path = c.write_file(
        "doomed.yaml",
        &job(&image, "doomed", spec, "OnFailure", "exit 3"),
    )?;
    c.bosun_ok(&["apply", "-f", &path]);
    let j = wait_for_blocking("the failing job Failed", DEADLINE, || {
        let j = get_json(&c, &["get", "job", "doomed"])?;
        Ok(condition(&j, "Failed").map(|c| (c, j)))
    })?;
    assert_eq!(j.0 .1, "BackoffLimitExceeded", "{:#}", j.1);
    let describe = c.bosun_ok(&["describe", "job", "doomed"]);
    assert!(describe.contains("BackoffLimitExceeded"), "{describe}");
    wait_for_blocking("the failed job and its pods deleted", DEADLINE, || {
        let jobs = c.try_bosun_ok(&["get", "jobs", "-o", "name"])?;
        let gone = !jobs.contains("doomed") && job_pods(&c, "doomed")?.is_empty();
        Ok(gone.then_some(()))
    })?;
    Ok(())
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
fn tick_jobs(c: &TestCluster) -> anyhow::Result<Vec<(String, bool)>> {
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
        let j = tick_jobs(&c)?;
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
            started.elapsed() < CRON_DEADLINE,
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
    bosun_tests::wait_for_blocking("the jobs and pods of tick collected", CRON_DEADLINE, || {
        let pods = c.try_bosun_ok(&["get", "pods", "-o", "name"])?;
        Ok((tick_jobs(&c)?.is_empty() && pods.trim().is_empty()).then_some(()))
    })?;
    Ok(())
}
