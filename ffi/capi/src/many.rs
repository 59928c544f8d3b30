//! Batched searches (`hamdb_snapshot_search_many`, `hamdb_db_search_many` and their radius
//! forms) and their results, `hamdb_many_results`: every query's neighbours in one flat array
//! with per-query offsets.

use super::boundary::{self, guard, guard_value, handle, CResult, Failure, Out};
use super::constants::{HAMDB_ANY_CLASS, HAMDB_NO_LABEL};
use super::db::hamdb_db;
use super::results::hamdb_neighbor;
use super::snapshot::hamdb_snapshot;
use super::status::*;
use hamdb::{CodeArray, CodeLen, QueryResult, SearchManyOptions, Snapshot};
use std::ffi::c_int;

/// The results of one batched search: for query `i` (0-based, in input order), its neighbours
/// are `neighbors[lims[i] .. lims[i + 1]]`, ascending by (distance, id), exactly what the
/// one-query search returns for that query (without payloads). Immutable: any number of threads
/// may read one object at once; `hamdb_many_results_free` must be the last call and must not
/// overlap any other.
pub struct hamdb_many_results {
    lims: Vec<usize>,
    neighbors: Vec<hamdb_neighbor>,
}

impl hamdb_many_results {
    fn new(results: Vec<QueryResult>) -> Self {
        let total = results.iter().map(|r| r.hits.len()).sum();
        let mut lims = Vec::with_capacity(results.len() + 1);
        let mut neighbors = Vec::with_capacity(total);
        lims.push(0);
        for r in &results {
            neighbors.extend(r.hits.iter().map(|h| hamdb_neighbor {
                id: h.id,
                distance: h.distance,
                label: h.label.unwrap_or(HAMDB_NO_LABEL),
            }));
            lims.push(neighbors.len());
        }
        Self { lims, neighbors }
    }
}

/// The arrays of a `hamdb_many_results` (`hamdb_many_results_view`). Pointers borrow from the
/// results object and are valid until it is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hamdb_many_results_fields {
    /// The number of queries.
    pub n_queries: usize,
    /// `n_queries + 1` offsets into `neighbors`: query `i`'s neighbours are
    /// `neighbors[lims[i] .. lims[i + 1]]`; `lims[0]` is 0 and `lims[n_queries]` is
    /// `n_neighbors` (never NULL).
    pub lims: *const usize,
    /// Every query's neighbours, query after query (NULL when there are none).
    pub neighbors: *const hamdb_neighbor,
    /// The total number of neighbours.
    pub n_neighbors: usize,
}

/// The queries of a batched search, from (pointer, length) and a query count: `codes_len` must
/// be `n_queries` times the database's code length in bytes.
fn queries(len: CodeLen, codes: &[u8], n_queries: usize) -> CResult<CodeArray> {
    if n_queries.checked_mul(len.bytes()) != Some(codes.len()) {
        return Err(Failure::new(
            HAMDB_CODE_LENGTH_MISMATCH,
            format!(
                "code length mismatch: {n_queries} queries of {}-bit codes need {} bytes, got {}",
                len.bits(),
                n_queries.saturating_mul(len.bytes()),
                codes.len()
            ),
        ));
    }
    Ok(CodeArray::from_packed_bytes(len, codes)?)
}

fn options(class_filter: u32, threads: usize) -> SearchManyOptions {
    SearchManyOptions {
        class: (class_filter != HAMDB_ANY_CLASS).then_some(class_filter),
        threads,
    }
}

/// What to search for.
#[derive(Clone, Copy)]
enum Want {
    Knn(usize),
    Radius(u32),
}

/// A batched search's parameters besides its queries.
#[derive(Clone, Copy)]
struct Request {
    want: Want,
    class_filter: u32,
    threads: usize,
}

fn run(
    snap: &Snapshot,
    len: CodeLen,
    codes: &[u8],
    n_queries: usize,
    req: Request,
) -> CResult<hamdb_many_results> {
    let q = queries(len, codes, n_queries)?;
    let opts = options(req.class_filter, req.threads);
    let res = match req.want {
        // `k` bounded by the live items, as the one-query search (`SIZE_MAX` means "all").
        Want::Knn(k) => {
            let k = usize::try_from(snap.len()).map_or(k, |n| k.min(n));
            snap.search_many(&q, k, &opts)?
        }
        Want::Radius(r) => snap.search_radius_many(&q, r, &opts)?,
    };
    Ok(hamdb_many_results::new(res))
}

