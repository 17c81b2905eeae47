"""Strong candidates beyond top_k (scoring.keep_all_log10_lr).

A full list must not hide a family with LR >= 10,000: the screen widens its
k for those profiles, and both the re-match's ranking and a rerun's merge keep
every candidate at or above the threshold after the first top_k.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from reunion import ranking
from reunion.flows import pieces
from reunion.flows.rematch import rematch_flow
from reunion.flows.rerun import rerun_flow
from reunion.ingest import ingest
from reunion.kernels import cpu, reference

from batches import read_rows, split_files, write_rows
from test_pipeline import run_local


def _tables(T: int, strong: range, medium: range, L: int = 3, slots: int = 4):
    """[T, L*slots] tables: strong rows score 6.0, medium rows 3.0, the rest -3.0 on a typed profile."""
    offsets = (np.arange(L) * slots).astype(np.int32)
    per = np.full(T, -1.0)
    per[list(strong)] = 2.0
    per[list(medium)] = 1.0
    tables = np.repeat(per[:, None], L * slots, axis=1)
    tables[:, offsets] = 0.0
    return tables, offsets


def test_screen_widens_k_until_the_strong_rows_end():
    tables, offsets = _tables(60, range(10, 40), range(45, 50))
    codes = np.array([[1, 2, 3], [3, 3, 1], [0, 0, 0]], dtype=np.uint16)   # the last is untyped
    calls = []

    def kernel(t, o, p, k, floor):
        calls.append((len(p), k))
        return cpu.screen_topk(t, o, p, k, floor)

    idx, score = pieces.screen_with_strong(kernel, tables, offsets, codes, 2, 0.0, 4.0)
    # k 2 -> 8 -> 32 for the two typed profiles; the 32nd is a medium row (3.0 < 4): stop
    assert calls == [(3, 2), (2, 8), (2, 32)]
    assert idx.shape == (3, 32)
    ri, rs = reference.screen_topk(tables, offsets, codes, 60, 0.0)
    for r in (0, 1):
        np.testing.assert_array_equal(idx[r], ri[r, :32])        # 30 strong rows, then 2 medium
        assert list(idx[r, :30]) == list(range(10, 40)) and (score[r, :30] == 6.0).all()
    # untyped: every table scores 0, at the floor but not strong: its top 2 only
    assert list(idx[2, :2]) == [0, 1] and (idx[2, 2:] == -1).all() and np.isneginf(score[2, 2:]).all()
    # without the threshold: top_k only
    idx, _ = pieces.screen_with_strong(cpu.screen_topk, tables, offsets, codes, 2, 0.0, None)
    assert idx.shape == (3, 2)


def test_screen_keeps_every_table_when_all_are_strong():
    tables, offsets = _tables(9, range(0, 9), range(0))
    codes = np.array([[1, 1, 1]], dtype=np.uint16)
    idx, score = pieces.screen_with_strong(cpu.screen_topk, tables, offsets, codes, 2, 0.0, 4.0)
    assert list(idx[0]) == list(range(9)) and (score[0] == 6.0).all()


def test_rank_entries_and_rank_candidates_keep_the_strong():
    import pyarrow as pa

    from reunion.contracts import CANDIDATES
    from reunion.ranking import rank_candidates, rank_scored

    def cand(m, f, lr):
        return {"missing_id": m, "rank": 0, "family_id": f, "hypothesis": "trio", "members": "",
                "log10_lr": lr, "lr": 10.0 ** lr, "loci_compared": 20, "inconsistent_loci": 0,
                "log10_lr_duo_father": None, "log10_lr_duo_mother": None, "floored_alleles": 0}
    pool = [cand("A", "f1", 4.0), cand("A", "f2", 6.0), cand("A", "f3", 3.9), cand("A", "f4", 4.5),
            cand("B", "g1", 1.0), cand("B", "g2", 0.5)]
    ranked = rank_candidates(pa.Table.from_pylist(pool, schema=CANDIDATES), 1, 4.0).to_pylist()
    assert [(c["missing_id"], c["family_id"], c["rank"]) for c in ranked] == \
        [("A", "f2", 1), ("A", "f4", 2), ("A", "f1", 3), ("B", "g1", 1)]

    from types import SimpleNamespace
    entries = [(c["family_id"], SimpleNamespace(
        hypothesis="trio", members={}, log10_lr=c["log10_lr"], loci_compared=20, inconsistent_loci=0,
        log10_lr_duo_father=None, log10_lr_duo_mother=None, floored_alleles=0, loci=[]))
        for c in pool if c["missing_id"] == "A"]
    rows = rank_scored(entries, 1, 4.0)
    assert [(f, rank) for rank, f, _ in rows] == [("f2", 1), ("f4", 2), ("f1", 3)]
    rows = rank_scored(entries, 1, None)
    assert [(f, rank) for rank, f, _ in rows] == [("f2", 1)]
    rows = rank_scored(entries, 4, 4.0)      # top_k already holds them: f3 too
    assert [f for _, f, _ in rows] == ["f2", "f4", "f1", "f3"]


@pytest.fixture(scope="module")
def duplicated(small_db, tmp_path_factory):
    """small_db plus three more registrations of one trio family (the same parents, again)."""
    import pyarrow.csv as pacsv

    d = tmp_path_factory.mktemp("dups")
    truth = pacsv.read_csv(small_db / "truth.csv").to_pylist()
    lost = next(t for t in truth if t["kind"] == "lost_child" and t["parents_registered"] == "both")
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    members = [r for r in samples if r["family_id"] == lost["family_id"]]
    extra_s, extra_g = [], []
    for i in (1, 2, 3):
        rename = {m["sample_id"]: f"{m['sample_id']}-dup{i}" for m in members}
        extra_s += [dict(m, sample_id=rename[m["sample_id"]], family_id=f"{lost['family_id']}-dup{i}")
                    for m in members]
        extra_g += [dict(g, sample_id=rename[g["sample_id"]]) for g in genos if g["sample_id"] in rename]
    write_rows(d / "samples.csv", samples + extra_s)
    write_rows(d / "genotypes.csv", genos + extra_g)
    return d, lost, samples + extra_s, genos + extra_g, {r["sample_id"] for r in extra_s}


def test_duplicate_registrations_all_listed_past_top_k(duplicated, settings, tmp_path):
    d, lost, *_ = duplicated
    s = settings.model_copy(deep=True)
    s.scoring.top_k = 1
    ingest(d / "samples.csv", [d / "genotypes.csv"], tmp_path / "shards", s)
    cands = run_local(tmp_path / "shards", s)
    mine = sorted((c for c in cands if c["missing_id"] == lost["missing_id"]), key=lambda c: c["rank"])
    fam = lost["family_id"]
    assert [c["family_id"] for c in mine] == [fam, f"{fam}-dup1", f"{fam}-dup2", f"{fam}-dup3"]
    assert [c["rank"] for c in mine] == [1, 2, 3, 4]
    assert len({c["log10_lr"] for c in mine}) == 1 and mine[0]["log10_lr"] >= 4.0
    others = [c for c in cands if c["missing_id"] != lost["missing_id"]]
    assert all(c["rank"] == 1 or c["log10_lr"] >= 4.0 for c in others)
    s.scoring.keep_all_log10_lr = None
    cands = run_local(tmp_path / "shards", s)
    assert [c["family_id"] for c in cands if c["missing_id"] == lost["missing_id"]] == [fam]


@pytest.mark.slow
def test_rerun_with_the_duplicates_as_a_batch_equals_full(duplicated, settings, tmp_path):
    d, lost, samples, genos, dup_ids = duplicated
    s = settings.model_copy(deep=True)
    s.scoring.top_k = 1
    s.cluster.kind = "local-threads"
    base_s, base_g, new_s, new_g = split_files(tmp_path, samples, genos, dup_ids)
    ingest(base_s, [base_g], tmp_path / "base" / "shards", s)
    rematch_flow(tmp_path / "base" / "shards", tmp_path / "base", s)
    rec = rerun_flow(tmp_path / "base", [new_s, new_g], tmp_path / "rerun", s)
    assert rec.mode["kind"] == "incremental"
    ingest([base_s, new_s], [base_g, new_g], tmp_path / "full" / "shards", s)
    rematch_flow(tmp_path / "full" / "shards", tmp_path / "full", s)
    key = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    full = sorted(pq.read_table(tmp_path / "full" / "candidates.parquet").to_pylist(), key=key)
    again = sorted(pq.read_table(tmp_path / "rerun" / "candidates.parquet").to_pylist(), key=key)
    assert again == full
    assert sum(c["missing_id"] == lost["missing_id"] for c in full) == 4
    import json
    counts = {run: json.loads((tmp_path / run / "run.json").read_text())["counts"] for run in ("full", "rerun")}
    assert counts["full"]["shortlist_checks_failed"] == counts["rerun"]["shortlist_checks_failed"] == 0
    assert counts["full"]["candidates_rescored"] >= len(full)
    assert 3 <= counts["rerun"]["candidates_rescored"] < len(full)     # the batch's families only


# ----------------------------------------------------------------- the merged shortlist's cut


def test_shortlist_cut_by_hand():
    rows = np.array([0, 0, 0, 0, 1, 1, 2])
    scores = np.array([5.0, 3.0, 4.0, 4.0 - 5e-7, 2.0, 1.0, -np.inf])
    # row 0: 2nd best screen score 4.0; 4.0 - 5e-7 is within CUT_TOL (1e-6) of it, 3.0 is not
    assert ranking.shortlist_cut(rows, scores, 2, None).tolist() == [True, False, True, True, True, True, True]
    # a strong threshold below 3.0 keeps 3.0 too
    assert ranking.shortlist_cut(rows, scores, 2, 2.9).all()
    # top_k 1: row 1 keeps its best only
    assert ranking.shortlist_cut(rows, scores, 1, None).tolist() == [True, False, False, False, True, False, True]
    assert ranking.shortlist_cut(rows[:0], scores[:0], 3, None).size == 0


def test_fine_shards_rescore_about_top_k_and_list_the_same(small_db, settings, tmp_path, monkeypatch, caplog):
    """Floor -50: every family passes, so 17 shards each shortlist top_k; the cut re-scores ~top_k."""
    from reunion.genetics.family import FamilyScorer

    s = settings.model_copy(deep=True)
    s.scoring.log10_lr_floor = -50.0
    s.scoring.top_k = 3
    coarse = s.model_copy(deep=True)
    coarse.ingest.families_per_shard = 1000
    fine = s.model_copy(deep=True)
    fine.ingest.families_per_shard = 7
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], tmp_path / "coarse", coarse)
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], tmp_path / "fine", fine)
    counted = []
    real = FamilyScorer.rescore_arrays
    monkeypatch.setattr(FamilyScorer, "rescore_arrays",
                        lambda self, fams, codes, *a: counted.append(len(fams)) or real(self, fams, codes, *a))
    key = lambda c: (c["missing_id"], c["rank"])  # noqa: E731
    want = sorted(run_local(tmp_path / "coarse", coarse), key=key)
    n_missing = len({c["missing_id"] for c in want})
    counted.clear()
    got = sorted(run_local(tmp_path / "fine", fine), key=key)
    assert got == want
    # 17+ shards x top_k 3 shortlisted per missing person; re-scored: top_k plus near-ties
    assert sum(counted) <= 4 * n_missing < 17 * 3 * n_missing
    with_cut = sum(counted)
    # if a screen score ever disagreed with its re-score, the whole shortlist is re-scored
    monkeypatch.setattr(ranking, "same_score", lambda a, b: False)
    counted.clear()
    with caplog.at_level("WARNING"):
        again = sorted(run_local(tmp_path / "fine", fine), key=key)
    assert again == want
    assert sum(counted) > 10 * with_cut                    # every shard's top_k, re-scored
    assert "whole shortlists are re-scored" in caplog.text
