"""Exact family-level LR of a lost child in a nuclear family (Elston-Stewart peeling).

The family: a father and a mother, each typed or not, and any number of typed
full siblings and half siblings of the lost child (a half sibling shares the
father or the mother, 1/2 each, with an untested other parent). For a candidate genotype c of the lost child:

    H1: c is a further full child of this couple;
    H2: c is unrelated to the family (Hardy-Weinberg, theta 0).

    LR(c) = P(c | family data, H1) / P_HW(c),

    P(c | data) = sum_{gF, gM} P(gF) P(gM) prod_s P(s | gF, gM) P(c | gF, gM)
                  / sum_{gF, gM} P(gF) P(gM) prod_s P(s | gF, gM),

a typed parent fixing its genotype and an untyped one summed over all
genotypes with Hardy-Weinberg priors (Elston & Stewart 1971, Hum. Hered.
21:523; Egeland, Kling & Mostad, *Relationship Inference with Familias and R*
(2016), ch. 2-3; Evett & Weir, *Interpreting DNA Evidence* (1998), ch. 7).
P(child {a, b} | gF, gM) = t_F(a) t_M(b) + t_F(b) t_M(a) (a != b), t_F(a) t_M(a)
(a = b), with t from the mutation matrices (:func:`kinship.transmission`;
Familias/pedmut conventions, KINSHIP.md).

Special cases (tested to rtol 1e-12): both parents typed, no siblings ->
:func:`kinship.trio_child_table`; one parent typed, no siblings ->
:func:`kinship.duo_child_table` with the untyped parent's allele from p.M;
no parent typed, one sibling, no mutation -> :func:`kinship.pairwise_child_table`
with the full-sibling kappa (1/4, 1/2, 1/4).

Computation. With T_F [G_F, n] the transmission vectors of the father's
possible genotypes (G_F = 1 if typed, n(n+1)/2 if not) and pi_F their priors,
the sums factor over the ordered origin of each sibling's alleles
(sigma: which allele came from the father): for each sigma,
w_F = pi_F * prod_s T_F[:, f_s], and

    X[x, y] = sum_sigma (w_F @ T_F)[x] (w_M @ T_M)[y],   Z = sum_sigma sum(w_F) sum(w_M),

so P(c = ab | data) = (X[a, b] + X[b, a]) / Z, P(aa) = X[a, a] / Z. There are
2^(heterozygous siblings) origins; when that is larger than the dense joint
weight matrix W[gF, gM], the dense form X = T_F^T W T_M is used instead. For
n = 60 alleles and two untyped parents this is about a millisecond.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from reunion.encoding import genotype_pairs
from reunion.genetics.kinship import Genotype, _hw_table, transmission

__all__ = ["InconsistentFamilyError", "nuclear_child_table", "nuclear_lr"]


class InconsistentFamilyError(ValueError):
    """The typed family members cannot form this nuclear family under the model (P(data) = 0)."""


_UNTYPED_SIDES: dict[tuple[int, int], tuple] = {}


def _side(parent: Genotype | None, p: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prior [G], transmission [G, n]) of one parent: fixed if typed, all HW genotypes if not.

    The untyped side depends only on (p, M), which a run keeps per locus and sex: it is
    computed once per such pair of arrays (read-only, found again by identity).
    """
    if parent is not None:
        return np.ones(1), transmission(parent, M)[None, :]
    hit = _UNTYPED_SIDES.get((id(p), id(M)))
    if hit is None or hit[0] is not p or hit[1] is not M:
        lo, hi = genotype_pairs(len(p))
        prior, T = _hw_table(p, lo, hi), transmission((lo, hi), M)
        prior.flags.writeable = T.flags.writeable = False
        if len(_UNTYPED_SIDES) >= 512:
            _UNTYPED_SIDES.clear()
        hit = _UNTYPED_SIDES[(id(p), id(M))] = (p, M, prior, T)
    return hit[2], hit[3]


def _check(g: Genotype, n: int, what: str) -> Genotype:
    a, b = int(g[0]), int(g[1])
    if not (0 <= a < n and 0 <= b < n):
        raise ValueError(f"{what} genotype {g} has allele codes outside 0..{n - 1}")
    return a, b


