"""Validated readers for the samples and genotypes inputs.

Every input row is either accepted into a table that conforms to its contract
(:data:`reunion.contracts.SAMPLES` or :data:`reunion.contracts.GENOTYPES`) or
rejected with the file, the 1-based data row (header excluded), the field and
a reason that says what was expected and how to fix it. Nothing is dropped
silently: ``n_read == table.num_rows + len(rejects)`` always holds.

Formats (see :func:`detect_format`): CSV, Parquet, and tab-separated text such
as a GeneMapper ID-X genotype table export ("Sample Name", "Marker",
"Allele 1", "Allele 2", ...; other columns are ignored). Every cell is read
as a string. Text files are parsed with the C-implemented :mod:`csv` module
rather than ``pyarrow.csv`` because pyarrow cannot report the row number of
a malformed (ragged) row, which we must reject by row. Blank lines are not
data rows.

Header names are matched ignoring case, spaces and underscores ("Sample ID"
matches ``sample_id``). A missing required column makes the whole file
unusable and raises :class:`ValueError`.

Reasons and messages may name samples, loci and columns, but never echo an
allele value: genotypes do not belong in logs.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from reunion.errors import InputError, require_file
from reunion.contracts import GENOTYPES, REJECTS, RELATIONS, ROLES, SAMPLES, SAMPLES_REQUIRED, SEXES
from reunion.io.atomic import write_table
from reunion.loci import canonical_allele, valid_allele

log = logging.getLogger(__name__)

Format = Literal["csv", "parquet", "genemapper"]

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ALLELE_COL_RE = re.compile(r"^allele(\d+)$")
# Header aliases of the genotype columns (keys in _key() form).
_GENOTYPE_ALIASES = {"sampleid": "sample_id", "samplename": "sample_id",
                     "locus": "locus", "marker": "locus"}


@dataclass(frozen=True)
class Reject:
    """One rejected input row."""

    file: str
    row: int     # 1-based data row (header excluded)
    field: str   # column name as spelled in the file, or '*' for the whole row
    reason: str


@dataclass
class ReadResult:
    """Accepted rows as a contract table, the rejected rows, and the row count."""

    table: pa.Table
    rejects: list[Reject]
    n_read: int

    @property
    def n_accepted(self) -> int:
        return self.table.num_rows


# --------------------------------------------------------------------------- format and rows

def _key(name: str) -> str:
    """Header comparison key: 'Sample Name' -> 'samplename', 'collected_on' -> 'collectedon'."""
    return re.sub(r"[\s_]+", "", name.strip().lstrip("\ufeff").lower())


def _first_line(path: Path) -> str:
    with open(require_file(path, "input"), encoding="utf-8-sig", errors="replace", newline="") as fh:
        return fh.readline()


def detect_format(path: Path) -> Format:
    """Input format from the suffix, or from the header of a tab-separated file.

    ``.parquet`` -> Parquet; ``.txt``/``.tsv``, or any file whose first line is
    tab-separated with "Sample Name" and "Marker" columns -> GeneMapper ID-X
    export (tab-separated text); ``.csv`` -> CSV.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".txt", ".tsv"):
        return "genemapper"
    line = _first_line(path)
    if "\t" in line and {"samplename", "marker"} <= {_key(h) for h in line.split("\t")}:
        return "genemapper"
    if suffix == ".csv":
        return "csv"
    raise InputError(f"{path}: unknown input format '{suffix}'; use .csv, .parquet, "
                     "or a tab-separated GeneMapper ID-X export (.txt)")


@contextlib.contextmanager
def _open_rows(path: Path) -> Iterator[tuple[list[str], Iterator[tuple[int, Sequence[str] | None]]]]:
    """Yield the header and an iterator of (data row number, cells), for any format.

    Cells are unstripped strings ('' for empty or null). A ragged text row
    (more non-empty cells than header columns, or fewer) comes as ``None``.
    Blank lines are not data rows. The file is closed on leaving the block.
    """
    fmt = detect_format(require_file(path, "input"))
    if fmt == "parquet":
        table = pq.read_table(path)
        cols = [c.cast(pa.string()).fill_null("").to_pylist() for c in table.columns]
        yield list(table.column_names), enumerate(zip(*cols), start=1)
        return

    with open(path, encoding="utf-8-sig", newline="") as fh:
        tab = fmt == "genemapper"
        reader = csv.reader(fh, delimiter="\t" if tab else ",",
                            quoting=csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL)
        header = next((r for r in reader if "".join(r).strip()), None)
        if header is None:
            raise InputError(f"{path}: empty file, no header row")
        while not header[-1].strip():  # trailing delimiters
            header.pop()
        n = len(header)

        def rows() -> Iterator[tuple[int, Sequence[str] | None]]:
            row_no = 0
            for raw in reader:
                if not "".join(raw).strip():
                    continue  # blank line: not a data row
                row_no += 1
                if len(raw) == n:
                    yield row_no, raw
                elif len(raw) < n or "".join(raw[n:]).strip():
                    yield row_no, None
                else:  # trailing empty cells
                    yield row_no, raw[:n]

        yield [h.strip() for h in header], rows()


