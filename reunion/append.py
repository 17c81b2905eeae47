"""Append a batch of new collections to a standing shard set, without re-ingesting it.

    standing shard set (manifest, registry, allele codes)  +  new batch files
        --validate against the standing registrations-->  accepted | rejects.csv
        --encode with the standing allele codes-->
            shards that the batch does not touch:      hard-linked (same bytes, same sha256)
            shards holding a re-typed missing person
            or a family that gained / re-typed a member: rewritten
            new missing persons, new families:          new shards
        -->  registry, rejects and manifest of the combined set

The combined set holds exactly the profiles that ingesting every file at once
would hold (tested); only its shard layout differs, and sharding never changes
a result. The work is proportional to the batch, not to the database. A batch
that brings an allele the standing encoding lacks cannot be appended (the
allele set enters every mutation matrix): :class:`AppendRefused` says why and
the caller re-ingests the union. A batch that brings nothing new (every row
already registered, or rejected) raises :class:`reunion.errors.InputError`:
a rerun that scores nothing would look like a run that found nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reunion.contracts import PEDIGREE_COLUMNS, REJECTS, REGISTRY, check_table
from reunion.contracts.records import FileRef, InputRecord, Manifest, ManifestCounts, RejectsRef
from reunion.encoding import genotype_index
from reunion.errors import InputError, NothingNew
from reunion.frequencies import file_sha256, load_frequency_table
from reunion.genetics.registration import lost_child_ids
from reunion.ingest import (ALLELES_FILE, ALREADY_REGISTERED, ALREADY_TYPED, MANIFEST, REGISTRY_FILE,
                            REJECTS_FILE, _codes_array, _cross_checks, _input_record, _write_shard,
                            assemble_profiles, input_notes, load_encoding, load_manifest, lost_child_genotypes,
                            member_order, missing_sexes, read_shard, reference_table, registry_rows,
                            sample_sexes, shard_codes, shards_of, verify_file, write_query_shards, write_reference_shards, write_registry)
from reunion.io import atomic, locks, yrows
from reunion.io.readers import read_genotypes, read_samples, rejects_table
from reunion.loci import LocusNormaliser
from reunion.settings import Settings

STANDING = "the standing shard set"


class AppendRefused(Exception):
    """The batch cannot be appended; the message says why (a full ingest is needed)."""


@dataclass
class AppendSummary:
    manifest_path: Path
    new_missing: list[str]          # new or re-typed missing persons: score against every family
    changed_families: set[str]      # new families and families with a new or re-typed member
    linked_shards: int
    rewritten_shards: int
    new_shards: int
    rows_read: int
    rows_rejected: int
    notes: list[str] = field(default_factory=list)   # see reunion.ingest.input_notes


def _registry(base_dir: Path, base: Manifest) -> pa.Table:
    rec = base.registry
    if rec is None:
        raise AppendRefused("the standing shard set has no registry (ingested by an older version)")
    path = base_dir / rec.path
    verify_file(path, rec.sha256)
    return check_table(atomic.read_table(path), REGISTRY, "registry")


@locks.holding(writes="out_dir", reads="base_dir", what="append")
def append_batch(base_dir: Path, samples_paths: list[Path], genotype_paths: list[Path], out_dir: Path,
                 settings: Settings, source: str | None = None) -> AppendSummary:
    """Write into ``out_dir`` the shard set ``base_dir`` + the batch (see the module docstring).
    With ``source`` (a PostgreSQL URL, :mod:`reunion.io.postgres`) the batch is the rows of its
    tables that ``settings.source`` selects (``since``: the watermark) instead of files.

    Raises :class:`AppendRefused` when only a full ingest of the union can encode the batch.
    """
    base_dir, out_dir = Path(base_dir), atomic.ensure_dir(Path(out_dir))
    samples_paths, genotype_paths = [Path(p) for p in samples_paths], [Path(p) for p in genotype_paths]
    base = load_manifest(base_dir)
    table = load_frequency_table(settings.frequencies.table, settings.frequencies.population)
    if table.sha256 != base.frequency_table.sha256:
        raise AppendRefused("the frequency table changed")
    enc = load_encoding(base_dir, base)
    L = len(enc.loci)
    reg = _registry(base_dir, base)

    # -- validate the batch against the standing registrations
    reg_ids = reg.column("sample_id").to_pylist()
    std_roles = dict(zip(reg_ids, reg.column("role").to_pylist()))
    parents = reg.filter(pc.is_in(reg.column("relation"), pa.array(["father", "mother"])))
    seen_parent = {(f, r): STANDING for f, r in zip(parents.column("family_id").to_pylist(),
                                                    parents.column("relation").to_pylist())}
    std_lost = {sid for sid, rel in zip(reg_ids, reg.column("relation").to_pylist()) if rel == "lost_child"}
    closed = {f for f, rel in zip(reg.column("family_id").to_pylist(), reg.column("relation").to_pylist())
              if rel == "lost_child"}                     # standing explicit pedigrees
    if source is not None:                       # a PostgreSQL registry, as ingest reads one
        from reunion.io.postgres import PostgresSource, input_record
        with PostgresSource(source, settings.source) as src:
            samples_paths = [src.label(settings.source.samples_table)]
            genotype_paths = [src.label(settings.source.genotypes_table)]
            sample_results = _cross_checks([(samples_paths[0], src.read_samples())],
                                           dict.fromkeys(reg_ids, STANDING), seen_parent, closed)
            batch_rows = [r for res in sample_results for r in res.table.to_pylist()]
            roles = {**std_roles, **{r["sample_id"]: r["role"] for r in batch_rows}}
            genos = [src.read_genotypes(LocusNormaliser(table.locus_names), roles, sample_sexes(sample_results))]
        genos = lost_child_genotypes(genotype_paths, genos, std_lost | lost_child_ids(batch_rows))
        s_inputs = [input_record(samples_paths[0], sample_results[0], "samples", src.sha256["samples"],
                                 src.watermark.get("samples"))]
        g_inputs = [input_record(genotype_paths[0], genos[0], "genotypes", src.sha256["genotypes"],
                                 src.watermark.get("genotypes"))]
    else:
        sample_results = _cross_checks([(p, read_samples(p)) for p in samples_paths],
                                       dict.fromkeys(reg_ids, STANDING), seen_parent, closed)
        batch_rows = [r for res in sample_results for r in res.table.to_pylist()]
        roles = {**std_roles, **{r["sample_id"]: r["role"] for r in batch_rows}}
        genos = [read_genotypes(p, LocusNormaliser(table.locus_names), roles, sample_sexes(sample_results))
                 for p in genotype_paths]
        genos = lost_child_genotypes(genotype_paths, genos, std_lost | lost_child_ids(batch_rows))
        s_inputs = [_input_record(p, r, "samples") for p, r in zip(samples_paths, sample_results)]
        g_inputs = [_input_record(p, g, "genotypes") for p, g in zip(genotype_paths, genos)]
    # the batch's Y-STR rows (one home: reunion/io/yrows.py); a man whose Y haplotype is
    # already registered has his batch Y rows rejected
    std_y = yrows.load_y_haplotypes(base_dir, base)
    ys = yrows.read_y(genotype_paths, g_inputs, genos, yrows.y_sexes(
        {**dict.fromkeys(reg_ids, ""), **sample_sexes(sample_results)},
        {k: v for g in genos for k, v in g.observed_sex.items()}), std_y)
    g_inputs = ys.records
    notes = input_notes(sample_results, genos, table, ys.note)

    # standing samples the batch types at further loci
    typed_ids = {sid for g in genos for sid in g.table.column("sample_id").to_pylist()}
    touched = reg.filter(pc.is_in(reg.column("sample_id"), pa.array(sorted(typed_ids & std_roles.keys()),
                                                                     pa.string())))
    std_codes: dict[str, np.ndarray] = {}
    where: dict[str, tuple[str, int]] = {}
    for shard in set(touched.column("shard").to_pylist()):
        rows = touched.filter(pc.equal(touched.column("shard"), shard))
        codes = shard_codes(read_shard(base_dir, base.shard_at(shard)))
        for sid, row in zip(rows.column("sample_id").to_pylist(), rows.column("row").to_pylist()):
            std_codes[sid] = codes[row].copy()
            where[sid] = (shard, row)
    typed = {sid: {enc.locus_names[i] for i in np.flatnonzero(c)} for sid, c in std_codes.items()}
    profiles, cross_rejects = assemble_profiles(genotype_paths, genos, g_inputs, typed)
    inputs = s_inputs + g_inputs
    if not batch_rows and not any(profiles.values()) and not ys.haplotypes:
        _nothing_new(samples_paths + genotype_paths, inputs,
                     [r for res in sample_results for r in res.rejects] + [r for g in genos for r in g.rejects]
                     + cross_rejects + ys.rejects, from_source=source is not None)

    # -- encode with the standing codes (a new allele refuses the append)
    floored_uses = 0
    codes_of: dict[str, np.ndarray] = {}
    for sid, prof in profiles.items():
        if not prof:
            continue
        out = std_codes.get(sid, np.zeros(L, dtype=np.uint16)).copy()
        for locus, (a1, a2) in prof.items():
            li = enc.index[locus]
            lc = enc.loci[li]
            if a1 not in lc._index or a2 not in lc._index:
                raise AppendRefused(f"the batch brings an allele at {locus} that the standing encoding "
                                    "lacks (a new rare allele enters every mutation matrix)")
            c1, c2 = lc.code(a1), lc.code(a2)
            floored_uses += int(lc.floored[c1]) + int(lc.floored[c2])
            out[li] = genotype_index(c1, c2)
        codes_of[sid] = out
    retyped = set(codes_of) & set(std_codes)

    def codes(sid: str) -> np.ndarray:
        return codes_of.get(sid, std_codes.get(sid, np.zeros(L, dtype=np.uint16)))

    new_missing_rows = sorted((r for r in batch_rows if r["role"] == "missing"), key=lambda r: r["sample_id"])
    new_relatives = [r for r in batch_rows if r["role"] == "relative"]
    std_fams = dict(zip(reg_ids, reg.column("family_id").to_pylist()))
    retyped_missing = sorted(s for s in retyped if std_roles[s] == "missing")
    changed = {r["family_id"] for r in new_relatives} | \
        {std_fams[s] for s in retyped if std_roles[s] == "relative"} | \
        {std_fams[s] for s in ys.haplotypes if std_roles.get(s) == "relative"}   # gained a Y haplotype
    retyped_missing = sorted(set(retyped_missing) | {s for s in ys.haplotypes if std_roles.get(s) == "missing"})

    # -- shards: link, rewrite or add
    fam_rows = reg.filter(pc.is_in(reg.column("family_id"), pa.array(sorted(changed), pa.string())))
    rewrite_ref = set(fam_rows.column("shard").to_pylist())
    rewrite_q = {where[s][0] for s in retyped_missing if s in where}
    joining: dict[str, list[dict]] = {}
    for r in new_relatives:
        joining.setdefault(r["family_id"], []).append(r)
    shards, rewritten = [], []
    for rec in base.shards:
        if rec.path in rewrite_q | rewrite_ref:
            t = read_shard(base_dir, rec)
            t = _rewrite_query(t, codes_of, L) if rec.side == "query" else \
                _rewrite_reference(t, joining, codes_of, L)
            new = _write_shard(t, out_dir / rec.path, rec.side, rec.shard_id, out_dir,
                               replaces=rec.sha256, families=rec.families)
            shards.append(new)
            rewritten.append(new)
        else:
            atomic.link_or_copy(base_dir / rec.path, out_dir / rec.path)
            shards.append(rec)
    fresh_fams = sorted(f for f in joining if f not in set(fam_rows.column("family_id").to_pylist()))
    fresh_rel = [r for f in fresh_fams for r in sorted(joining[f], key=member_order)]

    def next_id(side: str) -> int:
        return 1 + max((s.shard_id for s in shards_of(base, side)), default=-1)

    added = write_query_shards(new_missing_rows, _stack([codes(r["sample_id"]) for r in new_missing_rows], L),
                               out_dir, settings, L, first=next_id("query"),
                               sexes=missing_sexes(new_missing_rows, genos))
    added += write_reference_shards(fresh_rel, _stack([codes(r["sample_id"]) for r in fresh_rel], L),
                                    out_dir, settings, L, first=next_id("reference"))
    # positional order: standing query shards, new query shards, standing reference shards, new ones
    shards = [s for side in ("query", "reference") for s in shards_of(shards, side) + shards_of(added, side)]

    # -- registry, rejects, allele codes, manifest
    gone = pa.array(sorted(s.path for s in rewritten), pa.string())
    kept = reg.filter(pc.invert(pc.is_in(reg.column("shard"), gone)))
    registry_path = write_registry(pa.concat_tables([kept, registry_rows(out_dir, rewritten + added)]), out_dir)
    batch_rejects = [r for res in sample_results for r in res.rejects] + \
        [r for g in genos for r in g.rejects] + cross_rejects + ys.rejects
    std_rejects = atomic.read_table(base_dir / base.rejects.path)
    std_rejects = std_rejects.cast(REJECTS) if std_rejects.num_rows else REJECTS.empty_table()
    atomic.write_table(pa.concat_tables([std_rejects, rejects_table(batch_rejects)]), out_dir / REJECTS_FILE)
    atomic.link_or_copy(base_dir / base.alleles.path, out_dir / ALLELES_FILE)
    y_ref = base.y_haplotypes
    if ys.haplotypes:                    # standing + the batch's men (none in both: rejected above)
        y_ref = yrows.write_y_haplotypes({**std_y, **ys.haplotypes}, out_dir)
    elif y_ref is not None:              # no Y row in the batch: the same bytes
        atomic.link_or_copy(base_dir / y_ref.path, out_dir / y_ref.path)

    n_new_fams = len(fresh_fams)
    manifest = base.model_copy(update={
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": base.inputs + inputs,
        "rejects": RejectsRef(path=REJECTS_FILE, rows=base.rejects.rows + len(batch_rejects)),
        "registry": FileRef(path=REGISTRY_FILE, sha256=file_sha256(registry_path)),
        "floor": base.floor.model_copy(update={"allele_uses": base.floor.allele_uses + floored_uses}),
        "counts": ManifestCounts(missing=base.counts.missing + len(new_missing_rows),
                                 relatives=base.counts.relatives + len(new_relatives),
                                 families=base.counts.families + n_new_fams),
        "shards": shards,
        "y_haplotypes": y_ref,
        "appended_to": FileRef(path=str((base_dir / MANIFEST).resolve()),
                               sha256=file_sha256(base_dir / MANIFEST)),
    })
    manifest_path = manifest.write(out_dir / MANIFEST)
    return AppendSummary(
        manifest_path=manifest_path,
        new_missing=sorted({r["sample_id"] for r in new_missing_rows} | set(retyped_missing)),
        changed_families=changed, linked_shards=len(base.shards) - len(rewritten),
        rewritten_shards=len(rewritten), new_shards=len(added),
        rows_read=sum(i.read for i in inputs), rows_rejected=len(batch_rejects), notes=notes)


_REGISTERED = (ALREADY_REGISTERED, ALREADY_TYPED)


def _nothing_new(paths: list[Path], inputs: list[InputRecord], rejects: list, from_source: bool = False) -> None:
    """Raise the one line that says why a batch adds nothing (no sample, no genotype accepted);
    a database source with no row after its watermark is :class:`NothingNew` (not a mistake)."""
    files = ", ".join(p.name for p in paths) or "the batch"
    read = sum(i.read for i in inputs)
    again = sum(any(k in r.reason for k in _REGISTERED) for r in rejects)
    first = next((r for r in rejects if not any(k in r.reason for k in _REGISTERED)), None)
    if read == 0 and from_source:
        raise NothingNew(f"{files}: nothing new: no rows were read (none collected after the standing "
                         "run's watermark); the standing run stays current, nothing was written")
    if read == 0:
        what = "no rows were read"
    elif again == read:
        what = f"every row is already registered in {STANDING} ({read} rows)"
    else:
        what = (f"every row is already registered in {STANDING} ({again} rows) or cannot be used "
                f"({read - again} rows rejected or set aside")
        what += (f"; first: {Path(first.file).name} line {first.row}, field '{first.field}': "
                 f"{first.reason})" if first else ")")
    raise InputError(f"{files}: nothing new: {what}; a batch appended twice changes nothing, "
                     "so this rerun would score nothing")


def _stack(rows: list[np.ndarray], L: int) -> np.ndarray:
    return np.vstack(rows).astype(np.uint16) if rows else np.zeros((0, L), dtype=np.uint16)


def _rewrite_query(t: pa.Table, updated: dict[str, np.ndarray], L: int) -> pa.Table:
    """A query shard with re-typed missing persons' codes replaced (rows keep their order)."""
    new = shard_codes(t).copy()
    for i, sid in enumerate(t.column("sample_id").to_pylist()):
        if sid in updated:
            new[i] = updated[sid]
    return t.set_column(t.schema.get_field_index("codes"), t.schema.field("codes"), _codes_array(new, L))


def _rewrite_reference(t: pa.Table, joining: dict[str, list[dict]], updated: dict[str, np.ndarray],
                       L: int) -> pa.Table:
    """A reference shard with new members joined to their families and re-typed codes replaced.

    Families keep their order in the shard; members of a changed family are
    ordered as ingest orders them (relation, then sample id).
    """
    rows = t.select(["sample_id", "family_id", "relation", "sex",
                     *(c for c in PEDIGREE_COLUMNS if c in t.column_names)]).to_pylist()
    old = shard_codes(t)
    by_id = {r["sample_id"]: old[i] for i, r in enumerate(rows)}
    fams: dict[str, list[dict]] = {}
    for r in rows:
        fams.setdefault(r["family_id"], []).append(r)
    out_rows = []
    for fid, members in fams.items():
        if fid in joining:
            members = sorted(members + [{k: j.get(k) for k in ("sample_id", "family_id", "relation", "sex",
                                                                *PEDIGREE_COLUMNS)}
                                        for j in joining[fid]], key=member_order)
        out_rows.extend(members)
    zero = np.zeros(L, dtype=np.uint16)
    return reference_table(out_rows, _stack([updated.get(r["sample_id"], by_id.get(r["sample_id"], zero))
                                             for r in out_rows], L), L)
