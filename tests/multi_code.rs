//! Items of several codes: every search lists an item once, at its least distance over its
//! codes (and over the query's codes for a query set), exactly as a brute-force reference
//! computes it; over segments (written by flushes and by large batches), tombstones, upserts
//! that change an item's code count, a delta, compaction and reopen; batched searches and
//! all-pairs dedup agree; bad writes get clear errors; an older file refuses multi-code writes
//! until a compaction rewrites it.

mod common;

use common::db::tempdir;
use hamdb::{
    Code, CodeArray, CreateOptions, Database, DedupOptions, Error, OpenOptions, Pair,
    SearchManyOptions, WriteBatch, MAX_CODES_PER_ITEM,
};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::BTreeMap;

const BITS: usize = 64;

/// id -> (codes as bytes, label, payload).
type Model = BTreeMap<u64, (Vec<Vec<u8>>, Option<u32>, Vec<u8>)>;

fn dist(a: &[u8], b: &[u8]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

fn item_dist(queries: &[Vec<u8>], codes: &[Vec<u8>]) -> u32 {
    queries
        .iter()
        .flat_map(|q| codes.iter().map(move |c| dist(q, c)))
        .min()
        .expect("codes")
}

/// The reference answer: (id, distance) ascending by (distance, id).
fn brute(
    model: &Model,
    queries: &[Vec<u8>],
    k: Option<usize>,
    r: Option<u32>,
    class: Option<u32>,
) -> Vec<(u64, u32)> {
    let mut all: Vec<(u32, u64)> = model
        .iter()
        .filter(|(_, (_, l, _))| class.is_none_or(|c| *l == Some(c)))
        .map(|(&id, (codes, _, _))| (item_dist(queries, codes), id))
        .filter(|&(d, _)| r.is_none_or(|r| d <= r))
        .collect();
    all.sort_unstable();
    if let Some(k) = k {
        all.truncate(k);
    }
    all.into_iter().map(|(d, id)| (id, d)).collect()
}

fn got(res: &hamdb::QueryResult) -> Vec<(u64, u32)> {
    res.hits.iter().map(|h| (h.id, h.distance)).collect()
}

fn flip(rng: &mut impl Rng, base: &[u8], flips: usize) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..flips {
        let bit = rng.gen_range(0..BITS);
        b[bit / 8] ^= 1 << (bit % 8);
    }
    b
}

/// An item's codes: near copies of a base drawn from a small pool (so items cluster and
/// an item's own codes crowd the top rows of a query), or some far apart.
fn item_codes(rng: &mut impl Rng, pool: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let n = match rng.gen_range(0..10) {
        0..=3 => 1,
        4..=7 => rng.gen_range(2..=8),
        _ => rng.gen_range(9..=20),
    };
    let base = &pool[rng.gen_range(0..pool.len())];
    (0..n)
        .map(|_| {
            if rng.gen_bool(0.8) {
                let f = rng.gen_range(0..4);
                flip(rng, base, f)
            } else {
                (0..BITS / 8).map(|_| rng.gen()).collect()
            }
        })
        .collect()
}

fn codes_of(bytes: &[Vec<u8>]) -> Vec<Code> {
    bytes.iter().map(|b| Code::from_bytes(b).unwrap()).collect()
}

