"""Kinship genetics against hand-computed values (KINSHIP.md).

Every expected value below is worked out by hand from the formulas of
KINSHIP.md and the sources it cites (Evett & Weir 1998 ch. 7; Butler 2015,
kinship chapter; Gjertson et al. 2007, FSI:Genetics 1:223; Egeland, Kling &
Mostad 2016 for the mutation models), with the arithmetic in a comment next to
it. No expectation is computed by calling the code under test, except in the
property test at the end, which compares the fast table path with the exact
re-score and with an independent direct evaluation written in this file.

Unless stated otherwise p = [0.1, 0.2, 0.3, 0.4] over allele codes
a=0, b=1, c=2, d=3.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from reunion.genetics.pedigree import nuclear_lr
import pytest

from reunion.encoding import Encoding, genotype_index, genotype_pairs
from reunion.frequencies import load_frequency_table
from reunion.genetics import kinship
from reunion.genetics.family import Family, FamilyScorer, Member
from reunion.genetics.mutation import MutationModels, mutation_matrix
from reunion.settings import MutationSettings

from four_alleles import A, B, C, D, I4, P, REL, approx  # noqa: F401 (each module uses some)


# ============================================================== duo (paternity index), no mutation
DUO_CASES = [
    # child,   parent,  expected PI                              configuration
    ((A, A), (A, A), 10.0),                    # aa / aa: 1/p_a = 1/0.1 = 10
    ((A, A), (A, B), 5.0),                     # aa / ab: 1/(2 p_a) = 1/0.2 = 5
    ((A, B), (A, A), 5.0),                     # ab / aa: 1/(2 p_a) = 1/0.2 = 5
    ((A, B), (B, B), 2.5),                     # ab / bb: 1/(2 p_b) = 1/0.4 = 2.5
    ((A, B), (A, B), 3.75),                    # ab / ab: (p_a+p_b)/(4 p_a p_b) = 0.3/0.08 = 3.75
    ((A, B), (A, C), 2.5),                     # ab / ac: 1/(4 p_a) = 1/0.4 = 2.5
    ((A, B), (A, D), 2.5),                     # ab / ad: 1/(4 p_a), p_d irrelevant = 2.5
    ((A, B), (B, C), 1.25),                    # ab / bc: 1/(4 p_b) = 1/0.8 = 1.25
    ((C, D), (C, D), 0.7 / (4 * 0.12)),        # cd / cd: (0.3+0.4)/(4*0.3*0.4) = 0.7/0.48 = 1.458333..
    ((A, B), (C, D), 0.0),                     # ab / cd: exclusion
    ((A, B), (C, C), 0.0),                     # ab / cc: exclusion
    ((A, A), (B, C), 0.0),                     # aa / bc: exclusion
    ((D, D), (D, D), 2.5),                     # dd / dd: 1/p_d = 1/0.4 = 2.5
]


@pytest.mark.parametrize("child,parent,expected", DUO_CASES)
def test_duo_pi_without_mutation(child, parent, expected):
    # M = identity and the untested parent's allele drawn from p itself.
    assert kinship.duo_lr(child, parent, P, I4, P) == approx(expected)
    # the order of the two alleles of a genotype does not matter
    assert kinship.duo_lr(child[::-1], parent[::-1], P, I4, P) == approx(expected)


@pytest.mark.parametrize("child,parent,expected", DUO_CASES)
def test_parent_child_kappa_equals_duo_pi(child, parent, expected):
    # kappa (0,1,0): LR = X1 = PI (KINSHIP.md "Parent-child is the paternity index")
    assert kinship.pairwise_lr(parent, child, P, kinship.KAPPA["parent-child"]) == approx(expected)


def test_genotype_index_order_used_by_tables():
    # g = 1 + hi(hi+1)/2 + lo: g=1 aa, 2 ab, 3 bb, 4 ac, 5 bc, 6 cc, 7 ad, 8 bd, 9 cd, 10 dd
    lo, hi = genotype_pairs(4)
    assert list(zip(lo.tolist(), hi.tolist())) == [
        (0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 3), (1, 3), (2, 3), (3, 3)]
    assert genotype_index(1, 0) == 2 and genotype_index(2, 3) == 9 and genotype_index(3, 3) == 10


def test_duo_child_table_parent_ab():
    # parent ab; children in genotype-index order aa ab bb ac bc cc ad bd cd dd
    expected = [
        5.0,    # aa: 1/(2 p_a) = 5
        3.75,   # ab: (p_a+p_b)/(4 p_a p_b) = 3.75
        2.5,    # bb: 1/(2 p_b) = 2.5
        2.5,    # ac: 1/(4 p_a) = 2.5
        1.25,   # bc: 1/(4 p_b) = 1.25
        0.0,    # cc: exclusion
        2.5,    # ad: 1/(4 p_a) = 2.5
        1.25,   # bd: 1/(4 p_b) = 1.25
        0.0,    # cd: exclusion
        0.0,    # dd: exclusion
    ]
    table = kinship.duo_child_table((A, B), P, I4, P)
    assert table.dtype == np.float64
    np.testing.assert_allclose(table, expected, rtol=REL, atol=0)


# ============================================================== trio, no mutation
TRIO_CASES = [
    # child,  father,  mother,  expected LR
    ((A, B), (A, A), (B, B), 25.0),              # (1*1 + 0*0)/(2 p_a p_b) = 1/0.04 = 25
    ((A, B), (A, B), (A, B), 12.5),              # (1/2*1/2 + 1/2*1/2)/(2*0.1*0.2) = 0.5/0.04 = 12.5
    ((A, A), (A, A), (A, B), 50.0),              # (1 * 1/2)/p_a^2 = 0.5/0.01 = 50
    ((A, A), (A, B), (A, B), 25.0),              # (1/2 * 1/2)/p_a^2 = 0.25/0.01 = 25
    ((A, A), (A, A), (A, A), 100.0),             # 1/p_a^2 = 100
    ((A, B), (A, C), (B, D), 6.25),              # (1/2*1/2 + 0)/(2*0.1*0.2) = 0.25/0.04 = 6.25
    ((A, B), (A, B), (A, A), 12.5),              # t_F(b) t_M(a) = 1/2*1 -> 0.5/0.04 = 12.5
    ((A, B), (A, B), (B, C), 6.25),              # t_F(a)t_M(b) + t_F(b)t_M(a) = 1/2*1/2 + 0 -> 0.25/0.04 = 6.25
    ((C, D), (C, D), (C, D), 0.5 / 0.24),        # (1/4+1/4)/(2*0.3*0.4) = 0.5/0.24 = 2.08333..
    ((A, B), (A, B), (C, C), 0.0),               # mother cannot give a or b: exclusion
    ((A, B), (A, A), (A, C), 0.0),               # both can only give a: exclusion
    ((A, A), (A, B), (C, D), 0.0),               # mother has no a: exclusion
]


@pytest.mark.parametrize("child,father,mother,expected", TRIO_CASES)
def test_trio_without_mutation(child, father, mother, expected):
    assert kinship.trio_lr(child, father, mother, P, I4, I4) == approx(expected)
    # without mutation the parents' roles are symmetric
    assert kinship.trio_lr(child, mother, father, P, I4, I4) == approx(expected)


def test_trio_child_table_father_aa_mother_bc():
    # father aa, mother bc: the child is ab or ac
    expected = np.zeros(10)
    expected[genotype_index(A, B) - 1] = 0.5 / 0.04   # t_F(a) t_M(b) = 1*1/2; /(2*0.1*0.2) = 12.5
    expected[genotype_index(A, C) - 1] = 0.5 / 0.06   # 1*1/2 / (2*0.1*0.3) = 8.3333..
    table = kinship.trio_child_table((A, A), (B, C), P, I4, I4)
    np.testing.assert_allclose(table, expected, rtol=REL, atol=0)


def test_trio_is_known_mother_pi_times_mother_duo():
    # child ab, mother ac, alleged father bd.
    # trio: (1/2 * 1/2)/(2 p_a p_b) = 0.25/0.04 = 6.25
    # known-mother PI (Evett & Weir; Butler): X/Y = (1/2 * 1/2)/(1/2 * p_b) = 1/(2 p_b) = 2.5
    # duo with the mother: 1/(4 p_a) = 2.5;   2.5 * 2.5 = 6.25
    trio = kinship.trio_lr((A, B), (B, D), (A, C), P, I4, I4)
    duo_m = kinship.duo_lr((A, B), (A, C), P, I4, P)
    assert trio == approx(6.25)
    assert duo_m == approx(2.5)
    assert trio / duo_m == approx(2.5)


def test_published_known_mother_example_nij():
    """Worked example of the NIJ course "Population Genetics and Statistics for Forensic
    Analysts", Parentage and relatedness / Paternity calculations (mother, child, alleged
    father): per-locus PI 2.1598, 1.0317, 3.1625, 5.4466 and combined LR 38.3815.

    Our couple trio LR factors as (known-mother PI) x (mother's duo PI), so the
    published known-mother PI is trio_lr / duo_lr(mother). Alleles not named in the
    example get filler frequencies, which cancel in that ratio.
    """
    def ratio(p, child, father, mother):
        I = np.eye(len(p))
        return kinship.trio_lr(child, father, mother, p, I, I) / kinship.duo_lr(child, mother, p, I, p)

    # D3S1358: mother 16, child 16, AF 15,16; codes 15->0, 16->1; PI = 1/(2 p16) = 1/(2*0.2315)
    d3 = ratio(np.array([0.2, 0.2315, 0.5685]), (1, 1), (0, 1), (1, 1))
    # vWA: mother 17,18, child 17,18, AF 18,20; codes 17,18,20 -> 0,1,2; PI = 1/[2(p17+p18)]
    vwa = ratio(np.array([0.2627, 0.2219, 0.5154]), (0, 1), (1, 2), (0, 1))
    # FGA: mother 25,27, child 23,25, AF 21,23; codes 21,23,25,27 -> 0..3; PI = 1/(2 p23)
    fga = ratio(np.array([0.2, 0.1581, 0.3, 0.3419]), (1, 2), (0, 1), (2, 3))
    # D18S51: mother 14,18, child 18, AF 18,20; codes 14,18,20 -> 0,1,2; PI = 1/(2 p18)
    d18 = ratio(np.array([0.3, 0.0918, 0.6082]), (1, 1), (1, 2), (0, 1))
    assert d3 == pytest.approx(2.1598, abs=1e-4)
    assert vwa == pytest.approx(1.0317, abs=1e-4)
    assert fga == pytest.approx(3.1625, abs=1e-4)
    assert d18 == pytest.approx(5.4466, abs=1e-4)
    # the published 38.3815 is the product of the four rounded values
    # (2.1598*1.0317*3.1625*5.4466 = 38.38159); unrounded it is 38.38584
    assert d3 * vwa * fga * d18 == pytest.approx(38.3815, rel=2e-4)
    # and exactly, from the formulas: 1/(2*0.2315) * 1/(2*0.4846) * 1/(2*0.1581) * 1/(2*0.0918)
    assert d3 * vwa * fga * d18 == approx(1 / (2 * 0.2315) / (2 * 0.4846) / (2 * 0.1581) / (2 * 0.0918))


# ============================================================== pairwise with kappa
FS, HS, FC = kinship.KAPPA["full-sibling"], kinship.KAPPA["half-sibling"], kinship.KAPPA["first-cousin"]

PAIR_CASES = [
    # q (relative), r (child), kappa, expected
    # --- full siblings (1/4, 1/2, 1/4)
    ((A, B), (A, B), FS, 8.375),    # 1/4 + 1/2*0.3/0.08 + 1/4*1/(2*0.02) = 0.25+1.875+6.25 = 8.375
    ((A, A), (A, A), FS, 30.25),    # 1/4 + 1/2*(1/0.1) + 1/4*(1/0.01) = 0.25+5+25 = 30.25
    ((A, B), (A, C), FS, 1.5),      # 1/4 + 1/2 * 1/(4*0.1) = 0.25+1.25 = 1.5
    ((A, A), (A, B), FS, 2.75),     # 1/4 + 1/2 * 1/(2*0.1) = 0.25+2.5 = 2.75
    ((A, B), (A, A), FS, 2.75),     # 1/4 + 1/2 * 1/(2*0.1) = 2.75
    ((A, B), (C, D), FS, 0.25),     # no sharing: kappa0 = 1/4
    ((A, A), (B, B), FS, 0.25),     # no sharing: 1/4
    # --- half siblings (1/2, 1/2, 0)
    ((A, B), (A, B), HS, 2.375),    # 1/2 + 1/2*3.75 = 2.375
    ((A, A), (A, A), HS, 5.5),      # 1/2 + 1/2*10 = 5.5
    ((A, B), (A, C), HS, 1.75),     # 1/2 + 1/2*2.5 = 1.75
    ((A, B), (B, C), HS, 1.125),    # 1/2 + 1/2 * 1/(4*0.2) = 0.5+0.625 = 1.125
    ((A, B), (C, D), HS, 0.5),      # no sharing
    # --- first cousins (3/4, 1/4, 0)
    ((A, B), (A, B), FC, 1.6875),   # 3/4 + 1/4*3.75 = 0.75+0.9375 = 1.6875
    ((A, A), (A, A), FC, 3.25),     # 3/4 + 1/4*10 = 3.25
    ((A, B), (A, C), FC, 1.375),    # 3/4 + 1/4*2.5 = 1.375
    ((A, B), (C, D), FC, 0.75),     # no sharing
]


@pytest.mark.parametrize("q,r,kappa,expected", PAIR_CASES)
def test_pairwise_lr(q, r, kappa, expected):
    assert kinship.pairwise_lr(q, r, P, kappa) == approx(expected)
    # the table for relative q holds the same value at r's genotype index
    table = kinship.pairwise_child_table(q, P, kappa)
    assert table[genotype_index(*r) - 1] == approx(expected)


def test_kappa_names():
    assert kinship.KAPPA["full-sibling"] == (0.25, 0.5, 0.25)
    assert kinship.KAPPA["half-sibling"] == kinship.KAPPA["grandparent"] == kinship.KAPPA["avuncular"] \
        == (0.5, 0.5, 0.0)
    assert kinship.KAPPA["first-cousin"] == (0.75, 0.25, 0.0)
    assert kinship.KAPPA["parent-child"] == (0.0, 1.0, 0.0)


def test_unrelated_kappa_gives_one_everywhere():
    lo, hi = genotype_pairs(4)
    for q in zip(lo.tolist(), hi.tolist()):
        for r in zip(lo.tolist(), hi.tolist()):
            assert kinship.pairwise_lr(q, r, P, (1.0, 0.0, 0.0)) == 1.0
        np.testing.assert_array_equal(kinship.pairwise_child_table(q, P, (1.0, 0.0, 0.0)), np.ones(10))


def test_pairwise_shared_allele_only_matters():
    # ab vs ac and ab vs ad: X1 = 1/(4 p_a) both; the unshared allele's frequency is irrelevant
    # 1/2 + 1/2 * 1/(4*0.1) = 1.75 in both cases
    assert kinship.pairwise_lr((A, B), (A, C), P, HS) == approx(1.75)
    assert kinship.pairwise_lr((A, B), (A, D), P, HS) == approx(1.75)


# ============================================================== rare-allele floor
RARE_CSV = """population,locus,allele,frequency,n_individuals
Test,TH01,6,0.2,100
Test,TH01,7,0.3,100
Test,TH01,9.3,0.5,100
Test,vWA,16,0.5,
Test,vWA,17,0.5,
"""


@pytest.fixture
def rare_encoding(tmp_path):
    path = tmp_path / "rare.csv"
    path.write_text(RARE_CSV)
    table = load_frequency_table(path, "Test")
    return Encoding.build(table, observed={"TH01": {"99", "7"}, "vWA": {"21", "5"}}, floor=0.001)


def test_rare_allele_floor(rare_encoding):
    th01 = rare_encoding.loci[rare_encoding.index["TH01"]]
    # table alleles by repeat value, then the absent ones; "7" is in the table, not extra
    assert th01.alleles == ["6", "7", "9.3", "99"]
    # N = 100 individuals: 5/(2N) = 5/200 = 0.025
    np.testing.assert_array_equal(th01.frequencies, [0.2, 0.3, 0.5, 0.025])
    np.testing.assert_array_equal(th01.floored, [False, False, False, True])

    vwa = rare_encoding.loci[rare_encoding.index["vWA"]]
    # N blank: the configured floor 0.001; extras ordered by repeat value (5 before 21)
    assert vwa.alleles == ["16", "17", "5", "21"]
    np.testing.assert_array_equal(vwa.frequencies, [0.5, 0.5, 0.001, 0.001])
    np.testing.assert_array_equal(vwa.floored, [False, False, True, True])


def test_rare_allele_in_a_duo_uses_the_floor(rare_encoding):
    enc = rare_encoding
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="none"), enc))
    father = Member("F1", "father", "M", enc.encode_profile({"TH01": ("7", "99")}))
    child = enc.encode_profile({"TH01": ("99", "6"), "vWA": ("16", "21")})
    s = scorer.rescore(Family("fam", [father]), child)
    assert s.hypothesis == "duo_father"
    # child 6/99, father 7/99: share 99 -> 1/(4 p_99) = 1/(4*0.025) = 10
    assert s.log10_lr == approx(1.0)
    assert s.loci_compared == 1            # vWA: father untyped
    # floored alleles among the compared people: child's 99 and father's 99 = 2
    assert s.floored_alleles == 2


# ============================================================== mutation matrices
def test_mutation_none_is_identity():
    np.testing.assert_array_equal(mutation_matrix("none", ["9", "10", "11"], P[:3], 0.01), np.eye(3))


def test_mutation_equal():
    M = mutation_matrix("equal", ["9", "10", "11", "12"], P, 0.01)
    # off-diagonal rate/(n-1) = 0.01/3 = 0.0033333..; diagonal 1 - rate = 0.99
    expected = np.full((4, 4), 0.01 / 3)
    np.fill_diagonal(expected, 0.99)
    np.testing.assert_allclose(M, expected, rtol=REL, atol=0)
    np.testing.assert_allclose(M.sum(axis=1), 1.0, rtol=REL)


def test_mutation_proportional_is_stationary():
    rate = 0.005
    M = mutation_matrix("proportional", ["9", "10", "11", "12"], P, rate)
    # sum p_i (1 - p_i) = 0.09 + 0.16 + 0.21 + 0.24 = 0.70; a = 0.005/0.7 = 0.00714285..
    a = 0.005 / 0.70
    assert M[0, 0] == approx(1 - a + a * 0.1)     # (1-a) + a p_0
    assert M[0, 1] == approx(a * 0.2)             # a p_1
    assert M[3, 2] == approx(a * 0.3)             # a p_2
    np.testing.assert_allclose(M.sum(axis=1), 1.0, rtol=REL)
    # stationarity: p.M = (1-a) p + a (sum p) p = p
    np.testing.assert_allclose(P @ M, P, rtol=REL, atol=0)
    # the mean mutation probability sum_i p_i (1 - M_ii) = a * 0.7 = rate
    assert float(np.sum(P * (1 - np.diag(M)))) == approx(rate)


STEP_ALLELES = ["9", "10", "11", "9.3"]


def test_mutation_stepwise_hand_values():
    M = mutation_matrix("stepwise", STEP_ALLELES, P, 0.002, 1e-6, 0.1)
    r, r2 = 0.002, 1e-6
    expected = np.array([
        # from 9: same group {10: 0.1^1, 11: 0.1^2}, sum 0.11; 9.3 is the only other-group allele
        [1 - r - r2, r * 0.1 / 0.11, r * 0.01 / 0.11, r2 / 1],
        # from 10: {9: 0.1, 11: 0.1}, sum 0.2 -> 0.001 each (symmetric); to 9.3 rate2/1
        [r * 0.1 / 0.2, 1 - r - r2, r * 0.1 / 0.2, r2 / 1],
        # from 11: {9: 0.01, 10: 0.1}, sum 0.11
        [r * 0.01 / 0.11, r * 0.1 / 0.11, 1 - r - r2, r2 / 1],
        # from 9.3: alone in group 3 -> rate2/3 to each of the 3 others; diagonal 1 - rate2
        [r2 / 3, r2 / 3, r2 / 3, 1 - r2],
    ])
    np.testing.assert_allclose(M, expected, rtol=REL, atol=0)
    assert M[1, 0] == approx(0.001) and M[1, 2] == approx(0.001)          # 0.002*0.1/0.2
    assert M[0, 1] == approx(0.002 * 0.1 / 0.11)                         # 0.0018181..
    assert M[1, 1] == approx(0.997999)                                    # 1-0.002-1e-6
    np.testing.assert_allclose(M.sum(axis=1), 1.0, rtol=REL)


def test_mutation_stepwise_microvariants_share_a_group():
    # 9.3 and 10.3 form one group (g = 3); with only each other in the group: M(i->j) = rate,
    # diagonal 1 - rate (every allele in one group, rate2 unused)
    M = mutation_matrix("stepwise", ["9.3", "10.3"], np.array([0.5, 0.5]), 0.002, 1e-6, 0.1)
    np.testing.assert_allclose(M, [[0.998, 0.002], [0.002, 0.998]], rtol=REL, atol=0)


# ============================================================== duos and trios with mutation
def test_one_step_exclusion_equal_model_duo():
    # equal model n=4, rate r=0.01; child ab, parent cc; the untested parent draws from p.M
    r = 0.01
    M = mutation_matrix("equal", ["9", "10", "11", "12"], P, r)
    pushed = P @ M
    # (p.M)_j = p_j (1-r) + (1-p_j) r/3:  a: 0.1*0.99 + 0.9*0.01/3 = 0.099 + 0.003 = 0.102
    #                                     b: 0.2*0.99 + 0.8*0.01/3 = 0.198 + 0.0026667 = 0.2006667
    np.testing.assert_allclose(pushed[:2], [0.102, 0.198 + 0.008 / 3], rtol=REL)
    # t_X(a) = t_X(b) = M(c->a) = r/3
    # LR = [t(a) pM(b) + t(b) pM(a)] / (2 p_a p_b) = (0.01/3)(0.2006667 + 0.102)/0.04
    #    = (0.01/3)(0.908/3)/0.04 = 0.908/36 = 0.0252222..
    lr = kinship.duo_lr((A, B), (C, C), P, M, pushed)
    assert lr == approx(0.908 / 36)
    assert 0 < lr < 1


def test_stepwise_prefers_one_step_over_two_step_exclusion():
    alleles = ["9", "10", "11", "12"]
    M = mutation_matrix("stepwise", alleles, P, 0.002, 1e-6, 0.1)
    pushed = P @ M
    child = (D, D)                     # 12/12
    one = kinship.duo_lr(child, (C, C), P, M, pushed)    # parent 11/11: one step
    two = kinship.duo_lr(child, (B, B), P, M, pushed)    # parent 10/10: two steps
    # all four in one group, so the diagonal is 1 - rate and rate2 is unused.
    # M(11->12) = 0.002 * 0.1/(0.01+0.1+0.1) = 0.002*0.1/0.21
    # M(10->12) = 0.002 * 0.01/(0.1+0.1+0.01) = 0.002*0.01/0.21
    # M(9->12)  = 0.002 * 0.001/(0.1+0.01+0.001) = 0.002*0.001/0.111;  M(12->12) = 0.998
    # (p.M)(12) = 0.1*M(9->12) + 0.2*M(10->12) + 0.3*M(11->12) + 0.4*0.998 = 0.3995065637..
    pm12 = 0.1 * 0.002 * 0.001 / 0.111 + 0.2 * 0.002 * 0.01 / 0.21 + 0.3 * 0.002 * 0.1 / 0.21 + 0.4 * 0.998
    assert pm12 == pytest.approx(0.39950656, abs=1e-8)
    # LR = M(y->12) (p.M)(12) / p_12^2, p_12^2 = 0.16
    assert one == approx(0.002 * 0.1 / 0.21 * pm12 / 0.16)    # = 0.0023780..
    assert two == approx(0.002 * 0.01 / 0.21 * pm12 / 0.16)   # = 0.00023780..
    assert one > two
    assert one / two == approx(10.0)                          # range^-1 = 10


def test_proportional_untyped_parent_gives_exactly_one():
    M = mutation_matrix("proportional", ["9", "10", "11", "12"], P, 0.005)
    pushed = P @ M
    np.testing.assert_allclose(pushed, P, rtol=1e-15, atol=1e-16)
    # An untyped alleged parent: average the duo LR over his genotype drawn from HW.
    # sum_g P_HW(g) t_g(x) = (p.M)(x) = p_x, so the numerator is the HW probability: LR = 1.
    lo, hi = genotype_pairs(4)
    hw = np.where(lo == hi, P[lo] ** 2, 2 * P[lo] * P[hi])
    for child in zip(lo.tolist(), hi.tolist()):
        avg = sum(w * kinship.duo_lr(child, (int(x), int(y)), P, M, pushed)
                  for w, x, y in zip(hw, lo, hi))
        assert avg == approx(1.0)


def test_equal_model_untyped_parent_is_close_to_but_not_one():
    # non-stationary: p.M != p, so the averaged LR is near 1 but not exactly 1.
    # child aa: LR = (p.M)(a)^2 / p_a^2 = (0.102/0.1)^2 = 1.0404 (pM(a) from the test above)
    M = mutation_matrix("equal", ["9", "10", "11", "12"], P, 0.01)
    pushed = P @ M
    lo, hi = genotype_pairs(4)
    hw = np.where(lo == hi, P[lo] ** 2, 2 * P[lo] * P[hi])
    avg = sum(w * kinship.duo_lr((A, A), (int(x), int(y)), P, M, pushed) for w, x, y in zip(hw, lo, hi))
    assert avg == approx(1.0404)


def test_trio_with_mutation_rescues_exclusion():
    # equal model n=4, r=0.005 for both parents; child ab, father cc, mother bd.
    r = 0.005
    M = mutation_matrix("equal", ["9", "10", "11", "12"], P, r)
    # t_F(a) = M(c->a) = r/3, t_F(b) = r/3; t_M(a) = (r/3 + r/3)/2 = r/3; t_M(b) = ((1-r) + r/3)/2
    # num = r/3 * ((1-r)+r/3)/2 + r/3 * r/3 = (r/3) * (0.4975 + 0.0008333 + 0.0016667) = (r/3)*0.5
    # LR = (0.005/3 * 0.5) / (2*0.1*0.2) = 0.00083333/0.04 = 0.0208333.. = 1/48
    lr = kinship.trio_lr((A, B), (C, C), (B, D), P, M, M)
    assert lr == approx(1 / 48)


# ============================================================== family level
FAMILY_CSV = """population,locus,allele,frequency,n_individuals
Test,D3S1358,14,0.1,100
Test,D3S1358,15,0.2,100
Test,D3S1358,16,0.3,100
Test,D3S1358,17,0.4,100
Test,TH01,6,0.25,100
Test,TH01,7,0.25,100
Test,TH01,9.3,0.5,100
Test,FGA,20,0.1,100
Test,FGA,21,0.2,100
Test,FGA,22,0.3,100
Test,FGA,23,0.4,100
"""


@pytest.fixture
def enc(tmp_path):
    path = tmp_path / "freqs.csv"
    path.write_text(FAMILY_CSV)
    return Encoding.build(load_frequency_table(path, "Test"), observed={}, floor=0.001)


def scorer_for(enc, **mut):
    settings = MutationSettings(**({"model": "none"} | mut))
    return FamilyScorer(enc, MutationModels(settings, enc))


def gather(enc, row, child_codes):
    """The screening kernel's gather-sum: sum over loci of row[offset_l + g_l]."""
    return float(row[enc.offsets.astype(np.int64) + child_codes.astype(np.int64)].sum())


def trio_family(enc, father_d3=("14", "15")):
    father = Member("F1", "father", "M", enc.encode_profile(
        {"D3S1358": father_d3, "TH01": ("6", "6"), "FGA": ("20", "21")}))
    mother = Member("M1", "mother", "F", enc.encode_profile(
        {"D3S1358": ("16", "17"), "TH01": ("7", "9.3")}))        # FGA untyped
    return Family("fam1", [father, mother])


CHILD = {"D3S1358": ("14", "16"), "TH01": ("6", "9.3"), "FGA": ("21", "23")}


def test_family_trio_table_equals_rescore_equals_hand(enc):
    scorer = scorer_for(enc)
    fam = trio_family(enc)
    hyp, used = fam.hypothesis()
    assert hyp == "trio"
    child = enc.encode_profile(CHILD)
    # D3S1358 child 14/16, father 14/15, mother 16/17: (1/2*1/2)/(2*0.1*0.3) = 0.25/0.06 = 4.1667
    # TH01 child 6/9.3, father 6/6, mother 7/9.3: (1*1/2)/(2*0.25*0.5) = 0.5/0.25 = 2
    # FGA mother untyped -> duo with father 20/21, child 21/23: 1/(4*0.2) = 1.25
    # product = 4.1667 * 2 * 1.25 = 10.41667 = 125/12
    expected = math.log10(125 / 12)
    row = scorer.table_row(hyp, used)
    assert row.shape == (enc.width,)
    assert gather(enc, row, child) == approx(expected)
    s = scorer.rescore(fam, child)
    assert s.hypothesis == "trio"
    assert s.members == {"father": "F1", "mother": "M1"}
    assert s.log10_lr == approx(expected)
    assert s.loci_compared == 3
    assert s.inconsistent_loci == 0
    assert s.floored_alleles == 0
    assert [lr.lr for lr in s.loci] == [approx(0.25 / 0.06), approx(2.0), approx(1.25)]
    assert s.loci[0].genotypes == {"missing": "14/16", "father": "14/15", "mother": "16/17"}
    # duo scores: father: D3 1/(4*0.1)=2.5, TH01 1/(2*0.25)=2, FGA 1.25 -> 6.25
    assert s.log10_lr_duo_father == approx(math.log10(6.25))
    # mother: D3 1/(4*0.3)=0.8333, TH01 1/(4*0.5)=0.5, FGA untyped -> 5/12
    assert s.log10_lr_duo_mother == approx(math.log10(5 / 12))


def test_family_trio_locus_with_mother_untyped_is_father_duo(enc):
    scorer = scorer_for(enc)
    fam = trio_family(enc)
    child = enc.encode_profile(CHILD)
    s = scorer.rescore(fam, child)
    fga = s.loci[enc.index["FGA"]]
    assert fga.compared and fga.lr == approx(1.25)   # 1/(4 p_21) = 1/0.8
    # the table at FGA holds the father's duo table: father 20/21, child 20/20 -> 1/(2*0.1) = 5
    row = scorer.table_row(*fam.hypothesis())
    off = int(enc.offsets[enc.index["FGA"]])
    assert row[off + genotype_index(0, 0)] == approx(math.log10(5.0))
    assert row[off] == 0.0                           # untyped slot


def test_family_untyped_child_locus(enc):
    scorer = scorer_for(enc)
    fam = trio_family(enc)
    child = enc.encode_profile({k: v for k, v in CHILD.items() if k != "FGA"})
    s = scorer.rescore(fam, child)
    # D3 0.25/0.06 * TH01 2 = 8.3333 = 25/3; FGA contributes 1 and is not compared
    assert s.log10_lr == approx(math.log10(25 / 3))
    assert s.loci_compared == 2
    fga = s.loci[enc.index["FGA"]]
    assert fga.compared is False and fga.lr == 1.0
    assert gather(enc, scorer.table_row(*fam.hypothesis()), child) == approx(math.log10(25 / 3))


def test_family_exclusion_without_mutation_is_minus_inf(enc):
    scorer = scorer_for(enc)
    fam = trio_family(enc, father_d3=("15", "15"))     # father cannot give 14 or 16
    child = enc.encode_profile(CHILD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = scorer.rescore(fam, child)
        row = scorer.table_row(*fam.hypothesis())
    assert s.log10_lr == -math.inf
    assert s.inconsistent_loci == 1
    assert s.loci[0].lr == 0.0 and s.loci[0].inconsistent
    assert gather(enc, row, child) == -math.inf


def test_family_inconsistent_loci_counted_with_mutation_on(enc):
    r = 0.005
    scorer = scorer_for(enc, model="equal", rate=r)
    fam = trio_family(enc, father_d3=("15", "15"))
    child = enc.encode_profile(CHILD)
    s = scorer.rescore(fam, child)
    # D3 (n=4, off-diagonal r/3): father 15/15 -> t_F(14) = t_F(16) = r/3;
    #   mother 16/17 -> t_M(14) = r/3, t_M(16) = ((1-r) + r/3)/2
    #   num = r/3 * [((1-r)+r/3)/2 + r/3] = (0.005/3)*0.5;  LR = 0.00083333/0.06 = 1/72
    d3 = 1 / 72
    # TH01 (n=3, off-diagonal r/2 = 0.0025, diag 0.995): father 6/6, mother 7/9.3, child 6/9.3
    #   t_F(6) = 0.995, t_F(9.3) = 0.0025, t_M(6) = 0.0025, t_M(9.3) = (0.0025+0.995)/2 = 0.49875
    #   num = 0.995*0.49875 + 0.0025*0.0025 = 0.4962625;  LR = 0.4962625/0.25 = 1.98505
    th01 = 1.98505
    # FGA duo, father 20/21, child 21/23; mother's allele from p.M, p.M_j = 0.995 p_j + (1-p_j) r/3
    #   t_F(21) = (r/3 + 0.995)/2, t_F(23) = r/3
    #   pM(21) = 0.2*0.995 + 0.8*r/3 = 0.2003333,  pM(23) = 0.4*0.995 + 0.6*r/3 = 0.399
    #   LR = [t_F(21) pM(23) + t_F(23) pM(21)] / (2*0.2*0.4) = 1.2448056
    fga = ((r / 3 + 0.995) / 2 * 0.399 + r / 3 * (0.199 + 0.8 * r / 3)) / 0.16
    assert fga == pytest.approx(1.2448056, abs=1e-7)
    assert s.loci[0].lr == approx(d3)
    assert s.loci[1].lr == approx(th01)
    assert s.loci[2].lr == approx(fga)
    assert math.isfinite(s.log10_lr)
    assert s.log10_lr == approx(math.log10(d3 * th01 * fga))
    assert s.inconsistent_loci == 1
    assert [lr.inconsistent for lr in s.loci] == [True, False, False]
    assert gather(enc, scorer.table_row(*fam.hypothesis()), child) == approx(math.log10(d3 * th01 * fga))


def test_family_sex_specific_rates(enc):
    # paternal rate 0.01 (equal model), maternal rate 0: a paternal exclusion is rescued,
    # a maternal one is not.
    scorer = scorer_for(enc, model="equal", rate_male=0.01, rate_female=0.0)
    child = enc.encode_profile({"D3S1358": ("14", "15")})
    father = Member("F1", "father", "M", enc.encode_profile({"D3S1358": ("16", "16")}))
    mother = Member("M1", "mother", "F", enc.encode_profile({"D3S1358": ("16", "16")}))
    s_f = scorer.rescore(Family("f", [father]), child)
    # t_F(14) = t_F(15) = 0.01/3; the mother's allele from p.M with M = I, i.e. p
    # LR = (0.01/3)(p_15 + p_14)/(2 p_14 p_15) = (0.01/3)(0.3)/0.04 = 0.001/0.04 = 0.025
    assert s_f.hypothesis == "duo_father"
    assert s_f.log10_lr == approx(math.log10(0.025))
    s_m = scorer.rescore(Family("m", [mother]), child)
    assert s_m.hypothesis == "duo_mother"
    assert s_m.log10_lr == -math.inf
    assert s_f.inconsistent_loci == s_m.inconsistent_loci == 1


def test_family_pairwise_full_sibling(enc):
    scorer = scorer_for(enc)
    sib = Member("S1", "full_sibling", None, enc.encode_profile(
        {"D3S1358": ("14", "15"), "TH01": ("6", "6")}))
    fam = Family("fs", [sib])
    hyp, used = fam.hypothesis()
    # a typed full sibling makes it a family-level (nuclear) hypothesis; with one
    # sibling, no parent and no mutation it equals the full-sibling kappa formula
    assert hyp == "nuclear"
    child = enc.encode_profile({"D3S1358": ("15", "14"), "TH01": ("6", "7"), "FGA": ("20", "20")})
    # D3 ab/ab full sibs: 1/4 + 1/2*0.3/0.08 + 1/4*1/0.04 = 0.25 + 1.875 + 6.25 = 8.375
    # TH01 q=6/6, r=6/7: 1/4 + 1/2 * 1/(2*0.25) = 0.25 + 1 = 1.25
    # FGA sibling untyped: 1;  product 8.375*1.25 = 10.46875
    expected = math.log10(10.46875)
    s = scorer.rescore(fam, child)
    assert s.log10_lr == approx(expected)
    assert s.loci_compared == 2
    assert s.log10_lr_duo_father is None and s.log10_lr_duo_mother is None
    assert gather(enc, scorer.table_row(hyp, used), child) == approx(expected)


def test_family_hypothesis_choice(enc):
    untyped = np.zeros(len(enc.loci), np.uint16)
    father0 = Member("F0", "father", "M", untyped)
    mother = Member("M1", "mother", "F", enc.encode_profile({"TH01": ("6", "7")}))
    assert Family("a", [father0, mother]).hypothesis()[0] == "duo_mother"
    assert Family("b", [father0]).hypothesis() is None
    assert scorer_for(enc).rescore(Family("b", [father0]), enc.encode_profile(CHILD)) is None


# ============================================================== property: table path == direct formula
def _ref_transmit(parent, M, x):
    """P(parent transmits allele x) = 1/2 M(y1->x) + 1/2 M(y2->x)."""
    return 0.5 * M[parent[0], x] + 0.5 * M[parent[1], x]


def _ref_pushed(p, M, x):
    """P(untested parent transmits x) = sum_i p_i M(i->x)."""
    return sum(p[i] * M[i, x] for i in range(len(p)))


def _ref_pair_x(q, r, p):
    """(X1, X2) from the KINSHIP.md table by sharing pattern; q relative, r child."""
    q, r = tuple(sorted(q)), tuple(sorted(r))
    if q[0] == q[1] and r[0] == r[1]:
        a = q[0]
        return (1 / p[a], 1 / p[a] ** 2) if r[0] == a else (0.0, 0.0)
    if q[0] == q[1] or r[0] == r[1]:
        hom, het = (q, r) if q[0] == q[1] else (r, q)
        return (1 / (2 * p[hom[0]]), 0.0) if hom[0] in het else (0.0, 0.0)
    if q == r:
        a, b = q
        return (p[a] + p[b]) / (4 * p[a] * p[b]), 1 / (2 * p[a] * p[b])
    shared = set(q) & set(r)
    if shared:
        return 1 / (4 * p[shared.pop()]), 0.0
    return 0.0, 0.0


def _ref_locus(typed, child, p, MF, MM, relation):
    sibs = [g for role, g in typed.items() if role.startswith("sibling")]
    halfs = [g for role, g in typed.items() if role.startswith("halfsib")]
    if sibs or halfs:
        # nuclear family: the peeling code is itself checked by brute force in test_pedigree.py
        return nuclear_lr(child, typed.get("father"), typed.get("mother"), sibs, p, MF, MM, halfs)
    c1, c2 = child
    orders = [(c1, c2)] if c1 == c2 else [(c1, c2), (c2, c1)]
    hw = p[c1] ** 2 if c1 == c2 else 2 * p[c1] * p[c2]
    if "father" in typed or "mother" in typed:
        def src_f(x):
            return _ref_transmit(typed["father"], MF, x) if "father" in typed else _ref_pushed(p, MF, x)

        def src_m(x):
            return _ref_transmit(typed["mother"], MM, x) if "mother" in typed else _ref_pushed(p, MM, x)
        return sum(src_f(x) * src_m(y) for x, y in orders) / hw
    k0, k1, k2 = kinship.KAPPA[kinship.RELATION_KAPPA[relation]]
    x1, x2 = _ref_pair_x(typed["other"], child, p)
    return k0 + k1 * x1 + k2 * x2


def test_property_table_path_equals_direct_formula():
    table = load_frequency_table(
        Path(__file__).parents[2] / "configs/frequencies/nist1036_us_2017.csv", "Asian")
    enc = Encoding.build(table, observed={"TH01": {"13"}, "D21S11": {"40.2"}, "FGA": {"50"}},
                         floor=0.001)
    settings = MutationSettings(model="stepwise", rate=0.002, rate_male=0.003, rate_female=0.001,
                                rate2=1e-6, range=0.1, locus_rates={"SE33": 0.008})
    models = MutationModels(settings, enc)
    scorer = FamilyScorer(enc, models)
    mats = {}
    for l, lc in enumerate(enc.loci):
        for sex in "MF":
            mats[l, sex] = mutation_matrix("stepwise", lc.alleles, lc.frequencies,
                                           settings.rate_for(lc.locus, sex), 1e-6, 0.1)
    rng = np.random.default_rng(20240607)
    L = len(enc.loci)

    def random_genotype(l):
        n = enc.loci[l].n_alleles
        return tuple(sorted(int(x) for x in rng.integers(0, n, size=2)))

    def random_profile(typed_frac=0.85):
        return {l: random_genotype(l) for l in range(L) if rng.random() < typed_frac}

    def codes(prof):
        out = np.zeros(L, np.uint16)
        for l, (x, y) in prof.items():
            out[l] = genotype_index(x, y)
        return out

    compositions = [("father", "mother"), ("father",), ("mother",), ("full_sibling",),
                    ("half_sibling",), ("grandparent",), ("avuncular",), ("father", "mother", "full_sibling")]
    n_checked = 0
    for k in range(200):
        roles = compositions[k % len(compositions)]
        profs = {role: random_profile() for role in roles}
        members = [Member(f"{role}{k}", role, {"father": "M", "mother": "F"}.get(role), codes(pr))
                   for role, pr in profs.items()]
        fam = Family(f"fam{k}", members)
        hyp, used = fam.hypothesis()
        row = scorer.table_row(hyp, used)
        for _ in range(2):
            # half the children are true children (one allele from each typed parent), half random
            child = random_profile(0.9)
            if rng.random() < 0.5:
                for l in child:
                    alle = []
                    for role in ("father", "mother"):
                        if role in profs and l in profs[role]:
                            alle.append(profs[role][l][rng.integers(0, 2)])
                    while len(alle) < 2:
                        alle.append(int(rng.integers(0, enc.loci[l].n_alleles)))
                    child[l] = tuple(sorted(alle))
            cc = codes(child)
            relation = used["other"].relation if "other" in used else None
            prof_used = {role: profs[m.relation] for role, m in used.items()}
            ref, compared, incons = 0.0, 0, 0
            for l in range(L):
                typed = {role: pr[l] for role, pr in prof_used.items() if l in pr}
                if l not in child or not typed:
                    continue
                p = enc.loci[l].frequencies
                lr = _ref_locus(typed, child[l], p, mats[l, "M"], mats[l, "F"], relation)
                ref += math.log10(lr)
                compared += 1
                I = np.eye(len(p))
                parents = {r: g for r, g in typed.items() if r in ("father", "mother")}
                if parents or "other" in typed:
                    incons += _ref_locus(parents or typed, child[l], p, I, I, relation) == 0.0
            s = scorer.rescore(fam, cc)
            assert s.hypothesis == hyp
            assert s.loci_compared == compared
            assert s.inconsistent_loci == incons
            np.testing.assert_allclose(s.log10_lr, ref, rtol=1e-12, atol=1e-12)
            # the nuclear table sums over parent genotypes in another order than the scalar
            # peeling (origins vs dense): agreement to ~1e-12 relative per locus, summed over loci
            tol = 1e-10 if hyp == "nuclear" else 1e-12
            np.testing.assert_allclose(gather(enc, row, cc), ref, rtol=tol, atol=tol)
            n_checked += 1
    assert n_checked == 400


def test_table_rows_equal_row_by_row_tables():
    table = load_frequency_table(
        Path(__file__).parents[2] / "configs/frequencies/nist1036_us_2017.csv", "Asian")
    enc = Encoding.build(table, observed={"TH01": {"13"}}, floor=0.001)
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="stepwise", rate_male=0.003,
                                                               rate_female=0.001), enc))
    rng = np.random.default_rng(7)
    L = len(enc.loci)

    def prof():
        return np.array([genotype_index(*rng.integers(0, lc.n_alleles, 2)) if rng.random() < 0.8 else 0
                         for lc in enc.loci], dtype=np.uint16)

    roles = [("father", "mother"), ("father",), ("mother",), ("full_sibling",), ("father", "half_sibling")]
    fams = [Family(f"f{k}", [Member(f"{r}{k}", r, None, prof()) for r in roles[k % len(roles)]])
            for k in range(40)]
    hyps = [scorer.hypothesis(f) for f in fams]
    batch = scorer.table_rows(hyps)
    single = np.vstack([scorer.table_row(*h) for h in hyps])
    assert batch.shape == (40, enc.width) and L == len(enc.offsets)
    parents = [i for i, h in enumerate(hyps) if h[0] in ("trio", "duo_father", "duo_mother")]
    assert np.array_equal(batch[parents], single[parents])
    # nuclear rows sum over the parents in another order (tests/genetics/test_batch_tables.py)
    assert np.array_equal(np.isneginf(batch), np.isneginf(single))
    fin = np.isfinite(single)
    np.testing.assert_allclose(batch[fin], single[fin], rtol=1e-12, atol=1e-13)


