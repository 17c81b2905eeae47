"""Rerun after new collections == a full re-match over the union, byte for byte after sorting."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from reunion.flows.rematch import rematch_flow
from reunion.flows.rerun import rerun_flow
from reunion.ingest import ingest


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _sorted(run: Path, name: str, key) -> list[dict]:
    return sorted(pq.read_table(run / name).to_pylist(), key=key)


@pytest.mark.slow
def test_incremental_equals_full_and_reingest_is_idempotent(small_db, settings, asian_table, tmp_path):
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    s.ingest.families_per_shard = 30
    samples, genos = _rows(small_db / "samples.csv"), _rows(small_db / "genotypes.csv")
    in_table = {(l, a) for l, lf in asian_table.loci.items() for a in lf.alleles}
    rare = {g["sample_id"] for g in genos if (g["locus"], g["allele1"]) not in in_table
            or (g["locus"], g["allele2"]) not in in_table}
    missing = [r["sample_id"] for r in samples if r["role"] == "missing" and r["sample_id"] not in rare]
    fams = sorted({r["family_id"] for r in samples if r["role"] == "relative"})
    fam_rare = {r["family_id"] for r in samples if r["sample_id"] in rare}
    new_fams = [f for f in fams if f not in fam_rare][:3]
    # one relative joins a family that is already registered (its family must be rescored)
    joiner = next(r for r in samples if r["relation"] == "full_sibling" and r["family_id"] not in new_fams
                  and r["sample_id"] not in rare)
    batch = set(missing[:4]) | {r["sample_id"] for r in samples if r["family_id"] in new_fams} \
        | {joiner["sample_id"]}
    d = tmp_path
    base_s = _write(d / "samples_base.csv", [r for r in samples if r["sample_id"] not in batch])
    base_g = _write(d / "genotypes_base.csv", [g for g in genos if g["sample_id"] not in batch])
    new_s = _write(d / "samples_new.csv", [r for r in samples if r["sample_id"] in batch])
    new_g = _write(d / "genotypes_new.csv", [g for g in genos if g["sample_id"] in batch])

    ingest(base_s, [base_g], d / "base" / "shards", s)
    rematch_flow(d / "base" / "shards", d / "base", s)
    rec = rerun_flow(d / "base", [new_s, new_g], d / "inc", s)
    assert rec["mode"]["kind"] == "incremental", rec["mode"]
    assert rec["mode"]["families_changed"] == 4          # three new families + the joined one
    assert rec["mode"]["table_rows_reused"] > 0          # unchanged families' tables were not rebuilt

    ingest([base_s, new_s], [base_g, new_g], d / "full" / "shards", s)
    rematch_flow(d / "full" / "shards", d / "full", s)
    ck = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    lk = lambda c: (c["missing_id"], c["family_id"], c["locus"])  # noqa: E731
    assert _sorted(d / "inc", "candidates.parquet", ck) == _sorted(d / "full", "candidates.parquet", ck)
    assert _sorted(d / "inc", "per_locus.parquet", lk) == _sorted(d / "full", "per_locus.parquet", lk)
    assert (d / "inc" / "candidates.csv").read_bytes().count(b"\n") == \
        (d / "full" / "candidates.csv").read_bytes().count(b"\n")

    # the same batch ingested twice changes nothing
    rerun_flow(d / "inc", [new_s, new_g], d / "twice", s)
    assert _sorted(d / "twice", "candidates.parquet", ck) == _sorted(d / "inc", "candidates.parquet", ck)
    twice = json.loads((d / "twice" / "run.json").read_text())
    assert twice["mode"]["families_changed"] == 0 and twice["mode"]["missing_scored_fully"] == 0
