"""Ingest: validate a lab's export, encode it, and write Arrow shards with a manifest.

    samples + genotypes (CSV, Parquet, GeneMapper)  --validate-->  accepted | rejects.csv
        --encode (frequency table)-->  query shards (missing persons)
                                       reference shards (families; a family never spans two)
        --> alleles.parquet (codes, frequencies, floor use) + manifest.json (sha256 of each shard)

Genotype files are read in batches (``ingest.streaming``: :mod:`reunion.io.stream`, checked
vectorised, the accepted calls gathered into :class:`DenseProfiles`); ``ingest.streaming=false``
reads each whole, row by row (:func:`reunion.io.readers.read_genotypes`), with the same result.

Every input row is accepted, written to rejects.csv with its file, line,
field and reason, or (genotype rows of amelogenin) set aside and counted;
Y-STR rows are kept as Y haplotypes (reunion/io/yrows.py) and counted as
accepted or rejected: read = accepted + rejected + skipped for every input.
What a reviewer must know about the inputs as a whole (a locus the frequency
table lacks, the Y-STR rows kept, amelogenin against the samples' sex, samples of
another population than the frequency table's) is one line each in
``IngestSummary.notes`` and the manifest's ``notes``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reunion import code_version
from reunion.contracts import CONTRACT_VERSION, PEDIGREE_COLUMNS, REGISTRY, check_table, shard_schema
from reunion.contracts.records import (
    FileRef,
    FloorCounts,
    FrequencyTableRef,
    InputRecord,
    Manifest,
    ManifestCounts,
    RejectsRef,
    ShardRecord,
)
from reunion.encoding import Encoding, genotype_index
from reunion.errors import InputError
from reunion.frequencies import FrequencyTable, file_sha256, load_frequency_table
from reunion.genetics.family import Family, Member
from reunion.genetics.registration import EXPLICIT_RELATIONS, lost_child_ids, registration_problems
from reunion.genetics.roles import Relation
from reunion.io import atomic, locks, yrows
from reunion.io.readers import (
    ReadResult,
    Reject,
    read_genotypes,
    read_samples,
    write_rejects,
)
from reunion.io.stream import Accepted, GenotypeStream, Labels, NotStreamed, streamable
from reunion.loci import LocusNormaliser, locus_kind
from reunion.settings import Settings

log = logging.getLogger("reunion.ingest")

MANIFEST = "manifest.json"
ALLELES_FILE = "alleles.parquet"
REJECTS_FILE = "rejects.csv"
REGISTRY_FILE = "registry.parquet"
#: members of a family are stored in the order the Relation enum declares
RELATION_ORDER = {r.value: i for i, r in enumerate(Relation)}
#: in the reason of a row that repeats a registration (a sample id; a sample's locus)
ALREADY_REGISTERED, ALREADY_TYPED = "is already registered", "is already typed at"


@dataclass
class IngestSummary:
    manifest_path: Path
    inputs: list[InputRecord]
    n_missing: int
    n_relatives: int
    n_families: int
    n_query_shards: int
    n_reference_shards: int
    floored_allele_uses: int
    floored_alleles: int
    rejects_path: Path
    notes: list[str] = field(default_factory=list)   # one line each: see input_notes()

    @property
    def rows_read(self) -> int:
        return sum(i.read for i in self.inputs)

    @property
    def rows_rejected(self) -> int:
        return sum(i.rejected for i in self.inputs)


def member_order(r: dict) -> tuple:
    """Order of relatives in reference shards: by family, relation (parents first), sample id."""
    return (r["family_id"], RELATION_ORDER[r["relation"]], r["sample_id"])


def _cross_checks(results: list[tuple[Path, ReadResult]], seen_ids: dict[str, str] | None = None,
                  seen_parent: dict[tuple[str, str], str] | None = None,
                  closed: set[str] | None = None) -> list[ReadResult]:
    """Checks across rows and files of samples: a sample id registered in an earlier
    file, a second father or mother in one family (a lost child has one of each), and
    the families registered as explicit pedigrees (father_id / mother_id:
    :func:`reunion.genetics.registration.registration_problems`, over every file together).

    ``seen_ids`` / ``seen_parent`` hold registrations made before these files
    (a standing shard set that a batch is appended to); ``closed``: its families
    registered as explicit pedigrees, which a batch cannot extend.
    """
    seen_ids = dict(seen_ids or {})
    seen_parent = dict(seen_parent or {})
    closed = closed or set()
    out = []
    for path, res in results:
        keep, lines, rejects = [], [], list(res.rejects)
        cols = [res.table.column(c).to_pylist() for c in ("sample_id", "role", "family_id", "relation")]
        for j, (sid, role, fid, relation, rowno) in enumerate(zip(*cols, res.lines)):
            r = {"sample_id": sid, "role": role, "family_id": fid, "relation": relation}
            where = f"{path.name} row {rowno}"
            if r["role"] == "relative" and r["family_id"] in closed:
                rejects.append(Reject(str(path), rowno, "family_id",
                                      f"family {r['family_id']} is registered as a pedigree (father_id / "
                                      "mother_id) in the standing shard set: a batch cannot extend it; "
                                      "ingest the whole family again with this member"))
                continue
            if r["sample_id"] in seen_ids:
                rejects.append(Reject(str(path), rowno, "sample_id",
                                      f"sample {r['sample_id']} {ALREADY_REGISTERED} "
                                      f"({seen_ids[r['sample_id']]}); a batch ingested twice changes "
                                      "nothing. Give a new sample a new id."))
                continue
            if r["role"] == "relative" and r["relation"] in ("father", "mother"):
                key = (r["family_id"], r["relation"])
                if key in seen_parent:
                    rejects.append(Reject(str(path), rowno, "relation",
                                          f"family {r['family_id']} already has a {r['relation']} "
                                          f"({seen_parent[key]}); a lost child has one. Correct the "
                                          "relation or the family_id."))
                    continue
                seen_parent[key] = where
            seen_ids[r["sample_id"]] = where
            keep.append(j)
            lines.append(rowno)
        rejects.sort(key=lambda j: j.row)
        table = res.table if len(keep) == res.table.num_rows else res.table.take(pa.array(keep, pa.int64()))
        out.append(ReadResult(table=table, rejects=rejects, n_read=res.n_read, lines=lines))
    return _pedigree_checks([p for p, _ in results], out)


def _pedigree_checks(paths: list[Path], results: list[ReadResult]) -> list[ReadResult]:
    """``results`` with the rows of inconsistent registrations (explicit pedigrees; a relation-code
    family's conflicting lost_sex: :func:`registration_problems`) moved to their rejects."""
    if not any(_registers_pedigree(res.table) for res in results):
        return results                   # relation codes only, no lost_sex: nothing registration_problems checks
    rows, at = [], []
    for k, res in enumerate(results):
        for j, (r, rowno) in enumerate(zip(res.table.to_pylist(), res.lines)):
            if r["role"] == "relative":
                rows.append(r)
                at.append((k, j, rowno))
    problems = registration_problems(rows, [f"{paths[k].name} row {rowno}" for k, _, rowno in at])
    if not problems:
        return results
    drop: dict[int, dict[int, Reject]] = {}
    for i, (fld, reason) in problems.items():
        k, j, rowno = at[i]
        drop.setdefault(k, {})[j] = Reject(str(paths[k]), rowno, fld, reason)
    out = []
    for k, res in enumerate(results):
        gone = drop.get(k)
        if not gone:
            out.append(res)
            continue
        keep = [j for j in range(res.table.num_rows) if j not in gone]
        rejects = sorted(res.rejects + list(gone.values()), key=lambda j: j.row)
        out.append(dataclasses.replace(res, table=res.table.take(keep), rejects=rejects,
                                       lines=[res.lines[j] for j in keep]))
    return out


def _registers_pedigree(t: pa.Table) -> bool:
    """Whether a samples table has a row :func:`registration_problems` checks: a father_id,
    mother_id or lost_sex, or a relation of the explicit form (:func:`is_explicit`)."""
    if any(t.column(c).null_count < t.num_rows for c in ("father_id", "mother_id", "lost_sex")):
        return True
    return bool(pc.any(pc.is_in(t.column("relation"), value_set=pa.array(sorted(EXPLICIT_RELATIONS), pa.string()))).as_py())


def lost_child_genotypes(paths: list[Path | str], genos: list[ReadResult], lost: set[str]) -> list[ReadResult]:
    """``genos`` with the genotype rows of lost children (relation lost_child: the person
    searched for) moved to their rejects: the lost child of an explicit pedigree has no genotype."""
    if not lost:
        return genos
    out = []
    for p, g in zip(paths, genos):
        sids = g.table.column("sample_id").to_pylist()
        bad = [j for j, sid in enumerate(sids) if sid in lost]
        if not bad:
            out.append(g)
            continue
        gone = set(bad)
        keep = [j for j in range(len(sids)) if j not in gone]
        rejects = g.rejects + [lost_child_reject(p, g.lines[j], sids[j]) for j in bad]
        out.append(dataclasses.replace(g, table=g.table.take(keep), rejects=sorted(rejects, key=lambda j: j.row),
                                       lines=[g.lines[j] for j in keep]))
    return out


def lost_child_reject(path: Path | str, row: int, sid: str) -> Reject:
    """The reject of a genotype row of a family's lost child."""
    return Reject(str(path), row, "sample_id",
                  f"sample {sid} is a family's lost_child (the person searched for), "
                  "who has no genotype rows: a typed person is registered as a missing "
                  "person (role missing) or a relative with another relation; correct "
                  "the samples file or remove this row")


def typed_again_reject(path: Path | str, row: int, sid: str, locus: str) -> Reject:
    """The reject of a genotype row of a sample's locus typed in an earlier file (or shard set)."""
    return Reject(str(path), row, "locus", f"sample {sid} {ALREADY_TYPED} {locus} "
                  "in an earlier file; remove one of the two calls")


def _lost(results: list[ReadResult]) -> set[str]:
    """Sample ids of the accepted lost_child rows."""
    out: set[str] = set()
    for res in results:
        t = res.table.select(["sample_id", "relation"])
        lost = t.filter(pc.equal(t.column("relation"), Relation.LOST_CHILD.value))
        out |= lost_child_ids(lost.to_pylist())
    return out


def sample_sexes(results: list[ReadResult]) -> dict[str, str]:
    """sample_id -> sex ('M', 'F', 'U' or '') of the accepted samples."""
    return {sid: sex or "" for res in results
            for sid, sex in zip(res.table.column("sample_id").to_pylist(), res.table.column("sex").to_pylist())}


def input_notes(sample_results: list[ReadResult], genos: list[ReadResult], table: FrequencyTable,
                y_note: str | None = None) -> list[str]:
    """One line for each thing about the inputs as a whole that a reviewer must know.

    - an autosomal locus the frequency table lacks (its rows are rejected, and it
      is not scored for anyone), with the table's closest spelling;
    - Y-STR loci: ``y_note`` where ingest kept their haplotypes (:mod:`reunion.io.yrows`), else
      their rows are set aside, not scored;
    - amelogenin: samples typed, and how many disagree with the samples' sex
      (those rows are in rejects.csv; the profiles are kept);
    - samples whose ``population`` is not the frequency table's population
      (they are scored with the table's frequencies all the same).
    Each line is also logged as a warning. No genotype appears in them.
    """
    notes: list[str] = []
    unscored: dict[str, list] = {}
    for g in genos:
        for locus, (n, hint) in g.unscored.items():
            u = unscored.setdefault(locus, [0, hint])
            u[0] += n
    for locus, (n, hint) in unscored.items():
        did = f"; did you mean '{hint}'?" if hint else ""
        notes.append(f"locus '{locus}' is not in the frequency table ({Path(table.source).name}, "
                     f"{table.population}): not scored, its {n} rows are in rejects.csv{did}")
    y: Counter[str] = Counter()
    for g in genos:
        y.update({k: n for k, n in g.skipped.items() if locus_kind(k) == "y"})
    if y_note:
        notes.append(y_note)
    elif y:
        names = ", ".join(sorted(y)[:6]) + (", ..." if len(y) > 6 else "")
        notes.append(f"Y-STR loci are not scored (autosomal matching only): {len(y)} loci ({names}), "
                     f"{sum(y.values())} rows set aside")
    typed = {sid for g in genos for sid in g.observed_sex}
    if typed:
        bad = sum(g.sex_mismatches for g in genos)
        notes.append(f"amelogenin typed for {len(typed)} samples; {bad} disagree with the samples' sex"
                     + (" (rejects.csv says which; their profiles are kept)" if bad else ""))
    pops = Counter(p.strip() for res in sample_results for p in res.table.column("population").to_pylist()
                   if p and p.strip())
    other = {p: n for p, n in pops.items() if p.casefold() != table.population.casefold()}
    if other:
        top = ", ".join(f"'{p}': {n}" for p, n in sorted(other.items(), key=lambda x: (-x[1], x[0]))[:3])
        notes.append(f"{sum(other.values())} of {sum(pops.values())} samples with a population give "
                     f"another population than the frequency table's '{table.population}' ({top}); all "
                     "are scored with its frequencies: check 'frequencies.population'")
    for line in notes:
        log.warning("%s", line)
    return notes


def assemble_profiles(paths: list[Path], genos: list[ReadResult], records: list[InputRecord],
                      typed: dict[str, set[str]] | None = None) -> tuple[dict, list[Reject]]:
    """{sample_id: {locus: (allele1, allele2)}} from accepted genotype rows, files in order.

    A sample typed at a locus already typed in an earlier file (or, per
    ``typed``, in the standing shard set) is rejected there and counted against
    that file's record: ``records`` (one per file, in order) are replaced in place by
    records with those counts. Returns (profiles, those rejects).
    """
    typed = typed or {}
    profiles: dict[str, dict[str, tuple[str, str]]] = {}
    rejects: list[Reject] = []
    for k, (p, g) in enumerate(zip(paths, genos)):
        again = 0
        cols = (g.table.column(c).to_pylist() for c in ("sample_id", "locus", "allele1", "allele2"))
        for sid, locus, a1, a2, rowno in zip(*cols, g.lines):
            prof = profiles.setdefault(sid, {})
            if locus in prof or locus in typed.get(sid, ()):
                rejects.append(typed_again_reject(p, rowno, sid, locus))
                again += 1   # counted against this input, even if the file is listed twice
                continue
            prof[locus] = (a1, a2)
        if again:
            rec = records[k]
            records[k] = rec.model_copy(update={"accepted": rec.accepted - again,
                                                "rejected": rec.rejected + again})
    return profiles, rejects


def _rows_of(results: list[ReadResult], role: str, columns: tuple[str, ...]) -> list[dict]:
    """The accepted samples of one role as dicts of ``columns`` (the shard writers' rows)."""
    out: list[dict] = []
    for res in results:
        t = res.table.filter(pc.equal(res.table.column("role"), role)).select(list(columns))
        out += [dict(zip(columns, vals)) for vals in zip(*(t.column(c).to_pylist() for c in columns))]
    return out


def _sample_ids(results: list[ReadResult]) -> pa.Array:
    """string [n]: the accepted samples' ids, files in order (unique after :func:`_cross_checks`)."""
    cols = [res.table.column("sample_id").combine_chunks() for res in results]
    return pa.concat_arrays(cols) if cols else pa.array([], pa.string())


@dataclass
class DenseProfiles:
    """The accepted genotypes of the accepted samples, one row per sample (``sample_ids``
    order) and one column per frequency-table locus: uint16 [S, L] allele label ids
    (``labels``; 0 where untyped) of the first and second allele."""

    sample_ids: pa.Array
    allele1: np.ndarray
    allele2: np.ndarray
    labels: Labels

    @classmethod
    def empty(cls, sample_ids: pa.Array, n_loci: int) -> "DenseProfiles":
        z = lambda: np.zeros((len(sample_ids), n_loci), np.uint16)  # noqa: E731
        return cls(sample_ids, z(), z(), Labels())

    @classmethod
    def of(cls, profiles: dict[str, dict[str, tuple[str, str]]], sample_ids: pa.Array,
           loci: list[str]) -> "DenseProfiles":
        """From :func:`assemble_profiles`' {sample_id: {locus: (allele1, allele2)}}."""
        out = cls.empty(sample_ids, len(loci))
        pos = {name: i for i, name in enumerate(loci)}
        at = out.positions(list(profiles))
        for i, prof in zip(at.tolist(), profiles.values()):
            for locus, (a1, a2) in prof.items():
                out.allele1[i, pos[locus]] = out.labels.id(a1)
                out.allele2[i, pos[locus]] = out.labels.id(a2)
        return out

    def positions(self, sids: list[str]) -> np.ndarray:
        """int64 [len(sids)]: each id's row (every id must be an accepted sample)."""
        got = pc.index_in(pa.array(sids, pa.string()), value_set=self.sample_ids)
        assert got.null_count == 0
        return got.to_numpy(zero_copy_only=False).astype(np.int64)

    def encode(self, table: FrequencyTable, floor: float) -> tuple[Encoding, np.ndarray, int]:
        """(the encoding of the table's alleles plus the rare alleles observed, uint16 [S, L]
        genotype indices (0: untyped), allele uses that take the floor frequency)."""
        names = self.labels.names
        observed = {}
        for li, locus in enumerate(table.locus_names):
            ids = np.unique(np.concatenate([self.allele1[:, li], self.allele2[:, li]]))
            if ids.size and ids[-1] > 0:
                observed[locus] = {names[i] for i in ids.tolist() if i}
        enc = Encoding.build(table, observed, floor)
        codes = np.zeros(self.allele1.shape, np.uint16)
        floored = 0
        for li, lc in enumerate(enc.loci):
            code = np.zeros(len(names), np.int64)
            flag = np.zeros(len(names), np.int64)
            for c, (a, f) in enumerate(zip(lc.alleles, lc.floored.tolist())):
                i = self.labels.ids.get(a)
                if i is not None:
                    code[i], flag[i] = c, f
            a1, a2 = self.allele1[:, li], self.allele2[:, li]
            typed = a1 > 0
            codes[:, li] = np.where(typed, genotype_index(code[a1], code[a2]), 0)
            floored += int(flag[a1[typed]].sum() + flag[a2[typed]].sum())
        return enc, codes, floored


def stream_genotypes(paths: list[Path], normalise: LocusNormaliser, sample_results: list[ReadResult],
                     sexes: dict[str, str], table: FrequencyTable, settings: Settings,
                     read_whole: Callable[[Path], ReadResult | None] = lambda p: None,
                     ) -> tuple[list[ReadResult], list[InputRecord], list[Reject], DenseProfiles]:
    """The genotype files read batch by batch (:class:`reunion.io.stream.GenotypeStream`; a
    file it does not stream, or one ``read_whole`` gives, read whole) into dense profiles, with
    the rows of lost children and of a locus typed in an earlier file rejected as
    :func:`lost_child_genotypes` and :func:`assemble_profiles` do. Returns (per file its
    read result, its input record, the rejects of loci typed in an earlier file, the profiles)."""
    ids = _sample_ids(sample_results)
    loci = table.locus_names
    dense = DenseProfiles.empty(ids, len(loci))
    lost = _lost(sample_results)
    is_lost = pc.is_in(ids, value_set=pa.array(sorted(lost), pa.string())).to_numpy(zero_copy_only=False)
    first = np.zeros(len(ids) * (len(loci) + 1), np.int32)
    roles = None
    genos, records, cross = [], [], []
    for p in paths:
        g = read_whole(p)
        stream = None
        if g is None and streamable(p):
            try:
                stream = GenotypeStream(p, normalise, ids, sexes, loci, first, dense.labels,
                                        settings.ingest.batch_rows)
            except NotStreamed:
                stream = None
        if g is None and stream is None:
            if roles is None:
                roles = dict.fromkeys(ids.to_pylist(), "registered")
            g = read_genotypes(p, normalise, roles, sexes)
        batches = stream if stream is not None else [_accepted_of(g, ids, loci, dense.labels)]
        lost_rejects, again, kept = [], 0, 0
        for a in batches:
            gone = is_lost[a.sample]
            if gone.any():
                sids = ids.take(pa.array(a.sample[gone])).to_pylist()
                lost_rejects += [lost_child_reject(p, ln, sid) for ln, sid in zip(a.line[gone].tolist(), sids)]
                a = Accepted(*(x[~gone] for x in (a.sample, a.locus, a.allele1, a.allele2, a.line)))
            seen = dense.allele1[a.sample, a.locus] > 0
            if seen.any():
                sids = ids.take(pa.array(a.sample[seen])).to_pylist()
                cross += [typed_again_reject(p, ln, sid, loci[li]) for ln, sid, li in
                          zip(a.line[seen].tolist(), sids, a.locus[seen].tolist())]
                again += int(seen.sum())
                a = Accepted(*(x[~seen] for x in (a.sample, a.locus, a.allele1, a.allele2, a.line)))
            dense.allele1[a.sample, a.locus] = a.allele1
            dense.allele2[a.sample, a.locus] = a.allele2
            kept += len(a.line)
        if stream is not None:
            g = stream.result
        rejects = sorted(g.rejects + lost_rejects, key=lambda j: j.row) if lost_rejects else g.rejects
        g = dataclasses.replace(g, rejects=rejects)
        genos.append(g)
        records.append(InputRecord(path=str(Path(p).resolve()), kind="genotypes", sha256=file_sha256(p),
                                   read=g.n_read, accepted=kept, rejected=len(rejects) + again,
                                   skipped=g.n_skipped or None))
    if len(dense.labels.names) > np.iinfo(np.uint16).max:
        raise InputError(f"{paths[0]}: more than 65,535 distinct allele labels; check the allele columns")
    return genos, records, cross, dense


def _accepted_of(g: ReadResult, ids: pa.Array, loci: list[str], labels: Labels) -> Accepted:
    """The accepted rows of a whole-file read as one :class:`Accepted` batch."""
    t = g.table
    pos = {name: i for i, name in enumerate(loci)}
    sample = pc.index_in(t.column("sample_id"), value_set=ids).to_numpy(zero_copy_only=False).astype(np.int64)
    col = lambda c, f: np.array([f(v) for v in t.column(c).to_pylist()], np.int64)  # noqa: E731
    return Accepted(sample, col("locus", pos.__getitem__), col("allele1", labels.id), col("allele2", labels.id),
                    np.array(g.lines, np.int64))


@locks.holding(writes="out_dir", what="ingest")
def ingest(samples_paths: Path | list[Path], genotype_paths: list[Path], out_dir: Path,
           settings: Settings, table: FrequencyTable | None = None,
           source: str | None = None) -> IngestSummary:
    """Validate, encode and shard a database export (one or more batches) into ``out_dir``.

    Files are read in the order given; a row repeating an earlier registration
    (same sample id, or same sample and locus) is rejected, so re-ingesting a
    batch changes nothing.
    """
    out_dir = atomic.ensure_dir(Path(out_dir))
    table = table or load_frequency_table(settings.frequencies.table, settings.frequencies.population)
    normalise = LocusNormaliser(table.locus_names)

    if isinstance(samples_paths, (str, Path)):
        samples_paths = [samples_paths]
    samples_paths = [Path(p) for p in samples_paths]
    genotype_paths = [Path(p) for p in genotype_paths]
    if source is not None:                       # a PostgreSQL registry (reunion.io.postgres)
        from reunion.io.postgres import PostgresSource, input_record
        with PostgresSource(source, settings.source) as src:
            s_label = src.label(settings.source.samples_table)
            sample_results = _cross_checks([(s_label, src.read_samples())])
            roles = {sid: role for res in sample_results
                     for sid, role in zip(res.table.column("sample_id").to_pylist(),
                                          res.table.column("role").to_pylist())}
            sexes = sample_sexes(sample_results)
            genos = [src.read_genotypes(normalise, roles, sexes)]
        genotype_paths = [src.label(settings.source.genotypes_table)]
        genos = lost_child_genotypes(genotype_paths, genos, _lost(sample_results))
        s_inputs = [input_record(s_label, sample_results[0], "samples", src.sha256["samples"],
                                 src.watermark.get("samples"))]
        g_inputs = [input_record(genotype_paths[0], genos[0], "genotypes", src.sha256["genotypes"],
                                 src.watermark.get("genotypes"))]
        profiles, cross_rejects = assemble_profiles(genotype_paths, genos, g_inputs)
        dense = DenseProfiles.of(profiles, _sample_ids(sample_results), table.locus_names)
    else:                                        # files; a CODIS CMF file also registers its specimens
        from reunion.io.cmf import is_cmf, read_cmf, restrict
        s_reads = [(p, read_samples(p)) for p in samples_paths]
        cmf_paths = [p for p in genotype_paths if is_cmf(p)]
        given = {sid: role for _, r in s_reads if cmf_paths
                 for sid, role in zip(r.table.column("sample_id").to_pylist(), r.table.column("role").to_pylist())}
        cmf = {p: read_cmf(p, normalise, given, sample_sexes([r for _, r in s_reads]),
                           settings.ingest.cmf_family_attribute)
               for p in cmf_paths}
        sample_results = _cross_checks(s_reads + [(p, c.samples) for p, c in cmf.items()])
        sample_inputs = samples_paths + list(cmf)
        roles = {sid: role for res in sample_results if cmf or not settings.ingest.streaming
                 for sid, role in zip(res.table.column("sample_id").to_pylist(),
                                      res.table.column("role").to_pylist())}
        sexes = sample_sexes(sample_results)
        if settings.ingest.streaming:
            genos, g_inputs, cross_rejects, dense = stream_genotypes(
                genotype_paths, normalise, sample_results, sexes, table, settings,
                read_whole=lambda p: restrict(cmf[p].genotypes, roles, str(p)) if p in cmf else None)
        else:
            genos = [restrict(cmf[p].genotypes, roles, str(p)) if p in cmf
                     else read_genotypes(p, normalise, roles, sexes) for p in genotype_paths]
            genos = lost_child_genotypes(genotype_paths, genos, _lost(sample_results))
        s_inputs = [_input_record(p, r, "samples") for p, r in zip(sample_inputs, sample_results)]
        if not settings.ingest.streaming:
            g_inputs = [_input_record(p, g, "genotypes") for p, g in zip(genotype_paths, genos)]
            profiles, cross_rejects = assemble_profiles(genotype_paths, genos, g_inputs)
            dense = DenseProfiles.of(profiles, _sample_ids(sample_results), table.locus_names)
    # Y-STR rows: kept as Y haplotypes beside the shards (one call: reunion/io/yrows.py)
    ys = yrows.read_y(genotype_paths, g_inputs, genos, yrows.y_sexes(
        sexes, {k: v for g in genos for k, v in g.observed_sex.items()}))
    g_inputs = ys.records
    notes = input_notes(sample_results, genos, table, ys.note)
    inputs = s_inputs + g_inputs
    all_rejects = [r for res in sample_results for r in res.rejects] + \
        [r for g in genos for r in g.rejects] + cross_rejects + ys.rejects
    rejects_path = write_rejects(all_rejects, out_dir / REJECTS_FILE)

    enc, codes, floored_uses = dense.encode(table, settings.frequencies.floor)
    alleles_path = atomic.write_table(enc.to_table(), out_dir / ALLELES_FILE)

    missing = sorted(_rows_of(sample_results, "missing", ("sample_id", "sex")), key=lambda r: r["sample_id"])
    relatives = sorted(_rows_of(sample_results, "relative", ("sample_id", "family_id", "relation", "sex",
                                                             *PEDIGREE_COLUMNS)), key=member_order)
    L = len(enc.loci)

    def codes_of(rows):
        """uint16 [len(rows), L] genotype indices."""
        return codes[dense.positions([r["sample_id"] for r in rows])]

    shards = write_query_shards(missing, codes_of(missing), out_dir, settings, L,
                                sexes=missing_sexes(missing, genos))
    families = sorted({r["family_id"] for r in relatives})
    shards += write_reference_shards(relatives, codes_of(relatives), out_dir, settings, L)
    registry_path = write_registry(registry_rows(out_dir, shards), out_dir)

    manifest = Manifest(
        contract_version=CONTRACT_VERSION,
        reunion_version=code_version(),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        frequency_table=FrequencyTableRef(path=str(table.source), population=table.population,
                                          sha256=table.sha256),
        loci=list(enc.locus_names),
        alleles=FileRef(path=ALLELES_FILE, sha256=file_sha256(alleles_path)),
        inputs=inputs,
        rejects=RejectsRef(path=REJECTS_FILE, rows=len(all_rejects)),
        registry=FileRef(path=REGISTRY_FILE, sha256=file_sha256(registry_path)),
        floor=FloorCounts(allele_uses=floored_uses,
                          alleles=int(sum(int(lc.floored.sum()) for lc in enc.loci))),
        counts=ManifestCounts(missing=len(missing), relatives=len(relatives), families=len(families)),
        shards=shards,
        notes=notes or None,
        y_haplotypes=yrows.write_y_haplotypes(ys.haplotypes, out_dir),
    )
    manifest_path = manifest.write(out_dir / MANIFEST)
    log.info("ingested %d missing persons and %d relatives in %d families; %d rows rejected",
             len(missing), len(relatives), len(families), len(all_rejects))
    return IngestSummary(manifest_path, inputs, len(missing), len(relatives), len(families),
                         len(shards_of(shards, "query")), len(shards_of(shards, "reference")),
                         floored_uses, manifest.floor.alleles, rejects_path, notes)


def missing_sexes(rows: list[dict], genos: list[ReadResult]) -> dict[str, str]:
    """sample_id -> 'M' / 'F' of the missing persons in ``rows`` whose sex is known: the samples'
    sex, else the one their amelogenin rows show (the genotype reads' ``observed_sex``; where both
    are given and differ, the amelogenin row is a reject and the samples' sex stands)."""
    seen: dict[str, str] = {}
    for g in genos:
        seen.update(g.observed_sex)
    out = {}
    for r in rows:
        sex = r.get("sex") if r.get("sex") in ("M", "F") else seen.get(r["sample_id"])
        if sex in ("M", "F"):
            out[r["sample_id"]] = sex
    return out


def write_query_shards(rows: list[dict], codes: np.ndarray, out_dir: Path, settings: Settings, L: int,
                       first: int = 0, sexes: dict[str, str] | None = None) -> list[ShardRecord]:
    """Missing persons (in the order given) into query shards numbered from ``first``, with
    their known sex (``sexes``, :func:`missing_sexes`; null where absent)."""
    shards, qs, fmt = [], settings.ingest.queries_per_shard, settings.ingest.format
    sexes = sexes or {}
    for s, start in enumerate(range(0, len(rows), qs), start=first):
        part = rows[start:start + qs]
        t = pa.Table.from_arrays(
            [pa.array([r["sample_id"] for r in part]),
             pa.array([sexes.get(r["sample_id"]) for r in part], pa.string()),
             _codes_array(codes[start:start + qs], L)],
            schema=shard_schema("query", L))
        shards.append(_write_shard(t, out_dir / "shards" / f"query-{s:05d}.{fmt}", "query", s, out_dir))
    return shards


def reference_table(rows: list[dict], codes: np.ndarray, L: int) -> pa.Table:
    """Relatives (grouped by family, in the order given) as a reference-shard table (the
    pedigree columns father_id, mother_id, lost_sex null where a row lacks them)."""
    return pa.Table.from_arrays(
        [pa.array([r["sample_id"] for r in rows]), pa.array([r["family_id"] for r in rows]),
         pa.array([r["relation"] for r in rows]), pa.array([r["sex"] for r in rows], pa.string()),
         *(pa.array([r.get(c) or None for r in rows], pa.string()) for c in PEDIGREE_COLUMNS),
         _codes_array(codes, L)],
        schema=shard_schema("reference", L))


def write_reference_shards(relatives: list[dict], codes: np.ndarray, out_dir: Path, settings: Settings,
                           L: int, first: int = 0) -> list[ShardRecord]:
    """Relatives (sorted by family) into reference shards of whole families, numbered from ``first``."""
    fmt, fs = settings.ingest.format, settings.ingest.families_per_shard
    spans: dict[str, list[int]] = {}
    for i, r in enumerate(relatives):
        spans.setdefault(r["family_id"], []).append(i)
    families = list(spans)
    shards = []
    for s, start in enumerate(range(0, len(families), fs), start=first):
        idx = [i for f in families[start:start + fs] for i in spans[f]]
        t = reference_table([relatives[i] for i in idx], codes[idx], L)
        shards.append(_write_shard(t, out_dir / "shards" / f"reference-{s:05d}.{fmt}", "reference", s,
                                   out_dir, families=len(families[start:start + fs])))
    return shards


def registry_rows(root: Path, shards: list[ShardRecord]) -> pa.Table:
    """Registry entries (REGISTRY contract) of the given shards, read back from their files."""
    parts = []
    for rec in shards:
        t = read_shard(root, rec, verify=False)
        n = t.num_rows
        ref = rec.side == "reference"
        parts.append(pa.Table.from_arrays([
            t.column("sample_id"),
            pa.array(["relative" if ref else "missing"] * n, pa.string()),
            t.column("family_id") if ref else pa.nulls(n, pa.string()),
            t.column("relation") if ref else pa.nulls(n, pa.string()),
            pa.array([rec.path] * n, pa.string()),
            pa.array(np.arange(n, dtype=np.int32)),
        ], schema=REGISTRY))
    return pa.concat_tables(parts) if parts else REGISTRY.empty_table()


def write_registry(table: pa.Table, out_dir: Path) -> Path:
    """Who is registered where: one row per sample, for appending batches without re-ingesting."""
    return atomic.write_table(check_table(table, REGISTRY, "registry"), Path(out_dir) / REGISTRY_FILE)


def _codes_array(codes: np.ndarray, L: int) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(codes.reshape(-1), pa.uint16()), L)


