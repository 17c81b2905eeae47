"""Streaming ingest at national scale: wall and CPU seconds and peak RSS of ``ingest``.

    python benchmarks/ingest_stream.py --input DIR [--families N --unrelated N] [--modes stream-csv stream-parquet whole-csv]
        [--set ingest.batch_rows=1000000 ...] [--machine cpu-2core] [--json benchmarks/results/....json]

``--input`` holds samples.csv and genotypes.csv (``reunion simulate``; simulated there first
when absent, with --families / --unrelated). For the Parquet case genotypes.parquet is written
beside it (not timed). Each case runs ``ingest`` in a fresh process (so its peak RSS is its own:
ru_maxrss of the child) with the demo configuration's frequency table (the simulator's) and the
national shard sizes (queries_per_shard 50,000, families_per_shard 200,000); ``--repeat`` runs
of each, the median reported. The machine is shared: the load average before and after each run
is recorded, and CPU seconds (user + system of the child, all threads) are given beside wall
seconds because the load inflates the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r'''
import sys, json
from pathlib import Path
from reunion.settings import load_settings
from reunion.ingest import ingest, load_manifest
src, geno, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
s = load_settings(Path(sys.argv[4]), sys.argv[5:])
ingest(src / "samples.csv", [src / geno], out, s)
m = load_manifest(out)
print(json.dumps({"rows_read": sum(i.read for i in m.inputs), "genotype_rows": m.inputs[-1].read,
                  "profiles": m.counts.missing + m.counts.relatives, "rejected": m.rejects.rows,
                  "shards": len(m.shards)}))
'''


def run_case(src: Path, geno: str, out: Path, sets: list[str]) -> dict:
    import shutil
    shutil.rmtree(out, ignore_errors=True)
    before = os.getloadavg()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, str(src), geno, str(out), str(ROOT / "configs" / "demo.yaml"),
                        "ingest.queries_per_shard=50000", "ingest.families_per_shard=200000", *sets],
                       capture_output=True, text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    got = json.loads(p.stdout.strip().splitlines()[-1])
    got.update(wall_s=round(wall, 2), cpu_s=round((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 2),
               peak_rss_gb=round(r1.ru_maxrss / 1e6, 3), load_before=[round(x, 1) for x in before],
               load_after=[round(x, 1) for x in os.getloadavg()])
    shutil.rmtree(out, ignore_errors=True)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, required=True)
    ap.add_argument("--families", type=int, default=357000)
    ap.add_argument("--unrelated", type=int, default=20000)
    ap.add_argument("--modes", nargs="+", default=["stream-csv", "stream-parquet"],
                    choices=["stream-csv", "stream-parquet", "whole-csv"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--machine", default="cpu-2core")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    src = a.input
    if not (src / "genotypes.csv").exists():
        subprocess.run([str(Path(sys.executable).parent / "reunion"), "simulate", "--out", str(src), "--families",
                        str(a.families), "--unrelated", str(a.unrelated), "--corrupt-rows", "3000", "--seed", "7"],
                       check=True, capture_output=True)
    if "stream-parquet" in a.modes and not (src / "genotypes.parquet").exists():
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
        t = pacsv.read_csv(src / "genotypes.csv", convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in ("sample_id", "locus", "allele1", "allele2")}))
        pq.write_table(t, src / "genotypes.parquet", row_group_size=1_000_000)
    cases = {"stream-csv": ("genotypes.csv", ["ingest.streaming=true"]),
             "stream-parquet": ("genotypes.parquet", ["ingest.streaming=true"]),
             "whole-csv": ("genotypes.csv", ["ingest.streaming=false"])}
    results = {}
    for mode in a.modes:
        geno, sets = cases[mode]
        runs = [run_case(src, geno, src.parent / f"ingest-{mode}", sets + a.sets) for _ in range(a.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s", "peak_rss_gb")}
        results[mode] = {**runs[0], **med, "runs": runs,
                         "genotype_rows_per_cpu_s": round(runs[0]["genotype_rows"] / med["cpu_s"])}
        print(mode, json.dumps(results[mode]["runs"][-1]), flush=True)
    doc = {"results": results, "settings": a.sets, "machine": {
        "name": a.machine, "cpus": os.cpu_count(), "python": platform.python_version(),
        "note": "shared machine: see load_before / load_after (1, 5, 15 min load averages) of each run"}}
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
