"""Validated readers for the samples and genotypes inputs.

Every input row is either accepted into a table that conforms to its contract
(:data:`reunion.contracts.SAMPLES` or :data:`reunion.contracts.GENOTYPES`),
rejected with the file, the line, the field and a reason that says what was
expected and how to fix it, or (genotypes) set aside as a marker that is not
an autosomal STR (amelogenin, Y-STR loci; counted per locus). Nothing is
dropped silently: ``n_read == n_accepted + len(rejects) + n_skipped`` always
holds.

Row numbers are the line an editor or a spreadsheet shows: the header is line
1, so the first data row is line 2, and blank lines count as lines (they are
not data rows). A Parquet file has no lines: its row ``i`` (0-based) is
numbered ``i + 2``, as if its header were line 1.

Formats (see :func:`detect_format`): CSV, Parquet, spreadsheets (.xlsx, .xlsm,
.xls, .xlsb, .ods: the first sheet, its first non-blank row the header), and
tab-separated text such as a GeneMapper ID-X genotype table export ("Sample
Name", "Marker", "Allele 1", "Allele 2", ...; other columns are ignored).
Text files may be UTF-8 (with or without a byte-order mark) or UTF-16 with a
byte-order mark (Windows lab software), with any line ends; the delimiter
(comma, semicolon or tab, as Excel writes in some locales) is read from the
header line (:func:`sniff`). Where the delimiter is not a comma, a comma in an
allele is a decimal comma ('9,3' is 9.3). Every cell is read as a string.
Text files are parsed with the C-implemented :mod:`csv` module rather than
``pyarrow.csv`` because pyarrow cannot report the line of a malformed
(ragged) row, which we must reject by line. (:mod:`reunion.io.stream` parses genotype files
with pyarrow batch by batch, and hands a batch to the csv module where a row would need it.)

Header names are matched ignoring case, spaces, underscores, quotes and a
byte-order mark ("Sample ID" matches ``sample_id``). A missing required
column makes the whole file unusable and raises :class:`InputError`;
:func:`classify` tells a samples file from a genotypes file by its header.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from reunion.errors import InputError, require_file
from reunion.contracts import (GENOTYPES, PEDIGREE_RELATIONS, REJECTS, RELATIONS, ROLES, SAMPLES, SAMPLES_REQUIRED,
                              SEXES)
from reunion.io.atomic import write_table
from reunion.loci import canonical_allele, locus_kind, valid_allele

log = logging.getLogger(__name__)

Format = Literal["csv", "parquet", "genemapper", "xlsx", "cmf"]
Kind = Literal["samples", "genotypes"]

#: spreadsheet suffixes read with python-calamine (first sheet)
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
#: delimiters a text file may use, in order of preference on a tie
DELIMITERS = (",", ";", "\t")
_EXPORT_HINT = "or save its first sheet as 'CSV UTF-8' (Excel: File > Save As) and give that file"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ALLELE_COL_RE = re.compile(r"^allele(\d+)$")
# Header aliases of the genotype columns (keys in _key() form).
_GENOTYPE_ALIASES = {"sampleid": "sample_id", "samplename": "sample_id",
                     "locus": "locus", "marker": "locus"}


@dataclass(frozen=True)
class Reject:
    """One rejected input row."""

    file: str
    row: int     # line in the file as an editor shows it (header = line 1)
    field: str   # column name as spelled in the file, or '*' for the whole row
    reason: str


@dataclass
class ReadResult:
    """Accepted rows as a contract table, the rejected rows, and the row counts.

    ``lines`` holds the line of each accepted row (table order). For genotypes:
    ``skipped`` counts, per locus as spelled, the rows of markers that are read
    but not scored (amelogenin, Y-STR loci); ``observed_sex`` maps a sample to
    the sex its amelogenin call shows ('M' or 'F'); ``unscored`` counts, per
    locus as spelled, the (rejected) rows of an autosomal locus the frequency
    table lacks, with the table's closest spelling (or None).
    """

    table: pa.Table
    rejects: list[Reject]
    n_read: int
    lines: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    observed_sex: dict[str, str] = field(default_factory=dict)
    unscored: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    sex_mismatches: int = 0

    @property
    def n_accepted(self) -> int:
        return self.table.num_rows

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())


# --------------------------------------------------------------------------- format and rows

def _key(name: str) -> str:
    """Header comparison key: 'Sample Name' -> 'samplename', '"collected_on"' -> 'collectedon'."""
    return re.sub(r"[\s_\"']+", "", name.strip().lstrip("\ufeff").lower())


@dataclass(frozen=True)
class TextDialect:
    """How a text input is written: its encoding and its delimiter."""

    encoding: str    # 'utf-8-sig' (UTF-8, byte-order mark or not) or 'utf-16' (with its mark)
    delimiter: str   # ',', ';' or a tab
    quoted_header: bool = False

    @property
    def decimal_comma(self) -> bool:
        """A comma in a number is a decimal comma when it cannot be the delimiter."""
        return self.delimiter != ","


def sniff(path: Path) -> TextDialect:
    """The encoding (by byte-order mark) and delimiter (from the header line) of a text file.

    The one home of "how is this text file written", for every text reader
    (samples, genotypes, pairs, frequency tables). The delimiter is the one of
    :data:`DELIMITERS` that splits the first non-blank line into the most
    columns (a comma on a tie). A zip file (an Excel workbook under another
    name) or UTF-16 without its byte-order mark is refused in one line.
    """
    with open(require_file(path, "input"), "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif head.startswith(b"PK\x03\x04"):
        raise InputError(f"{path}: is a zip file (an Excel workbook?), not text: give it the "
                         f"suffix .xlsx, {_EXPORT_HINT}")
    elif b"\x00" in head[:4096]:
        raise InputError(f"{path}: holds NUL bytes (UTF-16 without a byte-order mark?); "
                         "save it as 'CSV UTF-8' or as UTF-16 with a byte-order mark")
    else:
        encoding = "utf-8-sig"
    text = head[:len(head) - len(head) % 2] if encoding == "utf-16" else head
    lines = text.decode(encoding, errors="replace").splitlines()
    line = next((ln for ln in lines if ln.strip()), "")
    best = max(DELIMITERS, key=lambda d: (len(next(csv.reader([line], delimiter=d), [])), -DELIMITERS.index(d)))
    return TextDialect(encoding, best, line.lstrip("\ufeff").lstrip().startswith('"'))


def _first_line(path: Path) -> tuple[TextDialect, list[str]]:
    """The dialect of a text file and the cells of its first non-blank line."""
    d = sniff(path)
    with open(path, encoding=d.encoding, errors="replace", newline="") as fh:
        for raw in csv.reader(fh, delimiter=d.delimiter):
            if "".join(raw).strip():
                return d, raw
    return d, []


def detect_format(path: Path) -> Format:
    """Input format from the suffix, or from the header of a tab-separated file.

    ``.parquet`` -> Parquet; ``.xlsx``/``.xls``/``.ods``/... -> spreadsheet
    (first sheet); ``.txt``/``.tsv``, or any file whose first line is
    tab-separated with "Sample Name" and "Marker" columns -> GeneMapper ID-X
    export (tab-separated text); ``.csv`` -> CSV (comma, semicolon or tab).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in SPREADSHEETS:
        return "xlsx"
    from reunion.io.cmf import is_cmf  # here: reunion.io.cmf imports this module
    if suffix not in SPREADSHEETS and is_cmf(path):   # CODIS CMF XML, by its root element
        return "cmf"
    if suffix in (".txt", ".tsv"):
        return "genemapper"
    d, cells = _first_line(path)
    if d.delimiter == "\t" and {"samplename", "marker"} <= {_key(h) for h in cells}:
        return "genemapper"
    if suffix == ".csv":
        return "csv"
    raise InputError(f"{path}: unknown input format '{suffix}'; use .csv, .parquet, .xlsx, "
                     "or a tab-separated GeneMapper ID-X export (.txt)")


