"""Hypotheses as data, and the one place that maps a hypothesis at a locus to its formula.

H1 is a :class:`Hypothesis`, H2 always "unrelated". At one locus the stated
hypothesis and the relatives typed there (:class:`LocusGenotypes`) select the
formula (:func:`at_locus`): a nuclear family without a typed sibling at this
locus scores as its trio or duo, a trio with one parent untyped as the duo with
the other. :func:`locus_lr` (one lost-child genotype) and :func:`locus_table`
(every lost-child genotype) then evaluate it (PEDIGREE through :mod:`reunion.genetics.engine`); :func:`parent_tables` and
:func:`parent_lrs` are the same trio / duo rows as arrays over many families or
pairs (the national-scale paths), with the same float64 operations in the same
order. Table building, the exact re-score (:class:`reunion.genetics.family.FamilyScorer`)
and ``reunion score`` (:mod:`reunion.score`) all go through here. PEDIGREE (any
registered family, every typed member jointly) is the pedigree engine
(:mod:`reunion.genetics.engine`); the closed forms below are its fast paths for the
family kinds where tests/test_engine.py shows them equal to it (rtol 1e-12).

Formulas: :mod:`reunion.genetics.kinship` (duo, trio, pairwise kappa),
:mod:`reunion.genetics.pedigree` (nuclear), :mod:`reunion.genetics.theta`
(theta > 0, mutation-free; the known mother).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

import numpy as np

from reunion.encoding import genotype_pairs
from reunion.genetics import engine, kinship, theta as theta_mod
from reunion.genetics.kinship import Genotype
from reunion.genetics.mutation import LocusModel, Sex
from reunion.genetics.pedigree import InconsistentFamilyError, child_lr, nuclear_child_table, nuclear_joint
from reunion.genetics.roles import Relation

__all__ = ["Hypothesis", "LocusGenotypes", "JointCache", "at_locus", "locus_lr", "locus_table",
           "parent_tables", "parent_lrs", "JOINT_CACHE"]

JOINT_CACHE = 5_000       # nuclear families' per-locus (X, Z) kept while re-scoring (n x n float64: 2-20 KB each)


class Hypothesis(StrEnum):
    """H1 of a score; the value is the name written to outputs (``hypothesis`` column).

    Registered families (:meth:`reunion.genetics.family.Family.hypothesis`): NUCLEAR,
    TRIO, DUO_FATHER, DUO_MOTHER, PAIR_<relation> (the pairwise kappa formula, the
    relative as its first genotype), PEDIGREE (every typed member jointly, through the
    pedigree engine :mod:`reunion.genetics.engine`). ``reunion score`` relationships: TRIO,
    PARENT_CHILD (a duo with sex-neutral rates), KNOWN_MOTHER (alleged father
    against an undisputed mother) and KAPPA (the pairwise formula with given
    coefficients, the query as its first genotype: the two orders are equal
    mathematically, not bit for bit, and each keeps its historical one).
    """

    NUCLEAR = "nuclear"
    TRIO = "trio"
    DUO_FATHER = "duo_father"
    DUO_MOTHER = "duo_mother"
    PAIR_FULL_SIBLING = "pair_full_sibling"
    PAIR_HALF_SIBLING = "pair_half_sibling"
    PAIR_GRANDPARENT = "pair_grandparent"
    PAIR_AVUNCULAR = "pair_avuncular"
    PARENT_CHILD = "parent-child"
    KNOWN_MOTHER = "trio-known-mother"
    KAPPA = "kappa"
    PEDIGREE = "pedigree"

    @classmethod
    def pair(cls, relation: Relation | str) -> "Hypothesis":
        """The pairwise hypothesis of a relative of ``relation``."""
        return cls(f"pair_{Relation(relation).value}")

    @property
    def relation(self) -> Relation | None:
        """The relative's relation of a PAIR_* hypothesis, else None."""
        return Relation(self.value[5:]) if self.value.startswith("pair_") else None

    @property
    def kappa(self) -> tuple[float, float, float] | None:
        """IBD coefficients of a PAIR_* hypothesis (KAPPA takes them from its caller)."""
        rel = self.relation
        return None if rel is None else kinship.KAPPA[kinship.RELATION_KAPPA[rel]]

    @property
    def sexes(self) -> tuple[Sex, Sex]:
        """Whose mutation rates the father and mother transmissions use."""
        return ("U", "U") if self is Hypothesis.PARENT_CHILD else ("M", "F")


