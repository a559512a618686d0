//! Tests of [`super::Segments`]: chunks, LZ4, cleaning, the layouts of earlier versions.
use super::*;

fn tree() -> (sled::Db, sled::Tree) {
    let db = sled::Config::new().temporary(true).open().expect("sled");
    let t = db.open_tree("objects").expect("tree");
    (db, t)
}

fn objects(tree: &sled::Tree) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    Segments::scan(tree, |k, v| match v {
        Some(v) => {
            out.insert(k.to_vec(), v.to_vec());
        }
        None => {
            out.remove(k);
        }
    })
    .expect("scan");
    out
}

fn write(s: &mut Segments, t: &sled::Tree, writes: &[(String, Option<String>)]) {
    let w = writes
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_ref().map(|v| v.clone().into_bytes())))
        .collect();
    let mut b = sled::Batch::default();
    s.write(t, w, &mut b).expect("write");
    t.apply_batch(b).expect("apply");
    s.landed();
}

#[test]
fn chunks_round_trip_values_and_removals() {
    let mut w = SegmentWriter::new(7);
    w.push(b"a", Some(b"1")).unwrap();
    w.push(b"b", None).unwrap();
    w.push(b"", Some(b"")).unwrap();
    let chunks: Vec<_> = w.finish().collect();
    assert_eq!(chunks.len(), 1);
    let (key, stored) = &chunks[0];
    assert_eq!(segment_of(key).unwrap(), 7);
    assert_eq!(key[0], LZ4_PREFIX);
    let bytes = chunk_bytes(key, stored).unwrap();
    let r = decode_chunk(&bytes).unwrap();
    assert_eq!(
        r,
        vec![
            (&b"a"[..], Some(&b"1"[..])),
            (&b"b"[..], None),
            (&b""[..], Some(&b""[..]))
        ]
    );
    assert!(
        decode_chunk(&bytes[..5]).is_err(),
        "a cut chunk is an error"
    );
}

#[test]
fn a_damaged_lz4_chunk_is_an_error_not_a_guess() {
    let mut w = SegmentWriter::new(1);
    w.push(b"Pod/default/web", Some(&[b'x'; 4_000])).unwrap();
    let (key, stored) = w.finish().next().unwrap();
    assert!(stored.len() < 200, "4,000 repeated bytes compress");
    let cut = chunk_bytes(&key, &stored[..stored.len() - 3]);
    assert!(cut.is_err(), "a cut block");
    let mut huge = stored.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = chunk_bytes(&key, &huge).unwrap_err().to_string();
    assert!(err.contains("claiming 4294967295 bytes"), "{err}");
}

#[test]
fn uncompressed_chunks_of_earlier_versions_are_read_and_cleaned_into_lz4() {
    let (_db, t) = tree();
    // A segment as written before session 15: records as they are, under PLAIN_PREFIX.
    let mut old = SegmentWriter::new(1);
    for i in 0..20_000u32 {
        old.push(format!("Pod/default/p{i}").as_bytes(), Some(b"old"))
            .unwrap();
    }
    let mut chunks = 0;
    for (i, c) in (0u32..).zip(std::mem::take(&mut old.chunks)) {
        t.insert(chunk_key(1, i, false), c).unwrap();
        chunks += 1;
    }
    assert!(chunks > 1);
    let mut s = Segments::open(&t).unwrap();
    assert_eq!(s.live(), 20_000);
    assert!(!s.segments[&1].compressed);
    // Rewriting most keys twice makes garbage outnumber the live records: the oldest
    // segment, the uncompressed one, is cleaned.
    let writes: Vec<_> = (0..15_000u32)
        .map(|i| (format!("Pod/default/p{i}"), Some("new".to_string())))
        .collect();
    write(&mut s, &t, &writes);
    assert!(s.segments.contains_key(&1), "not yet worth cleaning");
    write(&mut s, &t, &writes);
    let objs = objects(&t);
    assert_eq!(objs.len(), 20_000);
    assert_eq!(objs[&b"Pod/default/p0".to_vec()], b"new");
    assert_eq!(objs[&b"Pod/default/p19999".to_vec()], b"old");
    assert!(
        !s.segments.contains_key(&1),
        "the uncompressed segment was cleaned"
    );
    assert!(t.scan_prefix([PLAIN_PREFIX]).next().is_none());
    assert_eq!(Segments::open(&t).unwrap().index, s.index);
}

#[test]
fn later_segments_win_and_cleaning_keeps_every_live_object() {
    let (_db, t) = tree();
    let mut s = Segments::open(&t).unwrap();
    let mut model = BTreeMap::new();
    // Many rounds over a small key space: lots of garbage, so cleaning runs often.
    for round in 0..40u32 {
        let writes: Vec<_> = (0..1_000u32)
            .map(|i| {
                let k = format!("pods/default/p{}", (i * 7 + round * 13) % 3_000);
                let v = (i % 5 != 0).then(|| format!("v{round}-{i}-{}", "x".repeat(40)));
                (k, v)
            })
            .collect();
        for (k, v) in &writes {
            match v {
                Some(v) => model.insert(k.clone().into_bytes(), v.clone().into_bytes()),
                None => model.remove(k.as_bytes()),
            };
        }
        write(&mut s, &t, &writes);
        assert_eq!(objects(&t), model, "round {round}");
    }
    assert!(s.garbage() <= s.live().max(MIN_GARBAGE) + 1_000 + MAX_MOVED);
    // The index read back from disk matches the one kept in memory.
    let reopened = Segments::open(&t).unwrap();
    assert_eq!(reopened.index, s.index);
    assert_eq!(reopened.next_seq, s.next_seq);
}

#[test]
fn old_layout_keys_are_read_first_and_rewritten_into_segments() {
    let (_db, t) = tree();
    t.insert(b"\0applied", &5u64.to_be_bytes()).unwrap();
    t.insert(b"pods/default/a", b"old-a").unwrap();
    t.insert(b"pods/default/b", b"old-b").unwrap();
    let mut s = Segments::open(&t).unwrap();
    write(
        &mut s,
        &t,
        &[("pods/default/b".into(), Some("new-b".into()))],
    );
    let objs = objects(&t);
    assert_eq!(objs[&b"pods/default/a".to_vec()], b"old-a");
    assert_eq!(objs[&b"pods/default/b".to_vec()], b"new-b");
    assert!(
        t.get(b"pods/default/a").unwrap().is_none(),
        "moved into a segment"
    );
    assert!(
        t.get(b"\0applied").unwrap().is_some(),
        "metadata is not touched"
    );
}

#[test]
fn replace_leaves_only_the_snapshot() {
    let (_db, t) = tree();
    let mut s = Segments::open(&t).unwrap();
    write(&mut s, &t, &[("a".into(), Some("1".into()))]);
    let mut b = sled::Batch::default();
    s.replace(&t, &[(b"b".to_vec(), b"2".to_vec())], &mut b)
        .unwrap();
    t.apply_batch(b).unwrap();
    s.landed();
    let objs = objects(&t);
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[&b"b".to_vec()], b"2");
    assert_eq!(Segments::open(&t).unwrap().index, s.index);
}
