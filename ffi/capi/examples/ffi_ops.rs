//! The Rust side of the C ABI's differential test and per-call benchmark (docs/CAPI.md).
//!
//!   ffi_ops ops SEED STEPS PATH   run the seeded operation sequence through the Rust API and
//!                                 print its canonical dump (ffi/c/ops.c and the Go program
//!                                 ffi/go/cmd/hamdb-ops print the same through the C ABI)
//!   ffi_ops images MODEL SAMPLES N PATH
//!                                 the image calls: insert N sample images (and a missing
//!                                 file), classify and search by image; canonical dump
//!   ffi_ops dump PATH             the canonical state of any database file, opened read-only:
//!                                 verify's report, stats, every live item by id (label, code
//!                                 and payload in hex) and a fixed set of seeded searches; the C,
//!                                 Go and Python programs print the same for the same file
//!   ffi_ops bench PATH            time per call: search (k = 10) on 1,000 codes, and stats()
use hamdb::{Code, CreateOptions, Database, Error, WriteBatch};
use hamdb_capi::{status_of, HAMDB_NO_LABEL};
use std::fmt::Write as _;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn code(v: u32) -> Code {
    Code::from_bytes(&v.to_be_bytes()).expect("32-bit code")
}

fn status<T>(r: &Result<T, Error>) -> i32 {
    r.as_ref().err().map_or(0, status_of)
}

fn label_of(l: u32) -> Option<u32> {
    (l != HAMDB_NO_LABEL).then_some(l)
}

fn dump_hits(out: &mut String, r: Result<hamdb::QueryResult, Error>) {
    match r {
        Ok(res) => {
            write!(out, " ok").unwrap();
            for h in res.hits {
                let label = h.label.map_or("-".to_string(), |l| l.to_string());
                write!(
                    out,
                    " {}:{}:{}:{}",
                    h.id,
                    h.distance,
                    label,
                    String::from_utf8_lossy(&h.payload)
                )
                .unwrap();
            }
        }
        Err(e) => write!(out, " err {}", status_of(&e)).unwrap(),
    }
    out.push('\n');
}

