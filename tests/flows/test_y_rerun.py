"""Y rows of an appended batch and the rerun with Y evidence (issue 20; reunion/append.py,
flows/rerun.py ``y_reference_changed``).

Standing set: the families and missing men of tests/flows/test_y_evidence.py (FA1 father of F1
with a Y haplotype; F3's father FA3 without one; Q0, Q1 Y-typed men). The batch: PU3, F3's
paternal uncle, Y-typed (DYS19 15, DYS390 23, DYS391 10); QN, a new Y-typed missing man with
PU3's haplotype; and a Y row of FA1 again (already Y-typed in the standing set: rejected).
The rerun must give exactly the candidates of a full re-match of the same appended shard set.
"""

from __future__ import annotations

import csv
import json

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from test_y_evidence import AUTO, FREQ, Y, inputs  # noqa: F401  (the module fixture)

from reunion.append import append_batch
from reunion.ingest import ingest, load_manifest
from reunion.settings import load_settings

BATCH_SAMPLES = """sample_id,role,family_id,relation,sex
PU3,relative,F3,paternal_uncle_aunt,M
QN,missing,,,M
"""
BATCH_AUTO = {"PU3": ("14/16", "8/8", "20/21"), "QN": ("14/16", "6/8", "20/22")}
BATCH_Y = {"PU3": {"DYS19": 15, "DYS390": 23, "DYS391": 10},
           "QN": {"DYS19": 15, "DYS390": 23, "DYS391": 10}}


def _genotypes(path, auto, y, extra=()):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        for sid, gs in auto.items():
            for locus, g in zip(FREQ, gs):
                w.writerow([sid, locus, *g.split("/")])
        for sid, hap in y.items():
            for locus, v in hap.items():
                w.writerow([sid, locus, v, ""])
        for row in extra:
            w.writerow(row)


@pytest.fixture(scope="module")
def batch(inputs):  # noqa: F811
    d, over = inputs
    (d / "b_samples.csv").write_text(BATCH_SAMPLES)
    # line 2..7 autosomal, 8..13 Y, line 14: FA1's DYS19 again (already Y-typed)
    _genotypes(d / "b_genotypes.csv", BATCH_AUTO, BATCH_Y, [("FA1", "DYS19", "14", "")])
    _genotypes(d / "b_noy.csv", BATCH_AUTO, {})
    return d, over


def _base(d, over, name):
    s = load_settings(None, over)
    out = d / name
    ingest(d / "samples.csv", [d / "genotypes.csv"], out, s)
    return out, s


def test_append_reads_the_batch_y_rows_and_rejects_a_repeated_y_typing(batch):
    d, over = batch
    base, s = _base(d, over, "yb_base")
    summary = append_batch(base, [d / "b_samples.csv"], [d / "b_genotypes.csv"], d / "yb_app", s)
    rows = pq.read_table(d / "yb_app" / "y_haplotypes.parquet").to_pylist()
    # standing FA1, MU2, Q0, Q1 (12 rows) + PU3, QN (6 rows); FA1's repeated row is not kept
    assert {r["sample_id"] for r in rows} == {"FA1", "MU2", "Q0", "Q1", "PU3", "QN"}
    assert len(rows) == 18
    assert [r["value"] for r in rows if r["sample_id"] == "FA1" and r["locus"] == "DYS19"] == ["14"]
    m = load_manifest(d / "yb_app")
    assert m.y_haplotypes is not None and m.y_haplotypes.path == "y_haplotypes.parquet"
    rejects = pacsv.read_csv(d / "yb_app" / "rejects.csv").to_pylist()
    again = [r for r in rejects if r["file"].endswith("b_genotypes.csv")]
    assert len(again) == 1 and again[0]["row"] == 14 and again[0]["field"] == "sample_id"
    assert "FA1 is already typed at Y-STR loci in the standing shard set" in again[0]["reason"]
    rec = [i for i in m.inputs if i.path.endswith("b_genotypes.csv")][0]
    # 6 autosomal + 6 Y accepted, FA1's row rejected: 13 read
    assert (rec.read, rec.accepted, rec.rejected, rec.skipped) == (13, 12, 1, None)
    assert summary.changed_families == {"F3"} and summary.new_missing == ["QN"]


def test_a_batch_without_y_rows_leaves_the_y_file_byte_identical(batch):
    d, over = batch
    base, s = _base(d, over, "yn_base")
    append_batch(base, [d / "b_samples.csv"], [d / "b_noy.csv"], d / "yn_app", s)
    assert (d / "yn_app" / "y_haplotypes.parquet").read_bytes() == \
        (base / "y_haplotypes.parquet").read_bytes()
    assert load_manifest(d / "yn_app").y_haplotypes == load_manifest(base).y_haplotypes


@pytest.mark.slow
def test_rerun_with_y_equals_a_full_rematch_of_the_appended_set(batch, tmp_path):
    from reunion.flows.rematch import rematch_flow
    from reunion.flows.rerun import rerun_flow

    d, over = batch
    s = load_settings(None, over + ["cluster.kind=local-threads"])
    ingest(d / "samples.csv", [d / "genotypes.csv"], tmp_path / "base" / "shards", s)
    rematch_flow(tmp_path / "base" / "shards", tmp_path / "base", s)
    rec = rerun_flow(tmp_path / "base", [d / "b_samples.csv", d / "b_genotypes.csv"], tmp_path / "inc", s)
    assert rec.mode["kind"] == "full" and "Y haplotypes" in rec.mode["reason"]
    run = json.loads((tmp_path / "inc" / "run.json").read_text())
    assert run["mode"]["reason"] == rec.mode["reason"]
    # the reference: the 6 run men with a Y haplotype and the file's 99
    assert run["y_evidence"]["reference_men"] == 105
    rematch_flow(tmp_path / "inc" / "shards", tmp_path / "full", s)
    ck = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    lk = lambda c: (c["missing_id"], c["family_id"], c["locus"])  # noqa: E731
    for name, key in (("candidates.parquet", ck), ("per_locus.parquet", lk)):
        a = sorted(pq.read_table(tmp_path / "inc" / name).to_pylist(), key=key)
        b = sorted(pq.read_table(tmp_path / "full" / name).to_pylist(), key=key)
        assert a == b
    cands = {(c["missing_id"], c["family_id"]): c for c in pq.read_table(tmp_path / "inc" / "candidates.parquet").to_pylist()}
    # QN x F3 gains a Y factor through the paternal uncle; Q0 x F1's denominator now counts 104
    # men but Q0 (FA1, MU2 share his type): (2+1)/(104+1)
    assert cands[("QN", "F3")]["log10_lr_y"] is not None
    assert cands[("Q0", "F1")]["y_haplotype_probability"] == pytest.approx(3 / 105, rel=1e-12)
