//! Image ingestion: parallel decoders feed batched inference, which feeds the single writer,
//! through bounded crossbeam channels.
//!
//! ```text
//! sources --jobs--> decode workers (N) --rows--> inference (batches of B) --encoded--> writer
//! ```
//!
//! Every channel is bounded, so memory is O(threads + batch size) rows whatever the input
//! size. An image that cannot be read or decoded fails alone (its reason is in the report);
//! the rest are inserted. The writer commits after every `commit_every` inserted items, so a
//! failure later (a full disk, a killed process) loses at most the uncommitted tail. When the
//! ingestion stops early, the [`IngestError`] carries the report of what was committed.

use super::binding::ModelBinding;
use crate::encoder::{Encoder, PixelLayout};
use crate::error::{Error, Result};
use crate::storage::{Database, WriteBatch};
use crossbeam::channel::{bounded, Receiver, Sender};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One image to insert.
#[derive(Debug, Clone)]
pub enum ImageSource {
    /// A file; its path (as given) becomes the item's payload.
    Path(PathBuf),
    /// Image bytes held by the caller, with the payload to store.
    Bytes { bytes: Vec<u8>, payload: Vec<u8> },
    /// Decoded pixels held by the caller (row-major, interleaved 8-bit samples, already
    /// oriented: no EXIF step), with the payload to store.
    Pixels {
        pixels: Vec<u8>,
        width: usize,
        height: usize,
        layout: PixelLayout,
        payload: Vec<u8>,
    },
}

impl ImageSource {
    /// Read (a path), decode and preprocess into a model input row for `encoder`. A decoder
    /// bug fails this image, not the caller: its panic is caught here.
    pub fn preprocess(&self, encoder: &Encoder) -> Result<Vec<f32>> {
        let guarded = |f: &dyn Fn() -> Result<Vec<f32>>| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or_else(|_| Err(Error::image("the decoder panicked on this file")))
        };
        match self {
            ImageSource::Path(p) => std::fs::read(p)
                .map_err(|e| Error::io("reading the image", e))
                .and_then(|b| guarded(&|| encoder.preprocess(&b))),
            ImageSource::Bytes { bytes, .. } => guarded(&|| encoder.preprocess(bytes)),
            ImageSource::Pixels {
                pixels,
                width,
                height,
                layout,
                ..
            } => guarded(&|| encoder.preprocess_pixels(pixels, *width, *height, *layout)),
        }
    }

    /// The payload stored with the item: the path's text, or the caller's bytes.
    pub fn into_payload(self) -> Vec<u8> {
        match self {
            ImageSource::Path(p) => p.to_string_lossy().into_owned().into_bytes(),
            ImageSource::Bytes { payload, .. } | ImageSource::Pixels { payload, .. } => payload,
        }
    }

    /// How reports name this source: the path, or `#index` for bytes and pixels.
    pub fn describe(&self, index: usize) -> String {
        match self {
            ImageSource::Path(p) => p.display().to_string(),
            ImageSource::Bytes { .. } | ImageSource::Pixels { .. } => format!("#{index}"),
        }
    }
}

/// Most images per forward pass ([`IngestOptions::batch_size`]).
pub const MAX_BATCH_SIZE: usize = 4096;
/// Most decode workers ([`IngestOptions::decode_threads`]).
pub const MAX_DECODE_THREADS: usize = 256;

/// Tuning for [`ModelBinding::insert_images`]; the defaults suit a small machine. Values out of
/// range are refused with [`Error::InvalidParameter`] (see [`IngestOptions::validate`]).
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Images per forward pass, 1..=[`MAX_BATCH_SIZE`]. Memory follows the images actually
    /// batched, not this number.
    pub batch_size: usize,
    /// Decode workers, 0..=[`MAX_DECODE_THREADS`]; 0 = one per core (at most
    /// [`MAX_DECODE_THREADS`]).
    pub decode_threads: usize,
    /// Inserted items per commit (each commit is durable: fsync), at least 1; failed items do
    /// not count.
    pub commit_every: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            batch_size: 64,
            decode_threads: 0,
            commit_every: 8192,
        }
    }
}

impl IngestOptions {
    /// Check every value against its range; the error names the parameter and the range.
    pub fn validate(&self) -> Result<()> {
        Error::check_range(
            "batch_size",
            self.batch_size as u64,
            1,
            MAX_BATCH_SIZE as u64,
            "",
        )?;
        Error::check_range(
            "decode_threads",
            self.decode_threads as u64,
            0,
            MAX_DECODE_THREADS as u64,
            " (0 = one per core)",
        )?;
        Error::check_range(
            "commit_every",
            self.commit_every as u64,
            1,
            u64::MAX,
            " (inserted items per commit)",
        )?;
        Ok(())
    }
}