fn check(db: &Database, model: &Model, rng: &mut impl Rng, pool: &[Vec<u8>], what: &str) {
    let snap = db.snapshot();
    assert_eq!(snap.len(), model.len() as u64, "{what}: item count");
    assert_eq!(db.stats().items, model.len() as u64, "{what}: stats");
    for (&id, (codes, label, payload)) in model.iter().step_by(7) {
        let it = snap.get(id).unwrap().expect("stored");
        let back: Vec<Vec<u8>> = it.codes().map(|c| c.to_bytes()).collect();
        assert_eq!(&back, codes, "{what}: codes of {id}");
        assert_eq!((&it.label, &it.payload), (label, payload), "{what}: {id}");
    }
    let mut batch_queries = Vec::new();
    for round in 0..30 {
        let (p, f) = (rng.gen_range(0..pool.len()), rng.gen_range(0..6));
        let q = flip(rng, &pool[p], f);
        let class = (round % 3 == 0).then(|| rng.gen_range(0..3));
        for k in [0, 1, 3, 10, 40] {
            let res = snap
                .search(&Code::from_bytes(&q).unwrap(), k, class)
                .unwrap();
            let want = brute(model, std::slice::from_ref(&q), Some(k), None, class);
            assert_eq!(got(&res), want, "{what}: k {k} class {class:?}");
            for h in &res.hits {
                let (_, l, p) = &model[&h.id];
                assert_eq!((&h.label, &h.payload), (l, p), "{what}: hit {}", h.id);
            }
        }
        for r in [0, 4, 12] {
            let res = snap
                .search_radius(&Code::from_bytes(&q).unwrap(), r, class)
                .unwrap();
            assert_eq!(
                got(&res),
                brute(model, std::slice::from_ref(&q), None, Some(r), class),
                "{what}: r {r}"
            );
        }
        // A query of several codes.
        let set: Vec<Vec<u8>> = (0..rng.gen_range(1..=8))
            .map(|_| {
                let p = rng.gen_range(0..pool.len());
                flip(rng, &pool[p], 2)
            })
            .collect();
        let qs = CodeArray::from_packed_bytes(hamdb::CodeLen::new(BITS).unwrap(), &set.concat())
            .unwrap();
        for k in [1, 10, 25] {
            let res = snap.search_set(&qs, k, class).unwrap();
            assert_eq!(
                got(&res),
                brute(model, &set, Some(k), None, class),
                "{what}: set k {k}"
            );
        }
        let res = snap.search_radius_set(&qs, 6, class).unwrap();
        assert_eq!(
            got(&res),
            brute(model, &set, None, Some(6), class),
            "{what}: set r"
        );
        batch_queries.push(q);
    }
    let qa =
        CodeArray::from_packed_bytes(hamdb::CodeLen::new(BITS).unwrap(), &batch_queries.concat())
            .unwrap();
    for threads in [1, 2] {
        let opts = SearchManyOptions {
            class: None,
            threads,
        };
        let many = snap.search_many(&qa, 10, &opts).unwrap();
        let radius = snap.search_radius_many(&qa, 5, &opts).unwrap();
        for (i, q) in batch_queries.iter().enumerate() {
            let q = std::slice::from_ref(q);
            assert_eq!(
                got(&many[i]),
                brute(model, q, Some(10), None, None),
                "{what}: many"
            );
            assert_eq!(
                got(&radius[i]),
                brute(model, q, None, Some(5), None),
                "{what}: many r"
            );
        }
    }
    // All pairs within a radius, once per item pair at its least distance.
    for r in [0, 3] {
        let mut want = Vec::new();
        for (&a, (ca, _, _)) in model {
            for (&b, (cb, _, _)) in model.range(a + 1..) {
                let d = item_dist(ca, cb);
                if d <= r {
                    want.push(Pair { a, b, distance: d });
                }
            }
        }
        want.sort_by_key(|p| (p.a, p.distance, p.b));
        for threads in [1, 2] {
            let mut pairs = Vec::new();
            let mut last = (0, 0);
            snap.find_duplicates(
                r,
                &DedupOptions { threads },
                &mut |p| {
                    pairs.extend_from_slice(p);
                    Ok(())
                },
                &mut |d, t| last = (d, t),
            )
            .unwrap();
            assert_eq!(pairs, want, "{what}: dedup r {r}");
            assert_eq!(
                last,
                (model.len() as u64, model.len() as u64),
                "{what}: progress"
            );
        }
    }
}

