//! Parsers of untrusted input: hex codes, .npy files, packed code buffers.
#![no_main]

use hamdb::{npy, Code, CodeArray, CodeLen};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Code::from_hex(s) {
            assert_eq!(Code::from_hex(&c.to_hex()).unwrap(), c);
        }
    }
    if let Ok(a) = npy::parse(data) {
        if a.shape.len() == 2 && a.descr.ends_with("u1") {
            if let Ok(len) = CodeLen::new(a.shape[1].saturating_mul(8)) {
                let arr = CodeArray::from_packed_bytes(len, a.data).unwrap();
                assert_eq!(arr.to_packed_bytes(), a.data);
            }
        }
    }
    if let Some((&b, rest)) = data.split_first() {
        if let Ok(len) = CodeLen::new((b as usize % 16 + 1) * 8) {
            let _ = CodeArray::from_packed_bytes(len, rest);
        }
    }
});
