//! [`ClientConfig`]: the client configuration file (YAML) a master writes: one [`Context`]
//! per cluster (its masters' addresses and the administrator's credentials: cluster CA,
//! certificate, key, PEM under kubeconfig's key names) and which one is current. Read by the
//! CLI and by the tests' harness.
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::pki::tls::Credentials;
use crate::pki::IssuedKey;

/// Name of the context a master writes unless told another.
pub const DEFAULT_CONTEXT: &str = "default";

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("config file {path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

fn err(path: &Path, message: impl ToString) -> ConfigError {
    ConfigError {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// One cluster as a client reaches it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// `host:port` of a master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Every master, when there are several; tried in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// The cluster CA certificate: only masters it signed are trusted.
    #[serde(
        default,
        rename = "certificate-authority-data",
        skip_serializing_if = "Option::is_none"
    )]
    pub ca: Option<String>,
    /// The administrator's certificate and key.
    #[serde(
        default,
        rename = "client-certificate-data",
        skip_serializing_if = "Option::is_none"
    )]
    pub cert: Option<String>,
    #[serde(
        default,
        rename = "client-key-data",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
}

impl Context {
    /// The masters, in the order to try them.
    pub fn servers(&self) -> Vec<String> {
        if self.servers.is_empty() {
            self.server.iter().cloned().collect()
        } else {
            self.servers.clone()
        }
    }

    /// Records the masters, this one first.
    pub fn set_servers(&mut self, servers: &[String]) {
        self.server = servers.first().cloned();
        self.servers = if servers.len() > 1 {
            servers.to_vec()
        } else {
            vec![]
        };
    }

    /// Records the credentials.
    pub fn set_credentials(&mut self, c: &Credentials) {
        self.ca = Some(c.ca_pem.clone());
        self.cert = c.identity.as_ref().map(|i| i.cert_pem.clone());
        self.key = c.identity.as_ref().map(|i| i.key_pem.clone());
    }

    /// The credentials it holds; `name` and `path` only say where in the refusal.
    pub fn credentials(&self, name: &str, path: &Path) -> Result<Credentials, ConfigError> {
        let Some(ca) = &self.ca else {
            return Err(err(
                path,
                format!(
                    "context {name:?} holds no cluster credentials: `bosun up` or `bosun master` \
                     writes them (or pass --config with the file a master wrote)"
                ),
            ));
        };
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(IssuedKey {
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            }),
            _ => None,
        };
        Ok(Credentials {
            ca_pem: ca.clone(),
            identity,
        })
    }
}

/// Contents of the config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientConfig {
    #[serde(
        default,
        rename = "current-context",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_context: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contexts: BTreeMap<String, Context>,
}

impl ClientConfig {
    /// The context called `name`, else the current one; `None` when the file has none (a
    /// fresh machine: the CLI then tries the default address and explains what is missing).
    pub fn context(
        &self,
        name: Option<&str>,
        path: &Path,
    ) -> Result<Option<(String, &Context)>, ConfigError> {
        let wanted = name
            .map(str::to_string)
            .or_else(|| self.current_context.clone());
        match wanted {
            Some(n) => match self.contexts.get(&n) {
                Some(c) => Ok(Some((n, c))),
                None => Err(err(
                    path,
                    format!("no context {n:?} (known: {})", self.names().join(", ")),
                )),
            },
            None if self.contexts.len() == 1 => {
                Ok(self.contexts.iter().next().map(|(n, c)| (n.clone(), c)))
            }
            None => Ok(None),
        }
    }

    /// The context's credentials (see [`context`](Self::context)).
    pub fn credentials(&self, name: Option<&str>, path: &Path) -> Result<Credentials, ConfigError> {
        match self.context(name, path)? {
            Some((n, c)) => c.credentials(&n, path),
            None => Err(err(
                path,
                "no cluster credentials: `bosun up` or `bosun master` writes them there \
                 (or pass --config with the file a master wrote)",
            )),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.contexts.keys().cloned().collect()
    }
}

/// The config at `path`; an empty or missing file is an empty config.
pub fn load(path: &Path) -> Result<ClientConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(ClientConfig::default()),
        Ok(text) => serde_saphyr::from_str(&text).map_err(|e| err(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientConfig::default()),
        Err(e) => Err(err(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_or_current_or_only_context_is_used() {
        let path = Path::new("/c.yaml");
        let mut cfg = ClientConfig::default();
        assert!(cfg.context(None, path).unwrap().is_none());
        let mut a = Context::default();
        a.set_servers(&["a:1".into()]);
        cfg.contexts.insert("a".into(), a);
        assert_eq!(cfg.context(None, path).unwrap().unwrap().0, "a");
        let mut b = Context::default();
        b.set_servers(&["b:1".into(), "b:2".into()]);
        cfg.contexts.insert("b".into(), b);
        assert!(cfg.context(None, path).unwrap().is_none());
        cfg.current_context = Some("b".into());
        let (name, ctx) = cfg.context(None, path).unwrap().unwrap();
        assert_eq!(
            (name.as_str(), ctx.servers()),
            ("b", vec!["b:1".into(), "b:2".into()])
        );
        assert_eq!(cfg.context(Some("a"), path).unwrap().unwrap().0, "a");
        let e = cfg.context(Some("zz"), path).unwrap_err().to_string();
        assert!(e.contains("no context \"zz\" (known: a, b)"), "{e}");
        let e = cfg.credentials(Some("a"), path).unwrap_err().to_string();
        assert!(
            e.contains("context \"a\" holds no cluster credentials"),
            "{e}"
        );
    }
}
