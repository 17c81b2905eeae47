"""Subpopulation correction (theta, Fst) and the known-mother trio.

Subpopulation correction
------------------------
Founder alleles of a pedigree are drawn in turn with the Balding-Nichols
sampling formula: after ``j - 1`` alleles of which ``m`` are ``a``, the next
allele is ``a`` with probability

    (m theta + (1 - theta) p_a) / (1 + (j - 2) theta)

(Balding & Nichols 1994, FSI 64:125-140; NRC II, *The Evaluation of Forensic
DNA Evidence* (1996), rec. 4.10 and eq. 4.10a/b; Evett & Weir, *Interpreting
DNA Evidence* (1998), ch. 4 and 7; Fung & Hu, *Statistical DNA Forensics*
(2008), ch. on kinship in subdivided populations). The sequence probability is
exchangeable, so it depends only on the multiset of alleles drawn.

Under H1 (related as stated, IBD state i with probability kappa_i) the two
people's 4 alleles come from 4 - i founder alleles, drawn jointly; under H2
(unrelated) all 4 alleles are drawn jointly, so the
two people are corrected together (NRC II 4.10 style). Hence

    LR = kappa0 + kappa1 P(q, r | IBD 1) / P(q, r | IBD 0)
                + kappa2 P(q, r | IBD 2) / P(q, r | IBD 0),

which at theta = 0 is :func:`reunion.genetics.kinship.pairwise_lr`. For the
parent-child pair ab / ac it gives PI = (1 + 2 theta) / (4 (theta + (1 - theta) p_a))
(KINSHIP.md), for ab / bb (1 + 2 theta) / (2 (2 theta + (1 - theta) p_b)) and for
aa / aa (1 + 2 theta) / (3 theta + (1 - theta) p_a); for identity (kappa2 = 1)
it is the reciprocal of the NRC II eq. 4.10 conditional match probability.

Theta is not combined with mutation here (KINSHIP.md conventions for that
combination are not settled): these functions are mutation-free.

Known mother
------------
:func:`known_mother_trio_lr`: a child with an undisputed mother against an
alleged father, theta 0, with mutation (Familias/pedmut conventions as in
:mod:`reunion.genetics.kinship`: every transmission is mutated, the untested
father's too, whose allele is drawn from p.M_father). H1: F and M are the
parents; H2: M is the mother, the father an untested unrelated man.
Without mutation this is the classical formula (KINSHIP.md; Gjertson et al.
2007, FSI:Genetics 1:223-231; Evett & Weir 1998 ch. 7):
child ab: [t_M(a) t_F(b) + t_M(b) t_F(a)] / [t_M(a) p_b + t_M(b) p_a];
child aa: t_M(a) t_F(a) / (t_M(a) p_a).

Table builders (``*_child_table*``) give the LR for every genotype of the
varying person at once, float64 [n(n+1)/2] in genotype-index order
(:func:`reunion.encoding.genotype_pairs`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reunion.encoding import genotype_pairs
from reunion.genetics.kinship import KAPPA, Genotype, _ordered, _ordered_table, mendelian, transmission

__all__ = [
    "bn_sequence_probability", "joint_genotype_probability", "match_probability",
    "pairwise_lr_theta", "duo_lr_theta", "trio_lr_theta",
    "pairwise_child_table_theta", "duo_child_table_theta", "trio_child_table_theta",
    "known_mother_trio_lr", "known_mother_child_table", "THETA_MAX", "check_theta",
]

_PARENT_CHILD = KAPPA["parent-child"]
#: theta must lie in [0, THETA_MAX): the Balding-Nichols draws are defined there.
THETA_MAX = 1.0
#: the most a run or a reviewer may configure: published Fst of human populations stay below
#: ~0.05 and NRC II recommends 0.01-0.03; beyond 0.25 a value is a typing error
THETA_CONFIGURABLE = 0.25


def check_theta(theta: float, what: str = "theta =") -> float:
    """``theta`` as a float; ValueError (starting with ``what``) outside [0, THETA_MAX) or NaN."""
    theta = float(theta)
    if not 0.0 <= theta < THETA_MAX:
        raise ValueError(f"{what} {theta} is outside [0, {THETA_MAX:g}); typical values are 0.01 to 0.03")
    return theta


def _orderings(g: Genotype) -> list[tuple[int, int]]:
    a, b = int(g[0]), int(g[1])
    return [(a, a)] if a == b else [(a, b), (b, a)]


# --------------------------------------------------------------------- Balding-Nichols draws
def bn_sequence_probability(alleles: Sequence[int], p: np.ndarray, theta: float) -> float:
    """Probability of an ordered sequence of founder alleles (Balding & Nichols 1994).

    The j-th allele (1-based) is ``a`` with probability
    (m theta + (1 - theta) p_a) / (1 + (j - 2) theta), m the copies of ``a``
    among the j - 1 drawn before. At theta = 0 this is the product of the p's.
    """
    theta = check_theta(theta)
    counts: dict[int, int] = {}
    prob = 1.0
    for k, a in enumerate(alleles):  # k = alleles drawn before = j - 1
        a = int(a)
        m = counts.get(a, 0)
        prob *= (m * theta + (1.0 - theta) * p[a]) / (1.0 + (k - 1) * theta)
        counts[a] = m + 1
    return prob


def joint_genotype_probability(genotypes: Sequence[Genotype], p: np.ndarray, theta: float) -> float:
    """P(unordered genotypes of unrelated people, drawn jointly), NRC II 4.10 style.

    The product of the orderings (2 per heterozygote) and the Balding-Nichols
    probability of all their alleles in one sequence.
    """
    alleles: list[int] = []
    factor = 1.0
    for g in genotypes:
        alleles += [int(g[0]), int(g[1])]
        factor *= 1.0 if g[0] == g[1] else 2.0
    return factor * bn_sequence_probability(alleles, p, theta)


def match_probability(g: Genotype, p: np.ndarray, theta: float) -> float:
    """NRC II (1996) eq. 4.10: P(a second, unrelated person has g | a first has g).

    aa: [2 theta + (1-theta) p_a][3 theta + (1-theta) p_a] / [(1+theta)(1+2 theta)];
    ab: 2 [theta + (1-theta) p_a][theta + (1-theta) p_b] / [(1+theta)(1+2 theta)].
    """
    return joint_genotype_probability([g, g], p, theta) / joint_genotype_probability([g], p, theta)


# --------------------------------------------------------------------- pairwise (kappa) with theta
def pairwise_lr_theta(q: Genotype, r: Genotype, p: np.ndarray,
                      kappa: tuple[float, float, float], theta: float) -> float:
    """Pairwise kinship LR with subpopulation correction (Fung & Hu 2008; Balding & Nichols 1994).

    By explicit enumeration of the founder alleles. IBD 0: all four alleles
    drawn jointly (this is also H2). IBD 1: Q = {S, X}, R = {S, Y} with the
    three founder alleles S, X, Y drawn jointly, summed over the ordered
    assignments of each genotype's alleles to (IBD, non-IBD). IBD 2: R = Q,
    two founder alleles. Reduces to :func:`kinship.pairwise_lr` at theta = 0.
    """
    k0, k1, k2 = kappa
    den = joint_genotype_probability([q, r], p, theta)
    ibd1 = 0.0
    for qi, qn in _orderings(q):
        for ri, rn in _orderings(r):
            if qi == ri:
                ibd1 += bn_sequence_probability([qi, qn, rn], p, theta)
    ibd2 = joint_genotype_probability([q], p, theta) if sorted(q) == sorted(r) else 0.0
    return k0 + (k1 * ibd1 + k2 * ibd2) / den


def duo_lr_theta(child: Genotype, parent: Genotype, p: np.ndarray, theta: float) -> float:
    """Parent-child (paternity index) with theta, no mutation: the pairwise LR with kappa (0, 1, 0).

    Child ab, parent ac: (1 + 2 theta) / (4 (theta + (1 - theta) p_a)) (KINSHIP.md).
    """
    return pairwise_lr_theta(child, parent, p, _PARENT_CHILD, theta)


def trio_lr_theta(child: Genotype, father: Genotype, mother: Genotype, p: np.ndarray,
                  theta: float) -> float:
    """Trio LR (couple vs both unrelated to the child) with theta, no mutation.

    H1: father and mother are founders (4 alleles drawn jointly), the child's
    alleles are Mendelian transmissions. H2: the 6 alleles of the three people
    drawn jointly. LR = P(F, M) T(c | F, M) / P(F, M, C) (Balding & Nichols
    1994; Fung & Hu 2008). Reduces to :func:`kinship.trio_lr` (M = I) at theta 0.
    """
    t = _ordered(mendelian(father, len(p)), mendelian(mother, len(p)), child)
    if t == 0.0:
        return 0.0
    return t * joint_genotype_probability([father, mother], p, theta) \
        / joint_genotype_probability([father, mother, child], p, theta)


# --------------------------------------------------------------------- tables with theta
def pairwise_child_table_theta(q: Genotype, p: np.ndarray, kappa: tuple[float, float, float],
                               theta: float) -> np.ndarray:
    """:func:`pairwise_lr_theta` (relative q fixed) for every genotype r; float64 [n(n+1)/2].

    Conditional form: with pi(x) = (m_q(x) theta + (1-theta) p_x) / (1 + theta)
    (the next founder allele given q's two), and u = 1/2 per allele of q (1 for
    a homozygote's allele),
    P(r | q, IBD0) = c_r pi(r1) (m_{q+r1}(r2) theta + (1-theta) p_r2) / (1 + 2 theta),
    P(r | q, IBD1) = sum over ordered (ri, rn) forming r of u(ri) pi(rn),
    P(r | q, IBD2) = [r == q].
    """
    theta = check_theta(theta)
    n = len(p)
    lo, hi = genotype_pairs(n)
    k0, k1, k2 = kappa
    m = np.zeros(n)
    m[q[0]] += 1.0
    m[q[1]] += 1.0
    u = 0.5 * m
    pi = (m * theta + (1.0 - theta) * p) / (1.0 + theta)
    second = (m[hi] + (lo == hi)) * theta + (1.0 - theta) * p[hi]
    den = np.where(lo == hi, 1.0, 2.0) * pi[lo] * second / (1.0 + 2.0 * theta)
    ibd1 = _ordered_table(u, pi, lo, hi)
    same = (lo == min(q)) & (hi == max(q))
    return k0 + (k1 * ibd1 + k2 * same) / den


def duo_child_table_theta(parent: Genotype, p: np.ndarray, theta: float) -> np.ndarray:
    """:func:`duo_lr_theta` for every child genotype; float64 [n(n+1)/2]."""
    return pairwise_child_table_theta(parent, p, _PARENT_CHILD, theta)


def trio_child_table_theta(father: Genotype, mother: Genotype, p: np.ndarray,
                           theta: float) -> np.ndarray:
    """:func:`trio_lr_theta` for every child genotype; float64 [n(n+1)/2].

    P(c | F, M alleles) under H2 = c_c pi4(c1) pi5(c2 | c1), pi4(x) =
    (m(x) theta + (1-theta) p_x) / (1 + 3 theta), pi5(x | c1) =
    ((m(x) + [x = c1]) theta + (1-theta) p_x) / (1 + 4 theta), m counting the
    parents' four alleles.
    """
    theta = check_theta(theta)
    n = len(p)
    lo, hi = genotype_pairs(n)
    tf, tm = mendelian(father, n), mendelian(mother, n)
    m = 2.0 * (tf + tm)
    pi4 = (m * theta + (1.0 - theta) * p) / (1.0 + 3.0 * theta)
    second = ((m[hi] + (lo == hi)) * theta + (1.0 - theta) * p[hi]) / (1.0 + 4.0 * theta)
    den = np.where(lo == hi, 1.0, 2.0) * pi4[lo] * second
    return _ordered_table(tf, tm, lo, hi) / den


# --------------------------------------------------------------------- known mother
def known_mother_trio_lr(child: Genotype, mother: Genotype, father: Genotype, p: np.ndarray,
                         M_father: np.ndarray | None = None, M_mother: np.ndarray | None = None,
                         pushed_father: np.ndarray | None = None) -> float:
    """Alleged father against a child whose mother is known (undisputed), theta 0, with mutation.

    LR = sum over ordered (c1 from M, c2 from F) forming the child of
    t_M(c1) t_F(c2), divided by the same sum with t_F replaced by
    ``pushed_father`` = p.M_father (the untested father of H2; default
    computed). ``None`` matrices mean no mutation (identity). Without mutation:
    child ab, mother ac, father bd -> 1/(2 p_b); child ab, mother ab, father
    ac -> 1/(2 (p_a + p_b)) (Evett & Weir 1998 ch. 7; Gjertson et al. 2007).

    Returns NaN when the child cannot be the mother's (denominator 0, only
    possible without a mutation model): the LR is then undefined.
    """
    n = len(p)
    MF = np.eye(n) if M_father is None else M_father
    MM = np.eye(n) if M_mother is None else M_mother
    pushed = p @ MF if pushed_father is None else pushed_father
    tm = transmission(mother, MM)
    num = _ordered(tm, transmission(father, MF), child)
    den = _ordered(tm, pushed, child)
    return float(num / den) if den > 0.0 else float("nan")


def known_mother_child_table(mother: Genotype, father: Genotype, p: np.ndarray,
                             M_father: np.ndarray | None = None, M_mother: np.ndarray | None = None,
                             pushed_father: np.ndarray | None = None) -> np.ndarray:
    """:func:`known_mother_trio_lr` for every child genotype; float64 [n(n+1)/2], NaN where undefined."""
    n = len(p)
    MF = np.eye(n) if M_father is None else M_father
    MM = np.eye(n) if M_mother is None else M_mother
    pushed = p @ MF if pushed_father is None else pushed_father
    lo, hi = genotype_pairs(n)
    tm = transmission(mother, MM)
    num = _ordered_table(tm, transmission(father, MF), lo, hi)
    den = _ordered_table(tm, pushed, lo, hi)
    out = np.full(num.shape, np.nan)
    ok = den > 0.0
    out[ok] = num[ok] / den[ok]
    return out
