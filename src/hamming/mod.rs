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

/// One implementation of the Hamming primitives, for an instruction set this CPU has.
///
/// A `Kernel` value is a proof that the CPU supports its instruction set: the type is opaque, and
/// the only ways to get one — [`Kernel::best`], [`Kernel::try_new`], [`Kernel::available`] and
/// [`Kernel::scalar`] — check the CPU first (run-time feature detection). That invariant is what
/// makes the `unsafe` calls into the `#[target_feature]` kernels sound, so every value can be run.
///
/// ```
/// use hamdb::Kernel;
/// let k = Kernel::try_new("avx2").unwrap_or(Kernel::scalar()); // None where the CPU lacks AVX2
/// assert!(Kernel::available().contains(&k));
/// println!("kernel {k}");
/// ```
///
/// A kernel cannot be named into existence without the check:
///
/// ```compile_fail,E0599
/// use hamdb::Kernel;
/// let k = Kernel::Avx512;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kernel(Isa);

/// The instruction sets behind the kernels. Private: only the constructors of [`Kernel`], after
/// detection, wrap one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Popcnt,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// Every instruction set this build has a kernel for, slowest first.
    const ALL: &'static [Isa] = &[
        Isa::Scalar,
        #[cfg(target_arch = "x86_64")]
        Isa::Popcnt,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512,
    ];

    fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => "popcnt",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU has every feature the kernel is compiled for (the std macro caches the
    /// detection, so this is cheap after the first call). Each SIMD kernel also uses POPCNT
    /// (`distance` runs the POPCNT kernel for all of them).
    fn detected(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => std::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::is_x86_feature_detected!("popcnt")
            }
        }
    }
}

impl Kernel {
    /// The portable kernel; every CPU runs it.
    pub const fn scalar() -> Kernel {
        Kernel(Isa::Scalar)
    }

    /// The kernel called `name` (scalar, popcnt, avx2, avx512; case-insensitive), or `None` when
    /// the name is unknown or this CPU lacks its instruction set.
    pub fn try_new(name: &str) -> Option<Kernel> {
        Isa::ALL
            .iter()
            .copied()
            .find(|isa| isa.name().eq_ignore_ascii_case(name))
            .filter(|isa| isa.detected())
            .map(Kernel)
    }

    /// The kernels this CPU can run, slowest first (always starts with [`Kernel::scalar`]).
    pub fn available() -> Vec<Kernel> {
        Isa::ALL
            .iter()
            .copied()
            .filter(|isa| isa.detected())
            .map(Kernel)
            .collect()
    }

    /// The fastest available kernel, or the one named by `HAMDB_KERNEL` (scalar, popcnt, avx2,
    /// avx512) when it is available: benchmarks use it to compare kernels on one machine. Chosen
    /// once per process.
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            std::env::var("HAMDB_KERNEL")
                .ok()
                .and_then(|name| Kernel::try_new(&name))
                .unwrap_or_else(|| {
                    *Kernel::available()
                        .last()
                        .expect("scalar is always available")
                })
        })
    }

    /// The kernel's name, as [`Kernel::try_new`] and `HAMDB_KERNEL` take it.
    pub fn name(self) -> &'static str {
        self.0.name()
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
        match self.0 {
            Isa::Scalar => scalar::scan(query, codes, limit, f),
            #[cfg(target_arch = "x86_64")]
            Isa::Popcnt => {
                // SAFETY: a `Kernel(Isa::Popcnt)` exists only after `Isa::detected` saw POPCNT
                // on this CPU (the field is private and every constructor checks), and POPCNT
                // is the one feature `popcnt::scan` is compiled for.
                unsafe { popcnt::scan(query, codes, limit, f) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                // SAFETY: as above: `Kernel(Isa::Avx2)` exists only after AVX2 and POPCNT were
                // detected, the features `avx2::scan` is compiled for.
                unsafe { avx2::scan(query, codes, limit, f) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                // SAFETY: as above: `Kernel(Isa::Avx512)` exists only after AVX-512F,
                // VPOPCNTDQ and POPCNT were detected, the features `avx512::scan` is compiled for.
                unsafe { avx512::scan(query, codes, limit, f) }
            }
        }
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
        match self.0 {
            Isa::Scalar => scalar::distance(a, b),
            #[cfg(target_arch = "x86_64")]
            _ => {
                // SAFETY: a non-scalar `Kernel` exists only after `Isa::detected` saw POPCNT
                // (every SIMD kernel's detection includes it), the feature `popcnt::distance`
                // is compiled for.
                unsafe { popcnt::distance(a, b) }
            }
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
                    Kernel::scalar().distances(&q, &codes, &mut want);
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
            let want = run(Kernel::scalar());
            assert!(want.windows(2).all(|w| w[0].0 < w[1].0 && w[1].1 <= w[0].1));
            for k in Kernel::available() {
                assert_eq!(run(k), want, "kernel {k:?} words {words}");
            }
        }
    }
}
