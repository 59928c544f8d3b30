//! The scalar loop compiled with the x86 POPCNT instruction (the baseline x86-64 target lacks
//! it and would emulate `count_ones` in about a dozen instructions).

#[target_feature(enable = "popcnt")]
pub unsafe fn distance(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[target_feature(enable = "popcnt")]
pub unsafe fn scan<F: FnMut(usize, u32) -> u32>(query: &[u64], codes: &[u64], limit: u32, f: F) {
    match query.len() {
        1 => scan_fixed::<1, F>(query, codes, limit, f),
        2 => scan_fixed::<2, F>(query, codes, limit, f),
        4 => scan_fixed::<4, F>(query, codes, limit, f),
        _ => super::scalar::scan(query, codes, limit, f),
    }
}

#[target_feature(enable = "popcnt")]
unsafe fn scan_fixed<const W: usize, F: FnMut(usize, u32) -> u32>(
    query: &[u64],
    codes: &[u64],
    mut limit: u32,
    mut f: F,
) {
    let q: [u64; W] = query.try_into().expect("query has W words");
    for (i, code) in codes.chunks_exact(W).enumerate() {
        let mut d = 0;
        for w in 0..W {
            d += (code[w] ^ q[w]).count_ones();
        }
        if d <= limit {
            limit = f(i, d);
        }
    }
}
