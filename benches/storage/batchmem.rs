//! Peak memory of one big commit against an import of the same codes (issue 11, item 17).
//!
//! `cargo run --release --example batchmem -- commit 1000000` (or `import`); prints the wall
//! time and the peak resident memory above the baseline (VmHWM).

use hamdb::*;
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mode = a[1].clone();
    let n: u64 = a[2].parse().unwrap();
    let p = std::env::temp_dir().join(format!(
        "hamdb-batchmem-{mode}-{}.hamdb",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    let db = Database::create(
        &p,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap();
    let base = rss();
    let t = std::time::Instant::now();
    if mode == "commit" {
        let mut b = WriteBatch::new();
        for i in 0..n {
            let x = i.wrapping_mul(0x9e3779b97f4a7c15);
            b.insert(
                i,
                Code::from_bytes(&x.to_be_bytes()).unwrap(),
                None,
                Vec::new(),
            );
        }
        eprintln!("batch built: peak {} MB", (rss() - base) / 1024);
        db.commit(b).unwrap();
    } else {
        let mut c = CodeArray::with_capacity(CodeLen::new(64).unwrap(), n as usize);
        for i in 0..n {
            let x = i.wrapping_mul(0x9e3779b97f4a7c15);
            c.push(&Code::from_bytes(&x.to_be_bytes()).unwrap())
                .unwrap();
        }
        db.import(Import {
            codes: &c,
            ids: None,
            labels: None,
            payloads: None,
        })
        .unwrap();
    }
    println!(
        "{mode} n={n}: {:.2}s, peak RSS above baseline {} MB, items {}",
        t.elapsed().as_secs_f64(),
        (rss() - base) / 1024,
        db.stats().items
    );
    drop(db);
    let _ = std::fs::remove_file(&p);
}