# ============================================================== roles, hypotheses, transmission, mutation cache
def test_relation_values_are_the_contract_relations():
    from reunion.contracts import PEDIGREE_RELATIONS, RELATIONS
    from reunion.genetics.roles import Relation
    # the samples contract accepts every relation the engine places (issue 16), in the enum's
    # order (the six original codes first: shards store members in this order), then the two
    # labels of the explicit pedigree form (lost_child, other)
    assert tuple(r.value for r in Relation) == RELATIONS + PEDIGREE_RELATIONS == RELATIONS + ("lost_child", "other")
    assert len(RELATIONS) == 19 and RELATIONS[:6] == ("father", "mother", "full_sibling", "half_sibling",
                                                       "grandparent", "avuncular")
    assert {"half_sibling_paternal", "paternal_grandmother", "maternal_uncle_aunt", "child",
            "child_other_parent", "grandchild"} <= set(RELATIONS)
    assert Member("x", "half_sibling", None, np.zeros(1, np.uint16)).relation is Relation.HALF_SIBLING
    with pytest.raises(ValueError):
        Member("x", "cousin", None, np.zeros(1, np.uint16))


def test_role_keys_round_trip_and_reject_malformed():
    from reunion.genetics.roles import Role, parse_role, role_key
    assert role_key(Role.SIBLING, 2) == "sibling2" and role_key(Role.HALF_SIBLING, 1) == "halfsib1"
    assert role_key(Role.FATHER) == "father" and f"{Role.OTHER}" == "other"
    assert parse_role("sibling12") == (Role.SIBLING, 12) and parse_role("mother") == (Role.MOTHER, None)
    for bad in ("sibling", "father1", "sibling01", "uncle", ""):
        with pytest.raises(ValueError):
            parse_role(bad)
    with pytest.raises(ValueError):
        role_key(Role.SIBLING)


