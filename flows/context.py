"""What a Dask worker loads once and keeps: the shard set's settings, manifest, encoding and
scorer, its shards, families and query profiles, each cached per worker process and keyed by
the manifest's stamp (a rewritten shard set is read again). Plain functions; no Prefect."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from reunion.contracts.records import FileRef, Manifest, ShardRecord
from reunion.genetics.family import Family, FamilyScorer
from reunion.genetics.mutation import MutationModels
from reunion.ingest import (
    MANIFEST,
    known_missing_sexes,
    load_encoding,
    load_manifest,
    read_shard,
    shard_codes,
    shard_families,
    shards_of,
)
from reunion.settings import Settings

log = logging.getLogger(__name__)


def manifest_stamp(shards_dir: str) -> tuple[int, int, int]:
    """(inode, mtime, size) of the manifest: it changes whenever the shard set is rewritten
    (every write renames a new file into place), so per-worker caches keyed by it never
    serve a previous ingest's data to a long-lived worker."""
    st = os.stat(Path(shards_dir) / MANIFEST)
    return st.st_ino, st.st_mtime_ns, st.st_size


def context(shards_dir: str, settings_json: str):
    """(settings, manifest, encoding, scorer) of a shard set, cached per worker process."""
    return _context_at(shards_dir, settings_json, manifest_stamp(shards_dir))


@lru_cache(maxsize=4)
def _context_at(shards_dir: str, settings_json: str, stamp: tuple):
    settings = Settings.model_validate_json(settings_json)
    manifest = load_manifest(Path(shards_dir))
    enc = load_encoding(Path(shards_dir), manifest)
    scorer = FamilyScorer(enc, MutationModels(settings.mutation, enc), settings.scoring.theta,
                          pedigree=settings.scoring.pedigree)
    return settings, manifest, enc, scorer


@lru_cache(maxsize=8)
def shard_table(shards_dir: str, path: str, sha256: str):
    """A query shard, read and checked once per worker process."""
    return read_shard(Path(shards_dir), FileRef(path=path, sha256=sha256))


def load_families(shards_dir: str, settings_json: str, ref_index: int) -> list[Family]:
    """Families of one reference shard, in shard (family_id) order."""
    return _families_at(shards_dir, settings_json, ref_index, manifest_stamp(shards_dir))


def family_at(shards_dir: str, settings_json: str, ref_index: int, position: int) -> Family:
    """The family at ``position`` of one reference shard, built alone (for re-scoring a
    shortlist without building every family of the shard)."""
    t, codes, starts = _family_spans(shards_dir, settings_json, ref_index, manifest_stamp(shards_dir))
    a, b = int(starts[position]), int(starts[position + 1])
    (family,) = shard_families(t.slice(a, b - a), codes[a:b])
    return family


@lru_cache(maxsize=64)
def _family_spans(shards_dir: str, settings_json: str, ref_index: int, stamp: tuple):
    """(shard table, uint16 codes [rows, L], int64 [F + 1] first row of each family + rows)."""
    _, manifest, _, _ = context(shards_dir, settings_json)
    t = read_shard(Path(shards_dir), references(manifest)[ref_index])
    fid = np.asarray(t.column("family_id").to_pylist(), dtype=object)
    starts = np.flatnonzero(fid[1:] != fid[:-1]) + 1 if len(fid) else np.zeros(0, np.int64)
    return t, shard_codes(t), np.concatenate([[0], starts, [len(fid)]]).astype(np.int64)


@lru_cache(maxsize=64)
def _families_at(shards_dir: str, settings_json: str, ref_index: int, stamp: tuple) -> list[Family]:
    t, codes, _ = _family_spans(shards_dir, settings_json, ref_index, stamp)
    return shard_families(t, codes)




def lost_sexes(shards_dir: str, settings_json: str, ref_index: int) -> np.ndarray | None:
    """str [F] the lost child's registered sex ('M', 'F', '' unknown) of each family of a
    reference shard, in shard order (:attr:`reunion.genetics.family.Family.lost_sex`); None
    when no family of the shard registers one (then no pair is a sex mismatch)."""
    return _lost_sexes_at(shards_dir, settings_json, ref_index, manifest_stamp(shards_dir))


@lru_cache(maxsize=64)
def _lost_sexes_at(shards_dir: str, settings_json: str, ref_index: int, stamp: tuple) -> np.ndarray | None:
    t, _, _ = _family_spans(shards_dir, settings_json, ref_index, stamp)
    if "lost_sex" not in t.column_names:         # shards written before the column register none
        return None
    given = t.column("lost_sex").null_count < t.num_rows or "lost_child" in set(t.column("relation").to_pylist())
    if not given:
        return None
    sexes = np.array([f.lost_sex or "" for f in _families_at(shards_dir, settings_json, ref_index, stamp)],
                     dtype="<U1")
    return sexes if (sexes != "").any() else None


