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
        .map_err(|e| Error::corrupt(format!("{what}: {e}")))?;
    if used != bytes.len() {
        return Err(Error::corrupt(format!(
            "{what}: {} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(value)
}
