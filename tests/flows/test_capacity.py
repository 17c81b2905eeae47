"""The capacity benchmark runs end to end and checks its own rerun against the full re-match."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from reunion.flows.benchmark import capacity_flow


@pytest.mark.slow
def test_capacity_benchmark_reports_rerun_equal_to_full(settings, tmp_path):
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    s.ingest.families_per_shard = 20
    report = capacity_flow([60], tmp_path, s, rerun_fraction=0.05, rerun_repeats=2)
    row = report["results"][0]
    assert len(row["rerun_all_seconds"]) == 2 and (tmp_path / "size-60" / "rerun-2" / "run.json").exists()
    assert row["rerun_seconds"] == pytest.approx(sum(row["rerun_all_seconds"]) / 2, abs=1e-3)  # median of 2
    assert row["families"] == 60 and row["missing"] == 60      # 30 lost children + 30 unrelated
    assert row["pairs"] == row["families"] * row["missing"]
    assert row["rerun_mode"] == "incremental"
    assert row["rerun_equals_full"] is True
    on_disk = json.loads((tmp_path / "capacity.json").read_text())
    assert on_disk["results"][0]["pairs"] == row["pairs"]
    assert (tmp_path / "capacity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 60 | 60 |" in (tmp_path / "capacity.md").read_text()


@pytest.mark.slow
def test_capacity_benchmark_times_the_stages_and_fits_the_model(settings, tmp_path):
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    s.ingest.families_per_shard = 20
    s.capacity.gpus_per_node = 2
    report = capacity_flow([60], tmp_path, s, rerun_repeats=0)
    row = report["results"][0]
    assert "rerun_seconds" not in row and not (tmp_path / "size-60" / "rerun").exists()
    sec = row["stages"]["seconds"]
    assert set(sec) == {"ingest", "tables", "screen", "merge", "rescore", "publish", "report"}
    assert all(v > 0 for v in sec.values()), sec
    # the natural sizes, counted independently of the pipeline
    with open(tmp_path / "size-60" / "input" / "genotypes.csv") as fh:
        genotype_lines = sum(1 for _ in fh) - 1
    w = row["workload"]
    assert w["genotype_rows"] == genotype_lines
    assert w["candidates"] == pq.read_table(tmp_path / "size-60" / "full" / "candidates.parquet").num_rows
    assert (w["missing"], w["families"]) == (60, 60)
    # one size: each fitted line goes through the origin and the point
    at = report["model"]["at_measured"][0]["one_core"]
    for stage, v in sec.items():
        assert at[stage] == pytest.approx(v, rel=1e-9), stage
    nat = report["model"]["national"]
    assert nat["workload"]["pairs"] == 1_000_000 * 5_000_000
    conf = nat["clusters"]["configured"]
    assert conf["gpus"] == 2
    fits = report["model"]["fits"]
    assert conf["seconds"]["screen"] == pytest.approx(5e12 / (2 * 5e10), rel=1e-9)   # no fixed cost
    assert conf["seconds"]["tables"] == pytest.approx(fits["tables"]["per_unit_s"] * 5e6 / 16, rel=1e-9)
    mem = row["stages"]["memory"]
    assert mem["device_bytes_per_profile"] == 2 * mem["loci"]
    # a shard's saved tables: at most 20 families' float64 rows, plus the .npy header
    npy = mem["table_bytes_per_shard_max"] - 128
    assert npy % (8 * mem["table_width"]) == 0 and 0 < npy <= 20 * 8 * mem["table_width"]
    md = (tmp_path / "capacity.md").read_text()
    assert "## National run predicted" in md and "| 60 | screen | 3,600 pairs |" in md
    assert (tmp_path / "capacity-stages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
