"""National re-match: every missing person against every registered family.

    read the manifest  ->  plan (query block x reference shard) pieces
    ->  score the pieces on Dask  ->  merge top-k and re-score exactly
    ->  calibrate candidates (p_h2, expected chance matches, p_h1; families' power)
    ->  publish candidates, per-locus tables, families, thresholds and run.json
    ->  the reviewers' report

A run holds its folder's lock for its whole length (reunion/io/locks.py: a second run
there waits ``runs.lock_wait_seconds``, then refuses) and claims it (``run-key.json``): a
folder holding another run's outputs is refused, and only the same run (same shard set and
scoring settings: :func:`run_key`) resumes there, so no folder mixes a new candidate list
with an old report. Settings
fixed when the shards were encoded (``frequencies.*``) must equal the shard set's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Iterator, Self

import pyarrow as pa
import pyarrow.compute as pc
from distributed import as_completed
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from reunion.calibration import FAMILIES_PARQUET, THRESHOLDS_PARQUET, Calibration
from reunion.contracts import (CALIBRATED_CANDIDATES, CANDIDATES, PER_LOCUS, Y_CANDIDATES, Y_PER_LOCUS,
                               check_table)
from reunion.contracts.records import (
    FileRef,
    Manifest,
    RunCounts,
    RunManifestRef,
    RunRecord,
)
from reunion.errors import InputError, SettingsError
from reunion.flows import pieces
from reunion.flows.context import y_context
from reunion.flows.tables import tables_dir
from reunion.flows.cluster import dask_client, describe, stage_resources
from reunion.flows.retry import io_error_only
from reunion.frequencies import file_sha256, load_frequency_table
from reunion.ingest import load_manifest
from reunion.io import atomic, locks
from reunion.settings import Affects, Settings

CANDIDATES_PARQUET = "candidates.parquet"
CANDIDATES_CSV = "candidates.csv"
PER_LOCUS_PARQUET = "per_locus.parquet"
RUN_JSON = "run.json"
#: the run that owns a run folder (written first): {"run_key", "flow", "started", ...}
RUN_KEY_JSON = "run-key.json"
#: what a run writes into its folder: a folder holding any of these belongs to a run (a
#: ``shards/`` folder does not: a run folder may hold the shard set it re-matches)
RUN_OUTPUTS = (CANDIDATES_PARQUET, CANDIDATES_CSV, PER_LOCUS_PARQUET, RUN_JSON, "review.parquet",
               "review.csv", "report.html", "pieces", "tables", FAMILIES_PARQUET, THRESHOLDS_PARQUET)
#: the settings section fixed when the shards are encoded (reunion ingest); a command that
#: reads shards cannot apply another value of these
FIXED_AT_INGEST = "frequencies"
#: a log line each time this fraction of the pieces is done, when stdout is not a terminal
LOG_EVERY = 0.1
#: per-locus columns that get Parquet statistics (its rows are not sorted by any id,
#: so string min/max would prune nothing and cost more than the rest of the write)
NUMERIC_LOCUS = [f.name for f in PER_LOCUS if f.type != pa.string()]


@task(name="read-manifest", cache_policy=NO_CACHE, persist_result=False,
      retries=2, retry_delay_seconds=2, retry_condition_fn=io_error_only)
def read_manifest(shards_dir: Path) -> Manifest:
    return load_manifest(shards_dir)


@task(name="plan", cache_policy=NO_CACHE, persist_result=False)
def plan(manifest: Manifest, settings: Settings) -> pieces.WorkPlan:
    """Query blocks (query shard, start, stop) and reference shards of the run."""
    return pieces.plan_work(manifest, settings)


@task(name="score", cache_policy=NO_CACHE, persist_result=False)
def score(shards_dir: Path, settings: Settings, work: pieces.WorkPlan, piece_dir: Path,
          tables: Path) -> tuple[list[dict], dict]:
    """Run every piece on the Dask cluster; merge and re-score per query block.

    Finished pieces are persisted in ``piece_dir`` and tables in ``tables``; a
    rerun of the same run resumes, and a later incremental rerun reuses the tables.
    """
    logger = get_run_logger()
    atomic.ensure_dir(piece_dir)
    done = sum(1 for _ in piece_dir.glob("*.npz"))
    if done:
        logger.info("resuming: %d of %d pieces already finished", done, work.pieces)
    with dask_client(settings.cluster) as client:
        # on a GPU cluster the screens ask for a GPU worker, tables and re-scores for a host one
        merged = pieces.rematch_graph(str(shards_dir), settings, work, piece_dir, tables,
                                      resources=stage_resources(client))
        todo = pieces.screen_pieces(merged)          # (screening task, pieces it screens)
        cluster = describe(client, settings.cluster)
        logger.info("scoring %d pieces (%d query blocks x %d reference shards, in %d tasks) on %d "
                    "Dask workers", work.pieces, len(work.blocks), len(work.references), work.tasks,
                    cluster["workers"])
        futures = client.compute([t for t, _ in todo] + list(merged))
        blocks = futures[len(todo):]
        counts = {f.key: n for f, (_, n) in zip(futures, todo)}
        finished = as_completed(futures[:len(todo)])
        del futures       # a finished piece's result is freed once its block has merged it
        with Progress(work.pieces, work.pieces - sum(counts.values()), logger) as bar:
            for f in finished:
                bar.advance(counts[f.key])
        results = [f.result() for f in blocks]      # block order: the outputs' row order
    return results, cluster


class Progress:
    """Pieces done and time left: a live bar (rich) when stdout is a terminal, else a log line
    per :data:`LOG_EVERY` of the pieces."""

    def __init__(self, total: int, done: int, logger, live: bool | None = None):
        self.total, self.done, self.start_done, self.logger = total, done, done, logger
        self.live = sys.stdout.isatty() if live is None else live
        self.t0 = time.perf_counter()
        self.logged = self._step(done)
        self.bar = None

    def __enter__(self) -> Self:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar
            self.bar = Bar(TextColumn("pieces"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
            self.bar.start()
            self.task = self.bar.add_task("pieces", total=self.total, completed=self.done)
        return self

    def _step(self, done: int) -> int:
        return int(done / max(self.total, 1) / LOG_EVERY + 1e-9)

    def left_s(self) -> float | None:
        """Seconds left at the pace of the pieces run so far (None before the first)."""
        ran = self.done - self.start_done
        return None if ran <= 0 else (time.perf_counter() - self.t0) / ran * (self.total - self.done)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
        elif self._step(self.done) > self.logged or self.done == self.total:
            self.logged = self._step(self.done)
            left = self.left_s()
            self.logger.info("pieces %d/%d done (%.0f%%)%s", self.done, self.total,
                             100 * self.done / max(self.total, 1),
                             f", about {left:.0f} s left" if left is not None and self.done < self.total else "")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def results_tables(results: list[dict]) -> tuple[pa.Table, pa.Table]:
    """(candidates, per-locus) of :func:`pieces.merge_and_rescore` results, concatenated and
    checked against their contracts."""
    y = any("log10_lr_y" in r["candidates"].column_names for r in results)   # a run with Y evidence
    cs, ls = (Y_CANDIDATES, Y_PER_LOCUS) if y else (CANDIDATES, PER_LOCUS)
    return (check_table(pa.concat_tables([cs.empty_table()] + [r["candidates"] for r in results]),
                        cs, "candidates"),
            check_table(pa.concat_tables([ls.empty_table()] + [r["per_locus"] for r in results]),
                        ls, "per-locus"))


@task(name="calibrate-candidates", cache_policy=NO_CACHE, persist_result=False)
def calibrate_candidates(shards_dir: Path, manifest: Manifest, settings: Settings, tables: Path,
                         candidates: pa.Table, per_locus: pa.Table,
                         reuse: Path | None = None) -> Calibration | dict | None:
    """The run's calibration (reunion/calibration.py :func:`~reunion.calibration.calibrate`)
    from its saved tables (folder ``tables``, where its laws are saved too), its (candidates,
    per-locus) rows and its shard set: a :class:`Calibration` for :func:`publish`; None when
    ``calibration.enabled`` is false; {"skipped": why} for a theta > 0 run (the laws assume
    theta = 0). ``reuse``: a standing run's tables folder whose saved laws answer too (the
    rerun's)."""
    if not settings.calibration.enabled:
        return None
    why = ("Y evidence in the LRs: the calibration's laws are of autosomal LRs"
           if "log10_lr_y" in candidates.column_names else
           f"scoring.theta = {settings.scoring.theta}: the calibration assumes theta = 0"
           if settings.scoring.theta > 0 else None)
    if why is not None:
        get_run_logger().warning("candidates not calibrated: %s", why)
        return {"skipped": why}
    from reunion.calibration import calibrate, run_inputs

    cal = calibrate(run_inputs(shards_dir, manifest, settings, tables, candidates, per_locus),
                    settings.calibration, reuse)
    get_run_logger().info("calibrated %d candidates and %d families against %d missing persons "
                          "searched in %.1f s", cal.candidates.num_rows, cal.families.num_rows,
                          cal.info["searched"], cal.info["seconds"])
    return cal


