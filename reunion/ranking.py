"""How a missing person's candidates are ordered and cut: the one home of that rule.

A list is ordered by exact log10 LR (descending), ties by family_id (ascending),
ranked from 1 and cut at ``top_k``; every candidate at or above ``keep_all`` (the
``scoring.keep_all_log10_lr`` setting) is kept beyond the cut, so no strong
candidate is hidden by a full list. The re-match builds its lists with
:func:`rank_scored` (Python objects, on the workers), the rerun re-ranks standing
and new rows with :func:`rank_candidates` (Arrow tables); both take the cut from
:func:`kept`. :func:`shortlist_cut` decides, from screen scores, which shortlisted
families are worth an exact re-score at all.
"""

from __future__ import annotations

import math
from typing import Sequence, TypeVar

import numpy as np
import pyarrow as pa

#: log10 units: a screen score (a table sum) and its exact re-score differ by ~1e-12; the
#: screen widens, and the merge cuts, this far below a threshold
CUT_TOL = 1e-6

S = TypeVar("S")


def kept(rank: np.ndarray, log10_lr: np.ndarray, top_k: int, keep_all: float | None) -> np.ndarray:
    """bool [n]: the ranked entries a list keeps.

    ``rank`` int [n] (1 = best) and ``log10_lr`` float64 [n] of entries already in list
    order: the first ``top_k`` and, beyond them, every one at or above ``keep_all``.
    """
    keep = np.asarray(rank) <= top_k
    if keep_all is not None:
        keep |= np.asarray(log10_lr) >= keep_all
    return keep


def rank_scored(scored: Sequence[tuple[str, S]], top_k: int, keep_all: float | None = None
                ) -> list[tuple[int, str, S]]:
    """(rank, family_id, score) of the kept entries of one missing person's (family_id,
    score) pairs, best first; a score has ``.log10_lr`` (the exact log10 LR)."""
    ranked = sorted(scored, key=lambda e: (-e[1].log10_lr, e[0]))
    lr = np.array([s.log10_lr for _, s in ranked], dtype=np.float64)
    keep = kept(np.arange(1, len(ranked) + 1), lr, top_k, keep_all)
    return [(i + 1, f, s) for i, (f, s) in enumerate(ranked) if keep[i]]


def rank_candidates(pool: pa.Table, top_k: int, keep_all: float | None = None) -> pa.Table:
    """Each missing person's rows of ``pool`` (CANDIDATES contract) in list order, their
    ``rank`` column set from 1, cut as :func:`kept` says."""
    pool = pool.sort_by([("missing_id", "ascending"), ("log10_lr", "descending"),
                         ("family_id", "ascending")])
    ids = np.asarray(pool.column("missing_id").to_pylist(), dtype=object)
    at = np.arange(len(ids))
    first = np.maximum.accumulate(np.where(np.r_[True, ids[1:] != ids[:-1]], at, 0)) if len(ids) else at
    rank = (at - first + 1).astype(np.int32)
    pool = pool.set_column(pool.schema.get_field_index("rank"), pool.schema.field("rank"), pa.array(rank))
    keep = kept(rank, pool.column("log10_lr").to_numpy(zero_copy_only=False), top_k, keep_all)
    return pool.filter(pa.array(keep))


def same_score(screen: float, exact: float) -> bool:
    """Whether a screen score agrees with its exact re-score (within ``CUT_TOL / 4``)."""
    if math.isinf(screen) or math.isinf(exact):
        return screen == exact
    return abs(screen - exact) <= CUT_TOL / 4


def shortlist_cut(rows: np.ndarray, scores: np.ndarray, top_k: int, keep_all: float | None) -> np.ndarray:
    """bool [n]: the shortlisted (missing person row, screen score) entries worth re-scoring.

    ``rows`` int64 [n], ``scores`` float64 [n]. Per missing person: every entry whose
    screen score is within ``CUT_TOL`` of its top_k-th best screen score or above, or at
    least ``keep_all - CUT_TOL``. The others cannot make the list: a screen score is the
    exact table sum, within ``CUT_TOL / 4`` of the exact re-score (checked on those
    re-scored, :func:`same_score`), so each dropped entry ranks below top_k kept ones and
    below ``keep_all``. With many reference shards, each contributing its own top_k, this
    bounds the re-scoring at about top_k per missing person.
    """
    keep = np.ones(rows.size, dtype=bool)
    if rows.size == 0:
        return keep
    order = np.lexsort((-scores, rows))                         # by row, best screen score first
    r_sorted = rows[order]
    starts = np.flatnonzero(np.r_[True, r_sorted[1:] != r_sorted[:-1]])
    rank = np.arange(rows.size) - np.repeat(starts, np.diff(np.r_[starts, rows.size]))
    at_k = order[rank == top_k - 1]                             # each row's top_k-th entry
    kth_of = dict(zip(rows[at_k].tolist(), scores[at_k].tolist()))
    kth = np.array([kth_of.get(r, -np.inf) for r in rows.tolist()])
    with np.errstate(invalid="ignore"):
        keep = scores >= kth - CUT_TOL
        if keep_all is not None:
            keep |= scores >= keep_all - CUT_TOL
    return keep | np.isneginf(kth)