/// Progress, reported after each batch reaches the writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestProgress {
    /// Items processed (inserted or failed).
    pub done: u64,
    pub failed: u64,
    /// Items in durable commits so far.
    pub committed: u64,
}

/// One image that was not inserted, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFailure {
    /// Position in the input sequence.
    pub index: usize,
    /// The path, or `#index` for bytes.
    pub source: String,
    pub error: Error,
}

/// What an ingestion did. `ids[i]` is the id of input `i`, `None` if it failed (or, in an
/// [`IngestError`]'s report, was not committed); ids are assigned in input order. `failures`
/// is in input order. After a complete ingestion `ids` has one entry per input; in an
/// [`IngestError`]'s report it covers the inputs the writer reached before the error.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub ids: Vec<Option<u64>>,
    pub failures: Vec<ItemFailure>,
    pub inserted: u64,
    /// The last commit's transaction number (0 if nothing was committed).
    pub txn: u64,
}

/// An ingestion that stopped early: the error, and the report of what was committed before it
/// (those items are durable; the uncommitted tail is not in the database).
#[derive(Debug, Clone)]
pub struct IngestError {
    pub error: Error,
    pub report: IngestReport,
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if self.report.inserted > 0 {
            write!(
                f,
                " ({} images were committed before the error, up to transaction {})",
                self.report.inserted, self.report.txn
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Drops the report: for callers that only propagate the error.
impl From<IngestError> for Error {
    fn from(e: IngestError) -> Self {
        e.error
    }
}

struct Row {
    index: usize,
    source: String,
    payload: Vec<u8>,
    input: Result<Vec<f32>>,
}

struct EncodedRow {
    index: usize,
    source: String,
    payload: Vec<u8>,
    result: Result<crate::encoder::Encoded>,
}

fn decode_worker(encoder: &Encoder, jobs: Receiver<(usize, ImageSource)>, rows: Sender<Row>) {
    for (index, src) in jobs.iter() {
        let source = src.describe(index);
        let input = src.preprocess(encoder);
        let payload = src.into_payload();
        let row = Row {
            index,
            source,
            payload,
            input,
        };
        if rows.send(row).is_err() {
            return; // downstream stopped (a fatal error); stop quietly
        }
    }
}

/// Collect up to `batch` rows, run the successful ones through the model in one pass.
fn inference_stage(
    encoder: &Encoder,
    rows: Receiver<Row>,
    out: Sender<Vec<EncodedRow>>,
    batch: usize,
) -> Result<()> {
    // Grows with the rows actually received (a batch of 4096 over 3 images holds 3).
    let mut pending: Vec<Row> = Vec::new();
    loop {
        pending.clear();
        match rows.recv() {
            Ok(r) => pending.push(r),
            Err(_) => return Ok(()),
        }
        while pending.len() < batch {
            match rows.recv() {
                Ok(r) => pending.push(r),
                Err(_) => break,
            }
        }
        let (tags, inputs): (Vec<_>, Vec<_>) = pending
            .drain(..)
            .map(|r| ((r.index, r.source, r.payload), r.input))
            .unzip();
        let batch_out: Vec<EncodedRow> = tags
            .into_iter()
            .zip(encoder.encode_prepared(inputs)?)
            .map(|((index, source, payload), result)| EncodedRow {
                index,
                source,
                payload,
                result,
            })
            .collect();
        if out.send(batch_out).is_err() {
            return Ok(()); // the writer stopped and reports why
        }
    }
}

struct Writer<'a> {
    db: &'a Database,
    report: IngestReport,
    batch: WriteBatch,
    batch_indices: Vec<usize>,
    progress: IngestProgress,
}

impl Writer<'_> {
    fn commit(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let info = self.db.commit(std::mem::take(&mut self.batch))?;
        for (&i, &id) in self.batch_indices.iter().zip(&info.assigned_ids) {
            self.report.ids[i] = Some(id);
        }
        self.report.inserted += self.batch_indices.len() as u64;
        self.progress.committed = self.report.inserted;
        self.batch_indices.clear();
        self.report.txn = info.txn;
        Ok(())
    }
}

impl ModelBinding<'_> {
    /// Encode and insert images; see the module docs for the pipeline. Fails as a whole only
    /// for invalid options, an inference failure or a write error; items committed before it
    /// stay committed and the error's report lists them. Each image that cannot be read or
    /// decoded is a failure in the report.
    pub fn insert_images<I>(
        &self,
        sources: I,
        options: &IngestOptions,
    ) -> std::result::Result<IngestReport, IngestError>
    where
        I: IntoIterator<Item = ImageSource>,
        I::IntoIter: Send,
    {
        self.insert_images_with_progress(sources, options, &|_| {})
    }