#[test]
fn searches_return_each_item_once_at_its_least_distance() {
    let dir = tempdir("multi");
    let path = dir.join("m.hamdb");
    let opts = || OpenOptions {
        flush_threshold: Some(200),
        ..OpenOptions::default()
    };
    let db = Database::create_with(&path, CreateOptions::new(BITS), opts()).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let pool: Vec<Vec<u8>> = (0..12)
        .map(|_| (0..BITS / 8).map(|_| rng.gen()).collect())
        .collect();
    let mut model = Model::new();
    let mut next = 0u64;
    for round in 0..14 {
        let mut batch = WriteBatch::new();
        // Round 5 is one large batch: it goes straight into a segment.
        let n = if round == 5 {
            150
        } else {
            rng.gen_range(5..25)
        };
        for _ in 0..n {
            let codes = item_codes(&mut rng, &pool);
            let label = rng.gen_bool(0.9).then(|| rng.gen_range(0..3));
            let payload = format!("p{next}").into_bytes();
            if codes.len() == 1 && rng.gen_bool(0.5) {
                batch.insert(next, Code::from_bytes(&codes[0]).unwrap(), label, &payload);
            } else {
                batch.insert_codes(next, &codes_of(&codes), label, &payload);
            }
            model.insert(next, (codes, label, payload));
            next += 1;
        }
        // Upserts that change an item's code count, and deletes, of stored items.
        let ids: Vec<u64> = model.keys().copied().collect();
        for _ in 0..4 {
            let id = ids[rng.gen_range(0..ids.len())];
            if rng.gen_bool(0.5) {
                let codes = item_codes(&mut rng, &pool);
                batch.upsert_codes(id, &codes_of(&codes), Some(1), b"up");
                model.insert(id, (codes, Some(1), b"up".to_vec()));
            } else {
                batch.delete(id);
                model.remove(&id);
            }
        }
        db.commit(batch).unwrap();
    }
    // A small tail stays in the delta (the threshold counts codes, not items).
    let mut tail = WriteBatch::new();
    for _ in 0..3 {
        let codes = item_codes(&mut rng, &pool);
        tail.insert_codes(next, &codes_of(&codes), Some(2), b"tail");
        model.insert(next, (codes, Some(2), b"tail".to_vec()));
        next += 1;
    }
    db.commit(tail).unwrap();
    let stats = db.stats();
    assert!(stats.segments >= 2, "{stats:?}");
    assert!(stats.deleted_in_segments > 0, "{stats:?}");
    assert!(stats.delta_items > 0, "{stats:?}");
    check(&db, &model, &mut rng, &pool, "segments + delta");
    db.flush().unwrap();
    check(&db, &model, &mut rng, &pool, "flushed");
    drop(db);
    let db = Database::open_with(&path, opts()).unwrap();
    check(&db, &model, &mut rng, &pool, "reopened");
    db.compact().unwrap();
    assert_eq!(db.stats().segments, 1);
    check(&db, &model, &mut rng, &pool, "compacted");
    drop(db);
    Database::verify(&path).unwrap();
    let db = Database::open(&path).unwrap();
    check(&db, &model, &mut rng, &pool, "compacted, reopened");
}

#[test]
fn bad_multi_code_writes_get_clear_errors_and_change_nothing() {
    let dir = tempdir("multi-bad");
    let db = Database::create(dir.join("b.hamdb"), CreateOptions::new(BITS)).unwrap();
    let c64 = Code::from_bytes(&[1u8; 8]).unwrap();
    let c32 = Code::from_bytes(&[1u8; 4]).unwrap();
    let param = |e: Error, want: &str| match e {
        Error::InvalidParameter { ref reason, .. } if reason.contains(want) => {}
        other => panic!("expected an argument error about {want:?}, got {other:?}"),
    };
    let mut b = WriteBatch::new();
    b.insert_codes(1, &[], None, "");
    param(db.commit(b).unwrap_err(), "at least one code");
    let mut b = WriteBatch::new();
    b.insert_codes(1, &[c64.clone(), c32.clone()], None, "");
    param(db.commit(b).unwrap_err(), "differ in length");
    let mut b = WriteBatch::new();
    b.insert_codes(1, &vec![c64.clone(); MAX_CODES_PER_ITEM + 1], None, "");
    param(db.commit(b).unwrap_err(), "at most");
    let mut b = WriteBatch::new();
    b.insert_codes(1, &[c32.clone(), c32.clone()], None, "");
    assert!(matches!(
        db.commit(b).unwrap_err(),
        Error::CodeLengthMismatch {
            expected: 64,
            actual: 32
        }
    ));
    assert_eq!(db.stats().items, 0);
    let mut b = WriteBatch::new();
    b.insert_codes(1, &vec![c64.clone(); MAX_CODES_PER_ITEM], None, "");
    db.commit(b).unwrap();
    let it = db.snapshot().get(1).unwrap().unwrap();
    assert_eq!(it.codes().count(), MAX_CODES_PER_ITEM);
    // One item, at distance 0, once.
    let res = db.snapshot().search(&c64, 5, None).unwrap();
    assert_eq!(got(&res), vec![(1, 0)]);
}

