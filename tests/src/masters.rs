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
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::net::free_port;
use crate::process::{tail_log, BosunProcess};
use crate::wait::{give_up, wait_for_blocking};

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

/// One row of `bosun cluster status` (columns `NAME ID ADDRESS ROLE TERM COMMIT APPLIED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub id: u64,
    pub address: String,
    /// `leader`, `follower`, `learner`, ….
    pub role: String,
    /// Why the answering master could not tell more (printed as `ROLE (error)`), if it says.
    pub error: Option<String>,
    pub term: u64,
    pub commit: u64,
    pub applied: u64,
}

impl Member {
    /// Which of the [`Masters`] this is: `m<n>` is index `n - 1`.
    pub fn index(&self) -> Option<usize> {
        let n: usize = self.name.strip_prefix('m')?.parse().ok()?;
        n.checked_sub(1)
    }
}

/// The masters as `bosun cluster status` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub members: Vec<Member>,
}

impl Status {
    /// Parses the table printed by `bosun cluster status`: the header line, then one row per
    /// member. Lines before the header are ignored.
    pub fn parse(output: &str) -> anyhow::Result<Status> {
        let mut lines = output.lines();
        lines
            .by_ref()
            .find(|l| l.split_whitespace().next() == Some("NAME"))
            .with_context(|| format!("no status table in {output:?}"))?;
        let members = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_row(l).with_context(|| format!("bad status row {l:?}")))
            .collect::<anyhow::Result<_>>()?;
        Ok(Status { members })
    }

    /// How many members have `role`.
    pub fn count(&self, role: &str) -> usize {
        self.members.iter().filter(|m| m.role == role).count()
    }

    /// The first member listed as leader that is one of the [`Masters`], with its index.
    pub fn leader(&self) -> Option<(usize, &Member)> {
        self.members
            .iter()
            .filter(|m| m.role == "leader")
            .find_map(|m| Some((m.index()?, m)))
    }

    /// The row of master `i`.
    pub fn member(&self, i: usize) -> Option<&Member> {
        self.members.iter().find(|m| m.index() == Some(i))
    }

    /// Whether `n` members are listed, exactly one leads and every one is a voter.
    pub fn settled(&self, n: usize) -> bool {
        self.members.len() == n
            && self.count("leader") == 1
            && self
                .members
                .iter()
                .all(|m| m.role == "leader" || m.role == "follower")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.members.is_empty() {
            return write!(f, "no members");
        }
        for (n, m) in self.members.iter().enumerate() {
            let sep = if n == 0 { "" } else { ", " };
            write!(
                f,
                "{sep}{}={} term {} commit {} applied {}",
                m.name, m.role, m.term, m.commit, m.applied
            )?;
            if let Some(e) = &m.error {
                write!(f, " ({e})")?;
            }
        }
        Ok(())
    }
}

/// One row: the first four columns, then the last three; what lies between is the error that
/// follows the role in parentheses.
fn parse_row(line: &str) -> anyhow::Result<Member> {
    let c: Vec<&str> = line.split_whitespace().collect();
    if c.len() < 7 {
        bail!("{} columns, want at least 7", c.len());
    }
    let number = |s: &str| {
        s.parse::<u64>()
            .with_context(|| format!("{s:?} is no number"))
    };
    let n = c.len();
    let error = c[4..n - 3].join(" ");
    let error = error.trim_start_matches('(').trim_end_matches(')');
    Ok(Member {
        name: c[0].to_string(),
        id: number(c[1])?,
        address: c[2].to_string(),
        role: c[3].to_string(),
        error: (!error.is_empty()).then(|| error.to_string()),
        term: number(c[n - 3])?,
        commit: number(c[n - 2])?,
        applied: number(c[n - 1])?,
    })
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
            root.join(format!("{name}.yaml")).display().to_string(),
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
        }
        args
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
        let args = ["--server", servers, "cluster", "status"];
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

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
NAME   ID                    ADDRESS           ROLE                          TERM   COMMIT   APPLIED
m1     1                     127.0.0.1:4001    leader                        3      42       42
m2     7251064893129457203   127.0.0.1:4002    follower (unreachable: refused)   2      40       39
m3     9                     127.0.0.1:4003    follower                      3      42       41
";

    #[test]
    fn parses_the_table() {
        let s = Status::parse(&format!("a warning first\n{TABLE}")).unwrap();
        assert_eq!(s.members.len(), 3);
        let m2 = s.member(1).unwrap();
        assert_eq!(m2.id, 7251064893129457203);
        assert_eq!(m2.address, "127.0.0.1:4002");
        assert_eq!(m2.role, "follower");
        assert_eq!(m2.error.as_deref(), Some("unreachable: refused"));
        assert_eq!((m2.term, m2.commit, m2.applied), (2, 40, 39));
        assert_eq!(s.member(2).unwrap().error, None);
        let (i, leader) = s.leader().unwrap();
        assert_eq!((i, leader.name.as_str(), leader.commit), (0, "m1", 42));
        assert_eq!(s.count("follower"), 2);
        assert!(s.settled(3));
        assert!(!s.settled(2));
        assert!(s
            .to_string()
            .starts_with("m1=leader term 3 commit 42 applied 42, m2=follower"));
    }

    #[test]
    fn rejects_what_is_no_table() {
        assert!(Status::parse("error: cannot reach the master").is_err());
        assert!(Status::parse("NAME ID\nm1 x 127.0.0.1:1 leader 1 2 3").is_err());
        assert_eq!(Status::parse("NAME ID\n").unwrap(), Status::default());
    }
}
