//! The `hamdb` command line. This version searches code files in memory; the database-file
//! commands (create, import-codes, search-codes, ...) arrive with the storage engine.
//!
//! Exit codes: 0 success, 1 runtime failure (bad file, bad code), 2 usage error.

use hamdb::{npy, CodeArray, CodeLen, MihIndex, MihOptions, ScanIndex, SearchResult};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage:
  hamdb search --codes CODES.npy --queries QUERIES.npy (-k K | --radius R) [--scan] [--json]
      Index CODES (uint8 [N, bits/8], np.packbits rows) with MIH and answer every row of
      QUERIES; ids are row numbers of CODES. --scan uses the linear scan instead.
  hamdb version";

struct Args {
    codes: String,
    queries: String,
    k: Option<usize>,
    radius: Option<u32>,
    scan: bool,
    json: bool,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        codes: String::new(),
        queries: String::new(),
        k: None,
        radius: None,
        scan: false,
        json: false,
    };
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--codes" => a.codes = value()?,
            "--queries" => a.queries = value()?,
            "-k" | "--k" => a.k = Some(value()?.parse().map_err(|_| "-k takes a whole number")?),
            "--radius" => {
                a.radius = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--radius takes a whole number")?,
                )
            }
            "--scan" => a.scan = true,
            "--json" => a.json = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.codes.is_empty() || a.queries.is_empty() {
        return Err("--codes and --queries are required".into());
    }
    if a.k.is_some() == a.radius.is_some() {
        return Err("give exactly one of -k and --radius".into());
    }
    Ok(a)
}

fn load_codes(path: &str) -> Result<CodeArray, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let arr = npy::parse(&bytes).map_err(|e| format!("{path}: {e}"))?;
    if arr.descr != "|u1" && arr.descr != "<u1" && arr.descr != "u1" || arr.shape.len() != 2 {
        return Err(format!(
            "{path}: expected a uint8 array [N, bits/8], got {} {:?}",
            arr.descr, arr.shape
        ));
    }
    let len = CodeLen::new(arr.shape[1] * 8).map_err(|e| format!("{path}: {e}"))?;
    CodeArray::from_packed_bytes(len, arr.data).map_err(|e| format!("{path}: {e}"))
}

fn run(a: Args) -> Result<(), String> {
    let codes = load_codes(&a.codes)?;
    let queries = load_codes(&a.queries)?;
    let t = Instant::now();
    let results: Vec<SearchResult> = if a.scan {
        let idx = ScanIndex::new(codes).map_err(|e| e.to_string())?;
        (0..queries.len())
            .map(|i| {
                let q = queries.get(i).expect("in range");
                match a.k {
                    Some(k) => idx.search(&q, k),
                    None => idx.search_radius(&q, a.radius.unwrap_or(0)),
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?
    } else {
        let idx = MihIndex::build(codes, MihOptions::default()).map_err(|e| e.to_string())?;
        eprintln!(
            "built MIH index: {} codes, m = {}, {:.1?}",
            idx.len(),
            idx.substrings(),
            t.elapsed()
        );
        (0..queries.len())
            .map(|i| {
                let q = queries.get(i).expect("in range");
                match a.k {
                    Some(k) => idx.search(&q, k),
                    None => idx.search_radius(&q, a.radius.unwrap_or(0)),
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?
    };
    for (qi, r) in results.iter().enumerate() {
        if a.json {
            let ids: Vec<String> = r.neighbors.iter().map(|n| n.id.to_string()).collect();
            let ds: Vec<String> = r.neighbors.iter().map(|n| n.distance.to_string()).collect();
            println!(
                "{{\"query\":{qi},\"ids\":[{}],\"distances\":[{}],\"path\":\"{:?}\",\"buckets_probed\":{},\"candidates_checked\":{}}}",
                ids.join(","),
                ds.join(","),
                r.stats.path.map(|p| format!("{p:?}")).unwrap_or_default(),
                r.stats.buckets_probed,
                r.stats.candidates_checked
            );
        } else {
            let hits: Vec<String> = r
                .neighbors
                .iter()
                .map(|n| format!("{}@{}", n.id, n.distance))
                .collect();
            println!("query {qi}: {}", hits.join(" "));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        Some("version") | Some("--version") => {
            println!("hamdb {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("search") => match parse_args(&argv[1..]) {
            Ok(a) => match run(a) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hamdb: {e}");
                    ExitCode::from(1)
                }
            },
            Err(e) => {
                eprintln!("hamdb: {e}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
