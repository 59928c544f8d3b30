//! Arguments from Python: one code, a numpy array of codes (borrowed in place), id and label
//! columns. Every check gives a TypeError or ValueError that says what was expected.

use hamdb::{Code, CodeLen};
use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;

/// A query code from bytes or a 1-D uint8 array (copied: one code is small).
pub(crate) fn code_arg(obj: &Bound<'_, PyAny>) -> PyResult<Code> {
    let bytes: Vec<u8> = if let Ok(b) = obj.downcast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(a) = obj.downcast::<PyArray1<u8>>() {
        a.to_vec()
            .map_err(|e| PyValueError::new_err(e.to_string()))?
    } else if let Ok(a) = obj.downcast::<PyUntypedArray>() {
        return Err(PyTypeError::new_err(format!(
            "a code must be bytes or a 1-D uint8 array (np.packbits order), got a {}-D array of dtype {}",
            a.ndim(),
            a.dtype()
        )));
    } else {
        return Err(PyTypeError::new_err(format!(
            "a code must be bytes or a 1-D uint8 array (np.packbits order), got {}",
            obj.get_type().name()?
        )));
    };
    Code::from_bytes(&bytes).map_err(to_py)
}

/// The codes of one item or one query set: a 2-D uint8 array `[v, bytes]` (one code per row,
/// any memory layout: it is copied, a few codes are small) or a sequence of codes (bytes or
/// 1-D uint8 arrays). Their number and lengths are checked by the core (at commit, or by the
/// search).
pub(crate) fn code_list_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Code>> {
    let want = "codes must be a 2-D uint8 array [n, bytes] or a sequence of codes (bytes or \
                1-D uint8 arrays, np.packbits order)";
    if let Ok(a) = obj.downcast::<PyUntypedArray>() {
        if a.ndim() != 2 || !a.dtype().is_equiv_to(&numpy::dtype::<u8>(obj.py())) {
            return Err(PyTypeError::new_err(format!(
                "{want}, got a {}-D array of dtype {}",
                a.ndim(),
                a.dtype()
            )));
        }
        let arr = obj.downcast::<PyArray2<u8>>()?.readonly();
        return arr
            .as_array()
            .rows()
            .into_iter()
            .map(|row| Code::from_bytes(&row.to_vec()).map_err(to_py))
            .collect();
    }
    if obj.downcast::<PyBytes>().is_ok() || obj.is_instance_of::<pyo3::types::PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{want}, got one {} (for one code use [code])",
            obj.get_type().name()?
        )));
    }
    let Ok(items) = obj.try_iter() else {
        return Err(PyTypeError::new_err(format!(
            "{want}, got {}",
            obj.get_type().name()?
        )));
    };
    items.map(|c| code_arg(&c?)).collect()
}

/// Check that `obj` is a C-contiguous uint8 array of shape `[N, len.bytes()]`.
pub(crate) fn codes_arg<'py>(
    obj: &Bound<'py, PyAny>,
    len: CodeLen,
) -> PyResult<Bound<'py, PyArray2<u8>>> {
    let want = || {
        format!(
            "a C-contiguous uint8 array of shape [N, {}] ({}-bit codes in np.packbits order)",
            len.bytes(),
            len.bits()
        )
    };
    let Ok(any) = obj.downcast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "expected {}, got {}",
            want(),
            obj.get_type().name()?
        )));
    };
    if !any.dtype().is_equiv_to(&numpy::dtype::<u8>(obj.py())) {
        return Err(PyTypeError::new_err(format!(
            "expected {}, got dtype {}",
            want(),
            any.dtype()
        )));
    }
    if any.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "expected {}, got a {}-D array of shape {:?}",
            want(),
            any.ndim(),
            any.shape()
        )));
    }
    if any.shape()[1] != len.bytes() {
        return Err(to_py(hamdb::Error::CodeLengthMismatch {
            expected: len.bits(),
            actual: any.shape()[1] * 8,
        }));
    }
    if !any.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "expected {}, got a non-C-contiguous array (use np.ascontiguousarray)",
            want()
        )));
    }
    Ok(obj.downcast::<PyArray2<u8>>()?.clone())
}

/// An optional 1-D column (ids or labels) as a Vec of `dtype`, length `n`.
pub(crate) fn column<T: numpy::Element + Copy>(
    py: Python<'_>,
    obj: Option<&Bound<'_, PyAny>>,
    dtype: &str,
    name: &str,
    n: usize,
) -> PyResult<Option<Vec<T>>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    let np = py.import("numpy")?;
    // numpy's casts wrap negative numbers and truncate floats; an id or label must be an
    // integer in the target's range, or the import would store other values than given.
    let given = np.call_method1("asarray", (obj,))?;
    let kind: String = given.getattr("dtype")?.getattr("kind")?.extract()?;
    if kind != "u" && kind != "i" {
        return Err(PyTypeError::new_err(format!(
            "`{name}` must hold integers, got dtype {}",
            given.getattr("dtype")?.str()?
        )));
    }
    if given.getattr("size")?.extract::<usize>()? > 0 {
        let max: u64 = np
            .call_method1("iinfo", (np.getattr(dtype)?,))?
            .getattr("max")?
            .extract()?;
        let lo_ok: bool = given.call_method0("min")?.ge(0)?;
        let hi_ok: bool = given.call_method0("max")?.le(max)?;
        if !lo_ok || !hi_ok {
            return Err(PyValueError::new_err(format!(
                "`{name}` holds values outside 0..={max} ({dtype})"
            )));
        }
    }
    let arr = np.call_method1("ascontiguousarray", (given, np.getattr(dtype)?))?;
    let arr = arr.downcast::<PyArray1<T>>().map_err(|_| {
        PyValueError::new_err(format!("`{name}` must be a 1-D sequence of {dtype}"))
    })?;
    let v = arr
        .to_vec()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    if v.len() != n {
        return Err(PyValueError::new_err(format!(
            "`{name}` has {} entries for {n} codes",
            v.len()
        )));
    }
    Ok(Some(v))
}

pub(crate) fn too_big(n: usize, k: usize) -> PyErr {
    PyMemoryError::new_err(format!("cannot allocate results of shape [{n}, {k}]"))
}

pub(crate) fn is_2d_array(obj: &Bound<'_, PyAny>) -> bool {
    obj.downcast::<PyUntypedArray>()
        .map(|a| a.ndim() == 2)
        .unwrap_or(false)
}

/// An optional sequence of `n` payloads (bytes-like each).
pub(crate) fn payload_column(
    obj: Option<&Bound<'_, PyAny>>,
    n: usize,
) -> PyResult<Option<Vec<Vec<u8>>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(n);
    for (i, p) in obj.try_iter()?.enumerate() {
        let p = p?;
        let Ok(b) = p.downcast::<PyBytes>() else {
            return Err(PyTypeError::new_err(format!(
                "`payloads` must hold bytes, item {i} is {}",
                p.get_type().name()?
            )));
        };
        out.push(b.as_bytes().to_vec());
    }
    if out.len() != n {
        return Err(PyValueError::new_err(format!(
            "`payloads` has {} entries for {n} codes",
            out.len()
        )));
    }
    Ok(Some(out))
}
