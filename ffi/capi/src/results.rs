//! `hamdb_results` (search results) and `hamdb_item` (one stored item).

use super::boundary::{self, guard, guard_value, handle, Failure, Out};
use super::constants::HAMDB_NO_LABEL;
use super::status::*;
use hamdb::SearchPath;
use hamdb::{Item, QueryResult};
use std::ffi::c_int;

/// A predicted class: `hamdb_encoder_classify`, and `hamdb_results_prediction` for the
/// results of an image search.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_prediction {
    /// The predicted class (an index into the model's class names).
    pub class_id: u32,
    /// Its softmax probability.
    pub probability: f32,
}

/// The results of one search (wraps `hamdb::QueryResult`): hits ascending by (distance, id).
/// Immutable: any number of threads may read one results object at once;
/// `hamdb_results_free` must be the last call and must not overlap any other.
pub struct hamdb_results {
    res: QueryResult,
    /// The query image's predicted class (image searches only).
    prediction: Option<hamdb_prediction>,
}

impl hamdb_results {
    pub(crate) fn new(res: QueryResult) -> Self {
        Self {
            res,
            prediction: None,
        }
    }

    pub(crate) fn with_prediction(res: QueryResult, prediction: hamdb_prediction) -> Self {
        Self {
            res,
            prediction: Some(prediction),
        }
    }
}

/// One stored item (wraps `hamdb::Item`). Immutable; thread rules as `hamdb_results`.
pub struct hamdb_item {
    item: Item,
    /// Every code of the item, packed one after another (the first one first).
    codes: Vec<u8>,
    /// The number of codes.
    n_codes: usize,
    /// Bytes per code.
    code_len: usize,
}

impl hamdb_item {
    pub(crate) fn new(item: Item) -> Self {
        let code_len = item.code.len().bytes();
        let n_codes = 1 + item.more_codes.len();
        let mut codes = Vec::with_capacity(n_codes * code_len);
        for c in item.codes() {
            codes.extend_from_slice(&c.to_bytes());
        }
        Self {
            item,
            codes,
            n_codes,
            code_len,
        }
    }
}

/// One search hit. `payload` points into the results object that produced it (NULL when the
/// payload is empty) and is valid until that object is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hamdb_hit {
    /// The item's id.
    pub id: u64,
    /// Hamming distance to the query.
    pub distance: u32,
    /// The item's label, or `HAMDB_NO_LABEL`.
    pub label: u32,
    /// The item's payload (borrowed from the results object; NULL if empty).
    pub payload: *const u8,
    /// Payload length in bytes.
    pub payload_len: usize,
}

/// One neighbour written by the `*_search_into` functions (no payload).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct hamdb_neighbor {
    /// The item's id.
    pub id: u64,
    /// Hamming distance to the query.
    pub distance: u32,
    /// The item's label, or `HAMDB_NO_LABEL`.
    pub label: u32,
}

/// Which algorithm answered a query (`hamdb_search_stats.path`): none ran (empty database).
pub const HAMDB_PATH_NONE: c_int = 0;
/// Multi-index hashing answered the query.
pub const HAMDB_PATH_MIH: c_int = 1;
/// A linear scan answered the query.
pub const HAMDB_PATH_LINEAR_SCAN: c_int = 2;
/// MIH started, its work passed the cost of a scan, and a scan finished.
pub const HAMDB_PATH_MIH_THEN_SCAN: c_int = 3;

/// What a search did (`hamdb_results_stats`), summed over segments and the delta.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_search_stats {
    /// `HAMDB_PATH_*` of the largest segment (or of the delta scan).
    pub path: c_int,
    /// MIH buckets looked up.
    pub buckets_probed: u64,
    /// Codes whose full distance was computed.
    pub candidates_checked: u64,
}

/// A stored item's fields (`hamdb_item_view`). Pointers borrow from the item object and are
/// valid until it is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hamdb_item_fields {
    /// The item's id.
    pub id: u64,
    /// The item's label, or `HAMDB_NO_LABEL`.
    pub label: u32,
    /// The packed (first) code (never NULL); `hamdb_item_code_count`, `hamdb_item_code` and
    /// `hamdb_item_codes` give every code of an item of several.
    pub code: *const u8,
    /// Code length in bytes.
    pub code_len: usize,
    /// The payload (NULL if empty).
    pub payload: *const u8,
    /// Payload length in bytes.
    pub payload_len: usize,
}

