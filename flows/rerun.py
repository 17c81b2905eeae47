"""Rerun after new collections: score only what is new and merge into the standing lists.

    ingest the union (standing inputs + new batch)  ->  compare with the standing run
    ->  new or changed missing persons x all families,
        unchanged missing persons x new or changed families
    ->  merge into the standing candidate lists  ->  publish

The merged result equals a full re-match over the union (tested byte for byte
after sorting). A full re-match is run instead when the frequencies, the
scoring settings or any locus's allele set changed (an allele set enters every
mutation matrix), and run.json says why.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import dask
import numpy as np
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from reunion.flows import pieces
from reunion.flows.cluster import dask_client, describe
from reunion.flows.rematch import (CANDIDATES_PARQUET, PER_LOCUS_PARQUET, RUN_JSON, publish,
                                   rematch_flow, run_key, run_record)
from reunion.frequencies import file_sha256
from reunion.ingest import ingest, load_encoding, load_manifest, read_shard, shard_codes
from reunion.settings import Settings

SHARDS = "shards"


def classify_inputs(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split new files into samples files (with a 'role' column) and genotype files."""
    samples, genotypes = [], []
    for p in map(Path, paths):
        if p.suffix.lower() == ".parquet":
            is_samples = "role" in pq.read_schema(p).names
        else:
            with open(p, newline="") as fh:
                header = fh.readline().lower()
            is_samples = "role" in header.replace("\t", ",").split(",") or ",role" in header
        (samples if is_samples else genotypes).append(p)
    return samples, genotypes


