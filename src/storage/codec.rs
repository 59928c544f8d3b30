//! bincode, behind one module (so it can be swapped): serde structures to bytes and back,
//! with a decode limit so a hostile length prefix cannot make us allocate more than the block
//! that holds it.

use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};

const MAX_DECODE_BYTES: usize = 1 << 30;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .expect("in-memory encode cannot fail")
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    let config = bincode::config::standard().with_limit::<MAX_DECODE_BYTES>();
    if bytes.len() > MAX_DECODE_BYTES {
        return Err(Error::corrupt(format!(
            "{what}: {} bytes is over the limit",
            bytes.len()
        )));
    }
    let (value, used) = bincode::serde::decode_from_slice(bytes, config)
        .map_err(|e| Error::corrupt(format!("{what} {}", describe(&e))))?;
    if used != bytes.len() {
        return Err(Error::corrupt(format!(
            "{what}: {} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// What a decode failure says about the bytes, in words: bincode's own `Display` is its
/// `Debug` form (`InvalidBooleanValue(252)`), which tells a user nothing.
fn describe(e: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as D;
    match e {
        D::UnexpectedEnd { additional } => {
            format!("ends early ({additional} more bytes were expected)")
        }
        D::LimitExceeded => "declares more data than its block can hold".into(),
        D::InvalidIntegerType { .. } | D::OutsideUsizeRange(_) | D::NonZeroTypeIsZero { .. } => {
            "holds an integer out of its field's range".into()
        }
        D::UnexpectedVariant { found, .. } => format!("holds an unknown record tag ({found})"),
        D::InvalidBooleanValue(v) => format!("holds the byte {v} where a yes/no flag belongs"),
        D::Utf8 { .. } | D::InvalidCharEncoding(_) => "holds text that is not valid UTF-8".into(),
        D::ArrayLengthMismatch { required, found } => {
            format!("holds a list of {found} entries where {required} belong")
        }
        _ => "is malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_are_words_not_debug_output() {
        let cases: [(&[u8], &str); 3] = [
            (&[], "ends early"),
            (&[252], "yes/no flag"),
            (&[7, 1], "unknown record tag"),
        ];
        for (bytes, want) in cases {
            let e = match bytes.first() {
                Some(252) => decode::<bool>(bytes, "the manifest").unwrap_err(),
                Some(7) => decode::<Option<u8>>(bytes, "the manifest").unwrap_err(),
                _ => decode::<u64>(bytes, "the manifest").unwrap_err(),
            };
            let msg = e.to_string();
            assert!(msg.contains(want), "{msg}");
            assert!(!msg.contains('{'), "{msg}");
            for internal in [
                "UnexpectedEnd",
                "InvalidBooleanValue",
                "additional:",
                "Variant",
            ] {
                assert!(!msg.contains(internal), "{msg}");
            }
        }
    }
}