class LocusGenotypes(NamedTuple):
    """The relatives of a hypothesis typed at one locus: allele-code pairs, None when untyped.

    ``father`` / ``mother`` (for PARENT_CHILD the one parent is ``father``), full and
    half ``siblings`` of the lost child (in role order), ``other``: the relative of a
    pairwise hypothesis; for PEDIGREE the family's ``pedigree`` (H1) and its ``typed``
    members here as (person id, genotype) in member order.
    """

    father: Genotype | None = None
    mother: Genotype | None = None
    siblings: tuple[Genotype, ...] = ()
    half_siblings: tuple[Genotype, ...] = ()
    other: Genotype | None = None
    pedigree: engine.Pedigree | engine.Mixture | None = None
    typed: tuple[tuple[str, Genotype], ...] = ()

    def parents(self) -> "LocusGenotypes":
        """Only the typed parents (the trio / duo the locus scores as without its siblings)."""
        return LocusGenotypes(self.father, self.mother)


class JointCache:
    """Nuclear families' per-locus ``(X, Z)`` (:func:`pedigree.nuclear_joint`), kept while
    re-scoring many candidates against one family (at most ``size`` entries)."""

    def __init__(self, size: int = JOINT_CACHE):
        self.size = size
        self._joints: dict[tuple, tuple[np.ndarray, float] | InconsistentFamilyError] = {}

    def get(self, key: object, g: LocusGenotypes, t: LocusModel) -> tuple[np.ndarray, float]:
        """``(X, Z)`` of ``g`` under ``t``; ``key`` names the locus (one model per cache)."""
        key = (key, g)
        joint = self._joints.get(key)
        if joint is None:
            if len(self._joints) >= self.size:
                self._joints.clear()
            try:
                joint = _joint(g, t)
            except InconsistentFamilyError as exc:
                joint = exc
            self._joints[key] = joint
        if isinstance(joint, InconsistentFamilyError):
            raise InconsistentFamilyError(*joint.args)     # a fresh one: no growing traceback
        return joint


def _joint(g: LocusGenotypes, t: LocusModel) -> tuple[np.ndarray, float]:
    if g.pedigree is not None:
        return engine.mixture_joint(g.pedigree, dict(g.typed), t)
    return nuclear_joint(g.father, g.mother, list(g.siblings), t.p, t.M_father, t.M_mother,
                         list(g.half_siblings))


def at_locus(hyp: Hypothesis, g: LocusGenotypes) -> Hypothesis | None:
    """The hypothesis that scores this locus, given who is typed here.

    NUCLEAR without a typed sibling here, and TRIO, DUO_FATHER, DUO_MOTHER, become
    TRIO / DUO_FATHER / DUO_MOTHER by the typed parents; KNOWN_MOTHER without the
    mother becomes the father's duo, and without the father None (LR 1: nothing
    speaks to paternity). Other hypotheses stay. Callers only ask where someone is typed.
    """
    if hyp is Hypothesis.NUCLEAR:
        if g.siblings or g.half_siblings:
            return hyp
    elif hyp is Hypothesis.KNOWN_MOTHER:
        if g.father is None:
            return None
        if g.mother is not None:
            return hyp
    elif hyp is not Hypothesis.TRIO and hyp is not Hypothesis.DUO_FATHER and hyp is not Hypothesis.DUO_MOTHER:
        return hyp                     # PARENT_CHILD, KAPPA, PAIR_*
    if g.father is not None and g.mother is not None:
        return Hypothesis.TRIO
    return Hypothesis.DUO_FATHER if g.father is not None else Hypothesis.DUO_MOTHER


