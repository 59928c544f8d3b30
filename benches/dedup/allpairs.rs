//! All-pairs near-duplicates through the database API (`Snapshot::find_duplicates`), timed,
//! and checked against brute force (every pair compared, the imagededup-style reference) on
//! the same codes.
//!
//!     allpairs --n 1000000 --bits 64 --radius 8 [--threads 2] [--brute 100000]
//!
//! Codes: uniform, plus for a quarter of them 1-5 near copies 1..radius bits away (so there
//! are pairs to find). `--brute N` also runs brute force on the first N items and compares
//! the pair lists (and times both on those N). Prints JSON lines.

use hamdb::{Code, CodeArray, CodeLen, CreateOptions, Database, DedupOptions, Import, Pair};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::time::Instant;

#[path = "arg.rs"]
mod arg;
use arg::arg;

fn dedup(db: &Database, r: u32, threads: usize) -> (Vec<Pair>, f64) {
    let t = Instant::now();
    let mut pairs = Vec::new();
    db.snapshot()
        .find_duplicates(
            r,
            &DedupOptions { threads },
            &mut |p| {
                pairs.extend_from_slice(p);
                Ok(())
            },
            &mut |_, _| {},
        )
        .unwrap();
    (pairs, t.elapsed().as_secs_f64())
}

fn make_db(path: &str, len: CodeLen, codes: &CodeArray) -> Database {
    let _ = std::fs::remove_file(path);
    let db = Database::create(path, CreateOptions::new(len.bits())).unwrap();
    db.import(Import {
        codes,
        ids: None,
        labels: None,
        payloads: None,
    })
    .unwrap();
    db
}

fn main() {
    let n: usize = arg("--n", "1000000").parse().unwrap();
    let bits: usize = arg("--bits", "64").parse().unwrap();
    let r: u32 = arg("--radius", "8").parse().unwrap();
    let threads: usize = arg("--threads", "2").parse().unwrap();
    let brute_n: usize = arg("--brute", "0").parse().unwrap();
    let dir = arg("--dir", "target/bench/dedup");
    std::fs::create_dir_all(&dir).unwrap();
    let len = CodeLen::new(bits).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut codes = CodeArray::with_capacity(len, n);
    let mut made: Vec<Vec<u8>> = Vec::with_capacity(n);
    while made.len() < n {
        let b: Vec<u8> = (0..bits / 8).map(|_| rng.gen()).collect();
        made.push(b.clone());
        if rng.gen_range(0..4) == 0 {
            for _ in 0..rng.gen_range(1..=5) {
                if made.len() >= n {
                    break;
                }
                let mut c = b.clone();
                for _ in 0..rng.gen_range(1..=r.max(1)) {
                    let bit = rng.gen_range(0..bits);
                    c[bit / 8] ^= 1 << (bit % 8);
                }
                made.push(c);
            }
        }
    }
    for b in &made {
        codes.push(&Code::from_bytes(b).unwrap()).unwrap();
    }
    let db = make_db(&format!("{dir}/allpairs.hamdb"), len, &codes);
    let (pairs, secs) = dedup(&db, r, threads);
    println!(
        "{{\"system\":\"hamdb\",\"phase\":\"allpairs\",\"n\":{n},\"bits\":{bits},\"radius\":{r},\"threads\":{threads},\"seconds\":{secs:.3},\"pairs\":{}}}",
        pairs.len()
    );
    if brute_n > 0 {
        let m = brute_n.min(n);
        let sub = CodeArray::from_words(len, &codes.as_words()[..m * len.words()]).unwrap();
        let small = make_db(&format!("{dir}/allpairs-small.hamdb"), len, &sub);
        let (got, hsecs) = dedup(&small, r, threads);
        // Brute force on one thread per half of the rows, every pair once.
        let t = Instant::now();
        let w = len.words();
        let words = sub.as_words();
        let halves: Vec<Vec<Pair>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads.max(1))
                .map(|part| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        for i in (part..m).step_by(threads.max(1)) {
                            let a = &words[i * w..(i + 1) * w];
                            for j in i + 1..m {
                                let b = &words[j * w..(j + 1) * w];
                                let d: u32 =
                                    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
                                if d <= r {
                                    out.push(Pair {
                                        a: i as u64,
                                        b: j as u64,
                                        distance: d,
                                    });
                                }
                            }
                        }
                        out
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let bsecs = t.elapsed().as_secs_f64();
        let mut want: Vec<Pair> = halves.into_iter().flatten().collect();
        want.sort_by_key(|p| (p.a, p.distance, p.b));
        println!(
            "{{\"system\":\"brute-force\",\"phase\":\"allpairs-check\",\"n\":{m},\"bits\":{bits},\"radius\":{r},\"threads\":{threads},\"seconds\":{bsecs:.3},\"hamdb_seconds\":{hsecs:.3},\"pairs\":{},\"identical\":{}}}",
            want.len(),
            want == got
        );
        assert_eq!(want, got, "hamdb's pairs differ from brute force");
    }
}
