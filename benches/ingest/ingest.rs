//! Ingestion and query-by-image benchmark driver (benches/ingest/run.py runs it next to the
//! Python pipeline). Prints one JSON object per measurement.
//!
//!   ingest --images DIR --model M.onnx --out DIR [--batch 64] [--repeat 3] [--queries 1000]
//!
//! Ingestion: a fresh database per repetition, every image under DIR inserted through
//! `Database::insert_images` (decoders -> batched inference -> writer, commits with fsync).
//! Query by image: each of the first `--queries` images encoded and searched (k = 10)
//! against the last database; per-query latency of encode + search, and of each part.

use hamdb::{Database, Encoder, EncoderOptions, ImageSource, IngestOptions, ModelBinding};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("images dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    out.sort();
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let images = PathBuf::from(arg(&args, "--images").expect("--images DIR"));
    let model = PathBuf::from(arg(&args, "--model").expect("--model M.onnx"));
    let out = PathBuf::from(arg(&args, "--out").unwrap_or_else(|| "target/bench".into()));
    let batch: usize = arg(&args, "--batch").map_or(64, |v| v.parse().unwrap());
    let repeat: usize = arg(&args, "--repeat").map_or(3, |v| v.parse().unwrap());
    let nq: usize = arg(&args, "--queries").map_or(1000, |v| v.parse().unwrap());
    std::fs::create_dir_all(&out).unwrap();
    let files = files_under(&images);
    let mut eo = EncoderOptions::default();
    if let Some(t) = arg(&args, "--intra") {
        eo.intra_threads = t.parse().unwrap();
    }
    if let Some(t) = arg(&args, "--sessions") {
        eo.sessions = t.parse().unwrap();
    }
    if let Some(t) = arg(&args, "--spin") {
        eo.spinning = Some(t == "1");
    }
    let decoders: usize = arg(&args, "--decoders").map_or(0, |v| v.parse().unwrap());
    let enc = Encoder::load(&model, &eo).unwrap();
    let opts = IngestOptions {
        batch_size: batch,
        decode_threads: decoders,
        ..IngestOptions::default()
    };
    // Stage costs, one thread each: read + decode + preprocess, and batched inference.
    let t = Instant::now();
    let rows: Vec<Vec<f32>> = files
        .iter()
        .map(|f| enc.preprocess(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    let decode_us = t.elapsed().as_secs_f64() * 1e6 / files.len() as f64;
    let flat: Vec<f32> = rows.concat();
    let row_len = enc.contract().input_len();
    let t = Instant::now();
    for chunk in flat.chunks(batch * row_len) {
        enc.encode_rows(chunk, chunk.len() / row_len).unwrap();
    }
    let infer_us = t.elapsed().as_secs_f64() * 1e6 / files.len() as f64;
    println!(
        "{{\"system\":\"hamdb\",\"what\":\"stages\",\"decode_us_per_image\":{decode_us:.2},\"inference_us_per_image\":{infer_us:.2},\"batch\":{batch}}}"
    );
    drop((rows, flat));
    let db_path = out.join("ingest-bench.hamdb");
    let mut rates = Vec::new();
    for rep in 0..repeat {
        let _ = std::fs::remove_file(&db_path);
        let db = hamdb::image::create_for_model(&db_path, &enc).unwrap();
        let t = Instant::now();
        let report = ModelBinding::new(&db, &enc)
            .unwrap()
            .insert_images(files.iter().cloned().map(ImageSource::Path), &opts)
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(report.inserted as usize, files.len());
        let rate = files.len() as f64 / secs;
        rates.push(rate);
        println!(
            "{{\"system\":\"hamdb\",\"what\":\"ingest\",\"rep\":{rep},\"images\":{},\"batch\":{batch},\"seconds\":{secs:.4},\"images_per_s\":{rate:.1}}}",
            files.len()
        );
    }
    let db = Database::open_read_only(&db_path).unwrap();
    let (mut total, mut encode, mut search) = (Vec::new(), Vec::new(), Vec::new());
    for f in files.iter().take(nq) {
        let bytes = std::fs::read(f).unwrap();
        let t0 = Instant::now();
        let e = enc.encode_image(&bytes).unwrap();
        let t1 = Instant::now();
        let r = db.snapshot().search(&e.code, 10, None).unwrap();
        let t2 = Instant::now();
        assert_eq!(r.hits.len(), 10);
        // The public path, timed separately: bind (checks the model, as every C call does), search.
        let t3 = Instant::now();
        let q = ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image(&bytes, 10, None)
            .unwrap();
        let t4 = Instant::now();
        assert_eq!(q.result.hits, r.hits);
        encode.push((t1 - t0).as_secs_f64() * 1e3);
        search.push((t2 - t1).as_secs_f64() * 1e3);
        total.push((t4 - t3).as_secs_f64() * 1e3);
    }
    for (name, v) in [
        ("search_image", &mut total),
        ("encode", &mut encode),
        ("search", &mut search),
    ] {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{{\"system\":\"hamdb\",\"what\":\"query_{name}\",\"queries\":{},\"db_items\":{},\"median_ms\":{:.4},\"p99_ms\":{:.4}}}",
            v.len(),
            files.len(),
            percentile(v, 0.5),
            percentile(v, 0.99)
        );
    }
}
