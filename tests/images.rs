//! Images end to end with the real ONNX Runtime, the shipped reference models and real image
//! files: Python parity, insert and search round trip, the wrong model, bad images, formats
//! and EXIF orientation, contract violations.

mod common;

use common::db::tempdir;
use common::images::*;
use hamdb::encoder::{preprocess, ColorMode};
use hamdb::{
    Database, Encoder, EncoderOptions, Error, ImageSource, IngestOptions, ModelBinding,
    ModelRecord, Reach, WriteBatch,
};
use std::path::PathBuf;

/// The Rust pipeline reproduces the Python reference pipeline's codes and classes
/// (samples/fashion-mnist/expected_codes_K.csv) for every shipped model.
#[test]
fn codes_match_the_python_reference_pipeline() {
    for bits in [16, 32, 48, 64] {
        let enc = Encoder::load(model_path(bits), &EncoderOptions::default()).unwrap();
        let expected = expected_codes(bits);
        assert_eq!(expected.len(), 1000);
        let files: Vec<Vec<u8>> = expected
            .iter()
            .map(|(f, _, _)| std::fs::read(samples_dir().join(f)).unwrap())
            .collect();
        let refs: Vec<&[u8]> = files.iter().map(|b| b.as_slice()).collect();
        let (mut same_bits, mut same_class) = (0usize, 0usize);
        for (chunk, exp) in refs.chunks(100).zip(expected.chunks(100)) {
            for (got, (_, hex, class)) in enc.encode_images(chunk).unwrap().into_iter().zip(exp) {
                let got = got.unwrap();
                let want = hamdb::Code::from_hex(hex).unwrap();
                same_bits += bits - got.code.distance(&want).unwrap() as usize;
                same_class += (got.class == *class) as usize;
            }
        }
        let bit_agreement = same_bits as f64 / (1000 * bits) as f64;
        let class_agreement = same_class as f64 / 1000.0;
        eprintln!("{bits}-bit: bits {bit_agreement:.5}, classes {class_agreement:.4}");
        assert!(
            bit_agreement >= 0.99,
            "{bits}-bit codes agree on {bit_agreement}"
        );
        assert!(
            class_agreement >= 0.995,
            "{bits}-bit classes agree on {class_agreement}"
        );
    }
}

#[test]
fn insert_and_search_round_trip() {
    let enc = encoder48();
    let dir = tempdir("img-roundtrip");
    let path = dir.join("db.hamdb");
    let db = hamdb::image::create_for_model(&path, &enc).unwrap();
    let samples = samples();
    let sources: Vec<ImageSource> = samples
        .iter()
        .map(|(p, _)| ImageSource::Path(p.clone()))
        .collect();
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(sources, &IngestOptions::default())
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.inserted, 1000);
    let ids: Vec<u64> = report.ids.iter().map(|i| i.unwrap()).collect();
    // Ids follow the input order, whatever order the decoders finished in.
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    drop(db);

    // Reopen: the model binding, the items and their payloads survived.
    let db = Database::open(&path).unwrap();
    assert_eq!(
        ModelRecord::of(&db).unwrap().unwrap().contract.model_name,
        "ssdh-fmnist-48"
    );
    assert_eq!(db.stats().items, 1000);
    let expected = expected_codes(48);
    let mut correct_class = 0;
    for (i, (p, label)) in samples.iter().enumerate().step_by(97) {
        let bytes = std::fs::read(p).unwrap();
        let q = ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image(&bytes, 10, None)
            .unwrap();
        assert_eq!(q.result.hits.len(), 10);
        // The image itself is in the database at distance 0 (so is any image with the same
        // code: ties are broken by id, so it need not be in the top 10, but it is within
        // radius 0).
        assert_eq!(q.result.hits[0].distance, 0);
        let same = ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image_reach(&bytes, Reach::Radius(0), None)
            .unwrap();
        let me = same
            .result
            .hits
            .iter()
            .find(|h| h.id == ids[i])
            .expect("the query image is within radius 0 of itself");
        assert_eq!(me.payload, p.to_string_lossy().as_bytes());
        assert_eq!(me.label, Some(q.class));
        assert_eq!(q.class, expected[i].2);
        assert_eq!(
            q.class_name,
            ModelRecord::of(&db).unwrap().unwrap().contract.class_names[q.class as usize]
        );
        assert!(q.probability > 0.0 && q.probability <= 1.0);
        correct_class += (q.class == *label) as usize;
        // A class filter returns only that class.
        let other = (q.class + 1) % 10;
        let f = ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image(&bytes, 5, Some(other))
            .unwrap();
        assert!(!f.result.hits.is_empty());
        assert!(f.result.hits.iter().all(|h| h.label == Some(other)));
        // Radius search agrees with the k-NN distances.
        let r = ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image_reach(&bytes, Reach::Radius(q.result.hits[9].distance), None)
            .unwrap();
        assert!(r.result.hits.len() >= 10);
        // Query by code keeps working and gives the same neighbours.
        let by_code = db.search(&q.code, 10).unwrap();
        assert_eq!(by_code.hits, q.result.hits);
    }
    assert!(
        correct_class >= 8,
        "{correct_class} of 11 sampled queries classified right"
    );
}

