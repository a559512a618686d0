//! Envelope encryption of a [`Secret`](crate::secret::Secret)'s `data` at rest.
//!
//! Why: every write a master accepts goes into the Raft log, is copied to the other masters
//! and ends in their sled stores and snapshots. A Secret's `data` in there, in plain text (or
//! base64, which is the same thing), would be readable by anyone with a copy of a master's data
//! directory or of a backup. So the masters store a [`Sealed`] value in its place, and only
//! decrypt when a secret is read through the API or handed to a node.
//!
//! The scheme:
//!
//! * Each cluster has a **data key**: 256 random bits for AES-256-GCM ([`DataKey`]), kept in a
//!   file readable by its owner only (`bosun-data-key-v1 <id> <base64 key>`), never in the
//!   store itself. Its **id** is the first 8 hex digits of the SHA-256 of the key: it names the
//!   key in sealed values without revealing anything about it. Every master must hold the
//!   same key (a value is sealed by the leader, then replicated): only the first master
//!   creates it ([`DataKey::load_or_create`]); the others must be given it when they join.
//! * To seal, the whole `data` map (key names included) is serialized as JSON, with base64
//!   values, and encrypted with the current key under a fresh random 96-bit nonce. The result
//!   is `{"keyId", "nonce", "ciphertext"}` (the last two base64; the ciphertext ends with the
//!   16-byte GCM tag).
//! * The **additional authenticated data** is the secret's `namespace/name`: it is not
//!   encrypted, but decryption fails unless the same value is given, so a sealed value copied
//!   into another Secret (or renamed) cannot be decrypted there.
//! * A [`Keyring`] holds the current key (used to seal) and older ones (only to unseal), so
//!   the key can be rotated: add the new key as current, keep the old as old, re-seal every
//!   secret whose `keyId` is not the current one ([`Keyring::needs_reseal`]), then drop it.
//!
//! Random nonces are safe here: the birthday bound for 96-bit nonces (about 2^32 seals under
//! one key) is far beyond the number of Secret writes a cluster makes before a rotation.
//!
//! Not covered: the key, the decrypted map and the intermediate JSON are not wiped from memory
//! when dropped, and whoever can read the key file can read every secret: the key file must
//! live apart from backups of the store.
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// First word of a data key file; a new format gets a new word.
pub const KEY_FILE_MAGIC: &str = "bosun-data-key-v1";
/// Length of a data key, in bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of a key id, in hex digits.
const ID_LEN: usize = 8;

/// What went wrong sealing, unsealing, or loading a key. `secret` is the `namespace/name` given
/// as additional authenticated data.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot generate a data key: the system random number generator failed")]
    Random,
    #[error("AES-256-GCM rejected the data key")]
    KeyRejected,
    #[error("cannot read data key file {path}: {source}")]
    ReadKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write data key file {path}: {source}")]
    WriteKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt data key file {path}, line {line}: {reason}")]
    CorruptKeyFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("corrupt data key text, line {line}: {reason}")]
    CorruptKeyText { line: usize, reason: String },
    #[error("secret {secret}: sealed with data key {key_id}, which this master does not have (it has {known})")]
    UnknownKey {
        secret: String,
        key_id: String,
        known: String,
    },
    #[error("secret {secret}: {field} is not base64: {reason}")]
    BadBase64 {
        secret: String,
        field: &'static str,
        reason: String,
    },
    #[error("secret {secret}: nonce is {len} bytes, expected {NONCE_LEN}")]
    BadNonceLength { secret: String, len: usize },
    #[error("secret {secret}: cannot be decrypted: wrong key or tampered data")]
    Decrypt { secret: String },
    #[error("secret {secret}: cannot be encrypted: {reason}")]
    Encrypt { secret: String, reason: String },
    #[error("secret {secret}: decrypted data is not a map of base64 values: {reason}")]
    BadPlaintext { secret: String, reason: String },
}