def _write_shard(t: pa.Table, path: Path, side: str, shard_id: int, root: Path,
                 replaces: str | None = None, families: int | None = None) -> ShardRecord:
    atomic.write_table(t, path)
    return ShardRecord(shard_id=shard_id, side=side, path=str(path.relative_to(root)), rows=t.num_rows,
                       sha256=file_sha256(path), replaces=replaces, families=families)


def _input_record(path: Path, res: ReadResult, kind: str) -> InputRecord:
    """read = accepted + rejected (+ skipped: rows of amelogenin and Y-STR loci, when there are any)."""
    return InputRecord(path=str(path.resolve()), kind=kind, sha256=file_sha256(path), read=res.n_read,
                       accepted=res.table.num_rows, rejected=len(res.rejects),
                       skipped=res.n_skipped or None)


# ---------------------------------------------------------------------- reading back
def shards_of(shards: Manifest | list[ShardRecord], side: str) -> list[ShardRecord]:
    """The shard records of one side ("query" or "reference"), in manifest order, of a
    manifest or of a list of shard records."""
    recs = shards.shards if isinstance(shards, Manifest) else shards
    return [s for s in recs if s.side == side]


def verify_file(path: Path, sha256: str) -> None:
    """Raise unless the file at ``path`` still has the sha256 its manifest recorded."""
    if file_sha256(path) != sha256:
        raise InputError(f"{path}: sha256 differs from the manifest; the shard set was modified "
                         "after ingest. Re-run 'reunion ingest'.")


