//! The master's side of the cluster PKI (docs/architecture.md, "Security").
//!
//! - [`MasterPki`]: this master's credentials in `<data-dir>/pki`, made at bootstrap (a new
//!   CA) or by joining with a master token; the CA (with its key) for issuing.
//! - [`listener`]: the TLS-only listener; every connection carries the caller's identity.
//! - [`authz`]: which roles may call which service, checked on every request.
//! - [`renew`]: this master's own certificate renewed at two thirds of its life.
//! - [`issue`]: the `Certificates` service: a join token and a signing request in, a
//!   certificate out; and the leader's bootstrap of the CA and first tokens into the store.
pub mod authz;
pub mod issue;
pub mod listener;
pub mod renew;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bosun_shared::pki::join::{load, save, write_private};
use bosun_shared::pki::tls::{Credentials, CurrentCredentials};
use bosun_shared::pki::{first_cert_der, Ca, Identity, IssuedKey, JoinToken, PkiError, Role};
use bosun_shared::secret::{Secret, SYSTEM_NAMESPACE};
use bosun_shared::{Kind, Object};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use crate::store::Store;

/// How long a master's own certificate is valid.
pub const MASTER_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long a node's certificate is valid by default; agents renew it at two thirds of that.
pub const NODE_CERT_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long an administrator's certificate (the CLI's config) is valid.
pub const ADMIN_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// The Secret holding the CA's certificate and key.
pub const CA_SECRET: &str = "cluster-ca";
/// `type` of that Secret.
pub const CA_SECRET_TYPE: &str = "bosun.dev/cluster-ca";
/// Files in the data directory holding the first master's tokens, as printed.
pub const NODE_TOKEN_FILE: &str = "node-token";
pub const MASTER_TOKEN_FILE: &str = "master-token";

/// The server side of TLS, replaceable while serving (certificate renewal).
pub struct ServerTls {
    config: RwLock<Arc<rustls::ServerConfig>>,
}

impl ServerTls {
    /// Serves `cert_pem` (with the CA after it, so joining machines can check the CA's hash)
    /// and accepts client certificates of the CA, or none (the `Certificates` service).
    pub fn new(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<ServerTls, PkiError> {
        Ok(ServerTls {
            config: RwLock::new(Arc::new(server_config(ca_pem, cert_pem, key_pem)?)),
        })
    }

    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        self.config.read().expect("tls config lock").clone()
    }

    /// Serves `config` to connections from now on (established ones keep theirs).
    pub fn replace(&self, config: rustls::ServerConfig) {
        *self.config.write().expect("tls config lock") = Arc::new(config);
    }
}

