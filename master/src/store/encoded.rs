//! [`Stored`]: one object version as the store holds it, with its JSON encoded at most once
//! ([`Encoded`]) and shared by every list, get, watch event and agent assignment that sends it.
//!
//! A list of 30,000 pods is 26 MB of JSON. Each list encoded it anew (~100 ms of CPU), and
//! each watcher encoded each change again. Now one cell per version is made at apply and
//! held both by the version's [`Change`](super::command::Change) (watchers, the dispatcher)
//! and by the store's map (lists, gets). The first reader that needs the JSON fills it, so
//! nothing is encoded that nobody reads, and it goes away with the version: memory follows
//! what is read, about 870 bytes per pod once listed.
use std::sync::{Arc, OnceLock};

use bosun_shared::Object;
use bytes::Bytes;

/// The JSON of one object version, once someone needed it. Clones share the cell.
#[derive(Debug, Clone, Default)]
pub struct Encoded(Arc<OnceLock<Bytes>>);

impl Encoded {
    /// A cell already holding `json`, the encoding of the version it goes with.
    pub fn with_json(json: Bytes) -> Self {
        Encoded(Arc::new(OnceLock::from(json)))
    }

    /// The JSON of `object`, the version this cell was made for: encoded now if nobody
    /// encoded it before.
    pub fn json(&self, object: &Object) -> Bytes {
        self.0
            .get_or_init(|| {
                let mut json = object.to_json();
                // Kept for the version's life: not with the encoder's spare capacity.
                json.shrink_to_fit();
                Bytes::from(json)
            })
            .clone()
    }

    /// The JSON of `object`: the cell's if someone encoded it, else encoded now and not kept.
    /// For what only one reader sends: an agent's assignment of a pod goes to one node, and
    /// keeping it cost a master serving 500 agents' sessions 9 MB (session 20's profile).
    pub fn json_unkept(&self, object: &Object) -> Bytes {
        match self.0.get() {
            Some(json) => json.clone(),
            None => Bytes::from(object.to_json()),
        }
    }
}

/// A cache: it takes no part in comparing changes.
impl PartialEq for Encoded {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// An object version in the store's map.
#[derive(Debug, Clone)]
pub struct Stored {
    pub object: Arc<Object>,
    pub encoded: Encoded,
}

impl Stored {
    /// A version nobody has encoded yet.
    pub fn new(object: Arc<Object>) -> Self {
        Stored {
            object,
            encoded: Encoded::default(),
        }
    }

    /// Its JSON, encoded once.
    pub fn json(&self) -> Bytes {
        self.encoded.json(&self.object)
    }

    /// Its JSON, not kept if it was not already ([`Encoded::json_unkept`]).
    pub fn json_unkept(&self) -> Bytes {
        self.encoded.json_unkept(&self.object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pod::Pod;

    #[test]
    fn copies_share_one_encoding() {
        let mut pod = Pod::default();
        pod.metadata.name = "web".into();
        let stored = Stored::new(Arc::new(pod.into()));
        let copy = stored.clone();
        let (a, b) = (stored.json(), copy.json());
        assert_eq!(a, stored.object.to_json());
        assert_eq!(a.as_ptr(), b.as_ptr(), "encoded once, shared");
    }

    #[test]
    fn an_unkept_encoding_fills_no_cell_but_uses_a_filled_one() {
        let mut pod = Pod::default();
        pod.metadata.name = "web".into();
        let stored = Stored::new(Arc::new(pod.into()));
        let once = stored.json_unkept();
        assert_eq!(once, stored.object.to_json());
        assert!(stored.encoded.0.get().is_none(), "not kept");
        let kept = stored.json();
        assert_eq!(stored.json_unkept().as_ptr(), kept.as_ptr(), "the cell's");
    }
}
