"""Rerun after new collections: score only what is new and merge into the standing lists.

    append the batch to the standing shard set (no re-ingest)
    ->  new or re-typed missing persons x every family,
        every other missing person x new or changed families
    ->  merge into the standing candidate lists  ->  publish

Work is proportional to the batch (and to the database times the batch for the
screen), not to the database: unchanged shards are hard-linked, unchanged
families' tables are read from the standing run, unchanged candidate lists are
carried over as Arrow tables. The merged result equals a full re-match over the
union (tested byte for byte after sorting). A full re-match is run instead when
the frequencies or the scoring settings changed, or the batch brings an allele
the standing encoding lacks (it enters every mutation matrix); with Y evidence, a batch that
brings Y haplotypes has the appended shard set re-matched in full (:func:`y_reference_changed`:
the Y denominators of standing pairs change); run.json says why.

Every rerun writes its report against the standing run. With a runs root
(``reunion rerun --runs-root``, flows/deploy.py) the rerun moves the root's ``current``
pointer to itself when it succeeds, so the next scheduled re-match reads its shards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from reunion import ranking
from reunion.append import AppendRefused, AppendSummary, append_batch
from reunion.contracts import CANDIDATES, PER_LOCUS, check_table
from reunion.contracts.records import Manifest, RunRecord
from reunion.errors import InputError
from reunion.flows import pieces
from reunion.flows.context import y_context
from reunion.flows.tables import restrict_tables, shard_tables, tables_dir
from reunion.flows.cluster import dask_client, describe, needing, stage_resources
from reunion.flows.rematch import (
    CANDIDATES_PARQUET,
    PER_LOCUS_PARQUET,
    RUN_JSON,
    Timings,
    calibrate_candidates,
    claim_run_folder,
    publish,
    rematch_flow,
    report,
    rescore_counts,
    results_tables,
    run_record,
)
from reunion.frequencies import file_sha256
from reunion.ingest import ingest, load_manifest, read_shard, shard_codes, shards_of
from reunion.io import atomic, locks
from reunion.settings import Affects, Settings

SHARDS = "shards"
#: fewest missing persons re-scored in one task
MIN_PART = 25


def classify_inputs(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split new files into samples files and genotype files by their header
    (:func:`reunion.io.readers.classify`; a file that is neither raises InputError)."""
    from reunion.io.readers import classify

    samples, genotypes = [], []
    for p in map(Path, paths):
        (samples if classify(p) == "samples" else genotypes).append(p)
    return samples, genotypes


def settings_changed(base_run: RunRecord, settings: Settings) -> str | None:
    """Why the standing run's lists cannot be extended under ``settings``, or None."""
    now = settings.model_dump(mode="json")
    for section, fields in settings.affecting(Affects.LISTS).items():
        was = base_run.config[section]
        if {f: was.get(f) for f in fields} != {f: now[section][f] for f in fields}:
            return f"the {section} settings changed"
    return None


@task(name="append-batch", cache_policy=NO_CACHE, persist_result=False)
def append_new(base_shards: Path, samples: list[Path], genotypes: list[Path], shards: Path,
               settings: Settings, source: str | None = None) -> AppendSummary | str:
    """Append the batch to the standing shard set; the reason when it cannot be appended."""
    try:
        return append_batch(base_shards, samples, genotypes, shards, settings, source)
    except AppendRefused as e:
        return str(e)


def y_reference_changed(base: Manifest, appended: Manifest, settings: Settings) -> str | None:
    """Why the incremental rerun cannot be exact with Y evidence, or None.

    The Y denominator of every Y-typed missing man is counted among the shard set's men
    (:mod:`reunion.yevidence`), and the compared panel and its values come from them: a batch
    that brings Y haplotypes changes the total LR of standing pairs and can reorder any list.
    The rerun then re-matches the appended shard set in full (its shards are the append's; no
    re-ingest), which is a full re-match by construction; run.json's mode says so."""
    if not settings.scoring.y_evidence:
        return None
    was = base.y_haplotypes.sha256 if base.y_haplotypes is not None else None
    now = appended.y_haplotypes.sha256 if appended.y_haplotypes is not None else None
    if was == now:
        return None
    return ("the batch brings Y haplotypes: every Y-typed missing man's denominator (counted among "
            "the shard set's men) changes, so the appended shard set is re-matched in full")