def locus_lr(hyp: Hypothesis, g: LocusGenotypes, child: Genotype, t: LocusModel, theta: float = 0.0,
             kappa: tuple[float, float, float] | None = None, *,
             joints: JointCache | None = None, joint_key: object = None) -> float:
    """LR of the lost child (the query) ``child`` at one locus where someone of ``g`` is typed.

    ``t``: the locus' frequencies and mutation matrices (:meth:`MutationModels.locus`,
    or :meth:`MutationModels.identity` without mutation); ``theta`` > 0: the
    Balding-Nichols forms (mutation-free); ``kappa``: the coefficients of KAPPA (of
    PAIR_* too, where a caller scoring many loci passes ``hyp.kappa`` once; default it).
    NUCLEAR and PEDIGREE take the family's ``(X, Z)`` from ``joints`` when given. Raises
    :class:`InconsistentFamilyError` when a nuclear family or pedigree is impossible here;
    KNOWN_MOTHER gives NaN when the child cannot be the mother's.
    """
    h = at_locus(hyp, g)
    p = t.p
    if h is None:
        return 1.0
    if h is Hypothesis.NUCLEAR or h is Hypothesis.PEDIGREE:
        if h is Hypothesis.PEDIGREE:
            engine.check_no_theta(theta)
        joint = joints.get(joint_key, g, t) if joints is not None else _joint(g, t)
        return child_lr(child, *joint, p)
    if h is Hypothesis.KNOWN_MOTHER:
        return theta_mod.known_mother_trio_lr(child, g.mother, g.father, p, t.M_father, t.M_mother,
                                              t.pushed_father)
    if h is Hypothesis.TRIO:
        if theta > 0.0:
            return theta_mod.trio_lr_theta(child, g.father, g.mother, p, theta)
        return kinship.trio_lr(child, g.father, g.mother, p, t.M_father, t.M_mother)
    if h is Hypothesis.DUO_FATHER or h is Hypothesis.PARENT_CHILD:
        if theta > 0.0:
            return theta_mod.duo_lr_theta(child, g.father, p, theta)
        return kinship.duo_lr(child, g.father, p, t.M_father, t.pushed_mother)
    if h is Hypothesis.DUO_MOTHER:
        if theta > 0.0:
            return theta_mod.duo_lr_theta(child, g.mother, p, theta)
        return kinship.duo_lr(child, g.mother, p, t.M_mother, t.pushed_father)
    if h is Hypothesis.KAPPA:          # reunion score: the query first
        if theta > 0.0:
            return theta_mod.pairwise_lr_theta(child, g.other, p, kappa, theta)
        return kinship.pairwise_lr(child, g.other, p, kappa)
    kappa = h.kappa if kappa is None else kappa
    if theta > 0.0:                    # PAIR_*: the relative first
        return theta_mod.pairwise_lr_theta(g.other, child, p, kappa, theta)
    return kinship.pairwise_lr(g.other, child, p, kappa)


def locus_table(hyp: Hypothesis, g: LocusGenotypes, t: LocusModel, theta: float = 0.0) -> np.ndarray | None:
    """:func:`locus_lr` of a registered family's hypothesis for every lost-child genotype,
    float64 [n(n+1)/2] in genotype-index order; None where the nuclear family is
    impossible at this locus without mutation (the locus then has LR 1)."""
    h = at_locus(hyp, g)
    p = t.p
    if h is Hypothesis.PEDIGREE:
        try:
            return engine.lost_child_table(g.pedigree, dict(g.typed), t, theta)
        except InconsistentFamilyError:
            return None
    if h is Hypothesis.NUCLEAR:
        try:
            return nuclear_child_table(g.father, g.mother, list(g.siblings), p, t.M_father, t.M_mother,
                                       half_siblings=list(g.half_siblings))
        except InconsistentFamilyError:
            return None
    if h is Hypothesis.TRIO:
        if theta > 0.0:
            return theta_mod.trio_child_table_theta(g.father, g.mother, p, theta)
        return kinship.trio_child_table(g.father, g.mother, p, t.M_father, t.M_mother)
    if h is Hypothesis.DUO_FATHER:
        if theta > 0.0:
            return theta_mod.duo_child_table_theta(g.father, p, theta)
        return kinship.duo_child_table(g.father, p, t.M_father, t.pushed_mother)
    if h is Hypothesis.DUO_MOTHER:
        if theta > 0.0:
            return theta_mod.duo_child_table_theta(g.mother, p, theta)
        return kinship.duo_child_table(g.mother, p, t.M_mother, t.pushed_father)
    if h.relation is None:
        raise ValueError(f"no lost-child table for hypothesis {h.value!r}")
    if theta > 0.0:
        return theta_mod.pairwise_child_table_theta(g.other, p, h.kappa, theta)
    return kinship.pairwise_child_table(g.other, p, h.kappa)


