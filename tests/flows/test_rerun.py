"""Rerun after new collections == a full re-match over the union, byte for byte after sorting."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from batches import read_rows, split_files, table_only, write_rows
from reunion.errors import InputError
from reunion.flows.rematch import rematch_flow
from reunion.flows.rerun import rerun_flow
from reunion.ingest import ingest


def _sorted(run: Path, name: str, key) -> list[dict]:
    return sorted(pq.read_table(run / name).to_pylist(), key=key)


@pytest.mark.slow
def test_incremental_equals_full_and_reingest_is_idempotent(small_db, settings, asian_table, tmp_path):
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    s.ingest.families_per_shard = 30
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    missing, fams = table_only(samples, genos, asian_table)
    new_fams = fams[:3]
    # one relative joins a family that is already registered (its family must be rescored)
    joiner = next(r for r in samples if r["relation"] == "full_sibling" and r["family_id"] in fams[3:])
    batch = set(missing[:4]) | {r["sample_id"] for r in samples if r["family_id"] in new_fams} \
        | {joiner["sample_id"]}
    d = tmp_path
    base_s, base_g, new_s, new_g = split_files(d, samples, genos, batch, ("samples", "genotypes"))

    ingest(base_s, [base_g], d / "base" / "shards", s)
    rematch_flow(d / "base" / "shards", d / "base", s)
    rec = rerun_flow(d / "base", [new_s, new_g], d / "inc", s)
    assert rec.mode["kind"] == "incremental", rec.mode
    assert rec.mode["families_changed"] == 4          # three new families + the joined one
    assert rec.mode["table_rows_reused"] > 0          # unchanged families' tables were not rebuilt
    # the rerun writes its report, compared with the standing run
    assert Path(rec.report) == (d / "inc" / "report.html").resolve()
    assert f"Compared with the run in <code>{d / 'base'}</code>" in (d / "inc" / "report.html").read_text()

    ingest([base_s, new_s], [base_g, new_g], d / "full" / "shards", s)
    rematch_flow(d / "full" / "shards", d / "full", s)
    ck = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    lk = lambda c: (c["missing_id"], c["family_id"], c["locus"])  # noqa: E731
    assert _sorted(d / "inc", "candidates.parquet", ck) == _sorted(d / "full", "candidates.parquet", ck)
    assert _sorted(d / "inc", "per_locus.parquet", lk) == _sorted(d / "full", "per_locus.parquet", lk)
    assert (d / "inc" / "candidates.csv").read_bytes().count(b"\n") == \
        (d / "full" / "candidates.csv").read_bytes().count(b"\n")

    # the same batch ingested twice brings nothing new: refused in one line, not a silent 0-pair rerun
    with pytest.raises(InputError, match="nothing new: every row is already registered"):
        rerun_flow(d / "inc", [new_s, new_g], d / "twice", s)


@pytest.mark.slow
def test_chained_reruns_in_either_order_equal_full(small_db, settings, asian_table, tmp_path):
    """Two batches appended one after the other, in both orders, equal a full re-match of the union.

    Batch A: new missing persons, a new family, a sibling joining a standing family.
    Batch B: more missing persons, a standing missing person typed at one more locus,
    and a father joining a family that batch A created or the standing set holds.
    """
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    s.ingest.families_per_shard = 25
    s.ingest.queries_per_shard = 40
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    missing, fams = table_only(samples, genos, asian_table)
    by_fam = {f: [r for r in samples if r["family_id"] == f] for f in fams}
    sib = next(r for f in fams[4:] for r in by_fam[f] if r["relation"] == "full_sibling")
    father = next(r for f in fams[4:] for r in by_fam[f] if r["relation"] == "father"
                  and r["family_id"] != sib["family_id"])
    late = next(g for g in genos if g["sample_id"] == missing[20])
    a_ids = set(missing[:3]) | {r["sample_id"] for r in by_fam[fams[0]]} | {sib["sample_id"]}
    b_ids = set(missing[3:6]) | {father["sample_id"]}
    d = tmp_path
    base_s = write_rows(d / "s_base.csv", [r for r in samples if r["sample_id"] not in a_ids | b_ids])
    base_g = write_rows(d / "g_base.csv", [g for g in genos if g["sample_id"] not in a_ids | b_ids
                                       and g is not late])
    batch = {}
    for name, ids, extra in (("a", a_ids, []), ("b", b_ids, [late])):
        batch[name] = [write_rows(d / f"s_{name}.csv", [r for r in samples if r["sample_id"] in ids]),
                       write_rows(d / f"g_{name}.csv", [g for g in genos if g["sample_id"] in ids] + extra)]

    ingest(base_s, [base_g], d / "base" / "shards", s)
    rematch_flow(d / "base" / "shards", d / "base", s)
    ingest([base_s, batch["a"][0], batch["b"][0]], [base_g, batch["a"][1], batch["b"][1]],
           d / "full" / "shards", s)
    rematch_flow(d / "full" / "shards", d / "full", s)
    ck = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    lk = lambda c: (c["missing_id"], c["family_id"], c["locus"])  # noqa: E731
    for first, second in (("a", "b"), ("b", "a")):
        one = rerun_flow(d / "base", batch[first], d / f"{first}", s)
        two = rerun_flow(d / f"{first}", batch[second], d / f"{first}{second}", s)
        assert one.mode["kind"] == two.mode["kind"] == "incremental"
        assert two.mode["table_rows_reused"] > 0     # tables carried over along the chain
        out = d / f"{first}{second}"
        assert _sorted(out, "candidates.parquet", ck) == _sorted(d / "full", "candidates.parquet", ck)
        assert _sorted(out, "per_locus.parquet", lk) == _sorted(d / "full", "per_locus.parquet", lk)
        full = json.loads((d / "full" / "run.json").read_text())["counts"]
        for key in ("missing", "families", "candidates", "missing_with_candidates",
                    "missing_not_searched_too_few_loci", "rows_read", "rows_rejected"):
            assert getattr(two.counts, key) == full[key], key
    # batch B re-typed a standing missing person: it was scored against every family again
    assert json.loads((d / "b" / "run.json").read_text())["mode"]["missing_scored_fully"] >= 4


@pytest.mark.slow
def test_rerun_falls_back_to_full_and_says_why(small_db, settings, asian_table, tmp_path):
    """A batch with an allele the standing encoding lacks (it enters every mutation matrix), or
    changed scoring settings, cannot extend the standing lists: a full re-match, with the reason."""
    s = settings.model_copy(deep=True)
    s.cluster.kind = "local-threads"
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    in_table = {(l, a) for l, lf in asian_table.loci.items() for a in lf.alleles}
    # a new missing person carrying an allele (45 repeats) that neither the table nor the database has
    who = next(r["sample_id"] for r in samples if r["role"] == "missing")
    row = next(g for g in genos if g["sample_id"] == who)
    locus = row["locus"]
    assert (locus, "45") not in in_table and all(g["allele1"] != "45" and g["allele2"] != "45" for g in genos)
    genos = [dict(g, allele1="45") if g is row else g for g in genos]
    batch = {who}
    d = tmp_path
    base_s, base_g, new_s, new_g = split_files(d, samples, genos, batch)
    ingest(base_s, [base_g], d / "base" / "shards", s)
    rematch_flow(d / "base" / "shards", d / "base", s)

    rec = rerun_flow(d / "base", [new_s, new_g], d / "allele", s)
    assert rec.mode["kind"] == "full" and f"allele at {locus}" in rec.mode["reason"]
    ingest([base_s, new_s], [base_g, new_g], d / "full" / "shards", s)
    rematch_flow(d / "full" / "shards", d / "full", s)
    ck = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    assert _sorted(d / "allele", "candidates.parquet", ck) == _sorted(d / "full", "candidates.parquet", ck)

    lower = s.model_copy(deep=True)
    lower.scoring.log10_lr_floor = -50.0           # every family above the floor: full lists
    rec = rerun_flow(d / "base", [new_s, new_g], d / "floor", lower)
    assert rec.mode == {"kind": "full", "reason": "the scoring settings changed",
                           "base_run": str(d / "base")}
    cands = pq.read_table(d / "floor" / "candidates.parquet").to_pylist()
    assert max(c["rank"] for c in cands) == lower.scoring.top_k and min(c["log10_lr"] for c in cands) < 0


def test_rank_candidates_orders_by_exact_lr_then_family_and_cuts_at_top_k():
    """The Arrow ranking of a rerun's merge: the hand-worked order of ranking.rank_scored."""
    import pyarrow as pa

    from reunion.contracts import CANDIDATES, PER_LOCUS
    from reunion.flows.rerun import _rows_of_pairs
    from reunion.ranking import rank_candidates

    def cand(m, f, lr):
        return {"missing_id": m, "rank": 0, "family_id": f, "hypothesis": "trio", "members": "",
                "log10_lr": lr, "lr": 10.0 ** lr, "loci_compared": 20, "inconsistent_loci": 0,
                "log10_lr_duo_father": None, "log10_lr_duo_mother": None, "floored_alleles": 0}
    pool = pa.Table.from_pylist([cand("A", "f1", 2.0), cand("B", "g1", 3.0), cand("A", "f3", 5.0),
                                 cand("A", "f0", 1.0), cand("A", "f2", 5.0)], schema=CANDIDATES)
    ranked = rank_candidates(pool, top_k=2).to_pylist()
    # A: f2 and f3 tie at 5.0 (family_id breaks the tie), f1 (2.0) and f0 (1.0) fall past top_k
    assert [(c["missing_id"], c["family_id"], c["rank"]) for c in ranked] == \
        [("A", "f2", 1), ("A", "f3", 2), ("B", "g1", 1)]

    def locus(m, f, name):
        return {"missing_id": m, "family_id": f, "locus": name, "missing_genotype": "", "father_genotype": "",
                "mother_genotype": "", "other_genotype": "", "lr": 1.0, "log10_lr": 0.0,
                "compared": True, "inconsistent": False, "floored": False}
    rows = pa.Table.from_pylist([locus("A", "f3", "TPOX"), locus("A", "f1", "TPOX"), locus("A", "f3", "D3S1358"),
                                 locus("B", "g1", "TPOX"), locus("A", "f2", "vWA")], schema=PER_LOCUS)
    kept = _rows_of_pairs(rows, pa.Table.from_pylist(ranked, schema=CANDIDATES)).to_pylist()
    assert [(r["family_id"], r["locus"]) for r in kept] == \
        [("f3", "TPOX"), ("f3", "D3S1358"), ("g1", "TPOX"), ("f2", "vWA")]   # the table's own order
