//! Image file bytes -> one row of model input, exactly as docs/ENCODER.md section 3 says
//! (and `models/ssdh/preprocess.py`, the reference, does): decode, EXIF orientation, 8-bit RGB
//! with alpha dropped, fixed-point luma or RGB planes, `bilinear-aa` resize in f64 without
//! intermediate rounding, /255, (x - mean) / std.
//!
//! Invariant: every failure is an [`Error`] for this one image; nothing here panics on input
//! bytes (the `decode_image` fuzz target holds it to that).

use super::contract::{ColorMode, Contract};
use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use std::io::Cursor;

/// Images above this many pixels are refused before their pixels are decoded (a 40-byte PNG
/// can declare 2^31 x 2^31). 64 megapixels covers any camera photo.
pub const DEFAULT_MAX_PIXELS: u64 = 64 << 20;

/// Decoded 8-bit planes of one image in the contract's colour mode (1 or 3 planes, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Vec<u8>>,
}

/// Decode `bytes` and produce the normalised `[C, H, W]` input row into `out`
/// (`out.len() == contract.input_len()`).
pub fn preprocess_into(
    bytes: &[u8],
    contract: &Contract,
    max_pixels: u64,
    out: &mut [f32],
) -> Result<()> {
    debug_assert_eq!(out.len(), contract.input_len());
    let planes = decode_planes(bytes, contract.color_mode, max_pixels)?;
    normalise_into(&planes, contract, out);
    Ok(())
}

/// Allocating form of [`preprocess_into`].
pub fn preprocess(bytes: &[u8], contract: &Contract, max_pixels: u64) -> Result<Vec<f32>> {
    let mut out = vec![0f32; contract.input_len()];
    preprocess_into(bytes, contract, max_pixels, &mut out)?;
    Ok(out)
}

/// Steps 1-3: decode (format sniffed from the bytes), apply EXIF orientation, to 8-bit,
/// drop alpha, convert to the colour mode.
pub fn decode_planes(bytes: &[u8], mode: ColorMode, max_pixels: u64) -> Result<Planes> {
    if bytes.is_empty() {
        return Err(Error::image("the file is empty"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::image(e.to_string()))?;
    if reader.format().is_none() {
        return Err(Error::image(
            "not a recognised image format (PNG, JPEG, WebP, GIF or BMP)",
        ));
    }
    let mut limits = Limits::default();
    // The decoder's own allocation cap, a second fence behind the pixel check below: 8 bytes
    // per pixel covers 16-bit RGBA.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| Error::image(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::image(format!("the image is {w}x{h} pixels")));
    }
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(Error::ImageTooLarge {
            width: w,
            height: h,
            limit: max_pixels,
        });
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| Error::image(e.to_string()))?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(to_planes(&img, mode))
}

fn to_planes(img: &DynamicImage, mode: ColorMode) -> Planes {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let n = width * height;
    // Gray sources stay gray: luma of (g, g, g) is g exactly (the weights sum to 65536).
    let gray: Option<Vec<u8>> = match img {
        DynamicImage::ImageLuma8(b) => Some(b.as_raw().clone()),
        DynamicImage::ImageLumaA8(b) => Some(b.as_raw().chunks_exact(2).map(|p| p[0]).collect()),
        DynamicImage::ImageLuma16(b) => Some(b.as_raw().iter().map(|&v| (v >> 8) as u8).collect()),
        DynamicImage::ImageLumaA16(b) => Some(
            b.as_raw()
                .chunks_exact(2)
                .map(|p| (p[0] >> 8) as u8)
                .collect(),
        ),
        _ => None,
    };
    let planes = match (gray, mode) {
        (Some(g), ColorMode::Luma) => vec![g],
        (Some(g), ColorMode::Rgb) => vec![g.clone(), g.clone(), g],
        (None, mode) => {
            let rgb = rgb8(img);
            match mode {
                ColorMode::Luma => vec![rgb
                    .chunks_exact(3)
                    .map(|p| luma(p[0], p[1], p[2]))
                    .collect()],
                ColorMode::Rgb => (0..3)
                    .map(|c| rgb.iter().skip(c).step_by(3).copied().collect())
                    .collect(),
            }
        }
    };
    debug_assert!(planes.iter().all(|p| p.len() == n));
    Planes {
        width,
        height,
        planes,
    }
}

/// Interleaved 8-bit RGB, alpha dropped (not composited), 16-bit samples keep their top byte.
fn rgb8(img: &DynamicImage) -> Vec<u8> {
    match img {
        DynamicImage::ImageRgb8(b) => b.as_raw().clone(),
        DynamicImage::ImageRgba8(b) => b
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        DynamicImage::ImageRgb16(b) => b.as_raw().iter().map(|&v| (v >> 8) as u8).collect(),
        DynamicImage::ImageRgba16(b) => b
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
            .collect(),
        other => other.to_rgb8().into_raw(),
    }
}

/// ITU-R 601-2 luma in 16-bit fixed point, exactly Pillow's RGB->L.
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * r as u32 + 38470 * g as u32 + 7471 * b as u32 + 32768) >> 16) as u8
}

