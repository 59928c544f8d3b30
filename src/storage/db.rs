//! `Database`: open, commit, flush, compact, refresh, verify, and snapshots for readers.
//!
//! One writer (commits are serialised by a mutex; across processes an advisory lock on the
//! file) and any number of readers. A reader takes an `Arc<Snapshot>` — the segments it
//! searches are memory-mapped and immutable, the delta is an immutable copy — so it never
//! blocks the writer and always sees exactly one commit's state.

pub use super::batch::WriteBatch;
use super::batch::{self, check_id, ids_exhausted, Kind};
use super::codec;
use super::format::{
    align_up, crc, BlockHeader, BlockKind, Header, Meta, BLOCK_HEADER, FIRST_BLOCK,
    MAX_FINGERPRINT, META_OFFSETS, PAGE,
};
use super::io::{FileStorage, StorageFile, StorageWrapper};
use super::manifest::{ItemRecord, Manifest, Op};
use super::segment::{self, ColumnsBuilder, Segment, SegmentColumns, NO_LABEL};
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::{Error, Result};
use crate::index::{PathPolicy, ScanIndex, SearchPath, SearchStats};
use crate::slab::Backing;
use bitvec::prelude::{BitVec, Lsb0};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions as FsOpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// A block a commit appends.
enum Block {
    Segment(Box<segment::EncodedSegment>),
    Bytes(BlockKind, Vec<u8>),
}

/// Deleted rows of one segment, shared by every snapshot that has not seen a later delete.
type DeletedRows = Arc<BitVec<u64, Lsb0>>;

/// The one id no item can have: `u64::MAX` (2^64 - 1) means "no id" everywhere (padding in
/// `--npy` search output, items an ingestion did not commit, the C ABI's `HAMDB_NO_ID`).
/// Inserts, upserts and imports of it are refused, and id assignment stops below it, so
/// `next_id` (one past the highest id ever stored) never overflows.
pub const NO_ID: u64 = u64::MAX;

/// Delta items past this count are flushed into a new segment at the next commit.
pub const DEFAULT_FLUSH_THRESHOLD: usize = 65_536;

/// Delta batches past this count are flushed at the next commit, whatever the delta's size.
///
/// Every manifest lists the delta's batches and every open replays them, so the count bounds
/// both; 64 keeps the list under ~320 bytes per commit while a flush of a small delta costs
/// one small segment.
pub const MAX_DELTA_BATCHES: usize = 64;

/// How to create a database.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub code_bits: usize,
    /// Identifies the model whose codes this database holds (empty: a code-only database).
    /// Opaque to storage: the image layer compares it with an encoder's.
    pub fingerprint: Vec<u8>,
}

/// How to open a database.
#[derive(Clone, Default)]
pub struct OpenOptions {
    pub read_only: bool,
    /// Delta size that triggers a flush into a segment (default 65,536).
    pub flush_threshold: Option<usize>,
    /// When commits compact the database automatically (default: [`CompactionPolicy::default`]).
    pub compaction: Option<CompactionPolicy>,
    /// Wraps the write path (tests inject I/O failures with it).
    pub storage: Option<StorageWrapper>,
}

/// Thresholds past which a commit compacts the database (after its own flush, if any).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// More segments than this: every search visits each one, so merge them.
    pub max_segments: usize,
    /// More than this fraction of segment items deleted: reclaim the space.
    pub max_deleted_fraction: f64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            max_segments: 8,
            max_deleted_fraction: 0.25,
        }
    }
}

impl CompactionPolicy {
    /// Never compact automatically (explicit `compact` only).
    pub fn disabled() -> Self {
        Self {
            max_segments: usize::MAX,
            max_deleted_fraction: f64::INFINITY,
        }
    }

    fn wants(&self, segments: usize, segment_items: u64, deleted: u64) -> bool {
        segments > self.max_segments
            || (segment_items > 0
                && deleted as f64 > self.max_deleted_fraction * segment_items as f64)
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: u64,
    pub code: Code,
    pub label: Option<u32>,
    pub payload: Vec<u8>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub distance: u32,
    pub label: Option<u32>,
    pub payload: Vec<u8>,
}

/// Results of one query, ascending by (distance, id), with what the search did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryResult {
    pub hits: Vec<Hit>,
    /// Summed over segments and the delta; `path` is the largest segment's.
    pub stats: SearchStats,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub txn: u64,
    pub assigned_ids: Vec<u64>,
    /// The commit is durable, but the automatic flush or compaction it triggered failed (the
    /// handle is then poisoned: reopen to continue writing; nothing committed is lost).
    pub maintenance_error: Option<Error>,
}

/// Counts for `stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbStats {
    pub code_bits: usize,
    pub txn: u64,
    pub items: u64,
    pub segments: usize,
    pub segment_items: u64,
    pub delta_items: u64,
    pub deleted_in_segments: u64,
    pub file_bytes: u64,
    pub fingerprint: Vec<u8>,
}

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub txn: u64,
    pub segments: usize,
    pub items: u64,
    pub delta_batches: usize,
}

/// How to take back one applied op (commits apply in place and roll back on failure, so a
/// commit costs O(batch), not O(delta)).
enum Undo {
    Delta(u64, Option<DeltaItem>),
    Tombstone(usize, u64),
    NextId(u64),
}

#[derive(Clone)]
struct DeltaItem {
    code: Code,
    label: Option<u32>,
    payload: Arc<[u8]>,
}

/// The writer's view of the committed state.
#[derive(Clone)]
struct State {
    meta: Meta,
    /// The model record's bytes, as written at creation (opaque to storage).
    model_record: Option<Arc<[u8]>>,
    manifest: Manifest,
    map: Arc<dyn Backing>,
    segments: Vec<Arc<Segment>>,
    /// Per segment: ids deleted from it, and the same as a row bitmap for searches.
    deleted: Vec<BTreeSet<u64>>,
    deleted_rows: Vec<DeletedRows>,
    delta: BTreeMap<u64, DeltaItem>,
}

/// A consistent, immutable view of one commit, for searching.
pub struct Snapshot {
    len: CodeLen,
    txn: u64,
    segments: Vec<(Arc<Segment>, DeletedRows)>,
    delta_ids: Vec<u64>,
    delta: ScanIndex,
    delta_labels: Vec<Option<u32>>,
    delta_payloads: Vec<Arc<[u8]>>,
    items: u64,
}

struct Inner {
    path: PathBuf,
    header: Header,
    flush_threshold: usize,
    compaction: CompactionPolicy,
    wrapper: Option<StorageWrapper>,
    /// The write path and its lock holder; `None` for read-only handles.
    writer: Mutex<Writer>,
    state: Mutex<State>,
    snapshot: RwLock<Arc<Snapshot>>,
}

