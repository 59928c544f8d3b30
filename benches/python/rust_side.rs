//! The Rust half of `make bench-python` (benches/python/run.py drives it): the same searches as
//! the Python side, on the same database file and the same queries, timed from Rust.
//!
//! `python_rust_side --db FILE --queries FILE [--k 10] [--repeats 7] [--warmup] [--dists-out FILE]`
//!
//! Prints two JSON rows: `rust-per-call` (one `snapshot().search` per query, the work behind
//! one Python `db.search(code, k)` call: a snapshot, a `Code` from bytes, the search) and
//! `rust-batch` (one snapshot, then every query in a loop: the work behind one 2-D Python
//! `db.search(codes, k)`). Each is timed `--repeats` times over all the queries; the medians
//! and every sample are printed (per call: one sample per block of 100 calls). `--dists-out` writes the batch's distances (int32, row-major
//! `[queries, k]`, -1 padding) so the driver can check they equal the other systems'.

use hamdb::{Code, Database};
use serde_json::json;
use std::time::Instant;

/// Calls per timed block of the per-call measurement (benches/python/measure.py uses the same).
const BLOCK: usize = 100;

/// The value after `name` on the command line, or `default`.
fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// The median of the samples (the upper one for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = Database::open_read_only(arg(&args, "--db", "")).expect("open --db");
    let k: usize = arg(&args, "--k", "10").parse().expect("--k");
    let repeats: usize = arg(&args, "--repeats", "7").parse().expect("--repeats");
    let width = db.code_len().bytes();
    let raw = std::fs::read(arg(&args, "--queries", "")).expect("read --queries");
    assert_eq!(
        raw.len() % width,
        0,
        "--queries is not a whole number of codes"
    );
    let queries: Vec<&[u8]> = raw.chunks_exact(width).collect();
    let n = queries.len();
    // A fresh process maps the file cold: one untimed pass faults in what the queries touch,
    // as the Python process (which searched the file before) has it.
    if args.iter().any(|a| a == "--warmup") {
        for q in &queries {
            std::hint::black_box(db.search(&Code::from_bytes(q).unwrap(), k).unwrap());
        }
    }

    // Per call: everything one Python 1-D call does on the Rust side, per query. Timed in
    // blocks of `BLOCK` calls: a block is short enough that most blocks run without being
    // preempted on a shared machine, so the median is the undisturbed cost.
    let mut per_call = Vec::new();
    for _ in 0..repeats {
        for block in queries.chunks(BLOCK) {
            let t = Instant::now();
            for q in block {
                let res = db
                    .snapshot()
                    .search(&Code::from_bytes(q).unwrap(), k, None)
                    .unwrap();
                std::hint::black_box(res);
            }
            per_call.push(t.elapsed().as_secs_f64() / block.len() as f64);
        }
    }
    println!(
        "{}",
        json!({"system": "rust-per-call", "queries": n, "k": k,
               "s_per_query_median": median(per_call.clone()), "s_per_query": per_call})
    );

    // Batch: one snapshot, the queries in a loop, results into [n, k] arrays (as the 2-D
    // Python form fills them).
    let mut batch = Vec::new();
    let mut dists = vec![-1i32; n * k];
    for _ in 0..repeats {
        let t = Instant::now();
        let snap = db.snapshot();
        let mut ids = vec![u64::MAX; n * k];
        dists.fill(-1);
        for (i, q) in queries.iter().enumerate() {
            let res = snap.search(&Code::from_bytes(q).unwrap(), k, None).unwrap();
            for (j, h) in res.hits.iter().enumerate() {
                ids[i * k + j] = h.id;
                dists[i * k + j] = h.distance as i32;
            }
        }
        std::hint::black_box(&ids);
        batch.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{}",
        json!({"system": "rust-batch", "queries": n, "k": k,
               "s_median": median(batch.clone()), "s": batch})
    );
    let out = arg(&args, "--dists-out", "");
    if !out.is_empty() {
        let bytes: Vec<u8> = dists.iter().flat_map(|d| d.to_le_bytes()).collect();
        std::fs::write(out, bytes).expect("write --dists-out");
    }
}
