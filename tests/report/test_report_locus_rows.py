"""The detail views' per-locus rows, built column by column (report/page.py locus_rows)."""

from __future__ import annotations

import math

import pyarrow as pa

from reunion.contracts import PER_LOCUS
from reunion.report.page import locus_rows


def _row(m: str, f: str, locus: str, lod: float, compared=True, inconsistent=False, floored=False) -> dict:
    return {"missing_id": m, "family_id": f, "locus": locus, "missing_genotype": "7/8",
            "father_genotype": "7/9", "mother_genotype": "", "other_genotype": "",
            "lr": 10 ** lod if math.isfinite(lod) else 0.0, "log10_lr": lod, "compared": compared,
            "inconsistent": inconsistent, "floored": floored}


def test_rows_grouped_by_pair_loci_in_order_of_first_appearance_along_the_page():
    t = pa.Table.from_pylist([
        _row("Q1", "F1", "TH01", 0.123456),
        _row("Q1", "F1", "FGA", -math.inf, compared=True, inconsistent=True),    # flags 1 | 2 = 3
        _row("Q2", "F2", "D8", 1.0, compared=False, floored=True),                # flags 4
        _row("Q1", "F1", "vWA", 2.00004),       # Q1/F1 again after Q2/F2: appended to its rows
        _row("Q3", "F3", "CSF", 0.5),           # a pair the page does not list
    ], schema=PER_LOCUS)
    rows, loci = locus_rows(t, [("Q2", "F2"), ("Q1", "F1"), ("Q2", "F2")])
    # along the page: Q2/F2 (D8), then Q1/F1 (TH01, FGA, vWA); CSF is never shown
    assert loci == ["D8", "TH01", "FGA", "vWA"]
    assert rows[("Q2", "F2")] == [[0, "7/8", "7/9", "", "", 1.0, 4]]
    assert rows[("Q1", "F1")] == [[1, "7/8", "7/9", "", "", 0.1235, 1],     # round(0.123456, 4)
                                  [2, "7/8", "7/9", "", "", "-inf", 3],
                                  [3, "7/8", "7/9", "", "", 2.0, 1]]        # round(2.00004, 4)


def test_no_rows():
    assert locus_rows(None, [("Q", "F")]) == ({}, [])
    assert locus_rows(PER_LOCUS.empty_table(), []) == ({}, [])
    rows, loci = locus_rows(pa.Table.from_pylist([_row("Q", "F", "TH01", 0.0)], schema=PER_LOCUS), [])
    assert loci == [] and rows[("Q", "F")][0][1:] == ["7/8", "7/9", "", "", 0.0, 1]