@task(name="publish", cache_policy=NO_CACHE, persist_result=False,
      retries=2, retry_delay_seconds=2, retry_condition_fn=io_error_only)
def publish(out_dir: Path, tables: tuple[pa.Table, pa.Table], record: RunRecord,
            calibration: Calibration | dict | None = None) -> RunRecord:
    """Write candidates (Parquet, CSV), per-locus tables and run.json atomically; with a
    ``calibration`` (:func:`calibrate_candidates`), its candidates (the same rows with the
    calibration columns) instead of ``tables[0]``, families.parquet, thresholds.parquet and
    run.json's ``calibration``.

    ``tables``: the run's (candidates, per-locus) rows. Candidates are written ordered
    by missing person and rank; per-locus rows are grouped by candidate, each group
    in locus order.
    """
    t0 = time.perf_counter()
    out_dir = atomic.ensure_dir(out_dir)
    calibrated = isinstance(calibration, Calibration)
    y = "log10_lr_y" in tables[0].column_names          # a run with Y evidence (reunion/yevidence.py)
    ct = (check_table(calibration.candidates, CALIBRATED_CANDIDATES, "calibrated candidates")
          if calibrated else check_table(tables[0], Y_CANDIDATES if y else CANDIDATES, "candidates"))
    lt = check_table(tables[1], Y_PER_LOCUS if y else PER_LOCUS, "per-locus")
    ct = ct.sort_by([("missing_id", "ascending"), ("rank", "ascending")])
    paths = {
        "candidates_parquet": atomic.write_table(ct, out_dir / CANDIDATES_PARQUET),
        "candidates_csv": atomic.write_table(ct, out_dir / CANDIDATES_CSV),
        "per_locus_parquet": atomic.write_table(lt, out_dir / PER_LOCUS_PARQUET, statistics=NUMERIC_LOCUS),
    }
    if calibrated:
        paths["families_parquet"] = atomic.write_table(calibration.families, out_dir / FAMILIES_PARQUET)
        paths["thresholds_parquet"] = atomic.write_table(calibration.thresholds, out_dir / THRESHOLDS_PARQUET)
    outputs = {k: FileRef(path=str(v.name), sha256=file_sha256(v)) for k, v in paths.items()}
    spent = time.perf_counter() - t0      # run.json itself is the last write
    record = record.model_copy(update={
        "outputs": outputs,
        "calibration": calibration.info if calibrated else calibration,
        "counts": record.counts.model_copy(update={"candidates": ct.num_rows}),
        "timings": {**record.timings, "publish": round(spent, 3)},
        "seconds": round(record.seconds + spent, 3)})
    record.write(out_dir / RUN_JSON)
    create_markdown_artifact(key="national-rematch-summary", markdown=summary_markdown(record, _strongest(ct)),
                             description="reunion re-match: counts, top candidates, throughput")
    return record


