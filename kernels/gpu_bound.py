"""Float32 error bound of the GPU screen, its widened floors, and its NumPy twin.

The device sums in **float32** (tables converted on the device). Its score is
bit-identical to NumPy summing ``tables.astype(float32)`` locus by locus (both
are IEEE float32 additions in the same order, from 0.0; no fused or
reassociated operations, no flush-to-zero), which :func:`emulate_screen_topk`
does: a CPU twin of what the device returns. Its floor is widened per table row
so that the screen never loses a row whose exact float64 score passes.

Error bound (why the widened floor is safe)
-------------------------------------------
For one profile and table row, let x_1..x_L be the float64 entries gathered
(in locus order), S = sum x_l their exact real sum, S64 the float64 score of
the reference (left-to-right float64 sum), s32 the device's score. Write
u = 2^-24 (float32 unit roundoff), u64 = 2^-53, gamma_n(u) = n u / (1 - n u),
eta = 2^-150 (half the smallest float32 subnormal).

1. Conversion: y_l = fl32(x_l) satisfies |y_l - x_l| <= u |x_l| + eta
   (relative error u in the normal range, absolute error eta when underflowing).
2. Summation: s32 = fl(...fl(fl(0 + y_1) + y_2)... + y_L); the standard
   recursive-summation bound (Higham, *Accuracy and Stability of Numerical
   Algorithms*, 2nd ed., sec. 4.2) gives |s32 - sum y_l| <= gamma_{L-1}(u) sum |y_l|
   (additions never underflow harmfully: a subnormal sum of floats is exact).
3. Together, with sum |y_l| <= (1 + u) sum |x_l| + L eta and
   (1 + gamma_{L-1}(u))(1 + u) <= 1 + gamma_L(u):
   |s32 - S| <= gamma_L(u) sum |x_l| + (1 + gamma_L(u)) L eta.
4. The float64 reference itself errs by |S64 - S| <= gamma_{L-1}(u64) sum |x_l|.
5. sum |x_l| <= M_t := sum over loci of max |tables[t, slot]| over the locus's
   slots (finite entries only: a -inf entry makes both S64 and s32 -inf, and a
   +inf entry makes both +inf, so only all-finite gathers need the bound).

Hence, per table row t, with
   B_t = (gamma_L(u) + gamma_{L-1}(u64)) M_t + (1 + gamma_L(u)) L eta,
S64 >= floor implies s32 >= floor - B_t. The device compares s32 against
f_t = the largest float32 <= floor - B_t (the float64 subtraction is rounded
down one ulp, then the conversion to float32 rounded down), so it keeps every
row whose reference score passes ``floor``; it may keep a few extra rows with
S64 in [floor - 2 B_t, floor), which the exact rescoring drops. For log10 LRs
of a few units per locus and L = 24, B_t is about 24 * 6e-8 * M_t, i.e. a few
times 1e-5 in log10 units. Float32 overflow (|x| or M_t near 3.4e38) is
rejected with ValueError, since it would void the bound. ``floor = -inf`` and
``+inf`` are passed through unchanged (both sides agree exactly there).

What the bound does not cover: the top-k cut. Two rows whose exact scores are
within B_t + B_t' of each other may swap ranks in float32, so the k-th place
can differ from the exact top-k: :mod:`reunion.kernels.gpu_exact` settles it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reunion.kernels.reference import screen_scores
from reunion.kernels.topk import select_topk, to_host

U32 = 2.0 ** -24
U64 = 2.0 ** -53
ETA32 = 2.0 ** -150
FLT_MAX = float(np.finfo(np.float32).max)


def _gamma(n: int, u: float) -> float:
    return n * u / (1.0 - n * u) if n > 0 else 0.0


def locus_segments(offsets: np.ndarray, W: int) -> list[tuple[int, int]] | None:
    """[start, end) of each locus's slots when ``offsets`` (int [L]) are strictly increasing in [0, W); else None."""
    offs = [int(o) for o in offsets]
    ends = offs[1:] + [W]
    if all(0 <= o < e <= W for o, e in zip(offs, ends)):
        return list(zip(offs, ends))
    return None


def float32_error_bound(tables: Any, offsets: Any, xp: Any = np) -> Any:
    """B_t of the module docstring: float64 [T] (array of ``xp``), per table row.

    ``tables`` float64 or float32 [T, W] (array of ``xp``; its values are taken
    as the exact ones); ``offsets`` int [L] (host or device).
    """
    offs = np.asarray(to_host(offsets), dtype=np.int64).ravel()
    T, W = tables.shape
    L = int(offs.size)
    if L == 0 or T == 0 or W == 0:
        return xp.zeros(T, dtype=xp.float64)
    a = xp.abs(tables.astype(xp.float64, copy=False))
    a = xp.where(xp.isfinite(a), a, 0.0)
    segs = locus_segments(offs, W)
    if segs is None:  # unsorted offsets: every locus bounded by the row's max
        M = L * a.max(axis=1)
    else:
        M = xp.zeros(T, dtype=xp.float64)
        for s, e in segs:
            M += a[:, s:e].max(axis=1)
    if float(M.max()) * (1.0 + _gamma(L, U32)) >= FLT_MAX:
        raise ValueError("table magnitudes overflow float32; the GPU screen cannot bound its error")
    return (_gamma(L, U32) + _gamma(L - 1, U64)) * M + (1.0 + _gamma(L, U32)) * L * ETA32


def widened_floors(bound: Any, floor: float, xp: Any = np) -> Any:
    """float32 [T]: the largest float32 <= floor - bound[t] (``bound`` float64 [T]; floor = +-inf unchanged)."""
    floor = float(floor)
    if math.isnan(floor):
        raise ValueError("floor must not be NaN")
    T = bound.shape[0]
    if math.isinf(floor):
        return xp.full(T, floor, dtype=xp.float32)
    d = xp.nextafter(floor - bound, -np.inf)            # below the exact floor - B_t
    with np.errstate(over="ignore"):
        f = d.astype(xp.float32)                        # nearest; may round up
    up = f.astype(xp.float64) > d
    f = xp.where(up, xp.nextafter(f, xp.float32(-np.inf)), f)
    return xp.ascontiguousarray(f, dtype=xp.float32)


def emulate_screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray,
                        k: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of the device result: (index int32 [R, k], score float32 [R, k]).

    ``tables`` float64/32 [T, W], ``offsets`` int32 [L], ``profiles`` uint16
    [R, L]. Float32 scores summed locus by locus, per-row widened floors, ties
    to the lower row. The GPU returns exactly this (scores upcast to the
    tables' dtype).
    """
    tables = np.asarray(tables)
    floors = widened_floors(float32_error_bound(tables, offsets), floor)
    scores = screen_scores(tables.astype(np.float32), np.asarray(offsets), np.asarray(profiles))   # [R, T]
    return select_topk(scores, k, scores >= floors[None, :])[:2]
