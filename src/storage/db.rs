//! `Database`: the handle, and the orchestration of what it does; each job lives in its own
//! module (see `mod.rs`).
//!
//! One writer (commits are serialised by a mutex; across processes an advisory lock on the
//! file) and any number of readers. A reader takes an `Arc<Snapshot>` — the segments it
//! searches are memory-mapped and immutable, the delta is an immutable copy — so it never
//! blocks the writer and always sees exactly one commit's state.

use super::batch::WriteBatch;
use super::file::{
    create_file, now_unix, open_created, open_locked, open_regular, storage_of, FirstCommit,
    NewFileAt,
};
use super::flush::{Import, NewRows};
use super::format::{Header, FIRST_BLOCK, FORMAT_VERSION, MAX_FINGERPRINT};
use super::io::{StorageFile, StorageWrapper};
use super::manifest::Manifest;
use super::many::SearchManyOptions;
use super::options::{
    CompactionPolicy, CreateOptions, OpenOptions, DEFAULT_FLUSH_THRESHOLD, DEFAULT_LOCK_WAIT,
};
use super::recovery::load;
use super::snapshot::Snapshot;
use super::state::State;
use super::values::{CommitInfo, DbStats, QueryResult, VerifyReport};
use super::verify;
use crate::code::{Code, CodeArray, CodeLen};
use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

pub(super) struct Inner {
    pub(super) path: PathBuf,
    pub(super) header: Header,
    pub(super) flush_threshold: usize,
    pub(super) compaction: CompactionPolicy,
    pub(super) wrapper: Option<StorageWrapper>,
    /// The write path and its lock holder; `None` for read-only handles.
    writer: Mutex<Writer>,
    state: Mutex<State>,
    pub(super) snapshot: RwLock<Arc<Snapshot>>,
}

pub(super) struct Writer {
    pub(super) storage: Option<Box<dyn StorageFile>>,
    /// Holds the advisory lock for as long as the handle lives.
    pub(super) _lock: Option<File>,
    pub(super) poisoned: bool,
}

impl Inner {
    pub(super) fn code_len(&self) -> CodeLen {
        CodeLen::new(self.header.code_bits as usize).expect("validated at open")
    }

    /// The writer: held for a whole commit, flush, compaction or refresh.
    pub(super) fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The committed state (held briefly: readers' snapshots are published apart from it).
    pub(super) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An open database. Cloning gives another handle to the same database; handles are
/// `Send + Sync`: any thread may search, commits are serialised.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
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
        if let Some(r) = options.expected_radius {
            if r as usize > len.bits() {
                return Err(Error::param(
                    "expected_radius",
                    format!("{r} is over the code length {}", len.bits()),
                ));
            }
        }
        let header = Header {
            version: FORMAT_VERSION,
            code_bits: len.bits() as u32,
            expected_radius: options.expected_radius,
            created_unix: now_unix(),
            fingerprint: options.fingerprint,
            model_block: if model_record.is_some() {
                FIRST_BLOCK
            } else {
                0
            },
        };
        let lock = create_file(
            NewFileAt::Path(path),
            open.storage.as_ref(),
            FirstCommit {
                header: &header,
                model_record: model_record.as_deref(),
                manifest: Manifest {
                    txn: 1,
                    ..Manifest::default()
                },
                segment: None,
            },
        )?;
        if open.read_only {
            drop(lock);
            return Self::open_with(path, open);
        }
        let handles = open_created(path, lock)?;
        Self::from_handles(path.to_path_buf(), open, handles)
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
        if options.read_only {
            let file = open_regular(&path, false)?;
            let map = file
                .try_clone()
                .map_err(|e| Error::io("opening the database", e))?;
            Self::from_parts(path, options, file, None, map)
        } else {
            let handles = open_locked(&path, options.lock_wait.unwrap_or(DEFAULT_LOCK_WAIT))?;
            Self::from_handles(path, options, handles)
        }
    }

    /// A writer over the (write descriptor, lock holder, mapping descriptor) of a locked file.
    fn from_handles(
        path: PathBuf,
        options: OpenOptions,
        (file, lock, map): (File, File, File),
    ) -> Result<Self> {
        Self::from_parts(path, options, file, Some(lock), map)
    }

