//! The image commands: create --model, insert, search --image, classify, eval.

use crate::args::{
    json_line, rounded, usage, ClassifyArgs, CreateArgs, EvalArgs, Fail, InsertArgs, ModelOpts,
    Res, SearchArgs,
};
use crate::{open_ro, open_rw};
use hamdb::image::eval::{self, EvalOptions};
use hamdb::image::{self, ModelRecord};
use hamdb::{
    Database, Encoder, EncoderOptions, Error, ImageQueryResult, ImageSource, IngestOptions,
    ModelBinding, Rank, Reach,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File extensions taken when a folder is walked (files named explicitly are always tried).
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp"];

fn encoder_options(o: &ModelOpts) -> EncoderOptions {
    let mut e = EncoderOptions {
        runtime_path: o.runtime.clone(),
        ..EncoderOptions::default()
    };
    if let Some(t) = o.threads {
        e.intra_threads = t;
    }
    if let Some(p) = o.max_pixels {
        e.max_pixels = p;
    }
    e
}

/// Load a model; an I/O error names the file.
fn load_encoder(path: &Path, o: &ModelOpts) -> Res<Encoder> {
    Encoder::load(path, &encoder_options(o)).map_err(|e| match e {
        Error::Io { .. } => Fail::Other(format!("{}: {e}", path.display())),
        e => Fail::Db(e),
    })
}

/// The model for an existing database: `--model`, else the path recorded at creation. The
/// caller binds it to the database ([`ModelBinding::new`] checks it is the database's model).
fn encoder_for(db: &Database, model: Option<&Path>, o: &ModelOpts) -> Res<Encoder> {
    let record = ModelRecord::of(db)?.ok_or(Error::NoEncoder)?;
    let path = match model {
        Some(p) => p.to_path_buf(),
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
    load_encoder(&path, o)
}

pub fn cmd_create_with_model(a: &CreateArgs, model: &str) -> Res<()> {
    let enc = load_encoder(Path::new(model), &a.model_opts)?;
    let db = image::create_for_model(&a.db, &enc).map_err(|e| match e {
        Error::Io { .. } => Fail::Other(format!("{}: {e}", a.db)),
        e => Fail::Db(e),
    })?;
    let c = enc.contract();
    drop(db);
    outln!(
        "created {} for {} ({}-bit codes, {} classes, {}x{} {})",
        a.db,
        enc.describe(),
        c.code_bits,
        c.num_classes(),
        c.width,
        c.height,
        if c.channels == 1 { "gray" } else { "RGB" }
    )
}

/// The files to read, from the paths named on the command line.
struct Expanded {
    files: Vec<PathBuf>,
    /// Files left out because an earlier path was the same file (`dedupe` only).
    duplicates: usize,
}

/// What identifies a file: (device, inode) where the file can be looked at (so hard links
/// and symbolic links to one file are one file), else its path as given.
#[derive(PartialEq, Eq, Hash)]
enum FileKey {
    Node(u64, u64),
    Path(PathBuf),
}

fn file_key(p: &Path) -> FileKey {
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(p) {
        use std::os::unix::fs::MetadataExt;
        return FileKey::Node(m.dev(), m.ino());
    }
    FileKey::Path(p.canonicalize().unwrap_or_else(|_| p.to_path_buf()))
}

fn has_image_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Files named, and image files under folders named (recursively, sorted). A folder named on
/// the command line may be a symbolic link; inside the walk, symbolic links to files are
/// read, symbolic links to folders are skipped (named on stderr), so a walk always ends and
/// never sees a folder twice. With `dedupe`, a file reached twice (named twice, or through a
/// link or a hard link) is kept once, at its first place.
fn expand(paths: &[String], dedupe: bool) -> Res<Expanded> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(dir)?
            .map(|e| e.and_then(|e| Ok((e.path(), e.file_type()?))))
            .collect::<Result<_, _>>()?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (p, t) in entries {
            if t.is_dir() {
                walk(&p, out).map_err(|e| with_path_io(&p, e))?;
            } else if t.is_symlink() {
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => errln!(
                        "hamdb: skipped {}: a symbolic link to a folder (links to folders are not followed)",
                        p.display()
                    ),
                    Ok(m) if !m.is_file() => {}
                    // A link to a file, or a dangling one (its failure will be named).
                    _ if has_image_extension(&p) => out.push(p),
                    _ => {}
                }
            } else if t.is_file() && has_image_extension(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    fn with_path_io(p: &Path, e: std::io::Error) -> std::io::Error {
        // Keep the innermost folder's name: the first error wraps it, outer levels pass it on.
        if e.get_ref().is_some() {
            e
        } else {
            std::io::Error::new(e.kind(), format!("{}: {e}", p.display()))
        }
    }
    let mut out = Vec::new();
    for p in paths {
        let path = PathBuf::from(p);
        if path.is_dir() {
            walk(&path, &mut out).map_err(|e| {
                if e.get_ref().is_some() {
                    Fail::Other(e.to_string())
                } else {
                    Fail::Other(format!("{p}: {e}"))
                }
            })?;
        } else {
            out.push(path);
        }
    }
    let mut duplicates = 0;
    if dedupe {
        let mut seen = HashSet::new();
        out.retain(|p| {
            let fresh = seen.insert(file_key(p));
            duplicates += !fresh as usize;
            fresh
        });
    }
    Ok(Expanded {
        files: out,
        duplicates,
    })
}

pub fn cmd_insert(a: &InsertArgs) -> Res<()> {
    let db = open_rw(&a.db)?;
    let enc = encoder_for(&db, a.model.as_deref(), &a.model_opts)?;
    let images = ModelBinding::new(&db, &enc)?;
    let Expanded { files, duplicates } = expand(&a.paths, true)?;
    if duplicates > 0 {
        errln!("hamdb: {duplicates} path(s) named a file already listed; each file goes in once");
    }
    if files.is_empty() {
        return usage("no image files found in the paths given");
    }
    let mut opts = IngestOptions::default();
    if let Some(b) = a.batch {
        opts.batch_size = b;
    }
    if let Some(t) = a.decoders {
        opts.decode_threads = t;
    }
    if let Some(c) = a.commit_every {
        opts.commit_every = c;
    }
    let total = files.len() as u64;
    let pb = if a.quiet {
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
    let report =
        images.insert_images_with_progress(files.into_iter().map(ImageSource::Path), &opts, &|p| {
            pb.set_position(p.done);
            if p.failed > 0 {
                pb.set_message(format!("{} failed", p.failed));
            }
        });
    pb.finish_and_clear();
    let (report, stopped_by) = match report {
        Ok(report) => (report, None),
        Err(e) => (e.report, Some(e.error)),
    };
    for f in &report.failures {
        errln!("hamdb: not inserted: {}: {}", f.source, f.error);
    }
    if let Some(error) = stopped_by {
        if report.inserted > 0 {
            errln!(
                "hamdb: {} of {total} images were committed (up to commit {}) before the error",
                report.inserted,
                report.txn
            );
        }
        return Err(error.into());
    }
    let secs = t.elapsed().as_secs_f64();
    outln!(
        "inserted {} of {total} images in {secs:.2}s ({:.0} images/s), {} failed, commit {}",
        report.inserted,
        report.inserted as f64 / secs.max(1e-9),
        report.failures.len(),
        report.txn
    )?;
    match (report.inserted, report.failures.len()) {
        (_, 0) => Ok(()),
        (0, n) => Err(Fail::Other(format!("none of the {n} images went in"))),
        (_, n) => Err(Fail::Partial(format!(
            "{n} of {total} images were not inserted"
        ))),
    }
}

/// `--class` as an index or a class name.
fn class_filter(class: Option<&str>, names: &[String]) -> Res<Option<u32>> {
    match class {
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

/// Whether an error searching by one image is that image's fault (the others are still
/// searched) rather than the database's or the model's (which stops the command).
fn image_fault(e: &Error) -> bool {
    matches!(
        e,
        Error::Image { .. } | Error::ImageTooLarge { .. } | Error::Inference { .. }
    )
}

/// Every image in order, each its own block (or JSON line); a bad image is named on stderr
/// and the rest are still searched: exit 5 if some failed, 1 if all did.
pub fn cmd_search_image(a: &SearchArgs) -> Res<()> {
    let db = open_ro(&a.db)?;
    let enc = encoder_for(&db, a.model.as_deref(), &a.model_opts)?;
    let images = ModelBinding::new(&db, &enc)?;
    let names = enc.contract().class_names.clone();
    let class = class_filter(a.class.as_deref(), &names)?;
    let reach = match (a.k, a.radius) {
        (Some(k), None) => Reach::Nearest(k),
        (None, Some(r)) => Reach::Radius(r),
        (None, None) => Reach::Nearest(10),
        _ => return usage("give at most one of -k and --radius"),
    };
    let mut failed = 0usize;
    for img in &a.image {
        let bytes = match std::fs::read(img) {
            Ok(b) => b,
            Err(e) => {
                failed += 1;
                errln!("hamdb: {img}: {e}");
                continue;
            }
        };
        let t = Instant::now();
        let rank = if a.rank == "class" {
            Rank::PredictedClassFirst
        } else {
            Rank::Distance
        };
        let q = match images.search_image_ranked(&bytes, reach, class, rank) {
            Ok(q) => q,
            Err(e) if image_fault(&e) => {
                failed += 1;
                errln!("hamdb: {img}: {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        print_image_result(img, &q, &names, ms, a.json)?;
    }
    match failed {
        0 => Ok(()),
        n if n == a.image.len() => Err(Fail::Other(if n == 1 {
            "the image could not be searched".into()
        } else {
            format!("none of the {n} images could be searched")
        })),
        n => Err(Fail::Partial(format!(
            "{n} of {} images could not be searched",
            a.image.len()
        ))),
    }
}

fn class_name(names: &[String], c: Option<u32>) -> String {
    c.and_then(|c| names.get(c as usize).cloned())
        .unwrap_or_else(|| "-".into())
}

/// One `search --image --json` line: the query's predicted class and code, then its hits.
#[derive(Serialize)]
struct ImageResultJson<'a> {
    image: &'a str,
    class: u32,
    class_name: &'a str,
    /// Rounded to 6 decimals, milliseconds to 3 (as the fixed-point text they once were).
    probability: f64,
    code: String,
    ms: f64,
    hits: Vec<ImageHitJson<'a>>,
}

#[derive(Serialize)]
struct ImageHitJson<'a> {
    id: u64,
    distance: u32,
    label: Option<u32>,
    class_name: String,
    payload: Cow<'a, str>,
}

/// One `classify --json` line.
#[derive(Serialize)]
struct ClassifyJson<'a> {
    image: &'a str,
    class: u32,
    class_name: &'a str,
    /// Rounded to 6 decimals.
    probability: f64,
    code: String,
}

fn print_image_result(
    img: &str,
    q: &ImageQueryResult,
    names: &[String],
    ms: f64,
    json: bool,
) -> Res<()> {
    if json {
        return json_line(&ImageResultJson {
            image: img,
            class: q.class,
            class_name: &q.class_name,
            probability: rounded(q.probability as f64, 6),
            code: q.code.to_hex(),
            ms: rounded(ms, 3),
            hits: q
                .result
                .hits
                .iter()
                .map(|h| ImageHitJson {
                    id: h.id,
                    distance: h.distance,
                    label: h.label,
                    class_name: class_name(names, h.label),
                    payload: String::from_utf8_lossy(&h.payload),
                })
                .collect(),
        });
    }
    outln!(
        "{img}: class {} \"{}\" (p = {:.3}), code {}, {} hits in {ms:.2} ms",
        q.class,
        q.class_name,
        q.probability,
        q.code.to_hex(),
        q.result.hits.len()
    )?;
    outln!(
        "  {:>4} {:>10} {:>5}  {:<12} payload",
        "rank",
        "id",
        "dist",
        "class"
    )?;
    for (i, h) in q.result.hits.iter().enumerate() {
        outln!(
            "  {:>4} {:>10} {:>5}  {:<12} {}",
            i + 1,
            h.id,
            h.distance,
            class_name(names, h.label),
            String::from_utf8_lossy(&h.payload)
        )?;
    }
    Ok(())
}

pub fn cmd_classify(a: &ClassifyArgs) -> Res<()> {
    let enc = load_encoder(Path::new(&a.model), &a.model_opts)?;
    let files = expand(&a.images, false)?.files;
    if files.is_empty() {
        return usage("no image files found in the paths given");
    }
    let names = &enc.contract().class_names;
    let mut failed = 0;
    for f in &files {
        let shown = f.display().to_string();
        match enc.encode_file(f) {
            Ok(e) => {
                let name = class_name(names, Some(e.class));
                if a.json {
                    json_line(&ClassifyJson {
                        image: &shown,
                        class: e.class,
                        class_name: &name,
                        probability: rounded(e.probability as f64, 6),
                        code: e.code.to_hex(),
                    })?;
                } else {
                    outln!(
                        "{shown}: {} \"{name}\" p={:.3} code {}",
                        e.class,
                        e.probability,
                        e.code.to_hex()
                    )?;
                }
            }
            Err(e) => {
                failed += 1;
                errln!("hamdb: {shown}: {e}");
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

/// mAP (over the ranking of every database item by distance, ties by id, or the top `-k`),
/// precision@10, and the classification accuracy of a labelled query set
/// ([`hamdb::image::eval::evaluate`]). Database items are labelled by looking their payload
/// path up in the same labels file; unlabelled items count as irrelevant (with a warning
/// saying how many), and a query's own image (same file) is left out of its ranking. A labels
/// file with no rows, an empty database, or a database none of whose items has a label is an
/// error (there would be nothing to measure).
pub fn cmd_eval(a: &EvalArgs) -> Res<()> {
    let db = open_ro(&a.db)?;
    let enc = encoder_for(&db, a.model.as_deref(), &a.model_opts)?;
    let images = ModelBinding::new(&db, &enc)?;
    let labels_path = &a.labels;
    let dir = PathBuf::from(&a.queries);
    let queries = read_labels(labels_path, &dir)?;
    let truth = eval::labels_by_file(&queries);
    let options = EvalOptions { k: a.k };
    let r = eval::evaluate(&images, &queries, |f| truth.get(f).copied(), &options).map_err(
        |e| match e {
            // The library's reasons, with where the queries and labels came from.
            Error::InvalidParameter {
                name: "queries",
                reason,
            } if queries.is_empty() => Fail::Other(format!(
                "{labels_path}: no file,label rows after the header: {reason}"
            )),
            Error::InvalidParameter {
                name: "queries",
                reason,
            } => Fail::Other(reason),
            Error::InvalidParameter {
                name: "images",
                reason,
            } => Fail::Other(format!("{}: {reason}", a.db)),
            Error::InvalidParameter {
                name: "item_labels",
                reason,
            } => Fail::Other(format!(
                "{reason} in {labels_path} (items are matched by file path, the file's rows \
                 taken relative to {}): mAP would be 0",
                dir.display()
            )),
            e => Fail::Db(e),
        },
    )?;
    if r.unlabelled_items > 0 {
        errln!(
            "hamdb: warning: {} of {} database items have no label in {labels_path}; they count as irrelevant",
            r.unlabelled_items,
            r.items
        );
    }
    if r.queries_without_relevant > 0 {
        errln!(
            "hamdb: warning: {} of {} queries have no other database item with their label; their AP counts as 0",
            r.queries_without_relevant,
            r.queries
        );
    }
    outln!(
        "{} queries against {} items ({}): mAP {:.4}, precision@10 {:.4}, classification accuracy {:.4} ({:.1} queries/s)",
        r.queries,
        r.items,
        r.scope(),
        r.map,
        r.precision_at_10,
        r.accuracy,
        r.queries_per_s()
    )?;
    outln!(
        "class-aware ranking (items whose stored label is the predicted class first): mAP {:.4}, precision@10 {:.4}",
        r.map_class_first,
        r.precision_at_10_class_first
    )
}
