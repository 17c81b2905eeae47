"""What Y evidence in the family LR costs a re-match (issue 20; reunion/yevidence.py).

Takes a simulated database (``reunion simulate`` / the demo's ``input`` folder: samples.csv,
genotypes.csv, truth.csv), adds Yfiler-like Y rows (15 single-copy loci and DYS385a/b) for every
registered father and every missing person not recorded female (a planted lost child carries his
family father's haplotype, each locus stepping +-1 at the shipped father-son rate; everyone else
a haplotype drawn around modal values), ingests it, and re-matches it with
``scoring.y_evidence`` true and false (cluster local-threads, calibration off, the same
settings otherwise; each twice, alternating, each run its own ``reunion rematch`` process; the
faster kept).
Writes ``results.json``: the ingest and re-match seconds by stage, the candidates, and rank 1 of
the planted lost children with and without Y (as a check: this database's families have
fathers, whose autosomal duo LR is already strong; the paternal-line rank-1 benchmark of issue
20 is the simulator's, reunion/simulate.py).

    python benchmarks/y_evidence_cost.py --input demo-run/input --out /tmp/ycost
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from reunion.genetics.ystr import load_ystr_rates

LOCI = ("DYS19", "DYS389I", "DYS389II", "DYS390", "DYS391", "DYS392", "DYS393", "DYS437", "DYS438",
        "DYS439", "DYS448", "DYS456", "DYS458", "DYS635", "Y-GATA-H4")
MODAL = (15, 13, 29, 24, 10, 11, 13, 15, 12, 12, 19, 15, 17, 23, 12)


def _haplotype(rng) -> dict[str, tuple[int, ...]]:
    h = {locus: (m + int(rng.integers(-2, 3)),) for locus, m in zip(LOCI, MODAL)}
    a = 13 + int(rng.integers(-2, 3))
    h["DYS385"] = (a, a + int(rng.integers(0, 5)))
    return h


def _mutate(h, rates, rng):
    out = {}
    for locus, vals in h.items():
        mu = rates["DYS385a/b" if locus == "DYS385" else locus]
        per = 1 - (1 - mu) ** (1 / len(vals))
        out[locus] = tuple(v + (int(rng.choice((-1, 1))) if rng.random() < per else 0) for v in vals)
    return out


def add_y_rows(src: Path, dst: Path, seed: int = 1) -> dict:
    """Copy the database in ``src`` to ``dst`` with Y rows added; returns counts."""
    rng = np.random.default_rng(seed)
    rates = load_ystr_rates()
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "samples.csv", dst / "samples.csv")
    shutil.copy(src / "truth.csv", dst / "truth.csv")
    with open(src / "samples.csv", newline="") as fh:
        samples = list(csv.DictReader(fh))
    with open(src / "truth.csv", newline="") as fh:
        truth = {r["missing_id"]: r for r in csv.DictReader(fh)}
    fathers = {r["family_id"]: r["sample_id"] for r in samples
               if r["role"] == "relative" and r["relation"] == "father"}
    haps = {sid: _haplotype(rng) for sid in fathers.values()}
    for r in samples:
        if r["role"] != "missing" or r["sex"] == "F":
            continue
        t = truth.get(r["sample_id"]) or {}
        dad = fathers.get(t.get("family_id") or "")
        haps[r["sample_id"]] = _mutate(haps[dad], rates, rng) if t.get("kind") == "lost_child" and dad \
            else _haplotype(rng)
    shutil.copy(src / "genotypes.csv", dst / "genotypes.csv")
    n = 0
    with open(dst / "genotypes.csv", "a", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        for sid, h in haps.items():
            for locus, vals in h.items():
                w.writerow([sid, locus, vals[0], vals[1] if len(vals) > 1 else ""])
                n += 1
    return {"men_with_y": len(haps), "y_rows": n}


def rank1(cands: Path, truth: Path) -> dict:
    import pyarrow.parquet as pq

    rows = pq.read_table(cands, columns=["missing_id", "family_id", "rank"]).to_pylist()
    first = {r["missing_id"]: r["family_id"] for r in rows if r["rank"] == 1}
    with open(truth, newline="") as fh:
        planted = [r for r in csv.DictReader(fh) if r["kind"] == "lost_child"]
    hit = sum(first.get(r["missing_id"]) == r["family_id"] for r in planted)
    return {"planted": len(planted), "rank1": hit, "rank1_rate": hit / max(1, len(planted))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--machine", default="cpu-2core")
    a = ap.parse_args()
    from reunion import api

    over = ["cluster.kind=local-threads", "calibration.enabled=false"]
    data = a.out / "input"
    counts = add_y_rows(a.input, data)
    t0 = time.perf_counter()
    summary = api.ingest(data / "samples.csv", data / "genotypes.csv", a.out / "shards", overrides=over)
    ingest_s = time.perf_counter() - t0
    res = {"machine": a.machine, **counts, "ingest_s": round(ingest_s, 2),
           "rows_read": summary.rows_read, "rows_rejected": summary.rows_rejected, "runs": {}}
    # each setting twice, alternating, each run a process of its own (`reunion rematch`: no
    # cache of one run serves the next); the faster of its two runs is kept
    exe = Path(sys.executable).with_name("reunion")
    for y in ("false", "true", "false", "true"):
        out = a.out / f"run-y-{y}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        cmd = [str(exe), "rematch", "--shards", str(a.out / "shards"), "--out", str(out)]
        for o in over + [f"scoring.y_evidence={y}"]:
            cmd += ["--set", o]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = round(time.perf_counter() - t0, 2)
        rec = json.loads((out / "run.json").read_text())
        key = f"y_evidence={y}"
        if key in res["runs"] and res["runs"][key]["wall_s"] <= wall:
            continue
        res["runs"][key] = {
            "wall_s": wall, "timings": rec["timings"],
            "candidates": rec["counts"]["candidates"], "y_evidence": rec.get("y_evidence"),
            **rank1(out / "candidates.parquet", data / "truth.csv")}
    (a.out / "results.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
