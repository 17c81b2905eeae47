"""A PostgreSQL registry as the input: ``reunion ingest --source postgresql://...``.

The samples and genotypes tables (or views) are read through ADBC
(``adbc-driver-postgresql``) into Arrow record batches, streamed (the driver's batch-size
hint, :attr:`SourceSettings.batch_size_hint_bytes`), and every row goes through the same
validation as a file's rows (:mod:`reunion.io.readers`' samples and genotypes checks), so the
contracts, the rejects and the accounting (read = accepted + rejected + set aside) are those
of a CSV export of the same tables.

Rows and their numbers. Every selected column is cast to ``text`` in the query (a date is
its ISO text, a number its decimal text, NULL an empty cell), which is what a CSV export
holds. The rows are ordered by :attr:`SourceSettings.samples_row_column` /
``genotypes_row_column`` when set (an integer key, e.g. a serial id: a reject then names
that key as its row), else by the sample id (and locus) and numbered 1, 2, ... in that
order; rows that tie there (two typings of one sample at one locus) come in the server's
order, so which is kept as the first may differ from a file export: set the row columns
for results identical to ingesting the export (tested: the same shards). A reject's
``file`` is the redacted URL and the table, e.g.
``postgresql://reunion@db:5432/registry table public.samples``.

Watermark. With ``since`` (an ISO date or date-time) only samples whose
:attr:`SourceSettings.watermark_column` (``collected_on``) is later are read, and only the
genotypes of those samples (or, when ``genotypes_watermark_column`` is set, the genotype
rows later on that column), so a nightly job reads only the new collections.

Credentials come from the URL, libpq's environment (``PGPASSWORD``, ``PGPASSFILE``,
``~/.pgpass``, ``PGUSER`` ...), or :attr:`SourceSettings.password_file`. They are never
logged: every message carries the URL with its password replaced by ``***`` (and any
text a driver error holds is scrubbed of the password).

Errors (connection refused, authentication, no such table, a missing column, a bad
``since``) raise :class:`reunion.errors.InputError` in one line naming the URL (redacted),
the table and the column, and what to do.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc

from reunion.contracts import SAMPLES, SAMPLES_REQUIRED
from reunion.contracts.records import InputRecord, Watermark
from reunion.errors import InputError
from reunion.io import readers
from reunion.io.readers import ReadResult
from reunion.settings import GENOTYPE_FIELDS, SourceSettings

log = logging.getLogger(__name__)

SCHEMES = ("postgresql", "postgres")
_EXTRA_ALLELE = re.compile(r"^allele(\d+)$")


@dataclass
class SourceResult:
    """What a PostgreSQL source holds, in the shapes the file readers return."""

    samples: ReadResult
    genotypes: ReadResult
    samples_label: str
    genotypes_label: str
    samples_sha256: str
    genotypes_sha256: str


# --------------------------------------------------------------------------- URLs and secrets

def redact(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) as ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://***"
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = parts.query
    if query:
        query = urlencode([(k, "***" if k.lower() == "password" else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def split_password(url: str) -> tuple[str, str | None]:
    """(``url`` without its password, the password or None). For callers that hand the URL
    to something that records it (a Prefect flow's parameters): pass the bare URL and put the
    password in ``PGPASSWORD`` instead."""
    parts = urlsplit(url)
    if not parts.password:
        return url, None
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(parts.password)


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    out = [parts.password, unquote(parts.password or "") or None]
    out += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    return [s for s in out if s]


def _scrub(text: str, url: str, secrets: Sequence[str]) -> str:
    """One line of a driver message without the URL or any secret in it."""
    line = " ".join(str(text).split())
    line = line.replace(url, redact(url))
    for s in secrets:
        line = line.replace(s, "***")
    return line[:300]


def _with_password(url: str, settings: SourceSettings) -> tuple[str, list[str]]:
    """The URL to connect with (the password file's password added when the URL has none)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise InputError(f"{redact(url)}: not a PostgreSQL URL; give --source "
                         "postgresql://USER@HOST:PORT/DATABASE")
    secrets = _secrets(url)
    if settings.password_file is None or parts.password:
        return url, secrets
    try:
        password = Path(settings.password_file).read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        raise InputError(f"{settings.password_file}: cannot read the password file "
                         "(source.password_file): check the path; its first line is the password") from None
    user, _, host = parts.netloc.rpartition("@")
    if not user:
        raise InputError(f"{redact(url)}: a password file needs a user in the URL "
                         "(postgresql://USER@HOST/DATABASE)")
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), secrets + [
        password, quote(password, safe="")]


