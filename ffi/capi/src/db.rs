//! `hamdb_db`: an open database.

use super::batch::hamdb_batch;
use super::boundary::{self, guard, handle, handle_mut, CResult, Failure, Out};
use super::constants::{HAMDB_NO_ID, HAMDB_OPEN_NO_AUTO_COMPACT, HAMDB_OPEN_READ_ONLY};
use super::results::{hamdb_item, hamdb_neighbor, hamdb_results};
use super::snapshot::{self, hamdb_snapshot};
use super::status::*;
use hamdb::CodeArray;
use hamdb::{CompactionPolicy, CreateOptions, Database, Import, OpenOptions};
use std::ffi::{c_char, c_int};
use std::path::Path;
use std::sync::RwLock;
use std::time::Duration;

/// An open database (wraps `hamdb::Database`).
///
/// Thread rules: every function taking a `hamdb_db*` may be called from any thread, and
/// concurrently from several threads, except `hamdb_db_free`, which must be the last call on
/// the handle and must not overlap any other. Searches run in parallel; commits, flushes,
/// imports and compactions are serialised inside the library. `hamdb_db_close` waits for calls
/// in flight on other threads, then makes every later call return `HAMDB_CLOSED`.
pub struct hamdb_db {
    db: RwLock<Option<Database>>,
}

impl hamdb_db {
    /// A new handle for C.
    pub(crate) fn new_handle(db: Database) -> *mut hamdb_db {
        boundary::into_raw(hamdb_db {
            db: RwLock::new(Some(db)),
        })
    }

    /// Run `f` on the open database, or fail with `HAMDB_CLOSED`.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Database) -> CResult<T>) -> CResult<T> {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(Failure::new(HAMDB_CLOSED, "the database handle is closed")),
        }
    }
}

/// Statistics of a database (`hamdb_db_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_stats {
    /// Code length in bits.
    pub code_bits: u32,
    /// The last committed transaction number.
    pub txn: u64,
    /// Live items.
    pub items: u64,
    /// Immutable segments in the file.
    pub segments: u64,
    /// Items stored in segments, deleted ones included.
    pub segment_items: u64,
    /// Items in the delta (committed, not yet flushed into a segment).
    pub delta_items: u64,
    /// Segment items deleted (tombstones) and not yet compacted away.
    pub deleted_in_segments: u64,
    /// Committed length of the file in bytes.
    pub file_bytes: u64,
}

/// What a commit or import did (`hamdb_db_commit`, `hamdb_db_import`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_commit_info {
    /// The transaction number of the commit.
    pub txn: u64,
    /// How many ids the commit assigned (auto-id inserts, or an import without ids).
    pub assigned_count: u64,
    /// The first assigned id (`HAMDB_NO_ID` if none; 0.1 reported 0, a real id). An import
    /// assigns consecutive ids from it; a commit's assigned ids are listed by
    /// `hamdb_batch_assigned_ids`.
    pub first_assigned_id: u64,
    /// `HAMDB_OK`, or the status of an automatic flush or compaction that failed after the
    /// commit became durable (the commit stands; the handle is then poisoned for writes).
    pub maintenance_status: c_int,
}

/// What `hamdb_verify` checked.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_verify_report {
    /// The last committed transaction number.
    pub txn: u64,
    /// Segments checked.
    pub segments: u64,
    /// Live items.
    pub items: u64,
    /// Delta batches replayed.
    pub delta_batches: u64,
}

fn open_options(flags: u32) -> CResult<OpenOptions> {
    let known = HAMDB_OPEN_READ_ONLY | HAMDB_OPEN_NO_AUTO_COMPACT;
    if flags & !known != 0 {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            format!("unknown open flags {:#x}", flags & !known),
        ));
    }
    Ok(OpenOptions {
        read_only: flags & HAMDB_OPEN_READ_ONLY != 0,
        compaction: (flags & HAMDB_OPEN_NO_AUTO_COMPACT != 0).then(CompactionPolicy::disabled),
        ..OpenOptions::default()
    })
}

/// Options of `hamdb_db_create_with_options`; zeroed fields (or a NULL pointer) take the
/// defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_create_options {
    /// The Hamming radius searches are expected to use (at most `code_bits`, else
    /// `HAMDB_INVALID_PARAMETER`): the multi-index tables are cut for it and it is recorded in
    /// the file. Read only when `has_expected_radius` is true; otherwise the default cut.
    pub expected_radius: u32,
    /// Whether `expected_radius` is set.
    pub has_expected_radius: bool,
}

