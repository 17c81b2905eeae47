"""A run folder belongs to one run; settings fixed at ingest are refused, not ignored."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from reunion.errors import InputError, SettingsError
from reunion.flows.rematch import (
    RUN_KEY_JSON,
    check_fixed_at_ingest,
    claim_run_folder,
    rematch_flow,
)
from reunion.ingest import ingest, load_manifest

ROOT = Path(__file__).resolve().parents[2]
NIST = ROOT / "configs" / "frequencies" / "nist1036_us_2017.csv"


def test_a_folder_is_claimed_by_one_run(tmp_path):
    run = tmp_path / "run"
    assert claim_run_folder(run, "k1", "national-rematch", "shards") is False     # new: claimed
    assert json.loads((run / RUN_KEY_JSON).read_text())["run_key"] == "k1"
    assert claim_run_folder(run, "k1", "national-rematch", "shards") is True      # the same run resumes
    with pytest.raises(InputError, match=r"holds the outputs of another run \(national-rematch on shards.*"
                                         r"run key k1, not k2\); choose a new --out$"):
        claim_run_folder(run, "k2", "national-rematch", "other")
    old = tmp_path / "old"
    old.mkdir()
    (old / "candidates.csv").write_text("missing_id\n")
    (old / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"old holds the outputs of another run \(candidates.csv\)"):
        claim_run_folder(old, "k1", "national-rematch", "shards")
    assert not (old / RUN_KEY_JSON).exists()
    mine = tmp_path / "notes-only"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert claim_run_folder(mine, "k1", "national-rematch", "shards") is False      # no run's outputs


@pytest.fixture(scope="module")
def no_n_shards(small_db, settings, tmp_path_factory):
    """The small database ingested with the Asian table stripped of N and of rare alleles
    (under 1.5% per locus in all), so the floor is used."""
    d = tmp_path_factory.mktemp("non")
    table = d / "asian_without_n.csv"
    with open(NIST, newline="") as src:
        header, *rows = csv.reader(src)
    kept, dropped = [], {}
    for r in (r for r in rows if r[0] == "Asian"):
        if float(r[3]) < 0.01 and dropped.get(r[1], 0.0) + float(r[3]) <= 0.015:
            dropped[r[1]] = dropped.get(r[1], 0.0) + float(r[3])
        else:
            kept.append(r[:4] + [""])
    with open(table, "w", newline="") as dst:
        csv.writer(dst).writerows([header] + kept)
    s = settings.model_copy(deep=True)
    s.frequencies.table, s.frequencies.population, s.frequencies.floor = table, "Asian", 0.001
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], d / "shards", s)
    return d / "shards", s


def _check(shards, s):
    check_fixed_at_ingest(load_manifest(shards), s, shards)


def test_settings_fixed_at_ingest_must_equal_the_shards(no_n_shards, tmp_path):
    shards, s = no_n_shards
    assert load_manifest(shards).floor.alleles > 0        # the floor entered the encoding
    _check(shards, s)                                           # as ingested: accepted
    same = s.model_copy(deep=True)
    same.frequencies.table = shutil.copy(s.frequencies.table, tmp_path / "copy.csv")
    _check(shards, same)                                        # the same table elsewhere: accepted
    for field, value, encoded in (("population", "Cauc", "'Asian'"),
                                  ("table", NIST, "asian_without_n.csv (sha256 "),
                                  ("floor", 0.002, "0.001")):
        other = s.model_copy(deep=True)
        setattr(other.frequencies, field, value)
        with pytest.raises(SettingsError, match=rf"^frequencies\.{field} is fixed at ingest \(the shards "
                                                rf"were encoded with {re.escape(encoded)}.*; re-ingest to "
                                                "change it$"):
            _check(shards, other)


@pytest.mark.slow
def test_rematch_writes_its_report_and_keeps_its_folder(no_n_shards, tmp_path):
    shards, s = no_n_shards
    s = s.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    run = tmp_path / "run"
    rec = rematch_flow(shards, run, s)
    assert Path(rec.report) == (run / "report.html").resolve()
    review = pq.read_table(run / "review.parquet")
    assert review.num_rows == pq.read_table(run / "candidates.parquet").num_rows == rec.counts.candidates
    again = rematch_flow(shards, run, s)                       # the same run: resumes, same lists
    assert again.outputs["candidates_parquet"].sha256 == rec.outputs["candidates_parquet"].sha256
    other = s.model_copy(deep=True)
    other.scoring.top_k = 3
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    with pytest.raises(InputError, match="holds the outputs of another run"):
        rematch_flow(shards, run, other)
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before     # nothing touched
    assert pq.read_table(run / "candidates.parquet").num_rows == rec.counts.candidates


@pytest.mark.slow
def test_rematch_command_refuses_a_setting_fixed_at_ingest(no_n_shards, tmp_path):
    shards, s = no_n_shards
    p = subprocess.run(check=False, args=[sys.executable, "-m", "reunion.cli", "rematch", "--shards", str(shards),
                        "--out", str(tmp_path / "run"), "--set", f"frequencies.table={s.frequencies.table}",
                        "--set", "frequencies.population=Cauc", "--set", "cluster.kind=local-threads"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stderr.strip().splitlines()[-1] == (
        "error: frequencies.population is fixed at ingest (the shards were encoded with 'Asian', "
        "not 'Cauc'); re-ingest to change it")
    assert not (tmp_path / "run").exists()
