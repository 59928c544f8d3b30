//! Arbitrary bytes as a database file: open, search, get, verify. Must never panic or crash;
//! every failure is a typed error.
#![no_main]

use hamdb::{Code, Database};
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Seeds that start from a real file make the fuzzer reach segments and deltas quickly: the
/// first byte chooses whether the input is spliced into a valid database image.
fn image() -> &'static [u8] {
    static IMG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    IMG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hamdb-fuzz-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("seed.hamdb");
        let _ = std::fs::remove_file(&p);
        let db = Database::create_with(
            &p,
            hamdb::CreateOptions { code_bits: 32, fingerprint: b"fuzz".to_vec(), expected_radius: None },
            hamdb::OpenOptions { flush_threshold: Some(8), ..Default::default() },
        )
        .unwrap();
        for round in 0..3u64 {
            let mut b = hamdb::WriteBatch::new();
            for i in 0..5u64 {
                let id = round * 5 + i;
                b.insert(id, Code::from_bytes(&((id * 2654435761) as u32).to_be_bytes()).unwrap(), Some(id as u32 % 3), vec![id as u8; 3]);
            }
            b.delete(round * 3);
            db.commit(b).unwrap();
        }
        drop(db);
        std::fs::read(&p).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    static N: AtomicUsize = AtomicUsize::new(0);
    let bytes: Vec<u8> = match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 && rest.len() >= 4 => {
            // Overwrite a window of the valid image at an offset taken from the input.
            let mut img = image().to_vec();
            let at = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize % img.len();
            for (i, b) in rest[4..].iter().enumerate() {
                if let Some(x) = img.get_mut(at + i) {
                    *x = *b;
                }
            }
            if mode & 2 == 2 {
                img.truncate(at);
            }
            img
        }
        _ => data.to_vec(),
    };
    let dir = std::env::temp_dir().join(format!("hamdb-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("f{}.hamdb", N.fetch_add(1, Ordering::Relaxed) % 4));
    std::fs::write(&p, &bytes).unwrap();
    if let Ok(db) = Database::open_read_only(&p) {
        let bits = db.code_len().bits();
        let q = Code::from_bytes(&vec![0x5a; bits / 8]).unwrap();
        let _ = db.search(&q, 7);
        let _ = db.search_radius(&q, 3);
        let _ = db.snapshot().search(&q, 3, Some(1));
        for id in 0..16 {
            let _ = db.snapshot().get(id);
        }
        let _ = db.stats();
    }
    let _ = Database::verify(&p);
});
