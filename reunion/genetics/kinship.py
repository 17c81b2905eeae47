"""Per-locus likelihood ratios, direct and as lost-child tables.

H1: the stated relationship; H2: unrelated. Genotypes are pairs of allele
codes into ``p`` (the locus's frequencies, float64 [n]). Sources:
Evett & Weir, *Interpreting DNA Evidence* (1998), ch. 7; Butler, *Advanced
Topics in Forensic DNA Typing: Interpretation* (2015), ch. on kinship;
Gjertson et al. (2007), FSI:Genetics 1:223-231 (paternity index, trio);
Familias/pedmut conventions for mutation (KINSHIP.md): every transmission under
H1 is mutated, the untested parent's too (its allele is drawn from p.M).

Two forms of each formula:
- scalar functions (``duo_lr``, ``trio_lr``, ``pairwise_lr``) used for the exact
  re-score and its per-locus breakdown;
- table builders (``*_child_table``) giving the LR for every possible genotype
  of the lost child at once, float64 [n(n+1)/2] in genotype-index order
  (slot g-1 for index g, see :mod:`reunion.encoding`).
"""

from __future__ import annotations

import numpy as np

from reunion.encoding import genotype_pairs
from reunion.genetics.roles import Relation

Genotype = tuple[int, int]

#: IBD coefficients (kappa0, kappa1, kappa2) of the pairwise relationships (KINSHIP.md).
KAPPA: dict[str, tuple[float, float, float]] = {
    "parent-child": (0.0, 1.0, 0.0),
    "full-sibling": (0.25, 0.5, 0.25),
    "half-sibling": (0.5, 0.5, 0.0),
    "grandparent": (0.5, 0.5, 0.0),
    "avuncular": (0.5, 0.5, 0.0),
    "first-cousin": (0.75, 0.25, 0.0),
    "unrelated": (1.0, 0.0, 0.0),
}

#: Pairwise relationship of a registered relative to the lost child, by contract relation.
RELATION_KAPPA: dict[Relation, str] = {
    Relation.FATHER: "parent-child",
    Relation.MOTHER: "parent-child",
    Relation.FULL_SIBLING: "full-sibling",
    Relation.HALF_SIBLING: "half-sibling",
    Relation.GRANDPARENT: "grandparent",
    Relation.AVUNCULAR: "avuncular",
}


def transmission(parent, M: np.ndarray, at=None) -> np.ndarray:
    """The transmission vector t_X(a) = 1/2 M(y1 -> a) + 1/2 M(y2 -> a) of a parent (y1, y2).

    ``parent``: two allele codes, ints or int arrays [N] (N parents at once); ``M``
    float64 [n, n] (rows: the parent's allele). Returns float64 [n] ([N, n]) or, with
    ``at`` (allele codes [N]), only t_X(at) float64 [N]. The one home of this vector:
    every formula with a typed or enumerated parent takes it from here.
    """
    y1, y2 = parent
    if at is None:
        return 0.5 * (M[y1] + M[y2])
    return 0.5 * (M[y1, at] + M[y2, at])


def mendelian(parent: Genotype, n: int) -> np.ndarray:
    """:func:`transmission` without mutation (M = I): 1/2 per allele of ``parent``, 1 for a
    homozygote's; float64 [n]."""
    t = np.zeros(n)
    t[parent[0]] += 0.5
    t[parent[1]] += 0.5
    return t


def hw(child: Genotype, p: np.ndarray) -> float:
    """Hardy-Weinberg probability of an unordered genotype."""
    a, b = child
    return p[a] * p[a] if a == b else 2.0 * p[a] * p[b]


def _ordered(t1: np.ndarray, t2: np.ndarray, child: Genotype) -> float:
    """Sum over ordered (c1 from source 1, c2 from source 2) forming the child."""
    a, b = child
    return t1[a] * t2[a] if a == b else t1[a] * t2[b] + t1[b] * t2[a]


