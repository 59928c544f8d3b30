//! `hamdb_snapshot`: a consistent view of one commit.

use super::boundary::{self, guard, handle, CResult, Failure, Out};
use super::constants::{HAMDB_ANY_CLASS, HAMDB_NO_LABEL};
use super::results::{hamdb_item, hamdb_neighbor, hamdb_results};
use super::status::*;
use hamdb::{Code, CodeArray, CodeLen};
use hamdb::{Database, Snapshot};
use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// A query code from (pointer, length), checked against the database's code length.
pub(crate) fn query_code(len: CodeLen, bytes: &[u8]) -> CResult<Code> {
    if bytes.len() != len.bytes() {
        return Err(Failure::new(
            HAMDB_CODE_LENGTH_MISMATCH,
            format!(
                "code length mismatch: the database stores {}-bit codes ({} bytes), got {} bytes",
                len.bits(),
                len.bytes(),
                bytes.len()
            ),
        ));
    }
    Ok(Code::from_bytes(bytes)?)
}

/// A consistent, immutable view of one commit (wraps `Arc<hamdb::Snapshot>`). It keeps the
/// file's segments mapped, so it stays valid after later commits and after the database handle
/// is closed or freed.
///
/// Thread rules: any number of threads may search one snapshot at once; `hamdb_snapshot_free`
/// must be the last call and must not overlap any other.
pub struct hamdb_snapshot {
    snap: Arc<Snapshot>,
    len: CodeLen,
}

impl hamdb_snapshot {
    pub(crate) fn new(db: &Database) -> Self {
        Self {
            snap: db.snapshot(),
            len: db.code_len(),
        }
    }

    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    pub(crate) fn code_len(&self) -> CodeLen {
        self.len
    }
}

fn class_of(class_filter: u32) -> Option<u32> {
    (class_filter != HAMDB_ANY_CLASS).then_some(class_filter)
}

/// `k` bounded by the snapshot's live items: no search returns more, so nothing is sized by a
/// huge `k` (a caller may pass `SIZE_MAX` for "all").
fn bounded_k(snap: &Snapshot, k: usize) -> usize {
    usize::try_from(snap.len()).map_or(k, |n| k.min(n))
}

pub(crate) fn knn(
    snap: &Snapshot,
    len: CodeLen,
    code: &[u8],
    k: usize,
    class_filter: u32,
) -> CResult<hamdb_results> {
    let q = query_code(len, code)?;
    Ok(hamdb_results::new(snap.search(
        &q,
        bounded_k(snap, k),
        class_of(class_filter),
    )?))
}

pub(crate) fn radius(
    snap: &Snapshot,
    len: CodeLen,
    code: &[u8],
    r: u32,
    class_filter: u32,
) -> CResult<hamdb_results> {
    let q = query_code(len, code)?;
    Ok(hamdb_results::new(snap.search_radius(
        &q,
        r,
        class_of(class_filter),
    )?))
}

/// The class of a class-first search: a label, not `HAMDB_ANY_CLASS` (no item has it).
fn ranked_class(class: u32) -> CResult<u32> {
    if class == HAMDB_ANY_CLASS {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            "a class-first search needs a class, not HAMDB_ANY_CLASS".to_string(),
        ));
    }
    Ok(class)
}

pub(crate) fn knn_class_first(
    snap: &Snapshot,
    len: CodeLen,
    code: &[u8],
    k: usize,
    class: u32,
) -> CResult<hamdb_results> {
    let q = query_code(len, code)?;
    let class = ranked_class(class)?;
    Ok(hamdb_results::new(snap.search_class_first(
        &q,
        bounded_k(snap, k),
        class,
    )?))
}

pub(crate) fn radius_class_first(
    snap: &Snapshot,
    len: CodeLen,
    code: &[u8],
    r: u32,
    class: u32,
) -> CResult<hamdb_results> {
    let q = query_code(len, code)?;
    let class = ranked_class(class)?;
    Ok(hamdb_results::new(
        snap.search_radius_class_first(&q, r, class)?,
    ))
}

