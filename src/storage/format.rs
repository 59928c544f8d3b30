//! Byte layout of a database file (docs/FORMAT.md has the diagrams and the argument).
//!
//! ```text
//! 0      header page   magic, format version, code bits, model fingerprint, model record
//!                      offset, CRC
//! 4096   meta slot A   txn, manifest offset, committed length, CRC
//! 8192   meta slot B   (commits alternate between A and B)
//! 12288  blocks...     64-byte aligned: 64-byte header (magic, kind, length, CRCs) + payload
//! ```

use crate::error::{Error, Result};

pub const FORMAT_VERSION: u32 = 4;
/// The oldest version this build opens: version 2 is version 3 without the expected radius
/// (its bytes 20..24 are zero there), so it opens as a database with none; version 3 is
/// version 4 without items of several codes, so it opens unchanged and stays writable for
/// one-code items (see [`MULTI_CODE_VERSION`]).
pub const OLDEST_READABLE_VERSION: u32 = 2;
/// The first version whose segments and delta batches may hold items of several codes. Older
/// files never receive such an item (the write is refused until a compaction rewrites the file
/// as the current version), so an older build never meets a structure it cannot read.
pub const MULTI_CODE_VERSION: u32 = 4;
/// The header's "no expected radius".
const NO_RADIUS: u32 = u32::MAX;
pub const PAGE: u64 = 4096;
pub const META_OFFSETS: [u64; 2] = [PAGE, 2 * PAGE];
pub const FIRST_BLOCK: u64 = 3 * PAGE;
pub const ALIGN: u64 = 64;
pub const BLOCK_HEADER: u64 = 64;
pub const MAX_FINGERPRINT: usize = 64;

const MAGIC: &[u8; 8] = b"HAMDB\0\x1a\n";
const META_MAGIC: &[u8; 8] = b"HAMDMETA";
const BLOCK_MAGIC: &[u8; 8] = b"HAMBLOCK";

pub fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

pub fn align_up(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The file's format version (a new file, or a compacted one, has [`FORMAT_VERSION`]).
    pub version: u32,
    pub code_bits: u32,
    pub created_unix: u64,
    pub fingerprint: Vec<u8>,
    /// Offset of the model record block (docs/FORMAT.md's Encoder block: opaque bytes to
    /// storage, written by the image layer), 0 for a code-only database.
    pub model_block: u64,
    /// The radius the MIH tables are cut for (see `CreateOptions::expected_radius`).
    pub expected_radius: Option<u32>,
}

/// Bytes of the header the CRC covers; the CRC follows.
const HEADER_CRC_AT: usize = 112;

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; PAGE as usize];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&(PAGE as u32).to_le_bytes());
        b[16..20].copy_from_slice(&self.code_bits.to_le_bytes());
        b[20..24].copy_from_slice(&self.expected_radius.unwrap_or(NO_RADIUS).to_le_bytes());
        b[24..32].copy_from_slice(&self.created_unix.to_le_bytes());
        b[32..36].copy_from_slice(&(self.fingerprint.len() as u32).to_le_bytes());
        b[36..36 + self.fingerprint.len()].copy_from_slice(&self.fingerprint);
        b[104..112].copy_from_slice(&self.model_block.to_le_bytes());
        let c = crc(&b[..HEADER_CRC_AT]);
        b[HEADER_CRC_AT..HEADER_CRC_AT + 4].copy_from_slice(&c.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() < HEADER_CRC_AT + 4 || &b[0..8] != MAGIC {
            return Err(Error::NotADatabase {
                reason: "missing the hamdb magic bytes".into(),
            });
        }
        let version = u32_at(b, 8);
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedFormatVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if u32_at(b, HEADER_CRC_AT) != crc(&b[..HEADER_CRC_AT]) {
            return Err(Error::corrupt("header checksum mismatch"));
        }
        if u32_at(b, 12) as u64 != PAGE {
            return Err(Error::corrupt("unexpected page size"));
        }
        let code_bits = u32_at(b, 16);
        crate::CodeLen::new(code_bits as usize)
            .map_err(|_| Error::corrupt(format!("header code length {code_bits}")))?;
        let flen = u32_at(b, 32) as usize;
        if flen > MAX_FINGERPRINT {
            return Err(Error::corrupt("fingerprint length"));
        }
        let radius = u32_at(b, 20);
        let expected_radius = match version {
            2 => None,
            _ if radius == NO_RADIUS => None,
            _ if radius as usize > code_bits as usize => {
                return Err(Error::corrupt(format!(
                    "header expected radius {radius} for {code_bits}-bit codes"
                )))
            }
            _ => Some(radius),
        };
        Ok(Self {
            version,
            code_bits,
            expected_radius,
            created_unix: u64_at(b, 24),
            fingerprint: b[36..36 + flen].to_vec(),
            model_block: u64_at(b, 104),
        })
    }
}

