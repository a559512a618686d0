//! One file per verb, and the kubectl-style error text they share.
pub mod apply;
pub mod cluster;
pub mod config;
pub mod delete;
pub mod describe;
pub mod get;
pub mod logs;
pub mod node;
pub mod rollout;
pub mod run;
pub mod scale;
pub mod taint;
pub mod token;
pub mod version;

use bosun_shared::client::ClientError;
use bosun_shared::Kind;

/// `Error from server (NotFound): ...` for server errors, `error: ...` otherwise.
pub fn error_text(e: &anyhow::Error) -> String {
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::NotFound(m)) => format!("Error from server (NotFound): {m}"),
        Some(ClientError::AlreadyExists(m)) => format!("Error from server (AlreadyExists): {m}"),
        Some(ClientError::Conflict(m)) => format!("Error from server (Conflict): {m}"),
        Some(ClientError::Invalid(m)) => format!("Error from server (Invalid): {m}"),
        Some(ClientError::Unavailable(m)) => format!("Error from server (ServiceUnavailable): {m}"),
        _ => {
            let text = format!("{e:#}");
            if text.starts_with("error:") {
                text
            } else {
                format!("error: {text}")
            }
        }
    }
}

/// Parses a kind as kubectl accepts it (`pods`, `po`, `deploy`, `deployment.apps`, ...).
pub fn parse_kind(s: &str) -> anyhow::Result<Kind> {
    Kind::parse_cli(s).ok_or_else(|| {
        anyhow::anyhow!("the server doesn't have a resource type \"{s}\" (Bosun knows pods, deployments, nodes)")
    })
}

/// Splits `deployment/web` into kind and name; a bare name needs `kind` given separately.
pub fn split_kind_name(
    first: &str,
    second: Option<&str>,
) -> anyhow::Result<(Kind, Option<String>)> {
    match first.split_once('/') {
        Some((k, n)) => {
            if second.is_some() {
                anyhow::bail!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form");
            }
            Ok((parse_kind(k)?, Some(n.to_string())))
        }
        None => Ok((parse_kind(first)?, second.map(str::to_string))),
    }
}

/// The namespace to use for `kind` (nodes have none).
pub fn namespace_for(kind: Kind, ns: &str) -> String {
    if kind.namespaced() {
        ns.to_string()
    } else {
        String::new()
    }
}

/// Prints command output; a reader that went away (`bosun get pods | head`) ends it quietly,
/// as kubectl does, instead of a panic.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
