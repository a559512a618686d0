//! [`ExtraAgent`]: another `bosun agent` process on this machine, a second node of a
//! [`TestCluster`] sharing the Docker engine; its containers are removed when it drops.
use crate::docker::remove_by_label;
use crate::{BosunProcess, TestCluster};

pub struct ExtraAgent {
    pub name: String,
    pub process: Option<BosunProcess>,
}

impl ExtraAgent {
    /// Starts node `<cluster node>-<suffix>` with the given node labels.
    pub fn start(c: &TestCluster, suffix: &str, labels: &[&str]) -> anyhow::Result<ExtraAgent> {
        let name = format!("{}-{suffix}", c.node_name());
        let dir = c.dir().join(format!("agent-{suffix}"));
        let server = c.server();
        let dir = dir.display().to_string();
        let token = c.node_token()?;
        let mut args = vec![
            "agent",
            "--master",
            &server,
            "--name",
            &name,
            "--data-dir",
            &dir,
            "--token",
            &token,
        ];
        for l in labels {
            args.extend(["--label", l]);
        }
        let process = BosunProcess::spawn(
            c.bin(),
            &args,
            &[("NO_COLOR", "1")],
            &c.dir().join(format!("agent-{suffix}.log")),
        )?;
        Ok(ExtraAgent {
            name,
            process: Some(process),
        })
    }

    /// Kills the agent (its containers stay until the guard drops).
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut p) = self.process.take() {
            p.kill()?;
        }
        Ok(())
    }
}

impl Drop for ExtraAgent {
    fn drop(&mut self) {
        // Stop the agent first: a create it still had in flight would otherwise leave a
        // container behind after the cleanup.
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
        }
        let _ = remove_by_label(&format!("bosun.node={}", self.name));
    }
}
