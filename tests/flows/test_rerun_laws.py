"""A rerun reuses the standing run's saved laws (reunion/calibration.py LawStore): a rerun
that adds one family computes that family's laws only, and its calibrated columns equal a
fresh re-match's over the union to the bit."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from batches import read_rows, split_files, table_only
from reunion.calibration import law_store_file
from reunion.flows.rematch import rematch_flow
from reunion.flows.rerun import rerun_flow
from reunion.flows.tables import tables_dir
from reunion.ingest import ingest, load_manifest


def _sorted(run: Path, name: str, key) -> list[dict]:
    return sorted(pq.read_table(run / name).to_pylist(), key=key)


@pytest.mark.slow
def test_rerun_with_one_new_family_computes_one_familys_laws(small_db, settings, asian_table, tmp_path):
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    s.ingest.families_per_shard = 30
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    _, fams = table_only(samples, genos, asian_table)
    d = tmp_path
    # the fresh run over everything; the family held out is one no missing person lists, so
    # adding it changes no other family's candidates (nor any law a fresh run computes)
    ingest([small_db / "samples.csv"], [small_db / "genotypes.csv"], d / "full" / "shards", s)
    full = rematch_flow(d / "full" / "shards", d / "full", s)
    listed = set(pq.read_table(d / "full" / "candidates.parquet").column("family_id").to_pylist())
    with_table = pq.read_table(d / "full" / "families.parquet").column("family_id").to_pylist()
    held = next(f for f in with_table if f not in listed and f in fams)
    batch = {r["sample_id"] for r in samples if r["family_id"] == held}
    base_s, base_g, new_s, new_g = split_files(d, samples, genos, batch, ("samples", "genotypes"))
    ingest(base_s, [base_g], d / "base" / "shards", s)
    base = rematch_flow(d / "base" / "shards", d / "base", s)
    manifest = load_manifest(d / "base" / "shards")
    store = law_store_file(tables_dir(d / "base", manifest, s), s.calibration)
    assert store.exists() and (store.stat().st_mode & 0o777) == 0o640

    rec = rerun_flow(d / "base", [new_s, new_g], d / "inc", s)
    assert rec.mode["kind"] == "incremental" and rec.mode["families_changed"] == 1
    cal = json.loads((d / "inc" / "run.json").read_text())["calibration"]
    assert cal["families_laws_computed"] == 1
    assert 1 <= cal["laws_computed"] < base.calibration["laws_computed"]
    assert full.calibration["families_laws_computed"] == full.calibration["families"]
    ck = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    assert _sorted(d / "inc", "candidates.parquet", ck) == _sorted(d / "full", "candidates.parquet", ck)
    fk = lambda f: f["family_id"]  # noqa: E731
    assert _sorted(d / "inc", "families.parquet", fk) == _sorted(d / "full", "families.parquet", fk)
