//! Decoding an [`Object`] in one pass: the map's entries are read until `kind`, which picks
//! the Rust type; those entries are replayed to that type's decoder, which reads the rest of
//! the map straight from the input.
//!
//! Why: going through a `serde_json::Value` first built a tree of strings and maps for every
//! object decoded, which made decoding twice the work (the store decodes every command on
//! every master). Bosun writes `apiVersion` and `kind` first, so at most two entries are
//! buffered; a map with `kind` last still decodes, buffering what came before it.
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use super::Object;

/// The `Visitor` of [`Object`]'s `Deserialize`.
pub(super) struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with a kind")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let mut seen: Vec<(String, serde_json::Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: serde_json::Value = map.next_value()?;
            if key == "kind" {
                let kind = value
                    .as_str()
                    .ok_or_else(|| de::Error::custom("kind must be a string"))?
                    .to_string();
                seen.push((key, value));
                let rest = Replay {
                    seen: seen.into_iter(),
                    value: None,
                    map,
                };
                return Object::from_map(&kind, rest);
            }
            seen.push((key, value));
        }
        Err(de::Error::custom("the object has no kind"))
    }
}

/// A map that yields `seen` first, then the rest of `map`.
pub(super) struct Replay<A> {
    seen: std::vec::IntoIter<(String, serde_json::Value)>,
    /// The value of the replayed key last yielded.
    value: Option<serde_json::Value>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.seen.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v).map_err(de::Error::custom),
            None => self.map.next_value_seed(seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pod::Pod;
    use crate::Object;

    fn pod() -> Object {
        let mut p = Pod::default();
        p.metadata.name = "web".into();
        p.metadata.namespace = "default".into();
        p.spec.node_name = Some("n1".into());
        p.into()
    }

    #[test]
    fn decodes_what_it_encodes_and_agrees_with_the_value_path() {
        let o = pod();
        let bytes = o.to_json();
        let direct: Object = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(direct, o);
        assert_eq!(Object::from_json(&bytes).unwrap(), o);
        let via_value = Object::from_value(serde_json::from_slice(&bytes).unwrap()).unwrap();
        assert_eq!(via_value, o);
    }

    #[test]
    fn kind_anywhere_in_the_map() {
        let json = br#"{"metadata":{"name":"web","namespace":"default"},"spec":{"nodeName":"n1"},"apiVersion":"v1","kind":"Pod"}"#;
        let o: Object = serde_json::from_slice(json).unwrap();
        assert_eq!(o, pod());
    }

    #[test]
    fn errors_name_the_problem() {
        let no_kind = serde_json::from_slice::<Object>(br#"{"apiVersion":"v1"}"#).unwrap_err();
        assert!(no_kind.to_string().contains("no kind"), "{no_kind}");
        let unknown = serde_json::from_slice::<Object>(br#"{"kind":"Gadget"}"#).unwrap_err();
        assert!(unknown.to_string().contains("Gadget"), "{unknown}");
        let bad = serde_json::from_slice::<Object>(br#"{"kind":"Pod","spec":{"nodeName":5}}"#)
            .unwrap_err();
        assert!(bad.to_string().contains("string"), "{bad}");
        // from_json keeps its typed errors.
        assert!(matches!(
            Object::from_json(br#"{"kind":"Gadget"}"#),
            Err(crate::object::DecodeError::UnknownKind(k)) if k == "Gadget"
        ));
    }
}