#[test]
fn another_model_is_refused() {
    let enc = encoder48();
    let dir = tempdir("img-wrong-model");
    let path = dir.join("db.hamdb");
    let db = hamdb::image::create_for_model(&path, &enc).unwrap();

    // Another code length.
    let enc32 = Encoder::load(model_path(32), &EncoderOptions::default()).unwrap();
    // The model check runs when the database and the encoder are bound, before any image.
    let e = ModelBinding::new(&db, &enc32).map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::EncoderMismatch { .. }), "{e}");
    assert!(e.to_string().contains("ssdh-fmnist-48") && e.to_string().contains("ssdh-fmnist-32"));

    // The same architecture and K, but another file (a new version): refused by fingerprint.
    let bytes = std::fs::read(model_path(48)).unwrap();
    // Bump the patch digit of whatever version the shipped model has (same length, so the
    // protobuf stays valid).
    let version = enc.contract().model_version.clone();
    let (head, last) = version.rsplit_once('.').unwrap();
    let bumped = format!("{head}.{}", (last.parse::<u32>().unwrap() + 1) % 10);
    let v2 = patch(&bytes, version.as_bytes(), bumped.as_bytes());
    let enc_v2 = Encoder::from_bytes(&v2, &EncoderOptions::default()).unwrap();
    let e = ModelBinding::new(&db, &enc_v2).map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::EncoderMismatch { .. }), "{e}");
    assert_eq!(db.stats().items, 0);

    // A code-only database has no model at all.
    let codes_only = Database::create(
        dir.join("codes.hamdb"),
        hamdb::CreateOptions {
            code_bits: 48,
            fingerprint: vec![],
            expected_radius: None,
        },
    )
    .unwrap();
    let e = ModelBinding::new(&codes_only, &enc)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e, Error::NoEncoder);
}

