"""Y-STR evidence in the family LR (issue 20, "Y evidence in the family LR"; docs/YSTR.md).

For a male (or unknown-sex) missing person q with Y haplotype h and a family whose lost child
is not registered female and whose typed paternal-line men (father, paternal grandfather,
paternal uncles, brothers, paternal half brothers, paternal first cousins, the lost man's
sons; or the men on the lost child's father-son links of an explicit pedigree) have Y
haplotypes,

    LR_Y = prod over compared loci l of P(h_l | typed paternal-line men, the tree) / P(h over them)

(:mod:`reunion.genetics.ystr`: the numerator by exact peeling with per-locus stepwise
mutation; the denominator one haplotype probability, never a product over loci). The total
LR is LR_autosomal x LR_Y: the Y chromosome is inherited as one block from father to son,
apart from the autosomes, so given the pedigree the Y data and the autosomal data are
independent under H1 and under H2. Every other pair has no Y factor (LR_Y = 1, shown as
null with the reason).

How it runs through the screen (flows/pieces.py): the numerator factorises over loci, so per
family a row of per-locus log10 tables over the Y values of the shard set (:attr:`YContext.width`
slots; slot 0 of a locus = 0, the missing man untyped there) is appended to the family's
autosomal table, and the missing men's Y value codes to their codes: Y loci are more loci for
the same gather-sum kernel (CPU or GPU). The families of a shard are screened in groups of
equal typed-Y-locus set S, so that the denominator of missing man q, -log10 P(h_q over S and
his typed loci), is one number per (q, group): it enters as one more "locus" whose slot k
holds the k-th distinct denominator of the block's missing men (the same in every row of
the group) and q's code picks his. The kernel's top_k, floor and keep-all are thus on the
total LR, and the groups' lists together hold the exact top_k by total.

The reference database of the denominator: the shard set's men with a Y haplotype
(families' men and missing men) but the missing man himself, plus ``ystr.reference``; the
estimator is ``ystr.estimator`` (kappa by default, Brenner 2010). No haplotype value
appears in a log line or an error.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Set as AbstractSet, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reunion.contracts.records import Manifest
from reunion.errors import InputError, SettingsError
from reunion.genetics.family import LOST_ID, Family
from reunion.genetics.pedigree import InconsistentFamilyError
from reunion.genetics.registration import explicit_pedigree
from reunion.genetics.ystr import (DiscreteLaplace, PaternalLine, YHaplotype, load_ystr_rates,
                                   paternal_line, paternal_line_from_pedigree, y_locus_table)
from reunion.settings import Settings

if TYPE_CHECKING:
    from reunion.lineage import CodedCounts

log = logging.getLogger(__name__)

__all__ = ["ESTIMATOR_SOURCES", "WHY_MULTIPLY", "FamilyY", "PairY", "YContext", "build_context",
           "family_line"]

#: the estimators of the denominator and their sources, as run.json and the report give them
ESTIMATOR_SOURCES = {
    "kappa": "Brenner's kappa method: a haplotype new to the N reference men has probability "
             "(1 - kappa)/N, kappa their singleton fraction; a seen one (x+1)/(N+1) (Brenner C.H. "
             "2010, FSI:Genetics 4:281-291)",
    "counting": "counting with the evidence haplotype added: (x+1)/(N+1) (SWGDAM Y-STR "
                "interpretation guidelines 2014, 8.2)",
    "discrete_laplace": "the discrete Laplace mixture fitted on the reference men typed at the "
                        "compared loci (Andersen, Eriksen & Morling 2013, J. Theor. Biol. 329:39)",
}
#: why the autosomal and Y LRs multiply (the report's sentence)
WHY_MULTIPLY = ("LR_total = LR_autosomal x LR_Y: the Y chromosome is inherited as one block from "
                "father to son, apart from the autosomes, so given the pedigree the Y and autosomal "
                "data are independent under both hypotheses; LR_Y's denominator is the haplotype's "
                "population probability, one number, not a product over Y loci.")


@dataclass(frozen=True)
class FamilyY:
    """A family's Y numerator: ``row`` float64 [width] per-locus log10 P(lost man's value |
    typed paternal-line men) at the panel's slots (0 at slot 0 and at loci without a typed
    man; -inf where a value cannot be reached), ``mask`` bool [L_Y] the loci with a typed man
    (S), ``line`` the paternal-line tree, ``reason`` why there is no Y factor (None: there is
    one at S), ``dropped`` (locus, reason) for loci left out (inconsistent typed men)."""

    row: np.ndarray
    mask: np.ndarray
    line: PaternalLine | None
    reason: str | None
    dropped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PairY:
    """The Y factor of one (missing man, family): ``log10_lr`` (None: no Y factor, ``reason``),
    ``loci`` the compared loci, ``per_locus`` log10 numerator factor per compared locus,
    ``probability`` the denominator P(h over ``loci``), ``men`` the typed paternal-line men."""

    log10_lr: float | None
    loci: tuple[str, ...] = ()
    per_locus: tuple[float, ...] = ()
    probability: float | None = None
    reason: str | None = None
    men: tuple[str, ...] = ()


def family_line(family: Family, typed: AbstractSet[str]) -> tuple[PaternalLine | None, str | None]:
    """(the family's paternal-line tree, None) or (None, why there is no Y factor): the lost
    child registered female, or no typed paternal-line man. ``typed``: ids with a Y haplotype."""
    if family.lost_sex == "F":
        return None, "no Y factor: the lost child is registered female"
    mine = {m.sample_id for m in family.members} & typed
    if not mine:
        return None, "no Y factor: no family member has a Y typing"
    try:
        if family.explicit:
            line = paternal_line_from_pedigree(explicit_pedigree(family.members), mine)
        else:
            line = paternal_line([(m.sample_id, m.relation, m.sex) for m in family.members], mine,
                                 LOST_ID)
    except ValueError as e:              # two registered fathers with a Y typing, a bad pedigree
        return None, f"no Y factor: paternal line not built ({e})"
    if not any(m.id in mine for m in line.men):
        return None, "no Y factor: no typed paternal-line man"
    return line, None


def _links(line: PaternalLine, man: str) -> tuple[tuple[int, bool], ...]:
    """The links from ``man`` to the lost man along the tree: (meioses, upwards) per link."""
    by = {m.id: m for m in line.men}

    def up(x):
        out = [x]
        while by[out[-1]].father is not None:
            out.append(by[out[-1]].father)
        return out
    a, b = up(man), up(line.lost)
    common = next(u for u in a if u in set(b))
    ups = tuple((by[u].meioses, True) for u in a[:a.index(common)])
    downs = tuple((by[u].meioses, False) for u in reversed(b[:b.index(common)]))
    return ups + downs


@dataclass
class YContext:
    """The Y evidence of a shard set for one run's settings (built once per worker process).

    ``haplotypes``: every man's haplotype by sample id; ``loci`` [L_Y] the compared panel (Y
    loci typed in some missing man with a mutation rate), ``values[l]`` the values seen at
    locus l (all men and the reference; code k + 1 = values[l][k], 0 untyped);
    ``offsets`` int64 [L_Y] each locus' first slot in a Y row of ``width`` slots;
    ``rates`` per-locus rates; ``counts`` the reference men's coded counts (``ref_codes``
    uint16 [N, L_Y], rows: the shard set's men by sample id, then ``ystr.reference``'s) and
    ``row_of`` sample id -> his row (to leave the missing man himself out);
    ``ref_haplotypes`` [N] the same men's haplotypes; ``n_reference`` N."""

    settings: Settings
    haplotypes: dict[str, YHaplotype]
    loci: tuple[str, ...]
    values: tuple[tuple, ...]
    offsets: np.ndarray
    width: int
    rates: dict[str, float]
    counts: CodedCounts
    ref_codes: np.ndarray
    row_of: dict[str, int]
    ref_haplotypes: list[YHaplotype]
    n_reference: int
    _den: dict = field(default_factory=dict, repr=False)
    _tables: dict = field(default_factory=dict, repr=False)
    _dl: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ the missing men
    def query_codes(self, ids: Sequence[str], sexes: Sequence[str] | None = None) -> np.ndarray:
        """uint16 [n, L_Y] Y value codes of the missing persons ``ids`` (0 untyped; all 0 for one
        of known sex F: a woman has no Y factor)."""
        from reunion.lineage import YPanel

        panel = YPanel(self.loci, self.values)
        haps = [self.haplotypes.get(s, YHaplotype(s, ())) for s in ids]
        out = panel.encode(haps)
        if sexes is not None:
            out[np.asarray(sexes) == "F"] = 0
        return out

    # ------------------------------------------------------------------ the families
    def family(self, family: Family) -> FamilyY:
        """The family's Y numerator row (:class:`FamilyY`)."""
        row = np.zeros(self.width, dtype=np.float64)
        mask = np.zeros(len(self.loci), dtype=bool)
        line, reason = family_line(family, self.haplotypes.keys())
        if line is None:
            return FamilyY(row, mask, None, reason)
        y = self.settings.ystr
        dropped = []
        men = [m.id for m in line.men if m.id != line.lost and m.id in self.haplotypes]
        links: dict[str, tuple] = {}     # per typed man: his links to the lost man (no locus in them)
        for li, locus in enumerate(self.loci):
            at = [m for m in men if self.haplotypes[m].get(locus) is not None]
            # one typed man at the locus: the table depends only on his value and the links
            # between him and the lost man (the peeling is the same sequence of steps), so it is
            # computed once per (locus, links, value): most families are a father or a brother
            if len(at) == 1 and at[0] not in links:
                links[at[0]] = _links(line, at[0])
            key = (li, links[at[0]], self.haplotypes[at[0]].get(locus)) if len(at) == 1 else None
            try:
                t = self._tables.get(key) if key is not None else None
                if t is None:
                    t = y_locus_table(line, self.haplotypes, locus, self.values[li], self.rates[locus],
                                      pad=y.pad, two_step=y.two_step)
                    if key is not None:
                        self._tables[key] = t
            except InconsistentFamilyError:
                dropped.append((locus, "the typed paternal-line men cannot share a line at this locus "
                                "under the step model: left out"))
                continue
            if t is None:
                continue
            mask[li] = True
            with np.errstate(divide="ignore"):
                row[self.offsets[li] + 1:self.offsets[li] + 1 + len(t)] = np.log10(t)
        if not mask.any():
            return FamilyY(row, mask, line, "no Y factor: no typed paternal-line man at a compared Y locus",
                           tuple(dropped))
        return FamilyY(row, mask, line, None, tuple(dropped))

    # ------------------------------------------------------------------ the denominator
    def log10_probability(self, sample_id: str, codes: np.ndarray, mask: np.ndarray) -> float | None:
        """log10 P(h over the loci of ``mask`` that missing man ``sample_id`` (Y codes ``codes``
        uint16 [L_Y]) is typed at), None where that set is empty (no Y factor). Counted among the
        reference men but himself (:attr:`settings`' ``ystr.estimator``); cached."""
        use = mask & (codes > 0)
        if not use.any():
            return None
        key = (sample_id, use.tobytes())
        got = self._den.get(key)
        if got is None:
            got = self._den[key] = math.log10(self._probability(sample_id, codes, use))
        return got

    def _probability(self, sample_id: str, codes: np.ndarray, use: np.ndarray) -> float:
        from reunion.lineage import haplotype_probability

        est = self.settings.ystr.estimator
        if est == "discrete_laplace":
            loci = tuple(self.loci[i] for i in np.flatnonzero(use))
            model = self._dl.get(loci)
            if model is None:
                model = self._dl[loci] = DiscreteLaplace(loci, self.settings.ystr.clusters).fit(
                    self.ref_haplotypes)
            return model.probability(self.haplotypes[sample_id], loci)
        x, n, single = self.counts.count(codes, use, singletons=True)
        if sample_id in self.row_of:      # leave the missing man himself out of the database
            x, n = x - 1, n - 1
            single = single - 1 if x == 0 else single + 1 if x == 1 else single
        return haplotype_probability((x, n, single), est)[0]

    def pair(self, sample_id: str, codes: np.ndarray, fy: FamilyY) -> PairY:
        """The Y factor of missing man ``sample_id`` (Y codes uint16 [L_Y]) and a family's
        :class:`FamilyY`: the same per-locus numbers the screen adds."""
        if fy.reason is not None:
            return PairY(None, reason=fy.reason)
        use = fy.mask & (codes > 0)
        if not use.any():
            why = ("no Y factor: the missing person has no Y typing (or is a woman)" if not codes.any() else
                   "no Y factor: no Y locus typed in both the missing man and a paternal-line man")
            return PairY(None, reason=why)
        idx = np.flatnonzero(use)
        per = tuple(float(fy.row[self.offsets[i] + codes[i]]) for i in idx)
        den = self.log10_probability(sample_id, codes, fy.mask)
        men = tuple(m.id for m in fy.line.men if m.id in self.haplotypes)
        return PairY(sum(per) - den, tuple(self.loci[i] for i in idx), per, 10.0 ** den, men=men)

    def info(self) -> dict:
        """What run.json states of the Y evidence: reference size, estimator and its source,
        the rates file, the compared loci."""
        y = self.settings.ystr
        return {"reference_men": self.n_reference, "estimator": y.estimator,
                "estimator_source": ESTIMATOR_SOURCES[y.estimator],
                "reference_file": str(y.reference) if y.reference else None,
                "rates": str(y.rates), "loci": list(self.loci), "two_step": y.two_step,
                "why_multiply": WHY_MULTIPLY}


