"""Atomic, permission-restricted output files.

Every output is written to a temporary name in the target folder, flushed,
fsynced, given restrictive permissions (owner read/write, group read: 0o640)
and renamed into place, so no reader ever sees a partial file. DNA profiles
are among the most sensitive data there is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

FILE_MODE = 0o640
DIR_MODE = 0o750


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0o750 if missing."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, FILE_MODE)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def link_or_copy(src: Path, dst: Path) -> Path:
    """Make ``dst`` hold ``src``'s bytes: a hard link when possible (no copy), else a copy.

    Every file written here is replaced by rename, never modified in place, so
    a link shares content that cannot change under it. Atomic like every write.
    """
    src, dst = Path(src), Path(dst)
    ensure_dir(dst.parent)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.link"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, FILE_MODE)
    os.replace(tmp, dst)
    return dst

def write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_table(table: pa.Table, path: Path, statistics: bool | list[str] = True) -> Path:
    """Write ``table`` atomically; format from the suffix (.parquet, .arrow, .csv).

    Parquet: ``statistics`` names the columns that get min/max statistics (all by
    default; on millions of rows, string statistics cost more than the rest of the write).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            pq.write_table(table, tmp, write_statistics=statistics)
        elif suffix in (".arrow", ".feather", ".ipc"):
            feather.write_feather(table, tmp, compression="uncompressed")
        elif suffix == ".csv":
            pacsv.write_csv(table, tmp)
        else:
            raise ValueError(f"{path}: unknown table format '{suffix}' (use .parquet, .arrow or .csv)")
    return path


def read_table(path: Path) -> pa.Table:
    """Read a table written by :func:`write_table`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix in (".arrow", ".feather", ".ipc"):
        return feather.read_table(path)
    if suffix == ".csv":
        return pacsv.read_csv(path)
    raise ValueError(f"{path}: unknown table format '{suffix}'")
