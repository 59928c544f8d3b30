//! Packed binary codes.
//!
//! # Bit order (the one order used everywhere: Rust, C, Go, CLI, files, hex)
//!
//! Bit `i` of a `b`-bit code lives in byte `i / 8`, at bit `7 - i % 8` of that byte (the most
//! significant bit first). This is exactly `numpy.packbits(bits, axis=-1)` with its default
//! `bitorder="big"`, so a `[N, b/8]` uint8 array from numpy or FAISS is a valid code buffer.
//! The hex form is the packed bytes in order, two lowercase digits each.
//!
//! # Word form (internal)
//!
//! Kernels work on little-endian `u64` words: word `w` holds bytes `8w..8w+8` of the packed code,
//! byte `8w` in the low bits; a code whose length is not a multiple of 64 is zero-padded to whole
//! words. Hamming distance is a popcount of XOR, which does not care how bits are grouped, so the
//! word form gives the same distances as the byte form. Every code in a [`CodeArray`] occupies
//! exactly [`CodeLen::words`] words and padding bits are always zero (distances rely on it).

use crate::aligned::AlignedWords;
use crate::error::{Error, Result};
use bitvec::prelude::{BitSlice, Msb0};
use simd_aligned::{arch::u64x4, VecSimd};

/// A validated code length: a multiple of 8 bits in `8..=1024`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeLen {
    bits: u16,
}

impl CodeLen {
    pub const MIN_BITS: usize = 8;
    pub const MAX_BITS: usize = 1024;

    pub fn new(bits: usize) -> Result<Self> {
        if !bits.is_multiple_of(8) || !(Self::MIN_BITS..=Self::MAX_BITS).contains(&bits) {
            return Err(Error::UnsupportedCodeLength { bits });
        }
        Ok(Self { bits: bits as u16 })
    }

    pub fn bits(self) -> usize {
        self.bits as usize
    }

    pub fn bytes(self) -> usize {
        self.bits() / 8
    }

    /// Words per code in the word form (bits rounded up to a multiple of 64).
    pub fn words(self) -> usize {
        self.bits().div_ceil(64)
    }

    fn check(self, actual_bits: usize) -> Result<()> {
        if actual_bits != self.bits() {
            return Err(Error::CodeLengthMismatch {
                expected: self.bits(),
                actual: actual_bits,
            });
        }
        Ok(())
    }
}

/// Position of logical bit `i` inside the word form: (word index, bit within word).
#[inline]
pub(crate) fn word_bit(i: usize) -> (usize, u32) {
    let byte = i / 8;
    let bit_in_word = (byte % 8) * 8 + (7 - i % 8);
    (byte / 8, bit_in_word as u32)
}

/// Packed bytes into word form: the word holding the last bytes is zero-padded, words past
/// it are left as they are.
pub(crate) fn bytes_to_words(bytes: &[u8], out: &mut [u64]) {
    for (w, chunk) in out.iter_mut().zip(bytes.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *w = u64::from_le_bytes(b);
    }
}

/// Append the first `n_bytes` packed bytes of `words` to `out`.
fn push_packed(words: &[u64], n_bytes: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    out.truncate(start + n_bytes);
}

/// One packed code, owned. Its words sit in a `simd_aligned` buffer (32-byte aligned, the
/// width of one AVX2 register), so kernels may load the query with aligned vector loads.
#[derive(Clone)]
pub struct Code {
    len: CodeLen,
    words: VecSimd<u64x4>,
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.words() == other.words()
    }
}

impl Eq for Code {}

impl std::hash::Hash for Code {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.len.hash(state);
        self.words().hash(state);
    }
}

fn zero_words(len: CodeLen) -> VecSimd<u64x4> {
    VecSimd::<u64x4>::with(0, len.words())
}