@task(name="report", cache_policy=NO_CACHE, persist_result=False)
def report(out_dir: Path, previous_run: Path | None, settings: Settings) -> Path:
    """The reviewers' report of the run (review.parquet/.csv, report.html), compared with
    ``previous_run`` where there is one; a Prefect link artifact points at it."""
    from reunion.report import write_report  # the report's imports are heavy

    path = Path(write_report(out_dir, previous_run, settings.review)).resolve()
    create_link_artifact(key="national-rematch-report", link=path.as_uri(),
                         link_text=f"report.html of {out_dir.name}",
                         description=f"reviewers' report: {path}"
                         + (f" (compared with {previous_run})" if previous_run else ""))
    return path


def claim_run_folder(out_dir: Path, key: str, flow_name: str, source: str) -> bool:
    """Claim ``out_dir`` for the run ``key`` (``source``: what it runs on, for the message).

    Returns True when the folder already belongs to this run (a resumed run). Raises
    :class:`InputError` when it holds another run's outputs (another key, or outputs of a
    run that wrote no key), so that no folder mixes two runs' files.
    """
    out_dir = Path(out_dir)
    marker = out_dir / RUN_KEY_JSON
    if marker.exists():
        try:
            held = json.loads(marker.read_text())
        except (OSError, ValueError):
            held = {}
        if held.get("run_key") == key:
            return True
        raise InputError(f"{out_dir} holds the outputs of another run ({held.get('flow', '?')} on "
                         f"{held.get('source', '?')}, started {held.get('started', '?')}, run key "
                         f"{held.get('run_key', '?')}, not {key}); choose a new --out")
    present = [n for n in RUN_OUTPUTS if (out_dir / n).exists()]
    if present:
        raise InputError(f"{out_dir} holds the outputs of another run ({', '.join(present)}); "
                         "choose a new --out")
    atomic.write_text(marker, json.dumps({
        "run_key": key, "flow": flow_name, "source": str(source),
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}, indent=2))
    return False