struct Writer {
    storage: Option<Box<dyn StorageFile>>,
    /// Holds the advisory lock for as long as the handle lives.
    _lock: Option<File>,
    poisoned: bool,
}

/// An open database. Cloning gives another handle to the same database; handles are
/// `Send + Sync`: any thread may search, commits are serialised.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn sync_dir(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing the directory", e))
}

fn lock_exclusive(file: &File) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking the database", e)),
    }
}

/// Open `path`, refusing anything but a regular file. The open itself must not block: a
/// FIFO opened for reading waits for a writer forever, so it is opened non-blocking
/// (`O_NONBLOCK` has no effect on regular files) and refused after a look at what it is.
fn open_regular(path: &Path, write: bool) -> Result<File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = FsOpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EISDIR) => Error::NotADatabase {
                reason: format!("{} is a directory, not a regular file", path.display()),
            },
            _ => Error::io("opening the database", e),
        })?;
    let kind = file
        .metadata()
        .map_err(|e| Error::io("opening the database", e))?
        .file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(Error::NotADatabase {
            reason: format!("{} is {what}, not a regular file", path.display()),
        });
    }
    Ok(file)
}

fn same_file(a: &File, b: &File) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (ma, mb) = (
        a.metadata()
            .map_err(|e| Error::io("opening the database", e))?,
        b.metadata()
            .map_err(|e| Error::io("opening the database", e))?,
    );
    Ok((ma.dev(), ma.ino()) == (mb.dev(), mb.ino()))
}

/// Open `path` for writing under the exclusive lock: (write descriptor, lock holder, read
/// descriptor for the mapping).
///
/// The lock is taken on whatever file the path named at open time. A compacting writer
/// renames a new file over the path and then lets go of the old file's lock, so a lock won on
/// the old file guards nothing: after locking, the path must still name the locked file, or
/// the open starts again (and meets the new file's lock).
///
/// The mapping goes through a separate open, not a dup of the locked descriptor: a mapping
/// keeps its open file description alive, and flock locks belong to that description, so a
/// snapshot outliving this handle would otherwise keep the write lock.
fn open_locked(path: &Path) -> Result<(File, File, File)> {
    for _ in 0..8 {
        let file = open_regular(path, true)?;
        lock_exclusive(&file)?;
        let map = open_regular(path, false)?;
        if same_file(&file, &map)? {
            let lock = file
                .try_clone()
                .map_err(|e| Error::io("opening the database", e))?;
            return Ok((file, lock, map));
        }
    }
    Err(Error::Locked)
}

fn map_file(file: &File) -> Result<Arc<dyn Backing>> {
    // SAFETY (memmap2's contract): the mapped file must not be truncated or modified in place
    // while mapped. hamdb only appends past the committed length and replaces the file by
    // rename (compaction), never rewrites committed bytes; the advisory lock keeps other hamdb
    // writers out. A foreign process truncating the file is outside what any mmap-based
    // database (LMDB, redb) can defend against.
    let map =
        unsafe { memmap2::Mmap::map(file) }.map_err(|e| Error::io("mapping the database", e))?;
    Ok(Arc::new(map))
}

fn write_block(storage: &dyn StorageFile, at: u64, kind: BlockKind, payload: &[u8]) -> Result<u64> {
    let h = BlockHeader {
        kind,
        payload_len: payload.len() as u64,
        payload_crc: crc(payload),
    };
    let mut buf = h.encode().to_vec();
    buf.extend_from_slice(payload);
    storage
        .write_at(&buf, at)
        .map_err(|e| Error::io("writing a block", e))?;
    Ok(at + buf.len() as u64)
}

/// A block's payload from the map, checked against its header and the committed length.
fn read_block(map: &[u8], file_len: u64, at: u64, kind: BlockKind) -> Result<&[u8]> {
    let hend = at
        .checked_add(BLOCK_HEADER)
        .filter(|&e| e <= file_len && e <= map.len() as u64);
    let hend = hend
        .ok_or_else(|| Error::corrupt(format!("block at offset {at} is past the committed end")))?;
    if at < FIRST_BLOCK {
        return Err(Error::corrupt(format!(
            "block offset {at} inside the header pages"
        )));
    }
    let h = BlockHeader::decode(&map[at as usize..hend as usize], at)?;
    if h.kind != kind {
        return Err(Error::corrupt(format!(
            "block at offset {at} is {:?}, expected {kind:?}",
            h.kind
        )));
    }
    let end = hend
        .checked_add(h.payload_len)
        .filter(|&e| e <= file_len && e <= map.len() as u64);
    let end = end.ok_or_else(|| {
        Error::corrupt(format!("block at offset {at} runs past the committed end"))
    })?;
    let payload = &map[hend as usize..end as usize];
    if crc(payload) != h.payload_crc {
        return Err(Error::corrupt(format!(
            "block at offset {at}: payload checksum mismatch"
        )));
    }
    Ok(payload)
}

/// Read from offset 0 until `buf` is full or the file ends; returns the bytes read.
fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A duplicate-id failure says whether the id came from earlier in the same batch.
fn repeated_in(log: &[Op], e: Error) -> Error {
    match e {
        Error::DuplicateId { id }
            if log
                .iter()
                .any(|op| matches!(op, Op::Insert(r) | Op::Upsert(r) if r.id == id)) =>
        {
            Error::RepeatedId { id }
        }
        other => other,
    }
}

impl State {
    fn find_live_in_segments(&self, id: u64) -> Option<(usize, u32)> {
        self.segments.iter().enumerate().find_map(|(si, s)| {
            s.row_of(id)
                .filter(|_| !self.deleted[si].contains(&id))
                .map(|row| (si, row))
        })
    }

    fn exists(&self, id: u64) -> bool {
        // Every stored id is below next_id, so fresh ids (all assigned ones) need no lookup.
        id < self.manifest.next_id
            && (self.delta.contains_key(&id) || self.find_live_in_segments(id).is_some())
    }

    fn remove(&mut self, id: u64, undo: &mut Vec<Undo>) {
        match self.delta.remove(&id) {
            Some(old) => undo.push(Undo::Delta(id, Some(old))),
            None => {
                if let Some((si, _)) = self.find_live_in_segments(id) {
                    self.deleted[si].insert(id);
                    undo.push(Undo::Tombstone(si, id));
                }
            }
        }
    }