def test_family_hypothesis_role_keys_and_names(enc):
    codes = enc.encode_profile({"TH01": ("6", "7")})
    fam = Family("f", [Member("S2", "full_sibling", None, codes), Member("H1", "half_sibling", None, codes),
                       Member("S1", "full_sibling", None, codes), Member("M1", "mother", "F", codes)])
    hyp, used = fam.hypothesis()
    assert hyp == "nuclear" and list(used) == ["mother", "sibling1", "sibling2", "halfsib1"]
    assert [m.sample_id for m in used.values()] == ["M1", "S1", "S2", "H1"]
    hyp, used = Family("g", [Member("G", "grandparent", None, codes)]).hypothesis()
    assert hyp == "pair_grandparent" and list(used) == ["other"]


def test_hypothesis_names_and_kappa():
    from reunion.genetics.hypotheses import Hypothesis
    assert Hypothesis.pair("avuncular") is Hypothesis.PAIR_AVUNCULAR
    assert Hypothesis.PAIR_HALF_SIBLING.kappa == (0.5, 0.5, 0.0)
    assert Hypothesis.PAIR_FULL_SIBLING.kappa == (0.25, 0.5, 0.25)
    assert Hypothesis.TRIO.kappa is None and Hypothesis.TRIO.relation is None
    assert Hypothesis.PARENT_CHILD.sexes == ("U", "U") and Hypothesis.DUO_MOTHER.sexes == ("M", "F")


