//! Command-line plumbing shared by the commands: the grammar (clap), failures, standard
//! output, JSON strings.

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand};
use hamdb::Error;
use std::path::PathBuf;

pub enum Fail {
    Usage(String),
    Db(Error),
    Other(String),
    /// Some inputs failed (each was reported); the rest succeeded.
    Partial(String),
    /// Writing to standard output failed (a closed pipe, a full disk).
    Write(std::io::Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Db(e)
    }
}

pub type Res<T> = Result<T, Fail>;

pub fn usage<T>(msg: impl Into<String>) -> Res<T> {
    Err(Fail::Usage(msg.into()))
}

/// Every line the commands print goes through here (the `outln!` macro), so that a write
/// error becomes [`Fail::Write`] instead of a panic.
pub fn write_out(args: std::fmt::Arguments) -> Res<()> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .map_err(Fail::Write)
}

pub fn flush_out() -> Res<()> {
    use std::io::Write;
    std::io::stdout().lock().flush().map_err(Fail::Write)
}

pub const AFTER_HELP: &str = "\
Model commands (create --model, insert, search, classify, eval) take --runtime
LIBONNXRUNTIME.so (else ORT_DYLIB_PATH, the onnxruntime Python package, the system),
--threads N and --max-pixels N; those on a database use the model recorded at creation
unless --model names another copy.

Exit codes: 0 ok (also when standard output is a pipe closed by its reader), 1 failure
(including a write error on standard output), 2 usage error, 3 database locked by another
writer, 4 database corrupt, 5 partial (insert, classify, search: some inputs failed and were
named, the rest succeeded).";

#[derive(Parser)]
#[command(
    name = "hamdb",
    about = "hamdb — embeddable image search by semantic binary codes",
    after_help = AFTER_HELP,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Create a database: for a model's codes (--model) or for codes only (--bits)
    Create(CreateArgs),
    /// Insert image files, and image files found in folders (walked recursively)
    Insert(InsertArgs),
    /// Search by images: each image's predicted class and its neighbours
    Search(SearchArgs),
    /// Classify images with a model: class, probability, code
    Classify(ClassifyArgs),
    /// Measure retrieval quality against a labelled query set: mAP, precision@10, accuracy
    Eval(EvalArgs),
    /// Import codes (and ids, labels) from .npy files
    ImportCodes(ImportArgs),
    /// Search by codes (.npy rows or hex)
    SearchCodes(SearchCodesArgs),
    /// Every pair of items within a Hamming distance (near-duplicates), or between two databases
    Dedup(DedupArgs),
    /// Delete items by id
    Delete(DeleteArgs),
    /// Rewrite the database into one segment, dropping deleted items
    Compact(DbArg),
    /// Print the database's statistics as JSON
    Stats(DbArg),
    /// Check every checksum and structure of the database
    Verify(DbArg),
    /// Print the version and the file format version
    Version,
}

impl Cmd {
    pub fn name(&self) -> &'static str {
        match self {
            Cmd::Create(_) => "create",
            Cmd::Insert(_) => "insert",
            Cmd::Search(_) => "search",
            Cmd::Classify(_) => "classify",
            Cmd::Eval(_) => "eval",
            Cmd::ImportCodes(_) => "import-codes",
            Cmd::SearchCodes(_) => "search-codes",
            Cmd::Dedup(_) => "dedup",
            Cmd::Delete(_) => "delete",
            Cmd::Compact(_) => "compact",
            Cmd::Stats(_) => "stats",
            Cmd::Verify(_) => "verify",
            Cmd::Version => "version",
        }
    }
}

/// A whole number in `lo..=hi` (`hi` = `u64::MAX`: no upper bound), or an error that gives
/// the allowed range.
fn in_range(s: &str, lo: u64, hi: u64) -> Result<usize, String> {
    let range = if hi == u64::MAX {
        format!(", {lo} or more")
    } else {
        format!(" from {lo} to {hi}")
    };
    s.parse::<u64>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| format!("must be a whole number{range}"))
}

// The library's own limits (it refuses anything past them too); the help texts below say
// the same numbers.
fn inference_threads(s: &str) -> Result<usize, String> {
    in_range(s, 0, hamdb::encoder::MAX_INTRA_THREADS as u64)
}

fn decode_threads(s: &str) -> Result<usize, String> {
    in_range(s, 0, hamdb::image::MAX_DECODE_THREADS as u64)
}