/// One of the two commit slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub txn: u64,
    pub manifest: u64,
    pub file_len: u64,
}

impl Meta {
    pub const LEN: usize = 64;

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..8].copy_from_slice(META_MAGIC);
        b[8..16].copy_from_slice(&self.txn.to_le_bytes());
        b[16..24].copy_from_slice(&self.manifest.to_le_bytes());
        b[24..32].copy_from_slice(&self.file_len.to_le_bytes());
        let c = crc(&b[..32]);
        b[32..36].copy_from_slice(&c.to_le_bytes());
        b
    }

    /// `None` for an empty, torn or damaged slot: a commit that did not complete.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < Self::LEN || &b[0..8] != META_MAGIC || u32_at(b, 32) != crc(&b[..32]) {
            return None;
        }
        Some(Self {
            txn: u64_at(b, 8),
            manifest: u64_at(b, 16),
            file_len: u64_at(b, 24),
        })
    }

    /// The slot a commit of `txn` writes (the other holds the previous commit).
    pub fn slot_of(txn: u64) -> u64 {
        META_OFFSETS[(txn % 2) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum BlockKind {
    Segment = 1,
    Delta = 2,
    Manifest = 3,
    Tombstones = 4,
    /// The model record (docs/FORMAT.md: the Encoder block); storage never looks inside.
    Model = 5,
}

impl BlockKind {
    fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => Self::Segment,
            2 => Self::Delta,
            3 => Self::Manifest,
            4 => Self::Tombstones,
            5 => Self::Model,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub kind: BlockKind,
    pub payload_len: u64,
    pub payload_crc: u32,
}

impl BlockHeader {
    pub fn encode(&self) -> [u8; BLOCK_HEADER as usize] {
        let mut b = [0u8; BLOCK_HEADER as usize];
        b[0..8].copy_from_slice(BLOCK_MAGIC);
        b[8..12].copy_from_slice(&(self.kind as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.payload_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.payload_crc.to_le_bytes());
        let c = crc(&b[..28]);
        b[28..32].copy_from_slice(&c.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8], at: u64) -> Result<Self> {
        let bad = |why: &str| Error::corrupt(format!("block at offset {at}: {why}"));
        if b.len() < BLOCK_HEADER as usize || &b[0..8] != BLOCK_MAGIC {
            return Err(bad("missing block magic"));
        }
        if u32_at(b, 28) != crc(&b[..28]) {
            return Err(bad("header checksum mismatch"));
        }
        let kind = BlockKind::from_u32(u32_at(b, 8)).ok_or_else(|| bad("unknown kind"))?;
        Ok(Self {
            kind,
            payload_len: u64_at(b, 16),
            payload_crc: u32_at(b, 24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_meta_block_round_trip_and_damage() {
        let h = Header {
            version: FORMAT_VERSION,
            code_bits: 48,
            created_unix: 7,
            fingerprint: b"abc".to_vec(),
            model_block: 12288,
            expected_radius: Some(9),
        };
        let mut b = h.encode();
        assert_eq!(Header::decode(&b).unwrap(), h);
        b[105] ^= 1;
        assert!(matches!(Header::decode(&b), Err(Error::Corrupt { .. })));
        b[105] ^= 1;
        b[40] ^= 1;
        assert!(matches!(Header::decode(&b), Err(Error::Corrupt { .. })));
        // A version 2 header (no radius field) opens with none.
        let mut v2 = h.encode();
        v2[8..12].copy_from_slice(&2u32.to_le_bytes());
        v2[20..24].fill(0);
        let c = crc(&v2[..HEADER_CRC_AT]);
        v2[HEADER_CRC_AT..HEADER_CRC_AT + 4].copy_from_slice(&c.to_le_bytes());
        assert_eq!(
            Header::decode(&v2).unwrap(),
            Header {
                version: 2,
                expected_radius: None,
                ..h.clone()
            }
        );
        b[8] = 9;
        assert!(matches!(
            Header::decode(&b),
            Err(Error::UnsupportedFormatVersion { found: 9, .. })
        ));
        assert!(matches!(
            Header::decode(b"garbage"),
            Err(Error::NotADatabase { .. })
        ));

        let m = Meta {
            txn: 5,
            manifest: 12288,
            file_len: 99999,
        };
        let mut mb = m.encode();
        assert_eq!(Meta::decode(&mb), Some(m));
        mb[9] ^= 4;
        assert_eq!(Meta::decode(&mb), None);

        let bh = BlockHeader {
            kind: BlockKind::Delta,
            payload_len: 10,
            payload_crc: 3,
        };
        let mut bb = bh.encode();
        assert_eq!(BlockHeader::decode(&bb, 0).unwrap(), bh);
        bb[17] ^= 1;
        assert!(BlockHeader::decode(&bb, 0).is_err());
    }
}
