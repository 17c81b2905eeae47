"""Capacity benchmark: simulate databases of given sizes, re-match them, report.

For each size: simulate, ingest, run the national re-match on the configured
cluster, then add a batch of new profiles (``rerun_fraction`` of the missing
persons and of the families) and time the incremental rerun against a full
re-match of the union (``rerun_repeats`` = 0 leaves the rerun out).

Each size's re-match is also run stage by stage on one core (:func:`measure_stages`:
ingest, tables, screen, merge, re-score, publish), and the capacity model
(reunion/capacity.py) is fitted to those points: the report gives each stage's seconds
and rate per core, the model's value beside every measured point (each stage, and the
whole re-match on this machine's cluster), the memory a profile and a shard's tables
take, and the prediction of the run ``settings.capacity`` describes (a national run on
N nodes of C cores and G GPUs). Writes ``capacity.json``, ``capacity.md``,
``capacity.png`` (throughput and wall time against size) and ``capacity-stages.png``
(each stage measured and fitted) with the cluster's description.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
from prefect import flow, get_run_logger

from reunion import capacity
from reunion.capacity import Cluster, Stage, Workload
from reunion.flows import pieces
from reunion.flows.cluster import dask_client, resolve_kind
from reunion.flows.context import context
from reunion.flows.rematch import CANDIDATES_PARQUET, PER_LOCUS_PARQUET, rematch_flow, results_tables
from reunion.flows.rerun import rerun_flow
from reunion.flows.tables import shard_tables
from reunion.frequencies import load_frequency_table
from reunion.ingest import ingest, load_manifest
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
              "results": rows,
              "model": capacity_model(rows, settings)}
    atomic.write_text(out_dir / "capacity.json", json.dumps(report, indent=2))
    atomic.write_text(out_dir / "capacity.md", capacity_markdown(report))
    plot_capacity(rows, out_dir / "capacity.png")
    plot_stages(report, out_dir / "capacity-stages.png")
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
    """Simulate n families; re-match a standing part, then time rerun(+batch) against full(union)
    (``repeats`` = 0: only the full re-match); time the full re-match's stages on one core."""
    work = out_dir / f"size-{n}"
    inp = work / "input"
    sim = simulate_database(inp, table, SimulationSettings(
        n_families=n, lost_child_fraction=0.5, n_unrelated_missing=n // 2, seed=seed))
    row: dict = {}
    if repeats:
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
        union = [base[0], new[0]], [base[1], new[1]]
    else:
        union = [inp / "samples.csv"], [inp / "genotypes.csv"]
    t = time.perf_counter()
    ingest(*union, work / "full" / "shards", settings)
    t_ingest = time.perf_counter() - t
    t = time.perf_counter()
    rec_full = rematch_flow(work / "full" / "shards", work / "full", settings)
    t_rematch = time.perf_counter() - t
    t_full = t_ingest + t_rematch
    pairs = rec_full.counts.pairs_screened
    row = {"families": sim.n_families, "missing": sim.n_missing, "relatives": sim.n_relatives,
           "pairs": pairs, "full_seconds": round(t_full, 3),
           "full_flow_seconds": rec_full.seconds,
           "pairs_per_second": pairs / rec_full.seconds,
           "ingest_seconds": round(t_ingest, 3), "rematch_seconds": round(t_rematch, 3),
           "rematch_timings": rec_full.timings,          # the flow's own stages (run.json)
           "cluster": rec_full.cluster}
    if repeats:
        keys = [(c, "ascending") for c in ("missing_id", "family_id", "locus")]
        full_c = pq.read_table(work / "full" / CANDIDATES_PARQUET)
        full_l = pq.read_table(work / "full" / PER_LOCUS_PARQUET).sort_by(keys)
        same = all(pq.read_table(d / CANDIDATES_PARQUET).equals(full_c) and
                   pq.read_table(d / PER_LOCUS_PARQUET).sort_by(keys).equals(full_l)
                   for d in rerun_dirs)
        row.update({"rerun_seconds": round(t_rerun, 3), "rerun_mode": rec_rerun.mode["kind"],
                    "rerun_all_seconds": [round(x, 3) for x in t_reruns],
                    "rerun_flow_seconds": [r.seconds for r in reruns],
                    "rerun_timings": [r.timings for r in reruns], "rerun_equals_full": same,
                    "rerun_fraction_of_full": t_rerun / t_full, "base_seconds": round(t_base, 3),
                    "cluster": rec_base.cluster})
    stages = measure_stages(work / "full" / "shards", settings, work / "stages")
    stages["seconds"]["ingest"] = round(t_ingest, 3)
    stages["seconds"]["publish"] = rec_full.timings["publish"]
    stages["seconds"]["report"] = round(t_rematch - rec_full.seconds, 3)   # after run.json: the report
    genotype_rows = sum(i.read for i in load_manifest(work / "full" / "shards").inputs
                        if i.kind == "genotypes")
    row["workload"] = {"missing": sim.n_missing, "families": sim.n_families,
                       "genotype_rows": genotype_rows, "candidates": rec_full.counts.candidates}
    row["stages"] = stages
    row["load_average"] = [round(x, 2) for x in os.getloadavg()]    # a shared machine's other work
    logger.info("%d families x %d missing: full %.1f s%s; stages on one core %s", row["families"],
                row["missing"], t_full,
                f", rerun {t_rerun:.1f} s ({100 * row['rerun_fraction_of_full']:.1f}%)" if repeats else "",
                {k: round(v, 2) for k, v in stages["seconds"].items()})
    return row


def measure_stages(shards_dir: Path, settings: Settings, scratch: Path) -> dict:
    """The re-match of ``shards_dir`` stage by stage, in this process, on one core.

    The pipeline's own functions, one after another: :func:`shard_tables` of every
    reference shard (saved in ``scratch``, as a run saves them), :func:`pieces.screen_piece`
    of every (query block, reference shard), :func:`pieces.merge_and_rescore` of every block
    (``rescore``: the shard lists merged, the shortlist re-scored exactly, rows built) and
    :func:`results_tables` (``merge``: the blocks' rows concatenated and checked). The
    screening kernel runs on one numba thread. Ingest, publish and the report are timed
    where the benchmark runs them (the ingest call, the flow's publish task, the flow after
    run.json). Returns ``{"seconds":
    {stage: s}, "rescored", "memory": {...}}``.
    """
    import numba  # noqa: PLC0415 (the kernel's threads)

    shards_dir = Path(shards_dir)
    manifest = load_manifest(shards_dir)
    work = pieces.plan_work(manifest, settings)
    sd, sj = str(shards_dir), settings.model_dump_json()
    tables_at = atomic.ensure_dir(Path(scratch) / "tables")
    seconds: dict[str, float] = {}
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t = time.perf_counter()
        handles = [shard_tables(sd, sj, r, str(tables_at)) for r in work.references]
        seconds["tables"] = time.perf_counter() - t
        t = time.perf_counter()
        screened = [[pieces.screen_piece(sd, sj, qi, start, stop, handles[r]) for r in work.references]
                    for (qi, start, stop) in work.blocks]
        seconds["screen"] = time.perf_counter() - t
        t = time.perf_counter()
        results = [pieces.merge_and_rescore(sd, sj, qi, start, stop, ps)
                   for (qi, start, stop), ps in zip(work.blocks, screened)]
        seconds["rescore"] = time.perf_counter() - t
        t = time.perf_counter()
        cands, _ = results_tables(results)
        seconds["merge"] = time.perf_counter() - t
    finally:
        numba.set_num_threads(threads)
    _, _, enc, _ = context(sd, sj)
    table_files = [p.stat().st_size for p in tables_at.glob("*.npy")]
    shard_files = [(shards_dir / r.path).stat().st_size for r in manifest.shards]
    profiles = manifest.counts.missing + manifest.counts.relatives
    loci = int(enc.offsets.size)
    return {
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "rescored": sum(r["rescored"] for r in results), "candidates": cands.num_rows,
        "memory": {
            "loci": loci, "table_width": int(enc.width),
            "device_bytes_per_profile": capacity.device_bytes_per_profile(loci),
            "table_bytes_per_family": capacity.table_bytes(1, enc.width),
            "table_bytes_per_shard_max": max(table_files, default=0),
            "table_bytes_per_shard_mean": statistics.fmean(table_files) if table_files else 0,
            "families_per_shard": settings.ingest.families_per_shard,
            "shard_bytes_per_profile": sum(shard_files) / max(profiles, 1),
            "peak_rss_bytes_benchmark_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        },
    }


def _points(rows: list[dict]) -> list[tuple[Workload, dict[Stage, float]]]:
    return [(Workload(**r["workload"]), {s: r["stages"]["seconds"][s.value] for s in Stage}) for r in rows]


def capacity_model(rows: list[dict], settings: Settings) -> dict:
    """The capacity model fitted to ``rows`` (:func:`_measure`'s), its value at every measured
    point, and its prediction of the run ``settings.capacity`` describes."""
    fits = capacity.fit(_points(rows))
    here = Cluster(nodes=1, cores=max(1, rows[-1]["cluster"].get("threads") or 1), gpus=0)
    cap = settings.capacity
    last = rows[-1]["workload"]
    rows_per_profile = last["genotype_rows"] / (rows[-1]["missing"] + rows[-1]["relatives"])
    # candidates grow with the families (more unrelated ones reach the floor) up to top_k
    # per missing person: the measured candidates per pair, times the families, capped there
    per_pair = last["candidates"] / (last["missing"] * last["families"])
    candidates_per_missing = min(float(settings.scoring.top_k), per_pair * cap.families)
    national = Workload(missing=cap.missing, families=cap.families,
                        genotype_rows=round((cap.missing + cap.relatives) * rows_per_profile),
                        candidates=round(cap.missing * candidates_per_missing))
    clusters = {
        "configured": Cluster(cap.nodes, cap.cores_per_node, cap.gpus_per_node, cap.gpu_pairs_per_second),
        "same nodes, no GPU": Cluster(cap.nodes, cap.cores_per_node, 0, cap.gpu_pairs_per_second),
        "8 x configured nodes": Cluster(8 * cap.nodes, cap.cores_per_node, cap.gpus_per_node,
                                        cap.gpu_pairs_per_second),
    }
    return {
        "fits": capacity.fits_json(fits),
        "this_machine": {"nodes": here.nodes, "cores": here.cores, "gpus": 0},
        "at_measured": [{
            "families": r["families"],
            "one_core": {s.value: fits[s].seconds(Workload(**r["workload"]).size(s)) for s in Stage},
            "this_machine": capacity.predict(fits, Workload(**r["workload"]), here)} for r in rows],
        "national": {
            "workload": {**national.__dict__, "pairs": national.pairs, "relatives": cap.relatives},
            "assumptions": {"genotype_rows_per_profile": rows_per_profile,
                            "candidates_per_pair_measured": per_pair,
                            "top_k": settings.scoring.top_k,
                            "candidates_per_missing": candidates_per_missing,
                            "gpu_pairs_per_second": cap.gpu_pairs_per_second,
                            "from_size": rows[-1]["families"]},
            "clusters": {name: {**c.__dict__, "seconds": capacity.predict(fits, national, c)}
                         for name, c in clusters.items()},
        },
    }


UNIT_LABEL = {"genotype_rows": "genotype rows", "families": "families", "pairs": "pairs",
              "candidates": "candidates"}


def _secs(x: float) -> str:
    return f"{x:,.3f}" if x < 10 else f"{x:,.1f}"


def _rate(x: float) -> str:
    return f"{x:,.0f}/s" if x < 1e7 else f"{x:.3g}/s"


def capacity_markdown(report: dict) -> str:
    rows = report["results"]
    lines = [f"# Capacity benchmark {report['created']}", "",
             f"Machine: {report['machine']['platform']} ({report['machine'].get('cpus')} CPUs); "
             f"cluster: {report['cluster']['configured']}, started once for every run in "
             f"{report['cluster']['started_once_seconds']:.1f} s; workers: {rows[0]['cluster']}", ""]
    if all("rerun_seconds" in r for r in rows):
        lines += ["full = ingest of the union + re-match; rerun = append the batch + incremental re-match "
                  f"(median of {report.get('rerun_repeats', 1)}, each from the standing run into a fresh "
                  "folder; all times in capacity.json).", "",
                  "| families | missing | pairs | full (s) | pairs/s (flow) | rerun +1% (s) | rerun range (s) "
                  "| rerun / full | rerun == full |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            every = r.get("rerun_all_seconds", [r["rerun_seconds"]])
            lines.append(f"| {r['families']} | {r['missing']} | {r['pairs']:,} | {r['full_seconds']:.1f} | "
                         f"{r['pairs_per_second']:,.0f} | {r['rerun_seconds']:.1f} ({r['rerun_mode']}) | "
                         f"{min(every):.1f}-{max(every):.1f} | "
                         f"{100 * r['rerun_fraction_of_full']:.1f}% | {r['rerun_equals_full']} |")
    else:
        lines += ["full = ingest + re-match on the cluster (no rerun timed: rerun_repeats = 0).", "",
                  "| families | missing | pairs | full (s) | pairs/s (flow) |", "|---|---|---|---|---|"]
        lines += [f"| {r['families']} | {r['missing']} | {r['pairs']:,} | {r['full_seconds']:.1f} | "
                  f"{r['pairs_per_second']:,.0f} |" for r in rows]
    model = report.get("model")
    if not model or not all("stages" in r for r in rows):
        return "\n".join(lines) + "\n"
    fits = model["fits"]
    lines += ["", "## Stages, measured on one core, and the model beside them", "",
              "Each re-match run again stage by stage in one process on one core (numba on one thread; "
              "ingest is the benchmark's ingest call, which pyarrow's CSV reader may spread over the cores; "
              "publish is the cluster run's publish task, report what the cluster run spends after run.json: the "
              "reviewers' report). tables: lost-child tables of every reference "
              "shard, saved; screen: every (query block, reference shard) piece; rescore: per block, the "
              "shard top-k lists merged, the shortlist re-scored exactly and the rows built; merge: the "
              "blocks' rows concatenated and checked; publish: candidates, per-locus rows and run.json "
              "written. Rate = natural units per second on that core; model = the fit below at that size.",
              "", "| families | stage | natural size | measured (s) | rate per core | model (s) | model / measured |",
              "|---|---|---|---|---|---|---|"]
    for r, at in zip(rows, model["at_measured"]):
        for stage, f in fits.items():
            n = r["workload"][f["unit"]] if f["unit"] != "pairs" else r["pairs"]
            t = r["stages"]["seconds"][stage]
            m = at["one_core"][stage]
            more = f" ({r['stages']['rescored']:,} re-scored)" if stage == "rescore" else ""
            lines.append(f"| {r['families']} | {stage} | {n:,} {UNIT_LABEL[f['unit']]}{more} | {_secs(t)} | "
                         f"{_rate(n / t) if t > 0 else 'free'} | {_secs(m)} | "
                         f"{m / t if t > 0 else float('nan'):.2f} |")
    lines += ["", "## The model: seconds = fixed + size / rate, per stage, on one core "
              "(least squares over the sizes above)", "",
              "| stage | natural size | fixed (s) | rate per core | fit rms (s) | spread over |",
              "|---|---|---|---|---|---|"]
    for stage, f in fits.items():
        rate = _rate(f["rate_per_core"]) if f["rate_per_core"] else "free"
        spread = ("GPUs (else every core)" if stage == "screen" else
                  "every core of every node" if Stage(stage) in capacity.PARALLEL else "one core (flow process)")
        lines.append(f"| {stage} | {UNIT_LABEL[f['unit']]} | {f['fixed_s']:.3f} | {rate} | {f['rms_s']:.3f} | {spread} |")
    here = model["this_machine"]
    lines += ["", f"## Whole runs on this machine: measured and predicted ({here['nodes']} node, "
              f"{here['cores']} cores: the cluster's threads)", "",
              "The prediction is the sum of the stages (the pipeline overlaps tables and screen of different "
              "shards, and the cluster adds scheduling and the plan: the measured - model "
              "column). On a machine shared with other work (load average above its cores) every "
              "measured time includes waiting for a core.", "",
              "| families | ingest measured (s) | ingest model (s) | re-match measured (s) | re-match model (s) "
              "| model / measured | measured - model (s) | load average (1, 5, 15 min) after |",
              "|---|---|---|---|---|---|---|---|"]
    for r, at in zip(rows, model["at_measured"]):
        p = at["this_machine"]
        rm = p["total"] - p["ingest"]
        lines.append(f"| {r['families']} | {r['ingest_seconds']:.1f} | {p['ingest']:.1f} | "
                     f"{r['rematch_seconds']:.1f} | {rm:.1f} | {rm / r['rematch_seconds']:.2f} | "
                     f"{r['rematch_seconds'] - rm:.1f} | {', '.join(map(str, r.get('load_average', [])))} |")
    nat = model["national"]
    w, a = nat["workload"], nat["assumptions"]
    lines += ["", "## National run predicted", "",
              f"{w['missing']:,} missing persons x {w['families']:,} families ({w['relatives']:,} relatives) = "
              f"{w['pairs']:,} pairs; {w['genotype_rows']:,} genotype rows "
              f"({a['genotype_rows_per_profile']:.1f} per profile, as measured at {a['from_size']:,} families); "
              f"{w['candidates']:,} candidates ({a['candidates_per_missing']:.2f} per missing person: "
              f"{a['candidates_per_pair_measured']:.3g} per pair as measured, times the families, at most "
              f"top_k = {a['top_k']}); GPU screen {a['gpu_pairs_per_second']:.2g} pairs/s per GPU (a stated default "
              "until measured: 'reunion bench kernel --device gpu'). Extrapolated far past the measured "
              "sizes: the fixed costs and the rates are this machine's; ingest is today's one-process "
              "ingest (streaming ingest would spread it).", "",
              "| cluster | nodes x cores, GPUs | " + " | ".join(fits) + " | total |",
              "|---|---|" + "---|" * (len(fits) + 1)]
    for name, c in nat["clusters"].items():
        sec = c["seconds"]
        lines.append(f"| {name} | {c['nodes']} x {c['cores']}, {c['gpus'] * c['nodes']} | "
                     + " | ".join(_secs(sec[k]) for k in fits)
                     + f" | {_secs(sec['total'])} ({sec['total'] / 3600:.2f} h) |")
    m = rows[-1]["stages"]["memory"]
    lines += ["", "## Memory", "",
              f"- Device, per screened profile: {m['device_bytes_per_profile']} bytes ({m['loci']} loci x 2 "
              "bytes: one uint16 genotype code per locus); 1 M missing persons: "
              f"{m['device_bytes_per_profile'] * 1e6 / 2**20:,.0f} MiB.",
              f"- Lost-child tables, per family (table row): {m['table_bytes_per_family']:,} bytes "
              f"({m['table_width']} slots x 8 bytes, float64; half in float32); of one shard of "
              f"{m['families_per_shard']:,} families: at most {m['table_bytes_per_shard_max']:,} bytes "
              f"measured ({m['table_bytes_per_shard_max'] / 2**20:,.1f} MiB), on the device while it is "
              f"screened and on the host while it is built; 5 M families: "
              f"{m['table_bytes_per_family'] * 5e6 / 2**30:,.1f} GiB in all (saved per shard, "
              "memory-mapped when read).",
              f"- Host, per profile on disk (shard files): {m['shard_bytes_per_profile']:,.0f} bytes.",
              "- Host, peak RSS of the benchmark process (ingest and the one-core stages run in it), "
              "after each size: " + ", ".join(f"{r['families']:,} families {r['stages']['memory']['peak_rss_bytes_benchmark_process'] / 2**20:,.0f} MiB"
                                          for r in rows) + "."]
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
    if all("rerun_seconds" in r for r in rows):
        b.plot(pairs, [r["rerun_seconds"] for r in rows], "s-", label="rerun after +1%")
    b.set(xscale="log", yscale="log", xlabel="pairs (missing x families)", ylabel="wall time (s)",
          title="wall time")
    b.legend()
    fig.tight_layout()
    with atomic.atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def plot_stages(report: dict, path: Path) -> Path:
    """Each stage's measured seconds (one core) against its natural size with the fitted line,
    and the whole re-match measured against the model on this machine."""
    import matplotlib  # noqa: PLC0415 (only the benchmark draws)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows, model = report["results"], report["model"]
    fits = model["fits"]
    fig, axes = plt.subplots(3, 3, figsize=(14, 11))
    axes = axes.ravel()
    for ax, (stage, f) in zip(axes, fits.items()):
        n = [r["pairs"] if f["unit"] == "pairs" else r["workload"][f["unit"]] for r in rows]
        t = [r["stages"]["seconds"][stage] for r in rows]
        ax.plot(n, t, "o", label="measured")
        grid = [min(n) * (max(n) / min(n)) ** (i / 40) for i in range(41)] if min(n) > 0 else n
        ax.plot(grid, [f["fixed_s"] + f["per_unit_s"] * x for x in grid], "-", label="model")
        ax.set(xscale="log", yscale="log", xlabel=UNIT_LABEL[f["unit"]], ylabel="seconds (one core)",
               title=stage)
        ax.legend(fontsize=8)
    ax = axes[len(fits)]
    fam = [r["families"] for r in rows]
    ax.plot(fam, [r["rematch_seconds"] for r in rows], "o", label="re-match measured")
    ax.plot(fam, [a["this_machine"]["total"] - a["this_machine"]["ingest"] for a in model["at_measured"]],
            "s--", label="re-match model")
    ax.plot(fam, [r["ingest_seconds"] for r in rows], "^", label="ingest measured")
    ax.plot(fam, [a["this_machine"]["ingest"] for a in model["at_measured"]], "v--", label="ingest model")
    ax.set(xscale="log", yscale="log", xlabel="families (= missing x 1)", ylabel="seconds",
           title=f"this machine ({model['this_machine']['cores']} cores)")
    ax.legend(fontsize=8)
    ax = axes[len(fits) + 1]
    nat = model["national"]["clusters"]
    names = list(nat)
    bottom = [0.0] * len(names)
    for stage in fits:
        vals = [nat[k]["seconds"][stage] / 3600 for k in names]
        ax.bar(range(len(names)), vals, bottom=bottom, label=stage)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(range(len(names)), [n.replace(", ", ",\n") for n in names], fontsize=7)
    ax.set(ylabel="hours", title="national run predicted")
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic.atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return Path(path)
