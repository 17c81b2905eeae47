"""Familias 3 case files (``.fam``): read them, score their pedigrees with reunion's engine,
and write a run's candidate as one.

The format is not formally documented. What is read here follows the open reader and
writer of the R package pedFamilias (Vigeland; github.com/magnusdv/pedFamilias, GPL >= 3):
``R/readFam.R`` (``readFam``) and ``R/writeFam.R`` (``writeFam``), version 0.2.5, commit
977999e, and its example file ``inst/extdata/paternity.fam`` (saved by Familias 3.3.1; the
package README gives its LR, 760.3445, computed by forrel::kinshipLR). Familias itself:
https://familias.name (Egeland, Mostad, Mevag & Stenersen, Forensic Sci Int 110 (2000) 47-59).

Layout, one value per line; double quotes are dropped before parsing (as readFam does):

- line 1-3: ``"Output from Familias, version X"``, a free line, the version; line 4 is ``""``
  (then the person count is on line 5) or the person count itself.
- per person: name; ``#FALSE#``; ``-1`` (``-1 (Consider dropouts)`` when dropout is to be
  considered for that person); ``#FALSE#``; ``#TRUE#`` male / ``#FALSE#`` female; the number
  k of typed loci; k triples ``allele1 allele2 locus``, all 0-based indices (alleles into that
  locus' allele list of the database, the locus into the database's loci).
- ``Known relations``; the number of extra females, of extra males (untyped persons shared by
  all pedigrees; females first, indexed after the persons); the number r of relations; r pairs
  ``parent child`` (0-based indices; the parent's sex says father or mother).
- the number of pedigrees; per pedigree: its 0-based index; its name; its own extra females
  and males (indexed after the shared ones); its number of relations and the pairs (a pair
  whose first line holds ``Direct`` is a twin link: refused, as readFam does).
- a line ``#FALSE# (#Databases: 1 ;Theta/Kinship/Fst: T )`` (``#TRUE#`` first: the file holds
  precomputed probabilities, refused as readFam does); theta T.
- the number of loci; ``#TRUE#`` and the database name (or ``#FALSE#`` alone); per locus: name;
  female rate; male rate; female model; male model (0 equal, 1 proportional, 2 stepwise
  unstationary, 3 stepwise stationary, 4 extended stepwise); the number of alleles with the
  silent one; female range; male range; female rate2; male rate2; ``#TRUE#`` when silent
  frequencies are given; the silent allele's frequency; ``N<TAB>(DatabaseSize = .. , Dropout
  probability = d , Minor allele frequency = m )`` with N the alleles without the silent one;
  N pairs ``allele`` and ``frequency``.

Mapping onto reunion (:mod:`reunion.genetics.mutation`): 0 -> equal, 1 -> proportional,
4 (extended stepwise: rate, range, rate2 to alleles of another microvariant group) ->
stepwise, which is pedmut's ``stepwise`` model, the one pedFamilias reads code 4 as and writes
a stepwise model with rate2 to; 2 (stepwise unstationary) -> stepwise where the alleles are
all in one microvariant group or rate2 is 0 (where rate2 would matter Familias' plain model
is not documented: refused); 3 (stationary, a stabilised matrix) is refused. Silent
alleles, dropout considered for a typed person where the locus' dropout probability is > 0,
and theta > 0 (the engine is theta-free) are refused, one :class:`InputError` line each.
The minor allele frequency and database size only matter for alleles absent from the
database, which a Familias file cannot hold; frequencies are used as given.

P(data | pedigree) per locus is the engine's :func:`reunion.genetics.engine.lost_child_joint`
summed (its P(D)), with an untyped founder as its "lost child" (whose (sum p)^2 is divided out).

Frequencies that do not sum to 1 (rounded tables; reunion's rare-allele floor, never
renormalised): a likelihood here is computed with them as given, as a Familias file holds
them; a run's LR is P(c = g | D) / P_HW(g), normalised by P(D) over the same pedigree. The two
then differ by a factor (sum p)^k, k the untyped founder alleles above the lost child only
(about 1e-10 per locus for a table rounded to 10 digits); with frequencies summing to 1 they
agree to rounding (tests/io/test_familias.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reunion.errors import InputError, require_file
from reunion.genetics.engine import Pedigree, PedigreeError, Person, lost_child_joint
from reunion.genetics.mutation import LocusModel, mutation_matrix

__all__ = [
    "MODEL_CODES",
    "FamLocus",
    "FamPedigree",
    "FamPerson",
    "FamiliasCase",
    "PedigreeScore",
    "read_fam",
    "score_case",
    "write_fam",
]

#: Familias' mutation model codes (readFam.R's ``models``)
MODEL_CODES = {0: "equal", 1: "proportional", 2: "stepwise unstationary",
               3: "stepwise stationary", 4: "extended stepwise"}


@dataclass(frozen=True)
class FamPerson:
    """A person of the file: ``genotypes`` locus name -> (allele, allele) labels."""

    name: str
    sex: str                                   # 'M' or 'F'
    genotypes: dict[str, tuple[str, str]]
    consider_dropout: bool = False


@dataclass(frozen=True)
class FamPedigree:
    """One pedigree: its name, its own extra (untyped) persons' sexes and every parent-child
    link ``(parent, child)`` by person name (the shared known relations included)."""

    name: str
    extras: tuple[tuple[str, str], ...]        # (name, sex) of the pedigree's extras (shared ones too)
    links: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FamLocus:
    """A locus of the database with its mutation settings per sex (``female``, ``male``)."""

    name: str
    alleles: tuple[str, ...]
    frequencies: tuple[float, ...]
    model: dict[str, int]                      # sex 'F' / 'M' -> Familias model code
    rate: dict[str, float]
    range_: dict[str, float]
    rate2: dict[str, float]
    silent: bool = False
    silent_frequency: float = 0.0
    database_size: float | None = None
    dropout: float = 0.0
    minor_allele_frequency: float = 0.0


@dataclass(frozen=True)
class FamiliasCase:
    version: str
    persons: tuple[FamPerson, ...]
    pedigrees: tuple[FamPedigree, ...]
    loci: tuple[FamLocus, ...]
    theta: float = 0.0
    database: str = ""
    path: Path | None = field(default=None, compare=False)

    def pedigree(self, name: str) -> FamPedigree:
        for p in self.pedigrees:
            if p.name == name:
                return p
        raise InputError(f"{self.path}: no pedigree named '{name}'; the file has: "
                         + ", ".join(p.name for p in self.pedigrees))


@dataclass(frozen=True)
class PedigreeScore:
    pedigree: str
    log10_likelihood: float
    log10_lr: float
    lr: float


# ------------------------------------------------------------------------ reading
class _Lines:
    def __init__(self, path: Path, lines: list[str]):
        self.path, self.x, self.i = path, lines, 0

    def where(self) -> str:
        return f"{self.path}: line {self.i}"

    def take(self, what: str) -> str:
        if self.i >= len(self.x):
            raise InputError(f"{self.path}: ends early, expected {what} at line {self.i + 1}; "
                             "is it a complete Familias 3 .fam file?")
        self.i += 1
        return self.x[self.i - 1]

    def int(self, what: str) -> int:
        v = self.take(what)
        try:
            return int(v.strip())
        except ValueError:
            raise InputError(f"{self.where()}: expected {what} (an integer), found '{v[:40]}'; "
                             "is it a Familias 3 .fam file?") from None

    def float(self, what: str) -> float:
        v = self.take(what)
        try:
            return float(v.strip())
        except ValueError:
            raise InputError(f"{self.where()}: expected {what} (a number), found '{v[:40]}'") from None

    def flag(self, what: str) -> bool:
        v = self.take(what).strip()
        if v not in ("#TRUE#", "#FALSE#"):
            raise InputError(f"{self.where()}: expected {what} (#TRUE# or #FALSE#), found '{v[:40]}'")
        return v == "#TRUE#"


def _num(pattern: str, text: str) -> float | None:
    m = re.search(pattern + r"\s*([-+0-9.eE]+)", text)
    return float(m.group(1)) if m else None


def read_fam(path: Path | str) -> FamiliasCase:
    """The case a Familias 3 ``.fam`` file holds (module docstring); :class:`InputError`
    naming the file and line where it cannot be read. Files of the DVI module are refused."""
    path = require_file(path, "Familias case (.fam)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")   # Familias runs on Windows
    lines = [ln.replace('"', "") for ln in text.splitlines()]
    if "[DVI]" in lines:
        raise InputError(f"{path}: a Familias DVI file; only case files (persons and pedigrees) are read")
    if len(lines) < 5 or not lines[0].startswith("Output from Familias"):
        raise InputError(f"{path}: line 1 is not 'Output from Familias, version ...'; not a Familias .fam file")
    r = _Lines(path, lines)
    r.take("header")
    r.take("header")
    version = r.take("version").strip()
    if lines[3] == "":
        r.take("blank line")
    n_persons = r.int("the number of persons")
    raw_persons = []
    for _ in range(n_persons):
        name = r.take("a person's name")
        r.flag("a flag")
        dropout = "Consider dropouts" in r.take("the dropout line")
        r.flag("a flag")
        male = r.flag("the sex (#TRUE# male)")
        k = r.int(f"the number of typed loci of '{name}'")
        triples = [(r.int("an allele index"), r.int("an allele index"), r.int("a locus index"))
                   for _ in range(k)]
        raw_persons.append((name, "M" if male else "F", dropout, triples, r.i))
    if r.take("'Known relations'").strip() != "Known relations":
        raise InputError(f"{r.where()}: expected 'Known relations'; not a Familias 3 .fam file")
    names = [p[0] for p in raw_persons]
    sexes = [p[1] for p in raw_persons]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: person names repeat; Familias needs unique names")
    nf, nm = r.int("extra females"), r.int("extra males")
    shared = [(f"~extra_{k + 1}", "F" if k < nf else "M") for k in range(nf + nm)]
    names += [s[0] for s in shared]
    sexes += [s[1] for s in shared]

    def links(n_rel: int, who: list[str]) -> list[tuple[str, str]]:
        out = []
        for _ in range(n_rel):
            v = r.take("a parent index")
            if "Direct" in v:
                raise InputError(f"{r.where()}: twins (a 'Direct' link) are not supported")
            try:
                a = int(v)
            except ValueError:
                raise InputError(f"{r.where()}: expected a parent index, found '{v[:40]}'") from None
            b = r.int("a child index")
            if not (0 <= a < len(who) and 0 <= b < len(who)):
                raise InputError(f"{r.where()}: relation {a} -> {b} names no person (0..{len(who) - 1})")
            out.append((who[a], who[b]))
        return out

    known = links(r.int("the number of known relations"), names)
    n_ped = r.int("the number of pedigrees")
    peds = []
    for _ in range(n_ped):
        r.int("the pedigree's index")
        pname = r.take("the pedigree's name")
        f_i, m_i = r.int("the pedigree's extra females"), r.int("the pedigree's extra males")
        own = [(f"~{pname}_extra_{k + 1}", "F" if k < f_i else "M") for k in range(f_i + m_i)]
        who = names + [o[0] for o in own]
        rel = links(r.int("the pedigree's number of relations"), who)
        peds.append(FamPedigree(pname, tuple(shared + own), tuple(known + rel)))
    db_line = r.take("the database line")
    if db_line.startswith("#TRUE#"):
        raise InputError(f"{r.where()}: the file holds precomputed probabilities; save it from Familias "
                         "without them")
    theta = _num(r"Theta/Kinship/Fst:", db_line) or 0.0
    n_loci = r.int("the number of loci")
    database = r.take("the database name") if r.flag("the database-info flag") else ""
    loci = []
    for _ in range(n_loci):
        lname = r.take("a locus name")
        rate = {"F": r.float("the female mutation rate"), "M": r.float("the male mutation rate")}
        model = {"F": r.int("the female mutation model"), "M": r.int("the male mutation model")}
        r.int("the number of alleles with the silent one")
        rng = {"F": r.float("the female range"), "M": r.float("the male range")}
        rate2 = {"F": r.float("the female rate2"), "M": r.float("the male rate2")}
        silent = r.flag("the silent-frequency flag")
        silent_f = r.float("the silent allele frequency")
        info = r.take("the allele count and database info")
        head = info.split("\t")[0].strip()
        try:
            n_al = int(head)
        except ValueError:
            raise InputError(f"{r.where()}: expected the number of alleles of {lname}, found '{head[:40]}'") from None
        als, frq = [], []
        for _ in range(n_al):
            als.append(r.take("an allele").strip())
            frq.append(r.float("an allele frequency"))
        for sex in ("F", "M"):
            if model[sex] not in MODEL_CODES:
                raise InputError(f"{path}: locus {lname}: mutation model code {model[sex]} is not one of "
                                 "Familias' 0-4")
        loci.append(FamLocus(lname, tuple(als), tuple(frq), model, rate, rng, rate2, silent, silent_f,
                             _num(r"DatabaseSize =", info), _num(r"Dropout probability =", info) or 0.0,
                             _num(r"Minor allele frequency =", info) or 0.0))
    persons = []
    for name, sex, dropout, triples, line in raw_persons:
        g = {}
        for a, b, m in triples:
            if not 0 <= m < len(loci):
                raise InputError(f"{path}: person '{name}': locus index {m} is not in the database "
                                 f"(0..{len(loci) - 1})")
            lc = loci[m]
            if not (0 <= a < len(lc.alleles) and 0 <= b < len(lc.alleles)):
                raise InputError(f"{path}: person '{name}', locus {lc.name}: an allele index is not in "
                                 f"the database's {len(lc.alleles)} alleles")
            g[lc.name] = (lc.alleles[a], lc.alleles[b])
        persons.append(FamPerson(name, sex, g, dropout))
    return FamiliasCase(version, tuple(persons), tuple(peds), tuple(loci), theta, database, path)


# ------------------------------------------------------------------------ scoring
def _reunion_model(case: FamiliasCase, lc: FamLocus, sex: str) -> tuple[str, float, float, float]:
    """(reunion model, rate, rate2, range) of a locus' Familias model for a parent of ``sex``."""
    code, rate = lc.model[sex], lc.rate[sex]
    who = "female" if sex == "F" else "male"
    if rate == 0.0 and (code not in (2, 4) or lc.rate2[sex] == 0.0):
        return "none", 0.0, 0.0, 0.1
    if code == 0:
        return "equal", rate, 0.0, 0.1
    if code == 1:
        return "proportional", rate, 0.0, 0.1
    if code == 3:
        raise InputError(f"{case.path}: locus {lc.name}: the {who} model is Familias' 'Stepwise (stationary)' "
                         "(a stabilised matrix), which reunion does not have; use Equal, Proportional, "
                         "Stepwise or Extended stepwise in Familias")
    try:
        values = [float(a) for a in lc.alleles]
    except ValueError:
        raise InputError(f"{case.path}: locus {lc.name}: a stepwise model needs numeric alleles; "
                         "use Equal or Proportional for this locus") from None
    groups = {round(10 * (v - round(v))) for v in values}
    if code == 2 and len(groups) > 1 and lc.rate2[sex] > 0:
        raise InputError(f"{case.path}: locus {lc.name}: the {who} model is Familias' plain 'Stepwise' with "
                         "microvariant alleles and rate2 > 0, whose treatment of microvariants reunion cannot "
                         "match; use 'Extended stepwise' in Familias")
    return "stepwise", rate, lc.rate2[sex], lc.range_[sex]