def _driver_errors() -> tuple[type[BaseException], ...]:
    """What the driver raises for a server's or a connection's error (DB-API errors, Arrow
    stream errors), to be turned into one InputError line."""
    from adbc_driver_manager import Error

    return (Error, pa.ArrowException, OSError)


def _ident(name: str) -> str:
    """A quoted SQL identifier, schema-qualified names split on '.': 'a.b' -> "a"."b"."""
    return ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))


def _col(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- the source

class PostgresSource:
    """An open connection to a registry; read its samples, then its genotypes.

    Use as a context manager (``with PostgresSource(url, s) as src: src.read_samples()``);
    :func:`read_source` does both reads.
    """

    def __init__(self, url: str, settings: SourceSettings | None = None):
        self.settings = settings or SourceSettings()
        self.url = url
        self.shown = redact(url)
        self._connect_url, self._secrets = _with_password(url, self.settings)
        self._conn = None
        self.sha256: dict[str, str] = {}
        #: 'samples' / 'genotypes' -> the latest watermark value read (when the table has the column)
        self.watermark: dict[str, Watermark] = {}

    # connection
    def __enter__(self) -> Self:
        try:
            import adbc_driver_postgresql.dbapi as pg
        except ImportError:  # pragma: no cover - a declared dependency
            raise InputError(f"{self.shown}: reading PostgreSQL needs adbc-driver-postgresql "
                             "(pip install adbc-driver-postgresql adbc-driver-manager)") from None
        try:
            self._conn = pg.connect(self._connect_url, autocommit=True)
        except _driver_errors() as exc:  # OperationalError (refused, authentication), ...
            raise InputError(f"{self.shown}: cannot connect to PostgreSQL "
                             f"({self._why(exc)}); check host, port, database, that the server runs, "
                             "and the credentials (URL, PGPASSWORD, PGPASSFILE or "
                             "source.password_file)") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _why(self, exc: BaseException) -> str:
        return _scrub(str(exc).split("\n")[0], self._connect_url, self._secrets + [self.url])

    def label(self, table: str) -> TableLabel:
        return TableLabel(f"{self.shown} table {table}")

    @contextmanager
    def _cursor(self, table: str, column: str | None = None) -> Iterator:
        cur = self._conn.cursor()
        try:
            yield cur
        except _driver_errors() as exc:
            where = f"table {table}" + (f", column {column}" if column else "")
            raise InputError(f"{self.shown} {where}: {self._why(exc)}; check the source.* table "
                             "and column settings") from None
        finally:
            cur.close()

    def _columns(self, table: str) -> dict[str, pa.DataType]:
        """The table's columns and their Arrow types (LIMIT 0: a view works too)."""
        cur = self._conn.cursor()
        try:
            cur.execute(f"SELECT * FROM {_ident(table)} LIMIT 0")
            schema = cur.fetch_arrow_table().schema
        except _driver_errors() as exc:
            why = self._why(exc)
            if "does not exist" in why:
                raise InputError(f"{self.shown}: table {table} does not exist ({why}); create it, or "
                                 "set source.samples_table / source.genotypes_table to the table or "
                                 "view that holds the rows") from None
            raise InputError(f"{self.shown} table {table}: cannot be read ({why}); check the "
                             "table's name and the user's privileges") from None
        finally:
            cur.close()
        return {f.name: f.type for f in schema}

    def _pick(self, table: str, have: dict[str, pa.DataType], fields: Sequence[str],
              required: Sequence[str], mapping: Mapping[str, str], setting: str) -> dict[str, str]:
        """{field: column} of the fields the table has; a required one missing is an InputError."""
        out = {}
        for f in fields:
            col = mapping.get(f, f)
            if col in have:
                out[f] = col
            elif f in required or f in mapping:
                raise InputError(f"{self.shown} table {table}: no column '{col}' for the {f} field; "
                                 f"add it, or map the field with source.{setting} "
                                 f"(columns: {', '.join(have)})")
        return out

    def _watermark(self, table: str, have: dict[str, pa.DataType], column: str) -> tuple[str, str]:
        """(SQL condition, parameter) selecting rows later than ``since`` on ``column``."""
        if column not in have:
            raise InputError(f"{self.shown} table {table}: no column '{column}' for the watermark "
                             f"(since {self.settings.since}); set source.watermark_column "
                             f"(columns: {', '.join(have)})")
        t = have[column]
        if pa.types.is_date(t):
            sql = "date"
        elif pa.types.is_timestamp(t):
            sql = "timestamptz" if t.tz else "timestamp"
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            sql = "text"
        else:
            raise InputError(f"{self.shown} table {table}, column {column}: the watermark column is "
                             f"{t}; it must be a date, a timestamp or ISO text")
        return f"{_col(column)} > CAST($1 AS {sql})", self.settings.since

    def _text(self, column: str, t: pa.DataType) -> str:
        """The column as the text a CSV export holds (a timestamp date as its date)."""
        if pa.types.is_timestamp(t):
            return f"CAST(CAST({_col(column)} AS date) AS text)"
        return f"CAST({_col(column)} AS text)"

    def _rows(self, table: str, select: list[str], where: str, params: tuple, order: list[str],
              row_column: str | None, digest, mark: tuple[str, str] | None = None
              ) -> Iterator[tuple[int, Sequence[str]]]:
        """(row number, cells as text) of the query, streamed in Arrow record batches. With
        ``mark`` (what, column): the latest value of that column among the rows read is kept in
        :attr:`watermark` [what] (its own type compared: a date, a timestamp, ISO text)."""
        cols = select + ([_col(row_column)] if row_column else []) + ([_col(mark[1])] if mark else [])
        sql = (f"SELECT {', '.join(cols)} FROM {_ident(table)}" + (f" WHERE {where}" if where else "")
               + f" ORDER BY {', '.join(order)}")
        n_cells = len(select)
        with self._cursor(table, row_column) as cur:
            from adbc_driver_postgresql import StatementOptions
            cur.adbc_statement.set_options(
                **{StatementOptions.BATCH_SIZE_HINT_BYTES.value: str(self.settings.batch_size_hint_bytes)})
            cur.execute(sql, parameters=params or None)
            reader = cur.fetch_record_batch()
            ordinal = 0
            latest = None
            for batch in reader:
                cells = [c.fill_null("").to_pylist() for c in batch.columns[:n_cells]]
                keys = batch.column(n_cells).to_pylist() if row_column else None
                if mark is not None:
                    top = pc.max(batch.column(batch.num_columns - 1)).as_py()
                    latest = top if latest is None or (top is not None and top > latest) else latest
                for i, row in enumerate(zip(*cells)):
                    ordinal += 1
                    digest.update("\x1f".join(row).encode() + b"\x1e")
                    yield (int(keys[i]) if keys else ordinal), row
            if mark is not None and latest is not None:
                value = latest if isinstance(latest, str) else latest.isoformat()
                self.watermark[mark[0]] = Watermark(column=mark[1], value=value)

    def _row_column(self, table: str, have: dict[str, pa.DataType], column: str | None, setting: str):
        if column is None:
            return None
        if column not in have:
            raise InputError(f"{self.shown} table {table}: no column '{column}' (source.{setting}); "
                             f"give an integer key column (columns: {', '.join(have)})")
        if not pa.types.is_integer(have[column]):
            raise InputError(f"{self.shown} table {table}, column {column}: source.{setting} must be "
                             f"an integer column (it is {have[column]})")
        return column

    # the two reads
    def read_samples(self) -> ReadResult:
        """The samples table, validated as a samples file is."""
        s = self.settings
        table = s.samples_table
        have = self._columns(table)
        pick = self._pick(table, have, [f.name for f in SAMPLES], SAMPLES_REQUIRED, s.samples_columns,
                          "samples_columns")
        row_col = self._row_column(table, have, s.samples_row_column, "samples_row_column")
        where, params = ("", ())
        if s.since is not None:
            cond, p = self._watermark(table, have, s.watermark_column)
            where, params = cond, (p,)
        header = list(pick)
        select = [self._text(c, have[c]) for c in pick.values()]
        order = [_col(row_col)] if row_col else [_col(pick["sample_id"])]
        digest = hashlib.sha256()
        label = self.label(table)
        mark = ("samples", s.watermark_column) if s.watermark_column in have else None
        rows = self._rows(table, select, where, params, order, row_col, digest, mark)
        res = readers._done(label, readers._samples(label, header, rows))
        self.sha256["samples"] = digest.hexdigest()
        return res

    def read_genotypes(self, normalise: Callable[[str], str | None],
                       samples: Mapping[str, str] | None = None,
                       sexes: Mapping[str, str] | None = None) -> ReadResult:
        """The genotypes table, validated as a genotypes file is (``samples``: accepted
        sample_id -> role; rows of other samples are rejected)."""
        s = self.settings
        table = s.genotypes_table
        have = self._columns(table)
        pick = self._pick(table, have, GENOTYPE_FIELDS, GENOTYPE_FIELDS, s.genotypes_columns,
                          "genotypes_columns")
        mapped = set(pick.values())
        extra = sorted((c for c in have if _EXTRA_ALLELE.match(c) and int(c[6:]) > 2 and c not in mapped),
                       key=lambda c: int(c[6:]))
        pick.update({c: c for c in extra})
        row_col = self._row_column(table, have, s.genotypes_row_column, "genotypes_row_column")
        where, params = "", ()
        if s.since is not None:
            if s.genotypes_watermark_column:
                where, p = self._watermark(table, have, s.genotypes_watermark_column)
            else:
                s_have = self._columns(s.samples_table)
                cond, p = self._watermark(s.samples_table, s_have, s.watermark_column)
                s_sid = s.samples_columns.get("sample_id", "sample_id")
                if s_sid not in s_have:
                    raise InputError(f"{self.shown} table {s.samples_table}: no column '{s_sid}' for "
                                     "the sample_id field; map it with source.samples_columns")
                where = (f"{_col(pick['sample_id'])} IN (SELECT {_col(s_sid)} FROM "
                         f"{_ident(s.samples_table)} WHERE {cond})")
            params = (p,)
        header = list(pick)
        select = [self._text(c, have[c]) for c in pick.values()]
        order = [_col(row_col)] if row_col else [_col(pick["sample_id"]), _col(pick["locus"])]
        digest = hashlib.sha256()
        label = self.label(table)
        g_mark = s.genotypes_watermark_column
        mark = ("genotypes", g_mark) if g_mark and g_mark in have else None
        rows = self._rows(table, select, where, params, order, row_col, digest, mark)
        res = readers._done(label, readers._genotypes(label, header, rows, normalise, samples,
                                                      dict(sexes or {}), False))
        self.sha256["genotypes"] = digest.hexdigest()
        return res


def read_source(url: str, settings: SourceSettings | None = None,
                normalise: Callable[[str], str | None] | None = None,
                samples: Mapping[str, str] | None = None,
                sexes: Mapping[str, str] | None = None) -> SourceResult:
    """Read a registry's samples and genotypes tables (see the module's description).

    ``settings``: a :class:`SourceSettings`, or a settings tree with a ``source`` section.
    ``normalise``: the locus normaliser of the run's frequency table (as for files).
    The genotypes are checked against the samples just read (their roles and sexes)
    unless ``samples`` / ``sexes`` are given.
    """
    s = _section(settings)
    if normalise is None:
        raise ValueError("read_source needs the run's locus normaliser (reunion.loci.LocusNormaliser)")
    with PostgresSource(url, s) as src:
        smp = src.read_samples()
        roles = dict(samples) if samples is not None else dict(
            zip(smp.table.column("sample_id").to_pylist(), smp.table.column("role").to_pylist()))
        if sexes is None:
            sexes = {k: v for k, v in zip(smp.table.column("sample_id").to_pylist(),
                                          smp.table.column("sex").to_pylist()) if v}
        gen = src.read_genotypes(normalise, roles, sexes)
        return SourceResult(smp, gen, src.label(s.samples_table), src.label(s.genotypes_table),
                            src.sha256["samples"], src.sha256["genotypes"])


def _section(settings) -> SourceSettings:
    if settings is None:
        return SourceSettings()
    if isinstance(settings, SourceSettings):
        return settings
    section = getattr(settings, "source", None)
    if isinstance(section, SourceSettings):
        return section
    raise TypeError("settings must be a SourceSettings or a settings tree with a 'source' section")


class TableLabel(str):
    """A table's label where ingest expects a path: ``str()`` is the redacted URL and the
    table (a reject's ``file``), ``.name`` the table (as a path's file name)."""

    @property
    def name(self) -> str:
        return self.rpartition(" table ")[2]


def input_record(label: str, res: ReadResult, kind: str, sha256: str,
                 watermark: Watermark | None = None) -> InputRecord:
    """The manifest's record of a table read, as ingest's record of a file (``sha256``: that of
    the rows as read, each row's cells as text; ``skipped`` when rows were set aside;
    ``watermark``: :attr:`PostgresSource.watermark` of the read)."""
    return InputRecord(path=str(label), kind=kind, sha256=sha256, read=res.n_read,
                       accepted=res.table.num_rows, rejected=len(res.rejects),
                       skipped=getattr(res, "n_skipped", 0) or None, watermark=watermark)


def is_source_label(path: str) -> bool:
    """Whether a manifest input's ``path`` is a table's label (:class:`TableLabel`), not a file."""
    return str(path).split("://", 1)[0] in SCHEMES and " table " in str(path)


def standing_watermark(manifest, samples_label: str, settings: SourceSettings) -> str | None:
    """The watermark a rerun of ``manifest``'s shard set reads after: the latest value the
    standing reads of the samples table ``samples_label`` recorded on ``watermark_column``
    (:class:`reunion.contracts.records.InputRecord` ``watermark``), or None when none did."""
    values = [i.watermark.value for i in manifest.inputs
              if i.kind == "samples" and i.path == str(samples_label) and i.watermark is not None
              and i.watermark.column == settings.watermark_column]
    return max(values, key=_iso_key) if values else None


def since_standing_run(base, base_shards: Path, source: str, settings):
    """For ``reunion rerun --source``: the settings tree ``settings`` with ``source.since`` the
    standing run's watermark (the latest ``source.watermark_column`` value that ``base``, the
    standing :class:`~reunion.contracts.records.Manifest` in ``base_shards``, records for the
    source's samples table: :func:`standing_watermark`), unless ``since`` is set already.
    :class:`InputError` when the standing run holds no watermark of that table, or read files
    (a full re-match could not read them with the source)."""
    s = settings.source
    label = PostgresSource(source, s).label(s.samples_table)
    files = [i.path for i in base.inputs if not is_source_label(i.path)]
    if files:
        raise InputError(f"{base_shards / 'manifest.json'}: the standing run read files ({Path(files[0]).name}); "
                         "rerun --source extends a run ingested from the source (reunion ingest --source): "
                         "give the batch as files with --new")
    if s.since is not None:
        return settings
    since = standing_watermark(base, label, s)
    if since is None:
        raise InputError(f"{base_shards / 'manifest.json'}: records no watermark ({s.watermark_column}) of "
                         f"{label}; give --since ISO-DATE (the standing run's last collection), or set "
                         "source.watermark_column to the column the standing run was read with")
    return settings.model_copy(update={"source": s.model_copy(update={"since": since})})


def _iso_key(value: str):
    import datetime as dt

    try:
        v = dt.datetime.fromisoformat(value)
    except ValueError:
        return (0, value, dt.datetime.min)
    return (1, "", v.replace(tzinfo=None) - (v.utcoffset() or dt.timedelta(0)))
