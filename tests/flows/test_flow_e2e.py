"""The whole path through the CLI and the Prefect flows, as `make demo` runs it (smaller)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from reunion.contracts import CALIBRATED_CANDIDATES
from reunion.contracts.records import RunRecord

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "reunion.cli", "demo", "--out", str(out), "--families", "60",
         "--unrelated", "30", "--seed", "5", "--set", "ingest.families_per_shard=25",
         "--set", "scoring.query_block=20"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    m = re.search(r"planted relatives found at rank 1: (\d+)/(\d+)", text)
    assert m, text[-2000:]
    found, planted = int(m.group(1)), int(m.group(2))
    assert planted == 30 and found >= 28
    res = out / "results"
    cands = pq.read_table(res / "candidates.parquet")
    assert cands.schema.names == CALIBRATED_CANDIDATES.names       # the run calibrates (calibration.enabled)
    run = json.loads((res / "run.json").read_text())
    assert run["calibration"]["searched"] == 60 and run["calibration"]["families"] == 60
    assert (res / "families.parquet").exists() and (res / "thresholds.parquet").exists()
    # whom to sample next: the families below sampling_advice.max_power are advised, the others
    # say why not; run.json counts them; the report lists the best relative
    fams = pq.read_table(res / "families.parquet").to_pylist()
    advice = run["calibration"]["sampling_advice"]
    advised = [f for f in fams if f["best_next_relative"] is not None]
    assert len(advised) == advice["families_advised"] == advice["families_below_max_power"]
    assert all(f["power"] < advice["max_power"] and f["power_with_best"] >= max(q["power"] for q in f["next_relatives"])
               for f in advised)
    assert all(f["advice_skipped"] for f in fams if f["best_next_relative"] is None)
    if advised:
        assert "Sample next" in (res / "report.html").read_text()
    assert RunRecord.load(res / "run.json").to_json() == (res / "run.json").read_text()   # typed, byte for byte
    assert run["counts"]["pieces"] == 3 * 3  # (30 planted + 30 unrelated) / 20 per block x 60 families / 25 per shard
    assert run["counts"]["candidates"] == cands.num_rows
    assert run["counts"]["rows_read"] == sum(i["read"] for i in run["manifest"]["inputs"])
    assert run["frequency_table"]["sha256"] and run["config_sha256"]
    for f in ("candidates.parquet", "candidates.csv", "per_locus.parquet", "run.json", "report.html"):
        assert stat.S_IMODE(os.stat(res / f).st_mode) == 0o640
    # no genotype appears in what the run printed: no locus name is followed by allele values
    names = pq.read_table(res / "per_locus.parquet").column("locus").unique().to_pylist()
    loci = "|".join(re.escape(locus) for locus in names)
    assert not re.search(rf"({loci})\W{{1,5}}\d{{1,2}}(\.\d)?[/, ]", text + proc.stderr)
