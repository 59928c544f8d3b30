//! All-pairs near-duplicates equal a brute-force comparison of every pair of live items (the
//! imagededup-style reference), within one database and between two, over segments,
//! tombstones and a delta; the order is deterministic; errors stop the run.

mod common;

use common::db::tempdir;
use hamdb::{Code, CreateOptions, Database, DedupOptions, Error, OpenOptions, Pair, WriteBatch};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `n` items: a third near copies (1..6 bits away) of earlier ones, some exact copies; over
/// segments and a delta, every 9th deleted.
fn build(bits: usize, n: usize, seed: u64, tag: &str) -> Database {
    let dir = tempdir(tag);
    let db = Database::create_with(
        dir.join("d.hamdb"),
        CreateOptions::new(bits),
        OpenOptions {
            flush_threshold: Some(n / 3),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut stored: Vec<Vec<u8>> = Vec::new();
    let mut batch = WriteBatch::new();
    for i in 0..n {
        let bytes = if i > 0 && i % 3 == 0 {
            let mut b = stored[rng.gen_range(0..stored.len())].clone();
            for _ in 0..rng.gen_range(0..6) {
                let bit = rng.gen_range(0..bits);
                b[bit / 8] ^= 1 << (bit % 8);
            }
            b
        } else {
            (0..bits / 8).map(|_| rng.gen()).collect()
        };
        stored.push(bytes.clone());
        // Ids not in insertion order, so id order differs from row order.
        let id = (i as u64 * 7919) % 100_003;
        batch.insert(id, Code::from_bytes(&bytes).unwrap(), None, "");
        if batch.len() == 50 {
            db.commit(std::mem::take(&mut batch)).unwrap();
        }
    }
    db.commit(batch).unwrap();
    let mut dels = WriteBatch::new();
    for i in (0..n as u64).step_by(9) {
        dels.delete((i * 7919) % 100_003);
    }
    db.commit(dels).unwrap();
    // A delta on top: near copies of stored codes, under the flush threshold.
    let mut tail = WriteBatch::new();
    for j in 0..15u64 {
        let mut b = stored[rng.gen_range(0..stored.len())].clone();
        b[0] ^= 1 << (j % 8);
        tail.insert(100_003 + j, Code::from_bytes(&b).unwrap(), None, "");
    }
    db.commit(tail).unwrap();
    db
}

fn live(db: &Database) -> Vec<(u64, Code)> {
    let snap = db.snapshot();
    (0..100_003u64 + 15)
        .filter_map(|id| snap.get(id).unwrap().map(|it| (id, it.code)))
        .collect()
}

fn brute(a: &[(u64, Code)], b: &[(u64, Code)], r: u32, self_join: bool) -> Vec<Pair> {
    let mut out = Vec::new();
    for (ia, ca) in a {
        for (ib, cb) in b {
            if self_join && ib <= ia {
                continue;
            }
            let d = ca.distance(cb).unwrap();
            if d <= r {
                out.push(Pair {
                    a: *ia,
                    b: *ib,
                    distance: d,
                });
            }
        }
    }
    out.sort_by_key(|p| (p.a, p.distance, p.b));
    out
}

fn run(db: &Database, r: u32, threads: usize) -> (Vec<Pair>, Vec<(u64, u64)>) {
    let (mut pairs, mut progress) = (Vec::new(), Vec::new());
    db.snapshot()
        .find_duplicates(
            r,
            &DedupOptions { threads },
            &mut |p| {
                pairs.extend_from_slice(p);
                Ok(())
            },
            &mut |d, t| progress.push((d, t)),
        )
        .unwrap();
    (pairs, progress)
}

#[test]
fn self_dedup_equals_brute_force() {
    for (bits, n) in [(64, 2600), (256, 2300)] {
        let db = build(bits, n, bits as u64, "dedup-self");
        let items = live(&db);
        assert!(db.stats().segments >= 2 && db.stats().delta_items > 0);
        for r in [0, 3, 8, bits as u32 / 4] {
            let want = brute(&items, &items, r, true);
            assert!(!want.is_empty() || r == 0);
            for threads in [1, 2, 0] {
                let (got, progress) = run(&db, r, threads);
                assert_eq!(got, want, "{bits} bits, r {r}, threads {threads}");
                let total = items.len() as u64;
                assert_eq!(progress.first(), Some(&(0, total)));
                assert_eq!(progress.last(), Some(&(total, total)));
                assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
            }
        }
    }
}

#[test]
fn dedup_between_two_databases_equals_brute_force() {
    let a = build(128, 1500, 1, "dedup-a");
    let b = build(128, 1700, 1, "dedup-b"); // the same seed: many shared codes
    let (ia, ib) = (live(&a), live(&b));
    for r in [0, 5, 20] {
        let want = brute(&ia, &ib, r, false);
        assert!(!want.is_empty());
        let mut got = Vec::new();
        a.snapshot()
            .find_duplicates_between(
                &b.snapshot(),
                r,
                &DedupOptions::default(),
                &mut |p| {
                    got.extend_from_slice(p);
                    Ok(())
                },
                &mut |_, _| {},
            )
            .unwrap();
        assert_eq!(got, want, "r {r}");
    }
}

#[test]
fn dedup_errors_are_reported_and_a_failing_sink_stops_the_run() {
    let db = build(64, 3000, 5, "dedup-err");
    let snap = db.snapshot();
    let err = snap
        .find_duplicates(
            65,
            &DedupOptions::default(),
            &mut |_| Ok(()),
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidParameter { name: "radius", .. }
    ));
    let other = build(128, 30, 5, "dedup-err2");
    let err = snap
        .find_duplicates_between(
            &other.snapshot(),
            3,
            &DedupOptions::default(),
            &mut |_| Ok(()),
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::CodeLengthMismatch { .. }));
    let mut calls = 0;
    let err = snap
        .find_duplicates(
            64,
            &DedupOptions { threads: 2 },
            &mut |_| {
                calls += 1;
                Err(Error::InvalidParameter {
                    name: "sink",
                    reason: "full".into(),
                })
            },
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { name: "sink", .. }));
    assert_eq!(calls, 1, "the first error ends the run");
}
