//! The `hamdb` command line.
//!
//! Exit codes (stable, for scripts): 0 success; 1 failure (I/O, bad input file, bad code;
//! for insert and classify: no input succeeded); 2 usage error; 3 database locked by another
//! writer; 4 database corrupt (open or verify); 5 some inputs failed, the rest succeeded.

mod args;
mod images;

use args::{json_string, usage, Args, Fail, Res};

use hamdb::{
    npy, Code, CodeArray, CodeLen, CreateOptions, Database, Error, Import, QueryResult, WriteBatch,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "hamdb — embeddable image search by semantic binary codes

usage:
  hamdb create DB --model MODEL.onnx      a database for a model's codes (images)
  hamdb create DB --bits B [--fingerprint TEXT]   a database for codes only
  hamdb insert DB PATH... [--model M] [--batch N] [--decoders N] [--commit-every N] [--quiet]
        PATH: image files (PNG, JPEG, WebP, GIF, BMP) or folders (walked recursively)
  hamdb search DB --image IMG... [-k K | --radius R] [--class C|NAME] [--json] [--model M]
  hamdb classify MODEL.onnx IMAGE... [--json]
  hamdb eval DB --queries DIR --labels FILE.csv [-k K] [--model M]
        FILE.csv: header line, then file,label rows (files relative to DIR)
  hamdb import-codes DB CODES.npy [--ids IDS.npy] [--labels LABELS.npy]
        CODES: uint8 [N, B/8] (np.packbits rows); IDS: uint64 [N]; LABELS: uint32/int64 [N]
  hamdb search-codes DB (--queries Q.npy | --hex HEX...) (-k K | --radius R) [--class C]
        [--json | --npy PREFIX]     PREFIX_ids.npy uint64 [Q,K], PREFIX_distances.npy uint32
                                    [Q,K] (missing results: ids 2^64-1, distances 2^32-1)
  hamdb delete DB ID...
  hamdb compact DB
  hamdb stats DB
  hamdb verify DB
  hamdb version

common options for model commands: --runtime LIBONNXRUNTIME.so (else ORT_DYLIB_PATH, the
  onnxruntime Python package, the system), --threads N (inference threads), --max-pixels N

exit codes: 0 ok, 1 failure, 2 usage, 3 database locked, 4 database corrupt,
  5 partial (insert/classify: some inputs failed, the rest succeeded)";

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

fn cmd_create(a: &Args) -> Res<()> {
    if let Some(model) = a.get(&["--model", "-m"]) {
        if a.get(&["--bits"]).is_some() {
            return usage("--bits comes from the model; give one of --model and --bits");
        }
        return images::cmd_create_with_model(a, model);
    }
    let bits: usize = a
        .num(&["--bits"])?
        .ok_or_else(|| Fail::Usage("--bits is required".into()))?;
    let fp = a.get(&["--fingerprint"]).unwrap_or("").as_bytes().to_vec();
    Database::create(
        a.db()?,
        CreateOptions {
            code_bits: bits,
            fingerprint: fp,
        },
    )?;
    println!("created {} ({bits}-bit codes)", a.db()?);
    Ok(())
}

fn cmd_import(a: &Args) -> Res<()> {
    let db = Database::open(a.db()?)?;
    let codes_path = a
        .pos
        .get(1)
        .ok_or_else(|| Fail::Usage("missing CODES.npy".into()))?;
    let t = Instant::now();
    let pb = spinner(&format!("reading {codes_path}"));
    let codes = read_codes(codes_path, Some(db.code_len()))?;
    let ids = a.get(&["--ids"]).map(read_u64s).transpose()?;
    let labels = match a.get(&["--labels"]).map(read_u64s).transpose()? {
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
    let info = db.import(Import {
        codes: &codes,
        ids: ids.as_deref(),
        labels: labels.as_deref(),
        payloads: None,
    })?;
    pb.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "imported {} codes in {secs:.2}s ({:.2}M codes/s), commit {}",
        codes.len(),
        codes.len() as f64 / secs / 1e6,
        info.txn
    );
    Ok(())
}

fn print_results(results: &[QueryResult], a: &Args, k: Option<usize>) -> Res<()> {
    if let Some(prefix) = a.get(&["--npy"]) {
        let k =
            k.ok_or_else(|| Fail::Usage("--npy needs -k (radius results are ragged)".into()))?;
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
        println!("wrote {prefix}_ids.npy and {prefix}_distances.npy");
        return Ok(());
    }
    let json = a.has("--json");
    if !json {
        println!(
            "{:>5} {:>4} {:>12} {:>5} {:>6}  payload",
            "query", "rank", "id", "dist", "label"
        );
    }
    for (qi, r) in results.iter().enumerate() {
        if json {
            let hits: Vec<String> = r
                .hits
                .iter()
                .map(|h| {
                    format!(
                        "{{\"id\":{},\"distance\":{},\"label\":{},\"payload\":{}}}",
                        h.id,
                        h.distance,
                        h.label.map_or("null".into(), |l| l.to_string()),
                        json_string(&String::from_utf8_lossy(&h.payload))
                    )
                })
                .collect();
            println!(
                "{{\"query\":{qi},\"hits\":[{}],\"path\":\"{}\",\"buckets_probed\":{},\"candidates_checked\":{}}}",
                hits.join(","),
                r.stats.path.map(|p| format!("{p:?}")).unwrap_or_default(),
                r.stats.buckets_probed,
                r.stats.candidates_checked
            );
        } else {
            for (rank, h) in r.hits.iter().enumerate() {
                let label = h.label.map_or("-".into(), |l| l.to_string());
                let payload: String = String::from_utf8_lossy(&h.payload)
                    .chars()
                    .take(60)
                    .collect();
                println!(
                    "{qi:>5} {:>4} {:>12} {:>5} {label:>6}  {payload}",
                    rank + 1,
                    h.id,
                    h.distance
                );
            }
        }
    }
    Ok(())
}

fn cmd_search(a: &Args) -> Res<()> {
    let db = Database::open_read_only(a.db()?)?;
    let mut queries: Vec<Code> = Vec::new();
    if let Some(p) = a.get(&["--queries"]) {
        let arr = read_codes(p, Some(db.code_len()))?;
        queries.extend((0..arr.len()).map(|i| arr.get(i).expect("in range")));
    }
    for h in a.all("--hex") {
        queries.push(Code::from_hex(h)?);
    }
    if queries.is_empty() {
        return usage("give --queries FILE.npy or --hex CODE");
    }
    let k: Option<usize> = a.num(&["-k", "--k"])?;
    let r: Option<u32> = a.num(&["--radius", "-r"])?;
    let class: Option<u32> = a.num(&["--class"])?;
    if k.is_some() == r.is_some() {
        return usage("give exactly one of -k and --radius");
    }
    let snap = db.snapshot();
    let results = queries
        .iter()
        .map(|q| match (k, r) {
            (Some(k), _) => snap.search(q, k, class),
            (_, Some(r)) => snap.search_radius(q, r, class),
            _ => unreachable!(),
        })
        .collect::<Result<Vec<_>, _>>()?;
    print_results(&results, a, k)
}

fn cmd_delete(a: &Args) -> Res<()> {
    let db = Database::open(a.db()?)?;
    let mut b = WriteBatch::new();
    for id in &a.pos[1..] {
        b.delete(
            id.parse()
                .map_err(|_| Fail::Usage(format!("not an id: {id}")))?,
        );
    }
    if b.is_empty() {
        return usage("give at least one id");
    }
    let info = db.commit(b)?;
    println!("deleted {} id(s), commit {}", a.pos.len() - 1, info.txn);
    Ok(())
}

fn cmd_compact(a: &Args) -> Res<()> {
    let db = Database::open(a.db()?)?;
    let before = db.stats().file_bytes;
    let t = Instant::now();
    db.compact()?;
    let s = db.stats();
    println!(
        "compacted in {:.2}s: {} items, {} -> {} bytes",
        t.elapsed().as_secs_f64(),
        s.items,
        before,
        s.file_bytes
    );
    Ok(())
}

fn cmd_stats(a: &Args) -> Res<()> {
    let db = Database::open_read_only(a.db()?)?;
    let s = db.stats();
    println!(
        "{{\"code_bits\":{},\"commit\":{},\"items\":{},\"segments\":{},\"segment_items\":{},\"delta_items\":{},\"deleted_in_segments\":{},\"file_bytes\":{},\"fingerprint\":{}}}",
        s.code_bits,
        s.txn,
        s.items,
        s.segments,
        s.segment_items,
        s.delta_items,
        s.deleted_in_segments,
        s.file_bytes,
        json_string(&fingerprint_text(&db, &s.fingerprint))
    );
    Ok(())
}

/// A model database's fingerprint is a SHA-256 (hex, with the model's name); a code-only
/// database's is the caller's text.
fn fingerprint_text(db: &Database, fp: &[u8]) -> String {
    match db.encoder_record() {
        Some(r) => format!(
            "sha256:{} ({} {})",
            hamdb::encoder::hex(fp),
            r.contract.model_name,
            r.contract.model_version
        ),
        None => String::from_utf8_lossy(fp).into_owned(),
    }
}

fn cmd_verify(a: &Args) -> Res<()> {
    let r = Database::verify(a.db()?)?;
    println!(
        "ok: commit {}, {} segment(s), {} delta batch(es), {} items",
        r.txn, r.segments, r.delta_batches, r.items
    );
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &argv[1..];
    let result = (|| -> Res<()> {
        match cmd.as_str() {
            "create" => cmd_create(&Args::parse(rest, &[])?),
            "import-codes" => cmd_import(&Args::parse(rest, &[])?),
            "insert" => images::cmd_insert(&Args::parse(rest, &["--quiet"])?),
            "search" => images::cmd_search_image(&Args::parse(rest, &["--json"])?),
            "classify" => images::cmd_classify(&Args::parse(rest, &["--json"])?),
            "eval" => images::cmd_eval(&Args::parse(rest, &[])?),
            "search-codes" => cmd_search(&Args::parse(rest, &["--json"])?),
            "delete" => cmd_delete(&Args::parse(rest, &[])?),
            "compact" => cmd_compact(&Args::parse(rest, &[])?),
            "stats" => cmd_stats(&Args::parse(rest, &[])?),
            "verify" => cmd_verify(&Args::parse(rest, &[])?),
            "version" | "--version" => {
                println!(
                    "hamdb {} (file format {})",
                    env!("CARGO_PKG_VERSION"),
                    hamdb::storage::FORMAT_VERSION
                );
                Ok(())
            }
            "help" | "--help" | "-h" => {
                println!("{USAGE}");
                Ok(())
            }
            other => usage(format!("unknown command {other:?}")),
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail::Usage(m)) => {
            eprintln!("hamdb: {m}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Fail::Db(e)) => {
            eprintln!("hamdb: {e}");
            ExitCode::from(match e {
                Error::Locked => 3,
                Error::Corrupt { .. }
                | Error::NotADatabase { .. }
                | Error::UnsupportedFormatVersion { .. } => 4,
                _ => 1,
            })
        }
        Err(Fail::Other(m)) => {
            eprintln!("hamdb: {m}");
            ExitCode::from(1)
        }
        Err(Fail::Partial(m)) => {
            eprintln!("hamdb: {m}");
            ExitCode::from(5)
        }
    }
}
