//! Immutable segments: items sorted by id, stored column by column (ids, codes, labels,
//! payloads) beside their MIH tables, every array 64-byte aligned inside one block so the whole
//! segment is used in place from a memory map. Row order is id order, so the index's
//! tie-break by row is the database's tie-break by id.
//!
//! A row is one code. An item of several codes owns consecutive rows, all with its id and
//! label (so the index's filters and tie-breaks need no item map); its payload sits on its
//! first row. A segment holding such an item also stores the item map: the first row of every
//! item, plus the row count at the end. A segment of one-code items has none and is byte for
//! byte a format 3 segment.

use super::format::{align_up, crc, BlockHeader, BlockKind, ALIGN, BLOCK_HEADER};
use super::io::StorageFile;
use super::manifest::{ArrayRef, SegmentRef};
use crate::aligned::AlignedWords;
use crate::code::{CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::index::{MihIndex, MihOptions, PathPolicy};
use crate::slab::{le_bytes, Backing, Plain, Slab};
use std::sync::Arc;

/// Label value that means "no label" in a segment's label column.
pub const NO_LABEL: u32 = u32::MAX;

/// Arrays before the MIH tables: ids, codes, labels, payload offsets, payload bytes, within,
/// sub_within.
const FIXED_ARRAYS: usize = 7;

/// Columns of the items a new segment holds, sorted by id, one row per code.
pub struct SegmentColumns {
    /// Per row (an item of several codes repeats its id on each of its rows).
    pub ids: Vec<u64>,
    pub codes: CodeArray,
    pub labels: Vec<u32>,
    pub payload_offsets: Vec<u64>,
    pub payload_bytes: Vec<u8>,
    /// Each item's first row, then the row count; `None` when every item has one code.
    pub item_starts: Option<Vec<u32>>,
}

/// Appends items, in ascending id order, to the columns of a new segment.
pub struct ColumnsBuilder {
    len: CodeLen,
    ids: Vec<u64>,
    words: AlignedWords,
    labels: Vec<u32>,
    payload_offsets: Vec<u64>,
    payload_bytes: Vec<u8>,
    item_starts: Vec<u32>,
    multi: bool,
}

impl ColumnsBuilder {
    pub fn with_capacity(len: CodeLen, n: usize) -> Self {
        Self {
            len,
            ids: Vec::with_capacity(n),
            words: AlignedWords::with_capacity(n * len.words()),
            labels: Vec::with_capacity(n),
            payload_offsets: {
                let mut v = Vec::with_capacity(n + 1);
                v.push(0);
                v
            },
            payload_bytes: Vec::new(),
            item_starts: Vec::with_capacity(n + 1),
            multi: false,
        }
    }

    /// One item: `codes` in word form, one or more codes of `len.words()` words each (zero
    /// padding bits), given in the item's order.
    pub fn push(&mut self, id: u64, codes: &[u64], label: Option<u32>, payload: &[u8]) {
        let w = self.len.words();
        debug_assert!(self.ids.last().is_none_or(|&last| last < id));
        debug_assert!(!codes.is_empty() && codes.len().is_multiple_of(w));
        self.item_starts.push(self.ids.len() as u32);
        let n = codes.len() / w;
        self.multi |= n > 1;
        self.words.extend_from_slice(codes);
        let label = label.unwrap_or(NO_LABEL);
        for i in 0..n {
            self.ids.push(id);
            self.labels.push(label);
            if i == 0 {
                self.payload_bytes.extend_from_slice(payload);
            }
            self.payload_offsets.push(self.payload_bytes.len() as u64);
        }
    }

    pub fn finish(mut self) -> SegmentColumns {
        let item_starts = self.multi.then(|| {
            self.item_starts.push(self.ids.len() as u32);
            self.item_starts
        });
        SegmentColumns {
            ids: self.ids,
            codes: CodeArray::from_aligned_words(self.len, self.words),
            labels: self.labels,
            payload_offsets: self.payload_offsets,
            payload_bytes: self.payload_bytes,
            item_starts,
        }
    }
}

/// A segment ready to be written: its index and columns, the layout of its arrays and the
/// checksum of its payload. Arrays are written straight from where they live (no block-sized
/// buffer): at 10M codes that saves a 760 MB copy.
pub struct EncodedSegment {
    index: MihIndex,
    ids: Vec<u64>,
    labels: Vec<u32>,
    payload_offsets: Vec<u64>,
    payload_bytes: Vec<u8>,
    item_starts: Option<Vec<u32>>,
    refs: Vec<ArrayRef>,
    payload_len: u64,
    payload_crc: u32,
}

impl EncodedSegment {
    /// Every array's bytes, in layout order.
    fn pieces(&self) -> Vec<std::borrow::Cow<'_, [u8]>> {
        let parts = self.index.parts();
        let mut v = vec![
            le_bytes(&self.ids),
            le_bytes(self.index.code_words()),
            le_bytes(&self.labels),
            le_bytes(&self.payload_offsets),
            le_bytes(&self.payload_bytes),
            le_bytes(parts.within),
            le_bytes(parts.sub_within),
        ];
        for t in &parts.tables {
            v.push(le_bytes(t.offsets));
            v.push(le_bytes(t.rows));
            if let Some(c) = t.codes {
                v.push(le_bytes(c));
            }
        }
        if let Some(starts) = &self.item_starts {
            v.push(le_bytes(starts));
        }
        v
    }

    /// Bytes the block occupies (header + payload).
    pub fn block_len(&self) -> u64 {
        BLOCK_HEADER + self.payload_len
    }

    /// Write the block at `at` (64-byte aligned), padding included, so the bytes on disk are
    /// exactly those the checksum covers.
    pub fn write_to(&self, storage: &dyn StorageFile, at: u64) -> std::io::Result<()> {
        let header = BlockHeader {
            kind: BlockKind::Segment,
            payload_len: self.payload_len,
            payload_crc: self.payload_crc,
        };
        storage.write_at(&header.encode(), at)?;
        let mut pos = 0u64;
        for (r, bytes) in self.refs.iter().zip(self.pieces()) {
            if r.offset > pos {
                storage.write_at(
                    &vec![0u8; (r.offset - pos) as usize],
                    at + BLOCK_HEADER + pos,
                )?;
            }
            storage.write_at(&bytes, at + BLOCK_HEADER + r.offset)?;
            pos = r.offset + bytes.len() as u64;
        }
        Ok(())
    }
}

