import numpy as np

from models.ssdh.metrics import bit_stats, hamming, retrieval_metrics


def test_hamming_matches_bit_count():
    rng = np.random.default_rng(1)
    q = rng.integers(0, 2, (5, 48))
    db = rng.integers(0, 2, (9, 48))
    want = (q[:, None, :] != db[None, :, :]).sum(2)
    assert (hamming(q, db) == want).all()


def test_hand_computed_example():
    # Query label 0 at code 00. Distances 0, 0, 2, 1; ties by index -> ranking 0, 1, 3, 2 with
    # relevance 1, 0, 0, 1. AP = (1/1 + 2/4) / 2.
    db = np.array([[0, 0], [0, 0], [1, 1], [0, 1]])
    m = retrieval_metrics(np.array([[0, 0]]), np.array([0]), db, np.array([0, 1, 0, 1]), top=3)
    assert m["map_full"] == 0.75
    assert m["map_at_3"] == 1.0 and m["top"] == 3         # only item 0 is found in the top 3
    assert m["precision_hamming_r2"] == 0.5
    assert m["precision_at_k_curve"] == [1.0, 0.5, 1 / 3]
    # 11-point: precision 1 up to recall 0.5 (6 points), 0.5 for recall 0.6..1 (5 points).
    assert abs(m["map_11pt_interpolated"] - (6 + 2.5) / 11) < 1e-12


def test_empty_radius_counts_as_zero():
    db = np.array([[1, 1, 1, 1]])
    m = retrieval_metrics(np.array([[0, 0, 0, 0]]), np.array([0]), db, np.array([0]), top=1)
    assert m["precision_hamming_r2"] == 0.0
    assert m["queries_empty_within_r2"] == 1
    assert m["map_full"] == 1.0


def test_bit_stats():
    bits = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 0]])
    s = bit_stats(bits)
    assert s["firing_rate"] == [0.5, 0.0, 0.5]
    assert s["constant_bits"] == 1
    assert abs(s["mean_abs_correlation"]) == 0.0
    assert s["non_redundant_bits"] == 2


def test_non_redundant_bits_drops_copies_and_complements():
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    # bits: a, b, a (copy), 1-b (complement), a with 2% of it flipped (still > 0.95 correlated)
    noisy = a.copy()
    noisy[:10] ^= 1
    bits = np.stack([a, b, a, 1 - b, noisy], axis=1)
    s = bit_stats(bits)
    assert s["non_redundant_bits"] == 2
    assert s["max_abs_correlation"] > 0.999
    # Independent bits are all kept.
    assert bit_stats(rng.integers(0, 2, (500, 6)))["non_redundant_bits"] == 6


def test_class_aware_map_by_hand():
    # Query label 0, predicted class 0, code 00. Database: distances 0, 0, 2, 1; stored classes
    # 1, 0, 0, 1 -> group one (class 0) = items 1 (d 0), 2 (d 2); then items 0 (d 0), 3 (d 1).
    # True labels 0, 1, 0, 1 -> relevance along the ranking 1,2,0,3: 0, 1, 1, 0.
    # AP = (1/2 + 2/3) / 2.
    from models.ssdh.metrics import class_aware_map
    db = np.array([[0, 0], [0, 0], [1, 1], [0, 1]])
    got = class_aware_map(np.array([[0, 0]]), np.array([0]), np.array([0]), db,
                          np.array([0, 1, 0, 1]), np.array([1, 0, 0, 1]))
    assert abs(got - (1 / 2 + 2 / 3) / 2) < 1e-12


def test_class_aware_map_equals_hamming_map_when_no_class_separates():
    # Every stored class equal to every query class: one group, the plain Hamming ranking.
    from models.ssdh.metrics import class_aware_map
    rng = np.random.default_rng(3)
    q, db = rng.integers(0, 2, (30, 16)), rng.integers(0, 2, (400, 16))
    ql, dl = rng.integers(0, 4, 30), rng.integers(0, 4, 400)
    plain = retrieval_metrics(q, ql, db, dl, top=10)["map_full"]
    same = class_aware_map(q, ql, np.zeros(30, int), db, dl, np.zeros(400, int), chunk=7)
    assert abs(plain - same) < 1e-12
    # Stored class = true label, query class = true label: every relevant item first, AP 1.
    assert class_aware_map(q, ql, ql, db, dl, dl) == 1.0


def test_per_query_ap_averages_to_map_full():
    # ap_by_correctness splits mAP by query; its per-query APs must be the ones map_full averages.
    from models.ssdh.ap_by_correctness import per_query_ap

    rng = np.random.default_rng(7)
    db = rng.integers(0, 2, (300, 16), dtype=np.uint8)
    q = rng.integers(0, 2, (40, 16), dtype=np.uint8)
    db_labels, q_labels = rng.integers(0, 4, 300), rng.integers(0, 4, 40)
    aps = per_query_ap(q, q_labels, db, db_labels, chunk=7)
    assert aps.shape == (40,) and ((aps > 0) & (aps <= 1)).all()
    assert abs(aps.mean() - retrieval_metrics(q, q_labels, db, db_labels, top=100)["map_full"]) < 1e-12
