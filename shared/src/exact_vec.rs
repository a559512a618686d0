//! Lists decoded to exactly their length.
//!
//! Why: serde builds a list by pushing into an empty `Vec`, whose first allocation holds four
//! elements. A pod has one container more often than not, and a `Container` is a few hundred
//! bytes, so every stored pod carried three unused containers' worth of memory: about two
//! thirds of a pod's ~5 KiB in memory, on every master, for as long as it is stored. The
//! fields of stored objects that hold lists of structs decode through [`deserialize`].
use serde::{Deserialize, Deserializer};

/// `#[serde(deserialize_with = "crate::exact_vec::deserialize")]`: a `Vec` whose capacity is
/// its length.
pub fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut v = Vec::<T>::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "super::deserialize")]
        items: Vec<String>,
    }

    #[test]
    fn capacity_is_the_length() {
        let h: Holder = serde_json::from_str(r#"{"items":["a"]}"#).unwrap();
        assert_eq!((h.items.len(), h.items.capacity()), (1, 1));
        let plain: Vec<String> = serde_json::from_str(r#"["a"]"#).unwrap();
        assert!(plain.capacity() > 1, "serde's own Vec over-allocates");
    }
}
