"""The capacity benchmark runs end to end and checks its own rerun against the full re-match."""

from __future__ import annotations

import json

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
