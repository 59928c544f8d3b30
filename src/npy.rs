//! Reading and writing NumPy `.npy` arrays: the form FAISS and numpy users hold codes in
//! (`uint8 [N, bits/8]`, rows from `np.packbits`), and ids (`uint64 [N]`).
//!
//! Only what hamdb needs: C order, little-endian or byte-sized dtypes, 1-D or 2-D. The header is
//! parsed strictly and its shape checked against the file's length before anything is allocated.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid .npy file: {}", self.0)
    }
}

impl std::error::Error for NpyError {}

fn err<T>(msg: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(msg.into()))
}

/// A parsed array: its dtype descriptor, shape and raw data bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Npy<'a> {
    pub descr: String,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

fn field<'h>(header: &'h str, key: &str) -> Result<&'h str, NpyError> {
    let pat = format!("'{key}':");
    let at = header
        .find(&pat)
        .ok_or_else(|| NpyError(format!("header has no '{key}'")))?;
    Ok(header[at + pat.len()..].trim_start())
}

pub fn parse(bytes: &[u8]) -> Result<Npy<'_>, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return err("missing the \\x93NUMPY magic");
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
        v => return err(format!("unsupported format version {v}")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| NpyError("truncated header".into()))?;
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| NpyError("header is not text".into()))?;
    let descr = field(header, "descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| NpyError("bad descr".into()))?;
    if !field(header, "fortran_order")?.starts_with("False") {
        return err("Fortran-ordered arrays are not supported; use np.ascontiguousarray");
    }
    let shape_txt = field(header, "shape")?;
    let inner = shape_txt
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| NpyError("bad shape".into()))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| NpyError(format!("bad dimension {s:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let item = match descr {
        "|u1" | "<u1" | "u1" | "|b1" => 1,
        "<u8" => 8,
        "<u4" => 4,
        "<i8" => 8,
        other => return err(format!("unsupported dtype {other:?}")),
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| NpyError("shape overflows".into()))?;
    let need = count
        .checked_mul(item)
        .ok_or_else(|| NpyError("shape overflows".into()))?;
    let data = &bytes[end..];
    if data.len() != need {
        return err(format!(
            "shape {shape:?} of {descr} needs {need} data bytes, file has {}",
            data.len()
        ));
    }
    Ok(Npy {
        descr: descr.to_string(),
        shape,
        data,
    })
}

/// Serialise a C-order array (version 1.0 header, padded to 64 bytes as numpy does).
pub fn write(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let data: Vec<u8> = (0..12).collect();
        let f = write("|u1", &[3, 4], &data);
        assert_eq!((f.len() - 12) % 64, 0, "header padded to 64 bytes");
        let a = parse(&f).unwrap();
        assert_eq!(
            (a.descr.as_str(), a.shape.as_slice(), a.data),
            ("|u1", &[3usize, 4][..], &data[..])
        );
        let ids = write("<u8", &[2], &[0; 16]);
        assert_eq!(parse(&ids).unwrap().shape, vec![2]);
        assert!(parse(&f[..f.len() - 1]).is_err());
        assert!(parse(b"not numpy at all").is_err());
        assert!(parse(&write("<f4", &[1], &[0; 4])).is_err());
        let mut huge = write("|u1", &[usize::MAX / 2, 4], &[]);
        assert!(parse(&huge).is_err());
        huge[8] = 0xff;
        assert!(parse(&huge).is_err());
    }
}