#[test]
fn bad_images_fail_alone_and_committed_data_survives() {
    let enc = encoder48();
    let dir = tempdir("img-bad");
    let path = dir.join("db.hamdb");
    let db = hamdb::image::create_for_model(&path, &enc).unwrap();
    let good: Vec<PathBuf> = samples().iter().take(20).map(|s| s.0.clone()).collect();
    // A first committed batch.
    let first = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(
            good[..10].iter().cloned().map(ImageSource::Path),
            &IngestOptions::default(),
        )
        .unwrap();
    assert_eq!(first.inserted, 10);

    let png = std::fs::read(&good[10]).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty.png", vec![]),
        ("truncated.png", png[..png.len() / 2].to_vec()),
        ("corrupt.png", {
            let mut b = png.clone();
            for x in b.iter_mut().skip(40).step_by(3) {
                *x ^= 0x5a;
            }
            b
        }),
        ("notes.txt", b"this is not an image\n".to_vec()),
        ("bomb.png", png_header_only(100_000, 100_000)),
    ];
    let mut sources = Vec::new();
    for (i, g) in good[10..].iter().enumerate() {
        sources.push(ImageSource::Path(g.clone()));
        if let Some((name, bytes)) = files.get(i) {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            sources.push(ImageSource::Path(p));
        }
    }
    sources.push(ImageSource::Path(dir.join("missing.png")));
    let opts = IngestOptions {
        batch_size: 4,
        commit_every: 3,
        ..IngestOptions::default()
    };
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(sources, &opts)
        .unwrap();
    assert_eq!(report.inserted, 10);
    let failed: Vec<&str> = report
        .failures
        .iter()
        .map(|f| f.source.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "empty.png",
            "truncated.png",
            "corrupt.png",
            "notes.txt",
            "bomb.png",
            "missing.png"
        ]
    );
    for f in &report.failures {
        assert!(report.ids[f.index].is_none());
        let ok = match f.source.rsplit('/').next().unwrap() {
            "bomb.png" => matches!(f.error, Error::ImageTooLarge { width: 100_000, .. }),
            "missing.png" => matches!(f.error, Error::Io { .. }),
            _ => matches!(f.error, Error::Image { .. }),
        };
        assert!(ok, "{}: {}", f.source, f.error);
    }
    drop(db);
    let db = Database::open(&path).unwrap();
    assert_eq!(db.stats().items, 20);
    // Every committed id is readable.
    let snap = db.snapshot();
    for id in first.ids.iter().chain(&report.ids).flatten() {
        assert!(snap.get(*id).unwrap().is_some());
    }
}

#[test]
fn bytes_sources_keep_the_callers_payload() {
    let enc = encoder48();
    let dir = tempdir("img-bytes");
    let db = hamdb::image::create_for_model(dir.join("db.hamdb"), &enc).unwrap();
    let img = std::fs::read(&samples()[3].0).unwrap();
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(
            [ImageSource::Bytes {
                bytes: img.clone(),
                payload: b"caller payload".to_vec(),
            }],
            &IngestOptions::default(),
        )
        .unwrap();
    let id = report.ids[0].unwrap();
    let item = db.snapshot().get(id).unwrap().unwrap();
    assert_eq!(item.payload, b"caller payload");
    assert_eq!(item.code, enc.encode_image(&img).unwrap().code);
    // Codes inserted by code next to images: both are searchable.
    let mut b = WriteBatch::new();
    b.insert_auto(item.code.clone(), Some(0), "by code");
    db.commit(b).unwrap();
    assert_eq!(
        ModelBinding::new(&db, &enc)
            .unwrap()
            .search_image(&img, 2, None)
            .unwrap()
            .result
            .hits[1]
            .distance,
        0
    );
}

#[test]
fn every_supported_format_decodes_to_the_same_pixels() {
    let img = image::DynamicImage::ImageLuma8(pattern(28, 28));
    let reference = preprocess::decode_planes(
        &encode_as(&img, image::ImageFormat::Png),
        ColorMode::Luma,
        1 << 20,
    )
    .unwrap();
    assert_eq!(reference.planes[0], img.to_luma8().into_raw());
    for format in [
        image::ImageFormat::Bmp,
        image::ImageFormat::Gif,
        image::ImageFormat::WebP,
    ] {
        // GIF needs RGBA input; every one of these is lossless for gray.
        let src = if format == image::ImageFormat::Gif {
            image::DynamicImage::ImageRgba8(img.to_rgba8())
        } else {
            image::DynamicImage::ImageRgb8(img.to_rgb8())
        };
        let got =
            preprocess::decode_planes(&encode_as(&src, format), ColorMode::Luma, 1 << 20).unwrap();
        assert_eq!(got, reference, "{format:?}");
    }
    // JPEG is lossy: close, not equal.
    let jpeg = encode_as(&img, image::ImageFormat::Jpeg);
    let got = preprocess::decode_planes(&jpeg, ColorMode::Luma, 1 << 20).unwrap();
    let max_diff = got.planes[0]
        .iter()
        .zip(&reference.planes[0])
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(max_diff < 64, "{max_diff}");
    // RGB mode from a gray source: three equal planes.
    let rgb = preprocess::decode_planes(
        &encode_as(&img, image::ImageFormat::Png),
        ColorMode::Rgb,
        1 << 20,
    )
    .unwrap();
    assert_eq!(rgb.planes.len(), 3);
    assert!(rgb.planes.iter().all(|p| *p == reference.planes[0]));
}

