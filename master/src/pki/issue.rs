//! [`CertificateService`]: a join token and a signing request in, a certificate out. Tokens
//! are read linearizably (a revoked token is refused at once everywhere); the CA comes from
//! [`MasterPki::ca`]. [`SecretsBootstrap`]: the leader puts the first master's CA and tokens
//! into the store, so every master can issue and check them.
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::certificates_server::Certificates;
use bosun_proto::v1::{IssueRequest, IssueResponse, RenewRequest};
use bosun_shared::pki::token::TOKEN_SECRET_PREFIX;
use bosun_shared::pki::{JoinToken, Role, TokenRecord};
use bosun_shared::secret::SYSTEM_NAMESPACE;
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::{info, warn};

use super::listener::PeerInfo;
use super::{MasterPki, ADMIN_CERT_VALIDITY};
use crate::store::{Command, Op, Store, StoreError};

pub struct CertificateService {
    pub store: Store,
    pub pki: Arc<MasterPki>,
    /// How long node certificates are valid (renewed at two thirds of it).
    pub node_validity: Duration,
    /// How long masters' certificates are valid.
    pub master_validity: Duration,
}

impl CertificateService {
    fn validity(&self, role: Role) -> Duration {
        match role {
            Role::Master => self.master_validity,
            Role::Node => self.node_validity,
            Role::Admin => ADMIN_CERT_VALIDITY,
        }
    }

    /// The role `token` grants, or why it grants nothing.
    async fn admit(&self, token: &str) -> Result<Role, Status> {
        let token: JoinToken = token
            .parse()
            .map_err(|e: bosun_shared::pki::PkiError| Status::invalid_argument(e.to_string()))?;
        let ours = self
            .pki
            .ca_hash()
            .map_err(|e| Status::internal(e.to_string()))?;
        if token.ca_hash != ours {
            return Err(Status::unauthenticated(format!(
                "join token {} is for another cluster (its CA hash is {}, this cluster's is {ours})",
                token.id, token.ca_hash
            )));
        }
        self.store
            .linearizable()
            .await
            .map_err(crate::api::status::to_status)?;
        let name = format!("{TOKEN_SECRET_PREFIX}{}", token.id);
        let record = match self
            .store
            .get(Kind::Secret, SYSTEM_NAMESPACE, &name)
            .as_deref()
        {
            Some(Object::Secret(s)) => TokenRecord::from_secret(s),
            _ => None,
        };
        let Some(record) = record else {
            return Err(Status::unauthenticated(format!(
                "join token {} is not known to this cluster (revoked, or never created)",
                token.id
            )));
        };
        if !record.admits(&token) {
            return Err(Status::unauthenticated(format!(
                "wrong secret for join token {}",
                token.id
            )));
        }
        if let Some(exp) = &record.expiration {
            let expired = bosun_shared::time::parse_rfc3339(exp)
                .is_none_or(|t| t <= std::time::SystemTime::now());
            if expired {
                return Err(Status::unauthenticated(format!(
                    "join token {} expired at {exp}",
                    token.id
                )));
            }
        }
        Ok(record.role)
    }
}

#[tonic::async_trait]
impl Certificates for CertificateService {
    async fn issue(&self, req: Request<IssueRequest>) -> Result<Response<IssueResponse>, Status> {
        let peer = req
            .extensions()
            .get::<PeerInfo>()
            .map_or_else(|| "unknown".to_string(), PeerInfo::describe);
        let r = req.into_inner();
        let outcome = async {
            bosun_shared::names::validate_dns1123_subdomain(&r.name)
                .map_err(|e| Status::invalid_argument(format!("name {:?}: {e}", r.name)))?;
            let role = self.admit(&r.token).await?;
            let ca = self
                .pki
                .ca(&self.store)
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let valid_for = self.validity(role);
            let cert_pem = ca
                .sign_request(&r.csr_pem, role, &r.name, valid_for)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            Ok::<_, Status>((role, cert_pem))
        }
        .await;
        match outcome {
            Ok((role, cert_pem)) => {
                info!(%peer, %role, name = %r.name, "issued a certificate");
                Ok(Response::new(IssueResponse { cert_pem }))
            }
            Err(s) => {
                warn!(%peer, name = %r.name, error = %s.message(), "refused to issue a certificate");
                Err(s)
            }
        }
    }

    async fn renew(&self, req: Request<RenewRequest>) -> Result<Response<IssueResponse>, Status> {
        let peer = req.extensions().get::<PeerInfo>().cloned();
        let who = peer
            .as_ref()
            .map_or_else(|| "unknown".to_string(), PeerInfo::describe);
        match self.renew_for(peer.as_ref(), &req.get_ref().csr_pem).await {
            Ok(cert_pem) => {
                info!(peer = %who, "renewed a certificate");
                Ok(Response::new(IssueResponse { cert_pem }))
            }
            Err(s) => {
                warn!(peer = %who, error = %s.message(), "refused to renew a certificate");
                Err(s)
            }
        }
    }
}

impl CertificateService {
    /// A new certificate for the caller's own: same role and name, the request's key.
    async fn renew_for(&self, peer: Option<&PeerInfo>, csr_pem: &str) -> Result<String, Status> {
        let id = peer.and_then(|p| p.identity.clone()).ok_or_else(|| {
            Status::unauthenticated("renewal needs the certificate being renewed")
        })?;
        if let Some(at) = super::revoked(&self.store, &id) {
            return Err(super::revoked_status(&id, at));
        }
        let ca = self
            .pki
            .ca(&self.store)
            .map_err(|e| Status::unavailable(e.to_string()))?;
        ca.sign_request(csr_pem, id.role, &id.name, self.validity(id.role))
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}

/// How often the leader checks that the CA and the first tokens are in the store.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(1);

/// Puts the CA and the first master's tokens into the store (once, by whichever leader has
/// them): every master then issues certificates and checks tokens from the store.
pub struct SecretsBootstrap {
    pub store: Store,
    pub pki: Arc<MasterPki>,
    pub initial_tokens: Vec<(Role, JoinToken)>,
}

impl SecretsBootstrap {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ops = Vec::new();
        if let Some(ca) = self.pki.ca_secret() {
            ops.push(ca);
        }
        for (role, token) in &self.initial_tokens {
            let what = format!("the first {role} join token");
            ops.push(TokenRecord::of(token, *role, None, &what).to_secret());
        }
        let mut pending: Vec<Object> = ops.into_iter().map(Object::Secret).collect();
        while !pending.is_empty() {
            if self.store.is_leader() {
                let mut left = Vec::new();
                for o in pending {
                    let m = o.meta();
                    if self
                        .store
                        .get(Kind::Secret, &m.namespace, &m.name)
                        .is_some()
                    {
                        continue;
                    }
                    let name = m.name.clone();
                    let mut new = o.clone();
                    crate::store::stamp_new(&mut new);
                    match self
                        .store
                        .propose(Command {
                            ops: vec![Op::Create(new)],
                        })
                        .await
                    {
                        Ok(_) | Err(StoreError::AlreadyExists(_)) => {
                            info!(secret = %name, "stored in bosun-system")
                        }
                        Err(e) => {
                            warn!(secret = %name, error = %e, "storing failed; retrying");
                            left.push(o);
                        }
                    }
                }
                pending = left;
            }
            if pending.is_empty() {
                return;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.store.wait_leader(), if !self.store.is_leader() => {}
                _ = tokio::time::sleep(BOOTSTRAP_RETRY) => {}
            }
        }
    }
}