/// Options of `hamdb_db_open_with_options`; zeroed fields (or a NULL pointer) take the
/// defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct hamdb_open_options {
    /// How long a read-write open retries, in milliseconds, while another handle or process
    /// holds the write lock, before it fails with `HAMDB_LOCKED` (0: fail at once). Read only
    /// when `has_lock_wait` is true; otherwise 200 ms, the window in which a child process
    /// forked by another thread still shares a just-closed handle's lock. Ignored by
    /// read-only opens, which take no lock.
    pub lock_wait_ms: u32,
    /// Whether `lock_wait_ms` is set.
    pub has_lock_wait: bool,
}

/// The shared body of `hamdb_db_create` and `hamdb_db_create_with_options`.
///
/// # Safety
/// As `hamdb_db_create_with_options`.
unsafe fn create(
    path: *const c_char,
    code_bits: usize,
    fingerprint: *const u8,
    fingerprint_len: usize,
    create: Option<&hamdb_create_options>,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let path = unsafe { boundary::path(path, "path")? };
        // SAFETY: the caller's contract above.
        let fingerprint = unsafe { boundary::slice(fingerprint, fingerprint_len, "fingerprint")? };
        if flags & HAMDB_OPEN_READ_ONLY != 0 {
            return Err(Failure::new(
                HAMDB_INVALID_PARAMETER,
                "HAMDB_OPEN_READ_ONLY makes no sense for create",
            ));
        }
        let options = open_options(flags)?;
        let db = Database::create_with(
            path,
            CreateOptions {
                code_bits,
                fingerprint: fingerprint.to_vec(),
                expected_radius: create
                    .filter(|c| c.has_expected_radius)
                    .map(|c| c.expected_radius),
            },
            options,
        )?;
        // SAFETY: `out` is valid for a write by the caller's contract.
        unsafe { out.write(hamdb_db::new_handle(db)) };
        Ok(())
    })
}

/// Create a new database file at `path` (a NUL-terminated file name; the file must not exist)
/// for `code_bits`-bit codes (a multiple of 8 in 8..=1024), recording `fingerprint` (the
/// encoder's identity, up to 64 bytes; NULL with length 0 for a code-only database), and open
/// it for writing. `flags`: 0 or `HAMDB_OPEN_NO_AUTO_COMPACT`.
///
/// On success `*out` receives a new handle, which the caller frees with `hamdb_db_free`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `fingerprint` is NULL or points to
/// `fingerprint_len` bytes; `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_create(
    path: *const c_char,
    code_bits: usize,
    fingerprint: *const u8,
    fingerprint_len: usize,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        create(
            path,
            code_bits,
            fingerprint,
            fingerprint_len,
            None,
            flags,
            out,
        )
    }
}

/// As `hamdb_db_create`, with `options` (NULL: the defaults, which is `hamdb_db_create`).
///
/// # Safety
/// As `hamdb_db_create`; `options` is NULL or points to a `hamdb_create_options`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_create_with_options(
    path: *const c_char,
    code_bits: usize,
    fingerprint: *const u8,
    fingerprint_len: usize,
    options: *const hamdb_create_options,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    // SAFETY: the caller's contract above.
    let options = unsafe { options.as_ref() };
    // SAFETY: forwarded contract.
    unsafe {
        create(
            path,
            code_bits,
            fingerprint,
            fingerprint_len,
            options,
            flags,
            out,
        )
    }
}

/// The expected radius recorded at creation into `*out`; `HAMDB_NOT_FOUND` when none was set.
///
/// # Safety
/// `db` is NULL or a live handle; `out` is NULL or valid for writing a `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_expected_radius(db: *const hamdb_db, out: *mut u32) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let r = unsafe { handle(db, "db")? }.with(|db| {
            db.expected_radius()
                .ok_or_else(|| Failure::new(HAMDB_NOT_FOUND, "no expected radius was set"))
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(r) };
        Ok(())
    })
}

