//! [`join`]: a machine with a join token gets its certificate. For each master in turn it
//! checks the master's CA against the token's hash ([`fetch_ca`]), and only then sends the
//! token with a signing request over TLS verified against that CA. A CA that does not match,
//! or a token the cluster refuses, ends the attempt at once; an unreachable master is retried.
use std::path::Path;
use std::time::Duration;

use bosun_proto::v1::certificates_client::CertificatesClient;
use bosun_proto::v1::{IssueRequest, RenewRequest};

use super::pin::fetch_ca;
use super::tls::Credentials;
use super::{request, Identity, IssuedKey, JoinToken, PkiError};

/// Pause between rounds over the masters while none answers.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// No point in retrying: a false master, or a refused token.
    #[error("{0}")]
    Refused(PkiError),
    /// No master answered before the deadline.
    #[error("{0}")]
    Unreachable(PkiError),
}

/// A certificate for `name`, issued by the cluster `token` belongs to.
pub async fn join(
    servers: &[String],
    token: &JoinToken,
    name: &str,
    deadline: Duration,
) -> Result<Credentials, JoinError> {
    let give_up = tokio::time::Instant::now() + deadline;
    let mut last = PkiError::new("join", "no master address given");
    loop {
        for server in servers {
            match join_once(server, token, name).await {
                Ok(c) => return Ok(c),
                Err(JoinError::Refused(e)) => return Err(JoinError::Refused(e)),
                Err(JoinError::Unreachable(e)) => {
                    tracing::warn!(error = %e, "join: master not reachable yet");
                    last = e;
                }
            }
        }
        if tokio::time::Instant::now() + RETRY_PAUSE > give_up {
            return Err(JoinError::Unreachable(last));
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

async fn join_once(server: &str, token: &JoinToken, name: &str) -> Result<Credentials, JoinError> {
    let what = format!("master {}", super::tls::host_port(server));
    let ca_pem = fetch_ca(server, &token.ca_hash).await?;
    let (csr_pem, key_pem) = request(name).map_err(JoinError::Refused)?;
    let anonymous = Credentials {
        ca_pem: ca_pem.clone(),
        identity: None,
    };
    let unreachable = |m: String| JoinError::Unreachable(PkiError::new(&what, m));
    let channel = anonymous
        .endpoint(server)
        .map_err(|e| unreachable(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| unreachable(format!("connect: {e}")))?;
    let reply = CertificatesClient::new(channel)
        .issue(IssueRequest {
            token: token.to_string(),
            name: name.to_string(),
            csr_pem,
        })
        .await
        .map_err(|s| match s.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                unreachable(s.message().to_string())
            }
            _ => JoinError::Refused(PkiError::new(&what, s.message())),
        })?
        .into_inner();
    Ok(Credentials {
        ca_pem,
        identity: Some(IssuedKey {
            cert_pem: reply.cert_pem,
            key_pem,
        }),
    })
}

/// A new certificate for the holder of `current` (same role and name, new key), from the
/// first of `servers` that gives one.
pub async fn renew(
    servers: &[String],
    current: &Credentials,
    name: &str,
) -> Result<Credentials, PkiError> {
    let mut last = PkiError::new("certificate renewal", "no master address given");
    for server in servers {
        match renew_once(server, current, name).await {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn renew_once(
    server: &str,
    current: &Credentials,
    name: &str,
) -> Result<Credentials, PkiError> {
    let what = format!("certificate renewal at {}", super::tls::host_port(server));
    let (csr_pem, key_pem) = request(name)?;
    let channel = current
        .endpoint(server)
        .map_err(|e| PkiError::new(&what, e))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| PkiError::new(&what, format!("connect: {e}")))?;
    let reply = CertificatesClient::new(channel)
        .renew(RenewRequest { csr_pem })
        .await
        .map_err(|s| PkiError::new(&what, s.message()))?
        .into_inner();
    Ok(Credentials {
        ca_pem: current.ca_pem.clone(),
        identity: Some(IssuedKey {
            cert_pem: reply.cert_pem,
            key_pem,
        }),
    })
}

/// File names of stored credentials in a directory: `ca.crt`, `<stem>.crt`, `<stem>.key`.
pub fn save(dir: &Path, stem: &str, c: &Credentials) -> Result<(), PkiError> {
    let what = format!("credentials in {}", dir.display());
    let err = |e: std::io::Error| PkiError::new(&what, e);
    std::fs::create_dir_all(dir).map_err(err)?;
    write_private(&dir.join("ca.crt"), &c.ca_pem).map_err(err)?;
    if let Some(id) = &c.identity {
        write_private(&dir.join(format!("{stem}.key")), &id.key_pem).map_err(err)?;
        write_private(&dir.join(format!("{stem}.crt")), &id.cert_pem).map_err(err)?;
    }
    Ok(())
}

/// Stored credentials, `None` if the directory holds none.
pub fn load(dir: &Path, stem: &str) -> Result<Option<Credentials>, PkiError> {
    let read = |f: &str| -> Result<Option<String>, PkiError> {
        match std::fs::read_to_string(dir.join(f)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PkiError::new(dir.join(f).display().to_string(), e)),
        }
    };
    let (Some(ca_pem), Some(cert_pem), Some(key_pem)) = (
        read("ca.crt")?,
        read(&format!("{stem}.crt"))?,
        read(&format!("{stem}.key"))?,
    ) else {
        return Ok(None);
    };
    Identity::from_pem(&cert_pem)?;
    Ok(Some(Credentials {
        ca_pem,
        identity: Some(IssuedKey { cert_pem, key_pem }),
    }))
}

/// Writes `text` readable by its owner only, atomically.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