/// A query of several codes from (pointer, length) and a code count: `codes_len` must be
/// `n_codes` times the database's code length in bytes.
fn query_set(len: CodeLen, codes: &[u8], n_codes: usize) -> CResult<CodeArray> {
    if n_codes.checked_mul(len.bytes()) != Some(codes.len()) {
        return Err(Failure::new(
            HAMDB_CODE_LENGTH_MISMATCH,
            format!(
                "code length mismatch: {n_codes} query codes of {} bits need {} bytes, got {}",
                len.bits(),
                n_codes.saturating_mul(len.bytes()),
                codes.len()
            ),
        ));
    }
    if n_codes == 0 {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            "`n_codes`: a query set needs at least one code",
        ));
    }
    Ok(CodeArray::from_packed_bytes(len, codes)?)
}

pub(crate) fn knn_set(
    snap: &Snapshot,
    len: CodeLen,
    codes: &[u8],
    n_codes: usize,
    k: usize,
    class_filter: u32,
) -> CResult<hamdb_results> {
    let q = query_set(len, codes, n_codes)?;
    Ok(hamdb_results::new(snap.search_set(
        &q,
        bounded_k(snap, k),
        class_of(class_filter),
    )?))
}

pub(crate) fn radius_set(
    snap: &Snapshot,
    len: CodeLen,
    codes: &[u8],
    n_codes: usize,
    r: u32,
    class_filter: u32,
) -> CResult<hamdb_results> {
    let q = query_set(len, codes, n_codes)?;
    Ok(hamdb_results::new(snap.search_radius_set(
        &q,
        r,
        class_of(class_filter),
    )?))
}

pub(crate) fn knn_into(
    snap: &Snapshot,
    len: CodeLen,
    code: &[u8],
    k: usize,
    class_filter: u32,
    out: &mut [MaybeUninit<hamdb_neighbor>],
) -> CResult<usize> {
    let k = bounded_k(snap, k);
    if out.len() < k {
        return Err(Failure::new(
            HAMDB_BUFFER_TOO_SMALL,
            format!(
                "capacity {} is less than min(k, {} live items) = {k}",
                out.len(),
                snap.len()
            ),
        ));
    }
    let q = query_code(len, code)?;
    let res = snap.search(&q, k, class_of(class_filter))?;
    for (slot, hit) in out.iter_mut().zip(&res.hits) {
        slot.write(hamdb_neighbor {
            id: hit.id,
            distance: hit.distance,
            label: hit.label.unwrap_or(HAMDB_NO_LABEL),
        });
    }
    Ok(res.hits.len())
}

pub(crate) fn get(snap: &Snapshot, id: u64) -> CResult<hamdb_item> {
    match snap.get(id)? {
        Some(item) => Ok(hamdb_item::new(item)),
        None => Err(Failure::new(
            HAMDB_NOT_FOUND,
            format!("no item with id {id}"),
        )),
    }
}

/// Free a snapshot. NULL is a no-op.
///
/// # Safety
/// `snap` is NULL or a live snapshot, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_free(snap: *mut hamdb_snapshot) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(snap) };
        Ok(())
    });
}

/// The transaction number of the commit this snapshot shows, into `*out`.
///
/// # Safety
/// `snap` is NULL or a live snapshot; `out` is NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_txn(snap: *const hamdb_snapshot, out: *mut u64) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let txn = unsafe { handle(snap, "snap")? }.snap.txn();
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(txn) };
        Ok(())
    })
}

/// The number of live items in the snapshot, into `*out`.
///
/// # Safety
/// `snap` is NULL or a live snapshot; `out` is NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_len(snap: *const hamdb_snapshot, out: *mut u64) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let n = unsafe { handle(snap, "snap")? }.snap.len();
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(n) };
        Ok(())
    })
}

