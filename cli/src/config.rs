//! The client configuration file: where the cluster is. `bosun up` and `bosun master` write it
//! on start so that every other command works without flags.
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Address used when nothing else says where the master is.
pub const DEFAULT_SERVER: &str = "127.0.0.1:7443";

/// Contents of the config file (YAML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// `host:port` of a master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Every master, when there are several; tried in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
}

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

pub fn load(path: &Path) -> anyhow::Result<ClientConfig> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(ClientConfig::default()),
        Ok(text) => serde_saphyr::from_str(&text)
            .with_context(|| format!("reading config file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientConfig::default()),
        Err(e) => Err(e).with_context(|| format!("reading config file {}", path.display())),
    }
}

/// Records the masters (this one first) in the config file, keeping whatever else it holds.
pub fn save_servers(path: &Path, servers: &[String]) -> anyhow::Result<()> {
    let mut cfg = load(path).unwrap_or_default();
    cfg.server = servers.first().cloned();
    cfg.servers = if servers.len() > 1 {
        servers.to_vec()
    } else {
        vec![]
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_saphyr::to_string(&cfg).context("writing config")?;
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Where the client connects: `--server`/`BOSUN_SERVER` (comma-separated), else the config
/// file's masters, else the default. Tried in order.
pub fn resolve_servers(flag: Option<&str>, config_path: &Path) -> anyhow::Result<Vec<String>> {
    if let Some(s) = flag {
        return Ok(s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect());
    }
    let cfg = load(config_path)?;
    if !cfg.servers.is_empty() {
        return Ok(cfg.servers);
    }
    Ok(vec![cfg
        .server
        .unwrap_or_else(|| DEFAULT_SERVER.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_servers_are_found_and_the_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.yaml");
        assert_eq!(resolve_servers(None, &path).unwrap(), [DEFAULT_SERVER]);
        save_servers(&path, &["127.0.0.1:9999".into()]).unwrap();
        assert_eq!(resolve_servers(None, &path).unwrap(), ["127.0.0.1:9999"]);
        save_servers(&path, &["a:1".into(), "b:2".into()]).unwrap();
        assert_eq!(resolve_servers(None, &path).unwrap(), ["a:1", "b:2"]);
        assert_eq!(
            resolve_servers(Some("h:1, h:2"), &path).unwrap(),
            ["h:1", "h:2"]
        );
    }
}