def test_at_locus_picks_the_formula_by_who_is_typed():
    from reunion.genetics.hypotheses import Hypothesis as H, LocusGenotypes as G, at_locus
    ab, cc = (A, B), (C, C)
    assert at_locus(H.NUCLEAR, G(ab, None, (cc,))) is H.NUCLEAR
    assert at_locus(H.NUCLEAR, G(None, None, (), (cc,))) is H.NUCLEAR
    assert at_locus(H.NUCLEAR, G(ab, cc)) is H.TRIO              # no sibling typed here
    assert at_locus(H.NUCLEAR, G(None, cc)) is H.DUO_MOTHER
    assert at_locus(H.TRIO, G(ab, None)) is H.DUO_FATHER
    assert at_locus(H.DUO_MOTHER, G(None, ab)) is H.DUO_MOTHER
    assert at_locus(H.KNOWN_MOTHER, G(ab, cc)) is H.KNOWN_MOTHER
    assert at_locus(H.KNOWN_MOTHER, G(ab, None)) is H.DUO_FATHER  # mother untyped: father's duo
    assert at_locus(H.KNOWN_MOTHER, G(None, cc)) is None           # father untyped: LR 1
    for h in (H.PAIR_GRANDPARENT, H.KAPPA, H.PARENT_CHILD):
        assert at_locus(h, G(ab, None, (), (), ab)) is h