/// k-NN search of the snapshot; as `hamdb_db_search`.
///
/// # Safety
/// `snap` is NULL or a live snapshot; `code` is NULL or points to `code_len` bytes; `out` is
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search(
    snap: *const hamdb_snapshot,
    code: *const u8,
    code_len: usize,
    k: usize,
    class_filter: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let code = unsafe { boundary::slice(code, code_len, "code")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let res = knn(&s.snap, s.len, code, k, class_filter)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Radius search of the snapshot; as `hamdb_db_search_radius`.
///
/// # Safety
/// As `hamdb_snapshot_search`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_radius(
    snap: *const hamdb_snapshot,
    code: *const u8,
    code_len: usize,
    radius: u32,
    class_filter: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let code = unsafe { boundary::slice(code, code_len, "code")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let res = self::radius(&s.snap, s.len, code, radius, class_filter)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Class-first k-NN search of the snapshot; as `hamdb_db_search_class_first`.
///
/// # Safety
/// As `hamdb_snapshot_search`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_class_first(
    snap: *const hamdb_snapshot,
    code: *const u8,
    code_len: usize,
    k: usize,
    class: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let code = unsafe { boundary::slice(code, code_len, "code")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let res = knn_class_first(&s.snap, s.len, code, k, class)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Class-first radius search of the snapshot; as `hamdb_db_search_radius_class_first`.
///
/// # Safety
/// As `hamdb_snapshot_search`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_radius_class_first(
    snap: *const hamdb_snapshot,
    code: *const u8,
    code_len: usize,
    radius: u32,
    class: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let code = unsafe { boundary::slice(code, code_len, "code")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let res = radius_class_first(&s.snap, s.len, code, radius, class)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// k-NN search of the snapshot by a query of several codes; as `hamdb_db_search_set`.
///
/// # Safety
/// `snap` is NULL or a live snapshot; `codes` is NULL or points to `codes_len` bytes; `out` is
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_set(
    snap: *const hamdb_snapshot,
    codes: *const u8,
    codes_len: usize,
    n_codes: usize,
    k: usize,
    class_filter: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let codes = unsafe { boundary::slice(codes, codes_len, "codes")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let res = knn_set(&s.snap, s.len, codes, n_codes, k, class_filter)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Radius search of the snapshot by a query of several codes; as
/// `hamdb_db_search_radius_set`.
///
/// # Safety
/// As `hamdb_snapshot_search_set`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_radius_set(
    snap: *const hamdb_snapshot,
    codes: *const u8,
    codes_len: usize,
    n_codes: usize,
    radius: u32,
    class_filter: u32,
    out: *mut *mut hamdb_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let codes = unsafe { boundary::slice(codes, codes_len, "codes")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let res = radius_set(&s.snap, s.len, codes, n_codes, radius, class_filter)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// k-NN search of the snapshot into a caller-allocated array; as `hamdb_db_search_into`: `cap`
/// must be at least min(`k`, `hamdb_snapshot_len`).
///
/// # Safety
/// `snap` is NULL or a live snapshot; `code` is NULL or points to `code_len` bytes; `out` is
/// NULL or valid for `cap` writes of `hamdb_neighbor`; `n_out` is NULL or valid for a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_into(
    snap: *const hamdb_snapshot,
    code: *const u8,
    code_len: usize,
    k: usize,
    class_filter: u32,
    out: *mut hamdb_neighbor,
    cap: usize,
    n_out: *mut usize,
) -> c_int {
    guard(|| {
        let n_out = Out::new(n_out, "n_out")?;
        // SAFETY: the caller's contract above.
        let out = unsafe { boundary::out_slice(out, cap, "out")? };
        // SAFETY: the caller's contract above.
        let code = unsafe { boundary::slice(code, code_len, "code")? };
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(snap, "snap")? };
        let n = knn_into(&s.snap, s.len, code, k, class_filter, out)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { n_out.write(n) };
        Ok(())
    })
}

/// The live item with this id in the snapshot; as `hamdb_db_get`.
///
/// # Safety
/// `snap` is NULL or a live snapshot; `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_get(
    snap: *const hamdb_snapshot,
    id: u64,
    out: *mut *mut hamdb_item,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let item = get(&unsafe { handle(snap, "snap")? }.snap, id)?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(item)) };
        Ok(())
    })
}
