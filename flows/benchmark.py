"""Capacity benchmark: simulate databases of given sizes, re-match them, report.

For each size: simulate, ingest, run the national re-match on the configured
cluster, then add a batch of new profiles (``rerun_fraction`` of the missing
persons and of the families) and time the incremental rerun against a full
re-match of the union. Writes ``capacity.json``, ``capacity.md`` and
``capacity.png`` (throughput and wall time against size) with the cluster's
description.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
from prefect import flow, get_run_logger

from reunion.flows.cluster import dask_client, resolve_kind
from reunion.flows.rematch import CANDIDATES_PARQUET, PER_LOCUS_PARQUET, rematch_flow
from reunion.flows.rerun import rerun_flow
from reunion.frequencies import load_frequency_table
from reunion.ingest import ingest
from reunion.io import atomic
from reunion.settings import Settings
from reunion.simulate import SimulationSettings, simulate_database


def table_allele_profiles(samples: list[dict], genos: list[dict],
                          table_alleles: set[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(missing person ids in file order, sorted family ids) whose every allele is in the
    frequency table: a batch drawn from them never brings an allele the standing set lacks."""
    rare = {g["sample_id"] for g in genos if (g["locus"], g["allele1"]) not in table_alleles
            or (g["locus"], g["allele2"]) not in table_alleles}
    rare_fams = {r["family_id"] for r in samples if r["sample_id"] in rare and r["role"] == "relative"}
    missing = [r["sample_id"] for r in samples if r["role"] == "missing" and r["sample_id"] not in rare]
    return missing, sorted({r["family_id"] for r in samples if r["role"] == "relative"} - rare_fams)