def _joint(father: Genotype | None, mother: Genotype | None, siblings: Sequence[Genotype],
           p: np.ndarray, M_father: np.ndarray | None, M_mother: np.ndarray | None,
           method: str = "auto", half_siblings: Sequence[Genotype] = ()) -> tuple[np.ndarray, float]:
    """(X [n, n], Z): X[x, y] = P(data, father transmits x, mother y to c); Z = P(data).

    A half sibling shares the father or the mother (which one is unknown: 1/2 each) and
    has an untested other parent of the opposite sex, whose allele comes from p.M. Its
    factor 1/2 h_F(gF) + 1/2 h_M(gM) does not separate by parent, so half siblings
    use the dense summation.
    """
    p = np.asarray(p, dtype=np.float64)
    n = len(p)
    MF = np.eye(n) if M_father is None else np.asarray(M_father, dtype=np.float64)
    MM = np.eye(n) if M_mother is None else np.asarray(M_mother, dtype=np.float64)
    father = None if father is None else _check(father, n, "father")
    mother = None if mother is None else _check(mother, n, "mother")
    sibs = [_check(s, n, f"sibling {i + 1}") for i, s in enumerate(siblings)]
    halfs = [_check(s, n, f"half sibling {i + 1}") for i, s in enumerate(half_siblings)]
    pf, TF = _side(father, p, MF)
    pm, TM = _side(mother, p, MM)
    gf, gm = len(pf), len(pm)
    n_sigma = 1
    for a, b in sibs:
        n_sigma *= 1 if a == b else 2
    if method == "auto":
        method = "origins" if n_sigma * (gf + gm) <= gf * gm and not halfs else "dense"
    if halfs and method != "dense":
        raise ValueError("half siblings need the dense summation (method='dense' or 'auto')")
    if method == "origins":
        choices = [[(a, b)] if a == b else [(a, b), (b, a)] for a, b in sibs]
        sigma = np.array(list(itertools.product(*choices)), dtype=np.int64).reshape(n_sigma, len(sibs), 2)
        # w[sigma, g] = prior(g) * prod over siblings of T[g, allele from this parent]
        wf = np.repeat(pf[None, :], n_sigma, axis=0)
        wm = np.repeat(pm[None, :], n_sigma, axis=0)
        for k in range(len(sibs)):
            wf *= TF[:, sigma[:, k, 0]].T
            wm *= TM[:, sigma[:, k, 1]].T
        X = (wf @ TF).T @ (wm @ TM)
        Z = float(wf.sum(axis=1) @ wm.sum(axis=1))
    elif method == "dense":
        W = np.outer(pf, pm)
        for a, b in sibs:
            s = np.outer(TF[:, a], TM[:, b])
            if a != b:
                s += np.outer(TF[:, b], TM[:, a])
            W *= s
        pushed_f, pushed_m = p @ MF, p @ MM   # the half sibling's other parent is untested
        for a, b in halfs:
            via_f = TF[:, a] * pushed_m[b] + (TF[:, b] * pushed_m[a] if a != b else 0.0)
            via_m = TM[:, a] * pushed_f[b] + (TM[:, b] * pushed_f[a] if a != b else 0.0)
            W *= 0.5 * via_f[:, None] + 0.5 * via_m[None, :]
        X = TF.T @ W @ TM
        Z = float(W.sum())
    else:
        raise ValueError(f"unknown method {method!r}")
    if not Z > 0.0 or not np.isfinite(Z):
        raise InconsistentFamilyError(
            "the typed parents and siblings cannot form one nuclear family under this mutation "
            f"model (P(family data) = {Z}); use a mutation model, or check the family's samples")
    return X, Z


def nuclear_child_table(father: Genotype | None, mother: Genotype | None,
                        siblings: Sequence[Genotype], p: np.ndarray,
                        M_father: np.ndarray | None = None, M_mother: np.ndarray | None = None,
                        *, method: str = "auto", half_siblings: Sequence[Genotype] = ()) -> np.ndarray:
    """LR of every lost-child genotype as a full child of the couple; float64 [n(n+1)/2].

    ``father`` / ``mother``: allele codes, or None when untyped. ``siblings``:
    typed full siblings of the lost child. ``M_father`` / ``M_mother``: mutation
    matrices (None: identity). Genotype-index order as
    :func:`reunion.encoding.genotype_pairs`. Raises
    :class:`InconsistentFamilyError` when the family data is impossible.
    ``method`` ("auto", "origins", "dense") only chooses the summation order.
    """
    p = np.asarray(p, dtype=np.float64)
    X, Z = _joint(father, mother, siblings, p, M_father, M_mother, method, half_siblings)
    lo, hi = genotype_pairs(len(p))
    pc = np.where(lo == hi, X[lo, lo], X[lo, hi] + X[hi, lo]) / Z
    return pc / _hw_table(p, lo, hi)


def nuclear_lr(child: Genotype, father: Genotype | None, mother: Genotype | None,
               siblings: Sequence[Genotype], p: np.ndarray,
               M_father: np.ndarray | None = None, M_mother: np.ndarray | None = None,
               half_siblings: Sequence[Genotype] = ()) -> float:
    """:func:`nuclear_child_table` for one child genotype (scalar, same arithmetic)."""
    p = np.asarray(p, dtype=np.float64)
    return child_lr(child, *nuclear_joint(father, mother, siblings, p, M_father, M_mother, half_siblings), p)


def nuclear_joint(father: Genotype | None, mother: Genotype | None, siblings: Sequence[Genotype],
                  p: np.ndarray, M_father: np.ndarray | None, M_mother: np.ndarray | None,
                  half_siblings: Sequence[Genotype] = ()) -> tuple[np.ndarray, float]:
    """The family's part of :func:`nuclear_lr`: ``(X, Z)`` of :func:`_joint` (summation order
    chosen as there). It does not depend on the lost child, so a re-score of many candidates
    against one family computes it once; raises :class:`InconsistentFamilyError` likewise."""
    return _joint(father, mother, siblings, p, M_father, M_mother, "auto", half_siblings)


def child_lr(child: Genotype, X: np.ndarray, Z: float, p: np.ndarray) -> float:
    """LR of one lost-child genotype from the family's ``(X, Z)`` (:func:`nuclear_joint`)."""
    a, b = _check(child, len(p), "child")
    if a == b:
        return float(X[a, a] / Z / (p[a] * p[a]))
    return float((X[a, b] + X[b, a]) / Z / (2.0 * p[a] * p[b]))