def test_locus_lr_hand_values():
    from reunion.genetics.hypotheses import Hypothesis as H, LocusGenotypes as G, locus_lr
    from reunion.genetics.mutation import LocusModel
    t = LocusModel(P, I4, I4, P, P)
    # half siblings ab / ab: 1/2 + 1/2 (p_a + p_b)/(4 p_a p_b) = 0.5 + 0.5 * 0.3/0.08 = 2.375
    assert locus_lr(H.PAIR_HALF_SIBLING, G(other=(A, B)), (A, B), t) == approx(2.375)
    assert locus_lr(H.KAPPA, G(other=(A, B)), (A, B), t, kappa=(0.5, 0.5, 0.0)) == approx(2.375)
    # trio, mother untyped: the father's duo ab / ac -> 1/(4 p_a) = 2.5
    assert locus_lr(H.TRIO, G((A, C), None), (A, B), t) == approx(2.5)
    # mother's duo ab / bb -> 1/(2 p_b) = 2.5; known mother without the father: 1
    assert locus_lr(H.DUO_MOTHER, G(None, (B, B)), (A, B), t) == approx(2.5)
    assert locus_lr(H.KNOWN_MOTHER, G(None, (B, B)), (A, B), t) == 1.0
    # known mother bd, alleged father ac, child ab: the father gave a -> 1/(2 p_a) = 5
    assert locus_lr(H.KNOWN_MOTHER, G((A, C), (B, D)), (A, B), t) == approx(5.0)


