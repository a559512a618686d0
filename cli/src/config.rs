//! The client configuration file: where the cluster is and the administrator's credentials
//! (the cluster CA, a client certificate and its key, PEM). `bosun up` and `bosun master`
//! write it on start so that every other command works without flags; it is written
//! readable by its owner only.
use std::path::{Path, PathBuf};

use anyhow::Context;
use bosun_shared::pki::tls::Credentials;

/// Address used when nothing else says where the master is.
pub const DEFAULT_SERVER: &str = "127.0.0.1:7443";

pub use bosun_shared::client_config::{load, ClientConfig};

/// `--config`, else `BOSUN_CONFIG` (both handled by clap), else `$XDG_CONFIG_HOME/bosun/config.yaml`,
/// else `~/.config/bosun/config.yaml`.
pub fn default_path() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("bosun/config.yaml");
    }
    home().join(".config/bosun/config.yaml")
}

/// The user's home directory (`/` when unknown).
pub fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// Default data directory: `$XDG_DATA_HOME/bosun`, else `~/.local/share/bosun`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("bosun");
    }
    home().join(".local/share/bosun")
}

/// Records the masters (this one first) and, when given, the administrator's credentials
/// as context `context` of the config file, and makes it the current one; other contexts
/// stay as they are.
pub fn save(
    path: &Path,
    context: &str,
    servers: &[String],
    credentials: Option<&Credentials>,
) -> anyhow::Result<()> {
    let mut cfg = load(path).unwrap_or_default();
    let ctx = cfg.contexts.entry(context.to_string()).or_default();
    ctx.set_servers(servers);
    if let Some(c) = credentials {
        ctx.set_credentials(c);
    }
    cfg.current_context = Some(context.to_string());
    write(path, &cfg)
}

/// Writes the config file, readable by its owner only.
pub fn write(path: &Path, cfg: &ClientConfig) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_saphyr::to_string(cfg).context("writing config")?;
    bosun_shared::pki::join::write_private(path, &text)
        .with_context(|| format!("writing {}", path.display()))
}

/// The administrator's credentials, renewed first (through `Certificates.Renew`, kept in the
/// context) when the certificate is two thirds through its life. A failed renewal is only
/// reported: the certificate is still valid for a while.
pub async fn renewed_if_due(
    path: &Path,
    context: Option<&str>,
    servers: &[String],
    current: Credentials,
) -> Credentials {
    use bosun_shared::pki::{tls::renew_at, Identity};
    let Some(id) = current
        .identity
        .as_ref()
        .and_then(|i| Identity::from_pem(&i.cert_pem).ok())
    else {
        return current;
    };
    if std::time::SystemTime::now() < renew_at(&id) {
        return current;
    }
    let renewed = match bosun_shared::pki::join::renew(servers, &current, &id.name).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: renewing the client certificate failed: {e}");
            return current;
        }
    };
    let saved = load(path).map_err(anyhow::Error::from).and_then(|mut cfg| {
        let name = match cfg.context(context, path)? {
            Some((name, _)) => name,
            None => anyhow::bail!("no context to keep the renewed certificate in"),
        };
        if let Some(ctx) = cfg.contexts.get_mut(&name) {
            ctx.set_credentials(&renewed);
        }
        write(path, &cfg)
    });
    if let Err(e) = saved {
        eprintln!("warning: keeping the renewed client certificate failed: {e:#}");
    }
    renewed
}

