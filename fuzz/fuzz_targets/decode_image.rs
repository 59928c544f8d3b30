//! The image path of ingestion and queries: arbitrary bytes in, a clear error or a model
//! input row out (decode, EXIF orientation, colour conversion, resize, normalise), for both
//! colour modes. Inference on a well-formed row does not depend on the bytes, so this covers
//! everything untrusted on the way to a code.
#![no_main]

use hamdb::encoder::preprocess::{self, DecodeLimits, RawPixels};
use hamdb::encoder::{ColorMode, Contract, PixelLayout};
use libfuzzer_sys::fuzz_target;

fn contract(mode: ColorMode) -> Contract {
    Contract {
        code_bits: 48,
        class_names: vec!["a".into()],
        channels: mode.channels(),
        height: 28,
        width: 28,
        color_mode: mode,
        mean: vec![0.5; mode.channels()],
        std: vec![0.25; mode.channels()],
        threshold: 0.5,
        model_name: "fuzz".into(),
        model_version: "1.0.0".into(),
    }
}

/// Small enough that every accepted image decodes quickly under the fuzzer.
const MAX_PIXELS: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    for mode in [ColorMode::Luma, ColorMode::Rgb] {
        let c = contract(mode);
        if let Ok(row) = preprocess::preprocess(data, &c, MAX_PIXELS) {
            assert_eq!(row.len(), c.input_len());
            // Pixels are 0..=255, so every normalised value is within these bounds.
            assert!(row.iter().all(|v| v.is_finite() && *v >= -2.0 - 1e-5 && *v <= 2.0 + 1e-5));
        }
        // The same bytes as a caller's raw pixels (the Python binding's arrays and PIL images):
        // the first three bytes choose width, height and layout, whatever the buffer's length.
        if let [w, h, l, pixels @ ..] = data {
            let layout = [PixelLayout::Gray, PixelLayout::Rgb, PixelLayout::Rgba][*l as usize % 3];
            let raw = RawPixels {
                data: pixels,
                width: *w as usize,
                height: *h as usize,
                layout,
            };
            let limits = DecodeLimits {
                max_pixels: MAX_PIXELS,
                ..DecodeLimits::default()
            };
            let mut row = vec![0f32; c.input_len()];
            if preprocess::preprocess_pixels_into(raw, &c, &limits, None, &mut row).is_ok() {
                assert_eq!(pixels.len(), *w as usize * *h as usize * layout.channels());
                assert!(row.iter().all(|v| v.is_finite() && *v >= -2.0 - 1e-5 && *v <= 2.0 + 1e-5));
            }
        }
    }
});
