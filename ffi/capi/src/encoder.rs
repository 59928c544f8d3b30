//! `hamdb_encoder` (an ONNX image encoder) and the image calls: create a database for a model,
//! insert images, search by image, classify; `hamdb_ingest_report` (per-image outcomes).

use super::boundary::{self, guard, guard_value, handle, CResult, Failure, Out};
use super::constants::{
    HAMDB_ANY_CLASS, HAMDB_NO_ID, HAMDB_OPEN_NO_AUTO_COMPACT, HAMDB_OPEN_READ_ONLY,
    HAMDB_RANK_CLASS_FIRST, HAMDB_RANK_DISTANCE,
};
use super::db::hamdb_db;
use super::results::{hamdb_prediction, hamdb_results};
use super::status::*;
use hamdb::image::{self, ImageSource, IngestOptions, IngestReport, ModelBinding, Rank, Reach};
use hamdb::{CompactionPolicy, OpenOptions};
use hamdb::{Encoder, EncoderOptions};
use std::ffi::{c_char, c_int, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A loaded ONNX image encoder (wraps `hamdb::Encoder`): one forward pass gives an image's code
/// and its class. Loading needs ONNX Runtime (found through `runtime_path`, the
/// `ORT_DYLIB_PATH` environment variable, or the `onnxruntime` Python package; see
/// docs/ENCODER.md).
///
/// Thread rules: any number of threads may use one encoder at once (forward passes are
/// serialised inside it; ONNX Runtime parallelises within a pass). `hamdb_encoder_free` must be
/// the last call and must not overlap any other.
pub struct hamdb_encoder {
    enc: Encoder,
    class_names: Vec<CString>,
}

/// How to load an encoder (`hamdb_encoder_load`); zeroed fields take the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hamdb_encoder_options {
    /// The ONNX Runtime shared library to load (NUL-terminated), or NULL to search for it.
    pub runtime_path: *const c_char,
    /// Threads ONNX Runtime uses inside one forward pass (0: one per core).
    pub intra_threads: usize,
    /// Images with more pixels than this are refused before decoding (0: the default, 64 Mi pixels).
    pub max_pixels: u64,
}

/// Tuning for image inserts; zeroed fields (or a NULL pointer) take the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_ingest_options {
    /// Images per forward pass (0: 64).
    pub batch_size: usize,
    /// Decoder threads (0: one per core).
    pub decode_threads: usize,
    /// Items per durable commit (0: 8192).
    pub commit_every: usize,
}

/// The outcome of an image insert (wraps `hamdb::IngestReport`): one entry per input image,
/// in input order. Immutable; any number of threads may read it; free it with
/// `hamdb_ingest_report_free`.
pub struct hamdb_ingest_report {
    report: IngestReport,
    /// Per input: (status, message) when it failed.
    failures: Vec<Option<(c_int, CString)>>,
}

/// Totals of an image insert.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_ingest_summary {
    /// Input images.
    pub count: u64,
    /// Images inserted (in durable commits).
    pub inserted: u64,
    /// Images that failed (unreadable, undecodable, too large).
    pub failed: u64,
    /// The last commit's transaction number (0 if nothing was committed).
    pub txn: u64,
}

/// One input image's outcome.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hamdb_ingest_item {
    /// `HAMDB_OK`, or why this image was not inserted (e.g. `HAMDB_IMAGE`, `HAMDB_IO`).
    pub status: c_int,
    /// The new item's id, or `HAMDB_NO_ID` when `status` is not `HAMDB_OK` (0.1 reported 0, a
    /// real id).
    pub id: u64,
    /// The failure's message (NUL-terminated, owned by the report), or NULL on success.
    pub message: *const c_char,
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// Load the ONNX model at `model_path` (NUL-terminated) and check it against the encoder
/// contract. `options` may be NULL. On success `*out` receives an encoder the caller frees with
/// `hamdb_encoder_free`.
///
/// # Safety
/// `model_path` is NULL or NUL-terminated; `options` is NULL or points to a
/// `hamdb_encoder_options` whose `runtime_path` is NULL or NUL-terminated; `out` is NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_encoder_load(
    model_path: *const c_char,
    options: *const hamdb_encoder_options,
    out: *mut *mut hamdb_encoder,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let path = unsafe { boundary::path(model_path, "model_path")? };
        let mut opts = EncoderOptions::default();
        // SAFETY: the caller's contract above.
        if let Ok(o) = unsafe { handle(options, "options") } {
            if !o.runtime_path.is_null() {
                // SAFETY: NUL-terminated by the caller's contract.
                let p = unsafe { boundary::path(o.runtime_path, "options.runtime_path")? };
                opts.runtime_path = Some(p.to_path_buf());
            }
            opts.intra_threads = o.intra_threads;
            if o.max_pixels != 0 {
                opts.max_pixels = o.max_pixels;
            }
        }
        let enc = Encoder::load(path, &opts)?;
        let class_names = enc
            .contract()
            .class_names
            .iter()
            .map(|n| cstring(n))
            .collect();
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(hamdb_encoder { enc, class_names })) };
        Ok(())
    })
}