def _columns(path: Path, header: list[str], wanted: Mapping[str, str]) -> dict[str, int]:
    """Map canonical column names to header positions; ``wanted`` maps header keys to canonical names."""
    found: dict[str, int] = {}
    for i, h in enumerate(header):
        name = wanted.get(_key(h))
        if name is None:
            continue
        if name in found:
            raise InputError(f"{path}: columns '{header[found[name]]}' and '{h}' both give "
                             f"'{name}'; keep only one")
        found[name] = i
    return found


def _require(path: Path, found: Mapping[str, int], required: Iterable[str], what: str) -> None:
    for name in required:
        if name not in found:
            raise InputError(f"{path}: missing required column '{name}' in the {what} file; "
                             f"add it to the header (required: {', '.join(required)})")


def _ragged(file: str, row: int, n: int) -> Reject:
    return Reject(file, row, "*", f"row does not have the header's {n} columns; "
                  "fix the delimiters or quoting of this row")


# --------------------------------------------------------------------------- samples

def read_samples(path: Path) -> ReadResult:
    """Read and validate a samples file (CSV, Parquet or tab-separated text).

    Required columns: sample_id, role. Optional columns missing from the file
    become null. Empty optional values become null; sex is upper-cased, role
    and relation lower-cased.
    """
    path = Path(path)
    with _open_rows(path) as (header, rows):
        return _done(path, _samples(path, header, rows))


def _samples(path: Path, header: list[str], rows: Iterator[tuple[int, Sequence[str] | None]]) -> ReadResult:
    file = str(path)
    col = _columns(path, header, {_key(f.name): f.name for f in SAMPLES})
    _require(path, col, SAMPLES_REQUIRED, "samples")
    name = {c: header[i] for c, i in col.items()}
    optional = [f.name for f in SAMPLES if f.name not in SAMPLES_REQUIRED]

    out: dict[str, list] = {f.name: [] for f in SAMPLES}
    rejects: list[Reject] = []
    first_row: dict[str, int] = {}
    n_read = 0

    def reject(row: int, field: str, reason: str) -> None:
        rejects.append(Reject(file, row, name.get(field, field), reason))

    for row, cells in rows:
        n_read += 1
        if cells is None:
            rejects.append(_ragged(file, row, len(header)))
            continue
        v = {c: cells[i].strip() for c, i in col.items()}
        sid, role = v["sample_id"], v["role"].lower()
        family = v.get("family_id", "")
        relation = v.get("relation", "").lower()
        sex = v.get("sex", "").upper()
        date = v.get("collected_on", "")
        if not sid:
            reject(row, "sample_id", "empty sample_id: every row needs the sample's lab identifier")
            continue
        if sid in first_row:
            reject(row, "sample_id", f"duplicate sample_id '{sid}' (first in row {first_row[sid]}); "
                   "each sample must appear once: remove or renumber this row")
            continue
        first_row[sid] = row
        if role not in ROLES:
            reject(row, "role", f"role '{v['role']}' is not one of {', '.join(ROLES)}")
            continue
        if role == "relative" and not family:
            reject(row, "family_id", "a relative needs a family_id: give the family (case) identifier")
            continue
        if role == "relative" and relation not in RELATIONS:
            reject(row, "relation", f"relation '{v.get('relation', '')}' of a relative must be one of "
                   f"{', '.join(RELATIONS)}")
            continue
        if role == "missing" and relation:
            reject(row, "relation", "missing persons carry no relation: empty the relation "
                   "or set role to 'relative'")
            continue
        if sex and sex not in SEXES:
            reject(row, "sex", f"sex '{v['sex']}' is not one of {', '.join(SEXES)} (or empty)")
            continue
        if date and not _iso_date(date):
            reject(row, "collected_on", f"collected_on '{date}' is not an ISO date YYYY-MM-DD")
            continue
        v.update(sample_id=sid, role=role, relation=relation, sex=sex)
        out["sample_id"].append(sid)
        out["role"].append(role)
        for c in optional:
            out[c].append(v.get(c) or None)

    return ReadResult(pa.Table.from_pydict(out, schema=SAMPLES), rejects, n_read)


def _iso_date(text: str) -> bool:
    if not _DATE_RE.match(text):
        return False
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- genotypes

def read_genotypes(path: Path, normalise: Callable[[str], str | None],
                   samples: Mapping[str, str] | None = None) -> ReadResult:
    """Read and validate genotypes (CSV, Parquet, or a GeneMapper ID-X export).

    Columns: sample_id (or "Sample Name"), locus (or "Marker"), allele1,
    allele2 (or "Allele 1", "Allele 2"); further allele columns (allele3,
    "Allele 3", ...) must be empty; other columns are ignored. ``normalise``
    maps a raw locus name to the frequency table's spelling, or None. If
    ``samples`` (accepted sample_id -> role) is given, rows of other samples
    are rejected. Accepted alleles are canonical; an empty allele2 means a
    homozygote and repeats allele1.
    """
    path = Path(path)
    with _open_rows(path) as (header, rows):
        return _done(path, _genotypes(path, header, rows, normalise, samples))


