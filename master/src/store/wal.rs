//! [`Wal`]: the Raft log and hard state in one append-only file, `raft.wal`.
//!
//! One `fdatasync` makes a whole Ready durable (sled's flush costs several syncs, which made
//! every write wait on the disk four or five times). A record is
//! `[payload length u32][crc32 u32][kind u8][payload]` (little-endian; the crc covers kind and
//! payload); an entry record carries a protobuf `Entry`, a hard-state record a protobuf
//! `HardState`. An entry supersedes every entry at or after its index (a leader's log
//! replacing a conflicting suffix), so replay keeps the last word. A torn or corrupt tail (a
//! crash during a write, never acknowledged) ends the replay and is cut off.
//!
//! Every entry written or replayed gets its [`Pos`], where its record is, so that an entry no
//! longer held in memory is read back from the file ([`Wal::read`]).
//!
//! Compaction rewrites the file with only the entries still kept, copying their records: a
//! temporary file is written and synced, then renamed over the old one, and the directory is
//! synced, so a crash leaves either file whole.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use protobuf::Message as _;
use raft::eraftpb::{Entry, HardState};
use tracing::warn;

use super::error::StoreError;

const WAL_FILE: &str = "raft.wal";
const HEADER: usize = 9;
const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;

/// Where an entry's record is in the log file, and the entry's term (which Raft asks for far
/// more often than for the entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub term: u64,
    /// Offset of the record's header.
    pub at: u64,
    /// Length of the record's payload, the encoded entry.
    pub len: u32,
}

/// What a replay found: the log entries in order, where each one is, and the last hard state
/// written.
#[derive(Debug, Default)]
pub struct Replayed {
    pub entries: Vec<Entry>,
    pub positions: Vec<Pos>,
    pub hard_state: Option<HardState>,
}

/// The open log file of one master. Writes go to the OS at once; [`Wal::sync`] makes them
/// durable.
pub struct Wal {
    dir: PathBuf,
    file: File,
    /// The file's length: where the next record goes.
    end: u64,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("{what} {}: {e}", path.display()))
}

fn encode(kind: u8, payload: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(payload);
    out.write_all(&(payload.len() as u32).to_le_bytes())?;
    out.write_all(&crc.finalize().to_le_bytes())?;
    out.write_all(&[kind])?;
    out.write_all(payload)
}

/// The records of `entries`, then of `hs`, and where each entry's record starts if the bytes
/// are written at `at`.
fn records(entries: &[Entry], hs: Option<&HardState>, at: u64) -> (Vec<u8>, Vec<Pos>) {
    let mut out = Vec::new();
    let mut positions = Vec::with_capacity(entries.len());
    // Writing into a Vec cannot fail, nor can encoding a protobuf message into one.
    for e in entries {
        let payload = e.write_to_bytes().expect("protobuf encodes into memory");
        positions.push(Pos {
            term: e.term,
            at: at + out.len() as u64,
            len: payload.len() as u32,
        });
        encode(KIND_ENTRY, &payload, &mut out).expect("writing into memory cannot fail");
    }
    if let Some(hs) = hs {
        let payload = hs.write_to_bytes().expect("protobuf encodes into memory");
        encode(KIND_HARD_STATE, &payload, &mut out).expect("writing into memory cannot fail");
    }
    (out, positions)
}

/// Checks that `record` (header and payload) is an intact entry record: its length, kind
/// and crc.
fn check_entry_record(record: &[u8]) -> Result<(), String> {
    let len = u32::from_le_bytes(record[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(record[4..8].try_into().expect("4 bytes"));
    let mut h = crc32fast::Hasher::new();
    h.update(&record[8..]);
    if len + HEADER != record.len() || record[8] != KIND_ENTRY || h.finalize() != crc {
        return Err("not an intact entry record".into());
    }
    Ok(())
}

/// Reads records from `data` until its end or the first torn or corrupt record; returns what
/// was read and how many bytes of `data` are good.
fn replay(data: &[u8]) -> Result<(Replayed, usize), StoreError> {
    let mut out = Replayed::default();
    let mut at = 0;
    while data.len() - at >= HEADER {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
        let kind = data[at + 8];
        let Some(payload) = data.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&[kind]);
        h.update(payload);
        if h.finalize() != crc {
            break;
        }
        let bad =
            |e: protobuf::ProtobufError| StoreError::Internal(format!("raft log record: {e}"));
        match kind {
            KIND_ENTRY => {
                let e = Entry::parse_from_bytes(payload).map_err(bad)?;
                // A rewritten suffix replaces what was there.
                let keep = out.entries.partition_point(|x| x.index < e.index);
                out.entries.truncate(keep);
                out.positions.truncate(keep);
                if let Some(prev) = out.entries.last() {
                    if prev.index + 1 != e.index {
                        return Err(StoreError::Internal(format!(
                            "raft log has a gap: entry {} follows {}",
                            e.index, prev.index
                        )));
                    }
                }
                out.positions.push(Pos {
                    term: e.term,
                    at: at as u64,
                    len: len as u32,
                });
                out.entries.push(e);
            }
            KIND_HARD_STATE => {
                out.hard_state = Some(HardState::parse_from_bytes(payload).map_err(bad)?);
            }
            other => {
                return Err(StoreError::Internal(format!(
                    "raft log record of unknown kind {other}"
                )))
            }
        }
        at += HEADER + len;
    }
    Ok((out, at))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("syncing directory", dir, e))
}

