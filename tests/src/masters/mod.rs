//! [`Masters`]: three `bosun master` processes on this machine, a replicated control plane for
//! fault tests and benchmarks.
//!
//! Each master listens on a free 127.0.0.1 port fixed at launch, so a restart (same command line)
//! comes back on the same address and data directory. The first bootstraps the cluster, the
//! others `--join` it, one at a time or all at once ([`Joiners`]). Everything lives in a fresh
//! temporary directory:
//!
//! ```text
//! <tmp>/m<n>.yaml          client config of master `m<n>` (n = 1, 2, 3)
//! <tmp>/m<n>/              its data directory
//! <tmp>/m<n>.log           its stdout and stderr, appended across restarts
//! <tmp>/status-<k>.log     output of one `bosun cluster status`, removed once read
//! ```
//!
//! The cluster is observed through `bosun --server a,b,c cluster status`, parsed into a
//! [`Status`]. Waits fail at once when a master that should run has exited, and on timeout they
//! say what the status last was and show the tail of every master's log. Dropping a [`Masters`]
//! kills the processes and removes the directory.
mod status;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::net::free_port;
use crate::process::{tail_log, BosunProcess};
use crate::wait::{give_up, wait_for_blocking};

pub use status::{Member, Status};

/// Masters in the cluster.
pub const MASTERS: usize = 3;
/// How long the cluster may take to form, elect a leader or reach a state waited for.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// How long one `bosun cluster status` may run before it is killed.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of each master's log shown when a wait fails.
const LOG_TAIL_LINES: usize = 30;

/// How the masters after the first join the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joiners {
    /// Each must be a voter before the next starts.
    OneAtATime,
    /// All start together once the first leads.
    AllAtOnce,
}

/// Three `bosun master` processes; see the module docs.
pub struct Masters {
    /// Master `i` is `m<i+1>`; `None` while killed. Behind a mutex so that every method works
    /// through `&self`. Fields drop in order: the processes are killed before `dir` goes.
    procs: Mutex<Vec<Option<BosunProcess>>>,
    ports: Vec<u16>,
    bin: PathBuf,
    /// Numbers the output files of status queries.
    queries: AtomicU64,
    dir: tempfile::TempDir,
}

impl Masters {
    /// Starts `bin master` three times in a temporary directory named `<prefix>…`: the first
    /// bootstraps and must lead, then the others join it as `joiners` says, until three voters
    /// and one leader are listed.
    pub fn launch(bin: &Path, prefix: &str, joiners: Joiners) -> anyhow::Result<Masters> {
        let m = Masters {
            procs: Mutex::new((0..MASTERS).map(|_| None).collect()),
            ports: (0..MASTERS).map(|_| free_port()).collect(),
            bin: bin.to_path_buf(),
            queries: AtomicU64::new(0),
            dir: tempfile::Builder::new().prefix(prefix).tempdir()?,
        };
        for i in 0..MASTERS {
            m.start(i)?;
            let started = i + 1;
            if i == 0 || started == MASTERS || joiners == Joiners::OneAtATime {
                let what = format!("{started} voting masters and a leader");
                m.wait_status(&what, |s| s.settled(started))?;
            }
        }
        Ok(m)
    }

    /// The name of master `i`: `m<i+1>`.
    pub fn name(&self, i: usize) -> String {
        format!("m{}", i + 1)
    }

