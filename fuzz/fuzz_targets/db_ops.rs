//! Random operation sequences (insert, upsert, delete, commit, flush, compact, reopen, search,
//! with invalid arguments mixed in) against a real database file and an in-memory model.
#![no_main]

use hamdb::{Code, CreateOptions, Database, Error, OpenOptions, WriteBatch};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("hamdb-fuzz-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ops.hamdb");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join("ops.hamdb-compact-tmp"));
    let opts = OpenOptions { flush_threshold: Some(6), ..Default::default() };
    let mut db = Database::create_with(&path, CreateOptions { code_bits: 16, fingerprint: vec![], expected_radius: None }, opts.clone()).unwrap();
    let mut model: BTreeMap<u64, u16> = BTreeMap::new();
    let mut pending = model.clone();
    let mut batch = WriteBatch::new();
    let mut dup = false;
    for chunk in data.chunks(4) {
        let [op, a, b, c] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0), *chunk.get(3).unwrap_or(&0)];
        let id = (a % 24) as u64;
        let code = u16::from_be_bytes([b, c]);
        match op % 9 {
            0 => {
                dup |= pending.contains_key(&id);
                pending.insert(id, code);
                batch.insert(id, Code::from_bytes(&code.to_be_bytes()).unwrap(), None, vec![a]);
            }
            1 => {
                pending.insert(id, code);
                batch.upsert(id, Code::from_bytes(&code.to_be_bytes()).unwrap(), Some(b as u32), vec![]);
            }
            2 => {
                pending.remove(&id);
                batch.delete(id);
            }
            3 => {
                let r = db.commit(std::mem::take(&mut batch));
                if dup {
                    assert!(matches!(r, Err(Error::DuplicateId { .. } | Error::RepeatedId { .. })));
                    pending = model.clone();
                } else {
                    r.unwrap();
                    model = pending.clone();
                }
                dup = false;
            }
            4 => db.flush().unwrap(),
            5 => db.compact().unwrap(),
            6 => {
                drop(db);
                db = Database::open_with(&path, opts.clone()).unwrap();
                pending = model.clone();
                batch = WriteBatch::new();
                dup = false;
            }
            7 => {
                // A wrong-length query is a typed error.
                assert!(matches!(db.search(&Code::from_bytes(&[a]).unwrap(), 3), Err(Error::CodeLengthMismatch { .. })));
            }
            _ => {
                let q = Code::from_bytes(&code.to_be_bytes()).unwrap();
                let k = (b % 8) as usize;
                let got: Vec<(u32, u64)> = db.search(&q, k).unwrap().hits.iter().map(|h| (h.distance, h.id)).collect();
                let mut want: Vec<(u32, u64)> = model.iter().map(|(&id, &c)| ((c ^ code).count_ones(), id)).collect();
                want.sort();
                want.truncate(k);
                assert_eq!(got, want);
            }
        }
    }
});
