//! Flat arrays of plain integers that are either owned or borrowed from a memory map.
//!
//! The index's tables and the database's columns are all `Slab`s, so the same search code runs
//! over arrays built in memory and over arrays mapped from a file with no copy and no rebuild.
//! This module holds the one cast from mapped bytes to typed slices.

use crate::aligned::AlignedWords;
use std::marker::PhantomData;
use std::sync::Arc;

/// Bytes that outlive every slab borrowed from them (a memory map, or an owned buffer).
pub trait Backing: Send + Sync + 'static {
    fn bytes(&self) -> &[u8];
}

impl Backing for memmap2::Mmap {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl Backing for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Element types for which every bit pattern is a valid value and there is no padding, so
/// reinterpreting initialised bytes as `[T]` is sound.
pub trait Plain: sealed::Sealed + Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Plain for $t {}
    )*};
}
plain!(u8, u32, u64, f64);

/// The little-endian byte image of `items` (the file format's byte order), without copying on
/// little-endian targets.
pub fn le_bytes<T: Plain + LeBytes>(items: &[T]) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: T is Plain (no padding, every byte initialised); the view covers exactly
        // the slice's bytes and borrows it for its lifetime.
        std::borrow::Cow::Borrowed(unsafe {
            std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), std::mem::size_of_val(items))
        })
    }
    #[cfg(not(target_endian = "little"))]
    {
        let mut out = Vec::with_capacity(std::mem::size_of_val(items));
        for x in items {
            x.put_le(&mut out);
        }
        std::borrow::Cow::Owned(out)
    }
}

/// Little-endian serialisation of one element (the portable path of [`le_bytes`]).
pub trait LeBytes {
    fn put_le(&self, out: &mut Vec<u8>);
}

macro_rules! le_bytes_impl {
    ($($t:ty),*) => {$(
        impl LeBytes for $t {
            #[inline]
            fn put_le(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
le_bytes_impl!(u8, u32, u64, f64);

/// Why a region of a backing cannot be viewed as a slab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlabError {
    OutOfBounds {
        offset: usize,
        bytes: usize,
        available: usize,
    },
    Misaligned {
        offset: usize,
        align: usize,
    },
}

#[derive(Clone)]
enum Storage<T: Plain> {
    Vec(Vec<T>),
    Words(AlignedWords),
    Mapped {
        backing: Arc<dyn Backing>,
        offset: usize,
        len: usize,
    },
}

/// A read-only `[T]` that is owned or mapped.
#[derive(Clone)]
pub struct Slab<T: Plain> {
    storage: Storage<T>,
    _t: PhantomData<T>,
}

impl<T: Plain> Slab<T> {
    pub fn from_vec(v: Vec<T>) -> Self {
        Self {
            storage: Storage::Vec(v),
            _t: PhantomData,
        }
    }

    /// `len` elements starting `offset` bytes into `backing`; checked for bounds and alignment.
    pub fn mapped(backing: Arc<dyn Backing>, offset: usize, len: usize) -> Result<Self, SlabError> {
        let size = std::mem::size_of::<T>();
        let bytes = backing.bytes();
        let nbytes = len.checked_mul(size).ok_or(SlabError::OutOfBounds {
            offset,
            bytes: usize::MAX,
            available: bytes.len(),
        })?;
        let end = offset.checked_add(nbytes);
        if end.is_none_or(|e| e > bytes.len()) {
            return Err(SlabError::OutOfBounds {
                offset,
                bytes: nbytes,
                available: bytes.len(),
            });
        }
        let align = std::mem::align_of::<T>();
        if !(bytes.as_ptr() as usize + offset).is_multiple_of(align) {
            return Err(SlabError::Misaligned { offset, align });
        }
        Ok(Self {
            storage: Storage::Mapped {
                backing,
                offset,
                len,
            },
            _t: PhantomData,
        })
    }

    pub fn as_slice(&self) -> &[T] {
        match &self.storage {
            Storage::Vec(v) => v,
            Storage::Words(w) => {
                // Only constructed for T = u64 (see `Slab<u64>::from_words`).
                let words = w.as_slice();
                // SAFETY: `Storage::Words` is only built by `Slab::<u64>::from_words`, so T is
                // u64 here and the cast is the identity.
                unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<T>(), words.len()) }
            }
            Storage::Mapped {
                backing,
                offset,
                len,
            } => {
                let bytes = backing.bytes();
                // SAFETY: `mapped` checked that `offset + len * size_of::<T>()` lies inside
                // `bytes` and that the start is aligned for T; T is `Plain` (no padding, every
                // bit pattern valid); the backing is immutable for its lifetime and the Arc keeps
                // it alive as long as this slab.
                unsafe { std::slice::from_raw_parts(bytes.as_ptr().add(*offset).cast::<T>(), *len) }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }
}

impl Slab<u64> {
    /// 64-byte aligned owned words (code arrays).
    pub fn from_words(w: AlignedWords) -> Self {
        Self {
            storage: Storage::Words(w),
            _t: PhantomData,
        }
    }
}

impl<T: Plain> std::ops::Deref for Slab<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Plain> std::fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slab")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_views_are_checked() {
        let mut buf = vec![0u8; 64];
        buf[8..16].copy_from_slice(&7u64.to_le_bytes());
        // A Vec<u8> allocation is at least 8-aligned on every platform hamdb supports.
        let backing: Arc<dyn Backing> = Arc::new(buf);
        let s = Slab::<u64>::mapped(backing.clone(), 8, 2).unwrap();
        assert_eq!(s[0], 7);
        assert!(matches!(
            Slab::<u64>::mapped(backing.clone(), 4, 1),
            Err(SlabError::Misaligned { .. })
        ));
        assert!(matches!(
            Slab::<u64>::mapped(backing.clone(), 8, 8),
            Err(SlabError::OutOfBounds { .. })
        ));
        assert!(matches!(
            Slab::<u64>::mapped(backing, 8, usize::MAX),
            Err(SlabError::OutOfBounds { .. })
        ));
    }
}