#[test]
fn jpeg_exif_orientation_is_applied() {
    let img = image::DynamicImage::ImageLuma8(pattern(40, 20));
    let jpeg = encode_as(&img, image::ImageFormat::Jpeg);
    let plain = preprocess::decode_planes(&jpeg, ColorMode::Luma, 1 << 20).unwrap();
    assert_eq!((plain.width, plain.height), (40, 20));
    // Orientation 6: the stored pixels must be rotated 90 degrees clockwise to display.
    let rotated = with_exif_orientation(&jpeg, 6);
    let got = preprocess::decode_planes(&rotated, ColorMode::Luma, 1 << 20).unwrap();
    assert_eq!((got.width, got.height), (20, 40));
    // Displayed pixel (x, y) is stored pixel (y, H - 1 - x).
    for y in 0..40 {
        for x in 0..20 {
            let stored = plain.planes[0][(19 - x) * 40 + y];
            assert_eq!(got.planes[0][y * 20 + x], stored);
        }
    }
}

#[test]
fn resize_follows_the_contract_for_other_sizes() {
    let enc = encoder48();
    // 56x56 made by repeating each pixel of a sample twice: downscaling by 2 with the
    // triangle filter mixes neighbours, so the code is close to, not equal to, the original.
    let (p, _) = &samples()[5];
    let small = image::open(p).unwrap().to_luma8();
    let big = image::imageops::resize(&small, 56, 56, image::imageops::FilterType::Nearest);
    let bytes = encode_as(
        &image::DynamicImage::ImageLuma8(big),
        image::ImageFormat::Png,
    );
    let a = enc.encode_image(&std::fs::read(p).unwrap()).unwrap();
    let b = enc.encode_image(&bytes).unwrap();
    assert!(a.code.distance(&b.code).unwrap() <= 12);
    // Color input goes through the luma conversion.
    let rgb = image::DynamicImage::ImageLuma8(small.clone()).to_rgb8();
    let c = enc
        .encode_image(&encode_as(
            &image::DynamicImage::ImageRgb8(rgb),
            image::ImageFormat::Png,
        ))
        .unwrap();
    assert_eq!(c.code, a.code);
}