/// Build the segment's MIH index and lay out its block. Returns the encoded segment and its
/// reference (with `block` still to be filled by the caller).
/// `expected_radius` is the header's: the tables are cut for it when given.
pub fn encode(
    cols: SegmentColumns,
    expected_radius: Option<u32>,
) -> Result<(EncodedSegment, SegmentRef)> {
    let n = cols.ids.len();
    debug_assert!(cols.ids.windows(2).all(|w| w[0] <= w[1]));
    let index = MihIndex::build(
        cols.codes,
        MihOptions {
            expected_radius,
            ..MihOptions::default()
        },
    )?;
    let mut seg = EncodedSegment {
        index,
        ids: cols.ids,
        labels: cols.labels,
        payload_offsets: cols.payload_offsets,
        payload_bytes: cols.payload_bytes,
        item_starts: cols.item_starts,
        refs: Vec::new(),
        payload_len: 0,
        payload_crc: 0,
    };
    // Layout: each array at the next 64-byte boundary; the checksum covers the padding zeros.
    let mut hasher = crc32fast::Hasher::new();
    let mut pos = 0u64;
    let mut refs = Vec::new();
    for bytes in seg.pieces() {
        let at = align_up(pos);
        hasher.update(&vec![0u8; (at - pos) as usize]);
        hasher.update(&bytes);
        refs.push(ArrayRef { offset: at, len: 0 });
        pos = at + bytes.len() as u64;
    }
    let elem_sizes = {
        let parts = seg.index.parts();
        let mut v = vec![8u64, 8, 4, 8, 1, 8, 8];
        for t in &parts.tables {
            v.extend([4u64, 4]);
            if t.codes.is_some() {
                v.push(8);
            }
        }
        if seg.item_starts.is_some() {
            v.push(4);
        }
        v
    };
    for ((r, bytes), size) in refs.iter_mut().zip(seg.pieces()).zip(elem_sizes) {
        r.len = bytes.len() as u64 / size;
    }
    let parts = seg.index.parts();
    let r = SegmentRef {
        block: 0,
        n: n as u64,
        substrings: parts.substrings as u32,
        inline_codes: parts.inline_codes,
        arrays: refs.clone(),
    };
    seg.refs = refs;
    seg.payload_len = pos;
    seg.payload_crc = hasher.finalize();
    Ok((seg, r))
}

