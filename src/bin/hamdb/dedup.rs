//! `hamdb dedup`: every pair of near-duplicate items, streamed to JSON lines or an .npy file.

use crate::args::{json_line, DedupArgs, Fail, Res};
use crate::open_ro;
use hamdb::{DedupOptions, Error, Pair};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::{Seek, SeekFrom, Write};

/// Bytes of the .npy header: fixed, so the pair count can be written over it at the end
/// (the shape's digits are padded with spaces, as the format allows).
const NPY_HEADER: usize = 128;

fn npy_header(rows: u64) -> Vec<u8> {
    let dict = format!("{{'descr': '<u8', 'fortran_order': False, 'shape': ({rows}, 3), }}");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&((NPY_HEADER - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(NPY_HEADER - 1, b' ');
    h.push(b'\n');
    h
}

/// An .npy file of uint64 [P, 3] rows (a, b, distance), written as pairs arrive.
struct NpyPairs {
    file: std::io::BufWriter<std::fs::File>,
    rows: u64,
}

impl NpyPairs {
    fn create(path: &str) -> std::io::Result<Self> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        file.write_all(&npy_header(0))?;
        Ok(Self { file, rows: 0 })
    }

    fn write(&mut self, pairs: &[Pair]) -> std::io::Result<()> {
        for p in pairs {
            for v in [p.a, p.b, p.distance as u64] {
                self.file.write_all(&v.to_le_bytes())?;
            }
        }
        self.rows += pairs.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.file.flush()?;
        let mut f = self.file.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&npy_header(self.rows))?;
        f.sync_all()
    }
}

#[derive(Serialize)]
struct PairLine {
    a: u64,
    b: u64,
    distance: u32,
}

pub fn cmd_dedup(a: &DedupArgs) -> Res<()> {
    let db = open_ro(&a.db)?;
    let other = a.against.as_deref().map(open_ro).transpose()?;
    let mut npy = match &a.npy {
        Some(p) => Some(NpyPairs::create(p).map_err(|e| Fail::Other(format!("{p}: {e}")))?),
        None => None,
    };
    let pb = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} items  {per_sec:>12}  eta {eta}  {msg}")
            .expect("template"),
    );
    let mut found = 0u64;
    let mut failed: Option<Fail> = None;
    let mut on_pairs = |pairs: &[Pair]| -> hamdb::Result<()> {
        found += pairs.len() as u64;
        let written = match npy.as_mut() {
            Some(n) => n.write(pairs).map_err(Fail::Write),
            None => pairs.iter().try_for_each(|p| {
                json_line(&PairLine {
                    a: p.a,
                    b: p.b,
                    distance: p.distance,
                })
            }),
        };
        written.map_err(|f| {
            failed = Some(f);
            // Stops the run; the real failure is reported from `failed`.
            Error::InvalidParameter {
                name: "output",
                reason: "write failed".into(),
            }
        })
    };
    let mut on_progress = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let options = DedupOptions { threads: a.threads };
    let snap = db.snapshot();
    let result = match &other {
        Some(o) => snap.find_duplicates_between(
            &o.snapshot(),
            a.radius,
            &options,
            &mut on_pairs,
            &mut on_progress,
        ),
        None => snap.find_duplicates(a.radius, &options, &mut on_pairs, &mut on_progress),
    };
    pb.finish_and_clear();
    if let Some(f) = failed {
        return Err(f);
    }
    result?;
    if let Some(n) = npy {
        n.finish().map_err(Fail::Write)?;
    }
    if !a.quiet {
        eprintln!("{found} pairs within distance {}", a.radius);
    }
    Ok(())
}
