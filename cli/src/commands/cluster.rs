//! `bosun cluster status` and `bosun cluster remove-master NAME`.
use bosun_proto::v1::cluster_client::ClusterClient;
use bosun_proto::v1::{ClusterStatus, ClusterStatusRequest, RemoveMasterRequest};

use crate::Context;

#[derive(clap::Subcommand)]
pub enum ClusterCommand {
    /// Every master: role, term, commit and applied index.
    Status,
    /// Remove a master from the cluster (leadership moves off it first if it leads).
    RemoveMaster {
        /// The master's name.
        name: String,
    },
}

pub async fn run(ctx: &Context, cmd: ClusterCommand) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let mut cluster = ClusterClient::new(client.channel());
    let status = match cmd {
        ClusterCommand::Status => cluster.status(ClusterStatusRequest {}).await,
        ClusterCommand::RemoveMaster { name } => {
            let s = cluster
                .remove_master(RemoveMasterRequest { name: name.clone() })
                .await;
            if s.is_ok() {
                println!("master {name} removed");
            }
            s
        }
    }
    .map_err(bosun_shared::client::ClientError::from)?;
    crate::commands::emit(&render(&status.into_inner()))?;
    Ok(())
}

/// A kubectl-style table of the masters.
fn render(s: &ClusterStatus) -> String {
    let mut rows = vec![
        ["NAME", "ID", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED"]
            .map(str::to_string)
            .to_vec(),
    ];
    for m in &s.members {
        let member = m.member.clone().unwrap_or_default();
        let role = if m.error.is_empty() {
            m.role.clone()
        } else {
            format!("{} ({})", m.role, m.error)
        };
        rows.push(vec![
            member.name,
            member.id.to_string(),
            member.address,
            role,
            m.term.to_string(),
            m.commit.to_string(),
            m.applied.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("   ").trim_end());
        out.push('\n');
    }
    out
}
