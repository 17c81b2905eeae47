"""Explicit pedigrees through ingest and the re-match (issue 16: registering a family).

One samples file registers the same three-generation family twice: F1 by links (father_id /
mother_id, untyped people as rows without genotypes, a lost_child row) and F2 by relation codes,
with equal genotypes; and four inconsistent explicit families (a cycle, a female father, a link
into another family, two lost children). Checked: every inconsistent row is in rejects.csv with
file, line, field and reason, the rest of such a family too (pointing at the first), the lost
child's genotype row is rejected, read = accepted + rejected for every input, the reference
shards carry the links, and the missing person scores the same log10 LR against F1 and F2
(rtol 1e-12) through the re-match's graph.
"""

from __future__ import annotations

import csv

import dask
import numpy as np
import pyarrow as pa
import pytest
from batches import write_frequencies

from reunion.flows import pieces
from reunion.genetics.family import FamilyScorer
from reunion.genetics.mutation import MutationModels
from reunion.ingest import (REJECTS_FILE, ingest, load_encoding, load_manifest, read_shard, shard_codes,
                            shard_families, shards_of)
from reunion.settings import load_settings

FREQ = {"D3S1358": (["14", "15", "16"], [0.2, 0.3, 0.5]),
        "TH01": (["6", "7", "8"], [0.5, 0.3, 0.2]),
        "FGA": (["20", "21", "22"], [0.25, 0.25, 0.5])}
#: locus -> (grandmother, uncle, missing person)
GENOS = {"D3S1358": (("14", "15"), ("15", "16"), ("15", "16")),
         "TH01": (("7", "7"), ("7", "8"), ("7", "8")),
         "FGA": (("20", "22"), ("22", "22"), ("20", "21"))}