/// Open the database at `path` (NUL-terminated). `flags`: a bitwise OR of
/// `HAMDB_OPEN_READ_ONLY` (no write lock; writes fail with `HAMDB_READ_ONLY`) and
/// `HAMDB_OPEN_NO_AUTO_COMPACT`. Read-write opening fails with `HAMDB_LOCKED` while another
/// handle or process has the database open for writing; it first retries for up to 200 ms, the
/// window in which a child process forked by another thread still shares a just-closed
/// handle's lock (until the child execs); `hamdb_db_open_with_options` sets another wait.
///
/// On success `*out` receives a new handle, which the caller frees with `hamdb_db_free`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_open(
    path: *const c_char,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    // SAFETY: forwarded contract (no options).
    unsafe { open(path, None, flags, out) }
}

/// As `hamdb_db_open`, with `options` (NULL: the defaults, which is `hamdb_db_open`): how long
/// a read-write open waits for another writer's lock (`lock_wait_ms`), e.g. 0 to fail at once,
/// or seconds for a process that takes turns with another writer.
///
/// # Safety
/// As `hamdb_db_open`; `options` is NULL or points to a `hamdb_open_options`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_open_with_options(
    path: *const c_char,
    options: *const hamdb_open_options,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    // SAFETY: the caller's contract above.
    let options = unsafe { options.as_ref() };
    // SAFETY: forwarded contract.
    unsafe { open(path, options, flags, out) }
}

/// The shared body of `hamdb_db_open` and `hamdb_db_open_with_options`.
///
/// # Safety
/// As `hamdb_db_open_with_options`.
unsafe fn open(
    path: *const c_char,
    options: Option<&hamdb_open_options>,
    flags: u32,
    out: *mut *mut hamdb_db,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let path = unsafe { boundary::path(path, "path")? };
        let mut open = open_options(flags)?;
        if let Some(o) = options.filter(|o| o.has_lock_wait) {
            open.lock_wait = Some(Duration::from_millis(u64::from(o.lock_wait_ms)));
        }
        let db = Database::open_with(path, open)?;
        // SAFETY: `out` is valid for a write by the caller's contract.
        unsafe { out.write(hamdb_db::new_handle(db)) };
        Ok(())
    })
}

/// Close the database: release the handle's file and its write lock. Waits for calls in flight
/// on other threads. The handle stays allocated: every later call on it returns
/// `HAMDB_CLOSED` (closing again returns `HAMDB_OK`) until `hamdb_db_free`. Snapshots, results
/// and items taken earlier stay valid; a snapshot keeps the file mapped (until it is freed) but
/// not the write lock, which belongs to the handle: the database can be reopened for writing as
/// soon as this returns, while older snapshots still answer from the commit they saw. A NULL
/// `db` is a no-op returning `HAMDB_OK`.
///
/// # Safety
/// `db` is NULL or a handle from `hamdb_db_create`/`hamdb_db_open` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_close(db: *const hamdb_db) -> c_int {
    guard(|| {
        if db.is_null() {
            return Ok(());
        }
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        let taken = db.db.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
        Ok(())
    })
}

/// Free the handle (closing the database first if it is open). NULL is a no-op. After this
/// call the pointer is dangling: using it is undefined behaviour (not detectable).
///
/// # Safety
/// `db` is NULL or a handle from `hamdb_db_create`/`hamdb_db_open` not yet freed, and no other
/// thread uses it during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_free(db: *mut hamdb_db) {
    // A panic while dropping is caught and dropped: free has no status to report it.
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(db) };
        Ok(())
    });
}

/// The database's code length in bits, into `*out`.
///
/// # Safety
/// `db` is NULL or a live handle; `out` is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_code_bits(db: *const hamdb_db, out: *mut usize) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let bits = unsafe { handle(db, "db")? }.with(|db| Ok(db.code_len().bits()))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(bits) };
        Ok(())
    })
}

/// Counts of the latest commit, into `*out`.
///
/// # Safety
/// `db` is NULL or a live handle; `out` is NULL or valid for writing a `hamdb_stats`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_stats(db: *const hamdb_db, out: *mut hamdb_stats) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let s = unsafe { handle(db, "db")? }.with(|db| Ok(db.stats()))?;
        let stats = hamdb_stats {
            code_bits: s.code_bits as u32,
            txn: s.txn,
            items: s.items,
            segments: s.segments as u64,
            segment_items: s.segment_items,
            delta_items: s.delta_items,
            deleted_in_segments: s.deleted_in_segments,
            file_bytes: s.file_bytes,
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(stats) };
        Ok(())
    })
}

