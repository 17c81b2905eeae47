"""Compare a run's candidate lists with a simulation's ground truth.

With the samples file, the planted lost children are also counted by their family's kind
(:func:`family_kinds`: what the family registered), with the rank-1 rate of each."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reunion.report.review import STRONG_LR


@dataclass
class Evaluation:
    planted: int                 # lost children on the missing side
    rank1: int                   # ... whose true family is ranked first
    planted_trio: int            # planted with both parents registered
    rank1_trio: int
    found_in_list: int           # true family anywhere in the top-k list
    unrelated_with_strong: int   # unrelated missing persons with a candidate of LR >= STRONG_LR
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)   # kind -> (planted, rank 1)
    hits: dict[str, bool] = field(default_factory=dict)   # planted missing_id -> true family at rank 1

    @property
    def rank1_rate(self) -> float:
        return self.rank1 / self.planted if self.planted else float("nan")

    @property
    def rank1_trio_rate(self) -> float:
        return self.rank1_trio / self.planted_trio if self.planted_trio else float("nan")

    def kinds_text(self) -> str:
        """'both parents 160/160 (100.0%), one parent 40/40 (100.0%)': the kinds planted, in
        :data:`KINDS` order."""
        return ", ".join(f"{k} {r}/{n} ({r / n:.1%})" for k in KINDS for n, r in [self.by_kind.get(k, (0, 0))]
                         if n)


#: family kinds, as reunion.simulate.FAMILY_KINDS names them
KINDS = ("both parents", "one parent", "siblings only", "grandparents and uncles/aunts",
         "missing adult's children", "paternal uncle and cousin", "paternal half brothers", "other")
_DESCENDANTS = frozenset(("child", "child_other_parent", "grandchild"))
_EXTENDED = frozenset(("grandparent", "avuncular", "paternal_grandfather", "paternal_grandmother",
                       "maternal_grandfather", "maternal_grandmother", "paternal_uncle_aunt",
                       "maternal_uncle_aunt", "paternal_first_cousin", "maternal_first_cousin"))
_SIBLINGS = frozenset(("full_sibling", "half_sibling", "half_sibling_paternal", "half_sibling_maternal"))


_UNCLE_COUSIN = frozenset(("paternal_uncle_aunt", "paternal_first_cousin"))


def family_kind(relations: set[str]) -> str:
    """The kind of a family by the relations it registered: a missing adult's children (any
    descendant), paternal uncle and cousin (paternal uncles / aunts and paternal first
    cousins only, a cousin among them), grandparents and uncles/aunts (any such relative, no
    descendant), both parents, one parent, paternal half brothers (paternal half siblings
    only), siblings only, else other."""
    if relations & _DESCENDANTS:
        return KINDS[4]
    if "paternal_first_cousin" in relations and relations <= _UNCLE_COUSIN:
        return KINDS[5]
    if relations & _EXTENDED:
        return KINDS[3]
    if {"father", "mother"} <= relations:
        return KINDS[0]
    if relations & {"father", "mother"}:
        return KINDS[1]
    if relations == {"half_sibling_paternal"}:
        return KINDS[6]
    if relations & _SIBLINGS:
        return KINDS[2]
    return KINDS[7]


def family_kinds(samples_path: Path) -> dict[str, str]:
    """family_id -> :func:`family_kind` of the registered relatives of a samples file."""
    t = pacsv.read_csv(samples_path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    rels: dict[str, set[str]] = {}
    for fid, rel in zip(t.column("family_id").to_pylist(), t.column("relation").to_pylist()):
        if fid:
            rels.setdefault(str(fid), set()).add(str(rel))
    return {fid: family_kind(r) for fid, r in rels.items()}


def evaluate(candidates_path: Path, truth_path: Path, samples_path: Path | None = None) -> Evaluation:
    """Rank-1 and list rates of the planted lost children; with ``samples_path`` (the
    simulation's samples.csv) also per family kind (:attr:`Evaluation.by_kind`)."""
    cands = pq.read_table(candidates_path).to_pylist()
    truth = pacsv.read_csv(truth_path, convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False)).to_pylist()
    by_missing: dict[str, list[dict]] = {}
    for c in cands:
        by_missing.setdefault(c["missing_id"], []).append(c)
    planted = rank1 = trio = rank1_trio = found = strong_unrel = 0
    kinds = family_kinds(samples_path) if samples_path is not None else {}
    by_kind: dict[str, list[int]] = {}
    hits: dict[str, bool] = {}
    for t in truth:
        lst = sorted(by_missing.get(str(t["missing_id"]), []), key=lambda c: c["rank"])
        if t["kind"] == "lost_child":
            planted += 1
            is_trio = t.get("parents_registered") == "both"
            trio += is_trio
            fams = [c["family_id"] for c in lst]
            hit = bool(fams) and fams[0] == str(t["family_id"])
            hits[str(t["missing_id"])] = hit
            if hit:
                rank1 += 1
                rank1_trio += is_trio
            if samples_path is not None:
                k = by_kind.setdefault(kinds.get(str(t["family_id"]), KINDS[5]), [0, 0])
                k[0] += 1
                k[1] += hit
            found += str(t["family_id"]) in fams
        elif any(c["log10_lr"] >= math.log10(STRONG_LR) for c in lst):
            strong_unrel += 1
    return Evaluation(planted, rank1, trio, rank1_trio, found, strong_unrel,
                      {k: (v[0], v[1]) for k, v in by_kind.items()}, hits)
