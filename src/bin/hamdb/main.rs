//! The `hamdb` command line.
//!
//! Exit codes (stable, for scripts): 0 success (also when standard output is a pipe whose
//! reader has gone: the command stops quietly); 1 failure (I/O, bad input file, bad code, a
//! write error on standard output; for insert, classify and search: no input succeeded);
//! 2 usage error; 3 database locked by another writer; 4 database corrupt (open or verify);
//! 5 some inputs failed (each named), the rest succeeded.

/// `println!` that returns [`args::Fail::Write`] instead of panicking.
macro_rules! outln {
    () => { $crate::args::write_out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::args::write_out(format_args!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` that ignores a failing standard error (there is nowhere left to report it).
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod args;
mod dedup;
mod images;

use args::{json_line, usage, write_out, Cli, Cmd, Fail, Res};
use clap::{CommandFactory, FromArgMatches};

use hamdb::{
    npy, Code, CodeArray, CodeLen, CreateOptions, Database, Error, Import, QueryResult,
    SearchManyOptions, WriteBatch,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// An I/O error opening a database names the file; other errors keep their exit codes.
fn with_path(path: &str, e: Error) -> Fail {
    match e {
        Error::Io { .. } => Fail::Other(format!("{path}: {e}")),
        e => Fail::Db(e),
    }
}

pub(crate) fn open_rw(path: &str) -> Res<Database> {
    Database::open(path).map_err(|e| with_path(path, e))
}

pub(crate) fn open_ro(path: &str) -> Res<Database> {
    Database::open_read_only(path).map_err(|e| with_path(path, e))
}

fn read_npy(path: &str) -> Res<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Fail::Other(format!("{path}: {e}")))?;
    let a = npy::parse(&bytes).map_err(|e| Fail::Other(format!("{path}: {e}")))?;
    Ok((a.descr, a.shape, a.data.to_vec()))
}

fn read_codes(path: &str, want: Option<CodeLen>) -> Res<CodeArray> {
    let (descr, shape, data) = read_npy(path)?;
    if !matches!(descr.as_str(), "|u1" | "<u1" | "u1") || shape.len() != 2 {
        return Err(Fail::Other(format!(
            "{path}: expected uint8 [N, bits/8], got {descr} {shape:?}"
        )));
    }
    let len = CodeLen::new(shape[1] * 8)?;
    if let Some(w) = want {
        if w != len {
            return Err(Error::CodeLengthMismatch {
                expected: w.bits(),
                actual: len.bits(),
            }
            .into());
        }
    }
    Ok(CodeArray::from_packed_bytes(len, &data)?)
}

fn read_u64s(path: &str) -> Res<Vec<u64>> {
    let (descr, shape, data) = read_npy(path)?;
    if shape.len() != 1 {
        return Err(Fail::Other(format!(
            "{path}: expected a 1-D array, got shape {shape:?}"
        )));
    }
    match descr.as_str() {
        "<u8" | "<i8" => Ok(data
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect()),
        "<u4" => Ok(data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as u64)
            .collect()),
        "|u1" | "<u1" | "u1" => Ok(data.iter().map(|&b| b as u64).collect()),
        d => Err(Fail::Other(format!(
            "{path}: unsupported dtype {d} for ids/labels"
        ))),
    }
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("template"));
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn cmd_create(a: &args::CreateArgs) -> Res<()> {
    if let Some(model) = &a.model {
        return images::cmd_create_with_model(a, model);
    }
    let o = &a.model_opts;
    if o.runtime.is_some() || o.threads.is_some() || o.max_pixels.is_some() {
        return usage("--runtime, --threads and --max-pixels go with --model, not --bits");
    }
    let Some(bits) = a.bits else {
        return usage("give one of --model and --bits");
    };
    let fp = a.fingerprint.as_deref().unwrap_or("").as_bytes().to_vec();
    Database::create(
        &a.db,
        CreateOptions {
            code_bits: bits,
            fingerprint: fp,
            expected_radius: a.expected_radius,
        },
    )
    .map_err(|e| with_path(&a.db, e))?;
    outln!("created {} ({bits}-bit codes)", a.db)
}

fn cmd_import(a: &args::ImportArgs) -> Res<()> {
    let db = open_rw(&a.db)?;
    let codes_path = &a.codes;
    let t = Instant::now();
    let pb = spinner(&format!("reading {codes_path}"));
    let codes = read_codes(codes_path, Some(db.code_len()))?;
    let ids = a.ids.as_deref().map(read_u64s).transpose()?;
    let labels = match a.labels.as_deref().map(read_u64s).transpose()? {
        Some(l) => Some(
            l.into_iter()
                .map(|x| {
                    u32::try_from(x).map_err(|_| Fail::Other(format!("label {x} does not fit u32")))
                })
                .collect::<Res<Vec<u32>>>()?,
        ),
        None => None,
    };
    pb.set_message(format!(
        "building the index and writing {} codes",
        codes.len()
    ));
    if a.codes_per_id {
        let ids = ids.expect("clap: --codes-per-id requires --ids");
        let info = import_items(&db, &codes, &ids, labels.as_deref())?;
        pb.finish_and_clear();
        let secs = t.elapsed().as_secs_f64();
        return outln!(
            "imported {} items of {} codes in {secs:.2}s, commit {}",
            info.1,
            codes.len(),
            info.0
        );
    }
    let info = db.import(Import {
        codes: &codes,
        ids: ids.as_deref(),
        labels: labels.as_deref(),
        payloads: None,
    })?;
    pb.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    outln!(
        "imported {} codes in {secs:.2}s ({:.2}M codes/s), commit {}",
        codes.len(),
        codes.len() as f64 / secs / 1e6,
        info.txn
    )
}

/// `import-codes --codes-per-id`: runs of equal adjacent ids are items of several codes,
/// written in one commit. Returns (txn, items).
fn import_items(
    db: &Database,
    codes: &CodeArray,
    ids: &[u64],
    labels: Option<&[u32]>,
) -> Res<(u64, usize)> {
    if ids.len() != codes.len() || labels.is_some_and(|l| l.len() != codes.len()) {
        return Err(Fail::Other(format!(
            "--ids and --labels need one entry per code ({} codes)",
            codes.len()
        )));
    }
    let mut batch = WriteBatch::new();
    let mut items = 0;
    let mut row = 0;
    while row < ids.len() {
        let id = ids[row];
        let end = row + ids[row..].partition_point(|&x| x == id);
        let label = labels.map(|l| l[row]);
        if let Some(l) = labels {
            if l[row..end].iter().any(|&x| x != l[row]) {
                return Err(Fail::Other(format!(
                    "the codes of id {id} (rows {row}..{end}) have different labels"
                )));
            }
        }
        let item: Vec<Code> = (row..end)
            .map(|i| codes.get(i).expect("in range"))
            .collect();
        batch.insert_codes(id, &item, label, "");
        items += 1;
        row = end;
    }
    Ok((db.commit(batch)?.txn, items))
}

/// One `search-codes --json` line.
#[derive(Serialize)]
struct CodeQueryJson<'a> {
    query: usize,
    hits: Vec<CodeHitJson<'a>>,
    /// The largest segment's search path ("Mih", "LinearScan", "MihThenScan"), "" if none.
    path: String,
    buckets_probed: u64,
    candidates_checked: u64,
}

#[derive(Serialize)]
struct CodeHitJson<'a> {
    id: u64,
    distance: u32,
    label: Option<u32>,
    payload: Cow<'a, str>,
}

fn print_results(results: &[QueryResult], a: &args::SearchCodesArgs) -> Res<()> {
    if let Some(prefix) = &a.npy {
        let k =
            a.k.ok_or_else(|| Fail::Usage("--npy needs -k (radius results are ragged)".into()))?;
        let mut ids = Vec::with_capacity(results.len() * k * 8);
        let mut ds = Vec::with_capacity(results.len() * k * 4);
        for r in results {
            for i in 0..k {
                let h = r.hits.get(i);
                ids.extend_from_slice(&h.map_or(u64::MAX, |h| h.id).to_le_bytes());
                ds.extend_from_slice(&h.map_or(u32::MAX, |h| h.distance).to_le_bytes());
            }
        }
        let shape = [results.len(), k];
        for (name, descr, data) in [("ids", "<u8", ids), ("distances", "<u4", ds)] {
            let path = format!("{prefix}_{name}.npy");
            std::fs::write(&path, npy::write(descr, &shape, &data))
                .map_err(|e| Fail::Other(format!("{path}: {e}")))?;
        }
        return outln!("wrote {prefix}_ids.npy and {prefix}_distances.npy");
    }
    if !a.json {
        outln!(
            "{:>5} {:>4} {:>12} {:>5} {:>6}  payload",
            "query",
            "rank",
            "id",
            "dist",
            "label"
        )?;
    }
    for (qi, r) in results.iter().enumerate() {
        if a.json {
            json_line(&CodeQueryJson {
                query: qi,
                hits: r
                    .hits
                    .iter()
                    .map(|h| CodeHitJson {
                        id: h.id,
                        distance: h.distance,
                        label: h.label,
                        payload: String::from_utf8_lossy(&h.payload),
                    })
                    .collect(),
                path: r.stats.path.map(|p| format!("{p:?}")).unwrap_or_default(),
                buckets_probed: r.stats.buckets_probed,
                candidates_checked: r.stats.candidates_checked,
            })?;
        } else {
            for (rank, h) in r.hits.iter().enumerate() {
                let label = h.label.map_or("-".into(), |l| l.to_string());
                let payload: String = String::from_utf8_lossy(&h.payload)
                    .chars()
                    .take(60)
                    .collect();
                outln!(
                    "{qi:>5} {:>4} {:>12} {:>5} {label:>6}  {payload}",
                    rank + 1,
                    h.id,
                    h.distance
                )?;
            }
        }
    }
    Ok(())
}

fn cmd_search(a: &args::SearchCodesArgs) -> Res<()> {
    let db = open_ro(&a.db)?;
    let mut queries = match &a.queries {
        Some(p) => read_codes(p, Some(db.code_len()))?,
        None => CodeArray::new(db.code_len()),
    };
    for h in &a.hex {
        queries.push(&Code::from_hex(h)?)?;
    }
    if a.npy.is_some() && a.k.is_none() {
        return usage("--npy needs -k (radius results are ragged)");
    }
    // One batched search over every query (on up to --threads threads).
    let opts = SearchManyOptions {
        class: a.class,
        threads: a.threads,
    };
    let snap = db.snapshot();
    if let Some(c) = a.class_first {
        let results = (0..queries.len())
            .map(|i| {
                let q = queries.get(i).expect("in range");
                match (a.k, a.radius) {
                    (Some(k), _) => snap.search_class_first(&q, k, c),
                    (None, Some(r)) => snap.search_radius_class_first(&q, r, c),
                    (None, None) => Err(Error::InvalidParameter {
                        name: "k",
                        reason: "give -k or --radius".into(),
                    }),
                }
            })
            .collect::<hamdb::Result<Vec<_>>>()?;
        return print_results(&results, a);
    }
    if a.set {
        let result = match (a.k, a.radius) {
            (Some(k), _) => snap.search_set(&queries, k, a.class),
            (None, Some(r)) => snap.search_radius_set(&queries, r, a.class),
            (None, None) => Err(Error::InvalidParameter {
                name: "k",
                reason: "give -k or --radius".into(),
            }),
        }?;
        return print_results(&[result], a);
    }
    let results = match (a.k, a.radius) {
        (Some(k), _) => snap.search_many(&queries, k, &opts),
        (None, Some(r)) => snap.search_radius_many(&queries, r, &opts),
        (None, None) => Err(Error::InvalidParameter {
            name: "k",
            reason: "give -k or --radius".into(),
        }),
    }?;
    print_results(&results, a)
}

/// Deletes the ids that exist (each once) and says how many did not.
fn cmd_delete(a: &args::DeleteArgs) -> Res<()> {
    let db = open_rw(&a.db)?;
    let ids: BTreeSet<u64> = a.ids.iter().copied().collect();
    // This process holds the writer lock, so what the snapshot holds is what the commit sees.
    let snap = db.snapshot();
    let mut b = WriteBatch::new();
    let mut found = 0usize;
    for &id in &ids {
        if snap.get(id)?.is_some() {
            b.delete(id);
            found += 1;
        }
    }
    drop(snap);
    let missing = ids.len() - found;
    let of = match ids.len() {
        1 => "1 id".to_string(),
        n => format!("{n} ids"),
    };
    let not_found = if missing > 0 {
        format!(" ({missing} not found)")
    } else {
        String::new()
    };
    if found == 0 {
        return outln!("deleted 0 of {of}{not_found}, nothing to commit");
    }
    let info = db.commit(b)?;
    outln!("deleted {found} of {of}{not_found}, commit {}", info.txn)
}

fn cmd_compact(a: &args::DbArg) -> Res<()> {
    let db = open_rw(&a.db)?;
    let before = db.stats().file_bytes;
    let t = Instant::now();
    db.compact()?;
    let s = db.stats();
    outln!(
        "compacted in {:.2}s: {} items, {} -> {} bytes",
        t.elapsed().as_secs_f64(),
        s.items,
        before,
        s.file_bytes
    )
}

/// What `stats` prints: one JSON object.
#[derive(Serialize)]
struct StatsJson {
    code_bits: usize,
    commit: u64,
    items: u64,
    segments: usize,
    segment_items: u64,
    delta_items: u64,
    deleted_in_segments: u64,
    file_bytes: u64,
    fingerprint: String,
}

fn cmd_stats(a: &args::DbArg) -> Res<()> {
    let db = open_ro(&a.db)?;
    let s = db.stats();
    json_line(&StatsJson {
        code_bits: s.code_bits,
        commit: s.txn,
        items: s.items,
        segments: s.segments,
        segment_items: s.segment_items,
        delta_items: s.delta_items,
        deleted_in_segments: s.deleted_in_segments,
        file_bytes: s.file_bytes,
        fingerprint: fingerprint_text(&db, &s.fingerprint).map_err(|e| with_path(&a.db, e))?,
    })
}

/// A model database's fingerprint is a SHA-256 (hex, with the model's name); a code-only
/// database's is the caller's text.
fn fingerprint_text(db: &Database, fp: &[u8]) -> hamdb::Result<String> {
    Ok(match hamdb::ModelRecord::of(db)? {
        Some(r) => format!(
            "sha256:{} ({} {})",
            hamdb::encoder::hex(fp),
            r.contract.model_name,
            r.contract.model_version
        ),
        None => String::from_utf8_lossy(fp).into_owned(),
    })
}

fn cmd_verify(a: &args::DbArg) -> Res<()> {
    let r = Database::verify(&a.db).map_err(|e| with_path(&a.db, e))?;
    // Storage checks the model record's checksum only; its contents are the image layer's.
    Database::open_read_only(&a.db)
        .and_then(|db| hamdb::ModelRecord::of(&db))
        .map_err(|e| with_path(&a.db, e))?;
    outln!(
        "ok: commit {}, {} segment(s), {} delta batch(es), {} items",
        r.txn,
        r.segments,
        r.delta_batches,
        r.items
    )
}

/// "0.1.0 (file format N)": what `--version` and `version` print after "hamdb ".
fn version() -> String {
    format!(
        "{} (file format {})",
        env!("CARGO_PKG_VERSION"),
        hamdb::storage::FORMAT_VERSION
    )
}

fn command() -> clap::Command {
    Cli::command().version(&*Box::leak(version().into_boxed_str()))
}

fn run(cmd: &Cmd) -> Res<()> {
    match cmd {
        Cmd::Create(a) => cmd_create(a),
        Cmd::Insert(a) => images::cmd_insert(a),
        Cmd::Search(a) => images::cmd_search_image(a),
        Cmd::Classify(a) => images::cmd_classify(a),
        Cmd::Eval(a) => images::cmd_eval(a),
        Cmd::ImportCodes(a) => cmd_import(a),
        Cmd::SearchCodes(a) => cmd_search(a),
        Cmd::Dedup(a) => dedup::cmd_dedup(a),
        Cmd::Delete(a) => cmd_delete(a),
        Cmd::Compact(a) => cmd_compact(a),
        Cmd::Stats(a) => cmd_stats(a),
        Cmd::Verify(a) => cmd_verify(a),
        Cmd::Version => outln!("hamdb {}", version()),
    }?;
    args::flush_out()
}

/// The exit code for a write error on standard output: 0, quietly, for a pipe whose reader
/// has gone (`hamdb ... | head`); else 1 with a message.
fn write_failed(e: &std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    errln!("hamdb: write error on standard output: {e}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) if e.use_stderr() => {
            // Usage errors (exit 2), and no arguments at all (the help, on stderr, exit 2).
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help, help, --version: on standard output, exit 0.
            use std::io::IsTerminal;
            let text = e.render();
            let text = if std::io::stdout().is_terminal() {
                text.ansi().to_string()
            } else {
                text.to_string()
            };
            return match write_out(format_args!("{text}")).and_then(|()| args::flush_out()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(Fail::Write(e)) => write_failed(&e),
                Err(_) => ExitCode::from(1),
            };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    match run(&cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            let mut c = command();
            c.build();
            let name = cli.cmd.name();
            match c.find_subcommand_mut(name) {
                Some(sub) => {
                    let _ = sub.error(clap::error::ErrorKind::InvalidValue, m).print();
                }
                None => errln!("hamdb: {m}"),
            }
            ExitCode::from(2)
        }
        Err(Fail::Db(e)) => {
            errln!("hamdb: {e}");
            ExitCode::from(match e {
                Error::Locked => 3,
                Error::Corrupt { .. }
                | Error::NotADatabase { .. }
                | Error::UnsupportedFormatVersion { .. } => 4,
                _ => 1,
            })
        }
        Err(Fail::Other(m)) => {
            errln!("hamdb: {m}");
            ExitCode::from(1)
        }
        Err(Fail::Partial(m)) => {
            errln!("hamdb: {m}");
            ExitCode::from(5)
        }
        Err(Fail::Write(e)) => write_failed(&e),
    }
}