fn ops(seed: u64, steps: u64, path: &str) {
    let _ = std::fs::remove_file(path);
    let db = Database::create(
        path,
        CreateOptions {
            code_bits: 32,
            fingerprint: b"diff".to_vec(),
            expected_radius: None,
        },
    )
    .unwrap();
    let mut rng = Rng(seed);
    let mut batch = WriteBatch::new();
    let mut out = String::new();
    for step in 0..steps {
        let r = rng.next() % 100;
        if r < 50 {
            let id = rng.next() % 1000;
            let c = rng.next() as u32;
            let l = (rng.next() % 4) as u32;
            let label = label_of(if l == 3 { HAMDB_NO_LABEL } else { l });
            let payload = format!("i{step}");
            match r {
                0..30 => batch.insert(id, code(c), label, payload),
                30..40 => batch.insert_auto(code(c), label, payload),
                _ => batch.upsert(id, code(c), label, payload),
            };
        } else if r < 60 {
            batch.delete(rng.next() % 1000);
        } else if r < 75 {
            let res = db.commit(std::mem::take(&mut batch));
            write!(out, "commit {}", status(&res)).unwrap();
            if let Ok(info) = &res {
                write!(
                    out,
                    " txn={} maint={}",
                    info.txn,
                    info.maintenance_error.as_ref().map_or(0, status_of)
                )
                .unwrap();
                for id in &info.assigned_ids {
                    write!(out, " {id}").unwrap();
                }
            }
            out.push('\n');
        } else if r < 78 {
            writeln!(out, "flush {}", status(&db.flush())).unwrap();
        } else if r < 80 {
            writeln!(out, "compact {}", status(&db.compact())).unwrap();
        } else {
            let q = rng.next() as u32;
            let p = rng.next();
            let cls = if rng.next().is_multiple_of(3) {
                Some((rng.next() % 4) as u32)
            } else {
                None
            };
            let snap = db.snapshot();
            if r < 92 {
                let k = (p % 10) as usize;
                write!(
                    out,
                    "knn {q:08x} {k} {}",
                    cls.map_or("*".into(), |c| c.to_string())
                )
                .unwrap();
                dump_hits(&mut out, snap.search(&code(q), k, cls));
            } else {
                let radius = (p % 8) as u32;
                write!(
                    out,
                    "radius {q:08x} {radius} {}",
                    cls.map_or("*".into(), |c| c.to_string())
                )
                .unwrap();
                dump_hits(&mut out, snap.search_radius(&code(q), radius, cls));
            }
        }
    }
    let res = db.commit(batch);
    writeln!(out, "final commit {}", status(&res)).unwrap();
    let s = db.stats();
    writeln!(
        out,
        "stats items={} segments={} delta={} deleted={} txn={}",
        s.items, s.segments, s.delta_items, s.deleted_in_segments, s.txn
    )
    .unwrap();
    write!(out, "all").unwrap();
    dump_hits(&mut out, db.snapshot().search_radius(&code(0), 32, None));
    state(&mut out, &db);
    print!("{out}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `dump_hits` with payloads in hex (a file written elsewhere may hold any bytes).
fn dump_hits_hex(out: &mut String, r: Result<hamdb::QueryResult, Error>) {
    match r {
        Ok(res) => {
            write!(out, " ok").unwrap();
            for h in res.hits {
                let label = h.label.map_or("-".to_string(), |l| l.to_string());
                write!(out, " {}:{}:{label}:{}", h.id, h.distance, hex(&h.payload)).unwrap();
            }
        }
        Err(e) => write!(out, " err {}", status_of(&e)).unwrap(),
    }
    out.push('\n');
}

/// `n` bytes of code from the generator: each word's bytes, most significant first.
fn seeded_code(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        v.extend_from_slice(&rng.next().to_be_bytes());
    }
    v.truncate(n);
    v
}

/// The canonical state of an open database: stats, every live item by id, seeded searches.
/// No binding can iterate items, so every one does the same: a radius search that reaches
/// every code (radius = bits) finds the ids, get() reads each; `live` must equal `items`.
fn state(out: &mut String, db: &Database) {
    let s = db.stats();
    let bits = s.code_bits;
    writeln!(
        out,
        "state bits={bits} txn={} items={} segments={} segment_items={} delta={} deleted={} file_bytes={}",
        s.txn, s.items, s.segments, s.segment_items, s.delta_items, s.deleted_in_segments, s.file_bytes
    )
    .unwrap();
    let snap = db.snapshot();
    let zero = Code::from_bytes(&vec![0u8; bits / 8]).unwrap();
    let mut ids: Vec<u64> = snap
        .search_radius(&zero, bits as u32, None)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.id)
        .collect();
    ids.sort_unstable();
    writeln!(out, "live {}", ids.len()).unwrap();
    for id in ids {
        let it = snap.get(id).unwrap().expect("a live id");
        let label = it.label.map_or("-".to_string(), |l| l.to_string());
        writeln!(
            out,
            "item {} {label} {} {}",
            it.id,
            hex(&it.code.to_bytes()),
            hex(&it.payload)
        )
        .unwrap();
    }
    let mut rng = Rng(0xd0d0);
    for n in 0..32 {
        let q = seeded_code(&mut rng, bits / 8);
        let p = rng.next();
        let cls = if rng.next().is_multiple_of(3) {
            Some((rng.next() % 4) as u32)
        } else {
            None
        };
        let cs = cls.map_or("*".into(), |c| c.to_string());
        let qc = Code::from_bytes(&q).unwrap();
        if n % 2 == 0 {
            let k = (p % 12) as usize;
            write!(out, "knn {} {k} {cs}", hex(&q)).unwrap();
            dump_hits_hex(out, snap.search(&qc, k, cls));
        } else {
            let radius = (p % (bits as u64 / 4 + 1)) as u32;
            write!(out, "radius {} {radius} {cs}", hex(&q)).unwrap();
            dump_hits_hex(out, snap.search_radius(&qc, radius, cls));
        }
    }
}

/// verify's report, then the state of the file opened read-only.
fn dump(path: &str) {
    let v = Database::verify(path).unwrap();
    let mut out = format!(
        "verify txn={} segments={} items={} delta_batches={}\n",
        v.txn, v.segments, v.items, v.delta_batches
    );
    state(&mut out, &Database::open_read_only(path).unwrap());
    print!("{out}");
}