def profile_fingerprints(shards_dir: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """Fingerprints of every missing person (genotype indices) and every family.

    Only compared between shard sets with identical allele sets (see :func:`why_full`),
    where equal genotype indices mean equal genotypes.
    """
    manifest = load_manifest(shards_dir)
    missing: dict[str, bytes] = {}
    families: dict[str, list[str]] = {}
    for rec in manifest["shards"]:
        t = read_shard(shards_dir, rec)
        codes = shard_codes(t)
        if rec["side"] == "query":
            for sid, c in zip(t.column("sample_id").to_pylist(), codes):
                missing[sid] = c.tobytes()
        else:
            cols = [t.column(c).to_pylist() for c in ("sample_id", "family_id", "relation", "sex")]
            for (sid, fid, rel, sex), c in zip(zip(*cols), codes):
                families.setdefault(fid, []).append(f"{sid}:{rel}:{sex}:{c.tobytes().hex()}")
    return missing, {f: "#".join(sorted(m)) for f, m in families.items()}


def why_full(base: dict, new: dict, base_run: dict, settings: Settings, base_shards: Path,
             new_shards: Path) -> str | None:
    """Reason an incremental rerun would not equal a full re-match, or None."""
    if base["frequency_table"]["sha256"] != new["frequency_table"]["sha256"]:
        return "the frequency table changed"
    relevant = ("frequencies", "mutation", "scoring")
    if any(base_run["config"][k] != settings.model_dump(mode="json")[k] for k in relevant):
        return "the scoring settings changed"
    b, n = load_encoding(base_shards, base), load_encoding(new_shards, new)
    for lb, ln in zip(b.loci, n.loci):
        if lb.alleles != ln.alleles or not (lb.frequencies == ln.frequencies).all():
            return f"the allele set of {lb.locus} changed (new rare allele): it enters the mutation model"
    return None


@task(name="plan-incremental", cache_policy=NO_CACHE, persist_result=False)
def plan_incremental(base_run_dir: Path, base_shards: Path, new_shards: Path, settings: Settings) -> dict:
    """Which missing persons to score against all families, which against the changed ones."""
    bm, bf = profile_fingerprints(base_shards)
    nm, nf = profile_fingerprints(new_shards)
    changed = frozenset(f for f, fp in nf.items() if bf.get(f) != fp) | frozenset(set(bf) - set(nf))
    new_missing = {m for m, fp in nm.items() if bm.get(m) != fp}
    old = pq.read_table(base_run_dir / CANDIDATES_PARQUET).to_pylist()
    loci = pq.read_table(base_run_dir / PER_LOCUS_PARQUET).to_pylist()
    per_pair: dict[tuple[str, str], list[dict]] = {}
    for row in loci:
        per_pair.setdefault((row["missing_id"], row["family_id"]), []).append(row)
    standing: dict[str, list] = {}
    for c in old:
        standing.setdefault(c["missing_id"], []).append(c)
    k = settings.scoring.top_k
    full, kept = set(new_missing), {}
    for m in nm:
        if m in new_missing:
            continue
        lst = standing.get(m, [])
        keep = [c for c in lst if c["family_id"] not in changed]
        if len(lst) == k and len(keep) < k:
            full.add(m)       # a family beyond the standing top-k may now enter: score m fully
        else:
            kept[m] = [(c, per_pair[(m, c["family_id"])]) for c in keep]
    min_loci = settings.scoring.min_typed_loci
    too_few = sum(1 for fp in nm.values()
                  if np.count_nonzero(np.frombuffer(fp, dtype=np.uint16)) < min_loci)
    return {"full": sorted(full), "partial": sorted(kept), "kept": kept, "changed": changed,
            "n_missing": len(nm), "n_families": len(nf), "too_few_loci": too_few}


@task(name="score-incremental", cache_policy=NO_CACHE, persist_result=False)
def score_incremental(shards_dir: Path, settings: Settings, inc: dict,
                      reuse_tables: Path | None = None) -> tuple[list[dict], dict]:
    """Score the planned missing persons; unchanged families' tables come from the standing run."""
    logger = get_run_logger()
    reuse = str(reuse_tables) if reuse_tables and reuse_tables.exists() else None
    sd, sj = str(shards_dir), settings.model_dump_json()
    manifest = load_manifest(shards_dir)
    n_refs = sum(1 for s in manifest["shards"] if s["side"] == "reference")
    block = settings.scoring.query_block
    graph = []
    for ids, only in ((inc["full"], None), (inc["partial"], inc["changed"])):
        if not ids or only is not None and not only:
            continue
        tables = [dask.delayed(pieces.build_tables)(sd, sj, r, only, None, reuse) for r in range(n_refs)]
        for i in range(0, len(ids), block):
            chunk = ids[i:i + block]
            ps = [dask.delayed(pieces.screen_piece)(sd, sj, chunk, 0, 0, t) for t in tables]
            graph.append(dask.delayed(pieces.merge_and_rescore)(sd, sj, chunk, 0, 0, ps))
    logger.info("incremental: %d missing persons x all families, %d x %d changed families",
                len(inc["full"]), len(inc["partial"]), len(inc["changed"]))
    with dask_client(settings.cluster) as client:
        cluster = describe(client, settings.cluster)
        results = client.gather(client.compute(graph)) if graph else []
    # merge the new candidates of unchanged missing persons into their standing lists
    fresh: dict[str, list] = {}
    for r in results:
        loci: dict[tuple[str, str], list] = {}
        for row in r["per_locus"]:
            loci.setdefault((row["missing_id"], row["family_id"]), []).append(row)
        for c in r["candidates"]:
            fresh.setdefault(c["missing_id"], []).append((c, loci[(c["missing_id"], c["family_id"])]))
    out_c, out_l = [], []
    for m in sorted(set(inc["full"]) | set(inc["partial"])):
        entries = fresh.get(m, []) + inc["kept"].get(m, [])
        cands, loci = pieces.rank_entries(entries, settings.scoring.top_k)
        out_c.extend(cands)
        out_l.extend(loci)
    merged = [{"candidates": out_c, "per_locus": out_l, "queries": inc["n_missing"],
               "tables_reused": sum({k: v for r in results
                                     for k, v in r.get("tables_reused", {}).items()}.values()),
               "with_candidates": len({c["missing_id"] for c in out_c})}]
    return merged, cluster


@flow(name="rerun-new-collections")
def rerun_flow(base_run_dir: Path, new_files: list[Path], out_dir: Path, settings: Settings) -> dict:
    """Ingest a new batch with the standing inputs, score what is new, merge, publish."""
    logger = get_run_logger()
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    base_run_dir, out_dir = Path(base_run_dir), Path(out_dir)
    base_run = json.loads((base_run_dir / RUN_JSON).read_text())
    base_shards = Path(base_run["manifest"]["path"]).parent
    base = load_manifest(base_shards)
    new_samples, new_genos = classify_inputs(new_files)
    old_samples = [Path(i["path"]) for i in base["inputs"] if i["kind"] == "samples"]
    old_genos = [Path(i["path"]) for i in base["inputs"] if i["kind"] == "genotypes"]
    for i in base["inputs"]:
        if file_sha256(Path(i["path"])) != i["sha256"]:
            raise ValueError(f"{i['path']}: changed since the standing run (sha256 differs); "
                             "standing inputs are append-only. Run a full 'reunion rematch'.")
    shards = out_dir / SHARDS
    ingest(old_samples + new_samples, old_genos + new_genos, shards, settings)
    new = load_manifest(shards)
    reason = why_full(base, new, base_run, settings, base_shards, shards)
    if reason:
        logger.info("full re-match instead of incremental: %s", reason)
        return rematch_flow(shards, out_dir, settings,
                            mode={"kind": "full", "reason": reason, "base_run": str(base_run_dir)})
    inc = plan_incremental(base_run_dir, base_shards, shards, settings)
    standing_tables = base_run_dir / "pieces" / run_key(base_shards, settings)
    results, cluster = score_incremental(shards, settings, quote(inc), standing_tables)
    pairs = len(inc["full"]) * inc["n_families"] + len(inc["partial"]) * len(inc["changed"])
    counts = {
        "pieces": None, "pairs_screened": pairs,
        "missing_with_candidates": results[0]["with_candidates"],
        "missing_not_searched_too_few_loci": inc["too_few_loci"],
    }
    mode = {"kind": "incremental", "base_run": str(base_run_dir),
            "missing_scored_fully": len(inc["full"]), "missing_partially": len(inc["partial"]),
            "families_changed": len(inc["changed"]), "table_rows_reused": results[0]["tables_reused"]}
    record = run_record("rerun-new-collections", started, time.perf_counter() - t0, settings, shards,
                        new, cluster, counts, mode)
    return publish(out_dir, quote(results), record)
