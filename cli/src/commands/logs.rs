//! `bosun logs (POD | KIND/NAME | -l SELECTOR) [-f] [--tail N] [--since 5m] [--previous]
//! [--timestamps] [-c CONTAINER]`. A Deployment, ReplicaSet, DaemonSet or Job, or a label
//! selector, merges the logs of every pod it selects, each line prefixed with
//! `[pod/NAME/CONTAINER]`.
use std::io::Write;
use std::time::Duration;

use bosun_proto::v1::LogsRequest;
use bosun_shared::selector::LabelSelector;
use bosun_shared::{Kind, Object};
use futures::stream::{self, BoxStream, StreamExt};

use crate::commands::{parse_kind, Usage};
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Pod name, pod/NAME, or deploy|rs|ds|job/NAME for all of its pods.
    pub pod: Option<String>,
    /// Every pod this label selector matches, merged.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Keep streaming new output.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines (of each container).
    #[arg(long, allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Only lines newer than this, e.g. 30s, 5m, 2h.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// The previous run of the container (before its last restart).
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Prefix each line with its timestamp.
    #[arg(long)]
    pub timestamps: bool,
    /// Container of the pod (default: the first).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Prefix lines with their pod and container (always on for several pods).
    #[arg(long)]
    pub prefix: bool,
}

/// A stream of one container's output.
type Chunks = BoxStream<'static, anyhow::Result<Vec<u8>>>;

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let pods = pods(ctx, &client, &args).await?;
    let request = |pod: &str| LogsRequest {
        namespace: ctx.namespace.clone(),
        pod: pod.to_string(),
        container: args.container.clone().unwrap_or_default(),
        follow: args.follow,
        tail_lines: args.tail.unwrap_or(-1),
        previous: args.previous,
        since_seconds: args.since.map_or(0, |d| d.as_secs().max(1) as i64),
        timestamps: args.timestamps,
    };
    let prefixed = args.prefix || pods.len() > 1 || args.selector.is_some();
    let mut streams: Vec<Chunks> = Vec::new();
    for (pod, container) in &pods {
        let s = client.logs(request(pod)).await?;
        let s = s.map(|c| c.map_err(anyhow::Error::from));
        if prefixed {
            let prefix = format!("[pod/{pod}/{container}] ");
            streams.push(by_line(s.boxed(), prefix));
        } else {
            streams.push(s.boxed());
        }
    }
    let mut merged = stream::select_all(streams);
    let mut stdout = std::io::stdout();
    while let Some(chunk) = merged.next().await {
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

/// The pods (and the container shown in the prefix) the arguments select.
async fn pods(
    ctx: &Context,
    client: &bosun_shared::client::Client,
    args: &Args,
) -> anyhow::Result<Vec<(String, String)>> {
    let container_of = |o: &Object| -> String {
        args.container.clone().unwrap_or_else(|| {
            o.as_pod()
                .and_then(|p| p.spec.default_container(&p.metadata))
                .unwrap_or_default()
                .to_string()
        })
    };
    let selector = match (&args.pod, &args.selector) {
        (Some(_), Some(_)) => {
            return Err(Usage("only one of a pod or a selector (-l) can be given".into()).into())
        }
        (None, None) => {
            return Err(Usage(
                "expected POD or TYPE/NAME or -l SELECTOR; see 'bosun logs -h'".into(),
            )
            .into())
        }
        (None, Some(s)) => LabelSelector::parse(s)
            .map_err(|e| anyhow::anyhow!("unable to parse requirement: {e}"))?,
        (Some(target), None) => match target.split_once('/') {
            None => {
                return Ok(vec![(
                    target.clone(),
                    args.container.clone().unwrap_or_default(),
                )])
            }
            Some((kind, name)) => {
                let kind = parse_kind(kind)?;
                if kind == Kind::Pod {
                    let pod = client.get(Kind::Pod, &ctx.namespace, name).await?;
                    return Ok(vec![(name.to_string(), container_of(&pod))]);
                }
                let owner = client.get(kind, &ctx.namespace, name).await?;
                selector_of(&owner).ok_or_else(|| {
                    anyhow::anyhow!(
                        "cannot get the logs of a {}: it has no pods",
                        kind.resource_name()
                    )
                })?
            }
        },
    };
    let (all, _) = client.list(Kind::Pod, Some(&ctx.namespace), None).await?;
    let mut selected: Vec<(String, String)> = all
        .iter()
        .filter(|o| selector.matches(&o.meta().labels))
        .filter(|o| o.as_pod().is_some_and(|p| p.spec.node_name.is_some()))
        .map(|o| (o.meta().name.to_string(), container_of(o)))
        .collect();
    selected.sort();
    if selected.is_empty() {
        anyhow::bail!("no pods found in namespace {}", ctx.namespace);
    }
    Ok(selected)
}

/// `spec.selector` of a workload object.
fn selector_of(o: &Object) -> Option<LabelSelector> {
    let v = o.to_value();
    serde_json::from_value(v.get("spec")?.get("selector")?.clone()).ok()
}

/// Splits `chunks` into whole lines, each with `prefix` in front (a last partial line is
/// flushed when the stream ends).
fn by_line(chunks: Chunks, prefix: String) -> Chunks {
    let state = (chunks, Vec::<u8>::new(), prefix, false);
    stream::unfold(
        state,
        |(mut chunks, mut pending, prefix, done)| async move {
            if done {
                return None;
            }
            loop {
                if let Some(end) = pending.iter().rposition(|b| *b == b'\n') {
                    let rest = pending.split_off(end + 1);
                    let out = prefix_lines(&pending, &prefix);
                    return Some((Ok(out), (chunks, rest, prefix, false)));
                }
                match chunks.next().await {
                    Some(Ok(c)) => pending.extend_from_slice(&c),
                    Some(Err(e)) => return Some((Err(e), (chunks, pending, prefix, true))),
                    None if pending.is_empty() => return None,
                    None => {
                        pending.push(b'\n');
                        let out = prefix_lines(&pending, &prefix);
                        return Some((Ok(out), (chunks, Vec::new(), prefix, true)));
                    }
                }
            }
        },
    )
    .boxed()
}

fn prefix_lines(text: &[u8], prefix: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + prefix.len() * 4);
    for line in text.split_inclusive(|b| *b == b'\n') {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_prefixed_whole_however_the_chunks_fall() {
        let chunks: Vec<anyhow::Result<Vec<u8>>> = vec![
            Ok(b"one\ntw".to_vec()),
            Ok(b"o\nthree\nfo".to_vec()),
            Ok(b"ur".to_vec()),
        ];
        let out: Vec<u8> = by_line(stream::iter(chunks).boxed(), "[p] ".into())
            .map(|c| c.unwrap())
            .concat()
            .await;
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[p] one\n[p] two\n[p] three\n[p] four\n"
        );
    }
}
