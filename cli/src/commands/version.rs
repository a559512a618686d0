//! `bosun version`.
use crate::Context;

pub async fn run(ctx: &Context) -> anyhow::Result<()> {
    println!("Client Version: v{}", env!("CARGO_PKG_VERSION"));
    let v = ctx.client().await?.version().await?;
    println!(
        "Server Version: v{} (master {}, raft leader {}, term {}, revision {})",
        v.version, v.master, v.leader_id, v.term, v.revision
    );
    Ok(())
}