#[test]
fn models_that_break_the_contract_are_refused_with_the_reason() {
    let bytes = std::fs::read(model_path(48)).unwrap();
    let opts = EncoderOptions::default();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            patch(&bytes, b"hamdb.model_name", b"hamdb.model_nam_"),
            "hamdb.model_name` is missing",
        ),
        (patch(&bytes, b"[0.353]", b"[0.000]"), "positive"),
        (
            patch(&bytes, b"latent", b"latenT"),
            "no output named `latent`",
        ),
        (patch(&bytes, b"bilinear-aa", b"bilinear-xx"), "bilinear-aa"),
        (bytes[..bytes.len() / 3].to_vec(), "cannot load"),
        (b"not a model".to_vec(), "cannot load"),
    ];
    for (model, needle) in cases {
        let e = Encoder::from_bytes(&model, &opts).unwrap_err();
        assert!(matches!(e, Error::ModelContract { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
        assert!(is_plain_message(&e.to_string()), "{e}");
    }
}

/// Issue 7: thread counts and session counts are bounded; huge values are refused with
/// InvalidParameter naming the parameter and its range (not 32k threads, not an abort). The
/// just-over values come first.
#[test]
fn out_of_range_encoder_options_are_refused() {
    let ok = EncoderOptions::default();
    let cases = [
        (
            EncoderOptions {
                intra_threads: 257,
                ..ok.clone()
            },
            "intra_threads",
            "0..=256",
        ),
        (
            EncoderOptions {
                sessions: 65,
                ..ok.clone()
            },
            "sessions",
            "0..=64",
        ),
        (
            EncoderOptions {
                intra_threads: 100_000,
                ..ok.clone()
            },
            "intra_threads",
            "0..=256",
        ),
        (
            EncoderOptions {
                intra_threads: usize::MAX,
                ..ok.clone()
            },
            "intra_threads",
            "0..=256",
        ),
        (
            EncoderOptions {
                sessions: 1 << 40,
                ..ok.clone()
            },
            "sessions",
            "0..=64",
        ),
        (
            EncoderOptions {
                max_pixels: 0,
                ..ok.clone()
            },
            "max_pixels",
            "1..=",
        ),
    ];
    for (opts, name, range) in cases {
        let e = Encoder::load(model_path(48), &opts).unwrap_err();
        match &e {
            Error::InvalidParameter { name: n, reason } => {
                assert_eq!(*n, name, "{e}");
                assert!(reason.contains(range), "{e}");
            }
            other => panic!("{name}: {other}"),
        }
    }
}

/// Issue 7: batch size, decoder count and commit interval are bounded; out-of-range values
/// are refused before anything runs (a batch of 1e8 asked for 22 GB up front and aborted).
#[test]
fn out_of_range_ingest_options_are_refused() {
    let enc = encoder48();
    let dir = tempdir("img-ingest-options");
    let db = hamdb::image::create_for_model(dir.join("db.hamdb"), &enc).unwrap();
    let ok = IngestOptions::default();
    let cases = [
        (
            IngestOptions {
                batch_size: 4097,
                ..ok.clone()
            },
            "batch_size",
            "1..=4096",
        ),
        (
            IngestOptions {
                decode_threads: 257,
                ..ok.clone()
            },
            "decode_threads",
            "0..=256",
        ),
        (
            IngestOptions {
                batch_size: 0,
                ..ok.clone()
            },
            "batch_size",
            "1..=4096",
        ),
        (
            IngestOptions {
                commit_every: 0,
                ..ok.clone()
            },
            "commit_every",
            "1..=",
        ),
        (
            IngestOptions {
                batch_size: 100_000_000,
                ..ok.clone()
            },
            "batch_size",
            "1..=4096",
        ),
        (
            IngestOptions {
                batch_size: usize::MAX,
                ..ok.clone()
            },
            "batch_size",
            "1..=4096",
        ),
        (
            IngestOptions {
                decode_threads: 100_000,
                ..ok.clone()
            },
            "decode_threads",
            "0..=256",
        ),
    ];
    let sources = || [ImageSource::Path(samples()[0].0.clone())];
    for (opts, name, range) in cases {
        let e = ModelBinding::new(&db, &enc)
            .unwrap()
            .insert_images(sources(), &opts)
            .unwrap_err();
        match &e.error {
            Error::InvalidParameter { name: n, reason } => {
                assert_eq!(*n, name, "{e}");
                assert!(reason.contains(range), "{e}");
            }
            other => panic!("{name}: {other}"),
        }
        assert!(e.report.ids.is_empty() && e.report.inserted == 0);
    }
    assert_eq!(db.stats().items, 0);
}

/// Issue 7: the largest allowed batch and decoder count with a handful of images: memory
/// follows the 3 images, not the 4096 asked for.
#[test]
fn the_largest_batch_works_with_a_few_images() {
    let enc = encoder48();
    let dir = tempdir("img-largest-batch");
    let db = hamdb::image::create_for_model(dir.join("db.hamdb"), &enc).unwrap();
    let opts = IngestOptions {
        batch_size: hamdb::image::MAX_BATCH_SIZE,
        decode_threads: hamdb::image::MAX_DECODE_THREADS,
        commit_every: 1,
    };
    let sources: Vec<ImageSource> = samples()
        .iter()
        .take(3)
        .map(|(p, _)| ImageSource::Path(p.clone()))
        .collect();
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(sources, &opts)
        .unwrap();
    assert_eq!(report.inserted, 3);
    assert!(report.failures.is_empty());
    assert_eq!(db.stats().items, 3);
}

/// Issue 10: the limit counts bytes, not only pixels. A 16-bit RGBA 8191 x 8191 PNG is under
/// the pixel limit but would decode to 536,739,848 bytes: refused from its header (this file
/// has almost no pixel data, so a decoder that started would fail on the missing data
/// instead), with the bytes and the limit in the message; it fails alone in an ingestion. A
/// normal 16-bit RGBA image still works.
#[test]
fn a_16_bit_rgba_png_over_the_decoded_bytes_limit_is_refused_from_its_header() {
    let enc = encoder48();
    let bomb = png_header_only_with(8191, 8191, 16, 6);
    assert!(8191u64 * 8191 <= enc.max_pixels());
    let e = enc.encode_image(&bomb).unwrap_err();
    assert!(matches!(e, Error::Image { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "cannot decode the image: its 8191x8191 pixels of 16-bit RGBA (8 bytes each) would take \
         536739848 bytes decoded, over the limit of 268435456 bytes"
    );

    let small = image::DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(64, 64, |x, y| {
        image::Rgba([(x * 1000) as u16, (y * 1000) as u16, 0, 65535])
    }));
    let small = encode_as(&small, image::ImageFormat::Png);
    enc.encode_image(&small).unwrap();

    let dir = tempdir("img-bytes-limit");
    let db = hamdb::image::create_for_model(dir.join("db.hamdb"), &enc).unwrap();
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(
            [
                ImageSource::Bytes {
                    bytes: bomb,
                    payload: b"bomb".to_vec(),
                },
                ImageSource::Bytes {
                    bytes: small,
                    payload: b"small".to_vec(),
                },
            ],
            &IngestOptions::default(),
        )
        .unwrap();
    assert_eq!(report.inserted, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].index, 0);
    assert!(report.ids[0].is_none() && report.ids[1].is_some());
}

/// Issue 10: the decoded-bytes limit is configurable next to max_pixels and sizes the
/// encoder's shared decode budget.
#[test]
fn the_decoded_bytes_limit_is_an_encoder_option() {
    let opts = EncoderOptions {
        max_decoded_bytes: 28 * 28,
        ..EncoderOptions::default()
    };
    let enc = Encoder::load(model_path(48), &opts).unwrap();
    assert_eq!(enc.decode_limits().max_decoded_bytes, 784);
    assert_eq!(enc.decode_budget().capacity(), 784);
    // The samples are 28 x 28 8-bit gray: 784 bytes.
    enc.encode_file(&samples()[0].0).unwrap();
    let rgb = image::DynamicImage::ImageLuma8(pattern(28, 28)).to_rgb8();
    let e = enc
        .encode_image(&encode_as(
            &image::DynamicImage::ImageRgb8(rgb),
            image::ImageFormat::Png,
        ))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("2352 bytes decoded, over the limit of 784 bytes"),
        "{e}"
    );
    assert_eq!(enc.decode_budget().in_use(), 0);
}

/// The peak resident memory of this process (VmHWM), if the system reports it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Issue 10: memory follows the decoded size on every step. A 1 x 8M gray PNG (8 MiB decoded,
/// within every limit) used to resize through an 8M x 28 intermediate of f64 (1.8 GB); now the
/// resize recomputes the rows it needs. The wide image (8M x 1) computes its taps per row.
#[test]
fn a_tall_thin_image_resizes_without_a_huge_intermediate() {
    let enc = encoder48();
    let tall = image::GrayImage::from_fn(1, 8 << 20, |_, y| image::Luma([(y >> 15) as u8]));
    let tall = encode_as(
        &image::DynamicImage::ImageLuma8(tall),
        image::ImageFormat::Png,
    );
    let before = peak_rss_bytes();
    let a = enc.encode_image(&tall).unwrap();
    if let (Some(before), Some(after)) = (before, peak_rss_bytes()) {
        assert!(
            after.saturating_sub(before) < 512 << 20,
            "peak memory grew by {} bytes",
            after - before
        );
    }
    let wide = image::GrayImage::from_fn(8 << 20, 1, |x, _| image::Luma([(x >> 15) as u8]));
    let wide = encode_as(
        &image::DynamicImage::ImageLuma8(wide),
        image::ImageFormat::Png,
    );
    enc.encode_image(&wide).unwrap();
    assert_eq!(a.code.bits(), 48);
}

/// Issue 4: a file cut in half fails with Error::Image saying it is truncated, in every
/// format (the JPEG decoder used to fill the missing half silently), alone in an ingestion;
/// so does a JPEG without its end-of-image marker.
#[test]
fn truncated_files_fail_in_every_format() {
    let enc = encoder48();
    let mut cut = Vec::new();
    for (name, bytes) in sample_in_every_format() {
        preprocess::decode_planes(&bytes, ColorMode::Luma, 1 << 20).unwrap();
        cut.push((name, bytes[..bytes.len() / 2].to_vec()));
        if name == "JPEG" {
            cut.push((name, bytes[..bytes.len() - 2].to_vec()));
        }
    }
    for (name, bytes) in &cut {
        let e = preprocess::decode_planes(bytes, ColorMode::Luma, 1 << 20).unwrap_err();
        assert!(matches!(e, Error::Image { .. }), "{name}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("the {name} data ends early (truncated file)")),
            "{name} ({} bytes): {msg}",
            bytes.len()
        );
    }
    let dir = tempdir("img-truncated");
    let db = hamdb::image::create_for_model(dir.join("db.hamdb"), &enc).unwrap();
    let mut sources: Vec<ImageSource> = cut
        .iter()
        .map(|(name, bytes)| ImageSource::Bytes {
            bytes: bytes.clone(),
            payload: name.as_bytes().to_vec(),
        })
        .collect();
    sources.push(ImageSource::Path(samples()[0].0.clone()));
    let report = ModelBinding::new(&db, &enc)
        .unwrap()
        .insert_images(sources, &IngestOptions::default())
        .unwrap();
    assert_eq!(report.inserted, 1);
    assert_eq!(report.failures.len(), cut.len());
    assert!(report.ids[cut.len()].is_some());
}

/// Issue 14: decode errors say in words what is wrong with the file: no braces, no
/// debug-formatted enum names (`UnexpectedEnd { additional: 1 }`, `Png`), for truncated,
/// corrupt, unsupported and garbage inputs in every format.
#[test]
fn decode_error_messages_are_words() {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, bytes) in sample_in_every_format() {
        for cut in [8, 20, 40, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
            inputs.push((format!("{name} cut at {cut}"), bytes[..cut].to_vec()));
        }
        for (step, mask) in [(3, 0x5a), (7, 0xff), (50, 0x01)] {
            let mut b = bytes.clone();
            for x in b.iter_mut().skip(40).step_by(step) {
                *x ^= mask;
            }
            inputs.push((format!("{name} xor {mask:#x} every {step}"), b));
        }
        let mut junk = bytes[..12].to_vec();
        junk.extend((0..200u32).map(|i| (i * 97 % 256) as u8));
        inputs.push((format!("{name} header then junk"), junk));
    }
    inputs.push(("text".into(), b"this is not an image\n".to_vec()));
    inputs.push(("TIFF".into(), b"II*\0\x08\0\0\0junk junk junk".to_vec()));
    inputs.push(("empty".into(), Vec::new()));
    inputs.push(("bomb".into(), png_header_only(100_000, 100_000)));
    let mut failed = 0;
    for (what, bytes) in &inputs {
        let Err(e) = preprocess::decode_planes(bytes, ColorMode::Luma, 1 << 20) else {
            continue; // a flipped byte in BMP pixels is just another pixel
        };
        failed += 1;
        eprintln!("{what}: {e}");
        assert!(
            matches!(e, Error::Image { .. } | Error::ImageTooLarge { .. }),
            "{what}: {e}"
        );
        assert!(is_plain_message(&e.to_string()), "{what}: {e}");
    }
    assert!(failed >= inputs.len() - 6, "{failed} of {}", inputs.len());
    let e =
        preprocess::decode_planes(b"this is not an image\n", ColorMode::Luma, 1 << 20).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot decode the image: not a PNG, JPEG, WebP, GIF or BMP file"
    );
}