/// Steps 4-6: resize each plane to the contract's H x W, scale and normalise.
fn normalise_into(p: &Planes, contract: &Contract, out: &mut [f32]) {
    let (h, w) = (contract.height, contract.width);
    for (c, plane) in p.planes.iter().enumerate() {
        let dst = &mut out[c * h * w..(c + 1) * h * w];
        let (mean, std) = (contract.mean[c], contract.std[c]);
        let norm = |v: f64| ((v / 255.0 - mean) / std) as f32;
        if (p.height, p.width) == (h, w) {
            for (d, &v) in dst.iter_mut().zip(plane) {
                *d = norm(v as f64);
            }
        } else {
            let resized = resize_plane(plane, p.width, p.height, w, h);
            for (d, v) in dst.iter_mut().zip(resized) {
                *d = norm(v);
            }
        }
    }
}

/// Taps of the `bilinear-aa` triangle filter for one axis: for each output sample, the first
/// input index and the normalised weights from there on.
fn triangle_taps(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    let s = n_in as f64 / n_out as f64;
    let r = s.max(1.0);
    (0..n_out)
        .map(|i| {
            let c = (i as f64 + 0.5) * s;
            // Inputs with |j + 0.5 - c| < r: j in (c - r - 0.5, c + r - 0.5).
            let lo = ((c - r - 0.5).floor().max(0.0)) as usize;
            let hi = ((c + r - 0.5).ceil() as usize + 1).min(n_in);
            let mut w: Vec<f64> = (lo..hi)
                .map(|j| (1.0 - ((j as f64 + 0.5 - c).abs() / r)).max(0.0))
                .collect();
            let sum: f64 = w.iter().sum();
            for x in &mut w {
                *x /= sum;
            }
            (lo, w)
        })
        .collect()
}

/// Separable resize, width first then height, in f64 with no rounding or clamping between
/// passes (docs/ENCODER.md 3.4).
fn resize_plane(plane: &[u8], w_in: usize, h_in: usize, w_out: usize, h_out: usize) -> Vec<f64> {
    let mut rows: Vec<f64> = Vec::with_capacity(h_in * w_out);
    if w_in == w_out {
        rows.extend(plane.iter().map(|&v| v as f64));
    } else {
        let taps = triangle_taps(w_in, w_out);
        for y in 0..h_in {
            let row = &plane[y * w_in..(y + 1) * w_in];
            for (lo, w) in &taps {
                rows.push(w.iter().zip(&row[*lo..]).map(|(a, &b)| a * b as f64).sum());
            }
        }
    }
    if h_in == h_out {
        return rows;
    }
    let taps = triangle_taps(h_in, h_out);
    let mut out = vec![0f64; h_out * w_out];
    for (y, (lo, w)) in taps.iter().enumerate() {
        let dst = &mut out[y * w_out..(y + 1) * w_out];
        for (k, wk) in w.iter().enumerate() {
            let src = &rows[(lo + k) * w_out..(lo + k + 1) * w_out];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += wk * s;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_matches_pillow_fixed_point() {
        assert_eq!(luma(255, 255, 255), 255);
        assert_eq!(luma(0, 0, 0), 0);
        for g in 0..=255u8 {
            assert_eq!(luma(g, g, g), g);
        }
        // Pillow: Image.new("RGB", (1, 1), (200, 100, 50)).convert("L").getpixel((0, 0)) == 124
        assert_eq!(luma(200, 100, 50), 124);
    }

    #[test]
    fn triangle_weights_sum_to_one_and_match_the_formula() {
        for (n_in, n_out) in [
            (28, 28),
            (56, 28),
            (100, 28),
            (10, 28),
            (3, 7),
            (1, 5),
            (5, 1),
        ] {
            let taps = triangle_taps(n_in, n_out);
            let s = n_in as f64 / n_out as f64;
            let r = s.max(1.0);
            for (i, (lo, w)) in taps.iter().enumerate() {
                assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                // Every input the formula gives positive weight is inside the taps.
                let c = (i as f64 + 0.5) * s;
                for j in 0..n_in {
                    let wf = (1.0 - ((j as f64 + 0.5 - c).abs() / r)).max(0.0);
                    let inside = j >= *lo && j < lo + w.len();
                    assert!(wf == 0.0 || inside, "{n_in}->{n_out} out {i} in {j}");
                }
            }
        }
    }

    #[test]
    fn downscale_by_two_averages_with_the_triangle() {
        // 4 -> 2: s = 2, r = 2; output 0 centre 1.0: inputs 0..2 centres .5, 1.5, 2.5 get
        // weights .75, .75, .25 -> (0*.75 + 100*.75 + 200*.25) / 1.75.
        let out = resize_plane(&[0, 100, 200, 255], 4, 1, 2, 1);
        assert!((out[0] - (75.0 + 50.0) / 1.75).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"hello",
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
            b"GIF89a",
            b"BM",
        ] {
            assert!(decode_planes(bytes, ColorMode::Luma, DEFAULT_MAX_PIXELS).is_err());
        }
    }
}