    fn put(&mut self, id: u64, item: DeltaItem, undo: &mut Vec<Undo>) {
        let old = self.delta.insert(id, item);
        undo.push(Undo::Delta(id, old));
        if id >= self.manifest.next_id {
            undo.push(Undo::NextId(self.manifest.next_id));
            // id < NO_ID (checked before any op is applied), so this cannot overflow.
            self.manifest.next_id = id + 1;
        }
    }

    /// Apply one logged op, recording how to take it back. An insert of an existing id is
    /// refused (at commit time a caller error; at replay, damage).
    fn apply(&mut self, op: &Op, len: CodeLen, undo: &mut Vec<Undo>) -> Result<()> {
        let item = |r: &ItemRecord| -> Result<DeltaItem> {
            if r.id == NO_ID {
                return Err(Error::corrupt(
                    "a delta batch stores the reserved id 2^64-1",
                ));
            }
            let code =
                Code::from_bytes(&r.code).map_err(|_| Error::corrupt("delta code length"))?;
            if code.len() != len {
                return Err(Error::corrupt("delta code length"));
            }
            if r.label == Some(NO_LABEL) {
                return Err(Error::corrupt("reserved label value"));
            }
            Ok(DeltaItem {
                code,
                label: r.label,
                payload: r.payload.clone().unwrap_or_default().into(),
            })
        };
        match op {
            Op::Insert(r) => {
                if self.exists(r.id) {
                    return Err(Error::DuplicateId { id: r.id });
                }
                self.put(r.id, item(r)?, undo);
            }
            Op::Upsert(r) => {
                let it = item(r)?;
                self.remove(r.id, undo);
                self.put(r.id, it, undo);
            }
            Op::Delete(id) => self.remove(*id, undo),
        }
        Ok(())
    }

    /// Take back applied ops, newest first.
    fn rollback(&mut self, undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            match u {
                Undo::Delta(id, Some(old)) => {
                    self.delta.insert(id, old);
                }
                Undo::Delta(id, None) => {
                    self.delta.remove(&id);
                }
                Undo::Tombstone(si, id) => {
                    self.deleted[si].remove(&id);
                }
                Undo::NextId(old) => self.manifest.next_id = old,
            }
        }
    }

    /// Recompute the deleted-row bitmaps of the segments in `which` (all when `None`), and of
    /// any segment that has none yet.
    fn rebuild_deleted_rows(&mut self, which: Option<&BTreeSet<usize>>) {
        for (si, seg) in self.segments.iter().enumerate() {
            if which.is_some_and(|w| !w.contains(&si)) && si < self.deleted_rows.len() {
                continue;
            }
            let mut bits: BitVec<u64, Lsb0> = BitVec::repeat(false, seg.len());
            for &id in &self.deleted[si] {
                if let Some(row) = seg.row_of(id) {
                    bits.set(row as usize, true);
                }
            }
            if si < self.deleted_rows.len() {
                self.deleted_rows[si] = Arc::new(bits);
            } else {
                self.deleted_rows.push(Arc::new(bits));
            }
        }
    }

    fn snapshot(&self, len: CodeLen) -> Result<Snapshot> {
        let mut codes = CodeArray::with_capacity(len, self.delta.len());
        let mut ids = Vec::with_capacity(self.delta.len());
        let mut labels = Vec::with_capacity(self.delta.len());
        let mut payloads = Vec::with_capacity(self.delta.len());
        for (&id, it) in &self.delta {
            ids.push(id);
            codes.push(&it.code)?;
            labels.push(it.label);
            payloads.push(it.payload.clone());
        }
        let seg_items: u64 = self
            .segments
            .iter()
            .zip(&self.deleted)
            .map(|(s, d)| s.len() as u64 - d.len() as u64)
            .sum();
        Ok(Snapshot {
            len,
            txn: self.meta.txn,
            segments: self
                .segments
                .iter()
                .cloned()
                .zip(self.deleted_rows.iter().cloned())
                .collect(),
            delta_ids: ids,
            delta: ScanIndex::new(codes)?,
            delta_labels: labels,
            delta_payloads: payloads,
            items: seg_items + self.delta.len() as u64,
        })
    }
}

