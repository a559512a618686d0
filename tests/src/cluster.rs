//! [`TestCluster`]: a Bosun cluster on this machine made of real `bosun` processes.
//!
//! Two shapes: [`TestCluster::start_up`] runs `bosun up` (master and agent in one process);
//! [`TestCluster::start_split`] runs `bosun master` and `bosun agent` as separate processes, so
//! either can be killed, paused or restarted on its own. Every cluster lives in a fresh temporary
//! directory:
//!
//! ```text
//! <tmp>/config.yaml          client config; the master writes `server: <addr>` into it
//! <tmp>/up|master|agent/     data directories
//! <tmp>/logs/<role>.log      stdout and stderr of each process, appended across restarts
//! <tmp>/files/               files a test writes (manifests) with `write_file`
//! ```
//!
//! The node name is unique per test (`bosun-test-<pid>-<counter>`), so parallel tests never share
//! containers. Dropping the cluster stops its processes, removes every Docker container labelled
//! `bosun.node=<node>` and deletes the directory (kept when `BOSUN_TEST_KEEP` is set); when the
//! test is panicking it first prints the tail of every process log to stderr.
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::docker::{self, ContainerInfo};
use crate::net::tcp_connects;
use crate::process::{tail_log, BosunProcess};
use crate::wait::{give_up, wait_for_blocking};

/// How long a master (or `bosun up`) may take to start listening.
pub const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long one client command may run before it is killed.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of each process log shown in failure messages.
const LOG_TAIL_LINES: usize = 40;

/// The Docker label every container of `node` carries.
pub fn node_label(node: &str) -> String {
    format!("bosun.node={node}")
}

/// A fresh node name, unique on this machine: `bosun-test-<pid>-<counter>`.
pub fn unique_node_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "bosun-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The result of one client command.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Killed by the harness because it outlived the client timeout.
    pub timed_out: bool,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if self.timed_out {
            write!(f, " (timed out)")?;
        }
        write!(
            f,
            "\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One `bosun up` process (kept in `master`).
    Up,
    /// `bosun master` and `bosun agent`.
    Split,
}

/// A running one-machine cluster; see the module docs.
pub struct TestCluster {
    bin: PathBuf,
    /// `None` once kept (`BOSUN_TEST_KEEP`).
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    config: PathBuf,
    node: String,
    mode: Mode,
    /// `bosun master`, or `bosun up` in up mode.
    master: Option<BosunProcess>,
    agent: Option<BosunProcess>,
    /// The master's port, fixed at its first start so restarts listen on the same address.
    port: Option<u16>,
    agent_labels: Vec<String>,
    client_timeout: Duration,
}

impl TestCluster {
    /// Starts `bosun up` and waits until it listens and has written the client config.
    pub fn start_up(bin: &Path) -> anyhow::Result<TestCluster> {
        let mut cluster = TestCluster::new(bin, Mode::Up, &[])?;
        cluster.start_master()?;
        Ok(cluster)
    }

    /// Starts `bosun master`, waits until it listens, then starts `bosun agent` against it.
    pub fn start_split(bin: &Path) -> anyhow::Result<TestCluster> {
        TestCluster::start_split_with_labels(bin, &[])
    }

    /// [`start_split`](Self::start_split) with `--label k=v` for each of `labels` on the agent.
    pub fn start_split_with_labels(
        bin: &Path,
        labels: &[(&str, &str)],
    ) -> anyhow::Result<TestCluster> {
        let mut cluster = TestCluster::new(bin, Mode::Split, labels)?;
        cluster.start_master()?;
        cluster.start_agent()?;
        Ok(cluster)
    }

