//! Who may call what. Every service but `Certificates` needs a certificate of the cluster
//! CA with one of the roles listed here; the check runs on every request and every refusal
//! is logged with the caller. Handlers read the caller's [`Identity`] from the request's
//! extensions (the dispatcher holds a node to its own name).
//!
//! | service      | roles          |
//! | ------------ | -------------- |
//! | Api          | admin, master  |
//! | Cluster      | admin, master  |
//! | Dispatcher   | node           |
//! | Raft         | master         |
//! | Certificates | anyone (a join token is the credential) |
use std::sync::Arc;

use bosun_shared::pki::{Identity, Role};
use tonic::{Request, Status};
use tracing::warn;

use super::listener::PeerInfo;
use crate::store::Store;

pub const API: &[Role] = &[Role::Admin, Role::Master];
pub const CLUSTER: &[Role] = &[Role::Admin, Role::Master];
pub const DISPATCHER: &[Role] = &[Role::Node];
pub const RAFT: &[Role] = &[Role::Master];

/// An interceptor admitting callers of `service` whose certificate has one of `roles` and is
/// not revoked.
#[derive(Clone)]
pub struct Allow {
    pub service: &'static str,
    pub roles: &'static [Role],
    /// Where revocations are read.
    pub store: Store,
}

impl tonic::service::Interceptor for Allow {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let peer = req.extensions().get::<PeerInfo>();
        let identity = check(self.service, self.roles, peer)?;
        if let Some(at) = super::revoked(&self.store, &identity) {
            let who = peer.map_or_else(|| identity.to_string(), PeerInfo::describe);
            warn!(service = self.service, peer = %who, "refused: certificate revoked");
            return Err(super::revoked_status(&identity, at));
        }
        req.extensions_mut().insert(identity);
        Ok(req)
    }
}

fn names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The caller's identity if it may call `service`.
pub fn check(
    service: &str,
    roles: &[Role],
    peer: Option<&PeerInfo>,
) -> Result<Arc<Identity>, Status> {
    let Some(peer) = peer else {
        // Only reachable through a listener that is not the TLS one: refuse, loudly.
        warn!(
            service,
            "refused a call that came through no TLS connection"
        );
        return Err(Status::unauthenticated("connection without TLS"));
    };
    let Some(id) = &peer.identity else {
        warn!(service, peer = %peer.describe(), "refused: no client certificate");
        return Err(Status::unauthenticated(format!(
            "the {service} service needs a client certificate ({} role) from this cluster's CA; \
             the CLI finds one in its config file, agents and masters get theirs by joining with a token",
            names(roles)
        )));
    };
    if !roles.contains(&id.role) {
        warn!(service, peer = %peer.describe(), "refused: role not allowed");
        return Err(Status::permission_denied(format!(
            "{id} may not call the {service} service (it needs the {} role)",
            names(roles)
        )));
    }
    Ok(id.clone())
}

/// The caller's identity recorded by [`Allow`] (`None` outside an authorized service).
pub fn caller<T>(req: &Request<T>) -> Option<Arc<Identity>> {
    req.extensions().get::<Arc<Identity>>().cloned()
}