#[test]
fn a_missing_runtime_names_the_fix() {
    // The process has a runtime loaded already (other tests); asking for a different file
    // is refused, and a nonexistent path is reported with the install hint either way.
    let opts = EncoderOptions {
        runtime_path: Some(PathBuf::from("/nonexistent/libonnxruntime.so")),
        ..EncoderOptions::default()
    };
    let e = Encoder::load(model_path(48), &opts).unwrap_err();
    assert!(matches!(e, Error::Runtime { .. }), "{e}");
}

/// Raw pixels (gray, RGB, RGBA, any size) give exactly the row of a PNG that decodes to the
/// same pixels, and ingest as `ImageSource::Pixels`; a buffer of the wrong size, a zero-sized
/// or an over-limit image is refused with its reason.
#[test]
fn raw_pixels_preprocess_like_the_file_they_decode_from() {
    let enc = encoder48();
    let (p, _) = &samples()[3];
    let gray = image::open(p).unwrap().to_luma8();
    let big = image::imageops::resize(&gray, 50, 37, image::imageops::FilterType::Triangle);
    let rgb = image::DynamicImage::ImageLuma8(big.clone()).to_rgb8();
    let mut rgba = image::DynamicImage::ImageRgb8(rgb.clone()).to_rgba8();
    for px in rgba.pixels_mut() {
        px.0[3] = 7; // alpha is dropped, not composited
    }
    let cases: Vec<(Vec<u8>, hamdb::PixelLayout, image::DynamicImage)> = vec![
        (
            big.as_raw().clone(),
            hamdb::PixelLayout::Gray,
            image::DynamicImage::ImageLuma8(big.clone()),
        ),
        (
            rgb.as_raw().clone(),
            hamdb::PixelLayout::Rgb,
            image::DynamicImage::ImageRgb8(rgb.clone()),
        ),
        (
            rgba.as_raw().clone(),
            hamdb::PixelLayout::Rgba,
            image::DynamicImage::ImageRgba8(rgba.clone()),
        ),
    ];
    for (pixels, layout, img) in &cases {
        let from_file = enc
            .preprocess(&encode_as(img, image::ImageFormat::Png))
            .unwrap();
        let from_pixels = enc.preprocess_pixels(pixels, 50, 37, *layout).unwrap();
        assert_eq!(from_pixels, from_file, "{layout:?}");
    }
    let e = enc
        .preprocess_pixels(&cases[0].0[1..], 50, 37, hamdb::PixelLayout::Gray)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    let e = enc
        .preprocess_pixels(&[], 0, 37, hamdb::PixelLayout::Gray)
        .unwrap_err();
    assert!(e.to_string().contains("0x37"), "{e}");
    let small = Encoder::load(
        model_path(48),
        &EncoderOptions {
            max_pixels: 100,
            ..EncoderOptions::default()
        },
    )
    .unwrap();
    let e = small
        .preprocess_pixels(&cases[0].0, 50, 37, hamdb::PixelLayout::Gray)
        .unwrap_err();
    assert!(matches!(e, Error::ImageTooLarge { .. }), "{e}");

    let dir = tempdir("img-pixels");
    let db = hamdb::image::create_for_model(dir.join("db.hamdb"), &enc).unwrap();
    let binding = ModelBinding::new(&db, &enc).unwrap();
    let report = binding
        .insert_images(
            [
                ImageSource::Pixels {
                    pixels: cases[1].0.clone(),
                    width: 50,
                    height: 37,
                    layout: hamdb::PixelLayout::Rgb,
                    payload: b"rgb".to_vec(),
                },
                ImageSource::Pixels {
                    pixels: vec![0; 10],
                    width: 50,
                    height: 37,
                    layout: hamdb::PixelLayout::Rgb,
                    payload: b"short".to_vec(),
                },
            ],
            &IngestOptions::default(),
        )
        .unwrap();
    assert_eq!(report.inserted, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].index, 1);
    let item = db.snapshot().get(report.ids[0].unwrap()).unwrap().unwrap();
    let want = enc
        .encode_image(&encode_as(&cases[1].2, image::ImageFormat::Png))
        .unwrap();
    assert_eq!(item.code, want.code);
    assert_eq!(&item.payload[..], b"rgb");
}
