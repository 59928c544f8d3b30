//! Image file bytes -> one row of model input, exactly as docs/ENCODER.md section 3 says
//! (and `models/ssdh/preprocess.py`, the reference, does): decode, EXIF orientation, 8-bit RGB
//! with alpha dropped, fixed-point luma or RGB planes, `bilinear-aa` resize in f64 without
//! intermediate rounding, /255, (x - mean) / std.
//!
//! Invariant: every failure is an [`Error`] for this one image; nothing here panics on input
//! bytes (the `decode_image` fuzz target holds it to that).

use super::contract::{ColorMode, Contract};
use crate::error::{Error, Result};
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use std::io::Cursor;
use std::sync::{Condvar, Mutex};

/// Images above this many pixels are refused before their pixels are decoded (a 40-byte PNG
/// can declare 2^31 x 2^31). 64 megapixels covers any camera photo.
pub const DEFAULT_MAX_PIXELS: u64 = 64 << 20;

/// Images whose decoded pixels would take more than this many bytes (width x height x bytes
/// per pixel of the decoded colour type, from the header) are refused before decoding: 256 MiB,
/// a 64-megapixel 8-bit RGBA image or a 32-megapixel 16-bit RGBA one.
pub const DEFAULT_MAX_DECODED_BYTES: u64 = 256 << 20;

/// The limits one decode is held to, checked from the image header before any pixel is
/// decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most pixels (width x height).
    pub max_pixels: u64,
    /// Most bytes of decoded pixels (width x height x bytes per pixel of the decoded colour
    /// type: 8 for 16-bit RGBA).
    pub max_decoded_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
        }
    }
}

/// A byte budget shared by decoders that run at once: each decode takes its decoded size
/// from the budget before decoding and gives it back when its pixels are gone, so decoders
/// together never hold more decoded pixels than the budget (an [`super::Encoder`] has one,
/// sized to its decoded-bytes limit, shared by ingestion's decode workers and queries).
/// Waiters are served in arrival order, so a large image is not starved by small ones.
#[derive(Debug)]
pub struct DecodeBudget {
    capacity: u64,
    state: Mutex<BudgetState>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct BudgetState {
    in_use: u64,
    peak: u64,
    next_ticket: u64,
    serving: u64,
}

/// Bytes taken from a [`DecodeBudget`]; given back on drop.
#[derive(Debug)]
pub struct BudgetPermit<'a> {
    budget: &'a DecodeBudget,
    bytes: u64,
}

impl DecodeBudget {
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            state: Mutex::new(BudgetState::default()),
            freed: Condvar::new(),
        }
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes held now.
    pub fn in_use(&self) -> u64 {
        self.lock().in_use
    }

    /// The most bytes ever held at once.
    pub fn peak(&self) -> u64 {
        self.lock().peak
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take `bytes`, waiting (in arrival order) until they are free. More than the whole
    /// budget is refused at once with [`Error::Image`].
    pub fn acquire(&self, bytes: u64) -> Result<BudgetPermit<'_>> {
        if bytes > self.capacity {
            return Err(Error::image(format!(
                "its pixels would take {bytes} bytes decoded, more than the whole decode \
                 budget of {} bytes",
                self.capacity
            )));
        }
        let mut st = self.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        while st.serving != ticket || self.capacity - st.in_use < bytes {
            st = self.freed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.serving += 1;
        st.in_use += bytes;
        st.peak = st.peak.max(st.in_use);
        drop(st);
        // The next in line may fit too.
        self.freed.notify_all();
        Ok(BudgetPermit {
            budget: self,
            bytes,
        })
    }
}

impl Drop for BudgetPermit<'_> {
    fn drop(&mut self) {
        let mut st = self.budget.lock();
        st.in_use -= self.bytes;
        drop(st);
        self.budget.freed.notify_all();
    }
}

/// Decoded 8-bit planes of one image in the contract's colour mode (1 or 3 planes, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Vec<u8>>,
}