def check_supported(case: FamiliasCase) -> None:
    """:class:`InputError` (one line) for a setting of the case reunion's engine lacks."""
    if case.theta > 0:
        raise InputError(f"{case.path}: Theta/Kinship/Fst = {case.theta:g}: reunion's pedigree engine is "
                         "theta-free; set theta to 0 in Familias")
    typed_at: dict[str, list[FamPerson]] = {}
    for p in case.persons:
        for locus in p.genotypes:
            typed_at.setdefault(locus, []).append(p)
    for lc in case.loci:
        if lc.silent or lc.silent_frequency > 0:
            raise InputError(f"{case.path}: locus {lc.name}: a silent allele (frequency "
                             f"{lc.silent_frequency:g}); reunion does not model silent alleles")
        if lc.dropout > 0:
            who = [p.name for p in typed_at.get(lc.name, []) if p.consider_dropout]
            if who:
                raise InputError(f"{case.path}: locus {lc.name}: dropout probability {lc.dropout:g} "
                                 f"considered for '{who[0]}'; reunion does not model dropout")
        for sex in ("F", "M"):
            _reunion_model(case, lc, sex)


def locus_model(case: FamiliasCase, lc: FamLocus) -> LocusModel:
    p = np.asarray(lc.frequencies, dtype=np.float64)
    mats = {}
    for sex in ("M", "F"):
        model, rate, rate2, rng = _reunion_model(case, lc, sex)
        try:
            mats[sex] = mutation_matrix(model, list(lc.alleles), p, rate, rate2, rng)
        except ValueError as exc:
            raise InputError(f"{case.path}: locus {lc.name}: {exc}") from None
    return LocusModel(p, mats["M"], mats["F"], p @ mats["M"], p @ mats["F"])


