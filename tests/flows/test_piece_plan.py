"""Screening tasks sized by work (scoring.pairs_per_task): reference shards fused into one task
per query block change how the re-match is scheduled, never its candidates, and resumable pieces
still resume whatever the grouping was when they were saved."""

from __future__ import annotations

import dask
import numpy as np
import pyarrow as pa
import pytest

from reunion.flows import pieces
from reunion.ingest import ingest, load_manifest, shards_of


def _with(settings, pairs_per_task: int):
    s = settings.model_copy(deep=True)
    s.scoring.pairs_per_task = pairs_per_task
    return s


@pytest.fixture(scope="module")
def fine(small_db, settings, tmp_path_factory):
    """Shards of 20 families and blocks of 15 missing persons: many small pieces."""
    s = settings.model_copy(deep=True)
    s.ingest.families_per_shard = 20
    s.scoring.query_block = 15
    out = tmp_path_factory.mktemp("plan")
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], out, s)
    return out, s


def _run(shards, s, piece_dir=None):
    work = pieces.plan_work(load_manifest(shards), s)
    results = dask.compute(*pieces.rematch_graph(str(shards), s, work, piece_dir), scheduler="synchronous")
    cand = pa.concat_tables([r["candidates"] for r in results])
    locus = pa.concat_tables([r["per_locus"] for r in results])
    return work, cand, locus


def test_group_shards_by_hand():
    # families per shard 3, 3, 3, 5, 1 against blocks of 2 missing persons, at most 12 pairs a task:
    # [0, 1] = (3 + 3) x 2 = 12; shard 2 would make 18, so it starts a group; 3 + 5 = 8 -> 16 > 12,
    # so shard 3 starts one; 5 + 1 = 6 -> 12: shard 4 joins it
    assert pieces.group_shards([3, 3, 3, 5, 1], 2, 12) == [[0, 1], [2], [3, 4]]
    assert pieces.group_shards([3, 3, 3, 5, 1], 2, 1) == [[0], [1], [2], [3], [4]]     # one shard a task
    assert pieces.group_shards([3, 3, 3, 5, 1], 2, 10**9) == [[0, 1, 2, 3, 4]]
    assert pieces.group_shards([50], 2, 1) == [[0]]            # a shard is never split
    assert pieces.group_shards([], 2, 12) == []


def test_plan_groups_consecutive_shards_and_counts_tasks(fine):
    shards, s = fine
    m = load_manifest(shards)
    fams = [r.families for r in shards_of(m, "reference")]
    one = pieces.plan_work(m, _with(s, 1))
    assert one.groups == [[r] for r in range(len(fams))] and one.tasks == one.pieces
    two = pieces.plan_work(m, _with(s, 15 * 40))        # 15 missing x 40 families: two 20-family shards
    assert all(sum(fams[r] for r in g) * 15 <= 15 * 40 or len(g) == 1 for g in two.groups)
    assert [r for g in two.groups for r in g] == list(range(len(fams)))
    assert len(two.groups) == -(-len(fams) // 2) and two.tasks == len(two.blocks) * len(two.groups)
    assert two.pieces == one.pieces == len(one.blocks) * len(fams)
    fused = pieces.plan_work(m, s)                      # the default: every shard in one task here
    assert fused.groups == [list(range(len(fams)))] and fused.tasks == len(fused.blocks)


def test_fused_plan_gives_the_candidates_of_one_shard_a_task(fine):
    shards, s = fine
    w1, c1, l1 = _run(shards, _with(s, 1))
    assert w1.tasks > 20                              # the old plan: one task per (block, shard)
    assert c1.num_rows > 0 and l1.num_rows > 0
    for pairs in (15 * 40, 15 * 100, s.scoring.pairs_per_task):
        w, c, l = _run(shards, _with(s, pairs))
        assert w.tasks < w1.tasks
        assert c.equals(c1) and l.equals(l1), pairs


def test_pieces_saved_under_one_grouping_resume_under_another(fine, tmp_path, monkeypatch):
    shards, s = fine
    _, clean, clean_l = _run(shards, _with(s, 1))
    piece_dir = tmp_path / "pieces"
    real = pieces.screen_piece
    calls = {"n": 0}

    def crashing(*args, **kw):
        calls["n"] += 1
        if calls["n"] > 7:
            raise RuntimeError("simulated crash")
        return real(*args, **kw)

    monkeypatch.setattr(pieces, "screen_piece", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(shards, _with(s, 15 * 40), piece_dir)
    finished = {p.name: p.stat().st_mtime_ns for p in piece_dir.glob("*.npz")}
    assert len(finished) == 7
    counted = []
    monkeypatch.setattr(pieces, "screen_piece", lambda *a, **k: counted.append(1) or real(*a, **k))
    work, resumed, resumed_l = _run(shards, s, piece_dir)      # fused: every shard of a block at once
    assert len(counted) == work.pieces - 7                      # only the unfinished pieces ran
    assert {p.name: p.stat().st_mtime_ns for p in piece_dir.glob("*.npz") if p.name in finished} == finished
    assert resumed.equals(clean) and resumed_l.equals(clean_l)


def test_progress_counts_the_pieces_each_task_screens(fine, tmp_path):
    shards, s = fine
    s2 = _with(s, 15 * 40)
    work = pieces.plan_work(load_manifest(shards), s2)
    graph = pieces.rematch_graph(str(shards), s2, work, tmp_path / "p")
    todo = pieces.screen_pieces(graph)
    assert len(todo) == work.tasks
    assert sum(n for _, n in todo) == work.pieces
    assert sorted({n for _, n in todo}) == sorted({len(g) for g in work.groups})


def test_listed_entries_keep_row_piece_column_order():
    # two pieces of two missing persons, widths 2 and 1, -1 = none
    a = {"ref_index": 4, "position": np.array([[7, -1], [3, 5]]), "score": np.array([[2.0, -np.inf], [1.5, 0.5]])}
    b = {"ref_index": 9, "position": np.array([[1], [-1]]), "score": np.array([[3.0], [-np.inf]])}
    rows, shard, pos, score = pieces.listed_entries([a, b], 2)
    assert rows.tolist() == [0, 0, 1, 1] and shard.tolist() == [4, 9, 4, 4]
    assert pos.tolist() == [7, 1, 3, 5] and score.tolist() == [2.0, 3.0, 1.5, 0.5]