Rows = Iterator[tuple[int, Sequence[str] | None]]


def _shaped(lines: Iterable[tuple[int, Sequence[str]]], n: int) -> Rows:
    """(line, cells) of the non-blank rows, cells cut to the header's ``n`` columns;
    a ragged row (fewer cells, or more non-empty ones) comes as ``None``."""
    for line, raw in lines:
        if not "".join(raw).strip():
            continue  # blank line: not a data row
        if len(raw) == n:
            yield line, raw
        elif len(raw) < n or "".join(raw[n:]).strip():
            yield line, None
        else:  # trailing empty cells
            yield line, raw[:n]


def _header_of(lines: Iterator[tuple[int, Sequence[str]]], path: Path) -> list[str]:
    header = next((list(r) for _, r in lines if "".join(r).strip()), None)
    if header is None:
        raise InputError(f"{path}: empty file, no header row")
    while not header[-1].strip():  # trailing delimiters
        header.pop()
    return header


def _cell_text(v: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold ('14', '9.3', '2024-03-01')."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def _sheet_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells as text) of the first sheet of a workbook."""
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(f"{path}: reading a spreadsheet needs the python-calamine package "
                         f"(pip install python-calamine); {_EXPORT_HINT}") from None
    try:
        data = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:  # CalamineError: ZipError, XmlError, ...
        raise InputError(f"{path}: cannot be read as a spreadsheet ({type(exc).__name__}); "
                         f"check the file, {_EXPORT_HINT}") from None
    return [(i, [_cell_text(v) for v in row]) for i, row in enumerate(data, start=1)]


@contextlib.contextmanager
def _open_rows(path: Path) -> Iterator[tuple[list[str], Rows]]:
    """Yield the header and an iterator of (line, cells), for any format.

    Cells are unstripped strings ('' for empty or null). A ragged row (more
    non-empty cells than header columns, or fewer) comes as ``None``. Blank
    lines are not data rows but count as lines. The file is closed on leaving
    the block.
    """
    fmt = detect_format(require_file(path, "input"))
    if fmt == "parquet":
        table = pq.read_table(path)
        cols = [c.cast(pa.string()).fill_null("").to_pylist() for c in table.columns]
        yield list(table.column_names), enumerate(zip(*cols), start=2)
        return
    if fmt == "xlsx":
        lines = iter(_sheet_lines(path))
        header = _header_of(lines, path)
        yield [h.strip() for h in header], _shaped(lines, len(header))
        return

    d = sniff(path)
    with open(path, encoding=d.encoding, newline="") as fh:
        unquoted = unquoted_cells(fmt, d)
        reader = csv.reader(fh, delimiter=d.delimiter,
                            quoting=csv.QUOTE_NONE if unquoted else csv.QUOTE_MINIMAL)

        def numbered() -> Iterator[tuple[int, list[str]]]:
            start = 1
            for raw in reader:  # a quoted cell may span lines: a row is numbered by its first
                yield start, raw
                start = reader.line_num + 1

        try:
            lines = numbered()
            header = _header_of(lines, path)
            yield [h.strip() for h in header], _shaped(lines, len(header))
        except UnicodeDecodeError:
            raise not_utf8(path) from None


def unquoted_cells(fmt: str, d: TextDialect) -> bool:
    """Whether a text file's cells are read unquoted: GeneMapper writes tab-separated cells
    that may hold a quote character, unquoted (unless its header is quoted)."""
    return fmt == "genemapper" and d.delimiter == "\t" and not d.quoted_header


def not_utf8(path: Path | str) -> InputError:
    """The one line for a text file that is not UTF-8 (nor UTF-16 with a byte-order mark)."""
    return InputError(f"{path}: is not UTF-8 text (Excel's plain 'CSV' is in the Windows code "
                      "page): save it as 'CSV UTF-8', or as UTF-16 with a byte-order mark")


def _header(path: Path) -> list[str]:
    """The header (column names) of any input, without reading its rows."""
    if detect_format(require_file(path, "input")) == "parquet":
        return list(pq.read_schema(path).names)
    with _open_rows(path) as (header, _):
        return header


def classify(path: Path) -> Kind:
    """'samples' or 'genotypes', by the columns of the header (any format).

    A samples file has sample_id and role; a genotypes file has sample_id (or
    "Sample Name") and locus (or "Marker"). A file that is neither, or both,
    raises :class:`InputError` in one line.
    """
    path = Path(path)
    if detect_format(require_file(path, "input")) == "cmf":   # registrations come with genotypes
        return "genotypes"
    keys = {_key(h) for h in _header(path)}
    samples = {"sampleid", "role"} <= keys
    genotypes = bool(keys & {"sampleid", "samplename"}) and bool(keys & {"locus", "marker"})
    if samples != genotypes:
        return "samples" if samples else "genotypes"
    if samples:
        raise InputError(f"{path}: the header has both a 'role' column (samples) and a 'locus' "
                         "column (genotypes); give samples and genotypes as two files")
    raise InputError(f"{path}: neither a samples file (header with sample_id, role, ...) nor a "
                     "genotypes file (sample_id, locus, allele1, allele2, or a GeneMapper export's "
                     "Sample Name, Marker, Allele 1, Allele 2); check that its first line is the header")


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
    """Read and validate a samples file (CSV, Parquet, spreadsheet or tab-separated text).

    Required columns: sample_id, role; a file holding a relative also needs
    family_id and relation (without them every relative would be rejected, so
    the file is refused in one line). Other optional columns missing from the
    file become null. Empty optional values become null; sex is upper-cased,
    role and relation lower-cased.
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
    lines: list[int] = []
    n_read = 0
    lacking = [c for c in ("family_id", "relation") if c not in col]

    def reject(row: int, field: str, reason: str) -> None:
        rejects.append(Reject(file, row, name.get(field, field), reason))

    for row, cells in rows:
        n_read += 1
        if cells is None:
            rejects.append(_ragged(file, row, len(header)))
            continue
        v = {c: cells[i].strip() for c, i in col.items()}
        if lacking and v["role"].lower() == "relative":
            raise InputError(f"{path}: line {row} is a relative, but the header has no "
                             f"{' and no '.join(repr(c) for c in lacking)} column: a relative needs "
                             f"its family_id and its relation to the lost child ({', '.join(RELATIONS)}); "
                             "add the column")
        sid, role = v["sample_id"], v["role"].lower()
        family = v.get("family_id", "")
        relation = v.get("relation", "").lower()
        sex = v.get("sex", "").upper()
        date = v.get("collected_on", "")
        if not sid:
            reject(row, "sample_id", "empty sample_id: every row needs the sample's lab identifier")
            continue
        if sid in first_row:
            reject(row, "sample_id", f"duplicate sample_id '{sid}' (first on line {first_row[sid]}); "
                   "each sample must appear once: remove or renumber this row")
            continue
        first_row[sid] = row
        if role not in ROLES:
            reject(row, "role", f"role '{v['role']}' is not one of {', '.join(ROLES)}")
            continue
        if role == "relative" and not family:
            reject(row, "family_id", "a relative needs a family_id: give the family (case) identifier")
            continue
        if role == "relative" and relation not in RELATIONS + PEDIGREE_RELATIONS:
            reject(row, "relation", f"relation '{v.get('relation', '')}' of a relative must be one of "
                   f"{', '.join(RELATIONS)} (or, in a family registered with father_id / mother_id, "
                   f"{' or '.join(PEDIGREE_RELATIONS)})")
            continue
        if role == "missing" and relation:
            reject(row, "relation", "missing persons carry no relation: empty the relation "
                   "or set role to 'relative'")
            continue
        links = [c for c in ("father_id", "mother_id", "lost_sex") if v.get(c)]
        if role == "missing" and links:
            reject(row, links[0], f"missing persons carry no {links[0]}: it belongs to a registered "
                   "family's rows; empty it or set role to 'relative'")
            continue
        own = next((c for c in ("father_id", "mother_id") if v.get(c) == sid), None)
        if own:
            reject(row, own, f"{own} names the sample itself ({sid}): give the id of its parent, "
                   "another member of the family, or leave it empty for a founder")
            continue
        if sex and sex not in SEXES:
            reject(row, "sex", f"sex '{v['sex']}' is not one of {', '.join(SEXES)} (or empty)")
            continue
        lost_sex = v.get("lost_sex", "").upper()
        if lost_sex and lost_sex not in SEXES:
            reject(row, "lost_sex", f"lost_sex '{v['lost_sex']}' is not one of {', '.join(SEXES)} (or empty)")
            continue
        if date and not _iso_date(date):
            reject(row, "collected_on", f"collected_on '{date}' is not an ISO date YYYY-MM-DD")
            continue
        v.update(sample_id=sid, role=role, relation=relation, sex=sex, lost_sex=lost_sex)
        out["sample_id"].append(sid)
        out["role"].append(role)
        for c in optional:
            out[c].append(v.get(c) or None)
        lines.append(row)

    return ReadResult(pa.Table.from_pydict(out, schema=SAMPLES), rejects, n_read, lines)


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
                   samples: Mapping[str, str] | None = None,
                   sexes: Mapping[str, str] | None = None) -> ReadResult:
    """Read and validate genotypes (CSV, Parquet, spreadsheet, or a GeneMapper ID-X export).

    Columns: sample_id (or "Sample Name"), locus (or "Marker"), allele1,
    allele2 (or "Allele 1", "Allele 2"); further allele columns (allele3,
    "Allele 3", ...) must be empty; other columns are ignored. ``normalise``
    maps a raw locus name to the frequency table's spelling, or None (a
    :class:`reunion.loci.LocusNormaliser` also suggests the closest spelling).
    If ``samples`` (accepted sample_id -> role) is given, rows of other samples
    are rejected. Accepted alleles are canonical; an empty allele2 means a
    homozygote and repeats allele1.

    Amelogenin rows give the sample's observed sex (X only: F; a Y: M), kept
    in ``observed_sex``; where ``sexes`` (sample_id -> M/F/U) gives the other
    sex, the row is rejected with the disagreement (the profile is kept).
    Y-STR rows are set aside (``skipped``): they are not autosomal and are
    not scored.
    """
    path = Path(path)
    fmt = detect_format(require_file(path, "genotype"))
    if fmt == "cmf":
        from reunion.io.cmf import read_cmf, restrict
        if samples is None:          # profiles (reunion score): every specimen, whatever its category
            return read_cmf(path, normalise, sexes=sexes, require_role=False).genotypes
        return restrict(read_cmf(path, normalise, samples, sexes).genotypes, samples, str(path))
    decimal_comma = fmt == "xlsx" or (fmt != "parquet" and sniff(path).decimal_comma)
    with _open_rows(path) as (header, rows):
        return _done(path, _genotypes(path, header, rows, normalise, samples, sexes or {}, decimal_comma))


_SEX_WORD = {"M": "male", "F": "female"}


def _unscored_reason(locus: str, hint: str | None) -> str:
    did = f" (did you mean '{hint}'?)" if hint else ""
    return (f"locus '{locus}' is not in the run's frequency table{did}: no sample is scored at it; "
            "correct its spelling, or use a frequency table that has it")


def genotype_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Field -> column index of a genotypes file's ``header``: sample_id, locus, allele1,
    allele2 (required; InputError naming the file otherwise) and any further allele columns
    (GeneMapper's Allele 3, ...), matched through the genotypes contract's aliases."""
    wanted = dict(_GENOTYPE_ALIASES)
    for h in header:
        m = _ALLELE_COL_RE.match(_key(h))
        if m:
            wanted[_key(h)] = f"allele{int(m.group(1))}"
    col = _columns(path, header, wanted)
    _require(path, col, ("sample_id", "locus", "allele1", "allele2"), "genotypes")
    return col


