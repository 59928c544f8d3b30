//! The image commands: create --model, insert, search --image, classify, eval.

use crate::args::{json_string, usage, Args, Fail, Res};
use hamdb::{
    Database, Encoder, EncoderOptions, Error, ImageQueryResult, ImageSource, IngestOptions, Reach,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File extensions taken when a folder is walked (files named explicitly are always tried).
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp"];

fn encoder_options(a: &Args) -> Res<EncoderOptions> {
    let mut o = EncoderOptions {
        runtime_path: a.get(&["--runtime"]).map(PathBuf::from),
        ..EncoderOptions::default()
    };
    if let Some(t) = a.num(&["--threads"])? {
        o.intra_threads = t;
    }
    if let Some(p) = a.num(&["--max-pixels"])? {
        o.max_pixels = p;
    }
    Ok(o)
}

/// The model for an existing database: `--model`, else the path recorded at creation.
fn encoder_for(db: &Database, a: &Args) -> Res<Encoder> {
    let record = db.encoder_record().ok_or(Error::NoEncoder)?;
    let path = match a.get(&["--model", "-m"]) {
        Some(p) => PathBuf::from(p),
        None if !record.model_path.is_empty() => PathBuf::from(&record.model_path),
        None => return usage("this database does not record its model's path; give --model"),
    };
    if !path.exists() {
        return Err(Fail::Other(format!(
            "the database's model ({} {}) was at {}, which no longer exists; give --model",
            record.contract.model_name,
            record.contract.model_version,
            path.display()
        )));
    }
    let enc = Encoder::load(&path, &encoder_options(a)?)?;
    db.check_encoder(&enc)?;
    Ok(enc)
}

pub fn cmd_create_with_model(a: &Args, model: &str) -> Res<()> {
    let enc = Encoder::load(model, &encoder_options(a)?)?;
    let db = Database::create_for_model(a.db()?, &enc)?;
    let c = enc.contract();
    println!(
        "created {} for {} ({}-bit codes, {} classes, {}x{} {})",
        a.db()?,
        enc.describe(),
        c.code_bits,
        c.num_classes(),
        c.width,
        c.height,
        if c.channels == 1 { "gray" } else { "RGB" }
    );
    drop(db);
    Ok(())
}

/// Files named, and image files under folders named (recursively, sorted).
fn expand(paths: &[String]) -> Res<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let path = PathBuf::from(p);
        if path.is_dir() {
            walk(&path, &mut out).map_err(|e| Fail::Other(format!("{p}: {e}")))?;
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

pub fn cmd_insert(a: &Args) -> Res<()> {
    let db = Database::open(a.db()?)?;
    let enc = encoder_for(&db, a)?;
    let files = expand(&a.pos[1..])?;
    if files.is_empty() {
        return usage("give image files or folders to insert");
    }
    let mut opts = IngestOptions::default();
    if let Some(b) = a.num(&["--batch"])? {
        opts.batch_size = b;
    }
    if let Some(t) = a.num(&["--decoders"])? {
        opts.decode_threads = t;
    }
    if let Some(c) = a.num(&["--commit-every"])? {
        opts.commit_every = c;
    }
    let total = files.len() as u64;
    let pb = if a.has("--quiet") {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    pb.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} images  {per_sec:>12}  eta {eta}  {msg}",
        )
        .expect("template"),
    );
    let t = Instant::now();
    let report = db.insert_images_with_progress(
        &enc,
        files.into_iter().map(ImageSource::Path),
        &opts,
        &|p| {
            pb.set_position(p.done);
            if p.failed > 0 {
                pb.set_message(format!("{} failed", p.failed));
            }
        },
    );
    pb.finish_and_clear();
    let (report, stopped_by) = match report {
        Ok(report) => (report, None),
        Err(e) => (e.report, Some(e.error)),
    };
    for f in &report.failures {
        eprintln!("hamdb: not inserted: {}: {}", f.source, f.error);
    }
    if let Some(error) = stopped_by {
        if report.inserted > 0 {
            eprintln!(
                "hamdb: {} of {total} images were committed (up to commit {}) before the error",
                report.inserted, report.txn
            );
        }
        return Err(error.into());
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "inserted {} of {total} images in {secs:.2}s ({:.0} images/s), {} failed, commit {}",
        report.inserted,
        report.inserted as f64 / secs.max(1e-9),
        report.failures.len(),
        report.txn
    );
    match (report.inserted, report.failures.len()) {
        (_, 0) => Ok(()),
        (0, n) => Err(Fail::Other(format!("none of the {n} images went in"))),
        (_, n) => Err(Fail::Partial(format!(
            "{n} of {total} images were not inserted"
        ))),
    }
}

