//! `hostPath` volumes: the `type` check (or creation) of the node's path before a container
//! mounts it, with the kubelet's messages.
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// Checks (or creates) `path` as `type_` asks.
pub fn check(path: &str, type_: &str) -> Result<(), String> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p);
    let wrong = |what: &str| Err(format!("hostPath type check failed: {path} is not {what}"));
    match type_ {
        "" => Ok(()),
        "DirectoryOrCreate" => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => wrong("a directory"),
            Err(_) => std::fs::create_dir_all(p)
                .map_err(|e| format!("hostPath {path}: cannot create the directory: {e}")),
        },
        "FileOrCreate" => match meta {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => wrong("a file"),
            Err(_) => {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        format!("hostPath {path}: cannot create its directory: {e}")
                    })?;
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map(drop)
                    .map_err(|e| format!("hostPath {path}: cannot create the file: {e}"))
            }
        },
        _ => {
            let Ok(m) = meta else {
                return Err(format!("hostPath type check failed: {path} does not exist"));
            };
            let ft = m.file_type();
            let (ok, what) = match type_ {
                "Directory" => (ft.is_dir(), "a directory"),
                "File" => (ft.is_file(), "a file"),
                "Socket" => (ft.is_socket(), "a socket file"),
                "CharDevice" => (ft.is_char_device(), "a character device"),
                "BlockDevice" => (ft.is_block_device(), "a block device"),
                other => return Err(format!("hostPath {path}: unknown type {other}")),
            };
            if ok {
                Ok(())
            } else {
                wrong(what)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_or_created() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("made/here");
        let ds = d.to_str().unwrap();
        assert_eq!(
            check(ds, "Directory").unwrap_err(),
            format!("hostPath type check failed: {ds} does not exist")
        );
        check(ds, "DirectoryOrCreate").unwrap();
        check(ds, "Directory").unwrap();
        assert_eq!(
            check(ds, "File").unwrap_err(),
            format!("hostPath type check failed: {ds} is not a file")
        );
        let f = dir.path().join("x/file");
        let fs = f.to_str().unwrap();
        check(fs, "FileOrCreate").unwrap();
        check(fs, "File").unwrap();
        assert!(check(fs, "Socket")
            .unwrap_err()
            .contains("is not a socket file"));
        assert!(check("/dev/null", "CharDevice").is_ok());
    }
}
