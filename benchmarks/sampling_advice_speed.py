"""Families per second of the sampling advice (reunion/sampling_advice.py): for the families of
a shard set scored by one or two typed members (duo, trio, nuclear, pedigree), the power each
candidate relative of sampling_advice.relatives would give, by grid width.

    python benchmarks/sampling_advice_speed.py [SHARDS] [--families N] [--grid 0.01 0.001]
                                               [--kinds duo_father duo_mother]

SHARDS defaults to demo-run/shards (``make demo``). Settings of configs/demo.yaml. Single
thread, after a warm-up family (numba compiles once, cached in NUMBA_CACHE_DIR); CPU seconds
of this process beside wall seconds. "engine" is the part spent in the pairs' joints
(locus_pairs, every relative and locus), "convolution" the rest of advise_family (the
laws). Prints one JSON line per grid (no genotypes), with the mean power of the best relative,
so the grid's effect on the lower bound shows beside its cost.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from reunion.calibration import Layout
from reunion.genetics import engine
from reunion.genetics.family import LOST_ID, FamilyScorer
from reunion.genetics.mutation import MutationModels
from reunion.genetics.roles import Relation
from reunion.ingest import load_encoding, load_manifest, read_shard, shard_families, shards_of
from reunion.sampling_advice import NEXT_ID, advise_family, locus_pairs
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("shards", nargs="?", default=str(ROOT / "demo-run" / "shards"))
    ap.add_argument("--families", type=int, default=20)
    ap.add_argument("--grid", type=float, nargs="+", default=[0.01, 0.001])
    ap.add_argument("--kinds", nargs="+", default=["duo_father", "duo_mother"])
    a = ap.parse_args()
    settings = load_settings(None)
    shards = Path(a.shards)
    manifest = load_manifest(shards)
    enc = load_encoding(shards, manifest)
    scorer = FamilyScorer(enc, MutationModels(settings.mutation, enc), settings.scoring.theta,
                          pedigree=settings.scoring.pedigree)
    layout = Layout.from_encoding(enc)
    fams = []
    for rec in shards_of(manifest, "reference"):
        for fam in shard_families(read_shard(shards, rec)):
            h = scorer.hypothesis(fam)
            if h is not None and str(h[0]) in a.kinds and not fam.explicit:
                fams.append((fam, h))
        if len(fams) > a.families:
            break
    warm, fams = fams[0], fams[1:a.families + 1]
    x = settings.calibration.power_log10_lr
    for grid in a.grid:
        adv = settings.sampling_advice.model_copy(update={"grid": grid})
        rows = {f.family_id: scorer.table_row(*h) for f, h in [warm] + fams}
        advise_family(scorer, warm[0], adv, x, layout.informative(rows[warm[0].family_id]))
        # the engine part alone: every relative's pairs at every informative locus
        t0, c0 = time.perf_counter(), time.process_time()
        for fam, (hyp, used) in fams:
            rels = [engine.Relative(m.sample_id, m.relation, None) for m in used.values()]
            loci = np.flatnonzero(layout.informative(rows[fam.family_id])).tolist()
            for rel in adv.relatives:
                rel = Relation(rel)
                if rel is Relation.CHILD or any(m.relation is rel for m in used.values()):
                    continue
                mix = engine.relatives_pedigree(rels + [engine.Relative(NEXT_ID, rel)], lost_id=LOST_ID)
                for l in loci:
                    typed = {m.sample_id: enc.decode(l, int(m.codes[l])) for m in used.values() if m.codes[l]}
                    locus_pairs(mix, typed, scorer.models.locus(l))
        eng_wall, eng_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        best = []
        n_rel = 0
        for fam, _ in fams:
            got = advise_family(scorer, fam, adv, x, layout.informative(rows[fam.family_id]))
            best.append(got.best.power)
            n_rel += len(got.relatives)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(json.dumps({
            "machine": "cpu-2core", "shards": str(shards), "kinds": a.kinds, "families": len(fams),
            "relatives_per_family": round(n_rel / len(fams), 2), "grid": grid,
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "families_per_s_cpu": round(len(fams) / cpu, 3),
            "engine_cpu_s": round(eng_cpu, 3), "convolution_cpu_s": round(cpu - eng_cpu, 3),
            "mean_power_with_best": round(float(np.mean(best)), 6)}))


if __name__ == "__main__":
    main()