/// `--class` as an index or a class name.
fn class_filter(a: &Args, names: &[String]) -> Res<Option<u32>> {
    match a.get(&["--class"]) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(c) => Ok(Some(c)),
            Err(_) => names
                .iter()
                .position(|n| n == v)
                .map(|i| Some(i as u32))
                .ok_or_else(|| Fail::Usage(format!("no class named {v:?} (classes: {names:?})"))),
        },
    }
}

pub fn cmd_search_image(a: &Args) -> Res<()> {
    let db = Database::open_read_only(a.db()?)?;
    let enc = encoder_for(&db, a)?;
    let names = enc.contract().class_names.clone();
    let class = class_filter(a, &names)?;
    let reach = match (
        a.num::<usize>(&["-k", "--k"])?,
        a.num::<u32>(&["--radius", "-r"])?,
    ) {
        (Some(k), None) => Reach::Nearest(k),
        (None, Some(r)) => Reach::Radius(r),
        (None, None) => Reach::Nearest(10),
        _ => return usage("give at most one of -k and --radius"),
    };
    let images = a.all("--image");
    if images.is_empty() {
        return usage("give --image FILE (one or more)");
    }
    for img in images {
        let bytes = std::fs::read(img).map_err(|e| Fail::Other(format!("{img}: {e}")))?;
        let t = Instant::now();
        let q = db.search_image_reach(&enc, &bytes, reach, class)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        print_image_result(img, &q, &names, ms, a.has("--json"));
    }
    Ok(())
}

fn class_name(names: &[String], c: Option<u32>) -> String {
    c.and_then(|c| names.get(c as usize).cloned())
        .unwrap_or_else(|| "-".into())
}

fn print_image_result(img: &str, q: &ImageQueryResult, names: &[String], ms: f64, json: bool) {
    if json {
        let hits: Vec<String> = q
            .result
            .hits
            .iter()
            .map(|h| {
                format!(
                    "{{\"id\":{},\"distance\":{},\"label\":{},\"class_name\":{},\"payload\":{}}}",
                    h.id,
                    h.distance,
                    h.label.map_or("null".into(), |l| l.to_string()),
                    json_string(&class_name(names, h.label)),
                    json_string(&String::from_utf8_lossy(&h.payload))
                )
            })
            .collect();
        println!(
            "{{\"image\":{},\"class\":{},\"class_name\":{},\"probability\":{:.6},\"code\":\"{}\",\"ms\":{ms:.3},\"hits\":[{}]}}",
            json_string(img),
            q.class,
            json_string(&q.class_name),
            q.probability,
            q.code.to_hex(),
            hits.join(",")
        );
        return;
    }
    println!(
        "{img}: class {} \"{}\" (p = {:.3}), code {}, {} hits in {ms:.2} ms",
        q.class,
        q.class_name,
        q.probability,
        q.code.to_hex(),
        q.result.hits.len()
    );
    println!(
        "  {:>4} {:>10} {:>5}  {:<12} payload",
        "rank", "id", "dist", "class"
    );
    for (i, h) in q.result.hits.iter().enumerate() {
        println!(
            "  {:>4} {:>10} {:>5}  {:<12} {}",
            i + 1,
            h.id,
            h.distance,
            class_name(names, h.label),
            String::from_utf8_lossy(&h.payload)
        );
    }
}

