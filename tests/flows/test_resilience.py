"""Resume after a crash, a killed Dask worker, and cluster selection without a GPU."""

from __future__ import annotations

import os
import signal
import time

import dask
import pytest
from distributed import Client, LocalCluster, as_completed

from reunion.flows import pieces
from reunion.flows.cluster import resolve_kind
from reunion.ingest import ingest, load_manifest
from reunion.settings import ClusterSettings


def _candidates(results):
    return sorted((c for r in results for c in r["candidates"].to_pylist()),
                  key=lambda c: (c["missing_id"], c["rank"]))


@pytest.fixture(scope="module")
def fine_shards(small_db, settings, tmp_path_factory):
    s = settings.model_copy(deep=True)
    s.ingest.families_per_shard = 20
    s.scoring.query_block = 15
    out = tmp_path_factory.mktemp("fine")
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], out, s)
    return out, s


def test_resume_after_crash_redoes_no_finished_piece(fine_shards, tmp_path, monkeypatch):
    shards, s = fine_shards
    work = pieces.plan_work(load_manifest(shards), s)
    clean = _candidates(dask.compute(*pieces.rematch_graph(str(shards), s, work),
                                     scheduler="synchronous"))
    piece_dir = tmp_path / "pieces"
    real = pieces.screen_piece
    calls = {"n": 0}

    def crashing(*args, **kw):
        calls["n"] += 1
        if calls["n"] > 10:
            raise RuntimeError("simulated crash")
        return real(*args, **kw)

    monkeypatch.setattr(pieces, "screen_piece", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        dask.compute(*pieces.rematch_graph(str(shards), s, work, piece_dir), scheduler="synchronous")
    finished = {p.name: p.stat().st_mtime_ns for p in piece_dir.glob("*.npz")}
    assert len(finished) == 10 < work.pieces

    monkeypatch.setattr(pieces, "screen_piece", real)
    calls["n"] = 0
    counted = []
    monkeypatch.setattr(pieces, "screen_piece", lambda *a, **k: counted.append(1) or real(*a, **k))
    resumed = _candidates(dask.compute(*pieces.rematch_graph(str(shards), s, work, piece_dir),
                                       scheduler="synchronous"))
    assert len(counted) == work.pieces - 10          # only the unfinished pieces ran
    assert {p.name: p.stat().st_mtime_ns for p in piece_dir.glob("*.npz") if p.name in finished} == finished
    assert resumed == clean


@pytest.mark.slow
def test_killed_worker_does_not_change_the_result(fine_shards):
    shards, s = fine_shards
    work = pieces.plan_work(load_manifest(shards), s)
    clean = _candidates(dask.compute(*pieces.rematch_graph(str(shards), s, work),
                                     scheduler="synchronous"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        futures = client.compute(pieces.rematch_graph(str(shards), s, work))
        first = next(iter(as_completed(futures)))
        assert first.status == "finished"
        victim = next(iter(pids.values()))
        done_before = sum(f.done() for f in futures)
        os.kill(victim, signal.SIGKILL)               # a worker dies mid-run
        assert done_before < len(futures), "the run finished before the kill; enlarge it"
        results = client.gather(futures)
        deadline = time.time() + 30
        while len(client.scheduler_info()["workers"]) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert victim not in client.run(os.getpid).values()   # the nanny started a new process
    assert _candidates(results) == clean


def test_cluster_kind_auto_is_local_cpu_without_gpu():
    assert resolve_kind(ClusterSettings(kind="auto")) == "local-cpu"
    assert resolve_kind(ClusterSettings(kind="local-threads")) == "local-threads"
    with pytest.raises(ValueError, match="cluster.address"):
        ClusterSettings(kind="address")