fn bytes_ptr(b: &[u8]) -> *const u8 {
    if b.is_empty() {
        std::ptr::null()
    } else {
        b.as_ptr()
    }
}

fn hit_at(r: &hamdb_results, i: usize) -> Option<hamdb_hit> {
    r.res.hits.get(i).map(|h| hamdb_hit {
        id: h.id,
        distance: h.distance,
        label: h.label.unwrap_or(HAMDB_NO_LABEL),
        payload: bytes_ptr(&h.payload),
        payload_len: h.payload.len(),
    })
}

/// The number of hits (0 for NULL).
///
/// # Safety
/// `results` is NULL or a live results object.
#[no_mangle]
pub unsafe extern "C" fn hamdb_results_len(results: *const hamdb_results) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(results, "results") }.map_or(0, |r| r.res.hits.len())
    })
}

/// Hit `index` (0-based) into `*out`; `HAMDB_NOT_FOUND` past the end.
///
/// # Safety
/// `results` is NULL or a live results object; `out` is NULL or valid for writing a
/// `hamdb_hit`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_results_get(
    results: *const hamdb_results,
    index: usize,
    out: *mut hamdb_hit,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let r = unsafe { handle(results, "results")? };
        let hit = hit_at(r, index).ok_or_else(|| {
            Failure::new(
                HAMDB_NOT_FOUND,
                format!("hit {index} of {} hits", r.res.hits.len()),
            )
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(hit) };
        Ok(())
    })
}

/// Copy every hit into the caller's array `out` of `cap` elements and their count into
/// `*n_out`. If `cap` is too small, returns `HAMDB_BUFFER_TOO_SMALL`, writes nothing to `out`
/// and still writes the required count to `*n_out`.
///
/// # Safety
/// `results` is NULL or a live results object; `out` is NULL or valid for `cap` writes of
/// `hamdb_hit`; `n_out` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_results_copy(
    results: *const hamdb_results,
    out: *mut hamdb_hit,
    cap: usize,
    n_out: *mut usize,
) -> c_int {
    guard(|| {
        let n_out = Out::new(n_out, "n_out")?;
        // SAFETY: the caller's contract above.
        let out = unsafe { boundary::out_slice(out, cap, "out")? };
        // SAFETY: the caller's contract above.
        let r = unsafe { handle(results, "results")? };
        let n = r.res.hits.len();
        // SAFETY: valid for a write by the caller's contract.
        unsafe { n_out.write(n) };
        if n > cap {
            return Err(Failure::new(
                HAMDB_BUFFER_TOO_SMALL,
                format!("{n} hits, capacity {cap}"),
            ));
        }
        for (i, slot) in out.iter_mut().take(n).enumerate() {
            slot.write(hit_at(r, i).expect("i < n"));
        }
        Ok(())
    })
}

/// What the search did, into `*out`.
///
/// # Safety
/// `results` is NULL or a live results object; `out` is NULL or valid for writing a
/// `hamdb_search_stats`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_results_stats(
    results: *const hamdb_results,
    out: *mut hamdb_search_stats,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(results, "results")? }.res.stats;
        let stats = hamdb_search_stats {
            path: match s.path {
                None => HAMDB_PATH_NONE,
                Some(SearchPath::Mih) => HAMDB_PATH_MIH,
                Some(SearchPath::LinearScan) => HAMDB_PATH_LINEAR_SCAN,
                Some(SearchPath::MihThenScan) => HAMDB_PATH_MIH_THEN_SCAN,
            },
            buckets_probed: s.buckets_probed,
            candidates_checked: s.candidates_checked,
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(stats) };
        Ok(())
    })
}

