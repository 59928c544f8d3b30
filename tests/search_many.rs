//! Batched searches equal the one-query searches, query by query: over segments with
//! tombstones, a delta, class filters, k-NN and radius, every thread count, and on data whose
//! cost model sends whole batches to the shared scan (clustered codes) as well as to MIH.

mod common;

use common::db::tempdir;
use hamdb::{Code, CodeArray, CodeLen, CreateOptions, Database, OpenOptions, SearchManyOptions};
use hamdb::{Error, WriteBatch};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A database of `n` codes over three segments and a delta, some deleted, labels 0..4.
fn build(bits: usize, n: usize, clustered: bool, radius: Option<u32>, tag: &str) -> Database {
    let dir = tempdir(tag);
    let db = Database::create_with(
        dir.join("many.hamdb"),
        CreateOptions {
            code_bits: bits,
            fingerprint: vec![],
            expected_radius: radius,
        },
        OpenOptions {
            flush_threshold: Some(n / 3),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(bits as u64 * 31 + n as u64);
    let centres: Vec<Vec<u8>> = (0..4)
        .map(|_| (0..bits / 8).map(|_| rng.gen()).collect())
        .collect();
    let mut batch = WriteBatch::new();
    for i in 0..n {
        let bytes: Vec<u8> = if clustered {
            // Each code a few bits from one of four centres: most pairs are close.
            let mut b = centres[i % 4].clone();
            for _ in 0..3 {
                let bit = rng.gen_range(0..bits);
                b[bit / 8] ^= 1 << (bit % 8);
            }
            b
        } else {
            (0..bits / 8).map(|_| rng.gen()).collect()
        };
        batch.insert(
            i as u64,
            Code::from_bytes(&bytes).unwrap(),
            Some((i % 5) as u32),
            format!("p{i}"),
        );
        if batch.len() == 97 {
            db.commit(std::mem::take(&mut batch)).unwrap();
        }
    }
    db.commit(batch).unwrap();
    let mut dels = WriteBatch::new();
    for i in (0..n as u64).step_by(7) {
        dels.delete(i);
    }
    db.commit(dels).unwrap();
    // A fresh delta on top (well under the flush threshold), one of its items deleted.
    let mut tail = WriteBatch::new();
    for i in n..n + 20 {
        let bytes: Vec<u8> = (0..bits / 8).map(|_| rng.gen()).collect();
        tail.insert(
            i as u64,
            Code::from_bytes(&bytes).unwrap(),
            Some((i % 5) as u32),
            "t",
        );
    }
    db.commit(tail).unwrap();
    db.commit(std::mem::take(WriteBatch::new().delete(n as u64 + 3)))
        .unwrap();
    assert!(db.stats().segments >= 2 && db.stats().delta_items > 0);
    db
}

fn queries(db: &Database, count: usize, seed: u64) -> CodeArray {
    let len = db.code_len();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut qs = CodeArray::new(len);
    let snap = db.snapshot();
    for i in 0..count {
        // Half stored codes (exact matches and their neighbours), half random.
        let code = if i % 2 == 0 {
            let id = rng.gen_range(0..snap.len());
            match snap.get(id).unwrap() {
                Some(item) => item.code,
                None => random_code(len, &mut rng),
            }
        } else {
            random_code(len, &mut rng)
        };
        qs.push(&code).unwrap();
    }
    qs
}

fn random_code(len: CodeLen, rng: &mut impl Rng) -> Code {
    Code::from_bytes(&(0..len.bytes()).map(|_| rng.gen()).collect::<Vec<u8>>()).unwrap()
}

fn check(db: &Database, qs: &CodeArray) {
    let snap = db.snapshot();
    let bits = db.code_len().bits() as u32;
    for threads in [1, 2, 3, 0] {
        for class in [None, Some(2)] {
            let opts = SearchManyOptions { class, threads };
            for k in [0, 1, 10, 200] {
                let many = snap.search_many(qs, k, &opts).unwrap();
                assert_eq!(many.len(), qs.len());
                for (i, res) in many.iter().enumerate() {
                    let one = snap.search(&qs.get(i).unwrap(), k, class).unwrap();
                    assert_eq!(res.hits, one.hits, "k {k} query {i} threads {threads}");
                }
            }
            for r in [0, 3, bits / 8, bits / 3, bits] {
                let many = snap.search_radius_many(qs, r, &opts).unwrap();
                for (i, res) in many.iter().enumerate() {
                    let one = snap.search_radius(&qs.get(i).unwrap(), r, class).unwrap();
                    assert_eq!(res.hits, one.hits, "r {r} query {i} threads {threads}");
                }
            }
        }
    }
}

#[test]
fn batches_equal_single_queries_on_uniform_codes() {
    let db = build(64, 3000, false, None, "many-u64");
    check(&db, &queries(&db, 70, 1));
}

#[test]
fn batches_equal_single_queries_on_clustered_codes_that_plan_a_shared_scan() {
    let db = build(128, 3000, true, None, "many-c128");
    let qs = queries(&db, 40, 2);
    check(&db, &qs);
    // The shared scan really ran: a wide radius over clustered codes is planned as a scan.
    let res = db
        .search_radius_many(&qs, 40, &SearchManyOptions::default())
        .unwrap();
    assert!(res
        .iter()
        .all(|r| r.stats.path == Some(hamdb::SearchPath::LinearScan)));
}

#[test]
fn batches_equal_single_queries_on_tables_cut_for_a_radius() {
    let db = build(256, 3000, false, Some(31), "many-r256");
    check(&db, &queries(&db, 33, 3));
}

#[test]
fn batch_arguments_are_checked() {
    let db = build(64, 300, false, None, "many-args");
    let wrong = CodeArray::new(CodeLen::new(32).unwrap());
    assert!(matches!(
        db.search_many(&wrong, 3, &SearchManyOptions::default()),
        Err(Error::CodeLengthMismatch {
            expected: 64,
            actual: 32
        })
    ));
    let qs = queries(&db, 3, 4);
    let too_many = SearchManyOptions {
        threads: hamdb::MAX_THREADS + 1,
        ..SearchManyOptions::default()
    };
    assert!(matches!(
        db.search_many(&qs, 3, &too_many),
        Err(Error::InvalidParameter {
            name: "threads",
            ..
        })
    ));
    let empty = CodeArray::new(db.code_len());
    assert!(db
        .search_radius_many(&empty, 3, &SearchManyOptions::default())
        .unwrap()
        .is_empty());
}

#[test]
fn expected_radius_is_recorded_and_checked() {
    let dir = tempdir("many-radius");
    let path = dir.join("r.hamdb");
    let bad = Database::create(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: Some(65),
        },
    );
    assert!(matches!(
        bad,
        Err(Error::InvalidParameter {
            name: "expected_radius",
            ..
        })
    ));
    let db = Database::create(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: Some(8),
        },
    )
    .unwrap();
    assert_eq!(db.expected_radius(), Some(8));
    drop(db);
    let db = Database::open(&path).unwrap();
    assert_eq!(db.expected_radius(), Some(8));
    db.compact().unwrap();
    drop(db);
    assert_eq!(Database::open(&path).unwrap().expected_radius(), Some(8));
}
