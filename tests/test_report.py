"""Review categories, rival ratios, posteriors and the HTML report (incl. headless Chromium)."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from browser import Dom, chromium, file_url  # noqa: F401  (chromium is a fixture)
from reunion.contracts import ALLELES, CANDIDATES, PER_LOCUS
from reunion.frequencies import file_sha256
from reunion.io import atomic
from reunion.report import (CATEGORIES, REVIEW, ReviewSettings, categorise, compare_runs,
                            fmt_posterior, fmt_pow10, fmt_rival, histogram_svg, posterior,
                            write_report)

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


# --------------------------------------------------------------------------- settings
def test_settings_defaults_descriptions_and_bounds():
    s = ReviewSettings()
    assert (s.strong_lr, s.max_inconsistent_strong, s.inconclusive_low, s.undisputed_factor,
            s.prior) == (10_000, 2, 2_000, 100, "half")
    for name, f in ReviewSettings.model_fields.items():
        assert f.description, f"{name} has no description"
    with pytest.raises(ValidationError):
        ReviewSettings(strong_lr=1_000)                      # below inconclusive_low
    with pytest.raises(ValidationError):
        ReviewSettings(max_inconsistent_strong=-1)
    with pytest.raises(ValidationError):
        ReviewSettings(undisputed_factor=0.5)
    with pytest.raises(ValidationError):
        ReviewSettings(prior="flat")
    with pytest.raises(ValidationError):
        ReviewSettings(unknown_field=1)


# --------------------------------------------------------------------------- categories
def test_no_candidates():
    assert categorise([], ReviewSettings(), 10) == []


def test_single_strong_candidate_has_no_rival_and_is_undisputed():
    [r] = categorise([cand("M1", 1, "F1", 5.0)], ReviewSettings(), 10)
    assert r["rival_ratio"] is None and r["log10_rival_ratio"] is None
    assert r["category"] == "undisputed"
    assert "no rival" in r["category_reason"]
    assert fmt_rival(r["log10_rival_ratio"]) == "no rival"


def test_tie_gives_ratio_one_and_is_not_undisputed():
    rows = categorise([cand("M1", 1, "F1", 6.0), cand("M1", 2, "F2", 6.0)], ReviewSettings(), 10)
    r1, r2 = rows
    assert r1["rival_ratio"] == 1.0 and r1["log10_rival_ratio"] == 0.0
    assert r1["category"] == "strong" and r2["category"] == "strong"
    assert r2["rival_ratio"] is None
    # two exclusions tie as well
    e = categorise([cand("M2", 1, "F1", -INF), cand("M2", 2, "F2", -INF)], ReviewSettings(), 10)
    assert e[0]["rival_ratio"] == 1.0 and e[0]["category"] == "weak"


def test_rival_ratio_is_next_rank_and_undisputed_factor():
    rows = categorise([cand("M1", 3, "F3", 4.5), cand("M1", 1, "F1", 10.0),
                       cand("M1", 2, "F2", 7.0)], ReviewSettings(), 10)
    assert [r["family_id"] for r in rows] == ["F1", "F2", "F3"]        # rank order
    assert rows[0]["rival_ratio"] == pytest.approx(1e3)                # LR1/LR2
    assert rows[1]["rival_ratio"] == pytest.approx(10 ** 2.5)          # LR2/LR3
    assert rows[2]["rival_ratio"] is None
    assert [r["category"] for r in rows] == ["undisputed", "strong", "strong"]
    # a rival within the factor: strong, not undisputed
    close = categorise([cand("M1", 1, "F1", 10.0), cand("M1", 2, "F2", 8.5)], ReviewSettings(), 10)
    assert close[0]["rival_ratio"] == pytest.approx(10 ** 1.5)
    assert close[0]["category"] == "strong"
    assert "not undisputed" in close[0]["category_reason"]
    # exactly the factor is enough
    edge = categorise([cand("M1", 1, "F1", 10.0), cand("M1", 2, "F2", 8.0)], ReviewSettings(), 10)
    assert edge[0]["category"] == "undisputed"
    # only rank 1 can be undisputed
    assert categorise([cand("M1", 1, "F1", 3.0), cand("M1", 2, "F2", 3.0 - 9)],
                      ReviewSettings(), 10)[0]["category"] == "weak"


def test_inconclusive_and_weak_boundaries():
    s = ReviewSettings()
    cat = {l: categorise([cand("M", 1, "F", l)], s, 10)[0]["category"]
           for l in (math.log10(2000), 3.5, 3.999, 4.0, 1.0)}
    assert cat[math.log10(2000)] == "weak"             # LR = 2,000 is not above the low bound
    assert cat[3.5] == "inconclusive"
    assert cat[3.999] == "inconclusive"
    assert cat[4.0] == "undisputed"                    # LR = 10,000 is strong (no rival)
    assert cat[1.0] == "weak"
    # inconclusive regardless of rivals, also at rank 2
    rows = categorise([cand("M", 1, "F1", 3.6), cand("M", 2, "F2", 3.4)], s, 10)
    assert [r["category"] for r in rows] == ["inconclusive", "inconclusive"]


def test_strong_lr_with_three_inconsistent_loci_is_not_strong():
    s = ReviewSettings()
    [three] = categorise([cand("M1", 1, "F1", 12.0, inc=3)], s, 10)
    assert three["category"] == "weak"
    assert "3 inconsistent loci" in three["category_reason"]
    [two] = categorise([cand("M1", 1, "F1", 12.0, inc=2)], s, 10)
    assert two["category"] == "undisputed"
    loose = ReviewSettings(max_inconsistent_strong=3)
    assert categorise([cand("M1", 1, "F1", 12.0, inc=3)], loose, 10)[0]["category"] == "undisputed"


def test_huge_and_zero_lrs_do_not_overflow():
    rows = categorise([cand("M1", 1, "F1", 400.0), cand("M1", 2, "F2", 40.0),
                       cand("M1", 3, "F3", -INF)], ReviewSettings(), 10)
    assert rows[0]["rival_ratio"] == INF               # 10**360 is beyond float64
    assert rows[0]["log10_rival_ratio"] == pytest.approx(360.0)
    assert rows[1]["rival_ratio"] == INF               # rival excluded (LR 0)
    assert rows[1]["log10_rival_ratio"] == INF
    assert rows[0]["posterior"] == 1.0 and rows[2]["posterior"] == 0.0
    assert fmt_pow10(40.0) == "1.00 × 10⁴⁰"
    assert fmt_pow10(-INF) == "0"
    assert fmt_rival(INF) == "∞ (rival LR 0)"
    assert fmt_rival(0.0) == "1 (tie)"


def test_missing_persons_are_independent_and_inputs_untouched():
    inp = [cand("M2", 1, "F9", 5.0), cand("M1", 1, "F1", 5.0), cand("M1", 2, "F2", 4.9)]
    before = [dict(c) for c in inp]
    rows = categorise(inp, ReviewSettings(), 10)
    assert inp == before
    k = by_key(rows)
    assert k[("M2", "F9")]["category"] == "undisputed"
    assert k[("M1", "F1")]["category"] == "strong"
    assert [r["missing_id"] for r in rows] == ["M1", "M1", "M2"]


def test_posterior_by_hand_with_both_priors():
    half = categorise([cand("M1", 1, "F1", 4.0)], ReviewSettings(), 400)[0]
    assert half["posterior"] == pytest.approx(10_000 / 10_001, rel=1e-12)
    assert half["prior"] == "half" and half["prior_probability"] == 0.5
    s = ReviewSettings(prior="one_over_families")
    one = categorise([cand("M1", 1, "F1", 4.0)], s, 400)[0]
    pi = 1 / 400
    assert one["posterior"] == pytest.approx(1e4 * pi / (1e4 * pi + 1 - pi), rel=1e-12)
    assert one["posterior"] == pytest.approx(1e4 / (1e4 + 399), rel=1e-12)
    assert one["prior"] == "one_over_families" and one["prior_probability"] == pytest.approx(pi)
    # LR 1 at prior 0.5 is 50%; LR 0 is 0; one family makes the prior 1
    assert posterior(0.0, 0.5) == 0.5
    assert posterior(-INF, 0.5) == 0.0
    assert posterior(-3.0, 1.0) == 1.0
    assert posterior(-400.0, 0.5) == pytest.approx(0.0, abs=1e-300)
    with pytest.raises(ValueError, match="number of families"):
        categorise([cand("M1", 1, "F1", 4.0)], s, None)
    assert fmt_posterior(10_000 / 10_001) == "99.9900%"
    assert fmt_posterior(1.0) == "> 99.9999%"
    assert fmt_posterior(0.5) == "50.00%"


def test_compare_runs():
    s = ReviewSettings()
    prev = categorise([cand("M1", 1, "F1", 3.5), cand("M2", 1, "F2", 6.0),
                       cand("M3", 1, "F3", 8.0), cand("M3", 2, "F4", 2.0)], s, 10)
    cur = categorise([cand("M1", 1, "F1", 9.0), cand("M2", 1, "F2", 5.0),
                      cand("M3", 1, "F5", 9.0), cand("M3", 2, "F3", 8.0), cand("M4", 1, "F6", 1.0)],
                     s, 10)
    ch = compare_runs(cur, prev)
    assert {(e["now"]["missing_id"], e["now"]["family_id"]) for e in ch["new"]} == \
        {("M3", "F5"), ("M4", "F6")}
    assert [(e["before"]["missing_id"], e["before"]["family_id"]) for e in ch["dropped"]] == \
        [("M3", "F4")]
    assert [e["now"]["family_id"] for e in ch["improved"]] == ["F1"]           # inconclusive -> undisputed
    assert {e["now"]["family_id"] for e in ch["worsened"]} == {"F2", "F3"}     # lower LR; lost "undisputed"
    assert [e["now"]["missing_id"] for e in ch["best_changed"]] == ["M3"]
    assert all(not v for v in compare_runs(cur, cur).values())


def test_histogram_svg_counts_every_rank1():
    rows = categorise([cand(f"M{i}", 1, "F", l) for i, l in enumerate([1.0, 3.5, 12.0, 12.2, -INF])],
                      ReviewSettings(), 10)
    svg = histogram_svg(rows, ReviewSettings())
    assert svg.startswith("<svg")
    titles = re.findall(r"<title>[^<]*: (\d+) (\w+)</title>", svg)
    assert sum(int(n) for n, _ in titles) == 4
    assert "1 best candidates with LR 0 not drawn" in svg


# --------------------------------------------------------------------------- run folders
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
    manifest = {"alleles": {"path": "alleles.parquet", "sha256": file_sha256(d / "alleles.parquet")},
                "loci": LOCI}
    atomic.write_text(d / "manifest.json", json.dumps(manifest))
    return d


@pytest.fixture
def run_folder(tmp_path) -> Path:
    return make_run(tmp_path / "results", hand_made_candidates(), make_shards(tmp_path / "shards"))


def embedded_data(html_text: str) -> dict:
    m = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html_text, re.S)
    return json.loads(m.group(1))


def test_write_report_files_modes_and_counts(run_folder):
    path = write_report(run_folder)
    assert path == run_folder / "report.html"
    for name in ("review.parquet", "review.csv", "report.html"):
        p = run_folder / name
        assert p.exists(), name
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640, name
    assert not list(run_folder.glob(".*.tmp"))
    t = pq.read_table(run_folder / "review.parquet")
    assert t.schema.names == REVIEW.names
    assert t.num_rows == len(hand_made_candidates())
    assert json.loads(t.schema.metadata[b"review_settings"])["strong_lr"] == 10_000
    rows = t.to_pylist()
    best = [r for r in rows if r["rank"] == 1]
    assert {k: sum(r["category"] == k for r in best) for k in CATEGORIES} == EXPECTED_BEST
    assert by_key(rows)[("M7", "F3")]["rival_ratio"] == INF
    csv_text = (run_folder / "review.csv").read_text()
    assert csv_text.splitlines()[0].count(",") == len(REVIEW) - 1
    assert csv_text.count("\n") == len(rows) + 1

    html_text = path.read_text()
    dom = Dom(html_text)
    for k, n in EXPECTED_BEST.items():
        assert dom.by_id(f"count-{k}").text() == str(n), k
    assert dom.by_id("count-none").text() == "2"                 # 10 missing, 8 with candidates
    assert len(dom.by_id("overview").find_all("tr", data_id=True)) == 8
    assert dom.by_id("total").text() == "8"
    text = dom.text()
    for needle in ("321", "Input rows rejected", "Rare-allele floor uses", "12.5 s",
                   "prior 0.5", "No previous run"):
        assert needle in text, needle
    # the SVG histogram is inline and counts every rank-1 candidate
    svg = dom.find("svg", class_="hist")
    assert sum(int(t.text().split(": ")[1].split()[0]) for t in svg.find_all("title")) == 8
    # every string escaped; self-contained (no network)
    assert HTML_ID not in html_text
    assert "M&lt;b id=&quot;pwned&quot;&gt;5&lt;/b&gt;&amp;x" in html_text
    assert dom.find("b", id="pwned") is None
    assert not re.search(r'<(link|img|iframe)\b', html_text)
    assert not re.search(r'\b(src|href)="(https?:)?//', html_text)
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", html_text)
    # detail data: rank <= 3 carry per-locus rows, frequencies found through run.json
    data = embedded_data(html_text)
    assert data["loci"] == LOCI
    assert data["freq"]["D1"]["9"] == [0.2, 0]
    assert data["freq"]["D1"]["9.3"] == [0.3, 0]
    m1 = data["m"]["M1"]
    assert [c["f"] for c in m1] == ["F1", "F2"]
    assert len(m1[0]["L"]) == 3
    assert "the couple F1-F (father) and F1-M (mother) of family F1" in m1[0]["h1"]
    assert "unrelated" in m1[0]["h2"]
    assert "full sibling" in data["m"]["M4"][0]["h1"]
    assert data["m"]["M7"][1]["l"] == "-inf"


def test_detail_ranks_limit_and_frequencies_missing(tmp_path):
    cands = [cand("M1", r, f"F{r}", 12.0 - r) for r in range(1, 6)]
    run = make_run(tmp_path / "r", cands, shards=None)
    write_report(run, settings=ReviewSettings(detail_ranks=2))
    html_text = (run / "report.html").read_text()
    data = embedded_data(html_text)
    assert ["L" in c for c in data["m"]["M1"]] == [True, True, False, False, False]
    assert data["freq"] is None
    assert "shard set not reachable" in data["freq_note"]
    assert "shard set not reachable" in Dom(html_text).text()


def test_changed_shards_are_not_used(tmp_path):
    shards = make_shards(tmp_path / "shards")
    run = make_run(tmp_path / "r", hand_made_candidates(), shards)
    atomic.write_text(shards / "manifest.json", json.dumps({"alleles": {}, "edited": True}))
    write_report(run)
    data = embedded_data((run / "report.html").read_text())
    assert data["freq"] is None and "changed since this run" in data["freq_note"]


def test_one_over_families_prior_in_report(run_folder):
    write_report(run_folder, settings=ReviewSettings(prior="one_over_families"))
    rows = pq.read_table(run_folder / "review.parquet").to_pylist()
    assert {r["prior"] for r in rows} == {"one_over_families"}
    assert [r["prior_probability"] for r in rows] == pytest.approx([1 / 20] * len(rows))
    assert "prior 1/20" in (run_folder / "report.html").read_text()


def test_changes_since_previous_run(tmp_path, run_folder):
    prev_cands = [c for c in hand_made_candidates() if c["missing_id"] != "M8"]   # M8 is new now
    prev_cands = [dict(c, log10_lr=c["log10_lr"] - 1, lr=c["lr"] / 10) if c["missing_id"] == "M2"
                  else c for c in prev_cands]                                      # M2 improved
    prev_cands.append(cand("M9", 1, "F9", 5.0))                                   # M9 dropped
    prev = make_run(tmp_path / "previous", prev_cands)
    write_report(run_folder, previous_run_dir=prev)
    dom = Dom((run_folder / "report.html").read_text())
    assert dom.by_id("changes-new").text() == "1"
    assert dom.by_id("changes-dropped").text() == "1"
    assert dom.by_id("changes-improved").text() == "2"       # both M2 candidates
    assert dom.by_id("changes-worsened").text() == "0"
    # a missing previous run folder is said, not fatal
    write_report(run_folder, previous_run_dir=tmp_path / "nowhere")
    assert "has no candidates.parquet" in (run_folder / "report.html").read_text()


def test_empty_run(tmp_path):
    run = make_run(tmp_path / "r", [])
    write_report(run)
    dom = Dom((run / "report.html").read_text())
    assert dom.by_id("count-undisputed").text() == "0"
    assert dom.by_id("total").text() == "0"
    assert pq.read_table(run / "review.parquet").num_rows == 0


# --------------------------------------------------------------------------- browser
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


def test_without_per_locus_file(tmp_path):
    run = make_run(tmp_path / "r", [cand("M1", 1, "F1", 8.0)])
    (run / "per_locus.parquet").unlink()
    write_report(run)
    data = embedded_data((run / "report.html").read_text())
    assert data["m"]["M1"][0]["L"] == []
    assert data["m"]["M1"][0]["cat"] == "undisputed"