@dataclass(frozen=True)
class IncrementalPlan:
    """What an incremental rerun scores (:func:`plan_incremental`); missing-person ids are
    sorted lists, family ids a frozenset."""
    #: missing persons scored against every family (new, re-typed, or with a full standing
    #: list that holds a changed family)
    full: list[str]
    #: every other missing person: scored against the changed families only
    partial: list[str]
    #: new families and families with a new or re-typed member
    changed: frozenset[str]
    #: missing persons not in ``full`` whose standing list holds a changed family
    hit: list[str]
    #: indices (among the manifest's reference shards) of the shards the batch wrote or rewrote
    touched_refs: list[int]
    #: reference shards, missing persons and families of the combined shard set
    n_references: int
    n_missing: int
    n_families: int


@task(name="plan-incremental", cache_policy=NO_CACHE, persist_result=False)
def plan_incremental(base_run_dir: Path, base: Manifest, shards: Path, added: AppendSummary,
                     settings: Settings) -> IncrementalPlan:
    """Which missing persons to score against every family, which against the changed ones.

    ``base`` is the standing shard set's manifest (its shards' sha256 tell which
    shards the batch touched).

    A standing list that holds a changed family and is full (top_k long) may now
    admit a family beyond it: that missing person is scored against every family.
    """
    k = settings.scoring.top_k
    changed = pa.array(sorted(added.changed_families), pa.string())
    old = pq.read_table(base_run_dir / CANDIDATES_PARQUET, columns=["missing_id", "family_id"])
    hit = old.filter(pc.is_in(old.column("family_id"), changed)).column("missing_id").unique()
    sizes = old.filter(pc.is_in(old.column("missing_id"), hit)).group_by("missing_id").aggregate(
        [("family_id", "count")])
    full_lists = {m for m, n in zip(sizes.column("missing_id").to_pylist(),
                                    sizes.column("family_id_count").to_pylist()) if n >= k}
    full = sorted(set(added.new_missing) | full_lists)
    manifest = load_manifest(shards)
    partial: list[str] = []
    if added.changed_families:
        reg = atomic.read_table(shards / manifest.registry.path)
        ids = reg.filter(pc.equal(reg.column("role"), "missing")).column("sample_id").to_pylist()
        full_set = set(full)
        partial = sorted(m for m in ids if m not in full_set)
    base_shas = {s.sha256 for s in base.shards}
    refs = shards_of(manifest, "reference")
    return IncrementalPlan(full=full, partial=partial, changed=frozenset(added.changed_families),
                           hit=sorted(set(hit.to_pylist()) - set(full)),
                           touched_refs=[i for i, s in enumerate(refs) if s.sha256 not in base_shas],
                           n_references=len(refs), n_missing=manifest.counts.missing,
                           n_families=manifest.counts.families)