fn image_paths(samples: &str, n: usize) -> Vec<String> {
    let mut paths: Vec<String> = (0..n)
        .map(|i| format!("{samples}/images/{i:05}.png"))
        .collect();
    paths.push(format!("{samples}/images/missing.png"));
    paths
}

fn images(model: &str, samples: &str, n: usize, path: &str) {
    use hamdb::{Encoder, EncoderOptions, ImageSource, IngestOptions, ModelBinding, Reach};
    let _ = std::fs::remove_file(path);
    let enc = Encoder::load(model, &EncoderOptions::default()).unwrap();
    let db = hamdb::image::create_for_model(path, &enc).unwrap();
    let paths = image_paths(samples, n);
    let sources = paths.iter().map(|p| ImageSource::Path(p.into()));
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(sources, &IngestOptions::default())
        .unwrap();
    let mut out = String::new();
    writeln!(out, "inserted {} txn {}", report.inserted, report.txn).unwrap();
    for (i, id) in report.ids.iter().enumerate() {
        match id {
            Some(id) => writeln!(out, "item {i} ok {id}").unwrap(),
            None => {
                let f = report.failures.iter().find(|f| f.index == i).unwrap();
                writeln!(out, "item {i} err {}", status_of(&f.error)).unwrap();
            }
        }
    }
    for q in (0..n).step_by(3) {
        let img = std::fs::read(&paths[q]).unwrap();
        let e = enc.encode_image(&img).unwrap();
        writeln!(
            out,
            "classify {q} {} {} {:08x}",
            e.code.to_hex(),
            e.class,
            e.probability.to_bits()
        )
        .unwrap();
        let cls = (q % 2 == 1).then_some(e.class);
        let reach = if q % 4 == 0 {
            Reach::Radius(3)
        } else {
            Reach::Nearest(5)
        };
        let r = ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image_reach(&img, reach, cls)
            .unwrap();
        write!(out, "query {q} {} {:08x}", r.class, r.probability.to_bits()).unwrap();
        dump_hits(&mut out, Ok(r.result));
    }
    print!("{out}");
}

fn bench(path: &str) {
    let _ = std::fs::remove_file(path);
    let db = Database::create(
        path,
        CreateOptions {
            code_bits: 64,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap();
    let mut rng = Rng(1);
    let mut batch = WriteBatch::new();
    for id in 0..1000u64 {
        let c = Code::from_bytes(&rng.next().to_be_bytes()).unwrap();
        batch.insert(id, c, Some((id % 10) as u32), format!("p{id}"));
    }
    db.commit(batch).unwrap();
    let queries: Vec<Code> = (0..1024)
        .map(|_| Code::from_bytes(&rng.next().to_be_bytes()).unwrap())
        .collect();
    let iters = 200_000;
    let search = |i: usize| {
        std::hint::black_box(db.search(&queries[i % 1024], 10).unwrap());
    };
    let stats = |_: usize| {
        std::hint::black_box(db.stats());
    };
    let cases: [(&str, &dyn Fn(usize)); 2] = [("search_k10", &search), ("stats", &stats)];
    for (name, f) in cases {
        for i in 0..iters / 10 {
            f(i);
        }
        let t = Instant::now();
        for i in 0..iters {
            f(i);
        }
        println!(
            "rust {name}: {:.0} ns/op",
            t.elapsed().as_nanos() as f64 / iters as f64
        );
    }
    let _ = std::fs::remove_file(path);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("ops") => ops(args[2].parse().unwrap(), args[3].parse().unwrap(), &args[4]),
        Some("images") => images(&args[2], &args[3], args[4].parse().unwrap(), &args[5]),
        Some("dump") => dump(&args[2]),
        Some("bench") => bench(&args[2]),
        _ => {
            eprintln!(
                "usage: ffi_ops ops SEED STEPS PATH | ffi_ops images MODEL SAMPLES N PATH | ffi_ops dump PATH | ffi_ops bench PATH"
            );
            std::process::exit(2);
        }
    }
}