/// The query image's predicted class into `*out`, for the results of `hamdb_db_search_image`
/// and `hamdb_db_search_image_radius`; `HAMDB_NOT_FOUND` for a search by code.
///
/// # Safety
/// `results` is NULL or a live results object; `out` is NULL or valid for writing a
/// `hamdb_prediction`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_results_prediction(
    results: *const hamdb_results,
    out: *mut hamdb_prediction,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let p = unsafe { handle(results, "results")? }
            .prediction
            .ok_or_else(|| Failure::new(HAMDB_NOT_FOUND, "a search by code has no prediction"))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(p) };
        Ok(())
    })
}

/// Free a results object (every `hamdb_hit.payload` from it dangles afterwards). NULL is a
/// no-op.
///
/// # Safety
/// `results` is NULL or a live results object, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_results_free(results: *mut hamdb_results) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(results) };
        Ok(())
    });
}

/// The item's fields into `*out` (pointers borrow from the item).
///
/// # Safety
/// `item` is NULL or a live item; `out` is NULL or valid for writing a `hamdb_item_fields`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_item_view(
    item: *const hamdb_item,
    out: *mut hamdb_item_fields,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let it = unsafe { handle(item, "item")? };
        let fields = hamdb_item_fields {
            id: it.item.id,
            label: it.item.label.unwrap_or(HAMDB_NO_LABEL),
            code: it.codes.as_ptr(),
            code_len: it.code_len,
            payload: bytes_ptr(&it.item.payload),
            payload_len: it.item.payload.len(),
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(fields) };
        Ok(())
    })
}

/// The number of codes of the item (1 for an item of one code; up to
/// `HAMDB_MAX_CODES_PER_ITEM`); 0 for NULL.
///
/// # Safety
/// `item` is NULL or a live item.
#[no_mangle]
pub unsafe extern "C" fn hamdb_item_code_count(item: *const hamdb_item) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(item, "item") }.map_or(0, |it| it.n_codes)
    })
}

/// Code `index` (0-based, in the order they were inserted; code 0 is `hamdb_item_fields.code`)
/// of the item: `*code` receives a pointer to `*code_len` bytes of packed code, borrowed from
/// the item and valid until it is freed; `HAMDB_NOT_FOUND` past the last code.
///
/// # Safety
/// `item` is NULL or a live item; `code` and `code_len` are NULL or valid for one write each.
#[no_mangle]
pub unsafe extern "C" fn hamdb_item_code(
    item: *const hamdb_item,
    index: usize,
    code: *mut *const u8,
    code_len: *mut usize,
) -> c_int {
    guard(|| {
        let code = Out::new(code, "code")?;
        let code_len = Out::new(code_len, "code_len")?;
        // SAFETY: the caller's contract above.
        let it = unsafe { handle(item, "item")? };
        if index >= it.n_codes {
            return Err(Failure::new(
                HAMDB_NOT_FOUND,
                format!("code {index} of an item of {} codes", it.n_codes),
            ));
        }
        // SAFETY: both valid for a write by the caller's contract; `index < n_codes`, so the
        // code lies inside `codes`.
        unsafe {
            code.write(it.codes[index * it.code_len..].as_ptr());
            code_len.write(it.code_len);
        }
        Ok(())
    })
}

/// Every code of the item at once: `*codes` receives a pointer to `*n_codes` packed codes of
/// `hamdb_item_fields.code_len` bytes each, one after another (the first one first), borrowed
/// from the item and valid until it is freed.
///
/// # Safety
/// `item` is NULL or a live item; `codes` and `n_codes` are NULL or valid for one write each.
#[no_mangle]
pub unsafe extern "C" fn hamdb_item_codes(
    item: *const hamdb_item,
    codes: *mut *const u8,
    n_codes: *mut usize,
) -> c_int {
    guard(|| {
        let codes = Out::new(codes, "codes")?;
        let n_codes = Out::new(n_codes, "n_codes")?;
        // SAFETY: the caller's contract above.
        let it = unsafe { handle(item, "item")? };
        // SAFETY: both valid for a write by the caller's contract.
        unsafe {
            codes.write(it.codes.as_ptr());
            n_codes.write(it.n_codes);
        }
        Ok(())
    })
}

/// Free an item. NULL is a no-op.
///
/// # Safety
/// `item` is NULL or a live item, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_item_free(item: *mut hamdb_item) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(item) };
        Ok(())
    });
}
