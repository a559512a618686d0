//! Writing a ConfigMap's or Secret's keys as files so that a running container sees every
//! change at once, as the kubelet's atomic writer does: the files live in a directory named
//! after the time of the write, `..data` is a symlink to the current one, and each key's
//! path is a symlink through `..data`. A new version is a new directory and one rename of
//! `..data`; readers never see half of it.
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// The contents of a volume: relative path -> (bytes, mode).
pub type Files = BTreeMap<String, (Vec<u8>, u32)>;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Makes `dir` hold exactly `files`; does nothing if it already does. Returns whether it wrote.
pub fn write_atomic(dir: &Path, files: &Files) -> std::io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let current = std::fs::read_link(dir.join(DATA)).ok().map(|t| dir.join(t));
    if let Some(cur) = &current {
        if same(cur, files) {
            return Ok(false);
        }
    }
    let stamp = format!(
        "..{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let new = dir.join(&stamp);
    std::fs::create_dir(&new)?;
    // The directory must let the container's user through whatever its files' modes.
    std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755))?;
    for (rel, (bytes, mode)) in files {
        let path = new.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::File::create(&path)?;
        f.write_all(bytes)?;
        f.set_permissions(std::fs::Permissions::from_mode(*mode))?;
    }
    let tmp = dir.join(DATA_TMP);
    let _ = std::fs::remove_file(&tmp);
    symlink(&stamp, &tmp)?;
    std::fs::rename(&tmp, dir.join(DATA))?;
    // Top-level names point through ..data; names gone from this version are removed.
    let tops: std::collections::BTreeSet<&str> =
        files.keys().filter_map(|k| k.split('/').next()).collect();
    for top in &tops {
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(PathBuf::from(DATA).join(top), &link)?;
        }
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !tops.contains(name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = current {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(true)
}

/// Whether `dir` holds exactly `files` (contents and modes).
fn same(dir: &Path, files: &Files) -> bool {
    let mut count = 0;
    let ok = files.iter().all(|(rel, (bytes, mode))| {
        let path = dir.join(rel);
        count += 1;
        std::fs::read(&path).is_ok_and(|b| &b == bytes)
            && std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o777 == *mode)
    });
    ok && count_files(dir) == count
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        count_files(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Files {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (v.as_bytes().to_vec(), 0o644)))
            .collect()
    }

    #[test]
    fn versions_replace_each_other_through_one_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("vol");
        assert!(write_atomic(&v, &files(&[("a", "1"), ("conf/b", "2")])).unwrap());
        assert_eq!(std::fs::read_to_string(v.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(v.join("conf/b")).unwrap(), "2");
        assert!(
            !write_atomic(&v, &files(&[("a", "1"), ("conf/b", "2")])).unwrap(),
            "unchanged"
        );
        assert!(write_atomic(&v, &files(&[("a", "3")])).unwrap());
        assert_eq!(std::fs::read_to_string(v.join("a")).unwrap(), "3");
        assert!(!v.join("conf").exists(), "a key gone is gone");
        let versions = std::fs::read_dir(&v)
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name().to_string_lossy().starts_with("..")
                    && e.path().is_dir()
                    && !e.path().is_symlink()
            })
            .count();
        assert_eq!(versions, 1, "the old version is removed");
    }
}
