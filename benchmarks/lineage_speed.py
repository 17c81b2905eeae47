"""Lineage search speed and recall on a simulated Y village survey (issue 20).

    python benchmarks/lineage_speed.py --lineages 8000 --missing 1000 --unrelated 200 \
        [--kit yfiler|yfilerplus] [--max-steps 3] [--machine cpu-2core] [--json OUT]

Simulates (reunion.simulate.simulate_lineages) a survey of about 12 men per lineage (8,000
lineages: about 100,000 men), runs the whole ``reunion lineage`` (reading and validating
the CSV files, the screen, the likelihoods, the frequencies, the outputs) and reports the
seconds of each stage (wall and this process' CPU), the pairs within reach, and the recall
against the ground truth: the planted man's lineage (and surname) first among the groups,
and unrelated missing men with any man within reach. Numba compiles on a warm-up run on a
small survey first (cached in NUMBA_CACHE_DIR). No genotype is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numba
import pyarrow.csv as pacsv

from reunion.lineage import run_lineage
from reunion.settings import LineageSettings, LineageSimulationSettings
from reunion.simulate import YFILER as YFILER_LOCI
from reunion.simulate import simulate_lineages

YFILER = list(YFILER_LOCI)     # the simulator's Yfiler kit (16 loci)


def recall(sim: Path, out: Path) -> dict:
    truth = pacsv.read_csv(sim / "truth.csv").to_pylist()
    groups = pacsv.read_csv(out / "lineage_groups.csv").to_pylist()
    first = {(g["missing_id"], g["attribute"]): g["value"] for g in groups if g["rank"] == 1}
    planted = [t for t in truth if t["kind"] == "planted"]
    unrelated = [t for t in truth if t["kind"] == "unrelated"]
    n = max(len(planted), 1)
    return {
        "planted": len(planted),
        "planted_listed": sum((t["sample_id"], "lineage") in first for t in planted) / n,
        "lineage_rank1": sum(first.get((t["sample_id"], "lineage")) == t["lineage"] for t in planted) / n,
        "surname_rank1": sum(first.get((t["sample_id"], "surname")) == t["surname"] for t in planted) / n,
        "region_rank1": sum(first.get((t["sample_id"], "region")) == t["region"] for t in planted) / n,
        "unrelated": len(unrelated),
        "unrelated_with_a_man_within_reach": sum((t["sample_id"], "lineage") in first for t in unrelated),
    }


def run(folder: Path, lineages: int, missing: int, unrelated: int, kit, max_steps: int, seed: int) -> dict:
    sim, out = folder / "sim", folder / "out"
    t = time.perf_counter()
    s = simulate_lineages(sim, LineageSimulationSettings(n_lineages=lineages, n_missing=missing,
                                                          n_unrelated_missing=unrelated, kit=kit,
                                                          seed=seed))
    sim_s = time.perf_counter() - t
    c0, t0 = time.process_time(), time.perf_counter()
    summary = run_lineage([sim / "samples.csv"], [sim / "genotypes.csv"], sim / "y_samples.csv",
                          [sim / "y_genotypes.csv"], out, LineageSettings(max_steps=max_steps))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"database_men": summary.n_database_men, "missing_searched": summary.n_searched,
            "loci": len(summary.loci), "pairs_scored": summary.n_database_men * summary.n_searched,
            "pairs_within_reach": summary.n_pairs, "simulate_seconds": sim_s,
            "lineage_wall_seconds": wall, "lineage_cpu_seconds": cpu,
            "stage_seconds": summary.seconds, "recall": recall(sim, out),
            "living_men": s.n_living}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lineages", type=int, default=8000)
    ap.add_argument("--missing", type=int, default=1000)
    ap.add_argument("--unrelated", type=int, default=200)
    ap.add_argument("--kit", choices=("yfiler", "yfilerplus"), default="yfilerplus")
    ap.add_argument("--max-steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--machine", default="cpu-2core")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    kit = YFILER if a.kit == "yfiler" else None
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "warm", 40, 5, 1, kit, a.max_steps, a.seed)         # numba compiles
    with tempfile.TemporaryDirectory() as tmp:
        res = run(Path(tmp), a.lineages, a.missing, a.unrelated, kit, a.max_steps, a.seed)
    res.update(machine=a.machine, kit=a.kit, max_steps=a.max_steps, seed=a.seed,
               lineages=a.lineages, numba_threads=numba.get_num_threads(),
               cpu_count=os.cpu_count(), python=platform.python_version(),
               date=time.strftime("%Y-%m-%d", time.gmtime()))
    text = json.dumps(res, indent=2, sort_keys=True)
    print(text)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
