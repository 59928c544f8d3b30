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
