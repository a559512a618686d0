//! Tests of the sealing scheme: round trips, tampering, keys and their files.
use super::*;

fn data() -> BTreeMap<String, Vec<u8>> {
    let mut d = BTreeMap::new();
    d.insert("db.password".to_string(), b"hunter2-correct-horse".to_vec());
    d.insert("tls.blob".to_string(), vec![0, 1, 2, 255, 254, 10, 13]);
    d
}

fn ring() -> Keyring {
    Keyring::new(DataKey::generate().expect("rng"))
}

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let mut r = [0u8; 8];
        SystemRandom::new().fill(&mut r).expect("rng");
        let p = std::env::temp_dir().join(format!(
            "bosun-seal-{tag}-{}-{}",
            std::process::id(),
            STANDARD.encode(r).replace(['/', '+', '='], "_")
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn round_trip() {
    let kr = ring();
    let sealed = kr.seal("default/db", &data()).unwrap();
    assert_eq!(sealed.key_id, kr.current_id());
    assert_eq!(kr.unseal("default/db", &sealed).unwrap(), data());
}

#[test]
fn round_trip_empty_map_and_through_json() {
    let kr = ring();
    let sealed = kr.seal("default/empty", &BTreeMap::new()).unwrap();
    let json = serde_json::to_string(&sealed).unwrap();
    assert!(json.contains("\"keyId\"") && json.contains("\"ciphertext\""));
    let back: Sealed = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sealed);
    assert!(kr.unseal("default/empty", &back).unwrap().is_empty());
}

#[test]
fn fresh_nonce_each_time() {
    let kr = ring();
    let a = kr.seal("default/db", &data()).unwrap();
    let b = kr.seal("default/db", &data()).unwrap();
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
    assert_eq!(STANDARD.decode(&a.nonce).unwrap().len(), NONCE_LEN);
}

#[test]
fn wrong_aad_fails() {
    let kr = ring();
    let sealed = kr.seal("default/db", &data()).unwrap();
    let err = kr.unseal("default/other", &sealed).unwrap_err();
    assert!(matches!(err, SealError::Decrypt { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "secret default/other: cannot be decrypted: wrong key or tampered data"
    );
}

#[test]
fn tampered_ciphertext_fails() {
    let kr = ring();
    let sealed = kr.seal("default/db", &data()).unwrap();
    let mut bytes = STANDARD.decode(&sealed.ciphertext).unwrap();
    bytes[0] ^= 1;
    let tampered = Sealed {
        ciphertext: STANDARD.encode(&bytes),
        ..sealed.clone()
    };
    let err = kr.unseal("default/db", &tampered).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret default/db: cannot be decrypted: wrong key or tampered data"
    );
    // Truncated below the tag length, and a changed nonce, fail the same way.
    let short = Sealed {
        ciphertext: STANDARD.encode([1u8, 2, 3]),
        ..sealed.clone()
    };
    assert!(matches!(
        kr.unseal("default/db", &short),
        Err(SealError::Decrypt { .. })
    ));
    let other_nonce = Sealed {
        nonce: STANDARD.encode([7u8; NONCE_LEN]),
        ..sealed
    };
    assert!(matches!(
        kr.unseal("default/db", &other_nonce),
        Err(SealError::Decrypt { .. })
    ));
}

#[test]
fn bad_nonce_and_base64_are_named() {
    let kr = ring();
    let sealed = kr.seal("default/db", &data()).unwrap();
    let short = Sealed {
        nonce: STANDARD.encode([0u8; 7]),
        ..sealed.clone()
    };
    let err = kr.unseal("default/db", &short).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret default/db: nonce is 7 bytes, expected 12"
    );
    let garbage = Sealed {
        ciphertext: "not base64!".into(),
        ..sealed
    };
    let err = kr.unseal("default/db", &garbage).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("secret default/db: ciphertext is not base64"),
        "{err}"
    );
}

#[test]
fn unknown_key_id_is_named() {
    let kr = ring();
    let sealed = Sealed {
        key_id: "deadbeef".into(),
        ..kr.seal("default/db", &data()).unwrap()
    };
    let err = kr.unseal("default/db", &sealed).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SealError::UnknownKey { ref key_id, .. } if key_id == "deadbeef"));
    assert!(msg.contains("deadbeef"), "{msg}");
    assert!(msg.contains(kr.current_id()), "{msg}");
}

#[test]
fn old_key_unseals_after_rotation() {
    let old = DataKey::generate().unwrap();
    let before = Keyring::new(old.clone());
    let sealed = before.seal("default/db", &data()).unwrap();

    let mut after = ring();
    assert!(matches!(
        after.unseal("default/db", &sealed),
        Err(SealError::UnknownKey { .. })
    ));
    after.add_old(old.clone());
    after.add_old(old); // twice: no duplicate
    assert_eq!(
        format!("{after:?}").matches(sealed.key_id.as_str()).count(),
        1
    );
    assert!(after.needs_reseal(&sealed));
    assert_eq!(after.unseal("default/db", &sealed).unwrap(), data());
    let resealed = after.seal("default/db", &data()).unwrap();
    assert!(!after.needs_reseal(&resealed));
    assert_eq!(resealed.key_id, after.current_id());
}