def engine_pedigree(case: FamiliasCase, fp: FamPedigree) -> Pedigree:
    """The engine's :class:`Pedigree` of a Familias pedigree, with an untyped founder
    ``~none`` as its lost child (it sums out: ``sum J`` is P(data))."""
    sex = {p.name: p.sex for p in case.persons} | dict(fp.extras)
    parents: dict[str, dict[str, str]] = {n: {} for n in sex}
    for parent, child in fp.links:
        role = "father" if sex[parent] == "M" else "mother"
        if role in parents[child] and parents[child][role] != parent:
            raise InputError(f"{case.path}: pedigree '{fp.name}': '{child}' has two {role}s")
        parents[child][role] = parent
    lost = "~none"
    while lost in sex:
        lost += "~"
    persons = [Person(n, parents[n].get("father"), parents[n].get("mother"), s) for n, s in sex.items()]
    try:
        return Pedigree(tuple(persons) + (Person(lost),), lost)
    except PedigreeError as exc:
        raise InputError(f"{case.path}: pedigree '{fp.name}': {exc}") from None


def log10_likelihood(case: FamiliasCase, fp: FamPedigree,
                     models: Mapping[str, LocusModel] | None = None) -> float:
    """log10 P(all typed persons' data | pedigree): the sum over loci of log10 P_locus(D)."""
    ped = engine_pedigree(case, fp)
    models = models or {lc.name: locus_model(case, lc) for lc in case.loci}
    total = 0.0
    for lc in case.loci:
        idx = {a: i for i, a in enumerate(lc.alleles)}
        typed = {p.name: (idx[p.genotypes[lc.name][0]], idx[p.genotypes[lc.name][1]])
                 for p in case.persons if lc.name in p.genotypes}
        if not typed:
            continue
        t = models[lc.name]
        # the untyped founder ~none (the engine's lost child) contributes (sum p)^2: divided out
        pd = float(lost_child_joint(ped, typed, t).sum()) / float(np.sum(t.p)) ** 2
        total += math.log10(pd) if pd > 0 else -math.inf
    return total


