//! Finding and loading the ONNX Runtime shared library (`ort` with `load-dynamic`).
//!
//! Search order, first hit wins: the explicit path in [`super::EncoderOptions`], then the
//! `ORT_DYLIB_PATH` environment variable, then the `onnxruntime` Python package's `capi/`
//! folder (the active virtualenv, a `.venv` beside the working directory or the executable or
//! one of their ancestors, then whatever `python3` imports), then the system's library path
//! (`LD_LIBRARY_PATH`, then /usr/local/lib, /usr/lib and the multiarch folders).
//! ONNX Runtime is process-global: the first successful load stays for the process's lifetime,
//! and a later request for another file is refused rather than silently ignored.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// ONNX Runtime versions this build is tested with and accepts: 1.17 (the `ort` crate's
/// minimum API level) up to any 1.x.
pub const MIN_MINOR: u32 = 17;

const INSTALL_HINT: &str = "install it with `pip install onnxruntime` (hamdb's `make` targets \
                            put it in .venv), or set ORT_DYLIB_PATH to libonnxruntime.so";

/// The library loaded in this process and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    pub path: PathBuf,
    pub version: String,
}

static LOADED: OnceLock<RuntimeInfo> = OnceLock::new();
/// The process's one ONNX Runtime environment (`ort` allows one per process); kept alive for
/// the process's lifetime so sessions can be created at any time.
static ENVIRONMENT: OnceLock<ort::environment::Environment> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

/// Load ONNX Runtime once per process; later calls return the first result.
pub fn ensure_loaded(explicit: Option<&Path>) -> Result<&'static RuntimeInfo> {
    if let Some(info) = LOADED.get() {
        return check_same(info, explicit);
    }
    let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(info) = LOADED.get() {
        return check_same(info, explicit);
    }
    let (path, how) = locate(explicit)?;
    let version = probe_version(&path)?;
    let env = ort::init_from(&path)
        .map_err(|e| Error::Runtime {
            reason: format!("loading {} (found {how}): {e}", path.display()),
        })?
        .with_name("hamdb")
        .build()
        .map_err(|e| Error::Runtime {
            reason: format!("creating the environment: {e}"),
        })?;
    let _ = ENVIRONMENT.set(env);
    Ok(LOADED.get_or_init(|| RuntimeInfo { path, version }))
}

/// The environment sessions are created in (after [`ensure_loaded`] succeeded).
pub(crate) fn environment() -> Result<&'static ort::environment::Environment> {
    ENVIRONMENT.get().ok_or_else(|| Error::Runtime {
        reason: "ONNX Runtime is not loaded".into(),
    })
}

/// The runtime loaded so far, if any.
pub fn loaded() -> Option<&'static RuntimeInfo> {
    LOADED.get()
}

fn check_same(info: &'static RuntimeInfo, explicit: Option<&Path>) -> Result<&'static RuntimeInfo> {
    match explicit {
        Some(p) if canonical(p) != canonical(&info.path) => Err(Error::Runtime {
            reason: format!(
                "this process already loaded {}; one process can load only one ONNX Runtime",
                info.path.display()
            ),
        }),
        _ => Ok(info),
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Where the library is, and which rule found it (for error messages).
fn locate(explicit: Option<&Path>) -> Result<(PathBuf, &'static str)> {
    if let Some(p) = explicit {
        return existing(p, "from the options");
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return existing(Path::new(&p), "from ORT_DYLIB_PATH");
    }
    for capi in venv_capi_dirs().into_iter().chain(python3_capi_dir()) {
        if let Some(lib) = library_in(&capi) {
            return Ok((lib, "in the onnxruntime Python package"));
        }
    }
    let ld_path = std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default();
    let system = std::env::split_paths(&ld_path).chain(
        [
            "/usr/local/lib",
            "/usr/lib",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
        ]
        .into_iter()
        .map(PathBuf::from),
    );
    for dir in system {
        if let Some(lib) = library_in(&dir) {
            return Ok((lib, "on the system library path"));
        }
    }
    Err(Error::Runtime {
        reason: format!("libonnxruntime was not found; {INSTALL_HINT}"),
    })
}

fn existing(p: &Path, how: &'static str) -> Result<(PathBuf, &'static str)> {
    if p.is_file() {
        Ok((p.to_path_buf(), how))
    } else {
        Err(Error::Runtime {
            reason: format!(
                "{} (given {how}) does not exist; {INSTALL_HINT}",
                p.display()
            ),
        })
    }
}

/// `libonnxruntime.so` or the versioned name the PyPI wheel ships (`.so.1.20.1`).
fn library_in(dir: &Path) -> Option<PathBuf> {
    let plain = dir.join(format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    if plain.is_file() {
        return Some(plain);
    }
    let prefix = format!(
        "{}onnxruntime{}.",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
                && p.is_file()
        })
        .collect();
    found.sort();
    found.pop()
}

/// Candidate `site-packages/onnxruntime/capi` folders of virtualenvs, most specific first.
fn venv_capi_dirs() -> Vec<PathBuf> {
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(v));
    }
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            starts.push(dir.to_path_buf());
        }
    }
    for start in starts {
        for dir in start.ancestors() {
            venvs.push(dir.join(".venv"));
        }
    }
    let mut out: Vec<PathBuf> = Vec::new();
    for venv in venvs {
        let Ok(entries) = std::fs::read_dir(venv.join("lib")) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let capi = e.path().join("site-packages/onnxruntime/capi");
            if capi.is_dir() {
                out.push(capi);
            }
        }
    }
    out
}

/// Last resort (run only when no virtualenv had it): ask `python3` where its onnxruntime is.
fn python3_capi_dir() -> Option<PathBuf> {
    let o = std::process::Command::new("python3")
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (o.status.success() && !s.is_empty()).then(|| PathBuf::from(s))
}

/// Read the library's version string without keeping it loaded, and check the range here
/// so the error names hamdb's supported range rather than `ort`'s.
fn probe_version(path: &Path) -> Result<String> {
    let version = crate::encoder::dylib::version_string(path).map_err(|reason| Error::Runtime {
        reason: format!("{}: {reason}", path.display()),
    })?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(1), Some(minor)) if minor >= MIN_MINOR => Ok(version),
        _ => Err(Error::Runtime {
            reason: format!(
                "{} is ONNX Runtime {version}; hamdb supports 1.{MIN_MINOR} or later 1.x versions",
                path.display()
            ),
        }),
    }
}
