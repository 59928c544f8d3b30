//! File primitives: opening (regular files only, under the writer's lock), mapping, block
//! reads and writes, and the one sequence that writes a new database file.

use super::commit::{write_commit, Block};
use super::format::{crc, BlockHeader, BlockKind, Header, BLOCK_HEADER, FIRST_BLOCK};
use super::io::{FileStorage, StorageFile, StorageWrapper};
use super::manifest::Manifest;
use super::segment::{self, SegmentColumns};
use crate::error::{Error, Result};
use crate::slab::Backing;
use std::fs::{File, OpenOptions as FsOpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(super) fn sync_dir(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing the directory", e))
}

/// Take the exclusive lock on `file`, retrying for up to `wait` while someone else holds it.
///
/// flock locks belong to open file descriptions, and a child process forked by any thread
/// of the host shares every description the parent had open until it execs (hamdb opens
/// with `O_CLOEXEC`, so an exec drops them). A handle closed and reopened while another
/// thread spawns a process can therefore meet its own old lock for the child's
/// fork-to-exec window; the wait absorbs that, and a writer that really holds the database
/// still gets [`Error::Locked`] once it is over.
fn lock_exclusive(file: &File, wait: Duration) -> Result<()> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::Locked);
                }
                std::thread::sleep(pause.min(deadline - now));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("locking the database", e))
            }
        }
    }
}

/// The write path for `file`: the file itself, wrapped when the opener asked for it (tests
/// inject failures that way).
pub(super) fn storage_of(file: File, wrapper: Option<&StorageWrapper>) -> Box<dyn StorageFile> {
    let storage: Box<dyn StorageFile> = Box::new(FileStorage { file });
    match wrapper {
        Some(w) => w(storage),
        None => storage,
    }
}

/// Open `path`, refusing anything but a regular file. The open itself must not block: a
/// FIFO opened for reading waits for a writer forever, so it is opened non-blocking
/// (`O_NONBLOCK` has no effect on regular files) and refused after a look at what it is.
pub(super) fn open_regular(path: &Path, write: bool) -> Result<File> {
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
pub(super) fn open_locked(path: &Path, wait: Duration) -> Result<(File, File, File)> {
    for _ in 0..8 {
        let file = open_regular(path, true)?;
        lock_exclusive(&file, wait)?;
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

/// The handles [`open_locked`] gives, for a file this process just created and still holds
/// the lock of (`lock`, from [`create_file`]). Handing the lock over, instead of letting go
/// and locking again, leaves no moment in which another writer (or a forked child's copy of
/// the creating descriptor) could hold the new file.
pub(super) fn open_created(path: &Path, lock: File) -> Result<(File, File, File)> {
    let file = lock
        .try_clone()
        .map_err(|e| Error::io("opening the database", e))?;
    let map = open_regular(path, false)?;
    if !same_file(&lock, &map)? {
        return Err(Error::io(
            "opening the database",
            std::io::Error::other(format!(
                "{} was replaced by another file while it was being created",
                path.display()
            )),
        ));
    }
    Ok((file, lock, map))
}

pub(super) fn map_file(file: &File) -> Result<Arc<dyn Backing>> {
    // SAFETY (memmap2's contract): the mapped file must not be truncated or modified in place
    // while mapped. hamdb only appends past the committed length and replaces the file by
    // rename (compaction), never rewrites committed bytes; the advisory lock keeps other hamdb
    // writers out. A foreign process truncating the file is outside what any mmap-based
    // database (LMDB, redb) can defend against.
    let map =
        unsafe { memmap2::Mmap::map(file) }.map_err(|e| Error::io("mapping the database", e))?;
    Ok(Arc::new(map))
}

pub(super) fn write_block(
    storage: &dyn StorageFile,
    at: u64,
    kind: BlockKind,
    payload: &[u8],
) -> Result<u64> {
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
pub(super) fn read_block(map: &[u8], file_len: u64, at: u64, kind: BlockKind) -> Result<&[u8]> {
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
pub(super) fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
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

/// Where [`create_file`] puts a new database file.
#[derive(Clone, Copy)]
pub(super) enum NewFileAt<'a> {
    /// At this path, which must not exist yet (`create`).
    Path(&'a Path),
    /// Over this path: written beside it under a temporary name, then renamed over it, so a
    /// crash leaves either the old file or the new one (`compact`).
    Replacing(&'a Path),
}

/// What a new file's first commit holds besides its header: the model record (copied by
/// compaction) and at most one segment.
pub(super) struct FirstCommit<'a> {
    pub(super) header: &'a Header,
    pub(super) model_record: Option<&'a [u8]>,
    /// The manifest's txn and next id; the segment, if any, is added to it.
    pub(super) manifest: Manifest,
    pub(super) segment: Option<SegmentColumns>,
}

/// Write a new database file and make its first commit durable: header pages, the model
/// record at [`FIRST_BLOCK`] (the header's `model_block`), the segment, the manifest, fsync,
/// the commit record in its meta slot, fsync; then (when replacing) the rename, and the
/// directory sync. On failure the new file is removed. Returns the holder of the file's
/// exclusive lock (it follows the file through the rename).
pub(super) fn create_file(
    at: NewFileAt<'_>,
    wrapper: Option<&StorageWrapper>,
    first: FirstCommit<'_>,
) -> Result<File> {
    let (path, replacing) = match at {
        NewFileAt::Path(path) => (path, false),
        NewFileAt::Replacing(path) => (path, true),
    };
    // Where the file is written, and what its errors say creating it and its lock holder.
    let (written, creating, cloning) = if replacing {
        let tmp = path.with_extension("hamdb-compact-tmp");
        // What an interrupted compaction left behind.
        let _ = std::fs::remove_file(&tmp);
        (tmp, "creating the compacted file", "compacting")
    } else {
        let created = "creating the database";
        (path.to_path_buf(), created, created)
    };
    let file = FsOpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&written)
        .map_err(|e| Error::io(creating, e))?;
    let result = (|| -> Result<File> {
        // A file made with `create_new` is ours alone: nobody else can hold its lock.
        lock_exclusive(&file, Duration::ZERO)?;
        let lock = file.try_clone().map_err(|e| Error::io(cloning, e))?;
        let storage = storage_of(file, wrapper);
        let header = first.header;
        let mut pages = header.encode();
        pages.resize(FIRST_BLOCK as usize, 0);
        storage
            .write_at(&pages, 0)
            .map_err(|e| Error::io("writing the header", e))?;
        let mut blocks = Vec::new();
        if let Some(rec) = first.model_record {
            // Written first, so at FIRST_BLOCK in every file: compaction copies the header.
            debug_assert_eq!(header.model_block, FIRST_BLOCK);
            blocks.push(Block::Bytes(BlockKind::Model, rec.to_vec()));
        }
        if let Some(cols) = first.segment {
            let (seg, seg_ref) = segment::encode(cols, header.expected_radius)?;
            blocks.push(Block::Segment(Box::new(seg), seg_ref));
        }
        let mut manifest = first.manifest;
        write_commit(&*storage, FIRST_BLOCK, &mut manifest, blocks)?;
        if replacing {
            std::fs::rename(&written, path).map_err(|e| Error::io("replacing the database", e))?;
        }
        sync_dir(path)?;
        Ok(lock)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&written);
    }
    result
}