def _genotypes(path: Path, header: list[str], rows: Iterator[tuple[int, Sequence[str] | None]],
               normalise: Callable[[str], str | None], samples: Mapping[str, str] | None) -> ReadResult:
    file = str(path)
    wanted = dict(_GENOTYPE_ALIASES)
    for h in header:
        m = _ALLELE_COL_RE.match(_key(h))
        if m:
            wanted[_key(h)] = f"allele{int(m.group(1))}"
    col = _columns(path, header, wanted)
    _require(path, col, ("sample_id", "locus", "allele1", "allele2"), "genotypes")
    name = {c: header[i] for c, i in col.items()}
    i_sid, i_locus, i_a1, i_a2 = (col[c] for c in ("sample_id", "locus", "allele1", "allele2"))
    extra = sorted((c for c in col if c.startswith("allele") and int(c[6:]) > 2), key=lambda c: int(c[6:]))
    i_extra = [(name[c], col[c]) for c in extra]

    out: dict[str, list[str]] = {f.name: [] for f in GENOTYPES}
    rejects: list[Reject] = []
    first_row: dict[tuple[str, str], int] = {}
    loci: dict[str, str | None] = {}
    n_read = 0

    def reject(row: int, field: str, reason: str) -> None:
        rejects.append(Reject(file, row, name.get(field, field), reason))

    for row, cells in rows:
        n_read += 1
        if cells is None:
            rejects.append(_ragged(file, row, len(header)))
            continue
        sid, raw_locus = cells[i_sid].strip(), cells[i_locus].strip()
        a1, a2 = cells[i_a1].strip(), cells[i_a2].strip()
        if not sid:
            reject(row, "sample_id", "empty sample_id: every row needs the sample's lab identifier")
            continue
        if samples is not None and sid not in samples:
            reject(row, "sample_id", f"sample '{sid}' is not in the samples file, or it was rejected "
                   "there: fix the samples file or remove these genotypes")
            continue
        if raw_locus not in loci:  # normalise once per distinct spelling
            loci[raw_locus] = normalise(raw_locus) if raw_locus else None
        locus = loci[raw_locus]
        if locus is None:
            reject(row, "locus", f"locus '{raw_locus}' is not in the run's frequency table (amelogenin "
                   "and Y loci are not used): check its spelling or drop the row")
            continue
        dup = first_row.setdefault((sid, locus), row)
        if dup != row:
            reject(row, "locus", f"duplicate genotype of sample '{sid}' at locus '{locus}' (first in "
                   f"row {dup}): keep one typing per sample and locus")
            continue
        extra_field = i_extra and next((h for h, i in i_extra if cells[i].strip()), None)
        if extra_field:
            reject(row, extra_field, "more than two alleles (mixture or artefact): "
                   "resolve the profile before matching")
            continue
        if not a1 and not a2:
            reject(row, "allele1", "no allele called (untyped locus): drop the row or type the locus")
            continue
        if not a1:
            reject(row, "allele1", "allele1 is missing while allele2 is given: "
                   "put a single (homozygous) allele in allele1")
            continue
        c1, why = _allele(a1)
        if why:
            reject(row, "allele1", why)
            continue
        c2, why = _allele(a2) if a2 else (c1, None)
        if why:
            reject(row, "allele2", why)
            continue
        out["sample_id"].append(sid)
        out["locus"].append(locus)
        out["allele1"].append(c1)
        out["allele2"].append(c2)

    return ReadResult(pa.Table.from_pydict(out, schema=GENOTYPES), rejects, n_read)


@functools.lru_cache(maxsize=4096)
def _allele(label: str) -> tuple[str | None, str | None]:
    """(canonical label, None), or (None, reason) when ``label`` is not a usable allele.

    The reason never echoes the value. Cached: a file holds few distinct labels.
    """
    if label.upper() == "OL":
        return None, "off-ladder (OL) call: re-analyse or type the sample again"
    if not valid_allele(label):
        return None, ("not a repeat-number allele label (expected e.g. 9, 10 or 9.3): "
                      "correct the allele call")
    return canonical_allele(label), None


def _done(path: Path, result: ReadResult) -> ReadResult:
    assert result.n_read == result.n_accepted + len(result.rejects)
    log.info("%s: %d rows read, %d accepted, %d rejected",
             path, result.n_read, result.n_accepted, len(result.rejects))
    return result


# --------------------------------------------------------------------------- rejects

def rejects_table(rejects: Iterable[Reject]) -> pa.Table:
    """Rejects as a table of the REJECTS contract."""
    rs = list(rejects)
    return pa.Table.from_pydict({
        "file": [r.file for r in rs], "row": [r.row for r in rs],
        "field": [r.field for r in rs], "reason": [r.reason for r in rs],
    }, schema=REJECTS)


def write_rejects(rejects: Iterable[Reject], path: Path) -> Path:
    """Write rejects atomically (mode 0o640) to ``path`` (CSV, or Parquet by suffix)."""
    return write_table(rejects_table(rejects), Path(path))
