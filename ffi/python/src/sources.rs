//! Images from Python: a path (str or os.PathLike), file bytes (bytes, bytearray, memoryview),
//! decoded pixels (a uint8 numpy array, HxW or HxWxC with C in 1, 3, 4; or a PIL image), or a
//! `(image, payload)` tuple of one of the in-memory forms with the payload to store.
//!
//! Conversion runs with the GIL held and copies what it needs (file bytes, pixels): the
//! decoders then run without the GIL. A path is read by the decoder, not here.

use std::path::PathBuf;

use hamdb::{ImageSource, PixelLayout};
use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString, PyTuple};

const WHAT: &str = "an image is a path (str or os.PathLike), file bytes, a uint8 numpy array \
                    (HxW, or HxWxC with C in 1, 3, 4), a PIL image, or an (image, payload) tuple \
                    of one of the in-memory forms";

/// The source for `obj`; `payload` replaces the default (the path, or empty).
pub(crate) fn source_of(obj: &Bound<'_, PyAny>) -> PyResult<ImageSource> {
    if let Ok(t) = obj.downcast::<PyTuple>() {
        if t.len() != 2 {
            return Err(PyTypeError::new_err(format!(
                "{WHAT}; got a tuple of {} items",
                t.len()
            )));
        }
        let payload = bytes_like(&t.get_item(1)?).ok_or_else(|| {
            PyTypeError::new_err("the payload of an (image, payload) tuple must be bytes")
        })?;
        let inner = t.get_item(0)?;
        return match in_memory(&inner, payload)? {
            Some(src) => Ok(src),
            None => Err(PyTypeError::new_err(format!(
                "{WHAT}; the image of an (image, payload) tuple must be in memory (bytes, an \
                 array or a PIL image: a path's payload is the path), got {}",
                inner.get_type().name()?
            ))),
        };
    }
    if let Some(src) = in_memory(obj, Vec::new())? {
        return Ok(src);
    }
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        let path: PathBuf = obj.extract()?;
        return Ok(ImageSource::Path(path));
    }
    Err(PyTypeError::new_err(format!(
        "{WHAT}; got {}",
        obj.get_type().name()?
    )))
}

fn bytes_like(obj: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Some(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Some(b.to_vec());
    }
    if obj.downcast::<PyMemoryView>().is_ok() {
        let b = obj.call_method0("tobytes").ok()?;
        return b.downcast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec());
    }
    None
}

/// Bytes, an array or a PIL image; None for anything else.
fn in_memory(obj: &Bound<'_, PyAny>, payload: Vec<u8>) -> PyResult<Option<ImageSource>> {
    if let Some(bytes) = bytes_like(obj) {
        return Ok(Some(ImageSource::Bytes { bytes, payload }));
    }
    if let Ok(a) = obj.downcast::<PyUntypedArray>() {
        return array_pixels(a, payload).map(Some);
    }
    if is_pil_image(obj)? {
        return pil_pixels(obj, payload).map(Some);
    }
    Ok(None)
}

fn array_pixels(a: &Bound<'_, PyUntypedArray>, payload: Vec<u8>) -> PyResult<ImageSource> {
    if !a.dtype().is_equiv_to(&numpy::dtype::<u8>(a.py())) {
        return Err(PyTypeError::new_err(format!(
            "an image array must have dtype uint8 (8-bit samples), got {}",
            a.dtype()
        )));
    }
    let shape = a.shape().to_vec();
    let (height, width, channels) = match shape[..] {
        [h, w] => (h, w, 1),
        [h, w, c] => (h, w, c),
        _ => {
            return Err(PyValueError::new_err(format!(
                "an image array is HxW or HxWxC, got shape {shape:?}"
            )))
        }
    };
    let layout = PixelLayout::from_channels(channels).ok_or_else(|| {
        PyValueError::new_err(format!(
            "an image array has 1 (gray), 3 (RGB) or 4 (RGBA) channels, got shape {shape:?}"
        ))
    })?;
    let arr = a.downcast::<PyArrayDyn<u8>>()?.readonly();
    // Logical (row-major) order whatever the strides: a transposed or sliced array is read
    // as it displays, never as its memory happens to lie.
    let pixels: Vec<u8> = arr.as_array().iter().copied().collect();
    Ok(ImageSource::Pixels {
        pixels,
        width,
        height,
        layout,
        payload,
    })
}

/// Duck-typed, so PIL need not be installed: `mode`, `size` and `tobytes` as PIL.Image has.
fn is_pil_image(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(obj.hasattr("mode")?
        && obj.hasattr("size")?
        && obj.hasattr("tobytes")?
        && obj.hasattr("convert")?)
}

/// A PIL image's pixels: L, RGB and RGBA as they are; other modes through PIL's own
/// conversion (to L for the gray ones, to RGB for the rest), as `image.convert` documents.
fn pil_pixels(img: &Bound<'_, PyAny>, payload: Vec<u8>) -> PyResult<ImageSource> {
    let mode: String = img.getattr("mode")?.extract()?;
    let (img, layout) = match mode.as_str() {
        "L" => (img.clone(), PixelLayout::Gray),
        "RGB" => (img.clone(), PixelLayout::Rgb),
        "RGBA" => (img.clone(), PixelLayout::Rgba),
        "1" | "LA" | "La" | "I" | "I;16" | "I;16B" | "I;16L" | "I;16N" | "F" => {
            (img.call_method1("convert", ("L",))?, PixelLayout::Gray)
        }
        _ => (img.call_method1("convert", ("RGB",))?, PixelLayout::Rgb),
    };
    let (width, height): (usize, usize) = img.getattr("size")?.extract()?;
    let raw = img.call_method0("tobytes")?;
    let pixels = raw.downcast::<PyBytes>()?.as_bytes().to_vec();
    Ok(ImageSource::Pixels {
        pixels,
        width,
        height,
        layout,
        payload,
    })
}
