//! Scripted commands in a [`FakeRuntime`]'s containers: what [`Runtime::exec`] answers, so
//! probes can be made to pass, fail or time out.
//!
//! [`Runtime::exec`]: crate::runtime::Runtime::exec
use std::time::Duration;

use super::FakeRuntime;
use futures::StreamExt;

use crate::runtime::{AttachedExec, ExecChunk, ExecOutput, ExecSpec, RunState, RuntimeError};

/// What running a command in a container of a [`FakeRuntime`] does ([`FakeRuntime::script_exec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeExec {
    /// Ends at once with this exit code and output.
    Exit { code: i64, output: String },
    /// Never ends: the exec times out.
    Hang,
}

impl FakeRuntime {
    /// Makes every later exec of `command` (in any container) do `what`; probes use this to
    /// be scripted healthy or not.
    pub fn script_exec(&self, command: &[&str], what: FakeExec) {
        self.lock().execs.insert(command.join(" "), what);
    }

    /// How many times `command` was run in any container.
    pub fn exec_count(&self, command: &[&str]) -> u64 {
        let key = command.join(" ");
        self.lock().exec_counts.get(&key).copied().unwrap_or(0)
    }

    /// Runs `command` as scripted: only in a running container, counted.
    pub(super) async fn run_exec(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, RuntimeError> {
        let key = command.join(" ");
        let what = {
            let mut state = self.lock();
            let resolved = state.resolve(id)?;
            let running = state
                .containers
                .get(&resolved)
                .is_some_and(|c| c.observed.state == RunState::Running);
            if !running {
                // Docker's answer (409) to an exec in a stopped container.
                return Err(RuntimeError::Container {
                    name: id.to_string(),
                    message: format!("Container {resolved} is not running"),
                });
            }
            *state.exec_counts.entry(key.clone()).or_default() += 1;
            state.execs.get(&key).cloned()
        };
        match what.unwrap_or(FakeExec::Exit {
            code: 0,
            output: String::new(),
        }) {
            FakeExec::Exit { code, output } => Ok(ExecOutput {
                exit_code: code,
                output,
            }),
            FakeExec::Hang => {
                tokio::time::sleep(timeout).await;
                Err(RuntimeError::ExecTimeout {
                    name: id.to_string(),
                    command: command.to_vec(),
                    after: timeout,
                })
            }
        }
    }

    /// An attached exec: runs as scripted, its output one chunk, its input discarded.
    pub(super) async fn attach_exec(
        &self,
        id: &str,
        spec: &ExecSpec,
    ) -> Result<AttachedExec, RuntimeError> {
        let out = self
            .run_exec(id, &spec.command, Duration::from_secs(3600))
            .await?;
        let exec_id = {
            let mut state = self.lock();
            state.next_id += 1;
            let exec_id = format!("fake-exec-{}", state.next_id);
            state.attached_exits.insert(exec_id.clone(), out.exit_code);
            exec_id
        };
        let chunk = ExecChunk {
            stderr: false,
            data: bytes::Bytes::from(out.output),
        };
        Ok(AttachedExec {
            id: exec_id,
            output: futures::stream::iter([Ok(chunk)]).boxed(),
            input: Box::pin(tokio::io::sink()),
        })
    }
}