@task(name="score-incremental", cache_policy=NO_CACHE, persist_result=False)
def score_incremental(shards_dir: Path, settings: Settings, inc: IncrementalPlan, base_tables: Path,
                      own_tables: Path) -> tuple[list[dict], dict, int]:
    """Score the planned missing persons; unchanged shards' tables come from the standing run.

    Every shard's tables are carried into ``own_tables`` (so a rerun chained on this one
    finds them). Returns (results, cluster, table rows reused rather than built).
    """
    logger = get_run_logger()
    sd, sj = str(shards_dir), settings.model_dump_json()
    reuse, save = str(base_tables), str(atomic.ensure_dir(own_tables))
    refs = shards_of(load_manifest(shards_dir), "reference")
    tables = [dask.delayed(shard_tables)(sd, sj, r, save, reuse, inc.changed)
              for r in range(len(refs))]
    block = settings.scoring.query_block
    logger.info("incremental: %d missing persons x all families, %d x %d changed families",
                len(inc.full), len(inc.partial), len(inc.changed))
    with dask_client(settings.cluster) as client:
        cluster = describe(client, settings.cluster)
        res = stage_resources(client)       # a GPU cluster: screens on its GPU workers
        parts = max(1, cluster["threads"])
        graph = []
        for ids, tabs in ((inc.full, tables),
                          (inc.partial, [dask.delayed(restrict_tables)(tables[r], inc.changed)
                                         for r in inc.touched_refs])):
            # the changed families' tables are small: few large blocks beat many small ones
            step = block if ids is inc.full else max(block, -(-len(ids) // 4))
            for i in range(0, len(ids) if tabs else 0, step):
                chunk = ids[i:i + step]
                with needing(res.screen):
                    ps = [dask.delayed(pieces.screen_piece)(sd, sj, chunk, 0, 0, t) for t in tabs]
                # a batch is often one block: re-score it in as many parts as there are threads
                part = max(MIN_PART, -(-len(chunk) // parts))
                with needing(res.host):
                    graph += [dask.delayed(pieces.rescore_part)(sd, sj, chunk, a, a + part, ps)
                              for a in range(0, len(chunk), part)]
        done = client.gather(client.compute(tables + graph))
    handles, results = done[:len(tables)], done[len(tables):]
    return results, cluster, sum(n for h in handles for n in h.reused.values())


def _rows_of_pairs(t: pa.Table, pairs: pa.Table) -> pa.Table:
    """The rows of ``t`` whose (missing_id, family_id) is a row of ``pairs``, in ``t``'s order."""
    numbered = t.select(["missing_id", "family_id"]).append_column(
        "_row", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    hit = numbered.join(pairs.select(["missing_id", "family_id"]), keys=["missing_id", "family_id"],
                        join_type="left semi")
    return t.take(pa.array(np.sort(hit.column("_row").to_numpy())))


def read_standing(base_run_dir: Path) -> tuple[pa.Table, pa.Table]:
    """The standing run's (candidates, per-locus) tables, checked against their contracts."""
    return (check_table(pq.read_table(base_run_dir / CANDIDATES_PARQUET), CANDIDATES, "standing candidates"),
            check_table(pq.read_table(base_run_dir / PER_LOCUS_PARQUET), PER_LOCUS, "standing per-locus"))


def merge_into_standing(standing: tuple[pa.Table, pa.Table], inc: IncrementalPlan, results: list[dict],
                        top_k: int, keep_all: float | None = None) -> tuple[pa.Table, pa.Table, int]:
    """The merged candidate lists: standing rows of the missing persons whose lists do not
    change, new lists of those scored against every family, and for the others whose list
    meets a changed family, their standing rows (changed families excepted) and new rows
    ranked together. All in Arrow: the standing rows never become Python objects.
    ``standing`` is :func:`read_standing` of the standing run.

    Returns (candidates, per-locus, candidate rows carried over unchanged).
    """
    new_c, new_l = results_tables(results)
    full = pa.array(sorted(inc.full), pa.string())
    changed = pa.array(sorted(inc.changed), pa.string())
    new_full = pc.is_in(new_c.column("missing_id"), full)
    fresh_c = new_c.filter(pc.invert(new_full))       # other missing persons x changed families
    touched = pa.array(sorted(set(fresh_c.column("missing_id").unique().to_pylist()) | set(inc.hit)),
                       pa.string())
    redo = pa.concat_arrays([touched, full]).unique()
    old_c, old_l = standing
    keep_c = old_c.filter(pc.invert(pc.is_in(old_c.column("missing_id"), redo)))
    in_redo = pc.is_in(old_l.column("missing_id"), redo)       # one pass over the large table
    keep_l, redo_l = old_l.filter(pc.invert(in_redo)), old_l.filter(in_redo)
    again_c = old_c.filter(pc.and_(pc.is_in(old_c.column("missing_id"), touched),
                                   pc.invert(pc.is_in(old_c.column("family_id"), changed))))
    ranked = ranking.rank_candidates(pa.concat_tables([again_c, fresh_c]), top_k, keep_all)
    new_full_l = pc.is_in(new_l.column("missing_id"), full)
    pool_l = pa.concat_tables([redo_l.filter(pc.invert(pc.is_in(redo_l.column("family_id"), changed))),
                               new_l.filter(pc.invert(new_full_l))])
    cands = pa.concat_tables([keep_c, new_c.filter(new_full), ranked])
    loci = pa.concat_tables([keep_l, new_l.filter(new_full_l), _rows_of_pairs(pool_l, ranked)])
    return cands, loci, keep_c.num_rows


def too_few_loci(shards: Path, manifest: Manifest, settings: Settings) -> int:
    """Missing persons typed at fewer than ``scoring.min_typed_loci`` loci (never searched)."""
    n = 0
    for rec in shards_of(manifest, "query"):
        codes = shard_codes(read_shard(shards, rec, verify=False))
        n += int(np.sum(np.count_nonzero(codes, axis=1) < settings.scoring.min_typed_loci))
    return n


def rerun_key(base_run_dir: Path, new_files: list[Path], settings: Settings, source: str | None = None) -> str:
    """Identifies a rerun (standing run, batch files or source and its watermark, scoring
    settings): only the same rerun may resume in a folder."""
    from reunion.io.postgres import redact

    blob = "".join([file_sha256(Path(base_run_dir) / RUN_JSON), *sorted(map(file_sha256, new_files)),
                    *([redact(source), str(settings.source.since)] if source else []),
                    settings.affecting_json(Affects.PIECES)])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _rerun_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    files = [Path(f).name for f in p.get("new_files", [])] or (["the source"] if p.get("source") else [])
    return (f"rerun {Path(p.get('base_run_dir', '.')).name} + {', '.join(files[:2])}"
            f"{' ...' if len(files) > 2 else ''} -> {Path(p.get('out_dir', '.')).name} "
            f"{dt.date.today().isoformat()}")


def move_pointer(runs_root: Path | None, out_dir: Path, base: Manifest, base_shards: Path) -> None:
    """After a successful rerun: the runs root's ``current`` pointer names it, if the pointer
    named the standing run's shard set (or there was none)."""
    if runs_root is None:
        return
    from reunion.flows.deploy import CURRENT, move_current, read_current

    cur = read_current(Path(runs_root))
    expect = None if cur is None else file_sha256(base_shards / "manifest.json")
    moved, now = move_current(Path(runs_root), out_dir, out_dir / SHARDS, "rerun-new-collections", expect)
    logger = get_run_logger()
    if moved:
        logger.info("%s now names %s: the next scheduled re-match reads its shards",
                    Path(runs_root) / CURRENT, out_dir)
    else:
        logger.warning("%s not moved: it names %s, not this rerun's standing run; rerun the batch "
                       "with --runs-root %s (its current run as --base)", Path(runs_root) / CURRENT,
                       now and now["run"], runs_root)


@flow(name="rerun-new-collections", flow_run_name=_rerun_name)
@locks.holding(writes="out_dir", what="rerun-new-collections")
def rerun_flow(base_run_dir: Path, new_files: list[Path], out_dir: Path, settings: Settings,
               runs_root: Path | None = None, source: str | None = None) -> RunRecord:
    """Append a new batch to the standing database, score what is new, merge, publish, and
    write the report against the standing run. With ``runs_root``, move its ``current``
    pointer to this run (flows/deploy.py). With ``source`` (a PostgreSQL URL, no password)
    the batch is its rows collected after the standing run
    (:func:`reunion.io.postgres.since_standing_run`)."""
    from reunion.io.postgres import is_source_label, redact, since_standing_run

    logger = get_run_logger()
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    base_run_dir, out_dir = Path(base_run_dir), Path(out_dir)
    base_run = RunRecord.load(base_run_dir / RUN_JSON)
    base_shards = Path(base_run.manifest.path).parent
    base = load_manifest(base_shards)
    if source is not None:
        settings = since_standing_run(base, base_shards, source, settings)
        logger.info("reading the rows of %s collected after %s", redact(source), settings.source.since)
    if claim_run_folder(out_dir, rerun_key(base_run_dir, new_files, settings, source), "rerun-new-collections",
                        base_run_dir):
        logger.info("resuming the rerun in %s", out_dir)
    new_samples, new_genos = classify_inputs(new_files)
    for i in base.inputs:
        if is_source_label(i.path):      # a table: read after its watermark, not re-hashed
            continue
        if file_sha256(Path(i.path)) != i.sha256:
            raise InputError(f"{i.path}: changed since the standing run (sha256 differs); "
                             "standing inputs are append-only. Run a full 'reunion rematch'.")
    shards = out_dir / SHARDS
    timings = Timings()
    reason = settings_changed(base_run, settings)
    with timings.stage("append"):
        added = append_new(base_shards, new_samples, new_genos, shards, settings, source) \
            if reason is None else reason
    if isinstance(added, str):
        reason = added
        logger.info("full re-match instead of incremental: %s", reason)
        if source is not None:           # the whole registry, every collection
            ingest([], [], shards, settings.model_copy(update={
                "source": settings.source.model_copy(update={"since": None})}), source=source)
        else:
            old_samples = [Path(i.path) for i in base.inputs if i.kind == "samples"]
            old_genos = [Path(i.path) for i in base.inputs if i.kind == "genotypes"]
            ingest(old_samples + new_samples, old_genos + new_genos, shards, settings)
        record = rematch_flow(shards, out_dir, settings,
                              mode={"kind": "full", "reason": reason, "base_run": str(base_run_dir)},
                              previous_run=base_run_dir, claim=False)
        move_pointer(runs_root, out_dir, base, base_shards)
        return record
    y_reason = y_reference_changed(base, load_manifest(shards), settings)
    if y_reason is not None:             # exact: a full re-match of the appended shard set
        logger.info("full re-match of the appended shard set instead of incremental: %s", y_reason)
        record = rematch_flow(shards, out_dir, settings,
                              mode={"kind": "full", "reason": y_reason, "base_run": str(base_run_dir)},
                              previous_run=base_run_dir, claim=False)
        move_pointer(runs_root, out_dir, base, base_shards)
        return record
    with timings.stage("plan"):
        inc = plan_incremental(base_run_dir, base, shards, added, settings)
        manifest = load_manifest(shards)
    # the standing lists are read while the workers score (the flow process would only wait)
    with ThreadPoolExecutor(1, thread_name_prefix="read-standing") as reader:
        standing = reader.submit(read_standing, base_run_dir)
        with timings.stage("score"):
            results, cluster, reused = score_incremental(
                shards, settings, quote(inc), tables_dir(base_run_dir, base, settings),
                tables_dir(out_dir, manifest, settings))
        with timings.stage("merge"):
            cands, loci, rows_kept = merge_into_standing(standing.result(), inc, results,
                                                         settings.scoring.top_k,
                                                         settings.scoring.keep_all_log10_lr)
    pairs = len(inc.full) * inc.n_families + len(inc.partial) * len(inc.changed)
    with_cands = len(cands.column("missing_id").unique())
    counts = {
        "pieces": None, "pairs_screened": pairs, "missing_with_candidates": with_cands,
        "missing_not_searched_too_few_loci": too_few_loci(shards, manifest, settings),
        **rescore_counts(results),
    }
    mode = {"kind": "incremental", "base_run": str(base_run_dir),
            "missing_scored_fully": len(inc.full), "missing_partially": len(inc.partial),
            "families_changed": len(inc.changed), "candidate_rows_carried_over": rows_kept,
            "shards": {"linked": added.linked_shards, "rewritten": added.rewritten_shards,
                       "new": added.new_shards},
            "table_rows_reused": reused}
    # the families' tables are this rerun's own (reused ones linked in); every candidate is
    # calibrated again: the searched database, so every expected_chance_matches, has changed
    # (the laws of unchanged families come from the standing run's law store)
    with timings.stage("calibrate"):
        cal = calibrate_candidates(shards, manifest, settings, tables_dir(out_dir, manifest, settings),
                                   quote(cands), quote(loci), tables_dir(base_run_dir, base, settings))
    record = run_record("rerun-new-collections", started, time.perf_counter() - t0, settings, shards,
                        manifest, cluster, counts, mode, timings)
    yc = y_context(str(shards), settings.model_dump_json())
    if yc is not None:
        record = record.model_copy(update={"y_evidence": yc.info()})
    record = publish(out_dir, quote((cands, loci)), record, quote(cal))
    record = record.model_copy(update={"report": str(report(out_dir, base_run_dir, settings))})
    move_pointer(runs_root, out_dir, base, base_shards)
    return record
