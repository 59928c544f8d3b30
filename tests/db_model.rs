//! The database against a BTreeMap model: random sequences of insert, upsert, delete, commit,
//! flush, compact and reopen; after each step every search equals a brute-force scan of the
//! model (same ids, distances, labels, payloads, order).

mod common;

use hamdb::{Code, CreateOptions, Database, Error, OpenOptions, WriteBatch};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Step {
    Insert(u64, u64, Option<u32>),
    Upsert(u64, u64, Option<u32>),
    Delete(u64),
    Commit,
    Flush,
    Compact,
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u64..60, any::<u64>(), prop::option::of(0u32..4)).prop_map(|(i, c, l)| Step::Insert(i, c, l)),
        3 => (0u64..60, any::<u64>(), prop::option::of(0u32..4)).prop_map(|(i, c, l)| Step::Upsert(i, c, l)),
        3 => (0u64..60).prop_map(Step::Delete),
        4 => Just(Step::Commit),
        1 => Just(Step::Flush),
        1 => Just(Step::Compact),
        1 => Just(Step::Reopen),
    ]
}

/// 16-bit codes from a seed, clustered so distances tie often (ties break by id).
fn code(seed: u64) -> Code {
    let bits = (seed & 0x0f0f) as u16;
    Code::from_bytes(&bits.to_be_bytes()).unwrap()
}

type Model = BTreeMap<u64, (Code, Option<u32>, Vec<u8>)>;