/// Free an encoder. NULL is a no-op.
///
/// # Safety
/// `enc` is NULL or a live encoder, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_encoder_free(enc: *mut hamdb_encoder) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(enc) };
        Ok(())
    });
}

/// The length in bits of the codes the encoder produces (its K rounded up to a whole byte), and
/// of the database `hamdb_db_create_for_model` makes, into `*out`.
///
/// # Safety
/// `enc` is NULL or a live encoder; `out` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_encoder_code_bits(
    enc: *const hamdb_encoder,
    out: *mut usize,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let e = unsafe { handle(enc, "enc")? };
        let bits = e.enc.contract().code_len()?.bits();
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(bits) };
        Ok(())
    })
}

/// The number of classes the model predicts, into `*out`.
///
/// # Safety
/// `enc` is NULL or a live encoder; `out` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_encoder_num_classes(
    enc: *const hamdb_encoder,
    out: *mut usize,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let n = unsafe { handle(enc, "enc")? }.class_names.len();
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(n) };
        Ok(())
    })
}

/// The name of class `class_id` into `*name` (NUL-terminated, owned by the encoder, valid until
/// it is freed); `HAMDB_NOT_FOUND` past the last class.
///
/// # Safety
/// `enc` is NULL or a live encoder; `name` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_encoder_class_name(
    enc: *const hamdb_encoder,
    class_id: u32,
    name: *mut *const c_char,
) -> c_int {
    guard(|| {
        let name = Out::new(name, "name")?;
        // SAFETY: the caller's contract above.
        let e = unsafe { handle(enc, "enc")? };
        let n = e.class_names.get(class_id as usize).ok_or_else(|| {
            Failure::new(
                HAMDB_NOT_FOUND,
                format!("class {class_id} of {} classes", e.class_names.len()),
            )
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { name.write(n.as_ptr()) };
        Ok(())
    })
}

/// Encode one image (the bytes of a PNG, JPEG, ... file): its predicted class into `*out`, and,
/// when `code_out` is not NULL, its packed code into `code_out` (`code_cap` bytes, at least
/// `hamdb_encoder_code_bits / 8`, else `HAMDB_BUFFER_TOO_SMALL`).
///
/// # Safety
/// `enc` is NULL or a live encoder; `image` is NULL or points to `image_len` bytes; `code_out`
/// is NULL or valid for `code_cap` bytes of writes; `out` is NULL or valid for writing a
/// `hamdb_prediction`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_encoder_classify(
    enc: *const hamdb_encoder,
    image: *const u8,
    image_len: usize,
    code_out: *mut u8,
    code_cap: usize,
    out: *mut hamdb_prediction,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let e = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let image = unsafe { boundary::slice(image, image_len, "image")? };
        let code_buf = if code_out.is_null() {
            None
        } else {
            // SAFETY: the caller's contract above.
            let buf = unsafe { boundary::out_slice(code_out, code_cap, "code_out")? };
            let need = e.enc.contract().code_len()?.bytes();
            if buf.len() < need {
                return Err(Failure::new(
                    HAMDB_BUFFER_TOO_SMALL,
                    format!("the code is {need} bytes, code_cap is {code_cap}"),
                ));
            }
            Some(buf)
        };
        let encoded = e.enc.encode_image(image)?;
        if let Some(buf) = code_buf {
            for (slot, b) in buf.iter_mut().zip(encoded.code.to_bytes()) {
                slot.write(b);
            }
        }
        // SAFETY: valid for a write by the caller's contract.
        unsafe {
            out.write(hamdb_prediction {
                class_id: encoded.class,
                probability: encoded.probability,
            })
        };
        Ok(())
    })
}

