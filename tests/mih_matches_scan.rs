//! Differential tests: every MIH path returns exactly what the linear scan returns (same ids,
//! same distances, same order with ties by ascending id), on uniform, clustered and degenerate
//! code sets, for many code lengths and substring counts.

mod common;

use common::{codes, queries, Kind};
use hamdb::{MihIndex, MihOptions, PathPolicy, ScanIndex, SearchPath};
use proptest::prelude::*;

const BITS: [usize; 8] = [8, 16, 32, 48, 64, 128, 256, 512];

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Uniform),
        Just(Kind::Clustered),
        Just(Kind::AllEqual)
    ]
}

/// Substring counts valid for `bits`; with `force_mih`, short substrings only (a forced MIH
/// k-NN over uniform long codes would probe astronomically many buckets, by design).
fn m_choices(bits: usize, force_mih: bool) -> Vec<usize> {
    // Auto tests stay at <= 18-bit substrings: a table has 2^len offsets whatever n is, and
    // dozens of 2^28-entry tables over a few hundred codes only test the allocator.
    let min_m = if force_mih {
        bits.div_ceil(12)
    } else {
        bits.div_ceil(18)
    };
    let mut v: Vec<usize> = (min_m..=(min_m + 5).min(bits)).collect();
    if bits >= 2 * min_m {
        v.push((bits / 2).max(min_m));
    }
    v
}