def duo_lr(child: Genotype, parent: Genotype, p: np.ndarray,
           M_parent: np.ndarray, pushed_other: np.ndarray) -> float:
    """Parent-child (duo) LR, the paternity index with mutation.

    LR = sum over ordered (c1 from the alleged parent, c2 from the untested
    parent) of t_X(c1) (p.M)(c2), divided by P_HW(child). ``pushed_other`` is
    p.M of the untested parent's sex. With M = I this is the classical PI:
    child ab, parent ac -> 1/(4 p_a) (Evett & Weir 1998, table 7.x).
    """
    return _ordered(transmission(parent, M_parent), pushed_other, child) / hw(child, p)


def trio_lr(child: Genotype, father: Genotype, mother: Genotype, p: np.ndarray,
            M_father: np.ndarray, M_mother: np.ndarray) -> float:
    """Trio LR: the couple are the child's parents vs both unrelated.

    LR = [t_F(a) t_M(b) + t_F(b) t_M(a)] / (2 p_a p_b) for child ab,
    t_F(a) t_M(a) / p_a^2 for child aa (KINSHIP.md; Gjertson et al. 2007).
    """
    return _ordered(transmission(father, M_father), transmission(mother, M_mother), child) / hw(child, p)


def pairwise_lr(q: Genotype, r: Genotype, p: np.ndarray, kappa: tuple[float, float, float]) -> float:
    """LR = kappa0 + kappa1 X1 + kappa2 X2 (Evett & Weir 1998, ch. 7), no mutation, theta 0.

    X1 = P(r | one allele IBD with q) / P_HW(r), X2 = [r == q] / P_HW(r).
    """
    k0, k1, k2 = kappa
    ibd1 = 0.5 * _ibd1_given(q[0], r, p) + 0.5 * _ibd1_given(q[1], r, p)
    same = sorted(q) == sorted(r)
    return k0 + (k1 * ibd1 + k2 * (1.0 if same else 0.0)) / hw(r, p)


def _ibd1_given(q_allele: int, r: Genotype, p: np.ndarray) -> float:
    a, b = r
    if a == b:
        return p[a] if a == q_allele else 0.0
    return (p[b] if a == q_allele else 0.0) + (p[a] if b == q_allele else 0.0)


# ----------------------------------------------------------------------- lost-child tables
def _hw_table(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.where(lo == hi, p[lo] * p[hi], 2.0 * p[lo] * p[hi])


def _ordered_table(t1: np.ndarray, t2: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:func:`_ordered` for every genotype (lo, hi); t1, t2 [..., n] -> [..., n(n+1)/2]."""
    return np.where(lo == hi, t1[..., lo] * t2[..., lo],
                    t1[..., lo] * t2[..., hi] + t1[..., hi] * t2[..., lo])


def duo_child_table(parent: Genotype, p: np.ndarray, M_parent: np.ndarray,
                    pushed_other: np.ndarray) -> np.ndarray:
    """:func:`duo_lr` for every child genotype; float64 [n(n+1)/2]."""
    lo, hi = genotype_pairs(len(p))
    return _ordered_table(transmission(parent, M_parent), pushed_other, lo, hi) / _hw_table(p, lo, hi)


def trio_child_table(father: Genotype, mother: Genotype, p: np.ndarray,
                     M_father: np.ndarray, M_mother: np.ndarray) -> np.ndarray:
    """:func:`trio_lr` for every child genotype; float64 [n(n+1)/2]."""
    lo, hi = genotype_pairs(len(p))
    tf = transmission(father, M_father)
    tm = transmission(mother, M_mother)
    return _ordered_table(tf, tm, lo, hi) / _hw_table(p, lo, hi)


def pairwise_child_table(q: Genotype, p: np.ndarray, kappa: tuple[float, float, float]) -> np.ndarray:
    """:func:`pairwise_lr` (relative q fixed) for every genotype r; float64 [n(n+1)/2]."""
    n = len(p)
    lo, hi = genotype_pairs(n)
    k0, k1, k2 = kappa
    onehot = mendelian(q, n)   # P(r | one allele IBD): the IBD allele is q1 or q2, 1/2 each
    ibd1 = np.where(lo == hi, onehot[lo] * p[lo], onehot[lo] * p[hi] + onehot[hi] * p[lo])
    same = (lo == min(q)) & (hi == max(q))
    return k0 + (k1 * ibd1 + k2 * same) / _hw_table(p, lo, hi)
