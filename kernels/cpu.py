"""numba CPU screening kernel: the engine of the embedded default.

Same signature and results as :mod:`reunion.kernels.reference` (exactly: loci
are summed in the same order, in the tables' dtype). Parallel over profiles;
each profile keeps its own top-k by insertion, so the score matrix is never
materialised.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True, nogil=True)
def _screen_topk(tables, offsets, profiles, k, floor, index, best):
    R, L = profiles.shape
    T = tables.shape[0]
    for r in numba.prange(R):
        cols = np.empty(L, dtype=np.int64)
        for l in range(L):
            cols[l] = offsets[l] + np.int64(profiles[r, l])
        for t in range(T):
            row = tables[t]
            s = row.dtype.type(0.0)
            for l in range(L):
                s += row[cols[l]]
            if s < floor:
                continue
            # insertion into the sorted top-k (desc score, asc index)
            if index[r, k - 1] != -1 and s <= best[r, k - 1]:
                continue
            j = k - 1
            while j > 0 and (index[r, j - 1] == -1 or s > best[r, j - 1]):
                best[r, j] = best[r, j - 1]
                index[r, j] = index[r, j - 1]
                j -= 1
            best[r, j] = s
            index[r, j] = t


def screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray,
                k: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """See :func:`reunion.kernels.reference.screen_topk` (same contract)."""
    tables = np.ascontiguousarray(tables)
    if tables.dtype not in (np.float32, np.float64):
        raise TypeError(f"tables must be float32 or float64, got {tables.dtype}")
    profiles = np.ascontiguousarray(profiles, dtype=np.uint16)
    offsets = np.ascontiguousarray(offsets, dtype=np.int32)
    R = profiles.shape[0]
    index = np.full((R, k), -1, dtype=np.int32)
    best = np.full((R, k), -np.inf, dtype=tables.dtype)
    if R and tables.shape[0]:
        _screen_topk(tables, offsets, profiles, k, tables.dtype.type(floor), index, best)
    return index, best
