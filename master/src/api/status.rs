//! The one mapping from store errors to gRPC statuses.
use tonic::{Code, Status};

use crate::store::StoreError;

/// Metadata key carrying the leader's client address when this master is not the leader.
pub const LEADER_METADATA: &str = "bosun-leader";

pub fn to_status(e: StoreError) -> Status {
    let code = match &e {
        StoreError::NotFound(_) => Code::NotFound,
        StoreError::AlreadyExists(_) => Code::AlreadyExists,
        StoreError::Conflict { .. } => Code::Aborted,
        StoreError::Invalid { .. } => Code::InvalidArgument,
        StoreError::TooOld { .. } => Code::OutOfRange,
        StoreError::NotLeader { .. } | StoreError::Unavailable(_) => Code::Unavailable,
        StoreError::Internal(_) => Code::Internal,
    };
    let mut status = Status::new(code, e.to_string());
    if let StoreError::NotLeader { leader: Some(l) } = &e {
        if let Ok(v) = l.parse() {
            status.metadata_mut().insert(LEADER_METADATA, v);
        }
    }
    status
}

/// A request that could not be decoded or validated, naming what was wrong.
pub fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message)
}