/// An open segment over a memory map.
#[derive(Debug)]
pub struct Segment {
    pub block: u64,
    pub ids: Slab<u64>,
    pub labels: Slab<u32>,
    pub payload_offsets: Slab<u64>,
    pub payload_bytes: Slab<u8>,
    /// The item map (see the module comment), `None` when every item has one code.
    pub item_starts: Option<Slab<u32>>,
    items: usize,
    pub index: MihIndex,
    pub payload_range: (u64, u64),
    pub payload_crc: u32,
}

impl Segment {
    /// Open the segment `r` from `map` (the file mapped up to at least `file_len`).
    pub fn open(
        map: &Arc<dyn Backing>,
        file_len: u64,
        r: &SegmentRef,
        len: CodeLen,
    ) -> Result<Self> {
        let bad = |why: String| Error::corrupt(format!("segment at offset {}: {why}", r.block));
        let bytes = map.bytes();
        let end = r
            .block
            .checked_add(BLOCK_HEADER)
            .filter(|&e| e <= file_len && e <= bytes.len() as u64)
            .ok_or_else(|| bad("header past the end of the file".into()))?;
        let h = BlockHeader::decode(&bytes[r.block as usize..end as usize], r.block)?;
        if h.kind != BlockKind::Segment {
            return Err(bad("not a segment block".into()));
        }
        let payload_start = end;
        let payload_end = payload_start
            .checked_add(h.payload_len)
            .filter(|&e| e <= file_len)
            .ok_or_else(|| bad("payload past the end of the file".into()))?;
        let n = usize::try_from(r.n).map_err(|_| bad("count".into()))?;
        if n > crate::index::MAX_ROWS {
            return Err(bad(format!("{n} items is over the per-segment limit")));
        }
        let words = len.words();
        let m = r.substrings as usize;
        let expected_arrays = FIXED_ARRAYS + m * if r.inline_codes { 3 } else { 2 };
        // One more array is the item map of a segment with items of several codes.
        let multi = r.arrays.len() == expected_arrays + 1;
        if r.arrays.len() != expected_arrays && !multi {
            return Err(bad(format!(
                "{} arrays, expected {expected_arrays} (or one more with an item map)",
                r.arrays.len()
            )));
        }
        // Arrays lie in layout order, each on a 64-byte boundary and past the end of the one
        // before: a crafted manifest must not alias one array onto another (two tables
        // sharing postings, codes read as ids) or misalign a typed view.
        let mut elem_sizes = vec![8u64, 8, 4, 8, 1, 8, 8];
        for _ in 0..m {
            elem_sizes.extend([4u64, 4]);
            if r.inline_codes {
                elem_sizes.push(8);
            }
        }
        if multi {
            elem_sizes.push(4);
        }
        let mut prev_end = 0u64;
        for (i, (a, size)) in r.arrays.iter().zip(&elem_sizes).enumerate() {
            if a.offset % ALIGN != 0 {
                return Err(bad(format!(
                    "array {i} at payload offset {} is not 64-byte aligned",
                    a.offset
                )));
            }
            if a.offset < prev_end {
                return Err(bad(format!("array {i} overlaps the array before it")));
            }
            prev_end = a
                .len
                .checked_mul(*size)
                .and_then(|b| b.checked_add(a.offset))
                .filter(|&e| e <= h.payload_len)
                .ok_or_else(|| bad(format!("array {i} runs past the end of its block")))?;
        }
        let slab = |i: usize, want: Option<usize>| -> Result<(u64, u64)> {
            let a = r.arrays[i];
            if let Some(w) = want {
                if a.len != w as u64 {
                    return Err(bad(format!(
                        "array {i} has {} elements, expected {w}",
                        a.len
                    )));
                }
            }
            let start = payload_start
                .checked_add(a.offset)
                .ok_or_else(|| bad("offset overflow".into()))?;
            Ok((start, a.len))
        };
        fn map_slab<T: Plain>(
            map: &Arc<dyn Backing>,
            at: (u64, u64),
            limit: u64,
            bad: &dyn Fn(String) -> Error,
        ) -> Result<Slab<T>> {
            let bytes =
                at.1.checked_mul(std::mem::size_of::<T>() as u64)
                    .ok_or_else(|| bad("length overflow".into()))?;
            if at.0.checked_add(bytes).is_none_or(|e| e > limit) {
                return Err(bad("array past the end of its block".into()));
            }
            Slab::mapped(map.clone(), at.0 as usize, at.1 as usize)
                .map_err(|e| bad(format!("{e:?}")))
        }
        let ids = map_slab::<u64>(map, slab(0, Some(n))?, payload_end, &bad)?;
        let codes = map_slab::<u64>(map, slab(1, Some(n * words))?, payload_end, &bad)?;
        let labels = map_slab::<u32>(map, slab(2, Some(n))?, payload_end, &bad)?;
        let payload_offsets = map_slab::<u64>(map, slab(3, Some(n + 1))?, payload_end, &bad)?;
        let payload_bytes = map_slab::<u8>(map, slab(4, None)?, payload_end, &bad)?;
        let within = map_slab::<f64>(map, slab(5, None)?, payload_end, &bad)?.to_vec();
        let sub_within = map_slab::<f64>(map, slab(6, None)?, payload_end, &bad)?.to_vec();
        let mut tables = Vec::with_capacity(m);
        let mut i = 7;
        for _ in 0..m {
            let offsets = map_slab::<u32>(map, slab(i, None)?, payload_end, &bad)?;
            let rows = map_slab::<u32>(map, slab(i + 1, Some(n))?, payload_end, &bad)?;
            i += 2;
            let inline = if r.inline_codes {
                i += 1;
                Some(map_slab::<u64>(
                    map,
                    slab(i - 1, Some(n * words))?,
                    payload_end,
                    &bad,
                )?)
            } else {
                None
            };
            tables.push((offsets, rows, inline));
        }
        if ids.last() == Some(&crate::storage::NO_ID) {
            return Err(bad("stores the reserved id 2^64-1".into()));
        }
        let item_starts = if multi {
            let starts = map_slab::<u32>(map, slab(i, None)?, payload_end, &bad)?;
            // The ends are checked here (the count of items is read from them); the order of
            // the starts and their agreement with the ids are `verify`'s full check, and
            // every reader clamps a range it takes from the map.
            if starts.len() < 2 || starts[0] != 0 || starts[starts.len() - 1] as usize != n {
                return Err(bad("item map does not span the rows".into()));
            }
            Some(starts)
        } else {
            None
        };
        let items = item_starts.as_ref().map_or(n, |s| s.len() - 1);
        let index =
            MihIndex::from_stored(len, codes, m, tables, within, sub_within, PathPolicy::Auto)
                .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            block: r.block,
            ids,
            labels,
            payload_offsets,
            payload_bytes,
            item_starts,
            items,
            index,
            payload_range: (payload_start, payload_end),
            payload_crc: h.payload_crc,
        })
    }

    /// Rows (codes): the index's and the deleted-row bitmap's unit.
    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    /// Items (distinct ids).
    pub fn items(&self) -> usize {
        self.items
    }

    /// Whether some item holds several codes (rows).
    pub fn is_multi(&self) -> bool {
        self.item_starts.is_some()
    }

    /// The first row of `id`, if the segment holds it (ids are sorted; an item's rows are
    /// consecutive).
    pub fn row_of(&self, id: u64) -> Option<u32> {
        let at = self.ids.partition_point(|&x| x < id);
        (self.ids.get(at) == Some(&id)).then_some(at as u32)
    }

    /// The rows of `id`, if the segment holds it.
    pub fn rows_of(&self, id: u64) -> Option<std::ops::Range<u32>> {
        let first = self.row_of(id)?;
        let end = if self.is_multi() {
            first + self.ids[first as usize..].partition_point(|&x| x == id) as u32
        } else {
            first + 1
        };
        Some(first..end)
    }

    /// The first row of the item that owns `row` (the row itself in a one-code segment).
    pub fn first_row(&self, row: u32) -> u32 {
        if !self.is_multi() {
            return row;
        }
        let Some(&id) = self.ids.get(row as usize) else {
            return row;
        };
        self.ids[..row as usize].partition_point(|&x| x < id) as u32
    }

    /// Every item's rows, in id order. Ranges are clamped to the rows, so a damaged item map
    /// yields short or empty ranges, never an out-of-bounds row (`verify` reports it).
    pub fn item_rows(&self) -> impl Iterator<Item = std::ops::Range<u32>> + '_ {
        let n = self.rows() as u32;
        let starts: &[u32] = self.item_starts.as_deref().unwrap_or(&[]);
        let multi = self.is_multi();
        (0..self.items as u32).map(move |i| {
            if multi {
                let b = starts[i as usize + 1].min(n);
                starts[i as usize].min(b)..b
            } else {
                i..i + 1
            }
        })
    }

    pub fn id(&self, row: u32) -> Result<u64> {
        self.ids.get(row as usize).copied().ok_or_else(|| {
            Error::corrupt(format!("row {row} past the end of segment {}", self.block))
        })
    }

    pub fn label(&self, row: u32) -> Option<u32> {
        self.labels
            .get(row as usize)
            .copied()
            .filter(|&l| l != NO_LABEL)
    }

    pub fn payload(&self, row: u32) -> Result<&[u8]> {
        let r = row as usize;
        let (Some(&a), Some(&b)) = (self.payload_offsets.get(r), self.payload_offsets.get(r + 1))
        else {
            return Err(Error::corrupt(format!(
                "payload offsets of row {row} in segment {}",
                self.block
            )));
        };
        self.payload_bytes
            .get(a as usize..b as usize)
            .ok_or_else(|| {
                Error::corrupt(format!("payload of row {row} in segment {}", self.block))
            })
    }

    /// Full check: payload checksum, id order, postings in range, payload offsets monotonic.
    pub fn verify(&self, map: &[u8]) -> Result<()> {
        let bad = |why: &str| Error::corrupt(format!("segment at offset {}: {why}", self.block));
        let (a, b) = self.payload_range;
        if crc(&map[a as usize..b as usize]) != self.payload_crc {
            return Err(bad("payload checksum mismatch"));
        }
        let n = self.rows() as u32;
        match self.item_starts.as_deref() {
            None => {
                if self.ids.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(bad("ids not strictly ascending"));
                }
            }
            Some(starts) => {
                if starts.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(bad("item map not strictly ascending"));
                }
                for w in starts.windows(2) {
                    let (a, b) = (w[0] as usize, w[1] as usize);
                    if b - a > crate::storage::MAX_CODES_PER_ITEM {
                        return Err(bad("an item has more codes than allowed"));
                    }
                    if self.ids[a..b].iter().any(|&x| x != self.ids[a])
                        || (a > 0 && self.ids[a - 1] >= self.ids[a])
                    {
                        return Err(bad("ids disagree with the item map"));
                    }
                    if self.labels[a..b].iter().any(|&l| l != self.labels[a]) {
                        return Err(bad("an item's rows disagree on its label"));
                    }
                }
            }
        }
        for t in self.index.parts().tables {
            if t.rows.iter().any(|&r| r >= n) {
                return Err(bad("posting row out of range"));
            }
        }
        if self.payload_offsets.windows(2).any(|w| w[0] > w[1])
            || self
                .payload_offsets
                .last()
                .is_some_and(|&e| e as usize > self.payload_bytes.len())
        {
            return Err(bad("payload offsets"));
        }
        Ok(())
    }
}
