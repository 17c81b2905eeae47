"""Overlapping runs (issue 17): a second run into a busy folder refuses in one line or waits,
a killed run's lock blocks nothing, and two runs started into one folder at once both end
with the outputs of one run."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reunion.flows.rematch import CANDIDATES_CSV, PER_LOCUS_PARQUET, rematch_flow
from reunion.ingest import ingest
from reunion.io import locks

ROOT = Path(__file__).resolve().parents[2]
THREADS = ["--set", "cluster.kind=local-threads"]

HOLD = """
import pathlib, sys, time
from reunion.io import locks
folder, ready = sys.argv[1:3]
with locks.folder_lock(folder, "national-rematch", 0):
    pathlib.Path(ready).write_text("held")
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def shards(small_db, settings, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("overlap") / "shards"
    ingest([small_db / "samples.csv"], [small_db / "genotypes.csv"], out, settings)
    return out


@pytest.fixture(scope="module")
def solo(shards, settings, tmp_path_factory) -> Path:
    """The same re-match run alone."""
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    run = tmp_path_factory.mktemp("solo") / "run"
    rematch_flow(shards, run, s)
    return run


def rematch(shards: Path, out: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reunion.cli", "rematch", "--shards", str(shards),
                             "--out", str(out), *THREADS, *more], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def same_outputs(run: Path, solo: Path) -> bool:
    return ((run / CANDIDATES_CSV).read_bytes() == (solo / CANDIDATES_CSV).read_bytes()
            and (run / PER_LOCUS_PARQUET).read_bytes() == (solo / PER_LOCUS_PARQUET).read_bytes())


@pytest.mark.slow
def test_a_run_into_a_busy_folder_refuses_and_a_killed_holder_blocks_nothing(shards, solo, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run), str(tmp_path / "ready")], cwd=ROOT)
    try:
        while not (tmp_path / "ready").exists():
            assert holder.poll() is None
            time.sleep(0.05)
        p = rematch(shards, run)
        _, err = p.communicate(timeout=600)
        assert p.returncode == 2, err[-2000:]
        line = err.strip().splitlines()[-1]
        assert re.fullmatch(re.escape(f"error: {run}: in use by national-rematch (pid {holder.pid} on "
                                      f"{socket.gethostname()}, since ") + r"[0-9T:+-]+" + re.escape(
            "); waited 0 s. Either let it finish or choose another --out, or wait for it with --set "
            "runs.lock_wait_seconds=SECONDS"), line), line
        assert "Traceback" not in err
        assert not run.exists()                     # the refused run wrote nothing
    finally:
        holder.send_signal(signal.SIGKILL)          # the holder dies without cleaning up
        holder.wait(timeout=60)
    p = rematch(shards, run)
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-2000:]
    assert same_outputs(run, solo)


@pytest.mark.slow
def test_two_runs_started_into_one_folder_take_turns(shards, solo, tmp_path):
    run = tmp_path / "run"
    first = rematch(shards, run)
    lock = locks.lock_path(run)
    while locks.holder(lock).get("pid") != first.pid:   # the first run holds the folder
        assert first.poll() is None, first.communicate()
        time.sleep(0.02)
    second = rematch(shards, run, "--set", "runs.lock_wait_seconds=600")
    _, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1[-2000:]
    _, err2 = second.communicate(timeout=600)
    assert second.returncode == 0, err2[-2000:]
    assert locks.holder(lock)["pid"] == second.pid      # it took the folder after the first
    assert same_outputs(run, solo)                      # one run's outputs, not a mixture
    assert not [n for n in os.listdir(run) if n.endswith(".tmp")]
