//! MIH build and k-NN search on uniform and clustered 64-bit codes. `cargo bench --bench mih`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hamdb::{Code, CodeArray, CodeLen, MihIndex, MihOptions, PathPolicy};
use rand::{Rng, SeedableRng};

fn codes(clustered: bool, n: usize, seed: u64) -> CodeArray {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<u64> = (0..10).map(|_| rng.gen()).collect();
    let mut arr = CodeArray::with_capacity(CodeLen::new(64).unwrap(), n);
    for _ in 0..n {
        let word: u64 = if clustered {
            let mut w = centres[rng.gen_range(0..10)];
            for b in 0..64 {
                if rng.gen_bool(0.05) {
                    w ^= 1 << b;
                }
            }
            w
        } else {
            rng.gen()
        };
        arr.push(&Code::from_bytes(&word.to_be_bytes()).unwrap())
            .unwrap();
    }
    arr
}

fn bench(c: &mut Criterion) {
    let n = 2_000_000;
    for clustered in [false, true] {
        let name = if clustered { "clustered" } else { "uniform" };
        let data = codes(clustered, n, 1);
        let queries = codes(clustered, 64, 2);
        let mut g = c.benchmark_group(format!("mih/{name}/64/2M"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("build", |b| {
            b.iter(|| MihIndex::build(black_box(data.clone()), MihOptions::default()).unwrap())
        });
        let index = MihIndex::build(data, MihOptions::default()).unwrap();
        g.throughput(Throughput::Elements(queries.len() as u64));
        for policy in [PathPolicy::Auto, PathPolicy::ForceMih] {
            g.bench_function(format!("knn10/{policy:?}"), |b| {
                b.iter(|| {
                    for q in 0..queries.len() {
                        black_box(
                            index
                                .search_with(&queries.get(q).unwrap(), 10, policy)
                                .unwrap(),
                        );
                    }
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
