"""write_report on run folders: files, modes, the page's content (reunion.report.run_folder)."""

from __future__ import annotations

import json
import os
import re
import stat

import pyarrow.parquet as pq
import pytest

from browser import Dom
from reunion.io import atomic
from reunion.report import CATEGORIES, REVIEW, ReviewSettings, write_report
from report_cases import (EXPECTED_BEST, HTML_ID, INF, LOCI, by_key, cand, embedded_data,
                          hand_made_candidates, make_run, make_shards, run_folder)  # noqa: F401


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


def test_without_per_locus_file(tmp_path):
    run = make_run(tmp_path / "r", [cand("M1", 1, "F1", 8.0)])
    (run / "per_locus.parquet").unlink()
    write_report(run)
    data = embedded_data((run / "report.html").read_text())
    assert data["m"]["M1"][0]["L"] == []
    assert data["m"]["M1"][0]["cat"] == "undisputed"


@pytest.mark.parametrize("where", ["run", "calibrate"])
def test_calibrated_run_report(tmp_path, where):
    """A calibrated run folder (candidates with p_h2 ..., families.parquet, thresholds.parquet,
    run.json's calibration), or a run made without calibration that ``reunion calibrate``
    calibrated afterwards (the same files and calibration.json in RUN/calibration/): the
    review rows carry the chance words, the page the threshold plot (one line per family kind
    and the total), the LR threshold per kind and the families of lowest power first."""
    import numpy as np
    import pyarrow as pa

    from reunion.calibration import THRESHOLD_GRID, chance_thresholds
    from reunion.contracts import CALIBRATED_CANDIDATES, FAMILY_CALIBRATION

    cands = hand_made_candidates()
    run = make_run(tmp_path / "results", cands, make_shards(tmp_path / "shards"))
    searched = 10
    p = {("M1", "F1"): 1e-9, ("M2", "F3"): 0.002}          # M2's best: 0.02 expected: not strong
    rows = [{**c, "p_h2": p.get((c["missing_id"], c["family_id"]), 1e-3),
             "expected_chance_matches": p.get((c["missing_id"], c["family_id"]), 1e-3) * searched,
             "p_h1": 0.4, "error_bound_log10": 0.003} for c in cands]
    cal = run if where == "run" else atomic.ensure_dir(run / "calibration")
    atomic.write_table(pa.Table.from_pylist(rows, schema=CALIBRATED_CANDIDATES), cal / "candidates.parquet")
    # two trio families and one duo: expected chance matches 10 * 10^-x (trio), 10 * 10^(-x/2) (duo)
    x = THRESHOLD_GRID
    fams = [{"family_id": f, "hypothesis": h, "loci_typed": 3, "searched": searched, "power": pw,
             "power_log10_lr": 4.0, "p_h2_at_threshold": 1e-4, "expected_chance_matches": 1e-3,
             "persons_approximated": 0, "error_bound_log10": 0.003,
             "expected_chance_matches_curve": (searched * 10.0 ** (-x if h == "trio" else -x / 2)).tolist()}
            for f, h, pw in (("F1", "trio", 0.99), ("F8", "trio", 0.95), ("F3", "duo_mother", 0.4))]
    fams[2].update(best_next_relative="father", power_with_best=0.875, p_h2_with_best=1e-6,
                   expected_chance_matches_with_best=1e-5,
                   next_relatives=[{"relation": "father", "power": 0.875}, {"relation": "full_sibling", "power": 0.6}],
                   advice_mass_left_out=0.0)
    fams[0]["advice_skipped"] = "power at or above sampling_advice.max_power"
    ft = pa.Table.from_pylist(fams, schema=FAMILY_CALIBRATION)
    atomic.write_table(ft, cal / "families.parquet")
    atomic.write_table(chance_thresholds(ft, by=("hypothesis", "loci_typed")), cal / "thresholds.parquet")
    info = {"searched": searched, "power_log10_lr": 4.0, "error_bound_log10": 0.003,
            "expected_chance_matches_at_power_threshold": 0.003, "log10_lr_threshold_one_chance_match": 2.0}
    if where == "run":
        record = json.loads((run / "run.json").read_text())
        record["calibration"] = info
        (run / "run.json").write_text(json.dumps(record))
    else:
        (cal / "calibration.json").write_text(json.dumps(info))

    html_text = write_report(run).read_text()
    review = by_key(pq.read_table(run / "review.parquet").to_pylist())
    assert review[("M1", "F1")]["category"] == "undisputed"
    assert review[("M1", "F1")]["chance_words"] == (
        "about 1 in 1.00 × 10⁹ unrelated people reach this LR against this family; in this "
        "database of 10, expect 1.00 × 10⁻⁸ such chance matches")
    assert review[("M2", "F3")]["category"] == "inconclusive"       # LR 10^6 but 0.02 expected
    assert review[("M2", "F3")]["expected_chance_matches"] == pytest.approx(0.02)
    data = embedded_data(html_text)
    assert data["m"]["M1"][0]["cw"] == review[("M1", "F1")]["chance_words"]
    dom = Dom(html_text)
    svg = dom.find("svg", class_="chance")
    assert [t.text() for t in svg.find_all("title")] == ["duo_mother", "trio", "all families"]
    text = dom.text()
    assert "Chance matches in this database" in text and "10 missing persons searched" in text
    # trio: 2 families x 10 x 10^-x <= 1 from x = log10 20 = 1.30 -> grid 1.5; duo: 10 x 10^(-x/2)
    # <= 1 from x = 2
    thr = {r["hypothesis"]: r["log10_lr_threshold"] for r in pq.read_table(cal / "thresholds.parquet").to_pylist()}
    assert thr == {"trio": 1.5, "duo_mother": 2.0}
    assert float(np.interp(1.5, x, 2 * searched * 10.0 ** -x)) <= 1.0
    # lowest power first: F3 (40.0%), then F8, F1
    lowest = dom.text().split("Families of lowest power")[1]
    assert lowest.index("F3") < lowest.index("F8") < lowest.index("F1")
    assert "40.0%" in lowest
    # whom to sample next: F3's best relative, the power with it and the gain (87.5% - 40.0%)
    rows = {tr.find_all("td")[0].text(): [td.text() for td in tr.find_all("td")]
            for tr in dom.find_all("tr") if tr.find_all("td") and tr.find_all("td")[0].text() in ("F1", "F3", "F8")}
    assert rows["F3"][-2:] == ["father", "87.5% (+47.5%)"]
    assert rows["F1"][-2:] == ["—", "—"]
    assert "Sample next" in lowest
