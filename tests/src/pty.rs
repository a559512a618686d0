//! [`PtyProcess`]: a process whose standard input, output and error are a pseudo-terminal the
//! test drives: what `bosun exec -it` needs to be tested with a real TTY.
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

use crate::wait::wait_for_blocking;

/// A child on a pseudo-terminal; killed when dropped.
pub struct PtyProcess {
    child: Child,
    terminal: File,
    output: Arc<Mutex<Vec<u8>>>,
}

impl PtyProcess {
    /// Starts `bin args…` with `envs`, its stdin, stdout and stderr the terminal's other end.
    pub fn spawn(bin: &Path, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<PtyProcess> {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).context("openpt")?;
        grantpt(&master).context("grantpt")?;
        unlockpt(&master).context("unlockpt")?;
        let name = ptsname(&master, Vec::new()).context("ptsname")?;
        let path = name.to_str().context("pty name")?.to_string();
        let side = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {path}"))?;
        let child = Command::new(bin)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::from(side.try_clone()?))
            .stdout(Stdio::from(side.try_clone()?))
            .stderr(Stdio::from(side))
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let terminal = File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (terminal.try_clone()?, output.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with an error (EIO) once the child and its copies of the terminal are gone.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock()
                    .expect("pty output")
                    .extend_from_slice(&buf[..n]);
            }
        });
        Ok(PtyProcess {
            child,
            terminal,
            output,
        })
    }

    /// Types `text` on the terminal.
    pub fn write(&mut self, text: &str) -> anyhow::Result<()> {
        self.terminal.write_all(text.as_bytes())?;
        Ok(self.terminal.flush()?)
    }

    /// Everything the process wrote to the terminal so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("pty output")).into_owned()
    }

    /// Waits until the terminal shows `needle`.
    pub fn wait_output_contains(&self, needle: &str, deadline: Duration) -> anyhow::Result<()> {
        wait_for_blocking(&format!("{needle:?} on the terminal"), deadline, || {
            Ok(self.output().contains(needle).then_some(()))
        })
        .with_context(|| format!("terminal so far: {:?}", self.output()))
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, deadline: Duration) -> anyhow::Result<ExitStatus> {
        wait_for_blocking("the process on the terminal to exit", deadline, || {
            Ok(self.child.try_wait()?)
        })
        .with_context(|| format!("terminal so far: {:?}", self.output()))
    }
}

impl Drop for PtyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
