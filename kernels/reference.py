"""NumPy reference of the screening kernel: readable, slow, the specification.

Shapes and dtypes (shared by every kernel version):

- ``tables``: float64 or float32 [T, W]. Row t is a lost-child table (one family
  and hypothesis): ``tables[t, offsets[l] + g]`` is the log10 LR at locus l when
  the profile's genotype index there is g; slot ``offsets[l] + 0`` (untyped)
  holds 0.
- ``offsets``: int32 [L], first slot of each locus in a table row.
- ``profiles``: uint16 [R, L], genotype indices (0 = untyped) of the profiles
  scored (missing persons).

The score of profile r against table t is the sum over loci, in locus order,
of ``tables[t, offsets[l] + profiles[r, l]]``.
"""

from __future__ import annotations

import numpy as np

from reunion.kernels.topk import select_topk


def screen_scores(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray) -> np.ndarray:
    """Full score matrix, float [R, T] (dtype of ``tables``), summed locus by locus."""
    R, L = profiles.shape
    T = tables.shape[0]
    acc = np.zeros((R, T), dtype=tables.dtype)
    for l in range(L):
        cols = offsets[l] + profiles[:, l].astype(np.int64)       # [R]
        acc += tables[:, cols].T                                   # [R, T]
    return acc


def screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray,
                k: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Per profile, the k best tables with score >= floor.

    Returns ``(index, score)``: int32 [R, k] table indices and scores [R, k]
    (dtype of ``tables``), best first; ties go to the lower table index; unused
    slots hold index -1 and score -inf (:func:`reunion.kernels.topk.select_topk`).
    """
    scores = screen_scores(tables, offsets, profiles)
    return select_topk(scores, k, scores >= floor)[:2]
