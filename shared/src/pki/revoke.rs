//! Removed nodes: `bosun node remove NAME` records the Secret `bosun-system/revoked-node-NAME`.
//! Its creation time, stamped by the master, is the revocation time: a node certificate of
//! that name issued at or before it is refused, so a removed node cannot come back with the
//! certificate it had; joining again with a new token gives it a new one.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Identity, Role};
use crate::secret::{Secret, SYSTEM_NAMESPACE};

/// `type` of those Secrets.
pub const REVOKED_TYPE: &str = "bosun.dev/revoked-node";
/// Their names: `revoked-node-<node>`.
pub const REVOKED_PREFIX: &str = "revoked-node-";

/// The name of the record revoking node `node`.
pub fn revocation_name(node: &str) -> String {
    format!("{REVOKED_PREFIX}{node}")
}

/// A new record revoking node `node` (its time is its creation timestamp).
pub fn revocation_secret(node: &str) -> Secret {
    let mut s = Secret::new(SYSTEM_NAMESPACE, &revocation_name(node), REVOKED_TYPE);
    s.set_text("node", node);
    s
}

/// When `record` revoked its node, if it is such a record.
pub fn revoked_at(record: &Secret) -> Option<SystemTime> {
    if record.type_ != REVOKED_TYPE {
        return None;
    }
    crate::time::parse_rfc3339(record.metadata.creation_timestamp.as_deref()?)
}

/// Whether a revocation at `at` refuses the certificate naming `id`.
pub fn refuses(at: SystemTime, id: &Identity) -> bool {
    let issued = UNIX_EPOCH + Duration::from_secs(id.issued_at().max(0) as u64);
    id.role == Role::Node && issued <= at
}
