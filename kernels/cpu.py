"""numba CPU screening kernel: the engine of the embedded default.

Same signature and results as :mod:`reunion.kernels.reference` (exactly: loci
are summed in the same order, in the tables' dtype, and ties go to the lower
table index).

Layout. The tables are cut into tiles of ``lanes`` consecutive tables (16
float32 or 8 float64: one 64-byte cache line), each tile stored genotype-row
major, ``tiles[t, g * lanes + j] = tables[t * lanes + j, g]``. Scoring one
profile against a tile is then L loads of one cache line each, added lane by
lane; a tile (W lines, ~220 KB for 24 loci) stays in L2 while every profile of
a work item passes over it. Two profiles are scored together so that their
chains of adds overlap. The sums live in registers
(:mod:`reunion.kernels.cpu_codegen` writes that unrolled loop) and are never
reassociated: each lane is its own scalar sum, in locus order.

Selection. A profile's tile is looked at only when its best lane reaches the
profile's bar (the floor, then its k-th best so far); most tiles fail that one
comparison. Insertion into the per-profile sorted list is
:func:`reunion.kernels.cpu_select.insert_tile`. The score matrix is never
materialised.
"""

from __future__ import annotations

import contextlib
import threading

import numba
import numpy as np

from reunion.kernels import _cpu_unrolled
from reunion.kernels.topk import empty_topk

LINE_BYTES = 64
_KERNELS = {16: _cpu_unrolled.screen_16, 8: _cpu_unrolled.screen_8}
_SLP_LOCK = threading.Lock()


@contextlib.contextmanager
def _slp_vectorize():
    """Compile with LLVM's SLP vectorizer on (numba leaves it off by default).

    It packs the unrolled scalar sums into AVX vectors; it never reorders a
    lane's additions. Only compilation reads the flag (cached builds do not).
    """
    with _SLP_LOCK:
        before = numba.config.SLP_VECTORIZE
        numba.config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            numba.config.SLP_VECTORIZE = before


def tile_tables(tables: np.ndarray) -> np.ndarray:
    """float [T, W] -> [ceil(T / lanes), W * lanes] tiles (padding tables are 0)."""
    T, W = tables.shape
    lanes = LINE_BYTES // tables.dtype.itemsize
    nt, whole = -(-T // lanes), T // lanes
    out = np.empty((nt, W, lanes), dtype=tables.dtype)
    # one strided copy per element (no padded intermediate); the last, partial tile apart
    out[:whole] = tables[:whole * lanes].reshape(whole, lanes, W).transpose(0, 2, 1)
    if whole < nt:
        out[whole] = 0
        out[whole, :, :T - whole * lanes] = tables[whole * lanes:].T
    return out.reshape(nt, W * lanes)


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
    R, L = profiles.shape
    T = tables.shape[0]
    index, best = empty_topk(R, k, tables.dtype)
    if R and T and L:
        lanes = LINE_BYTES // tables.dtype.itemsize
        rows_n = _cpu_unrolled.ROWS
        rp = -(-R // rows_n) * rows_n
        rows = np.zeros((rp, L), dtype=np.uint32)        # padding profiles: discarded
        rows[:R] = (offsets.astype(np.uint32) + profiles) * np.uint32(lanes)
        threads = numba.get_num_threads()
        chunk = -(-rp // (threads * rows_n)) * rows_n
        index_p, best_p = empty_topk(rp, k, tables.dtype)
        with _slp_vectorize():
            _KERNELS[lanes](tile_tables(tables), rows, k, tables.dtype.type(floor), index_p, best_p, T, chunk)
        index[:] = index_p[:R]
        best[:] = best_p[:R]
    elif R and T and floor <= 0:
        # no loci: every score is 0
        n = min(k, T)
        index[:, :n] = np.arange(n)
        best[:, :n] = 0
    return index, best