fn search_threads(s: &str) -> Result<usize, String> {
    in_range(s, 0, hamdb::MAX_THREADS as u64)
}

fn batch_size(s: &str) -> Result<usize, String> {
    in_range(s, 1, hamdb::image::MAX_BATCH_SIZE as u64)
}

fn at_least_1(s: &str) -> Result<usize, String> {
    in_range(s, 1, u64::MAX)
}

/// The ONNX Runtime options of the model commands.
#[derive(Args)]
pub struct ModelOpts {
    /// The ONNX Runtime library (else ORT_DYLIB_PATH, the onnxruntime Python package, the
    /// system)
    #[arg(long, value_name = "LIBONNXRUNTIME.so")]
    pub runtime: Option<PathBuf>,
    /// Inference threads, 0 to 256 (0: automatic, the machine's cores)
    #[arg(long, value_name = "N", value_parser = inference_threads)]
    pub threads: Option<usize>,
    /// Refuse images of more than N pixels before decoding them
    #[arg(long, value_name = "N")]
    pub max_pixels: Option<u64>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["model", "bits"])))]
pub struct CreateArgs {
    /// The database file to create
    pub db: String,
    /// A database for this model's codes (images)
    #[arg(long, short = 'm', value_name = "MODEL.onnx")]
    pub model: Option<String>,
    /// A database for codes only, of this many bits (a multiple of 8, 8 to 1024)
    #[arg(long, value_name = "B")]
    pub bits: Option<usize>,
    /// A code-only database's fingerprint (what made its codes)
    #[arg(long, value_name = "TEXT", conflicts_with = "model")]
    pub fingerprint: Option<String>,
    /// A code-only database's expected search radius: its multi-index tables are cut for
    /// radius-R searches (0 to B)
    #[arg(long, value_name = "R", conflicts_with = "model")]
    pub expected_radius: Option<u32>,
    #[command(flatten)]
    pub model_opts: ModelOpts,
}

#[derive(Args)]
pub struct InsertArgs {
    /// The database
    pub db: String,
    /// Image files (PNG, JPEG, WebP, GIF, BMP) or folders, walked recursively; symbolic links
    /// to folders found inside a folder are not followed, and a file named twice goes in once
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Another copy of the database's model
    #[arg(long, short = 'm', value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    /// Images per forward pass, 1 to 4096
    #[arg(long, value_name = "N", value_parser = batch_size)]
    pub batch: Option<usize>,
    /// Decoding threads, 0 to 256 (0: one per core)
    #[arg(long, value_name = "N", value_parser = decode_threads)]
    pub decoders: Option<usize>,
    /// Commit after every N inserted images, 1 or more
    #[arg(long, value_name = "N", value_parser = at_least_1)]
    pub commit_every: Option<usize>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model_opts: ModelOpts,
}

#[derive(Args)]
#[command(override_usage = "hamdb search <DB> --image <IMG>... [OPTIONS]")]
pub struct SearchArgs {
    /// The database
    pub db: String,
    /// Query images, searched in order (one block, or one JSON line, per image)
    #[arg(long, value_name = "IMG", required = true, num_args = 1.., action = ArgAction::Append)]
    pub image: Vec<String>,
    /// The K nearest items [default: 10]
    #[arg(short = 'k', long = "k", value_name = "K", conflicts_with = "radius")]
    pub k: Option<usize>,
    /// Every item within Hamming distance R
    #[arg(long, short = 'r', value_name = "R")]
    pub radius: Option<u32>,
    /// Only items of this class (index or name)
    #[arg(long, value_name = "C|NAME")]
    pub class: Option<String>,
    /// distance: by Hamming distance; class: items of the image's predicted class first,
    /// then the rest, each group by distance
    #[arg(long, value_name = "distance|class", default_value = "distance", value_parser = ["distance", "class"], conflicts_with = "class")]
    pub rank: String,
    /// One JSON object per image, one per line (JSON Lines)
    #[arg(long)]
    pub json: bool,
    /// Another copy of the database's model
    #[arg(long, short = 'm', value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub model_opts: ModelOpts,
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// The model
    #[arg(value_name = "MODEL.onnx")]
    pub model: String,
    /// Image files or folders (walked recursively)
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// One JSON object per image, one per line
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model_opts: ModelOpts,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The database
    pub db: String,
    /// The folder the labels file's paths are relative to
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub queries: String,
    /// A header line, then file,label rows: the queries, and the labels of database items
    /// (matched by path)
    #[arg(long, value_name = "FILE.csv", required = true)]
    pub labels: String,
    /// Rank only the top K [default: every item]
    #[arg(short = 'k', long = "k", value_name = "K")]
    pub k: Option<usize>,
    /// Another copy of the database's model
    #[arg(long, short = 'm', value_name = "MODEL.onnx")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub model_opts: ModelOpts,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The database
    pub db: String,
    /// uint8 [N, B/8] (np.packbits rows)
    #[arg(value_name = "CODES.npy")]
    pub codes: String,
    /// uint64 [N]
    #[arg(long, value_name = "IDS.npy")]
    pub ids: Option<String>,
    /// uint32/int64 [N]
    #[arg(long, value_name = "LABELS.npy")]
    pub labels: Option<String>,
    /// Adjacent rows with the same id form one item of several codes (PDQ variants, frames;
    /// at most 64 per item, one label per item); needs --ids
    #[arg(long, requires = "ids")]
    pub codes_per_id: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("input").required(true).args(["queries", "hex"])))]