/// A 256-bit AES-GCM key with an id (the first 8 hex digits of the SHA-256 of the key), loaded
/// from or written to a file. Its `Debug` shows the id only.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    bytes: [u8; KEY_LEN],
    key: LessSafeKey,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DataKey {
    /// A new random key, from the operating system's generator.
    pub fn generate() -> Result<DataKey, SealError> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        DataKey::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<DataKey, SealError> {
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let mut id: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        id.truncate(ID_LEN);
        // ring only refuses a key of the wrong length, which `bytes` cannot be.
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| SealError::KeyRejected)?;
        Ok(DataKey {
            id,
            bytes,
            key: LessSafeKey::new(key),
        })
    }

    /// The key's id: 8 lowercase hex digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key file's contents: `bosun-data-key-v1 <id> <base64 key>` and a newline.
    pub fn to_file_text(&self) -> String {
        format!(
            "{KEY_FILE_MAGIC} {} {}\n",
            self.id,
            STANDARD.encode(self.bytes)
        )
    }

    /// Parses [`to_file_text`](Self::to_file_text)'s output. Blank lines and lines starting
    /// with `#` are ignored; there must be exactly one key line, and its id must match its key.
    pub fn from_file_text(text: &str) -> Result<DataKey, SealError> {
        parse_key_text(text).map_err(|(line, reason)| SealError::CorruptKeyText { line, reason })
    }

    /// Reads the key at `path`, or, when there is no file there, generates one and writes it
    /// readable by its owner only (mode 0600): to a temporary file in the same directory,
    /// synced, then published under `path` without overwriting a key another process wrote
    /// meanwhile (in which case that key is returned). Missing parent directories are created
    /// with mode 0700.
    ///
    /// An existing file is used whatever its mode; check [`mode_too_open`] and warn.
    pub fn load_or_create(path: &Path) -> Result<DataKey, SealError> {
        Self::load_or_store(path, DataKey::generate)
    }

    /// Writes this key (one received from the cluster) to `path` the way
    /// [`DataKey::load_or_create`] writes a new one; a key already there is kept and returned.
    pub fn save(&self, path: &Path) -> Result<DataKey, SealError> {
        Self::load_or_store(path, || Ok(self.clone()))
    }

    fn load_or_store(
        path: &Path,
        make: impl FnOnce() -> Result<DataKey, SealError>,
    ) -> Result<DataKey, SealError> {
        match std::fs::read(path) {
            Ok(bytes) => return DataKey::from_file_bytes(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(SealError::ReadKeyFile {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        let key = make()?;
        let write_err = |source| SealError::WriteKeyFile {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(write_err)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data-key".into());
        let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let written = write_new_private(&tmp, key.to_file_text().as_bytes())
            .and_then(|()| publish_no_clobber(&tmp, path));
        // The temporary file is gone after a rename, a link leaves it behind; either way it
        // must not outlive this call with a key in it.
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(true) => {
                // Make the new directory entry durable too.
                if let Ok(d) = std::fs::File::open(&dir) {
                    let _ = d.sync_all();
                }
                Ok(key)
            }
            // Another process created the file first: its key is the one.
            Ok(false) => match std::fs::read(path) {
                Ok(bytes) => DataKey::from_file_bytes(path, &bytes),
                Err(source) => Err(SealError::ReadKeyFile {
                    path: path.to_path_buf(),
                    source,
                }),
            },
            Err(source) => Err(write_err(source)),
        }
    }

    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<DataKey, SealError> {
        let corrupt = |line, reason| SealError::CorruptKeyFile {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = 1 + bytes
                .get(..e.valid_up_to())
                .unwrap_or(bytes)
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            corrupt(line, "not UTF-8 text".into())
        })?;
        parse_key_text(text).map_err(|(line, reason)| corrupt(line, reason))
    }
}

/// Whether the file at `path` can be read or written by its group or by others (any of the
/// mode bits 0o077), which a data key file must not be. Callers log a warning when it is.
pub fn mode_too_open(path: &Path) -> Result<bool, SealError> {
    let meta = std::fs::metadata(path).map_err(|source| SealError::ReadKeyFile {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(meta.permissions().mode() & 0o077 != 0)
}

/// Creates `path` (which must not exist) with mode 0600, writes `bytes` and syncs them.
fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Gives the file `tmp` the name `path` unless `path` exists; `Ok(false)` when it does. A hard
/// link is atomic and never replaces; where links are not supported, falls back to a rename.
fn publish_no_clobber(tmp: &Path, path: &Path) -> std::io::Result<bool> {
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => std::fs::rename(tmp, path).map(|()| true),
    }
}

/// The key in `text`, or the 1-based line and the reason it is not one.
fn parse_key_text(text: &str) -> Result<DataKey, (usize, String)> {
    let mut found: Option<(usize, DataKey)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some((first, _)) = &found {
            return Err((
                line,
                format!("a second key line (the key is on line {first}); one key per file"),
            ));
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let [magic, id, b64] = fields.as_slice() else {
            return Err((
                line,
                format!(
                    "expected 3 fields `{KEY_FILE_MAGIC} <id> <base64 key>`, found {}",
                    fields.len()
                ),
            ));
        };
        if *magic != KEY_FILE_MAGIC {
            return Err((
                line,
                format!("not a Bosun data key: starts with {magic:?}, expected {KEY_FILE_MAGIC:?}"),
            ));
        }
        let decoded = STANDARD
            .decode(b64)
            .map_err(|e| (line, format!("key is not base64: {e}")))?;
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            (
                line,
                format!("key is {} bytes, expected {KEY_LEN}", decoded.len()),
            )
        })?;
        let key = DataKey::from_bytes(bytes).map_err(|e| (line, e.to_string()))?;
        if key.id != *id {
            return Err((
                line,
                format!(
                    "key id {id} does not match the key (whose id is {})",
                    key.id
                ),
            ));
        }
        found = Some((line, key));
    }
    match found {
        Some((_, key)) => Ok(key),
        None => Err((text.lines().count().max(1), "no key line".into())),
    }
}

/// What is stored instead of a Secret's `data`:
/// `{"keyId": "...", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>"}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Sealed {
    pub key_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// Keys known to a master: the current one (used to seal) and older ones (to unseal after a
/// rotation). Its `Debug` shows the ids only.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: DataKey,
    old: Vec<DataKey>,
}

