//! Random sequences of C ABI calls, with invalid arguments mixed in: NULL handles and pointers,
//! wrong code lengths, unknown flags, too-small buffers, indexes past the end, calls on a closed
//! handle, writes on a read-only handle. Every call must return a status from the published
//! list (never HAMDB_PANIC), leave its outputs untouched on failure, and never crash. Only the
//! misuse that is documented as undefined (a freed handle, a pointer to too little memory) is
//! left out.
#![no_main]

use hamdb_capi::*;
use libfuzzer_sys::fuzz_target;
use std::ffi::{c_int, CStr, CString};
use std::ptr;

const KNOWN: &[c_int] = &[
    HAMDB_OK,
    HAMDB_UNSUPPORTED_CODE_LENGTH,
    HAMDB_CODE_LENGTH_MISMATCH,
    HAMDB_RAGGED_CODE_BUFFER,
    HAMDB_INVALID_HEX,
    HAMDB_INVALID_PARAMETER,
    HAMDB_TOO_MANY_CODES,
    HAMDB_IO,
    HAMDB_NOT_A_DATABASE,
    HAMDB_UNSUPPORTED_FORMAT_VERSION,
    HAMDB_CORRUPT,
    HAMDB_LOCKED,
    HAMDB_READ_ONLY,
    HAMDB_POISONED,
    HAMDB_DUPLICATE_ID,
    HAMDB_ENCODER_MISMATCH,
    HAMDB_NULL_ARGUMENT,
    HAMDB_BUFFER_TOO_SMALL,
    HAMDB_CLOSED,
    HAMDB_NOT_FOUND,
];

fn ok(rc: c_int) -> bool {
    assert!(KNOWN.contains(&rc), "status {rc} ({:?})", unsafe {
        CStr::from_ptr(hamdb_last_error_message())
    });
    rc == HAMDB_OK
}

/// A byte reader over the fuzz input that returns zeros once exhausted.
struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

