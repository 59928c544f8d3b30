//! Shared generators for the integration tests: uniform, clustered and degenerate code sets.
#![allow(dead_code)]

pub mod db;
pub mod images;

use hamdb::{Code, CodeArray, CodeLen};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

pub fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Independent uniform bits.
    Uniform,
    /// A few centres plus 5% bit noise, plus exact copies: SSDH-like, many duplicates.
    Clustered,
    /// Every code equal.
    AllEqual,
}

pub fn random_code(rng: &mut impl Rng, bits: usize) -> Vec<bool> {
    (0..bits).map(|_| rng.gen_bool(0.5)).collect()
}

pub fn flip(rng: &mut impl Rng, code: &[bool], p: f64) -> Vec<bool> {
    code.iter().map(|&b| b ^ rng.gen_bool(p)).collect()
}

pub fn codes(kind: Kind, bits: usize, n: usize, seed: u64) -> CodeArray {
    let mut r = rng(seed);
    let len = CodeLen::new(bits).unwrap();
    let mut arr = CodeArray::with_capacity(len, n);
    let centres: Vec<Vec<bool>> = (0..1 + (seed % 4) as usize)
        .map(|_| random_code(&mut r, bits))
        .collect();
    let mut prev: Option<Vec<bool>> = None;
    for _ in 0..n {
        let bools = match kind {
            Kind::Uniform => random_code(&mut r, bits),
            Kind::AllEqual => centres[0].clone(),
            Kind::Clustered => match prev.as_ref() {
                Some(p) if r.gen_bool(0.2) => p.clone(),
                _ => {
                    let c = &centres[r.gen_range(0..centres.len())];
                    flip(&mut r, c, 0.05)
                }
            },
        };
        arr.push(&Code::from_bools(&bools).unwrap()).unwrap();
        prev = Some(bools);
    }
    arr
}

/// Queries: fresh random codes, copies of indexed codes, and indexed codes with a few flips.
pub fn queries(data: &CodeArray, count: usize, seed: u64) -> Vec<Code> {
    let mut r = rng(seed ^ 0x5eed);
    let bits = data.code_len().bits();
    (0..count)
        .map(|i| {
            if data.is_empty() || i % 3 == 0 {
                Code::from_bools(&random_code(&mut r, bits)).unwrap()
            } else {
                let base = data.get(r.gen_range(0..data.len())).unwrap().to_bools();
                let p = if i % 3 == 1 { 0.0 } else { 0.03 };
                Code::from_bools(&flip(&mut r, &base, p)).unwrap()
            }
        })
        .collect()
}
