//! Class-aware ranking: items of the given (predicted) class first, then the rest, each group
//! in exact (distance, id) order, equal to a brute-force reference over segments, tombstones
//! and a delta; a class with fewer than k items, a class with none, k past the item count.

mod common;

use common::db::tempdir;
use hamdb::{Code, CreateOptions, Database, OpenOptions, WriteBatch};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::BTreeMap;

fn reference(
    model: &BTreeMap<u64, (u64, Option<u32>)>,
    q: u64,
    class: u32,
    k: Option<usize>,
    r: Option<u32>,
) -> Vec<(u64, u32)> {
    let mut first: Vec<(u32, u64)> = Vec::new();
    let mut rest: Vec<(u32, u64)> = Vec::new();
    for (&id, &(code, label)) in model {
        let d = (code ^ q).count_ones();
        if r.is_some_and(|r| d > r) {
            continue;
        }
        if label == Some(class) {
            first.push((d, id));
        } else {
            rest.push((d, id));
        }
    }
    first.sort_unstable();
    rest.sort_unstable();
    first.extend(rest);
    if let Some(k) = k {
        first.truncate(k);
    }
    first.into_iter().map(|(d, id)| (id, d)).collect()
}

#[test]
fn class_first_equals_the_reference() {
    let dir = tempdir("class-rank");
    let db = Database::create_with(
        dir.join("c.hamdb"),
        CreateOptions::new(64),
        OpenOptions {
            flush_threshold: Some(300),
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let centers: Vec<u64> = (0..4).map(|_| rng.gen()).collect();
    let mut model = BTreeMap::new();
    for round in 0..10u64 {
        let mut b = WriteBatch::new();
        for i in 0..100u64 {
            let id = round * 100 + i;
            let c = rng.gen_range(0..4usize);
            let code = centers[c] ^ (rng.gen::<u64>() & rng.gen::<u64>() & rng.gen::<u64>());
            // Class 3 is rare (about 1 in 40 items); class 5 has no items; some unlabelled.
            let label = match rng.gen_range(0..40) {
                0 => Some(3),
                1..=3 => None,
                _ => Some(c as u32 % 3),
            };
            b.insert(
                id,
                Code::from_bytes(&code.to_be_bytes()).unwrap(),
                label,
                "",
            );
            model.insert(id, (code, label));
        }
        for _ in 0..10 {
            let id = rng.gen_range(0..(round + 1) * 100);
            if model.remove(&id).is_some() {
                b.delete(id);
            }
        }
        db.commit(b).unwrap();
    }
    let snap = db.snapshot();
    assert!(db.stats().segments >= 2 && db.stats().delta_items > 0);
    let any = Code::from_bytes(&[0u8; 8]).unwrap();
    assert!(matches!(
        snap.search_class_first(&any, 3, u32::MAX),
        Err(hamdb::Error::InvalidParameter { name: "class", .. })
    ));
    assert!(snap.search_radius_class_first(&any, 3, u32::MAX).is_err());
    for _ in 0..40 {
        let q = centers[rng.gen_range(0..4)] ^ rng.gen::<u64>() & rng.gen::<u64>();
        let qc = Code::from_bytes(&q.to_be_bytes()).unwrap();
        for class in [0, 1, 3, 5] {
            for k in [0, 1, 10, 50, 2000] {
                let got: Vec<(u64, u32)> = snap
                    .search_class_first(&qc, k, class)
                    .unwrap()
                    .hits
                    .iter()
                    .map(|h| (h.id, h.distance))
                    .collect();
                assert_eq!(
                    got,
                    reference(&model, q, class, Some(k), None),
                    "class {class} k {k}"
                );
            }
            for r in [5, 20] {
                let res = snap.search_radius_class_first(&qc, r, class).unwrap();
                let got: Vec<(u64, u32)> = res.hits.iter().map(|h| (h.id, h.distance)).collect();
                assert_eq!(
                    got,
                    reference(&model, q, class, None, Some(r)),
                    "class {class} r {r}"
                );
            }
        }
    }
}
