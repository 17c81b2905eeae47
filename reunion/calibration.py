"""Calibrated evidence: how often an unrelated person (H2) or the true lost child (H1)
reaches a family's LR, exactly, from the family's lost-child table alone (issue 19).

What a table entry is
---------------------
``T[f, offsets[l] + g]`` (float64, flows/tables.py ``shard_tables``) is
``log10 LR(g) = log10 [P(c = g | family data, H1) / P_HW(g)]`` for the lost child c's
genotype index g >= 1 at locus l (:meth:`reunion.genetics.family.FamilyScorer.table_row`);
slot 0 (untyped) holds 0; a locus where no member used is typed, or where the family's own
data are impossible without mutation, holds 0 at every slot (LR 1, not compared); an
exclusion without a mutation model is ``-inf`` (LR 0). So both distributions come from the
table and the run's frequencies (KINSHIP.md, "Database-aware error rates"):

- H2 (a random unrelated person): g ~ P_HW(g) = p_a^2 or 2 p_a p_b, with each locus's allele
  frequencies (the encoding's, rare-allele floors included) **normalised to sum 1** (the
  shipped tables sum to 1; a floored rare allele makes a locus sum above 1, e.g. 1.026).
- H1 (the family's true lost child): g ~ w(g) = LR(g) P_HW(g) with the encoding's frequencies
  as the table builders used them, **normalised per locus**. For an exact table
  ``sum_g w(g) = 1``; on the demo tables it is 1 within 1e-9 (mutation matrices are exact),
  except at loci with a floored allele where an untyped parent's transmitted allele is drawn
  from the unnormalised frequencies and the sum equals ``sum p`` (up to 1.052 for a duo);
  normalising is the same as drawing that allele from the normalised frequencies.
  :attr:`ScoreDistribution.normaliser` records ``max_l |sum_g - 1|`` before normalising.

Assumptions: loci are independent given the family (unlinked loci, Hardy-Weinberg and
linkage equilibrium, **theta = 0**). With theta > 0 the table's denominator is the
conditional match probability given the family's alleles, so a random person's genotype is
not drawn from P_HW and the H2 law here would be wrong: :func:`annotate_run` refuses such
runs. The mutation model is inside the table (H1 includes mutated transmissions exactly as the
scoring model has them); with ``mutation.model: none`` an exclusion is an LR-0 atom.

Conditioning on the loci compared
---------------------------------
A missing person is compared at the loci typed in it and in a member used; the others add
log10 LR 0. The distributions here are conditional on that set: S = sum over the compared
loci l of T[f, l, G_l], G_l independent, drawn as above. A locus in the mask where the family
is untyped (all-zero segment) is a point mass at 0 and is skipped.

Method and its error bound
--------------------------
Each locus value v is put on a grid of width ``delta`` (default 1e-3 log10): **rounded up**
(``ceil(v / delta)``) for H2, **down** for H1; atoms landing on one grid point are merged, an
LR-0 genotype (v = -inf) is kept aside as its own mass. The per-locus laws are convolved
directly (shifted adds of positive float64 numbers, no FFT), so every probability keeps
float64 relative precision into the far tail (1e-30 is as good as 0.5). With S' the gridded
sum over n compared loci, ``S <= S'_up <= S + n delta`` and ``S - n delta <= S'_down <= S``,
hence

    P_H2(S >= x) <= p_h2(x) <= P_H2(S >= x - n delta)     (reported p_h2: an upper bound)
    P_H1(S <= x) <= p_h1(x) <= P_H1(S <= x + n delta)     (reported p_h1: an upper bound)
    P_H1(S >= x - n delta) >= power(x) >= P_H1(S >= x)     (reported power: a lower bound)

up to float64 rounding (relative ~1e-15). ``n delta`` is :attr:`ScoreDistribution.error_bound`
(0.029 log10 = a factor 1.07 in LR for 29 loci at 1e-3). Mass that can no longer reach
``x_min`` (the smallest x a call asks about) is lumped into ``below`` as soon as the partial
sum plus the remaining loci's maxima falls short; symmetrically, mass that can no longer fall
below ``x_max`` (the largest x asked) is lumped into ``above`` as soon as the partial sum plus
the remaining loci's minima stays at or above it (added from suffix sums, so it keeps float64
relative precision). Both are exact: every answer in [x_min, x_max] equals the unlumped law's
(up to float64 rounding of the order of summation, ~1e-14 relative), and asking outside is
refused. The thresholds are known before any convolution (:func:`spans`): per family, H2 is
asked along :data:`THRESHOLD_GRID`, at the power threshold and at its candidates' scores, H1
only at the power threshold and its candidates' scores (a family without candidates: the one
point x = power threshold). The lumps bound the work less than one might hope: with a
mutation model a locus's minimum is -6 to -23 log10 (one mutated transmission), so the upper
lump acts only at the last few loci, and the support stays about the sum of the loci's maxima
wide (about 35 log10, 35,000 grid points at 1e-3); see
benchmarks/results/calibration-cpu-2core-2026-12-03-speed/.

The error contract with pruning (calibration.epsilon > 0, the default 1e-15)
--------------------------------------------------------------------------
The exact lumps leave a window about 26,000 grid points wide (see above), most of it mass
that cannot matter to an answer at probability 1e-15. With an absolute probability budget
epsilon, after each locus the lowest and highest grid points of the partial sum are moved
into the lower and upper lumps while their *price* (:func:`_convolve`: the mass times a
Chernoff bound of the chance that the loci still to come carry it back into the answered
window [x_min, x_max]) fits in the step's share of what is left of epsilon. The prices
spent, ``pruned_low`` and ``pruned_high`` (their sum ``probability_error`` <= epsilon), bound
how far any answer in the window moved, so the reported values widen by them and stay
bounds of the exact probabilities:

    P_H2(S >= x) <= p_h2(x) <= P_H2(S >= x - n delta) + probability_error
    P_H1(S <= x) <= p_h1(x) <= P_H1(S <= x + n delta_h1) + probability_error
    P_H1(S >= x - n delta_h1) - probability_error <= power(x) <= P_H1(S >= x)

and against the unpruned law on the same grid: 0 <= pruned - unpruned <= probability_error
for p_h2 and p_h1, 0 <= unpruned - pruned <= probability_error for power. A p_h2 at or below
about 2 x probability_error therefore reads "below that", not a value (the 1e-29 an exact
law gives a strong candidate becomes about 1e-15): the candidates' column
``probability_error`` says so, and expected_chance_matches is within probability_error x
searched. epsilon = 0 is the exact reference (no pruning; every brute-force test of
tests/test_calibration.py runs on it; tests/test_calibration_pruning.py holds the pruned laws
to brute force and to it). H1 laws (p_h1, power) use their own grid ``delta_h1``
(calibration.grid_h1, default 1e-2: bound 0.29 log10 over 29 loci, a factor 1.95 in LR),
10 times coarser than H2's: they need absolute, not tail, precision.

Speed (benchmarks/results/calibration-cpu-2core-2026-12-03-epsilon/): the pruning and the
H1 grid make a family's laws about 2x cheaper; the H2 law at grid 1e-3 down to 1e-15 is
still about 10,000-13,000 points wide after each of 29 loci of 15-207 distinct values, far
from the cost of building the table (see that README for the numbers and what remains).

Laws saved for reruns
---------------------
:class:`LawStore` keeps, beside the run's tables (``TABLES/laws/<key>.parquet``, key: the
law settings grid, grid_h1, epsilon), what the run asked of each law: per (table row sha256,
loci compared, hypothesis, thresholds span, how it was computed) its sf / cdf at the
thresholds asked and its bounds. A rerun reads the standing run's store and computes only
the laws it does not hold (a new or changed family, new candidates' thresholds outside the
saved ones, new locus sets), so its columns equal a fresh run's to the bit
(calibration.reuse_laws; the pmfs themselves, about 100 KB a law at grid 1e-3, are not kept).

Nested locus sets (the searched persons' kits, id15 within core20 within the full set) are
convolved in one pass, the smallest set's loci first, the law of each set read off on the way
(:meth:`LawCache.prefetch_h2`); lumping then uses the maxima of every locus still to come in
the pass, so each law is the one its set alone would give.

Where it runs
-------------
:func:`calibrate` is the one home: the re-match's and the rerun's ``calibrate-candidates``
stage (flows/rematch.py, after the re-score, from the run's saved tables; families in
``calibration.threads`` threads) and ``reunion calibrate RUN`` for a run made without it
(:func:`write_calibration`, into ``RUN/calibration/``). A rerun calibrates every candidate
again: the searched database, so every expected number of chance matches, has changed; the
tables it reads are the standing run's where the families did not change, and so are the
laws (:class:`LawStore`). Which additional relative would raise a family's power most is
reunion/sampling_advice.py's, called by :func:`calibrate` for the families of lowest power
(families.parquet's advice columns, run.json's ``calibration.sampling_advice``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa

from reunion.contracts import CALIBRATED_CANDIDATE_FIELDS as CANDIDATE_FIELDS
from reunion.contracts import CALIBRATED_CANDIDATES, CHANCE_THRESHOLDS, ContractError, check_table
from reunion.contracts import FAMILY_CALIBRATION as FAMILIES
from reunion.contracts.records import Manifest, RunRecord
from reunion.encoding import Encoding, genotype_pairs
from reunion.errors import UserError
from reunion.settings import CalibrationSettings, SamplingAdviceSettings, Settings

#: default grid width, log10 units (the calibration.grid setting's default: one home)
GRID = CalibrationSettings().grid
#: the threshold of the families table (LR 10,000: SF/Z JD0105001-2016 "supports parentage")
POWER_LOG10_LR = CalibrationSettings().power_log10_lr
#: log10 LR thresholds of the expected-chance-matches curves (the threshold plot's x axis)
THRESHOLD_GRID = np.round(np.arange(0.0, 20.0 + 1e-9, 0.25), 10)
_SLACK = 1e-6   # grid units: a threshold on a grid point (within float error) includes it


class CalibrationError(UserError):
    """A run or a request the calibration cannot answer exactly (theta > 0, x below x_min)."""


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """Per-slot probabilities of an encoding, flattened like a table row.

    ``offsets`` int64 [L] (first slot of each locus), ``n_genotypes`` int64 [L] (slots
    1..n(n+1)/2 of each locus, untyped excluded), ``hw_raw`` float64 [W] (P_HW(g) from the
    encoding's frequencies as the tables use them; slot 0 holds 0), ``hw_h2`` float64 [W]
    (P_HW(g) from per-locus normalised frequencies: sums to 1 per locus), ``freq_sum``
    float64 [L] (each locus's sum of allele frequencies before normalising).
    """

    locus_names: tuple[str, ...]
    offsets: np.ndarray
    n_genotypes: np.ndarray
    hw_raw: np.ndarray
    hw_h2: np.ndarray
    freq_sum: np.ndarray

    @classmethod
    def from_encoding(cls, enc: Encoding) -> Layout:
        W = enc.width
        raw, h2 = np.zeros(W), np.zeros(W)
        ng, sums = [], []
        for l, lc in enumerate(enc.loci):
            lo, hi = genotype_pairs(lc.n_alleles)
            off = int(enc.offsets[l])
            p = np.asarray(lc.frequencies, dtype=np.float64)
            s = float(p.sum())
            q = p / s
            raw[off + 1: off + 1 + lo.size] = np.where(lo == hi, p[lo] ** 2, 2.0 * p[lo] * p[hi])
            h2[off + 1: off + 1 + lo.size] = np.where(lo == hi, q[lo] ** 2, 2.0 * q[lo] * q[hi])
            ng.append(lo.size)
            sums.append(s)
        return cls(tuple(enc.locus_names), enc.offsets.astype(np.int64), np.asarray(ng, np.int64),
                   raw, h2, np.asarray(sums))

    @property
    def n_loci(self) -> int:
        return len(self.locus_names)

    def informative(self, row: np.ndarray) -> np.ndarray:
        """bool [L]: loci where the table row is not all zero (the family is typed there and
        its data are possible), i.e. where a typed missing person is compared."""
        out = np.zeros(self.n_loci, dtype=bool)
        for l in range(self.n_loci):
            o = int(self.offsets[l])
            out[l] = bool(np.any(row[o + 1: o + 1 + int(self.n_genotypes[l])] != 0.0))
        return out


# --------------------------------------------------------------------------- the kernel
#: k_max meaning "no lumping above" (far above any grid index, far below int64 overflow)
_NO_K_MAX = np.int64(2) ** 61


#: the exponents lambda of the Chernoff bounds that price a pruned grid point
#: (P(R >= t) <= 10^(-lambda t) E[10^(lambda R)], P(R <= t) <= 10^(lambda t) E[10^(-lambda R)])
LAMBDAS = np.array([0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0])


@numba.njit(cache=True, nogil=True)
def _convolve(values, probs, offsets, ng, loci, checks, delta, up, k_min, k_max,
              eps, lams):  # pragma: no cover (numba)
    """Gridded convolution over ``loci`` (int64 [m]) of the per-locus laws: ``values``
    float64 [W] (log10 LR), ``probs`` float64 [W] (masses, normalised here per locus), slots
    1..ng[l] of each locus l; the law of the sum over each prefix ``loci[:checks[c]]``
    (``checks`` int64 [C], ascending, the last = m): nested locus sets in one pass.

    Returns (pmfs float64 [sum n_c] (the C laws one after the other), bounds int64 [C + 1]
    (law c is pmfs[bounds[c]:bounds[c + 1]]), los int64 [C] (grid index of each law's first
    entry), belows float64 [C] (finite mass lumped below grid index k_min), aboves float64
    [C] (mass lumped at or above grid index k_max), zeros float64 [C] (mass of S = -inf),
    normaliser: max |sum of masses - 1| per locus).

    A partial sum that cannot reach k_min even with the maxima of every locus still to come
    (negative maxima counted as 0) is lumped below; one that stays >= k_max even with their
    minima (positive minima counted as 0) is lumped above. So a path lumped for the longest
    prefix is lumped on every shorter one too: each prefix's law is exact as if computed
    alone, and equal to the unlumped law at every grid index in [k_min, k_max). Above-lumped
    mass is added from suffix sums (small terms first), so it keeps float64 relative
    precision however small it is.

    Probability pruning (``eps`` > 0; 0: none, the exact reference): after each locus the
    lowest grid points of the partial sum are moved into the lower lump and the highest into
    the upper lump while the mass they could still send into the answered window stays within
    the step's share of ``eps`` (what is left of it over the steps to come). A point of mass p
    at grid index k is priced ``p min(1, min_lambda 10^(lambda (k - k_min) delta) prod_l
    E[10^(lambda X_l)])`` at the bottom (Chernoff: the chance that the loci still to come
    lift it to k_min; ``lams`` float64 [K] the lambdas, ``prod_l`` over the loci still to come
    before the furthest law read off, finite atoms only) and ``p min(1, min_lambda
    10^(lambda (k_max - k) delta) prod_l E[10^(-lambda X_l)])`` at the top. The prices
    summed, ``lows`` / ``highs`` float64 [C] (both 0 when eps = 0), bound the error of every
    answer in [k_min, k_max): P(S' >= x) lies in [sf - high, sf + low], P(S' <= x) in
    [cdf - low, cdf + high], and low + high <= eps.
    """
    m = loci.size
    C = checks.size
    tot = 0
    for j in range(m):
        tot += ng[loci[j]]
    ak = np.empty(tot, np.int64)
    ap = np.empty(tot, np.float64)
    starts = np.zeros(m + 1, np.int64)
    kmin = np.zeros(m, np.int64)
    kmax = np.zeros(m, np.int64)
    zl = np.zeros(m, np.float64)
    normaliser = 0.0
    pos = 0
    for j in range(m):
        l = loci[j]
        o = offsets[l] + 1
        n = ng[l]
        s = 0.0
        for g in range(n):
            s += probs[o + g]
        normaliser = max(normaliser, abs(s - 1.0))
        ks = np.empty(n, np.int64)
        ps = np.empty(n, np.float64)
        c = 0
        z = 0.0
        for g in range(n):
            v = values[o + g]
            p = probs[o + g] / s
            if p <= 0.0:
                continue
            if v == -np.inf:
                z += p
                continue
            ks[c] = np.int64(np.ceil(v / delta)) if up else np.int64(np.floor(v / delta))
            ps[c] = p
            c += 1
        zl[j] = z
        order = np.argsort(ks[:c])
        starts[j] = pos
        for i in range(c):
            k = ks[order[i]]
            if pos > starts[j] and k == ak[pos - 1]:
                ap[pos - 1] += ps[order[i]]
            else:
                ak[pos] = k
                ap[pos] = ps[order[i]]
                pos += 1
        if pos > starts[j]:
            kmin[j] = ak[starts[j]]
            kmax[j] = ak[pos - 1]
        starts[j + 1] = pos
    finite = np.ones(m + 1, np.float64)         # finite[j]: P(no LR-0 atom among loci 0..j-1)
    for j in range(m):
        finite[j + 1] = finite[j] * (1.0 - zl[j])
    dead = m                                    # first locus whose every genotype is an exclusion
    for j in range(m):
        if starts[j + 1] == starts[j]:
            dead = j
            break
    K = lams.size                               # Chernoff factors of each locus's gridded law
    lmu = np.zeros((K, m), np.float64)          # log10 E[10^(lambda X_j)] (finite atoms)
    lmd = np.zeros((K, m), np.float64)          # log10 E[10^(-lambda X_j)]
    if eps > 0.0:
        for j in range(m):
            for q in range(K):
                su = 0.0
                sd = 0.0
                for t in range(starts[j], starts[j + 1]):
                    su += ap[t] * 10.0 ** (lams[q] * ak[t] * delta)
                    sd += ap[t] * 10.0 ** (-lams[q] * ak[t] * delta)
                lmu[q, j] = np.log10(su) if su > 0.0 else -np.inf
                lmd[q, j] = np.log10(sd) if sd > 0.0 else -np.inf
    # fut_u[q, j]: log10 of the largest product of E[10^(lambda X_l)] over the loci j+1 .. of a
    # law still to be read off (checks[c] > j), so a price holds for every law of the pass
    fut_u = np.zeros((K, m), np.float64)
    fut_d = np.zeros((K, m), np.float64)
    if eps > 0.0:
        for q in range(K):
            for j in range(m):
                bu = -np.inf
                bd = -np.inf
                for cc in range(C):
                    if checks[cc] > j:
                        su = 0.0
                        sd = 0.0
                        for l in range(j + 1, checks[cc]):
                            su += lmu[q, l]
                            sd += lmd[q, l]
                        bu = max(bu, su)
                        bd = max(bd, sd)
                fut_u[q, j] = bu
                fut_d[q, j] = bd
    rest = np.zeros(m + 1, np.int64)            # rest[j]: sum of the maxima (>= 0) of loci j..m-1
    rmin = np.zeros(m + 1, np.int64)            # rmin[j]: sum of the minima (<= 0) of loci j..m-1
    for j in range(m - 1, -1, -1):
        rest[j] = rest[j + 1] + max(kmax[j], 0)
        rmin[j] = rmin[j + 1] + min(kmin[j], 0)
    chunks = []
    los = np.full(C, np.int64(k_min), np.int64)
    belows = np.zeros(C, np.float64)
    aboves = np.zeros(C, np.float64)
    zeros = np.ones(C, np.float64)
    lows = np.zeros(C, np.float64)
    highs = np.zeros(C, np.float64)
    spent_lo = 0.0
    spent_hi = 0.0
    sizes = np.zeros(C, np.int64)
    a = np.ones(1, np.float64)
    lo = np.int64(0)
    below = 0.0
    above = 0.0
    lumped = False                              # every path lumped at some step
    c = 0
    j = 0
    while c < C:
        if checks[c] == j:                      # the law over loci[:j]
            if j > dead:
                zeros[c] = 1.0                  # S = -inf surely
            else:
                zeros[c] = 1.0 - finite[j]
                belows[c] = below
                aboves[c] = above
                lows[c] = spent_lo
                highs[c] = spent_hi
                if not lumped:
                    los[c] = lo
                    sizes[c] = a.size
                    chunks.append(a.copy())
            if sizes[c] == 0:
                chunks.append(np.zeros(0, np.float64))
            c += 1
            continue
        if j >= dead or lumped:
            below *= 1.0 - zl[j]
            above *= 1.0 - zl[j]
            j += 1
            continue
        below *= 1.0 - zl[j]                    # lumped paths go on with finite atoms only
        above *= 1.0 - zl[j]
        na = a.size
        cut = k_min - rest[j + 1]               # a partial sum below cut can no longer reach k_min
        cut_hi = k_max - rmin[j + 1]            # one at or above cut_hi stays >= k_max
        new_lo = max(lo + kmin[j], cut)
        new_hi = min(lo + na - 1 + kmax[j], cut_hi - 1)
        pre = np.zeros(na + 1, np.float64)      # pre[i] = a[:i].sum(), suf[i] = a[i:].sum()
        suf = np.zeros(na + 1, np.float64)
        for i in range(na):
            pre[i + 1] = pre[i] + a[i]
        for i in range(na - 1, -1, -1):
            suf[i] = suf[i + 1] + a[i]
        nb = max(new_hi - new_lo + 1, 0)
        b = np.zeros(nb, np.float64)
        for t in range(starts[j], starts[j + 1]):
            k = ak[t]
            p = ap[t]
            i0 = min(max(new_lo - lo - k, 0), na)       # a[i] with i < i0 lands below new_lo
            i1 = min(max(new_hi - lo - k + 1, i0), na)  # a[i] with i >= i1 lands above new_hi
            if i0 > 0:
                below += p * pre[i0]
            if i1 < na:
                above += p * suf[i1]
            base = lo + k - new_lo
            for i in range(i0, i1):
                b[base + i] += p * a[i]
        if nb == 0:                             # everything lumped
            lumped = True
            j += 1
            continue
        first = 0                               # trim exact zeros at the ends
        last = b.size - 1
        if eps > 0.0:                           # probability pruning (see the docstring)
            half = 0.5 * (eps - spent_lo - spent_hi) / (m - j)
            acc = 0.0
            accp = 0.0
            while first < last:
                p = b[first]
                if p > 0.0:
                    e = 0.0
                    for q in range(K):
                        t = lams[q] * (new_lo + first - k_min) * delta + fut_u[q, j]
                        if t < e:
                            e = t
                    u = p * 10.0 ** e
                    if acc + u > half:
                        break
                    acc += u
                    accp += p
                first += 1
            below += accp
            spent_lo += acc
            acc = 0.0
            accp = 0.0
            while last > first:
                p = b[last]
                if p > 0.0:
                    e = 0.0
                    for q in range(K):
                        t = lams[q] * (k_max - new_lo - last) * delta + fut_d[q, j]
                        if t < e:
                            e = t
                    u = p * 10.0 ** e
                    if acc + u > half:
                        break
                    acc += u
                    accp += p
                last -= 1
            above += accp
            spent_hi += acc
        while first < b.size - 1 and b[first] == 0.0:
            first += 1
        while last > first and b[last] == 0.0:
            last -= 1
        a = b[first:last + 1].copy()
        lo = new_lo + first
        j += 1
    bounds = np.zeros(C + 1, np.int64)
    for q in range(C):
        bounds[q + 1] = bounds[q] + sizes[q]
    pmfs = np.empty(bounds[C], np.float64)
    for q in range(C):
        pmfs[bounds[q]:bounds[q + 1]] = chunks[q][:sizes[q]]
    return pmfs, bounds, los, belows, aboves, zeros, normaliser, lows, highs


# --------------------------------------------------------------------------- distributions
@dataclass
class ScoreDistribution:
    """The law of the summed log10 LR S over a set of compared loci, on a grid.

    ``pmf`` float64 [n]: P(S' = (lo + i) * delta) for the gridded sum S' (rounded ``up``
    for H2, down for H1); ``below``: P(-inf < S' < x_min) (lumped, see the module
    docstring); ``above``: P(S' > x_max) (lumped; 0 when ``x_max`` is inf); ``zero``: P(LR =
    0) = P(S = -inf) (an exclusion at some locus, mutation model none); ``sf`` and ``cdf``
    answer for x in [x_min, x_max] (or +-inf) and equal the unlumped law's there (the lumps
    hold no mass in between); ``n_loci``: loci convolved (compared and informative), so
    ``error_bound = n_loci * delta``; ``normaliser``: max over loci of |sum of the masses
    - 1| before normalising (see the module docstring); ``pruned_low`` / ``pruned_high``:
    the prices of the grid points the probability pruning moved into ``below`` / ``above``
    (:func:`_convolve`; both 0 without pruning), so ``sf`` and ``cdf`` widen their answers by
    them in the direction of the bound (H2 ``sf`` up by pruned_low, H1 ``sf`` down and ``cdf``
    up by pruned_high) and stay bounds; ``probability_error`` = their sum (<= epsilon) is how
    far a bound can overstate the gridded law's value.
    """

    hypothesis: str          # "H2" or "H1"
    up: bool
    delta: float
    lo: int
    pmf: np.ndarray
    below: float
    zero: float
    x_min: float
    n_loci: int
    normaliser: float
    above: float = 0.0
    x_max: float = math.inf
    pruned_low: float = 0.0
    pruned_high: float = 0.0
    _sf: np.ndarray = field(init=False, repr=False)
    _cdf: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        # suffix sums from the top (small terms first: relative precision in the upper tail),
        # prefix sums from the bottom starting at the lumped and LR-0 mass
        self._sf = self.above + np.cumsum(self.pmf[::-1])[::-1] if self.pmf.size else np.zeros(0)
        self._cdf = (self.zero + self.below) + np.cumsum(self.pmf) if self.pmf.size else np.zeros(0)

    @property
    def error_bound(self) -> float:
        """Largest shift (log10 units) between a true sum and its gridded value."""
        return self.n_loci * self.delta

    @property
    def probability_error(self) -> float:
        """Absolute probability by which ``sf`` / ``cdf`` may overstate their bound (the pruning's
        spent budget; 0 without pruning)."""
        return self.pruned_low + self.pruned_high

    @property
    def total(self) -> float:
        """Total mass (1 up to float64 rounding)."""
        return float(self.pmf.sum() + self.below + self.above + self.zero)

    def _check(self, x: np.ndarray):
        finite = np.isfinite(x)
        if np.any(x[finite] < self.x_min - 1e-12):
            raise CalibrationError(f"threshold {float(np.min(x[finite]))} below x_min = {self.x_min}: "
                                   "build the distribution with a lower x_min")
        if np.any(x[finite] > self.x_max + 1e-12):
            raise CalibrationError(f"threshold {float(np.max(x[finite]))} above x_max = {self.x_max}: "
                                   "build the distribution with a higher x_max")

    def sf(self, x) -> np.ndarray:
        """P(S' >= x), float64 like ``x`` (x_min <= x <= x_max, or +-inf). For H2 (rounded up) an
        upper bound of P_H2(S >= x); for H1 (rounded down) a lower bound of P_H1(S >= x)."""
        x = np.asarray(x, dtype=np.float64)
        self._check(x)
        k = np.ceil(np.where(np.isfinite(x), x, 0.0) / self.delta - _SLACK).astype(np.int64)
        i = k - self.lo
        n = self.pmf.size
        out = np.where(i <= 0, self._sf[0] if n else self.above,
                       np.where(i >= n, self.above, self._sf[np.clip(i, 0, max(n - 1, 0))] if n else 0.0))
        if self.pruned_low or self.pruned_high:     # widen by the pruning's prices (a bound still)
            out = np.clip(out + self.pruned_low if self.up else out - self.pruned_high, 0.0, 1.0)
        out = np.where(x == -np.inf, 1.0, np.where(x == np.inf, 0.0, out))
        return out

    def cdf(self, x) -> np.ndarray:
        """P(S' <= x), float64 like ``x`` (x_min <= x <= x_max, or -inf: P(LR = 0)). For H1 (rounded
        down) an upper bound of P_H1(S <= x)."""
        x = np.asarray(x, dtype=np.float64)
        self._check(x)
        k = np.floor(np.where(np.isfinite(x), x, 0.0) / self.delta + _SLACK).astype(np.int64)
        i = k - self.lo
        n = self.pmf.size
        low = self.zero + self.below
        out = np.where(i < 0, low, np.where(i >= n, (self._cdf[-1] if self.above > 0 else 1.0) if n else low,
                                            self._cdf[np.clip(i, 0, max(n - 1, 0))] if n else low))
        if self.pruned_low or self.pruned_high:
            out = np.clip(out - self.pruned_low if self.up else out + self.pruned_high, 0.0, 1.0)
        out = np.where(x == -np.inf, self.zero, np.where(x == np.inf, 1.0, out))
        return np.minimum(out, 1.0)


def _distribution(layout: Layout, values: np.ndarray, probs: np.ndarray, loci: np.ndarray,
                  hypothesis: str, up: bool, delta: float, x_min: float,
                  x_max: float = math.inf, epsilon: float = 0.0) -> ScoreDistribution:
    return _distributions(layout, values, probs, loci, np.array([loci.size]), hypothesis, up,
                          delta, x_min, x_max, epsilon)[0]


def _k_range(delta: float, x_min: float, x_max: float) -> tuple[int, int]:
    """Grid indices (k_min, k_max) of the lumps for thresholds in [x_min, x_max]: every
    index ``sf``/``cdf`` reads for such x (ceil(x/delta - slack), floor(x/delta + slack) + 1)
    lies in [k_min, k_max], with a margin of one index each side."""
    k_min = math.floor(x_min / delta) - 1
    k_max = int(_NO_K_MAX) if math.isinf(x_max) else math.floor(x_max / delta) + 2
    return k_min, k_max


def _distributions(layout: Layout, values: np.ndarray, probs: np.ndarray, loci: np.ndarray,
                   checks: np.ndarray, hypothesis: str, up: bool, delta: float,
                   x_min: float, x_max: float = math.inf, epsilon: float = 0.0) -> list[ScoreDistribution]:
    """The laws over the nested prefixes ``loci[:checks[c]]`` (one pass, :func:`_convolve`),
    each answering thresholds in [x_min, x_max] (mass outside lumped), pruned within the
    absolute probability budget ``epsilon`` (0: exact up to the grid)."""
    if x_max < x_min:
        raise CalibrationError(f"x_max = {x_max} below x_min = {x_min}")
    k_min, k_max = _k_range(delta, x_min, x_max)
    pmfs, bounds, los, belows, aboves, zeros, normaliser, lows, highs = _convolve(
        values, probs, layout.offsets, layout.n_genotypes, loci.astype(np.int64),
        np.asarray(checks, np.int64), float(delta), bool(up), np.int64(k_min), np.int64(k_max),
        float(epsilon), LAMBDAS)
    # a law that loses every path to the lumps, or an S = -inf-surely one, keeps lo = k_min
    return [ScoreDistribution(hypothesis, up, delta, int(los[c]), pmfs[bounds[c]:bounds[c + 1]].copy(),
                              float(belows[c]), float(zeros[c]), x_min, int(checks[c]), float(normaliser),
                              float(aboves[c]), x_max, float(lows[c]), float(highs[c]))
            for c in range(len(checks))]


@dataclass(frozen=True)
class Span:
    """The thresholds a family's laws must answer: H2 ``sf`` for x in [h2_min, h2_max], H1
    ``sf``/``cdf`` for x in [h1_min, h1_max] (log10 units; +-inf x always answered). Mass
    outside is lumped (exact inside; a call outside raises :class:`CalibrationError`)."""

    h2_min: float = 0.0
    h2_max: float = math.inf
    h1_min: float = 0.0
    h1_max: float = math.inf

    @classmethod
    def of(cls, x_min: float = 0.0, x_max: float = math.inf) -> Span:
        return cls(x_min, x_max, x_min, x_max)


class FamilyLaws:
    """H2 (unrelated, rounded up, grid ``delta``) and H1 (true lost child, rounded down, grid
    ``delta_h1``, default ``delta``) laws of one family over one set of compared loci (``loci``
    int64 [n], indices into the encoding), each for the thresholds of ``span`` and pruned
    within the absolute probability budget ``epsilon`` (0: exact up to the grid); each is
    computed on first use (a chance-match sum needs only H2).

    With ``saved`` ({"H2": :class:`Answers`, "H1": ...}, from a :class:`LawStore`), ``h2`` /
    ``h1`` answer from the saved values where they hold the thresholds asked and compute the
    law (recording its answers there) only where not; ``on_compute`` is called once per law
    computed (a count for the run's summary)."""

    def __init__(self, layout: Layout, row: np.ndarray, loci: np.ndarray, delta: float, span: Span,
                 delta_h1: float | None = None, epsilon: float = 0.0,
                 saved: dict[str, Answers] | None = None, on_compute=None):
        self.loci = loci
        self.span = span
        self.delta_h1 = delta if delta_h1 is None else delta_h1
        self.epsilon = epsilon
        self.saved = saved
        self._on_compute = on_compute
        self._args = (layout, row, delta)
        self._h2: ScoreDistribution | None = None
        self._h1: ScoreDistribution | None = None

    def _computed(self, d: ScoreDistribution) -> ScoreDistribution:
        if self._on_compute is not None:
            self._on_compute()
        return d

    def law_h2(self) -> ScoreDistribution:
        """The H2 law itself (computed here if not yet)."""
        if self._h2 is None:
            layout, row, delta = self._args
            self._h2 = self._computed(_distribution(layout, row, layout.hw_h2, self.loci, "H2", True, delta,
                                                    self.span.h2_min, self.span.h2_max, self.epsilon))
        return self._h2

    def law_h1(self) -> ScoreDistribution:
        """The H1 law itself (computed here if not yet)."""
        if self._h1 is None:
            layout, row, delta = self._args
            with np.errstate(over="ignore", invalid="ignore"):
                w = np.where(np.isfinite(row), np.power(10.0, row), 0.0) * layout.hw_raw
            self._h1 = self._computed(_distribution(layout, row, w, self.loci, "H1", False, self.delta_h1,
                                                    self.span.h1_min, self.span.h1_max, self.epsilon))
        return self._h1

    @property
    def h2(self) -> ScoreDistribution | Recorded:
        if self.saved is None:
            return self.law_h2()
        return Recorded(self.saved["H2"], self.law_h2, self._h2)

    @property
    def h1(self) -> ScoreDistribution | Recorded:
        if self.saved is None:
            return self.law_h1()
        return Recorded(self.saved["H1"], self.law_h1, self._h1)


@dataclass
class Answers:
    """What a run asked of one law, as :class:`LawStore` saves it: ``sf`` / ``cdf``
    {threshold float: value float} and the law's ``error_bound`` and ``probability_error``
    (None until the law is computed once)."""

    sf: dict[float, float] = field(default_factory=dict)
    cdf: dict[float, float] = field(default_factory=dict)
    error_bound: float | None = None
    probability_error: float | None = None


class Recorded:
    """A law seen through its saved :class:`Answers`: ``sf`` / ``cdf`` / ``error_bound`` /
    ``probability_error`` as :class:`ScoreDistribution`'s, from the answers where they hold
    every threshold asked, else from the law (``compute()``, recorded into the answers)."""

    def __init__(self, answers: Answers, compute, law: ScoreDistribution | None = None):
        self.answers, self._compute, self._law = answers, compute, law

    def _get(self, method: str, x):
        x = np.asarray(x, dtype=np.float64)
        got = getattr(self.answers, method)
        flat = x.ravel().tolist()
        if self._law is None and all(v in got for v in flat):
            return np.asarray([got[v] for v in flat], dtype=np.float64).reshape(x.shape)
        law = self._law = self._compute()
        self.answers.error_bound, self.answers.probability_error = law.error_bound, law.probability_error
        out = getattr(law, method)(x)
        got.update(zip(flat, np.ravel(out).tolist()))
        return out

    def sf(self, x) -> np.ndarray:
        return self._get("sf", x)

    def cdf(self, x) -> np.ndarray:
        return self._get("cdf", x)

    def _bound(self, name: str) -> float:
        v = getattr(self.answers, name)
        if v is None or self._law is not None:
            law = self._law = self._law or self._compute()
            self.answers.error_bound, self.answers.probability_error = law.error_bound, law.probability_error
            v = getattr(self.answers, name)
        return float(v)

    @property
    def error_bound(self) -> float:
        return self._bound("error_bound")

    @property
    def probability_error(self) -> float:
        return self._bound("probability_error")


def row_hash(row: np.ndarray) -> str:
    """Content key of a family's table row (float64 [W]): the sha256 of its bytes (32 hex)."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(row, dtype=np.float64).tobytes()).hexdigest()[:32]


#: the law store's folder inside a run's tables folder (flows/tables.py tables_dir)
LAWS_DIR = "laws"


def law_settings_key(settings: CalibrationSettings) -> str:
    """Hash of the calibration fields a law depends on (CalibrationSettings.LAW_FIELDS)."""
    import hashlib
    import json

    keyed = {f: getattr(settings, f) for f in CalibrationSettings.LAW_FIELDS}
    return hashlib.sha256(json.dumps({"v": 1, **keyed}, sort_keys=True).encode()).hexdigest()[:16]


def law_store_file(tables: Path, settings: CalibrationSettings) -> Path:
    """Where a run keeps its families' saved laws: ``TABLES/laws/<law settings key>.parquet``."""
    return Path(tables) / LAWS_DIR / f"{law_settings_key(settings)}.parquet"


class LawStore:
    """The families' laws saved beside the tables (:data:`reunion.contracts.LAW_STORE`), as
    the answers a run asked of them: per (table row hash, loci compared (packed bool [L]),
    hypothesis, thresholds span), the ``sf`` / ``cdf`` values at the thresholds asked and the
    law's bounds (:class:`Answers`). A law depends on nothing else once the law settings
    (grid, grid_h1, epsilon: the file's key) are fixed, so a rerun reads the standing run's
    store and computes only the laws it does not hold: the pmfs themselves (about 100 KB a
    law at grid 1e-3) are not kept. ``used``: the entries this run touched (the ones saved)."""

    def __init__(self, entries: dict | None = None):
        self.entries: dict[tuple, Answers] = entries or {}
        self.used: set[tuple] = set()

    @staticmethod
    def _keys(rh: str, mask: bytes, span: Span, context: str):
        return (("H2", (rh, mask, "H2", float(span.h2_min), float(span.h2_max), context)),
                ("H1", (rh, mask, "H1", float(span.h1_min), float(span.h1_max), "alone")))

    def answers(self, rh: str, mask: bytes, span: Span, context: str = "alone") -> dict[str, Answers]:
        """The answers of the laws of row hash ``rh`` over ``mask`` for ``span`` (new empty
        ones where none saved), marked used. ``context``: how the H2 law is computed ("alone",
        or "chain:" + the hash of the set of locus sets convolved in one pass with it,
        :meth:`LawCache.prefetch_h2`): a law is reused only where a fresh run would compute it
        the same way, so a rerun's columns equal a fresh run's to the bit; H1 laws are always
        computed alone."""
        out = {}
        for hyp, k in self._keys(rh, mask, span, context):
            a = self.entries.get(k)
            if a is None:
                a = self.entries.setdefault(k, Answers())
            self.used.add(k)
            out[hyp] = a
        return out

    def table(self) -> pa.Table:
        """The used entries that hold a computed law's answers, as :data:`LAW_STORE` rows."""
        from reunion.contracts import LAW_STORE

        rows = []
        for k in sorted(self.used):
            a = self.entries[k]
            if a.error_bound is None:
                continue
            rows.append({"row_sha256": k[0], "loci": k[1], "hypothesis": k[2], "x_min": k[3], "x_max": k[4],
                         "context": k[5],
                         "sf_x": list(a.sf), "sf": list(a.sf.values()), "cdf_x": list(a.cdf),
                         "cdf": list(a.cdf.values()), "error_bound_log10": a.error_bound,
                         "probability_error": a.probability_error})
        return pa.Table.from_pylist(rows, schema=LAW_STORE)

    @classmethod
    def read(cls, paths: list[Path]) -> LawStore:
        """The entries of the store files among ``paths`` that exist (later files win)."""
        from reunion.contracts import LAW_STORE
        from reunion.io.atomic import read_table

        entries: dict[tuple, Answers] = {}
        for path in paths:
            if path is None or not Path(path).exists():
                continue
            try:
                t = check_table(read_table(Path(path)), LAW_STORE, str(path))
            except (ContractError, OSError, pa.ArrowException):   # unreadable: computed again
                continue
            for r in t.to_pylist():
                entries[(r["row_sha256"], r["loci"], r["hypothesis"], r["x_min"], r["x_max"],
                         r["context"])] = Answers(
                    dict(zip(r["sf_x"], r["sf"])), dict(zip(r["cdf_x"], r["cdf"])),
                    r["error_bound_log10"], r["probability_error"])
        return cls(entries)

    def write(self, path: Path) -> Path:
        """Write the used entries to ``path`` (atomic, the outputs' permissions)."""
        from reunion.io.atomic import ensure_dir, write_table

        ensure_dir(Path(path).parent)
        return write_table(self.table(), Path(path))


def family_laws(layout: Layout, row: np.ndarray, mask: np.ndarray | None = None, *,
                delta: float = GRID, x_min: float = 0.0, x_max: float = math.inf,
                span: Span | None = None, delta_h1: float | None = None,
                epsilon: float = 0.0, saved: dict[str, Answers] | None = None,
                on_compute=None) -> FamilyLaws:
    """The H2 and H1 laws of the summed log10 LR of a family's table ``row`` (float64 [W])
    over the loci in ``mask`` (bool [L]; None: every locus) where the family is informative.

    Valid for thresholds x in [``x_min``, ``x_max``] (mass that cannot reach x_min, and mass
    that cannot fall below x_max, is lumped), or those of ``span`` where given. H2 on the grid
    ``delta``, H1 on ``delta_h1`` (default ``delta``); ``epsilon`` > 0 prunes within that
    absolute probability budget (0: the exact reference); ``saved`` / ``on_compute``: as
    :class:`FamilyLaws`.
    """
    row = np.ascontiguousarray(row, dtype=np.float64)
    use = layout.informative(row)
    if mask is not None:
        use &= np.asarray(mask, dtype=bool)
    return FamilyLaws(layout, row, np.flatnonzero(use).astype(np.int64), delta,
                      span if span is not None else Span.of(x_min, x_max), delta_h1, epsilon,
                      saved, on_compute)


class LawCache:
    """:func:`family_laws` memoised per (family id, compared loci) within one call; with a
    :class:`LawStore`, answered from the laws a previous run saved where it holds them
    (same table row bytes, loci compared, thresholds and law settings)."""

    def __init__(self, layout: Layout, rows, *, delta: float = GRID, x_min: float = 0.0,
                 x_max: float = math.inf, spans: dict[str, Span] | None = None,
                 delta_h1: float | None = None, epsilon: float = 0.0, store: LawStore | None = None):
        """``rows``: family id -> table row float64 [W] (a dict or a callable); ``spans``:
        family id -> the thresholds its laws answer (default ``Span.of(x_min, x_max)``);
        ``delta_h1`` (default ``delta``) and ``epsilon``: as :func:`family_laws`; ``store``:
        saved answers to read and to record into."""
        import threading

        self.layout, self.delta, self.x_min, self.x_max = layout, delta, x_min, x_max
        self.delta_h1, self.epsilon = (delta if delta_h1 is None else delta_h1), epsilon
        self.store = store
        self._spans = spans or {}
        self._default = Span.of(x_min, x_max)
        self._rows = rows
        self._laws: dict[tuple[str, bytes], FamilyLaws] = {}
        self._informative: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._chains: dict[str, tuple[set[bytes], str]] = {}   # family -> (prefetched sets, context)
        #: laws computed (convolution results) and the families they belong to
        self.computed = 0
        self.families_computed: set[str] = set()
        #: (family id, packed compared loci) -> the thresholds its H2 law will be asked besides
        #: the families table's (the candidates'): prefetch_h2 computes unless all are saved
        self.asked: dict[tuple[str, bytes], list[float]] = {}

    def _counter(self, family_id: str):
        def count():
            with self._lock:
                self.computed += 1
                self.families_computed.add(family_id)
        return count

    def _new(self, family_id: str, eff: np.ndarray, key: bytes) -> FamilyLaws:
        row = self.row(family_id)
        saved = None
        if self.store is not None:
            keys, ctx = self._chains.get(family_id, (set(), ""))
            saved = self.store.answers(row_hash(row), key, self.span(family_id),
                                       ctx if key in keys else "alone")
        return family_laws(self.layout, row, eff, delta=self.delta, span=self.span(family_id),
                           delta_h1=self.delta_h1, epsilon=self.epsilon, saved=saved,
                           on_compute=self._counter(family_id))

    def row(self, family_id: str) -> np.ndarray:
        return self._rows(family_id) if callable(self._rows) else self._rows[family_id]

    def span(self, family_id: str) -> Span:
        return self._spans.get(family_id, self._default)

    def informative(self, family_id: str) -> np.ndarray:
        if family_id not in self._informative:
            self._informative[family_id] = self.layout.informative(self.row(family_id))
        return self._informative[family_id]

    def laws(self, family_id: str, mask: np.ndarray | None = None) -> FamilyLaws:
        eff = self.informative(family_id) if mask is None else self.informative(family_id) & mask
        key = (family_id, np.packbits(eff).tobytes())
        got = self._laws.get(key)
        if got is None:
            got = self._laws[key] = self._new(family_id, eff, key[1])
        return got

    def prefetch_h2(self, family_id: str, masks: list[np.ndarray], xs: np.ndarray | None = None) -> None:
        """Compute the H2 laws of ``family_id`` over the loci sets ``masks`` (bool [L] each,
        within the family's informative loci) not yet computed, in one convolution pass per
        chain of nested sets (the kits: id15 within core20 within the full set): sorted by
        size, each set joins the first chain whose largest set it contains. A law whose saved
        answers (``store``) hold every threshold of ``xs`` float64 [n] is not computed."""
        import hashlib

        todo: dict[bytes, tuple[np.ndarray, FamilyLaws]] = {}
        want = [] if xs is None else np.asarray(xs, dtype=np.float64).ravel().tolist()
        effs = {}
        for eff in masks:
            eff = np.asarray(eff, dtype=bool) & self.informative(family_id)
            effs.setdefault(np.packbits(eff).tobytes(), eff)
        if family_id not in self._chains:        # the context of the laws of this pass (LawStore)
            ctx = hashlib.sha256(b"".join(sorted(effs))).hexdigest()[:16]
            self._chains[family_id] = (set(effs), f"chain:{ctx}")
        held = True
        for key, eff in effs.items():
            law = self._laws.get((family_id, key))
            if law is None:
                law = self._laws[(family_id, key)] = self._new(family_id, eff, key)
            a = None if law.saved is None else law.saved["H2"]
            asked = want + self.asked.get((family_id, key), [])
            held &= a is not None and a.error_bound is not None and all(x in a.sf for x in asked)
            if law._h2 is None:
                todo[key] = (eff, law)
        if held:                                 # every law saved with every answer asked
            return
        chains: list[list[tuple[np.ndarray, FamilyLaws]]] = []
        # sorted by size then by the packed set: the chains depend on the set of sets only
        for key, (eff, law) in sorted(todo.items(), key=lambda e: (int(e[1][0].sum()), e[0])):
            for ch in chains:
                if not np.any(ch[-1][0] & ~eff):
                    ch.append((eff, law))
                    break
            else:
                chains.append([(eff, law)])
        row = np.ascontiguousarray(self.row(family_id), dtype=np.float64)
        span = self.span(family_id)
        for ch in chains:
            order: list[int] = []
            checks: list[int] = []
            seen = np.zeros(self.layout.n_loci, dtype=bool)
            for eff, _ in ch:
                order.extend(np.flatnonzero(eff & ~seen).tolist())
                seen |= eff
                checks.append(len(order))
            laws = _distributions(self.layout, row, self.layout.hw_h2, np.asarray(order, np.int64),
                                  np.asarray(checks, np.int64), "H2", True, self.delta,
                                  span.h2_min, span.h2_max, self.epsilon)
            for (_, law), d in zip(ch, laws):
                law._h2 = law._computed(d)

    def __len__(self) -> int:
        return len(self._laws)


# --------------------------------------------------------------------------- a run's annotation
@dataclass(frozen=True)
class SearchedSet:
    """The missing persons searched against every family: their compared-locus masks,
    grouped. ``masks`` bool [G, L] (distinct typed-locus sets), ``counts`` int64 [G]
    (persons with each), ``searched`` = counts.sum() (persons typed at >= min_typed_loci)."""

    masks: np.ndarray
    counts: np.ndarray

    @property
    def searched(self) -> int:
        return int(self.counts.sum())

    @classmethod
    def from_codes(cls, codes: np.ndarray, min_typed_loci: int) -> SearchedSet:
        """From the query profiles' uint16 codes [N, L] (0 = untyped)."""
        typed = np.asarray(codes) != 0
        typed = typed[typed.sum(axis=1) >= min_typed_loci]
        if not len(typed):
            return cls(np.zeros((0, np.asarray(codes).shape[1]), bool), np.zeros(0, np.int64))
        masks, counts = np.unique(typed, axis=0, return_counts=True)
        return cls(masks.astype(bool), counts.astype(np.int64))


def family_summary(cache: LawCache, family_id: str, searched: SearchedSet, *,
                   power_log10_lr: float = POWER_LOG10_LR, max_mask_groups: int | None = 4) -> dict:
    """One row of the families table (:data:`FAMILIES`): the family's power, its p_h2 at the
    threshold, and its expected chance matches at the threshold and along
    :data:`THRESHOLD_GRID`.

    Expected chance matches = sum over the searched persons of p_h2 on the loci each shares
    with the family. The ``max_mask_groups`` most frequent such locus sets are computed
    exactly (one H2 law each: typically the kits); every other searched person (the partial
    profiles of rarer locus sets) is counted as compared at the family's own informative loci
    (``persons_approximated``), an approximation; ``max_mask_groups=None`` computes every
    locus set exactly (one convolution each).
    """
    inf = cache.informative(family_id)
    grid = np.concatenate([[power_log10_lr], THRESHOLD_GRID])
    groups: dict[bytes, list] = {}
    for m, c in zip(searched.masks, searched.counts):
        eff = m & inf
        key = np.packbits(eff).tobytes()
        if key in groups:
            groups[key][1] += int(c)
        else:
            groups[key] = [eff, int(c)]
    ordered = sorted(groups.values(), key=lambda e: -e[1])
    full_key = np.packbits(inf).tobytes()
    cut = len(ordered) if max_mask_groups is None else max_mask_groups
    exact = ordered[:cut]
    cache.prefetch_h2(family_id, [inf] + [eff for eff, _ in exact], xs=grid)
    own = cache.laws(family_id)
    rest = sum(c for _, c in ordered[cut:])
    approximated = sum(c for e, c in ordered[cut:] if np.packbits(e).tobytes() != full_key)
    curve = rest * own.h2.sf(grid)
    err = own.h2.error_bound
    perr = own.h2.probability_error
    for eff, c in exact:
        law = cache.laws(family_id, eff)
        curve = curve + c * law.h2.sf(grid)
        err = max(err, law.h2.error_bound)
        perr = max(perr, law.h2.probability_error)
    h1 = own.h1
    power = float(h1.sf(power_log10_lr))
    return {"family_id": family_id, "loci_typed": int(inf.sum()), "searched": searched.searched,
            "power": power, "power_log10_lr": float(power_log10_lr),
            "p_h2_at_threshold": float(own.h2.sf(power_log10_lr)),
            "expected_chance_matches": float(curve[0]), "persons_approximated": int(approximated),
            "error_bound_log10": float(err), "expected_chance_matches_curve": curve[1:].tolist(),
            "error_bound_log10_h1": float(h1.error_bound),
            "probability_error": float(max(perr, h1.probability_error))}


def spans(fids: list[str], log10_lr: np.ndarray, families: list[str], delta: float,
          power_log10_lr: float = POWER_LOG10_LR, delta_h1: float | None = None) -> dict[str, Span]:
    """The thresholds each family's laws must answer in :func:`annotate` (known before any
    convolution): H2 ``sf`` at the power threshold, along :data:`THRESHOLD_GRID` and at its
    candidates' log10 LRs; H1 ``sf`` at the power threshold and ``cdf`` at its candidates'
    log10 LRs. ``fids`` / ``log10_lr`` float64 [n]: the candidates' family ids and scores
    (non-finite ones need no law). The lower ends are floored to the grids ``delta`` (H2)
    and ``delta_h1`` (H1; default ``delta``)."""
    d1 = delta if delta_h1 is None else delta_h1
    xs: dict[str, list[float]] = {f: [] for f in families}
    for fid, x in zip(fids, log10_lr.tolist()):
        if math.isfinite(x):
            xs.setdefault(fid, []).append(x)
    out = {}
    for fid, v in xs.items():
        lo, hi = min(v + [power_log10_lr]), max(v + [power_log10_lr])
        out[fid] = Span(math.floor(min(lo, float(THRESHOLD_GRID[0])) / delta) * delta,
                        max(hi, float(THRESHOLD_GRID[-1])), math.floor(lo / d1) * d1, hi)
    return out


def annotate(candidates: pa.Table, layout: Layout, rows, searched: SearchedSet, *,
             compared: dict[tuple[str, str], np.ndarray] | None = None,
             hypotheses: dict[str, str] | None = None, families: list[str] | None = None,
             delta: float = GRID, power_log10_lr: float = POWER_LOG10_LR,
             max_mask_groups: int | None = 4, threads: int = 1, delta_h1: float | None = None,
             epsilon: float = 0.0, store: LawStore | None = None,
             counts: dict | None = None) -> tuple[pa.Table, pa.Table]:
    """Calibrate a run's candidates and families.

    ``candidates``: the CANDIDATES contract (candidates.parquet). ``rows``: family id ->
    its lost-child table row float64 [W] (dict or callable). ``searched``: the missing
    persons searched against every family. ``compared``: (missing_id, family_id) -> bool
    [L] loci compared (per_locus.parquet's flags); missing pairs use the family's
    informative loci. ``families``: ids for the families table (default: those in
    ``candidates``); ``hypotheses``: family id -> hypothesis name for it. ``delta_h1``,
    ``epsilon``: the H1 grid (default ``delta``) and the pruning budget (default 0, exact);
    ``store``: saved laws to answer from and record into (:class:`LawStore`); ``counts``: a
    dict this fills with ``laws_computed`` and ``families_computed`` (families with at least
    one law computed here, not answered from the store).

    Returns (candidates with :data:`CANDIDATE_FIELDS` appended, families table of
    :data:`FAMILIES`). ``expected_chance_matches`` of a candidate is p_h2 x
    ``searched.searched`` (every searched person counted as compared on this candidate's
    loci); the families table sums over the searched persons' own locus sets.
    """
    lo10 = candidates.column("log10_lr").to_numpy(zero_copy_only=False).astype(np.float64)
    mids = candidates.column("missing_id").to_pylist()
    fids = candidates.column("family_id").to_pylist()
    ids = sorted(set(fids)) if families is None else list(families)
    cache = LawCache(layout, rows, delta=delta, spans=spans(fids, lo10, ids, delta, power_log10_lr, delta_h1),
                     delta_h1=delta_h1, epsilon=epsilon, store=store)
    if store is not None:                # the candidates' thresholds, for prefetch_h2's check
        for mid, fid, x in zip(mids, fids, lo10.tolist()):
            mask = None if compared is None else compared.get((mid, fid))
            eff = cache.informative(fid) if mask is None else cache.informative(fid) & mask
            cache.asked.setdefault((fid, np.packbits(eff).tobytes()), []).append(x)

    def summary(fid: str) -> dict:
        r = family_summary(cache, fid, searched, power_log10_lr=power_log10_lr,
                           max_mask_groups=max_mask_groups)
        r["hypothesis"] = (hypotheses or {}).get(fid)
        return r
    # first the families (their H2 laws over the searched locus sets, chained), in ``threads``
    # threads (the kernel releases the GIL; each family's laws are its own cache entries, so
    # the result does not depend on the number of threads)
    if threads > 1 and len(ids) > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(threads, thread_name_prefix="calibrate") as pool:
            fam_rows = list(pool.map(summary, ids))
    else:
        fam_rows = [summary(fid) for fid in ids]
    n = len(mids)
    p_h2, p_h1, err, err1, perr = (np.empty(n) for _ in range(5))
    for i, (mid, fid, x) in enumerate(zip(mids, fids, lo10.tolist())):
        mask = None if compared is None else compared.get((mid, fid))
        law = cache.laws(fid, mask)
        h2, h1 = law.h2, law.h1
        p_h2[i] = float(h2.sf(x))
        p_h1[i] = float(h1.cdf(x))
        err[i], err1[i] = h2.error_bound, h1.error_bound
        perr[i] = max(h2.probability_error, h1.probability_error)
    out = candidates
    for name, values in (("p_h2", p_h2), ("expected_chance_matches", p_h2 * searched.searched),
                         ("p_h1", p_h1), ("error_bound_log10", err), ("error_bound_log10_h1", err1),
                         ("probability_error", perr)):
        out = out.append_column(CANDIDATE_FIELDS.field(name), pa.array(values, pa.float64()))
    if counts is not None:
        counts.update(laws_computed=cache.computed, families_computed=len(cache.families_computed))
    return out, pa.Table.from_pylist(fam_rows, schema=FAMILIES)


def chance_thresholds(families: pa.Table, by: tuple[str, ...] = ("hypothesis",)) -> pa.Table:
    """Per family kind (the columns ``by`` of the families table, e.g. hypothesis and
    loci_typed): the expected number of chance matches in the searched database along
    :data:`THRESHOLD_GRID` (``curve``, list float64, the threshold plot's y values) and the
    smallest grid log10 LR at which it is <= 1 (``log10_lr_threshold``; null when none on the
    grid). Upper bounds, as the families table's."""
    keys = [families.column(c).to_pylist() for c in by]
    curves = families.column("expected_chance_matches_curve").to_pylist()
    groups: dict[tuple, list] = {}
    for i, k in enumerate(zip(*keys)):
        g = groups.setdefault(k, [0, np.zeros(THRESHOLD_GRID.size)])
        g[0] += 1
        g[1] += np.asarray(curves[i], dtype=np.float64)
    rows = []
    for k in sorted(groups, key=lambda t: tuple("" if v is None else str(v) for v in t)):
        count, curve = groups[k]
        ok = np.flatnonzero(curve <= 1.0)
        rows.append({**dict(zip(by, k)), "families": count,
                     "log10_lr_threshold": float(THRESHOLD_GRID[ok[0]]) if ok.size else None,
                     "expected_chance_matches_at_threshold": float(curve[ok[0]]) if ok.size else None,
                     "curve": curve.tolist()})
    if set(by) <= set(CHANCE_THRESHOLDS.names):
        schema = pa.schema([f for f in CHANCE_THRESHOLDS if f.name in by or f.name not in
                            ("hypothesis", "loci_typed")])
        return pa.Table.from_pylist(rows, schema=schema)
    return pa.Table.from_pylist(rows)


# --------------------------------------------------------------------------- reading a run folder
@dataclass
class RunInputs:
    """What :func:`annotate_run` reads from a finished run folder."""

    layout: Layout
    rows: dict[str, np.ndarray]          # family id -> table row float64 [W] (memory-mapped)
    searched: SearchedSet
    compared: dict[tuple[str, str], np.ndarray]
    hypotheses: dict[str, str]
    candidates: pa.Table
    run: RunRecord | None
    tables: Path | None = None           # the saved tables folder (the law store lives in it)
    #: what the sampling advice reads (reunion/sampling_advice.py): the shard set and the settings
    shards_dir: Path | None = None
    manifest: Manifest | None = None
    settings: Settings | None = None
    encoding: Encoding | None = None
    #: family id -> index of its reference shard (in the manifest's order), so the advice
    #: reads only the shards of the families it advises
    family_shards: dict[str, int] | None = None


def _refuse_theta(theta: float) -> None:
    if theta > 0:
        raise CalibrationError(f"scoring.theta = {theta}: the calibration assumes theta = 0 (a random "
                               "person's genotype drawn from Hardy-Weinberg frequencies); not calibrated")


def run_inputs(shards_dir: Path, manifest: Manifest, settings: Settings, tables: Path,
               candidates: pa.Table, per_locus: pa.Table | None, run: RunRecord | None = None) -> RunInputs:
    """What :func:`annotate` needs, from a run's shard set (``manifest`` of ``shards_dir``),
    its settings, its saved tables folder ``tables`` (flows/tables.py ``tables_dir``), its
    candidates (CANDIDATES contract) and per-locus rows (PER_LOCUS; None: each candidate is
    compared at its family's informative loci). Raises :class:`CalibrationError` for a
    theta > 0 run."""
    from reunion.flows.tables import saved_handle, table_file, table_values
    from reunion.genetics.family import FamilyScorer
    from reunion.genetics.mutation import MutationModels
    from reunion.ingest import load_encoding, read_shard, shard_codes, shard_families, shards_of

    theta = float(settings.scoring.theta)
    _refuse_theta(theta)
    shards_dir = Path(shards_dir)
    enc = load_encoding(shards_dir, manifest)
    layout = Layout.from_encoding(enc)
    files = [table_file(tables, r.sha256) for r in shards_of(manifest, "reference")]
    if not all(f.exists() for f in files):
        raise CalibrationError(f"{tables} does not hold the saved tables of every reference shard; "
                               "re-run the re-match into this folder, or pass tables=")
    rows: dict[str, np.ndarray] = {}
    for i, npy in enumerate(files):
        handle = saved_handle(npy, i)
        rows.update(zip(handle.family_ids.tolist(), table_values(handle)))
    codes = [shard_codes(read_shard(shards_dir, rec)) for rec in shards_of(manifest, "query")]
    L = len(enc.loci)
    codes = np.vstack(codes) if codes else np.zeros((0, L), np.uint16)
    searched = SearchedSet.from_codes(codes, settings.scoring.min_typed_loci)
    hypotheses: dict[str, str] = {}
    scorer = FamilyScorer(enc, MutationModels(settings.mutation, enc), theta,
                          pedigree=settings.scoring.pedigree)     # the run's hypotheses
    family_shards: dict[str, int] = {}
    for si, rec in enumerate(shards_of(manifest, "reference")):
        for fam in shard_families(read_shard(shards_dir, rec)):
            family_shards[fam.family_id] = si
            h = scorer.hypothesis(fam)
            if h is not None:
                hypotheses[fam.family_id] = str(getattr(h[0], "value", h[0]))
    compared: dict[tuple[str, str], np.ndarray] = {}
    if per_locus is not None:
        index = enc.index
        for mid, fid, locus, cmp in zip(*(per_locus.column(k).to_pylist() for k in
                                         ("missing_id", "family_id", "locus", "compared"))):
            m = compared.get((mid, fid))
            if m is None:
                m = compared[(mid, fid)] = np.zeros(L, dtype=bool)
            if cmp:
                m[index[locus]] = True
        for mid, fid, n in zip(candidates.column("missing_id").to_pylist(),
                               candidates.column("family_id").to_pylist(),
                               candidates.column("loci_compared").to_pylist()):
            m = compared.get((mid, fid))
            if m is not None and int(m.sum()) != int(n):
                raise CalibrationError(f"per-locus rows disagree with the candidates on the "
                                       f"loci compared of {mid} / {fid}")
    return RunInputs(layout, rows, searched, compared, hypotheses, candidates, run, Path(tables),
                     shards_dir, manifest, settings, enc, family_shards)


def read_run(run_dir: Path, tables: Path | None = None) -> RunInputs:
    """Read a finished run folder: run.json, candidates.parquet, per_locus.parquet, the saved
    tables where the run keeps them (or ``tables``), and the shards through the manifest path
    recorded in run.json (:func:`run_inputs`). Raises :class:`CalibrationError` for a theta > 0
    run."""
    import pyarrow.parquet as pq

    from reunion.contracts import CANDIDATES
    from reunion.flows.tables import tables_dir
    from reunion.ingest import load_manifest

    run_dir = Path(run_dir)
    run = RunRecord.load(run_dir / "run.json")
    _refuse_theta(float((run.config.get("scoring") or {}).get("theta", 0.0) or 0.0))
    settings = Settings.model_validate(run.config)
    shards_dir = Path(run.manifest.path).parent
    manifest = load_manifest(shards_dir)
    folder = Path(tables) if tables is not None else tables_dir(run_dir, manifest, settings)
    # a calibrated run's candidates carry the columns this adds: read the run's own ones only
    candidates = check_table(pq.read_table(run_dir / "candidates.parquet"), CANDIDATES,
                             str(run_dir / "candidates.parquet"))
    pl_path = run_dir / "per_locus.parquet"
    per_locus = (pq.read_table(pl_path, columns=["missing_id", "family_id", "locus", "compared"])
                 if pl_path.exists() else None)
    return run_inputs(shards_dir, manifest, settings, folder, candidates, per_locus, run)


def annotate_run(run_dir: Path, *, tables: Path | None = None,
                 settings: CalibrationSettings | None = None) -> tuple[pa.Table, pa.Table]:
    """Annotated candidates and the families table (every family with a table) of a finished
    run folder, without writing anything or reading saved laws (:func:`read_run`,
    :func:`annotate`), under ``settings`` (default: the run's own calibration settings, so a
    calibrated run's columns come out again)."""
    r = read_run(Path(run_dir), tables)
    if settings is None:
        settings = r.settings.calibration if r.settings else CalibrationSettings()
    return annotate(r.candidates, r.layout, r.rows, r.searched, compared=r.compared,
                    hypotheses=r.hypotheses, families=sorted(r.rows), delta=settings.grid,
                    power_log10_lr=settings.power_log10_lr, max_mask_groups=settings.max_mask_groups,
                    delta_h1=settings.grid_h1, epsilon=settings.epsilon)


@dataclass(frozen=True)
class Calibration:
    """A run's calibration (:func:`calibrate`): ``candidates`` (:data:`CALIBRATED_CANDIDATES`,
    the run's candidates in their order with p_h2, expected_chance_matches, p_h1 and the error
    bound), ``families`` (:data:`FAMILIES`, one row per family with a table), ``thresholds``
    (:data:`CHANCE_THRESHOLDS`, by hypothesis and loci typed) and ``info`` (run.json's
    ``calibration``: settings used, persons searched, families, sums, seconds)."""

    candidates: pa.Table
    families: pa.Table
    thresholds: pa.Table
    info: dict


def calibrate(inputs: RunInputs, settings: CalibrationSettings, reuse: Path | None = None) -> Calibration:
    """The one home of a run's calibration: :func:`annotate` over every family with a table,
    :func:`chance_thresholds` by hypothesis and loci typed, and the summary for run.json. The
    re-match and the rerun call it on their fresh candidates (flows/rematch.py
    ``calibrate_candidates``), ``reunion calibrate`` on a finished run folder.

    With ``settings.reuse_laws`` the laws saved in the run's tables folder
    (``inputs.tables``) and in ``reuse`` (a standing run's tables folder, the rerun's) answer
    where they hold a family's law (:class:`LawStore`; same row bytes, loci, thresholds and
    law settings: the same law), and the laws this run used are saved, atomically, into
    :func:`law_store_file` of ``inputs.tables``."""
    import time

    t0 = time.perf_counter()
    store = None
    if settings.reuse_laws and inputs.tables is not None:
        store = LawStore.read([law_store_file(reuse, settings) if reuse is not None else None,
                               law_store_file(inputs.tables, settings)])
    counts: dict = {}
    cands, fams = annotate(inputs.candidates, inputs.layout, inputs.rows, inputs.searched,
                           compared=inputs.compared, hypotheses=inputs.hypotheses,
                           families=sorted(inputs.rows), delta=settings.grid,
                           power_log10_lr=settings.power_log10_lr,
                           max_mask_groups=settings.max_mask_groups,
                           threads=settings.threads or (os.cpu_count() or 1),
                           delta_h1=settings.grid_h1, epsilon=settings.epsilon, store=store,
                           counts=counts)
    if store is not None:
        store.write(law_store_file(inputs.tables, settings))
    cands = check_table(cands, CALIBRATED_CANDIDATES, "calibrated candidates")
    thresholds = chance_thresholds(fams, by=("hypothesis", "loci_typed"))
    total = np.zeros(THRESHOLD_GRID.size)
    for c in fams.column("expected_chance_matches_curve").to_pylist():
        total += np.asarray(c, dtype=np.float64)
    ok = np.flatnonzero(total <= 1.0)
    col = fams.column
    info = {
        "grid": settings.grid, "grid_h1": settings.grid_h1, "epsilon": settings.epsilon,
        "error_contract": ("p_h2, p_h1 and power are bounds exact up to the grid (error_bound_log10: "
                           "loci x grid for H2, loci x grid_h1 for H1) and up to an absolute "
                           "probability of at most epsilon (probability_error) spent pruning the laws"),
        "power_log10_lr": settings.power_log10_lr,
        "max_mask_groups": settings.max_mask_groups,
        "threads": settings.threads or (os.cpu_count() or 1),
        "searched": inputs.searched.searched, "families": fams.num_rows,
        "candidates": cands.num_rows,
        "expected_chance_matches_at_power_threshold": float(np.sum(col("expected_chance_matches")
                                                                   .to_numpy(zero_copy_only=False))),
        "log10_lr_threshold_one_chance_match": float(THRESHOLD_GRID[ok[0]]) if ok.size else None,
        "persons_approximated": int(np.sum(col("persons_approximated").to_numpy(zero_copy_only=False))),
        "error_bound_log10": float(np.max(col("error_bound_log10").to_numpy(zero_copy_only=False)))
        if fams.num_rows else 0.0,
        "error_bound_log10_h1": float(np.max(col("error_bound_log10_h1").to_numpy(zero_copy_only=False)))
        if fams.num_rows else 0.0,
        "probability_error": float(max(np.max(col("probability_error").to_numpy(zero_copy_only=False))
                                       if fams.num_rows else 0.0,
                                       np.max(cands.column("probability_error").to_numpy(zero_copy_only=False))
                                       if cands.num_rows else 0.0)),
        "laws_reused": store is not None, "laws_computed": counts["laws_computed"],
        "families_laws_computed": counts["families_computed"],
        "seconds": round(time.perf_counter() - t0, 3),
    }
    fams, info["sampling_advice"] = _advice(inputs, fams, settings.power_log10_lr)
    return Calibration(cands, fams, thresholds, info)


def _advice(inputs: RunInputs, fams: pa.Table, power_log10_lr: float) -> tuple[pa.Table, dict]:
    """The families table with whom to sample next (reunion/sampling_advice.py) where the
    run's settings ask for it and its shards are at hand, and run.json's summary of it."""
    from reunion import sampling_advice as sa

    s = inputs.settings
    if s is None or inputs.shards_dir is None or inputs.encoding is None:
        why = "not computed: the run's shards and settings are not at hand"
        return sa.not_advised(fams, why), {"skipped": why}
    if not s.sampling_advice.enabled:
        why = "not computed: sampling_advice.enabled is false"
        return sa.not_advised(fams, why), {"skipped": why}
    shards_dir, manifest, where = inputs.shards_dir, inputs.manifest, inputs.family_shards
    return sa.advise(fams, inputs.layout, inputs.rows, inputs.encoding, s,
                     lambda ids: sa.shard_families_of(shards_dir, manifest, ids, where), power_log10_lr)


FAMILIES_PARQUET = "families.parquet"
THRESHOLDS_PARQUET = "thresholds.parquet"
#: where ``reunion calibrate`` writes the calibration of a run made without it, and its summary
CALIBRATION_DIR = "calibration"
CALIBRATION_JSON = "calibration.json"


def write_calibration(run_dir: Path, settings: CalibrationSettings | None = None,
                      advice: SamplingAdviceSettings | None = None) -> dict[str, Path]:
    """Calibrate a finished run folder made without it (a run before calibration, or with
    calibration.enabled false) and write, atomically, into ``run_dir/calibration/``:
    ``candidates.parquet`` / ``.csv`` (:data:`CALIBRATED_CANDIDATES`), ``families.parquet``
    and ``thresholds.parquet``, as a calibrated re-match writes them into the run folder
    itself, and ``calibration.json`` (:attr:`Calibration.info`, run.json's ``calibration`` of
    a calibrated run). ``advice``: the sampling advice's settings (default: the run's). The
    run's own files are not changed; ``reunion report RUN`` reads these when the run folder has
    no calibration of its own. Returns {name: path}."""
    import json

    from reunion.io.atomic import ensure_dir, write_table, write_text

    inputs = read_run(Path(run_dir))
    if advice is not None and inputs.settings is not None:
        inputs.settings = inputs.settings.model_copy(update={"sampling_advice": advice})
    cal = calibrate(inputs, settings or CalibrationSettings())
    out = ensure_dir(Path(run_dir) / CALIBRATION_DIR)
    paths = {"candidates": out / "candidates.parquet", "candidates_csv": out / "candidates.csv",
             "families": out / FAMILIES_PARQUET, "thresholds": out / THRESHOLDS_PARQUET,
             "info": out / CALIBRATION_JSON}
    write_table(cal.candidates, paths["candidates"])
    write_table(cal.candidates, paths["candidates_csv"])
    write_table(cal.families, paths["families"])
    write_table(cal.thresholds, paths["thresholds"])
    write_text(paths["info"], json.dumps(cal.info, indent=2))
    return paths
