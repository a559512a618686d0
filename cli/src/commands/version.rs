//! `bosun version`: the client's version and the server's, with a warning when they differ
//! (kubectl warns when they are more than one minor version apart; Bosun's wire protocol is
//! young, so any difference is worth a warning).
use crate::Context;

pub async fn run(ctx: &Context) -> anyhow::Result<()> {
    let client_version = env!("CARGO_PKG_VERSION");
    println!("Client Version: v{client_version}");
    let v = ctx.client().await?.version().await?;
    println!(
        "Server Version: v{} (master {}, raft leader {}, term {}, revision {})",
        v.version, v.master, v.leader_id, v.term, v.revision
    );
    if let Some(warning) = mismatch(client_version, &v.version) {
        eprintln!("{warning}");
    }
    Ok(())
}

fn mismatch(client: &str, server: &str) -> Option<String> {
    (client != server).then(|| {
        format!(
            "WARNING: version difference between client (v{client}) and server (v{server}); \
             upgrade the older one"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_on_a_difference() {
        assert_eq!(mismatch("0.1.0", "0.1.0"), None);
        assert!(mismatch("0.1.0", "0.2.0")
            .unwrap()
            .contains("client (v0.1.0) and server (v0.2.0)"));
    }
}