/// Decode `bytes` and produce the normalised `[C, H, W]` input row into `out`
/// (`out.len() == contract.input_len()`), with the default decoded-bytes limit and no budget.
pub fn preprocess_into(
    bytes: &[u8],
    contract: &Contract,
    max_pixels: u64,
    out: &mut [f32],
) -> Result<()> {
    let limits = DecodeLimits {
        max_pixels,
        ..DecodeLimits::default()
    };
    preprocess_limited_into(bytes, contract, &limits, None, out)
}

/// [`preprocess_into`] with explicit limits and, if given, a budget shared with other decoders
/// (held until the row is written).
pub fn preprocess_limited_into(
    bytes: &[u8],
    contract: &Contract,
    limits: &DecodeLimits,
    budget: Option<&DecodeBudget>,
    out: &mut [f32],
) -> Result<()> {
    debug_assert_eq!(out.len(), contract.input_len());
    let (planes, permit) = decode(bytes, contract.color_mode, limits, budget)?;
    normalise_into(&planes, contract, out);
    drop((planes, permit));
    Ok(())
}

/// Allocating form of [`preprocess_into`].
pub fn preprocess(bytes: &[u8], contract: &Contract, max_pixels: u64) -> Result<Vec<f32>> {
    let limits = DecodeLimits {
        max_pixels,
        ..DecodeLimits::default()
    };
    preprocess_limited(bytes, contract, &limits, None)
}

/// Allocating form of [`preprocess_limited_into`].
pub fn preprocess_limited(
    bytes: &[u8],
    contract: &Contract,
    limits: &DecodeLimits,
    budget: Option<&DecodeBudget>,
) -> Result<Vec<f32>> {
    let mut out = vec![0f32; contract.input_len()];
    preprocess_limited_into(bytes, contract, limits, budget, &mut out)?;
    Ok(out)
}

/// Steps 1-3: decode (format sniffed from the bytes), apply EXIF orientation, to 8-bit,
/// drop alpha, convert to the colour mode. The default decoded-bytes limit, no budget.
pub fn decode_planes(bytes: &[u8], mode: ColorMode, max_pixels: u64) -> Result<Planes> {
    let limits = DecodeLimits {
        max_pixels,
        ..DecodeLimits::default()
    };
    decode_planes_limited(bytes, mode, &limits, None)
}

/// [`decode_planes`] with explicit limits and, if given, a budget shared with other decoders
/// (held while decoding and converting).
pub fn decode_planes_limited(
    bytes: &[u8],
    mode: ColorMode,
    limits: &DecodeLimits,
    budget: Option<&DecodeBudget>,
) -> Result<Planes> {
    decode(bytes, mode, limits, budget).map(|(planes, _permit)| planes)
}

/// How a caller's raw pixels are laid out: row-major, 8 bits per sample, channels interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// One sample per pixel.
    Gray,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha (alpha is dropped, not composited, as for decoded files).
    Rgba,
}

impl PixelLayout {
    /// Samples per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelLayout::Gray => 1,
            PixelLayout::Rgb => 3,
            PixelLayout::Rgba => 4,
        }
    }

    /// The layout with this many samples per pixel (1, 3 or 4).
    pub fn from_channels(channels: usize) -> Option<Self> {
        match channels {
            1 => Some(PixelLayout::Gray),
            3 => Some(PixelLayout::Rgb),
            4 => Some(PixelLayout::Rgba),
            _ => None,
        }
    }
}

/// A caller's decoded image: `width x height` pixels of `layout`, row-major.
#[derive(Debug, Clone, Copy)]
pub struct RawPixels<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    pub layout: PixelLayout,
}

