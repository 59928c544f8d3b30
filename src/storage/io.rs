//! The one path every database write takes to the disk. Tests wrap it to fail the Nth write
//! or sync, cut writes short, or run out of space (redb's StorageBackend idea); reads of
//! committed data go through a memory map of the same file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Positioned I/O on the database file.
pub trait StorageFile: Send + Sync {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Make every completed write durable (fsync).
    fn sync(&self) -> io::Result<()>;
    fn size(&self) -> io::Result<u64>;
    fn set_len(&self, len: u64) -> io::Result<()>;
}

/// A plain file.
pub struct FileStorage {
    pub(crate) file: File,
}

impl StorageFile for FileStorage {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }
    fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

/// Wraps the file a database opens; tests pass one that injects failures.
pub type StorageWrapper =
    std::sync::Arc<dyn Fn(Box<dyn StorageFile>) -> Box<dyn StorageFile> + Send + Sync>;