/// Read the committed state of the file open as `file` (every read goes through this one
/// descriptor, so a rename by a compacting writer cannot mix two files' bytes).
///
/// Order matters when another process commits meanwhile: a writer appends a commit's data,
/// syncs, and only then writes its commit record. Reading the record first and the file size
/// (and the mapping) after it means every byte the record names is already there: reading the
/// size first could pair an old size with a newer record and cry "truncated" on a sound file.
fn load(file: &File, header_expect: Option<&Header>) -> Result<(Header, State)> {
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
        meta,
        model_record,
        manifest: manifest.clone(),
        map: map.clone(),
        segments,
        deleted,
        deleted_rows: Vec::new(),
        delta: BTreeMap::new(),
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

impl Database {
    /// Create a new database file; fails if `path` exists.
    pub fn create(path: impl AsRef<Path>, options: CreateOptions) -> Result<Self> {
        Self::create_with(path, options, OpenOptions::default())
    }

    pub fn create_with(
        path: impl AsRef<Path>,
        options: CreateOptions,
        open: OpenOptions,
    ) -> Result<Self> {
        Self::create_inner(path.as_ref(), options, None, open)
    }

    /// Create a database that carries `model_record`: bytes written once, next to the header,
    /// and returned by [`Database::model_record`] for as long as the file lives (compaction
    /// keeps them). Storage never interprets them; the image layer (`hamdb::image`) stores the
    /// contract of the model that makes this database's codes there.
    pub fn create_with_model_record(
        path: impl AsRef<Path>,
        options: CreateOptions,
        model_record: Vec<u8>,
        open: OpenOptions,
    ) -> Result<Self> {
        Self::create_inner(path.as_ref(), options, Some(model_record), open)
    }

    fn create_inner(
        path: &Path,
        options: CreateOptions,
        model_record: Option<Vec<u8>>,
        open: OpenOptions,
    ) -> Result<Self> {
        let len = CodeLen::new(options.code_bits)?;
        if options.fingerprint.len() > MAX_FINGERPRINT {
            return Err(Error::param(
                "fingerprint",
                format!("at most {MAX_FINGERPRINT} bytes"),
            ));
        }
        let file = FsOpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("creating the database", e))?;
        lock_exclusive(&file)?;
        let lock = file
            .try_clone()
            .map_err(|e| Error::io("creating the database", e))?;
        let mut storage: Box<dyn StorageFile> = Box::new(FileStorage { file });
        if let Some(w) = &open.storage {
            storage = w(storage);
        }
        let header = Header {
            code_bits: len.bits() as u32,
            created_unix: now_unix(),
            fingerprint: options.fingerprint,
            model_block: if model_record.is_some() {
                FIRST_BLOCK
            } else {
                0
            },
        };
        let manifest = Manifest {
            txn: 1,
            ..Manifest::default()
        };
        let result = (|| {
            let mut pages = header.encode();
            pages.resize(FIRST_BLOCK as usize, 0);
            storage
                .write_at(&pages, 0)
                .map_err(|e| Error::io("writing the header", e))?;
            let at = match &model_record {
                Some(rec) => align_up(write_block(&*storage, FIRST_BLOCK, BlockKind::Model, rec)?),
                None => FIRST_BLOCK,
            };
            let end = write_block(
                &*storage,
                at,
                BlockKind::Manifest,
                &codec::encode(&manifest),
            )?;
            storage.sync().map_err(|e| Error::io("syncing", e))?;
            let meta = Meta {
                txn: 1,
                manifest: at,
                file_len: end,
            };
            storage
                .write_at(&meta.encode(), Meta::slot_of(1))
                .map_err(|e| Error::io("writing the commit record", e))?;
            storage.sync().map_err(|e| Error::io("syncing", e))?;
            sync_dir(path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        drop(storage);
        drop(lock);
        Self::open_with(path, open)
    }

    /// Open for reading and writing; fails with [`Error::Locked`] if another writer has it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// Open for reading only: no lock is taken; [`Database::refresh`] picks up new commits.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(
            path,
            OpenOptions {
                read_only: true,
                ..OpenOptions::default()
            },
        )
    }

    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (file, lock, map_file_handle) = if options.read_only {
            let file = open_regular(&path, false)?;
            let map = file
                .try_clone()
                .map_err(|e| Error::io("opening the database", e))?;
            (file, None, map)
        } else {
            let (file, lock, map) = open_locked(&path)?;
            (file, Some(lock), map)
        };
        let mut storage: Box<dyn StorageFile> = Box::new(FileStorage { file });
        if let Some(w) = &options.storage {
            storage = w(storage);
        }
        let (header, state) = load(&map_file_handle, None)?;
        let len = CodeLen::new(header.code_bits as usize)?;
        if !options.read_only {
            // Drop whatever an interrupted commit left past the committed end.
            storage
                .set_len(state.meta.file_len)
                .map_err(|e| Error::io("trimming an interrupted commit", e))?;
        }
        let snapshot = Arc::new(state.snapshot(len)?);
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                header,
                flush_threshold: options
                    .flush_threshold
                    .unwrap_or(DEFAULT_FLUSH_THRESHOLD)
                    .max(1),
                compaction: options.compaction.unwrap_or_default(),
                wrapper: options.storage.clone(),
                writer: Mutex::new(Writer {
                    storage: (!options.read_only).then_some(storage),
                    _lock: lock,
                    poisoned: false,
                }),
                state: Mutex::new(state),
                snapshot: RwLock::new(snapshot),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn code_len(&self) -> CodeLen {
        CodeLen::new(self.inner.header.code_bits as usize).expect("validated at open")
    }

    pub fn fingerprint(&self) -> &[u8] {
        &self.inner.header.fingerprint
    }

    /// The model record written at creation (`None`: a code-only database); see
    /// [`Database::create_with_model_record`].
    pub fn model_record(&self) -> Option<Arc<[u8]>> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .model_record
            .clone()
    }

    /// The latest committed state, for any number of searches.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// k-NN over the latest commit (see [`Snapshot::search`]).
    pub fn search(&self, query: &Code, k: usize) -> Result<QueryResult> {
        self.snapshot().search(query, k, None)
    }

    pub fn search_radius(&self, query: &Code, r: u32) -> Result<QueryResult> {
        self.snapshot().search_radius(query, r, None)
    }

    fn publish(&self, state: &State) -> Result<()> {
        let snap = Arc::new(state.snapshot(self.code_len())?);
        *self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner()) = snap;
        Ok(())
    }

    /// Append `blocks` (kind, payload) and a manifest, then make it the committed state:
    /// data, fsync, commit record, fsync. Returns the new meta.
    fn write_commit(
        storage: &dyn StorageFile,
        state: &State,
        manifest: &mut Manifest,
        blocks: Vec<Block>,
        mut on_block: impl FnMut(BlockKind, u64),
    ) -> Result<Meta> {
        let mut at = align_up(state.meta.file_len);
        for block in blocks {
            let end = match block {
                Block::Segment(seg) => {
                    on_block(BlockKind::Segment, at);
                    seg.write_to(storage, at)
                        .map_err(|e| Error::io("writing a segment", e))?;
                    at + seg.block_len()
                }
                Block::Bytes(kind, payload) => {
                    on_block(kind, at);
                    match kind {
                        BlockKind::Delta => manifest.deltas.push(at),
                        BlockKind::Tombstones => manifest.tombstones = Some(at),
                        _ => {}
                    }
                    write_block(storage, at, kind, &payload)?
                }
            };
            at = align_up(end);
        }
        let manifest_at = at;
        let end = write_block(
            storage,
            manifest_at,
            BlockKind::Manifest,
            &codec::encode(&*manifest),
        )?;
        storage.sync().map_err(|e| Error::io("syncing", e))?;
        let meta = Meta {
            txn: manifest.txn,
            manifest: manifest_at,
            file_len: end,
        };
        let slot = Meta::slot_of(meta.txn);
        let published = storage
            .write_at(&meta.encode(), slot)
            .map_err(|e| Error::io("writing the commit record", e))
            .and_then(|()| storage.sync().map_err(|e| Error::io("syncing", e)));
        if let Err(e) = published {
            // The caller is told the commit failed, so withdraw its record (best effort): the
            // other slot still holds the previous commit. If even this cannot reach the disk,
            // a crash may leave either state; the handle is poisoned either way.
            let _ = storage
                .write_at(&[0u8; Meta::LEN], slot)
                .and_then(|()| storage.sync());
            return Err(e);
        }
        Ok(meta)
    }

    /// Apply `batch` atomically and durably: when this returns Ok the writes survive a crash;
    /// when it returns Err none of them happened. A failed write poisons the handle.
    pub fn commit(&self, batch: WriteBatch) -> Result<CommitInfo> {
        let mut writer = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.poisoned {
            return Err(Error::Poisoned);
        }
        let Some(storage) = writer.storage.as_deref() else {
            return Err(Error::ReadOnly);
        };
        let len = self.code_len();
        let mut guard = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if batch.len() + guard.delta.len() >= self.inner.flush_threshold {
            // A flush would follow anyway: write the batch and the delta as one new segment
            // in one commit, with no per-item log records or delta entries (a million-item
            // batch then costs about what an import does, not ten times as much).
            drop(guard);
            let (txn, assigned_ids) =
                self.add_segment_locked(&mut writer, NewRows::Batch(&batch))?;
            let maintenance_error = if self.wants_compaction() {
                self.compact_locked(&mut writer).err()
            } else {
                None
            };
            return Ok(CommitInfo {
                txn,
                assigned_ids,
                maintenance_error,
            });
        }
        let state = &mut *guard;
        let mut log = Vec::with_capacity(batch.len());
        let mut assigned = Vec::new();
        let mut undo = Vec::new();
        let applied = (|| -> Result<()> {
            for i in 0..batch.len() {
                let op = batch.op(i);
                let id = match op.kind {
                    Kind::InsertAuto => {
                        let id = state.manifest.next_id;
                        if id == NO_ID {
                            return Err(ids_exhausted());
                        }
                        assigned.push(id);
                        id
                    }
                    _ => op.id,
                };
                let rec = || -> Result<ItemRecord> {
                    batch::check_item(&batch::OpRef { id, ..op }, len)?;
                    Ok(ItemRecord {
                        id,
                        code: op.code.to_vec(),
                        label: op.label,
                        payload: (!op.payload.is_empty()).then(|| op.payload.to_vec()),
                    })
                };
                let logged = match op.kind {
                    Kind::Insert | Kind::InsertAuto => Op::Insert(rec()?),
                    Kind::Upsert => Op::Upsert(rec()?),
                    Kind::Delete => Op::Delete(id),
                };
                if let Err(e) = state.apply(&logged, len, &mut undo) {
                    return Err(repeated_in(&log, e));
                }
                log.push(logged);
            }
            Ok(())
        })();
        if let Err(e) = applied {
            state.rollback(undo);
            return Err(e);
        }
        if log.is_empty() {
            return Ok(CommitInfo {
                txn: state.meta.txn,
                assigned_ids: assigned,
                maintenance_error: None,
            });
        }
        let mut manifest = state.manifest.clone();
        manifest.txn = state.meta.txn + 1;
        let written = Self::write_commit(
            storage,
            state,
            &mut manifest,
            vec![Block::Bytes(BlockKind::Delta, codec::encode(&log))],
            |_, _| {},
        );
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                state.rollback(undo);
                writer.poisoned = true;
                return Err(e);
            }
        };
        state.meta = meta;
        state.manifest = manifest;
        let touched: BTreeSet<usize> = undo
            .iter()
            .filter_map(|u| {
                if let Undo::Tombstone(si, _) = u {
                    Some(*si)
                } else {
                    None
                }
            })
            .collect();
        state.rebuild_deleted_rows(Some(&touched));
        let txn = meta.txn;
        // Flushing bounds what every open replays and what every commit's manifest lists:
        // the delta's items, and its batches (an insert+delete workload keeps the delta
        // small while the batches pile up). It does not depend on compaction.
        let flush = state.delta.len() >= self.inner.flush_threshold
            || state.manifest.deltas.len() >= MAX_DELTA_BATCHES;
        self.publish(state)?;
        drop(guard);
        let mut maintenance_error = None;
        if flush {
            maintenance_error = self.flush_locked(&mut writer).err();
        }
        if maintenance_error.is_none() && self.wants_compaction() {
            maintenance_error = self.compact_locked(&mut writer).err();
        }
        Ok(CommitInfo {
            maintenance_error,
            txn,
            assigned_ids: assigned,
        })
    }

    /// Move the delta into a new immutable segment (one commit). Happens automatically past
    /// the flush threshold.
    pub fn flush(&self) -> Result<()> {
        let mut writer = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.flush_locked(&mut writer)
    }

    fn flush_locked(&self, writer: &mut Writer) -> Result<()> {
        self.add_segment_locked(writer, NewRows::Delta).map(|_| ())
    }

    /// Bulk import: add many items as one new segment in one commit (with the delta folded
    /// in), building its MIH tables once, instead of logging every item. Ids default to
    /// consecutive new ids; an id that exists (or repeats) fails the whole import.
    pub fn import(&self, import: Import<'_>) -> Result<CommitInfo> {
        let mut writer = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (txn, assigned) = self.add_segment_locked(&mut writer, NewRows::Import(import))?;
        Ok(CommitInfo {
            txn,
            assigned_ids: assigned,
            maintenance_error: None,
        })
    }

    fn add_segment_locked(
        &self,
        writer: &mut Writer,
        rows: NewRows<'_>,
    ) -> Result<(u64, Vec<u64>)> {
        if writer.poisoned {
            return Err(Error::Poisoned);
        }
        let Some(storage) = writer.storage.as_deref() else {
            return Err(Error::ReadOnly);
        };
        let len = self.code_len();
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let nothing_new = match &rows {
            NewRows::Delta => true,
            NewRows::Import(i) => i.codes.is_empty(),
            NewRows::Batch(b) => b.is_empty(),
        };
        // An empty delta with batches still listed is flushed too: the commit drops the list.
        if nothing_new && state.delta.is_empty() && state.manifest.deltas.is_empty() {
            return Ok((state.meta.txn, Vec::new()));
        }
        let mut manifest = state.manifest.clone();
        let (cols, assigned) = match rows {
            NewRows::Delta => import_columns(&state, len, None)?,
            NewRows::Import(import) => import_columns(&state, len, Some(import))?,
            NewRows::Batch(batch) => {
                let resolved = batch::resolve(batch, len, manifest.next_id, |id| state.exists(id))?;
                manifest.next_id = manifest.next_id.max(resolved.next_id);
                (
                    batch_columns(&mut state, len, batch, &resolved),
                    resolved.assigned,
                )
            }
        };
        if let Some(&t) = cols.ids.last() {
            // t < NO_ID: every stored id passed check_id.
            manifest.next_id = manifest.next_id.max(t + 1);
        }
        manifest.txn = state.meta.txn + 1;
        manifest.deltas.clear();
        let tombstones: Vec<(u64, Vec<u64>)> = state
            .segments
            .iter()
            .zip(&state.deleted)
            .filter(|(_, d)| !d.is_empty())
            .map(|(s, d)| (s.block, d.iter().copied().collect()))
            .collect();
        let mut blocks = Vec::new();
        // The segment's position is only known once placed; the manifest must name it. It is
        // the first block, so it lands at the aligned committed end.
        let at = align_up(state.meta.file_len);
        if !cols.ids.is_empty() {
            let (block, mut seg_ref) = segment::encode(cols)?;
            seg_ref.block = at;
            manifest.segments.push(seg_ref);
            blocks.push(Block::Segment(Box::new(block)));
        }
        let new_segment = !blocks.is_empty();
        if tombstones.is_empty() {
            manifest.tombstones = None;
        } else {
            blocks.push(Block::Bytes(
                BlockKind::Tombstones,
                codec::encode(&tombstones),
            ));
        }
        let mut seg_at = at;
        let written = Self::write_commit(storage, &state, &mut manifest, blocks, |kind, pos| {
            if kind == BlockKind::Segment {
                seg_at = pos;
            }
        });
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                writer.poisoned = true;
                return Err(e);
            }
        };
        debug_assert_eq!(seg_at, at);
        let file =
            File::open(&self.inner.path).map_err(|e| Error::io("remapping after a flush", e))?;
        let map = map_file(&file)?;
        if new_segment {
            let seg = Segment::open(
                &map,
                meta.file_len,
                manifest.segments.last().expect("just pushed"),
                len,
            )?;
            state.segments.push(Arc::new(seg));
            state.deleted.push(BTreeSet::new());
        }
        state.delta.clear();
        state.map = map;
        state.meta = meta;
        state.manifest = manifest;
        state.rebuild_deleted_rows(None);
        *self.inner.state.lock().unwrap_or_else(|e| e.into_inner()) = state.clone();
        self.publish(&state)?;
        Ok((state.meta.txn, assigned))
    }

    /// Rewrite the database as one segment of its live items, reclaiming deleted items and
    /// delta batches. Written to a temporary file beside the database, synced, then renamed
    /// over it: a crash leaves either the old file or the new one. Readers holding snapshots
    /// keep reading the old file's mapping until they drop them.
    pub fn compact(&self) -> Result<()> {
        let mut writer = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.compact_locked(&mut writer)
    }

    fn wants_compaction(&self) -> bool {
        let state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let seg_items: u64 = state.segments.iter().map(|s| s.len() as u64).sum();
        let deleted: u64 = state.deleted.iter().map(|d| d.len() as u64).sum();
        self.inner
            .compaction
            .wants(state.segments.len(), seg_items, deleted)
    }

    fn compact_locked(&self, writer: &mut Writer) -> Result<()> {
        if writer.poisoned {
            return Err(Error::Poisoned);
        }
        if writer.storage.is_none() {
            return Err(Error::ReadOnly);
        }
        let len = self.code_len();
        let state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // Live items as (id, source, row): sources index segments, usize::MAX is the delta
        // (row = position in id order); sorted by id, then copied once into the new columns.
        let delta: Vec<(&u64, &DeltaItem)> = state.delta.iter().collect();
        let mut live: Vec<(u64, usize, u32)> = Vec::new();
        for (si, seg) in state.segments.iter().enumerate() {
            for row in 0..seg.len() as u32 {
                if !state.deleted_rows[si][row as usize] {
                    live.push((seg.id(row)?, si, row));
                }
            }
        }
        live.extend(
            delta
                .iter()
                .enumerate()
                .map(|(j, (&id, _))| (id, usize::MAX, j as u32)),
        );
        live.sort_unstable_by_key(|x| x.0);
        let w = len.words();
        let mut cols = ColumnsBuilder::with_capacity(len, live.len());
        for &(id, src, row) in &live {
            if src == usize::MAX {
                let it = delta[row as usize].1;
                cols.push(id, it.code.words(), it.label, &it.payload);
            } else {
                let seg = &state.segments[src];
                let r = row as usize;
                cols.push(
                    id,
                    &seg.index.code_words()[r * w..(r + 1) * w],
                    seg.label(row),
                    seg.payload(row)?,
                );
            }
        }
        let cols = cols.finish();
        let tmp = self.inner.path.with_extension("hamdb-compact-tmp");
        let _ = std::fs::remove_file(&tmp);
        let txn = state.meta.txn + 1;
        let result = (|| -> Result<File> {
            let file = FsOpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| Error::io("creating the compacted file", e))?;
            lock_exclusive(&file)?;
            let lock = file.try_clone().map_err(|e| Error::io("compacting", e))?;
            let mut storage: Box<dyn StorageFile> = Box::new(FileStorage { file });
            if let Some(w) = &self.inner.wrapper {
                storage = w(storage);
            }
            let mut pages = self.inner.header.encode();
            pages.resize(FIRST_BLOCK as usize, 0);
            storage
                .write_at(&pages, 0)
                .map_err(|e| Error::io("writing the header", e))?;
            let mut manifest = Manifest {
                txn,
                next_id: state.manifest.next_id,
                ..Manifest::default()
            };
            let mut at = FIRST_BLOCK;
            if let Some(rec) = &state.model_record {
                // Same offset as at creation, so the copied header stays true.
                debug_assert_eq!(self.inner.header.model_block, FIRST_BLOCK);
                at = align_up(write_block(&*storage, at, BlockKind::Model, rec)?);
            }
            if !cols.ids.is_empty() {
                let (seg, mut seg_ref) = segment::encode(cols)?;
                seg_ref.block = at;
                seg.write_to(&*storage, at)
                    .map_err(|e| Error::io("writing a segment", e))?;
                at = align_up(at + seg.block_len());
                manifest.segments.push(seg_ref);
            }
            let end = write_block(
                &*storage,
                at,
                BlockKind::Manifest,
                &codec::encode(&manifest),
            )?;
            storage.sync().map_err(|e| Error::io("syncing", e))?;
            let meta = Meta {
                txn,
                manifest: at,
                file_len: end,
            };
            storage
                .write_at(&meta.encode(), Meta::slot_of(txn))
                .map_err(|e| Error::io("writing the commit record", e))?;
            storage.sync().map_err(|e| Error::io("syncing", e))?;
            std::fs::rename(&tmp, &self.inner.path)
                .map_err(|e| Error::io("replacing the database", e))?;
            sync_dir(&self.inner.path)?;
            Ok(lock)
        })();
        let lock = match result {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                // Conservative: if the failure came after the rename, this handle's write path
                // points at the replaced file, so no further write may use it.
                writer.poisoned = true;
                return Err(e);
            }
        };
        // The new file is in place: switch the write path, lock and mapping over to it. A
        // failure from here on leaves this handle pointing at the replaced file: poison it.
        let switched = (|| -> Result<(Box<dyn StorageFile>, State)> {
            let file = open_regular(&self.inner.path, true)?;
            let map_handle = open_regular(&self.inner.path, false)?;
            let mut storage: Box<dyn StorageFile> = Box::new(FileStorage { file });
            if let Some(w) = &self.inner.wrapper {
                storage = w(storage);
            }
            let (_, new_state) = load(&map_handle, Some(&self.inner.header))?;
            Ok((storage, new_state))
        })();
        let (storage, new_state) = match switched {
            Ok(x) => x,
            Err(e) => {
                writer.poisoned = true;
                return Err(e);
            }
        };
        writer.storage = Some(storage);
        writer._lock = Some(lock);
        *self.inner.state.lock().unwrap_or_else(|e| e.into_inner()) = new_state.clone();
        self.publish(&new_state)
    }

    /// Pick up commits made through other handles or processes (read-only openers use this).
    /// Returns whether the state changed.
    pub fn refresh(&self) -> Result<bool> {
        let _writer = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        let file = open_regular(&self.inner.path, false)?;
        let (_, state) = load(&file, Some(&self.inner.header))?;
        let changed = state.meta
            != self
                .inner
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .meta;
        if changed {
            *self.inner.state.lock().unwrap_or_else(|e| e.into_inner()) = state.clone();
            self.publish(&state)?;
        }
        Ok(changed)
    }

    pub fn stats(&self) -> DbStats {
        let state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let seg_items: u64 = state.segments.iter().map(|s| s.len() as u64).sum();
        let deleted: u64 = state.deleted.iter().map(|d| d.len() as u64).sum();
        DbStats {
            code_bits: self.code_len().bits(),
            txn: state.meta.txn,
            items: seg_items - deleted + state.delta.len() as u64,
            segments: state.segments.len(),
            segment_items: seg_items,
            delta_items: state.delta.len() as u64,
            deleted_in_segments: deleted,
            file_bytes: state.meta.file_len,
            fingerprint: self.inner.header.fingerprint.clone(),
        }
    }

    /// Check every checksum and invariant of the file at `path`.
    pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport> {
        let file = open_regular(path.as_ref(), false)?;
        let (header, state) = load(&file, None)?;
        for seg in &state.segments {
            seg.verify(state.map.bytes())?;
        }
        // Each live id once across segments and the delta (within a segment, verify checked
        // strict order). Commits keep this by tombstoning a segment's copy before another is
        // stored; a file that breaks it would return one id twice.
        let mut live: Vec<u64> = state.delta.keys().copied().collect();
        for (si, seg) in state.segments.iter().enumerate() {
            live.extend(
                seg.ids
                    .iter()
                    .copied()
                    .filter(|id| !state.deleted[si].contains(id)),
            );
        }
        live.sort_unstable();
        if let Some(w) = live.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::corrupt(format!("id {} is stored twice", w[0])));
        }
        if live
            .last()
            .is_some_and(|&top| top >= state.manifest.next_id)
        {
            return Err(Error::corrupt("an id at or past the manifest's next id"));
        }
        let len = CodeLen::new(header.code_bits as usize)?;
        Ok(VerifyReport {
            txn: state.meta.txn,
            segments: state.segments.len(),
            items: state.snapshot(len)?.items,
            delta_batches: state.manifest.deltas.len(),
        })
    }
}