/// Copy the encoder fingerprint recorded at creation into `buf` (`cap` bytes) and its length
/// into `*len_out`. If `cap` is too small, returns `HAMDB_BUFFER_TOO_SMALL`, leaves `buf`
/// untouched and still writes the required length to `*len_out` (the one output written on
/// failure). `buf` may be NULL when `cap` is 0 (to ask for the length).
///
/// # Safety
/// `db` is NULL or a live handle; `buf` is NULL or valid for `cap` bytes of writes; `len_out`
/// is NULL or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_fingerprint(
    db: *const hamdb_db,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
) -> c_int {
    guard(|| {
        let len_out = Out::new(len_out, "len_out")?;
        // SAFETY: the caller's contract above.
        let buf = unsafe { boundary::out_slice(buf, cap, "buf")? };
        // SAFETY: the caller's contract above.
        let fp = unsafe { handle(db, "db")? }.with(|db| Ok(db.fingerprint().to_vec()))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { len_out.write(fp.len()) };
        if fp.len() > buf.len() {
            return Err(Failure::new(
                HAMDB_BUFFER_TOO_SMALL,
                format!("fingerprint is {} bytes, buffer holds {cap}", fp.len()),
            ));
        }
        for (slot, &b) in buf.iter_mut().zip(&fp) {
            slot.write(b);
        }
        Ok(())
    })
}

/// Commit `batch` atomically and durably: when this returns `HAMDB_OK` every write in it
/// survives a crash; on failure none happened. On success the batch is emptied (ready for
/// reuse) and `hamdb_batch_assigned_ids` lists the ids given to its auto-id inserts; on
/// failure the batch is left unchanged. `info` may be NULL.
///
/// A failed write (I/O) poisons the handle: later writes return `HAMDB_POISONED` until the
/// database is reopened; everything committed before stays on disk.
///
/// # Safety
/// `db` is NULL or a live handle; `batch` is NULL or a live batch not used by another thread
/// during the call; `info` is NULL or valid for writing a `hamdb_commit_info`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_commit(
    db: *const hamdb_db,
    batch: *mut hamdb_batch,
    info: *mut hamdb_commit_info,
) -> c_int {
    guard(|| {
        let info = Out::optional(info);
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above (exclusive use of the batch).
        let batch = unsafe { handle_mut(batch, "batch")? };
        let done = db.with(|db| Ok(db.commit(batch.to_write_batch())?))?;
        batch.committed(done.assigned_ids.clone());
        if let Some(info) = info {
            let i = hamdb_commit_info {
                txn: done.txn,
                assigned_count: done.assigned_ids.len() as u64,
                first_assigned_id: done.assigned_ids.first().copied().unwrap_or(HAMDB_NO_ID),
                maintenance_status: done.maintenance_error.as_ref().map_or(HAMDB_OK, status_of),
            };
            // SAFETY: valid for a write by the caller's contract.
            unsafe { info.write(i) };
        }
        Ok(())
    })
}

/// Move the delta into a new immutable segment (one commit). Commits do this automatically
/// past 65,536 delta items.
///
/// # Safety
/// `db` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_flush(db: *const hamdb_db) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { handle(db, "db")? }.with(|db| Ok(db.flush()?))
    })
}

/// Rewrite the database with one segment of the live items (reclaims deleted items).
///
/// # Safety
/// `db` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_compact(db: *const hamdb_db) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { handle(db, "db")? }.with(|db| Ok(db.compact()?))
    })
}

/// Pick up commits made by other handles or processes (for read-only handles). `*changed`
/// (may be NULL) receives whether the state changed.
///
/// # Safety
/// `db` is NULL or a live handle; `changed` is NULL or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_refresh(db: *const hamdb_db, changed: *mut bool) -> c_int {
    guard(|| {
        let changed = Out::optional(changed);
        // SAFETY: the caller's contract above.
        let c = unsafe { handle(db, "db")? }.with(|db| Ok(db.refresh()?))?;
        if let Some(out) = changed {
            // SAFETY: valid for a write by the caller's contract.
            unsafe { out.write(c) };
        }
        Ok(())
    })
}

