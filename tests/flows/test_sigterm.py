"""SIGTERM stops a command with no process left behind (temporary Prefect server, Dask
workers), exit status 143, and the same command then resumes the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from reunion.ingest import ingest


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait(what, deadline_s: float, proc: psutil.Popen):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        assert proc.poll() is None, f"the command ended (status {proc.returncode}) before the signal"
        time.sleep(0.05)
    raise AssertionError("the run did not get that far")


@pytest.mark.slow
def test_sigterm_leaves_no_process_behind_and_the_run_resumes(small_db, settings, tmp_path):
    s = settings.model_copy(deep=True)
    s.ingest.families_per_shard = 8
    s.ingest.queries_per_shard = 40
    shards, out = tmp_path / "shards", tmp_path / "run"
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], shards, s)
    cmd = [sys.executable, "-m", "reunion.cli", "rematch", "--shards", str(shards), "--out", str(out),
           "--set", "cluster.kind=local-cpu", "--set", "cluster.n_workers=2",
           "--set", "scoring.query_block=4"]
    with open(tmp_path / "first.log", "w") as log:
        proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(lambda: list(out.glob("pieces/*/*.npz")), 300, proc)      # pieces are being scored
            kids = proc.children(recursive=True)
            assert any("uvicorn" in " ".join(k.cmdline()) for k in kids), "no temporary Prefect server"
            assert len(kids) >= 3                           # the server and two Dask worker processes
            proc.send_signal(signal.SIGTERM)
            status = proc.wait(120)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = (tmp_path / "first.log").read_text()
    assert not (out / "candidates.parquet").exists(), "the run finished before the signal; enlarge it"
    assert status == 143, text[-3000:]
    end = time.monotonic() + 30
    while _alive(kids) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(kids), [" ".join(k.cmdline()) for k in _alive(kids)]
    done = len(list(out.glob("pieces/*/*.npz")))

    again = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PREFECT_LOGGING_LEVEL": "INFO"})
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming: {done} of" in again.stdout + again.stderr
    assert (out / "candidates.parquet").exists() and (out / "report.html").exists()
