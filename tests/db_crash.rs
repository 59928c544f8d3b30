//! Real crashes: a child process commits in a loop (with periodic compactions) and is killed
//! with SIGKILL at random moments, 200 times. Every reopen must succeed and hold exactly the
//! acknowledged commits, plus at most the one in flight when the kill landed.

mod common;

use common::db::{code_for, tempdir};
use hamdb::{CreateOptions, Database, OpenOptions, WriteBatch};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PER_COMMIT: u64 = 10;

/// Live ids after commits 0..c of the child's workload.
fn expected(c: u64) -> BTreeSet<u64> {
    let mut ids: BTreeSet<u64> = (0..c * PER_COMMIT).collect();
    for k in 1..c {
        ids.remove(&(k * PER_COMMIT - 3));
    }
    ids
}

fn live_ids(db: &Database, upto: u64) -> BTreeSet<u64> {
    let snap = db.snapshot();
    (0..upto)
        .filter(|&id| snap.get(id).unwrap().is_some())
        .collect()
}

/// The child's body; a no-op unless run by the parent test with HAMDB_CRASH_CHILD set.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("HAMDB_CRASH_CHILD") else {
        return;
    };
    let start: u64 = std::env::var("HAMDB_CRASH_START").unwrap().parse().unwrap();
    let db = Database::open_with(
        &path,
        OpenOptions {
            flush_threshold: Some(150),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    // Acknowledgements go to a file with one write(2) each: no stdio buffering between the
    // commit returning and the parent seeing it (the page cache survives SIGKILL).
    let mut acks = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(format!("{path}.acks"))
        .unwrap();
    for c in start.. {
        let mut b = WriteBatch::new();
        for i in 0..PER_COMMIT {
            let id = c * PER_COMMIT + i;
            b.insert(id, code_for(id), Some((id % 5) as u32), id.to_le_bytes());
        }
        if c > 0 {
            b.delete(c * PER_COMMIT - 3);
        }
        let info = db.commit(b).unwrap();
        assert!(info.maintenance_error.is_none());
        std::io::Write::write_all(&mut acks, format!("acked {c}\n").as_bytes()).unwrap();
        if c % 40 == 39 {
            db.compact().unwrap();
        }
    }
}

#[test]
fn sigkill_at_random_moments_keeps_every_acknowledged_commit() {
    let dir = tempdir("crash");
    let path = dir.join("crash.hamdb");
    drop(
        Database::create(
            &path,
            CreateOptions {
                code_bits: 64,
                fingerprint: vec![],
                expected_radius: None,
            },
        )
        .unwrap(),
    );
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(2026);
    let mut done = 0u64; // commits known durable
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut kills = 0;
    let mut in_flight_seen = 0;
    while kills < 200 && Instant::now() < deadline {
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("HAMDB_CRASH_CHILD", &path)
            .env("HAMDB_CRASH_START", done.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.gen_range(1_000..40_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let acks = std::fs::File::open(dir.join("crash.hamdb.acks"));
        let acked = acks
            .map(|f| {
                BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| {
                l.strip_prefix("acked ")
                    .map(|n| n.parse::<u64>().unwrap() + 1)
            })
            .max()
            .unwrap_or(0)
            .max(done);
        let db =
            Database::open(&path).unwrap_or_else(|e| panic!("kill {kills}: reopen failed: {e}"));
        let got = live_ids(&db, (acked + 2) * PER_COMMIT);
        if got == expected(acked) {
            done = acked;
        } else if got == expected(acked + 1) {
            // Committed, killed before it could print the acknowledgement.
            done = acked + 1;
            in_flight_seen += 1;
        } else {
            let want = expected(acked);
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            panic!("kill {kills}: state matches neither {acked} nor {} commits; missing {missing:?} extra {extra:?}", acked + 1);
        }
        drop(db);
    }
    assert!(kills >= 200, "only {kills} kills in the time bound");
    assert!(
        done > 20,
        "the child must make progress between kills ({done} commits)"
    );
    Database::verify(&path).unwrap();
    println!("{kills} kills, {done} commits, {in_flight_seen} unacknowledged-but-durable");
    std::fs::remove_dir_all(&dir).ok();
}
