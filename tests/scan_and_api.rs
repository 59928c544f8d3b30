//! The linear scan against a brute-force model, and the API's error and edge cases.

mod common;

use common::{codes, queries, Kind};
use hamdb::{Code, CodeArray, CodeLen, Error, Kernel, MihIndex, MihOptions, ScanIndex};

fn brute_force(data: &CodeArray, q: &Code) -> Vec<(u32, u64)> {
    let mut all: Vec<(u32, u64)> = (0..data.len())
        .map(|i| (data.get(i).unwrap().distance(q).unwrap(), i as u64))
        .collect();
    all.sort();
    all
}

#[test]
fn scan_matches_brute_force_for_every_kernel() {
    for bits in [8, 48, 64, 72, 128, 256, 512, 1024] {
        let data = codes(Kind::Clustered, bits, 777, bits as u64);
        for kernel in Kernel::available() {
            let scan = ScanIndex::new(data.clone()).unwrap().with_kernel(kernel);
            for q in queries(&data, 5, 1) {
                let all = brute_force(&data, &q);
                for k in [1, 5, 64, 800] {
                    let got: Vec<(u32, u64)> = scan
                        .search(&q, k)
                        .unwrap()
                        .neighbors
                        .iter()
                        .map(|n| (n.distance, n.id))
                        .collect();
                    assert_eq!(got, all[..k.min(all.len())], "{kernel:?} bits {bits} k {k}");
                }
                let r = bits as u32 / 8;
                let got: Vec<(u32, u64)> = scan
                    .search_radius(&q, r)
                    .unwrap()
                    .neighbors
                    .iter()
                    .map(|n| (n.distance, n.id))
                    .collect();
                let want: Vec<_> = all.iter().copied().filter(|&(d, _)| d <= r).collect();
                assert_eq!(got, want);
            }
        }
    }
}

/// What the CPU supports, detected here independently of hamdb, for each kernel name.
fn cpu_has(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let popcnt = std::is_x86_feature_detected!("popcnt");
        match name {
            "scalar" => true,
            "popcnt" => popcnt,
            "avx2" => popcnt && std::is_x86_feature_detected!("avx2"),
            "avx512" => {
                popcnt
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vpopcntdq")
            }
            _ => unreachable!("{name}"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        name == "scalar"
    }
}

#[test]
fn a_kernel_exists_only_for_an_instruction_set_the_cpu_has() {
    let names = ["scalar", "popcnt", "avx2", "avx512"];
    for name in names {
        let k = Kernel::try_new(name);
        assert_eq!(k.is_some(), cpu_has(name), "try_new({name:?}) = {k:?}");
        assert_eq!(Kernel::try_new(&name.to_ascii_uppercase()), k);
        if let Some(k) = k {
            assert_eq!(k.name(), name);
            assert_eq!(k.to_string(), name);
        }
    }
    for unknown in ["", "neon", "sse2", "avx512f", "avx-512", " avx2", "scalar2"] {
        assert_eq!(Kernel::try_new(unknown), None, "{unknown:?}");
    }
    let avail = Kernel::available();
    assert_eq!(avail.first(), Some(&Kernel::scalar()));
    let want: Vec<&str> = names.into_iter().filter(|n| cpu_has(n)).collect();
    assert_eq!(avail.iter().map(|k| k.name()).collect::<Vec<_>>(), want);
    for k in &avail {
        assert_eq!(Kernel::try_new(k.name()), Some(*k));
    }
    assert!(avail.contains(&Kernel::best()));
    assert_eq!(Kernel::scalar().name(), "scalar");
}

#[test]
fn batch_and_parallel_scans_equal_single_queries() {
    for bits in [64, 128, 256] {
        let data = codes(Kind::Uniform, bits, 70_000, 5);
        let scan = ScanIndex::new(data.clone()).unwrap();
        let qs = queries(&data, 37, 6);
        let mut arr = CodeArray::new(data.code_len());
        for q in &qs {
            arr.push(q).unwrap();
        }
        let batch = scan.search_batch(&arr, 10).unwrap();
        let par_batch = scan.search_batch_parallel(&arr, 10, 3).unwrap();
        for (i, q) in qs.iter().enumerate() {
            let single = scan.search(q, 10).unwrap();
            assert_eq!(batch[i].neighbors, single.neighbors);
            assert_eq!(par_batch[i].neighbors, single.neighbors);
            assert_eq!(
                scan.search_parallel(q, 10, 4).unwrap().neighbors,
                single.neighbors
            );
        }
        let mih = MihIndex::build(data, MihOptions::default()).unwrap();
        let mb = mih.search_batch_parallel(&arr, 10, 2).unwrap();
        for (i, q) in qs.iter().enumerate() {
            assert_eq!(mb[i].neighbors, scan.search(q, 10).unwrap().neighbors);
        }
    }
}

#[test]
fn wrong_lengths_and_bad_parameters_are_typed_errors() {
    let data = codes(Kind::Uniform, 64, 100, 1);
    let scan = ScanIndex::new(data.clone()).unwrap();
    let mih = MihIndex::build(data, MihOptions::default()).unwrap();
    let q32 = Code::from_hex("01020304").unwrap();
    let want = Error::CodeLengthMismatch {
        expected: 64,
        actual: 32,
    };
    assert_eq!(scan.search(&q32, 3).unwrap_err(), want);
    assert_eq!(scan.search_radius(&q32, 3).unwrap_err(), want);
    assert_eq!(mih.search(&q32, 3).unwrap_err(), want);
    assert_eq!(mih.search_radius(&q32, 3).unwrap_err(), want);
    let qs = CodeArray::new(CodeLen::new(32).unwrap());
    assert_eq!(mih.search_batch(&qs, 3).unwrap_err(), want);
    assert_eq!(scan.search_batch(&qs, 3).unwrap_err(), want);

    let data = codes(Kind::Uniform, 64, 10, 1);
    for m in [0, 2, 65] {
        let e = MihIndex::build(
            data.clone(),
            MihOptions {
                substrings: Some(m),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "substrings",
                    ..
                }
            ),
            "{m}: {e}"
        );
    }
    assert!(matches!(
        CodeLen::new(63),
        Err(Error::UnsupportedCodeLength { bits: 63 })
    ));
}

#[test]
fn k_zero_is_empty_and_large_radius_is_everything() {
    let data = codes(Kind::Clustered, 128, 500, 2);
    let mih = MihIndex::build(data.clone(), MihOptions::default()).unwrap();
    let q = data.get(7).unwrap();
    assert!(mih.search(&q, 0).unwrap().neighbors.is_empty());
    for r in [128, 129, u32::MAX] {
        assert_eq!(mih.search_radius(&q, r).unwrap().neighbors.len(), 500);
    }
    let first = mih.search(&q, 1).unwrap().neighbors[0];
    assert_eq!(first.distance, 0);
    assert!(first.id <= 7, "ties break by ascending id");
}

#[test]
fn empty_index_answers_empty() {
    let empty = CodeArray::new(CodeLen::new(64).unwrap());
    let mih = MihIndex::build(empty.clone(), MihOptions::default()).unwrap();
    let scan = ScanIndex::new(empty).unwrap();
    let q = Code::from_hex("0011223344556677").unwrap();
    assert!(mih.search(&q, 5).unwrap().neighbors.is_empty());
    assert!(mih.search_radius(&q, 64).unwrap().neighbors.is_empty());
    assert!(scan.search(&q, 5).unwrap().neighbors.is_empty());
}
