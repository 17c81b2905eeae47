"""numba CPU screening kernel: the engine of the embedded default.

Same signature and results as :mod:`reunion.kernels.reference` (exactly: loci
are summed in the same order, in the tables' dtype, and ties go to the lower
table index).

Layout: the tables are transposed once to ``[W, T]`` so that, for one profile
and one locus, the values for a tile of consecutive tables are contiguous.
Scoring a profile against a tile is then L vector adds of contiguous rows
(SIMD-friendly, no reassociation: each table keeps its own accumulator), and a
tile stays in cache while a chunk of profiles is scored against it. Top-k
selection is an insertion into a per-profile sorted list, guarded by the
current k-th score, so the score matrix is never materialised.
"""

from __future__ import annotations

import numba
import numpy as np

TILE = 4096         # tables scored together (one contiguous slice per locus)
CHUNK = 64          # profiles per parallel work item


@numba.njit(parallel=True, cache=True, nogil=True)
def _screen_topk(tables_t, offsets, profiles, k, floor, index, best):
    W, T = tables_t.shape
    R, L = profiles.shape
    n_chunks = (R + CHUNK - 1) // CHUNK
    for c in numba.prange(n_chunks):
        r0 = c * CHUNK
        r1 = min(R, r0 + CHUNK)
        acc = np.empty(TILE, dtype=tables_t.dtype)
        rows = np.empty(L, dtype=np.int64)
        for t0 in range(0, T, TILE):
            n = min(TILE, T - t0)
            for r in range(r0, r1):
                for l in range(L):
                    rows[l] = offsets[l] + np.int64(profiles[r, l])
                src = tables_t[rows[0], t0:t0 + n]
                for j in range(n):
                    acc[j] = src[j]
                for l in range(1, L):
                    src = tables_t[rows[l], t0:t0 + n]
                    for j in range(n):
                        acc[j] += src[j]
                # k-th best so far (or the floor): most tables fail this one comparison
                full = index[r, k - 1] != -1
                bar = best[r, k - 1] if full else floor
                for j in range(n):
                    s = acc[j]
                    if s < bar or (full and s == bar):
                        continue
                    p = k - 1
                    while p > 0 and (index[r, p - 1] == -1 or s > best[r, p - 1]):
                        best[r, p] = best[r, p - 1]
                        index[r, p] = index[r, p - 1]
                        p -= 1
                    best[r, p] = s
                    index[r, p] = t0 + j
                    if index[r, k - 1] != -1:
                        full = True
                        bar = best[r, k - 1]


def screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray,
                k: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """See :func:`reunion.kernels.reference.screen_topk` (same contract).

    ``tables`` float32 or float64 [T, W]; ``offsets`` int32 [L]; ``profiles``
    uint16 [R, L]. Returns int32 [R, k] indices and [R, k] scores (tables' dtype).
    """
    if tables.dtype not in (np.float32, np.float64):
        raise TypeError(f"tables must be float32 or float64, got {tables.dtype}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    profiles = np.ascontiguousarray(profiles, dtype=np.uint16)
    offsets = np.ascontiguousarray(offsets, dtype=np.int32)
    R = profiles.shape[0]
    index = np.full((R, k), -1, dtype=np.int32)
    best = np.full((R, k), -np.inf, dtype=tables.dtype)
    if R and tables.shape[0] and profiles.shape[1]:
        tables_t = np.ascontiguousarray(tables.T)
        _screen_topk(tables_t, offsets, profiles, k, tables.dtype.type(floor), index, best)
    elif R and tables.shape[0] and floor <= 0:
        # no loci: every score is 0
        n = min(k, tables.shape[0])
        index[:, :n] = np.arange(n)
        best[:, :n] = 0
    return index, best
