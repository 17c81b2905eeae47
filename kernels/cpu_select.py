"""Top-k insertion shared by the numba CPU screen (kept out of the generated code)."""

from __future__ import annotations

import numba


@numba.njit(inline="always", boundscheck=False, cache=True)
def insert_tile(acc, n, t0, r, k, index, best, bars, b):
    """Insert the ``n`` scores ``acc[:n]`` of tables ``t0 .. t0+n-1`` into row ``r``'s top-k.

    ``index`` int32 [R, k] / ``best`` [R, k] hold the sorted list (best first,
    ties to the lower table index, unused slots index -1); ``bars[b]`` is the
    score a new table must reach (the floor, then the k-th best once the list
    is full) and is updated here.
    """
    full = index[r, k - 1] != -1
    bar = bars[b]
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
    bars[b] = bar