def load_manifest(shards_dir: Path) -> Manifest:
    """The manifest of a shard set, validated (one :class:`InputError` line when it does not conform)."""
    path = Path(shards_dir) / MANIFEST
    if not path.exists():
        raise InputError(f"{path}: no manifest; run 'reunion ingest' into {shards_dir} first")
    return Manifest.load(path)


def load_encoding(shards_dir: Path, manifest: Manifest) -> Encoding:
    path = Path(shards_dir) / manifest.alleles.path
    verify_file(path, manifest.alleles.sha256)
    ft = manifest.frequency_table
    return Encoding.from_table(atomic.read_table(path), ft.population, ft.sha256)


def read_shard(shards_dir: Path, rec: ShardRecord | FileRef, verify: bool = True) -> pa.Table:
    """The table of a shard (any record with ``path`` and ``sha256``), checked against its sha256."""
    path = Path(shards_dir) / rec.path
    if verify:
        verify_file(path, rec.sha256)
    return atomic.read_table(path)


def shard_codes(t: pa.Table) -> np.ndarray:
    """uint16 [rows, L] genotype indices of a shard table."""
    col = t.column("codes").combine_chunks()
    L = col.type.list_size
    return col.values.to_numpy(zero_copy_only=False).reshape(-1, L).astype(np.uint16, copy=False)