/// Items to add with [`Database::import`]. Optional columns, when given, have one entry per
/// code.
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    pub codes: &'a CodeArray,
    pub ids: Option<&'a [u64]>,
    pub labels: Option<&'a [u32]>,
    pub payloads: Option<&'a [Vec<u8>]>,
}

/// What a new segment adds to the delta's items.
enum NewRows<'a> {
    /// Nothing: a flush.
    Delta,
    Import(Import<'a>),
    /// A batch resolved straight into rows (see [`batch::resolve`]).
    Batch(&'a WriteBatch),
}

/// The delta plus a resolved batch, merged by id into segment columns. Applies the batch's
/// deletes and replacements to `state` (a copy the caller discards if the commit fails):
/// replaced delta items leave the delta, replaced segment items get tombstones.
fn batch_columns(
    state: &mut State,
    len: CodeLen,
    batch: &WriteBatch,
    resolved: &batch::Resolved,
) -> SegmentColumns {
    for &id in &resolved.removed {
        if state.delta.remove(&id).is_none() {
            if let Some((si, _)) = state.find_live_in_segments(id) {
                state.deleted[si].insert(id);
            }
        }
    }
    // Both sides ascend by id and are disjoint: a batch row whose id was in the delta
    // replaced it, so it was removed above.
    let mut cols = ColumnsBuilder::with_capacity(len, state.delta.len() + resolved.rows.len());
    let mut delta = state.delta.iter().peekable();
    // One row's code in word form; resolve checked every stored op's length.
    let mut words = vec![0u64; len.words()];
    for &(id, i) in &resolved.rows {
        while let Some((&did, it)) = delta.next_if(|(&did, _)| did < id) {
            cols.push(did, it.code.words(), it.label, &it.payload);
        }
        let op = batch.op(i);
        crate::code::bytes_to_words(op.code, &mut words);
        cols.push(id, &words, op.label, op.payload);
    }
    for (&did, it) in delta {
        cols.push(did, it.code.words(), it.label, &it.payload);
    }
    cols.finish()
}

/// The delta plus an import, merged by id into segment columns. Fails on a repeated or
/// existing id, a wrong code length, a reserved label or a ragged column.
fn import_columns(
    state: &State,
    len: CodeLen,
    import: Option<Import<'_>>,
) -> Result<(SegmentColumns, Vec<u64>)> {
    let n = import.as_ref().map_or(0, |i| i.codes.len());
    let mut assigned = Vec::new();
    let mut ids_in: Vec<u64> = Vec::new();
    if let Some(imp) = &import {
        if imp.codes.code_len() != len {
            return Err(Error::CodeLengthMismatch {
                expected: len.bits(),
                actual: imp.codes.code_len().bits(),
            });
        }
        for (name, l) in [
            ("ids", imp.ids.map(<[u64]>::len)),
            ("labels", imp.labels.map(<[u32]>::len)),
            ("payloads", imp.payloads.map(<[Vec<u8>]>::len)),
        ] {
            if l.is_some_and(|l| l != n) {
                return Err(Error::param(
                    name,
                    format!("{} entries for {n} codes", l.unwrap_or(0)),
                ));
            }
        }
        if imp.labels.is_some_and(|l| l.contains(&NO_LABEL)) {
            return Err(Error::param("labels", format!("{NO_LABEL} is reserved")));
        }
        ids_in = match imp.ids {
            Some(ids) => {
                if ids.contains(&NO_ID) {
                    check_id(NO_ID)?;
                }
                ids.to_vec()
            }
            None => {
                let start = state.manifest.next_id;
                // end <= NO_ID, so the last id assigned is at most NO_ID - 1.
                let end = start.checked_add(n as u64).ok_or_else(ids_exhausted)?;
                assigned = (start..end).collect();
                assigned.clone()
            }
        };
    }
    // (id, source): sources below n are import rows, the rest delta entries in id order.
    let delta: Vec<(&u64, &DeltaItem)> = state.delta.iter().collect();
    let mut order: Vec<(u64, usize)> = ids_in.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let fresh = ids_in.iter().all(|&id| id >= state.manifest.next_id);
    if !fresh {
        for &(id, _) in &order {
            if state.exists(id) {
                return Err(Error::DuplicateId { id });
            }
        }
    }
    order.extend(delta.iter().enumerate().map(|(j, (&id, _))| (id, n + j)));
    order.sort_unstable_by_key(|x| x.0);
    if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
        // Two import rows: repeated in the import; an import row and a delta item: the id
        // exists (the delta holds only fresh ids here, or the check above caught it).
        return Err(if w[0].1 < n && w[1].1 < n {
            Error::RepeatedId { id: w[0].0 }
        } else {
            Error::DuplicateId { id: w[0].0 }
        });
    }
    let mut cols = ColumnsBuilder::with_capacity(len, order.len());
    for (id, src) in order {
        if src < n {
            let imp = import.as_ref().expect("import rows come from an import");
            let payload = imp.payloads.map_or(&[][..], |p| &p[src]);
            cols.push(
                id,
                imp.codes.get_words(src),
                imp.labels.map(|l| l[src]),
                payload,
            );
        } else {
            let it = delta[src - n].1;
            cols.push(id, it.code.words(), it.label, &it.payload);
        }
    }
    let cols = cols.finish();
    Ok((cols, assigned))
}