    fn new(bin: &Path, mode: Mode, labels: &[(&str, &str)]) -> anyhow::Result<TestCluster> {
        if !bin.exists() {
            bail!("bosun binary {} does not exist", bin.display());
        }
        let node = unique_node_name();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{node}-"))
            .tempdir()
            .context("create the cluster directory")?;
        let root = dir.path().to_path_buf();
        for sub in ["up", "master", "agent", "logs", "files"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(TestCluster {
            bin: bin.to_path_buf(),
            config: root.join("config.yaml"),
            dir: Some(dir),
            root,
            node,
            mode,
            master: None,
            agent: None,
            port: None,
            agent_labels: labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            client_timeout: CLIENT_TIMEOUT,
        })
    }

    // ---- accessors -----------------------------------------------------------------------

    /// The node name of the agent (also the `--name` of `bosun up`).
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The `--name` of the master: the node name in up mode, `<node>-master` when split.
    pub fn master_name(&self) -> String {
        match self.mode {
            Mode::Up => self.node.clone(),
            Mode::Split => format!("{}-master", self.node),
        }
    }

    /// `bosun.node=<node>`: the label of every container this cluster runs.
    pub fn node_label(&self) -> String {
        node_label(&self.node)
    }

    /// The client config file passed as `--config`.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The cluster's temporary directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The `bosun` binary.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The master's port once it has started.
    pub fn master_port(&self) -> Option<u16> {
        self.port
    }

    /// The master process (the `bosun up` process in up mode), to pause, signal or inspect.
    pub fn master_process(&mut self) -> Option<&mut BosunProcess> {
        self.master.as_mut()
    }

    /// The agent process (none in up mode).
    pub fn agent_process(&mut self) -> Option<&mut BosunProcess> {
        self.agent.as_mut()
    }

    /// The containers of this cluster's node (label `bosun.node=<node>`).
    pub fn containers(&self) -> anyhow::Result<Vec<ContainerInfo>> {
        docker::containers_with_label(&self.node_label())
    }

    /// Writes `contents` to `<tmp>/files/<name>` and returns the path, for `apply -f`.
    pub fn write_file(&self, name: &str, contents: &str) -> anyhow::Result<String> {
        let path = self.root.join("files").join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, contents).with_context(|| format!("write {}", path.display()))?;
        path.into_os_string()
            .into_string()
            .map_err(|p| anyhow::anyhow!("non-UTF-8 path {p:?}"))
    }