def known_missing_sexes(shards_dir: Path | str, manifest: Manifest | None = None) -> dict[str, str]:
    """Missing person id -> 'M' / 'F' from a shard set's query shards' ``sex`` (the samples' sex,
    else amelogenin: :func:`missing_sexes` at ingest); unknown sexes absent, shards written
    before the column give none."""
    shards_dir = Path(shards_dir)
    manifest = manifest or load_manifest(shards_dir)
    out: dict[str, str] = {}
    for rec in shards_of(manifest, "query"):
        t = read_shard(shards_dir, rec)
        if "sex" in t.column_names:
            out.update((x, v) for x, v in zip(t.column("sample_id").to_pylist(),
                                              t.column("sex").to_pylist()) if v in ("M", "F"))
    return out


def registered_sexes_of_pairs(shards_dir: Path | str, manifest: Manifest | None = None
                              ) -> tuple[dict[str, str], dict[str, str]]:
    """The sexes a sex check compares, for a whole shard set: (:func:`known_missing_sexes`;
    family id -> its lost child's registered sex, :attr:`reunion.genetics.family.Family.lost_sex`).
    Unknown sexes are absent; shards written before those columns give empty dicts."""
    shards_dir = Path(shards_dir)
    manifest = manifest or load_manifest(shards_dir)
    missing = known_missing_sexes(shards_dir, manifest)
    lost: dict[str, str] = {}
    for rec in shards_of(manifest, "reference"):
        t = read_shard(shards_dir, rec)
        if "lost_sex" not in t.column_names:
            continue
        lost.update((f.family_id, f.lost_sex) for f in shard_families(t, np.zeros((t.num_rows, 0), np.uint16))
                    if f.lost_sex in ("M", "F"))
    return missing, lost


def shard_families(t: pa.Table, codes: np.ndarray | None = None) -> list[Family]:
    """The families of a reference shard table, in shard order, each with its members
    (sample id, relation, sex, uint16 codes [L]); ``codes`` is :func:`shard_codes` of ``t``
    when the caller already has it."""
    codes = shard_codes(t) if codes is None else codes
    fams: dict[str, Family] = {}
    cols = [t.column(c).to_pylist() for c in ("sample_id", "family_id", "relation", "sex")]
    # shards written before the pedigree columns (issue 16) have none: no explicit pedigree
    links = [t.column(c).to_pylist() if c in t.column_names else [None] * t.num_rows for c in PEDIGREE_COLUMNS]
    for i, (sid, fid, rel, sex, fa, mo, lost_sex) in enumerate(zip(*cols, *links)):
        fams.setdefault(fid, Family(fid, [])).members.append(Member(sid, rel, sex, codes[i], fa, mo, lost_sex))
    return list(fams.values())
