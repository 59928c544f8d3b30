//! The database file: reopening, locking, read-only refresh, typed errors, and damage —
//! truncation at every length and a flipped byte at every offset give a clear error or a
//! documented recovery (the previous commit), never a panic.

mod common;

use common::db::{code_for, small_db, tempdir};
use hamdb::{Code, CreateOptions, Database, Error, OpenOptions, WriteBatch};
use std::time::Duration;

#[test]
fn reopen_keeps_everything_and_verify_passes() {
    let dir = tempdir("reopen");
    let (path, live) = small_db(&dir);
    let db = Database::open(&path).unwrap();
    assert_eq!(db.snapshot().len(), live.len() as u64);
    assert_eq!(db.fingerprint(), b"test-encoder");
    let got = db.search(&code_for(10), 1).unwrap();
    assert_eq!(
        (
            got.hits[0].id,
            got.hits[0].distance,
            got.hits[0].payload.as_slice()
        ),
        (10, 0, &b"item-10"[..])
    );
    assert_eq!(got.hits[0].label, Some(1));
    assert!(
        db.search(&code_for(3), 1).unwrap().hits[0].id != 3,
        "deleted ids stay deleted"
    );
    let replaced = db.snapshot().get(7).unwrap().unwrap();
    assert_eq!(
        (replaced.code, replaced.label, replaced.payload),
        (code_for(1007), None, b"replaced".to_vec())
    );
    let stats = db.stats();
    assert!(
        stats.segments >= 1 && stats.delta_items > 0 && stats.deleted_in_segments > 0,
        "{stats:?}"
    );
    let report = Database::verify(&path).unwrap();
    assert_eq!(report.items, live.len() as u64);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_second_writer_is_refused_and_readers_refresh() {
    let dir = tempdir("lock");
    let (path, live) = small_db(&dir);
    let writer = Database::open(&path).unwrap();
    assert!(matches!(Database::open(&path), Err(Error::Locked)));
    let reader = Database::open_read_only(&path).unwrap();
    assert!(matches!(
        reader.commit({
            let mut b = WriteBatch::new();
            b.delete(1);
            b
        }),
        Err(Error::ReadOnly)
    ));
    let mut b = WriteBatch::new();
    b.insert(1000, code_for(1000), None, "new");
    writer.commit(b).unwrap();
    assert_eq!(
        reader.snapshot().len(),
        live.len() as u64,
        "a reader sees its snapshot until it refreshes"
    );
    assert!(reader.refresh().unwrap());
    assert_eq!(reader.snapshot().len(), live.len() as u64 + 1);
    writer.compact().unwrap();
    assert!(reader.refresh().unwrap());
    assert_eq!(reader.search(&code_for(1000), 1).unwrap().hits[0].id, 1000);
    drop(writer);
    Database::open(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// A forked child, blocked until the pipe it reads from gets a byte, holding copies of every
/// descriptor the test process had open at the fork. Killed and reaped on drop, so a failing
/// test cannot leave it holding other tests' locks.
struct ForkedChild {
    pid: libc::pid_t,
    release: libc::c_int,
}

impl ForkedChild {
    fn spawn() -> Self {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is valid for two ints, as pipe(2) requires.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child calls only read(2) and _exit(2), both async-signal-safe, so it is
        // sound in a multi-threaded parent; it touches no Rust state and never returns.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let mut byte = 0u8;
            // SAFETY: fds[0] is the pipe's open read end; `byte` is valid for one byte.
            unsafe {
                libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
                libc::_exit(0);
            }
        }
        // SAFETY: fds[0] is this process's read end, unused here.
        unsafe { libc::close(fds[0]) };
        Self {
            pid,
            release: fds[1],
        }
    }

    /// Let the child exit (it lets go of its descriptors then), without waiting for it.
    fn release(&self) {
        // SAFETY: `release` is the pipe's open write end; one byte from a valid buffer.
        assert_eq!(
            unsafe { libc::write(self.release, [1u8].as_ptr().cast(), 1) },
            1
        );
    }
}

impl Drop for ForkedChild {
    fn drop(&mut self) {
        // SAFETY: `pid` is our own unreaped child, `release` our own descriptor.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            libc::close(self.release);
        }
    }
}

/// The write lock is an flock on the file's open description, which a forked child shares
/// until it execs or exits: closing a handle and reopening it while any thread of the host
/// spawns a process can meet that copy. The open waits it out (`lock_wait`) instead of
/// reporting `Locked` (seen in CI: a test's `mkfifo` spawn against another test's create).
#[test]
fn a_forked_childs_copy_of_the_lock_is_waited_out() {
    let dir = tempdir("fork-lock");
    let path = dir.join("forked.hamdb");
    let no_wait = || OpenOptions {
        lock_wait: Some(Duration::ZERO),
        ..OpenOptions::default()
    };
    // Creation hands its lock to the new handle: a child forked between the two would
    // otherwise hold the creating descriptor while the handle locks again.
    let db = Database::create_with(&path, CreateOptions::new(64), no_wait()).unwrap();
    let child = ForkedChild::spawn();
    drop(db);
    assert!(
        matches!(Database::open_with(&path, no_wait()), Err(Error::Locked)),
        "the child's copy of the descriptor still holds the lock"
    );
    child.release();
    let db = Database::open_with(
        &path,
        OpenOptions {
            lock_wait: Some(Duration::from_secs(30)),
            ..OpenOptions::default()
        },
    )
    .expect("the open waits until the child has exited");
    // The wait is for transient holders only: a live writer is still refused.
    assert!(matches!(Database::open(&path), Err(Error::Locked)));
    drop((db, child));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_writes_are_typed_errors_and_change_nothing() {
    let dir = tempdir("errors");
    let (path, live) = small_db(&dir);
    let db = Database::open(&path).unwrap();
    let txn = db.stats().txn;
    let mut b = WriteBatch::new();
    b.insert(5000, code_for(5000), None, "fine")
        .insert(10, code_for(1), None, "duplicate");
    assert_eq!(db.commit(b).unwrap_err(), Error::DuplicateId { id: 10 });
    let mut b = WriteBatch::new();
    b.insert(5001, Code::from_hex("0102").unwrap(), None, "");
    assert_eq!(
        db.commit(b).unwrap_err(),
        Error::CodeLengthMismatch {
            expected: 64,
            actual: 16
        }
    );
    let mut b = WriteBatch::new();
    b.insert(5002, code_for(1), Some(u32::MAX), "");
    assert!(matches!(
        db.commit(b),
        Err(Error::InvalidParameter { name: "label", .. })
    ));
    assert_eq!(db.stats().txn, txn);
    assert_eq!(db.snapshot().len(), live.len() as u64);
    assert!(
        db.snapshot().get(5000).unwrap().is_none(),
        "a failed batch is all or nothing"
    );
    assert!(matches!(
        db.search(&Code::from_hex("01").unwrap(), 3),
        Err(Error::CodeLengthMismatch { .. })
    ));
    let mut b = WriteBatch::new();
    b.insert_auto(code_for(1), None, "a")
        .insert_auto(code_for(2), None, "b");
    let info = db.commit(b).unwrap();
    assert_eq!(info.assigned_ids.len(), 2);
    assert!(
        info.assigned_ids[0] > *live.last().unwrap()
            && info.assigned_ids[1] == info.assigned_ids[0] + 1
    );
    assert!(matches!(
        Database::create(
            &path,
            CreateOptions {
                code_bits: 64,
                fingerprint: vec![],
                expected_radius: None,
            }
        ),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        Database::create(
            dir.join("x.hamdb"),
            CreateOptions {
                code_bits: 12,
                fingerprint: vec![],
                expected_radius: None,
            }
        ),
        Err(Error::UnsupportedCodeLength { .. })
    ));
    std::fs::write(dir.join("not.hamdb"), b"hello").unwrap();
    assert!(matches!(
        Database::open(dir.join("not.hamdb")),
        Err(Error::NotADatabase { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

/// Open the damaged file and use it; returns whether it opened.
fn exercise(p: &std::path::Path) -> bool {
    match Database::open_read_only(p) {
        Ok(db) => {
            for id in [0u64, 10, 74] {
                let _ = db.search(&code_for(id), 5);
                let _ = db.search_radius(&code_for(id), 6);
                let _ = db.snapshot().get(id);
            }
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn truncation_at_every_length_is_an_error_never_a_panic() {
    let dir = tempdir("truncate");
    let (path, _) = small_db(&dir);
    let full = std::fs::metadata(&path).unwrap().len();
    assert!(exercise(&path));
    // Cut the file shorter and shorter in place (rewriting a copy per length would spend the
    // test in page-cache writeback).
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let mut opened_short = 0;
    for len in (0..full).rev() {
        file.set_len(len).unwrap();
        opened_short += usize::from(exercise(&path));
    }
    // The committed end is the file's end, so every strict prefix loses committed bytes.
    assert_eq!(opened_short, 0, "a truncated file must not open");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_flipped_byte_anywhere_is_detected_or_harmless() {
    let dir = tempdir("flip");
    let (path, live) = small_db(&dir);
    use std::os::unix::fs::FileExt;
    let answers = |p: &std::path::Path| -> Vec<Vec<hamdb::Hit>> {
        let db = Database::open_read_only(p).unwrap();
        (0..80)
            .step_by(7)
            .map(|id| db.search(&code_for(id), 4).unwrap().hits)
            .collect()
    };
    let reference = answers(&path);
    let bytes = std::fs::read(&path).unwrap();
    // A damaged newest commit record cannot be told from one torn by a crash, so the previous
    // commit (the other slot) is the documented recovery; its answers are also acceptable.
    let mut previous = Vec::new();
    for slot in [4096usize, 8192] {
        let mut b = bytes.clone();
        b[slot..slot + 64].fill(0);
        let p = dir.join("slot.hamdb");
        std::fs::write(&p, &b).unwrap();
        if let Ok(db) = Database::open_read_only(&p) {
            if db.snapshot().len() != live.len() as u64 {
                previous = answers(&p);
            }
        }
    }
    assert!(
        !previous.is_empty(),
        "the previous commit must be recoverable"
    );
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let (mut opened, mut verify_caught, mut same_state, mut rolled_back) = (0, 0, 0, 0);
    for at in 0..bytes.len() {
        file.write_all_at(&[bytes[at] ^ 0x5a], at as u64).unwrap();
        if exercise(&path) {
            opened += 1;
            match Database::verify(&path) {
                Err(_) => verify_caught += 1,
                Ok(r) => {
                    // Verify passing means the damage is in bytes nothing reads (header
                    // padding, alignment gaps, the older commit slot): answers are unchanged.
                    let got = answers(&path);
                    if got == reference {
                        assert_eq!(r.items, live.len() as u64, "flip at {at}");
                        same_state += 1;
                    } else {
                        assert_eq!(got, previous, "undetected damage at offset {at}");
                        assert!(
                            (4096..4096 + 8192).contains(&at),
                            "only a commit record flip rolls back ({at})"
                        );
                        rolled_back += 1;
                    }
                }
            }
        }
        file.write_all_at(&bytes[at..at + 1], at as u64).unwrap();
    }
    // Bytes that open and verify cleanly are either unused (header padding, alignment gaps) or
    // the older commit slot; the state they give is then a committed one.
    println!(
        "{} offsets: {opened} opened, {verify_caught} caught by verify, {same_state} unchanged, {rolled_back} rolled back to the previous commit",
        bytes.len()
    );
    assert!(verify_caught > 0 && rolled_back > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bulk_import_adds_a_segment_in_one_commit() {
    use hamdb::{CodeArray, CodeLen, Import};
    let dir = tempdir("import");
    let (path, live) = small_db(&dir);
    let db = Database::open(&path).unwrap();
    let len = CodeLen::new(64).unwrap();
    let mut codes = CodeArray::new(len);
    for i in 0..5000u64 {
        codes.push(&code_for(100_000 + i)).unwrap();
    }
    let labels: Vec<u32> = (0..5000).map(|i| i % 10).collect();
    let txn = db.stats().txn;
    let info = db
        .import(Import {
            codes: &codes,
            ids: None,
            labels: Some(&labels),
            payloads: None,
        })
        .unwrap();
    assert_eq!(info.txn, txn + 1);
    assert_eq!(info.assigned_ids.len(), 5000);
    let first = info.assigned_ids[0];
    assert!(first > *live.last().unwrap());
    let stats = db.stats();
    assert_eq!(
        (stats.items, stats.delta_items),
        (live.len() as u64 + 5000, 0),
        "the delta is folded into the new segment"
    );
    let hit = &db.search(&code_for(100_123), 1).unwrap().hits[0];
    assert_eq!((hit.id, hit.distance, hit.label), (first + 123, 0, Some(3)));
    // Explicit ids: an existing or repeated id fails the whole import.
    let mut two = CodeArray::new(len);
    two.push(&code_for(1)).unwrap();
    two.push(&code_for(2)).unwrap();
    assert_eq!(
        db.import(Import {
            codes: &two,
            ids: Some(&[900_000, 10]),
            labels: None,
            payloads: None
        })
        .unwrap_err(),
        Error::DuplicateId { id: 10 }
    );
    assert_eq!(
        db.import(Import {
            codes: &two,
            ids: Some(&[900_000, 900_000]),
            labels: None,
            payloads: None
        })
        .unwrap_err(),
        Error::RepeatedId { id: 900_000 },
        "an id repeated within one import says so, not 'already exists'"
    );
    assert!(matches!(
        db.import(Import {
            codes: &two,
            ids: Some(&[1]),
            labels: None,
            payloads: None
        }),
        Err(Error::InvalidParameter { .. })
    ));
    db.import(Import {
        codes: &two,
        ids: Some(&[900_001, 900_000]),
        labels: None,
        payloads: Some(&[b"a".to_vec(), b"b".to_vec()]),
    })
    .unwrap();
    drop(db);
    let db = Database::open(&path).unwrap();
    assert_eq!(db.snapshot().get(900_000).unwrap().unwrap().payload, b"b");
    assert_eq!(db.stats().items, live.len() as u64 + 5002);
    Database::verify(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn commits_compact_automatically_past_the_policy_thresholds() {
    use hamdb::{CompactionPolicy, OpenOptions};
    let dir = tempdir("autocompact");
    let path = dir.join("a.hamdb");
    let policy = CompactionPolicy {
        max_segments: 3,
        max_deleted_fraction: 0.25,
    };
    let opts = OpenOptions {
        flush_threshold: Some(10),
        compaction: Some(policy),
        ..OpenOptions::default()
    };
    let db = Database::create_with(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
        opts,
    )
    .unwrap();
    let mut max_segments = 0;
    for c in 0..12u64 {
        let mut b = WriteBatch::new();
        for id in c * 10..c * 10 + 10 {
            b.insert(id, code_for(id), None, "");
        }
        assert!(db.commit(b).unwrap().maintenance_error.is_none());
        max_segments = max_segments.max(db.stats().segments);
    }
    assert!(
        max_segments <= 3,
        "segments never exceed the policy ({max_segments})"
    );
    // Deleting 30% of the items triggers a compaction that reclaims them.
    let mut b = WriteBatch::new();
    for id in (0..120).step_by(3) {
        b.delete(id);
    }
    db.commit(b).unwrap();
    let s = db.stats();
    assert_eq!((s.deleted_in_segments, s.items), (0, 80), "{s:?}");
    assert!(db.snapshot().get(3).unwrap().is_none() && db.snapshot().get(4).unwrap().is_some());
    Database::verify(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// Run `f` on another thread and fail (instead of hanging the suite) if it blocks.
fn within_seconds<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("the call blocked instead of returning")
}

#[test]
fn a_fifo_or_a_directory_is_refused_at_once() {
    let dir = tempdir("fifo");
    let fifo = dir.join("pipe.hamdb");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for target in [fifo, dir.clone()] {
        let name = target.display().to_string();
        let p = target.clone();
        let errors = within_seconds(20, move || {
            vec![
                Database::open(&p).err(),
                Database::open_read_only(&p).err(),
                Database::verify(&p).err(),
            ]
        });
        for e in errors {
            match e {
                Some(Error::NotADatabase { reason }) => {
                    assert!(reason.contains("not a regular file"), "{name}: {reason}")
                }
                other => panic!("{name}: expected NotADatabase, got {other:?}"),
            }
        }
    }
}

#[test]
fn an_insert_delete_workload_flushes_without_compaction() {
    use hamdb::{CompactionPolicy, OpenOptions, MAX_DELTA_BATCHES};
    let dir = tempdir("churn");
    let path = dir.join("churn.hamdb");
    let opts = OpenOptions {
        compaction: Some(CompactionPolicy::disabled()),
        ..OpenOptions::default()
    };
    let db = Database::create_with(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
        opts.clone(),
    )
    .unwrap();
    // Each commit inserts one item and deletes the one before: the delta never grows, so
    // only the count of delta batches can trigger a flush.
    for i in 0..1200u64 {
        let mut b = WriteBatch::new();
        b.insert(i, code_for(i), None, "x");
        if i > 0 {
            b.delete(i - 1);
        }
        db.commit(b).unwrap();
    }
    let report = Database::verify(&path).unwrap();
    assert!(
        report.delta_batches <= MAX_DELTA_BATCHES,
        "{} delta batches to replay at every open",
        report.delta_batches
    );
    assert_eq!(report.items, 1);
    assert!(
        db.stats().segments >= 1200 / MAX_DELTA_BATCHES - 1,
        "flushes happened"
    );
    drop(db);
    let db = Database::open_with(&path, opts).unwrap();
    assert_eq!(db.snapshot().get(1199).unwrap().unwrap().payload, b"x");
}
