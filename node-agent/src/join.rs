//! [`credentials`]: the node's certificate, kept in `<data-dir>/pki` (`ca.crt`, `node.crt`,
//! `node.key`). A node without one joins with its token: the masters' CA is checked against
//! the token's hash before the token is sent (`bosun_shared::pki::join`).
use std::path::Path;
use std::time::Duration;

use bosun_shared::pki::join::{join, load, save, JoinError};
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pki::{Identity, JoinToken, Role};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// How long one round of join attempts lasts before it is logged and started again.
const JOIN_ROUND: Duration = Duration::from_secs(60);

/// Why the agent has no credentials.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("node {node}: no certificate in {dir} yet; start the agent with --token (the first master's <data-dir>/node-token, or `bosun token create`)")]
    NoToken { node: String, dir: String },
    #[error("node {node}: the certificate in {dir} is for {found}; remove that directory and join again with --token")]
    OtherName {
        node: String,
        dir: String,
        found: String,
    },
    #[error("node {node}: {error}")]
    Join { node: String, error: JoinError },
    #[error("node {node}: {message}")]
    Files { node: String, message: String },
    #[error("shut down before joining")]
    Cancelled,
}

/// The credentials of node `node`: stored ones, or new ones from joining with `token`.
pub async fn credentials(
    data_dir: &Path,
    node: &str,
    masters: &[String],
    token: Option<&JoinToken>,
    shutdown: &CancellationToken,
) -> Result<Credentials, CredentialError> {
    let dir = data_dir.join("pki");
    let files = |e: bosun_shared::pki::PkiError| CredentialError::Files {
        node: node.to_string(),
        message: e.to_string(),
    };
    if let Some(c) = load(&dir, "node").map_err(files)? {
        let cert = c
            .identity
            .as_ref()
            .map(|i| i.cert_pem.as_str())
            .unwrap_or_default();
        let id = Identity::from_pem(cert).map_err(files)?;
        if id.role == Role::Node && id.name == node {
            return Ok(c);
        }
        if token.is_none() {
            return Err(CredentialError::OtherName {
                node: node.to_string(),
                dir: dir.display().to_string(),
                found: id.to_string(),
            });
        }
    }
    let Some(token) = token else {
        return Err(CredentialError::NoToken {
            node: node.to_string(),
            dir: dir.display().to_string(),
        });
    };
    loop {
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => return Err(CredentialError::Cancelled),
            r = join(masters, token, node, JOIN_ROUND) => r,
        };
        match attempt {
            Ok(c) => {
                save(&dir, "node", &c).map_err(files)?;
                info!(
                    node,
                    "joined the cluster; certificate kept in {}",
                    dir.display()
                );
                return Ok(c);
            }
            Err(JoinError::Unreachable(e)) => {
                tracing::warn!(node, error = %e, "no master answered; still trying to join")
            }
            Err(source) => {
                return Err(CredentialError::Join {
                    node: node.to_string(),
                    error: source,
                })
            }
        }
    }
}