def check_fixed_at_ingest(manifest: Manifest, settings: Settings, shards_dir: Path) -> None:
    """Refuse settings the shard set (``manifest`` of ``shards_dir``) was not encoded with
    (they are fixed at ingest): one
    :class:`SettingsError` line naming the setting, what the shards hold and what to do.

    The fields checked are those of :data:`FIXED_AT_INGEST` that change the tables
    (``Settings.affecting(Affects.TABLES)``); each needs a comparison here.
    """
    ft, fs = manifest.frequency_table, settings.frequencies
    encoded: dict[str, str | None] = {}

    def table() -> str | None:
        path = Path(fs.table)
        if path.is_file() and file_sha256(path) == ft.sha256:
            return None
        return f"{Path(ft.path).name} (sha256 {ft.sha256[:12]})"

    def population() -> str | None:
        return None if fs.population in (None, ft.population) else repr(ft.population)

    def floor() -> str | None:
        # the floor is the frequency of the alleles absent from a table that gives no N
        if encoded.get("table"):
            return None            # reported as the table
        lf = load_frequency_table(Path(fs.table), fs.population).loci
        alleles = atomic.read_table(Path(shards_dir) / manifest.alleles.path)
        for loc, f, src in zip(*(alleles.column(c).to_pylist() for c in ("locus", "frequency", "source"))):
            if src == "floor" and loc in lf and not lf[loc].n_individuals and f != fs.floor:
                return f"{f:g}"
        return None

    checks = {"table": table, "population": population, "floor": floor}
    for field in sorted(settings.affecting(Affects.TABLES).get(FIXED_AT_INGEST, ()),
                        key=["table", "population", "floor"].index):
        encoded[field] = checks[field]()
        if encoded[field] is not None:
            now = getattr(fs, field)
            raise SettingsError(f"{FIXED_AT_INGEST}.{field} is fixed at ingest (the shards were encoded "
                                f"with {encoded[field]}, not {Path(now).name if field == 'table' else now!r}); "
                                f"re-ingest to change it")


def _strongest(ct: pa.Table, top: int = 10) -> list[dict]:
    """The ``top`` rank-1 candidates by log10 LR (rows of the CANDIDATES contract)."""
    first = ct.filter(pc.equal(ct.column("rank"), 1))
    return first.sort_by([("log10_lr", "descending"), ("missing_id", "ascending")]).slice(0, top).to_pylist()


def summary_markdown(record: RunRecord, cands: list[dict], top: int = 10) -> str:
    """Run summary for the Prefect UI: counts, strongest rank-1 candidates (ids only), throughput."""
    c = record.counts
    best = sorted((x for x in cands if x["rank"] == 1), key=lambda x: -x["log10_lr"])[:top]
    lines = [
        f"# Re-match {record.started}",
        f"- {c.missing} missing persons x {c.families} families = {c.pairs_screened:,} pairs "
        f"in {record.seconds:.1f} s ({c.pairs_screened / max(record.seconds, 1e-9):,.0f} pairs/s)",
        f"- {c.candidates} candidates for {c.missing_with_candidates} missing persons",
        f"- rows read {c.rows_read}, rejected {c.rows_rejected}; floor used {c.floored_allele_uses} times",
        "", "| missing | family | hypothesis | log10 LR | loci | inconsistent |", "|---|---|---|---|---|---|",
    ]
    lines += [f"| {x['missing_id']} | {x['family_id']} | {x['hypothesis']} | {x['log10_lr']:.2f} | "
              f"{x['loci_compared']} | {x['inconsistent_loci']} |" for x in best]
    return "\n".join(lines)


