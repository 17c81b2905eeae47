"""Lost-child tables of the reference shards: where a run keeps them (keyed by what a table
depends on), building or reusing them per shard, and the handles Dask moves between workers
(file names, not arrays). Plain functions run by Dask workers; no Prefect."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reunion.contracts.records import Manifest
from reunion.flows.context import context, load_families, references
from reunion.io import atomic
from reunion.settings import Affects, Settings

log = logging.getLogger(__name__)


def tables_dir(run_dir: Path, manifest: Manifest, settings: Settings) -> Path:
    """Where a run keeps its lost-child tables, keyed by what a table depends on:
    the allele codes, the frequencies, the mutation model and theta."""
    relevant = settings.affecting_json(Affects.TABLES)
    key = hashlib.sha256((manifest.alleles.sha256 + relevant).encode()).hexdigest()[:16]
    return Path(run_dir) / "tables" / key


def table_file(folder: Path | str, shard_sha256: str) -> Path:
    """The tables (float64 [F', W] .npy) of the reference shard with this sha256; beside it
    ``.index.npz`` holds their family ids and positions. Same shard bytes, same tables."""
    return Path(folder) / f"{shard_sha256[:32]}.npy"


def _index_file(npy: Path) -> Path:
    return npy.with_suffix(".index.npz")


@dataclass(frozen=True)
class TableHandle:
    """The lost-child tables of (some of) the families of one reference shard, as a Dask
    task passes them to the next (:func:`shard_tables`, :func:`restrict_tables`).

    F' families with a typed member; their tables (float64 [F', W], W = the encoding's
    width) are either held in ``tables`` or, when saved, read from ``file`` (the saved
    float64 [F, W] .npy, memory-mapped; ``rows`` int64 [F'] picks the handle's rows of it
    when the handle was restricted). Read them with :func:`table_values`.
    """
    #: index of the reference shard among the manifest's reference shards
    ref_index: int
    #: str [F'] family ids, in shard order
    family_ids: np.ndarray
    #: int64 [F'] position of each family in its shard
    positions: np.ndarray
    #: {ref_index: table rows read from a standing run rather than built}
    reused: dict[int, int]
    #: float64 [F', W] tables in memory (None when saved: see ``file``)
    tables: np.ndarray | None = None
    #: the saved tables' .npy (None when held in ``tables``)
    file: str | None = None
    #: int64 [F'] rows of ``file`` that are this handle's (None: all of them)
    rows: np.ndarray | None = None


def saved_handle(path: Path, ref_index: int, reused: int = 0) -> TableHandle:
    """A saved table set as a handle: the tables stay on disk (memory-mapped where read),
    so Dask moves a file name between workers, not the arrays."""
    with np.load(_index_file(path)) as z:
        return TableHandle(ref_index=ref_index, family_ids=z["family_ids"], positions=z["positions"],
                           reused={ref_index: reused}, file=str(path))


def link_tables(src: Path, dst: Path) -> Path:
    """Carry saved tables over to another run (hard links, no copies)."""
    atomic.link_or_copy(_index_file(src), _index_file(dst))
    return atomic.link_or_copy(src, dst)                   # last: marks it done


def table_values(tables: TableHandle) -> np.ndarray:
    """float64 [F', W] tables of a handle from :func:`shard_tables` / :func:`restrict_tables`."""
    if tables.tables is not None:
        return tables.tables
    values = np.load(tables.file, mmap_mode="r")
    return values[tables.rows] if tables.rows is not None else values


def shard_tables(shards_dir: str, settings_json: str, ref_index: int, save_dir: str | None = None,
                 reuse_dir: str | None = None, changed: frozenset[str] = frozenset()) -> TableHandle:
    """Lost-child tables of one reference shard.

    Returns the :class:`TableHandle` of the F' families with a typed member: the tables
    in memory or, when saved, their file (read with :func:`table_values`). Tables are saved in ``save_dir`` under the
    shard's sha256 (a resumed run reads them back). ``reuse_dir`` is a standing run's
    table folder with the same codes and settings: a shard it already holds is read,
    not built; for a rewritten shard (its manifest record ``replaces`` a standing
    shard) only the families in ``changed`` and new ones are built.
    """
    _, manifest, enc, scorer = context(shards_dir, settings_json)
    rec = references(manifest)[ref_index]
    own = table_file(save_dir, rec.sha256) if save_dir else None
    if own is not None and own.exists():
        return saved_handle(own, ref_index)
    old = table_file(reuse_dir, rec.sha256) if reuse_dir else None
    if old is not None and old.exists():
        if own is not None:
            link_tables(old, own)
        h = saved_handle(own or old, ref_index)
        return dataclasses.replace(h, reused={ref_index: len(h.positions)})
    families = load_families(shards_dir, settings_json, ref_index)
    positions, hyps, ids = [], [], []
    for i, fam in enumerate(families):
        h = scorer.hypothesis(fam)
        if h is not None:
            positions.append(i)
            hyps.append(h)
            ids.append(fam.family_id)
    prev_path = table_file(reuse_dir, rec.replaces) if reuse_dir and rec.replaces else None
    prev = saved_handle(prev_path, ref_index) if prev_path is not None and prev_path.exists() else None
    row_of = {f: j for j, f in enumerate(prev.family_ids.tolist())} if prev else {}
    keep = [j for j, f in enumerate(ids) if f in row_of and f not in changed]
    build = [j for j, f in enumerate(ids) if not (f in row_of and f not in changed)]
    tables = np.empty((len(ids), enc.width), dtype=np.float64)
    if build:
        tables[build] = scorer.table_rows([hyps[j] for j in build])
    if keep:
        tables[keep] = table_values(prev)[[row_of[ids[j]] for j in keep]]
    index = {"family_ids": np.array(ids, dtype=str), "positions": np.asarray(positions, dtype=np.int64)}
    if own is not None:
        with atomic.atomic_path(_index_file(own)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **index)
        with atomic.atomic_path(own) as tmp, open(tmp, "wb") as fh:   # written last: marks it done
            np.save(fh, tables)
        return saved_handle(own, ref_index, len(keep))
    return TableHandle(ref_index=ref_index, family_ids=index["family_ids"], positions=index["positions"],
                       reused={ref_index: len(keep)}, tables=tables)


def saved_rows(files: dict[int, str], keys: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray] | None:
    """The saved table rows of the families ``keys`` ((reference shard index, position in the
    shard)), read from the shards' saved tables ``files`` (ref index -> .npy, memory-mapped):
    float64 [J, W] rows of the distinct families and int64 [len(keys)] the row of each key;
    None when a key's shard has no saved file or a family has no saved row."""
    if any(r not in files for r, _ in keys) or not all(Path(f).exists() for f in files.values()):
        return None
    distinct: dict[tuple[int, int], int] = {}
    row_of = np.fromiter((distinct.setdefault(k, len(distinct)) for k in keys), np.int64, len(keys))
    by_shard: dict[int, list[tuple[int, int]]] = {}
    for (r, pos), j in distinct.items():
        by_shard.setdefault(r, []).append((pos, j))
    out: np.ndarray | None = None
    for r, items in by_shard.items():
        with np.load(_index_file(Path(files[r]))) as z:
            positions = z["positions"]
        pos = np.array([p for p, _ in items], np.int64)
        at = np.searchsorted(positions, pos)
        if (at >= len(positions)).any() or (positions[np.minimum(at, len(positions) - 1)] != pos).any():
            return None
        values = np.load(files[r], mmap_mode="r")
        if out is None:
            out = np.empty((len(distinct), values.shape[1]))
        out[[j for _, j in items]] = values[at]
    return out, row_of


def restrict_tables(tables: TableHandle, families: frozenset[str]) -> TableHandle:
    """The rows of ``tables`` that belong to ``families``."""
    rows = np.flatnonzero(np.isin(tables.family_ids, np.array(sorted(families), dtype=str)))
    if tables.tables is not None:
        held = {"tables": tables.tables[rows]}
    else:
        held = {"rows": rows if tables.rows is None else tables.rows[rows]}
    return dataclasses.replace(tables, family_ids=tables.family_ids[rows], positions=tables.positions[rows],
                               **held)
