"""A pedigree candidate in the report: members by relation in H1, every member's genotype in
its own column of the per-locus table (report/page.py ``cols``; issue 16, part 2)."""

from __future__ import annotations

import pyarrow as pa

from reunion.contracts import PER_LOCUS
from reunion.report.page import _detail_data
from reunion.report.review import ReviewSettings


def _cand(hyp: str, members: str) -> dict:
    return {"missing_id": "Q", "rank": 1, "family_id": "F1", "hypothesis": hyp, "members": members,
            "log10_lr": 5.0, "log10_rival_ratio": None, "category": "strong", "category_reason": "r",
            "posterior": 0.99, "loci_compared": 2, "inconsistent_loci": 0, "floored_alleles": 0,
            "log10_lr_duo_father": None, "log10_lr_duo_mother": None}


def _table(rows: dict) -> pa.Table:
    """{(missing_id, family_id): [per-locus rows]} as PER_LOCUS rows (what the report reads)."""
    return pa.Table.from_pylist([{"missing_id": m, "family_id": f, "lr": 10 ** r["log10_lr"], **r}
                                 for (m, f), rs in rows.items() for r in rs], schema=PER_LOCUS)


def _locus(locus: str, father: str, other: str) -> dict:
    return {"locus": locus, "missing_genotype": "7/8", "father_genotype": father, "mother_genotype": "",
            "other_genotype": other, "log10_lr": 0.5, "compared": True, "inconsistent": False,
            "floored": False}


def test_pedigree_members_get_a_column_each_with_their_genotypes():
    c = _cand("pedigree", "father:F;paternal_grandmother1:GM;paternal_uncle_aunt1:U")
    per_locus = {("Q", "F1"): [_locus("TH01", "7/9", "paternal_grandmother1: 7/7; paternal_uncle_aunt1: 6/7"),
                               _locus("FGA", "", "paternal_uncle_aunt1: 20/21")]}     # GM untyped here
    data, _, _ = _detail_data([c], _table(per_locus), ReviewSettings(), None)
    (d,) = data["Q"]
    assert d["cols"] == [["Father", 2, "F"], ["Paternal grandmother", 7, "GM"], ["Paternal uncle or aunt", 8, "U"]]
    assert [row[7:] for row in d["L"]] == [["7/7", "6/7"], ["", "20/21"]]
    assert [row[2] for row in d["L"]] == ["7/9", ""]
    assert "the paternal grandmother GM" in d["h1"] and "the paternal uncle or aunt U" in d["h1"]


def test_siblings_get_columns_and_todays_pairs_do_not():
    nuc = _cand("nuclear", "mother:M;sibling1:S1;sibling2:S2")
    pair = _cand("pair_avuncular", "other:U")
    per_locus = {("Q", "F1"): [_locus("TH01", "", "sibling1: 7/7; sibling2: 8/9")]}
    (d,) = _detail_data([nuc], _table(per_locus), ReviewSettings(), None)[0]["Q"]
    assert d["cols"] == [["Mother", 3, "M"], ["Full sibling", 7, "S1"], ["Full sibling", 8, "S2"]]
    assert d["L"][0][7:] == ["7/7", "8/9"]
    (p,) = _detail_data([pair], _table({("Q", "F1"): [_locus("TH01", "", "6/7")]}), ReviewSettings(), None)[0]["Q"]
    assert "cols" not in p and len(p["L"][0]) == 7        # the father / mother / other columns as before