def test_transmission_vector_forms():
    M = np.array([[0.9, 0.1, 0.0], [0.05, 0.9, 0.05], [0.0, 0.1, 0.9]])
    # parent (0, 2): 1/2 M[0] + 1/2 M[2] = [0.45, 0.1, 0.45]
    assert kinship.transmission((0, 2), M) == approx([0.45, 0.1, 0.45])
    # two parents at once, (0, 2) and (1, 1): [[.45, .1, .45], [.05, .9, .05]]; at alleles 1 and 2
    both = kinship.transmission((np.array([0, 1]), np.array([2, 1])), M)
    assert both == approx(np.array([[0.45, 0.1, 0.45], [0.05, 0.9, 0.05]]))
    at = kinship.transmission((np.array([0, 1]), np.array([2, 1])), M, np.array([1, 2]))
    assert at == approx([0.1, 0.05])
    assert kinship.mendelian((1, 1), 3).tolist() == [0.0, 1.0, 0.0]
    assert kinship.mendelian((0, 2), 3).tolist() == [0.5, 0.0, 0.5]


def test_mutation_models_sex_neutral_rate_and_locus_models(enc):
    R, Rm, Rf = 0.002, 0.004, 0.001
    models = MutationModels(MutationSettings(model="equal", rate=R, rate_male=Rm, rate_female=Rf,
                                             rate2=0.0, locus_rates={"FGA": 0.01}), enc)
    th = enc.index["TH01"]                      # 3 alleles: off-diagonal rate / 2
    assert models.rate("TH01", "U") == R and models.rate("TH01", "M") == Rm
    assert models.rate("FGA", "U") == 0.01 and models.rate("FGA", "F") == 0.01
    assert models.matrix(th, "U")[0] == approx([1 - R, R / 2, R / 2])
    t = models.locus(th, ("U", "U"))
    assert t.M_father is t.M_mother is models.matrix(th, "U")
    t = models.locus(th)
    assert t.M_father[0] == approx([1 - Rm, Rm / 2, Rm / 2])
    assert t.M_mother[0] == approx([1 - Rf, Rf / 2, Rf / 2])
    p = enc.loci[th].frequencies                # p.M(x) = p_x (1 - R) + (1 - p_x) R / 2
    assert t.pushed_father == approx(p * (1 - Rm) + (1 - p) * Rm / 2)
    i = models.identity(th)
    assert np.array_equal(i.M_father, np.eye(3)) and i.pushed_mother is p
    assert models.locus(th) is t                # cached


