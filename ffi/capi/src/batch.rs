//! `hamdb_batch`: writes that commit together.

use super::boundary::{self, guard, guard_value, handle, handle_mut, CResult, Failure, Out};
use super::constants::{HAMDB_MAX_CODES_PER_ITEM, HAMDB_NO_LABEL};
use super::status::*;
use hamdb::Code;
use hamdb::WriteBatch;
use std::ffi::c_int;

#[derive(Clone)]
enum Op {
    Insert {
        id: Option<u64>,
        codes: Vec<Code>,
        label: Option<u32>,
        payload: Vec<u8>,
    },
    Upsert {
        id: u64,
        codes: Vec<Code>,
        label: Option<u32>,
        payload: Vec<u8>,
    },
    Delete(u64),
}

/// A batch of inserts, upserts and deletes that `hamdb_db_commit` applies atomically (wraps
/// `hamdb::WriteBatch`). A batch is not bound to a database; code lengths are checked against
/// the database at commit.
///
/// Thread rules: a batch may move between threads but must not be used by two threads at once
/// (no internal locking).
#[derive(Default)]
pub struct hamdb_batch {
    ops: Vec<Op>,
    assigned: Vec<u64>,
}

impl hamdb_batch {
    pub(crate) fn to_write_batch(&self) -> WriteBatch {
        let mut b = WriteBatch::new();
        for op in &self.ops {
            match op.clone() {
                Op::Insert {
                    id: Some(id),
                    codes,
                    label,
                    payload,
                } => b.insert_codes(id, &codes, label, payload),
                Op::Insert {
                    id: None,
                    codes,
                    label,
                    payload,
                } => b.insert_auto_codes(&codes, label, payload),
                Op::Upsert {
                    id,
                    codes,
                    label,
                    payload,
                } => b.upsert_codes(id, &codes, label, payload),
                Op::Delete(id) => b.delete(id),
            };
        }
        b
    }

    /// After a successful commit: empty, remembering the assigned ids.
    pub(crate) fn committed(&mut self, assigned: Vec<u64>) {
        self.ops.clear();
        self.assigned = assigned;
    }
}

fn label_of(label: u32) -> Option<u32> {
    (label != HAMDB_NO_LABEL).then_some(label)
}

/// Code and payload of an insert or upsert.
///
/// # Safety
/// As the entry points: `code` points to `code_len` bytes, `payload` to `payload_len` (each may
/// be NULL only with length 0).
unsafe fn item(
    code: *const u8,
    code_len: usize,
    payload: *const u8,
    payload_len: usize,
) -> CResult<(Vec<Code>, Vec<u8>)> {
    // SAFETY: forwarded contract.
    let code = unsafe { boundary::slice(code, code_len, "code")? };
    // SAFETY: forwarded contract.
    let payload = unsafe { boundary::slice(payload, payload_len, "payload")? };
    Ok((vec![Code::from_bytes(code)?], payload.to_vec()))
}

/// Codes and payload of an insert or upsert of several codes: `n_codes` (1 to
/// `HAMDB_MAX_CODES_PER_ITEM`) codes of one length packed one after another in `codes_len`
/// bytes.
///
/// # Safety
/// As the entry points: `codes` points to `codes_len` bytes, `payload` to `payload_len` (each
/// may be NULL only with length 0).
unsafe fn item_codes(
    codes: *const u8,
    codes_len: usize,
    n_codes: usize,
    payload: *const u8,
    payload_len: usize,
) -> CResult<(Vec<Code>, Vec<u8>)> {
    if n_codes == 0 || n_codes > HAMDB_MAX_CODES_PER_ITEM {
        return Err(Failure::new(
            HAMDB_INVALID_PARAMETER,
            format!(
                "`n_codes`: {n_codes} codes for one item; it holds 1 to {HAMDB_MAX_CODES_PER_ITEM}"
            ),
        ));
    }
    // SAFETY: forwarded contract.
    let bytes = unsafe { boundary::slice(codes, codes_len, "codes")? };
    // SAFETY: forwarded contract.
    let payload = unsafe { boundary::slice(payload, payload_len, "payload")? };
    if bytes.len() % n_codes != 0 {
        return Err(Failure::new(
            HAMDB_RAGGED_CODE_BUFFER,
            format!(
                "`codes_len` {} is not a multiple of `n_codes` {n_codes}",
                bytes.len()
            ),
        ));
    }
    // Not `chunks_exact`: a code of 0 bytes is an unsupported length, not a panic.
    let per = bytes.len() / n_codes;
    let codes = (0..n_codes)
        .map(|i| Code::from_bytes(&bytes[i * per..(i + 1) * per]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((codes, payload.to_vec()))
}

/// A new, empty batch into `*out`; the caller frees it with `hamdb_batch_free`.
///
/// # Safety
/// `out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_new(out: *mut *mut hamdb_batch) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: valid for a write by the caller's contract.
        unsafe { out.write(boundary::into_raw(hamdb_batch::default())) };
        Ok(())
    })
}