SAMPLES = """sample_id,role,family_id,relation,sex,father_id,mother_id
Q,missing,,,M,,
PGF,relative,F1,other,M,,
GM,relative,F1,paternal_grandmother,F,,
FA,relative,F1,father,M,PGF,GM
MO,relative,F1,mother,F,,
U,relative,F1,paternal_uncle_aunt,M,PGF,GM
X,relative,F1,lost_child,,FA,MO
GM2,relative,F2,paternal_grandmother,F,,
U2,relative,F2,paternal_uncle_aunt,M,,
C1,relative,F3,father,M,C2,
C2,relative,F3,other,M,C1,
C3,relative,F3,lost_child,,C1,
S1,relative,F4,father,F,,
S2,relative,F4,lost_child,,S1,
L1,relative,F5,lost_child,,GM,
D1,relative,F6,lost_child,,,
D2,relative,F6,lost_child,,,
"""
# line of each sample in samples.csv (header = line 1)
LINE = {sid.split(",")[0]: i for i, sid in enumerate(SAMPLES.splitlines()[1:], start=2)}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    d = tmp_path_factory.mktemp("explicit")
    write_frequencies(d / "freq.csv", FREQ)
    (d / "samples.csv").write_text(SAMPLES)
    with open(d / "genotypes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        for locus, (gm, u, q) in GENOS.items():
            for sid, g in (("GM", gm), ("U", u), ("GM2", gm), ("U2", u), ("Q", q)):
                w.writerow([sid, locus, *g])
        w.writerow(["X", "TH01", "7", "8"])                     # the lost child typed: rejected
    over = [f"frequencies.table={d / 'freq.csv'}", "frequencies.population=Test", "mutation.model=stepwise",
            "mutation.rate_male=0.004", "mutation.rate_female=0.001", "scoring.min_typed_loci=1",
            "scoring.log10_lr_floor=-50", "scoring.keep_all_log10_lr=null"]
    s = load_settings(None, over)
    shards = d / "shards"
    summary = ingest(d / "samples.csv", [d / "genotypes.csv"], shards, s)
    with open(shards / REJECTS_FILE, newline="") as fh:
        rejects = list(csv.DictReader(fh))
    return {"dir": d, "settings": s, "shards": shards, "summary": summary, "rejects": rejects}


def test_inconsistent_pedigrees_are_rejected_row_by_row(ingested):
    rejects = ingested["rejects"]
    by = {(r["file"].rsplit("/", 1)[-1], int(r["row"])): (r["field"], r["reason"]) for r in rejects}
    s = "samples.csv"
    # F3: C1 -> C2 -> C1 is a cycle of parenthood (C1's father is C2, C2's father C1)
    assert by[(s, LINE["C1"])][0] == "father_id" and "a cycle of parenthood: C1 -> C2 -> C1" in by[(s, LINE["C1"])][1]
    # F4: S1 is the father of S2 but registered female
    assert by[(s, LINE["S1"])] == ("sex", "S1 is the father of S2 (father_id) but registered F: correct the sex "
                                          "or the link")
    # F5: a link into family F1
    field, why = by[(s, LINE["L1"])]
    assert field == "father_id" and "'GM' is a member of family F1, not of F5" in why
    # F6: two lost children
    assert by[(s, LINE["D2"])][0] == "relation" and f"already has its lost child D1 (samples.csv row {LINE['D1']})" \
        in by[(s, LINE["D2"])][1]
    # the rest of each inconsistent family is held back, pointing at the first problem
    for sid, first in (("C3", "C1"), ("S2", "S1"), ("D1", "D2")):
        field, why = by[(s, LINE[sid])]
        assert field == "*" and f"see samples.csv row {LINE[first]}" in why, (sid, why)
    # the lost child's genotype row
    g = by[("genotypes.csv", 17)]
    assert g[0] == "sample_id" and "X is a family's lost_child" in g[1]
    rejected_samples = {sid for sid, line in LINE.items() if (s, line) in by}
    assert rejected_samples == {"C1", "C2", "C3", "S1", "S2", "L1", "D1", "D2"}
    # read = accepted + rejected, per input
    summary = ingested["summary"]
    for rec in summary.inputs:
        assert rec.read == rec.accepted + rec.rejected + (rec.skipped or 0)
    srec = next(r for r in summary.inputs if r.kind == "samples")
    assert (srec.read, srec.rejected) == (17, 8)
    grec = next(r for r in summary.inputs if r.kind == "genotypes")
    assert (grec.read, grec.rejected) == (16, 1)
    assert summary.n_families == 2 and summary.n_relatives == 8


def test_shards_carry_the_links_and_explicit_and_codes_tables_agree(ingested):
    shards, s = ingested["shards"], ingested["settings"]
    m = load_manifest(shards)
    (rec,) = shards_of(m, "reference")
    t = read_shard(shards, rec)
    assert {"father_id", "mother_id", "lost_sex"} <= set(t.column_names)
    links = {sid: (f, mo) for sid, f, mo in zip(*(t.column(c).to_pylist() for c in ("sample_id", "father_id",
                                                                                     "mother_id")))}
    assert links["X"] == ("FA", "MO") and links["U"] == ("PGF", "GM") and links["GM2"] == (None, None)
    f1, f2 = shard_families(t)
    assert (f1.family_id, f1.explicit, f2.family_id, f2.explicit) == ("F1", True, "F2", False)
    enc = load_encoding(shards, m)
    sc = FamilyScorer(enc, MutationModels(s.mutation, enc), pedigree=True)
    h1, h2 = sc.hypothesis(f1), sc.hypothesis(f2)
    assert h1[0] == h2[0] == "pedigree"
    np.testing.assert_allclose(10 ** sc.table_row(*h1), 10 ** sc.table_row(*h2), rtol=1e-12, atol=0)
    # a shard written before the pedigree columns reads as relation codes only
    n1 = len(f1.members)
    old = t.slice(n1).drop_columns(["father_id", "mother_id", "lost_sex"])      # F2 alone
    (f2_old,) = shard_families(old, shard_codes(old))
    assert not f2_old.explicit and all(m.father is m.mother is m.lost_sex is None for m in f2_old.members)
    np.testing.assert_array_equal(sc.table_row(*sc.hypothesis(f2_old)), sc.table_row(*h2))


def test_the_rematch_scores_the_explicit_family_as_its_relation_codes(ingested):
    shards, s = ingested["shards"], ingested["settings"]
    work = pieces.plan_work(load_manifest(shards), s)
    results = dask.compute(*pieces.rematch_graph(str(shards), s, work), scheduler="synchronous")
    cands = {c["family_id"]: c for r in results for c in r["candidates"].to_pylist()}
    assert set(cands) == {"F1", "F2"}
    c1, c2 = cands["F1"], cands["F2"]
    assert c1["hypothesis"] == c2["hypothesis"] == "pedigree"
    assert c1["members"] == "paternal_grandmother1:GM;paternal_uncle_aunt1:U"
    assert c1["log10_lr"] == pytest.approx(c2["log10_lr"], rel=1e-12)
    assert c1["loci_compared"] == 3 and np.isfinite(c1["log10_lr"])
    per = [x for r in results for x in r["per_locus"].to_pylist()]
    assert pa.Table.from_pylist(per).num_rows == 6


# ------------------------------------------------------------------ reunion score family:FAMILY_ID
CLEAN = "\n".join(line for line in SAMPLES.splitlines() if line.split(",")[2] in ("family_id", "F1", "F2", "")) + "\n"


def _scores(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_score_family_rows_reproduce_the_rematch(ingested, tmp_path):
    import subprocess
    import sys

    from reunion.score import RunConfiguration, score_pairs
    d, shards, s = ingested["dir"], ingested["shards"], ingested["settings"]
    work = pieces.plan_work(load_manifest(shards), s)
    results = dask.compute(*pieces.rematch_graph(str(shards), s, work), scheduler="synchronous")
    cands = {c["family_id"]: c for r in results for c in r["candidates"].to_pylist()}
    samples = tmp_path / "samples.csv"
    samples.write_text(CLEAN)
    geno = tmp_path / "genotypes.csv"               # the profiles without the lost child's row
    geno.write_text("".join(line for line in (d / "genotypes.csv").read_text().splitlines(keepends=True)
                            if not line.startswith("X,")))
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("query_id,relationship\nQ,family:F1\nQ,Family:F2\n")
    enc = load_encoding(shards, load_manifest(shards))
    run = RunConfiguration(shards / "run.json", s, {lc.locus: frozenset(lc.alleles) for lc in enc.loci},
                           load_manifest(shards).frequency_table.sha256, shards)
    score_pairs(geno, None, pairs, tmp_path / "scores.csv", tmp_path / "loci.csv", run=run, samples=samples)
    r1, r2 = _scores(tmp_path / "scores.csv")
    assert (r1["relationship"], r2["relationship"]) == ("family:F1", "family:F2")
    assert float(r1["log10_lr"]) == cands["F1"]["log10_lr"] and r1["members"] == cands["F1"]["members"]
    assert float(r2["log10_lr"]) == cands["F2"]["log10_lr"] and r2["members"] == cands["F2"]["members"]
    assert len(_scores(tmp_path / "loci.csv")) == 6
    # the candidate list's members of an explicit family do not place anyone: refused, pointing here
    pairs.write_text("query_id,relationship,members\nQ,pedigree,other1:GM;paternal_uncle_aunt1:U\n")
    from reunion.score import ScoreInputError
    with pytest.raises(ScoreInputError, match="row 2, field 'members'.*family:FAMILY_ID with --samples"):
        score_pairs(geno, None, pairs, tmp_path / "s.csv", None, run=run)

    # --config / --set: the sex-specific rates apply to the family's transmissions (the grandmother
    # to the father: female; the father to the lost child: male), through the CLI
    pairs.write_text("query_id,relationship\nQ,family:F1\n")
    lrs = {}
    for male, female in ((0.004, 0.001), (0.001, 0.004), (0.004, 0.001)):
        out = tmp_path / f"cli_{male}_{female}.csv"
        res = subprocess.run([sys.executable, "-m", "reunion.cli", "score", "--profiles", str(geno), "--pairs",
                              str(pairs), "--out", str(out), "--samples", str(samples), "--frequencies",
                              str(d / "freq.csv"), "--set", "frequencies.population=Test", "--set",
                              "mutation.model=stepwise", "--set", f"mutation.rate_male={male}", "--set",
                              f"mutation.rate_female={female}"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        lrs[(male, female)] = float(_scores(out)[0]["log10_lr"])
    assert lrs[(0.004, 0.001)] == pytest.approx(cands["F1"]["log10_lr"], rel=1e-9)
    assert lrs[(0.001, 0.004)] != pytest.approx(lrs[(0.004, 0.001)], rel=1e-9)


def test_score_family_rows_refuse_bad_registrations(ingested, tmp_path):
    from reunion.score import ScoreInputError, score_pairs
    d, s = ingested["dir"], ingested["settings"]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("query_id,relationship\nQ,family:F1\n")
    with pytest.raises(ScoreInputError, match="row 2, field 'relationship'.*give the samples file registering it "
                                              "with --samples"):
        score_pairs(d / "genotypes.csv", d / "freq.csv", pairs, tmp_path / "s.csv", None, s)
    # the whole samples file, with its inconsistent pedigrees: the first bad row is named
    with pytest.raises(ScoreInputError, match=rf"samples.csv: row {LINE['C1']}, field 'father_id': a cycle"):
        score_pairs(d / "genotypes.csv", d / "freq.csv", pairs, tmp_path / "s.csv", None, s,
                    samples=d / "samples.csv")
    clean = tmp_path / "samples.csv"
    clean.write_text(CLEAN)
    # the lost child X has a genotype row in these profiles
    with pytest.raises(ScoreInputError, match=rf"samples.csv: row {LINE['X']}, field 'sample_id': sample X is "
                                              "family F1's lost_child"):
        score_pairs(d / "genotypes.csv", d / "freq.csv", pairs, tmp_path / "s.csv", None, s, samples=clean)
    geno = tmp_path / "g.csv"
    geno.write_text("".join(line for line in (d / "genotypes.csv").read_text().splitlines(keepends=True)
                            if not line.startswith("X,")))
    for row, match in (("Q,family:F9,", "'relationship': family 'F9' is not registered"),
                       ("GM,family:F1,", "'query_id': sample 'GM' is a registered member of family F1"),
                       ("Q,family:F1,U", "'reference_id': a family:F1 row takes its people from .*: "
                                         "empty reference_id")):
        pairs.write_text(f"query_id,relationship,reference_id\n{row}\n")
        with pytest.raises(ScoreInputError, match=f"row 2, field {match}"):
            score_pairs(geno, d / "freq.csv", pairs, tmp_path / "s.csv", None, s, samples=clean)
    # theta: an explicit pedigree has no closed form
    st = load_settings(None, [f"frequencies.table={d / 'freq.csv'}", "frequencies.population=Test",
                              "mutation.model=none", "scoring.theta=0.01"])
    pairs.write_text("query_id,relationship\nQ,family:F1\n")
    with pytest.raises(ScoreInputError, match="family F1 has no hypothesis: it is registered as an explicit "
                                              "pedigree, scored by the pedigree engine only"):
        score_pairs(geno, d / "freq.csv", pairs, tmp_path / "s.csv", None, st, samples=clean)


# ------------------------------------------------------------------ a batch appended to the shard set
def test_a_batch_cannot_extend_an_explicit_pedigree_and_keeps_its_links(ingested, tmp_path):
    from reunion.append import append_batch
    shards, s = ingested["shards"], ingested["settings"]
    batch = tmp_path / "batch.csv"
    batch.write_text("sample_id,role,family_id,relation,sex,father_id,mother_id\n"
                     "AU,relative,F1,paternal_uncle_aunt,F,PGF,GM\n"      # joins explicit F1: refused
                     "GM3,relative,F2,paternal_grandfather,M,,\n"          # joins F2 (relation codes): fine
                     "Q2,missing,,,F,,\n")
    geno = tmp_path / "batch_g.csv"
    geno.write_text("sample_id,locus,allele1,allele2\nQ2,TH01,7,8\nX,FGA,20,21\nGM3,TH01,6,7\n")
    out = tmp_path / "appended"
    summary = append_batch(shards, [batch], [geno], out, s)
    assert summary.rows_rejected == 2
    with open(out / REJECTS_FILE, newline="") as fh:
        new = [r for r in csv.DictReader(fh) if r["file"].endswith(("batch.csv", "batch_g.csv"))]
    got = {(r["file"].rsplit("/", 1)[-1], int(r["row"]), r["field"]): r["reason"] for r in new}
    assert set(got) == {("batch.csv", 2, "family_id"), ("batch_g.csv", 3, "sample_id")}
    assert "family F1 is registered as a pedigree" in got[("batch.csv", 2, "family_id")]
    assert "X is a family's lost_child" in got[("batch_g.csv", 3, "sample_id")]
    # the rewritten reference shard keeps F1's links
    m = load_manifest(out)
    t = pa.concat_tables([read_shard(out, rec) for rec in shards_of(m, "reference")])
    links = {sid: (f, mo) for sid, f, mo in zip(*(t.column(c).to_pylist() for c in ("sample_id", "father_id",
                                                                                     "mother_id")))}
    assert links["X"] == ("FA", "MO") and links["U"] == ("PGF", "GM") and "GM3" in links and "AU" not in links
    (q,) = [read_shard(out, rec) for rec in shards_of(m, "query")][-1:]
    assert dict(zip(q.column("sample_id").to_pylist(), q.column("sex").to_pylist()))["Q2"] == "F"


def test_familias_export_refuses_an_explicit_pedigree(ingested, tmp_path):
    import json

    import pyarrow.parquet as pq

    from reunion.errors import InputError
    from reunion.frequencies import file_sha256
    from reunion.io.familias import export_case
    shards, s = ingested["shards"], ingested["settings"]
    run = tmp_path / "run"
    run.mkdir()
    m = load_manifest(shards)
    (run / "run.json").write_text(json.dumps({
        "config": json.loads(s.model_dump_json()),
        "manifest": {"path": str(shards / "manifest.json"), "sha256": file_sha256(shards / "manifest.json")},
        "frequency_table": {"sha256": m.frequency_table.sha256}}))
    pq.write_table(pa.Table.from_pylist([
        {"missing_id": "Q", "family_id": "F1", "hypothesis": "pedigree",
         "members": "paternal_grandmother1:GM;paternal_uncle_aunt1:U", "log10_lr": 1.0},
        {"missing_id": "Q", "family_id": "F2", "hypothesis": "pedigree",
         "members": "paternal_grandmother1:GM2;paternal_uncle_aunt1:U2", "log10_lr": 1.0}]),
        run / "candidates.parquet")
    # F1's labels happen to be relation codes, but its links define it: refused, pointing to reunion score
    with pytest.raises(InputError, match="family F1 is registered as an explicit pedigree.*Q,family:F1"):
        export_case(run, "Q", "F1", tmp_path / "f1.fam")
    assert export_case(run, "Q", "F2", tmp_path / "f2.fam").read_text().strip()     # relation codes: written
