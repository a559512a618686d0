//! One spawned `bosun` process (any program, really), its stdout and stderr appended to a log
//! file so a failing test can show what it said. Signals go through the `kill` command, so no
//! libc or nix dependency. Dropping a [`BosunProcess`] kills it (SIGKILL) and reaps it.
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use crate::wait::give_up;

/// How long [`BosunProcess::stop`] waits after SIGTERM before it sends SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A spawned child process whose output goes to a log file.
#[derive(Debug)]
pub struct BosunProcess {
    child: Child,
    log_path: PathBuf,
    /// Length of the log when this process started, so its own output can be told apart from
    /// that of an earlier process writing to the same file.
    log_start: u64,
    /// `bin args…`, for messages.
    command_line: String,
    /// Set once the child has been reaped.
    exit: Option<ExitStatus>,
}

impl BosunProcess {
    /// Starts `bin args…` with `env` added to the inherited environment, stdin closed, and stdout
    /// and stderr appended to `log_path` (created, with its directory, if missing). A header line
    /// with the command line is written to the log first.
    pub fn spawn(
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log_path: &Path,
    ) -> anyhow::Result<BosunProcess> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("create log directory {}", dir.display()))?;
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("open log {}", log_path.display()))?;
        let command_line = std::iter::once(bin.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        writeln!(
            log,
            "==== harness: {}.{:03} spawn {command_line}",
            now.as_secs(),
            now.subsec_millis()
        )?;
        log.flush()?;
        let log_start = log.metadata()?.len();
        let stderr = log.try_clone()?;
        let child = Command::new(bin)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("spawn {command_line}"))?;
        Ok(BosunProcess {
            child,
            log_path: log_path.to_path_buf(),
            log_start,
            command_line,
            exit: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file the process writes to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The command line it was started with.
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// The last `lines` lines of the log (the whole file, earlier processes included).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_log(&self.log_path, lines)
    }

    /// What this process has written to its log so far (not what earlier processes wrote).
    pub fn output(&self) -> String {
        let all = std::fs::read(&self.log_path).unwrap_or_default();
        let from = usize::try_from(self.log_start)
            .unwrap_or(usize::MAX)
            .min(all.len());
        String::from_utf8_lossy(&all[from..]).into_owned()
    }

    /// Whether it has not exited yet (a stopped process is running). Reaps it if it has.
    pub fn is_running(&mut self) -> bool {
        self.try_exit_status().is_none()
    }

    /// Its exit status once it has exited, without waiting.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// Waits up to `timeout` for it to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit {
                return Ok(Some(status));
            }
            if let Some(status) = self.child.try_wait().context("wait for child")? {
                self.exit = Some(status);
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= end {
                return Ok(None);
            }
            std::thread::sleep(std::cmp::min(Duration::from_millis(20), end - now));
        }
    }

    /// Sends `signal` (a name such as `TERM`, `STOP`) with the `kill` command. Does nothing once
    /// the process has been reaped, so a reused pid is never signalled.
    pub fn signal(&mut self, signal: &str) -> anyhow::Result<()> {
        if self.try_exit_status().is_some() {
            return Ok(());
        }
        let out = Command::new("kill")
            .args(["-s", signal, &self.pid().to_string()])
            .output()
            .context("run `kill`")?;
        if !out.status.success() && self.try_exit_status().is_none() {
            bail!(
                "kill -s {signal} {} failed: {}",
                self.pid(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// SIGKILL, then reaps it.
    pub fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.try_exit_status() {
            return Ok(status);
        }
        self.child
            .kill()
            .with_context(|| format!("kill {}", self.command_line))?;
        let status = self.child.wait().context("reap killed child")?;
        self.exit = Some(status);
        Ok(status)
    }

    /// SIGCONT (in case it is paused) and SIGTERM, then SIGKILL if it has not exited within
    /// [`STOP_GRACE`].
    pub fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        self.stop_within(STOP_GRACE)
    }

    /// [`stop`](Self::stop) with a chosen grace period.
    pub fn stop_within(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.try_exit_status() {
            return Ok(status);
        }
        let _ = self.signal("CONT");
        self.signal("TERM")?;
        match self.wait_exit(grace)? {
            Some(status) => Ok(status),
            None => self.kill(),
        }
    }

    /// SIGSTOP: the process freezes (its sockets stay open, it answers nothing).
    pub fn pause(&mut self) -> anyhow::Result<()> {
        self.signal("STOP")
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.signal("CONT")
    }

    /// Waits until this process's own output contains `needle`; fails early if it exits.
    pub fn wait_output_contains(&mut self, needle: &str, deadline: Duration) -> anyhow::Result<()> {
        let what = format!("`{needle}` in the output of {}", self.command_line);
        crate::wait::wait_for_blocking(&what, deadline, || {
            if self.output().contains(needle) {
                return Ok(Some(()));
            }
            if let Some(status) = self.try_exit_status() {
                return Err(give_up(anyhow::anyhow!(
                    "process exited ({status}); log tail:\n{}",
                    self.log_tail(40)
                )));
            }
            Ok(None)
        })
    }
}

impl Drop for BosunProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last `lines` lines of the file at `path`, or a note saying it could not be read.
pub fn tail_log(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_of(pid: u32) -> char {
        // /proc/<pid>/stat: "pid (comm) S ..."
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.chars().next().unwrap()
    }

    #[test]
    fn spawn_log_pause_resume_stop() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/p.log");
        let mut p = BosunProcess::spawn(
            Path::new("/bin/sh"),
            &["-c", "echo started $GREETING; echo oops >&2; exec sleep 60"],
            &[("GREETING", "hi")],
            &log,
        )
        .unwrap();
        p.wait_output_contains("started hi", Duration::from_secs(10))
            .unwrap();
        p.wait_output_contains("oops", Duration::from_secs(10))
            .unwrap();
        assert!(p.is_running());
        let pid = p.pid();

        p.pause().unwrap();
        crate::wait::wait_for_blocking("state T", Duration::from_secs(5), || {
            Ok((state_of(pid) == 'T').then_some(()))
        })
        .unwrap();
        p.resume().unwrap();
        crate::wait::wait_for_blocking("state S", Duration::from_secs(5), || {
            Ok((state_of(pid) != 'T').then_some(()))
        })
        .unwrap();

        // Paused processes still stop: stop() continues them first.
        p.pause().unwrap();
        let start = Instant::now();
        let status = p.stop().unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!status.success());
        assert!(!p.is_running());
        // Signalling a reaped process is a no-op.
        p.pause().unwrap();

        let tail = tail_log(&log, 2);
        assert_eq!(tail, "started hi\noops");
        assert!(tail_log(&log, 100).starts_with("==== harness: "));
    }

    #[test]
    fn second_process_output_is_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("p.log");
        let mut a =
            BosunProcess::spawn(Path::new("/bin/sh"), &["-c", "echo first"], &[], &log).unwrap();
        assert!(a
            .wait_exit(Duration::from_secs(10))
            .unwrap()
            .unwrap()
            .success());
        let mut b =
            BosunProcess::spawn(Path::new("/bin/sh"), &["-c", "echo second"], &[], &log).unwrap();
        b.wait_output_contains("second", Duration::from_secs(10))
            .unwrap();
        assert!(!b.output().contains("first"));
        assert!(tail_log(&log, 100).contains("first"));
    }

    #[test]
    fn early_exit_fails_the_wait_with_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("p.log");
        let mut p = BosunProcess::spawn(
            Path::new("/bin/sh"),
            &["-c", "echo bind failed; exit 3"],
            &[],
            &log,
        )
        .unwrap();
        let start = Instant::now();
        let err = p
            .wait_output_contains("listening on", Duration::from_secs(30))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bind failed"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10), "{err}");
        assert_eq!(p.try_exit_status().unwrap().code(), Some(3));
    }

    #[test]
    fn kill_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("p.log");
        let mut p = BosunProcess::spawn(Path::new("/bin/sleep"), &["60"], &[], &log).unwrap();
        let status = p.kill().unwrap();
        assert!(!status.success());
        assert!(!p.is_running());

        let p = BosunProcess::spawn(Path::new("/bin/sleep"), &["60"], &[], &log).unwrap();
        let pid = p.pid();
        drop(p);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn tail_of_a_missing_log() {
        assert!(tail_log(Path::new("/nonexistent/log"), 5).starts_with("<cannot read"));
    }
}
