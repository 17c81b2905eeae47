"""Pedigree-engine families' lost-child tables: the batched engine and its memo, by database size.

    python benchmarks/pedigree_tables.py [--families 2000 20000] [--repeats 3] [--before-cap 300]
                                         [--config configs/long_separation.yaml] [--json OUT]

For each size, simulates a database of the config's family mix (``reunion simulate``: the
long-separation demo's grandparents, uncles / aunts, siblings only, a missing adult's
children), ingests it and takes the families with the ``pedigree`` hypothesis (the
pedigree engine's kinds). Reports, from an empty memo each time (a run builds each family's
tables once):

- ``after``: FamilyScorer.table_rows of those families (batch_tables: the engine over a batch
  of one shape and typing pattern, once per distinct (shape, locus, typed codes)),
  families per second; the memo's hit rate of that cold build (share of typed (family,
  locus) cells that took no engine computation) and the number of distinct shapes;
- ``before``: FamilyScorer.table_row family by family (the per-family engine path, the
  reference), on at most ``--before-cap`` of them, in the same process;
- ``three_generation`` / ``other_pedigree``: ``after`` of the families with a grandparent or
  an uncle / aunt typed, and of the others (a missing adult's children, ...), alone;
- ``max_rel_diff``: the largest relative difference of the two on the finite values (and
  whether exclusions, -inf, and LR-1 loci, exact 0, agree).

Medians of ``--repeats`` runs (min and max beside them); single-threaded BLAS, one core's
work; the load average at the start and the end is recorded (the machine is shared).
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

from reunion.flows.context import context, load_families, references
from reunion.frequencies import load_frequency_table
from reunion.genetics.batch_tables import PedigreeMemo, pedigree_shape
from reunion.ingest import ingest
from reunion.settings import load_settings
from reunion.simulate import simulate_database

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, repeats: int, scorer) -> dict:
    times = []
    for _ in range(repeats):
        scorer.pedigree_memo = PedigreeMemo()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before-cap", type=int, default=300)
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "long_separation.yaml")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--machine", default="cpu-2core")
    a = ap.parse_args()
    settings = load_settings(a.config)
    table = load_frequency_table(settings.frequencies.table, settings.frequencies.population)
    res: dict = {"machine": a.machine, "platform": platform.platform(), "config": str(a.config),
                 "mutation": settings.mutation.model, "repeats": a.repeats, "sizes": [],
                 "load_average_start": os.getloadavg()}
    for n in a.families:
        sim = settings.simulation.model_copy(update={"n_families": n, "n_unrelated_missing": 10, "corrupt_rows": 0})
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            simulate_database(tmp / "in", table, sim)
            ingest(tmp / "in" / "samples.csv", [tmp / "in" / "genotypes.csv"], tmp / "shards", settings)
            sd, sj = str(tmp / "shards"), settings.model_dump_json()
            _, manifest, enc, scorer = context(sd, sj)
            fams = [f for r in range(len(references(manifest))) for f in load_families(sd, sj, r)]
        hyps = [h for h in (scorer.hypothesis(f) for f in fams) if h is not None and h[0].value == "pedigree"]
        shapes = collections.Counter(pedigree_shape(scorer, u) for _, u in hyps)
        scorer.pedigree_memo = PedigreeMemo()
        rows = scorer.table_rows(hyps)
        memo = scorer.pedigree_memo
        cold = {"cells": memo.lookups, "engine_computations": memo.computed, "hit_rate": memo.hit_rate}
        t_after = _timed(lambda: scorer.table_rows(hyps), a.repeats, scorer)
        nb = min(len(hyps), a.before_cap)
        single = None

        def before():
            nonlocal single
            single = np.vstack([scorer.table_row(*h) for h in hyps[:nb]])
        t_before = _timed(before, a.repeats, scorer)
        fin = np.isfinite(single)
        rel = float(np.max(np.abs(rows[:nb][fin] - single[fin]) / np.maximum(np.abs(single[fin]), 1e-300)))
        size = {"families": n, "pedigree_families": len(hyps), "shapes": len(shapes),
                "largest_shape_families": max(shapes.values()) if shapes else 0, "memo_cold_build": cold,
                "after": {**t_after, "families_per_s": len(hyps) / t_after["median_s"]},
                "before": {**t_before, "families": nb, "families_per_s": nb / t_before["median_s"]},
                "max_rel_diff": rel,
                "same_exclusions_and_lr1": bool(np.array_equal(np.isneginf(rows[:nb]), np.isneginf(single))
                                                and np.array_equal(rows[:nb] == 0.0, single == 0.0))}
        size["speedup"] = size["after"]["families_per_s"] / size["before"]["families_per_s"]
        # three-generation pedigrees (a grandparent or an uncle / aunt typed) and the rest
        # (a missing adult's children, ...) alone, after, from an empty memo
        three = [h for h in hyps if any(m.relation.value.endswith(("grandfather", "grandmother", "uncle_aunt"))
                                        for m in h[1].values())]
        rest = [h for h in hyps if not any(h is x for x in three)]
        for name, sub in (("three_generation", three), ("other_pedigree", rest)):
            if sub:
                scorer.pedigree_memo = PedigreeMemo()
                scorer.table_rows(sub)
                hit = scorer.pedigree_memo.hit_rate
                t_k = _timed(lambda: scorer.table_rows(sub), a.repeats, scorer)
                size[name] = {"families": len(sub), "after_families_per_s": len(sub) / t_k["median_s"],
                              "memo_hit_rate": hit, **t_k}
                print(f"  {name}: {len(sub)} families, {size[name]['after_families_per_s']:,.0f} families/s, "
                      f"memo hit rate {hit:.3f}", flush=True)
        res["sizes"].append(size)
        print(f"{n} families: {len(hyps)} pedigree ({len(shapes)} shapes, largest {size['largest_shape_families']}); "
              f"memo hit rate {cold['hit_rate']:.3f} ({cold['engine_computations']:,} of {cold['cells']:,} cells "
              f"computed); after {size['after']['families_per_s']:,.0f} families/s, before "
              f"{size['before']['families_per_s']:,.0f} ({size['speedup']:.1f}x); max rel diff {rel:.1e}", flush=True)
    res["load_average_end"] = os.getloadavg()
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