#[command(group(ArgGroup::new("reach").required(true).args(["k", "radius"])))]
#[command(
    override_usage = "hamdb search-codes <DB> <--queries <Q.npy>|--hex <HEX>...> <-k <K>|--radius <R>> [OPTIONS]"
)]
pub struct SearchCodesArgs {
    /// The database
    pub db: String,
    /// Query codes: uint8 [Q, B/8]
    #[arg(long, value_name = "Q.npy")]
    pub queries: Option<String>,
    /// Query codes in hex
    #[arg(long, value_name = "HEX", num_args = 1.., action = ArgAction::Append)]
    pub hex: Vec<String>,
    /// The K nearest items
    #[arg(short = 'k', long = "k", value_name = "K")]
    pub k: Option<usize>,
    /// Every item within Hamming distance R
    #[arg(long, short = 'r', value_name = "R")]
    pub radius: Option<u32>,
    /// Only items with this label
    #[arg(long, value_name = "C")]
    pub class: Option<u32>,
    /// The query codes are one query (an image's variants): each item once, at its least
    /// distance to any of them
    #[arg(long)]
    pub set: bool,
    /// Items of class C first, then the rest, each group by distance (the class-aware
    /// ranking; give the query's predicted class)
    #[arg(long, value_name = "C", conflicts_with_all = ["class", "set"])]
    pub class_first: Option<u32>,
    /// Search threads, 0 to 256 (0: automatic, up to one per core)
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = search_threads)]
    pub threads: usize,
    /// One JSON object per query, one per line
    #[arg(long, conflicts_with = "npy")]
    pub json: bool,
    /// Write PREFIX_ids.npy uint64 [Q,K] and PREFIX_distances.npy uint32 [Q,K] (missing
    /// results: ids 2^64-1, distances 2^32-1); needs -k
    #[arg(long, value_name = "PREFIX")]
    pub npy: Option<String>,
}

#[derive(Args)]
pub struct DedupArgs {
    /// The database
    pub db: String,
    /// Pairs within this Hamming distance (inclusive)
    #[arg(long, short = 'r', value_name = "R")]
    pub radius: u32,
    /// Pairs between DB's items and this database's (instead of within DB)
    #[arg(long, value_name = "DB2")]
    pub against: Option<String>,
    /// Write the pairs to FILE.npy, uint64 [P, 3]: id a, id b, distance (default: one JSON
    /// object per pair, one per line)
    #[arg(long, value_name = "FILE.npy")]
    pub npy: Option<String>,
    /// Threads (0 = one per core)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// No progress bar or summary
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args)]
pub struct DeleteArgs {
    /// The database
    pub db: String,
    /// Ids to delete (each once; ids not in the database are counted and reported)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<u64>,
}

#[derive(Args)]
pub struct DbArg {
    /// The database
    pub db: String,
}

/// One JSON object on its own line of standard output, written by serde_json (strings
/// escaped as JSON requires, whatever a path or payload holds).
pub fn json_line(value: &impl serde::Serialize) -> Res<()> {
    let line = serde_json::to_string(value).map_err(|e| Fail::Other(format!("JSON: {e}")))?;
    write_out(format_args!("{line}\n"))
}

/// `x` rounded to `places` decimals, for JSON numbers that used to be printed with a fixed
/// number of decimals: the same value, though serde_json writes it without trailing zeros
/// (0.5 rather than 0.500000).
pub fn rounded(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}
