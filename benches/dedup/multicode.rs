//! Items of several codes (PDQ-style: 8 variants per image) against the same codes stored one
//! per item with the caller merging by image, side by side in one run, single queries on one
//! thread:
//!
//!     cargo run --release --example multicode -- --items 1000000 --variants 8 --bits 256 \
//!         --radius 31 --queries 1000 --dir /tmp/multicode
//!
//! - radius: `search_radius` on the item database (one hit per image) vs `search_radius` on
//!   the one-code database plus a merge by image (what a caller does without item support);
//!   the hit lists are checked equal.
//! - k-NN (k = 10 images): the item database's `search` vs the one-code database's k = 10 rows
//!   (which may name fewer than 10 images: the cost floor, not the same answer).
//! - 8-code queries (one near copy of a stored variant, 7 unrelated codes, as a PDQ query's
//!   8 dihedral variants): `search_radius_set` vs 8 `search_radius` calls merged by the caller.
//!
//! Prints one JSON line per measurement (median and mean microseconds), then a Markdown table.

use hamdb::{Code, CodeArray, CodeLen, CreateOptions, Database, Import, WriteBatch};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashMap;
use std::time::Instant;

#[path = "arg.rs"]
mod arg;
use arg::arg;

fn median_mean(mut us: Vec<f64>) -> (f64, f64) {
    us.sort_by(f64::total_cmp);
    (us[us.len() / 2], us.iter().sum::<f64>() / us.len() as f64)
}

/// Hits merged by image (id / variants), least distance first, ties by image.
fn by_image(hits: impl Iterator<Item = (u64, u32)>, variants: u64) -> Vec<(u64, u32)> {
    let mut best: HashMap<u64, u32> = HashMap::new();
    for (id, d) in hits {
        let e = best.entry(id / variants).or_insert(d);
        *e = (*e).min(d);
    }
    let mut v: Vec<(u64, u32)> = best.into_iter().collect();
    v.sort_by_key(|&(id, d)| (d, id));
    v
}

