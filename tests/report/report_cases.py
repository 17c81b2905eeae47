"""Shared test material for reunion.report: hand-made candidates and run folders."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pyarrow as pa
import pytest
from records_cases import manifest_with

from reunion.contracts import ALLELES, CANDIDATES, PER_LOCUS
from reunion.contracts.records import FileRef
from reunion.frequencies import file_sha256
from reunion.io import atomic

INF = math.inf


def cand(mid: str, rank: int, fam: str, l10: float, inc: int = 0, hyp: str = "trio",
         members: str | None = None) -> dict:
    if members is None:
        members = {"trio": f"father:{fam}-F;mother:{fam}-M", "duo_father": f"father:{fam}-F",
                   "duo_mother": f"mother:{fam}-M"}.get(hyp, f"other:{fam}-S")
    return {"missing_id": mid, "rank": rank, "family_id": fam, "hypothesis": hyp,
            "members": members, "log10_lr": l10,
            "lr": 0.0 if l10 == -INF else (INF if l10 > 308 else 10.0 ** l10),
            "loci_compared": 20, "inconsistent_loci": inc,
            "log10_lr_duo_father": (l10 / 2 if hyp == "trio" and math.isfinite(l10) else None),
            "log10_lr_duo_mother": (l10 / 2 if hyp == "trio" and math.isfinite(l10) else None),
            "floored_alleles": 0}


def by_key(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["missing_id"], r["family_id"]): r for r in rows}


HTML_ID = 'M<b id="pwned">5</b>&x'      # a hostile id: must come out escaped everywhere
LOCI = ["D1", "D2", "TH01"]


def hand_made_candidates() -> list[dict]:
    return [
        cand("M1", 1, "F1", 12.0), cand("M1", 2, "F2", 3.5, hyp="duo_father"),   # undisputed, inconclusive
        cand("M2", 1, "F3", 6.0, hyp="duo_mother"), cand("M2", 2, "F4", 5.5, hyp="duo_father"),
        cand("M3", 1, "F5", 9.0, inc=3),                                          # weak (3 inconsistent)
        cand("M4", 1, "F6", 1.0, hyp="pair_full_sibling"),                        # weak
        cand(HTML_ID, 1, "F7", 40.0),                                             # undisputed, 1e40
        cand("M6", 1, "F1", 4.5), cand("M6", 2, "F2", 4.5, hyp="duo_father"),     # tie: strong
        cand("M7", 1, "F3", 2.0, hyp="duo_mother"), cand("M7", 2, "F4", -INF, hyp="duo_father"),
        cand("M8", 1, "F8", 3.5),                                                 # inconclusive
    ]


EXPECTED_BEST = {"undisputed": 2, "strong": 2, "inconclusive": 1, "weak": 3}


def per_locus_rows(cands: list[dict]) -> list[dict]:
    out = []
    for c in cands:
        for i, loc in enumerate(LOCI):
            inc = c["inconsistent_loci"] > 0 and i == 0
            l10 = -2.0 if inc else (c["log10_lr"] / len(LOCI) if math.isfinite(c["log10_lr"]) else -INF)
            out.append({"missing_id": c["missing_id"], "family_id": c["family_id"], "locus": loc,
                        "missing_genotype": "" if loc == "TH01" and c["missing_id"] == "M4" else "9/9.3",
                        "father_genotype": "9/10" if "father" in c["members"] else "",
                        "mother_genotype": "9.3/11" if "mother" in c["members"] else "",
                        "other_genotype": "9/12" if "other" in c["members"] else "",
                        "lr": 0.0 if l10 == -INF else 10.0 ** min(l10, 300), "log10_lr": l10,
                        "compared": not (loc == "TH01" and c["missing_id"] == "M4"),
                        "inconsistent": inc, "floored": loc == "D2"})
    return out


def make_run(run_dir: Path, cands: list[dict], shards: Path | None = None,
             families: int = 20) -> Path:
    run_dir = atomic.ensure_dir(run_dir)
    atomic.write_table(pa.Table.from_pylist(cands, schema=CANDIDATES), run_dir / "candidates.parquet")
    atomic.write_table(pa.Table.from_pylist(per_locus_rows(cands), schema=PER_LOCUS),
                       run_dir / "per_locus.parquet")
    record = {
        "flow": "national-rematch", "who": "tester", "started": "2026-01-02T03:04:05+00:00",
        "seconds": 12.5, "code_version": "test", "config_sha256": "0" * 64,
        "config": {"frequencies": {"population": "Asian"},
                   "scoring": {"top_k": 10, "log10_lr_floor": 0.0}},
        "frequency_table": {"path": "nist.csv", "population": "Asian", "sha256": "1" * 64},
        "manifest": {"path": str(shards / "manifest.json") if shards else "gone/manifest.json",
                     "sha256": file_sha256(shards / "manifest.json") if shards else "2" * 64},
        "counts": {"missing": 10, "families": families, "pieces": 4, "pairs_screened": 10 * families,
                   "missing_with_candidates": len({c["missing_id"] for c in cands}),
                   "missing_not_searched_too_few_loci": 1, "rows_read": 321, "rows_rejected": 4,
                   "floored_allele_uses": 3, "candidates": len(cands)},
    }
    atomic.write_text(run_dir / "run.json", json.dumps(record))
    return run_dir


def make_shards(d: Path) -> Path:
    d = atomic.ensure_dir(d)
    rows = []
    for loc in LOCI:
        for code, (al, f, src) in enumerate([("9", 0.2, "table"), ("9.3", 0.3, "table"),
                                             ("10", 0.1, "table"), ("11", 0.01, "floor")]):
            rows.append({"locus": loc, "code": code, "allele": al, "frequency": f, "source": src})
    atomic.write_table(pa.Table.from_pylist(rows, schema=ALLELES), d / "alleles.parquet")
    manifest_with(alleles=FileRef(path="alleles.parquet", sha256=file_sha256(d / "alleles.parquet")),
                  loci=list(LOCI)).write(d / "manifest.json")
    return d


@pytest.fixture
def run_folder(tmp_path) -> Path:
    return make_run(tmp_path / "results", hand_made_candidates(), make_shards(tmp_path / "shards"))


def embedded_data(html_text: str) -> dict:
    m = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html_text, re.S)
    return json.loads(m.group(1))
