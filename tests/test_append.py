"""Appending a batch to a standing shard set holds exactly what ingesting every file at once holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batches import read_rows, table_only, write_rows
from reunion.append import AppendRefused, append_batch
from reunion.errors import InputError
from reunion.ingest import REGISTRY_FILE, ingest, load_manifest, read_shard, shard_codes
from reunion.io import atomic


def profiles(shards: Path) -> dict[str, tuple]:
    """sample id -> (side, family, relation, sex, genotype indices) over a whole shard set."""
    out = {}
    for rec in load_manifest(shards).shards:
        t = read_shard(shards, rec)
        codes = shard_codes(t)
        cols = t.to_pylist()
        for i, r in enumerate(cols):
            assert r["sample_id"] not in out, "a sample is registered twice"
            out[r["sample_id"]] = (rec.side, r.get("family_id"), r.get("relation"), r.get("sex"),
                                   tuple(int(x) for x in codes[i]))
    return out


def registry_points_at_rows(shards: Path) -> bool:
    reg = atomic.read_table(shards / REGISTRY_FILE).to_pylist()
    tables = {}
    for r in reg:
        if r["shard"] not in tables:
            tables[r["shard"]] = atomic.read_table(shards / r["shard"]).column("sample_id").to_pylist()
        if tables[r["shard"]][r["row"]] != r["sample_id"]:
            return False
    return len(reg) == sum(len(v) for v in tables.values())


@pytest.fixture()
def split(small_db, asian_table, tmp_path):
    """Standing files and a batch: new missing persons, new families, a relative joining a
    standing family, a standing missing person typed at one more locus, and a standing
    relative re-typed at a locus it already has (rejected)."""
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    missing, fams = table_only(samples, genos, asian_table)
    joiner = next(r for r in samples if r["relation"] == "full_sibling" and r["family_id"] in fams[5:])
    batch = set(missing[:5]) | {r["sample_id"] for r in samples if r["family_id"] in fams[:3]} \
        | {joiner["sample_id"]}
    retyped = missing[10]
    late = next(g for g in genos if g["sample_id"] == retyped)          # typed later, in the batch
    relative = next(r["sample_id"] for r in samples if r["family_id"] == fams[6] and r["role"] == "relative")
    dup = next(g for g in genos if g["sample_id"] == relative)          # typed again: rejected
    base_g = [g for g in genos if g["sample_id"] not in batch and g is not late]
    new_g = [g for g in genos if g["sample_id"] in batch] + [late, dup]
    d = tmp_path
    files = {
        "base": (write_rows(d / "s_base.csv", [r for r in samples if r["sample_id"] not in batch]),
                 write_rows(d / "g_base.csv", base_g)),
        "new": (write_rows(d / "s_new.csv", [r for r in samples if r["sample_id"] in batch]),
                write_rows(d / "g_new.csv", new_g)),
    }
    return files, {"missing": sorted(missing[:5] + [retyped]), "families": set(fams[:3]) | {joiner["family_id"]}}


def test_append_equals_ingesting_the_union(split, settings, tmp_path):
    files, expect = split
    s = settings.model_copy(deep=True)
    s.ingest.families_per_shard = 17        # odd sizes: the joined family shares a shard with others
    s.ingest.queries_per_shard = 23
    (bs, bg), (ns, ng) = files["base"], files["new"]
    ingest(bs, [bg], tmp_path / "base", s)
    summary = append_batch(tmp_path / "base", [ns], [ng], tmp_path / "appended", s)
    union = ingest([bs, ns], [bg, ng], tmp_path / "union", s)

    assert profiles(tmp_path / "appended") == profiles(tmp_path / "union")
    assert (tmp_path / "appended" / "alleles.parquet").read_bytes() == \
        (tmp_path / "union" / "alleles.parquet").read_bytes()
    assert summary.new_missing == expect["missing"]
    assert summary.changed_families == expect["families"]
    assert summary.rewritten_shards == 2                     # the joined family's and the re-typed person's
    assert summary.new_shards == 2                           # one query shard, one reference shard
    assert summary.linked_shards + summary.rewritten_shards == \
        len(load_manifest(tmp_path / "base").shards)
    assert registry_points_at_rows(tmp_path / "appended")
    a, u = load_manifest(tmp_path / "appended"), load_manifest(tmp_path / "union")
    assert a.counts == u.counts and a.floor == u.floor
    assert a.rejects.rows == u.rejects.rows == union.rows_rejected
    assert sorted((i.path, i.read, i.accepted, i.rejected) for i in a.inputs) == \
        sorted((i.path, i.read, i.accepted, i.rejected) for i in u.inputs)
    # unchanged shards are hard links, not copies
    linked = [r for r in a.shards if r.replaces is None and
              (tmp_path / "base" / r.path).exists()]
    assert linked and all(os.stat(tmp_path / "appended" / r.path).st_ino ==
                          os.stat(tmp_path / "base" / r.path).st_ino for r in linked)

    # the same batch appended again brings nothing new: refused in one line, not a silent 0-pair rerun
    with pytest.raises(InputError, match="nothing new: every row is already registered"):
        append_batch(tmp_path / "appended", [ns], [ng], tmp_path / "twice", s)


def test_append_refuses_a_new_allele(split, settings, tmp_path):
    files, _ = split
    (bs, bg), (ns, ng) = files["base"], files["new"]
    ingest(bs, [bg], tmp_path / "base", settings)
    rows = read_rows(ng)
    rows[0] = {**rows[0], "allele1": "99.1"}                  # absent from the table and the data
    bad = write_rows(tmp_path / "g_bad.csv", rows)
    with pytest.raises(AppendRefused, match=f"allele at {rows[0]['locus']}"):
        append_batch(tmp_path / "base", [ns], [bad], tmp_path / "appended", settings)


def test_worker_caches_follow_a_rewritten_shard_set(split, settings, tmp_path):
    """A long-lived Dask worker caches families per shard set; re-ingesting into the same folder
    must not serve it the previous ingest's families."""
    from reunion.flows import context
    files, _ = split
    (bs, bg), (ns, ng) = files["base"], files["new"]
    sd, sj = str(tmp_path / "shards"), settings.model_dump_json()
    ingest(bs, [bg], tmp_path / "shards", settings)
    before = [f.family_id for f in context.load_families(sd, sj, 0)]
    ingest([ns], [ng], tmp_path / "shards", settings)        # only the batch's families now
    after = [f.family_id for f in context.load_families(sd, sj, 0)]
    batch_fams = {r["family_id"] for r in read_rows(ns) if r["role"] == "relative"}
    assert set(after) <= batch_fams and not set(before) <= batch_fams