/// Free a batch (uncommitted writes are dropped). NULL is a no-op.
///
/// # Safety
/// `batch` is NULL or a live batch, not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_free(batch: *mut hamdb_batch) {
    let _ = guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { boundary::free(batch) };
        Ok(())
    });
}

/// Add an insert with a caller-chosen id (the commit fails with `HAMDB_DUPLICATE_ID` if the id
/// exists). `code`: `code_len` bytes of packed code (bit i is byte i/8, bit 7 - i%8); `label`:
/// a class or `HAMDB_NO_LABEL`; `payload`: `payload_len` bytes stored with the item (NULL with
/// length 0 for none). Inputs are copied. A code length that is no valid code length fails here
/// (`HAMDB_UNSUPPORTED_CODE_LENGTH`); one that differs from the database's fails at commit.
///
/// # Safety
/// `batch` is NULL or a live batch not used by another thread during the call; `code` and
/// `payload` are NULL or point to `code_len` and `payload_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_insert(
    batch: *mut hamdb_batch,
    id: u64,
    code: *const u8,
    code_len: usize,
    label: u32,
    payload: *const u8,
    payload_len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        // SAFETY: the caller's contract above.
        let (code, payload) = unsafe { item(code, code_len, payload, payload_len)? };
        batch.ops.push(Op::Insert {
            id: Some(id),
            codes: code,
            label: label_of(label),
            payload,
        });
        Ok(())
    })
}

/// Add an insert whose id the commit assigns (listed afterwards by
/// `hamdb_batch_assigned_ids`, in order). Arguments as `hamdb_batch_insert`.
///
/// # Safety
/// As `hamdb_batch_insert`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_insert_auto(
    batch: *mut hamdb_batch,
    code: *const u8,
    code_len: usize,
    label: u32,
    payload: *const u8,
    payload_len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        // SAFETY: the caller's contract above.
        let (code, payload) = unsafe { item(code, code_len, payload, payload_len)? };
        batch.ops.push(Op::Insert {
            id: None,
            codes: code,
            label: label_of(label),
            payload,
        });
        Ok(())
    })
}

/// Add an insert that replaces the item with this id if there is one. Arguments as
/// `hamdb_batch_insert`.
///
/// # Safety
/// As `hamdb_batch_insert`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_upsert(
    batch: *mut hamdb_batch,
    id: u64,
    code: *const u8,
    code_len: usize,
    label: u32,
    payload: *const u8,
    payload_len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        // SAFETY: the caller's contract above.
        let (code, payload) = unsafe { item(code, code_len, payload, payload_len)? };
        batch.ops.push(Op::Upsert {
            id,
            codes: code,
            label: label_of(label),
            payload,
        });
        Ok(())
    })
}