def default_reference(case: FamiliasCase) -> str:
    """The pedigree in which the persons are unrelated (no link at all), else the last."""
    for p in case.pedigrees:
        if not p.links:
            return p.name
    return case.pedigrees[-1].name


def score_case(case: FamiliasCase, reference: str | None = None) -> list[PedigreeScore]:
    """One :class:`PedigreeScore` per pedigree: log10 likelihood and LR against ``reference``
    (default :func:`default_reference`). Refuses what the engine lacks (:func:`check_supported`)."""
    if not case.pedigrees:
        raise InputError(f"{case.path}: the file holds no pedigrees (a database only)")
    check_supported(case)
    ref = case.pedigree(reference).name if reference is not None else default_reference(case)
    models = {lc.name: locus_model(case, lc) for lc in case.loci}
    ll = {p.name: log10_likelihood(case, p, models) for p in case.pedigrees}
    if ll[ref] == -math.inf:
        raise InputError(f"{case.path}: the reference pedigree '{ref}' has likelihood 0; choose another "
                         "with --reference")
    out = []
    for p in case.pedigrees:
        d = ll[p.name] - ll[ref]
        out.append(PedigreeScore(p.name, ll[p.name], d, 10.0 ** d if d < 308 else math.inf))
    return out


# ------------------------------------------------------------------------ writing
def _fmt(v: float) -> str:
    return repr(float(v))