def code_version() -> str:
    """reunion version with its commit (:func:`reunion.code_version`)."""
    from reunion import code_version as version_with_commit
    return version_with_commit()


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
               shards_dir: Path, manifest: Manifest, cluster: dict, counts: dict, mode: dict,
               timings: dict | None = None) -> RunRecord:
    """What a run used and counted, for run.json: provenance, inputs, shards, counts
    (``counts``: the run's own, :class:`RunCounts` fields from ``pieces`` to
    ``shortlist_checks_failed``; the rest come from the manifest)."""
    manifest_path = Path(shards_dir) / "manifest.json"
    return RunRecord(
        flow=flow_name,
        who=getpass.getuser(),
        started=started.isoformat(timespec="seconds"),
        seconds=round(seconds, 3),
        timings=dict(timings or {}),
        code_version=code_version(),
        config=settings.model_dump(mode="json"),
        config_sha256=settings.digest(),
        frequency_table=manifest.frequency_table,
        mode=mode,
        manifest=RunManifestRef(path=str(manifest_path), sha256=file_sha256(manifest_path),
                                inputs=manifest.inputs, shards=manifest.shards),
        cluster=cluster,
        counts=RunCounts(
            missing=manifest.counts.missing,
            families=manifest.counts.families,
            **counts,
            rows_read=sum(i.read for i in manifest.inputs),
            rows_rejected=manifest.rejects.rows,
            rows_skipped=sum(i.skipped or 0 for i in manifest.inputs),
            floored_allele_uses=manifest.floor.allele_uses,
        ),
    )


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


def run_name() -> str:
    """Prefect flow-run name: the shard set (its folder, and the run folder's) and the date."""
    p = flow_run.parameters
    shards = Path(p.get("shards_dir", "shards"))
    label = shards.name if shards.name != "shards" else f"{shards.parent.name}/{shards.name}"
    return f"rematch {label} -> {Path(p.get('out_dir', '.')).name} {dt.date.today().isoformat()}"


@flow(name="national-rematch", log_prints=False, flow_run_name=run_name)
@locks.holding(writes="out_dir", reads="shards_dir", what="national-rematch", when="claim")
def rematch_flow(shards_dir: Path, out_dir: Path, settings: Settings, mode: dict | None = None,
                 previous_run: Path | None = None, claim: bool = True) -> RunRecord:
    """Score every missing person against every family, publish ranked candidate lists and
    the reviewers' report (compared with ``previous_run``, a run folder, where given).
    Returns the run.json record with ``report`` (the report's path) set.

    ``mode`` is recorded in run.json (a rerun that falls back to a full re-match says why).
    ``claim``: claim ``out_dir`` for this run (:func:`claim_run_folder`), holding its lock
    and the shard set's (reunion/io/locks.py) for the whole run; False when the caller (a
    rerun) has claimed it and holds them.
    """
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    shards_dir, out_dir = Path(shards_dir), Path(out_dir)
    timings = Timings()
    with timings.stage("plan"):
        manifest = read_manifest(shards_dir)
        check_fixed_at_ingest(manifest, settings, shards_dir)
        key = run_key(shards_dir, settings)
        if claim and claim_run_folder(out_dir, key, "national-rematch", shards_dir):
            get_run_logger().info("resuming the run of %s in %s (run key %s)", shards_dir, out_dir, key)
        work = plan(manifest, settings)
        # the Y evidence's inputs (ystr.reference, the rates) are read and checked here, before any work
        yc = y_context(str(shards_dir), settings.model_dump_json())
    piece_dir = out_dir / "pieces" / key
    tables = tables_dir(out_dir, manifest, settings)
    with timings.stage("score"):
        results, cluster = score(shards_dir, settings, work, piece_dir, tables)
    counts = {
        "pieces": work.pieces,
        "pairs_screened": manifest.counts.missing * manifest.counts.families,
        "missing_with_candidates": sum(r["with_candidates"] for r in results),
        "missing_not_searched_too_few_loci": sum(r["too_few_loci"] for r in results),
        **rescore_counts(results),
    }
    found = results_tables(results)
    # quote(): Prefect would otherwise walk every candidate row looking for futures
    with timings.stage("calibrate"):
        cal = calibrate_candidates(shards_dir, manifest, settings, tables, quote(found[0]), quote(found[1]))
    record = run_record("national-rematch", started, time.perf_counter() - t0, settings, shards_dir,
                        manifest, cluster, counts, mode or {"kind": "full"}, timings)
    if yc is not None:
        record = record.model_copy(update={"y_evidence": yc.info()})
    record = publish(out_dir, quote(found), record, quote(cal))
    return record.model_copy(update={"report": str(report(out_dir, previous_run, settings))})
