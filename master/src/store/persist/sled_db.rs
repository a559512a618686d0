//! How sled is opened: a small page cache, no background flush, and 1 MiB log segments.
//!
//! sled writes any page larger than a quarter of its log segment (512 KiB by default, so
//! 128 KiB) to a file of its own (a "blob"): created, synced, and deleted once replaced. A leaf
//! of the `objects` tree holds up to 16 checkpoint chunks of 32 KiB; uncompressed (before
//! session 15) that made every checkpoint create and remove several files, a tenth of a
//! master's CPU at 256 clients in ext4's inode allocation and the checkpoint's syncs, so
//! segments went to 4 MiB (session 5). The chunks are LZ4 blocks now (~6 times smaller for
//! pods), so a leaf stays well under 256 KiB, and segments are 1 MiB (session 15): sled
//! allocates a buffer of one segment each time its log moves to a new segment, and a heap
//! profile of bench-scale held 10 to 18 of them at once on every master (sled frees them
//! through its epoch-based reclamation, late), 42-67 MB with 4 MiB segments, 5-18 MB with
//! 1 MiB. A chunk that does not compress (large ConfigMaps) may still make a blob, which
//! works, only slower. sled refuses to open a database with another segment size than it was
//! created with, so an existing database keeps its own.
use std::path::Path;
use std::time::{Duration, Instant};

use super::super::error::StoreError;

/// sled's page cache; small: objects are served from memory anyway, and sled counts the
/// cache in bytes on disk, while its pages in memory are several times larger (heaptrack of a
/// leader at 30,000 pods: ~160 MB of the heap in sled's page cache with 16 MiB here). It
/// barely bounds anything for the `objects` tree: sled's LRU has 256 shards, evicts only when
/// a shard has seen 64 accesses, and never evicts a shard's last page, while this tree has a
/// few hundred pages; so every page stays in memory (why checkpoint chunks are compressed,
/// `segments.rs`).
const CACHE_BYTES: u64 = 4 * 1024 * 1024;
/// sled's log segment size for new databases: pages over a quarter of it become blob files,
/// and sled holds several buffers of this size (module comment).
const SEGMENT_BYTES: usize = 1024 * 1024;

/// How long [`open`] waits for the previous holder of the database's lock to let go.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

/// Opens (or creates) the sled database at `path`.
///
/// sled locks its directory, and the lock goes with the last of sled's own references,
/// some of which its I/O threads drop a moment after the database handle: a master
/// restarted in the same process (the tests' restarts; CI saw one fail) or a process that
/// starts while the previous one is still exiting finds it held. It waits for it a few
/// seconds, then names the directory.
pub fn open(path: &Path) -> Result<sled::Db, StoreError> {
    let segment = persisted_segment_size(path).unwrap_or(SEGMENT_BYTES);
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(CACHE_BYTES)
        .segment_size(segment)
        // Durability comes only from our explicit checkpoints; no background flush.
        .flush_every_ms(None);
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match config.open() {
            Err(e) if lock_held(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if lock_held(&e) => {
                return Err(StoreError::Internal(format!(
                    "the store in {} is in use by another master (its lock was held for {} s)",
                    path.display(),
                    LOCK_PATIENCE.as_secs()
                )));
            }
            opened => return Ok(opened?),
        }
    }
}

/// Whether sled failed to open because another holder has the directory's lock (sled 0.34
/// reports it as an `Other` I/O error with this message).
fn lock_held(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock"))
}

/// The segment size an existing database at `path` was created with, from sled's `conf`
/// file (`segment_size: N` lines, then a checksum).
fn persisted_segment_size(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path.join("conf")).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|l| l.strip_prefix("segment_size: ")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_gets_large_segments_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh");
        drop(open(&fresh).unwrap());
        assert_eq!(persisted_segment_size(&fresh), Some(SEGMENT_BYTES));
        drop(open(&fresh).unwrap());

        // A database made by an earlier Bosun, with sled's default segment size.
        let old = dir.path().join("old");
        drop(sled::Config::new().path(&old).open().unwrap());
        assert_eq!(persisted_segment_size(&old), Some(512 * 1024));
        let db = open(&old).unwrap();
        db.insert(b"k", b"v").unwrap();
    }

    #[test]
    fn opening_waits_for_the_previous_holder_to_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let first = open(&path).unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = open(&path).expect("opens once the first holder is gone");
        second.insert(b"k", b"v").unwrap();
        holder.join().unwrap();
    }
}
