//! Fault injection through the storage trait: the Nth write or sync fails, a write is cut
//! short, the disk fills up. The failing call returns an error, the handle refuses further
//! writes, and reopening gives exactly the last committed state.

mod common;

use common::db::{code_for, tempdir};
use hamdb::storage::io::{StorageFile, StorageWrapper};
use hamdb::{CreateOptions, Database, Error, OpenOptions, WriteBatch};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The Nth write fails before writing anything.
    FailWrite(u64),
    /// The Nth write writes half its bytes, then fails.
    ShortWrite(u64),
    /// The Nth sync fails.
    FailSync(u64),
    /// Writes past this many bytes in total fail with "no space".
    DiskFull(u64),
}

struct Faulty {
    inner: Box<dyn StorageFile>,
    fault: Fault,
    writes: Arc<AtomicU64>,
    syncs: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl StorageFile for Faulty {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        let total = self.bytes.fetch_add(buf.len() as u64, Ordering::SeqCst) + buf.len() as u64;
        match self.fault {
            Fault::FailWrite(k) if n == k => Err(io::Error::other("injected write failure")),
            Fault::ShortWrite(k) if n == k => {
                self.inner.write_at(&buf[..buf.len() / 2], offset)?;
                Err(io::Error::other("injected short write"))
            }
            Fault::DiskFull(limit) if total > limit => Err(io::Error::from_raw_os_error(28)),
            _ => self.inner.write_at(buf, offset),
        }
    }
    fn sync(&self) -> io::Result<()> {
        let n = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fault {
            Fault::FailSync(k) if n == k => Err(io::Error::other("injected fsync failure")),
            _ => self.inner.sync(),
        }
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
}

fn wrapper(fault: Fault) -> StorageWrapper {
    let (w, s, b) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    Arc::new(move |inner| {
        Box::new(Faulty {
            inner,
            fault,
            writes: w.clone(),
            syncs: s.clone(),
            bytes: b.clone(),
        }) as Box<dyn StorageFile>
    })
}

/// Ids after `commits` successful commits of the workload below.
fn expected_ids(commits: u64) -> Vec<u64> {
    let mut ids: std::collections::BTreeSet<u64> = Default::default();
    for c in 0..commits {
        for i in 0..30 {
            ids.insert(c * 30 + i);
        }
        if c > 0 {
            ids.remove(&(c * 30 - 7));
        }
    }
    ids.into_iter().collect()
}

fn ids_of(db: &Database) -> Vec<u64> {
    let snap = db.snapshot();
    (0..400)
        .filter(|&id| snap.get(id).unwrap().is_some())
        .collect()
}

#[test]
fn every_injected_failure_leaves_the_last_commit() {
    let mut cases = Vec::new();
    for n in 1..40 {
        cases.extend([
            Fault::FailWrite(n),
            Fault::ShortWrite(n),
            Fault::FailSync(n),
        ]);
    }
    for limit in [0u64, 5_000, 20_000, 60_000, 150_000, 400_000] {
        cases.push(Fault::DiskFull(limit));
    }
    let mut failures_seen = 0;
    for fault in cases {
        let dir = tempdir("fault");
        let path = dir.join("f.hamdb");
        // flush every 100 items: commits exercise delta blocks, segments and tombstones.
        let opts = OpenOptions {
            flush_threshold: Some(100),
            storage: Some(wrapper(fault)),
            ..OpenOptions::default()
        };
        let created = Database::create_with(
            &path,
            CreateOptions {
                code_bits: 64,
                fingerprint: vec![],
                expected_radius: None,
            },
            opts.clone(),
        );
        let Ok(db) = created else {
            // Creation itself failed: no database may be left behind half-made.
            assert!(!path.exists() || Database::open(&path).is_err());
            failures_seen += 1;
            continue;
        };
        let mut committed = 0;
        let mut poisoned = false;
        for c in 0..12u64 {
            let mut b = WriteBatch::new();
            for i in 0..30 {
                b.insert(
                    c * 30 + i,
                    code_for(c * 30 + i),
                    Some(i as u32),
                    vec![c as u8; 20],
                );
            }
            if c > 0 {
                b.delete(c * 30 - 7);
            }
            match db.commit(b) {
                Ok(info) => {
                    committed += 1;
                    if let Some(e) = info.maintenance_error {
                        // Durable commit, failed automatic flush: poisoned from here on.
                        assert!(matches!(e, Error::Io { .. }), "{fault:?}: {e}");
                        failures_seen += 1;
                        assert_eq!(db.flush().unwrap_err(), Error::Poisoned);
                        poisoned = true;
                        break;
                    }
                }
                Err(e) => {
                    assert!(matches!(e, Error::Io { .. }), "{fault:?}: {e}");
                    failures_seen += 1;
                    // The handle is poisoned now.
                    let mut b = WriteBatch::new();
                    b.insert(10_000, code_for(1), None, "x");
                    assert_eq!(db.commit(b).unwrap_err(), Error::Poisoned);
                    poisoned = true;
                    break;
                }
            }
        }
        if !poisoned {
            if let Err(e) = db.compact() {
                assert!(matches!(e, Error::Io { .. }), "{fault:?}: {e}");
                failures_seen += 1;
            }
        }
        drop(db);
        let reopened =
            Database::open(&path).unwrap_or_else(|e| panic!("{fault:?}: reopen failed: {e}"));
        assert_eq!(
            ids_of(&reopened),
            expected_ids(committed),
            "{fault:?} after {committed} commits"
        );
        Database::verify(&path).unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
    assert!(
        failures_seen > 100,
        "faults must actually fire ({failures_seen})"
    );
}