/// Raw pixels (already decoded and oriented by the caller) -> the normalised `[C, H, W]` input
/// row: steps 3-6 of preprocessing, so pixels equal to a file's decoded pixels give that
/// file's row exactly. The same pixel and decoded-bytes limits as files; the copy is held
/// against `budget` while it exists.
pub fn preprocess_pixels_into(
    raw: RawPixels<'_>,
    contract: &Contract,
    limits: &DecodeLimits,
    budget: Option<&DecodeBudget>,
    out: &mut [f32],
) -> Result<()> {
    debug_assert_eq!(out.len(), contract.input_len());
    let RawPixels {
        data: pixels,
        width,
        height,
        layout,
    } = raw;
    if width == 0 || height == 0 {
        return Err(Error::image(format!(
            "the image is {width}x{height} pixels"
        )));
    }
    let too_large = || Error::ImageTooLarge {
        width: u32::try_from(width).unwrap_or(u32::MAX),
        height: u32::try_from(height).unwrap_or(u32::MAX),
        limit: limits.max_pixels,
    };
    let (w, h) = (
        u32::try_from(width).map_err(|_| too_large())?,
        u32::try_from(height).map_err(|_| too_large())?,
    );
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(too_large());
    }
    let want = width * height * layout.channels();
    if pixels.len() != want {
        return Err(Error::param(
            "pixels",
            format!(
                "{} bytes is not {width}x{height} pixels of {} samples",
                pixels.len(),
                layout.channels()
            ),
        ));
    }
    if want as u64 > limits.max_decoded_bytes {
        return Err(Error::image(format!(
            "its {width}x{height} pixels take {want} bytes, over the limit of {} bytes",
            limits.max_decoded_bytes
        )));
    }
    let permit = budget.map(|b| b.acquire(want as u64)).transpose()?;
    let raw = pixels.to_vec();
    // `from_raw` cannot fail: the length was checked against width x height x channels.
    let img = match layout {
        PixelLayout::Gray => image::GrayImage::from_raw(w, h, raw).map(DynamicImage::ImageLuma8),
        PixelLayout::Rgb => image::RgbImage::from_raw(w, h, raw).map(DynamicImage::ImageRgb8),
        PixelLayout::Rgba => image::RgbaImage::from_raw(w, h, raw).map(DynamicImage::ImageRgba8),
    }
    .ok_or_else(|| Error::image("the pixel buffer does not match its size"))?;
    let planes = to_planes(img, contract.color_mode);
    normalise_into(&planes, contract, out);
    drop((planes, permit));
    Ok(())
}

/// The formats hamdb decodes, as messages name them.
fn format_name(format: Option<ImageFormat>) -> &'static str {
    match format {
        Some(ImageFormat::Png) => "PNG",
        Some(ImageFormat::Jpeg) => "JPEG",
        Some(ImageFormat::WebP) => "WebP",
        Some(ImageFormat::Gif) => "GIF",
        Some(ImageFormat::Bmp) => "BMP",
        _ => "image",
    }
}

const NOT_AN_IMAGE: &str = "not a PNG, JPEG, WebP, GIF or BMP file";

fn decode<'b>(
    bytes: &[u8],
    mode: ColorMode,
    limits: &DecodeLimits,
    budget: Option<&'b DecodeBudget>,
) -> Result<(Planes, Option<BudgetPermit<'b>>)> {
    if bytes.is_empty() {
        return Err(Error::image("the file is empty"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| image_error(ImageError::IoError(e), None))?;
    let format = match reader.format() {
        Some(
            f @ (ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Bmp),
        ) => Some(f),
        _ => return Err(Error::image(NOT_AN_IMAGE)),
    };
    let mut image_limits = Limits::default();
    // The decoder's own allocation cap, a second fence behind the checks below (decoders
    // keep some working buffers beside the pixels).
    image_limits.max_alloc = Some(limits.max_decoded_bytes.saturating_mul(2).max(64 << 20));
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(e, format))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::image(format!("the image is {w}x{h} pixels")));
    }
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(Error::ImageTooLarge {
            width: w,
            height: h,
            limit: limits.max_pixels,
        });
    }
    let color = decoder.color_type();
    let decoded_bytes = decoder.total_bytes();
    if decoded_bytes > limits.max_decoded_bytes {
        return Err(Error::image(format!(
            "its {w}x{h} pixels of {} ({} bytes each) would take {decoded_bytes} bytes \
             decoded, over the limit of {} bytes",
            color_name(color),
            color.bytes_per_pixel(),
            limits.max_decoded_bytes
        )));
    }
    check_complete(bytes, format)?;
    let permit = budget.map(|b| b.acquire(decoded_bytes)).transpose()?;
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, format))?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok((to_planes(img, mode), permit))
}

