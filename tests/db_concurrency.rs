//! Readers search snapshots while the writer commits, flushes and compacts: every answer a
//! reader gets is the state of exactly one commit, and readers never wait for the writer.

mod common;

use common::db::tempdir;
use hamdb::{Code, CreateOptions, Database, OpenOptions, WriteBatch};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

#[test]
fn readers_always_see_one_commits_state() {
    let dir = tempdir("concurrency");
    let path = dir.join("c.hamdb");
    let opts = OpenOptions {
        flush_threshold: Some(50),
        ..OpenOptions::default()
    };
    let db = Database::create_with(
        &path,
        CreateOptions {
            code_bits: 32,
            fingerprint: vec![],
            expected_radius: None,
        },
        opts,
    )
    .unwrap();
    // Commit c inserts ids 10c..10c+9, each at distance (id % 7) from the query code, so a
    // k-NN with a huge k returns every live item and the id set tells which commit it saw.
    let q = Code::from_hex("00000000").unwrap();
    let code = |id: u64| {
        let bits = (1u32 << (id % 7)) - 1;
        Code::from_bytes(&bits.to_be_bytes()).unwrap()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (db, stop, searches, q) = (db.clone(), stop.clone(), searches.clone(), q.clone());
            std::thread::spawn(move || {
                let mut last_txn = 0;
                while !stop.load(Ordering::Relaxed) {
                    let snap = db.snapshot();
                    assert!(snap.txn() >= last_txn, "snapshots never go back in time");
                    last_txn = snap.txn();
                    let hits = if r == 0 {
                        snap.search_radius(&q, 32, None).unwrap().hits
                    } else {
                        snap.search(&q, 1_000_000, None).unwrap().hits
                    };
                    let mut ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
                    ids.sort_unstable();
                    let n = ids.len() as u64;
                    assert_eq!(n % 10, 0, "a partial commit is visible: {n} items");
                    assert!(
                        ids.iter().copied().eq(0..n),
                        "ids are not exactly those of commits 0..{}",
                        n / 10
                    );
                    for h in &hits {
                        assert_eq!(h.distance as u64, h.id % 7);
                        assert_eq!(h.payload, h.id.to_le_bytes());
                    }
                    assert_eq!(snap.len(), n);
                    searches.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for c in 0..150u64 {
        let mut b = WriteBatch::new();
        for id in c * 10..c * 10 + 10 {
            b.insert(id, code(id), None, id.to_le_bytes());
        }
        db.commit(b).unwrap();
        if c % 37 == 36 {
            db.compact().unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(
        searches.load(Ordering::Relaxed) > 50,
        "readers must have run alongside the writer"
    );
    assert_eq!(db.snapshot().len(), 1500);
    std::fs::remove_dir_all(&dir).ok();
}

/// The write lock belongs to the handle, not to the file mapping its snapshots keep: once the
/// writer is dropped the database reopens for writing while an old snapshot still answers.
#[test]
fn a_snapshot_outliving_its_writer_does_not_hold_the_lock() {
    let dir = common::db::tempdir("snap-lock");
    let (path, ids) = common::db::small_db(&dir);
    let db = Database::open(&path).unwrap();
    let snap = db.snapshot();
    assert!(matches!(Database::open(&path), Err(hamdb::Error::Locked)));
    drop(db);
    let again = Database::open(&path).unwrap();
    let q = common::db::code_for(ids[0]);
    assert_eq!(
        snap.search(&q, 3, None).unwrap(),
        again.snapshot().search(&q, 3, None).unwrap()
    );
}
