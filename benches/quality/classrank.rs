//! Class-aware ranking on Fashion-MNIST codes of a shipped encoder, side by side with the plain
//! Hamming ranking in one run: retrieval quality (mAP over the full ranking, 10k test queries
//! vs the 60k training images, relevant = same true class, ties by id = database index, as
//! models/RESULTS.md) and the cost of a search (one thread, medians over the queries).
//!
//!     .venv/bin/python benches/quality/encode_fmnist.py --out target/bench/quality
//!     cargo run --release --example classrank -- --dir target/bench/quality
//!
//! Rankings: "hamming" (by distance); "class first, stored = predicted" (what hamdb stores when
//! images are inserted: each item's predicted class, and the query's predicted class first);
//! "class first, stored = true" (labels a caller supplies). Cost: `search` vs
//! `search_class_first` at k = 10 and 100, alternating which runs first per query.

use hamdb::{npy, Code, CodeArray, CodeLen, CreateOptions, Database, Import};
use std::time::Instant;

#[path = "../dedup/arg.rs"]
mod arg;
use arg::arg;

/// (shape, data bytes) of `dir/name.npy`.
fn read(dir: &str, name: &str) -> (Vec<usize>, Vec<u8>) {
    let path = format!("{dir}/{name}.npy");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let a = npy::parse(&bytes).unwrap();
    (a.shape.clone(), a.data.to_vec())
}

fn u32s(a: &(Vec<usize>, Vec<u8>)) -> Vec<u32> {
    a.1.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn average_precision(ranked_true: impl Iterator<Item = u32>, label: u32, relevant: usize) -> f64 {
    let (mut found, mut sum) = (0usize, 0.0);
    for (rank, l) in ranked_true.enumerate() {
        if l == label {
            found += 1;
            sum += found as f64 / (rank + 1) as f64;
        }
    }
    sum / relevant.max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = arg("--dir", "target/bench/quality");
    let map_queries: usize = arg("--map-queries", "10000").parse().unwrap();
    let codes = read(&dir, "db_codes");
    let bits = codes.0[1] * 8;
    let len = CodeLen::new(bits).unwrap();
    let db_codes = CodeArray::from_packed_bytes(len, &codes.1).unwrap();
    let (db_pred, db_true) = (u32s(&read(&dir, "db_pred")), u32s(&read(&dir, "db_true")));
    let q = read(&dir, "q_codes");
    let q_codes = CodeArray::from_packed_bytes(len, &q.1).unwrap();
    let (q_pred, q_true) = (u32s(&read(&dir, "q_pred")), u32s(&read(&dir, "q_true")));
    let tmp = std::env::temp_dir().join(format!("hamdb-classrank-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let make = |name: &str, labels: &[u32]| {
        let db = Database::create(tmp.join(name), CreateOptions::new(bits)).unwrap();
        db.import(Import {
            codes: &db_codes,
            ids: None,
            labels: Some(labels),
            payloads: None,
        })
        .unwrap();
        db
    };
    let (by_pred, by_true) = (make("pred.hamdb", &db_pred), make("true.hamdb", &db_true));
    let (sp, st) = (by_pred.snapshot(), by_true.snapshot());
    let n = db_codes.len();
    let mut per_class = [0usize; 256];
    for &l in &db_true {
        per_class[l as usize] += 1;
    }
    let nq = q_codes.len().min(map_queries);
    let (mut map_h, mut map_p, mut map_t) = (0.0, 0.0, 0.0);
    for i in 0..nq {
        let code: Code = q_codes.get(i).unwrap();
        let (label, rel) = (q_true[i], per_class[q_true[i] as usize]);
        let truth = |hits: &[hamdb::Hit]| {
            hits.iter()
                .map(|h| db_true[h.id as usize])
                .collect::<Vec<_>>()
        };
        map_h += average_precision(
            truth(&sp.search(&code, n, None).unwrap().hits).into_iter(),
            label,
            rel,
        );
        map_p += average_precision(
            truth(&sp.search_class_first(&code, n, q_pred[i]).unwrap().hits).into_iter(),
            label,
            rel,
        );
        map_t += average_precision(
            truth(&st.search_class_first(&code, n, q_pred[i]).unwrap().hits).into_iter(),
            label,
            rel,
        );
    }
    let nqf = nq as f64;
    println!(
        "{{\"queries\":{nq},\"items\":{n},\"bits\":{bits},\"map_hamming\":{:.4},\"map_class_first_stored_predicted\":{:.4},\"map_class_first_stored_true\":{:.4}}}",
        map_h / nqf,
        map_p / nqf,
        map_t / nqf
    );
    for k in [10usize, 100] {
        let (mut plain, mut first) = (Vec::new(), Vec::new());
        for (i, &pred) in q_pred.iter().enumerate().take(q_codes.len()) {
            let code = q_codes.get(i).unwrap();
            let run = |class_first: bool| {
                let t = Instant::now();
                let res = if class_first {
                    sp.search_class_first(&code, k, pred).unwrap()
                } else {
                    sp.search(&code, k, None).unwrap()
                };
                std::hint::black_box(res);
                t.elapsed().as_secs_f64() * 1e6
            };
            if i % 2 == 0 {
                plain.push(run(false));
                first.push(run(true));
            } else {
                first.push(run(true));
                plain.push(run(false));
            }
        }
        let (p, f) = (median(plain), median(first));
        println!(
            "{{\"k\":{k},\"plain_median_us\":{p:.2},\"class_first_median_us\":{f:.2},\"ratio\":{:.3}}}",
            f / p
        );
    }
    std::fs::remove_dir_all(&tmp).ok();
}
