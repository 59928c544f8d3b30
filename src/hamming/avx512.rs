//! AVX-512 VPOPCNTDQ kernel: eight codes per step, popcounts of eight 64-bit lanes in one
//! instruction. Multi-word codes are reduced to one distance per lane with pairwise
//! `permutex2var` sums, so every step still yields eight distances in code order.
//!
//! Loads are unaligned (`loadu`); on the 64-byte aligned arrays hamdb keeps they never split a
//! cache line, and on other slices they are still correct.

use std::arch::x86_64::*;

const EVEN: [i64; 8] = [0, 2, 4, 6, 8, 10, 12, 14];
const ODD: [i64; 8] = [1, 3, 5, 7, 9, 11, 13, 15];

#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
pub unsafe fn scan<F: FnMut(usize, u32) -> u32>(query: &[u64], codes: &[u64], limit: u32, f: F) {
    match query.len() {
        1 => scan_fixed::<1, F>(query, codes, limit, f),
        2 => scan_fixed::<2, F>(query, codes, limit, f),
        4 => scan_fixed::<4, F>(query, codes, limit, f),
        8 => scan_fixed::<8, F>(query, codes, limit, f),
        _ => scan_generic(query, codes, limit, f),
    }
}

/// Sum adjacent lane pairs of `a` then `b`: result lane i = (a‖b)[2i] + (a‖b)[2i+1].
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn pair_sum(a: __m512i, b: __m512i) -> __m512i {
    let even = _mm512_loadu_epi64(EVEN.as_ptr());
    let odd = _mm512_loadu_epi64(ODD.as_ptr());
    _mm512_add_epi64(
        _mm512_permutex2var_epi64(a, even, b),
        _mm512_permutex2var_epi64(a, odd, b),
    )
}

/// Distances of the eight codes starting at `p` (each `W` words; `W * 8` words readable).
#[inline]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn eight<const W: usize>(p: *const u64, q: __m512i) -> __m512i {
    let pc = |k: usize| {
        _mm512_popcnt_epi64(_mm512_xor_si512(
            _mm512_loadu_epi64(p.add(8 * k) as *const i64),
            q,
        ))
    };
    match W {
        1 => pc(0),
        2 => pair_sum(pc(0), pc(1)),
        4 => pair_sum(pair_sum(pc(0), pc(1)), pair_sum(pc(2), pc(3))),
        8 => {
            let a = pair_sum(pair_sum(pc(0), pc(1)), pair_sum(pc(2), pc(3)));
            let b = pair_sum(pair_sum(pc(4), pc(5)), pair_sum(pc(6), pc(7)));
            pair_sum(a, b)
        }
        _ => unreachable!(),
    }
}

#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
unsafe fn scan_fixed<const W: usize, F: FnMut(usize, u32) -> u32>(
    query: &[u64],
    codes: &[u64],
    mut limit: u32,
    mut f: F,
) {
    let n = codes.len() / W;
    // The query repeated to fill a register: for W < 8 the lanes cycle through its words.
    let mut qrep = [0u64; 8];
    for (i, q) in qrep.iter_mut().enumerate() {
        *q = query[i % W];
    }
    let q = _mm512_loadu_epi64(qrep.as_ptr() as *const i64);
    let base = codes.as_ptr();
    let mut lim = _mm512_set1_epi64(limit as i64);
    let mut i = 0;
    let mut lanes = [0u64; 8];
    while i + 8 <= n {
        let d = eight::<W>(base.add(i * W), q);
        let mut m = _mm512_cmple_epu64_mask(d, lim);
        if m != 0 {
            _mm512_storeu_epi64(lanes.as_mut_ptr() as *mut i64, d);
            while m != 0 {
                let lane = m.trailing_zeros() as usize;
                m &= m - 1;
                let dist = lanes[lane] as u32;
                // Re-check: an earlier callback in this block may have lowered the limit.
                if dist <= limit {
                    limit = f(i + lane, dist);
                }
            }
            lim = _mm512_set1_epi64(limit as i64);
        }
        i += 8;
    }
    // Tail: fewer than eight codes; the scalar POPCNT path keeps the contract.
    for j in i..n {
        let c = &codes[j * W..(j + 1) * W];
        let mut dist = 0;
        for w in 0..W {
            dist += (c[w] ^ query[w]).count_ones();
        }
        if dist <= limit {
            limit = f(j, dist);
        }
    }
}

/// Any length: one code at a time, eight words per step, the last step masked.
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
unsafe fn scan_generic<F: FnMut(usize, u32) -> u32>(
    query: &[u64],
    codes: &[u64],
    mut limit: u32,
    mut f: F,
) {
    let w = query.len();
    let full = w / 8;
    let rem = w % 8;
    let tail_mask: __mmask8 = ((1u16 << rem) - 1) as u8;
    let qp = query.as_ptr() as *const i64;
    for (i, code) in codes.chunks_exact(w).enumerate() {
        let cp = code.as_ptr() as *const i64;
        let mut acc = _mm512_setzero_si512();
        for k in 0..full {
            let x = _mm512_xor_si512(
                _mm512_loadu_epi64(cp.add(8 * k)),
                _mm512_loadu_epi64(qp.add(8 * k)),
            );
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
        }
        if rem != 0 {
            let x = _mm512_xor_si512(
                _mm512_maskz_loadu_epi64(tail_mask, cp.add(8 * full)),
                _mm512_maskz_loadu_epi64(tail_mask, qp.add(8 * full)),
            );
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
        }
        let d = _mm512_reduce_add_epi64(acc) as u32;
        if d <= limit {
            limit = f(i, d);
        }
    }
}
