//! Side-by-side benchmark driver, Rust half: generates a workload's codes, times hamdb's scan
//! and MIH and the mih-rs crate on them, and writes the codes, queries and exact answers for
//! benches/compare/faiss_bench.py. benches/compare/run.py runs both halves and merges rows.
//!
//! `compare workload --kind uniform --n 1000000 --bits 64 --queries 1000 --k 1,10,100
//!   --radius 0,2,4,8 --dir target/bench/w1` prints one JSON row per (system, k or radius).
//! `compare membw` prints the machine's sequential read bandwidth.

use hamdb::{Code, CodeArray, CodeLen, MihIndex, MihOptions, PathPolicy, ScanIndex, SearchPath};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Args {
    kind: String,
    n: usize,
    bits: usize,
    queries: usize,
    ks: Vec<usize>,
    radii: Vec<u32>,
    dir: PathBuf,
    systems: Vec<String>,
    seed: u64,
    single_queries: usize,
    m: Option<usize>,
}

fn parse_list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().ok().expect("list item"))
        .collect()
}

fn parse(args: &[String]) -> Args {
    let mut a = Args {
        kind: "uniform".into(),
        n: 1_000_000,
        bits: 64,
        queries: 1000,
        ks: vec![1, 10, 100],
        radii: vec![0, 2, 4, 8],
        dir: PathBuf::from("target/bench/work"),
        systems: vec![
            "hamdb-scan".into(),
            "hamdb-scan-batch".into(),
            "hamdb-mih".into(),
            "mih-rs".into(),
        ],
        seed: 42,
        single_queries: 200,
        m: None,
    };
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--kind" => a.kind = v,
            "--n" => a.n = v.parse().expect("--n"),
            "--bits" => a.bits = v.parse().expect("--bits"),
            "--queries" => a.queries = v.parse().expect("--queries"),
            "--single-queries" => a.single_queries = v.parse().expect("--single-queries"),
            "--k" => a.ks = parse_list(&v),
            "--radius" => a.radii = parse_list(&v),
            "--dir" => a.dir = PathBuf::from(v),
            "--systems" => a.systems = parse_list(&v),
            "--m" => a.m = Some(v.parse().expect("--m")),
            "--seed" => a.seed = v.parse().expect("--seed"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

/// Uniform: independent fair bits. Clustered (SSDH-like): 10 centres, each bit flipped with
/// probability 5%, so a class's codes crowd around its centre with many exact duplicates.
fn generate(
    kind: &str,
    bits: usize,
    n: usize,
    rng: &mut Xoshiro256PlusPlus,
    centres: &[Vec<u8>],
) -> Vec<u8> {
    let bytes = bits / 8;
    let mut out = vec![0u8; n * bytes];
    match kind {
        "uniform" => rng.fill(&mut out[..]),
        "clustered" => {
            for row in out.chunks_exact_mut(bytes) {
                row.copy_from_slice(&centres[rng.gen_range(0..centres.len())]);
                for bit in 0..bits {
                    if rng.gen_bool(0.05) {
                        row[bit / 8] ^= 0x80 >> (bit % 8);
                    }
                }
            }
        }
        other => panic!("unknown workload kind {other}"),
    }
    out
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn row(a: &Args, system: &str, k: Option<usize>, radius: Option<u32>, extra: serde_json::Value) {
    let mut v = json!({
        "workload": a.kind, "n": a.n, "bits": a.bits, "k": k, "radius": radius, "system": system,
    });
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    println!("{v}");
    std::io::stdout().flush().ok();
}

/// Distances of each result list, to compare with the exact answer (ids may differ on ties in
/// other systems, distances may not).
fn dists(res: &[hamdb::SearchResult]) -> Vec<Vec<u32>> {
    res.iter()
        .map(|r| r.neighbors.iter().map(|n| n.distance).collect())
        .collect()
}

fn workload(a: &Args) {
    std::fs::create_dir_all(&a.dir).expect("bench dir");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(a.seed);
    let bytes = a.bits / 8;
    let centres: Vec<Vec<u8>> = (0..10)
        .map(|_| (0..bytes).map(|_| rng.gen()).collect())
        .collect();
    let t = Instant::now();
    let data = generate(&a.kind, a.bits, a.n, &mut rng, &centres);
    let qbytes = generate(&a.kind, a.bits, a.queries, &mut rng, &centres);
    eprintln!("generated {} x {} bits in {:.1?}", a.n, a.bits, t.elapsed());
    write(&a.dir.join("codes.u8"), &data);
    write(&a.dir.join("queries.u8"), &qbytes);
    let len = CodeLen::new(a.bits).unwrap();
    let codes = CodeArray::from_packed_bytes(len, &data).unwrap();
    drop(data);
    let queries = CodeArray::from_packed_bytes(len, &qbytes).unwrap();
    let qlist: Vec<Code> = (0..queries.len())
        .map(|i| queries.get(i).unwrap())
        .collect();
    let single = &qlist[..a.single_queries.min(qlist.len())];

    let scan = ScanIndex::new(codes.clone()).unwrap();
    // Exact answers: the batched scan, checked against FAISS's flat index by faiss_bench.py.
    let mut truth = std::collections::BTreeMap::new();
    for &k in &a.ks {
        let t = Instant::now();
        let res = scan.search_batch(&queries, k).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let d = dists(&res);
        let flat: Vec<u8> = d.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        write(&a.dir.join(format!("truth_k{k}.u32")), &flat);
        if a.systems.iter().any(|s| s == "hamdb-scan-batch") {
            row(
                a,
                "hamdb-scan-batch",
                Some(k),
                None,
                json!({"qps": a.queries as f64 / secs, "build_s": 0.0,
                "bytes_per_code": (len.words() * 8) as f64, "exact": true, "mode": "batch", "queries": a.queries}),
            );
        }
        truth.insert(k, d);
    }
    let mut rtruth = std::collections::BTreeMap::new();
    for &r in &a.radii {
        let res: Vec<_> = single
            .iter()
            .map(|q| scan.search_radius(q, r).unwrap())
            .collect();
        let counts: Vec<u8> = res
            .iter()
            .flat_map(|x| (x.neighbors.len() as u64).to_le_bytes())
            .collect();
        write(&a.dir.join(format!("truth_r{r}.u64")), &counts);
        rtruth.insert(r, res);
    }
    let per_query = |f: &mut dyn FnMut(&Code) -> Vec<u32>| -> (f64, Vec<Vec<u32>>, Vec<f64>) {
        let mut out = Vec::new();
        let mut lat = Vec::new();
        let t = Instant::now();
        for q in single {
            let t1 = Instant::now();
            out.push(f(q));
            lat.push(t1.elapsed().as_secs_f64());
        }
        (single.len() as f64 / t.elapsed().as_secs_f64(), out, lat)
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let exact_vs = |got: &[Vec<u32>], k: usize| got.iter().zip(&truth[&k]).all(|(g, t)| g == t);

    if a.systems.iter().any(|s| s == "hamdb-scan") {
        for &k in &a.ks {
            let (qps, got, lat) = per_query(&mut |q| {
                scan.search(q, k)
                    .unwrap()
                    .neighbors
                    .iter()
                    .map(|n| n.distance)
                    .collect()
            });
            row(
                a,
                "hamdb-scan",
                Some(k),
                None,
                json!({"qps": qps, "build_s": 0.0, "bytes_per_code": (len.words()*8) as f64,
                "exact": exact_vs(&got, k), "mode": "single", "median_ms": 1e3 * median(lat), "queries": single.len()}),
            );
        }
    }
    if a.systems.iter().any(|s| s == "hamdb-scan-2t") {
        // Two threads on one query (partitions + merge): the only row here that is not one thread.
        for &k in &a.ks {
            let (qps, got, lat) = per_query(&mut |q| {
                scan.search_parallel(q, k, 2)
                    .unwrap()
                    .neighbors
                    .iter()
                    .map(|n| n.distance)
                    .collect()
            });
            row(
                a,
                "hamdb-scan-2t",
                Some(k),
                None,
                json!({"qps": qps, "build_s": 0.0, "bytes_per_code": (len.words()*8) as f64,
                "exact": exact_vs(&got, k), "mode": "single", "threads": 2, "median_ms": 1e3 * median(lat), "queries": single.len()}),
            );
        }
    }
    if a.systems.iter().any(|s| s == "hamdb-mih") {
        let t = Instant::now();
        let mih = MihIndex::build(
            codes.clone(),
            MihOptions {
                substrings: a.m,
                ..Default::default()
            },
        )
        .unwrap();
        let build_s = t.elapsed().as_secs_f64();
        let bpc = mih.memory_bytes() as f64 / a.n as f64;
        eprintln!(
            "hamdb-mih: m = {} {:?}, build {:.2}s, {:.1} B/code",
            mih.substrings(),
            mih.substring_lens(),
            build_s,
            bpc
        );
        for &k in &a.ks {
            let mut paths = [0usize; 3];
            let (mut buckets, mut cands) = (0u64, 0u64);
            let (qps, got, lat) = per_query(&mut |q| {
                let r = mih.search(q, k).unwrap();
                buckets += r.stats.buckets_probed;
                cands += r.stats.candidates_checked;
                paths[match r.stats.path {
                    Some(SearchPath::Mih) => 0,
                    Some(SearchPath::LinearScan) => 1,
                    _ => 2,
                }] += 1;
                r.neighbors.iter().map(|n| n.distance).collect()
            });
            row(
                a,
                "hamdb-mih",
                Some(k),
                None,
                json!({"qps": qps, "build_s": build_s, "bytes_per_code": bpc,
                "exact": exact_vs(&got, k), "mode": "single", "median_ms": 1e3 * median(lat), "queries": single.len(),
                "paths": {"mih": paths[0], "scan": paths[1], "mih_then_scan": paths[2]}, "m": mih.substrings(),
                "avg_buckets": buckets as f64 / single.len() as f64, "avg_candidates": cands as f64 / single.len() as f64,
                "predicted_radius": mih.predicted_knn_radius(k)}),
            );
        }
        for &r in &a.radii {
            let (qps, got, _) = per_query(&mut |q| {
                mih.search_radius(q, r)
                    .unwrap()
                    .neighbors
                    .iter()
                    .map(|n| n.distance)
                    .collect()
            });
            let exact = got
                .iter()
                .zip(&rtruth[&r])
                .all(|(g, t)| g.len() == t.neighbors.len());
            row(
                a,
                "hamdb-mih",
                None,
                Some(r),
                json!({"qps": qps, "build_s": build_s, "bytes_per_code": bpc, "exact": exact, "mode": "single"}),
            );
            let (qps, _, _) = per_query(&mut |q| {
                scan.search_radius(q, r)
                    .unwrap()
                    .neighbors
                    .iter()
                    .map(|n| n.distance)
                    .collect()
            });
            row(
                a,
                "hamdb-scan",
                None,
                Some(r),
                json!({"qps": qps, "build_s": 0.0, "bytes_per_code": (len.words()*8) as f64, "exact": true, "mode": "single"}),
            );
        }
        // Forced MIH, to show what the path choice saves where MIH cannot win.
        if a.kind == "uniform" && a.bits > 64 {
            let k = 10;
            if a.ks.contains(&k) {
                let few = &single[..single.len().min(5)];
                let t = Instant::now();
                let mut exact = true;
                for (i, q) in few.iter().enumerate() {
                    let got: Vec<u32> = mih
                        .search_with(q, k, PathPolicy::ForceMih)
                        .unwrap()
                        .neighbors
                        .iter()
                        .map(|n| n.distance)
                        .collect();
                    exact &= got == truth[&k][i];
                }
                row(
                    a,
                    "hamdb-mih-forced",
                    Some(k),
                    None,
                    json!({"qps": few.len() as f64 / t.elapsed().as_secs_f64(),
                    "build_s": build_s, "bytes_per_code": bpc, "exact": exact, "mode": "single", "queries": few.len()}),
                );
            }
        }
    }
    if a.bits == 64 && a.systems.iter().any(|s| s == "mih-rs") {
        let raw: Vec<u64> = (0..a.n)
            .map(|i| u64::from_be_bytes(codes.get(i).unwrap().to_bytes().try_into().unwrap()))
            .collect();
        let t = Instant::now();
        let index = mih_rs::Index::new(raw).expect("mih-rs build");
        let build_s = t.elapsed().as_secs_f64();
        let q64: Vec<u64> = single
            .iter()
            .map(|q| u64::from_be_bytes(q.to_bytes().try_into().unwrap()))
            .collect();
        for &k in &a.ks {
            let mut searcher = index.topk_searcher();
            let mut got = Vec::new();
            let t = Instant::now();
            for &q in &q64 {
                let ids = searcher.run(q, k).to_vec();
                got.push(ids);
            }
            let qps = q64.len() as f64 / t.elapsed().as_secs_f64();
            let got_d: Vec<Vec<u32>> = got
                .iter()
                .zip(&q64)
                .map(|(ids, &q)| {
                    let mut d: Vec<u32> = ids
                        .iter()
                        .map(|&i| (index.codes()[i as usize] ^ q).count_ones())
                        .collect();
                    d.sort();
                    d
                })
                .collect();
            // mih-rs keeps codes plus per-block sparse tables; its size is not exposed, so we
            // report its serialised size.
            let mut buf = Vec::new();
            index.serialize_into(&mut buf).ok();
            row(
                a,
                "mih-rs",
                Some(k),
                None,
                json!({"qps": qps, "build_s": build_s, "bytes_per_code": buf.len() as f64 / a.n as f64,
                "exact": exact_vs(&got_d, k), "mode": "single", "queries": q64.len()}),
            );
        }
    }
}

fn membw() {
    let words = 256usize << 20; // 2 GiB
    let v: Vec<u64> = (0..words as u64).collect();
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let mut acc = [0u64; 8];
        for c in v.chunks_exact(8) {
            for i in 0..8 {
                acc[i] = acc[i].wrapping_add(c[i]);
            }
        }
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(acc);
        best = best.max((words * 8) as f64 / secs / 1e9);
    }
    println!("{}", json!({"system": "membw", "read_gb_s": best}));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("workload") => workload(&parse(&args[1..])),
        Some("membw") => membw(),
        _ => {
            eprintln!("usage: compare workload [--kind uniform|clustered] [--n N] [--bits B] ... | compare membw");
            std::process::exit(2);
        }
    }
}
