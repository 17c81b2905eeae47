"""National re-match: every missing person against every registered family.

    read the manifest  ->  plan (query block x reference shard) pieces
    ->  score the pieces on Dask  ->  merge top-k and re-score exactly
    ->  publish candidates, per-locus tables and run.json
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from prefect.artifacts import create_markdown_artifact

from reunion import __version__
from reunion.contracts import CANDIDATES, PER_LOCUS, check_table
from reunion.flows import pieces
from reunion.flows.cluster import dask_client, describe
from reunion.frequencies import file_sha256
from reunion.ingest import load_manifest
from reunion.io import atomic
from reunion.flows.retry import io_error_only
from reunion.settings import Affects, Settings

CANDIDATES_PARQUET = "candidates.parquet"
CANDIDATES_CSV = "candidates.csv"
PER_LOCUS_PARQUET = "per_locus.parquet"
RUN_JSON = "run.json"
#: per-locus columns that get Parquet statistics (its rows are not sorted by any id,
#: so string min/max would prune nothing and cost more than the rest of the write)
NUMERIC_LOCUS = [f.name for f in PER_LOCUS if f.type != pa.string()]


@task(name="read-manifest", cache_policy=NO_CACHE, persist_result=False,
      retries=2, retry_delay_seconds=2, retry_condition_fn=io_error_only)
def read_manifest(shards_dir: Path) -> dict:
    return load_manifest(shards_dir)


@task(name="plan", cache_policy=NO_CACHE, persist_result=False)
def plan(manifest: dict, settings: Settings) -> dict:
    """Query blocks (query shard, start, stop) and reference shards of the run."""
    return pieces.plan_work(manifest, settings)


@task(name="score", cache_policy=NO_CACHE, persist_result=False)
def score(shards_dir: Path, settings: Settings, work: dict, piece_dir: Path,
          tables: Path) -> tuple[list[dict], dict]:
    """Run every piece on the Dask cluster; merge and re-score per query block.

    Finished pieces are persisted in ``piece_dir`` and tables in ``tables``; a
    rerun of the same run resumes, and a later incremental rerun reuses the tables.
    """
    logger = get_run_logger()
    atomic.ensure_dir(piece_dir)
    done = sum(1 for _ in piece_dir.glob("*.npz"))
    if done:
        logger.info("resuming: %d of %d pieces already finished", done, work["pieces"])
    merged = pieces.rematch_graph(str(shards_dir), settings, work, piece_dir, tables)
    with dask_client(settings.cluster) as client:
        cluster = describe(client, settings.cluster)
        logger.info("scoring %d pieces (%d query blocks x %d reference shards) on %d Dask workers",
                    work["pieces"], len(work["blocks"]), len(work["references"]), cluster["workers"])
        futures = client.compute(merged)
        results = []
        for i, f in enumerate(futures, start=1):
            results.append(f.result())
            logger.info("query block %d/%d merged", i, len(futures))
    return results, cluster


def results_tables(results: list[dict]) -> tuple[pa.Table, pa.Table]:
    """(candidates, per-locus) of :func:`pieces.merge_and_rescore` results, concatenated and
    checked against their contracts."""
    return (check_table(pa.concat_tables([CANDIDATES.empty_table()] + [r["candidates"] for r in results]),
                        CANDIDATES, "candidates"),
            check_table(pa.concat_tables([PER_LOCUS.empty_table()] + [r["per_locus"] for r in results]),
                        PER_LOCUS, "per-locus"))


@task(name="publish", cache_policy=NO_CACHE, persist_result=False,
      retries=2, retry_delay_seconds=2, retry_condition_fn=io_error_only)
def publish(out_dir: Path, tables: tuple[pa.Table, pa.Table], record: dict) -> dict:
    """Write candidates (Parquet, CSV), per-locus tables and run.json atomically.

    ``tables``: the run's (candidates, per-locus) rows. Candidates are written ordered
    by missing person and rank; per-locus rows are grouped by candidate, each group
    in locus order.
    """
    t0 = time.perf_counter()
    out_dir = atomic.ensure_dir(out_dir)
    ct = check_table(tables[0], CANDIDATES, "candidates")
    lt = check_table(tables[1], PER_LOCUS, "per-locus")
    ct = ct.sort_by([("missing_id", "ascending"), ("rank", "ascending")])
    paths = {
        "candidates_parquet": atomic.write_table(ct, out_dir / CANDIDATES_PARQUET),
        "candidates_csv": atomic.write_table(ct, out_dir / CANDIDATES_CSV),
        "per_locus_parquet": atomic.write_table(lt, out_dir / PER_LOCUS_PARQUET, statistics=NUMERIC_LOCUS),
    }
    record["outputs"] = {k: {"path": str(v.name), "sha256": file_sha256(v)} for k, v in paths.items()}
    record["counts"]["candidates"] = ct.num_rows
    spent = time.perf_counter() - t0      # run.json itself is the last write
    record.setdefault("timings", {})["publish"] = round(spent, 3)
    record["seconds"] = round(record["seconds"] + spent, 3)
    atomic.write_text(out_dir / RUN_JSON, json.dumps(record, indent=2, default=str))
    create_markdown_artifact(key="national-rematch-summary", markdown=summary_markdown(record, _strongest(ct)),
                             description="reunion re-match: counts, top candidates, throughput")
    return record


def _strongest(ct: pa.Table, top: int = 10) -> list[dict]:
    """The ``top`` rank-1 candidates by log10 LR (rows of the CANDIDATES contract)."""
    first = ct.filter(pc.equal(ct.column("rank"), 1))
    return first.sort_by([("log10_lr", "descending"), ("missing_id", "ascending")]).slice(0, top).to_pylist()


def summary_markdown(record: dict, cands: list[dict], top: int = 10) -> str:
    """Run summary for the Prefect UI: counts, strongest rank-1 candidates (ids only), throughput."""
    c = record["counts"]
    best = sorted((x for x in cands if x["rank"] == 1), key=lambda x: -x["log10_lr"])[:top]
    lines = [
        f"# Re-match {record['started']}",
        f"- {c['missing']} missing persons x {c['families']} families = {c['pairs_screened']:,} pairs "
        f"in {record['seconds']:.1f} s ({c['pairs_screened'] / max(record['seconds'], 1e-9):,.0f} pairs/s)",
        f"- {c['candidates']} candidates for {c['missing_with_candidates']} missing persons",
        f"- rows read {c['rows_read']}, rejected {c['rows_rejected']}; floor used {c['floored_allele_uses']} times",
        "", "| missing | family | hypothesis | log10 LR | loci | inconsistent |", "|---|---|---|---|---|---|",
    ]
    lines += [f"| {x['missing_id']} | {x['family_id']} | {x['hypothesis']} | {x['log10_lr']:.2f} | "
              f"{x['loci_compared']} | {x['inconsistent_loci']} |" for x in best]
    return "\n".join(lines)


def code_version() -> str:
    """reunion version plus the git commit when run from a checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip()
    try:
        sha = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return __version__
    if not sha:
        return __version__
    return f"{__version__}+g{sha}" + (".dirty" if dirty else "")