fn server_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<rustls::ServerConfig, PkiError> {
    let what = "master TLS configuration";
    let err = |e: &dyn std::fmt::Display| PkiError::new(what, e.to_string());
    let provider = bosun_shared::pki::provider();
    let ca = CertificateDer::from(first_cert_der(ca_pem, "CA certificate")?);
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).map_err(|e| err(&e))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| err(&e))?;
    let leaf = CertificateDer::from(first_cert_der(cert_pem, "master certificate")?);
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| err(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| err(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![leaf, ca], key)
        .map_err(|e| err(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Whether node certificates of `id` are revoked (`bosun node remove`), and since when.
pub fn revoked(store: &Store, id: &Identity) -> Option<std::time::SystemTime> {
    if id.role != Role::Node {
        return None;
    }
    let name = bosun_shared::pki::revoke::revocation_name(&id.name);
    let record = store.get(Kind::Secret, SYSTEM_NAMESPACE, &name)?;
    let Object::Secret(s) = &*record else {
        return None;
    };
    let at = bosun_shared::pki::revoke::revoked_at(s)?;
    bosun_shared::pki::revoke::refuses(at, id).then_some(at)
}

/// The refusal of a revoked node.
pub fn revoked_status(id: &Identity, at: std::time::SystemTime) -> tonic::Status {
    tonic::Status::permission_denied(format!(
        "{id} was removed from the cluster at {} (bosun node remove); its certificate is \
         revoked: join again with a new token",
        bosun_shared::time::to_rfc3339(at)
    ))
}

/// This master's credentials and the CA.
pub struct MasterPki {
    dir: PathBuf,
    /// The CA certificate and this master's certificate, for calls to other masters (renewed
    /// while serving: read them when connecting).
    pub credentials: CurrentCredentials,
    pub server: Arc<ServerTls>,
    /// The CA with its key: made here (the first master), or read from the store.
    ca: Mutex<Option<Arc<Ca>>>,
}

impl std::fmt::Debug for MasterPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterPki").field("dir", &self.dir).finish()
    }
}

impl MasterPki {
    fn pki_dir(data_dir: &Path) -> PathBuf {
        data_dir.join("pki")
    }

    /// The credentials kept in `data_dir`, if any.
    pub fn load(data_dir: &Path) -> Result<Option<MasterPki>, PkiError> {
        let dir = Self::pki_dir(data_dir);
        let Some(credentials) = load(&dir, "master")? else {
            return Ok(None);
        };
        let ca = match std::fs::read_to_string(dir.join("ca.key")) {
            Ok(key) => Some(Arc::new(Ca::from_pem(&credentials.ca_pem, &key)?)),
            Err(_) => None,
        };
        Self::with(dir, credentials, ca).map(Some)
    }

    fn with(
        dir: PathBuf,
        credentials: Credentials,
        ca: Option<Arc<Ca>>,
    ) -> Result<MasterPki, PkiError> {
        let id = credentials
            .identity
            .as_ref()
            .ok_or_else(|| PkiError::new("master credentials", "no certificate"))?;
        let server = Arc::new(ServerTls::new(
            &credentials.ca_pem,
            &id.cert_pem,
            &id.key_pem,
        )?);
        Ok(MasterPki {
            dir,
            credentials: CurrentCredentials::new(credentials),
            server,
            ca: Mutex::new(ca),
        })
    }

    /// The first master of a new cluster: a new CA, this master's certificate, and the
    /// cluster's first join tokens (written beside the store, printed by `bosun master`).
    pub fn bootstrap(
        data_dir: &Path,
        name: &str,
        valid_for: Duration,
    ) -> Result<MasterPki, PkiError> {
        let dir = Self::pki_dir(data_dir);
        let ca = Ca::generate(name)?;
        let own = ca.issue_key(Role::Master, name, valid_for)?;
        let credentials = Credentials {
            ca_pem: ca.cert_pem().to_string(),
            identity: Some(own),
        };
        let io = |e: std::io::Error| PkiError::new(dir.display().to_string(), e);
        std::fs::create_dir_all(&dir).map_err(io)?;
        write_private(&dir.join("ca.key"), ca.key_pem()).map_err(io)?;
        for file in [NODE_TOKEN_FILE, MASTER_TOKEN_FILE] {
            let token = JoinToken::generate(ca.hash());
            write_private(&data_dir.join(file), &format!("{token}\n")).map_err(io)?;
        }
        save(&dir, "master", &credentials)?;
        Self::with(dir, credentials, Some(Arc::new(ca)))
    }

    /// A master that joined: credentials issued by the cluster, kept in `data_dir`.
    pub fn joined(data_dir: &Path, credentials: Credentials) -> Result<MasterPki, PkiError> {
        let dir = Self::pki_dir(data_dir);
        save(&dir, "master", &credentials)?;
        Self::with(dir, credentials, None)
    }

    /// The tokens the first master made (`None` on other masters).
    pub fn initial_tokens(data_dir: &Path) -> Vec<(Role, JoinToken)> {
        [
            (NODE_TOKEN_FILE, Role::Node),
            (MASTER_TOKEN_FILE, Role::Master),
        ]
        .into_iter()
        .filter_map(|(file, role)| {
            let text = std::fs::read_to_string(data_dir.join(file)).ok()?;
            Some((role, text.trim().parse().ok()?))
        })
        .collect()
    }

    /// This master's identity.
    pub fn identity(&self) -> Identity {
        let current = self.credentials.get();
        let id = current
            .identity
            .as_ref()
            .expect("master credentials have a certificate");
        Identity::from_pem(&id.cert_pem).expect("own certificate was checked at load")
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> String {
        self.credentials.get().ca_pem
    }

    /// Puts a renewed certificate of this master in use: kept in the data directory, served
    /// to new connections, presented on new connections to other masters.
    pub fn renewed(&self, own: IssuedKey) -> Result<(), PkiError> {
        let credentials = Credentials {
            ca_pem: self.ca_pem(),
            identity: Some(own),
        };
        save(&self.dir, "master", &credentials)?;
        let id = credentials.identity.as_ref().expect("just set");
        self.server.replace(server_config(
            &credentials.ca_pem,
            &id.cert_pem,
            &id.key_pem,
        )?);
        self.credentials.set(credentials);
        Ok(())
    }

    /// SHA-256 of the cluster CA certificate.
    pub fn ca_hash(&self) -> Result<String, PkiError> {
        self.credentials.get().ca_hash()
    }

    /// The CA with its key: this master's own copy, else the one in the store (replicated
    /// from the first master).
    pub fn ca(&self, store: &Store) -> Result<Arc<Ca>, PkiError> {
        if let Some(ca) = self.ca.lock().expect("ca lock").clone() {
            return Ok(ca);
        }
        let stored = store.get(Kind::Secret, SYSTEM_NAMESPACE, CA_SECRET);
        let Some(Object::Secret(s)) = stored.as_deref() else {
            return Err(PkiError::new(
                "cluster CA",
                "not in this master's store yet (it is still catching up)",
            ));
        };
        let (Some(cert), Some(key)) = (s.text("tls.crt"), s.text("tls.key")) else {
            return Err(PkiError::new(
                "cluster CA",
                "the stored secret lacks tls.crt or tls.key",
            ));
        };
        let ca = Arc::new(Ca::from_pem(cert, key)?);
        *self.ca.lock().expect("ca lock") = Some(ca.clone());
        Ok(ca)
    }

    /// The CA as the Secret the store keeps (only where this master holds the key).
    pub fn ca_secret(&self) -> Option<Secret> {
        let ca = self.ca.lock().expect("ca lock").clone()?;
        let mut s = Secret::new(SYSTEM_NAMESPACE, CA_SECRET, CA_SECRET_TYPE);
        s.set_text("tls.crt", ca.cert_pem());
        s.set_text("tls.key", ca.key_pem());
        Some(s)
    }

    /// An administrator's credentials (for the CLI's config), issued by the CA.
    pub fn admin_credentials(&self, store: &Store, name: &str) -> Result<Credentials, PkiError> {
        let ca = self.ca(store)?;
        Ok(Credentials {
            ca_pem: self.ca_pem(),
            identity: Some(ca.issue_key(Role::Admin, name, ADMIN_CERT_VALIDITY)?),
        })
    }
}