fn check(
    kind: Kind,
    bits: usize,
    n: usize,
    m_pick: usize,
    inline: bool,
    force_mih: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let data = codes(kind, bits, n, seed);
    let ms = m_choices(bits, force_mih);
    let m = ms[m_pick % ms.len()];
    let policy = if force_mih {
        PathPolicy::ForceMih
    } else {
        PathPolicy::Auto
    };
    let mih = MihIndex::build(
        data.clone(),
        MihOptions {
            substrings: Some(m),
            inline_codes: Some(inline),
            policy,
            expected_radius: None,
        },
    )
    .unwrap();
    let scan = ScanIndex::new(data.clone()).unwrap();
    for (qi, q) in queries(&data, 6, seed).iter().enumerate() {
        for k in [0usize, 1, 2, 10, n.saturating_sub(1), n, n + 3] {
            let want = scan.search(q, k).unwrap();
            let got = mih.search(q, k).unwrap();
            prop_assert_eq!(
                &got.neighbors,
                &want.neighbors,
                "k-NN q{} k={} m={} n={}",
                qi,
                k,
                m,
                n
            );
            prop_assert_eq!(got.neighbors.len(), k.min(n));
            if force_mih && k > 0 && n > 0 {
                prop_assert_eq!(got.stats.path, Some(SearchPath::Mih));
            }
        }
        let radii: Vec<u32> = if force_mih {
            (0..=(2 * m as u32).min(bits as u32))
                .step_by(1 + m / 3)
                .collect()
        } else {
            vec![
                0,
                1,
                2,
                3,
                5,
                8,
                bits as u32 / 4,
                bits as u32,
                bits as u32 + 5,
            ]
        };
        for r in radii {
            let want = scan.search_radius(q, r).unwrap();
            let got = mih.search_radius(q, r).unwrap();
            prop_assert_eq!(
                &got.neighbors,
                &want.neighbors,
                "radius q{} r={} m={} n={}",
                qi,
                r,
                m,
                n
            );
            prop_assert!(got.neighbors.iter().all(|nb| nb.distance <= r));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn forced_mih_equals_scan(kind in kind_strategy(), bits_i in 0..BITS.len(), n in 0usize..400,
                              m_pick in 0usize..8, inline in any::<bool>(), seed in any::<u64>()) {
        let bits = BITS[bits_i];
        // Uniform codes of 128+ bits have far-away neighbours; forced MIH would enumerate
        // millions of buckets per query in a debug build. Their exactness is covered by Auto.
        prop_assume!(!(matches!(kind, Kind::Uniform) && bits >= 128));
        check(kind, bits, n, m_pick, inline, true, seed)?;
    }

    #[test]
    fn auto_path_equals_scan(kind in kind_strategy(), bits_i in 0..BITS.len(), n in 0usize..400,
                             m_pick in 0usize..8, inline in any::<bool>(), seed in any::<u64>()) {
        check(kind, BITS[bits_i], n, m_pick, inline, false, seed)?;
    }
}

#[test]
fn larger_clustered_set_with_default_m() {
    for bits in [32, 64, 128] {
        let data = codes(Kind::Clustered, bits, 20_000, bits as u64);
        let mih = MihIndex::build(
            data.clone(),
            MihOptions {
                policy: PathPolicy::ForceMih,
                ..Default::default()
            },
        )
        .unwrap();
        let scan = ScanIndex::new(data.clone()).unwrap();
        for q in queries(&data, 20, 9) {
            for k in [1, 10, 100] {
                assert_eq!(
                    mih.search(&q, k).unwrap().neighbors,
                    scan.search(&q, k).unwrap().neighbors
                );
            }
            for r in [0, 2, 4] {
                assert_eq!(
                    mih.search_radius(&q, r).unwrap().neighbors,
                    scan.search_radius(&q, r).unwrap().neighbors
                );
            }
        }
    }
}

#[test]
fn auto_policy_sends_queries_with_near_neighbours_to_mih_and_stays_exact() {
    // 2,000 tight clusters of 100 codes: every query's neighbours sit in a few buckets, so MIH
    // costs microseconds where a scan reads all 200k codes; the cost model must see that.
    use hamdb::{Code, CodeArray, CodeLen};
    let mut r = common::rng(8);
    let centres: Vec<Vec<bool>> = (0..2000).map(|_| common::random_code(&mut r, 64)).collect();
    let mut data = CodeArray::new(CodeLen::new(64).unwrap());
    for i in 0..200_000 {
        data.push(&Code::from_bools(&common::flip(&mut r, &centres[i % 2000], 0.02)).unwrap())
            .unwrap();
    }
    let mih = MihIndex::build(data.clone(), MihOptions::default()).unwrap();
    let scan = ScanIndex::new(data.clone()).unwrap();
    let mut mih_answers = 0;
    for i in 0..50 {
        let q = Code::from_bools(&common::flip(&mut r, &centres[i * 37], 0.02)).unwrap();
        let got = mih.search(&q, 10).unwrap();
        assert_eq!(got.neighbors, scan.search(&q, 10).unwrap().neighbors);
        mih_answers += usize::from(got.stats.path == Some(SearchPath::Mih));
        assert!(got.stats.buckets_probed <= 1000 || got.stats.path != Some(SearchPath::Mih));
    }
    assert!(
        mih_answers >= 45,
        "only {mih_answers} of 50 queries took the MIH path"
    );
}

#[test]
fn auto_policy_scans_when_neighbours_are_far() {
    // Uniform 256-bit codes: the 10th neighbour is ~90 bits away, MIH would probe millions of
    // buckets; every query must be answered by the scan directly.
    let data = codes(Kind::Uniform, 256, 20_000, 5);
    let mih = MihIndex::build(data.clone(), MihOptions::default()).unwrap();
    for q in queries(&data, 10, 6).iter().step_by(3) {
        let got = mih.search(q, 10).unwrap();
        assert_eq!(got.stats.path, Some(SearchPath::LinearScan));
        assert_eq!(got.stats.buckets_probed, 0);
    }
}

/// `built` reopened from copies of its stored arrays; `damage` may alter table 0's offsets.
fn reopen_from_parts(
    built: &MihIndex,
    policy: PathPolicy,
    damage: impl Fn(&mut Vec<u32>),
) -> hamdb::Result<MihIndex> {
    use hamdb::slab::Slab;
    let parts = built.parts();
    let tables = parts
        .tables
        .iter()
        .enumerate()
        .map(|(j, t)| {
            let mut offsets = t.offsets.to_vec();
            if j == 0 {
                damage(&mut offsets);
            }
            (
                Slab::from_vec(offsets),
                Slab::from_vec(t.rows.to_vec()),
                t.codes.map(|c| Slab::from_vec(c.to_vec())),
            )
        })
        .collect();
    MihIndex::from_stored(
        built.code_len(),
        Slab::from_vec(built.code_words().to_vec()),
        parts.substrings,
        tables,
        parts.within.to_vec(),
        parts.sub_within.to_vec(),
        policy,
    )
}

#[test]
fn an_index_rebuilt_from_its_stored_parts_answers_identically() {
    for (kind, bits) in [
        (Kind::Clustered, 64),
        (Kind::Uniform, 48),
        (Kind::Clustered, 128),
    ] {
        let data = codes(kind, bits, 5_000, 11);
        let built = MihIndex::build(
            data.clone(),
            MihOptions {
                policy: PathPolicy::ForceMih,
                ..Default::default()
            },
        )
        .unwrap();
        let stored = reopen_from_parts(&built, PathPolicy::ForceMih, |_| {}).unwrap();
        for q in queries(&data, 10, 12) {
            assert_eq!(
                stored.search(&q, 10).unwrap(),
                built.search(&q, 10).unwrap()
            );
            assert_eq!(
                stored.search_radius(&q, 3).unwrap(),
                built.search_radius(&q, 3).unwrap()
            );
        }
        // Damaged shapes are refused, not trusted.
        let err = reopen_from_parts(&built, PathPolicy::Auto, |o| o[1] = u32::MAX);
        assert!(err.is_err());
    }
}