/// The shared body of the four entry points.
///
/// # Safety
/// `codes` is NULL or points to `codes_len` bytes.
unsafe fn search(
    target: Target,
    codes: *const u8,
    codes_len: usize,
    n_queries: usize,
    req: Request,
    out: *mut *mut hamdb_many_results,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let codes = unsafe { boundary::slice(codes, codes_len, "codes")? };
        let res = match target {
            Target::Snapshot(snap) => {
                // SAFETY: the entry point's contract.
                let s = unsafe { handle(snap, "snap")? };
                run(s.snapshot(), s.code_len(), codes, n_queries, req)?
            }
            Target::Db(db) => {
                // SAFETY: the entry point's contract.
                unsafe { handle(db, "db")? }
                    .with(|db| run(&db.snapshot(), db.code_len(), codes, n_queries, req))?
            }
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

#[derive(Clone, Copy)]
enum Target {
    Snapshot(*const hamdb_snapshot),
    Db(*const hamdb_db),
}

/// Batched k-NN search of the latest commit: `n_queries` query codes packed one after another
/// in `codes` (`codes_len` must be `n_queries` times the code length in bytes, else
/// `HAMDB_CODE_LENGTH_MISMATCH`), each answered exactly as `hamdb_db_search` answers it.
/// `class_filter` as `hamdb_db_search`. `threads`: 0 = automatic (up to one per core, shared
/// with the process's other batched searches so that concurrent callers do not oversubscribe
/// the cores), n = exactly n; more than `HAMDB_MAX_THREADS` fails with
/// `HAMDB_INVALID_PARAMETER`. `n_queries` may be 0. On success `*out` receives a results object
/// the caller frees with `hamdb_many_results_free`.
///
/// # Safety
/// `db` is NULL or a live handle; `codes` is NULL or points to `codes_len` bytes; `out` is NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_many(
    db: *const hamdb_db,
    codes: *const u8,
    codes_len: usize,
    n_queries: usize,
    k: usize,
    class_filter: u32,
    threads: usize,
    out: *mut *mut hamdb_many_results,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        search(
            Target::Db(db),
            codes,
            codes_len,
            n_queries,
            Request {
                want: Want::Knn(k),
                class_filter,
                threads,
            },
            out,
        )
    }
}

/// Batched radius search of the latest commit: each query answered as `hamdb_db_search_radius`
/// answers it. Other arguments as `hamdb_db_search_many`.
///
/// # Safety
/// As `hamdb_db_search_many`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_radius_many(
    db: *const hamdb_db,
    codes: *const u8,
    codes_len: usize,
    n_queries: usize,
    radius: u32,
    class_filter: u32,
    threads: usize,
    out: *mut *mut hamdb_many_results,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        search(
            Target::Db(db),
            codes,
            codes_len,
            n_queries,
            Request {
                want: Want::Radius(radius),
                class_filter,
                threads,
            },
            out,
        )
    }
}

/// Batched k-NN search of the snapshot; as `hamdb_db_search_many`.
///
/// # Safety
/// `snap` is NULL or a live snapshot; `codes` is NULL or points to `codes_len` bytes; `out` is
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_many(
    snap: *const hamdb_snapshot,
    codes: *const u8,
    codes_len: usize,
    n_queries: usize,
    k: usize,
    class_filter: u32,
    threads: usize,
    out: *mut *mut hamdb_many_results,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        search(
            Target::Snapshot(snap),
            codes,
            codes_len,
            n_queries,
            Request {
                want: Want::Knn(k),
                class_filter,
                threads,
            },
            out,
        )
    }
}

/// Batched radius search of the snapshot; as `hamdb_db_search_radius_many`.
///
/// # Safety
/// As `hamdb_snapshot_search_many`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_snapshot_search_radius_many(
    snap: *const hamdb_snapshot,
    codes: *const u8,
    codes_len: usize,
    n_queries: usize,
    radius: u32,
    class_filter: u32,
    threads: usize,
    out: *mut *mut hamdb_many_results,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        search(
            Target::Snapshot(snap),
            codes,
            codes_len,
            n_queries,
            Request {
                want: Want::Radius(radius),
                class_filter,
                threads,
            },
            out,
        )
    }
}

/// The number of queries (0 for NULL).
///
/// # Safety
/// `results` is NULL or a live results object.
#[no_mangle]
pub unsafe extern "C" fn hamdb_many_results_len(results: *const hamdb_many_results) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(results, "results") }.map_or(0, |r| r.lims.len() - 1)
    })
}

/// The results' arrays into `*out` (pointers borrow from the results object).
///
/// # Safety
/// `results` is NULL or a live results object; `out` is NULL or valid for writing a
/// `hamdb_many_results_fields`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_many_results_view(
    results: *const hamdb_many_results,
    out: *mut hamdb_many_results_fields,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let r = unsafe { handle(results, "results")? };
        let fields = hamdb_many_results_fields {
            n_queries: r.lims.len() - 1,
            lims: r.lims.as_ptr(),
            neighbors: if r.neighbors.is_empty() {
                std::ptr::null()
            } else {
                r.neighbors.as_ptr()
            },
            n_neighbors: r.neighbors.len(),
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(fields) };
        Ok(())
    })
}

/// Free a batched search's results (the pointers from `hamdb_many_results_view` dangle
/// afterwards). NULL is a no-op.
///
/// # Safety
/// `results` is NULL or a live results object, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_many_results_free(results: *mut hamdb_many_results) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(results) };
        Ok(())
    });
}
