"""Which shard holds an id: ``shard_of(id, n) = splitmix64(id) mod n`` (rule "splitmix64-mod").

``splitmix64(x)`` is the first output of Steele, Lea and Flood's SplitMix64 generator seeded
with ``x``, all arithmetic modulo 2**64::

    z = x + 0x9E3779B97F4A7C15
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z =  z ^ (z >> 31)

Invariant: the rule is a pure function of (id, n), the same on every machine, release and
numpy version, since an upsert or delete must reach the shard an earlier insert went to. It is
recorded by name in the manifest (``RULE``); changing it would need a new name and a rewrite of
every collection, so tests pin a few values. Consecutive ids spread evenly (the finaliser's
avalanche), so caller-chosen dense ids balance the shards.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import numpy.typing as npt

RULE = "splitmix64-mod"

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def splitmix64(x: int) -> int:
    """The hash of one id (a Python int in 0..2**64-1)."""
    if not 0 <= x <= _MASK:
        raise ValueError(f"id {x} is not a uint64")
    z = (x + _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def splitmix64_array(ids: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """``splitmix64`` of each id, vectorised; uint64 arrays wrap modulo 2**64 as the rule says."""
    z = as_ids(ids) + np.uint64(_GAMMA)  # a new array: the caller's is never written
    z ^= z >> np.uint64(30)
    z *= np.uint64(_M1)
    z ^= z >> np.uint64(27)
    z *= np.uint64(_M2)
    z ^= z >> np.uint64(31)
    return z


def shard_of(ids: Union[int, npt.ArrayLike], n: int) -> Union[int, npt.NDArray[np.int64]]:
    """The shard (0..n-1) of one id (an int, giving an int) or of each id of an array (giving
    an int64 array of the same length)."""
    if n < 1:
        raise ValueError("a collection has at least one shard")
    if isinstance(ids, (int, np.integer)):
        return splitmix64(int(ids)) % n
    return (splitmix64_array(ids) % np.uint64(n)).astype(np.int64)


def as_ids(ids: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """A 1-D C-contiguous uint64 array of ids; negative or non-integer ids raise ValueError (a silent cast
    would route -1 somewhere)."""
    a = np.asarray(ids)
    if a.ndim != 1:
        a = a.reshape(-1)
    if a.dtype == np.uint64:
        return np.ascontiguousarray(a)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"ids must be integers, not {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueError("ids must be >= 0 (uint64)")
    return a.astype(np.uint64)