    /// The address the master wrote into the client config (`server: <addr>`), waiting up to
    /// [`START_DEADLINE`] for it. Panics with the process logs if it never appears.
    pub fn server(&self) -> String {
        self.try_server().unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// [`server`](Self::server) as a `Result`.
    pub fn try_server(&self) -> anyhow::Result<String> {
        wait_for_blocking("`server:` in the client config", START_DEADLINE, || {
            read_server(&self.config)
        })
        .map_err(|e| self.with_logs(e))
    }

    /// The tail of every process log, each under a header, for failure messages.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for role in ["up", "master", "agent"] {
            let path = self.log_path(role);
            if path.exists() {
                out.push_str(&format!(
                    "--- {role} log {} (last {lines} lines) ---\n{}\n",
                    path.display(),
                    tail_log(&path, lines)
                ));
            }
        }
        out
    }

    /// `e` followed by the tail of every process log.
    fn with_logs(&self, e: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!("{e:#}\n{}", self.logs_tail(LOG_TAIL_LINES))
    }

    fn log_path(&self, role: &str) -> PathBuf {
        self.root.join("logs").join(format!("{role}.log"))
    }

    fn path_str(path: &Path) -> anyhow::Result<&str> {
        path.to_str()
            .with_context(|| format!("non-UTF-8 path {}", path.display()))
    }

    // ---- lifecycle -----------------------------------------------------------------------

    /// Starts the master (`bosun up` in up mode) on its data directory and waits until it
    /// listens. The first start listens on port 0; later starts reuse the port it got, so
    /// agents and the client config stay valid.
    pub fn start_master(&mut self) -> anyhow::Result<()> {
        if let Some(master) = self.master.as_mut() {
            if master.is_running() {
                bail!("the master is already running (pid {})", master.pid());
            }
        }
        let listen = format!("127.0.0.1:{}", self.port.unwrap_or(0));
        let (role, data_dir) = match self.mode {
            Mode::Up => ("up", self.root.join("up")),
            Mode::Split => ("master", self.root.join("master")),
        };
        let name = self.master_name();
        let config = Self::path_str(&self.config)?;
        let data_dir = Self::path_str(&data_dir)?;
        let args = [
            "--config",
            config,
            role,
            "--listen",
            &listen,
            "--data-dir",
            data_dir,
            "--name",
            &name,
        ];
        let mut process =
            BosunProcess::spawn(&self.bin, &args, &process_env(), &self.log_path(role))?;
        let ready = wait_until_listening(&mut process, &self.config);
        self.master = Some(process);
        let addr = ready.map_err(|e| self.with_logs(e))?;
        let port = port_of(&addr)?;
        if let Some(expected) = self.port {
            if port != expected {
                bail!("the master came back on port {port}, not {expected}");
            }
        }
        self.port = Some(port);
        Ok(())
    }

    /// The node join token the master made at its first start (beside its store).
    pub fn node_token(&self) -> anyhow::Result<String> {
        let dir = match self.mode {
            Mode::Up => self.root.join("up").join("master"),
            Mode::Split => self.root.join("master"),
        };
        let path = dir.join("node-token");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("read the node join token {}", path.display()))?;
        Ok(text.trim().to_string())
    }

    /// SIGKILLs the master (the whole `bosun up` process in up mode).
    pub fn kill_master(&mut self) -> anyhow::Result<()> {
        if let Some(master) = self.master.as_mut() {
            master.kill()?;
        }
        Ok(())
    }

    /// Stops the master gracefully (SIGTERM, SIGKILL after 10 s).
    pub fn stop_master(&mut self) -> anyhow::Result<()> {
        if let Some(master) = self.master.as_mut() {
            master.stop()?;
        }
        Ok(())
    }

    /// Stops the master gracefully and starts it again on the same data directory and port.
    pub fn restart_master(&mut self) -> anyhow::Result<()> {
        self.stop_master()?;
        self.start_master()
    }

    /// Starts `bosun agent` against the master's address (split mode only). Does not wait for
    /// the node to register; see [`wait_node_ready`](Self::wait_node_ready).
    pub fn start_agent(&mut self) -> anyhow::Result<()> {
        if self.mode != Mode::Split {
            bail!("a `bosun up` cluster has no separate agent");
        }
        if let Some(agent) = self.agent.as_mut() {
            if agent.is_running() {
                bail!("the agent is already running (pid {})", agent.pid());
            }
        }
        let server = self.try_server()?;
        let data_dir = self.root.join("agent");
        let token = self.node_token()?;
        let mut args = vec![
            "agent",
            "--master",
            &server,
            "--data-dir",
            Self::path_str(&data_dir)?,
            "--name",
            &self.node,
            "--token",
            &token,
        ];
        for label in &self.agent_labels {
            args.extend(["--label", label.as_str()]);
        }
        let process =
            BosunProcess::spawn(&self.bin, &args, &process_env(), &self.log_path("agent"))?;
        self.agent = Some(process);
        Ok(())
    }

    /// SIGKILLs the agent; its containers keep running.
    pub fn kill_agent(&mut self) -> anyhow::Result<()> {
        if self.mode != Mode::Split {
            bail!("a `bosun up` cluster has no separate agent");
        }
        if let Some(agent) = self.agent.as_mut() {
            agent.kill()?;
        }
        Ok(())
    }

    /// Stops the agent gracefully (SIGTERM, SIGKILL after 10 s).
    pub fn stop_agent(&mut self) -> anyhow::Result<()> {
        if self.mode != Mode::Split {
            bail!("a `bosun up` cluster has no separate agent");
        }
        if let Some(agent) = self.agent.as_mut() {
            agent.stop()?;
        }
        Ok(())
    }

    /// Stops the agent gracefully and starts it again on the same data directory.
    pub fn restart_agent(&mut self) -> anyhow::Result<()> {
        self.stop_agent()?;
        self.start_agent()
    }

    // ---- client --------------------------------------------------------------------------

    /// Changes how long each client command may run (default [`CLIENT_TIMEOUT`]).
    pub fn set_client_timeout(&mut self, timeout: Duration) {
        self.client_timeout = timeout;
    }

    /// Runs `bosun --config <config> args…` and returns what it did; killed after the client
    /// timeout (then `timed_out` is set).
    pub fn bosun(&self, args: &[&str]) -> CmdOutput {
        self.run_client(args, None)
    }

    /// [`bosun`](Self::bosun) with `stdin` fed to the command (for `apply -f -`).
    pub fn bosun_stdin(&self, args: &[&str], stdin: &str) -> CmdOutput {
        self.run_client(args, Some(stdin))
    }

    /// Runs the client and returns its stdout; panics on failure with its output and the tail
    /// of the process logs.
    pub fn bosun_ok(&self, args: &[&str]) -> String {
        self.try_bosun_ok(args).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// [`bosun_ok`](Self::bosun_ok) as a `Result`.
    pub fn try_bosun_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.bosun(args);
        if out.success() {
            Ok(out.stdout)
        } else {
            bail!(
                "`bosun {}` failed: {out}\n{}",
                args.join(" "),
                self.logs_tail(LOG_TAIL_LINES)
            )
        }
    }

    /// Runs the client expecting it to fail; panics (with its output) if it succeeds.
    pub fn bosun_fails(&self, args: &[&str]) -> CmdOutput {
        let out = self.bosun(args);
        assert!(
            !out.success(),
            "`bosun {}` succeeded but should have failed: {out}",
            args.join(" ")
        );
        out
    }

    /// [`bosun`](Self::bosun) for async tests (does not block the runtime).
    pub async fn bosun_async(&self, args: &[&str]) -> CmdOutput {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return spawn_failure(&self.bin, e),
        };
        match tokio::time::timeout(self.client_timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => CmdOutput {
                status: out.status,
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                timed_out: false,
            },
            Ok(Err(e)) => spawn_failure(&self.bin, e),
            // Dropping the future killed the child (`kill_on_drop`).
            Err(_) => CmdOutput {
                status: ExitStatus::from_raw(9),
                stdout: String::new(),
                stderr: format!(
                    "[harness: killed after {:?}; output lost]",
                    self.client_timeout
                ),
                timed_out: true,
            },
        }
    }

    /// Starts a long-running client command (`logs -f`, a watch) as a process whose output
    /// goes to `<tmp>/logs/<log_name>.log`.
    pub fn spawn_client(&self, args: &[&str], log_name: &str) -> anyhow::Result<BosunProcess> {
        let mut full = vec!["--config", Self::path_str(&self.config)?];
        full.extend_from_slice(args);
        BosunProcess::spawn(
            &self.bin,
            &full,
            &[("NO_COLOR", "1")],
            &self.log_path(log_name),
        )
    }

    /// Runs `bosun args…` until it succeeds and `accept(stdout)` holds; returns that stdout.
    pub fn wait_for_output(
        &self,
        args: &[&str],
        what: &str,
        deadline: Duration,
        mut accept: impl FnMut(&str) -> bool,
    ) -> anyhow::Result<String> {
        wait_for_blocking(what, deadline, || {
            let out = self.bosun(args);
            if !out.success() {
                bail!("`bosun {}`: {out}", args.join(" "));
            }
            Ok(accept(&out.stdout).then_some(out.stdout))
        })
        .map_err(|e| self.with_logs(e))
    }

    /// Waits until `bosun get nodes` lists this cluster's node with status `Ready` (a line
    /// whose first column is the node name and that has a `Ready` column).
    pub fn wait_node_ready(&self, deadline: Duration) -> anyhow::Result<()> {
        let what = format!("node {} to be Ready", self.node);
        self.wait_for_output(&["get", "nodes"], &what, deadline, |out| {
            out.lines().any(|line| {
                let mut cols = line.split_whitespace();
                cols.next() == Some(self.node.as_str()) && cols.any(|c| c == "Ready")
            })
        })
        .map(drop)
    }

    fn run_client(&self, args: &[&str], stdin: Option<&str>) -> CmdOutput {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return spawn_failure(&self.bin, e),
        };
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let input = input.to_string();
            std::thread::spawn(move || {
                let _ = pipe.write_all(input.as_bytes());
            });
        }
        let stdout = reader_thread(child.stdout.take());
        let stderr = reader_thread(child.stderr.take());
        let end = Instant::now() + self.client_timeout;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= end => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().unwrap_or(ExitStatus::from_raw(9));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break child.wait().unwrap_or(ExitStatus::from_raw(9)),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let mut stderr = stderr.join().unwrap_or_default();
        if timed_out {
            stderr.push_str(&format!(
                "\n[harness: killed after {:?}]",
                self.client_timeout
            ));
        }
        CmdOutput {
            status,
            stdout,
            stderr,
            timed_out,
        }
    }

    fn remove_containers(&self) {
        let label = self.node_label();
        // A create request in flight when the agent died can land after the first pass.
        for _ in 0..2 {
            match docker::remove_by_label(&label) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => eprintln!("bosun-tests: cleanup of containers {label} failed: {e:#}"),
            }
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "bosun-tests: cluster {} in {} at panic:\n{}",
                self.node,
                self.root.display(),
                self.logs_tail(LOG_TAIL_LINES)
            );
        }
        if let Some(mut agent) = self.agent.take() {
            let _ = agent.stop();
        }
        if let Some(mut master) = self.master.take() {
            let _ = master.stop();
        }
        self.remove_containers();
        if std::env::var_os("BOSUN_TEST_KEEP").is_some() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("bosun-tests: kept {}", kept.display());
            }
        }
    }
}