class GenotypeRules:
    """The checks of one genotypes file's rows, in the order they apply: the one home of every
    genotype row's reason, for the whole-file reader (:func:`_genotypes`) and the streaming one
    (:mod:`reunion.io.stream`, which runs the same checks vectorised and calls these for the rows
    it flags).

    A row goes through :meth:`before_duplicate` (sample, locus: rejected, set aside, or passed on
    with its duplicate key), then the duplicate check (its key: the table's locus, or
    'amelogenin' for a marker that is neither autosomal nor Y), then :meth:`after_duplicate`
    (the calls). ``res`` collects the rejects and the counts (skipped, unscored, observed sex).
    """

    def __init__(self, path: Path, header: list[str], normalise: Callable[[str], str | None],
                 samples: Mapping[str, str] | None, sexes: Mapping[str, str], decimal_comma: bool):
        self.file = str(path)
        col = genotype_columns(path, header)
        self.name = {c: header[i] for c, i in col.items()}
        self.i_sid, self.i_locus, self.i_a1, self.i_a2 = (col[c] for c in ("sample_id", "locus", "allele1", "allele2"))
        extra = sorted((c for c in col if c.startswith("allele") and int(c[6:]) > 2), key=lambda c: int(c[6:]))
        self.i_extra = [(self.name[c], col[c]) for c in extra]
        self.n_columns = len(header)
        self.normalise, self.samples, self.sexes = normalise, samples, sexes
        self.decimal_comma = decimal_comma
        self.suggest = getattr(normalise, "suggest", lambda _name: None)
        self.res = ReadResult(GENOTYPES.empty_table(), [], 0)
        self.loci: dict[str, tuple[str, str | None]] = {}   # spelling -> (kind, table's spelling)

    def reject(self, row: int, field: str, reason: str) -> None:
        self.res.rejects.append(Reject(self.file, row, self.name.get(field, field), reason))

    def ragged(self, row: int) -> None:
        self.res.rejects.append(_ragged(self.file, row, self.n_columns))

    def locus(self, raw_locus: str) -> tuple[str, str | None]:
        """(kind, the table's spelling or None) of a stripped locus spelling, once per spelling."""
        if raw_locus not in self.loci:
            kind = locus_kind(raw_locus)
            self.loci[raw_locus] = (kind, self.normalise(raw_locus) if kind == "autosomal" else None)
        return self.loci[raw_locus]

    def calls(self, a1: str, a2: str) -> tuple[str, str]:
        """The two allele cells as the checks read them (stripped; a decimal comma made a point)."""
        a1, a2 = a1.strip(), a2.strip()
        if self.decimal_comma:
            a1, a2 = a1.replace(",", "."), a2.replace(",", ".")
        return a1, a2

    def before_duplicate(self, row: int, cells: Sequence[str]) -> tuple[str, str, str, str | None] | None:
        """(sample id, kind, locus as spelled, table's locus or None) of a row that reaches the
        duplicate check; None for a row rejected or set aside here (a Y-STR row)."""
        res = self.res
        sid, raw_locus = cells[self.i_sid].strip(), cells[self.i_locus].strip()
        if not sid:
            self.reject(row, "sample_id", "empty sample_id: every row needs the sample's lab identifier")
            return None
        if self.samples is not None and sid not in self.samples:
            self.reject(row, "sample_id", f"sample '{sid}' is not in the samples file, or it was rejected "
                        "there: fix the samples file or remove these genotypes")
            return None
        if not raw_locus:
            self.reject(row, "locus", "empty locus: give the marker's name")
            return None
        kind, locus = self.locus(raw_locus)
        if kind == "y":
            res.skipped[raw_locus] = res.skipped.get(raw_locus, 0) + 1
            return None
        if locus is None and kind == "autosomal":
            n, hint = res.unscored[raw_locus] if raw_locus in res.unscored else (0, self.suggest(raw_locus))
            res.unscored[raw_locus] = (n + 1, hint)
            self.reject(row, "locus", _unscored_reason(raw_locus, hint))
            return None
        return sid, kind, raw_locus, locus

    def duplicate(self, row: int, sid: str, raw_locus: str, locus: str | None, first: int) -> None:
        """Reject a row whose sample and locus were typed first on line ``first``."""
        self.reject(row, "locus", f"duplicate genotype of sample '{sid}' at locus '{locus or raw_locus}' "
                    f"(first on line {first}): keep one typing per sample and locus")

    def after_duplicate(self, row: int, cells: Sequence[str], sid: str, kind: str,
                        raw_locus: str) -> tuple[str, str] | None:
        """The canonical calls of an accepted row; None for a row rejected or (amelogenin) set aside."""
        res = self.res
        a1, a2 = self.calls(cells[self.i_a1], cells[self.i_a2])
        extra_field = self.i_extra and next((h for h, i in self.i_extra if cells[i].strip()), None)
        if extra_field:
            self.reject(row, extra_field, "more than two alleles (mixture or artefact): "
                        "resolve the profile before matching")
            return None
        if not a1 and not a2:
            self.reject(row, "allele1", "no allele called (untyped locus): drop the row or type the locus")
            return None
        if not a1:
            self.reject(row, "allele1", "allele1 is missing while allele2 is given: "
                        "put a single (homozygous) allele in allele1")
            return None
        if kind == "amelogenin":
            calls = {a.upper() for a in (a1, a2) if a}
            if not calls <= {"X", "Y"}:
                self.reject(row, "allele1", "an amelogenin call is X or Y (X,X female; X,Y male): "
                            "correct the call")
                return None
            seen = "M" if "Y" in calls else "F"
            res.observed_sex[sid] = seen
            given = self.sexes.get(sid, "")
            if given in _SEX_WORD and given != seen:
                res.sex_mismatches += 1
                self.reject(row, "locus", f"amelogenin of sample '{sid}' shows {_SEX_WORD[seen]} but the "
                            f"samples file gives sex {given}: check for a sample mix-up or correct the "
                            "sex; the profile is kept, this row is not used")
                return None
            res.skipped[raw_locus] = res.skipped.get(raw_locus, 0) + 1
            return None
        c1, why = _allele(a1)
        if why:
            self.reject(row, "allele1", why)
            return None
        c2, why = _allele(a2) if a2 else (c1, None)
        if why:
            self.reject(row, "allele2", why)
            return None
        return c1, c2


