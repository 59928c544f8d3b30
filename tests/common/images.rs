//! Fixtures for the image tests: the shipped models and sample images, and image files in
//! every supported format made on the fly.
#![allow(dead_code)]

use hamdb::{Encoder, EncoderOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_path(bits: usize) -> PathBuf {
    root().join(format!("models/reference/ssdh-fmnist-{bits}.onnx"))
}

pub fn samples_dir() -> PathBuf {
    root().join("samples/fashion-mnist")
}

/// The 48-bit reference encoder, loaded once per test process.
pub fn encoder48() -> Arc<Encoder> {
    static E: OnceLock<Arc<Encoder>> = OnceLock::new();
    E.get_or_init(|| {
        Arc::new(
            Encoder::load(model_path(48), &EncoderOptions::default())
                .expect("load the 48-bit reference model (needs .venv: make .venv/.stamp)"),
        )
    })
    .clone()
}

/// (file path, true label) of every sample image, in labels.csv order.
pub fn samples() -> Vec<(PathBuf, u32)> {
    let dir = samples_dir();
    let text = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            let file = f.next().unwrap();
            let label: u32 = f.next().unwrap().parse().unwrap();
            (dir.join(file), label)
        })
        .collect()
}

/// (file, code hex, predicted class) from the Python reference pipeline's fixture.
pub fn expected_codes(bits: usize) -> Vec<(String, String, u32)> {
    let text =
        std::fs::read_to_string(samples_dir().join(format!("expected_codes_{bits}.csv"))).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

/// A w x h gray test pattern with structure in both axes (so rotations are visible).
pub fn pattern(w: u32, h: u32) -> image::GrayImage {
    image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([((x * 7 + y * y * 3) % 256) as u8])
    })
}

pub fn encode_as(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Insert an APP1 Exif segment with the given orientation right after a JPEG's SOI marker.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0*\0\0\0\x08"); // big-endian TIFF, first IFD at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A valid PNG header declaring `w x h` pixels, with no pixel data (a decompression bomb's
/// first bytes: the check must refuse it before allocating).
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    png_header_only_with(w, h, 8, 0) // 8-bit gray
}

/// [`png_header_only`] with another bit depth and PNG colour type (6 = RGBA: with depth 16,
/// 8 bytes per pixel).
pub fn png_header_only_with(w: u32, h: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    let crc = crc32fast::hash(&ihdr);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.to_be_bytes());
    // A few bytes of pixel data (a stored deflate block of zeros) and the end chunk: enough
    // for a decoder to start, far too little for the declared size.
    let mut zlib = vec![0x78, 0x01, 0x01, 16, 0, !16, 0xff];
    zlib.extend_from_slice(&[0u8; 16]);
    zlib.extend_from_slice(&[0, 0x10, 0, 0x01]); // adler32 of 16 zeros
    for (kind, data) in [(&b"IDAT"[..], zlib), (&b"IEND"[..], Vec::new())] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&data);
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    }
    png
}

/// Replace every occurrence of `from` by `to` (same length) in a model's bytes.
pub fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut hits = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0, "{:?} not found", String::from_utf8_lossy(from));
    out
}

/// Whether an error message is plain words: no braces, no CamelCase identifiers (`UnexpectedEnd`,
/// `IoError`) and none of the image crate's debug names of formats (`Png`, `Jpeg`).
pub fn is_plain_message(msg: &str) -> bool {
    let camel = |w: &str| {
        let b = w.as_bytes();
        (1..b.len().saturating_sub(1)).any(|i| {
            b[i].is_ascii_uppercase()
                && b[i - 1].is_ascii_lowercase()
                && b[i + 1].is_ascii_lowercase()
        })
    };
    !msg.contains(['{', '}'])
        && !msg
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| camel(w) || matches!(w, "Png" | "Jpeg" | "Gif" | "Bmp" | "Tiff"))
}

/// A real sample (samples/fashion-mnist/images/00000.png) scaled to 112 x 112 RGB, in each
/// supported format: (format name, file bytes).
pub fn sample_in_every_format() -> Vec<(&'static str, Vec<u8>)> {
    let src = image::open(samples_dir().join("images/00000.png")).unwrap();
    let rgb = image::imageops::resize(
        &src.to_rgb8(),
        112,
        112,
        image::imageops::FilterType::Nearest,
    );
    let rgb = image::DynamicImage::ImageRgb8(rgb);
    let rgba = image::DynamicImage::ImageRgba8(rgb.to_rgba8());
    vec![
        (
            "PNG",
            std::fs::read(samples_dir().join("images/00000.png")).unwrap(),
        ),
        ("PNG", encode_as(&rgb, image::ImageFormat::Png)),
        ("JPEG", encode_as(&rgb, image::ImageFormat::Jpeg)),
        ("GIF", encode_as(&rgba, image::ImageFormat::Gif)),
        ("WebP", encode_as(&rgb, image::ImageFormat::WebP)),
        ("BMP", encode_as(&rgb, image::ImageFormat::Bmp)),
    ]
}