    fn from_parts(
        path: PathBuf,
        options: OpenOptions,
        file: File,
        lock: Option<File>,
        map_file_handle: File,
    ) -> Result<Self> {
        let storage = storage_of(file, options.storage.as_ref());
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
        self.inner.code_len()
    }

    pub fn fingerprint(&self) -> &[u8] {
        &self.inner.header.fingerprint
    }

    /// The radius the MIH tables are cut for ([`CreateOptions::expected_radius`]).
    pub fn expected_radius(&self) -> Option<u32> {
        self.inner.header.expected_radius
    }

    /// The model record written at creation (`None`: a code-only database); see
    /// [`Database::create_with_model_record`].
    pub fn model_record(&self) -> Option<Arc<[u8]>> {
        self.inner.lock_state().model_record.clone()
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

    /// k-NN of a query of several codes over the latest commit (see [`Snapshot::search_set`]).
    pub fn search_set(&self, queries: &CodeArray, k: usize) -> Result<QueryResult> {
        self.snapshot().search_set(queries, k, None)
    }

    /// Radius search of a query of several codes (see [`Snapshot::search_radius_set`]).
    pub fn search_radius_set(&self, queries: &CodeArray, r: u32) -> Result<QueryResult> {
        self.snapshot().search_radius_set(queries, r, None)
    }

    /// k-NN of every query over the latest commit (see [`Snapshot::search_many`]).
    pub fn search_many(
        &self,
        queries: &CodeArray,
        k: usize,
        options: &SearchManyOptions,
    ) -> Result<Vec<QueryResult>> {
        self.snapshot().search_many(queries, k, options)
    }

    /// Radius search of every query over the latest commit (see
    /// [`Snapshot::search_radius_many`]).
    pub fn search_radius_many(
        &self,
        queries: &CodeArray,
        r: u32,
        options: &SearchManyOptions,
    ) -> Result<Vec<QueryResult>> {
        self.snapshot().search_radius_many(queries, r, options)
    }

    /// Apply `batch` atomically and durably: when this returns Ok the writes survive a crash;
    /// when it returns Err none of them happened. A failed write poisons the handle.
    pub fn commit(&self, batch: WriteBatch) -> Result<CommitInfo> {
        self.inner.commit(batch)
    }

    /// Move the delta into a new immutable segment (one commit). Happens automatically past
    /// the flush threshold.
    pub fn flush(&self) -> Result<()> {
        let mut writer = self.inner.lock_writer();
        self.inner.flush_locked(&mut writer)
    }

    /// Bulk import: add many items as one new segment in one commit (with the delta folded
    /// in), building its MIH tables once, instead of logging every item. Ids default to
    /// consecutive new ids; an id that exists (or repeats) fails the whole import.
    pub fn import(&self, import: Import<'_>) -> Result<CommitInfo> {
        let mut writer = self.inner.lock_writer();
        let (txn, assigned) = self
            .inner
            .add_segment_locked(&mut writer, NewRows::Import(import))?;
        Ok(CommitInfo {
            txn,
            assigned_ids: assigned,
            maintenance_error: None,
        })
    }

    /// Rewrite the database as one segment of its live items, reclaiming deleted items and
    /// delta batches. Written to a temporary file beside the database, synced, then renamed
    /// over it: a crash leaves either the old file or the new one. Readers holding snapshots
    /// keep reading the old file's mapping until they drop them.
    pub fn compact(&self) -> Result<()> {
        let mut writer = self.inner.lock_writer();
        self.inner.compact_locked(&mut writer)
    }

    /// Pick up commits made through other handles or processes (read-only openers use this).
    /// Returns whether the state changed.
    pub fn refresh(&self) -> Result<bool> {
        self.inner.refresh()
    }

    pub fn stats(&self) -> DbStats {
        let state = self.inner.lock_state();
        let (seg_items, deleted) = state.segment_counts();
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
        verify::verify(path.as_ref())
    }
}