pub fn cmd_classify(a: &Args) -> Res<()> {
    let model = a
        .pos
        .first()
        .ok_or_else(|| Fail::Usage("missing MODEL.onnx".into()))?;
    let enc = Encoder::load(model, &encoder_options(a)?)?;
    let files = expand(&a.pos[1..])?;
    if files.is_empty() {
        return usage("give image files to classify");
    }
    let names = &enc.contract().class_names;
    let json = a.has("--json");
    let mut failed = 0;
    for f in &files {
        let shown = f.display().to_string();
        match enc.encode_file(f) {
            Ok(e) => {
                let name = class_name(names, Some(e.class));
                if json {
                    println!(
                        "{{\"image\":{},\"class\":{},\"class_name\":{},\"probability\":{:.6},\"code\":\"{}\"}}",
                        json_string(&shown),
                        e.class,
                        json_string(&name),
                        e.probability,
                        e.code.to_hex()
                    );
                } else {
                    println!(
                        "{shown}: {} \"{name}\" p={:.3} code {}",
                        e.class,
                        e.probability,
                        e.code.to_hex()
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("hamdb: {shown}: {e}");
            }
        }
    }
    match failed {
        0 => Ok(()),
        n if n == files.len() => Err(Fail::Other("no image could be classified".into())),
        n => Err(Fail::Partial(format!(
            "{n} of {} images failed",
            files.len()
        ))),
    }
}

/// `file,label[,...]` rows (header line first), files relative to `dir`.
fn read_labels(path: &str, dir: &Path) -> Res<Vec<(PathBuf, u32)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Fail::Other(format!("{path}: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut f = line.split(',');
        let (Some(file), Some(label)) = (f.next(), f.next()) else {
            return Err(Fail::Other(format!(
                "{path}:{}: expected file,label",
                n + 1
            )));
        };
        let label: u32 = label.trim().parse().map_err(|_| {
            Fail::Other(format!("{path}:{}: label {label:?} is not a number", n + 1))
        })?;
        out.push((dir.join(file.trim()), label));
    }
    Ok(out)
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// mAP (over the ranking of every database item by distance, ties by id), precision@10, and
/// the classification accuracy of a labelled query set. Database items are labelled by
/// looking their payload path up in the same labels file; unlabelled items count as
/// irrelevant, and a query's own image (same file) is left out of its ranking.
pub fn cmd_eval(a: &Args) -> Res<()> {
    let db = Database::open_read_only(a.db()?)?;
    let enc = encoder_for(&db, a)?;
    let labels_path = a
        .get(&["--labels"])
        .ok_or_else(|| Fail::Usage("--labels FILE is required".into()))?;
    let dir = PathBuf::from(a.get(&["--queries"]).unwrap_or("."));
    let queries = read_labels(labels_path, &dir)?;
    let truth: HashMap<PathBuf, u32> = queries.iter().map(|(p, l)| (canonical(p), *l)).collect();
    let items = db.stats().items as usize;
    let k = a.num::<usize>(&["-k", "--k"])?.unwrap_or(items).max(1);
    let snap = db.snapshot();
    let t = Instant::now();
    let (mut ap_sum, mut p10_sum, mut correct, mut n) = (0.0, 0.0, 0usize, 0usize);
    // Every database item once (radius = all bits reaches all of them): its file, resolved
    // here so the ranking loop below does no file-system calls, and the relevant items per
    // class (for AP over the full ranking).
    let mut relevant_total: HashMap<u32, usize> = HashMap::new();
    let mut item_file: HashMap<u64, PathBuf> = HashMap::with_capacity(items);
    let any = hamdb::Code::from_bytes(&vec![0u8; db.code_len().bytes()])?;
    for hit in snap.search_radius(&any, u32::MAX, None)?.hits {
        let p = canonical(Path::new(&*String::from_utf8_lossy(&hit.payload)));
        if let Some(l) = truth.get(&p) {
            *relevant_total.entry(*l).or_default() += 1;
        }
        item_file.insert(hit.id, p);
    }
    let files_in_db: std::collections::HashSet<&PathBuf> = item_file.values().collect();
    for (path, label) in &queries {
        let e = enc.encode_file(path)?;
        correct += (e.class == *label) as usize;
        let me = canonical(path);
        let hits = snap.search(&e.code, k + 1, None)?.hits;
        let mut rank = 0usize;
        let (mut found, mut prec_sum, mut top10) = (0usize, 0.0, 0usize);
        for h in &hits {
            let p = &item_file[&h.id]; // the same snapshot listed every item
            if *p == me {
                continue;
            }
            rank += 1;
            if rank > k {
                break;
            }
            if truth.get(p) == Some(label) {
                found += 1;
                prec_sum += found as f64 / rank as f64;
                if rank <= 10 {
                    top10 += 1;
                }
            }
        }
        // A query's own image counts as relevant only when it is in the database.
        let self_in_db = files_in_db.contains(&me) as usize;
        let relevant = relevant_total
            .get(label)
            .copied()
            .unwrap_or(0)
            .saturating_sub(self_in_db);
        // Full ranking: divide by every relevant item; a cut at k: by those found (DPSH).
        let denom = if k >= items { relevant } else { found };
        ap_sum += if denom > 0 {
            prec_sum / denom as f64
        } else {
            0.0
        };
        p10_sum += top10 as f64 / 10f64.min(rank.max(1) as f64);
        n += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    let scope = if k >= items {
        "full ranking".to_string()
    } else {
        format!("top {k}")
    };
    println!(
        "{n} queries against {items} items ({scope}): mAP {:.4}, precision@10 {:.4}, classification accuracy {:.4} ({:.1} queries/s)",
        ap_sum / n as f64,
        p10_sum / n as f64,
        correct as f64 / n as f64,
        n as f64 / secs
    );
    Ok(())
}
