//! Hamming distance kernels with run-time dispatch.
//!
//! Every kernel implements one primitive, [`Kernel::scan`]: walk a contiguous run of codes (word
//! form, `words` words each), and for each code whose distance to the query is `<= limit` call
//! `f(index, distance)`, which returns the limit for the rest of the run. This fuses distance,
//! filtering and top-k bookkeeping in one pass, so a scan touches each code once and calls back
//! only for the rare codes that can still enter the result.
//!
//! Contract every kernel keeps (the tests check it against [`scalar`]):
//! - codes are visited in ascending index order;
//! - every code with distance `<=` the limit in force when it is visited is reported, exactly once;
//! - `f` must never raise the limit (kernels may have compared a block against the old one).
//!
//! Kernels: `scalar` (portable reference, also the NEON path on aarch64, where LLVM lowers
//! `count_ones` to `cnt`), `popcnt` (x86 POPCNT), `avx2` (nibble-table popcount, several codes
//! per register), `avx512` (VPOPCNTDQ, eight codes per step, specialised for 1/2/4/8 words).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod popcnt;
pub mod scalar;

use std::sync::OnceLock;

/// One implementation of the Hamming primitives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Scalar,
    Popcnt,
    Avx2,
    Avx512,
}

impl Kernel {
    /// The kernels this CPU can run, slowest first.
    pub fn available() -> Vec<Kernel> {
        let mut v = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("popcnt") {
                v.push(Kernel::Popcnt);
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt") {
                v.push(Kernel::Avx2);
            }
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vpopcntdq")
                && std::is_x86_feature_detected!("popcnt")
            {
                v.push(Kernel::Avx512);
            }
        }
        v
    }

    /// The fastest available kernel, or the one named by `HAMDB_KERNEL` (scalar, popcnt, avx2,
    /// avx512) when it is available: benchmarks use it to compare kernels on one machine.
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            let avail = Kernel::available();
            let forced = std::env::var("HAMDB_KERNEL")
                .ok()
                .and_then(|name| Kernel::from_name(&name))
                .filter(|k| avail.contains(k));
            forced.unwrap_or(*avail.last().expect("scalar is always available"))
        })
    }

    pub fn from_name(name: &str) -> Option<Kernel> {
        match name.to_ascii_lowercase().as_str() {
            "scalar" => Some(Kernel::Scalar),
            "popcnt" => Some(Kernel::Popcnt),
            "avx2" => Some(Kernel::Avx2),
            "avx512" => Some(Kernel::Avx512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Popcnt => "popcnt",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    fn assert_available(self) {
        // Cheap after the first call (the std macro caches); guards the unsafe dispatch below.
        assert!(
            Kernel::available().contains(&self),
            "kernel {} is not supported by this CPU",
            self.name()
        );
    }

    /// The fused scan primitive (see the module docs). `codes.len()` must be a multiple of
    /// `words` and `query.len() == words`.
    #[inline]
    pub fn scan<F: FnMut(usize, u32) -> u32>(self, query: &[u64], codes: &[u64], limit: u32, f: F) {
        let words = query.len();
        assert!(
            words > 0 && codes.len().is_multiple_of(words),
            "ragged code run"
        );
        match self {
            Kernel::Scalar => scalar::scan(query, codes, limit, f),
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => {
                debug_assert!(Kernel::available().contains(&self));
                // SAFETY: a `Kernel::Popcnt` value is only produced by `available()`/`best()`
                // (or by a caller who checked `available()`); constructing it by hand on a CPU
                // without POPCNT is caught by `checked()` in debug builds and by the tests.
                unsafe { popcnt::scan(query, codes, limit, f) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                debug_assert!(Kernel::available().contains(&self));
                // SAFETY: as above, for AVX2 + POPCNT.
                unsafe { avx2::scan(query, codes, limit, f) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                debug_assert!(Kernel::available().contains(&self));
                // SAFETY: as above, for AVX-512F + VPOPCNTDQ + POPCNT.
                unsafe { avx512::scan(query, codes, limit, f) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => scalar::scan(query, codes, limit, f),
        }
    }

    /// This kernel if the CPU supports it; panics otherwise. Use before running a kernel value
    /// that did not come from [`Kernel::available`] or [`Kernel::best`].
    pub fn checked(self) -> Kernel {
        self.assert_available();
        self
    }

    /// Distances from `query` to every code in `codes`, into `out` (one per code).
    pub fn distances(self, query: &[u64], codes: &[u64], out: &mut [u32]) {
        assert_eq!(out.len() * query.len(), codes.len(), "output length");
        self.scan(query, codes, u32::MAX, |i, d| {
            out[i] = d;
            u32::MAX
        });
    }

    /// Distance between two codes in word form.
    #[inline]
    pub fn distance(self, a: &[u64], b: &[u64]) -> u32 {
        match self {
            Kernel::Scalar => scalar::distance(a, b),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: every non-scalar kernel implies POPCNT (see `available`).
            _ => unsafe { popcnt::distance(a, b) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => scalar::distance(a, b),
        }
    }
}

/// Distance between two codes in word form with the best kernel.
#[inline]
pub fn distance(a: &[u64], b: &[u64]) -> u32 {
    Kernel::best().distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_words(rng: &mut impl Rng, n: usize, density: f64) -> Vec<u64> {
        (0..n)
            .map(|_| (0..64).fold(0u64, |w, b| w | ((rng.gen_bool(density) as u64) << b)))
            .collect()
    }

    #[test]
    fn every_kernel_matches_scalar_distances() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        for words in [1usize, 2, 3, 4, 5, 7, 8, 9, 12, 16] {
            for n in [0usize, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100] {
                for density in [0.05, 0.5, 0.95] {
                    let q = random_words(&mut rng, words, density);
                    let codes = random_words(&mut rng, words * n, density);
                    let mut want = vec![0u32; n];
                    Kernel::Scalar.distances(&q, &codes, &mut want);
                    for (i, c) in codes.chunks_exact(words).enumerate() {
                        let direct: u32 = c.iter().zip(&q).map(|(a, b)| (a ^ b).count_ones()).sum();
                        assert_eq!(want[i], direct);
                    }
                    for k in Kernel::available() {
                        let mut got = vec![0u32; n];
                        k.distances(&q, &codes, &mut got);
                        assert_eq!(got, want, "kernel {k:?} words {words} n {n}");
                        for (i, c) in codes.chunks_exact(words).enumerate() {
                            assert_eq!(k.distance(&q, c), want[i]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_kernel_honours_a_shrinking_limit() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for words in [1usize, 2, 4, 6, 8, 16] {
            let n = 301;
            let q = random_words(&mut rng, words, 0.5);
            let codes = random_words(&mut rng, words * n, 0.5);
            // Reference: the limit drops to the smallest distance seen so far.
            let run = |k: Kernel| {
                let mut seen = Vec::new();
                k.scan(&q, &codes, u32::MAX, |i, d| {
                    seen.push((i, d));
                    d
                });
                seen
            };
            let want = run(Kernel::Scalar);
            assert!(want.windows(2).all(|w| w[0].0 < w[1].0 && w[1].1 <= w[0].1));
            for k in Kernel::available() {
                assert_eq!(run(k), want, "kernel {k:?} words {words}");
            }
        }
    }
}