/// Where the client connects: `--server`/`BOSUN_SERVER` (comma-separated), else the masters
/// of the context (`--context`, else the current one), else the default. Tried in order.
pub fn resolve_servers(
    flag: Option<&str>,
    context: Option<&str>,
    config_path: &Path,
) -> anyhow::Result<Vec<String>> {
    if let Some(s) = flag {
        return Ok(s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect());
    }
    let cfg = load(config_path)?;
    let servers = cfg
        .context(context, config_path)?
        .map(|(_, c)| c.servers())
        .unwrap_or_default();
    if servers.is_empty() {
        return Ok(vec![DEFAULT_SERVER.to_string()]);
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_servers_are_found_and_the_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.yaml");
        assert_eq!(
            resolve_servers(None, None, &path).unwrap(),
            [DEFAULT_SERVER]
        );
        save(&path, "default", &["127.0.0.1:9999".into()], None).unwrap();
        assert_eq!(
            resolve_servers(None, None, &path).unwrap(),
            ["127.0.0.1:9999"]
        );
        save(&path, "default", &["a:1".into(), "b:2".into()], None).unwrap();
        assert_eq!(resolve_servers(None, None, &path).unwrap(), ["a:1", "b:2"]);
        assert_eq!(
            resolve_servers(Some("h:1, h:2"), None, &path).unwrap(),
            ["h:1", "h:2"]
        );
        // A second cluster becomes current; the first stays reachable by name.
        save(&path, "lab", &["lab:1".into()], None).unwrap();
        assert_eq!(resolve_servers(None, None, &path).unwrap(), ["lab:1"]);
        assert_eq!(
            resolve_servers(None, Some("default"), &path).unwrap(),
            ["a:1", "b:2"]
        );
    }

    #[test]
    fn credentials_round_trip_and_their_absence_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        save(&path, "default", &["a:1".into()], None).unwrap();
        let e = load(&path)
            .unwrap()
            .credentials(None, &path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no cluster credentials"), "{e}");
        let ca = bosun_shared::pki::Ca::generate("t").unwrap();
        let admin = ca
            .issue_key(
                bosun_shared::pki::Role::Admin,
                "admin",
                std::time::Duration::from_secs(60),
            )
            .unwrap();
        let c = Credentials {
            ca_pem: ca.cert_pem().to_string(),
            identity: Some(admin),
        };
        save(&path, "default", &["a:1".into()], Some(&c)).unwrap();
        let back = load(&path).unwrap().credentials(None, &path).unwrap();
        assert_eq!(back.ca_pem, c.ca_pem);
        assert_eq!(back.identity, c.identity);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_certificate_due_for_renewal_is_renewed_and_kept() {
        use bosun_shared::pki::{Identity, Role};
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let config = bosun_master::server::MasterConfig::new(
            "m1",
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("m1"),
        );
        let master = bosun_master::server::Master::start(config, shutdown.clone())
            .await
            .unwrap();
        let ca = master.pki.ca(&master.store).unwrap();
        // Issued 20 s ago (validity starts 5 min before issue), 5 s left: past two thirds.
        let now = SystemTime::now();
        let old = ca
            .issue_key_between(
                Role::Admin,
                "admin",
                now - Duration::from_secs(320),
                now + Duration::from_secs(5),
            )
            .unwrap();
        let current = Credentials {
            ca_pem: master.pki.ca_pem(),
            identity: Some(old.clone()),
        };
        let path = dir.path().join("config.yaml");
        let servers = vec![master.addr.to_string()];
        save(&path, "default", &servers, Some(&current)).unwrap();

        let renewed = renewed_if_due(&path, None, &servers, current).await;
        let serial = |c: &Credentials| {
            Identity::from_pem(&c.identity.as_ref().unwrap().cert_pem)
                .unwrap()
                .serial
        };
        let new = Identity::from_pem(&renewed.identity.as_ref().unwrap().cert_pem).unwrap();
        assert_ne!(
            new.serial,
            Identity::from_pem(&old.cert_pem).unwrap().serial
        );
        assert_eq!((new.role, new.name.as_str()), (Role::Admin, "admin"));
        assert!(
            new.not_after
                > now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + 3600
        );
        let kept = load(&path).unwrap().credentials(None, &path).unwrap();
        assert_eq!(serial(&kept), new.serial);
        shutdown.cancel();
    }
}