# ----------------------------------------------------------------------- trio / duo as arrays
def parent_tables(f: np.ndarray, m: np.ndarray, t: LocusModel):
    """The TRIO / DUO_FATHER / DUO_MOTHER rows of :func:`locus_table` for N families at once.

    ``f``, ``m``: int64 [N] genotype indices of each family's father and mother at this
    locus (0: untyped). Yields ``(sel, tables)``: bool [N] the families of one case
    (both parents typed, father only, mother only) and their tables float64
    [sel.sum(), n(n+1)/2]; families with neither parent typed are in none.
    """
    lo, hi = genotype_pairs(len(t.p))
    g_lo = np.concatenate([[0], lo])   # genotype index -> allele codes (index 0 unused)
    g_hi = np.concatenate([[0], hi])
    hw = kinship._hw_table(t.p, lo, hi)
    tF = kinship.transmission((g_lo[f], g_hi[f]), t.M_father)        # [N, n]
    tM = kinship.transmission((g_lo[m], g_hi[m]), t.M_mother)
    both, only_f, only_m = (f > 0) & (m > 0), (f > 0) & (m == 0), (f == 0) & (m > 0)
    for sel, t1, t2 in ((both, tF, tM), (only_f, tF, t.pushed_mother), (only_m, tM, t.pushed_father)):
        if sel.any():
            yield sel, kinship._ordered_table(t1[sel], t2[sel] if t2.ndim == 2 else t2, lo, hi) / hw


def parent_lrs(c: np.ndarray, f: np.ndarray, m: np.ndarray, t: LocusModel,
               lo: np.ndarray, hi: np.ndarray, duos: bool = True):
    """The TRIO / DUO_* rows of :func:`locus_lr` for N (child, father, mother) at one locus.

    ``c``, ``f``, ``m``: genotype indices [N] (0: untyped); ``lo`` / ``hi``: genotype
    index -> allele codes (:data:`reunion.encoding.PAIR_LO` / ``PAIR_HI``). Returns
    float64 [N] ``(lr, lr_father, lr_mother)``: the LR of each pair's hypothesis at this
    locus (trio where both parents are typed, else the typed parent's duo) and the two
    duos (meaningful where the child and that parent are typed); with ``duos=False``
    only ``lr``.
    """
    ca, cb = lo[c], hi[c]
    same = ca == cb
    hw = kinship._hw_table(t.p, ca, cb)

    def ordered(t1, t2):    # kinship._ordered, from (t(a), t(b)) at each child's alleles
        return np.where(same, t1[0] * t2[0], t1[0] * t2[1] + t1[1] * t2[0])

    fa, ma = (lo[f], hi[f]), (lo[m], hi[m])
    tF = kinship.transmission(fa, t.M_father, ca), kinship.transmission(fa, t.M_father, cb)
    tM = kinship.transmission(ma, t.M_mother, ca), kinship.transmission(ma, t.M_mother, cb)
    both, only_f = (f != 0) & (m != 0), (f != 0) & (m == 0)
    with_f = ordered(tF, (t.pushed_mother[ca], t.pushed_mother[cb]))      # duo with the father
    with_m = ordered(tM, (t.pushed_father[ca], t.pushed_father[cb]))      # duo with the mother
    if not duos:
        return np.where(both, ordered(tF, tM), np.where(only_f, with_f, with_m)) / hw
    lr_f, lr_m = with_f / hw, with_m / hw
    return np.where(both, ordered(tF, tM) / hw, np.where(only_f, lr_f, lr_m)), lr_f, lr_m
