//! What the benchmark programs in `src/bin/` share: the padded pod they write, the nearest-rank
//! quantile of their latencies, the CPU time of processes, the revision line of their reports
//! and their `main`'s runtime.
use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bosun_shared::pod::{Container, Pod};
use bosun_shared::Object;

/// Runs `fut` to completion on a new multi-threaded Tokio runtime (the benchmarks block in
/// `block_in_place`, which needs one): the body of their `main`, after parsing options.
///
/// SIGINT or SIGTERM (Ctrl-C, `timeout`) drops `fut`, and with it the processes it started,
/// so that an interrupted benchmark leaves no master or hollow node running behind it.
pub fn block_on<T>(fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = fut => r,
            _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted (SIGINT)"),
            _ = term.recv() => anyhow::bail!("interrupted (SIGTERM)"),
        }
    })
}

/// Node the benchmark pods are bound to. No agent runs there, so no controller writes in
/// reaction to them (the scheduler leaves bound pods alone): one acknowledged create is one
/// Raft entry, as one etcd `put` is one etcd entry.
pub const BENCH_NODE: &str = "bench-absent-node";

/// A pod named `name` (namespace `default`, one container, bound to [`BENCH_NODE`]) padded
/// with a `value_bytes`-byte annotation.
pub fn padded_pod(name: String, value_bytes: usize) -> Object {
    let mut p = Pod::default();
    p.metadata.name = name.into();
    p.metadata.namespace = "default".into();
    p.spec.node_name = Some(BENCH_NODE.into());
    p.metadata
        .annotations
        .insert("bench/pad".into(), "x".repeat(value_bytes).into());
    p.spec.containers.push(Container {
        name: "c".into(),
        image: "busybox".into(),
        ..Default::default()
    });
    p.into()
}

/// The `q` quantile (nearest rank) of sorted `v`; zero when `v` is empty.
pub fn quantile(v: &[Duration], q: f64) -> Duration {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied().unwrap_or_default()
}

/// CPU time (user + system) `pids` have used so far, summed; processes that are gone count 0.
pub fn cpu_time(pids: &[u32]) -> Duration {
    // /proc/<pid>/stat counts in clock ticks, 100 per second on Linux (USER_HZ).
    const TICKS_PER_SEC: u64 = 100;
    let ticks: u64 = pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .map(|stat| {
            // Fields after the parenthesized command name; utime and stime are the 12th and
            // 13th of them.
            let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            field(11) + field(12)
        })
        .sum();
    Duration::from_millis(ticks * 1000 / TICKS_PER_SEC)
}

/// Prints `Bosun <revision>`, then the [`stale_warning`] about `bin` if there is one.
pub fn print_revision(bin: &Path) {
    println!("Bosun {}", bosun_revision());
    if let Some(w) = stale_warning(bin) {
        println!("{w}");
    }
}

/// The workspace's git revision, `+dirty` when the work tree has changes.
pub fn bosun_revision() -> String {
    let ws = workspace();
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&ws)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"]);
    let dirty = !git(&["status", "--porcelain"]).is_empty();
    format!("{rev}{}", if dirty { "+dirty" } else { "" })
}

/// A warning when `bin` is older than the last commit (it may not be that revision's build).
pub fn stale_warning(bin: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(workspace())
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()?;
    let committed: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let built = std::fs::metadata(bin).ok()?.modified().ok()?;
    let built = built.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    (built < committed).then(|| {
        format!(
            "warning: {} is older than the last commit; rebuild it",
            bin.display()
        )
    })
}

/// The workspace root: the parent of this crate's directory.
fn workspace() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    let now = bosun_shared::time::to_rfc3339(std::time::SystemTime::now());
    now.get(..10).unwrap_or(&now).to_string()
}

/// Resident memory of process `pid` in bytes (`VmRSS`), if it runs.
pub fn rss(pid: u32) -> Option<u64> {
    resident(pid).map(|r| r.total)
}

/// A process's resident memory, in bytes, and the part of it that is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    /// `VmRSS`: every page mapped in, including the executable's code.
    pub total: u64,
    /// `RssAnon`: the heap and stacks, memory only this process uses. The rest of `total` is
    /// mostly pages of the binary, shared with every process running it and reclaimable.
    pub anon: u64,
}

/// [`Resident`] memory of process `pid`, if it runs.
pub fn resident(pid: u32) -> Option<Resident> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Resident {
        total: status_kib(&status, "VmRSS:")? * 1024,
        anon: status_kib(&status, "RssAnon:")? * 1024,
    })
}

/// The `field` line of a `/proc/PID/status` in KiB.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_nearest_rank() {
        let v: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.0), Duration::from_millis(1));
        assert_eq!(quantile(&v, 0.5), Duration::from_millis(5));
        assert_eq!(quantile(&v, 0.99), Duration::from_millis(10));
        assert_eq!(quantile(&v, 1.0), Duration::from_millis(10));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn padded_pod_carries_the_padding() {
        let json = padded_pod("p".into(), 256).to_json();
        assert!(String::from_utf8_lossy(&json).contains(&"x".repeat(256)));
    }
}
