//! Near-duplicate radius search at the index level: one MIH configuration per run over the
//! same codes, single queries on one thread, so substring cuts can be compared side by side.
//!
//!     cargo run --release --example neardup -- --n 10000000 --bits 256 --radius 31 \
//!         --m default,radius,8,11,13
//!
//! Prints one JSON line per configuration: m, build seconds, index bytes per code, median and
//! mean microseconds per query, mean buckets and candidates, hits found.

use hamdb::{Code, CodeArray, CodeLen, MihIndex, MihOptions};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::time::Instant;

#[path = "arg.rs"]
mod arg;
use arg::arg;

fn main() {
    let n: usize = arg("--n", "1000000").parse().unwrap();
    let bits: usize = arg("--bits", "256").parse().unwrap();
    let radius: u32 = arg("--radius", "31").parse().unwrap();
    let nq: usize = arg("--queries", "1000").parse().unwrap();
    let configs = arg("--m", "default,radius");
    let len = CodeLen::new(bits).unwrap();
    let words = len.words();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let data: Vec<u64> = (0..n * words).map(|_| rng.gen()).collect();
    // Half the queries are stored codes with 8..=24 bits flipped, half uniform.
    let mut qs = CodeArray::new(len);
    for i in 0..nq {
        let mut w: Vec<u64> = if i % 2 == 0 {
            let row = rng.gen_range(0..n);
            let mut c = data[row * words..(row + 1) * words].to_vec();
            for _ in 0..rng.gen_range(8..=24) {
                let b = rng.gen_range(0..bits);
                c[b / 64] ^= 1 << (b % 64);
            }
            c
        } else {
            (0..words).map(|_| rng.gen()).collect()
        };
        if !bits.is_multiple_of(64) {
            let last = w.len() - 1;
            w[last] &= (1u64 << (bits % 64)) - 1;
        }
        let bytes: Vec<u8> = CodeArray::from_words(len, &w).unwrap().to_packed_bytes();
        qs.push(&Code::from_bytes(&bytes).unwrap()).unwrap();
    }
    for cfg in configs.split(',') {
        let options = match cfg {
            "default" => MihOptions::default(),
            "radius" => MihOptions {
                expected_radius: Some(radius),
                ..MihOptions::default()
            },
            m => MihOptions {
                substrings: Some(m.parse().unwrap()),
                ..MihOptions::default()
            },
        };
        let codes = CodeArray::from_words(len, &data).unwrap();
        let t = Instant::now();
        let idx = MihIndex::build(codes, options).unwrap();
        let build_s = t.elapsed().as_secs_f64();
        let mut times = Vec::with_capacity(nq);
        let (mut buckets, mut cands, mut hits) = (0u64, 0u64, 0u64);
        for q in 0..nq {
            let code = qs.get(q).unwrap();
            let t = Instant::now();
            let res = idx.search_radius(&code, radius).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e6);
            buckets += res.stats.buckets_probed;
            cands += res.stats.candidates_checked;
            hits += res.neighbors.len() as u64;
        }
        let mean = times.iter().sum::<f64>() / nq as f64;
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{{\"config\":\"{cfg}\",\"m\":{},\"n\":{n},\"bits\":{bits},\"radius\":{radius},\"build_s\":{build_s:.2},\"bytes_per_code\":{:.1},\"median_us\":{:.1},\"mean_us\":{mean:.1},\"buckets\":{:.0},\"candidates\":{:.0},\"hits\":{hits}}}",
            idx.substrings(),
            idx.memory_bytes() as f64 / n as f64,
            times[nq / 2],
            buckets as f64 / nq as f64,
            cands as f64 / nq as f64,
        );
    }
}
