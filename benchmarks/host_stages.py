"""The two host stages that dominate a re-match, before and after batching, per core.

    python benchmarks/host_stages.py [--families 20000] [--missing 20000] [--top-k 10]
                                     [--repeats 5] [--config configs/demo.yaml] [--json OUT]

Simulates a database of the demo's mix (``reunion simulate`` with the config's simulation
section, ``--families`` families and ``--missing`` unrelated missing persons), ingests it
and, on the shards' families and missing persons:

- tables: the lost-child tables of every family, families per second. ``before``: the
  dispatch of the code before reunion/genetics/batch_tables.py (trio / duo as arrays over
  families through hypotheses.parent_tables, every other family row by row through
  FamilyScorer.table_row), reproduced here; ``after``: FamilyScorer.table_rows.
- rescore: the exact re-score of ``top_k`` families per missing person (drawn at random:
  the cost does not depend on which) into the CANDIDATES and PER_LOCUS Arrow tables,
  candidates per second. ``before``: the formula path, FamilyScorer.rescore one pair at a
  time + pieces.candidate_rows + Table.from_pylist (the committed results of 2026-12-03 timed
  the merge's former path, FamilyScorer.rescore_many, which batched trio / duo pairs and was
  removed once the gather replaced it: expect lower "before" rates now); ``after``: FamilyScorer.rescore_arrays from
  the families' table rows (as read from the saved tables) + pieces.candidate_tables;
  ``after_built``: the same building the shortlisted families' rows.

Pedigree-engine families (``pedigree``): their tables go through the scorer's memo
(batch_tables.PedigreeMemo: one engine call per distinct pedigree shape, locus and typed
codes); every timed ``after`` run starts from an empty memo (a run builds each family's
tables once), and ``pedigree_memo`` gives the hit rate of one such cold build.
``by_hypothesis``: the ``after`` tables rate of each hypothesis' families alone (and the
``before`` rate of the pedigree ones, on at most ``--before-cap``).

Each figure is the median of ``--repeats`` runs (min and max beside it). Single-threaded
BLAS (set before NumPy loads) so rates are per core; the process is one core's work.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import collections
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from reunion.contracts import CANDIDATES, PER_LOCUS
from reunion.flows import pieces
from reunion.flows.context import all_queries, context, load_families, references
from reunion.frequencies import load_frequency_table
from reunion.genetics.batch_tables import PedigreeMemo
from reunion.genetics.family import PARENT_HYPOTHESES
from reunion.genetics.hypotheses import parent_tables
from reunion.ingest import ingest
from reunion.settings import load_settings
from reunion.simulate import simulate_database

ROOT = Path(__file__).resolve().parents[1]


def before_table_rows(scorer, hyps) -> np.ndarray:
    """FamilyScorer.table_rows as it was before batch_tables.py (the baseline)."""
    rows = np.zeros((len(hyps), scorer.enc.width))
    fast = [i for i, (h, _) in enumerate(hyps) if h in PARENT_HYPOTHESES and scorer.theta == 0.0]
    fast_set = set(fast)
    for i, (h, used) in enumerate(hyps):
        if i not in fast_set:
            rows[i] = scorer.table_row(h, used)
    if fast:
        idx, L = np.asarray(fast), len(scorer.enc.loci)
        F = np.array([hyps[i][1]["father"].codes if "father" in hyps[i][1] else np.zeros(L, np.uint16)
                      for i in fast]).astype(np.int64)
        M = np.array([hyps[i][1]["mother"].codes if "mother" in hyps[i][1] else np.zeros(L, np.uint16)
                      for i in fast]).astype(np.int64)
        for l in range(L):
            off = int(scorer.enc.offsets[l])
            for sel, lr in parent_tables(F[:, l], M[:, l], scorer._locus_model(l)):
                with np.errstate(divide="ignore"):
                    rows[idx[sel], off + 1: off + 1 + lr.shape[1]] = np.log10(lr)
    return rows


def timed(fn, repeats: int, scorer=None) -> dict:
    """Median, min and max seconds of ``repeats`` calls; with ``scorer``, each from an empty
    pedigree memo (cold, as a run's one build of each family's tables)."""
    times = []
    for _ in range(repeats):
        if scorer is not None:
            scorer.pedigree_memo = PedigreeMemo()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, default=20000)
    ap.add_argument("--missing", type=int, default=20000)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--before-cap", type=int, default=20000,
                    help="time the (slow) before paths on at most this many families / candidates")
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "demo.yaml")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--machine", default="cpu-2core")
    a = ap.parse_args()
    settings = load_settings(a.config)
    table = load_frequency_table(settings.frequencies.table, settings.frequencies.population)
    sim = settings.simulation.model_copy(update={"n_families": a.families, "n_unrelated_missing": a.missing,
                                                 "corrupt_rows": 0})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulate_database(tmp / "in", table, sim)
        ingest(tmp / "in" / "samples.csv", [tmp / "in" / "genotypes.csv"], tmp / "shards", settings)
        sd, sj = str(tmp / "shards"), settings.model_dump_json()
        _, manifest, enc, scorer = context(sd, sj)
        fams = [f for r in range(len(references(manifest))) for f in load_families(sd, sj, r)]
        hyps_all = [(f, scorer.hypothesis(f)) for f in fams]
        scored = [(f, h) for f, h in hyps_all if h is not None]
        hyps = [h for _, h in scored]
        mix = collections.Counter(h[0].value for h in hyps)
        ids, codes = all_queries(sd, sj)
        ids = list(ids)
        print(f"{len(hyps)} families with a hypothesis {dict(mix)}; {len(ids)} missing persons; "
              f"{len(enc.loci)} loci, table width {enc.width}")

        res: dict = {"machine": a.machine, "platform": platform.platform(), "families": len(hyps),
                     "family_mix": dict(mix), "missing": len(ids), "loci": len(enc.loci),
                     "width": enc.width, "top_k": a.top_k, "repeats": a.repeats,
                     "mutation": settings.mutation.model, "theta": settings.scoring.theta,
                     "config": str(a.config), "load_average_start": os.getloadavg()}
        nb = min(len(hyps), a.before_cap)
        scorer.pedigree_memo = PedigreeMemo()
        rows = scorer.table_rows(hyps)
        memo = scorer.pedigree_memo
        res["pedigree_memo"] = {"cells": memo.lookups, "engine_calls": memo.computed, "hit_rate": memo.hit_rate}
        print(f"pedigree memo, one cold build: {memo.lookups:,} (family, locus) cells, {memo.computed:,} "
              f"engine calls, hit rate {memo.hit_rate:.3f}")
        by_h: dict = {}
        for hv in sorted(mix):
            sub = [h for h in hyps if h[0].value == hv]
            t_h = timed(lambda: scorer.table_rows(sub), a.repeats, scorer)
            by_h[hv] = {"families": len(sub), "after_families_per_s": len(sub) / t_h["median_s"], **t_h}
            if hv == "pedigree":
                nbp = min(len(sub), a.before_cap)
                t_hb = timed(lambda: before_table_rows(scorer, sub[:nbp]), a.repeats)
                by_h[hv]["before_families_per_s"] = nbp / t_hb["median_s"]
                by_h[hv]["before_families"] = nbp
            print(f"  tables {hv}: {by_h[hv]['after_families_per_s']:,.0f} families/s"
                  + (f" (before {by_h[hv]['before_families_per_s']:,.0f})" if "before_families_per_s" in by_h[hv]
                     else ""))
        res["by_hypothesis"] = by_h
        t_after = timed(lambda: scorer.table_rows(hyps), a.repeats, scorer)
        t_before = timed(lambda: before_table_rows(scorer, hyps[:nb]), a.repeats)
        single = before_table_rows(scorer, hyps[:nb])
        fin = np.isfinite(single)
        rel = float(np.max(np.abs(rows[:nb][fin] - single[fin]) / np.maximum(np.abs(single[fin]), 1e-300)))
        res["tables"] = {
            "before": {**t_before, "families": nb, "families_per_s": nb / t_before["median_s"]},
            "after": {**t_after, "families": len(hyps), "families_per_s": len(hyps) / t_after["median_s"]},
            "max_rel_diff": rel, "same_exclusions": bool(np.array_equal(np.isneginf(rows[:nb]),
                                                                         np.isneginf(single)))}
        print(f"tables: before {res['tables']['before']['families_per_s']:,.0f} families/s, "
              f"after {res['tables']['after']['families_per_s']:,.0f} families/s (max rel diff {rel:.2e})")

        rng = np.random.default_rng(1)
        n_c = len(ids) * a.top_k
        pick = rng.integers(0, len(scored), n_c)
        q_of = np.repeat(np.arange(len(ids)), a.top_k)
        cand_fams = [scored[j][0] for j in pick.tolist()]
        cand_codes = codes[q_of]
        out = [(int(r), k % a.top_k + 1, cand_fams[k].family_id, k) for k, r in enumerate(q_of.tolist())]

        def after(built: bool):
            r = scorer.rescore_arrays(cand_fams, cand_codes) if built else \
                scorer.rescore_arrays(cand_fams, cand_codes, rows, pick)
            return pieces.candidate_tables(scorer, ids, out, r)

        nbc = min(n_c, a.before_cap)

        def before():
            scores = [scorer.rescore(f, c) for f, c in zip(cand_fams[:nbc], cand_codes[:nbc])]
            cands, loci = [], []
            for k in range(nbc):
                c, lo = pieces.candidate_rows(ids[q_of[k]], cand_fams[k].family_id, scores[k])
                cands.append({**c, "rank": out[k][1]})
                loci.extend(lo)
            return pa.Table.from_pylist(cands, schema=CANDIDATES), pa.Table.from_pylist(loci, schema=PER_LOCUS)

        t_a = timed(lambda: after(False), a.repeats, scorer)
        t_ab = timed(lambda: after(True), a.repeats, scorer)
        t_b = timed(before, a.repeats)
        # the two paths' outputs on the before subset
        (cb, lb), (ca, la) = before(), after(False)
        ca, la = ca.slice(0, nbc), la.slice(0, nbc * len(enc.loci))
        same_cols = {c: cb.column(c).equals(ca.column(c)) for c in CANDIDATES.names}
        lr_a, lr_b = (np.asarray(t.column("log10_lr").to_numpy()) for t in (ca, cb))
        fin = np.isfinite(lr_b)
        res["rescore"] = {
            "before": {**t_b, "candidates": nbc, "candidates_per_s": nbc / t_b["median_s"]},
            "after": {**t_a, "candidates": n_c, "candidates_per_s": n_c / t_a["median_s"]},
            "after_rows_built": {**t_ab, "candidates": n_c, "candidates_per_s": n_c / t_ab["median_s"]},
            "candidate_columns_equal": same_cols,
            "per_locus_rows": la.num_rows,
            "log10_lr_max_rel_diff": float(np.max(np.abs(lr_a[fin] - lr_b[fin]) / np.maximum(np.abs(lr_b[fin]), 1e-300)))
            if fin.any() else 0.0}
        r = res["rescore"]
        print(f"rescore: before {r['before']['candidates_per_s']:,.0f} candidates/s, after "
              f"{r['after']['candidates_per_s']:,.0f} (rows read) / {r['after_rows_built']['candidates_per_s']:,.0f} "
              f"(rows built) candidates/s; columns equal: "
              f"{[c for c, v in same_cols.items() if not v] or 'all'} differ")
    res["load_average_end"] = os.getloadavg()
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
