//! Kernels and linear scan. `cargo bench --bench scan`; HAMDB_KERNEL does not apply here:
//! every available kernel is measured side by side.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hamdb::{Code, CodeArray, CodeLen, Kernel, ScanIndex};
use rand::{Rng, SeedableRng};

fn random_codes(bits: usize, n: usize, seed: u64) -> CodeArray {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut bytes = vec![0u8; n * bits / 8];
    rng.fill(&mut bytes[..]);
    CodeArray::from_packed_bytes(CodeLen::new(bits).unwrap(), &bytes).unwrap()
}

fn kernels(c: &mut Criterion) {
    let n = 1 << 16;
    for bits in [64, 128, 256, 512] {
        let codes = random_codes(bits, n, 1);
        let q = codes.get(0).unwrap();
        let mut g = c.benchmark_group(format!("distances/{bits}"));
        g.throughput(Throughput::Elements(n as u64));
        for k in Kernel::available() {
            let mut out = vec![0u32; n];
            g.bench_function(BenchmarkId::from_parameter(k.name()), |b| {
                b.iter(|| k.distances(black_box(q.words()), codes.as_words(), &mut out))
            });
        }
        g.finish();
    }
}

fn scan(c: &mut Criterion) {
    let n = 1_000_000;
    for bits in [64, 256] {
        let codes = random_codes(bits, n, 2);
        let queries = random_codes(bits, 100, 3);
        let index = ScanIndex::new(codes).unwrap();
        let q: Code = queries.get(0).unwrap();
        let mut g = c.benchmark_group(format!("scan/{bits}/1M"));
        g.sample_size(20);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("knn10", |b| {
            b.iter(|| index.search(black_box(&q), 10).unwrap())
        });
        g.throughput(Throughput::Elements(100 * n as u64));
        g.bench_function("knn10-batch100", |b| {
            b.iter(|| index.search_batch(black_box(&queries), 10).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, kernels, scan);
criterion_main!(benches);
