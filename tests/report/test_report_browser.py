"""The report page in headless Chromium: sorting, filters, the detail view (assets/report.js)."""

from __future__ import annotations

from browser import Dom, chromium, file_url  # noqa: F401  (chromium is a fixture)
from reunion.report import CATEGORIES, write_report
from report_cases import HTML_ID, LOCI, EXPECTED_BEST, hand_made_candidates, run_folder  # noqa: F401


def overview_ids(dom) -> list[str]:
    return [tr.attrs["data-id"] for tr in dom.by_id("overview").find_all("tr", data_id=True)
            if not tr.has("hidden")]


def test_browser_counts_and_filters(chromium, run_folder):
    report = write_report(run_folder)
    dom = Dom(chromium.dump_dom(file_url(report)))
    assert dom.by_id("shown").text() == "8"
    assert dom.by_id("detail-view").has("hidden")
    assert not dom.by_id("list-view").has("hidden")
    for k, n in EXPECTED_BEST.items():
        d = Dom(chromium.dump_dom(file_url(report, f"#cat={k}")))
        assert d.by_id("shown").text() == str(n), k
        cats = {tr.attrs["data-cat"] for tr in d.by_id("overview").find_all("tr", data_id=True)
                if not tr.has("hidden")}
        assert cats <= {k}
    d = Dom(chromium.dump_dom(file_url(report, "#q=f3")))        # family id, case-insensitive
    assert sorted(overview_ids(d)) == ["M2", "M7"]


def test_browser_sorting_from_url(chromium, run_folder):
    report = write_report(run_folder)
    best = {c["missing_id"]: c["log10_lr"] for c in hand_made_candidates() if c["rank"] == 1}
    d = Dom(chromium.dump_dom(file_url(report)))                 # default: LR descending
    assert overview_ids(d) == sorted(best, key=lambda m: -best[m])
    d = Dom(chromium.dump_dom(file_url(report, "#sort=lr-asc")))
    ids = overview_ids(d)
    assert [best[m] for m in ids] == sorted(best.values())
    assert ids[0] == "M4" and ids[-1] == HTML_ID
    d = Dom(chromium.dump_dom(file_url(report, "?sort=id-desc")))  # query string works too
    assert overview_ids(d) == sorted(best, reverse=True)
    th = d.find("th", data_key="id")
    assert th.attrs.get("aria-sort") == "descending"
    d = Dom(chromium.dump_dom(file_url(report, "#sort=cat-desc")))
    cats = [tr.attrs["data-cat"] for tr in d.by_id("overview").find_all("tr", data_id=True)]
    assert cats == sorted(cats, key=CATEGORIES.index)


def test_browser_detail_view(chromium, run_folder):
    report = write_report(run_folder)
    d = Dom(chromium.dump_dom(file_url(report, "#open=M1")))
    assert d.by_id("list-view").has("hidden")
    view = d.by_id("detail-view")
    assert not view.has("hidden")
    assert "Missing person M1 — 2 candidates" in d.by_id("detail-title").text()
    blocks = view.find_all("details", class_="cand")
    assert [b.attrs["data-family"] for b in blocks] == ["F1", "F2"]
    assert blocks[0].has("open") and not blocks[1].has("open")
    table = blocks[0].find("table", class_="loci")
    assert [tr.attrs["data-locus"] for tr in table.find_all("tr", data_locus=True)] == LOCI
    head = table.find("thead").text()
    assert "Father" in head and "Mother" in head and "Allele frequencies" in head
    assert "9: 0.2000, 9.3: 0.3000" in table.text()
    assert "rare-allele floor" in table.text()
    assert blocks[0].find("svg", class_="bars") is not None
    assert "H1the couple F1-F (father) and F1-M (mother)" in blocks[0].text()
    # a chosen candidate, the inconsistent-locus flag, and the hostile id, escaped all the way
    d = Dom(chromium.dump_dom(file_url(report, "#open=M3")))
    rows = d.by_id("detail-view").find("table", class_="loci").find_all("tr", class_="inconsistent")
    assert [r.attrs["data-locus"] for r in rows] == ["D1"]
    d = Dom(chromium.dump_dom(file_url(report, "#open=M2&family=F4")))
    blocks = d.by_id("detail-view").find_all("details", class_="cand")
    assert [b.attrs["data-family"] for b in blocks if b.has("open")] == ["F4"]
    from urllib.parse import quote
    d = Dom(chromium.dump_dom(file_url(report, "#open=" + quote(HTML_ID, safe=""))))
    assert f"Missing person {HTML_ID} — 1 candidate" in d.by_id("detail-title").text()
    assert d.find("b", id="pwned") is None


def test_browser_screenshot(chromium, run_folder, tmp_path):
    report = write_report(run_folder)
    png = chromium.screenshot(file_url(report), tmp_path / "report.png", size=(1400, 1000))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    png2 = chromium.screenshot(file_url(report, "#open=M1"), tmp_path / "detail.png")
    assert png2.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