fn color_name(c: ColorType) -> String {
    match c {
        ColorType::L8 => "8-bit gray".into(),
        ColorType::La8 => "8-bit gray with alpha".into(),
        ColorType::Rgb8 => "8-bit RGB".into(),
        ColorType::Rgba8 => "8-bit RGBA".into(),
        ColorType::L16 => "16-bit gray".into(),
        ColorType::La16 => "16-bit gray with alpha".into(),
        ColorType::Rgb16 => "16-bit RGB".into(),
        ColorType::Rgba16 => "16-bit RGBA".into(),
        ColorType::Rgb32F => "32-bit float RGB".into(),
        ColorType::Rgba32F => "32-bit float RGBA".into(),
        other => format!("{}-byte pixels", other.bytes_per_pixel()),
    }
}

/// Refuse a file whose data stops before its format says it ends, where the decoder would
/// not notice: a JPEG decoder fills a cut-off scan with gray, a WebP decoder reports a cut-off
/// bitstream as corrupt. (PNG, GIF and BMP decoders fail at the missing data themselves.)
fn check_complete(bytes: &[u8], format: Option<ImageFormat>) -> Result<()> {
    match format {
        Some(ImageFormat::Jpeg) if !jpeg_has_end(bytes) => Err(Error::image(
            "the JPEG data ends early (truncated file): no end-of-image marker after the last scan",
        )),
        Some(ImageFormat::WebP) => {
            // RIFF: "RIFF", u32 little-endian size of what follows the first 8 bytes, "WEBP".
            let declared = bytes
                .get(4..8)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64 + 8);
            match declared {
                Some(n) if (bytes.len() as u64) < n => Err(Error::image(format!(
                    "the WebP data ends early (truncated file): its header declares {n} bytes, \
                     the file has {}",
                    bytes.len()
                ))),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Whether a JPEG stream reaches its EOI marker (0xFFD9): walk the marker segments from SOI,
/// skipping each scan's entropy-coded data (where 0xFF is followed only by 0x00 stuffing or a
/// restart marker), so an EOI inside other data does not count. Bytes after EOI are ignored.
fn jpeg_has_end(b: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        // Next marker: 0xFF, any number of 0xFF fill bytes, then the marker code.
        while i < b.len() && b[i] != 0xFF {
            i += 1; // stray bytes between segments (decoders skip them too)
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            // Markers without a length.
            0x00 | 0x01 | 0xD0..=0xD8 => {}
            _ => {
                let Some(len) = b.get(i..i + 2) else {
                    return false;
                };
                i += usize::from(u16::from_be_bytes([len[0], len[1]]));
                if marker == 0xDA {
                    // Entropy-coded data up to the next marker that is not stuffing or RSTn.
                    loop {
                        match (b.get(i), b.get(i + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => i += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => i += 1,
                            (None, _) => return false,
                        }
                    }
                }
            }
        }
    }
}

/// An image decoder's error in words: what is wrong with the file, with the decoder's own
/// text as a detail only when that is readable (never a debug-formatted value).
fn image_error(e: ImageError, format: Option<ImageFormat>) -> Error {
    let name = format_name(format);
    let truncated = || Error::image(format!("the {name} data ends early (truncated file)"));
    let with_detail = |what: String, detail: Option<String>| {
        Error::image(match detail.as_deref().and_then(readable) {
            Some(d) => format!("{what}: {d}"),
            None => what,
        })
    };
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => truncated(),
        ImageError::IoError(io) => {
            with_detail(format!("the {name} data is corrupt"), Some(io.to_string()))
        }
        ImageError::Decoding(d) => {
            let detail =
                std::error::Error::source(&d).map(|s| match s.downcast_ref::<std::io::Error>() {
                    Some(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                        "unexpected end of file".to_string()
                    }
                    _ => s.to_string(),
                });
            if detail.as_deref().is_some_and(says_truncated) {
                truncated()
            } else {
                with_detail(format!("the {name} data is corrupt"), detail)
            }
        }
        ImageError::Unsupported(u) => match u.kind() {
            image::error::UnsupportedErrorKind::Format(_) => Error::image(NOT_AN_IMAGE),
            image::error::UnsupportedErrorKind::Color(_)
            | image::error::UnsupportedErrorKind::ColorLayout(_) => Error::image(format!(
                "the {name} file uses a colour type hamdb's decoder does not support"
            )),
            image::error::UnsupportedErrorKind::GenericFeature(f) => with_detail(
                format!("the {name} file uses a feature hamdb's decoder does not support"),
                Some(f),
            ),
            _ => Error::image(format!(
                "the {name} file uses a feature hamdb's decoder does not support"
            )),
        },
        ImageError::Limits(l) => match l.kind() {
            image::error::LimitErrorKind::DimensionError => Error::image(format!(
                "the {name} file's dimensions are over the decoder's limits"
            )),
            _ => Error::image(format!(
                "decoding the {name} file needs more memory than the decoder's limit"
            )),
        },
        ImageError::Parameter(p) => with_detail(
            format!("the {name} data is inconsistent"),
            std::error::Error::source(&p).map(|s| s.to_string()),
        ),
        ImageError::Encoding(_) => Error::image(format!("the {name} data cannot be converted")),
    }
}

/// Whether a decoder's message means the data stopped early.
fn says_truncated(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "unexpected end",
        "end of file",
        "unexpected eof",
        "not enough bytes",
        "no more bytes",
        "exhausteddata",
        "truncated",
        "failed to fill whole buffer",
    ]
    .iter()
    .any(|k| m.contains(k))
}

/// A decoder's message as a readable detail (first letter lower-cased), or `None` when it is
/// a debug-formatted value or names code (braces, quotes, `::`, CamelCase identifiers, the
/// image crate's format names). A debug-formatted `Variant("text")` gives its text; a
/// message whose tail is code keeps its readable head ("unrecognized critical chunk: ...").
pub(crate) fn readable(msg: &str) -> Option<String> {
    let mut m = msg.trim();
    if let Some(open) = m.find("(\"") {
        let head = &m[..open];
        if !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric()) && m.ends_with("\")")
        {
            m = &m[open + 2..m.len() - 2];
        }
    }
    loop {
        if is_plain_words(m) {
            let mut out: String = m.trim_end_matches(['.', '\n', ' ']).to_string();
            let mut c = out.chars();
            if let (Some(first), Some(second)) = (c.next(), c.next()) {
                if first.is_ascii_uppercase() && second.is_ascii_lowercase() {
                    out.replace_range(..1, &first.to_ascii_lowercase().to_string());
                }
            }
            return (!out.is_empty() && out.len() <= 200).then_some(out);
        }
        match m.rsplit_once(": ") {
            Some((head, _)) => m = head.trim(),
            None => return None,
        }
    }
}

