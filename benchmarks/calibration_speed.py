"""Families per second: the calibrated laws (reunion/calibration.py) against building the
lost-child tables they come from (FamilyScorer.table_rows), on a shard set.

    python benchmarks/calibration_speed.py [SHARDS] [--families N] [--grid 1e-3 1e-2]
        [--grid-h1 1e-2] [--epsilon 1e-15] [--repeat 3]

SHARDS defaults to demo-run/shards (``make demo``). Reads the settings of configs/demo.yaml;
prints one JSON line per measurement (no genotypes). Single thread, after a warm-up call
(numba compiles once, cached in NUMBA_CACHE_DIR); CPU seconds of this process are reported
beside wall seconds (a shared machine's wall clock says little). Each timing is the median of
``--repeat`` runs (fresh caches each time).

Each measurement runs for the exact reference (epsilon 0, H1 on the H2 grid: the error
contract before calibration.epsilon) and for every (H2 grid, H1 grid, epsilon) of the
arguments, in the same process. "families table" is what a run's calibrate stage pays per
family without candidates: H1 at the power threshold only and the H2 laws over [0, 20]
(calibration.annotate's spans).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from reunion.calibration import LawCache, Layout, SearchedSet, family_laws, family_summary, spans
from reunion.genetics.family import Family, FamilyScorer
from reunion.genetics.mutation import MutationModels
from reunion.ingest import (
    load_encoding,
    load_manifest,
    read_shard,
    shard_codes,
    shard_families,
    shards_of,
)
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def families_of(shards: Path, manifest: dict, limit: int) -> list[Family]:
    out: list[Family] = []
    for rec in shards_of(manifest, "reference"):
        out.extend(shard_families(read_shard(shards, rec)))
        if len(out) >= limit:
            break
    return out[:limit]


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median (wall s, CPU s) of ``repeat`` calls of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("shards", nargs="?", default=str(ROOT / "demo-run" / "shards"))
    ap.add_argument("--families", type=int, default=200)
    ap.add_argument("--grid", type=float, nargs="+", default=[1e-3, 1e-2], help="H2 grids")
    ap.add_argument("--grid-h1", type=float, nargs="+", default=[1e-2], help="H1 grids")
    ap.add_argument("--epsilon", type=float, nargs="+", default=[1e-15], help="pruning budgets")
    ap.add_argument("--config", default=str(ROOT / "configs" / "demo.yaml"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    shards = Path(a.shards)
    settings = load_settings(Path(a.config))
    manifest = load_manifest(shards)
    enc = load_encoding(shards, manifest)
    scorer = FamilyScorer(enc, MutationModels(settings.mutation, enc), settings.scoring.theta)
    fams = families_of(shards, manifest, a.families)
    hyps = [h for h in (scorer.hypothesis(f) for f in fams) if h is not None]
    scorer.table_rows(hyps[:4])                                  # warm-up (mutation matrices)
    rows = scorer.table_rows(hyps)
    t_tables, c_tables = timed(lambda: scorer.table_rows(hyps), a.repeat)
    kinds: dict[str, int] = {}
    for h, _ in hyps:
        kinds[str(h.value)] = kinds.get(str(h.value), 0) + 1
    print(json.dumps({"what": "tables", "families": len(hyps), "loci": len(enc.loci),
                      "mutation": settings.mutation.model, "kinds": kinds, "wall_s": round(t_tables, 3),
                      "cpu_s": round(c_tables, 3), "families_per_cpu_s": round(len(hyps) / c_tables, 1)}))
    layout = Layout.from_encoding(enc)
    # (label, H2 grid, H1 grid, epsilon): the exact reference of the old contract first
    configs = [("exact (epsilon 0), one grid", g, g, 0.0) for g in a.grid[:1]]
    configs += [(f"epsilon {e:g}, H1 grid {g1:g}", g, g1, e)
                for g in a.grid for g1 in a.grid_h1 for e in a.epsilon]
    for label, grid, g1, eps in configs:
        family_laws(layout, rows[0], delta=grid, delta_h1=g1, epsilon=eps).h1     # warm-up (numba)
        sizes = []

        def own_laws(grid=grid, g1=g1, eps=eps):
            sizes.clear()
            for r in rows:
                law = family_laws(layout, r, delta=grid, delta_h1=g1, epsilon=eps)
                law.h1
                sizes.append(law.h2.pmf.size)
        t, c = timed(own_laws, a.repeat)
        print(json.dumps({"what": "laws H2+H1", "config": label, "grid": grid, "grid_h1": g1,
                          "epsilon": eps, "families": len(rows),
                          "wall_s": round(t, 3), "cpu_s": round(c, 3),
                          "families_per_cpu_s": round(len(rows) / c, 1),
                          "support_bins_median": int(np.median(sizes)),
                          "error_bound_log10": round(len(enc.loci) * grid, 4),
                          "error_bound_log10_h1": round(len(enc.loci) * g1, 4),
                          "cpu_vs_tables": round(c / c_tables, 1)}), flush=True)
    # what a run pays per family (families.parquet): its H1 law and the H2 laws of the searched
    # persons' most frequent locus sets (calibration.max_mask_groups), as the run's calibrate stage
    codes = np.vstack([shard_codes(read_shard(shards, rec)) for rec in shards_of(manifest, "query")])
    searched = SearchedSet.from_codes(codes, settings.scoring.min_typed_loci)
    byid = {f"f{i}": r for i, r in enumerate(rows)}
    power = settings.calibration.power_log10_lr
    for label, grid, g1, eps in configs:
        span = spans([], np.zeros(0), list(byid), grid, power, g1)
        kw = {"spans": span, "delta": grid, "delta_h1": g1, "epsilon": eps}
        cache = LawCache(layout, byid, **kw)
        family_summary(cache, "f0", searched, max_mask_groups=settings.calibration.max_mask_groups,
                       power_log10_lr=power)

        def table(kw=kw):
            cache = LawCache(layout, byid, **kw)
            for fid in byid:
                family_summary(cache, fid, searched, max_mask_groups=settings.calibration.max_mask_groups,
                               power_log10_lr=power)
        t, c = timed(table, a.repeat)
        print(json.dumps({"what": "families table (power, chance matches by locus set)", "config": label,
                          "grid": grid, "grid_h1": g1, "epsilon": eps,
                          "families": len(rows), "searched": searched.searched,
                          "locus_sets": int(len(searched.counts)),
                          "max_mask_groups": settings.calibration.max_mask_groups,
                          "wall_s": round(t, 3), "cpu_s": round(c, 3),
                          "families_per_cpu_s": round(len(rows) / c, 1),
                          "cpu_vs_tables": round(c / c_tables, 1)}), flush=True)

if __name__ == "__main__":
    main()
