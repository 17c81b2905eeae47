"""Whom to sample next: the additional relative that would raise a family's power most (issue 19).

A family's power (reunion/calibration.py, families.parquet) is P(its true lost child reaches
LR 10^x | H1), x = ``calibration.power_log10_lr``. For a family F of low power and a
candidate relative R not typed today (a mother, a father, a full sibling, a grandparent, an
uncle / aunt, a missing adult's child: ``sampling_advice.relatives``), this module computes
the power F would have with R typed, before anyone is sampled, exactly to a grid:

Method
------
Per locus l where F's table is informative (R is assumed typed at F's loci, the lost child at
all of them, as the power itself assumes), the pedigree engine eliminates every variable of
the pedigree of F + R (:func:`reunion.genetics.engine.relatives_pedigree` of F's members used
and R) but R's and the lost child C's alleles (:func:`reunion.genetics.engine.lost_child_joint`
with ``also``): K[g_R, g_C] = P(D_F, g_R, g_C | H1) for every pair of genotype slots, summed
over the mixture's components with their prior weights. From it, with Z = sum K = P(D_F):

- the H1 law of the pair: P(g_R, g_C | D_F) = K / Z;
- the new per-locus log10 LR at the pair: the lost-child table F + R would have with R typed
  g_R, log10 [P(g_C | D_F, g_R) / P_HW(g_C)] = log10 [K[g_R, g_C] / sum_c K[g_R, c] / P_HW(g_C)]
  (the engine's :func:`~reunion.genetics.engine.table_from_joint` definition, P_HW from the
  encoding's frequencies as the tables use them);
- the H2 law of the pair (an unrelated missing person, R still F's relative):
  P(g_R | D_F) P_HW(g_C) with P(g_R | D_F) = sum_c K[g_R, c] / Z and P_HW from normalised
  frequencies (as the calibration's H2).

Loci are independent given the pedigree (as the existing H1 law), so the new total log10 LR is
the sum over loci of independent per-locus values with these laws, and its law is the
calibration's gridded convolution: each locus's pairs are handed to
:func:`reunion.calibration.family_laws` as the slots of a per-family :class:`~reunion.calibration.Layout`
(values = the new log10 LRs, H1 weights = the pairs' H1 masses, H2 weights their H2 masses),
H1 rounded down, H2 up, on the grid ``sampling_advice.grid``. So

    power_with_R = P(new log10 LR >= x | H1)  (a lower bound within n_loci x grid, as the power)
    p_h2_with_R  = P(new log10 LR >= x | H2)  (an upper bound), expected chance matches =
                   p_h2_with_R x persons searched (every searched person counted as compared
                   at the family's loci: the families table's persons_approximated caveat)

where R's genotype is random (its law given F's data): the power expected before sampling.
Pairs of probability below ``sampling_advice.min_mass`` (per locus, under either law) are
left out and counted against the bound: with q = prod_l (1 - mass left out at l), the
reported power is q x P(S' >= x | kept) <= the exact gridded power, and the reported p_h2 is
q x P(S' >= x | kept) + (1 - q) >= it (``advice_mass_left_out`` = 1 - q under H1).

The H2 law (chance matches with R typed) is computed for the best relative only. The grid
(default 0.01, ``sampling_advice.grid``) is coarser than the power's (``calibration.grid``,
1e-3): both are lower bounds, so a relative that adds nothing (a paternal grandmother beside a
typed father) can show a power up to the loosening below today's (0.27 for 0.31 on a 15-locus
duo of the demo); relatives are compared with each other on one grid.

Cost, bounded by settings: only families with power below ``sampling_advice.max_power``, at
most ``sampling_advice.max_families`` of them (lowest power first), for the relatives of
``sampling_advice.relatives``; per family and relative one engine pass per locus (R's and C's
four allele variables kept: O(n^4) memory) and one convolution of up to n(n+1)/2 squared
pairs per locus (measured: benchmarks/results/sampling-advice-cpu-2core-*).

What is not advised (run.json's ``sampling_advice`` counts each): families registered as an
explicit pedigree (R has no place by relation code), families without a hypothesis, relatives
already typed in a place of their own (a father, a mother, a grandparent), a child where the
lost person is not a missing adult (no child, grandchild or their other parent registered),
and a relative no pedigree can place (PedigreeError). A family scored by a pairwise formula
(one side-less grandparent or uncle / aunt) gets the engine's pedigree (with mutation) for
F + R, while its power today comes from its table (the pairwise formula). Likewise, under an
unstationary mutation model (stepwise: p.M != p) a relative above an untyped parent (a
grandparent) changes the allele that parent transmits by ~1e-4: F + R is the pedigree the run
would score, so summed over R's genotype its H1 law is F's own only for stationary models
(tests/test_sampling_advice.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from reunion.calibration import Layout, Span, family_laws
from reunion.contracts import FAMILY_ADVICE_FIELDS
from reunion.encoding import Encoding, genotype_pairs
from reunion.genetics import engine
from reunion.genetics.family import LOST_ID, Family, FamilyScorer
from reunion.genetics.kinship import _hw_table
from reunion.genetics.mutation import LocusModel, MutationModels
from reunion.genetics.pedigree import InconsistentFamilyError
from reunion.genetics.roles import Relation
from reunion.settings import SamplingAdviceSettings, Settings

__all__ = ["ADVICE_COLUMNS", "NEXT_ID", "FamilyAdvice", "LocusPairs", "RelativePower", "advise",
           "advise_family", "locus_pairs", "not_advised", "relative_power", "shard_families_of"]

#: the added relative's person id in the pedigree (sample ids never start with ~)
NEXT_ID = "~next_relative"
#: families.parquet's advice columns (declared with FAMILY_CALIBRATION in data_contracts)
ADVICE_COLUMNS = FAMILY_ADVICE_FIELDS
#: relations that name one place of the pedigree: not offered when a member typed holds it
_PLACES = frozenset({Relation.FATHER, Relation.MOTHER, Relation.PATERNAL_GRANDFATHER,
                     Relation.PATERNAL_GRANDMOTHER, Relation.MATERNAL_GRANDFATHER,
                     Relation.MATERNAL_GRANDMOTHER})
_DESCENDANTS = frozenset({Relation.CHILD, Relation.GRANDCHILD, Relation.CHILD_OTHER_PARENT})


@dataclass(frozen=True)
class LocusPairs:
    """One locus's (relative, lost child) genotype pairs, flattened g_R-major over the slots
    1..G of each (G = n(n+1)/2): ``values`` float64 [G * G] (the new log10 LR, -inf where
    the lost child's genotype is impossible given F and R), ``h1`` float64 [G * G]
    (P(g_R, g_C | D_F, H1), sums to 1), ``h2`` float64 [G * G] (P(g_R | D_F) P_HW(g_C),
    normalised frequencies; sums to 1)."""

    values: np.ndarray
    h1: np.ndarray
    h2: np.ndarray


def locus_pairs(mix: engine.Mixture, typed: dict[str, tuple[int, int]], t: LocusModel) -> LocusPairs | None:
    """The pairs of one locus (:class:`LocusPairs`) for the pedigree mixture ``mix`` of F + R
    (R's id :data:`NEXT_ID`), F's members typed there (``typed``: sample id -> allele codes)
    and the locus model ``t``; None when F's data are impossible there (P(D_F) = 0: the
    locus is left out, as F's own table leaves it)."""
    comps = mix.components
    if len(comps) > 1 and (t.M_father is t.M_mother or np.array_equal(t.M_father, t.M_mother)):
        comps = mix.sexless()
    K = sum(w * engine.lost_child_joint(ped, typed, t, also=NEXT_ID) for w, ped in comps)
    p = np.asarray(t.p, dtype=np.float64)
    lo, hi = genotype_pairs(p.size)
    het = (lo != hi)[:, None, None]
    KR = K[lo, hi] + np.where(het, K[hi, lo], 0.0)                    # [G, n, n]
    P = KR[:, lo, hi] + np.where((lo != hi)[None, :], KR[:, hi, lo], 0.0)   # [G_R, G_C]
    Z = float(P.sum())
    if not Z > 0.0 or not np.isfinite(Z):
        return None
    PR = P.sum(axis=1)                                                 # P(D_F, g_R)
    hw = _hw_table(p, lo, hi)
    q = p / p.sum()
    hw2 = _hw_table(q, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(PR[:, None] > 0, P / PR[:, None], 0.0)         # P(g_C | D_F, g_R)
        values = np.log10(cond / hw[None, :])
    values = np.where(PR[:, None] > 0, values, 0.0)        # an impossible g_R: no mass either way
    return LocusPairs(values.ravel(), (P / Z).ravel(), ((PR / Z)[:, None] * hw2[None, :]).ravel())


@dataclass(frozen=True)
class RelativePower:
    """The advice for one candidate relative of one family: ``power`` (lower bound of
    P(log10 LR >= x | H1) with R typed), ``p_h2`` (upper bound of P(log10 LR >= x | H2); None
    where not computed), ``left_out`` (H1 mass of the pairs left out, 1 - q), ``n_loci``."""

    relation: Relation
    power: float
    p_h2: float | None
    left_out: float
    n_loci: int


class _Laws:
    """The gridded laws of one F + R (kept so that H2 is computed only for the best R)."""

    def __init__(self, loci: list[LocusPairs], delta: float, x: float, min_mass: float):
        sizes = [lp.values.size for lp in loci]
        offsets = np.concatenate([[0], np.cumsum(np.asarray(sizes, np.int64) + 1)[:-1]]).astype(np.int64)
        W = int(sum(sizes) + len(sizes))
        row, hw_raw, hw_h2 = np.zeros(W), np.zeros(W), np.zeros(W)
        keep1, keep2 = 1.0, 1.0
        for o, lp in zip(offsets.tolist(), loci):
            h1 = np.where(lp.h1 >= min_mass, lp.h1, 0.0) if min_mass > 0 else lp.h1
            h2 = np.where(lp.h2 >= min_mass, lp.h2, 0.0) if min_mass > 0 else lp.h2
            keep1 *= 1.0 - max(float(lp.h1.sum() - h1.sum()), 0.0)
            keep2 *= 1.0 - max(float(lp.h2.sum() - h2.sum()), 0.0)
            v = lp.values
            s = slice(o + 1, o + 1 + v.size)
            row[s] = v
            # FamilyLaws' H1 weights are 10^value x hw_raw: hw_raw = mass / 10^value gives the mass
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                hw_raw[s] = np.where((h1 > 0) & np.isfinite(v), h1 / np.power(10.0, np.where(np.isfinite(v), v, 0.0)), 0.0)
            hw_h2[s] = h2
        layout = Layout(tuple(f"L{i}" for i in range(len(loci))), offsets,
                        np.asarray(sizes, np.int64), hw_raw, hw_h2, np.ones(len(loci)))
        self.keep1, self.keep2, self.x = keep1, keep2, x
        lo = math.floor(x / delta) * delta - delta
        self.laws = family_laws(layout, row, None, delta=delta, span=Span(lo, x, lo, x))

    def power(self) -> float:
        return self.keep1 * float(self.laws.h1.sf(self.x))

    def p_h2(self) -> float:
        return min(1.0, self.keep2 * float(self.laws.h2.sf(self.x)) + (1.0 - self.keep2))


def relative_power(loci: list[LocusPairs], relation: Relation, *, delta: float, x: float,
                   min_mass: float = 0.0, h2: bool = False) -> RelativePower:
    """The :class:`RelativePower` of one F + R from its loci's pairs (:func:`locus_pairs`),
    the threshold ``x`` (log10 LR), the grid ``delta`` and the pairs' mass cut ``min_mass``;
    ``h2``: also the H2 tail."""
    laws = _Laws(loci, delta, x, min_mass)
    return RelativePower(Relation(relation), laws.power(), laws.p_h2() if h2 else None,
                         1.0 - laws.keep1, len(loci))


def _skip_reason(family: Family, used: dict, relation: Relation) -> str | None:
    """Why ``relation`` is not offered to ``family`` (None: it is)."""
    if relation in _PLACES and any(m.relation is relation for m in used.values()):
        return "already typed"
    if relation is Relation.CHILD and not any(m.relation in _DESCENDANTS for m in family.members):
        return "not a missing adult"
    return None


@dataclass(frozen=True)
class FamilyAdvice:
    """The advice of one family: every relative computed (``relatives``, settings order), the
    best (highest power; None when none applies) and why relatives were not offered."""

    family_id: str
    relatives: tuple[RelativePower, ...]
    best: RelativePower | None
    not_offered: dict[str, str]


def advise_family(scorer: FamilyScorer, family: Family, settings: SamplingAdviceSettings,
                  power_log10_lr: float, informative: np.ndarray) -> FamilyAdvice | str:
    """The advice of one family (relation-code registrations only), or why there is none
    (a string). ``informative``: bool [L], the loci where the family's table is informative
    (R typed there too)."""
    if family.explicit:
        return "explicit pedigree"
    h = scorer.hypothesis(family)
    if h is None:
        return "no hypothesis"
    _, used = h
    members = list(used.values())
    rels = [engine.Relative(m.sample_id, m.relation,
                            m.sex if m.sex in ("M", "F") and m.relation not in engine.SLOT_RELATIONS else None)
            for m in members]
    lost_sex = family.lost_sex
    enc = scorer.enc
    loci = np.flatnonzero(informative).tolist()
    typed_at = [{m.sample_id: enc.decode(l, int(m.codes[l])) for m in members if m.codes[l]} for l in loci]
    out, laws, not_offered = [], {}, {}
    for relation in settings.relatives:
        relation = Relation(relation)
        why = _skip_reason(family, used, relation)
        if why is None:
            try:
                mix = engine.relatives_pedigree(rels + [engine.Relative(NEXT_ID, relation)],
                                                lost_id=LOST_ID, lost_sex=lost_sex)
            except engine.PedigreeError:
                why = "no pedigree places it"
        if why is not None:
            not_offered[relation.value] = why
            continue
        pairs = []
        for l, typed in zip(loci, typed_at):
            try:
                lp = locus_pairs(mix, typed, scorer.models.locus(l))
            except InconsistentFamilyError:
                lp = None
            if lp is not None:
                pairs.append(lp)
        law = _Laws(pairs, settings.grid, power_log10_lr, settings.min_mass)
        laws[relation] = law
        out.append(RelativePower(relation, law.power(), None, 1.0 - law.keep1, len(pairs)))
    if not out:
        return FamilyAdvice(family.family_id, (), None, not_offered)
    best = max(out, key=lambda r: r.power)          # ties: the first in the settings' order
    best = RelativePower(best.relation, best.power, laws[best.relation].p_h2(), best.left_out, best.n_loci)
    return FamilyAdvice(family.family_id, tuple(best if r.relation is best.relation else r for r in out),
                        best, not_offered)


def shard_families_of(shards_dir: Path, manifest, ids: set[str],
                      shard_of: dict[str, int] | None = None) -> dict[str, Family]:
    """{family id: :class:`Family`} of the families ``ids`` in a shard set's reference shards
    (``manifest`` of ``shards_dir``); with ``shard_of`` (family id -> index of its reference
    shard, :class:`reunion.calibration.RunInputs`), only the shards holding ``ids`` are read."""
    from reunion.ingest import read_shard, shard_families, shards_of

    refs = shards_of(manifest, "reference")
    if shard_of is not None:
        refs = [refs[i] for i in sorted({shard_of[f] for f in ids if f in shard_of})]
    out: dict[str, Family] = {}
    for rec in refs:
        for fam in shard_families(read_shard(shards_dir, rec)):
            if fam.family_id in ids:
                out[fam.family_id] = fam
    return out


def not_advised(families: pa.Table, why: str) -> pa.Table:
    """The families table with its advice columns null and ``advice_skipped`` = ``why``
    (advice off, or the run's shards not at hand)."""
    from reunion.contracts import FAMILY_CALIBRATION as FAMILIES

    recs = families.to_pylist()
    for r in recs:
        r.update({c: None for c in ADVICE_COLUMNS}, advice_skipped=why)
    return pa.Table.from_pylist(recs, schema=FAMILIES)


def advise(families: pa.Table, layout: Layout, rows, encoding: Encoding, settings: Settings,
           load_families, power_log10_lr: float) -> tuple[pa.Table, dict]:
    """The families table (FAMILY_CALIBRATION rows of :func:`reunion.calibration.annotate`)
    with its advice columns (:data:`ADVICE_COLUMNS`) filled for the families of power below
    ``sampling_advice.max_power``, lowest power first, at most ``max_families``, and the
    summary for run.json (what was computed, for how many families, what was skipped and why).

    ``rows``: family id -> table row float64 [W] (its informative loci); ``load_families``:
    a callable from a set of family ids to {id: :class:`Family`} (the shards' registrations);
    ``power_log10_lr``: the threshold of the families' power (the calibration's)."""
    from reunion.contracts import FAMILY_CALIBRATION as FAMILIES

    t0 = time.perf_counter()
    adv = settings.sampling_advice
    x = power_log10_lr
    recs = families.to_pylist()
    below = sorted((r for r in recs if r["power"] is not None and r["power"] < adv.max_power),
                   key=lambda r: (r["power"], r["family_id"]))
    chosen = below[:adv.max_families]
    skipped: dict[str, int] = {}
    not_offered: dict[str, dict[str, int]] = {}
    fams = load_families({r["family_id"] for r in chosen}) if chosen else {}
    scorer = FamilyScorer(encoding, MutationModels(settings.mutation, encoding), settings.scoring.theta,
                          pedigree=settings.scoring.pedigree)
    for r in recs:
        for c in ADVICE_COLUMNS:
            r[c] = None
        r["advice_skipped"] = ("power at or above sampling_advice.max_power" if r["power"] is None
                               or r["power"] >= adv.max_power else "beyond sampling_advice.max_families")
    advised = 0
    for r in chosen:
        fid = r["family_id"]
        fam = fams.get(fid)
        got = ("not in the shards" if fam is None else
               advise_family(scorer, fam, adv, x, layout.informative(np.asarray(rows[fid], np.float64))))
        row = r                      # the families table's own record (chosen holds recs' dicts)
        if isinstance(got, str):
            row["advice_skipped"] = got
            skipped[got] = skipped.get(got, 0) + 1
            continue
        for rel, why in got.not_offered.items():
            not_offered.setdefault(rel, {}).setdefault(why, 0)
            not_offered[rel][why] += 1
        if got.best is None:
            row["advice_skipped"] = "no relative applies"
            skipped["no relative applies"] = skipped.get("no relative applies", 0) + 1
            continue
        advised += 1
        b = got.best
        row.update({"best_next_relative": b.relation.value, "power_with_best": b.power,
                    "p_h2_with_best": b.p_h2, "expected_chance_matches_with_best":
                    None if b.p_h2 is None else b.p_h2 * r["searched"],
                    "next_relatives": [{"relation": q.relation.value, "power": q.power} for q in got.relatives],
                    "advice_mass_left_out": max(q.left_out for q in got.relatives),
                    "advice_skipped": None})
    seconds = time.perf_counter() - t0
    info = {"relatives": [Relation(q).value for q in adv.relatives], "max_power": adv.max_power,
            "max_families": adv.max_families, "grid": adv.grid, "min_mass": adv.min_mass,
            "power_log10_lr": x, "families": len(recs), "families_below_max_power": len(below),
            "families_advised": advised, "families_beyond_max_families": len(below) - len(chosen),
            "families_skipped": skipped, "relatives_not_offered": not_offered,
            "p_h2_with_relative": "best relative only", "seconds": round(seconds, 3),
            "families_per_second": round(len(chosen) / seconds, 3) if chosen and seconds > 0 else None}
    return pa.Table.from_pylist(recs, schema=FAMILIES), info