/// Bulk import as one new segment in one commit. `codes` holds `codes_len` bytes of packed
/// codes (a whole number of codes of the database's length; `count = codes_len / code_bytes`).
/// The optional columns have `count` entries each or are NULL: `ids` (NULL: consecutive new
/// ids from `info->first_assigned_id`), `labels` (NULL: no labels; `HAMDB_NO_LABEL` is
/// rejected inside the array), and payloads
/// as two parallel arrays `payloads[i]` / `payload_lens[i]` (both NULL for none). An id that
/// exists or repeats fails the whole import with `HAMDB_DUPLICATE_ID`. `info` may be NULL.
///
/// # Safety
/// `db` is NULL or a live handle; each non-NULL array holds as many elements as stated above;
/// each non-NULL `payloads[i]` points to `payload_lens[i]` bytes; `info` is NULL or valid for
/// writing a `hamdb_commit_info`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_import(
    db: *const hamdb_db,
    codes: *const u8,
    codes_len: usize,
    ids: *const u64,
    labels: *const u32,
    payloads: *const *const u8,
    payload_lens: *const usize,
    info: *mut hamdb_commit_info,
) -> c_int {
    guard(|| {
        let info = Out::optional(info);
        // SAFETY: the caller's contract above.
        let db = unsafe { handle(db, "db")? };
        // SAFETY: the caller's contract above.
        let bytes = unsafe { boundary::slice(codes, codes_len, "codes")? };
        let done = db.with(|db| {
            let codes = CodeArray::from_packed_bytes(db.code_len(), bytes)?;
            let n = codes.len();
            // SAFETY: the caller's contract above: `count` entries each.
            let ids = unsafe { boundary::optional_slice(ids, n, "ids")? };
            // SAFETY: as above.
            let labels = unsafe { boundary::optional_slice(labels, n, "labels")? };
            // SAFETY: as above.
            let payloads =
                unsafe { boundary::byte_strings(payloads, payload_lens, n, "payloads")? }
                    .map(|p| p.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
            Ok(db.import(Import {
                codes: &codes,
                ids,
                labels,
                payloads: payloads.as_deref(),
            })?)
        })?;
        if let Some(info) = info {
            let i = hamdb_commit_info {
                txn: done.txn,
                assigned_count: done.assigned_ids.len() as u64,
                first_assigned_id: done.assigned_ids.first().copied().unwrap_or(HAMDB_NO_ID),
                maintenance_status: HAMDB_OK,
            };
            // SAFETY: valid for a write by the caller's contract.
            unsafe { info.write(i) };
        }
        Ok(())
    })
}

/// Take a snapshot of the latest commit: a consistent, immutable view for any number of
/// searches from any threads. It stays valid after later commits and after the database is
/// closed. The caller frees it with `hamdb_snapshot_free`.
///
/// # Safety
/// `db` is NULL or a live handle; `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_snapshot(
    db: *const hamdb_db,
    out: *mut *mut hamdb_snapshot,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let snap = unsafe { handle(db, "db")? }.with(|db| Ok(hamdb_snapshot::new(db)))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(snap)) };
        Ok(())
    })
}

/// k-NN search of the latest commit: the `k` nearest live items to the query code (`code_len`
/// bytes of packed code, exactly the database's code length, else
/// `HAMDB_CODE_LENGTH_MISMATCH`), ascending by (distance, id), exact. `class_filter` keeps only
/// items with that label (`HAMDB_ANY_CLASS` for all). On success `*out` receives a results
/// object the caller frees with `hamdb_results_free`.
///
/// # Safety
/// `db` is NULL or a live handle; `code` is NULL or points to `code_len` bytes; `out` is NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search(
    db: *const hamdb_db,
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
        let res = unsafe { handle(db, "db")? }
            .with(|db| snapshot::knn(&db.snapshot(), db.code_len(), code, k, class_filter))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Radius search of the latest commit: every live item within Hamming distance `radius` of the