/// Environment for master and agent processes: plain logs, backtraces, and `RUST_LOG=info`
/// unless the caller set one.
fn process_env() -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("NO_COLOR", "1"), ("RUST_BACKTRACE", "1")];
    if std::env::var_os("RUST_LOG").is_none() {
        env.push(("RUST_LOG", "info"));
    }
    env
}

/// Waits until `process` has written `server:` into `config` and accepts connections there;
/// returns the address. Fails early if the process exits.
fn wait_until_listening(process: &mut BosunProcess, config: &Path) -> anyhow::Result<String> {
    let what = format!("{} to listen", process.command_line());
    wait_for_blocking(&what, START_DEADLINE, || {
        if let Some(status) = process.try_exit_status() {
            return Err(give_up(anyhow::anyhow!("it exited ({status})")));
        }
        let Some(addr) = read_server(config)? else {
            return Ok(None);
        };
        if !tcp_connects(&addr, Duration::from_secs(1)) {
            bail!("nothing accepts connections at {addr} yet");
        }
        // The file was complete by the time the address took connections.
        Ok(read_server(config)?.filter(|again| *again == addr))
    })
}

/// The `server:` value of the client config, `None` while the file or the key is missing.
fn read_server(config: &Path) -> anyhow::Result<Option<String>> {
    let cfg = bosun_shared::client_config::load(config)?;
    Ok(cfg
        .context(None, config)?
        .and_then(|(_, c)| c.servers().into_iter().next()))
}