/// Create a new database at `path` (NUL-terminated; must not exist) for the codes of `enc`'s
/// model, recording the model's fingerprint and contract, and open it for writing. Image
/// inserts and searches then need an encoder of the same model (`HAMDB_ENCODER_MISMATCH`
/// otherwise). `flags`: 0 or `HAMDB_OPEN_NO_AUTO_COMPACT`. The caller frees `*out` with
/// `hamdb_db_free`; the encoder stays the caller's.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `enc` is NULL or a live encoder; `out` is NULL or valid for
/// writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_create_for_model(
    path: *const c_char,
    enc: *const hamdb_encoder,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let path = unsafe { boundary::path(path, "path")? };
        // SAFETY: the caller's contract above.
        let e = unsafe { handle(enc, "enc")? };
        if flags & !HAMDB_OPEN_NO_AUTO_COMPACT != 0 || flags & HAMDB_OPEN_READ_ONLY != 0 {
            return Err(Failure::new(
                HAMDB_INVALID_PARAMETER,
                format!("flags {flags:#x}: only HAMDB_OPEN_NO_AUTO_COMPACT applies to create"),
            ));
        }
        let open = OpenOptions {
            compaction: (flags & HAMDB_OPEN_NO_AUTO_COMPACT != 0).then(CompactionPolicy::disabled),
            ..OpenOptions::default()
        };
        let db = image::create_for_model_with(path, &e.enc, open)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(hamdb_db::new_handle(db)) };
        Ok(())
    })
}

fn ingest_options(opts: Option<&hamdb_ingest_options>) -> IngestOptions {
    let mut o = IngestOptions::default();
    if let Some(c) = opts {
        if c.batch_size != 0 {
            o.batch_size = c.batch_size;
        }
        o.decode_threads = c.decode_threads;
        if c.commit_every != 0 {
            o.commit_every = c.commit_every;
        }
    }
    o
}

fn ingest(
    db: &hamdb_db,
    enc: &hamdb_encoder,
    sources: Vec<ImageSource>,
    opts: Option<&hamdb_ingest_options>,
) -> CResult<hamdb_ingest_report> {
    let n = sources.len();
    let report = db.with(|db| {
        // The message names what was committed before the error (those items stay).
        ModelBinding::new(db, &enc.enc)?
            .insert_images(sources, &ingest_options(opts))
            .map_err(|e| Failure::new(status_of(&e.error), e.to_string()))
    })?;
    let mut failures: Vec<Option<(c_int, CString)>> = vec![None; n];
    for f in &report.failures {
        if let Some(slot) = failures.get_mut(f.index) {
            *slot = Some((status_of(&f.error), cstring(&f.error.to_string())));
        }
    }
    Ok(hamdb_ingest_report { report, failures })
}

/// Encode and insert image files: `paths` holds `count` NUL-terminated file names; each path
/// becomes its item's payload, and its predicted class the item's label. New ids are assigned in
/// input order. An image that cannot be read or decoded fails alone (see the report); the call
/// fails as a whole only for the wrong model (`HAMDB_ENCODER_MISMATCH`, `HAMDB_NO_ENCODER`) or
/// a write error; items committed before the error stay committed, and the error message
/// (`hamdb_last_error_message`) says how many and up to which transaction. Items are committed
/// every `commit_every` images. `options` may be NULL. On success `*out` receives a report the
/// caller frees with `hamdb_ingest_report_free`.
///
/// # Safety
/// `db` and `enc` are NULL or live handles; `paths` is NULL or points to `count` pointers, each
/// NULL or NUL-terminated; `options` is NULL or valid; `out` is NULL or valid for writing one
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_insert_image_files(
    db: *const hamdb_db,
    enc: *const hamdb_encoder,
    paths: *const *const c_char,
    count: usize,
    options: *const hamdb_ingest_options,
    out: *mut *mut hamdb_ingest_report,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let enc = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let opts = unsafe { options.as_ref() };
        // SAFETY: the caller's contract above.
        let paths = unsafe { boundary::slice(paths, count, "paths")? };
        let sources = paths
            .iter()
            .map(|&p| {
                if p.is_null() {
                    return Err(Failure::null("paths[i]"));
                }
                // SAFETY: each entry is NUL-terminated by the caller's contract.
                let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
                Ok(ImageSource::Path(PathBuf::from(
                    std::ffi::OsStr::from_bytes(bytes),
                )))
            })
            .collect::<CResult<Vec<_>>>()?;
        let report = ingest(db, enc, sources, opts)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(report)) };
        Ok(())
    })
}