fn check(db: &Database, model: &Model) -> Result<(), TestCaseError> {
    let snap = db.snapshot();
    prop_assert_eq!(snap.len(), model.len() as u64);
    for qseed in [0u64, 0x0f0f, 0x0302, 0x0a01] {
        let q = code(qseed);
        let mut want: Vec<(u32, u64)> = model
            .iter()
            .map(|(&id, (c, _, _))| (c.distance(&q).unwrap(), id))
            .collect();
        want.sort();
        for k in [1usize, 3, 10, 100] {
            let got = snap.search(&q, k, None).unwrap();
            let got_pairs: Vec<(u32, u64)> = got.hits.iter().map(|h| (h.distance, h.id)).collect();
            prop_assert_eq!(&got_pairs[..], &want[..k.min(want.len())]);
            for h in &got.hits {
                let (_, label, payload) = &model[&h.id];
                prop_assert_eq!(&h.label, label);
                prop_assert_eq!(&h.payload, payload);
            }
            let class = Some(1u32);
            let got = snap.search(&q, k, class).unwrap();
            let want_c: Vec<(u32, u64)> = want
                .iter()
                .copied()
                .filter(|(_, id)| model[id].1 == class)
                .take(k)
                .collect();
            prop_assert_eq!(
                got.hits
                    .iter()
                    .map(|h| (h.distance, h.id))
                    .collect::<Vec<_>>(),
                want_c
            );
        }
        for r in [0u32, 2, 5, 16] {
            let got: Vec<(u32, u64)> = snap
                .search_radius(&q, r, None)
                .unwrap()
                .hits
                .iter()
                .map(|h| (h.distance, h.id))
                .collect();
            let want_r: Vec<(u32, u64)> = want.iter().copied().filter(|(d, _)| *d <= r).collect();
            prop_assert_eq!(got, want_r);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn database_matches_model(steps in prop::collection::vec(step(), 1..60)) {
        let dir = tempdir();
        let path = dir.join("model.hamdb");
        let opts = OpenOptions { flush_threshold: Some(20), ..OpenOptions::default() };
        let mut db = Database::create_with(&path, CreateOptions { code_bits: 16, fingerprint: vec![], expected_radius: None }, opts.clone()).unwrap();
        let mut committed: Model = BTreeMap::new();
        let mut pending: Model = committed.clone();
        let mut batch = WriteBatch::new();
        let mut batch_ok = true;
        for s in steps {
            match s {
                Step::Insert(id, c, l) => {
                    batch_ok &= !pending.contains_key(&id);
                    pending.insert(id, (code(c), l, id.to_le_bytes().to_vec()));
                    batch.insert(id, code(c), l, id.to_le_bytes());
                }
                Step::Upsert(id, c, l) => {
                    pending.insert(id, (code(c), l, vec![]));
                    batch.upsert(id, code(c), l, vec![]);
                }
                Step::Delete(id) => {
                    pending.remove(&id);
                    batch.delete(id);
                }
                Step::Commit => {
                    let res = db.commit(std::mem::take(&mut batch));
                    if batch_ok {
                        res.unwrap();
                        committed = pending.clone();
                    } else {
                        prop_assert!(matches!(res, Err(Error::DuplicateId { .. } | Error::RepeatedId { .. })), "{:?}", res);
                        pending = committed.clone();
                    }
                    batch_ok = true;
                    check(&db, &committed)?;
                }
                Step::Flush => { db.flush().unwrap(); check(&db, &committed)?; }
                Step::Compact => { db.compact().unwrap(); check(&db, &committed)?; }
                Step::Reopen => {
                    drop(db);
                    db = Database::open_with(&path, opts.clone()).unwrap();
                    pending = committed.clone();
                    batch = WriteBatch::new();
                    batch_ok = true;
                    check(&db, &committed)?;
                }
            }
        }
        let report = Database::verify(&path).unwrap();
        prop_assert_eq!(report.items, committed.len() as u64);
        std::fs::remove_dir_all(&dir).ok();
    }
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "hamdb-model-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (id, code bytes, label, payload).
type Dumped = (u64, Vec<u8>, Option<u32>, Vec<u8>);

/// Every live item, in id order.
fn dump(db: &Database) -> Vec<Dumped> {
    let snap = db.snapshot();
    (0..200u64)
        .filter_map(|id| snap.get(id).unwrap())
        .map(|it| (it.id, it.code.to_bytes(), it.label, it.payload))
        .collect()
}

#[derive(Debug, Clone)]
enum BatchStep {
    Insert(u64, u64, Option<u32>),
    InsertAuto(u64),
    Upsert(u64, u64, Option<u32>),
    Delete(u64),
}

fn batch_step() -> impl Strategy<Value = BatchStep> {
    prop_oneof![
        5 => (0u64..40, any::<u64>(), prop::option::of(0u32..4)).prop_map(|(i, c, l)| BatchStep::Insert(i, c, l)),
        1 => any::<u64>().prop_map(BatchStep::InsertAuto),
        3 => (0u64..40, any::<u64>(), prop::option::of(0u32..4)).prop_map(|(i, c, l)| BatchStep::Upsert(i, c, l)),
        3 => (0u64..40).prop_map(BatchStep::Delete),
    ]
}

fn build(steps: &[BatchStep]) -> WriteBatch {
    let mut b = WriteBatch::new();
    for s in steps {
        match *s {
            BatchStep::Insert(id, c, l) => b.insert(id, code(c), l, id.to_le_bytes()),
            BatchStep::InsertAuto(c) => b.insert_auto(code(c), None, b"auto"),
            BatchStep::Upsert(id, c, l) => b.upsert(id, code(c), l, b"up"),
            BatchStep::Delete(id) => b.delete(id),
        };
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A batch big enough to be written straight into a segment (flush threshold 1) does
    /// exactly what the same batch does through the log and the delta (threshold never
    /// reached): same outcome (error or assigned ids), same items, over the same history
    /// (items in segments, tombstones, and in the delta).
    #[test]
    fn a_batch_written_as_a_segment_equals_the_logged_path(
        history in prop::collection::vec(prop::collection::vec(batch_step(), 0..12), 0..4),
        last in prop::collection::vec(batch_step(), 0..30),
    ) {
        let dir = tempdir();
        let open = |name: &str, threshold: usize| {
            Database::create_with(
                dir.join(name),
                CreateOptions { code_bits: 16, fingerprint: vec![], expected_radius: None },
                OpenOptions { flush_threshold: Some(threshold), ..OpenOptions::default() },
            )
            .unwrap()
        };
        // The history is laid down the same way in both (some of it flushed into segments), so
        // only the last batch's path differs.
        let (seg, logged) = (open("seg.hamdb", 1_000_000), open("log.hamdb", 1_000_000));
        for (i, steps) in history.iter().enumerate() {
            for db in [&seg, &logged] {
                let _ = db.commit(build(steps));
                if i % 2 == 0 {
                    db.flush().unwrap();
                }
            }
        }
        prop_assert_eq!(dump(&seg), dump(&logged));
        drop(seg);
        let seg = Database::open_with(
            dir.join("seg.hamdb"),
            OpenOptions { flush_threshold: Some(1), ..OpenOptions::default() },
        )
        .unwrap();
        let before = seg.stats().segments;
        let a = seg.commit(build(&last)).map(|i| i.assigned_ids);
        let b = logged.commit(build(&last)).map(|i| i.assigned_ids);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(dump(&seg), dump(&logged));
        if a.is_ok() && !last.is_empty() {
            prop_assert_eq!(seg.stats().delta_items, 0, "the batch went into a segment");
            prop_assert!(seg.stats().segments <= before + 1);
        }
        Database::verify(seg.path()).unwrap();
        drop(seg);
        let reopened = Database::open(dir.join("seg.hamdb")).unwrap();
        prop_assert_eq!(dump(&reopened), dump(&logged));
        std::fs::remove_dir_all(&dir).ok();
    }
}