fn main() {
    let items: usize = arg("--items", "1000000").parse().unwrap();
    let variants: usize = arg("--variants", "8").parse().unwrap();
    let bits: usize = arg("--bits", "256").parse().unwrap();
    let radius: u32 = arg("--radius", "31").parse().unwrap();
    let nq: usize = arg("--queries", "1000").parse().unwrap();
    let k: usize = arg("--k", "10").parse().unwrap();
    let dir = std::path::PathBuf::from(arg("--dir", "/tmp/hamdb-multicode"));
    let len = CodeLen::new(bits).unwrap();
    let bytes = len.bytes();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let rows = items * variants;
    let data: Vec<u8> = (0..rows * bytes).map(|_| rng.gen()).collect();
    let code = |row: usize| Code::from_bytes(&data[row * bytes..(row + 1) * bytes]).unwrap();
    let near = |rng: &mut Xoshiro256PlusPlus| {
        let row = rng.gen_range(0..rows);
        let mut c = data[row * bytes..(row + 1) * bytes].to_vec();
        for _ in 0..rng.gen_range(8..=24) {
            let b = rng.gen_range(0..bits);
            c[b / 8] ^= 1 << (b % 8);
        }
        c
    };
    let random = |rng: &mut Xoshiro256PlusPlus| (0..bytes).map(|_| rng.gen()).collect::<Vec<u8>>();
    // Queries interleaved: even ones near copies of a stored variant, odd ones uniform.
    let singles: Vec<Code> = (0..nq)
        .map(|i| {
            let b = if i % 2 == 0 {
                near(&mut rng)
            } else {
                random(&mut rng)
            };
            Code::from_bytes(&b).unwrap()
        })
        .collect();
    let sets: Vec<CodeArray> = (0..nq)
        .map(|i| {
            let mut set = Vec::new();
            for v in 0..variants {
                set.extend(if v == 0 && i % 2 == 0 {
                    near(&mut rng)
                } else {
                    random(&mut rng)
                });
            }
            CodeArray::from_packed_bytes(len, &set).unwrap()
        })
        .collect();

    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let options = CreateOptions {
        expected_radius: Some(radius),
        ..CreateOptions::new(bits)
    };
    let t = Instant::now();
    let multi = Database::create(dir.join("items.hamdb"), options.clone()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..items {
        let codes: Vec<Code> = (0..variants).map(|v| code(i * variants + v)).collect();
        batch.insert_codes(i as u64, &codes, None, "");
    }
    multi.commit(batch).unwrap();
    let build_multi = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let single = Database::create(dir.join("rows.hamdb"), options).unwrap();
    let all = CodeArray::from_packed_bytes(len, &data).unwrap();
    single
        .import(Import {
            codes: &all,
            ids: None,
            labels: None,
            payloads: None,
        })
        .unwrap();
    let build_single = t.elapsed().as_secs_f64();
    drop(all);
    let (ms, ss) = (multi.snapshot(), single.snapshot());
    assert_eq!(ms.len(), items as u64);
    let v = variants as u64;

    let mut report = Vec::new();
    let mut time = |name: &str, f: &mut dyn FnMut(usize) -> usize| {
        let mut us = Vec::with_capacity(nq);
        let mut hits = 0;
        for q in 0..nq {
            let t = Instant::now();
            hits += f(q);
            us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let (median, mean) = median_mean(us);
        println!(
            "{{\"measure\":\"{name}\",\"median_us\":{median:.1},\"mean_us\":{mean:.1},\"hits\":{hits}}}"
        );
        report.push((name.to_string(), median, mean, hits));
    };
    time("radius, items of 8 codes", &mut |q| {
        ms.search_radius(&singles[q], radius, None)
            .unwrap()
            .hits
            .len()
    });
    time("radius, one code per row + caller merge", &mut |q| {
        let res = ss.search_radius(&singles[q], radius, None).unwrap();
        by_image(res.hits.iter().map(|h| (h.id, h.distance)), v).len()
    });
    time(&format!("k-NN k = {k}, items of 8 codes"), &mut |q| {
        ms.search(&singles[q], k, None).unwrap().hits.len()
    });
    time(&format!("k-NN k = {k} rows, one code per row"), &mut |q| {
        ss.search(&singles[q], k, None).unwrap().hits.len()
    });
    time("8-code query set, radius (search_radius_set)", &mut |q| {
        ms.search_radius_set(&sets[q], radius, None)
            .unwrap()
            .hits
            .len()
    });
    time("8 radius queries + caller merge", &mut |q| {
        let mut all = Vec::new();
        for c in 0..sets[q].len() {
            let res = ms
                .search_radius(&sets[q].get(c).unwrap(), radius, None)
                .unwrap();
            all.extend(res.hits.iter().map(|h| (h.id * v, h.distance)));
        }
        by_image(all.into_iter(), v).len()
    });
    // The answers agree: items vs rows merged by image, and set vs merged single queries.
    for (q, query) in singles.iter().enumerate().take(200) {
        let a: Vec<(u64, u32)> = ms
            .search_radius(query, radius, None)
            .unwrap()
            .hits
            .iter()
            .map(|h| (h.id, h.distance))
            .collect();
        let res = ss.search_radius(query, radius, None).unwrap();
        assert_eq!(a, by_image(res.hits.iter().map(|h| (h.id, h.distance)), v));
        let knn = ms.search(query, k, None).unwrap();
        let brute = by_image(
            ss.search(query, k * variants, None)
                .unwrap()
                .hits
                .iter()
                .map(|h| (h.id, h.distance)),
            v,
        );
        let got: Vec<(u64, u32)> = knn.hits.iter().map(|h| (h.id, h.distance)).collect();
        assert_eq!(got, brute[..k.min(brute.len())].to_vec(), "k-NN query {q}");
    }
    println!();
    println!(
        "{items} items x {variants} codes of {bits} bits (r = {radius}), {nq} queries, one thread; \
         build: items {build_multi:.1} s, rows {build_single:.1} s; answers checked equal"
    );
    println!();
    println!("| measure | median us | mean us | hits |");
    println!("|---|---:|---:|---:|");
    for (name, median, mean, hits) in report {
        println!("| {name} | {median:.1} | {mean:.1} | {hits} |");
    }
}
