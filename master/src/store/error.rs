//! Errors of the store, each naming the object it concerns.
use bosun_shared::Kind;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{object}: the object has been modified (resourceVersion {expected} expected, {actual} stored); read it again and retry")]
    Conflict {
        object: String,
        expected: u64,
        actual: u64,
    },
    #[error("{object}: {message}")]
    Invalid { object: String, message: String },
    #[error("this master is not the leader (leader: {})", leader.as_deref().unwrap_or("unknown"))]
    NotLeader { leader: Option<String> },
    #[error("watch from revision {requested} is too old (oldest kept: {oldest}); list again and watch from the list's revision")]
    TooOld { requested: u64, oldest: u64 },
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store internal error: {0}")]
    Internal(String),
}

impl StoreError {
    /// kubectl's wording: `pods "web" not found`.
    pub fn not_found(kind: Kind, _namespace: &str, name: &str) -> Self {
        StoreError::NotFound(format!("{} \"{name}\"", kind.plural()))
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Internal(format!("sled: {e}"))
    }
}
