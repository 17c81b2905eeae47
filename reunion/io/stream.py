"""Streaming genotype reader: a genotypes file in batches of rows, checked vectorised.

    CSV / tab-separated text (UTF-8)  --pyarrow.csv, one batch of lines at a time-->  cells
    Parquet                           --ParquetFile.iter_batches-->                    cells
    cells --vectorised checks (pyarrow.compute, NumPy)--> accepted rows (NumPy codes) | rejects

The checks and every reason are :class:`reunion.io.readers.GenotypeRules`' (the whole-file
reader's): a batch is checked vectorised where a check can be (sample id by a hash look-up of
the accepted samples; locus once per distinct spelling; allele cells once per distinct cell; the
duplicate check against a per-file array of first lines, one int32 per sample and locus), and
the rows a vectorised check flags (an id not found, an empty or unknown locus, amelogenin, an
empty, invalid or third allele) go through the rules' own row methods, in line order. So the
rejects, counts and line numbers are those of :func:`reunion.io.readers.read_genotypes`.

Line numbers are exact: a text batch is a run of whole lines (split after a newline), parsed by
pyarrow and checked to hold one row per non-empty line. A batch that does not (a quoted cell
holding a newline, a lone carriage return as line end, a ragged row, a non-ASCII or control
byte that pyarrow and Python trim differently) is parsed by the :mod:`csv` module instead, as
the whole-file reader does; from a batch whose quoting spans lines, the rest of the file is
parsed by the csv module in one continuous reader. Files of another dialect (UTF-16, a
spreadsheet, CODIS CMF) are not streamed: :func:`streamable` says which are.

Memory: one batch of cells, plus the per-file first-line array (4 bytes per sample and locus);
the accepted rows go to the caller batch by batch.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reunion.errors import require_file
from reunion.io.readers import (GenotypeRules, ReadResult, _allele, _shaped, detect_format, not_utf8, sniff,
                                unquoted_cells)

#: bytes read from a text file at a time (a batch is cut from them at a line end)
CHUNK_BYTES = 8 << 20
#: bytes after which a text file's header line must have ended to be streamed
HEADER_BYTES = 1 << 20
# byte classes that send a text batch to the csv module: non-ASCII, and the ASCII controls
# Python's str.strip() removes but pyarrow's ascii_trim_whitespace keeps
_SLOW_BYTES = np.zeros(256, bool)
_SLOW_BYTES[0x80:] = True
_SLOW_BYTES[0x1c:0x20] = True
# locus categories of a distinct spelling
_FLAG, _Y, _AUTO, _OTHER = 0, 1, 2, 3
# allele-cell classes of a distinct cell
_EMPTY, _BAD, _VALID = 0, 1, 2


@dataclass
class StreamedGenotypes(ReadResult):
    """The counts and rejects of one streamed genotypes file (its ``table`` stays empty: the
    accepted rows went to the caller batch by batch); ``accepted``: rows accepted by the reader."""

    accepted: int = 0

    @property
    def n_accepted(self) -> int:
        return self.accepted


@dataclass
class Accepted:
    """Accepted rows of one batch, in line order: int64 arrays [n] of the sample's position in
    the accepted samples, the locus' position in the frequency table, the two allele labels'
    ids (:class:`Labels`) and the row's line."""

    sample: np.ndarray
    locus: np.ndarray
    allele1: np.ndarray
    allele2: np.ndarray
    line: np.ndarray


@dataclass
class Labels:
    """Canonical allele labels seen, numbered from 1 (0: none)."""

    ids: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=lambda: [""])

    def id(self, label: str) -> int:
        i = self.ids.get(label)
        if i is None:
            i = self.ids[label] = len(self.names)
            self.names.append(label)
        return i


@dataclass
class _Batch:
    line: np.ndarray                     # int64 [n]: line of each data row
    cells: dict[int, pa.Array]           # header position -> string array [n], unstripped
    ragged: list[int] = field(default_factory=list)   # lines of ragged rows (text)


def streamable(path: Path) -> bool:
    """Whether :class:`GenotypeStream` reads ``path``: Parquet, or CSV / tab-separated text in
    UTF-8 (with or without a byte-order mark). Others (UTF-16, spreadsheets, CMF) are read whole."""
    fmt = detect_format(require_file(path, "genotype"))
    if fmt == "parquet":
        return True
    return fmt in ("csv", "genemapper") and sniff(path).encoding == "utf-8-sig"