def _split(inp: Path, fraction: float, table_alleles: set[tuple[str, str]],
           seed_rows: int = 7) -> tuple[list[Path], list[Path]]:
    """Split a simulated database into a standing part and a new batch (whole families).

    The batch is drawn from profiles whose alleles are all in the frequency table:
    a batch bringing an allele the standing set lacks is a full re-match by design
    (the allele set enters every mutation matrix), which this benchmark does not time.
    """
    with open(inp / "samples.csv", newline="") as fh:
        samples = list(csv.DictReader(fh))
    with open(inp / "genotypes.csv", newline="") as fh:
        genos = list(csv.DictReader(fh))
    missing, fams = table_allele_profiles(samples, genos, table_alleles)
    n_all_m = sum(1 for r in samples if r["role"] == "missing")
    n_all_f = len({r["family_id"] for r in samples if r["role"] == "relative"})
    n_m, n_f = max(1, round(n_all_m * fraction)), max(1, round(n_all_f * fraction))
    batch_fams = set(fams[seed_rows % len(fams)::max(1, len(fams) // n_f)][:n_f])
    batch = set(missing[::max(1, len(missing) // n_m)][:n_m]) | \
        {r["sample_id"] for r in samples if r["family_id"] in batch_fams}

    def write(name: str, rows: list[dict]) -> Path:
        path = inp / name
        with atomic.atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        return path

    base = [write("samples_base.csv", [r for r in samples if r["sample_id"] not in batch]),
            write("genotypes_base.csv", [g for g in genos if g["sample_id"] not in batch])]
    new = [write("samples_new.csv", [r for r in samples if r["sample_id"] in batch]),
           write("genotypes_new.csv", [g for g in genos if g["sample_id"] in batch])]
    return base, new


@flow(name="capacity-benchmark")
def capacity_flow(sizes: list[int], out_dir: Path, settings: Settings,
                  rerun_fraction: float = 0.01, seed: int = 1, rerun_repeats: int = 3) -> dict:
    """Re-match simulated databases of ``sizes`` families (and as many missing persons).

    The rerun is timed ``rerun_repeats`` times (median reported, every time kept); the
    full re-match once."""
    logger = get_run_logger()
    out_dir = atomic.ensure_dir(Path(out_dir))
    table = load_frequency_table(settings.frequencies.table, settings.frequencies.population)
    rows = []
    t = time.perf_counter()
    with standing_cluster(settings) as run_settings:
        cluster_start = time.perf_counter() - t
        for n in sizes:
            rows.append(_measure(n, out_dir, table, run_settings, rerun_fraction, seed, logger,
                                 rerun_repeats))
    report = {"created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpus": os.cpu_count(), "python": platform.python_version()},
              "config": settings.model_dump(mode="json"), "rerun_fraction": rerun_fraction,
              "rerun_repeats": rerun_repeats,
              "cluster": {"configured": resolve_kind(settings.cluster),
                          "started_once_seconds": round(cluster_start, 3)},
              "results": rows}
    atomic.write_text(out_dir / "capacity.json", json.dumps(report, indent=2))
    atomic.write_text(out_dir / "capacity.md", capacity_markdown(report))
    plot_capacity(rows, out_dir / "capacity.png")
    return report


@contextlib.contextmanager
def standing_cluster(settings: Settings) -> Iterator[Settings]:
    """One Dask cluster for the whole benchmark, as in operations (a standing scheduler that
    every run connects to); yields settings that point the runs at it. An in-process
    (local-threads) cluster or a configured address is used as configured."""
    if resolve_kind(settings.cluster) in ("local-threads", "address"):
        yield settings
        return
    with dask_client(settings.cluster) as client:
        s = settings.model_copy(deep=True)
        s.cluster = s.cluster.model_copy(update={"kind": "address", "address": client.scheduler.address})
        yield s


def _measure(n: int, out_dir: Path, table, settings: Settings, rerun_fraction: float, seed: int,
             logger, repeats: int = 1) -> dict:
    """Simulate n families, re-match a standing part, then time rerun(+batch) against full(union)."""
    work = out_dir / f"size-{n}"
    inp = work / "input"
    sim = simulate_database(inp, table, SimulationSettings(
        n_families=n, lost_child_fraction=0.5, n_unrelated_missing=n // 2, seed=seed))
    base, new = _split(inp, rerun_fraction,
                       {(name, a) for name, lf in table.loci.items() for a in lf.alleles})
    t = time.perf_counter()
    ingest([base[0]], [base[1]], work / "base" / "shards", settings)
    rec_base = rematch_flow(work / "base" / "shards", work / "base", settings)
    t_base = time.perf_counter() - t
    # the rerun is short and this machine's noise is not: time it `repeats` times, each from
    # the same standing run into a fresh folder, and report the median
    rerun_dirs = [work / "rerun"] + [work / f"rerun-{i}" for i in range(2, repeats + 1)]
    reruns, t_reruns = [], []
    for d in rerun_dirs:
        t = time.perf_counter()
        reruns.append(rerun_flow(work / "base", new, d, settings))
        t_reruns.append(time.perf_counter() - t)
    rec_rerun, t_rerun = reruns[0], statistics.median(t_reruns)
    t = time.perf_counter()
    ingest([base[0], new[0]], [base[1], new[1]], work / "full" / "shards", settings)
    rec_full = rematch_flow(work / "full" / "shards", work / "full", settings)
    t_full = time.perf_counter() - t
    pairs = rec_full.counts.pairs_screened
    keys = [(c, "ascending") for c in ("missing_id", "family_id", "locus")]
    full_c = pq.read_table(work / "full" / CANDIDATES_PARQUET)
    full_l = pq.read_table(work / "full" / PER_LOCUS_PARQUET).sort_by(keys)
    same = all(pq.read_table(d / CANDIDATES_PARQUET).equals(full_c) and
               pq.read_table(d / PER_LOCUS_PARQUET).sort_by(keys).equals(full_l)
               for d in rerun_dirs)
    row = {"families": sim.n_families, "missing": sim.n_missing, "relatives": sim.n_relatives,
           "pairs": pairs, "full_seconds": round(t_full, 3),
           "full_flow_seconds": rec_full.seconds,
           "pairs_per_second": pairs / rec_full.seconds,
           "rerun_seconds": round(t_rerun, 3), "rerun_mode": rec_rerun.mode["kind"],
           "rerun_all_seconds": [round(x, 3) for x in t_reruns],
           "rerun_flow_seconds": [r.seconds for r in reruns],
           "rerun_timings": [r.timings for r in reruns], "rerun_equals_full": same,
           "rerun_fraction_of_full": t_rerun / t_full, "base_seconds": round(t_base, 3),
           "cluster": rec_base.cluster}
    logger.info("%d families x %d missing: full %.1f s, rerun %.1f s (%.1f%%)", row["families"],
                row["missing"], t_full, t_rerun, 100 * row["rerun_fraction_of_full"])
    return row


def capacity_markdown(report: dict) -> str:
    lines = [f"# Capacity benchmark {report['created']}", "",
             f"Machine: {report['machine']['platform']} ({report['machine'].get('cpus')} CPUs); "
             f"cluster: {report['cluster']['configured']}, started once for every run in "
             f"{report['cluster']['started_once_seconds']:.1f} s; workers: {report['results'][0]['cluster']}", "",
             "full = ingest of the union + re-match; rerun = append the batch + incremental re-match "
             f"(median of {report.get('rerun_repeats', 1)}, each from the standing run into a fresh folder; "
             "all times in capacity.json).", "",
             "| families | missing | pairs | full (s) | pairs/s (flow) | rerun +1% (s) | rerun range (s) "
             "| rerun / full | rerun == full |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        every = r.get("rerun_all_seconds", [r["rerun_seconds"]])
        lines.append(f"| {r['families']} | {r['missing']} | {r['pairs']:,} | {r['full_seconds']:.1f} | "
                     f"{r['pairs_per_second']:,.0f} | {r['rerun_seconds']:.1f} ({r['rerun_mode']}) | "
                     f"{min(every):.1f}-{max(every):.1f} | "
                     f"{100 * r['rerun_fraction_of_full']:.1f}% | {r['rerun_equals_full']} |")
    return "\n".join(lines) + "\n"


def plot_capacity(rows: list[dict], path: Path) -> Path:
    import matplotlib  # noqa: PLC0415 (only the benchmark draws)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    pairs = [r["pairs"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(pairs, [r["pairs_per_second"] for r in rows], "o-")
    a.set(xscale="log", yscale="log", xlabel="pairs (missing x families)", ylabel="pairs / s",
          title="re-match throughput")
    b.plot(pairs, [r["full_seconds"] for r in rows], "o-", label="full re-match")
    b.plot(pairs, [r["rerun_seconds"] for r in rows], "s-", label="rerun after +1%")
    b.set(xscale="log", yscale="log", xlabel="pairs (missing x families)", ylabel="wall time (s)",
          title="wall time")
    b.legend()
    fig.tight_layout()
    with atomic.atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)