impl Code {
    /// From packed bytes in the documented (numpy `packbits`) order; the length is `8 * bytes.len()`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let len = CodeLen::new(bytes.len() * 8)?;
        let mut words = zero_words(len);
        bytes_to_words(bytes, words.flat_mut());
        Ok(Self { len, words })
    }

    /// From one bool per bit, bit 0 first.
    pub fn from_bools(bits: &[bool]) -> Result<Self> {
        let len = CodeLen::new(bits.len())?;
        let mut words = zero_words(len);
        let w_ = words.flat_mut();
        for (i, _) in bits.iter().enumerate().filter(|(_, &b)| b) {
            let (w, bit) = word_bit(i);
            w_[w] |= 1 << bit;
        }
        Ok(Self { len, words })
    }

    /// From a bit slice; index 0 is bit 0. `Msb0` over `u8` is the same order as the packed bytes.
    pub fn from_bitslice(bits: &BitSlice<u8, Msb0>) -> Result<Self> {
        let len = CodeLen::new(bits.len())?;
        let mut words = zero_words(len);
        let w_ = words.flat_mut();
        for i in bits.iter_ones() {
            let (w, bit) = word_bit(i);
            w_[w] |= 1 << bit;
        }
        Ok(Self { len, words })
    }

    /// From SSDH latent activations: bit `i` is `activations[i] > 0.5` (NaN gives 0).
    pub fn from_activations(activations: &[f32]) -> Result<Self> {
        let len = CodeLen::new(activations.len())?;
        let mut words = zero_words(len);
        let w_ = words.flat_mut();
        for (i, _) in activations.iter().enumerate().filter(|(_, &a)| a > 0.5) {
            let (w, bit) = word_bit(i);
            w_[w] |= 1 << bit;
        }
        Ok(Self { len, words })
    }

    /// From the hex form (two digits per packed byte; upper or lower case; no prefix).
    pub fn from_hex(hex: &str) -> Result<Self> {
        // Work on bytes: a non-ASCII character must be an error, not a slice off a char
        // boundary (found by the parse_inputs fuzz target).
        let hex = hex.trim().as_bytes();
        if !hex.len().is_multiple_of(2) {
            return Err(Error::InvalidHex {
                reason: format!("odd number of digits ({})", hex.len()),
            });
        }
        let digit = |i: usize| -> Result<u8> {
            (hex[i] as char)
                .to_digit(16)
                .map(|d| d as u8)
                .ok_or_else(|| Error::InvalidHex {
                    reason: format!("not a hex digit at position {i}"),
                })
        };
        let bytes = (0..hex.len() / 2)
            .map(|i| Ok(digit(2 * i)? << 4 | digit(2 * i + 1)?))
            .collect::<Result<Vec<u8>>>()?;
        Self::from_bytes(&bytes)
    }

    pub fn len(&self) -> CodeLen {
        self.len
    }

    pub fn bits(&self) -> usize {
        self.len.bits()
    }

    /// Bit `i` (panics if `i >= bits`, like slice indexing).
    pub fn bit(&self, i: usize) -> bool {
        assert!(
            i < self.bits(),
            "bit {i} out of range for a {}-bit code",
            self.bits()
        );
        let (w, bit) = word_bit(i);
        self.words()[w] >> bit & 1 == 1
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len.bytes());
        self.push_bytes(&mut out);
        out
    }

    /// Append the packed bytes to `out` (no allocation of its own).
    pub(crate) fn push_bytes(&self, out: &mut Vec<u8>) {
        push_packed(self.words(), self.len.bytes(), out);
    }

    pub fn to_hex(&self) -> String {
        self.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn to_bools(&self) -> Vec<bool> {
        (0..self.bits()).map(|i| self.bit(i)).collect()
    }

    /// The word form (see the module docs).
    pub fn words(&self) -> &[u64] {
        &self.words.flat()[..self.len.words()]
    }

    /// Hamming distance to another code of the same length.
    pub fn distance(&self, other: &Code) -> Result<u32> {
        self.len.check(other.bits())?;
        Ok(crate::hamming::distance(self.words(), other.words()))
    }

    pub(crate) fn from_words_unchecked(len: CodeLen, src: &[u64]) -> Self {
        debug_assert_eq!(src.len(), len.words());
        let mut words = zero_words(len);
        words.flat_mut()[..src.len()].copy_from_slice(src);
        Self { len, words }
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code({}b:{})", self.bits(), self.to_hex())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for Code {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_hex(s)
    }
}

/// Many codes of one length, stored contiguously in word form, 64-byte aligned.
#[derive(Clone, Debug)]
pub struct CodeArray {
    len: CodeLen,
    words: AlignedWords,
}

impl CodeArray {
    pub fn new(len: CodeLen) -> Self {
        Self {
            len,
            words: AlignedWords::new(),
        }
    }

    pub fn with_capacity(len: CodeLen, codes: usize) -> Self {
        Self {
            len,
            words: AlignedWords::with_capacity(codes * len.words()),
        }
    }

    /// From a packed byte buffer `[n, bits/8]` (row-major, numpy `packbits` order).
    pub fn from_packed_bytes(len: CodeLen, bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(len.bytes()) {
            return Err(Error::RaggedCodeBuffer {
                len: bytes.len(),
                code_bytes: len.bytes(),
            });
        }
        let n = bytes.len() / len.bytes();
        let mut words = AlignedWords::zeroed(n * len.words());
        for (dst, src) in words
            .as_mut_slice()
            .chunks_exact_mut(len.words())
            .zip(bytes.chunks_exact(len.bytes()))
        {
            bytes_to_words(src, dst);
        }
        Ok(Self { len, words })
    }

    /// From words already in word form. Fails if the count is ragged or padding bits are set.
    pub fn from_words(len: CodeLen, words: &[u64]) -> Result<Self> {
        if !words.len().is_multiple_of(len.words()) {
            return Err(Error::RaggedCodeBuffer {
                len: words.len() * 8,
                code_bytes: len.words() * 8,
            });
        }
        let pad = padding_mask(len);
        if pad != 0
            && words
                .chunks_exact(len.words())
                .any(|c| c[len.words() - 1] & pad != 0)
        {
            return Err(Error::param(
                "words",
                "padding bits past the code length are set",
            ));
        }
        let mut a = AlignedWords::with_capacity(words.len());
        a.extend_from_slice(words);
        Ok(Self { len, words: a })
    }