class GenotypeStream:
    """Iterate over :class:`Accepted` batches of one genotypes file; ``result`` (a
    :class:`StreamedGenotypes`) holds its rejects (sorted by line) and counts once iterated.

    ``sample_ids``: the accepted samples' ids (unique; positions are the ``sample`` of
    :class:`Accepted`), ``sexes``: sample id -> sex, ``loci``: the frequency table's loci (in
    order), ``first``: int32 [len(sample_ids) * (len(loci) + 1)] zeros, the duplicate check's
    first lines (reused across files: zeroed here), ``labels`` shared across files.
    """

    def __init__(self, path: Path, normalise: Callable[[str], str | None], sample_ids: pa.Array,
                 sexes: Mapping[str, str], loci: Sequence[str], first: np.ndarray, labels: Labels,
                 batch_rows: int):
        self.path = Path(path)
        self.fmt = detect_format(require_file(self.path, "genotype"))
        self.normalise, self.sexes, self.labels = normalise, sexes, labels
        self.sample_ids = sample_ids
        self.locus_pos = {name: i for i, name in enumerate(loci)}
        self.K = len(loci) + 1                      # the last slot: amelogenin (any non-autosomal marker)
        first[:] = 0
        self.first = first
        self.batch_rows = batch_rows
        self._loci: dict[str, tuple[int, int]] = {}      # raw spelling -> (category, slot)
        self._cells: dict[str, tuple[int, int]] = {}     # raw allele cell -> (class, label id)
        self.result: StreamedGenotypes | None = None
        self._samples = _Membership(sample_ids)
        if self.fmt == "parquet":
            self._pf = pq.ParquetFile(self.path)
            header = list(self._pf.schema_arrow.names)
            decimal_comma = False
        else:
            self._dialect = sniff(self.path)
            header, self._start, self._first_line = self._text_header(self._dialect)
            decimal_comma = self._dialect.decimal_comma
        self.rules = GenotypeRules(self.path, header, normalise, self._samples, sexes, decimal_comma)
        r = self.rules
        self.needed = sorted({r.i_sid, r.i_locus, r.i_a1, r.i_a2, *(i for _, i in r.i_extra)})

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[Accepted]:
        if self.fmt == "parquet":
            batches = self._parquet(self._pf, list(self._pf.schema_arrow.names))
        else:
            d = self._dialect
            unquoted = unquoted_cells(self.fmt, d)
            batches = self._text(d, self.rules.n_columns, self._start, self._first_line, unquoted)
        accepted = 0
        for b in batches:
            a = self._check(b)
            accepted += len(a.line)
            if len(a.line):
                yield a
        res = self.rules.res
        res.rejects.sort(key=lambda j: j.row)
        self.result = StreamedGenotypes(res.table, res.rejects, res.n_read, [], res.skipped, res.observed_sex,
                                        res.unscored, res.sex_mismatches, accepted=accepted)
        assert self.result.n_read == accepted + len(res.rejects) + self.result.n_skipped

    def _parquet(self, pf: pq.ParquetFile, header: list[str]) -> Iterator[_Batch]:
        at = 2                                   # row i is numbered i + 2, as the whole-file reader does
        for rb in pf.iter_batches(batch_size=self.batch_rows, columns=[header[i] for i in self.needed]):
            n = rb.num_rows
            cells = {i: rb.column(k).cast(pa.string()).fill_null("") for k, i in enumerate(self.needed)}
            yield _Batch(np.arange(at, at + n, dtype=np.int64), cells)
            at += n

    def _text_header(self, d) -> tuple[list[str], int, int]:
        """(header cells, byte offset of the line after the header, that line's number)."""
        with open(self.path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
        text = io.TextIOWrapper(io.BytesIO(head), encoding=d.encoding, newline="")
        quoting = csv.QUOTE_NONE if unquoted_cells(self.fmt, d) else csv.QUOTE_MINIMAL
        reader = csv.reader(text, delimiter=d.delimiter, quoting=quoting)
        header = None
        try:
            for raw in reader:
                if "".join(raw).strip():
                    header = list(raw)
                    break
        except UnicodeDecodeError:
            header = None
        if header is None:
            raise NotStreamed
        while header and not header[-1].strip():
            header.pop()
        n_lines = reader.line_num                # physical lines up to the header's end
        ends = _line_ends(head, n_lines)
        if ends is None:
            raise NotStreamed                   # the header runs past HEADER_BYTES
        return [h.strip() for h in header], ends, n_lines + 1

    def _text(self, d, n: int, start: int, line: int, unquoted: bool) -> Iterator[_Batch]:
        names = [f"c{i}" for i in range(n)]
        ropts = pacsv.ReadOptions(column_names=names, use_threads=True, block_size=1 << 26)
        copts = pacsv.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=False,
                                     quoted_strings_can_be_null=False)
        for chunk, offset in _line_batches(self.path, start, self.batch_rows):
            nl = chunk.count(b"\n")
            lone_cr = chunk.count(b"\r") - chunk.count(b"\r\n")
            if not unquoted and chunk.count(b'"') % 2:   # ends inside a quoted cell (or a stray quote)
                yield from self._python(d, n, offset, line, unquoted, rest=True)
                return
            ok = lone_cr == 0 and not _SLOW_BYTES[np.frombuffer(chunk, np.uint8)].any()
            if ok:
                got = self._pyarrow(chunk, d.delimiter, unquoted, ropts, copts, line)
                if got == "spans":               # a quoted cell spans lines: the csv module from here on
                    yield from self._python(d, n, offset, line, unquoted, rest=True)
                    return
                if got is not None:
                    yield got
                    line += nl
                    continue
            yield from self._python(d, n, offset, line, unquoted, rest=False, chunk=chunk)
            line += nl + lone_cr

    def _pyarrow(self, chunk: bytes, delimiter: str, unquoted: bool, ropts, copts, line: int):
        """The batch parsed by pyarrow; None where the csv module must parse it (a ragged row),
        'spans' where a quoted cell may span lines."""
        invalid = []
        popts = pacsv.ParseOptions(delimiter=delimiter, quote_char=False if unquoted else '"',
                                   ignore_empty_lines=True, newlines_in_values=not unquoted,
                                   invalid_row_handler=lambda row: invalid.append(row) or "skip")
        buf = np.frombuffer(chunk, np.uint8)
        ends = np.flatnonzero(buf == 10)
        starts = np.concatenate([[0], ends + 1])
        stops = np.concatenate([ends, [len(chunk)]])
        if stops[-1] == starts[-1]:              # the chunk ends with a newline: no last partial line
            starts, stops = starts[:-1], stops[:-1]
        length = stops - starts
        cr = length > 0
        cr[cr] = buf[stops[cr] - 1] == 13
        empty = (length - cr) == 0
        lines = line + np.flatnonzero(~empty).astype(np.int64)
        try:
            t = pacsv.read_csv(io.BytesIO(chunk), read_options=ropts, parse_options=popts, convert_options=copts)
        except pa.ArrowInvalid:
            return None if unquoted else "spans"
        if t.num_rows + len(invalid) != len(lines):
            return "spans"
        if not unquoted and t.num_rows:
            last = [t.column(k)[t.num_rows - 1].as_py() for k in range(t.num_columns)]
            if any("\n" in v or "\r" in v for v in last):
                return "spans"
        if invalid:
            return None
        cells = {i: t.column(i).combine_chunks() for i in self.needed}
        # a blank row (every cell empty or spaces) is no data row: it has an empty sample id
        maybe = pc.equal(pc.utf8_length(pc.ascii_trim_whitespace(cells[self.rules.i_sid])), 0)
        if pc.any(maybe).as_py():
            blank = maybe
            for arr in t.columns:
                blank = pc.and_(blank, pc.equal(pc.utf8_length(pc.ascii_trim_whitespace(arr)), 0))
            blank = blank.to_numpy(zero_copy_only=False)
            if blank.any():
                keep = pa.array(~blank)
                cells = {i: a.filter(keep) for i, a in cells.items()}
                lines = lines[~blank]
        return _Batch(lines, cells)

    def _python(self, d, n: int, offset: int, line: int, unquoted: bool, rest: bool,
                chunk: bytes | None = None) -> Iterator[_Batch]:
        """Batches parsed by the csv module: of ``chunk`` (lines from ``line``), or (``rest``) of
        the file from byte ``offset`` on, numbered as the whole-file reader numbers them."""
        fh = open(self.path, "rb") if rest else io.BytesIO(chunk)
        try:
            if rest:
                fh.seek(offset)
            text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
            reader = csv.reader(text, delimiter=d.delimiter, quoting=csv.QUOTE_NONE if unquoted else csv.QUOTE_MINIMAL)

            def numbered() -> Iterator[tuple[int, list[str]]]:
                at = 1
                for raw in reader:
                    yield line + at - 1, raw
                    at = reader.line_num + 1

            rows: list = []
            try:
                for row in _shaped(numbered(), n):
                    rows.append(row)
                    if len(rows) >= self.batch_rows:
                        yield self._from_rows(rows)
                        rows = []
            except UnicodeDecodeError:
                raise not_utf8(self.path) from None
            if rows:
                yield self._from_rows(rows)
        finally:
            fh.close()

    def _from_rows(self, rows: list) -> _Batch:
        ok = [(ln, cells) for ln, cells in rows if cells is not None]
        return _Batch(np.array([ln for ln, _ in ok], dtype=np.int64),
                      {i: pa.array([c[i] for _, c in ok], pa.string()) for i in self.needed},
                      [ln for ln, cells in rows if cells is None])

    # ------------------------------------------------------------------ checking
    def _locus_classes(self, values: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(category, duplicate-key slot) per distinct raw locus spelling."""
        cat = np.empty(len(values), np.int64)
        slot = np.zeros(len(values), np.int64)
        for j, v in enumerate(values):
            got = self._loci.get(v)
            if got is None:
                s = v.strip()
                if not s:
                    got = (_FLAG, 0)
                else:
                    kind, locus = self.rules.locus(s)
                    if kind == "y":
                        got = (_Y, 0)
                    elif kind == "autosomal":
                        got = (_FLAG, 0) if locus is None else (_AUTO, self.locus_pos[locus])
                    else:
                        got = (_OTHER, self.K - 1)
                self._loci[v] = got
            cat[j], slot[j] = got
        return cat, slot

    def _cell_classes(self, values: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(class, label id) per distinct raw allele cell."""
        cls = np.empty(len(values), np.int64)
        ids = np.zeros(len(values), np.int64)
        for j, v in enumerate(values):
            got = self._cells.get(v)
            if got is None:
                a, _ = self.rules.calls(v, "")
                if not a:
                    got = (_EMPTY, 0)
                else:
                    label, why = _allele(a)
                    got = (_BAD, 0) if why else (_VALID, self.labels.id(label))
                self._cells[v] = got
            cls[j], ids[j] = got
        return cls, ids

    def _check(self, b: _Batch) -> Accepted:
        r = self.rules
        res = r.res
        n = len(b.line)
        res.n_read += n + len(b.ragged)
        for ln in b.ragged:
            r.ragged(int(ln))
        empty = Accepted(*(np.zeros(0, np.int64) for _ in range(5)))
        if not n:
            return empty
        sid = pc.ascii_trim_whitespace(b.cells[r.i_sid])
        idx = pc.index_in(sid, value_set=self.sample_ids).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        ld = pc.dictionary_encode(b.cells[r.i_locus])
        lcodes = ld.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        lvalues = ld.dictionary.to_pylist()
        lcat, lslot = self._locus_classes(lvalues)
        cat, slot = lcat[lcodes], lslot[lcodes]
        found = idx >= 0

        # Y-STR rows of known samples: set aside, counted per spelling
        y = found & (cat == _Y)
        if y.any():
            for j, k in enumerate(np.bincount(lcodes[y], minlength=len(lvalues))):
                if k:
                    s = lvalues[j].strip()
                    res.skipped[s] = res.skipped.get(s, 0) + int(k)

        # rows a vectorised check cannot decide before the duplicate check: the rules decide
        pre = np.flatnonzero(~found | (cat == _FLAG))
        passed = found & ((cat == _AUTO) | (cat == _OTHER))
        extra_pass: list[int] = []
        if len(pre):
            cols = {i: b.cells[i] for i in self.needed}
            self._samples.learn([v.strip() for v in b.cells[r.i_sid].take(pa.array(pre)).to_pylist()])
            for j in pre.tolist():
                cells = self._cells_of(cols, j)
                got = r.before_duplicate(int(b.line[j]), cells)
                if got is None:
                    continue
                s, kind, raw_locus, locus = got     # an id only Python's strip() finds
                idx[j] = self._samples.position(s)
                cat[j] = _AUTO if kind == "autosomal" else _OTHER
                slot[j] = self.locus_pos[locus] if locus else self.K - 1
                extra_pass.append(j)
        if extra_pass:
            passed[extra_pass] = True
        rows = np.flatnonzero(passed)
        if not len(rows):
            return empty

        # the duplicate check: a sample's locus typed first on an earlier line of this file
        key = idx[rows] * self.K + slot[rows]
        line = b.line[rows]
        new = self.first[key] == 0
        if new.any():
            u, at = np.unique(key[new], return_index=True)
            self.first[u] = line[new][at]
        firsts = self.first[key]
        dup = firsts != line
        if dup.any():
            for j, f in zip(rows[dup].tolist(), firsts[dup].tolist()):
                raw = b.cells[r.i_locus][j].as_py().strip()
                r.duplicate(int(b.line[j]), b.cells[r.i_sid][j].as_py().strip(), raw, r.locus(raw)[1], int(f))
            rows = rows[~dup]

        # the calls: clean rows vectorised, the others by the rules
        clean = cat[rows] == _AUTO
        for _, i in r.i_extra:
            clean &= pc.equal(pc.utf8_length(b.cells[i]), 0).to_numpy(zero_copy_only=False)[rows]
        classes = []
        for i in (r.i_a1, r.i_a2):
            dd = pc.dictionary_encode(b.cells[i])
            codes = dd.indices.to_numpy(zero_copy_only=False).astype(np.int64)[rows]
            cls, ids = self._cell_classes(dd.dictionary.to_pylist())
            classes.append((cls[codes], ids[codes]))
        (k1, i1), (k2, i2) = classes
        clean &= (k1 == _VALID) & ((k2 == _VALID) | (k2 == _EMPTY))
        c1 = i1
        c2 = np.where(k2 == _VALID, i2, i1)
        slow = np.flatnonzero(~clean)
        keep = clean.copy()
        if len(slow):
            cols = {i: b.cells[i] for i in self.needed}
            for s_ in slow.tolist():
                j = int(rows[s_])
                cells = self._cells_of(cols, j)
                raw = cells[r.i_locus].strip()
                got = r.after_duplicate(int(b.line[j]), cells, cells[r.i_sid].strip(), r.locus(raw)[0], raw)
                if got is not None:
                    keep[s_] = True
                    c1[s_], c2[s_] = self.labels.id(got[0]), self.labels.id(got[1])
        rows, c1, c2 = rows[keep], c1[keep], c2[keep]
        return Accepted(idx[rows], slot[rows], c1, c2, b.line[rows])

    def _cells_of(self, cols: dict[int, pa.Array], j: int) -> list[str]:
        """The cells of row ``j`` as the rules read them ('' at the columns they do not read)."""
        cells = [""] * self.rules.n_columns
        for i, a in cols.items():
            cells[i] = a[j].as_py()
        return cells


class NotStreamed(Exception):
    """The file is read whole instead (its header is not a plain first line)."""


class _Membership(Mapping[str, str]):
    """The accepted sample ids as the rules' ``samples`` mapping (membership only). Hashing a
    million ids costs about what a batch's look-up does, so the ids a batch asks about are
    looked up together first (:meth:`learn`)."""

    def __init__(self, ids: pa.Array):
        self.ids = ids
        self.known: dict[str, int] = {}

    def learn(self, sids: list[str], keep: bool = False) -> None:
        """Look the ids of a batch's flagged rows up at once (positions, -1 where not accepted);
        the ids learnt for the batch before are forgotten unless ``keep``."""
        got = pc.index_in(pa.array(sids, pa.string()), value_set=self.ids).fill_null(-1).to_pylist()
        if not keep:
            self.known = {}
        self.known.update(zip(sids, got))

    def position(self, sid: str) -> int:
        if sid not in self.known:
            self.learn([sid], keep=True)
        return self.known[sid]

    def __contains__(self, sid: object) -> bool:
        return isinstance(sid, str) and self.position(sid) >= 0

    def __getitem__(self, sid: str) -> str:
        if sid not in self:
            raise KeyError(sid)
        return "registered"

    def __iter__(self):
        return iter(self.ids.to_pylist())

    def __len__(self) -> int:
        return len(self.ids)


def _line_ends(head: bytes, n_lines: int) -> int | None:
    """Byte offset just after the ``n_lines``-th line end (\\r\\n, \\n or a lone \\r) of ``head``."""
    at, count = 0, 0
    while count < n_lines:
        n = head.find(b"\n", at)
        r = head.find(b"\r", at)
        if n < 0 and r < 0:
            return len(head) if count == n_lines - 1 and len(head) < HEADER_BYTES else None
        if r >= 0 and (n < 0 or r < n):
            at = r + 2 if head[r + 1:r + 2] == b"\n" else r + 1
        else:
            at = n + 1
        count += 1
    return at


def _line_batches(path: Path, start: int, batch_rows: int) -> Iterator[tuple[bytes, int]]:
    """(bytes of up to ``batch_rows`` whole lines, their byte offset) from ``start`` on; lines
    end at a newline (a lone carriage return does not end a batch)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        pending, offset = b"", start
        while True:
            data = fh.read(CHUNK_BYTES)
            buf = pending + data if pending else data
            if not data:
                if buf:
                    yield buf, offset
                return
            ends = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
            cut = 0
            for k in range(batch_rows - 1, len(ends), batch_rows):
                stop = int(ends[k]) + 1
                yield buf[cut:stop], offset + cut
                cut = stop
            pending, offset = buf[cut:], offset + cut