impl Wal {
    /// Opens (or creates) the log in `dir` and replays it, cutting off a torn tail.
    pub fn open(dir: &Path) -> Result<(Wal, Replayed), StoreError> {
        let path = dir.join(WAL_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| io_err("reading", &path, e))?;
        let (replayed, good) = replay(&data)?;
        if good < data.len() {
            warn!(
                path = %path.display(),
                bytes = data.len() - good,
                "cutting off a torn tail of the raft log (a write that was never acknowledged)"
            );
            file.set_len(good as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_err("truncating", &path, e))?;
        }
        sync_dir(dir)?;
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                file,
                end: good as u64,
            },
            replayed,
        ))
    }

    /// Appends entries and, if given, a hard state (not yet durable: see [`Wal::sync`]);
    /// returns where each entry was written.
    pub fn write(
        &mut self,
        entries: &[Entry],
        hs: Option<&HardState>,
    ) -> Result<Vec<Pos>, StoreError> {
        let (bytes, positions) = records(entries, hs, self.end);
        if bytes.is_empty() {
            return Ok(positions);
        }
        self.file
            .write_all(&bytes)
            .map_err(|e| io_err("writing", &self.dir.join(WAL_FILE), e))?;
        self.end += bytes.len() as u64;
        Ok(positions)
    }

    /// Reads back the entry written at `pos` (written, not necessarily durable yet).
    pub fn read(&self, pos: Pos) -> Result<Entry, StoreError> {
        let mut record = Vec::new();
        self.read_record(pos, &mut record)?;
        Entry::parse_from_bytes(&record[HEADER..]).map_err(|e| self.bad_record(pos, e))
    }

    /// Reads the record at `pos` into `record` and checks that it is an intact entry record.
    fn read_record(&self, pos: Pos, record: &mut Vec<u8>) -> Result<(), StoreError> {
        record.resize(HEADER + pos.len as usize, 0);
        self.file
            .read_exact_at(record, pos.at)
            .map_err(|e| io_err("reading", &self.dir.join(WAL_FILE), e))?;
        check_entry_record(record).map_err(|e| self.bad_record(pos, e))
    }

    fn bad_record(&self, pos: Pos, e: impl std::fmt::Display) -> StoreError {
        StoreError::Internal(format!(
            "raft log {}: the record at byte {}: {e}",
            self.dir.join(WAL_FILE).display(),
            pos.at
        ))
    }

    /// Makes everything written so far durable.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .map_err(|e| io_err("syncing", &self.dir.join(WAL_FILE), e))
    }

    /// Replaces the whole log with the entries at `kept` (copied from the file, in order)
    /// and `hs`, durably and atomically; returns where the kept entries are now.
    pub fn rewrite(&mut self, kept: &[Pos], hs: &HardState) -> Result<Vec<Pos>, StoreError> {
        let path = self.dir.join(WAL_FILE);
        let tmp = self.dir.join(format!("{WAL_FILE}.tmp"));
        let f = File::create(&tmp).map_err(|e| io_err("creating", &tmp, e))?;
        // Streamed, record by record: the kept entries encoded into one buffer were 71 MB of a
        // follower's peak heap in a bench-scale run.
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut moved = Vec::with_capacity(kept.len());
        let mut at = 0u64;
        let mut record = Vec::new();
        for pos in kept {
            // A record damaged on disk is not copied: replayed, it would cut off the log there.
            self.read_record(*pos, &mut record)?;
            w.write_all(&record)
                .map_err(|e| io_err("writing", &tmp, e))?;
            moved.push(Pos { at, ..*pos });
            at += record.len() as u64;
        }
        let (tail, _) = records(&[], Some(hs), at);
        w.write_all(&tail)
            .and_then(|()| w.into_inner().map_err(std::io::IntoInnerError::into_error))
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err("writing", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err("renaming", &tmp, e))?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        self.end = at + tail.len() as u64;
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: format!("e{index}t{term}").into_bytes().into(),
            ..Default::default()
        }
    }

    fn indexes(r: &Replayed) -> Vec<(u64, u64)> {
        r.entries.iter().map(|e| (e.index, e.term)).collect()
    }

    #[test]
    fn replays_entries_and_the_last_hard_state() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, r) = Wal::open(dir.path()).unwrap();
        assert!(r.entries.is_empty() && r.hard_state.is_none());
        let hs = |term, commit| HardState {
            term,
            commit,
            vote: 1,
            ..Default::default()
        };
        wal.write(&[entry(1, 1), entry(2, 1)], Some(&hs(1, 1)))
            .unwrap();
        wal.write(&[entry(3, 1)], Some(&hs(1, 2))).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&r), vec![(1, 1), (2, 1), (3, 1)]);
        assert_eq!(r.hard_state, Some(hs(1, 2)));
    }

    #[test]
    fn a_later_entry_replaces_the_conflicting_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.write(&[entry(1, 1), entry(2, 1), entry(3, 1)], None)
            .unwrap();
        wal.write(&[entry(2, 2)], None).unwrap();
        drop(wal);
        let (_, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&r), vec![(1, 1), (2, 2)]);
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_writing_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.write(&[entry(1, 1), entry(2, 1)], None).unwrap();
        drop(wal);
        let path = dir.path().join(WAL_FILE);
        let len = std::fs::metadata(&path).unwrap().len();
        // Half of the second record reached the disk; then a flipped bit in what is left.
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 5).unwrap();
        drop(f);
        let (mut wal, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&r), vec![(1, 1)]);
        wal.write(&[entry(2, 2)], None).unwrap();
        drop(wal);
        let mut data = std::fs::read(&path).unwrap();
        let (_, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&r), vec![(1, 1), (2, 2)]);
        let last = data.len() - 1;
        data[last] ^= 0x40;
        std::fs::write(&path, &data).unwrap();
        let (_, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(
            indexes(&r),
            vec![(1, 1)],
            "a corrupt record ends the replay"
        );
    }

    #[test]
    fn rewrite_keeps_only_what_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        let pos = wal
            .write(&[entry(1, 1), entry(2, 1), entry(3, 1)], None)
            .unwrap();
        let hs = HardState {
            term: 1,
            vote: 1,
            commit: 3,
            ..Default::default()
        };
        let moved = wal.rewrite(&pos[2..], &hs).unwrap();
        assert_eq!(wal.read(moved[0]).unwrap(), entry(3, 1));
        let more = wal.write(&[entry(4, 1)], None).unwrap();
        assert_eq!(wal.read(more[0]).unwrap(), entry(4, 1));
        drop(wal);
        let (_, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&r), vec![(3, 1), (4, 1)]);
        assert_eq!(r.positions, vec![moved[0], more[0]]);
        assert_eq!(r.hard_state, Some(hs));
        assert!(!dir.path().join("raft.wal.tmp").exists());
    }

    #[test]
    fn an_entry_is_read_back_where_it_was_written_or_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        let hs = HardState {
            term: 2,
            ..Default::default()
        };
        let mut pos = wal.write(&[entry(1, 1), entry(2, 1)], Some(&hs)).unwrap();
        // A conflicting suffix: entry 2 is replaced, and read back as replaced.
        pos.truncate(1);
        pos.extend(wal.write(&[entry(2, 2), entry(3, 2)], None).unwrap());
        for (p, want) in pos.iter().zip([entry(1, 1), entry(2, 2), entry(3, 2)]) {
            assert_eq!(p.term, want.term);
            assert_eq!(wal.read(*p).unwrap(), want);
        }
        drop(wal);
        let (wal, r) = Wal::open(dir.path()).unwrap();
        assert_eq!(r.positions, pos);
        assert_eq!(wal.read(pos[2]).unwrap(), entry(3, 2));
        // A position that is not an entry's record is an error naming the log, not a guess.
        let wrong = Pos { at: 1, ..pos[0] };
        let e = wal.read(wrong).unwrap_err().to_string();
        assert!(e.contains("raft.wal") && e.contains("byte 1"), "{e}");
    }

    #[test]
    fn compaction_refuses_to_copy_a_damaged_record() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        let pos = wal
            .write(&[entry(1, 1), entry(2, 1), entry(3, 1)], None)
            .unwrap();
        // A bit flipped on disk in entry 2's payload.
        let path = dir.path().join(WAL_FILE);
        let mut data = std::fs::read(&path).unwrap();
        data[pos[1].at as usize + HEADER] ^= 0x01;
        std::fs::write(&path, &data).unwrap();
        let e = wal
            .rewrite(&pos[1..], &HardState::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("byte {}", pos[1].at)), "{e}");
        assert!(wal.read(pos[1]).is_err());
        // The log was not replaced: the other entries read back as written.
        assert_eq!(wal.read(pos[2]).unwrap(), entry(3, 1));
    }
}