/// Encode and insert images held in memory: `images[i]` / `image_lens[i]` are the bytes of
/// image i's file, and `payloads[i]` / `payload_lens[i]` (both arrays NULL for none) the payload
/// stored with it. Otherwise as `hamdb_db_insert_image_files`.
///
/// # Safety
/// `db` and `enc` are NULL or live handles; `images` and `image_lens` point to `count` elements
/// (or are NULL with `count` 0), each `images[i]` to `image_lens[i]` bytes; `payloads` and
/// `payload_lens` likewise or both NULL; `options` is NULL or valid; `out` is NULL or valid for
/// writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_insert_images(
    db: *const hamdb_db,
    enc: *const hamdb_encoder,
    images: *const *const u8,
    image_lens: *const usize,
    payloads: *const *const u8,
    payload_lens: *const usize,
    count: usize,
    options: *const hamdb_ingest_options,
    out: *mut *mut hamdb_ingest_report,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let enc = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let opts = unsafe { options.as_ref() };
        // SAFETY: the caller's contract above.
        let images = unsafe { boundary::byte_strings(images, image_lens, count, "images")? }
            .unwrap_or_default();
        if images.len() != count {
            return Err(Failure::null("images"));
        }
        // SAFETY: the caller's contract above.
        let payloads =
            unsafe { boundary::byte_strings(payloads, payload_lens, count, "payloads")? };
        let sources = images
            .iter()
            .enumerate()
            .map(|(i, img)| ImageSource::Bytes {
                bytes: img.to_vec(),
                payload: payloads.as_ref().map_or(Vec::new(), |p| p[i].to_vec()),
            })
            .collect();
        let report = ingest(db, enc, sources, opts)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(report)) };
        Ok(())
    })
}

/// The number of input images in the report (0 for NULL).
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn hamdb_ingest_report_len(report: *const hamdb_ingest_report) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(report, "report") }.map_or(0, |r| r.failures.len())
    })
}

/// The report's totals into `*out`.
///
/// # Safety
/// `report` is NULL or a live report; `out` is NULL or valid for writing a
/// `hamdb_ingest_summary`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_ingest_report_summary(
    report: *const hamdb_ingest_report,
    out: *mut hamdb_ingest_summary,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let r = unsafe { handle(report, "report")? };
        let s = hamdb_ingest_summary {
            count: r.failures.len() as u64,
            inserted: r.report.inserted,
            failed: r.report.failures.len() as u64,
            txn: r.report.txn,
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// Input image `index`'s outcome into `*out`; `HAMDB_NOT_FOUND` past the end.
///
/// # Safety
/// `report` is NULL or a live report; `out` is NULL or valid for writing a
/// `hamdb_ingest_item`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_ingest_report_item(
    report: *const hamdb_ingest_report,
    index: usize,
    out: *mut hamdb_ingest_item,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let r = unsafe { handle(report, "report")? };
        let failure = r.failures.get(index).ok_or_else(|| {
            Failure::new(
                HAMDB_NOT_FOUND,
                format!("item {index} of {}", r.failures.len()),
            )
        })?;
        let item = match failure {
            Some((status, message)) => hamdb_ingest_item {
                status: *status,
                id: HAMDB_NO_ID,
                message: message.as_ptr(),
            },
            None => match r.report.ids.get(index).copied().flatten() {
                Some(id) => hamdb_ingest_item {
                    status: HAMDB_OK,
                    id,
                    message: std::ptr::null(),
                },
                None => hamdb_ingest_item {
                    status: HAMDB_OTHER,
                    id: HAMDB_NO_ID,
                    message: c"not inserted".as_ptr(),
                },
            },
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(item) };
        Ok(())
    })
}

/// Free a report. NULL is a no-op.
///
/// # Safety
/// `report` is NULL or a live report, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_ingest_report_free(report: *mut hamdb_ingest_report) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(report) };
        Ok(())
    });
}

