//! Database fixtures shared by the storage tests.
#![allow(dead_code)]

use hamdb::{Code, CreateOptions, Database, OpenOptions, WriteBatch};
use std::path::PathBuf;

pub fn tempdir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "hamdb-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A deterministic 64-bit code for an id.
pub fn code_for(id: u64) -> Code {
    let x = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (id >> 3);
    Code::from_bytes(&x.to_be_bytes()).unwrap()
}

/// A small database with two segments, tombstones, upserts and a delta: every structure the
/// format has. Returns its path and the live ids.
pub fn small_db(dir: &std::path::Path) -> (PathBuf, Vec<u64>) {
    let path = dir.join("small.hamdb");
    let opts = OpenOptions {
        flush_threshold: Some(40),
        ..OpenOptions::default()
    };
    let db = Database::create_with(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: b"test-encoder".to_vec(),
            expected_radius: None,
        },
        opts,
    )
    .unwrap();
    let mut live = std::collections::BTreeSet::new();
    for round in 0..3u64 {
        let mut b = WriteBatch::new();
        for i in 0..25 {
            let id = round * 25 + i;
            b.insert(
                id,
                code_for(id),
                Some((id % 3) as u32),
                format!("item-{id}"),
            );
            live.insert(id);
        }
        db.commit(b).unwrap();
    }
    let mut b = WriteBatch::new();
    for id in [3u64, 30, 61] {
        b.delete(id);
        live.remove(&id);
    }
    b.upsert(7, code_for(1007), None, "replaced");
    db.commit(b).unwrap();
    (path, live.into_iter().collect())
}
