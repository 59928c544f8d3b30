//! AVX2 kernel for CPUs without VPOPCNTDQ: the nibble-table popcount (Muła, Kurz, Lemire,
//! "Faster Population Counts Using AVX2 Instructions", 2016): two `pshufb` lookups give per-byte
//! counts, `psadbw` sums them into one count per 64-bit lane. One-word codes are four per
//! register; two-word codes two per register with a lane-pair sum; longer codes accumulate
//! byte counts across their 256-bit chunks before one `psadbw`.

use std::arch::x86_64::*;

#[target_feature(enable = "avx2,popcnt")]
pub unsafe fn scan<F: FnMut(usize, u32) -> u32>(query: &[u64], codes: &[u64], limit: u32, f: F) {
    match query.len() {
        1 => scan1(query[0], codes, limit, f),
        2 => scan2(query, codes, limit, f),
        _ => scan_long(query, codes, limit, f),
    }
}

/// Per-64-bit-lane popcount of `x`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn popcnt_lanes(x: __m256i) -> __m256i {
    let lut = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    _mm256_sad_epu8(byte_counts(x, lut), _mm256_setzero_si256())
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn byte_counts(x: __m256i, lut: __m256i) -> __m256i {
    let low = _mm256_set1_epi8(0x0f);
    let lo = _mm256_and_si256(x, low);
    let hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
}

#[target_feature(enable = "avx2,popcnt")]
unsafe fn scan1<F: FnMut(usize, u32) -> u32>(query: u64, codes: &[u64], mut limit: u32, mut f: F) {
    let n = codes.len();
    let q = _mm256_set1_epi64x(query as i64);
    let p = codes.as_ptr() as *const __m256i;
    let mut bound = _mm256_set1_epi64x(limit as i64 + 1);
    let mut lanes = [0u64; 4];
    let mut i = 0;
    while i + 4 <= n {
        let d = popcnt_lanes(_mm256_xor_si256(_mm256_loadu_si256(p.add(i / 4)), q));
        // Signed compare is safe: distances and limit + 1 are far below 2^63.
        let mut m = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(bound, d))) as u32;
        if m != 0 {
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, d);
            while m != 0 {
                let lane = m.trailing_zeros() as usize;
                m &= m - 1;
                let dist = lanes[lane] as u32;
                if dist <= limit {
                    limit = f(i + lane, dist);
                }
            }
            bound = _mm256_set1_epi64x(limit as i64 + 1);
        }
        i += 4;
    }
    for (j, &c) in codes.iter().enumerate().skip(i) {
        let dist = (c ^ query).count_ones();
        if dist <= limit {
            limit = f(j, dist);
        }
    }
}

#[target_feature(enable = "avx2,popcnt")]
unsafe fn scan2<F: FnMut(usize, u32) -> u32>(
    query: &[u64],
    codes: &[u64],
    mut limit: u32,
    mut f: F,
) {
    let n = codes.len() / 2;
    let q = _mm256_setr_epi64x(
        query[0] as i64,
        query[1] as i64,
        query[0] as i64,
        query[1] as i64,
    );
    let p = codes.as_ptr() as *const __m256i;
    let mut bound = _mm256_set1_epi64x(limit as i64 + 1);
    let mut lanes = [0u64; 4];
    // unpacklo/hi interleave within 128-bit halves: lanes hold codes 0, 2, 1, 3.
    const CODE_OF_LANE: [usize; 4] = [0, 2, 1, 3];
    let mut i = 0;
    while i + 4 <= n {
        let a = popcnt_lanes(_mm256_xor_si256(_mm256_loadu_si256(p.add(i / 2)), q));
        let b = popcnt_lanes(_mm256_xor_si256(_mm256_loadu_si256(p.add(i / 2 + 1)), q));
        let d = _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
        let m = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(bound, d))) as u32;
        if m != 0 {
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, d);
            // Visit in code order to keep the ascending-index contract.
            for (code, lane) in [(0usize, 0usize), (1, 2), (2, 1), (3, 3)] {
                debug_assert_eq!(CODE_OF_LANE[lane], code);
                if m >> lane & 1 == 1 {
                    let dist = lanes[lane] as u32;
                    if dist <= limit {
                        limit = f(i + code, dist);
                    }
                }
            }
            bound = _mm256_set1_epi64x(limit as i64 + 1);
        }
        i += 4;
    }
    for j in i..n {
        let dist =
            (codes[2 * j] ^ query[0]).count_ones() + (codes[2 * j + 1] ^ query[1]).count_ones();
        if dist <= limit {
            limit = f(j, dist);
        }
    }
}

#[target_feature(enable = "avx2,popcnt")]
unsafe fn scan_long<F: FnMut(usize, u32) -> u32>(
    query: &[u64],
    codes: &[u64],
    mut limit: u32,
    mut f: F,
) {
    let w = query.len();
    let chunks = w / 4;
    let lut = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    let qp = query.as_ptr() as *const __m256i;
    for (i, code) in codes.chunks_exact(w).enumerate() {
        let cp = code.as_ptr() as *const __m256i;
        // Byte counts are at most 8 per chunk: 31 chunks (124 words) fit a u8 lane; codes are at
        // most 16 words, so one accumulation never overflows.
        let mut acc = _mm256_setzero_si256();
        for k in 0..chunks {
            let x = _mm256_xor_si256(_mm256_loadu_si256(cp.add(k)), _mm256_loadu_si256(qp.add(k)));
            acc = _mm256_add_epi8(acc, byte_counts(x, lut));
        }
        let s = _mm256_sad_epu8(acc, _mm256_setzero_si256());
        let mut lanes = [0u64; 4];
        _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, s);
        let mut d = (lanes[0] + lanes[1] + lanes[2] + lanes[3]) as u32;
        for k in chunks * 4..w {
            d += (code[k] ^ query[k]).count_ones();
        }
        if d <= limit {
            limit = f(i, d);
        }
    }
}
