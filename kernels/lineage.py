"""The lineage screen: which men of a Y database are within a few repeat steps of each
missing man, and the per-meiosis likelihoods of those pairs (issue 20, ``reunion lineage``).

Why not :mod:`reunion.kernels.cpu`'s screen: that kernel keeps, per profile, the top k
tables of a gather-sum. A lineage search needs, per missing man, *every* man within
``max_steps`` repeat steps (the lineages are grouped from all of them, not from a top k),
and almost every pair of unrelated men is many steps apart: a step sum that stops at the
first locus where it passes ``max_steps`` looks at a few loci per pair instead of all of
them, and the likelihoods (one gather-sum per number of meioses) are then taken for the few
pairs left. Both passes are still gathers from per-locus tables indexed by allele codes.

Shapes and dtypes:

- ``men``: uint16 [N, L], the database men's value codes per locus (0 = untyped);
- ``queries``: uint16 [Q, L], the missing men's codes, same loci and dictionary;
- ``steps``: uint8 [L, C, C], ``steps[l, a, b]`` the repeat steps between values a and b of
  locus l (255: unreachable, e.g. another microvariant class); row and column 0 unused;
- ``logp``: float64 [M, L, C, C], ``logp[m, l, a, b]`` = log10 P(a man m + 1 meioses from a
  man showing a at locus l shows b) (-inf where impossible).

A locus counts for a pair when both men are typed there. Pairs are listed by query, then by
man, ascending. :func:`pairs_reference` and :func:`loglik_reference` are the NumPy
specification; :func:`pairs` and :func:`loglik` (numba, parallel) give the same arrays.
"""

from __future__ import annotations

import numba
import numpy as np

UNREACHABLE = 255


# ------------------------------------------------------------------------------ reference
def pairs_reference(men: np.ndarray, queries: np.ndarray, steps: np.ndarray, max_steps: int,
                    min_loci: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (query q, man r) with at least ``min_loci`` compared loci and at most
    ``max_steps`` steps over them: (q int32 [P], r int32 [P], steps int32 [P], loci int32 [P])."""
    N, L = men.shape
    out = ([], [], [], [])
    for q in range(queries.shape[0]):
        s = np.zeros(N, dtype=np.int64)
        n = np.zeros(N, dtype=np.int64)
        for l in range(L):
            b = int(queries[q, l])
            if b == 0:
                continue
            a = men[:, l].astype(np.int64)
            both = a > 0
            s += np.where(both, steps[l, a, b], 0)
            n += both
        hit = np.flatnonzero((s <= max_steps) & (n >= min_loci))
        out[0].append(np.full(hit.size, q))
        out[1].append(hit)
        out[2].append(s[hit])
        out[3].append(n[hit])
    return tuple(np.concatenate(x).astype(np.int32) if x else np.zeros(0, np.int32) for x in out)


def loglik_reference(men: np.ndarray, queries: np.ndarray, q: np.ndarray, r: np.ndarray,
                     logp: np.ndarray) -> np.ndarray:
    """float64 [P, M]: per listed pair and number of meioses m + 1, the sum over compared loci
    of ``logp[m, l, man's code, query's code]``, in locus order."""
    M, L = logp.shape[:2]
    out = np.zeros((q.size, M))
    for l in range(L):
        a = men[r, l].astype(np.int64)
        b = queries[q, l].astype(np.int64)
        both = (a > 0) & (b > 0)
        for m in range(M):
            out[:, m] += np.where(both, logp[m, l, a, b], 0.0)
    return out


# ------------------------------------------------------------------------------ numba
@numba.njit(cache=True, boundscheck=False, nogil=True)
def _within(men, qrow, steps, max_steps, min_loci, r):
    """(steps, loci) of man r against one query row; steps > max_steps once passed (stops)."""
    s = 0
    n = 0
    for l in range(men.shape[1]):
        b = qrow[l]
        a = men[r, l]
        if a == 0 or b == 0:
            continue
        s += steps[l, a, b]
        n += 1
        if s > max_steps:
            return s, n
    if n < min_loci:
        return max_steps + 1, n
    return s, n


@numba.njit(parallel=True, cache=True, boundscheck=False)
def _count(men, queries, steps, max_steps, min_loci, counts):
    for q in numba.prange(queries.shape[0]):
        c = 0
        qrow = queries[q]
        for r in range(men.shape[0]):
            s, _n = _within(men, qrow, steps, max_steps, min_loci, r)
            if s <= max_steps:
                c += 1
        counts[q] = c


@numba.njit(parallel=True, cache=True, boundscheck=False)
def _fill(men, queries, steps, max_steps, min_loci, starts, oq, orr, os, on):
    for q in numba.prange(queries.shape[0]):
        p = starts[q]
        qrow = queries[q]
        for r in range(men.shape[0]):
            s, n = _within(men, qrow, steps, max_steps, min_loci, r)
            if s <= max_steps:
                oq[p] = q
                orr[p] = r
                os[p] = s
                on[p] = n
                p += 1


def pairs(men: np.ndarray, queries: np.ndarray, steps: np.ndarray, max_steps: int,
          min_loci: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`pairs_reference` (same arrays). Two passes over the men per query (count,
    then fill), queries in parallel."""
    men = np.ascontiguousarray(men, dtype=np.uint16)
    queries = np.ascontiguousarray(queries, dtype=np.uint16)
    steps = np.ascontiguousarray(steps, dtype=np.uint8)
    if men.shape[1] != queries.shape[1] or steps.shape[0] != men.shape[1]:
        raise ValueError("men, queries and steps must have the same loci")
    Q = queries.shape[0]
    counts = np.zeros(Q, dtype=np.int64)
    if Q and men.shape[0]:
        _count(men, queries, steps, int(max_steps), int(min_loci), counts)
    starts = np.zeros(Q, dtype=np.int64)
    if Q:
        starts[1:] = np.cumsum(counts)[:-1]
    P = int(counts.sum())
    oq, orr, os_, on = (np.zeros(P, dtype=np.int32) for _ in range(4))
    if P:
        _fill(men, queries, steps, int(max_steps), int(min_loci), starts, oq, orr, os_, on)
    return oq, orr, os_, on


@numba.njit(parallel=True, cache=True, boundscheck=False)
def _loglik(men, queries, q, r, logp, out):
    M, L = logp.shape[0], logp.shape[1]
    for p in numba.prange(q.size):
        for m in range(M):
            acc = 0.0
            for l in range(L):
                a = men[r[p], l]
                b = queries[q[p], l]
                if a != 0 and b != 0:
                    acc += logp[m, l, a, b]
            out[p, m] = acc


def loglik(men: np.ndarray, queries: np.ndarray, q: np.ndarray, r: np.ndarray,
           logp: np.ndarray) -> np.ndarray:
    """See :func:`loglik_reference` (same array: the same additions in the same order)."""
    out = np.zeros((q.size, logp.shape[0]), dtype=np.float64)
    if q.size:
        _loglik(np.ascontiguousarray(men, dtype=np.uint16),
                np.ascontiguousarray(queries, dtype=np.uint16),
                np.ascontiguousarray(q, dtype=np.int32), np.ascontiguousarray(r, dtype=np.int32),
                np.ascontiguousarray(logp, dtype=np.float64), out)
    return out
