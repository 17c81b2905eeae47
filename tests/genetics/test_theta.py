"""Subpopulation correction (theta) and the known-mother trio, against hand-computed values.

Expected values are worked out by hand from the Balding-Nichols sampling
formula (Balding & Nichols 1994; NRC II 1996 rec. 4.10, eq. 4.10a/b;
Evett & Weir 1998 ch. 4 and 7; Fung & Hu 2008) with the arithmetic written
next to them. Reductions to the theta-0 code of ``kinship`` are checked over
every genotype pair at rtol 1e-12.

p = [0.1, 0.2, 0.3, 0.4] over allele codes a=0, b=1, c=2, d=3 unless stated.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reunion.encoding import genotype_pairs
from reunion.genetics import kinship
from reunion.genetics import theta as T
from reunion.genetics.mutation import mutation_matrix

from four_alleles import A, B, C, D, I4, P, REL, approx  # noqa: F401 (each module uses some)


def all_genotypes(n):
    lo, hi = genotype_pairs(n)
    return [(int(a), int(b)) for a, b in zip(lo, hi)]


RNG_P = np.random.default_rng(7).dirichlet(np.ones(6))


# ============================================================== Balding-Nichols draws
def test_bn_sequence_hand():
    # a, b, a with theta 0.01, p_a 0.1, p_b 0.2:
    # 1st a: (0 + 0.99*0.1)/(1 - 0.01) = 0.1
    # 2nd b: (0 + 0.99*0.2)/(1 + 0)    = 0.198
    # 3rd a: (0.01 + 0.099)/(1 + 0.01) = 0.109/1.01
    assert T.bn_sequence_probability([A, B, A], P, 0.01) == approx(0.1 * 0.198 * 0.109 / 1.01)
    # theta 0: plain product
    assert T.bn_sequence_probability([A, B, A, D], P, 0.0) == approx(0.1 * 0.2 * 0.1 * 0.4)


def test_nrc2_eq_4_10_match_probability():
    # NRC II (1996) eq. 4.10a: P(aa | aa) = [2t + (1-t)p][3t + (1-t)p] / [(1+t)(1+2t)]
    # p_a 0.1, t 0.01: (0.02 + 0.099)(0.03 + 0.099)/(1.01*1.02) = 0.119*0.129/1.0302
    #                = 0.015351/1.0302 = 0.01490099009900990...
    assert T.match_probability((A, A), P, 0.01) == approx(0.015351 / 1.0302)
    assert T.match_probability((A, A), P, 0.01) == pytest.approx(0.0149009900990099, rel=1e-13)
    # eq. 4.10b: P(ab | ab) = 2[t + (1-t)p_a][t + (1-t)p_b] / [(1+t)(1+2t)]
    # p_a 0.1, p_b 0.2: 2 * 0.109 * 0.208 / 1.0302 = 0.045344/1.0302 = 0.04401475441662...
    assert T.match_probability((A, B), P, 0.01) == approx(2 * 0.109 * 0.208 / 1.0302)
    # theta 0: Hardy-Weinberg
    assert T.match_probability((A, B), P, 0.0) == approx(2 * 0.1 * 0.2)
    assert T.match_probability((C, C), P, 0.0) == approx(0.09)


@pytest.mark.parametrize("g", all_genotypes(4))
def test_identity_lr_is_reciprocal_match_probability(g):
    # kappa (0, 0, 1) (same person / identical twin): LR = 1 / NRC II 4.10 match probability
    for theta in (0.0, 0.01, 0.03):
        assert T.pairwise_lr_theta(g, g, P, (0.0, 0.0, 1.0), theta) == approx(
            1.0 / T.match_probability(g, P, theta))


# ============================================================== theta 0 reductions
@pytest.mark.parametrize("rel", list(kinship.KAPPA))
def test_pairwise_theta_zero_reduces_to_kinship(rel):
    kappa = kinship.KAPPA[rel]
    for p in (P, RNG_P):
        gs = all_genotypes(len(p))
        for q in gs:
            ref = kinship.pairwise_child_table(q, p, kappa)
            tab = T.pairwise_child_table_theta(q, p, kappa, 0.0)
            np.testing.assert_allclose(tab, ref, rtol=REL, atol=0)
            for r in gs:
                assert T.pairwise_lr_theta(q, r, p, kappa, 0.0) == approx(
                    kinship.pairwise_lr(q, r, p, kappa))


def test_duo_and_trio_theta_zero_reduce_to_kinship():
    p = RNG_P
    n = len(p)
    eye = np.eye(n)
    gs = all_genotypes(n)
    for f in gs:
        np.testing.assert_allclose(T.duo_child_table_theta(f, p, 0.0),
                                   kinship.duo_child_table(f, p, eye, p), rtol=REL, atol=0)
        for m in gs[::3]:
            ref = kinship.trio_child_table(f, m, p, eye, eye)
            np.testing.assert_allclose(T.trio_child_table_theta(f, m, p, 0.0), ref, rtol=REL, atol=0)
            for c, e in zip(gs, ref):
                assert T.trio_lr_theta(c, f, m, p, 0.0) == approx(e)
                assert T.duo_lr_theta(c, f, p, 0.0) == approx(kinship.duo_lr(c, f, p, eye, p))


# ============================================================== tables == scalars with theta
@pytest.mark.parametrize("theta", [0.01, 0.05])
def test_tables_equal_explicit_enumeration(theta):
    p = RNG_P
    gs = all_genotypes(len(p))
    for rel in ("parent-child", "full-sibling", "first-cousin"):
        kappa = kinship.KAPPA[rel]
        for q in gs:
            tab = T.pairwise_child_table_theta(q, p, kappa, theta)
            np.testing.assert_allclose(tab, [T.pairwise_lr_theta(q, r, p, kappa, theta) for r in gs],
                                       rtol=REL, atol=0)
    for f, m in itertools.product(gs[::4], gs[::5]):
        tab = T.trio_child_table_theta(f, m, p, theta)
        np.testing.assert_allclose(tab, [T.trio_lr_theta(c, f, m, p, theta) for c in gs],
                                   rtol=REL, atol=0)


def test_pairwise_theta_is_symmetric():
    for q, r in itertools.product(all_genotypes(4), repeat=2):
        for rel in ("full-sibling", "half-sibling"):
            k = kinship.KAPPA[rel]
            assert T.pairwise_lr_theta(q, r, P, k, 0.02) == approx(T.pairwise_lr_theta(r, q, P, k, 0.02))


# ============================================================== paternity index with theta
def test_kinship_md_pi_with_theta():
    # KINSHIP.md: child ab, parent ac: PI = (1 + 2t) / (4 (t + (1-t) p_a))
    # p_a 0.1, t 0.01: 1.02 / (4 * (0.01 + 0.099)) = 1.02 / 0.436 = 2.33944954128440...
    assert T.duo_lr_theta((A, B), (A, C), P, 0.01) == approx(1.02 / 0.436)
    assert T.duo_lr_theta((A, B), (A, C), P, 0.01) == pytest.approx(2.3394495412844036, rel=1e-13)
    # the unshared alleles' frequencies do not enter: ab / ad gives the same
    assert T.duo_lr_theta((A, B), (A, D), P, 0.01) == approx(1.02 / 0.436)
    # the general formula, other values
    for pa, t in ((0.05, 0.03), (0.3, 0.02), (0.25, 0.001)):
        p = np.array([pa, 0.1, 0.2, 1 - pa - 0.3])
        assert T.duo_lr_theta((A, B), (A, C), p, t) == approx((1 + 2 * t) / (4 * (t + (1 - t) * pa)))
    # the table gives the same entry: child ab is genotype slot index 1 + 1*2/2 + 0 - 1 = 1
    assert T.duo_child_table_theta((A, C), P, 0.01)[1] == approx(1.02 / 0.436)


def test_pi_with_theta_homozygous_cases():
    # child ab, parent bb: the child's b is the IBD allele; PI = P(X=a, S=b) / P(ab, bb)
    # = 1 / (2 * P(4th allele b | a, b, b)) = (1 + 2t) / (2 (2t + (1-t) p_b))
    # p_b 0.2, t 0.01: 1.02 / (2 * (0.02 + 0.198)) = 1.02/0.436 = 2.339449...
    assert T.duo_lr_theta((A, B), (B, B), P, 0.01) == approx(1.02 / 0.436)
    # p_b 0.25 (other p): 1.02 / (2 * (0.02 + 0.2475)) = 1.02/0.535 = 1.906542056...
    p = np.array([0.25, 0.25, 0.5])
    assert T.duo_lr_theta((0, 1), (1, 1), p, 0.01) == approx(1.02 / 0.535)
    # child aa, parent aa: (1 + 2t) / (3t + (1-t) p_a) = 1.02 / (0.03 + 0.099) = 7.906976744...
    assert T.duo_lr_theta((A, A), (A, A), P, 0.01) == approx(1.02 / 0.129)
    # child aa, parent ab: 1 / (2 P(4th a | a, a, b)) = (1 + 2t) / (2 (2t + (1-t) p_a))
    #   = 1.02 / (2 * 0.119) = 4.285714...
    assert T.duo_lr_theta((A, A), (A, B), P, 0.01) == approx(1.02 / 0.238)
    # exclusion stays an exclusion
    assert T.duo_lr_theta((A, B), (C, D), P, 0.03) == 0.0


def test_theta_is_conservative_for_rare_shared_alleles():
    # ab/ac: PI_theta < PI_0 = 1/(4 p_a)  <=>  p_a (1 + 2t) < t + (1-t) p_a  <=>  p_a < 1/3
    # (equality at p_a = 1/3). So theta lowers the PI for a shared allele rarer than 1/3 and
    # raises it slightly for a common one; it lowers it more as t grows.
    for pa in (0.01, 0.1, 0.3):
        p = np.array([pa, 0.05, 0.05, 0.9 - pa])
        pi0 = T.duo_lr_theta((A, B), (A, C), p, 0.0)
        assert pi0 == approx(1 / (4 * pa))
        lrs = [T.duo_lr_theta((A, B), (A, C), p, t) for t in (0.0, 0.01, 0.03, 0.1)]
        assert all(x > y for x, y in zip(lrs, lrs[1:]))
    p = np.array([0.5, 0.1, 0.1, 0.3])
    assert T.duo_lr_theta((A, B), (A, C), p, 0.03) > T.duo_lr_theta((A, B), (A, C), p, 0.0)
    p = np.array([1 / 3, 0.2, 0.2, 1 - 1 / 3 - 0.4])
    assert T.duo_lr_theta((A, B), (A, C), p, 0.03) == approx(0.75)


def test_full_siblings_with_theta_hand():
    # Full siblings aa / aa (Fung, Carracedo & Hu 2003 form): with A = 2t + (1-t)p, B = 3t + (1-t)p
    # LR = 1/4 + 1/2 (1+2t)/B + 1/4 (1+t)(1+2t)/(A B)
    # p 0.1, t 0.01: A 0.119, B 0.129:
    # 0.25 + 0.5 * 1.02/0.129 + 0.25 * 1.0302/0.015351 = 0.25 + 3.953488.. + 16.777408.. = 20.980897..
    expected = 0.25 + 0.5 * 1.02 / 0.129 + 0.25 * 1.0302 / 0.015351
    assert T.pairwise_lr_theta((A, A), (A, A), P, kinship.KAPPA["full-sibling"], 0.01) == approx(expected)
    assert expected == pytest.approx(20.980897009966775, rel=1e-13)
    # no allele shared: only the IBD-0 term survives
    assert T.pairwise_lr_theta((A, B), (C, D), P, kinship.KAPPA["full-sibling"], 0.02) == approx(0.25)


def test_trio_with_theta_hand():
    # child ab, father ac, mother bd: T(c | F, M) = 1/2 * 1/2 = 1/4;
    # P(c = ab | F, M alleles a, c, b, d) = 2 * (t + (1-t) p_a)/(1 + 3t) * (t + (1-t) p_b)/(1 + 4t)
    # LR = (1+3t)(1+4t) / (8 (t + (1-t) p_a)(t + (1-t) p_b))
    # p_a 0.1, p_b 0.2, t 0.01: 1.03*1.04 / (8 * 0.109 * 0.208) = 1.0712/0.181376 = 5.905963302...
    assert T.trio_lr_theta((A, B), (A, C), (B, D), P, 0.01) == approx(1.0712 / 0.181376)
    assert T.trio_child_table_theta((A, C), (B, D), P, 0.01)[1] == approx(1.0712 / 0.181376)
    # theta 0: 1/(8 p_a p_b) = 1/0.16 = 6.25
    assert T.trio_lr_theta((A, B), (A, C), (B, D), P, 0.0) == approx(6.25)
    # child aa, father aa, mother aa: T = 1; P(aa | a,a,a,a) = (4t + (1-t)p)(5t + (1-t)p)/((1+3t)(1+4t))
    # p 0.1, t 0.01: 1.0712 / (0.139 * 0.149) = 1.0712/0.020711 = 51.72130751...
    assert T.trio_lr_theta((A, A), (A, A), (A, A), P, 0.01) == approx(1.0712 / 0.020711)
    assert T.trio_lr_theta((A, B), (C, C), (B, D), P, 0.01) == 0.0


def test_theta_out_of_range():
    with pytest.raises(ValueError, match="theta"):
        T.duo_lr_theta((A, B), (A, C), P, -0.01)
    with pytest.raises(ValueError, match="theta"):
        T.pairwise_child_table_theta((A, B), P, (0, 1, 0), 1.0)


# ============================================================== known mother
def test_known_mother_without_mutation_classical():
    # child ab, mother ac, alleged father bd: obligate paternal b; father transmits it w.p. 1/2
    # LR = t_M(a) t_F(b) / (t_M(a) p_b) = (0.5*0.5)/(0.5*0.2) = 2.5 = 1/(2 p_b)
    assert T.known_mother_trio_lr((A, B), (A, C), (B, D), P) == approx(2.5)
    # child ab, mother ab, father ac: num = t_M(b) t_F(a) = 0.25; den = 0.5 p_b + 0.5 p_a = 0.15
    # LR = 0.25/0.15 = 1.6666... = 1/(2 (p_a + p_b))
    assert T.known_mother_trio_lr((A, B), (A, B), (A, C), P) == approx(1 / 0.6)
    # child ab, mother ab, father ab: num = 0.5 * 0.5 + 0.5 * 0.5 = 0.5; den 0.15 -> 3.3333
    assert T.known_mother_trio_lr((A, B), (A, B), (A, B), P) == approx(0.5 / 0.15)
    # child aa, mother ab, father aa: t_M(a) t_F(a) / (t_M(a) p_a) = 1/p_a = 10
    assert T.known_mother_trio_lr((A, A), (A, B), (A, A), P) == approx(10.0)
    # paternal exclusion
    assert T.known_mother_trio_lr((A, B), (A, C), (C, D), P) == 0.0
    # child incompatible with the undisputed mother: undefined
    assert math.isnan(T.known_mother_trio_lr((A, B), (C, D), (A, B), P))


def test_known_mother_with_equal_mutation_hand():
    # equal model, rate R = 0.003, n = 4: M(i->j) = R/3 (j != i), M(i->i) = 1 - R.
    # child ab, mother aa, alleged father cc: t_M(a) = 1 - R, t_M(b) = R/3, t_F(a) = t_F(b) = R/3
    # pushed father (p.M)(x) = p_x (1-R) + (1 - p_x) R/3: (p.M)(a) = 0.1*0.997 + 0.9*0.001 = 0.1006,
    #                                                     (p.M)(b) = 0.2*0.997 + 0.8*0.001 = 0.2002
    # num = t_M(a) t_F(b) + t_M(b) t_F(a) = 0.997*0.001 + 0.001*0.001 = 0.000998
    # den = t_M(a) (p.M)(b) + t_M(b) (p.M)(a) = 0.997*0.2002 + 0.001*0.1006 = 0.1995994 + 0.0001006
    #     = 0.1997;  LR = 0.000998/0.1997 = 0.004997496...
    R = 0.003
    M = mutation_matrix("equal", ["1", "2", "3", "4"], P, R)
    expected = 0.000998 / 0.1997
    assert T.known_mother_trio_lr((A, B), (A, A), (C, C), P, M, M) == approx(expected)
    tab = T.known_mother_child_table((A, A), (C, C), P, M, M)
    assert tab[1] == approx(expected)
    # an explicit pushed_father equal to the default gives the same
    assert T.known_mother_trio_lr((A, B), (A, A), (C, C), P, M, M, P @ M) == approx(expected)


def test_known_mother_table_equals_scalar():
    p = RNG_P
    n = len(p)
    labels = [str(9 + i) for i in range(n)]
    MF = mutation_matrix("stepwise", labels, p, 0.004, 1e-5, 0.1)
    MM = mutation_matrix("stepwise", labels, p, 0.001, 1e-6, 0.1)
    gs = all_genotypes(n)
    for m, f in itertools.product(gs[::3], gs[::4]):
        tab = T.known_mother_child_table(m, f, p, MF, MM)
        np.testing.assert_allclose(tab, [T.known_mother_trio_lr(c, m, f, p, MF, MM) for c in gs],
                                   rtol=REL, atol=0)
        plain = T.known_mother_child_table(m, f, p)
        for c, v in zip(gs, plain):
            if math.isnan(v):
                assert m[0] not in c and m[1] not in c
