"""The scheduled re-match reads the runs root's current shard set: a rerun's batch reaches it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from batches import read_rows, split_files, table_only

from reunion.flows.deploy import CURRENT, deployment, read_current, scheduled_rematch
from reunion.flows.rerun import rerun_flow
from reunion.ingest import ingest
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "demo.yaml"
OVERRIDES = ["cluster.kind=local-threads", "ingest.families_per_shard=30"]


def _cands(run: Path) -> list[dict]:
    return sorted(pq.read_table(run / "candidates.parquet").to_pylist(),
                  key=lambda c: (c["missing_id"], c["rank"]))


@pytest.mark.slow
def test_rerun_batch_reaches_the_next_scheduled_run(small_db, asian_table, tmp_path):
    s = load_settings(CONFIG, OVERRIDES)
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    missing, fams = table_only(samples, genos, asian_table)
    batch = set(missing[:5]) | {r["sample_id"] for r in samples if r["family_id"] in fams[:2]}
    base_s, base_g, new_s, new_g = split_files(tmp_path, samples, genos, batch)
    n_missing = sum(r["role"] == "missing" for r in samples)
    ingest(base_s, [base_g], tmp_path / "shards", s)
    root = tmp_path / "runs"
    # exactly what the schedule runs: the deployment's flow with the deployment's parameters
    params = deployment(str(CONFIG), str(root), str(tmp_path / "shards"), overrides=OVERRIDES).parameters

    first = scheduled_rematch(**params)
    cur = read_current(root)
    run1 = Path(cur["run"])
    assert run1.parent == root and cur["shards"] == str(tmp_path / "shards")
    assert first.counts.missing == n_missing - 5
    assert json.loads((root / CURRENT).read_text())["run"] == run1.name     # stored relative to the root
    assert (run1 / "report.html").exists() and (run1 / "review.csv").exists()

    inc = rerun_flow(run1, [new_s, new_g], root / "batch-rerun", s, runs_root=root)
    assert inc.mode["kind"] == "incremental"
    cur = read_current(root)
    assert cur["run"] == str(root / "batch-rerun") and cur["shards"] == str(root / "batch-rerun" / "shards")
    assert "Compared with the run in" in (root / "batch-rerun" / "report.html").read_text()

    second = scheduled_rematch(**params)
    run2 = Path(read_current(root)["run"])
    assert run2 not in (run1, root / "batch-rerun") and run2.parent == root
    assert second.counts.missing == n_missing                 # the batch's 5 are in
    assert Path(second.manifest.path) == root / "batch-rerun" / "shards" / "manifest.json"
    got = {c["missing_id"] for c in _cands(run2)}
    assert got & set(missing[:5]) and not {c["missing_id"] for c in _cands(run1)} & set(missing[:5])
    assert _cands(run2) == _cands(root / "batch-rerun")   # the full re-match equals the rerun
    html = (run2 / "report.html").read_text()
    assert f"Compared with the run in <code>{root / 'batch-rerun'}</code>" in html


def test_pointer_moves_only_from_the_shard_set_a_run_started_from(tmp_path):
    from reunion.flows.deploy import move_current

    root = tmp_path / "runs"
    sets = {}
    for name in ("a", "b"):
        d = root / name / "shards"
        d.mkdir(parents=True)
        (d / "manifest.json").write_text(json.dumps({"name": name}))
        sets[name] = d
    from reunion.frequencies import file_sha256
    sha = {k: file_sha256(v / "manifest.json") for k, v in sets.items()}
    assert move_current(root, root / "a", sets["a"], "test", None) == (True, None)
    moved, was = move_current(root, root / "b", sets["b"], "test", None)     # expects no pointer: stale
    assert not moved and was["shards"] == str(sets["a"])
    assert move_current(root, root / "b", sets["b"], "test", sha["a"])[0]
    assert read_current(root)["shards"] == str(sets["b"]) and read_current(root)["manifest_sha256"] == sha["b"]
    assert json.loads((root / CURRENT).read_text())["shards"] == "b/shards"
