//! `exec` probes: a command run in the container; exit code 0 is success.
use std::time::Duration;

use super::action::Outcome;
use crate::runtime::{Runtime, RuntimeError};

/// Runs `command` in container `id`, at most `timeout`.
pub async fn run<R: Runtime>(
    runtime: &R,
    id: &str,
    command: &[String],
    timeout: Duration,
) -> Outcome {
    match runtime.exec(id, command, timeout).await {
        Ok(out) if out.exit_code == 0 => Outcome::Success,
        // Kubernetes reports the command's output; without any, say how it ended.
        Ok(out) => match out.output.trim() {
            "" => Outcome::Failure(format!(
                "command {command:?} exited with code {}",
                out.exit_code
            )),
            output => Outcome::Failure(output.to_string()),
        },
        Err(RuntimeError::ExecTimeout { after, .. }) => Outcome::Failure(format!(
            "command {command:?} timed out after {}s",
            after.as_secs_f64()
        )),
        Err(e) => Outcome::Unknown(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::fake::{FakeExec, FakeRuntime};
    use crate::runtime::{ContainerSpec, Runtime};

    #[tokio::test]
    async fn exit_codes_output_and_timeouts() {
        let fake = FakeRuntime::new(1000, 1 << 30);
        fake.add_image("img");
        let id = fake
            .create(&ContainerSpec {
                image: "img".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let cmd = |s: &str| vec![s.to_string()];
        let second = Duration::from_secs(1);
        assert_eq!(
            run(&fake, &id, &cmd("ok"), second).await,
            Outcome::Unknown(format!("container {id:?}: Container {id} is not running")),
            "a stopped container cannot tell"
        );
        fake.start(&id).await.unwrap();
        assert_eq!(run(&fake, &id, &cmd("ok"), second).await, Outcome::Success);
        let exit = |code, output: &str| FakeExec::Exit {
            code,
            output: output.into(),
        };
        fake.script_exec(&["quiet"], exit(2, ""));
        fake.script_exec(&["loud"], exit(1, "cat: /tmp/healthy: No such file\n"));
        fake.script_exec(&["slow"], FakeExec::Hang);
        assert_eq!(
            run(&fake, &id, &cmd("quiet"), second).await,
            Outcome::Failure("command [\"quiet\"] exited with code 2".into())
        );
        assert_eq!(
            run(&fake, &id, &cmd("loud"), second).await,
            Outcome::Failure("cat: /tmp/healthy: No such file".into())
        );
        assert_eq!(
            run(&fake, &id, &cmd("slow"), Duration::from_millis(50)).await,
            Outcome::Failure("command [\"slow\"] timed out after 0.05s".into())
        );
        assert_eq!(fake.exec_count(&["loud"]), 1);
    }
}
