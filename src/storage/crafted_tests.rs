//! Hostile files whose checksums are all valid: a crafted manifest, committed the way a real
//! commit would be (manifest block, fsync-free record in the next slot), must be refused by
//! open and verify when it breaks an invariant the checksums cannot see.

use super::load;
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::Error;
use crate::storage::codec;
use crate::storage::file::write_block;
use crate::storage::format::{align_up, BlockKind, Meta};
use crate::storage::io::{FileStorage, StorageFile};
use crate::storage::manifest::{ArrayRef, Manifest};
use crate::storage::segment;
use crate::storage::{CompactionPolicy, CreateOptions, Database, OpenOptions, WriteBatch};
use std::fs::{File, OpenOptions as FsOpenOptions};
use std::path::{Path, PathBuf};

fn test_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hamdb-crafted-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn code(id: u64) -> Code {
    let x = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (id >> 3);
    Code::from_bytes(&x.to_be_bytes()).unwrap()
}

/// Two segments (ids 0..40 and 40..80), a tombstone and one delta batch.
fn base(tag: &str) -> PathBuf {
    let path = test_dir(tag).join("db.hamdb");
    let db = Database::create_with(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
        OpenOptions {
            flush_threshold: Some(40),
            compaction: Some(CompactionPolicy::disabled()),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    for chunk in 0..2u64 {
        let mut b = WriteBatch::new();
        for id in chunk * 40..(chunk + 1) * 40 {
            b.insert(id, code(id), Some(1), id.to_le_bytes());
        }
        db.commit(b).unwrap();
    }
    let mut b = WriteBatch::new();
    b.delete(3).insert(100, code(100), None, "delta");
    db.commit(b).unwrap();
    assert_eq!(db.stats().segments, 2);
    assert_eq!(db.stats().delta_items, 1);
    path
}

/// Commit `edit` of the current manifest (plus any blocks `edit` appends) as the next commit.
fn craft(path: &Path, edit: impl FnOnce(&mut Manifest, &dyn StorageFile, &mut u64)) {
    let file = File::open(path).unwrap();
    let (_, state) = load(&file, None).unwrap();
    let storage = FileStorage {
        file: FsOpenOptions::new().write(true).open(path).unwrap(),
    };
    let mut manifest = state.manifest.clone();
    manifest.txn = state.meta.txn + 1;
    let mut at = align_up(state.meta.file_len);
    edit(&mut manifest, &storage, &mut at);
    let end = write_block(&storage, at, BlockKind::Manifest, &codec::encode(&manifest)).unwrap();
    let meta = Meta {
        txn: manifest.txn,
        manifest: at,
        file_len: end,
    };
    storage
        .write_at(&meta.encode(), Meta::slot_of(meta.txn))
        .unwrap();
}

fn refused(path: &Path, want: &str) {
    for (what, got) in [
        ("open", Database::open_read_only(path).err()),
        ("verify", Database::verify(path).err()),
    ] {
        match got {
            Some(Error::Corrupt { what: msg }) => {
                assert!(msg.contains(want), "{what}: '{msg}' lacks '{want}'")
            }
            other => panic!("{what}: expected Corrupt ({want}), got {other:?}"),
        }
    }
}

#[test]
fn a_control_edit_is_accepted() {
    // The crafting itself is sound: an unchanged manifest re-committed opens and verifies.
    let path = base("control");
    craft(&path, |_, _, _| {});
    let db = Database::open_read_only(&path).unwrap();
    assert_eq!(db.snapshot().len(), 80);
    Database::verify(&path).unwrap();
}

#[test]
fn a_segment_listed_twice_is_refused() {
    let path = base("seg-twice");
    craft(&path, |m, _, _| {
        let again = m.segments[0].clone();
        m.segments.push(again);
    });
    refused(&path, "overlap");
}

#[test]
fn a_delta_batch_listed_twice_is_refused() {
    let path = base("delta-twice");
    craft(&path, |m, _, _| {
        let again = m.deltas[0];
        m.deltas.push(again);
    });
    refused(&path, "overlap");
}

#[test]
fn overlapping_arrays_are_refused() {
    let path = base("alias");
    // The codes array laid over the ids array: both are u64 [n].
    craft(&path, |m, _, _| {
        let ids = m.segments[0].arrays[0];
        m.segments[0].arrays[1] = ArrayRef {
            offset: ids.offset,
            len: m.segments[0].arrays[1].len,
        };
    });
    refused(&path, "overlaps the array before it");
}

#[test]
fn unaligned_arrays_are_refused() {
    let path = base("unaligned");
    craft(&path, |m, _, _| {
        m.segments[0].arrays[2].offset += 8;
    });
    refused(&path, "not 64-byte aligned");
}

#[test]
fn a_next_id_below_a_stored_id_is_refused() {
    let path = base("next-id");
    craft(&path, |m, _, _| m.next_id = 50);
    refused(&path, "next id");
}

#[test]
fn tombstones_of_ids_a_segment_lacks_are_refused() {
    let path = base("tomb");
    craft(&path, |m, storage, at| {
        let t: Vec<(u64, Vec<u64>)> = vec![(m.segments[0].block, vec![3, 70])];
        m.tombstones = Some(*at);
        *at =
            align_up(write_block(storage, *at, BlockKind::Tombstones, &codec::encode(&t)).unwrap());
    });
    refused(&path, "does not hold");
}

#[test]
fn the_same_id_live_in_two_segments_fails_verify() {
    let path = base("dup-id");
    // A third segment, well formed on its own, that holds id 10 again (live in segment 0).
    craft(&path, |m, storage, at| {
        let len = CodeLen::new(64).unwrap();
        let mut cols = segment::ColumnsBuilder::with_capacity(len, 2);
        for id in [10u64, 90] {
            let mut a = CodeArray::new(len);
            a.push(&code(id)).unwrap();
            cols.push(id, a.get_words(0), None, b"");
        }
        let (seg, mut r) = segment::encode(cols.finish(), None).unwrap();
        r.block = *at;
        seg.write_to(storage, *at).unwrap();
        *at = align_up(*at + seg.block_len());
        m.segments.push(r);
        m.next_id = 101;
    });
    // Open stays O(1) in the data and accepts it; verify, which reads everything, must not.
    Database::open_read_only(&path).unwrap();
    match Database::verify(&path) {
        Err(Error::Corrupt { what }) => assert!(what.contains("id 10 is stored twice"), "{what}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