/// query, ascending by (distance, id). Arguments as `hamdb_db_search`.
///
/// # Safety
/// As `hamdb_db_search`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_radius(
    db: *const hamdb_db,
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
        let res = unsafe { handle(db, "db")? }.with(|db| {
            snapshot::radius(&db.snapshot(), db.code_len(), code, radius, class_filter)
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Class-first k-NN search of the latest commit: the `k` nearest live items whose label is
/// `class` first, then the nearest others, each group ascending by (distance, id), exact within
/// each group (fewer than `k` of `class` are topped up by the others). `class` must be a label,
/// not `HAMDB_ANY_CLASS` (`HAMDB_INVALID_PARAMETER`). Other arguments and `*out` as
/// `hamdb_db_search`.
///
/// # Safety
/// As `hamdb_db_search`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_class_first(
    db: *const hamdb_db,
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
        let res = unsafe { handle(db, "db")? }
            .with(|db| snapshot::knn_class_first(&db.snapshot(), db.code_len(), code, k, class))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Class-first radius search of the latest commit: every live item within Hamming distance
/// `radius`, those whose label is `class` first, each group ascending by (distance, id).
/// Arguments as `hamdb_db_search_class_first`.
///
/// # Safety
/// As `hamdb_db_search`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_radius_class_first(
    db: *const hamdb_db,
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
        let res = unsafe { handle(db, "db")? }.with(|db| {
            snapshot::radius_class_first(&db.snapshot(), db.code_len(), code, radius, class)
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// k-NN search of the latest commit by a query of several codes (an image's variants, a
/// clip's frames): `n_codes` query codes packed one after another in `codes` (`codes_len` must
/// be `n_codes` times the code length in bytes, else `HAMDB_CODE_LENGTH_MISMATCH`; `n_codes`
/// 0 fails with `HAMDB_INVALID_PARAMETER`). An item's distance is the least over every (query
/// code, item code) pair; each item is returned once, the `k` nearest ascending by (distance,
/// id), exact. `class_filter` and `*out` as `hamdb_db_search`.
///
/// # Safety
/// `db` is NULL or a live handle; `codes` is NULL or points to `codes_len` bytes; `out` is NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_set(
    db: *const hamdb_db,
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
        let res = unsafe { handle(db, "db")? }.with(|db| {
            snapshot::knn_set(
                &db.snapshot(),
                db.code_len(),
                codes,
                n_codes,
                k,
                class_filter,
            )
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// Radius search of the latest commit by a query of several codes: every live item within
/// Hamming distance `radius` of any query code, once, at its least distance, ascending by
/// (distance, id). Arguments as `hamdb_db_search_set`.
///
/// # Safety
/// As `hamdb_db_search_set`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_radius_set(
    db: *const hamdb_db,
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
        let res = unsafe { handle(db, "db")? }.with(|db| {
            snapshot::radius_set(
                &db.snapshot(),
                db.code_len(),
                codes,
                n_codes,
                radius,
                class_filter,
            )
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(res)) };
        Ok(())
    })
}

/// k-NN search into a caller-allocated array (no allocation for the caller to free; payloads
/// are not returned): up to `k` neighbours are written to `out[0..]` and their count to
/// `*n_out`. `cap` must be at least min(`k`, the number of live items in the commit searched),
/// else `HAMDB_BUFFER_TOO_SMALL` (checked before searching): any `k` works, even `SIZE_MAX`,
/// without memory for `k` neighbours. A `cap` of at least `k`, or of `hamdb_snapshot_len` with
/// `hamdb_snapshot_search_into`, is always enough (commits of other threads may add items
/// between a `hamdb_db_stats` and this call). Other arguments as `hamdb_db_search`.
///
/// # Safety
/// `db` is NULL or a live handle; `code` is NULL or points to `code_len` bytes; `out` is NULL
/// or valid for `cap` writes of `hamdb_neighbor`; `n_out` is NULL or valid for a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_search_into(
    db: *const hamdb_db,
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
        let n = unsafe { handle(db, "db")? }.with(|db| {
            snapshot::knn_into(&db.snapshot(), db.code_len(), code, k, class_filter, out)
        })?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { n_out.write(n) };
        Ok(())
    })
}

/// The live item with this id in the latest commit: `*out` receives an item the caller frees
/// with `hamdb_item_free`; `HAMDB_NOT_FOUND` if there is none.
///
/// # Safety
/// `db` is NULL or a live handle; `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_db_get(
    db: *const hamdb_db,
    id: u64,
    out: *mut *mut hamdb_item,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let item = unsafe { handle(db, "db")? }.with(|db| snapshot::get(&db.snapshot(), id))?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(item)) };
        Ok(())
    })
}

/// Check every checksum and invariant of the database file at `path` (NUL-terminated), without
/// opening it for writing; a report into `*out` on success, `HAMDB_CORRUPT` (or another status)
/// with the details in the last error message otherwise.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or valid for writing a
/// `hamdb_verify_report`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_verify(path: *const c_char, out: *mut hamdb_verify_report) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract above.
        let path: &Path = unsafe { boundary::path(path, "path")? };
        let r = Database::verify(path)?;
        let report = hamdb_verify_report {
            txn: r.txn,
            segments: r.segments as u64,
            items: r.items,
            delta_batches: r.delta_batches as u64,
        };
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(report) };
        Ok(())
    })
}