/// The port of `addr` (`host:port`, optionally `http://…`).
fn port_of(addr: &str) -> anyhow::Result<u16> {
    addr.trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in server address {addr:?}"))
}

fn reader_thread<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn spawn_failure(bin: &Path, e: std::io::Error) -> CmdOutput {
    CmdOutput {
        status: ExitStatus::from_raw(127 << 8),
        stdout: String::new(),
        stderr: format!("[harness: cannot run {}: {e}]", bin.display()),
        timed_out: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        assert_eq!(read_server(&config).unwrap(), None);
        std::fs::write(&config, "# written by bosun\n").unwrap();
        assert_eq!(read_server(&config).unwrap(), None);
        let yaml =
            "current-context: default\ncontexts:\n  default:\n    server: \"127.0.0.1:4242\"\n";
        std::fs::write(&config, yaml).unwrap();
        assert_eq!(
            read_server(&config).unwrap().as_deref(),
            Some("127.0.0.1:4242")
        );

        assert_eq!(port_of("127.0.0.1:4242").unwrap(), 4242);
        assert_eq!(port_of("http://127.0.0.1:80/").unwrap(), 80);
        assert_eq!(port_of("[::1]:9").unwrap(), 9);
        assert!(port_of("localhost").is_err());
    }

    #[test]
    fn node_names_are_unique() {
        let a = unique_node_name();
        let b = unique_node_name();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("bosun-test-{}-", std::process::id())));
        assert_eq!(node_label("n"), "bosun.node=n");
    }
}
