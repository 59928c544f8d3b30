//! Rust-side smoke tests of the C ABI (the C, C++ and Go suites in ffi/ cover it in depth).

use super::*;
use std::ffi::{CStr, CString};
use std::ptr;

fn tmp(name: &str) -> CString {
    let dir = std::env::temp_dir().join(format!("hamdb-capi-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    CString::new(p.to_str().unwrap()).unwrap()
}

#[test]
fn status_codes_are_stable_and_named() {
    let expected = [
        (0, "HAMDB_OK"),
        (1, "HAMDB_UNSUPPORTED_CODE_LENGTH"),
        (2, "HAMDB_CODE_LENGTH_MISMATCH"),
        (3, "HAMDB_RAGGED_CODE_BUFFER"),
        (4, "HAMDB_INVALID_HEX"),
        (5, "HAMDB_INVALID_PARAMETER"),
        (6, "HAMDB_TOO_MANY_CODES"),
        (7, "HAMDB_IO"),
        (8, "HAMDB_NOT_A_DATABASE"),
        (9, "HAMDB_UNSUPPORTED_FORMAT_VERSION"),
        (10, "HAMDB_CORRUPT"),
        (11, "HAMDB_LOCKED"),
        (12, "HAMDB_READ_ONLY"),
        (13, "HAMDB_POISONED"),
        (14, "HAMDB_DUPLICATE_ID"),
        (15, "HAMDB_ENCODER_MISMATCH"),
        (16, "HAMDB_RUNTIME"),
        (17, "HAMDB_MODEL_CONTRACT"),
        (18, "HAMDB_INFERENCE"),
        (19, "HAMDB_IMAGE"),
        (20, "HAMDB_IMAGE_TOO_LARGE"),
        (21, "HAMDB_NO_ENCODER"),
        (100, "HAMDB_NULL_ARGUMENT"),
        (101, "HAMDB_BUFFER_TOO_SMALL"),
        (102, "HAMDB_PANIC"),
        (103, "HAMDB_CLOSED"),
        (104, "HAMDB_NOT_FOUND"),
        (105, "HAMDB_OTHER"),
    ];
    assert_eq!(status::STATUSES.len(), expected.len());
    for (code, name) in expected {
        let got = unsafe { CStr::from_ptr(hamdb_status_name(code)) };
        assert_eq!(got.to_str().unwrap(), name);
    }
    let unknown = unsafe { CStr::from_ptr(hamdb_status_string(77)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown status code");
}

#[test]
fn version_matches_cargo() {
    let v = unsafe { CStr::from_ptr(hamdb_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    let want = format!("{HAMDB_VERSION_MAJOR}.{HAMDB_VERSION_MINOR}.{HAMDB_VERSION_PATCH}");
    assert_eq!(v, want);
}

#[test]
fn no_id_is_the_crates() {
    assert_eq!(HAMDB_NO_ID, hamdb::NO_ID);
}

#[test]
fn round_trip_and_errors() {
    let path = tmp("rt.hamdb");
    unsafe {
        let mut db = ptr::null_mut();
        assert_eq!(
            hamdb_db_create(path.as_ptr(), 16, ptr::null(), 0, 0, &mut db),
            HAMDB_OK
        );
        let mut b = ptr::null_mut();
        assert_eq!(hamdb_batch_new(&mut b), HAMDB_OK);
        let code = [0xf0u8, 0x0f];
        assert_eq!(
            hamdb_batch_insert(b, 7, code.as_ptr(), 2, 3, b"x".as_ptr(), 1),
            HAMDB_OK
        );
        assert_eq!(
            hamdb_batch_insert_auto(b, code.as_ptr(), 2, HAMDB_NO_LABEL, ptr::null(), 0),
            HAMDB_OK
        );
        let mut info = hamdb_commit_info::default();
        assert_eq!(hamdb_db_commit(db, b, &mut info), HAMDB_OK);
        assert_eq!(info.assigned_count, 1);
        assert_eq!(hamdb_batch_len(b), 0);
        let mut res = ptr::null_mut();
        assert_eq!(
            hamdb_db_search(db, code.as_ptr(), 2, 5, HAMDB_ANY_CLASS, &mut res),
            HAMDB_OK
        );
        assert_eq!(hamdb_results_len(res), 2);
        let mut hit = std::mem::zeroed::<hamdb_hit>();
        assert_eq!(hamdb_results_get(res, 0, &mut hit), HAMDB_OK);
        assert_eq!(
            (hit.id, hit.distance, hit.label, hit.payload_len),
            (7, 0, 3, 1)
        );
        assert_eq!(hamdb_results_get(res, 2, &mut hit), HAMDB_NOT_FOUND);
        hamdb_results_free(res);
        // Wrong code length: typed error, output untouched, message set.
        let mut res2: *mut hamdb_results = ptr::null_mut();
        assert_eq!(
            hamdb_db_search(db, code.as_ptr(), 1, 5, HAMDB_ANY_CLASS, &mut res2),
            HAMDB_CODE_LENGTH_MISMATCH
        );
        assert!(res2.is_null());
        let msg = CStr::from_ptr(hamdb_last_error_message()).to_str().unwrap();
        assert!(msg.contains("16-bit"), "{msg}");
        assert_eq!(
            hamdb_db_search(ptr::null(), code.as_ptr(), 2, 5, 0, &mut res2),
            HAMDB_NULL_ARGUMENT
        );
        assert_eq!(hamdb_db_close(db), HAMDB_OK);
        assert_eq!(hamdb_db_close(db), HAMDB_OK);
        assert_eq!(hamdb_db_flush(db), HAMDB_CLOSED);
        hamdb_db_free(db);
        hamdb_batch_free(b);
    }
}

#[test]
fn docs_status_table_lists_every_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/CAPI.md"))
        .expect("docs/CAPI.md");
    for (code, name, _) in status::STATUSES {
        let row = format!("| {code} | `{}` |", name.to_str().unwrap());
        assert!(doc.contains(&row), "docs/CAPI.md lacks the row {row}");
    }
}

#[test]
fn max_threads_is_the_crates() {
    assert_eq!(HAMDB_MAX_THREADS, hamdb::MAX_THREADS);
}

#[test]
fn max_codes_per_item_matches_the_library() {
    assert_eq!(HAMDB_MAX_CODES_PER_ITEM, hamdb::MAX_CODES_PER_ITEM);
}
