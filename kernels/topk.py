"""Host-side top-k: the one ranking every screen's result follows.

A profile's candidates are ranked by (score desc, table row asc); a list of k
places holds the first ``min(k, n)`` of the n candidates allowed (score at or
above the floor), best first, and pads the rest with row -1 and score -inf.
:func:`select_topk` is that rule; the reference screen, the float32 emulation,
the benchmark's NumPy baseline, the merge of row-range lists and the exact-mode
re-rank all call it. NumPy only (device arrays are brought over by
:func:`to_host` first).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_host(a: Any) -> np.ndarray:
    """A NumPy array of ``a`` (a NumPy array as is; a CuPy array copied from the device)."""
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) else a)


def empty_topk(R: int, k: int, dtype: Any, xp: Any = np) -> tuple[Any, Any]:
    """Unfilled lists: index int32 [R, k] of -1 and score [R, k] of -inf in ``dtype`` (arrays of ``xp``)."""
    return xp.full((R, k), -1, dtype=xp.int32), xp.full((R, k), -np.inf, dtype=dtype)


def _first_k_columns(score: np.ndarray, ok: np.ndarray, k: int) -> np.ndarray:
    """Columns of the first k allowed entries per row, in any order: intp [R, k], -1 pads.

    ``score`` float [R, N], ``ok`` bool [R, N], 0 < k < N, columns ranked
    (score desc, column asc). One partition finds k columns and the k-th best
    key v; a row with more than k entries at or under v (ties across the cut,
    or fewer than k allowed) is redone by :func:`_fill_ties`, so ties at the cut
    go to the lower column, as a full sort would give.
    """
    key = np.negative(score)
    np.copyto(key, np.inf, where=~ok)                        # allowed -inf scores and refused entries: +inf
    cols = np.argpartition(key, k - 1, axis=1)[:, :k]
    v = np.take_along_axis(key, cols[:, k - 1:], axis=1)     # [R, 1]: the k-th smallest key
    crowded = np.flatnonzero(np.count_nonzero(key <= v, axis=1) > k)
    if crowded.size:
        cols[crowded] = _fill_ties(key, ok, v, k, crowded)
    return cols


def _fill_ties(key: np.ndarray, ok: np.ndarray, v: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """For ``rows`` (intp [n]): the allowed entries with key < v, then those equal to v by column
    until k: intp [n, k] columns, -1 pads.

    ``key`` float [R, N] (-score, +inf where refused), ``ok`` bool [R, N], ``v``
    [R, 1] the k-th smallest key of each row. A row with at most k allowed
    entries takes them all.
    """
    N = key.shape[1]
    take = ok[rows]                                          # [n, N]
    n_ok = np.count_nonzero(take, axis=1)
    many = np.flatnonzero(n_ok > k)                          # rows whose cut falls inside a tie
    if many.size:
        km, vm, om = key[rows[many]], v[rows[many]], take[many]
        above, tie = om & (km < vm), om & (km == vm)
        need = k - np.count_nonzero(above, axis=1)           # places left for the tie
        take[many] = above | (tie & (np.cumsum(tie, axis=1) <= need[:, None]))
    r, c = np.divmod(np.flatnonzero(take), N)                # by row, columns ascending
    counts = np.minimum(n_ok, k)                             # entries taken per row
    out = np.full((rows.size, k), -1, dtype=np.intp)
    out[r, np.arange(r.size) - np.repeat(np.cumsum(counts) - counts, counts)] = c
    return out


def select_topk(score: np.ndarray, k: int, ok: np.ndarray, index: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the first k allowed entries ranked by (score desc, row index asc).

    ``score`` float [R, N] (entries where ``ok`` must not be NaN); ``ok`` bool
    [R, N], the entries that may be listed; ``index`` int [R, N], the table row
    of each entry, or None when column n is row n (large N is then cut down by
    a partition first: the same result as a full sort, ties included). Returns
    ``(index int32 [R, k], score [R, k] in score's dtype, count intp [R])``:
    best first, -1 / -inf past ``count = min(k, allowed entries)``.
    """
    R, N = score.shape
    if index is None:
        if 0 < k < N:
            cols = _first_k_columns(score, ok, k)
            used = cols >= 0
            cols = np.where(used, cols, 0)
            score, ok, index = np.take_along_axis(score, cols, axis=1), used, cols
            N = k
        else:
            index = np.broadcast_to(np.arange(N), (R, N))
    m = min(N, k)
    order = np.lexsort((index, -score, ~ok), axis=1)[:, :m]
    count = np.minimum(ok.sum(axis=1), k)
    used = np.arange(m)[None, :] < count[:, None]
    out_i, out_s = empty_topk(R, k, score.dtype)
    out_i[:, :m] = np.where(used, np.take_along_axis(index, order, axis=1), -1)
    out_s[:, :m] = np.where(used, np.take_along_axis(score, order, axis=1), -np.inf)
    return out_i, out_s, count


def merge_topk(parts: list[tuple[int, np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """One top-k from the top-k lists of consecutive row ranges of the tables.

    ``parts``: (first row, index int32 [R, k'], score float [R, k']) per range,
    indices relative to the range (-1 = unused), best first. Ranked as one
    screen of all rows ranks (:func:`select_topk`), so the result equals that
    screen's, for an exact or a float32 screen alike. Returns index int32 [R, k]
    and score [R, k] (the parts' dtype).
    """
    index = np.concatenate([np.where(i >= 0, i + t0, -1) for t0, i, _ in parts], axis=1).astype(np.int32)
    score = np.concatenate([sc for _, _, sc in parts], axis=1)
    return select_topk(score, k, index >= 0, index)[:2]


def settle(index32: np.ndarray, score32: np.ndarray, exact: np.ndarray, k: int, floor: float,
           bound_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-k from a float32 screen of k2 >= k rows (:mod:`reunion.kernels.gpu_exact`).

    ``index32`` int32 [R, k2] / ``score32`` float32 [R, k2]: the screen (widened
    floors, best first, -1 = unused); ``exact`` float [R, k2]: the exact score
    of each listed row; ``bound_max`` = max_t B_t. Returns ``(index int32 [R, k],
    score [R, k] in exact's dtype, unresolved intp [n])``: every profile but
    those of ``unresolved`` (whose cut the screen cannot settle) gets the
    reference's list exactly.
    """
    R, k2 = index32.shape
    if k2 < k:
        raise ValueError(f"the screen kept {k2} rows per profile, fewer than k = {k}")
    valid = index32 >= 0
    index, score, n_ok = select_topk(exact, k, valid & (exact >= floor), index32)
    full = valid[:, -1] if k2 else np.zeros(R, dtype=bool)
    last = score32[:, -1].astype(np.float64) if k2 else np.full(R, -np.inf)
    with np.errstate(invalid="ignore"):
        upper = np.nextafter(last + float(bound_max), np.inf)          # S64 of any dropped row <= upper
    upper = np.where(np.isneginf(last), -np.inf, upper)
    kth = score[:, k - 1].astype(np.float64) if k else np.full(R, np.inf)
    settled = ~full | (upper < floor) | ((n_ok >= k) & (kth > upper))
    return index, score, np.flatnonzero(~settled)