const SENTINEL: usize = 0x5a5a;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("hamdb-fuzz-capi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("capi.hamdb");
    let _ = std::fs::remove_file(&path);
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let mut inp = Input(data);
    unsafe {
        let mut db: *mut hamdb_db = ptr::null_mut();
        assert!(ok(hamdb_db_create(cpath.as_ptr(), 16, b"f".as_ptr(), 1, 0, &mut db)));
        let mut ro: *mut hamdb_db = ptr::null_mut();
        let mut batch: *mut hamdb_batch = ptr::null_mut();
        assert!(ok(hamdb_batch_new(&mut batch)));
        let mut snap: *mut hamdb_snapshot = ptr::null_mut();
        let mut results: *mut hamdb_results = ptr::null_mut();
        let mut item: *mut hamdb_item = ptr::null_mut();
        let mut steps = 0;
        while !inp.0.is_empty() && steps < 200 {
            steps += 1;
            let op = inp.byte();
            // Pick a handle: usually the real one, sometimes NULL or the read-only one.
            let sel = inp.byte();
            let h = match sel % 8 {
                0 => ptr::null_mut(),
                1 if !ro.is_null() => ro,
                _ => db,
            };
            let code_len = match inp.byte() % 6 {
                0 => 0,
                1 => 1,
                2 => 3,
                _ => 2,
            };
            let code = inp.bytes(code_len);
            let code_ptr = if sel & 0x80 != 0 && code_len > 0 {
                ptr::null()
            } else {
                code.as_ptr()
            };
            let id = (inp.byte() % 32) as u64;
            let label = match inp.byte() % 5 {
                4 => HAMDB_NO_LABEL,
                l => l as u32,
            };
            match op % 23 {
                0 => {
                    let n = (inp.byte() % 4) as usize;
                    let pl = inp.bytes(n);
                    ok(hamdb_batch_insert(batch, id, code_ptr, code_len, label, pl.as_ptr(), pl.len()));
                }
                1 => {
                    ok(hamdb_batch_insert_auto(batch, code_ptr, code_len, label, ptr::null(), 0));
                }
                2 => {
                    ok(hamdb_batch_upsert(batch, id, code_ptr, code_len, label, b"u".as_ptr(), 1));
                }
                3 => {
                    ok(hamdb_batch_delete(if sel % 5 == 0 { ptr::null_mut() } else { batch }, id));
                }
                4 => {
                    let before = hamdb_batch_len(batch);
                    let mut info = hamdb_commit_info { txn: 7, ..Default::default() };
                    let rc = hamdb_db_commit(h, batch, &mut info);
                    if ok(rc) {
                        assert_eq!(hamdb_batch_len(batch), 0);
                        let (mut ids, mut n) = (ptr::null(), 0usize);
                        assert!(ok(hamdb_batch_assigned_ids(batch, &mut ids, &mut n)));
                        assert_eq!(n as u64, info.assigned_count);
                    } else {
                        assert_eq!(info.txn, 7, "info written on failure");
                        assert_eq!(hamdb_batch_len(batch), before, "batch changed on failure");
                        if sel % 3 == 0 {
                            ok(hamdb_batch_clear(batch));
                        }
                    }
                }
                5 | 6 => {
                    let k = (inp.byte() % 10) as usize;
                    let cls = if label == HAMDB_NO_LABEL { HAMDB_ANY_CLASS } else { label };
                    let mut out = SENTINEL as *mut hamdb_results;
                    let rc = match (op % 20 == 5, snap.is_null()) {
                        (true, _) | (false, true) => hamdb_db_search(h, code_ptr, code_len, k, cls, &mut out),
                        (false, false) => hamdb_snapshot_search_radius(snap, code_ptr, code_len, k as u32, cls, &mut out),
                    };
                    if ok(rc) {
                        let n = hamdb_results_len(out);
                        let mut prev = (0u32, 0u64);
                        for i in 0..n {
                            let mut hit = std::mem::zeroed::<hamdb_hit>();
                            assert!(ok(hamdb_results_get(out, i, &mut hit)));
                            assert!(i == 0 || (hit.distance, hit.id) > prev, "unsorted");
                            assert!(cls == HAMDB_ANY_CLASS || hit.label == cls);
                            prev = (hit.distance, hit.id);
                        }
                        hamdb_results_free(results);
                        results = out;
                    } else {
                        assert_eq!(out as usize, SENTINEL, "output written on failure");
                    }
                }
                7 => {
                    let cap = (inp.byte() % 12) as usize;
                    let mut buf = vec![hamdb_neighbor { id: 99, distance: 99, label: 99 }; cap];
                    let mut n = SENTINEL;
                    let k = (inp.byte() % 12) as usize;
                    let out = if sel % 7 == 0 { ptr::null_mut() } else { buf.as_mut_ptr() };
                    let rc = if snap.is_null() || sel % 2 == 0 {
                        hamdb_db_search_into(h, code_ptr, code_len, k, HAMDB_ANY_CLASS, out, cap, &mut n)
                    } else {
                        hamdb_snapshot_search_into(snap, code_ptr, code_len, k, HAMDB_ANY_CLASS, out, cap, &mut n)
                    };
                    if ok(rc) {
                        assert!(n <= k && n <= cap);
                    } else {
                        assert_eq!(n, SENTINEL);
                    }
                }
                8 => {
                    // Results accessors with indexes past the end and small buffers.
                    let idx = inp.byte() as usize;
                    let mut hit = std::mem::zeroed::<hamdb_hit>();
                    let r = if sel % 6 == 0 { ptr::null() } else { results };
                    let rc = hamdb_results_get(r, idx, &mut hit);
                    assert_eq!(ok(rc), idx < hamdb_results_len(r));
                    let cap = (inp.byte() % 8) as usize;
                    let mut buf = Vec::with_capacity(cap);
                    let mut n = 0usize;
                    let rc = hamdb_results_copy(r, buf.as_mut_ptr(), cap, &mut n);
                    if ok(rc) {
                        buf.set_len(n);
                    }
                    let mut st = hamdb_search_stats::default();
                    ok(hamdb_results_stats(r, &mut st));
                }
                9 => {
                    hamdb_snapshot_free(snap);
                    snap = ptr::null_mut();
                    let mut s = SENTINEL as *mut hamdb_snapshot;
                    if ok(hamdb_db_snapshot(h, &mut s)) {
                        let (mut txn, mut n) = (0u64, 0u64);
                        assert!(ok(hamdb_snapshot_txn(s, &mut txn)));
                        assert!(ok(hamdb_snapshot_len(s, &mut n)));
                        snap = s;
                    } else {
                        assert_eq!(s as usize, SENTINEL);
                    }
                }
                10 => {
                    let mut it = SENTINEL as *mut hamdb_item;
                    let rc = if snap.is_null() || sel % 2 == 0 {
                        hamdb_db_get(h, id, &mut it)
                    } else {
                        hamdb_snapshot_get(snap, id, &mut it)
                    };
                    if ok(rc) {
                        let mut f = std::mem::zeroed::<hamdb_item_fields>();
                        assert!(ok(hamdb_item_view(it, &mut f)));
                        assert_eq!(f.id, id);
                        assert_eq!(f.code_len, 2);
                        hamdb_item_free(item);
                        item = it;
                    } else {
                        assert_eq!(it as usize, SENTINEL);
                    }
                }
                11 => {
                    ok(hamdb_db_flush(h));
                }
                12 => {
                    ok(hamdb_db_compact(h));
                }
                13 => {
                    let mut changed = false;
                    ok(hamdb_db_refresh(h, &mut changed));
                }
                14 => {
                    // Import: a buffer that may be ragged, optional ids (which may collide).
                    let n = (inp.byte() % 5) as usize;
                    let extra = (inp.byte() % 3) as usize;
                    let len = n * 2 + extra % 2;
                    let bytes = inp.bytes(len);
                    let ids: Vec<u64> = (0..n as u64).map(|i| 100 + id * 8 + i).collect();
                    let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
                    let mut info = hamdb_commit_info { txn: 7, ..Default::default() };
                    let rc = hamdb_db_import(
                        h,
                        bytes.as_ptr(),
                        bytes.len(),
                        if extra == 1 { ids.as_ptr() } else { ptr::null() },
                        if extra == 2 { labels.as_ptr() } else { ptr::null() },
                        ptr::null(),
                        ptr::null(),
                        &mut info,
                    );
                    if !ok(rc) {
                        assert_eq!(info.txn, 7);
                    }
                }
                15 => {
                    // Stats, code bits and the fingerprint with a buffer of any size.
                    let mut st = hamdb_stats::default();
                    ok(hamdb_db_stats(h, &mut st));
                    let mut bits = SENTINEL;
                    if ok(hamdb_db_code_bits(h, &mut bits)) {
                        assert_eq!(bits, 16);
                    }
                    let cap = (inp.byte() % 3) as usize;
                    let mut fp = vec![0u8; cap];
                    let mut len = SENTINEL;
                    let rc = hamdb_db_fingerprint(h, fp.as_mut_ptr(), cap, &mut len);
                    if ok(rc) || rc == HAMDB_BUFFER_TOO_SMALL {
                        assert_eq!(len, 1);
                    }
                }
                16 => {
                    // Close (idempotent): later calls on the handle return HAMDB_CLOSED.
                    if sel % 4 == 0 {
                        ok(hamdb_db_close(h));
                        if !h.is_null() {
                            let mut st = hamdb_stats::default();
                            assert_eq!(hamdb_db_stats(h, &mut st), HAMDB_CLOSED);
                        }
                    }
                }
                17 => {
                    // Reopen: read-write (locked while another writer or a snapshot holds the
                    // file), or a read-only second handle; unknown flags are rejected.
                    let flags = match inp.byte() % 4 {
                        0 => 0,
                        1 => HAMDB_OPEN_NO_AUTO_COMPACT,
                        2 => 0x40,
                        _ => HAMDB_OPEN_READ_ONLY,
                    };
                    let mut fresh = SENTINEL as *mut hamdb_db;
                    if ok(hamdb_db_open(cpath.as_ptr(), flags, &mut fresh)) {
                        if flags == HAMDB_OPEN_READ_ONLY {
                            hamdb_db_free(ro);
                            ro = fresh;
                        } else {
                            hamdb_db_free(db);
                            db = fresh;
                        }
                    } else {
                        assert_eq!(fresh as usize, SENTINEL);
                    }
                }
                18 => {
                    let s = hamdb_status_string(inp.byte() as c_int - 8);
                    assert!(!s.is_null());
                    let _ = CStr::from_ptr(hamdb_last_error_message()).to_bytes().len();
                    let mut r = hamdb_verify_report::default();
                    ok(hamdb_verify(cpath.as_ptr(), &mut r));
                }
                19 => {
                    // An item of several codes: 0 to 3 codes (or more than an item holds),
                    // packed, sometimes ragged; refused writes leave the batch as it was.
                    let n_codes = match inp.byte() % 6 {
                        5 => HAMDB_MAX_CODES_PER_ITEM + 1,
                        n => (n % 4) as usize,
                    };
                    let ragged = (inp.byte() % 4 == 0) as usize;
                    let codes = inp.bytes(n_codes.min(4) * code_len + ragged);
                    let codes = if n_codes > 4 { vec![0u8; n_codes * code_len] } else { codes };
                    let cp = if sel & 0x80 != 0 && !codes.is_empty() { ptr::null() } else { codes.as_ptr() };
                    let before = hamdb_batch_len(batch);
                    let rc = match inp.byte() % 3 {
                        0 => hamdb_batch_insert_codes(batch, id, cp, codes.len(), n_codes, label, ptr::null(), 0),
                        1 => hamdb_batch_insert_auto_codes(batch, cp, codes.len(), n_codes, label, b"a".as_ptr(), 1),
                        _ => hamdb_batch_upsert_codes(batch, id, cp, codes.len(), n_codes, label, ptr::null(), 0),
                    };
                    if ok(rc) {
                        assert!((1..=HAMDB_MAX_CODES_PER_ITEM).contains(&n_codes));
                        assert_eq!(hamdb_batch_len(batch), before + 1);
                    } else {
                        assert_eq!(hamdb_batch_len(batch), before, "batch changed on failure");
                    }
                }
                20 => {
                    // A query of several codes (db or snapshot, k-NN or radius): each item
                    // once, sorted; then every code of the last item read.
                    let n_codes = (inp.byte() % 4) as usize;
                    let ragged = (inp.byte() % 5 == 0) as usize;
                    let codes = inp.bytes(n_codes * code_len + ragged);
                    let cp = if sel & 0x80 != 0 && !codes.is_empty() { ptr::null() } else { codes.as_ptr() };
                    let k = (inp.byte() % 10) as usize;
                    let cls = if label == HAMDB_NO_LABEL { HAMDB_ANY_CLASS } else { label };
                    let mut out = SENTINEL as *mut hamdb_results;
                    let rc = match (sel % 4, snap.is_null()) {
                        (0, _) | (2, true) => hamdb_db_search_set(h, cp, codes.len(), n_codes, k, cls, &mut out),
                        (1, _) | (3, true) => hamdb_db_search_radius_set(h, cp, codes.len(), n_codes, k as u32, cls, &mut out),
                        (2, false) => hamdb_snapshot_search_set(snap, cp, codes.len(), n_codes, k, cls, &mut out),
                        _ => hamdb_snapshot_search_radius_set(snap, cp, codes.len(), n_codes, k as u32, cls, &mut out),
                    };
                    if ok(rc) {
                        assert!(n_codes > 0 && codes.len() == n_codes * 2);
                        let n = hamdb_results_len(out);
                        let mut prev = (0u32, 0u64);
                        let mut seen = std::collections::HashSet::new();
                        for i in 0..n {
                            let mut hit = std::mem::zeroed::<hamdb_hit>();
                            assert!(ok(hamdb_results_get(out, i, &mut hit)));
                            assert!(i == 0 || (hit.distance, hit.id) > prev, "unsorted");
                            assert!(seen.insert(hit.id), "an item twice");
                            assert!(cls == HAMDB_ANY_CLASS || hit.label == cls);
                            prev = (hit.distance, hit.id);
                        }
                        hamdb_results_free(results);
                        results = out;
                    } else {
                        assert_eq!(out as usize, SENTINEL, "output written on failure");
                    }
                    let it = if sel % 6 == 0 { ptr::null() } else { item };
                    let count = hamdb_item_code_count(it);
                    assert_eq!(count == 0, it.is_null());
                    let (mut all, mut n) = (SENTINEL as *const u8, SENTINEL);
                    if ok(hamdb_item_codes(it, &mut all, &mut n)) {
                        assert_eq!(n, count);
                        assert!((1..=HAMDB_MAX_CODES_PER_ITEM).contains(&n));
                    } else {
                        assert_eq!((all as usize, n), (SENTINEL, SENTINEL));
                    }
                    let idx = (inp.byte() % 4) as usize;
                    let (mut c, mut len) = (SENTINEL as *const u8, SENTINEL);
                    if ok(hamdb_item_code(it, idx, &mut c, &mut len)) {
                        assert!(idx < count && len == 2);
                    } else {
                        assert_eq!((c as usize, len), (SENTINEL, SENTINEL));
                    }
                }
                21 => {
                    // Class-first ranking (db or snapshot, k-NN or radius): the class's items
                    // first, then the others, each group sorted; HAMDB_ANY_CLASS refused.
                    let k = (inp.byte() % 10) as usize;
                    let mut out = SENTINEL as *mut hamdb_results;
                    let rc = match (sel % 4, snap.is_null()) {
                        (0, _) | (2, true) => hamdb_db_search_class_first(h, code_ptr, code_len, k, label, &mut out),
                        (1, _) | (3, true) => hamdb_db_search_radius_class_first(h, code_ptr, code_len, k as u32, label, &mut out),
                        (2, false) => hamdb_snapshot_search_class_first(snap, code_ptr, code_len, k, label, &mut out),
                        _ => hamdb_snapshot_search_radius_class_first(snap, code_ptr, code_len, k as u32, label, &mut out),
                    };
                    if label == HAMDB_ANY_CLASS && !h.is_null() && code_len == 2 && !code_ptr.is_null() {
                        assert_ne!(rc, HAMDB_OK, "class first without a class");
                    }
                    if ok(rc) {
                        assert!(label != HAMDB_ANY_CLASS && code_len == 2);
                        let n = hamdb_results_len(out);
                        assert!(sel % 2 == 1 || n <= k);
                        let mut prev = (true, 0u32, 0u64);
                        for i in 0..n {
                            let mut hit = std::mem::zeroed::<hamdb_hit>();
                            assert!(ok(hamdb_results_get(out, i, &mut hit)));
                            let key = (hit.label == label, hit.distance, hit.id);
                            if i > 0 {
                                assert!(prev.0 || !key.0, "a class item after the others");
                                assert!(prev.0 != key.0 || (key.1, key.2) > (prev.1, prev.2), "unsorted group");
                            }
                            prev = key;
                        }
                        hamdb_results_free(results);
                        results = out;
                    } else {
                        assert_eq!(out as usize, SENTINEL, "output written on failure");
                    }
                }
                _ => {
                    // NULL outputs everywhere.
                    assert_eq!(hamdb_db_search(h, code.as_ptr(), code_len, 1, HAMDB_ANY_CLASS, ptr::null_mut()) == HAMDB_OK, false);
                    assert_eq!(hamdb_db_snapshot(h, ptr::null_mut()), HAMDB_NULL_ARGUMENT);
                    assert_eq!(hamdb_db_get(h, id, ptr::null_mut()), HAMDB_NULL_ARGUMENT);
                    assert_eq!(hamdb_batch_new(ptr::null_mut()), HAMDB_NULL_ARGUMENT);
                    assert_eq!(hamdb_item_view(item, ptr::null_mut()), HAMDB_NULL_ARGUMENT);
                }
            }
        }
        hamdb_item_free(item);
        hamdb_results_free(results);
        hamdb_snapshot_free(snap);
        hamdb_batch_free(batch);
        hamdb_db_free(ro);
        hamdb_db_free(db);
    }
});
