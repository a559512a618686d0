//! [`ObjectKey`]: where an object lives in the key space (`kind/namespace/name`).
use bosun_shared::{Kind, Object};

/// `Pod/default/web`; nodes have an empty namespace (`Node//n1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(pub String);

impl ObjectKey {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        ObjectKey(format!("{}/{namespace}/{name}", kind.as_str()))
    }

    /// The first key of a kind (and namespace), for range scans.
    pub fn prefix(kind: Kind, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) => format!("{}/{ns}/", kind.as_str()),
            None => format!("{}/", kind.as_str()),
        }
    }
}

pub fn key_of(o: &Object) -> ObjectKey {
    ObjectKey::new(o.kind(), &o.meta().namespace, &o.meta().name)
}
