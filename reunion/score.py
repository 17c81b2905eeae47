"""Exact scoring of stated pairs and trios: the engine behind ``reunion score``.

    reunion score --profiles P.csv --frequencies F.csv --pairs PAIRS.csv --out SCORES.csv
                  [--per-locus PER_LOCUS.csv] [--population NAME] [--theta T]
                  [--mutation-model equal|proportional|stepwise] [--mutation-rate R]
                  [--mutation-rate2 R2] [--mutation-range X]

Inputs
------
- ``P.csv``: sample_id, locus, allele1, allele2 (any format that
  :func:`reunion.io.readers.read_genotypes` accepts); an untyped locus has no row.
- ``F.csv``: locus, allele, frequency [, population] [, n_individuals]
  (:func:`reunion.frequencies.load_frequency_table`). Alleles of the profiles
  missing from it get 5/(2N) when n_individuals is given, else the floor 0.001
  (NRC II 1996); the per-locus output counts such floored alleles.
- ``PAIRS.csv``: query_id, reference_id, relationship [, reference2_id];
  relationship one of :data:`RELATIONSHIPS`. For ``trio`` reference_id is the
  alleged father and reference2_id the alleged mother (sex-specific mutation
  rates: ``rate_male`` for the father, ``rate_female`` for the mother). A
  ``parent-child`` pair carries no sex: both of its transmissions (the
  reference's and the untested other parent's) use the sex-neutral rate
  (``locus_rates``, else ``rate``).

Hypotheses (KINSHIP.md): H1 the stated relationship, H2 unrelated. Mutation
(Familias/pedmut conventions) applies to parent-child and trio; theta
(Balding-Nichols, NRC II 4.10) to every relationship. Theta together with a
mutation model for a parent-child or trio pair is not supported yet and is
refused. Per locus: parent-child :func:`kinship.duo_lr` /
:func:`theta.duo_lr_theta`; trio :func:`kinship.trio_lr` /
:func:`theta.trio_lr_theta`, a locus where one alleged parent is untyped
scoring as the duo with the other; other relationships the kappa formula
(:func:`kinship.pairwise_lr` / :func:`theta.pairwise_lr_theta`).

A locus is compared when the query and at least one reference are typed
there; other loci have LR 1 and are not counted. The profile LR is the
product over loci, summed in log10 (float64); an LR of 0 (an exclusion without
mutation) gives log10_lr = -inf, never an error. ``inconsistent_loci`` counts
compared loci whose LR is 0 without mutation (and theta 0).

Outputs (written atomically, mode 0o640)
----------------------------------------
- SCORES: query_id, reference_id, reference2_id, relationship, lr, log10_lr,
  loci_compared, inconsistent_loci (one row per input pair, in input order;
  lr is the product of the per-locus LRs, or 10**log10_lr where that product
  leaves float64's range: inf beyond it; log10_lr is the authoritative value).
- PER_LOCUS: query_id, reference_id, reference2_id, locus, lr,
  floored_alleles, compared, inconsistent, for every locus typed in the query
  or a reference of the pair (frequency-table order).

Any bad input row raises :class:`ScoreInputError` naming the file, the 1-based
data row (header excluded), the field and how to fix it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from reunion.encoding import Encoding
from reunion.errors import InputError
from reunion.frequencies import FrequencyTableError, load_frequency_table
from reunion.genetics import kinship, theta as theta_mod
from reunion.genetics.hypotheses import Hypothesis, LocusGenotypes, locus_lr
from reunion.genetics.mutation import MutationModels
from reunion.io.atomic import write_table
from reunion.io.readers import _columns, _key, _open_rows, read_genotypes
from reunion.loci import LocusNormaliser
from reunion.settings import MutationSettings

__all__ = ["RELATIONSHIPS", "ScoreInputError", "score_pairs", "SCORES_SCHEMA", "PER_LOCUS_SCHEMA"]

#: Relationships a pair may state; all but ``trio`` are pairwise (kinship.KAPPA).
RELATIONSHIPS = ("parent-child", "full-sibling", "half-sibling", "grandparent", "avuncular",
                 "first-cousin", "trio", "trio-known-mother", "kappa:K0/K1/K2")
#: Two-reference relationships: reference_id = alleged father, reference2_id = the (alleged
#: or, for trio-known-mother, undisputed) mother.
TRIOS = ("trio", "trio-known-mother")
MUTATING = ("parent-child", "trio", "trio-known-mother")
DEFAULT_FLOOR = 0.001

SCORES_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("reference_id", pa.string()), ("reference2_id", pa.string()),
    ("relationship", pa.string()), ("lr", pa.float64()), ("log10_lr", pa.float64()),
    ("loci_compared", pa.int64()), ("inconsistent_loci", pa.int64()),
])
PER_LOCUS_SCHEMA = pa.schema([
    ("query_id", pa.string()), ("reference_id", pa.string()), ("reference2_id", pa.string()),
    ("locus", pa.string()), ("lr", pa.float64()), ("floored_alleles", pa.int64()),
    ("compared", pa.bool_()), ("inconsistent", pa.bool_()),
])


class ScoreInputError(InputError):
    """An input of ``reunion score`` is unusable; the message names file, row, field and the fix."""


def _row_error(file: Path | str, row: int, field: str, reason: str) -> ScoreInputError:
    return ScoreInputError(f"{file}: row {row}, field '{field}': {reason}")


@dataclass(frozen=True)
class _Pair:
    row: int
    query: str
    reference: str
    reference2: str          # '' unless trio
    relationship: str


# --------------------------------------------------------------------------- inputs
def _load_profiles(path: Path, normalise) -> dict[str, dict[str, tuple[str, str]]]:
    try:
        res = read_genotypes(path, normalise)
    except ScoreInputError:
        raise
    except ValueError as exc:
        raise ScoreInputError(str(exc)) from exc
    if res.rejects:
        r = res.rejects[0]
        more = f" ({len(res.rejects)} bad rows in all; this is the first)" if len(res.rejects) > 1 else ""
        raise _row_error(r.file, r.row, r.field, r.reason + more)
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for rec in res.table.to_pylist():
        out.setdefault(rec["sample_id"], {})[rec["locus"]] = (rec["allele1"], rec["allele2"])
    return out


def _relationship(raw: str) -> str:
    return "-".join(raw.strip().lower().replace("_", " ").replace("-", " ").split())


def _load_pairs(path: Path, known: set[str], profiles: Path) -> list[_Pair]:
    try:
        with _open_rows(path) as (header, rows):
            wanted = {_key(c): c for c in ("query_id", "reference_id", "relationship", "reference2_id")}
            col = _columns(path, header, wanted)
            for c in ("query_id", "reference_id", "relationship"):
                if c not in col:
                    raise ScoreInputError(
                        f"{path}: missing required column '{c}' in the pairs file; the header must "
                        "hold query_id,reference_id,relationship[,reference2_id]")
            name = {c: header[i] for c, i in col.items()}
            out: list[_Pair] = []
            for row, cells in rows:
                if cells is None:
                    raise _row_error(path, row, "*", f"row does not have the header's {len(header)} "
                                     "columns; fix the delimiters or quoting of this row")
                v = {c: cells[i].strip() for c, i in col.items()}
                v.setdefault("reference2_id", "")
                out.append(_check_pair(path, row, v, name, known, profiles))
            return out
    except ScoreInputError:
        raise
    except ValueError as exc:  # unknown format, empty file, duplicate columns
        raise ScoreInputError(str(exc)) from exc


def _check_pair(path: Path, row: int, v: dict[str, str], name: dict[str, str], known: set[str],
                profiles: Path) -> _Pair:
    def err(field: str, reason: str) -> ScoreInputError:
        return _row_error(path, row, name.get(field, field), reason)

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
    ids = ["query_id", "reference_id"] + (["reference2_id"] if trio else [])
    if trio and not v["reference2_id"]:
        raise err("reference2_id", f"a {rel} needs two parents: give the alleged mother (the "
                  "known mother for trio-known-mother) in reference2_id (reference_id is the "
                  "alleged father)")
    if not trio and v["reference2_id"]:
        raise err("reference2_id", f"reference2_id is only used with relationship 'trio', not "
                  f"'{rel}': empty it, or set relationship to trio")
    for f in ids:
        sid = v[f]
        if not sid:
            raise err(f, f"empty {f}: give the sample's id as in the profiles file")
        if sid not in known:
            raise err(f, f"sample '{sid}' has no genotype rows in {profiles}: check the id, or "
                      "add the sample's profile")
    if v["query_id"] == v["reference_id"] or (trio and v["reference2_id"] in
                                              (v["query_id"], v["reference_id"])):
        field = "reference_id" if v["query_id"] == v["reference_id"] else "reference2_id"
        raise err(field, "the same sample appears twice in this pair: each person must be a "
                  "different sample")
    return _Pair(row, v["query_id"], v["reference_id"], v["reference2_id"] if trio else "", rel)


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
    """The hypothesis of a (checked) relationship, and its IBD coefficients if pairwise."""
    if rel in (Hypothesis.TRIO, Hypothesis.PARENT_CHILD, Hypothesis.KNOWN_MOTHER):
        return Hypothesis(rel), None
    return Hypothesis.KAPPA, user_kappa(rel) if rel.startswith("kappa:") else kinship.KAPPA[rel]


def _genotypes(hyp: Hypothesis, r, r2) -> LocusGenotypes:
    """The references' genotypes at a locus in their roles: ``r`` the (alleged) father or
    the pairwise relative, ``r2`` the mother of a trio."""
    if hyp is Hypothesis.KAPPA:
        return LocusGenotypes(other=r)
    return LocusGenotypes(father=r, mother=r2)


# --------------------------------------------------------------------------- engine
def score_pairs(profiles: Path, frequencies: Path, pairs: Path, out: Path,
                per_locus: Path | None = None, population: str | None = None,
                theta: float = 0.0, mutation: MutationSettings | None = None,
                *, floor: float = DEFAULT_FLOOR) -> dict[str, int]:
    """Score every pair of ``pairs``; write SCORES to ``out`` (and PER_LOCUS); return counts.

    ``mutation`` None (or model 'none') means no mutation model. Returns
    {'pairs', 'profiles', 'loci', 'excluded' (pairs with LR 0),
    'inconsistent_pairs' (pairs with an inconsistent locus), 'floored_alleles'
    (floored alleles at compared loci, over all pairs), 'per_locus_rows'}.
    Raises :class:`ScoreInputError` for bad inputs (see the module docstring).
    """
    profiles, frequencies, pairs, out = Path(profiles), Path(frequencies), Path(pairs), Path(out)
    try:
        theta = theta_mod.check_theta(theta, "--theta")
    except ValueError as exc:
        raise ScoreInputError(str(exc)) from None
    mutation = mutation if mutation is not None else MutationSettings(model="none")
    for path, what in ((profiles, "profiles"), (frequencies, "frequencies"), (pairs, "pairs")):
        if not path.is_file():
            raise ScoreInputError(f"{path}: {what} file not found; check the --{what} path")

    try:
        table = load_frequency_table(frequencies, population)
    except FrequencyTableError as exc:
        raise ScoreInputError(str(exc)) from exc
    normalise = LocusNormaliser(table.locus_names)
    prof = _load_profiles(profiles, normalise)
    plist = _load_pairs(pairs, set(prof), profiles)

    km = next((pr for pr in plist if pr.relationship == "trio-known-mother"), None)
    if theta > 0.0 and km is not None:
        raise _row_error(pairs, km.row, "relationship", "trio-known-mother with --theta is not "
                         "supported yet; rerun with --theta 0")
    if theta > 0.0 and mutation.model != "none":
        bad = next((pr for pr in plist if pr.relationship in MUTATING), None)
        if bad is not None:
            raise _row_error(pairs, bad.row, "relationship",
                             f"relationship '{bad.relationship}' with --theta {theta} and "
                             f"--mutation-model {mutation.model}: theta combined with a mutation "
                             "model is not supported yet; rerun with --theta 0 (mutation), or "
                             "without --mutation-model (theta)")

    observed: dict[str, set[str]] = {}
    for geno in prof.values():
        for locus, (a1, a2) in geno.items():
            observed.setdefault(locus, set()).update((a1, a2))
    enc = Encoding.build(table, observed, floor)
    codes: dict[str, dict[int, tuple[int, int]]] = {}
    for sid, geno in prof.items():
        c: dict[int, tuple[int, int]] = {}
        for locus, (a1, a2) in geno.items():
            l = enc.index[locus]
            lc = enc.loci[l]
            x, y = lc.code(a1), lc.code(a2)
            c[l] = (min(x, y), max(x, y))
        codes[sid] = c
    models = MutationModels(mutation, enc)

    scores = {f.name: [] for f in SCORES_SCHEMA}
    loc_rows = {f.name: [] for f in PER_LOCUS_SCHEMA}
    counts = {"pairs": 0, "profiles": len(prof), "loci": len(enc.loci), "excluded": 0,
              "inconsistent_pairs": 0, "floored_alleles": 0, "per_locus_rows": 0}
    for pr in plist:
        cq, cr = codes[pr.query], codes[pr.reference]
        cr2 = codes[pr.reference2] if pr.reference2 else {}
        hyp, kappa = _hypothesis(pr.relationship)
        mutating = models.on and pr.relationship in MUTATING
        total, product, compared, inconsistent = 0.0, 1.0, 0, 0
        for l, lc in enumerate(enc.loci):
            q, r, r2 = cq.get(l), cr.get(l), cr2.get(l)
            if q is None and r is None and r2 is None:
                continue
            lr, floored, cmp, incons = 1.0, 0, False, False
            if q is not None and (r is not None or r2 is not None):
                g, plain = _genotypes(hyp, r, r2), models.identity(l)
                lr = float(locus_lr(hyp, g, q, models.locus(l, hyp.sexes) if mutating else plain, theta, kappa))
                lr0 = float(locus_lr(hyp, g, q, plain, 0.0, kappa)) if mutating or theta > 0.0 else lr
                if math.isnan(lr):
                    raise _row_error(pairs, pr.row, "reference2_id",
                                     f"at {lc.locus} the child shares no allele with the known mother "
                                     f"{pr.reference2}: impossible without mutation; check the samples "
                                     "or rerun with --mutation-model")
                incons = lr0 == 0.0 or math.isnan(lr0)
                cmp = True
                floored = sum(int(lc.floored[a]) for x in (q, r, r2) if x is not None for a in x)
                compared += 1
                inconsistent += int(incons)
                counts["floored_alleles"] += floored
                product *= lr
                with np.errstate(divide="ignore"):
                    total += float(np.log10(lr))
            if per_locus is not None:
                for k, val in (("query_id", pr.query), ("reference_id", pr.reference),
                               ("reference2_id", pr.reference2), ("locus", lc.locus), ("lr", lr),
                               ("floored_alleles", floored), ("compared", cmp),
                               ("inconsistent", incons)):
                    loc_rows[k].append(val)
        if total == -math.inf or 0.0 < product < math.inf:
            lr_total = product          # the plain product where float64 holds it
        else:
            with np.errstate(over="ignore", under="ignore"):
                lr_total = float(np.power(10.0, total))
        for k, val in (("query_id", pr.query), ("reference_id", pr.reference),
                       ("reference2_id", pr.reference2), ("relationship", pr.relationship),
                       ("lr", lr_total), ("log10_lr", total), ("loci_compared", compared),
                       ("inconsistent_loci", inconsistent)):
            scores[k].append(val)
        counts["pairs"] += 1
        counts["excluded"] += int(total == -math.inf)
        counts["inconsistent_pairs"] += int(inconsistent > 0)

    if per_locus is not None:
        counts["per_locus_rows"] = len(loc_rows["locus"])
        write_table(pa.Table.from_pydict(loc_rows, schema=PER_LOCUS_SCHEMA), Path(per_locus))
    write_table(pa.Table.from_pydict(scores, schema=SCORES_SCHEMA), out)
    return counts