def query_sexes(shards_dir: str, settings_json: str, q: int | list[str], start: int, stop: int) -> np.ndarray:
    """str [n] the known sex ('M', 'F', '' unknown) of the missing persons of :func:`query_rows`
    (the query shards' ``sex``; all unknown in shards written before that column)."""
    _, manifest, _, _ = context(shards_dir, settings_json)
    if isinstance(q, int):
        rec = shards_of(manifest, "query")[q]
        t = shard_table(shards_dir, rec.path, rec.sha256).slice(start, stop - start)
        vals = t.column("sex").to_pylist() if "sex" in t.column_names else [None] * t.num_rows
    else:
        known = _query_sexes_at(shards_dir, settings_json, manifest_stamp(shards_dir))
        vals = [known.get(x) for x in q]
    return np.array([v or "" for v in vals], dtype="<U1")


@lru_cache(maxsize=4)
def _query_sexes_at(shards_dir: str, settings_json: str, stamp: tuple) -> dict[str, str]:
    _, manifest, _, _ = context(shards_dir, settings_json)
    return known_missing_sexes(shards_dir, manifest)


def query_block(shards_dir: str, settings_json: str, q_index: int, start: int, stop: int):
    """(sample ids, uint16 codes [n, L]) of rows [start, stop) of query shard q_index."""
    _, manifest, _, _ = context(shards_dir, settings_json)
    rec = shards_of(manifest, "query")[q_index]
    t = shard_table(shards_dir, rec.path, rec.sha256).slice(start, stop - start)
    return t.column("sample_id").to_pylist(), shard_codes(t)


def all_queries(shards_dir: str, settings_json: str) -> tuple[dict[str, int], np.ndarray]:
    """Every missing person of the shard set: (row of each id, uint16 codes [N, L])."""
    return _queries_at(shards_dir, settings_json, manifest_stamp(shards_dir))


@lru_cache(maxsize=4)
def _queries_at(shards_dir: str, settings_json: str, stamp: tuple) -> tuple[dict[str, int], np.ndarray]:
    _, manifest, _, _ = context(shards_dir, settings_json)
    ids, codes = [], []
    for rec in shards_of(manifest, "query"):
        t = read_shard(Path(shards_dir), rec)
        ids.extend(t.column("sample_id").to_pylist())
        codes.append(shard_codes(t))
    L = len(manifest.loci)
    return {x: i for i, x in enumerate(ids)}, (np.vstack(codes) if codes else np.zeros((0, L), np.uint16))


def query_rows(shards_dir: str, settings_json: str, q: int | list[str], start: int, stop: int):
    if isinstance(q, int):
        return query_block(shards_dir, settings_json, q, start, stop)
    rows, codes = all_queries(shards_dir, settings_json)
    return list(q), codes[[rows[x] for x in q]]


def references(manifest: Manifest) -> list[ShardRecord]:
    return shards_of(manifest, "reference")


def y_context(shards_dir: str, settings_json: str):
    """The run's :class:`reunion.yevidence.YContext` (None: no Y evidence in this run:
    ``scoring.y_evidence`` false, or no missing man with a Y haplotype), cached per worker."""
    return _y_context_at(shards_dir, settings_json, manifest_stamp(shards_dir))


@lru_cache(maxsize=4)
def _y_context_at(shards_dir: str, settings_json: str, stamp: tuple):
    from reunion.yevidence import build_context

    settings, manifest, _, _ = context(shards_dir, settings_json)
    if not settings.scoring.y_evidence or manifest.y_haplotypes is None:
        return None
    rows, _ = all_queries(shards_dir, settings_json)
    return build_context(shards_dir, manifest, settings, list(rows))


def family_y(shards_dir: str, settings_json: str, ref_index: int, positions: list[int]) -> list:
    """The :class:`reunion.yevidence.FamilyY` of the families at ``positions`` of a reference
    shard (the screen's table rows, or a shortlist's), each built once per worker process and
    kept (:func:`_family_y_at`); [] without Y evidence."""
    stamp = manifest_stamp(shards_dir)
    if y_context(shards_dir, settings_json) is None:
        return []
    return [_family_y_at(shards_dir, settings_json, ref_index, p, stamp) for p in positions]


#: families' Y rows kept per worker (a row is the Y panel's width of float64: a few KB)
FAMILY_Y_CACHE = 65_536


@lru_cache(maxsize=FAMILY_Y_CACHE)
def _family_y_at(shards_dir: str, settings_json: str, ref_index: int, position: int, stamp: tuple):
    return y_context(shards_dir, settings_json).family(family_at(shards_dir, settings_json, ref_index,
                                                                 position))
