//! Storage benchmarks: bulk import, committed inserts, open + first query, queries with part
//! of the data still in the delta, compaction, resident memory. Prints one JSON row per
//! measurement. `cargo run --release --example dbbench -- [--n 10000000] [--dir target/bench]`

use hamdb::{Code, CodeArray, CodeLen, CreateOptions, Database, Import, OpenOptions, WriteBatch};
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn codes(n: usize, rng: &mut impl Rng) -> CodeArray {
    let mut bytes = vec![0u8; n * 8];
    rng.fill(&mut bytes[..]);
    CodeArray::from_packed_bytes(CodeLen::new(64).unwrap(), &bytes).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let n: usize = get("--n", "10000000").parse().unwrap();
    let dir = PathBuf::from(get("--dir", "target/bench"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let row = |name: &str, v: serde_json::Value| {
        let mut o = json!({"bench": name, "n": n, "bits": 64});
        o.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        println!("{o}");
    };
    let queries: Vec<Code> = (0..200)
        .map(|_| Code::from_bytes(&rng.gen::<u64>().to_be_bytes()).unwrap())
        .collect();

    // Bulk import.
    let path = dir.join("dbbench.hamdb");
    let _ = std::fs::remove_file(&path);
    let data = codes(n, &mut rng);
    let db = Database::create(
        &path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap();
    let t = Instant::now();
    db.import(Import {
        codes: &data,
        ids: None,
        labels: None,
        payloads: None,
    })
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    row(
        "bulk_import",
        json!({"seconds": secs, "codes_per_s": n as f64 / secs, "file_bytes": db.stats().file_bytes}),
    );
    drop(db);

    // Open + first query, in a state where nothing is cached by this process.
    let t = Instant::now();
    let db = Database::open_read_only(&path).unwrap();
    let opened = t.elapsed().as_secs_f64();
    let first = db.search(&queries[0], 10).unwrap();
    let total = t.elapsed().as_secs_f64();
    row(
        "open_first_query",
        json!({"open_ms": opened * 1e3, "open_plus_first_query_ms": total * 1e3, "path": format!("{:?}", first.stats.path), "rss_mib": rss_kib("VmRSS:") / 1024}),
    );
    let mut lat = Vec::new();
    for q in &queries {
        let t = Instant::now();
        db.search(q, 10).unwrap();
        lat.push(t.elapsed().as_secs_f64());
    }
    row(
        "query_k10_all_in_segments",
        json!({"median_ms": median(lat) * 1e3, "rss_mib": rss_kib("VmRSS:") / 1024, "peak_rss_mib": rss_kib("VmHWM:") / 1024}),
    );
    drop(db);

    // Compaction of the whole database.
    let db = Database::open(&path).unwrap();
    let t = Instant::now();
    db.compact().unwrap();
    row("compact", json!({"seconds": t.elapsed().as_secs_f64()}));
    drop(db);

    // Committed inserts in batches of 10k (default flush threshold: the delta becomes a
    // segment every 65,536 items).
    let ins_path = dir.join("dbbench-inserts.hamdb");
    let _ = std::fs::remove_file(&ins_path);
    let db = Database::create(
        &ins_path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap();
    let m = n.min(1_000_000);
    let ins = codes(m, &mut rng);
    let t = Instant::now();
    for start in (0..m).step_by(10_000) {
        let mut b = WriteBatch::new();
        for i in start..(start + 10_000).min(m) {
            b.insert_auto(ins.get(i).unwrap(), None, Vec::new());
        }
        db.commit(b).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    row(
        "committed_inserts_10k_batches",
        json!({"items": m, "seconds": secs, "codes_per_s": m as f64 / secs, "segments": db.stats().segments}),
    );
    drop(db);

    // Query speed with 0%, 10% and 50% of the items still in the delta (1M items in all: the
    // delta is meant to stay small; larger fractions of a 10M database are not a state the
    // flush threshold allows).
    let total_items = n.min(1_000_000);
    for frac in [0.0, 0.1, 0.5] {
        let p = dir.join("dbbench-delta.hamdb");
        let _ = std::fs::remove_file(&p);
        let opts = OpenOptions {
            flush_threshold: Some(usize::MAX),
            ..OpenOptions::default()
        };
        let db = Database::create_with(
            &p,
            CreateOptions {
                code_bits: 64,
                fingerprint: vec![],
                expected_radius: None,
            },
            opts,
        )
        .unwrap();
        let in_delta = (total_items as f64 * frac) as usize;
        let base = codes(total_items - in_delta, &mut rng);
        db.import(Import {
            codes: &base,
            ids: None,
            labels: None,
            payloads: None,
        })
        .unwrap();
        let extra = codes(in_delta, &mut rng);
        for start in (0..in_delta).step_by(50_000) {
            let mut b = WriteBatch::new();
            for i in start..(start + 50_000).min(in_delta) {
                b.insert_auto(extra.get(i).unwrap(), None, Vec::new());
            }
            db.commit(b).unwrap();
        }
        let mut lat = Vec::new();
        for q in &queries {
            let t = Instant::now();
            db.search(q, 10).unwrap();
            lat.push(t.elapsed().as_secs_f64());
        }
        row(
            "query_k10_with_delta",
            json!({"items": total_items, "delta_fraction": frac, "delta_items": db.stats().delta_items, "median_ms": median(lat) * 1e3}),
        );
    }
    for f in [
        "dbbench.hamdb",
        "dbbench-inserts.hamdb",
        "dbbench-delta.hamdb",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
}
