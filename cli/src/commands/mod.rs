//! One file per verb, and the kubectl-style error text they share.
pub mod api_resources;
pub mod apply;
pub mod cluster;
pub mod completion;
pub mod compose;
pub mod config;
pub mod create;
pub mod delete;
pub mod describe;
pub mod diff;
pub mod exec;
pub mod explain;
pub mod get;
pub mod hollow;
pub mod logs;
pub mod node;
pub mod rollout;
pub mod run;
pub mod scale;
pub mod taint;
pub mod token;
pub mod top;
pub mod version;
pub mod wait;

use bosun_shared::client::ClientError;
use bosun_shared::Kind;

/// A command that ends the process with its own exit code (`exec` passes on the remote
/// command's), printing `message` if it is not empty.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

/// A command line that cannot work as given: exit code 2, as for the errors clap finds.
#[derive(Debug, thiserror::Error)]
#[error("error: {0}")]
pub struct Usage(pub String);

/// The exit code for an error: the command's own, 2 for usage errors, 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if let Some(exit) = e.downcast_ref::<Exit>() {
        exit.code
    } else if e.downcast_ref::<Usage>().is_some() {
        2
    } else {
        1
    }
}

/// A pod's name from `NAME`, `pod/NAME` or `pods/NAME`.
pub fn pod_name(arg: &str) -> anyhow::Result<&str> {
    match arg.split_once('/') {
        None => Ok(arg),
        Some((kind, name)) if parse_kind(kind)? == Kind::Pod => Ok(name),
        Some((kind, _)) => Err(Usage(format!("{kind}: only pods are supported here")).into()),
    }
}

/// `Error from server (NotFound): ...` for server errors, `error: ...` otherwise.
pub fn error_text(e: &anyhow::Error) -> String {
    if let Some(exit) = e.downcast_ref::<Exit>() {
        return exit.message.clone();
    }
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
        anyhow::anyhow!("the server doesn't have a resource type \"{s}\" (see bosun api-resources)")
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
