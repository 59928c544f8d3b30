//! Readers in one process while a writer in another commits, flushes and compacts: every
//! read-only open, refresh, `verify` and `stats` must see one complete commit, and never call
//! a sound file corrupt.
//!
//! The writer's commit c inserts ids 10c..10c+9 and deletes commit c-3's ids, so every commit
//! leaves whole, consecutive commits live: at most three, 10 ids each. A reader that mixed two
//! commits' bytes, or read a commit record before the data it names, fails the check or gets
//! an error. Meanwhile a would-be second writer must always be refused.
//!
//! `make test` runs this for a few seconds; `make soak-readers` runs it for minutes
//! (`HAMDB_READERS_SECS`).

mod common;

use common::db::{code_for, tempdir};
use hamdb::{CodeLen, CreateOptions, Database, OpenOptions, Snapshot, WriteBatch};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PER_COMMIT: u64 = 10;
const BITS: usize = 64;

fn seconds() -> f64 {
    std::env::var("HAMDB_READERS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0)
}

/// The writer's body; a no-op unless started by the test below with HAMDB_READERS_CHILD set.
#[test]
fn readers_writer_child() {
    let Ok(path) = std::env::var("HAMDB_READERS_CHILD") else {
        return;
    };
    let db = Database::open_with(
        &path,
        OpenOptions {
            flush_threshold: Some(40),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds());
    let mut c = 0u64;
    while Instant::now() < deadline {
        let mut b = WriteBatch::new();
        for i in 0..PER_COMMIT {
            let id = c * PER_COMMIT + i;
            b.insert(id, code_for(id), None, id.to_le_bytes());
        }
        if c >= 3 {
            for i in 0..PER_COMMIT {
                b.delete((c - 3) * PER_COMMIT + i);
            }
        }
        let info = db.commit(b).unwrap();
        assert!(info.maintenance_error.is_none());
        if c % 25 == 24 {
            db.compact().unwrap();
        }
        c += 1;
    }
    // Before the lock is let go (when `db` drops): from now on a second writer may succeed.
    std::fs::write(format!("{path}.finished"), b"").unwrap();
    println!("commits {c}");
}

/// Whole, consecutive commits, at most three, every payload its id.
fn check_state(snap: &Snapshot) -> Result<u64, String> {
    let everything = hamdb::Code::from_bytes(&[0u8; BITS / 8]).unwrap();
    let hits = snap
        .search_radius(&everything, BITS as u32, None)
        .map_err(|e| format!("search: {e}"))?
        .hits;
    if hits.len() as u64 != snap.len() {
        return Err(format!("{} hits for {} items", hits.len(), snap.len()));
    }
    let ids: BTreeSet<u64> = hits.iter().map(|h| h.id).collect();
    if ids.len() != hits.len() {
        return Err("an id returned twice".into());
    }
    for h in &hits {
        if h.payload != h.id.to_le_bytes() {
            return Err(format!("id {} has another item's payload", h.id));
        }
    }
    let Some(&lo) = ids.first() else {
        return Ok(0);
    };
    let hi = *ids.last().unwrap();
    let whole = lo % PER_COMMIT == 0 && hi % PER_COMMIT == PER_COMMIT - 1;
    let contiguous = (hi - lo + 1) as usize == ids.len();
    if !whole || !contiguous || ids.len() as u64 > 3 * PER_COMMIT {
        return Err(format!(
            "ids {lo}..={hi} ({} of them) are not whole consecutive commits",
            ids.len()
        ));
    }
    Ok(snap.txn())
}

#[test]
fn readers_never_see_a_torn_commit_or_a_false_corrupt() {
    let dir = tempdir("readers");
    let path = dir.join("db.hamdb");
    Database::create(
        &path,
        CreateOptions {
            code_bits: BITS,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap();
    assert_eq!(CodeLen::new(BITS).unwrap().bits(), BITS);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "readers_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HAMDB_READERS_CHILD", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    // Readers start once the writer has committed (and so holds the write lock).
    let started = Instant::now();
    while Database::open_read_only(&path).unwrap().stats().txn < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the writer never committed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let done = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for kind in ["open", "refresh", "verify+stats", "second writer"] {
        let (path, done, errors) = (path.clone(), done.clone(), errors.clone());
        let finished = std::path::PathBuf::from(format!("{}.finished", path.display()));
        readers.push(std::thread::spawn(move || {
            let mut rounds = 0u64;
            let mut txns = BTreeSet::new();
            let mut handle: Option<Database> = None;
            let fail = |what: String| {
                let mut e = errors.lock().unwrap();
                if e.len() < 20 {
                    e.push(format!("{kind}: {what}"));
                }
            };
            while !done.load(Ordering::Relaxed) {
                rounds += 1;
                let outcome = match kind {
                    "open" => Database::open_read_only(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|db| check_state(&db.snapshot())),
                    "refresh" => match &handle {
                        None => Database::open_read_only(&path)
                            .map_err(|e| e.to_string())
                            .map(|db| handle = Some(db))
                            .map(|()| 0),
                        Some(db) => db
                            .refresh()
                            .map_err(|e| format!("refresh: {e}"))
                            .and_then(|_| check_state(&db.snapshot())),
                    },
                    // While the writer lives, every other writer must be refused, even one
                    // that opened the file just before a compaction renamed a new one over it.
                    // No lock wait: a refusal is the expected answer here, every round.
                    "second writer" => match Database::open_with(
                        &path,
                        hamdb::OpenOptions {
                            lock_wait: Some(Duration::ZERO),
                            ..hamdb::OpenOptions::default()
                        },
                    ) {
                        Err(hamdb::Error::Locked) => Ok(0),
                        Err(e) => Err(format!("second writer: {e}")),
                        // The lock was won, so the writer had let it go, so it had made the
                        // marker first: only a marker missing now means two writers.
                        Ok(_) if finished.exists() => Ok(0),
                        Ok(_) => Err("a second writer got the write lock".into()),
                    },
                    _ => Database::verify(&path)
                        .map_err(|e| format!("verify: {e}"))
                        .and_then(|r| {
                            if r.items > 3 * PER_COMMIT || r.items % PER_COMMIT != 0 {
                                return Err(format!("verify counted {} items", r.items));
                            }
                            Database::open_read_only(&path)
                                .map_err(|e| format!("stats: {e}"))
                                .map(|db| db.stats().txn)
                        }),
                };
                match outcome {
                    Ok(txn) => {
                        txns.insert(txn);
                    }
                    Err(e) => fail(e),
                }
            }
            (kind, rounds, txns.len())
        }));
    }
    let status = child.wait().unwrap();
    done.store(true, Ordering::Relaxed);
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "writer failed:\n{out}");
    // The harness may print its own text on the same line ("test ... commits N").
    let commits: u64 = out
        .split("commits ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("writer reports its commits:\n{out}"));
    let mut summary = Vec::new();
    for r in readers {
        let (kind, rounds, distinct) = r.join().unwrap();
        summary.push(format!(
            "{kind}: {rounds} rounds, {distinct} distinct commits seen"
        ));
        // The test means something only if readers raced many commits.
        let want_commits = if kind == "second writer" { 1 } else { 10 };
        assert!(
            rounds >= 50 && distinct >= want_commits,
            "{kind} barely ran: {summary:?}"
        );
    }
    let errors = errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "{} writer commits; {summary:?}; errors:\n{}",
        commits,
        errors.join("\n")
    );
    assert!(commits >= 100, "the writer made only {commits} commits");
    // The file is sound afterwards, and holds the writer's last three commits.
    let db = Database::open(&path).unwrap();
    check_state(&db.snapshot()).unwrap();
    assert_eq!(db.snapshot().len(), 3 * PER_COMMIT);
    Database::verify(&path).unwrap();
}
