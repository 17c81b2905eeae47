"""Exact scoring of stated pairs, trios and families: the engine behind ``reunion score``.

    reunion score --profiles P.csv --pairs PAIRS.csv --out SCORES.csv [--per-locus PER_LOCUS.csv]
                  [--frequencies F.csv] [--samples S.csv]
                  [--run RUN | --config C.yaml --set section.field=value ...]

Configuration
-------------
One settings tree (:mod:`reunion.settings`), as for every command: the
``mutation`` section (model, rate, rate_male, rate_female, locus_rates, rate2,
range), ``scoring.theta``, ``frequencies.floor`` (rare-allele floor),
``frequencies.population`` and ``frequencies.table`` (the table scored
against unless ``--frequencies`` names another). ``--run RUN`` takes the
configuration RUN/run.json records (:func:`run_configuration`) and the run's
allele list (its shards' ``alleles.parquet``), so that the LRs are that run's:
a mutation model's matrices span every allele of a locus (the table's, and the
rare ones seen in the data), so scoring a few profiles alone would give
matrices over fewer alleles and LRs that differ in the last digits.

Inputs
------
- ``P.csv``: sample_id, locus, allele1, allele2 (any format that
  :func:`reunion.io.readers.read_genotypes` accepts); an untyped locus has no row.
- ``F.csv``: locus, allele, frequency [, population] [, n_individuals]
  (:func:`reunion.frequencies.load_frequency_table`). Alleles of the profiles
  missing from it get 5/(2N) when n_individuals is given, else
  ``frequencies.floor`` (NRC II 1996); the per-locus output counts such floored alleles.
- ``PAIRS.csv``: query_id, relationship, and the people: reference_id
  [, reference2_id], or ``members`` (``father:ID;mother:ID;sibling1:ID;halfsib1:ID;other:ID``,
  a pedigree's ``paternal_grandmother1:ID;...``: the candidate list's ``members`` column). relationship is one of
  :data:`RELATIONSHIPS`; '_' and '-' are the same, so the candidate list's
  ``hypothesis`` values (``duo_father``, ``pair_full_sibling``, ...) are accepted as they are.
  A run's ``candidates.csv`` (or .parquet) is a pairs file as it is: its ``missing_id`` is
  read as query_id, ``hypothesis`` as relationship, ``members`` as members.

Relationships
-------------
The re-match's hypotheses (:data:`RUN_HYPOTHESES`) are scored as the re-match
scores them, so that a row of the candidate list scored with that run's
configuration gives its ``log10_lr``: trio, duo and nuclear by the re-match's
own exact re-score (:meth:`reunion.genetics.family.FamilyScorer.rescore`), the
pairwise ones with its ``pair_*`` formula:

- ``trio``: reference_id the alleged father, reference2_id the alleged mother
  (father's transmissions at ``rate_male``, mother's at ``rate_female``); a locus
  where one parent is untyped scores as the duo with the other.
- ``duo-father`` / ``duo-mother``: reference_id the alleged father (mother); the
  untested other parent transmits at the other sex's rate.
- ``nuclear``: the lost child of a couple (typed or not) with typed full and half
  siblings, given in ``members`` (Elston-Stewart peeling, :mod:`reunion.genetics.pedigree`).
- ``pedigree``: the lost child of a family registered by relation codes, every member given in
  ``members`` keyed by its relation (``father:ID;paternal_grandmother1:ID;paternal_uncle_aunt1:ID``,
  as the candidate list writes them: :func:`reunion.genetics.roles.member_key`), scored jointly
  by the pedigree engine (:mod:`reunion.genetics.engine`; needs ``scoring.pedigree`` and theta 0).
  A member's sex, where the relation does not fix it (a side-less ``grandparent``, a
  ``child_other_parent``), is taken from the run's shards with ``--run``, else unknown (the
  mixture over both).
- ``pair-full-sibling``, ``pair-half-sibling``, ``pair-grandparent``,
  ``pair-avuncular``: the pairwise kappa formula, the relative first (as the re-match).
- ``family:FAMILY_ID``: the query as the lost child of a family registered in the samples file
  ``--samples`` (the samples contract: relation codes, or an explicit pedigree with father_id /
  mother_id and a lost_child row; its members' genotypes in ``P.csv``, a member without genotype
  rows untyped), scored by the hypothesis the re-match gives that family
  (:meth:`reunion.genetics.family.FamilyScorer.rescore`); reference_id and members stay empty.
  The only way to score an explicit pedigree's candidate, whose member keys (``other1``) do not
  place anyone. A bad samples row, or a family registration the ingest would reject, is refused
  naming the samples file, row and field.

The reviewers' other relationships go through the same per-locus dispatch
(:func:`reunion.genetics.hypotheses.locus_lr`) and the same mutation cache
(:class:`reunion.genetics.mutation.MutationModels`): ``parent-child`` (a duo
that carries no sex: both of its transmissions, the reference's and the
untested other parent's, use the sex-neutral rate, ``locus_rates`` else
``rate``), ``trio-known-mother`` (alleged father reference_id against the
undisputed mother reference2_id), and the pairwise ``full-sibling``,
``half-sibling``, ``grandparent``, ``avuncular``, ``first-cousin`` and user IBD
coefficients ``kappa:K0/K1/K2`` (the query first).

H2 is always "unrelated". Mutation (Familias/pedmut conventions) applies to
parent-child transmissions, theta (Balding-Nichols, NRC II 4.10) to every
relationship but ``nuclear`` and ``trio-known-mother`` (refused with theta > 0);
the settings refuse theta with a mutation model.

A locus is compared when the query and at least one reference are typed
there (and, for ``nuclear``, the typed members are possible together without
mutation, as in the re-match); other loci have LR 1 and are not counted. The
profile LR is the product over loci, summed in log10 (float64); an LR of 0
(an exclusion without mutation) gives log10_lr = -inf, never an error.
``inconsistent_loci`` counts compared loci whose LR against the typed parents
(or the pairwise relative) is 0 without mutation and theta.

Outputs (written atomically, mode 0o640)
----------------------------------------
- SCORES: query_id, reference_id, reference2_id, relationship, lr, log10_lr,
  loci_compared, inconsistent_loci, members (one row per input pair, in input
  order; lr is the product of the per-locus LRs, or 10**log10_lr where that
  product leaves float64's range: inf beyond it; log10_lr is the authoritative
  value; members the people in their roles as the candidate list writes them).
- PER_LOCUS: query_id, reference_id, reference2_id, locus, lr,
  floored_alleles, compared, inconsistent, members, for every locus typed in
  the query or a reference of the pair (frequency-table order).

Any bad input row raises :class:`ScoreInputError` naming the file, the row (as
:mod:`reunion.io.readers` numbers it), the field and how to fix it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import ValidationError

from reunion.encoding import Encoding
from reunion.errors import InputError, SettingsError, require_file
from reunion.frequencies import FrequencyTableError, file_sha256, load_frequency_table
from reunion.genetics import kinship
from reunion.genetics.family import Family, FamilyScorer, Member
from reunion.genetics.hypotheses import Hypothesis, LocusGenotypes, locus_lr
from reunion.genetics.mutation import MutationModels
from reunion.genetics.roles import Relation, Role, key_relation, parse_role
from reunion.io.atomic import write_table
from reunion.io.readers import _columns, _key, _open_rows, read_genotypes
from reunion.loci import LocusNormaliser
from reunion.settings import Settings, load_settings, settings_problem

__all__ = ["PER_LOCUS_SCHEMA", "RELATIONSHIPS", "RUN_HYPOTHESES", "SCORES_SCHEMA", "RunConfiguration",
           "ScoreInputError", "run_configuration", "score_pairs"]

#: The re-match's hypotheses, as a relationship ('_' written '-'): scored by its exact re-score.
RUN_HYPOTHESES = {h.value.replace("_", "-"): h for h in (
    Hypothesis.TRIO, Hypothesis.DUO_FATHER, Hypothesis.DUO_MOTHER, Hypothesis.NUCLEAR,
    Hypothesis.PAIR_FULL_SIBLING, Hypothesis.PAIR_HALF_SIBLING, Hypothesis.PAIR_GRANDPARENT,
    Hypothesis.PAIR_AVUNCULAR, Hypothesis.PEDIGREE)}
#: Those scored by the re-match's exact re-score itself (pairwise ones by the per-locus loop,
#: with the re-match's PAIR_* formula: at theta 0 the re-match would make siblings nuclear).
RESCORED = ("trio", "duo-father", "duo-mother", "nuclear", "pedigree")
#: Relationships a pair may state.
RELATIONSHIPS = ("parent-child", "full-sibling", "half-sibling", "grandparent", "avuncular",
                 "first-cousin", "trio-known-mother", "kappa:K0/K1/K2", *RUN_HYPOTHESES, "family:FAMILY_ID")
#: a registered family's lost child (``--samples``): ``family:`` and the family id as registered
FAMILY_PREFIX = "family:"
#: Two-reference relationships: reference_id = alleged father, reference2_id = the (alleged
#: or, for trio-known-mother, undisputed) mother.
TRIOS = ("trio", "trio-known-mother")
#: Relationships of the per-locus loop whose transmissions mutate.
MUTATING = ("parent-child", "trio-known-mother")
#: Role keys a relationship's members may have (sibling/halfsib keys: any number).
_ROLES = {"trio": ("father", "mother"), "trio-known-mother": ("father", "mother"),
          "duo-father": ("father",), "duo-mother": ("mother",)}
#: The candidate list's names of the pairs file's columns (candidates.csv: missing_id,
#: hypothesis, members): a run's candidates.csv is a pairs file, its other columns ignored.
_CANDIDATE_COLUMNS = {"missingid": "query_id", "hypothesis": "relationship"}
_RELATION_OF = {Role.FATHER: Relation.FATHER, Role.MOTHER: Relation.MOTHER,
                Role.SIBLING: Relation.FULL_SIBLING, Role.HALF_SIBLING: Relation.HALF_SIBLING}
#: a pedigree's members beyond these make it more than a nuclear family
_NUCLEAR = frozenset(_RELATION_OF.values())

SCORES_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("reference_id", pa.string()), ("reference2_id", pa.string()),
    ("relationship", pa.string()), ("lr", pa.float64()), ("log10_lr", pa.float64()),
    ("loci_compared", pa.int64()), ("inconsistent_loci", pa.int64()), ("members", pa.string()),
])
PER_LOCUS_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("reference_id", pa.string()), ("reference2_id", pa.string()),
    ("locus", pa.string()), ("lr", pa.float64()), ("floored_alleles", pa.int64()),
    ("compared", pa.bool_()), ("inconsistent", pa.bool_()), ("members", pa.string()),
])


class ScoreInputError(InputError):
    """An input of ``reunion score`` is unusable; the message names file, row, field and the fix."""


def _row_error(file: Path | str, row: int, field: str, reason: str) -> ScoreInputError:
    return ScoreInputError(f"{file}: row {row}, field '{field}': {reason}")


@dataclass(frozen=True)
class _Pair:
    row: int
    query: str
    reference: str                      # as given ('' when the row names its people in members)
    reference2: str
    relationship: str
    roles: tuple[tuple[str, str], ...]  # (role key, sample id) of every reference
    family: str | None = None           # a family:FAMILY_ID row: the registered family's id

    @property
    def members(self) -> str:
        return ";".join(f"{k}:{v}" for k, v in self.roles)


@dataclass(frozen=True)
class RunConfiguration:
    """What a finished run used, as :func:`run_configuration` reads it from its folder."""

    run_json: Path
    settings: Settings
    alleles: dict[str, frozenset[str]]   # locus -> every allele of the run's encoding
    table_sha256: str                    # of the frequency table the run scored against
    shards: Path | None = None           # the run's shard set (registered sexes of pedigree members)


def run_configuration(run_dir: Path | str) -> RunConfiguration:
    """The configuration RUN/run.json records (its ``config`` section) and the run's allele
    list (its shards' ``alleles.parquet``, checked against the manifest's sha256, the
    manifest against run.json's). Raises :class:`InputError` / :class:`SettingsError`."""
    from reunion.ingest import load_encoding, load_manifest

    run_json = require_file(Path(run_dir) / "run.json", "run's run.json", "--run")
    try:
        record = json.loads(run_json.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{run_json}: not valid JSON ({exc}); give the folder of a finished "
                         "'reunion rematch' or 'reunion rerun'") from None
    config = record.get("config") if isinstance(record, dict) else None
    if not isinstance(config, dict):
        raise InputError(f"{run_json}: no 'config' section; give the folder of a finished "
                         "'reunion rematch' or 'reunion rerun'")
    try:
        settings = Settings.model_validate(config)
    except ValidationError as exc:
        raise SettingsError(f"{run_json}: config: {settings_problem(exc)}") from None
    try:
        manifest_path = Path(record["manifest"]["path"])
        manifest_sha = record["manifest"]["sha256"]
        table_sha = record["frequency_table"]["sha256"]
    except (KeyError, TypeError):
        raise InputError(f"{run_json}: no 'manifest' path and sha256 or 'frequency_table' sha256; "
                         "give the folder of a finished 'reunion rematch' or 'reunion rerun'") from None
    shards = manifest_path.parent
    if not manifest_path.is_file():
        raise InputError(f"{run_json}: the run's shards ({manifest_path}) are not found; their allele "
                         "list fixes the mutation matrices: restore that folder, or score with --config "
                         "and --set instead (LRs with a mutation model may then differ slightly)")
    if file_sha256(manifest_path) != manifest_sha:
        raise InputError(f"{manifest_path}: sha256 differs from the one {run_json} records: the shard "
                         "set changed after the run; restore it, or score with --config and --set instead")
    enc = load_encoding(shards, load_manifest(shards))
    return RunConfiguration(run_json, settings, {lc.locus: frozenset(lc.alleles) for lc in enc.loci},
                            table_sha, shards)


def registered_sexes(shards: Path, ids: set[str]) -> dict[str, str]:
    """The registered sex ('M' / 'F') of the relatives ``ids`` in a shard set's reference shards
    (others absent): a pedigree's H1 uses a member's sex where the relation does not fix it
    (a grandparent of unknown side, the other parent of a missing adult's children)."""
    from reunion.ingest import load_manifest, read_shard, shards_of

    out: dict[str, str] = {}
    for rec in shards_of(load_manifest(shards), "reference"):
        t = read_shard(shards, rec)
        for sid, sex in zip(t.column("sample_id").to_pylist(), t.column("sex").to_pylist()):
            if sid in ids and sex in ("M", "F"):
                out[sid] = sex
    return out


# --------------------------------------------------------------------------- inputs
def _read_all_or_none(reader, path: Path, *args):
    """``reader(path, *args)`` (a :mod:`reunion.io.readers` reader) where scoring needs every row:
    its first reject (or a file-level error) is a :class:`ScoreInputError` naming file, row and field."""
    try:
        res = reader(path, *args)
    except ScoreInputError:
        raise
    except ValueError as exc:
        raise ScoreInputError(str(exc)) from exc
    if res.rejects:
        r = res.rejects[0]
        more = f" ({len(res.rejects)} bad rows in all; this is the first)" if len(res.rejects) > 1 else ""
        raise _row_error(r.file, r.row, r.field, r.reason + more)
    return res


def _load_profiles(path: Path, normalise) -> dict[str, dict[str, tuple[str, str]]]:
    res = _read_all_or_none(read_genotypes, path, normalise)
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for rec in res.table.to_pylist():
        out.setdefault(rec["sample_id"], {})[rec["locus"]] = (rec["allele1"], rec["allele2"])
    return out


def _relationship(raw: str) -> str:
    return "-".join(raw.strip().lower().replace("_", " ").replace("-", " ").split())


def _load_pairs(path: Path, known: set[str], profiles: Path,
                families: dict[str, Family] | None = None, samples: Path | None = None) -> list[_Pair]:
    try:
        with _open_rows(path) as (header, rows):
            wanted = {_key(c): c for c in ("query_id", "reference_id", "relationship", "reference2_id",
                                           "members")}
            wanted.update(_CANDIDATE_COLUMNS)    # a candidate list is a pairs file as it is
            col = _columns(path, header, wanted)

            def lacking(c: str) -> ScoreInputError:
                return ScoreInputError(
                    f"{path}: missing required column '{c}' in the pairs file; the header must "
                    "hold query_id,reference_id,relationship[,reference2_id] (or "
                    "query_id,relationship,members, or a candidate list's missing_id,hypothesis,members; "
                    "family:FAMILY_ID rows need only query_id,relationship)")
            for c in ("query_id", "relationship"):
                if c not in col:
                    raise lacking(c)
            name = {c: header[i] for c, i in col.items()}
            out: list[_Pair] = []
            for row, cells in rows:
                if cells is None:
                    raise _row_error(path, row, "*", f"row does not have the header's {len(header)} "
                                     "columns; fix the delimiters or quoting of this row")
                v = {c: cells[i].strip() for c, i in col.items()}
                if "members" not in col and "reference_id" not in col and \
                        not v["relationship"].lower().startswith(FAMILY_PREFIX):
                    raise lacking("reference_id")
                for c in ("reference_id", "reference2_id", "members"):
                    v.setdefault(c, "")
                out.append(_check_pair(path, row, v, name, known, profiles, families, samples))
            return out
    except ScoreInputError:
        raise
    except ValueError as exc:  # unknown format, empty file, duplicate columns
        raise ScoreInputError(str(exc)) from exc


def _check_pair(path: Path, row: int, v: dict[str, str], name: dict[str, str], known: set[str],
                profiles: Path, families: dict[str, Family] | None = None, samples: Path | None = None) -> _Pair:
    def err(field: str, reason: str) -> ScoreInputError:
        return _row_error(path, row, name.get(field, field), reason)

    if v["relationship"].strip().lower().startswith(FAMILY_PREFIX):
        return _family_pair(row, v, err, known, profiles, families, samples)
    rel = _relationship(v["relationship"])
    if rel.startswith("kappa:"):
        try:
            kappa = user_kappa(rel)
        except ValueError as exc:
            raise err("relationship", str(exc)) from None
        rel = "kappa:" + "/".join(repr(k) for k in kappa)
    elif rel not in RELATIONSHIPS:
        raise err("relationship", f"relationship '{v['relationship']}' is not one of "
                  f"{', '.join(RELATIONSHIPS)}; correct the spelling")
    trio = rel in TRIOS
    if v["members"]:
        if rel not in RUN_HYPOTHESES:
            raise err("members", f"members names the people of the re-match's hypotheses "
                      f"({', '.join(RUN_HYPOTHESES)}), not of '{rel}': give reference_id"
                      f"{' and reference2_id' if trio else ''} instead")
        if v["reference_id"] or v["reference2_id"]:
            raise err("members", "give the people either in members or in reference_id/reference2_id, "
                      "not both: empty one of them")
        roles = _parse_members(v["members"], err)
        fields = ["members"] * len(roles)
    else:
        if rel == "nuclear":
            raise err("members", "a nuclear family names its people in the members column "
                      "(father:ID;mother:ID;sibling1:ID;halfsib1:ID, as the candidate list writes them)")
        if rel == "pedigree":
            raise err("members", "a pedigree names its people by relation in the members column "
                      "(father:ID;paternal_grandmother1:ID;paternal_uncle_aunt1:ID, as the candidate "
                      "list writes them)")
        if trio and not v["reference2_id"]:
            raise err("reference2_id", f"a {rel} needs two parents: give the alleged mother (the "
                      "known mother for trio-known-mother) in reference2_id (reference_id is the "
                      "alleged father)")
        if not trio and v["reference2_id"]:
            raise err("reference2_id", f"reference2_id is only used with relationship 'trio', not "
                      f"'{rel}': empty it, or set relationship to trio")
        if not v["reference_id"]:
            raise err("reference_id", "empty reference_id: give the sample's id as in the profiles file")
        first = {"duo-father": "father", "duo-mother": "mother"}.get(rel, "father" if trio else "other")
        roles = ((first, v["reference_id"]),) + ((("mother", v["reference2_id"]),) if trio else ())
        fields = ["reference_id", "reference2_id"][:len(roles)]
    _check_roles(rel, roles, err)
    if not v["query_id"]:
        raise err("query_id", "empty query_id: give the sample's id as in the profiles file")
    seen = {v["query_id"]}
    for field, (key, sid) in zip(["query_id", *fields], [("missing", v["query_id"]), *roles]):
        if sid not in known:
            raise err(field, f"sample '{sid}' has no genotype rows in {profiles}: check the id, or "
                      "add the sample's profile")
        if key != "missing":
            if sid in seen:
                raise err(field, "the same sample appears twice in this pair: each person must be a "
                          "different sample")
            seen.add(sid)
    return _Pair(row, v["query_id"], v["reference_id"], v["reference2_id"] if trio else "", rel, roles)


def _family_pair(row: int, v: dict[str, str], err, known: set[str], profiles: Path,
                 families: dict[str, Family] | None, samples: Path | None) -> _Pair:
    """A ``family:FAMILY_ID`` row, checked against the families of ``--samples``."""
    fid = v["relationship"].strip()[len(FAMILY_PREFIX):].strip()
    if families is None:
        raise err("relationship", f"'{v['relationship']}' scores the lost child of a registered family: "
                  "give the samples file registering it with --samples")
    if not fid or fid not in families:
        raise err("relationship", f"family '{fid}' is not registered in {samples}: check the family_id "
                  "(as the samples file spells it)")
    for c in ("reference_id", "reference2_id", "members"):
        if v[c]:
            raise err(c, f"a family:{fid} row takes its people from {samples}: empty {c}")
    if not v["query_id"]:
        raise err("query_id", "empty query_id: give the sample's id as in the profiles file")
    if v["query_id"] not in known:
        raise err("query_id", f"sample '{v['query_id']}' has no genotype rows in {profiles}: check the id, "
                  "or add the sample's profile")
    if any(m.sample_id == v["query_id"] for m in families[fid].members):
        raise err("query_id", f"sample '{v['query_id']}' is a registered member of family {fid}, not a "
                  "candidate for its lost child: give another query")
    return _Pair(row, v["query_id"], "", "", FAMILY_PREFIX + fid, (), fid)


def _load_families(path: Path, vectors: dict[str, np.ndarray], L: int) -> dict[str, Family]:
    """The families a samples file registers ({family_id: Family}), members' codes from the
    profiles (``vectors``; zeros for a member without genotype rows). Raises
    :class:`ScoreInputError` naming the file, row and field of the first bad row, of the first
    row of a family registration the ingest would reject
    (:func:`reunion.genetics.registration.registration_problems`), or of a lost child with a
    profile."""
    from reunion.genetics.registration import registration_problems
    from reunion.io.readers import read_samples

    path = require_file(Path(path), "samples file", "--samples")
    res = _read_all_or_none(read_samples, path)
    rows = [(r, line) for r, line in zip(res.table.to_pylist(), res.lines) if r["role"] == "relative"]
    bad = registration_problems([r for r, _ in rows], [f"{path.name} row {line}" for _, line in rows])
    if bad:
        i = min(bad, key=lambda i: (bad[i][0] == "*", rows[i][1]))
        raise _row_error(path, rows[i][1], bad[i][0], bad[i][1])
    zero = np.zeros(L, dtype=np.uint16)
    out: dict[str, Family] = {}
    for r, line in rows:
        if r["relation"] == Relation.LOST_CHILD.value and r["sample_id"] in vectors:
            raise _row_error(path, line, "sample_id", f"sample {r['sample_id']} is family {r['family_id']}'s "
                             "lost_child (the person searched for), who has no genotype rows: remove its "
                             "rows from the profiles, or give the typed person another relation")
        out.setdefault(r["family_id"], Family(r["family_id"], [])).members.append(
            Member(r["sample_id"], r["relation"], r["sex"], vectors.get(r["sample_id"], zero),
                   r["father_id"], r["mother_id"], r["lost_sex"]))
    return out


def _parse_members(raw: str, err) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for piece in (p.strip() for p in raw.split(";")):
        if not piece:
            continue
        key, _, sid = (x.strip() for x in piece.partition(":"))
        try:
            parse_role(key)
        except ValueError:
            key = ""
        if not key or not sid:
            raise err("members", f"'{piece}': write role:sample_id;... with roles father, mother, "
                      "sibling1, sibling2, ..., halfsib1, ..., other, or for a pedigree a relation "
                      "and a number (paternal_grandmother1, maternal_uncle_aunt2; as the candidate "
                      "list's members column)")
        if key in out:
            raise err("members", f"role '{key}' is given twice; number siblings sibling1, sibling2, ...")
        out[key] = sid
    if not out:
        raise err("members", "empty members: give role:sample_id;... (e.g. father:R1;mother:R2)")
    return tuple(out.items())


def _check_roles(rel: str, roles: tuple[tuple[str, str], ...], err) -> None:
    keys = [k for k, _ in roles]
    if rel == "pedigree":
        rels = [key_relation(k) for k in keys]
        if any(r in (Relation.OTHER, Relation.LOST_CHILD) for r in rels):
            raise err("members", "members keyed other1.. or lost_child1.. belong to a family registered as "
                      "an explicit pedigree, which its relations do not place: score it as "
                      "relationship family:FAMILY_ID with --samples (the samples file registering it)")
        if any(r is None for r in rels) or any(parse_role(k)[0] in (Role.SIBLING, Role.HALF_SIBLING)
                                               for k in keys):
            raise err("members", "a pedigree's members are father, mother and relation-numbered "
                      "members (full_sibling1, paternal_grandmother1, maternal_uncle_aunt2, child1, ...), "
                      "as the candidate list writes them")
        if all(r in _NUCLEAR for r in rels):
            raise err("members", "a pedigree needs a member beyond parents and siblings (a "
                      "grandparent, uncle / aunt, cousin, sided half sibling or child); state "
                      "nuclear, trio, duo-father or duo-mother instead")
        return
    if rel == "nuclear":
        kinds = [parse_role(k)[0] for k in keys]
        if any(r not in _RELATION_OF for r in kinds):
            raise err("members", "a nuclear family's members are father, mother, sibling1.. and "
                      "halfsib1..; a pairwise relative (other) is scored with pair-<relation>")
        if not any(r in (Role.SIBLING, Role.HALF_SIBLING) for r in kinds):
            raise err("members", "a nuclear family needs a typed sibling1.. or halfsib1..; without "
                      "siblings state trio, duo-father or duo-mother")
        return
    want = _ROLES.get(rel, ("other",))
    if sorted(keys) != sorted(want):
        raise err("members", f"relationship '{rel}' takes members {';'.join(k + ':ID' for k in want)}, "
                  f"not {';'.join(keys)}")


def user_kappa(rel: str) -> tuple[float, float, float]:
    """(kappa0, kappa1, kappa2) of a 'kappa:K0/K1/K2' relationship, checked.

    '/' separates the coefficients so that a CSV needs no quoting ('kappa:0.25/0.5/0.25');
    ',' or ';' are accepted too inside a quoted field.

    Valid IBD coefficients are non-negative, sum to 1 and (for non-inbred
    individuals) satisfy kappa1^2 >= 4 kappa0 kappa2 (Thompson 1975).
    """
    try:
        k = tuple(float(x) for x in re.split(r"[/,;]", rel.split(":", 1)[1]))
    except ValueError:
        raise ValueError(f"'{rel}': write user IBD coefficients as kappa:K0/K1/K2, "
                         "e.g. kappa:0.25/0.5/0.25") from None
    if len(k) != 3 or min(k) < 0 or abs(sum(k) - 1.0) > 1e-9:
        raise ValueError(f"'{rel}': need three non-negative IBD coefficients summing to 1")
    if k[1] ** 2 < 4 * k[0] * k[2] - 1e-12:
        raise ValueError(f"'{rel}': kappa1^2 < 4 kappa0 kappa2, impossible for non-inbred "
                         "relatives (Thompson 1975)")
    return k  # type: ignore[return-value]


# --------------------------------------------------------------------------- genetics per locus
def _hypothesis(rel: str) -> tuple[Hypothesis, tuple[float, float, float] | None]:
    """The hypothesis of a (checked) reviewers' relationship, and its IBD coefficients if pairwise."""
    if rel in (Hypothesis.PARENT_CHILD, Hypothesis.KNOWN_MOTHER):
        return Hypothesis(rel), None
    if rel in RUN_HYPOTHESES:            # PAIR_*: the relative first, as the re-match
        return RUN_HYPOTHESES[rel], None
    return Hypothesis.KAPPA, user_kappa(rel) if rel.startswith("kappa:") else kinship.KAPPA[rel]


def _family(pr: _Pair, codes: dict[str, np.ndarray], sexes: dict[str, str] | None = None) -> Family:
    """The people of a trio, duo, nuclear or pedigree pair as a registered family: each
    member's relation from its role key (:func:`reunion.genetics.roles.key_relation`), its
    sex from ``sexes`` (a run's registrations) where known."""
    sexes = sexes or {}
    return Family(f"row {pr.row}", [Member(sid, key_relation(key), sexes.get(sid), codes[sid])
                                    for key, sid in pr.roles])


# --------------------------------------------------------------------------- engine
def score_pairs(profiles: Path, frequencies: Path | None, pairs: Path, out: Path,
                per_locus: Path | None = None, settings: Settings | None = None, *,
                run: RunConfiguration | None = None, samples: Path | None = None) -> dict[str, int]:
    """Score every pair of ``pairs``; write SCORES to ``out`` (and PER_LOCUS); return counts.

    ``settings``: the configuration (default: :data:`reunion.settings.DEFAULT_CONFIG`);
    ``run``: a finished run's (:func:`run_configuration`) instead, with its allele list.
    ``frequencies`` None scores against ``frequencies.table`` of the configuration (with
    ``run``: checked to be the table the run used); ``samples``: the samples file registering
    the families of ``family:FAMILY_ID`` rows. Returns {'pairs', 'profiles',
    'loci', 'excluded' (pairs with LR 0), 'inconsistent_pairs' (pairs with an
    inconsistent locus), 'floored_alleles' (floored alleles at compared loci, over all
    pairs), 'per_locus_rows'}. Raises :class:`ScoreInputError` for bad inputs (see the
    module docstring).
    """
    if run is not None and settings is not None:
        raise ValueError("give settings or run, not both")
    settings = run.settings if run is not None else settings if settings is not None else load_settings(None)
    fs, theta = settings.frequencies, settings.scoring.theta
    own_table = frequencies is None
    frequencies = Path(fs.table if own_table else frequencies)
    profiles, pairs, out = Path(profiles), Path(pairs), Path(out)
    for path, what, option in ((profiles, "profiles", "--profiles"), (pairs, "pairs", "--pairs"),
                               (frequencies, "frequencies", "--frequencies" if not own_table else
                                "frequencies.table setting (or give --frequencies)")):
        if not path.is_file():
            raise ScoreInputError(f"{path}: {what} file not found; check the {option} path")

    try:
        table = load_frequency_table(frequencies, fs.population)
    except FrequencyTableError as exc:
        raise ScoreInputError(str(exc)) from exc
    if run is not None and own_table and table.sha256 != run.table_sha256:
        raise ScoreInputError(f"{frequencies}: sha256 differs from the frequency table {run.run_json} "
                              "records: the table changed after the run; restore it, or give "
                              "--frequencies to score against another table")
    normalise = LocusNormaliser(table.locus_names)
    prof = _load_profiles(profiles, normalise)
    observed: dict[str, set[str]] = {k: set(v) for k, v in (run.alleles if run is not None else {}).items()}
    for geno in prof.values():
        for locus, (a1, a2) in geno.items():
            observed.setdefault(locus, set()).update((a1, a2))
    enc = Encoding.build(table, observed, fs.floor)
    vectors: dict[str, np.ndarray] = {sid: enc.encode_profile(geno) for sid, geno in prof.items()}
    families = _load_families(samples, vectors, len(enc.loci)) if samples is not None else None
    plist = _load_pairs(pairs, set(prof), profiles, families, samples)

    if theta > 0.0:
        for rel, why in (("trio-known-mother", "is not supported yet"),
                         ("pedigree", "is not scored: the pedigree engine is theta-free"),
                         ("nuclear", ("is not scored with theta (a theta re-match scores such a family "
                                      "through its parents: state trio, duo-father or duo-mother)"))):
            bad = next((pr for pr in plist if pr.relationship == rel), None)
            if bad is not None:
                raise _row_error(pairs, bad.row, "relationship", f"{rel} with scoring.theta = {theta} "
                                 f"{why}; to score it, set scoring.theta=0 (--set scoring.theta=0)")

    codes: dict[str, dict[int, tuple[int, int]]] = {}
    for sid, geno in prof.items():
        c: dict[int, tuple[int, int]] = {}
        for locus, (a1, a2) in geno.items():
            l = enc.index[locus]
            lc = enc.loci[l]
            x, y = lc.code(a1), lc.code(a2)
            c[l] = (min(x, y), max(x, y))
        codes[sid] = c
    models = MutationModels(settings.mutation, enc)        # the one cache, shared with the re-score
    scorer = FamilyScorer(enc, models, theta, pedigree=settings.scoring.pedigree)
    pedigree_ids = {sid for pr in plist if pr.relationship == "pedigree" for _, sid in pr.roles}
    sexes = registered_sexes(run.shards, pedigree_ids) if run is not None and run.shards and pedigree_ids else {}

    scores = {f.name: [] for f in SCORES_SCHEMA}
    loc_rows = {f.name: [] for f in PER_LOCUS_SCHEMA}
    counts = {"pairs": 0, "profiles": len(prof), "loci": len(enc.loci), "excluded": 0,
              "inconsistent_pairs": 0, "floored_alleles": 0, "per_locus_rows": 0}
    for pr in plist:
        if pr.family is not None:
            loci, members, total, compared, inconsistent = _rescore(pr, scorer, vectors, pairs,
                                                                    family=families[pr.family])
        elif pr.relationship in RESCORED:
            loci, members, total, compared, inconsistent = _rescore(pr, scorer, vectors, pairs, sexes)
        else:
            loci, total, compared, inconsistent = _loop(pr, enc, codes, models, theta, pairs)
            members = pr.members
        product = 1.0
        for l, lr, floored, cmp, incons in loci:
            if cmp:
                product *= lr
                counts["floored_alleles"] += floored
            if per_locus is not None:
                for k, val in (("query_id", pr.query), ("reference_id", pr.reference),
                               ("reference2_id", pr.reference2), ("locus", enc.loci[l].locus),
                               ("lr", lr), ("floored_alleles", floored), ("compared", cmp),
                               ("inconsistent", incons), ("members", members)):
                    loc_rows[k].append(val)
        if total == -math.inf or 0.0 < product < math.inf:
            lr_total = product          # the plain product where float64 holds it
        else:
            with np.errstate(over="ignore", under="ignore"):
                lr_total = float(np.power(10.0, total))
        for k, val in (("query_id", pr.query), ("reference_id", pr.reference),
                       ("reference2_id", pr.reference2), ("relationship", pr.relationship),
                       ("lr", lr_total), ("log10_lr", total), ("loci_compared", compared),
                       ("inconsistent_loci", inconsistent), ("members", members)):
            scores[k].append(val)
        counts["pairs"] += 1
        counts["excluded"] += int(total == -math.inf)
        counts["inconsistent_pairs"] += int(inconsistent > 0)

    if per_locus is not None:
        counts["per_locus_rows"] = len(loc_rows["locus"])
        write_table(pa.Table.from_pydict(loc_rows, schema=PER_LOCUS_SCHEMA), Path(per_locus))
    write_table(pa.Table.from_pydict(scores, schema=SCORES_SCHEMA), out)
    return counts


def _rescore(pr: _Pair, scorer: FamilyScorer, vectors: dict[str, np.ndarray], pairs: Path,
             sexes: dict[str, str] | None = None, family: Family | None = None):
    """A re-match hypothesis, by the re-match's exact re-score: (per-locus rows, members as
    used, log10 LR, loci compared, inconsistent loci). ``family``: a registered family
    (a ``family:FAMILY_ID`` row), scored by whichever hypothesis the re-match gives it."""
    if family is not None:
        try:
            cs = scorer.rescore(family, vectors[pr.query])
        except ValueError as exc:            # an explicit pedigree's links the engine refuses
            raise _row_error(pairs, pr.row, "relationship", f"family {family.family_id}: {exc}") from None
        if cs is None:
            why = ("it is registered as an explicit pedigree, scored by the pedigree engine only (theta 0, "
                   "scoring.pedigree true)" if family.explicit and not scorer.use_pedigree
                   else "none of its members has a profile here")
            raise _row_error(pairs, pr.row, "relationship", f"family {family.family_id} has no hypothesis: "
                             f"{why}")
        typed = vectors[pr.query] != 0
        for m in family.members:
            typed |= m.codes != 0
        loci = [(l, r.lr, r.floored, r.compared, r.inconsistent) for l, r in enumerate(cs.loci) if typed[l]]
        members = ";".join(f"{k}:{v}" for k, v in cs.members.items())
        return loci, members, cs.log10_lr, cs.loci_compared, cs.inconsistent_loci
    cs = scorer.rescore(_family(pr, vectors, sexes), vectors[pr.query])
    want = RUN_HYPOTHESES[pr.relationship]
    if cs is None or cs.hypothesis != want:      # the row's checks make this unreachable but for a pedigree
        why = ("; scoring.pedigree is false (--set scoring.pedigree=true)" if want is Hypothesis.PEDIGREE
               and not scorer.use_pedigree else
               "; these relations fit no one pedigree" if want is Hypothesis.PEDIGREE else "")
        raise _row_error(pairs, pr.row, "relationship", f"these people make a "
                         f"{cs.hypothesis if cs else 'no'} hypothesis, not {want}; check the roles{why}")
    typed = np.zeros(len(scorer.enc.loci), dtype=bool)
    for sid in (pr.query, *(s for _, s in pr.roles)):
        typed |= vectors[sid] != 0
    loci = [(l, r.lr, r.floored, r.compared, r.inconsistent)
            for l, r in enumerate(cs.loci) if typed[l]]
    members = ";".join(f"{k}:{v}" for k, v in cs.members.items())
    return loci, members, cs.log10_lr, cs.loci_compared, cs.inconsistent_loci


def _loop(pr: _Pair, enc: Encoding, codes: dict, models: MutationModels, theta: float, pairs: Path):
    """A reviewers' relationship, locus by locus: (per-locus rows, log10 LR, loci compared,
    inconsistent loci)."""
    roles = dict(pr.roles)
    cq = codes[pr.query]
    cr = codes[roles.get("father") or roles["other"]]
    cr2 = codes[roles["mother"]] if "mother" in roles else {}
    hyp, kappa = _hypothesis(pr.relationship)
    mutating = models.on and pr.relationship in MUTATING
    rows, total, compared, inconsistent = [], 0.0, 0, 0
    for l, lc in enumerate(enc.loci):
        q, r, r2 = cq.get(l), cr.get(l), cr2.get(l)
        if q is None and r is None and r2 is None:
            continue
        lr, floored, cmp, incons = 1.0, 0, False, False
        if q is not None and (r is not None or r2 is not None):
            g = (LocusGenotypes(other=r) if hyp is Hypothesis.KAPPA or hyp.relation is not None
                 else LocusGenotypes(father=r, mother=r2))
            plain = models.identity(l)
            lr = float(locus_lr(hyp, g, q, models.locus(l, hyp.sexes) if mutating else plain, theta, kappa))
            lr0 = float(locus_lr(hyp, g, q, plain, 0.0, kappa)) if mutating or theta > 0.0 else lr
            if math.isnan(lr):
                raise _row_error(pairs, pr.row, "reference2_id",
                                 f"at {lc.locus} the child shares no allele with the known mother "
                                 f"{pr.reference2}: impossible without mutation; check the samples "
                                 "or set a mutation model (--set mutation.model=stepwise)")
            incons = lr0 == 0.0 or math.isnan(lr0)
            cmp = True
            floored = sum(int(lc.floored[a]) for x in (q, r, r2) if x is not None for a in x)
            compared += 1
            inconsistent += int(incons)
            with np.errstate(divide="ignore"):
                total += float(np.log10(lr))
        rows.append((l, lr, floored, cmp, incons))
    return rows, total, compared, inconsistent