class Timings(dict):
    """Seconds per stage of a run, for run.json: ``with timings.stage("score"): ...``."""

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - t, 3)


def run_record(flow_name: str, started: dt.datetime, seconds: float, settings: Settings,
               shards_dir: Path, manifest: dict, cluster: dict, counts: dict, mode: dict,
               timings: dict | None = None) -> dict:
    """What a run used and counted, for run.json: provenance, inputs, shards, counts."""
    manifest_path = Path(shards_dir) / "manifest.json"
    return {
        "flow": flow_name,
        "who": getpass.getuser(),
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "timings": dict(timings or {}),
        "code_version": code_version(),
        "config": settings.model_dump(mode="json"),
        "config_sha256": settings.digest(),
        "frequency_table": manifest["frequency_table"],
        "mode": mode,
        "manifest": {"path": str(manifest_path), "sha256": file_sha256(manifest_path),
                     "inputs": manifest["inputs"], "shards": manifest["shards"]},
        "cluster": cluster,
        "counts": {
            "missing": manifest["counts"]["missing"],
            "families": manifest["counts"]["families"],
            **counts,
            "rows_read": sum(i["read"] for i in manifest["inputs"]),
            "rows_rejected": manifest["rejects"]["rows"],
            "floored_allele_uses": manifest["floor"]["allele_uses"],
        },
    }


def run_key(shards_dir: Path, settings: Settings) -> str:
    """Identifies the pieces of one (shard set, scoring settings): resumed pieces must match both."""
    relevant = settings.affecting_json(Affects.PIECES)
    blob = file_sha256(Path(shards_dir) / "manifest.json") + relevant
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def rescore_counts(results: list[dict]) -> dict:
    """run.json counts of the exact re-score: candidates re-scored, and missing persons whose
    whole shortlist was re-scored because a screen score disagreed with its re-score (0
    expected; more means the tables and the re-score formulas differ)."""
    return {"candidates_rescored": sum(r.get("rescored", 0) for r in results),
            "shortlist_checks_failed": sum(r.get("shortlist_checks_failed", 0) for r in results)}


@flow(name="national-rematch", log_prints=False)
def rematch_flow(shards_dir: Path, out_dir: Path, settings: Settings, mode: dict | None = None) -> dict:
    """Score every missing person against every family and publish ranked candidate lists.

    ``mode`` is recorded in run.json (a rerun that falls back to a full re-match says why).
    """
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    shards_dir, out_dir = Path(shards_dir), Path(out_dir)
    timings = Timings()
    with timings.stage("plan"):
        manifest = read_manifest(shards_dir)
        work = plan(manifest, settings)
    piece_dir = out_dir / "pieces" / run_key(shards_dir, settings)
    tables = pieces.tables_dir(out_dir, manifest, settings)
    with timings.stage("score"):
        results, cluster = score(shards_dir, settings, work, piece_dir, tables)
    counts = {
        "pieces": work["pieces"],
        "pairs_screened": manifest["counts"]["missing"] * manifest["counts"]["families"],
        "missing_with_candidates": sum(r["with_candidates"] for r in results),
        "missing_not_searched_too_few_loci": sum(r["too_few_loci"] for r in results),
        **rescore_counts(results),
    }
    record = run_record("national-rematch", started, time.perf_counter() - t0, settings, shards_dir,
                        manifest, cluster, counts, mode or {"kind": "full"}, timings)
    # quote(): Prefect would otherwise walk every candidate row looking for futures
    return publish(out_dir, quote(results_tables(results)), record)
