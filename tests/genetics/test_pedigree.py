"""Nuclear-family (Elston-Stewart) lost-child tables: special cases, hand values, brute force.

The special cases must agree with ``kinship`` to rtol 1e-12: both parents
typed -> trio table; one parent typed -> duo table with the untyped parent's
allele from p.M; no parent typed, one sibling, no mutation -> pairwise table
with the full-sibling kappa. Hand-computed cases with two siblings and no
parent are worked out in the comments. A brute-force sum over all parent
genotypes, written independently here, checks the general case with mutation.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from reunion.encoding import genotype_pairs
from reunion.genetics import kinship
from reunion.genetics.mutation import mutation_matrix
from reunion.genetics.pedigree import InconsistentFamilyError, nuclear_child_table, nuclear_lr

P = np.array([0.1, 0.2, 0.3, 0.4])
A, B, C, D = 0, 1, 2, 3
REL = 1e-12

P6 = np.random.default_rng(3).dirichlet(np.ones(6) * 2)
LABELS6 = ["9", "10", "11", "12", "12.3", "13"]
MF6 = mutation_matrix("stepwise", LABELS6, P6, 0.004, 1e-5, 0.1)
MM6 = mutation_matrix("equal", LABELS6, P6, 0.002)


def gts(n):
    lo, hi = genotype_pairs(n)
    return [(int(a), int(b)) for a, b in zip(lo, hi)]


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=REL, atol=0)


# ============================================================== special cases == kinship
def test_both_parents_typed_equals_trio():
    for f, m in itertools.product(gts(6)[::2], gts(6)[::3]):
        close(nuclear_child_table(f, m, [], P6, MF6, MM6),
              kinship.trio_child_table(f, m, P6, MF6, MM6))


def test_both_parents_typed_siblings_are_irrelevant():
    # given both parents' genotypes, siblings are conditionally independent of the lost child
    f, m = (0, 3), (2, 4)
    close(nuclear_child_table(f, m, [(0, 2), (3, 4), (0, 5)], P6, MF6, MM6),
          kinship.trio_child_table(f, m, P6, MF6, MM6))


@pytest.mark.parametrize("g", gts(6))
def test_one_parent_typed_equals_duo(g):
    close(nuclear_child_table(g, None, [], P6, MF6, MM6),
          kinship.duo_child_table(g, P6, MF6, P6 @ MM6))
    close(nuclear_child_table(None, g, [], P6, MF6, MM6),
          kinship.duo_child_table(g, P6, MM6, P6 @ MF6))


@pytest.mark.parametrize("s", gts(6))
def test_one_sibling_no_mutation_equals_full_sibling_kappa(s):
    eye = np.eye(6)
    close(nuclear_child_table(None, None, [s], P6, eye, eye),
          kinship.pairwise_child_table(s, P6, kinship.KAPPA["full-sibling"]))
    # None matrices mean identity
    close(nuclear_child_table(None, None, [s], P6),
          kinship.pairwise_child_table(s, P6, kinship.KAPPA["full-sibling"]))


def test_nobody_typed_is_one_without_mutation_and_near_one_with():
    close(nuclear_child_table(None, None, [], P6), np.ones(21))
    t = nuclear_child_table(None, None, [], P6, MF6, MM6)
    # non-stationary models move p towards other alleles; for a 1.5% allele that is ~8% here
    assert np.all(np.abs(t - 1) < 0.1) and not np.allclose(t, 1, rtol=1e-12, atol=0)
    # stationary (proportional) model: exactly 1
    Mp = mutation_matrix("proportional", LABELS6, P6, 0.003)
    close(nuclear_child_table(None, None, [], P6, Mp, Mp), np.ones(21))


# ============================================================== hand-computed, two siblings
def test_two_homozygous_siblings_hand():
    # Siblings aa and aa, no parent typed, no mutation, p_a = 0.1.
    # Each parent transmitted a to both. For one parent: prior aa p^2 (transmits a twice w.p. 1),
    # a-heterozygote 2p(1-p) (transmits a twice w.p. 1/4). Posterior P(parent aa)
    # = p^2 / (p^2 + p(1-p)/2) = 2p/(1+p) = 0.2/1.1 = 0.181818...
    # P(this parent transmits a to the lost child) = 2p/(1+p) * 1 + (1 - 2p/(1+p)) * 1/2
    #   = (1 + 3p) / (2 (1 + p)) = 1.3/2.2 = 0.590909...
    # Parents independent given the data (homozygous siblings fix each allele's origin):
    # P(c = aa | data) = (1.3/2.2)^2 = 0.349173553...;  LR = 0.349173553/0.01 = 34.9173553719...
    t = nuclear_child_table(None, None, [(A, A), (A, A)], P)
    assert t[0] == pytest.approx((1.3 / 2.2) ** 2 / 0.01, rel=REL)
    assert t[0] == pytest.approx(34.917355371900826, rel=1e-13)
    # c = ab: one parent gives a (0.590909), the other b. P(a parent transmits b | both sibs got a)
    # = P(het ab | data) * 1/2; P(parent ab | data) = [2 p_a p_b / 4] / [p_a^2 + p_a (1-p_a)/2]
    #   = (0.2*0.1*0.2/4... ) -> per allele: (p_a p_b / 2) / (p_a (1 + p_a)/2) = p_b/(1 + p_a) = 0.2/1.1
    # so transmits b w.p. 0.2/1.1 * 1/2 = 0.1/1.1. P(c = ab) = 2 * (1.3/2.2) * (0.1/1.1)
    # LR = 2 * 0.590909 * 0.090909 / (2 * 0.1 * 0.2) = 0.107438.../0.04 = 2.6859504...
    assert t[1] == pytest.approx(2 * (1.3 / 2.2) * (0.1 / 1.1) / 0.04, rel=REL)
    # c = bb: (0.1/1.1)^2 / p_b^2 = 0.0082644.../0.04 = 0.2066115...
    assert t[2] == pytest.approx((0.1 / 1.1) ** 2 / 0.04, rel=REL)
    # scalar agrees
    assert nuclear_lr((A, A), None, None, [(A, A), (A, A)], P) == pytest.approx(t[0], rel=REL)


def test_two_complementary_siblings_hand():
    # Siblings ab and cd, no parent typed, no mutation, p = 0.1, 0.2, 0.3, 0.4.
    # Each sibling has one allele from each parent, and between them they carry all four
    # parental alleles: the couple is {ac, bd} or {ad, bc} (either parent either genotype).
    # The four ordered couples (F, M) = (ac, bd), (bd, ac), (ad, bc), (bc, ad) have equal weight
    # P(F)P(M) P(ab | F, M) P(cd | F, M) = (2 p_a p_c)(2 p_b p_d)(1/4)(1/4) = (2 p_a p_d)(2 p_b p_c)/16.
    # Couple {ac, bd}: children ab, ad, cb, cd, each 1/4; couple {ad, bc}: ab, ac, db, dc, each 1/4.
    # Averaged: P(ab) = P(cd) = 1/4; P(ac) = P(ad) = P(bc) = P(bd) = 1/8; homozygotes 0.
    # LR(ab) = 0.25/(2*0.1*0.2) = 6.25;  LR(cd) = 0.25/(2*0.3*0.4) = 1.041666...
    # LR(ac) = 0.125/(2*0.1*0.3) = 2.083333...; LR(bd) = 0.125/(2*0.2*0.4) = 0.78125; LR(aa) = 0
    t = nuclear_child_table(None, None, [(A, B), (C, D)], P)
    idx = {g: i for i, g in enumerate(gts(4))}
    assert t[idx[(A, B)]] == pytest.approx(6.25, rel=REL)
    assert t[idx[(C, D)]] == pytest.approx(0.25 / 0.24, rel=REL)
    assert t[idx[(A, C)]] == pytest.approx(0.125 / 0.06, rel=REL)
    assert t[idx[(A, D)]] == pytest.approx(0.125 / 0.08, rel=REL)
    assert t[idx[(B, C)]] == pytest.approx(0.125 / 0.12, rel=REL)
    assert t[idx[(B, D)]] == pytest.approx(0.78125, rel=REL)
    for h in range(4):
        assert t[idx[(h, h)]] == 0.0


def test_one_parent_and_sibling_hand():
    # Father typed ab, mother untyped, sibling ac, no mutation, p = 0.1, 0.2, 0.3, 0.4.
    # The sibling's c came from the mother (father has no c), so the mother is c-something:
    # P(mother transmits c to the sibling | mother = cx) is 1 (x = c) or 1/2; posterior
    # P(mother = cc | data) = p_c^2 / (p_c^2 + sum_{x != c} 2 p_c p_x / 2) = p_c^2 / p_c = p_c = 0.3.
    # P(mother transmits c to lost child) = 0.3 + 0.7/2 = 0.65; transmits x != c: 0.5 p_x
    # (mother = cx w.p. p_x). Father: a or b, 1/2 each.
    # P(c = ac) = 1/2 * 0.65 = 0.325  -> LR = 0.325/(2*0.1*0.3) = 5.41666...
    # P(c = ab) = 1/2 * 0.5 p_b + 1/2 * 0.5 p_a = 0.25 * 0.3 = 0.075 -> LR = 0.075/0.04 = 1.875
    # P(c = aa) = 1/2 * 0.5 * p_a = 0.025 -> LR = 0.025/0.01 = 2.5
    # P(c = cd) = 0 (the father gives a or b)
    t = nuclear_child_table((A, B), None, [(A, C)], P)
    idx = {g: i for i, g in enumerate(gts(4))}
    assert t[idx[(A, C)]] == pytest.approx(0.325 / 0.06, rel=REL)
    assert t[idx[(A, B)]] == pytest.approx(1.875, rel=REL)
    assert t[idx[(A, A)]] == pytest.approx(2.5, rel=REL)
    assert t[idx[(C, D)]] == 0.0


# ============================================================== brute force with mutation
def brute(father, mother, sibs, p, MF, MM):
    """Independent direct sum over every (gF, gM), loops only."""
    n = len(p)
    gs = gts(n)

    def hw(g):
        return p[g[0]] ** 2 if g[0] == g[1] else 2 * p[g[0]] * p[g[1]]

    def t(g, M, a):
        return 0.5 * (M[g[0], a] + M[g[1], a])

    def child(gf, gm, c):
        a, b = c
        if a == b:
            return t(gf, MF, a) * t(gm, MM, a)
        return t(gf, MF, a) * t(gm, MM, b) + t(gf, MF, b) * t(gm, MM, a)

    fs = [(father, 1.0)] if father is not None else [(g, hw(g)) for g in gs]
    ms = [(mother, 1.0)] if mother is not None else [(g, hw(g)) for g in gs]
    num = np.zeros(len(gs))
    z = 0.0
    for gf, wf in fs:
        for gm, wm in ms:
            w = wf * wm
            for s in sibs:
                w *= child(gf, gm, s)
            z += w
            num += w * np.array([child(gf, gm, c) for c in gs])
    return num / z / np.array([hw(c) for c in gs])


@pytest.mark.parametrize("father,mother,sibs", [
    (None, None, [(0, 1), (2, 3)]),
    (None, None, [(0, 0), (0, 5), (4, 4)]),
    ((0, 2), None, [(2, 5), (1, 2)]),
    (None, (3, 4), [(0, 4)]),
    (None, None, [(0, 1), (2, 3), (4, 5)]),      # needs mutation: a third parental allele pair
    ((1, 1), (2, 2), [(1, 3)]),                  # sibling needs a maternal mutation
])
def test_general_case_equals_brute_force(father, mother, sibs):
    expected = brute(father, mother, sibs, P6, MF6, MM6)
    for method in ("origins", "dense", "auto"):
        close(nuclear_child_table(father, mother, sibs, P6, MF6, MM6, method=method), expected)
    g = gts(6)
    for c in (g[0], g[7], g[20]):
        assert nuclear_lr(c, father, mother, sibs, P6, MF6, MM6) == pytest.approx(
            expected[g.index(c)], rel=REL)


def test_inconsistent_family_raises():
    # father aa, mother bb, sibling cc: impossible without mutation
    with pytest.raises(InconsistentFamilyError, match="mutation"):
        nuclear_child_table((A, A), (B, B), [(C, C)], P)
    # three siblings carrying six distinct alleles cannot share two parents without mutation
    p6 = np.full(6, 1 / 6)
    with pytest.raises(InconsistentFamilyError):
        nuclear_child_table(None, None, [(0, 1), (2, 3), (4, 5)], p6)


def test_bad_codes_rejected():
    with pytest.raises(ValueError, match="allele codes"):
        nuclear_child_table((0, 9), None, [], P)


def test_sixty_alleles_fast():
    # n = 60 (1830 genotypes per untyped parent), both parents untyped, two heterozygous
    # siblings, equal mutation: well under 50 ms per locus (best of 5).
    rng = np.random.default_rng(1)
    n = 60
    p = rng.dirichlet(np.ones(n))
    M = mutation_matrix("equal", [str(i) for i in range(n)], p, 0.002)
    sibs = [(3, 17), (3, 40)]
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        tab = nuclear_child_table(None, None, sibs, p, M, M)
        times.append(time.perf_counter() - t0)
    assert tab.shape == (n * (n + 1) // 2,) and np.all(np.isfinite(tab)) and np.all(tab > 0)
    assert min(times) < 0.05, times


# ------------------------------------------------------------------ half siblings
def _brute_half(child, father, halfs, p, MF, MM):
    """P(child | father typed, mother untyped, half sibs) / HW, by explicit enumeration."""
    n = len(p)
    gens = [(i, j) for i in range(n) for j in range(i, n)]
    hw = lambda g: p[g[0]] ** 2 if g[0] == g[1] else 2 * p[g[0]] * p[g[1]]  # noqa: E731
    t = lambda g, M: 0.5 * (M[g[0]] + M[g[1]])                              # noqa: E731
    pf, pm = p @ MF, p @ MM

    def child_p(tf, tm, g):
        a, b = g
        return tf[a] * tm[a] if a == b else tf[a] * tm[b] + tf[b] * tm[a]

    num = den = 0.0
    for gm in gens:
        w = hw(gm)
        tf, tm = t(father, MF), t(gm, MM)
        for h in halfs:  # shares the father (other parent untested, a woman) or the mother
            w *= 0.5 * child_p(tf, pm, h) + 0.5 * child_p(pf, tm, h)
        num += w * child_p(tf, tm, child)
        den += w
    return num / den / hw(child)


def test_half_sibling_only_family_equals_half_sibling_kappa():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    from reunion.genetics.kinship import KAPPA, pairwise_child_table
    for h in [(0, 0), (0, 1), (1, 3), (2, 2)]:
        table = nuclear_child_table(None, None, [], p, half_siblings=[h])
        np.testing.assert_allclose(table, pairwise_child_table(h, p, KAPPA["half-sibling"]), rtol=1e-12)
    # hand value: half sibling ab, child ab: 1/2 + 1/2 * (0.1+0.2)/(4*0.1*0.2) = 0.5 + 1.875 = 2.375
    assert nuclear_lr((0, 1), None, None, [], p, half_siblings=[(0, 1)]) == pytest.approx(2.375, rel=1e-12)


def test_half_siblings_with_a_typed_father_match_enumeration():
    p = np.array([0.15, 0.25, 0.35, 0.25])
    from reunion.genetics.mutation import mutation_matrix
    MF = mutation_matrix("equal", ["9", "10", "11", "12"], p, 0.01)
    MM = mutation_matrix("equal", ["9", "10", "11", "12"], p, 0.004)
    father, halfs = (0, 2), [(0, 1), (2, 3)]
    table = nuclear_child_table(father, None, [], p, MF, MM, half_siblings=halfs)
    lo, hi = np.triu_indices(4)
    order = sorted(zip(hi, lo))  # genotype-index order: by hi, then lo
    for i, (h, l) in enumerate(order):
        assert table[i] == pytest.approx(_brute_half((l, h), father, halfs, p, MF, MM), rel=1e-12)