def _genotypes(path: Path, header: list[str], rows: Rows, normalise: Callable[[str], str | None],
               samples: Mapping[str, str] | None, sexes: Mapping[str, str],
               decimal_comma: bool) -> ReadResult:
    rules = GenotypeRules(path, header, normalise, samples, sexes, decimal_comma)
    res = rules.res
    out: dict[str, list[str]] = {f.name: [] for f in GENOTYPES}
    first_row: dict[tuple[str, str], int] = {}
    for row, cells in rows:
        res.n_read += 1
        if cells is None:
            rules.ragged(row)
            continue
        got = rules.before_duplicate(row, cells)
        if got is None:
            continue
        sid, kind, raw_locus, locus = got
        dup = first_row.setdefault((sid, locus or "amelogenin"), row)
        if dup != row:
            rules.duplicate(row, sid, raw_locus, locus, dup)
            continue
        called = rules.after_duplicate(row, cells, sid, kind, raw_locus)
        if called is None:
            continue
        out["sample_id"].append(sid)
        out["locus"].append(locus)
        out["allele1"].append(called[0])
        out["allele2"].append(called[1])
        res.lines.append(row)

    res.table = pa.Table.from_pydict(out, schema=GENOTYPES)
    return res


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
    assert result.n_read == result.n_accepted + len(result.rejects) + result.n_skipped
    assert len(result.lines) == result.n_accepted
    log.info("%s: %d rows read, %d accepted, %d rejected, %d set aside (not autosomal)",
             path, result.n_read, result.n_accepted, len(result.rejects), result.n_skipped)
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