def test_theta_bound():
    from reunion.genetics import theta as T
    assert T.check_theta(0.0) == 0.0 and T.check_theta(0.999) == 0.999
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"outside \[0, 1\)"):
            T.check_theta(bad)


def test_member_keys_carry_the_relation():
    # a pedigree hypothesis' members are keyed by relation and number (issue 16, part 2):
    # parse_role reads them as MEMBERs, key_relation gives back the relation; today's keys unchanged
    from reunion.genetics.roles import Relation, Role, key_relation, member_key, parse_role
    assert member_key(Relation.PATERNAL_GRANDMOTHER, 1) == "paternal_grandmother1"
    assert member_key("maternal_uncle_aunt", 2) == "maternal_uncle_aunt2"
    assert parse_role("paternal_grandmother1") == (Role.MEMBER, 1)
    assert parse_role("half_sibling_paternal12") == (Role.MEMBER, 12)
    assert key_relation("paternal_uncle_aunt2") is Relation.PATERNAL_UNCLE_AUNT
    assert key_relation("child1") is Relation.CHILD
    for key, want in (("father", (Role.FATHER, None)), ("sibling2", (Role.SIBLING, 2)),
                      ("halfsib1", (Role.HALF_SIBLING, 1)), ("other", (Role.OTHER, None)),
                      ("member3", (Role.MEMBER, 3))):
        assert parse_role(key) == want
    assert key_relation("father") is Relation.FATHER and key_relation("sibling1") is Relation.FULL_SIBLING
    assert key_relation("halfsib1") is Relation.HALF_SIBLING and key_relation("other") is None
    for bad in ("paternal_grandmother", "cousin1", "paternal_grandmother01", "sibling", "x"):
        with pytest.raises(ValueError):
            parse_role(bad)
    with pytest.raises(ValueError):
        member_key(Relation.CHILD, 0)