fn search_image(
    db: &hamdb_db,
    enc: &hamdb_encoder,
    image: &[u8],
    reach: Reach,
    class_filter: u32,
    rank: Rank,
) -> CResult<hamdb_results> {
    let class = (class_filter != HAMDB_ANY_CLASS).then_some(class_filter);
    let r = db.with(|db| {
        Ok(ModelBinding::new(db, &enc.enc)?.search_image_ranked(image, reach, class, rank)?)
    })?;
    Ok(hamdb_results::with_prediction(
        r.result,
        hamdb_prediction {
            class_id: r.class,
            probability: r.probability,
        },
    ))
}

/// A ranking from its ABI value (`HAMDB_RANK_*`), else `HAMDB_INVALID_PARAMETER`.
fn rank_of(rank: u32) -> CResult<Rank> {
    match rank {
        HAMDB_RANK_DISTANCE => Ok(Rank::Distance),
        HAMDB_RANK_CLASS_FIRST => Ok(Rank::PredictedClassFirst),
        _ => Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            format!("unknown rank {rank} (HAMDB_RANK_DISTANCE or HAMDB_RANK_CLASS_FIRST)"),
        )),
    }
}

/// Search by image: encode `image` (a file's bytes) with `enc` (the database's model, else
/// `HAMDB_ENCODER_MISMATCH`; `HAMDB_NO_ENCODER` for a code-only database) and return its `k`
/// nearest items, ascending by (distance, id); `class_filter` keeps one class
/// (`HAMDB_ANY_CLASS` for all). The query's predicted class is `hamdb_results_prediction`. The
/// caller frees `*out` with `hamdb_results_free`.
///
/// # Safety
/// `db` and `enc` are NULL or live handles; `image` is NULL or points to `image_len` bytes;
/// `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_image(
    db: *const hamdb_db,
    enc: *const hamdb_encoder,
    image: *const u8,
    image_len: usize,
    k: usize,
    class_filter: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let enc = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let image = unsafe { boundary::slice(image, image_len, "image")? };
        let res = search_image(
            db,
            enc,
            image,
            Reach::Nearest(k),
            class_filter,
            Rank::Distance,
        )?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Search by image within Hamming distance `radius`; otherwise as `hamdb_db_search_image`.
///
/// # Safety
/// As `hamdb_db_search_image`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_image_radius(
    db: *const hamdb_db,
    enc: *const hamdb_encoder,
    image: *const u8,
    image_len: usize,
    radius: u32,
    class_filter: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let enc = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let image = unsafe { boundary::slice(image, image_len, "image")? };
        let res = search_image(
            db,
            enc,
            image,
            Reach::Radius(radius),
            class_filter,
            Rank::Distance,
        )?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Search by image, ranked: as `hamdb_db_search_image`, and `rank` orders the results:
/// `HAMDB_RANK_DISTANCE` by (distance, id) (as `hamdb_db_search_image`),
/// `HAMDB_RANK_CLASS_FIRST` the `k` nearest items whose label is the query's predicted class
/// (`hamdb_results_prediction`) first, then the nearest others, each group by (distance, id)
/// (as `hamdb_db_search_class_first`; with a `class_filter` given, the filter decides). Any
/// other `rank` fails with `HAMDB_INVALID_PARAMETER`.
///
/// # Safety
/// As `hamdb_db_search_image`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hamdb_db_search_image_ranked(
    db: *const hamdb_db,
    enc: *const hamdb_encoder,
    image: *const u8,
    image_len: usize,
    k: usize,
    class_filter: u32,
    rank: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let enc = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let image = unsafe { boundary::slice(image, image_len, "image")? };
        let rank = rank_of(rank)?;
        let res = search_image(db, enc, image, Reach::Nearest(k), class_filter, rank)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Search by image within Hamming distance `radius`, ranked: as `hamdb_db_search_image_radius`
/// ordered by `rank` as `hamdb_db_search_image_ranked` (class first: every item within
/// `radius`, those of the predicted class first).
///
/// # Safety
/// As `hamdb_db_search_image`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn hamdb_db_search_image_radius_ranked(
    db: *const hamdb_db,
    enc: *const hamdb_encoder,
    image: *const u8,
    image_len: usize,
    radius: u32,
    class_filter: u32,
    rank: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let enc = unsafe { handle(enc, "enc")? };
        // SAFETY: the caller's contract above.
        let image = unsafe { boundary::slice(image, image_len, "image")? };
        let rank = rank_of(rank)?;
        let res = search_image(db, enc, image, Reach::Radius(radius), class_filter, rank)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}