/// Add an insert, with a caller-chosen id, of an item of several codes (PDQ variants, a clip's
/// frames): every search returns it once, at its least distance over its codes. `codes`:
/// `n_codes` packed codes of one length (layout as `hamdb_batch_insert`), one after another in
/// `codes_len` bytes. `n_codes` 0 or more than `HAMDB_MAX_CODES_PER_ITEM` fails here with
/// `HAMDB_INVALID_PARAMETER`; a `codes_len` that is not a multiple of `n_codes` with
/// `HAMDB_RAGGED_CODE_BUFFER`; a code length that is no valid code length with
/// `HAMDB_UNSUPPORTED_CODE_LENGTH`. One that differs from the database's fails at commit
/// (`HAMDB_CODE_LENGTH_MISMATCH`), as does an item of several codes in a file older than
/// format 4 (`HAMDB_INVALID_PARAMETER`: compact it first). Other arguments as
/// `hamdb_batch_insert`; with `n_codes` 1 it is `hamdb_batch_insert`.
///
/// # Safety
/// `batch` is NULL or a live batch not used by another thread during the call; `codes` and
/// `payload` are NULL or point to `codes_len` and `payload_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_insert_codes(
    batch: *mut hamdb_batch,
    id: u64,
    codes: *const u8,
    codes_len: usize,
    n_codes: usize,
    label: u32,
    payload: *const u8,
    payload_len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        // SAFETY: the caller's contract above.
        let (codes, payload) =
            unsafe { item_codes(codes, codes_len, n_codes, payload, payload_len)? };
        batch.ops.push(Op::Insert {
            id: Some(id),
            codes,
            label: label_of(label),
            payload,
        });
        Ok(())
    })
}

/// Add an insert of an item of several codes whose id the commit assigns (as
/// `hamdb_batch_insert_auto`). Arguments as `hamdb_batch_insert_codes`.
///
/// # Safety
/// As `hamdb_batch_insert_codes`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_insert_auto_codes(
    batch: *mut hamdb_batch,
    codes: *const u8,
    codes_len: usize,
    n_codes: usize,
    label: u32,
    payload: *const u8,
    payload_len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        // SAFETY: the caller's contract above.
        let (codes, payload) =
            unsafe { item_codes(codes, codes_len, n_codes, payload, payload_len)? };
        batch.ops.push(Op::Insert {
            id: None,
            codes,
            label: label_of(label),
            payload,
        });
        Ok(())
    })
}

/// Add an upsert of an item of several codes: it replaces the item with this id (of one code
/// or several) if there is one. Arguments as `hamdb_batch_insert_codes`.
///
/// # Safety
/// As `hamdb_batch_insert_codes`.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_upsert_codes(
    batch: *mut hamdb_batch,
    id: u64,
    codes: *const u8,
    codes_len: usize,
    n_codes: usize,
    label: u32,
    payload: *const u8,
    payload_len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        // SAFETY: the caller's contract above.
        let (codes, payload) =
            unsafe { item_codes(codes, codes_len, n_codes, payload, payload_len)? };
        batch.ops.push(Op::Upsert {
            id,
            codes,
            label: label_of(label),
            payload,
        });
        Ok(())
    })
}

/// Add a delete by id (deleting an absent id is not an error).
///
/// # Safety
/// `batch` is NULL or a live batch not used by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_delete(batch: *mut hamdb_batch, id: u64) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        unsafe { handle_mut(batch, "batch")? }
            .ops
            .push(Op::Delete(id));
        Ok(())
    })
}

/// The number of writes in the batch (0 for NULL).
///
/// # Safety
/// `batch` is NULL or a live batch not being modified by another thread.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_len(batch: *const hamdb_batch) -> usize {
    guard_value(0, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(batch, "batch") }.map_or(0, |b| b.ops.len())
    })
}

/// Drop every write in the batch (and the assigned-id list).
///
/// # Safety
/// `batch` is NULL or a live batch not used by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_clear(batch: *mut hamdb_batch) -> c_int {
    guard(|| {
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle_mut(batch, "batch")? };
        batch.ops.clear();
        batch.assigned.clear();
        Ok(())
    })
}

/// The ids the last successful commit of this batch assigned to its auto-id inserts, in insert
/// order: `*ids` receives a pointer to `*len` ids, owned by the batch and valid until the batch
/// is next modified, committed or freed.
///
/// # Safety
/// `batch` is NULL or a live batch; `ids` and `len` are NULL or valid for one write each.
#[no_mangle]
pub unsafe extern "C" fn hamdb_batch_assigned_ids(
    batch: *const hamdb_batch,
    ids: *mut *const u64,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let ids = Out::new(ids, "ids")?;
        let len = Out::new(len, "len")?;
        // SAFETY: the caller's contract above.
        let batch = unsafe { handle(batch, "batch")? };
        // SAFETY: both valid for a write by the caller's contract.
        unsafe {
            ids.write(if batch.assigned.is_empty() {
                std::ptr::null()
            } else {
                batch.assigned.as_ptr()
            });
            len.write(batch.assigned.len());
        }
        Ok(())
    })
}
