"""Compare a run's candidate lists with a simulation's ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass
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

    @property
    def rank1_rate(self) -> float:
        return self.rank1 / self.planted if self.planted else float("nan")

    @property
    def rank1_trio_rate(self) -> float:
        return self.rank1_trio / self.planted_trio if self.planted_trio else float("nan")


def evaluate(candidates_path: Path, truth_path: Path) -> Evaluation:
    cands = pq.read_table(candidates_path).to_pylist()
    truth = pacsv.read_csv(truth_path, convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False)).to_pylist()
    by_missing: dict[str, list[dict]] = {}
    for c in cands:
        by_missing.setdefault(c["missing_id"], []).append(c)
    planted = rank1 = trio = rank1_trio = found = strong_unrel = 0
    for t in truth:
        lst = sorted(by_missing.get(str(t["missing_id"]), []), key=lambda c: c["rank"])
        if t["kind"] == "lost_child":
            planted += 1
            is_trio = t.get("parents_registered") == "both"
            trio += is_trio
            fams = [c["family_id"] for c in lst]
            if fams and fams[0] == str(t["family_id"]):
                rank1 += 1
                rank1_trio += is_trio
            found += str(t["family_id"]) in fams
        elif any(c["log10_lr"] >= math.log10(STRONG_LR) for c in lst):
            strong_unrel += 1
    return Evaluation(planted, rank1, trio, rank1_trio, found, strong_unrel)
