"""Families as lost-child tables, and the exact re-score of a candidate.

A registered family is scored by its strongest available hypothesis
(:class:`reunion.genetics.hypotheses.Hypothesis`):

- ``nuclear`` when full or half siblings of the lost child are typed: the exact
  family-level LR over the couple (typed or not), every typed full sibling and
  every typed half sibling (:mod:`reunion.genetics.pedigree`, Elston-Stewart peeling);
- ``trio`` when a father and a mother are typed, ``duo_father`` or
  ``duo_mother`` with one parent;
- ``pedigree`` when a member other than the parents, full and half siblings is
  typed and the family has two or more typed members, or that member's relation has
  a side or is a descendant of the lost person (``paternal_grandmother``, ``child``, ...):
  every typed member jointly, through the pedigree engine
  (:mod:`reunion.genetics.engine`; relation codes to a pedigree by
  :func:`reunion.genetics.engine.relatives_pedigree`);
- otherwise (one typed ``grandparent`` or ``avuncular``) ``pair_<relation>``
  (pairwise IBD formula, equal to the engine without mutation).
A family registered as an explicit pedigree (the samples' ``father_id`` / ``mother_id``, a
``lost_child`` member; :mod:`reunion.genetics.registration`) is always ``pedigree``, over its
links, with every typed member; without the engine (theta > 0, ``scoring.pedigree`` false) it
has no hypothesis and is not scored.
With theta > 0 (the engine is theta-free) the ``pedigree`` hypothesis is not used:
families are scored as before, by the relative typed at the most loci.

In a trio, a locus where one parent is untyped scores as the duo with the
other; a locus where no member used is typed contributes LR 1 and is not
compared (:func:`reunion.genetics.hypotheses.at_locus`). Inconsistent loci are
counted against the typed parents without mutation (siblings can share no
allele with a true full sibling).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from reunion.encoding import UNTYPED, Encoding
from reunion.genetics import engine
from reunion.genetics.hypotheses import Hypothesis, JointCache, LocusGenotypes, locus_lr, locus_table
from reunion.genetics.mutation import LocusModel, MutationModels
from reunion.genetics.pedigree import InconsistentFamilyError
from reunion.genetics.registration import explicit_pedigree
from reunion.genetics.roles import Relation, Role, member_key, parse_role, role_key

PARENT_HYPOTHESES = (Hypothesis.TRIO, Hypothesis.DUO_FATHER, Hypothesis.DUO_MOTHER)
#: relations the nuclear / trio / duo closed forms use
NUCLEAR_RELATIONS = frozenset((Relation.FATHER, Relation.MOTHER, Relation.FULL_SIBLING, Relation.HALF_SIBLING))
#: relations a one-relative family may still be scored by with the pairwise kappa formula
PAIR_RELATIONS = frozenset((Relation.GRANDPARENT, Relation.AVUNCULAR))
#: a sided relation's side-less pairwise hypothesis, where theta (no engine) needs one
_SIDELESS = {Relation.HALF_SIBLING_PATERNAL: Relation.HALF_SIBLING, Relation.HALF_SIBLING_MATERNAL: Relation.HALF_SIBLING,
             Relation.PATERNAL_GRANDFATHER: Relation.GRANDPARENT, Relation.PATERNAL_GRANDMOTHER: Relation.GRANDPARENT,
             Relation.MATERNAL_GRANDFATHER: Relation.GRANDPARENT, Relation.MATERNAL_GRANDMOTHER: Relation.GRANDPARENT,
             Relation.PATERNAL_UNCLE_AUNT: Relation.AVUNCULAR, Relation.MATERNAL_UNCLE_AUNT: Relation.AVUNCULAR}
JOINT_CACHE_PEDIGREES = 10_000   # families' pedigrees (H1) kept by a scorer
LOST_ID = "~lost_child"   # the lost child's person id in a family's pedigree (sample ids do not start with ~)
# role keys as plain str (hot paths: enum attribute access and str-subclass dict keys are slower)
_MISSING, _FATHER, _MOTHER, _OTHER = (role_key(r) for r in (Role.MISSING, Role.FATHER, Role.MOTHER, Role.OTHER))


@dataclass
class Member:
    """A registered member. ``father`` / ``mother``: sample ids of its parents in a family
    registered as an explicit pedigree (:mod:`reunion.genetics.registration`), else None;
    ``lost_sex``: the lost child's sex as this row registers it (the samples' ``lost_sex``);
    ``pedigree``: set on the members a ``pedigree`` hypothesis of an explicit family uses (its
    H1, :meth:`Family.hypothesis`)."""

    sample_id: str
    relation: Relation    # a plain string is checked and converted
    sex: str | None
    codes: np.ndarray     # uint16 [L] genotype indices
    father: str | None = None
    mother: str | None = None
    lost_sex: str | None = None
    pedigree: engine.Pedigree | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.relation = Relation(self.relation)

    @property
    def n_typed(self) -> int:
        return int(np.count_nonzero(self.codes))


#: (hypothesis, members used by role key) as :meth:`Family.hypothesis` returns it.
Used = dict[str, Member]


@dataclass
class Family:
    family_id: str
    members: list[Member]

    @property
    def explicit(self) -> bool:
        """Registered as an explicit pedigree (links, a ``lost_child`` or an ``other`` member)."""
        return any(m.father or m.mother or m.relation in (Relation.LOST_CHILD, Relation.OTHER)
                   for m in self.members)

    @property
    def lost_sex(self) -> str | None:
        """The lost child's sex, 'M' / 'F', where registered (the ``lost_child`` row's sex, or a
        ``lost_sex`` value), else None."""
        for m in self.members:
            if m.relation is Relation.LOST_CHILD and m.sex in ("M", "F"):
                return m.sex
        return next((m.lost_sex for m in self.members if m.lost_sex in ("M", "F")), None)

    def hypothesis(self, siblings: bool = True, pedigree: bool = False) -> tuple[Hypothesis, Used] | None:
        """(hypothesis, members used by role key) or None when nobody is typed.

        Role keys: ``father``, ``mother``, ``sibling1``.., ``halfsib1``.. (in sample_id
        order), ``other``, and for ``pedigree`` the members but the first father and mother,
        in sample_id order, keyed by relation and number within it (``paternal_grandmother1``,
        ``paternal_uncle_aunt1``, ``paternal_uncle_aunt2``: :func:`reunion.genetics.roles.member_key`)
        (:func:`reunion.genetics.roles.role_key`).
        With ``siblings=False`` (theta runs) typed full siblings do not make a ``nuclear``
        hypothesis; they are used only when no parent is typed. With ``pedigree=True``
        families beyond the nuclear menu get the ``pedigree`` hypothesis (module docstring);
        with ``pedigree=False`` (``scoring.pedigree: false``; theta runs) they are scored by the relative
        typed at the most loci (a sided relation as its side-less pairwise one; ValueError
        naming the pedigree engine where there is none, e.g. a first cousin). A family registered
        as an explicit pedigree: :meth:`_explicit_hypothesis`.
        """
        # the typed members in sample_id order once (stable: the same order as sorting each relation's)
        typed_all = sorted((m for m in self.members if m.codes.any()), key=lambda m: m.sample_id)

        def typed(rel: Relation) -> list[Member]:
            return [m for m in typed_all if m.relation == rel]
        if self.explicit:
            return self._explicit_hypothesis(pedigree)
        fathers, mothers = typed(Relation.FATHER), typed(Relation.MOTHER)
        father, mother = (fathers or [None])[0], (mothers or [None])[0]
        sibs, halfs = typed(Relation.FULL_SIBLING), typed(Relation.HALF_SIBLING)
        parents = {_FATHER: father, _MOTHER: mother}
        parents = {k: v for k, v in parents.items() if v is not None}
        extended = [m for m in typed_all if m.relation not in NUCLEAR_RELATIONS]
        if pedigree and extended and (len(typed_all) > 1 or extended[0].relation not in PAIR_RELATIONS):
            used = _pedigree_used(typed_all, parents)
            lost_sex = self.lost_sex                  # registered on any row: each member used carries it
            if lost_sex is not None:
                used = {k: replace(m, lost_sex=lost_sex) for k, m in used.items()}
            return Hypothesis.PEDIGREE, used
        if (sibs or halfs) and siblings:
            used: Used = dict(parents)
            used.update({role_key(Role.SIBLING, i): m for i, m in enumerate(sibs, start=1)})
            used.update({role_key(Role.HALF_SIBLING, i): m for i, m in enumerate(halfs, start=1)})
            return Hypothesis.NUCLEAR, used
        if father and mother:
            return Hypothesis.TRIO, parents
        if father:
            return Hypothesis.DUO_FATHER, parents
        if mother:
            return Hypothesis.DUO_MOTHER, parents
        others = [m for m in self.members if m.n_typed]
        if not others:
            return None
        # the relative typed at the most loci among those with a pairwise formula (a cousin or
        # a child of the lost person has none: only where nobody else is typed is that an error)
        formula = [m for m in others if _SIDELESS.get(m.relation, m.relation) in PAIR_RELATIONS | NUCLEAR_RELATIONS]
        best = max(formula or others, key=lambda m: (m.n_typed, [-ord(c) for c in m.sample_id]))
        rel = _SIDELESS.get(best.relation, best.relation)
        if rel not in PAIR_RELATIONS and rel not in NUCLEAR_RELATIONS:
            raise ValueError(f"family {self.family_id}: a {best.relation.value} has no pairwise formula and "
                             "needs the pedigree engine (theta = 0, FamilyScorer(pedigree=True)); the engine "
                             "does not combine with theta")
        return Hypothesis.pair(rel), {_OTHER: best}

    def _explicit_hypothesis(self, pedigree: bool) -> tuple[Hypothesis, Used] | None:
        """A family registered as an explicit pedigree: ``pedigree`` over its links, every typed
        member used (keyed as :meth:`hypothesis` says, by its relation label), each carrying the
        family's :class:`reunion.genetics.engine.Pedigree`; None when nobody is typed.
        ValueError without the engine (``pedigree=False``: theta runs), as the links have no
        closed form; :class:`reunion.genetics.engine.PedigreeError` for inconsistent links."""
        if not pedigree:
            raise ValueError(f"family {self.family_id} is registered as an explicit pedigree: it is "
                             "scored by the pedigree engine only (theta = 0, scoring.pedigree true)")
        typed_all = sorted((m for m in self.members if m.n_typed), key=lambda m: m.sample_id)
        if not typed_all:
            return None
        ped = explicit_pedigree(self.members)
        parents = {}
        for key, rel in ((_FATHER, Relation.FATHER), (_MOTHER, Relation.MOTHER)):
            m = next((m for m in typed_all if m.relation is rel), None)
            if m is not None:
                parents[key] = m
        used = _pedigree_used(typed_all, parents)
        return Hypothesis.PEDIGREE, {k: replace(m, pedigree=ped) for k, m in used.items()}


def _pedigree_used(typed_all: list[Member], parents: dict[str, Member]) -> Used:
    """A ``pedigree`` hypothesis' members by role key: ``parents`` (``father`` / ``mother``),
    then every other typed member keyed by relation and number (``typed_all`` in sample_id order)."""
    used = dict(parents)
    chosen = {id(m) for m in parents.values()}
    count: dict[Relation, int] = {}
    for m in typed_all:
        if id(m) in chosen or m.relation in (Relation.FATHER, Relation.MOTHER):
            continue
        count[m.relation] = count.get(m.relation, 0) + 1
        used[member_key(m.relation, count[m.relation])] = m
    return used


@dataclass
class LocusResult:
    locus: str
    lr: float
    compared: bool
    inconsistent: bool
    floored: int
    genotypes: dict[str, str] = field(default_factory=dict)  # role key -> label


@dataclass
class CandidateScore:
    hypothesis: Hypothesis
    members: dict[str, str]          # role key -> sample_id
    log10_lr: float
    loci_compared: int
    inconsistent_loci: int
    floored_alleles: int
    log10_lr_duo_father: float | None
    log10_lr_duo_mother: float | None
    loci: list[LocusResult]


def _log10(x):
    with np.errstate(divide="ignore"):
        return np.log10(x)


class FamilyScorer:
    """Builds lost-child tables and re-scores candidates for one encoding and mutation setting."""

    def __init__(self, encoding: Encoding, models: MutationModels, theta: float = 0.0,
                 pedigree: bool = False):
        """``theta`` > 0 applies the Balding-Nichols correction (NRC II 4.10) to the trio,
        duo and pairwise hypotheses; it requires the mutation model 'none' (checked by
        :class:`reunion.settings.Settings`), and nuclear (sibling) families are then
        scored through their parents. ``pedigree``: families beyond the nuclear menu
        (grandparents, uncles / aunts, sided relations, descendants; two or more typed
        members) are scored jointly through the pedigree engine (``pedigree`` hypothesis;
        theta 0 only; the re-match passes ``scoring.pedigree``, on by default, and
        ``reunion score`` reproduces its ``pedigree`` candidates from their members' keys)."""
        self.enc = encoding
        self.models = models
        self.theta = float(theta)
        self.use_pedigree = bool(pedigree) and self.theta == 0.0
        self._floored = [lc.floored.tolist() for lc in encoding.loci]   # per locus: code -> bool
        self._joints = JointCache()
        self._joints0 = JointCache()       # the same without mutation (inconsistent loci of a pedigree)
        self._pedigrees: dict[tuple, engine.Mixture] = {}   # relation-code families' H1
        self._models: dict[bool, list[LocusModel | None]] = {m: [None] * len(encoding.loci) for m in (True, False)}
        from reunion.genetics.batch_tables import PedigreeMemo    # (batch_tables types against this module)
        #: pedigree-engine tables per (shape, locus, typed codes), shared by table_rows and rescore_arrays
        self.pedigree_memo = PedigreeMemo()

    def hypothesis(self, family: Family) -> tuple[Hypothesis, Used] | None:
        """The hypothesis this scorer uses for ``family``: with ``pedigree`` on, a family whose
        relation codes fit no pedigree (three grandfathers) is scored as without it. Without the
        engine (``pedigree`` off, or theta > 0) a family whose typed members all lack a pairwise
        formula (first cousins, a missing adult's children, their other parent) has no
        hypothesis (None: not scored, as a family with nobody typed) rather than stopping a run."""
        try:
            h = family.hypothesis(siblings=self.theta == 0.0, pedigree=self.use_pedigree)
        except ValueError:
            if self.use_pedigree:
                raise
            return None
        if h is not None and h[0] is Hypothesis.PEDIGREE:
            try:
                self.pedigree(h[1])
            except engine.PedigreeError:
                h = family.hypothesis(siblings=True, pedigree=False)
        return h

    # ------------------------------------------------------------------ helpers
    def _locus_model(self, l: int, mutation: bool = True) -> LocusModel:
        """The locus' :class:`LocusModel` with the run's mutation model, or without mutation."""
        models = self._models[mutation]
        if models[l] is None:
            models[l] = self.models.locus(l) if mutation else self.models.identity(l)
        return models[l]

    @staticmethod
    def _layout(used: Used) -> list[tuple[Role, list[int], str]]:
        """The members of ``used`` as (role, their codes [L] as a list, sample id) in role order."""
        return [(parse_role(k)[0], m.codes.tolist(), m.sample_id) for k, m in used.items()]

    def pedigree(self, used: Used) -> engine.Mixture | engine.Pedigree:
        """H1 of a ``pedigree`` hypothesis: an explicit family's pedigree (carried by its members,
        :meth:`Family.hypothesis`), else the members of ``used`` placed by their relation
        codes (:func:`reunion.genetics.engine.relatives_pedigree`; a sex is passed only where
        the relation does not imply it), with the lost child's sex where registered. Kept per
        set of (sample id, relation, sex, lost sex)."""
        for m in used.values():
            if m.pedigree is not None:
                return m.pedigree
        lost_sex = next((m.lost_sex for m in used.values() if m.lost_sex in ("M", "F")), None)
        key = tuple((m.sample_id, m.relation, m.sex) for m in used.values()) + (lost_sex,)
        mix = self._pedigrees.get(key)
        if mix is None:
            if len(self._pedigrees) >= JOINT_CACHE_PEDIGREES:
                self._pedigrees.clear()
            rels = [engine.Relative(m.sample_id, m.relation,
                                    m.sex if m.sex in ("M", "F") and m.relation not in engine.SLOT_RELATIONS
                                    else None) for m in used.values()]
            mix = self._pedigrees[key] = engine.relatives_pedigree(rels, lost_id=LOST_ID, lost_sex=lost_sex)
        return mix

    def _typed(self, layout: list, l: int, pedigree: engine.Mixture | None = None
               ) -> tuple[LocusGenotypes, list] | None:
        """The members typed at locus ``l``: (their genotypes by role, the genotypes in role
        order), or None when none is. With ``pedigree`` (a PEDIGREE hypothesis) the
        genotypes carry it and the typed members by sample id."""
        father = mother = other = None
        sibs, halfs, typed, ids = [], [], [], []
        for role, codes, sid in layout:
            if codes[l] == UNTYPED:
                continue
            g = self.enc.decode(l, codes[l])
            typed.append(g)
            ids.append(sid)
            if role is Role.SIBLING:
                sibs.append(g)
            elif role is Role.HALF_SIBLING:
                halfs.append(g)
            elif role is Role.FATHER:
                father = g
            elif role is Role.MOTHER:
                mother = g
            else:
                other = g
        if not typed:
            return None
        if pedigree is not None:
            return LocusGenotypes(father, mother, pedigree=pedigree, typed=tuple(zip(ids, typed))), typed
        return LocusGenotypes(father, mother, tuple(sibs), tuple(halfs), other), typed

    # ------------------------------------------------------------------ tables
    def table_row(self, hyp: Hypothesis | str, used: Used) -> np.ndarray:
        """log10 LR over every genotype index of every locus, float64 [W]."""
        hyp, layout = Hypothesis(hyp), self._layout(used)
        ped = self.pedigree(used) if hyp is Hypothesis.PEDIGREE else None
        row = np.zeros(self.enc.width, dtype=np.float64)
        for l in range(len(self.enc.loci)):
            typed = self._typed(layout, l, ped)
            if typed is None:
                continue
            lr = locus_table(hyp, typed[0], self._locus_model(l), self.theta)
            if lr is None:
                continue  # the family itself is impossible here without mutation: LR 1
            off = int(self.enc.offsets[l])
            row[off + 1: off + 1 + lr.size] = _log10(lr)
        return row

    def table_rows(self, hyps: list[tuple[Hypothesis | str, Used]]) -> np.ndarray:
        """:meth:`table_row` of many families, float64 [F, W] (equal to it, rtol 1e-12;
        trio / duo rows bit-identical): built as arrays over the families of one
        hypothesis and shape (:func:`reunion.genetics.batch_tables.table_rows`, the
        national-scale path); :meth:`table_row` is its reference."""
        from reunion.genetics import batch_tables
        return batch_tables.table_rows(self, hyps)

    # ------------------------------------------------------------------ exact re-score
    def _score(self, hyp: Hypothesis, used: Used, child_codes: np.ndarray, detail: bool):
        total, compared, inconsistent, floored = 0.0, 0, 0, 0
        layout = self._layout(used)
        ped = self.pedigree(used) if hyp is Hypothesis.PEDIGREE else None
        kappa = hyp.kappa
        rows = []
        for l, lc in enumerate(self.enc.loci):
            child = self.enc.decode(l, int(child_codes[l]))
            typed = None if child is None else self._typed(layout, l, ped)
            lr = None
            if typed is not None:
                g, genotypes = typed
                try:
                    lr = locus_lr(hyp, g, child, self._locus_model(l), self.theta, kappa,
                                  joints=self._joints, joint_key=l)
                except InconsistentFamilyError:
                    pass
            if lr is None:  # not compared, or impossible family data here (no mutation model): LR 1
                if detail:
                    rows.append(LocusResult(lc.locus, 1.0, False, False, 0, self._labels(l, used, child_codes)))
                continue
            if ped is not None:        # the joint pedigree has probability 0 without mutation
                try:
                    incons = locus_lr(hyp, g, child, self._locus_model(l, False),
                                      joints=self._joints0, joint_key=l) == 0.0
                except InconsistentFamilyError:
                    incons = True
            elif g.father is not None or g.mother is not None:      # against the typed parents alone
                incons = locus_lr(hyp, g.parents(), child, self._locus_model(l, False)) == 0.0
            elif g.other is not None:
                incons = locus_lr(hyp, g, child, self._locus_model(l, False), 0.0, kappa) == 0.0
            else:
                incons = False
            fl = self._floored[l]
            n_floor = sum(fl[a] for x in [child, *genotypes] for a in x)
            total += float(np.log10(lr)) if lr != 0 else -np.inf     # scalar: no errstate context
            compared += 1
            inconsistent += int(incons)
            floored += n_floor
            if detail:
                rows.append(LocusResult(lc.locus, float(lr), True, bool(incons), n_floor,
                                        self._labels(l, used, child_codes)))
        return total, compared, inconsistent, floored, rows

    def _labels(self, l: int, used: Used, child_codes: np.ndarray) -> dict[str, str]:
        out = {_MISSING: self.enc.genotype_label(l, int(child_codes[l]))}
        for role, m in used.items():
            out[role] = self.enc.genotype_label(l, int(m.codes[l]))
        return out

    def rescore(self, family: Family, child_codes: np.ndarray) -> CandidateScore | None:
        """Exact float64 score of a missing person as the family's lost child, per locus
        (the formula path: the reference of :meth:`rescore_arrays`)."""
        h = self.hypothesis(family)
        if h is None:
            return None
        hyp, used = h
        total, compared, inconsistent, floored, rows = self._score(hyp, used, child_codes, True)
        duo: dict[str, float] = {}
        for role, duo_hyp in ((_FATHER, Hypothesis.DUO_FATHER), (_MOTHER, Hypothesis.DUO_MOTHER)):
            if role in used:
                duo[role] = total if hyp == duo_hyp else \
                    self._score(duo_hyp, {role: used[role]}, child_codes, False)[0]
        return CandidateScore(
            hypothesis=hyp, members={r: m.sample_id for r, m in used.items()},
            log10_lr=total, loci_compared=compared, inconsistent_loci=inconsistent,
            floored_alleles=floored, log10_lr_duo_father=duo.get(_FATHER),
            log10_lr_duo_mother=duo.get(_MOTHER), loci=rows)

    def rescore_arrays(self, families: list[Family], child_codes: np.ndarray, rows: np.ndarray | None = None,
                       row_of: np.ndarray | None = None):
        """:meth:`rescore` of many (family, missing person) pairs as arrays, read from the
        families' tables (:func:`reunion.genetics.batch_rescore.rescore_arrays`, the
        national-scale path; :meth:`rescore` is its reference, equal to rtol 1e-12)."""
        from reunion.genetics import batch_rescore
        return batch_rescore.rescore_arrays(self, families, child_codes, rows, row_of)