#[test]
fn sealed_json_never_contains_plaintext() {
    let kr = ring();
    let d = data();
    let json = serde_json::to_string(&kr.seal("default/db", &d).unwrap()).unwrap();
    for (k, v) in &d {
        assert!(!json.contains(k.as_str()), "key name {k} leaked");
        if let Ok(s) = std::str::from_utf8(v) {
            assert!(!json.contains(s), "value of {k} leaked");
        }
        assert!(!json.contains(&STANDARD.encode(v)), "base64 of {k} leaked");
        // Also not as raw bytes anywhere.
        assert!(!json.as_bytes().windows(v.len()).any(|w| w == v.as_slice()));
    }
}

#[test]
fn key_text_round_trip() {
    let k = DataKey::generate().unwrap();
    let text = k.to_file_text();
    assert!(text.starts_with(&format!("{KEY_FILE_MAGIC} {} ", k.id())));
    assert!(text.ends_with('\n'));
    assert_eq!(k.id().len(), 8);
    assert!(k.id().chars().all(|c| c.is_ascii_hexdigit()));
    let back = DataKey::from_file_text(&format!("# cluster data key\n\n{text}")).unwrap();
    assert_eq!(back.to_file_text(), text);
    // The same key decrypts what the other sealed.
    let sealed = Keyring::new(k).seal("ns/a", &data()).unwrap();
    assert_eq!(Keyring::new(back).unseal("ns/a", &sealed).unwrap(), data());
    // Debug never shows the key.
    let b64 = text.split_whitespace().nth(2).unwrap();
    assert!(!format!("{:?}", DataKey::from_file_text(&text).unwrap()).contains(b64));
}

#[test]
fn corrupt_key_text_names_the_line() {
    let k = DataKey::generate().unwrap();
    let good = k.to_file_text();
    let b64 = good.split_whitespace().nth(2).unwrap().to_string();
    let cases = [
        ("", 1, "no key line"),
        ("\n# only a comment\n", 2, "no key line"),
        ("hello world\n", 1, "expected 3 fields"),
        (
            &format!("other-v9 {} {b64}\n", k.id()),
            1,
            "not a Bosun data key",
        ),
        (
            &format!("\n{KEY_FILE_MAGIC} {} !!!\n", k.id()),
            2,
            "not base64",
        ),
        (
            &format!(
                "{KEY_FILE_MAGIC} {} {}\n",
                k.id(),
                STANDARD.encode([1u8; 16])
            ),
            1,
            "16 bytes",
        ),
        (
            &format!("{KEY_FILE_MAGIC} 00000000 {b64}\n"),
            1,
            "does not match",
        ),
        (&format!("{good}{good}"), 2, "second key line"),
    ];
    for (text, want_line, want) in cases {
        match DataKey::from_file_text(text) {
            Err(SealError::CorruptKeyText { line, reason }) => {
                assert_eq!(line, want_line, "{text:?}: {reason}");
                assert!(reason.contains(want), "{text:?}: {reason}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn load_or_create_writes_0600_and_reloads_same_key() {
    let dir = TempDir::new("create");
    let path = dir.0.join("sub").join("data.key");
    let a = DataKey::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!mode_too_open(&path).unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), a.to_file_text());
    let b = DataKey::load_or_create(&path).unwrap();
    assert_eq!(a.id(), b.id());
    assert_eq!(a.to_file_text(), b.to_file_text());
    // No temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(dir.0.join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("data.key")]);
}

#[test]
fn open_mode_is_reported_but_loaded() {
    let dir = TempDir::new("mode");
    let path = dir.0.join("data.key");
    let k = DataKey::generate().unwrap();
    std::fs::write(&path, k.to_file_text()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(mode_too_open(&path).unwrap());
    assert_eq!(DataKey::load_or_create(&path).unwrap().id(), k.id());
}

#[test]
fn corrupt_key_file_names_path_and_line() {
    let dir = TempDir::new("corrupt");
    let path = dir.0.join("data.key");
    std::fs::write(&path, "# comment\nbosun-data-key-v1 abc\n").unwrap();
    let err = DataKey::load_or_create(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, SealError::CorruptKeyFile { line: 2, .. }),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
    // Left as it was: a corrupt key is never replaced by a new one.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# comment\nbosun-data-key-v1 abc\n"
    );
    std::fs::write(&path, b"\n\xff\xfe").unwrap();
    assert!(matches!(
        DataKey::load_or_create(&path),
        Err(SealError::CorruptKeyFile { line: 2, .. })
    ));
}