/// No braces, brackets, quotes, `::`, control characters, CamelCase identifiers or the image
/// crate's debug names of formats.
pub(crate) fn is_plain_words(m: &str) -> bool {
    !m.is_empty()
        && !m
            .chars()
            .any(|c| matches!(c, '{' | '}' | '[' | ']' | '"' | '`' | '\\') || c.is_control())
        && !m.contains("::")
        && !m
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(is_code_word)
}

/// `UnexpectedEnd`, `IoError`, `ChunkType`: an uppercase letter after a lowercase one, with
/// more lowercase after it ("WebP" and "JPEG" are names, not identifiers); and the image
/// crate's debug names of formats.
pub(crate) fn is_code_word(w: &str) -> bool {
    let b = w.as_bytes();
    let camel = (1..b.len().saturating_sub(1)).any(|i| {
        b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase() && b[i + 1].is_ascii_lowercase()
    });
    camel || matches!(w, "Png" | "Jpeg" | "Gif" | "Bmp" | "Tiff" | "Ico" | "Avif")
}

/// Takes the image by value so its buffer is reused or freed as soon as possible (an
/// 8-bit source's buffer becomes a plane or the RGB buffer).
fn to_planes(img: DynamicImage, mode: ColorMode) -> Planes {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let n = width * height;
    // Gray sources stay gray: luma of (g, g, g) is g exactly (the weights sum to 65536).
    let gray: std::result::Result<Vec<u8>, DynamicImage> = match img {
        DynamicImage::ImageLuma8(b) => Ok(b.into_raw()),
        DynamicImage::ImageLumaA8(b) => Ok(b.as_raw().chunks_exact(2).map(|p| p[0]).collect()),
        DynamicImage::ImageLuma16(b) => Ok(b.as_raw().iter().map(|&v| (v >> 8) as u8).collect()),
        DynamicImage::ImageLumaA16(b) => Ok(b
            .as_raw()
            .chunks_exact(2)
            .map(|p| (p[0] >> 8) as u8)
            .collect()),
        other => Err(other),
    };
    let planes = match (gray, mode) {
        (Ok(g), ColorMode::Luma) => vec![g],
        (Ok(g), ColorMode::Rgb) => vec![g.clone(), g.clone(), g],
        (Err(img), mode) => {
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
fn rgb8(img: DynamicImage) -> Vec<u8> {
    match img {
        DynamicImage::ImageRgb8(b) => b.into_raw(),
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

/// The taps of output sample `i` of the `bilinear-aa` triangle filter for one axis: the
/// normalised weights into `w`, from the returned first input index on.
fn tap_into(n_in: usize, n_out: usize, i: usize, w: &mut Vec<f64>) -> usize {
    let s = n_in as f64 / n_out as f64;
    let r = s.max(1.0);
    let c = (i as f64 + 0.5) * s;
    // Inputs with |j + 0.5 - c| < r: j in (c - r - 0.5, c + r - 0.5).
    let lo = ((c - r - 0.5).floor().max(0.0)) as usize;
    let hi = ((c + r - 0.5).ceil() as usize + 1).min(n_in);
    w.clear();
    w.extend((lo..hi).map(|j| (1.0 - ((j as f64 + 0.5 - c).abs() / r)).max(0.0)));
    let sum: f64 = w.iter().sum();
    for x in w.iter_mut() {
        *x /= sum;
    }
    lo
}

/// Every output sample's taps for one axis.
#[cfg(test)]
fn triangle_taps(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    (0..n_out)
        .map(|i| {
            let mut w = Vec::new();
            let lo = tap_into(n_in, n_out, i, &mut w);
            (lo, w)
        })
        .collect()
}

/// Width-first intermediates up to this many f64 are kept whole (32 MiB); beyond that (a tall,
/// thin image: the intermediate is h_in x w_out, unbounded by the decoded size) each output row
/// recomputes the input rows it needs, so memory stays at the output size.
const MAX_ROWS_BUFFER: usize = 1 << 22;
/// Horizontal taps up to about this many weights are computed once (8 MiB); beyond that (a
/// very wide image) they are computed again for each row.
const MAX_CACHED_TAPS: usize = 1 << 20;

/// How one row is resized along the width.
enum RowTaps {
    Same,
    Cached(Vec<(usize, Vec<f64>)>),
    OnTheFly,
}

/// One row resized from `row.len()` to `w_out` samples into `out`.
fn resize_row(
    row: &[u8],
    w_out: usize,
    taps: &RowTaps,
    scratch: &mut Vec<f64>,
    out: &mut Vec<f64>,
) {
    out.clear();
    let dot = |lo: usize, w: &[f64]| -> f64 {
        w.iter().zip(&row[lo..]).map(|(a, &b)| a * b as f64).sum()
    };
    match taps {
        RowTaps::Same => out.extend(row.iter().map(|&v| v as f64)),
        RowTaps::Cached(t) => out.extend(t.iter().map(|(lo, w)| dot(*lo, w))),
        RowTaps::OnTheFly => {
            for i in 0..w_out {
                let lo = tap_into(row.len(), w_out, i, scratch);
                out.push(dot(lo, scratch));
            }
        }
    }
}

/// Separable resize, width first then height, in f64 with no rounding or clamping between
/// passes (docs/ENCODER.md 3.4).
fn resize_plane(plane: &[u8], w_in: usize, h_in: usize, w_out: usize, h_out: usize) -> Vec<f64> {
    resize_plane_with(
        plane,
        w_in,
        h_in,
        w_out,
        h_out,
        MAX_ROWS_BUFFER,
        MAX_CACHED_TAPS,
    )
}

/// [`resize_plane`] with its memory thresholds as parameters; every choice computes the same
/// values in the same order, so the result is bit for bit the same.
fn resize_plane_with(
    plane: &[u8],
    w_in: usize,
    h_in: usize,
    w_out: usize,
    h_out: usize,
    max_rows_buffer: usize,
    max_cached_taps: usize,
) -> Vec<f64> {
    let taps = if w_in == w_out {
        RowTaps::Same
    } else {
        let r = (w_in as f64 / w_out as f64).max(1.0);
        let weights = (w_out as f64) * (2.0 * r.ceil() + 3.0);
        if weights <= max_cached_taps as f64 {
            let mut t = Vec::with_capacity(w_out);
            for i in 0..w_out {
                let mut w = Vec::new();
                let lo = tap_into(w_in, w_out, i, &mut w);
                t.push((lo, w));
            }
            RowTaps::Cached(t)
        } else {
            RowTaps::OnTheFly
        }
    };
    let input_row = |y: usize| &plane[y * w_in..(y + 1) * w_in];
    let (mut scratch, mut row) = (Vec::new(), Vec::with_capacity(w_out));
    if h_in == h_out || h_in.saturating_mul(w_out) <= max_rows_buffer {
        let mut rows: Vec<f64> = Vec::with_capacity(h_in * w_out);
        for y in 0..h_in {
            resize_row(input_row(y), w_out, &taps, &mut scratch, &mut row);
            rows.extend_from_slice(&row);
        }
        if h_in == h_out {
            return rows;
        }
        vertical(h_in, h_out, w_out, |k, f| {
            f(&rows[k * w_out..(k + 1) * w_out])
        })
    } else {
        vertical(h_in, h_out, w_out, |k, f| {
            resize_row(input_row(k), w_out, &taps, &mut scratch, &mut row);
            f(&row)
        })
    }
}

/// The height pass: output row `y` accumulates `w * row(k)` over its taps in order;
/// `with_row(k, f)` calls `f` with the width-resized input row `k`.
fn vertical(
    h_in: usize,
    h_out: usize,
    w_out: usize,
    mut with_row: impl FnMut(usize, &mut dyn FnMut(&[f64])),
) -> Vec<f64> {
    let mut out = vec![0f64; h_out * w_out];
    let mut w = Vec::new();
    for y in 0..h_out {
        let lo = tap_into(h_in, h_out, y, &mut w);
        let dst = &mut out[y * w_out..(y + 1) * w_out];
        for (k, wk) in w.iter().enumerate() {
            with_row(lo + k, &mut |src| {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += wk * s;
                }
            });
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

    fn png(img: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn rgb_image(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8])
        }))
    }

    /// Two decoders share a budget that holds one image at a time: both succeed, taking
    /// turns (the budget never held more than one image); an image over the whole budget
    /// fails alone while the other decoder goes on.
    #[test]
    fn decode_budget_makes_decoders_take_turns_and_refuses_one_image_over_it() {
        let small = png(&rgb_image(64, 64)); // 64 x 64 x 3 = 12288 bytes decoded
        let big = png(&rgb_image(64, 128)); // 24576 bytes
        let budget = DecodeBudget::new(12288);
        let limits = DecodeLimits::default();
        std::thread::scope(|s| {
            let decoders: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        (0..50)
                            .map(|_| {
                                decode_planes_limited(
                                    &small,
                                    ColorMode::Rgb,
                                    &limits,
                                    Some(&budget),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for d in decoders {
                for r in d.join().unwrap() {
                    assert_eq!(r.unwrap().width, 64);
                }
            }
        });
        assert_eq!(budget.peak(), 12288, "one image at a time");
        assert_eq!(budget.in_use(), 0, "every permit was given back");

        std::thread::scope(|s| {
            let other =
                s.spawn(|| decode_planes_limited(&small, ColorMode::Luma, &limits, Some(&budget)));
            let e =
                decode_planes_limited(&big, ColorMode::Luma, &limits, Some(&budget)).unwrap_err();
            assert!(matches!(e, Error::Image { .. }), "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains("24576 bytes") && msg.contains("budget of 12288 bytes"),
                "{msg}"
            );
            assert!(other.join().unwrap().is_ok());
        });
        assert_eq!(budget.in_use(), 0);
        // Without the budget, the same image is within the limits.
        assert!(decode_planes_limited(&big, ColorMode::Luma, &limits, None).is_ok());
    }

    /// The decoded-bytes limit is checked from the header: width x height x bytes per pixel
    /// of the decoded colour type.
    #[test]
    fn decoded_bytes_are_limited_from_the_header() {
        let img = png(&rgb_image(64, 64));
        let at = |max_decoded_bytes| DecodeLimits {
            max_pixels: DEFAULT_MAX_PIXELS,
            max_decoded_bytes,
        };
        assert!(decode_planes_limited(&img, ColorMode::Luma, &at(12288), None).is_ok());
        let e = decode_planes_limited(&img, ColorMode::Luma, &at(12287), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot decode the image: its 64x64 pixels of 8-bit RGB (3 bytes each) would take \
             12288 bytes decoded, over the limit of 12287 bytes"
        );
    }

    /// Every way of running the resize (intermediate kept whole or recomputed per output
    /// row, taps cached or computed per row) gives the same values bit for bit.
    #[test]
    fn resize_strategies_agree_bit_for_bit() {
        for (w_in, h_in, w_out, h_out) in [
            (37, 5, 28, 28),
            (5, 300, 28, 28),
            (300, 3, 7, 9),
            (1, 50, 28, 28),
            (50, 1, 28, 28),
            (28, 100, 28, 28),
            (100, 28, 28, 28),
            (3, 3, 1, 1),
        ] {
            let plane: Vec<u8> = (0..w_in * h_in).map(|i| (i * 37 % 251) as u8).collect();
            let reference =
                resize_plane_with(&plane, w_in, h_in, w_out, h_out, usize::MAX, usize::MAX);
            assert_eq!(reference.len(), w_out * h_out);
            for (rows, taps) in [(0, 0), (0, usize::MAX), (usize::MAX, 0)] {
                let got = resize_plane_with(&plane, w_in, h_in, w_out, h_out, rows, taps);
                let same = got
                    .iter()
                    .zip(&reference)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{w_in}x{h_in} -> {w_out}x{h_out} with {rows}, {taps}");
            }
        }
    }

    #[test]
    fn jpeg_end_marker_is_found_only_at_the_end_of_the_last_scan() {
        let mut out = Cursor::new(Vec::new());
        rgb_image(40, 30)
            .write_to(&mut out, ImageFormat::Jpeg)
            .unwrap();
        let jpeg = out.into_inner();
        assert!(jpeg_has_end(&jpeg));
        for cut in 2..jpeg.len() {
            assert!(
                !jpeg_has_end(&jpeg[..cut]),
                "cut at {cut} of {}",
                jpeg.len()
            );
        }
        // Bytes after EOI are ignored; an EOI inside a segment (an EXIF thumbnail) does not
        // count.
        let mut trailer = jpeg.clone();
        trailer.extend_from_slice(b"trailing bytes");
        assert!(jpeg_has_end(&trailer));
        let mut thumb = jpeg[..2].to_vec();
        thumb.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9]);
        thumb.extend_from_slice(&jpeg[2..jpeg.len() / 2]);
        assert!(!jpeg_has_end(&thumb));
    }

    #[test]
    fn decoder_messages_become_words() {
        assert_eq!(
            readable("Format(\"bad huffman code\")").as_deref(),
            Some("bad huffman code")
        );
        assert_eq!(
            readable("Unrecognized critical chunk: ChunkType { type: IDA, critical: true }")
                .as_deref(),
            Some("unrecognized critical chunk")
        );
        assert_eq!(
            readable("invalid minimal code size").as_deref(),
            Some("invalid minimal code size")
        );
        assert_eq!(
            readable("IDAT chunk missing.").as_deref(),
            Some("IDAT chunk missing")
        );
        for code in [
            "UnexpectedEnd { additional: 1 }",
            "ExhaustedData",
            "IoError(Kind(UnexpectedEof))",
            "",
        ] {
            assert_eq!(readable(code), None, "{code}");
        }
        assert!(is_plain_words("the WebP data is corrupt"));
        assert!(!is_plain_words("Format error decoding Png"));
    }
}
