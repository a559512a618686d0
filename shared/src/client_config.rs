//! [`ClientConfig`]: the client configuration file a master writes (YAML): the masters'
//! addresses and the administrator's credentials (cluster CA, certificate, key; PEM, under
//! kubeconfig's key names). Read by the CLI and by the tests' harness.
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::pki::tls::Credentials;
use crate::pki::IssuedKey;

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

/// Contents of the config file (YAML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientConfig {
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

impl ClientConfig {
    /// The credentials the file holds.
    pub fn credentials(&self, path: &Path) -> Result<Credentials, ConfigError> {
        let Some(ca) = &self.ca else {
            return Err(err(
                path,
                "no cluster credentials: `bosun up` or `bosun master` writes them there \
                 (or pass --config with the file a master wrote)",
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

/// The config at `path`; an empty or missing file is an empty config.
pub fn load(path: &Path) -> Result<ClientConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(ClientConfig::default()),
        Ok(text) => serde_saphyr::from_str(&text).map_err(|e| err(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientConfig::default()),
        Err(e) => Err(err(path, e)),
    }
}