    /// [`ModelBinding::insert_images`] with a progress callback (called on the writer thread).
    pub fn insert_images_with_progress<I>(
        &self,
        sources: I,
        options: &IngestOptions,
        progress: &(dyn Fn(&IngestProgress) + Sync),
    ) -> std::result::Result<IngestReport, IngestError>
    where
        I: IntoIterator<Item = ImageSource>,
        I::IntoIter: Send,
    {
        let encoder = self.encoder();
        options.validate().map_err(|error| IngestError {
            error,
            report: IngestReport::default(),
        })?;
        let batch = options.batch_size;
        let threads = match options.decode_threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_DECODE_THREADS),
            n => n,
        };
        let commit_every = options.commit_every;
        // Channel capacities follow the validated options: at most 1024 jobs and 8192 rows in
        // flight (about 1 MiB of slots; a row's pixels exist only once a decoder made them).
        let (job_tx, job_rx) = bounded::<(usize, ImageSource)>(threads * 4);
        let (row_tx, row_rx) = bounded::<Row>(batch * 2);
        let (enc_tx, enc_rx) = bounded::<Vec<EncodedRow>>(2);
        let sources = sources.into_iter();
        std::thread::scope(|s| {
            s.spawn(move || {
                for job in sources.enumerate() {
                    if job_tx.send(job).is_err() {
                        return;
                    }
                }
            });
            for _ in 0..threads {
                let (jobs, rows) = (job_rx.clone(), row_tx.clone());
                s.spawn(move || decode_worker(encoder, jobs, rows));
            }
            drop((job_rx, row_tx));
            let inference: Vec<_> = (0..encoder.session_count())
                .map(|_| {
                    let (rows, out) = (row_rx.clone(), enc_tx.clone());
                    s.spawn(move || inference_stage(encoder, rows, out, batch))
                })
                .collect();
            drop((row_rx, enc_tx));
            let mut w = Writer {
                db: self.database(),
                report: IngestReport::default(),
                batch: WriteBatch::new(),
                batch_indices: Vec::new(),
                progress: IngestProgress::default(),
            };
            // Results arrive in completion order; they are written in input order (so ids
            // follow the input order whatever the thread timing). Only encoded results wait
            // here — a code, a class and a payload each, not pixels.
            let mut waiting: BTreeMap<usize, EncodedRow> = BTreeMap::new();
            let mut next = 0usize;
            let written = (|| -> Result<()> {
                for rows in enc_rx.iter() {
                    waiting.extend(rows.into_iter().map(|r| (r.index, r)));
                    while let Some(r) = waiting.remove(&next) {
                        next += 1;
                        w.report.ids.push(None);
                        w.progress.done += 1;
                        match r.result {
                            Ok(e) => {
                                w.batch.insert_auto(e.code, Some(e.class), r.payload);
                                w.batch_indices.push(r.index);
                                // Exactly every `commit_every` inserted items, so commits do
                                // not depend on how decoding and batching interleaved.
                                if w.batch.len() >= commit_every {
                                    w.commit()?;
                                }
                            }
                            Err(error) => {
                                w.progress.failed += 1;
                                w.report.failures.push(ItemFailure {
                                    index: r.index,
                                    source: r.source,
                                    error,
                                });
                            }
                        }
                    }
                    progress(&w.progress);
                }
                Ok(())
            })();
            // On a write error the receiver drops here, which stops every stage.
            drop(enc_rx);
            let inferred = inference
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Inference {
                            reason: "an inference thread panicked".into(),
                        })
                    })
                })
                .collect::<Result<Vec<()>>>();
            // The uncommitted tail is dropped on error: its ids stay None in the report.
            if let Err(error) = written.and(inferred).and_then(|_| w.commit()) {
                return Err(IngestError {
                    error,
                    report: w.report,
                });
            }
            progress(&w.progress);
            debug_assert!(waiting.is_empty());
            Ok(w.report)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_out_of_range_are_refused_by_name() {
        let ok = IngestOptions::default();
        assert!(ok.validate().is_ok());
        let at_limits = IngestOptions {
            batch_size: MAX_BATCH_SIZE,
            decode_threads: MAX_DECODE_THREADS,
            commit_every: 1,
        };
        assert!(at_limits.validate().is_ok());
        let cases = [
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
                    batch_size: 4097,
                    ..ok.clone()
                },
                "batch_size",
                "1..=4096",
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
                    decode_threads: 257,
                    ..ok.clone()
                },
                "decode_threads",
                "0..=256",
            ),
            (
                IngestOptions {
                    commit_every: 0,
                    ..ok.clone()
                },
                "commit_every",
                "1..=",
            ),
        ];
        for (o, name, range) in cases {
            match o.validate() {
                Err(Error::InvalidParameter { name: n, reason }) => {
                    assert_eq!(n, name);
                    assert!(reason.contains(range), "{reason}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
