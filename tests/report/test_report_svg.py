"""The summary histogram (reunion.report.svg)."""

from __future__ import annotations

import re

from reunion.report import ReviewSettings, categorise, histogram_svg
from report_cases import INF, cand


def test_histogram_svg_counts_every_rank1():
    rows = categorise([cand(f"M{i}", 1, "F", l) for i, l in enumerate([1.0, 3.5, 12.0, 12.2, -INF])],
                      ReviewSettings(), 10)
    svg = histogram_svg(rows, ReviewSettings())
    assert svg.startswith("<svg")
    titles = re.findall(r"<title>[^<]*: (\d+) (\w+)</title>", svg)
    assert sum(int(n) for n, _ in titles) == 4
    assert "1 best candidates with LR 0 not drawn" in svg