    pub fn push(&mut self, code: &Code) -> Result<()> {
        self.len.check(code.bits())?;
        self.words.extend_from_slice(code.words());
        Ok(())
    }

    pub fn code_len(&self) -> CodeLen {
        self.len
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.words.len() / self.len.words()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Code `i` in word form.
    pub fn get_words(&self, i: usize) -> &[u64] {
        let w = self.len.words();
        &self.words.as_slice()[i * w..(i + 1) * w]
    }

    pub fn get(&self, i: usize) -> Option<Code> {
        (i < self.len()).then(|| Code::from_words_unchecked(self.len, self.get_words(i)))
    }

    /// All codes in word form, `len() * code_len().words()` words, 64-byte aligned.
    pub fn as_words(&self) -> &[u64] {
        self.words.as_slice()
    }

    /// The packed byte form `[n, bits/8]`.
    pub fn to_packed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.len.bytes());
        for c in self.as_words().chunks_exact(self.len.words()) {
            push_packed(c, self.len.bytes(), &mut out);
        }
        out
    }

    /// Codes already in word form with zero padding bits (checked in debug builds).
    pub(crate) fn from_aligned_words(len: CodeLen, words: AlignedWords) -> Self {
        debug_assert!(words.len().is_multiple_of(len.words()));
        Self { len, words }
    }

    pub(crate) fn into_words(self) -> AlignedWords {
        self.words
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u64]> + '_ {
        self.as_words().chunks_exact(self.len.words())
    }
}

/// Bits of the last word that lie past the code's end (always zero in a valid code).
pub(crate) fn padding_mask(len: CodeLen) -> u64 {
    let used_bytes_in_last = len.bytes() - (len.words() - 1) * 8;
    if used_bytes_in_last == 8 {
        0
    } else {
        !0u64 << (used_bytes_in_last * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitvec::prelude::*;

    #[test]
    fn lengths() {
        for bad in [0, 4, 12, 1032, 2048] {
            assert!(CodeLen::new(bad).is_err(), "{bad}");
        }
        assert_eq!(CodeLen::new(48).unwrap().words(), 1);
        assert_eq!(CodeLen::new(72).unwrap().words(), 2);
        assert_eq!(CodeLen::new(1024).unwrap().words(), 16);
    }

    #[test]
    fn packbits_order() {
        // np.packbits([1,0,0,0,0,0,0,1, 0,1,0,0,0,0,0,0]) == [0x81, 0x40]
        let mut bits = vec![false; 16];
        bits[0] = true;
        bits[7] = true;
        bits[9] = true;
        let c = Code::from_bools(&bits).unwrap();
        assert_eq!(c.to_bytes(), vec![0x81, 0x40]);
        assert_eq!(c.to_hex(), "8140");
        let bv = bitvec![u8, Msb0; 1,0,0,0,0,0,0,1, 0,1,0,0,0,0,0,0];
        assert_eq!(Code::from_bitslice(&bv).unwrap(), c);
        assert_eq!(bv.as_raw_slice(), &[0x81, 0x40]);
        let a = [
            0.9f32,
            0.1,
            0.5,
            0.2,
            0.3,
            0.4,
            0.0,
            0.51,
            0.0,
            0.7,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            f32::NAN,
        ];
        assert_eq!(Code::from_activations(&a).unwrap(), c);
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let c = Code::from_hex("DEADbeef0102").unwrap();
        assert_eq!(c.bits(), 48);
        assert_eq!(c.to_hex(), "deadbeef0102");
        assert!(matches!(
            Code::from_hex("abc"),
            Err(Error::InvalidHex { .. })
        ));
        assert!(matches!(
            Code::from_hex("zz"),
            Err(Error::InvalidHex { .. })
        ));
        assert!(matches!(
            Code::from_hex(""),
            Err(Error::UnsupportedCodeLength { bits: 0 })
        ));
    }

    #[test]
    fn array_round_trip_and_padding() {
        let len = CodeLen::new(72).unwrap();
        let bytes: Vec<u8> = (0..9 * 5).map(|i| (i * 37 + 11) as u8).collect();
        let a = CodeArray::from_packed_bytes(len, &bytes).unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!(a.to_packed_bytes(), bytes);
        assert_eq!(a.get(2).unwrap().to_bytes(), &bytes[18..27]);
        assert!(a.iter().all(|c| c[1] & padding_mask(len) == 0));
        assert!(CodeArray::from_packed_bytes(len, &bytes[..10]).is_err());
        assert!(CodeArray::from_words(len, &[0, 1 << 9]).is_err());
    }
}
