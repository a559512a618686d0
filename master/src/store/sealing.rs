//! Secrets at rest: every path by which objects leave this master's memory for its disk or
//! another master — a proposed command (the Raft log), a checkpoint (sled), a snapshot —
//! writes Secrets sealed with the cluster's data key ([`bosun_shared::seal`]), and every path
//! back in unseals them. In memory, and in what the API serves, Secrets are plain.
//!
//! The key is set once the master has it ([`KeyCell`]: the first master creates it, a joining
//! master gets it from the cluster). Storage opened without a key (the store's own unit
//! tests) writes Secrets as they are.
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use bosun_shared::seal::Keyring;
use bosun_shared::Object;

use super::command::{Command, Op};
use super::error::StoreError;

/// The data key, once known; shared by the storage, its checkpoint thread and the Raft thread.
pub type KeyCell = Arc<OnceLock<Arc<Keyring>>>;

fn seal_error(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("{what}: {e}"))
}

/// `o` as it goes to disk: a Secret sealed.
pub fn sealed<'a>(keys: &KeyCell, o: &'a Object) -> Result<Cow<'a, Object>, StoreError> {
    match (o, keys.get()) {
        (Object::Secret(s), Some(k)) if s.sealed.is_none() => {
            let s = s
                .sealed_with(k)
                .map_err(|e| seal_error(&format!("sealing {}", o.describe()), e))?;
            Ok(Cow::Owned(Object::Secret(s)))
        }
        _ => Ok(Cow::Borrowed(o)),
    }
}

/// The JSON of `o` as it goes to disk.
pub fn sealed_json(keys: &KeyCell, o: &Object) -> Result<Vec<u8>, StoreError> {
    Ok(sealed(keys, o)?.to_json())
}

/// `o` as read from disk, unsealed.
pub fn opened(keys: &KeyCell, mut o: Object) -> Result<Object, StoreError> {
    if let Object::Secret(s) = &mut o {
        if s.sealed.is_some() {
            let described = format!("Secret {}/{}", s.metadata.namespace, s.metadata.name);
            let k = keys.get().ok_or_else(|| {
                StoreError::Internal(format!(
                    "{described} is sealed and this master has no data key (pki/data.key)"
                ))
            })?;
            s.unseal_with(k)
                .map_err(|e| seal_error(&format!("unsealing {described}"), e))?;
        }
    }
    Ok(o)
}

fn map_ops(
    cmd: &Command,
    f: &mut dyn FnMut(&Object) -> Result<Option<Object>, StoreError>,
) -> Result<Option<Command>, StoreError> {
    let mut changed = false;
    let mut ops = Vec::with_capacity(cmd.ops.len());
    for op in &cmd.ops {
        let mut op = op.clone();
        let obj = match &mut op {
            Op::Create(o) => Some(o),
            Op::Update { object, .. } | Op::UpdateStatus { object, .. } => Some(object),
            Op::Delete { .. } => None,
        };
        if let Some(o) = obj {
            if let Some(new) = f(o)? {
                *o = new;
                changed = true;
            }
        }
        ops.push(op);
    }
    Ok(changed.then_some(Command { ops }))
}

/// The bytes of a command as it goes into the Raft log.
pub fn encode(keys: &KeyCell, cmd: &Command) -> Result<Vec<u8>, StoreError> {
    if !cmd.ops.iter().any(has_secret) {
        return Ok(cmd.encode());
    }
    let sealed_cmd = map_ops(cmd, &mut |o| match sealed(keys, o)? {
        Cow::Owned(o) => Ok(Some(o)),
        Cow::Borrowed(_) => Ok(None),
    })?;
    Ok(sealed_cmd.as_ref().unwrap_or(cmd).encode())
}

/// A command read from the Raft log, unsealed.
pub fn decode(keys: &KeyCell, bytes: &[u8]) -> Result<Command, StoreError> {
    let cmd = Command::decode(bytes)?;
    if !cmd.ops.iter().any(has_secret) {
        return Ok(cmd);
    }
    let opened_cmd = map_ops(&cmd, &mut |o| match o {
        Object::Secret(s) if s.sealed.is_some() => opened(keys, o.clone()).map(Some),
        _ => Ok(None),
    })?;
    Ok(opened_cmd.unwrap_or(cmd))
}

fn has_secret(op: &Op) -> bool {
    matches!(
        op,
        Op::Create(Object::Secret(_))
            | Op::Update {
                object: Object::Secret(_),
                ..
            }
            | Op::UpdateStatus {
                object: Object::Secret(_),
                ..
            }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::seal::DataKey;
    use bosun_shared::secret::Secret;

    #[test]
    fn secrets_are_sealed_on_the_way_out_and_opened_on_the_way_in() {
        let keys: KeyCell = Arc::default();
        let _ = keys.set(Arc::new(Keyring::new(DataKey::generate().unwrap())));
        let mut s = Secret::new("default", "db", "Opaque");
        s.set_text("password", "hunter2-plain");
        let cmd = Command {
            ops: vec![Op::Create(s.clone().into())],
        };
        let bytes = encode(&keys, &cmd).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hunter2-plain"), "{text}");
        assert!(
            !text.contains("aHVudGVyMi1wbGFpbg"),
            "not even base64: {text}"
        );
        assert!(text.contains("\"sealed\""), "{text}");
        let back = decode(&keys, &bytes).unwrap();
        let Op::Create(Object::Secret(got)) = &back.ops[0] else {
            panic!("{back:?}")
        };
        assert_eq!(got.text("password"), Some("hunter2-plain"));
        assert!(got.sealed.is_none());
        // A checkpointed object, the same way.
        let json = sealed_json(&keys, &Object::Secret(s)).unwrap();
        assert!(!String::from_utf8_lossy(&json).contains("hunter2"));
        let obj = opened(&keys, Object::from_json(&json).unwrap()).unwrap();
        assert_eq!(
            obj.as_secret().and_then(|s| s.text("password")),
            Some("hunter2-plain")
        );
        // Without the key, a sealed secret cannot be read, and says why.
        let none: KeyCell = Arc::default();
        let err = opened(&none, Object::from_json(&json).unwrap()).unwrap_err();
        assert!(err.to_string().contains("no data key"), "{err}");
    }
}
