"""Exact mode of the GPU screen (``gpu.screen_topk(..., exact=True)``, the pipeline's default).

The device screens k2 = k + ``EXACT_MARGIN`` rows per profile in float32
(:mod:`reunion.kernels.gpu_bound`); the kept rows are re-scored from the tables
as given (their dtype), locus by locus from 0 (the reference's own sums: IEEE
additions in the same order, so bit-identical; :func:`exact_sums`, on the
device when the arrays are there), then filtered by the exact floor and ranked
by (score desc, row asc) on the host (:func:`reunion.kernels.topk.settle`).
That is the reference's answer whenever no row the device dropped could rank
among the first k:

- the device list is not full: every row with S64 >= floor passed its widened
  floor and was kept, so nothing was dropped that matters;
- it is full, with float32 score s_last at place k2: a dropped row d has
  s32_d <= s_last, so S64_d <= s_last + max_t B_t =: U (rounded up). If U < floor
  no dropped row passes; if the k-th exact score is > U, every dropped row ranks
  after it (strictly: an equal score with a lower row would rank before).

Profiles that neither condition settles (near-ties spanning more than the
margin, duplicated tables at the cut) are screened again by the exact CPU
kernel. So the GPU returns the reference's indices and scores exactly, and a
re-match's candidate lists do not depend on the device. Nothing here needs
CuPy: the screen is a callback and ``xp`` the array module it returns.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from reunion.kernels.gpu_bound import float32_error_bound
from reunion.kernels.gpu_launch import MAX_K
from reunion.kernels.topk import settle, to_host

EXACT_MARGIN = 8       # rows screened beyond k in exact mode (module docstring)


def exact_sums(tables: Any, offsets: Any, profiles: Any, index32: Any, xp: Any = np) -> Any:
    """The reference's score of every kept row: [R, k2] in the tables' dtype (arrays of ``xp``).

    ``tables`` float [T, W], ``offsets`` int [L], ``profiles`` uint16 [R, L],
    ``index32`` int32 [R, k2] (-1 = none: its sum is meaningless). Summed locus
    by locus from 0, as :func:`reunion.kernels.reference.screen_scores` does, so
    bit-identical to it.
    """
    offs = np.asarray(to_host(offsets), dtype=np.int64).ravel()
    rows = xp.where(index32 >= 0, index32, 0).astype(xp.int64)
    prof = profiles.astype(xp.int64)
    exact = xp.zeros(index32.shape, dtype=tables.dtype)
    if tables.shape[0] == 0:            # nothing kept: no row to read
        return exact
    for l in range(offs.size):
        exact += tables[rows, (int(offs[l]) + prof[:, l])[:, None]]
    return exact


def exact_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray, k: int, floor: float,
               screen: Callable[[int], tuple[Any, Any]], *, xp: Any = np,
               on_device: tuple[Any, Any, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact mode around a float32 ``screen(k2)`` -> (index int32, score float32) [R, k2] arrays of ``xp``.

    ``tables`` float64/32 [T, W], ``offsets`` int32 [L], ``profiles`` uint16
    [R, L] (host). ``on_device`` = (tables, profiles, B_t float64 [T]) as ``xp``
    arrays, where the kept rows are re-scored (default: the host arrays given;
    ``profiles`` may then be None). Returns the reference's (index int32 [R, k],
    score [R, k] in the tables' dtype): :func:`reunion.kernels.topk.settle`,
    then the exact CPU kernel for the profiles it leaves unsettled.
    """
    k = int(k)
    if not 0 <= k <= MAX_K:
        raise ValueError(f"k must be in [0, {MAX_K}], got {k}")
    index_x, score_x = screen(max(k, min(k + EXACT_MARGIN, MAX_K)))
    t_x, p_x, bound = on_device or (tables, profiles, float32_error_bound(tables, offsets))
    exact = exact_sums(t_x, offsets, p_x, index_x, xp)
    bmax = float(bound.max()) if bound.size else 0.0
    index, score, unresolved = settle(to_host(index_x).astype(np.int32, copy=False), to_host(score_x),
                                      to_host(exact), k, floor, bmax)
    if unresolved.size:
        from reunion.kernels import cpu  # noqa: PLC0415 (numba: only when needed)
        stuck = to_host(p_x[xp.asarray(unresolved)])            # those profiles only, to the host
        index[unresolved], score[unresolved] = cpu.screen_topk(tables, offsets, stuck, k, floor)
    return index, score
