"""Y-STR haplotypes at ingest: read from the genotype files beside the autosomal reader, kept
with the shard set as ``y_haplotypes.parquet`` (contract :data:`reunion.contracts.Y_HAPLOTYPES`,
named in the manifest's ``y_haplotypes``), and read back by the re-match (issue 20).

The autosomal reader (:func:`reunion.io.readers.read_genotypes`) sets Y rows aside; this module
reads the same files for them through :func:`reunion.lineage.read_y_genotypes` (the parsing
rules of :func:`reunion.genetics.ystr.parse_y_rows`: a second differing allele at a single-copy
locus is rejected, a multi-copy locus is an unordered set, a Y locus on a female sample is
rejected). Each used Y row then counts as accepted and each rejected one as rejected in the
file's :class:`InputRecord` (no longer as set aside), so read = accepted + rejected + set
aside still holds for every input. No haplotype value appears in a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from reunion.contracts import Y_HAPLOTYPES, check_table
from reunion.contracts.records import FileRef, InputRecord, Manifest
from reunion.errors import InputError
from reunion.frequencies import file_sha256
from reunion.genetics.ystr import YHaplotype, YValue, y_locus
from reunion.io import atomic
from reunion.io.readers import ReadResult, Reject
from reunion.loci import locus_kind

log = logging.getLogger(__name__)

Y_HAPLOTYPES_FILE = "y_haplotypes.parquet"

__all__ = ["Y_HAPLOTYPES_FILE", "YIngest", "read_y", "y_sexes", "haplotypes_table", "haplotypes_of_table",
           "write_y_haplotypes", "load_y_haplotypes", "value_label"]


@dataclass(frozen=True)
class YIngest:
    """What ingest keeps of the Y rows: ``haplotypes`` by sample id, ``rejects`` (file, line,
    field, reason), ``records`` the genotype inputs' records with the Y rows accounted, and
    ``note`` one line for the manifest (None where no file has a Y row)."""

    haplotypes: dict[str, YHaplotype]
    rejects: list[Reject]
    records: list[InputRecord]
    note: str | None


def y_sexes(sexes: Mapping[str, str], observed: Mapping[str, str]) -> dict[str, str]:
    """sample_id -> sex for the Y parse: the samples' M/F, else the amelogenin call
    (``observed``), else ''."""
    return {s: (x if x in ("M", "F") else observed.get(s, "")) for s, x in sexes.items()}


def read_y(paths: Sequence[Path], records: Sequence[InputRecord], reads: Sequence[ReadResult],
           sexes: Mapping[str, str], standing: Mapping[str, YHaplotype] | None = None) -> YIngest:
    """The Y haplotypes of the genotype files ``paths`` (their ingest ``records`` and the
    genotype reader's ``reads``, same order), for the accepted samples ``sexes`` (sample_id ->
    M/F/U/'': the samples' sex, else what amelogenin showed). Only a file whose reader set
    aside rows of a Y locus is read again here (amelogenin alone is no reason to); a CODIS CMF
    file or a database table has no Y rows read here (its record is returned as is). A sample typed for Y in two files: :class:`InputError`.
    ``standing`` (append): the standing shard set's haplotypes; a Y row of one of these men is
    rejected ("already typed"), so a batch never re-types a registered Y haplotype."""
    from reunion.ingest import ALREADY_TYPED
    from reunion.lineage import YRead, read_y_genotypes

    total = YRead()
    out = []
    rows = 0
    for path, rec, read in zip(paths, records, reads):
        p = Path(path)
        if not any(locus_kind(k) == "y" for k in read.skipped) or not p.is_file() \
                or p.suffix.lower() in (".cmf", ".xml"):
            out.append(rec)
            continue
        again = {s: (f"sample {s} {ALREADY_TYPED} Y-STR loci in the standing shard set (its Y "
                     "haplotype is registered): a batch cannot add to or re-type a Y haplotype; "
                     "remove these rows, or re-ingest everything with the corrected typing")
                 for s in (standing or {})}
        got = read_y_genotypes(p, sexes, None, beside_reader=True, already=again)
        total.add(got)
        y_rows = got.n_used + len(got.rejects)
        rows += y_rows
        left = rec.skipped - y_rows
        if left < 0:             # the two reads disagree on which rows are Y: a bug, not an input error
            raise AssertionError(f"{p}: more Y rows than rows set aside by the genotype reader")
        out.append(rec.model_copy(update={"accepted": rec.accepted + got.n_used,
                                          "rejected": rec.rejected + len(got.rejects),
                                          "skipped": left or None}))
    note = None
    if rows:
        loci = sorted({locus for h in total.haplotypes.values() for locus in h.loci})
        names = ", ".join(loci[:6]) + (", ..." if len(loci) > 6 else "")
        note = (f"Y-STR loci: {rows} rows, {total.n_used} kept as the Y haplotypes of "
                f"{len(total.haplotypes)} men ({len(loci)} loci: {names}; {Y_HAPLOTYPES_FILE}, "
                f"scored when scoring.y_evidence is true), {len(total.rejects)} in rejects.csv")
    return YIngest(total.haplotypes, total.rejects, out, note)


def value_label(v: YValue) -> str:
    """A Y value as the contract writes it: '14', '9.2'; a multi-copy set '11,14'."""
    def one(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:g}"
    return one(v) if isinstance(v, (int, float)) else ",".join(one(x) for x in v)


def haplotypes_table(haplotypes: Mapping[str, YHaplotype]) -> pa.Table:
    """The Y_HAPLOTYPES rows of ``haplotypes``, by sample id then locus."""
    sid, loc, val = [], [], []
    for s in sorted(haplotypes):
        for locus, v in haplotypes[s].alleles:
            sid.append(s)
            loc.append(locus)
            val.append(value_label(v))
    return pa.Table.from_arrays([pa.array(sid, pa.string()), pa.array(loc, pa.string()),
                                 pa.array(val, pa.string())], schema=Y_HAPLOTYPES)


def haplotypes_of_table(t: pa.Table, what: str) -> dict[str, YHaplotype]:
    """The haplotypes of a Y_HAPLOTYPES table (InputError naming ``what`` and the row where a
    locus or value cannot be read)."""
    t = check_table(t, Y_HAPLOTYPES, what)
    got: dict[str, dict[str, object]] = {}
    for i, (s, locus, v) in enumerate(zip(*(t.column(c).to_pylist() for c in ("sample_id", "locus", "value")))):
        info, part = y_locus(locus)
        try:
            vals = [float(x) for x in v.split(",")]
            if info is None or part or info.name != locus:
                raise ValueError
            got.setdefault(s, {})[locus] = vals[0] if info.copies == 1 else vals
            YHaplotype.of(s, {locus: got[s][locus]})
        except ValueError:
            raise InputError(f"{what}: row {i}: locus or value is not a Y-STR typing this version "
                             "reads; re-run 'reunion ingest'") from None
    return {s: YHaplotype.of(s, d) for s, d in got.items()}


def write_y_haplotypes(haplotypes: Mapping[str, YHaplotype], out_dir: Path) -> FileRef | None:
    """Write ``y_haplotypes.parquet`` (atomic) in the shard set ``out_dir``; its FileRef for the
    manifest, None (and no file) where no man has a Y haplotype."""
    if not haplotypes:
        return None
    path = atomic.write_table(haplotypes_table(haplotypes), Path(out_dir) / Y_HAPLOTYPES_FILE)
    return FileRef(path=Y_HAPLOTYPES_FILE, sha256=file_sha256(path))


def load_y_haplotypes(shards_dir: Path | str, manifest: Manifest) -> dict[str, YHaplotype]:
    """The shard set's Y haplotypes by sample id (checked against the manifest's sha256); empty
    where the manifest names none."""
    ref = manifest.y_haplotypes
    if ref is None:
        return {}
    from reunion.ingest import verify_file

    path = Path(shards_dir) / ref.path
    verify_file(path, ref.sha256)
    return haplotypes_of_table(atomic.read_table(path), str(path))
