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

/// Opens (or creates) the sled database at `path`.
pub fn open(path: &Path) -> Result<sled::Db, StoreError> {
    let segment = persisted_segment_size(path).unwrap_or(SEGMENT_BYTES);
    Ok(sled::Config::new()
        .path(path)
        .cache_capacity(CACHE_BYTES)
        .segment_size(segment)
        // Durability comes only from our explicit checkpoints; no background flush.
        .flush_every_ms(None)
        .open()?)
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
}
