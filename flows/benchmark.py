"""Capacity benchmark: simulate databases of given sizes, re-match them, report.

For each size: simulate, ingest, run the national re-match on the configured
cluster, then add a batch of new profiles (``rerun_fraction`` of the missing
persons and of the families) and time the incremental rerun against a full
re-match of the union. Writes ``capacity.json``, ``capacity.md`` and
``capacity.png`` (throughput and wall time against size) with the cluster's
description.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import platform
import time
from pathlib import Path

from prefect import flow, get_run_logger

from reunion.flows.rematch import rematch_flow
from reunion.flows.rerun import rerun_flow
from reunion.frequencies import load_frequency_table
from reunion.ingest import ingest
from reunion.io import atomic
from reunion.settings import Settings
from reunion.simulate import SimulationConfig, simulate_database


def _split(inp: Path, fraction: float, seed_rows: int = 7) -> tuple[list[Path], list[Path]]:
    """Split a simulated database into a standing part and a new batch (whole families)."""
    with open(inp / "samples.csv", newline="") as fh:
        samples = list(csv.DictReader(fh))
    with open(inp / "genotypes.csv", newline="") as fh:
        genos = list(csv.DictReader(fh))
    missing = [r["sample_id"] for r in samples if r["role"] == "missing"]
    fams = sorted({r["family_id"] for r in samples if r["role"] == "relative"})
    n_m, n_f = max(1, round(len(missing) * fraction)), max(1, round(len(fams) * fraction))
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
                  rerun_fraction: float = 0.01, seed: int = 1) -> dict:
    """Re-match simulated databases of ``sizes`` families (and as many missing persons)."""
    logger = get_run_logger()
    out_dir = atomic.ensure_dir(Path(out_dir))
    table = load_frequency_table(settings.frequencies.table, settings.frequencies.population)
    rows = []
    for n in sizes:
        work = out_dir / f"size-{n}"
        inp = work / "input"
        sim = simulate_database(inp, table, SimulationConfig(
            n_families=n, lost_child_fraction=0.5, n_unrelated_missing=n // 2, seed=seed))
        base, new = _split(inp, rerun_fraction)
        t = time.perf_counter()
        ingest([base[0]], [base[1]], work / "base" / "shards", settings)
        rec_base = rematch_flow(work / "base" / "shards", work / "base", settings)
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        rec_rerun = rerun_flow(work / "base", new, work / "rerun", settings)
        t_rerun = time.perf_counter() - t
        t = time.perf_counter()
        ingest([base[0], new[0]], [base[1], new[1]], work / "full" / "shards", settings)
        rec_full = rematch_flow(work / "full" / "shards", work / "full", settings)
        t_full = time.perf_counter() - t
        pairs = rec_full["counts"]["pairs_screened"]
        row = {"families": sim.n_families, "missing": sim.n_missing, "relatives": sim.n_relatives,
               "pairs": pairs, "full_seconds": round(t_full, 3),
               "full_flow_seconds": rec_full["seconds"],
               "pairs_per_second": pairs / rec_full["seconds"],
               "rerun_seconds": round(t_rerun, 3), "rerun_mode": rec_rerun["mode"]["kind"],
               "rerun_fraction_of_full": t_rerun / t_full, "base_seconds": round(t_base, 3),
               "cluster": rec_base["cluster"]}
        logger.info("%d families x %d missing: full %.1f s, rerun %.1f s (%.1f%%)", row["families"],
                    row["missing"], t_full, t_rerun, 100 * row["rerun_fraction_of_full"])
        rows.append(row)
    report = {"created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "python": platform.python_version()},
              "config": settings.model_dump(mode="json"), "rerun_fraction": rerun_fraction,
              "results": rows}
    atomic.write_text(out_dir / "capacity.json", json.dumps(report, indent=2))
    atomic.write_text(out_dir / "capacity.md", capacity_markdown(report))
    plot_capacity(rows, out_dir / "capacity.png")
    return report


def capacity_markdown(report: dict) -> str:
    lines = [f"# Capacity benchmark {report['created']}", "",
             f"Machine: {report['machine']['platform']}; cluster: {report['results'][0]['cluster']}", "",
             "| families | missing | pairs | full (s) | pairs/s (flow) | rerun +1% (s) | rerun / full |",
             "|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        lines.append(f"| {r['families']} | {r['missing']} | {r['pairs']:,} | {r['full_seconds']:.1f} | "
                     f"{r['pairs_per_second']:,.0f} | {r['rerun_seconds']:.1f} ({r['rerun_mode']}) | "
                     f"{100 * r['rerun_fraction_of_full']:.1f}% |")
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