def build_context(shards_dir: Path | str, manifest: Manifest, settings: Settings,
                  missing_ids: Sequence[str]) -> YContext | None:
    """The run's :class:`YContext`; None where ``scoring.y_evidence`` is false, the shard set
    kept no Y haplotypes, or no missing person ``missing_ids`` has one at a locus with a rate."""
    from reunion.io.yrows import load_y_haplotypes
    from reunion.lineage import CodedCounts, build_panel, read_y_genotypes

    if not settings.scoring.y_evidence or manifest.y_haplotypes is None:
        return None
    haps = load_y_haplotypes(shards_dir, manifest)
    missing = [haps[s] for s in missing_ids if s in haps]
    if not missing:
        return None
    try:
        rates = load_ystr_rates(settings.ystr.rates)
    except (OSError, ValueError, KeyError) as e:
        raise SettingsError(f"ystr.rates = {settings.ystr.rates}: {e}; give a CSV with columns "
                            "locus, rate, source") from None
    extra: list[YHaplotype] = []
    if settings.ystr.reference is not None:
        got = read_y_genotypes(Path(settings.ystr.reference), None, y_only=True,
                               option="ystr.reference")
        if got.rejects:
            r = got.rejects[0]
            raise InputError(f"{r.file}: line {r.row}, field {r.field}: {r.reason} (ystr.reference: "
                             f"{len(got.rejects)} rows rejected; correct the file)")
        extra = [h for s, h in sorted(got.haplotypes.items()) if s not in haps]
    ref = [haps[s] for s in sorted(haps)] + extra
    panel = build_panel(missing, ref, rates)
    if not panel.loci:
        return None
    sizes = np.array([len(v) + 1 for v in panel.values], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    codes = panel.encode(ref)
    log.info("Y evidence: %d men with a Y haplotype (%d in the reference file), %d compared loci",
             len(ref), len(extra), len(panel.loci))
    return YContext(settings, haps, panel.loci, panel.values, offsets, int(sizes.sum()),
                    {locus: rates[locus] for locus in panel.loci}, CodedCounts(codes, panel.width),
                    codes, {s: i for i, s in enumerate(sorted(haps))}, ref, len(ref))

