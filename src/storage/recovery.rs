//! Recovery at open: the newest intact commit record, the manifest it names, the segments,
//! tombstones and model record checked against the file, and the delta rebuilt by replaying
//! the delta batches.

use super::codec;
use super::file::{map_file, read_block, read_prefix};
use super::format::{BlockKind, Header, Meta, BLOCK_HEADER, FIRST_BLOCK, META_OFFSETS, PAGE};
use super::manifest::{Manifest, Op};
use super::segment::Segment;
use super::state::State;
use crate::code::CodeLen;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::sync::Arc;

/// Read the committed state of the file open as `file` (every read goes through this one
/// descriptor, so a rename by a compacting writer cannot mix two files' bytes).
///
/// Order matters when another process commits meanwhile: a writer appends a commit's data,
/// syncs, and only then writes its commit record. Reading the record first and the file size
/// (and the mapping) after it means every byte the record names is already there: reading the
/// size first could pair an old size with a newer record and cry "truncated" on a sound file.
pub(super) fn load(file: &File, header_expect: Option<&Header>) -> Result<(Header, State)> {
    let mut pages = vec![0u8; FIRST_BLOCK as usize];
    let got = read_prefix(file, &mut pages).map_err(|e| Error::io("reading the header", e))?;
    if got < FIRST_BLOCK as usize {
        Header::decode(&pages[..got.min(PAGE as usize)])?;
        return Err(Error::corrupt(format!(
            "file is {got} bytes, shorter than its header pages"
        )));
    }
    let header = Header::decode(&pages[..PAGE as usize])?;
    if let Some(h) = header_expect {
        if h.code_bits != header.code_bits || h.fingerprint != header.fingerprint {
            return Err(Error::corrupt("header changed under an open handle"));
        }
    }
    let metas: Vec<Meta> = META_OFFSETS
        .iter()
        .filter_map(|&o| Meta::decode(&pages[o as usize..(o + PAGE) as usize]))
        .collect();
    // The newest intact commit record wins; a torn one (a crash while writing it) fails its
    // checksum and the other slot, the previous commit, is used. Commit data is synced before
    // its record is written, so a record that points past the end of the file means the file
    // was cut short after the fact: damage, reported rather than silently rolled back.
    let meta = metas
        .iter()
        .copied()
        .max_by_key(|m| m.txn)
        .ok_or_else(|| Error::corrupt("no valid commit record"))?;
    let file_size = file
        .metadata()
        .map_err(|e| Error::io("reading the file size", e))?
        .len();
    if meta.file_len > file_size {
        return Err(Error::corrupt(format!(
            "file is truncated: commit {} needs {} bytes, the file has {file_size}",
            meta.txn, meta.file_len
        )));
    }
    let map = map_file(file)?;
    let bytes = map.bytes();
    // Every block this commit names, as [start, end): they must not overlap, so no segment,
    // delta batch or tombstone list is counted twice or read through another's bytes.
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut block = |at: u64, kind: BlockKind| -> Result<&[u8]> {
        let payload = read_block(bytes, meta.file_len, at, kind)?;
        spans.push((at, at + BLOCK_HEADER + payload.len() as u64));
        Ok(payload)
    };
    let manifest: Manifest =
        codec::decode(block(meta.manifest, BlockKind::Manifest)?, "the manifest")?;
    if manifest.txn != meta.txn {
        return Err(Error::corrupt(
            "manifest does not belong to its commit record",
        ));
    }
    let len = CodeLen::new(header.code_bits as usize)?;
    let segments = manifest
        .segments
        .iter()
        .map(|r| Segment::open(&map, meta.file_len, r, len).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    let mut segment_spans = Vec::with_capacity(segments.len());
    for (seg, r) in segments.iter().zip(&manifest.segments) {
        segment_spans.push((r.block, seg.payload_range.1));
        // Every stored id is below next_id: inserts skip the existence check for ids at or
        // past it, so a lower next_id would let an id be stored twice.
        if seg.ids.last().is_some_and(|&top| top >= manifest.next_id) {
            return Err(Error::corrupt(format!(
                "segment at offset {} holds ids past the manifest's next id",
                r.block
            )));
        }
    }
    let mut deleted = vec![BTreeSet::new(); segments.len()];
    if let Some(at) = manifest.tombstones {
        let t: Vec<(u64, Vec<u64>)> =
            codec::decode(block(at, BlockKind::Tombstones)?, "the tombstone list")?;
        for (seg_block, ids) in t {
            let si = segments
                .iter()
                .position(|s| s.block == seg_block)
                .ok_or_else(|| Error::corrupt("tombstones name a segment that is not live"))?;
            if let Some(id) = ids.iter().find(|&&id| segments[si].row_of(id).is_none()) {
                return Err(Error::corrupt(format!(
                    "tombstones delete id {id}, which segment {seg_block} does not hold"
                )));
            }
            deleted[si].extend(ids);
        }
    }
    let model_record = match header.model_block {
        0 => None,
        at => Some(Arc::from(block(at, BlockKind::Model)?)),
    };
    let mut delta_blocks = Vec::with_capacity(manifest.deltas.len());
    for &at in &manifest.deltas {
        delta_blocks.push((at, block(at, BlockKind::Delta)?));
    }
    spans.extend(segment_spans);
    spans.sort_unstable();
    if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(Error::corrupt(format!(
            "the blocks at offsets {} and {} overlap (a block listed twice?)",
            w[0].0, w[1].0
        )));
    }
    let mut state = State {
        format_version: header.version,
        meta,
        model_record,
        manifest: manifest.clone(),
        map: map.clone(),
        segments,
        deleted,
        deleted_rows: Vec::new(),
        delta: BTreeMap::new(),
        delta_codes: 0,
        code_words: CodeLen::new(header.code_bits as usize)?.words(),
    };
    for (at, payload) in delta_blocks {
        let ops: Vec<Op> = codec::decode(payload, "a delta batch")?;
        let mut undo = Vec::new();
        for op in &ops {
            undo.clear();
            state.apply(op, len, &mut undo).map_err(|e| match e {
                Error::DuplicateId { id } => {
                    Error::corrupt(format!("delta batch at {at} inserts existing id {id}"))
                }
                other => other,
            })?;
        }
    }
    state.manifest.next_id = state.manifest.next_id.max(manifest.next_id);
    state.rebuild_deleted_rows(None);
    Ok((header, state))
}

#[cfg(test)]
#[path = "crafted_tests.rs"]
mod crafted_tests;