impl Keyring {
    pub fn new(current: DataKey) -> Self {
        Keyring {
            current,
            old: Vec::new(),
        }
    }

    /// Adds a key used only to unseal. Adding a key already known (same bytes) does nothing.
    pub fn add_old(&mut self, k: DataKey) {
        let known = std::iter::once(&self.current)
            .chain(&self.old)
            .any(|have| have.bytes == k.bytes);
        if !known {
            self.old.push(k);
        }
    }

    /// The id of the key [`seal`](Self::seal) uses.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Whether `sealed` was sealed with another key than the current one, and should be
    /// re-sealed (unseal, then seal) before the older key is retired.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current.id
    }

    /// Encrypts `data` with the current key, under a fresh random nonce, binding it to `aad`
    /// (the secret's `namespace/name`).
    pub fn seal(&self, aad: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<Sealed, SealError> {
        let encoded: BTreeMap<&str, String> = data
            .iter()
            .map(|(k, v)| (k.as_str(), STANDARD.encode(v)))
            .collect();
        let mut buf = serde_json::to_vec(&encoded).map_err(|e| SealError::Encrypt {
            secret: aad.into(),
            reason: e.to_string(),
        })?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Encrypt {
                secret: aad.into(),
                reason: "the system random number generator failed".into(),
            })?;
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Encrypt {
                secret: aad.into(),
                reason: "data too large".into(),
            })?;
        Ok(Sealed {
            key_id: self.current.id.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(&buf),
        })
    }

    /// Decrypts `sealed` with the key it names, checking it was sealed for `aad`.
    pub fn unseal(
        &self,
        aad: &str,
        sealed: &Sealed,
    ) -> Result<BTreeMap<String, Vec<u8>>, SealError> {
        let candidates: Vec<&DataKey> = std::iter::once(&self.current)
            .chain(&self.old)
            .filter(|k| k.id == sealed.key_id)
            .collect();
        if candidates.is_empty() {
            let known: Vec<&str> = std::iter::once(&self.current)
                .chain(&self.old)
                .map(|k| k.id.as_str())
                .collect();
            return Err(SealError::UnknownKey {
                secret: aad.into(),
                key_id: sealed.key_id.clone(),
                known: known.join(", "),
            });
        }
        let bad_base64 = |field, e: base64::DecodeError| SealError::BadBase64 {
            secret: aad.into(),
            field,
            reason: e.to_string(),
        };
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .map_err(|e| bad_base64("nonce", e))?;
        let nonce: [u8; NONCE_LEN] =
            nonce
                .as_slice()
                .try_into()
                .map_err(|_| SealError::BadNonceLength {
                    secret: aad.into(),
                    len: nonce.len(),
                })?;
        let ciphertext = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|e| bad_base64("ciphertext", e))?;
        // Ids are 32 bits: two keys of a keyring may share one, so try each that has it.
        let plaintext = candidates
            .iter()
            .find_map(|k| {
                let mut buf = ciphertext.clone();
                k.key
                    .open_in_place(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad.as_bytes()),
                        &mut buf,
                    )
                    .ok()
                    .map(|p| p.to_vec())
            })
            .ok_or_else(|| SealError::Decrypt { secret: aad.into() })?;
        let bad_plaintext = |reason: String| SealError::BadPlaintext {
            secret: aad.into(),
            reason,
        };
        let encoded: BTreeMap<String, String> =
            serde_json::from_slice(&plaintext).map_err(|e| bad_plaintext(e.to_string()))?;
        encoded
            .into_iter()
            .map(|(k, v)| match STANDARD.decode(&v) {
                Ok(bytes) => Ok((k, bytes)),
                Err(e) => Err(bad_plaintext(format!("data.{k}: {e}"))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
