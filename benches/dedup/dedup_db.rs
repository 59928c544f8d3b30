//! The hamdb half of `make bench-dedup` (benches/dedup/run.py): near-duplicate radius search
//! through the database API on codes and queries the driver wrote as .npy files.
//!
//!     dedup_db --codes C.npy --queries Q.npy --radius 31 --variants 8 --db D.hamdb \
//!         [--expected-radius 31|none] [--single 200] [--threads 2]
//!
//! `Q.npy` holds groups of `--variants` codes (one query = one group: PDQ's 8 rotations and
//! flips). Prints JSON lines: the import, single queries on one thread (each group searched
//! as one `search_radius_many` call of its variants, merged per item at the minimum
//! distance), and the whole batch on `--threads` threads. `hits` counts (query, item) pairs so
//! the driver can check them against FAISS's exact range search.

use hamdb::{CodeArray, CodeLen, CreateOptions, Database, Import, SearchManyOptions};
use std::collections::BTreeMap;
use std::time::Instant;

#[path = "arg.rs"]
mod arg;
use arg::arg;

fn load(path: &str) -> (usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let npy = hamdb::npy::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    assert_eq!(npy.descr, "|u1", "{path}: uint8 codes expected");
    (npy.shape[1] * 8, npy.data.to_vec())
}

/// Per item, the minimum distance over a group's variant results.
fn merge(results: &[hamdb::QueryResult]) -> BTreeMap<u64, u32> {
    let mut best = BTreeMap::new();
    for r in results {
        for h in &r.hits {
            let d = best.entry(h.id).or_insert(h.distance);
            *d = (*d).min(h.distance);
        }
    }
    best
}

fn main() {
    let radius: u32 = arg("--radius", "31").parse().unwrap();
    let variants: usize = arg("--variants", "1").parse().unwrap();
    let single: usize = arg("--single", "200").parse().unwrap();
    let threads: usize = arg("--threads", "2").parse().unwrap();
    let expected = match arg("--expected-radius", &radius.to_string()).as_str() {
        "none" => None,
        r => Some(r.parse::<u32>().unwrap()),
    };
    let (bits, codes) = load(&arg("--codes", ""));
    let (qbits, queries) = load(&arg("--queries", ""));
    assert_eq!(bits, qbits);
    let len = CodeLen::new(bits).unwrap();
    let codes = CodeArray::from_packed_bytes(len, &codes).unwrap();
    let queries = CodeArray::from_packed_bytes(len, &queries).unwrap();
    let groups = queries.len() / variants;
    let path = arg("--db", "target/bench/dedup/bench.hamdb");
    let _ = std::fs::remove_file(&path);
    let t = Instant::now();
    let db = Database::create(
        &path,
        CreateOptions {
            code_bits: bits,
            fingerprint: vec![],
            expected_radius: expected,
        },
    )
    .unwrap();
    db.import(Import {
        codes: &codes,
        ids: None,
        labels: None,
        payloads: None,
    })
    .unwrap();
    let import_s = t.elapsed().as_secs_f64();
    let n = codes.len();
    drop(codes);
    let file_bytes = db.stats().file_bytes;
    let cfg = match expected {
        Some(r) => format!("expected-radius-{r}"),
        None => "knn-tables".into(),
    };
    println!(
        "{{\"system\":\"hamdb\",\"config\":\"{cfg}\",\"phase\":\"import\",\"n\":{n},\"bits\":{bits},\"seconds\":{import_s:.2},\"file_bytes_per_code\":{:.1}}}",
        file_bytes as f64 / n as f64
    );
    let snap = db.snapshot();
    let w = len.words();
    let group = |g: usize| {
        CodeArray::from_words(
            len,
            &queries.as_words()[g * variants * w..(g + 1) * variants * w],
        )
        .unwrap()
    };
    let one = SearchManyOptions {
        threads: 1,
        ..SearchManyOptions::default()
    };
    // Single queries, one thread: each group is one call.
    let mut times = Vec::new();
    let mut hits = 0usize;
    let mut counts = Vec::new();
    for g in 0..single.min(groups) {
        let qs = group(g);
        let t = Instant::now();
        let found = if variants == 1 {
            snap.search_radius(&qs.get(0).unwrap(), radius, None)
                .unwrap()
                .hits
                .len()
        } else {
            merge(&snap.search_radius_many(&qs, radius, &one).unwrap()).len()
        };
        times.push(t.elapsed().as_secs_f64());
        hits += found;
        counts.push(found.to_string());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    println!(
        "{{\"system\":\"hamdb\",\"config\":\"{cfg}\",\"phase\":\"single\",\"n\":{n},\"bits\":{bits},\"radius\":{radius},\"variants\":{variants},\"threads\":1,\"queries\":{},\"median_ms\":{:.4},\"lookups_per_s\":{:.1},\"hits\":{hits},\"hit_counts\":[{}]}}",
        times.len(),
        median * 1e3,
        variants as f64 / median,
        counts.join(",")
    );
    // The whole batch in one call on `threads` threads.
    let opts = SearchManyOptions {
        threads,
        ..SearchManyOptions::default()
    };
    let t = Instant::now();
    let res = snap.search_radius_many(&queries, radius, &opts).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let hits: usize = res
        .chunks(variants)
        .map(|g| {
            if variants == 1 {
                g[0].hits.len()
            } else {
                merge(g).len()
            }
        })
        .sum();
    println!(
        "{{\"system\":\"hamdb\",\"config\":\"{cfg}\",\"phase\":\"batch\",\"n\":{n},\"bits\":{bits},\"radius\":{radius},\"variants\":{variants},\"threads\":{threads},\"queries\":{groups},\"seconds\":{secs:.3},\"lookups_per_s\":{:.1},\"hits\":{hits}}}",
        (groups * variants) as f64 / secs
    );
    drop(snap);
    drop(db);
    let _ = std::fs::remove_file(&path);
}