    /// `127.0.0.1:<port>` of master `i`.
    pub fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.ports[i])
    }

    /// Process ids of the running masters.
    pub fn pids(&self) -> Vec<u32> {
        let procs = self
            .procs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        procs.iter().flatten().map(BosunProcess::pid).collect()
    }

    /// Every master's address, comma-separated, for `--server`.
    pub fn servers(&self) -> String {
        self.join_addrs(0..MASTERS)
    }

    /// The log of master `i` (all its runs).
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.name(i)))
    }

    /// The command line of master `i`; the same at every (re)start.
    fn args(&self, i: usize) -> Vec<String> {
        let root = self.dir.path();
        let name = self.name(i);
        let mut args = vec![
            "--config".to_string(),
            self.config_path(i).display().to_string(),
            "master".into(),
            "--name".into(),
            name.clone(),
            "--listen".into(),
            self.addr(i),
            "--data-dir".into(),
            root.join(&name).display().to_string(),
        ];
        if i > 0 {
            args.extend(["--join".into(), self.addr(0)]);
            // The first master wrote its master join token beside its store.
            let token = std::fs::read_to_string(root.join(self.name(0)).join("master-token"))
                .unwrap_or_default();
            args.extend(["--token".into(), token.trim().to_string()]);
        }
        args
    }

    /// The administrator's credentials the first master wrote into its client config.
    pub fn credentials(&self) -> anyhow::Result<bosun_shared::pki::tls::Credentials> {
        let path = self.config_path(0);
        Ok(bosun_shared::client_config::load(&path)?.credentials(None, &path)?)
    }

    /// The client config master `i` writes.
    pub fn config_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}.yaml", self.name(i)))
    }

    /// (Re)starts master `i` with its command line, its output appended to its log. Fails if
    /// it is running.
    pub fn start(&self, i: usize) -> anyhow::Result<()> {
        let mut procs = self.procs();
        if procs[i].as_mut().is_some_and(|p| p.is_running()) {
            bail!("{} is already running", self.name(i));
        }
        let args = self.args(i);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = [("RUST_LOG", "info"), ("NO_COLOR", "1")];
        procs[i] = Some(BosunProcess::spawn(
            &self.bin,
            &args,
            &env,
            &self.log_path(i),
        )?);
        Ok(())
    }

    /// SIGKILLs master `i` and reaps it; [`start`](Self::start) brings it back.
    pub fn kill(&self, i: usize) -> anyhow::Result<()> {
        let mut p = self.procs()[i]
            .take()
            .with_context(|| format!("{} is already down", self.name(i)))?;
        p.kill()?;
        Ok(())
    }

    /// SIGSTOPs master `i`: it answers nothing until [`resume`](Self::resume).
    pub fn pause(&self, i: usize) -> anyhow::Result<()> {
        self.with_process(i, BosunProcess::pause)
    }

    /// SIGCONTs master `i` after [`pause`](Self::pause).
    pub fn resume(&self, i: usize) -> anyhow::Result<()> {
        self.with_process(i, BosunProcess::resume)
    }

    /// The cluster status through the first running master that answers.
    pub fn status(&self) -> anyhow::Result<Status> {
        let up: Vec<usize> = (0..MASTERS)
            .filter(|i| self.procs()[*i].is_some())
            .collect();
        if up.is_empty() {
            bail!("no master is running");
        }
        self.status_via(&up)
    }

    /// The cluster status through the first of masters `via` that answers (with
    /// `bosun --server a,b,… cluster status`, killed after [`STATUS_TIMEOUT`]).
    pub fn status_via(&self, via: &[usize]) -> anyhow::Result<Status> {
        let servers = self.join_addrs(via.iter().copied());
        let k = self.queries.fetch_add(1, Ordering::Relaxed);
        let log = self.dir.path().join(format!("status-{k}.log"));
        let status = self.run_status(&servers, &log);
        let _ = std::fs::remove_file(&log);
        status.with_context(|| format!("`bosun --server {servers} cluster status`"))
    }

    fn run_status(&self, servers: &str, log: &Path) -> anyhow::Result<Status> {
        let config = self.config_path(0);
        let config = config.to_str().context("temporary path is not UTF-8")?;
        let args = ["--config", config, "--server", servers, "cluster", "status"];
        let env = [("RUST_LOG", "error"), ("NO_COLOR", "1")];
        // Dropping `p` kills it if it is still running.
        let mut p = BosunProcess::spawn(&self.bin, &args, &env, log)?;
        match p.wait_exit(STATUS_TIMEOUT)? {
            None => bail!("no answer within {STATUS_TIMEOUT:?}"),
            Some(exit) if !exit.success() => bail!("{exit}: {}", p.output().trim()),
            Some(_) => Status::parse(&p.output()),
        }
    }

    /// Waits until the status (through any running master) satisfies `ok`; returns it.
    pub fn wait_status(&self, what: &str, ok: impl Fn(&Status) -> bool) -> anyhow::Result<Status> {
        self.wait_until(what, None, |s| ok(s).then(|| s.clone()))
    }

    /// [`wait_status`](Self::wait_status) with the status asked of master `i` itself.
    pub fn wait_status_of(
        &self,
        i: usize,
        what: &str,
        ok: impl Fn(&Status) -> bool,
    ) -> anyhow::Result<Status> {
        self.wait_until(what, Some(i), |s| ok(s).then(|| s.clone()))
    }

    /// Waits for a leader; returns its index and its row of the status.
    pub fn leader(&self) -> anyhow::Result<(usize, Member)> {
        self.wait_until("a leader", None, |s| {
            s.leader().map(|(i, m)| (i, m.clone()))
        })
    }

    /// Polls the status (through master `via`, or any running one) until `f` yields a value.
    fn wait_until<T>(
        &self,
        what: &str,
        via: Option<usize>,
        f: impl Fn(&Status) -> Option<T>,
    ) -> anyhow::Result<T> {
        wait_for_blocking(what, DEADLINE, || {
            self.check_running()?;
            let s = match via {
                Some(i) => self.status_via(&[i])?,
                None => self.status()?,
            };
            // An error, not `None`, so that a timeout says what the cluster looked like.
            f(&s).map(Some).ok_or_else(|| anyhow!("status: {s}"))
        })
        .map_err(|e| {
            let logs: Vec<String> = (0..MASTERS)
                .map(|i| {
                    let tail = tail_log(&self.log_path(i), LOG_TAIL_LINES);
                    format!("--- {} ---\n{tail}", self.name(i))
                })
                .collect();
            e.context(logs.join("\n"))
        })
    }

    /// Terms in which each master logged "became raft leader" (`term=N` on the same line).
    pub fn leader_terms(&self) -> BTreeMap<usize, Vec<u64>> {
        (0..MASTERS)
            .map(|i| {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let terms = log
                    .lines()
                    .filter(|l| l.contains("became raft leader"))
                    .filter_map(|l| {
                        l.split("term=")
                            .nth(1)?
                            .split_whitespace()
                            .next()?
                            .parse()
                            .ok()
                    })
                    .collect();
                (i, terms)
            })
            .collect()
    }

    /// Panics unless some master logged becoming leader and no term had two leaders.
    pub fn assert_one_leader_per_term(&self) {
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, terms) in self.leader_terms() {
            for t in terms {
                if let Some(other) = seen.insert(t, i) {
                    panic!(
                        "term {t} had two leaders: {} and {}",
                        self.name(other),
                        self.name(i)
                    );
                }
            }
        }
        assert!(!seen.is_empty(), "leader elections are logged");
    }

    fn procs(&self) -> MutexGuard<'_, Vec<Option<BosunProcess>>> {
        // A panic while holding the lock cannot leave the list half-changed: take it over.
        self.procs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `f` to master `i`'s process; fails if it is down.
    fn with_process(
        &self,
        i: usize,
        f: impl FnOnce(&mut BosunProcess) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut procs = self.procs();
        let p = procs[i]
            .as_mut()
            .with_context(|| format!("{} is down", self.name(i)))?;
        f(p)
    }

    /// Fails for good (ending a wait) when a master that should run has exited.
    fn check_running(&self) -> anyhow::Result<()> {
        for p in self.procs().iter_mut().flatten() {
            if !p.is_running() {
                return Err(give_up(anyhow!(
                    "{} exited; log tail:\n{}",
                    p.command_line(),
                    p.log_tail(LOG_TAIL_LINES)
                )));
            }
        }
        Ok(())
    }

    fn join_addrs(&self, masters: impl Iterator<Item = usize>) -> String {
        masters.map(|i| self.addr(i)).collect::<Vec<_>>().join(",")
    }
}