impl Snapshot {
    pub fn txn(&self) -> u64 {
        self.txn
    }

    /// Live items in this snapshot.
    pub fn len(&self) -> u64 {
        self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    fn check(&self, q: &Code) -> Result<()> {
        if q.len() != self.len {
            return Err(Error::CodeLengthMismatch {
                expected: self.len.bits(),
                actual: q.bits(),
            });
        }
        Ok(())
    }

    /// The `k` nearest live items, ascending by (distance, id); `class` keeps only items with
    /// that label. Exact: each segment and the delta return their own best k, merged.
    pub fn search(&self, query: &Code, k: usize, class: Option<u32>) -> Result<QueryResult> {
        self.check(query)?;
        self.collect(
            class,
            |seg, keep| seg.index.search_filtered(query, k, PathPolicy::Auto, keep),
            |keep| self.delta.search_filtered(query, k, keep),
            Some(k),
        )
    }

    /// Every live item within distance `r`, ascending by (distance, id).
    pub fn search_radius(&self, query: &Code, r: u32, class: Option<u32>) -> Result<QueryResult> {
        self.check(query)?;
        self.collect(
            class,
            |seg, keep| {
                seg.index
                    .search_radius_filtered(query, r, PathPolicy::Auto, keep)
            },
            |keep| self.delta.search_radius_filtered(query, r, keep),
            None,
        )
    }

    /// Run a per-segment search and a delta search, keep live rows of `class`, and merge by
    /// (distance, id), truncated to `k` when given.
    fn collect(
        &self,
        class: Option<u32>,
        seg_search: impl Fn(&Segment, &dyn Fn(u32) -> bool) -> Result<crate::SearchResult>,
        delta_search: impl Fn(&dyn Fn(u32) -> bool) -> Result<crate::SearchResult>,
        k: Option<usize>,
    ) -> Result<QueryResult> {
        // (distance, id, source, row): source usize::MAX is the delta.
        let mut all: Vec<(u32, u64, usize, u32)> = Vec::new();
        let mut stats = SearchStats::default();
        let mut largest = 0;
        for (si, (seg, deleted)) in self.segments.iter().enumerate() {
            let keep = |row: u32| {
                !deleted.get(row as usize).map(|b| *b).unwrap_or(true)
                    && class.is_none_or(|c| seg.label(row) == Some(c))
            };
            let res = seg_search(seg, &keep)?;
            for nb in &res.neighbors {
                all.push((nb.distance, seg.id(nb.id as u32)?, si, nb.id as u32));
            }
            stats.buckets_probed += res.stats.buckets_probed;
            stats.candidates_checked += res.stats.candidates_checked;
            if seg.len() >= largest {
                largest = seg.len();
                stats.path = res.stats.path;
                stats.substring_radius = res.stats.substring_radius;
            }
        }
        if !self.delta_ids.is_empty() {
            let keep = |row: u32| {
                class.is_none_or(|c| {
                    self.delta_labels.get(row as usize).copied().flatten() == Some(c)
                })
            };
            let res = delta_search(&keep)?;
            for nb in &res.neighbors {
                all.push((
                    nb.distance,
                    self.delta_ids[nb.id as usize],
                    usize::MAX,
                    nb.id as u32,
                ));
            }
            stats.candidates_checked += res.stats.candidates_checked;
            if stats.path.is_none() {
                stats.path = Some(SearchPath::LinearScan);
            }
        }
        all.sort_unstable_by_key(|x| (x.0, x.1));
        if let Some(k) = k {
            all.truncate(k);
        }
        let hits = all
            .into_iter()
            .map(|(distance, id, src, row)| {
                let (label, payload) = if src == usize::MAX {
                    (
                        self.delta_labels[row as usize],
                        self.delta_payloads[row as usize].to_vec(),
                    )
                } else {
                    let seg = &self.segments[src].0;
                    (seg.label(row), seg.payload(row)?.to_vec())
                };
                Ok(Hit {
                    id,
                    distance,
                    label,
                    payload,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(QueryResult { hits, stats })
    }

    /// The live item with this id, if any: (code, label, payload).
    pub fn get(&self, id: u64) -> Result<Option<Item>> {
        if let Ok(i) = self.delta_ids.binary_search(&id) {
            let code = self.delta.codes().get(i).expect("in range");
            return Ok(Some(Item {
                id,
                code,
                label: self.delta_labels[i],
                payload: self.delta_payloads[i].to_vec(),
            }));
        }
        for (seg, deleted) in &self.segments {
            if let Some(row) = seg.row_of(id) {
                if !deleted[row as usize] {
                    let w = self.len.words();
                    let words = &seg.index.code_words()[row as usize * w..(row as usize + 1) * w];
                    let code = CodeArray::from_words(self.len, words)?
                        .get(0)
                        .expect("one code");
                    return Ok(Some(Item {
                        id,
                        code,
                        label: seg.label(row),
                        payload: seg.payload(row)?.to_vec(),
                    }));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
#[path = "crafted_tests.rs"]
mod crafted_tests;
