//! `bosun logs POD [-f] [--tail N] [-c CONTAINER]`.
use std::io::Write;

use futures::StreamExt;

use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Pod name (or pod/NAME).
    pub pod: String,
    /// Keep streaming new output.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long)]
    pub tail: Option<i64>,
    /// Container of the pod (default: the first).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let pod = args
        .pod
        .strip_prefix("pod/")
        .or_else(|| args.pod.strip_prefix("pods/"))
        .unwrap_or(&args.pod);
    let client = ctx.client().await?;
    let mut stream = client
        .logs(
            &ctx.namespace,
            pod,
            args.container.as_deref(),
            args.follow,
            args.tail,
        )
        .await?;
    let mut stdout = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let written = stdout.write_all(&chunk?).and_then(|()| stdout.flush());
        match written {
            Ok(()) => {}
            // The reader went away (`bosun logs -f | head`): stop quietly, as kubectl does.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