/// Rewrite a file's header as format `version` (the structures below are unchanged for a
/// database of one-code items, which is what an older build wrote).
fn set_version(path: &std::path::Path, version: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    let c = crc32fast::hash(&bytes[..112]);
    bytes[112..116].copy_from_slice(&c.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_older_file_refuses_multi_code_writes_until_compacted() {
    let dir = tempdir("multi-v3");
    let path = dir.join("old.hamdb");
    let a = Code::from_bytes(&[3u8; 8]).unwrap();
    let b = Code::from_bytes(&[0xf0u8; 8]).unwrap();
    {
        let db = Database::create(&path, CreateOptions::new(BITS)).unwrap();
        let mut batch = WriteBatch::new();
        batch.insert(1, a.clone(), None, "one");
        db.commit(batch).unwrap();
        db.flush().unwrap();
    }
    set_version(&path, 3);
    let db = Database::open(&path).unwrap();
    let mut batch = WriteBatch::new();
    batch.insert(2, b.clone(), None, "");
    db.commit(batch).unwrap();
    let mut batch = WriteBatch::new();
    batch.insert_codes(3, &[a.clone(), b.clone()], None, "");
    match db.commit(batch).unwrap_err() {
        Error::InvalidParameter { reason, .. } => {
            assert!(reason.contains("compact"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(db.stats().items, 2);
    db.compact().unwrap();
    drop(db);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 4);
    let db = Database::open(&path).unwrap();
    let mut batch = WriteBatch::new();
    batch.insert_codes(3, &[a.clone(), b.clone()], None, "");
    db.commit(batch).unwrap();
    assert_eq!(db.snapshot().get(3).unwrap().unwrap().more_codes, vec![b]);
    assert_eq!(db.snapshot().get(1).unwrap().unwrap().payload, b"one");
}

#[test]
fn the_flush_threshold_counts_codes_not_items() {
    let dir = tempdir("multi-flush");
    let db = Database::create_with(
        dir.join("f.hamdb"),
        CreateOptions::new(BITS),
        OpenOptions {
            flush_threshold: Some(100),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let codes = |n: usize, seed: u8| -> Vec<Code> {
        (0..n)
            .map(|i| Code::from_bytes(&[seed, i as u8, 0, 0, 0, 0, 0, 1]).unwrap())
            .collect()
    };
    let mut b = WriteBatch::new();
    b.insert_codes(1, &codes(60, 1), None, "");
    db.commit(b).unwrap();
    assert_eq!((db.stats().delta_items, db.stats().segments), (1, 0));
    // 60 + 50 codes in the delta would pass 100: the commit flushes (two items, one segment).
    let mut b = WriteBatch::new();
    b.insert_codes(2, &codes(50, 2), None, "");
    db.commit(b).unwrap();
    assert_eq!((db.stats().delta_items, db.stats().segments), (0, 1));
    // One batch of 2 items and 120 codes goes straight into a segment.
    let mut b = WriteBatch::new();
    b.insert_codes(3, &codes(60, 3), None, "");
    b.insert_codes(4, &codes(60, 4), None, "");
    db.commit(b).unwrap();
    assert_eq!((db.stats().delta_items, db.stats().segments), (0, 2));
    assert_eq!(db.stats().items, 4);
}
