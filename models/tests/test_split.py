"""The validation split: stratified, seeded, disjoint from training, deterministic."""
import numpy as np
import pytest

from models.ssdh.data import stratified_split


def test_split_is_stratified_disjoint_and_deterministic():
    y = np.repeat(np.arange(10), 600)
    np.random.default_rng(1).shuffle(y)
    tr, va = stratified_split(y, 5000, seed=0)
    assert len(tr) + len(va) == len(y) and len(va) == 5000
    assert not set(tr) & set(va)
    assert (np.bincount(y[va]) == 500).all()
    tr2, va2 = stratified_split(y, 5000, seed=0)
    assert (va == va2).all() and (tr == tr2).all()
    _, va3 = stratified_split(y, 5000, seed=1)
    assert not (va == va3).all()


def test_uneven_classes_get_largest_remainders():
    # 7 / 3 images, 5 held out: 3.5 / 1.5 -> 3 / 1, and the tied remainder goes to class 0.
    y = np.array([0] * 7 + [1] * 3)
    _, va = stratified_split(y, 5, seed=0)
    assert list(np.bincount(y[va])) == [4, 1]
    # 8 / 2, 5 held out: exactly 4 / 1.
    _, va = stratified_split(np.array([0] * 8 + [1] * 2), 5, seed=0)
    assert len(va) == 5


def test_sizes_are_checked():
    y = np.arange(10) % 2
    tr, va = stratified_split(y, 0)
    assert len(tr) == 10 and len(va) == 0
    with pytest.raises(ValueError):
        stratified_split(y, 10)