def write_fam(persons: Sequence[FamPerson], pedigrees: Sequence[FamPedigree], loci: Sequence[FamLocus],
              version: str = "3.2.8", database: str = "reunion") -> str:
    """The text of a ``.fam`` file as pedFamilias' writeFam lays it out (module docstring).
    Each pedigree's ``extras`` are its own (no shared extras); ``links`` name persons or extras."""
    q = '"{}"'.format
    out = [q(f"Output from Familias, version {version}"), q("(Produced by reunion export-case)"),
           version, q(""), str(len(persons))]
    locus_index = {lc.name: i for i, lc in enumerate(loci)}
    for p in persons:
        out += [q(p.name), "#FALSE#", "-1", "#FALSE#", "#TRUE#" if p.sex == "M" else "#FALSE#"]
        trip = []
        for lname, (a, b) in p.genotypes.items():
            lc = loci[locus_index[lname]]
            trip += [str(lc.alleles.index(a)), str(lc.alleles.index(b)), str(locus_index[lname])]
        out += [str(len(trip) // 3)] + trip
    out += [q("Known relations"), "0", "0", "0", str(len(pedigrees))]
    names = [p.name for p in persons]
    for i, fp in enumerate(pedigrees):
        fem = [n for n, s in fp.extras if s == "F"]
        mal = [n for n, s in fp.extras if s == "M"]
        who = names + fem + mal
        out += [str(i), q(fp.name), str(len(fem)), str(len(mal)), str(len(fp.links))]
        for parent, child in fp.links:
            out += [str(who.index(parent)), str(who.index(child))]
    out += ["#FALSE# (#Databases: 1 ;Theta/Kinship/Fst: 0 )", str(len(loci)), "#TRUE#", q(database)]
    for lc in loci:
        out += [q(lc.name), _fmt(lc.rate["F"]), _fmt(lc.rate["M"]), str(lc.model["F"]), str(lc.model["M"]),
                str(len(lc.alleles)), _fmt(lc.range_["F"]), _fmt(lc.range_["M"]), _fmt(lc.rate2["F"]),
                _fmt(lc.rate2["M"]), "#FALSE#", "0",
                (f"{len(lc.alleles)}\t(DatabaseSize = {int(lc.database_size or 1000)} , "
                 "Dropout probability = 0 , Minor allele frequency = 0 )")]
        for a, f in zip(lc.alleles, lc.frequencies):
            out += [q(a), _fmt(f)]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------ export-case
#: what ``reunion export-case --format`` writes
EXPORT_FORMATS = ("familias", "ped")
#: reunion mutation model -> Familias model code (stepwise with rate2: Extended stepwise, as
#: pedFamilias' writeFam writes pedmut's stepwise model with rate2)
_FAMILIAS_CODE = {"none": 0, "equal": 0, "proportional": 1, "stepwise": 4}


def _relation_of(key: str, hypothesis: str):
    from reunion.genetics.roles import Relation, key_relation

    rel = key_relation(key)
    if rel in (Relation.OTHER, Relation.LOST_CHILD):     # an explicit pedigree's label: placed by links
        return None
    if rel is None and hypothesis.startswith("pair_"):
        try:
            rel = Relation(hypothesis.removeprefix("pair_"))
        except ValueError:
            rel = None
    return rel


def candidate_case(run, candidate: Mapping, missing_codes: np.ndarray, member_codes: Mapping[str, np.ndarray],
                   encoding, sexes: Mapping[str, str], missing_sex: str | None = None) -> str:
    """The ``.fam`` text of one candidate of a run (:func:`candidate_hypotheses`)."""
    case = candidate_hypotheses(run, candidate, missing_codes, member_codes, encoding, sexes, missing_sex)
    return write_fam(case.persons, case.pedigrees, case.loci)


def candidate_hypotheses(run, candidate: Mapping, missing_codes: np.ndarray, member_codes: Mapping[str, np.ndarray],
                         encoding, sexes: Mapping[str, str], missing_sex: str | None = None) -> FamiliasCase:
    """One candidate of a run as a case of two pedigrees: H1 (the family's pedigree with the missing
    person as its lost child) and H2 'unrelated' (the same family, the lost child's place
    untyped, the missing person a founder apart), every typed person's genotypes at the run's
    loci, the run's frequencies (its encoding: the rare-allele floor included) and mutation
    model per sex. ``run``: a :class:`reunion.score.RunConfiguration`; ``candidate``: a row of
    its candidates (missing_id, family_id, hypothesis, members). The missing person's genotype
    is written only at loci where a member is typed: the run compares only those (LR 1 at the
    others), and under a non-stationary mutation model an uncompared locus would otherwise
    differ between H1 and H2 (the lost child of untyped parents is not Hardy-Weinberg)."""
    from reunion.genetics.engine import (
        SLOT_RELATIONS,
        PedigreeError,
        Relative,
        relatives_pedigree,
    )
    from reunion.genetics.mutation import MutationModels

    s = run.settings
    mid, fid, hyp = candidate["missing_id"], candidate["family_id"], candidate["hypothesis"]
    if s.scoring.theta > 0:
        raise InputError(f"{run.run_json}: the run used theta = {s.scoring.theta:g}; a Familias case of its "
                         "pedigree engine needs theta 0")
    rels = []
    for piece in (p for p in str(candidate["members"]).split(";") if p):
        key, _, sid = piece.partition(":")
        rel = _relation_of(key, hyp)
        if rel is None:
            raise InputError(f"candidate {mid} / {fid}: member '{key}' of hypothesis {hyp} has no relation "
                             "a pedigree can place; it cannot be exported")
        sex = sexes.get(sid)
        rels.append(Relative(sid, rel, sex if sex in ("M", "F") and rel not in SLOT_RELATIONS else None))
    try:
        mix = relatives_pedigree(rels, lost_id=mid, lost_sex=None)
    except PedigreeError as exc:
        raise InputError(f"candidate {mid} / {fid}: {exc}") from None
    if len(mix.components) > 1:
        raise InputError(f"candidate {mid} / {fid}: H1 is a mixture of {len(mix.components)} pedigrees "
                         "(relatives of unknown side or sex, each with its prior); a Familias case scores "
                         "one pedigree per hypothesis: register the sides to export it")
    ped = mix.components[0][1]
    fathers = {q.father for q in ped.persons if q.father}
    mothers = {q.mother for q in ped.persons if q.mother}

    def sex_of(q) -> str:
        if q.id in fathers:
            return "M"
        if q.id in mothers:
            return "F"
        if q.id == mid:
            return q.sex or missing_sex or "M"
        return q.sex or sexes.get(q.id) or "F"
    models = MutationModels(s.mutation, encoding)
    loci = []
    for l, lc in enumerate(encoding.loci):
        model = s.mutation.model
        code = _FAMILIAS_CODE[model]
        rate = {x: (0.0 if model == "none" else models.rate(lc.locus, x)) for x in ("F", "M")}
        r2 = s.mutation.rate2 if model == "stepwise" else 0.0
        loci.append(FamLocus(lc.locus, tuple(lc.alleles), tuple(float(f) for f in lc.frequencies),
                             {"F": code, "M": code}, rate, {"F": s.mutation.range, "M": s.mutation.range},
                             {"F": r2, "M": r2}, database_size=None))

    def genotypes(codes: np.ndarray) -> dict[str, tuple[str, str]]:
        out = {}
        for l, g in enumerate(np.asarray(codes).tolist()):
            if g:
                a, b = encoding.genotype_label(l, int(g)).split("/")
                out[encoding.loci[l].locus] = (a, b)
        return out
    typed_ids = [q.id for q in ped.persons if q.id in member_codes]
    # the run compares a locus only where a member is typed (LR 1 elsewhere); under a
    # non-stationary model the lost child of untyped parents is not P_HW, so the missing
    # person's genotype is left out where no member is typed, as the run leaves it out
    compared = np.zeros(len(encoding.loci), dtype=bool)
    for i in typed_ids:
        compared |= np.asarray(member_codes[i]) != 0
    persons = [FamPerson(mid, sex_of(ped.person(mid)), genotypes(np.where(compared, missing_codes, 0)))]
    persons += [FamPerson(i, sex_of(ped.person(i)), genotypes(member_codes[i])) for i in typed_ids]
    named = {p.name for p in persons}
    untyped = [q for q in ped.persons if q.id not in named]
    slot = "~lost_child_place"

    def links(rename: dict[str, str]) -> tuple[tuple[str, str], ...]:
        out = []
        for q in ped.persons:
            for parent in (q.father, q.mother):
                if parent is not None:
                    out.append((rename.get(parent, parent), rename.get(q.id, q.id)))
        return tuple(out)
    h1_extras = tuple((q.id, sex_of(q)) for q in untyped)
    h2_extras = h1_extras + ((slot, sex_of(ped.person(mid))),)
    h1 = FamPedigree("H1", h1_extras, links({}))
    h2 = FamPedigree("H2 unrelated", h2_extras, links({mid: slot}))
    return FamiliasCase("3.2.8", tuple(persons), (h1, h2), tuple(loci), 0.0, "reunion")


def case_codes(shards: Path, missing_id: str, ids: set[str]):
    """(the shard set's encoding, sample id -> genotype codes [L] of the missing person and of the
    members ``ids``, the missing person's registered sex or None)."""
    from reunion.ingest import (
        load_encoding,
        load_manifest,
        read_shard,
        shard_codes,
        shards_of,
    )

    manifest = load_manifest(shards)
    enc = load_encoding(shards, manifest)
    codes: dict[str, np.ndarray] = {}
    missing_sex = None
    for side, want in (("query", {missing_id}), ("reference", ids)):
        for rec in shards_of(manifest, side):
            t = read_shard(shards, rec)
            sids = t.column("sample_id").to_pylist()
            hit = [k for k, sid in enumerate(sids) if sid in want]
            if hit:
                c = shard_codes(t)
                sx = t.column("sex").to_pylist() if "sex" in t.column_names else [None] * len(sids)
                for k in hit:
                    codes[sids[k]] = c[k]
                    if sids[k] == missing_id and sx[k] in ("M", "F"):
                        missing_sex = sx[k]
    if missing_id not in codes:
        raise InputError(f"{shards}: the missing person {missing_id} is not in the run's query shards")
    return enc, codes, missing_sex


def export_case(run_dir: Path | str, missing_id: str, family_id: str, out: Path | str,
                fmt: str = "familias") -> Path:
    """Write the candidate (``missing_id``, ``family_id``) of the run folder ``run_dir`` as a
    Familias case file (``fmt`` 'familias', :func:`candidate_case`) or as a folder the R
    pedsuite reads (``fmt`` 'ped', :mod:`reunion.io.ped`); :class:`InputError` when it is no
    candidate."""
    import pyarrow.parquet as pq

    from reunion.ingest import load_manifest, read_shard
    from reunion.io.atomic import write_text
    from reunion.score import registered_sexes, run_configuration

    if fmt not in EXPORT_FORMATS:
        raise InputError(f"--format {fmt}: not one of {', '.join(EXPORT_FORMATS)}")
    run = run_configuration(run_dir)
    cand_path = require_file(Path(run_dir) / "candidates.parquet", "run's candidates.parquet")
    rows = [r for r in pq.read_table(cand_path, columns=["missing_id", "family_id", "hypothesis", "members",
                                                         "log10_lr"])
            .to_pylist() if r["missing_id"] == missing_id and r["family_id"] == family_id]
    if not rows:
        raise InputError(f"{cand_path}: no candidate with missing_id {missing_id} and family_id {family_id}")
    cand = rows[0]
    reg = load_manifest(run.shards).registry
    registry = read_shard(run.shards, reg).select(["family_id", "relation"]).to_pylist() if reg else []
    if {"family_id": family_id, "relation": "lost_child"} in registry:     # an explicit pedigree's lost child
        raise InputError(f"family {family_id} is registered as an explicit pedigree (father_id / mother_id): "
                         "its Familias case is not written yet (its members' relations are labels); score "
                         f"it with reunion score --samples and a pairs row {missing_id},family:{family_id}")
    ids = {p.partition(":")[2] for p in cand["members"].split(";") if p}
    enc, codes, missing_sex = case_codes(run.shards, missing_id, ids)
    case = candidate_hypotheses(run, cand, codes[missing_id], {i: codes[i] for i in ids if i in codes}, enc,
                                registered_sexes(run.shards, ids), missing_sex)
    if fmt == "ped":
        from reunion.io.ped import write_case_folder
        return write_case_folder(case, out, f"{missing_id} / {family_id} ({cand['hypothesis']})",
                                 float(cand["log10_lr"]))
    return write_text(Path(out), write_fam(case.persons, case.pedigrees, case.loci))
