"""Y-STR evidence: male-line haplotypes, their stepwise mutation, and the Y likelihood ratio.

A man's Y chromosome passes from his father to his sons only, as one non-recombining block;
at each Y-STR locus it changes by a repeat step with a small per-meiosis probability (the
locus' mutation rate, about 1e-3; about 1e-2 for the rapidly mutating loci). For a male lost
child and the typed men of his paternal line (father, paternal grandfather, paternal uncles,
brothers, paternal half brothers, paternal first cousins, his own sons) this module computes

    LR_Y = P(h | the typed paternal-line men's haplotypes, the paternal-line tree) / P(h),

h the missing man's haplotype at the compared loci (KINSHIP.md, "Y-STR lineages"; issue 20).

What is here (the re-match uses it through reunion/yevidence.py; docs/YSTR.md says how):

- :data:`Y_LOCI`, :func:`y_locus`: the known Y loci, their copy numbers and spellings (data;
  names are reduced by :func:`reunion.loci.locus_key` and matched by
  :class:`reunion.loci.LocusNormaliser`, the one home of locus spelling);
- :class:`YHaplotype`, :func:`parse_y_rows`: haplotypes from genotype rows, with one-line
  reasons (:class:`YReject`) for what cannot be used;
- :func:`load_ystr_rates`: the shipped per-locus father-son mutation rates
  (``configs/ystr_mutation_rates.csv``; sources in ``configs/ystr_mutation_rates.md``);
- :func:`step_law`, :func:`step_kernel`: the one-meiosis step law and its m-fold convolution;
- :class:`PaternalLine`, :func:`paternal_line`, :func:`paternal_line_from_pedigree`: the tree
  of paternal-line men (from relation codes, or from an explicit engine pedigree);
- :func:`y_locus_posterior`, :func:`y_locus_table`: per locus, P(lost man's value | typed
  men), peeled exactly over the untyped men of the tree;
- :func:`y_lr`: the Y LR of one missing man against one family (None where there is no Y
  factor: a female lost child, or no typed paternal-line man);
- the denominator: :class:`HaplotypeDatabase` (counting with (x+1)/(N+1); Brenner's kappa)
  and :class:`DiscreteLaplace` (Andersen, Eriksen & Morling 2013).

Model of the numerator (per locus l, rate mu_l):
- One meiosis moves the repeat number by d with probability f(0) = 1 - mu, f(+-1) = mu/2
  each (single-step stepwise mutation, symmetric; Ballantyne et al. 2010 found single-step
  changes 25.23 times as frequent as multi-step ones and a non-significant 1.16:1 excess of
  losses). Optionally a fraction ``two_step`` of mutations are two-step:
  f(+-1) = mu (1 - w)/2, f(+-2) = mu w/2 (w = 1/26.23 = 0.038 matches Ballantyne's ratio).
- m meioses apart on the male line: the m-fold convolution f^{*m} (:func:`step_law`).
- Loci mutate independently given the tree; a multi-copy locus (DYS385a/b, DYF387S1a/b,
  ...) is c copies mutating independently, each with the per-copy rate
  1 - (1 - mu)^(1/c) (so that mu is the probability that any copy changes: the published
  rates of DYS385a/b are per marker), and a man is observed as the set of distinct values of
  his copies (which copy carries which value is unknown).
- The founder of the paternal line (the topmost untyped man) has a flat prior. The step
  kernel is symmetric, so the joint of all men's values, prod over links K(x_father, x_son)
  times a flat prior, is the same whichever man is taken as the root: the posterior of the
  lost man is computed by peeling towards him (Elston & Stewart 1971; Cannings, Thompson &
  Skolnick 1978), summing out every untyped man's value over a bounded range: the lattice
  of repeat numbers from ``pad`` steps below to ``pad`` steps above every typed or queried
  value at the locus. The posterior is normalised over that range. With one typed man
  m meioses away this is exactly f^{*m}(h - h_rel), the textbook numerator.
- So the numerator factorises over loci: per locus a table of P(lost man = v | typed men)
  over the missing men's values v, like the autosomal lost-child tables; the log of it is a
  per-locus table for the gather-sum kernel. The denominator is the haplotype's population
  probability over the compared loci (Y loci are not independent in the population: one
  number per haplotype, not a product over loci).

Sources: Ballantyne K.N. et al. (2010) Mutability of Y-chromosomal microsatellites: rates,
characteristics, molecular bases, and forensic implications. AJHG 87:341-353; Kayser M. et al.
(2000) AJHG 66:1580 (father-son Y-STR mutation, single-step); Brenner C.H. (2010) Fundamental
problem of forensic mathematics - the evidential value of a rare haplotype. FSI:Genetics
4:281-291; Andersen M.M., Eriksen P.S., Morling N. (2013) The discrete Laplace exponential
family and estimation of Y-STR haplotype frequencies. J. Theor. Biol. 329:39-51; SWGDAM
Interpretation Guidelines for Y-Chromosome STR Typing (2014), section 8 (statistics).

No genotype or haplotype value appears in a log line or in an error message.
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reunion.genetics.pedigree import InconsistentFamilyError
from reunion.genetics.roles import Relation
from reunion.loci import (
    LocusNormaliser,
    canonical_allele,
    locus_key,
    locus_kind,
    valid_allele,
)

__all__ = [
    "RATES_CSV",
    "YLR",
    "Y_LOCI",
    "counting_probability",
    "kappa_probability",
    "DiscreteLaplace",
    "HaplotypeDatabase",
    "PaternalLine",
    "YHaplotype",
    "YLocus",
    "YMan",
    "YParse",
    "YPosterior",
    "YReject",
    "YValue",
    "load_ystr_rates",
    "meioses_of",
    "parse_y_rows",
    "paternal_line",
    "paternal_line_from_pedigree",
    "per_copy_rate",
    "step_kernel",
    "step_law",
    "y_locus",
    "y_locus_posterior",
    "y_locus_table",
    "y_lr",
]

#: a Y value: the repeat number of a single-copy locus, or the sorted distinct repeat
#: numbers of a multi-copy locus (DYS385a/b 11,14 -> (11.0, 14.0); 11,11 -> (11.0,))
YValue = float | tuple[float, ...]

RATES_CSV = Path(__file__).resolve().parent.parent / "configs" / "ystr_mutation_rates.csv"


# ------------------------------------------------------------------------------ Y loci (data)
@dataclass(frozen=True)
class YLocus:
    """A Y-STR locus: ``name`` the canonical spelling (YHRD's), ``copies`` the number of
    copies a typing reports (1 single-copy; 2+ multi-copy, reported as an unordered set),
    ``aliases`` other spellings of the whole locus, ``parts`` spellings of one copy reported
    on its own row (``DYS385a``, ``DYS385b``: the rows of one sample are merged)."""

    name: str
    copies: int = 1
    aliases: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


_SINGLE = (
    "DYS19", "DYS389I", "DYS389II", "DYS390", "DYS391", "DYS392", "DYS393", "DYS437", "DYS438",
    "DYS439", "DYS448", "DYS456", "DYS458", "DYS635", "DYS576", "DYS481", "DYS549", "DYS533",
    "DYS570", "DYS643", "DYS518", "DYS627", "DYS460", "DYS449", "DYS444", "DYS447", "DYS557",
    "DYS522", "DYS510", "DYS446", "DYS388", "DYS426", "DYS442", "DYS455", "DYS454", "DYS607",
    "DYS531", "DYS578", "DYS590", "DYS537", "DYS641", "DYS472", "DYS511", "DYS425", "DYS594",
    "DYS436", "DYS490", "DYS534", "DYS450", "DYS520", "DYS617", "DYS568", "DYS487", "DYS572",
    "DYS640", "DYS492", "DYS565", "DYS526a", "DYS526b", "DYS547", "DYS612", "DYS626",
    "DYS552", "DYS593", "DYS596",
)
#: the Y loci this module knows, with copy numbers (multi-copy per YHRD / kit manuals:
#: DYS385a/b, DYF387S1a/b, DYS527a/b, DYS459a/b, DYF404S1, DYF395S1a/b, DYS413a/b two
#: copies; DYF399S1 three; DYS464 four)
Y_LOCI: tuple[YLocus, ...] = (
    *(YLocus(n, aliases=("DYS394",) if n == "DYS19" else ()) for n in _SINGLE),
    YLocus("Y-GATA-H4", aliases=("GATA H4", "GATA H4.1", "Y-GATA-H4.1", "YGATAH4")),
    YLocus("Y-GATA-A10", aliases=("GATA A10",)),
    YLocus("DYS385a/b", 2, ("DYS385",), ("DYS385a", "DYS385b")),
    YLocus("DYF387S1a/b", 2, ("DYF387S1", "DYS387S1", "DYS387S1a/b"),
           ("DYF387S1a", "DYF387S1b", "DYS387S1a", "DYS387S1b")),
    YLocus("DYS527a/b", 2, ("DYS527",), ("DYS527a", "DYS527b")),
    YLocus("DYS459a/b", 2, ("DYS459",), ("DYS459a", "DYS459b")),
    YLocus("DYF395S1a/b", 2, ("DYF395S1",), ("DYF395S1a", "DYF395S1b")),
    YLocus("DYS413a/b", 2, ("DYS413",), ("DYS413a", "DYS413b")),
    YLocus("DYF404S1", 2, ("DYF404S1a/b",)),
    YLocus("DYF399S1", 3, ("DYF399S1a/b/c",)),
    YLocus("DYS464", 4, ("DYS464a/b/c/d", "DYS464a-d")),
)
_BY_NAME = {y.name: y for y in Y_LOCI}
_NORMALISE = LocusNormaliser([y.name for y in Y_LOCI])
_ALIAS = {locus_key(a): y.name for y in Y_LOCI for a in y.aliases}
_PART = {locus_key(a): y.name for y in Y_LOCI for a in y.parts}


def y_locus(name: str) -> tuple[YLocus | None, bool]:
    """(the :class:`YLocus` ``name`` spells, whether it spells one copy of it on its own row);
    (None, False) for a name that is no known Y-STR locus."""
    canon = _NORMALISE(name) or _ALIAS.get(locus_key(name))
    if canon is not None:
        return _BY_NAME[canon], False
    part = _PART.get(locus_key(name))
    return (_BY_NAME[part], True) if part is not None else (None, False)


# ------------------------------------------------------------------------------ haplotypes
@dataclass(frozen=True)
class YHaplotype:
    """One man's Y haplotype: ``sample_id`` and ``alleles``, (locus, value) pairs sorted by
    locus (canonical names; a value per :data:`YValue`). Immutable and hashable; ``get``,
    ``loci`` and ``as_dict`` read it."""

    sample_id: str
    alleles: tuple[tuple[str, YValue], ...]

    @classmethod
    def of(cls, sample_id: str, alleles: Mapping[str, float | Sequence[float]]) -> YHaplotype:
        """From a mapping locus -> value (canonical locus names; a multi-copy value as any
        sequence of its copies' values: stored as the sorted distinct values)."""
        out = []
        for locus, v in alleles.items():
            info = _BY_NAME.get(locus)
            if info is None:
                raise ValueError(f"{locus!r} is not a canonical Y locus name (see Y_LOCI)")
            if info.copies == 1:
                if not isinstance(v, (int, float)):
                    raise ValueError(f"{locus} is single-copy: one value")
                out.append((locus, float(v)))
            else:
                vals = tuple(sorted({float(x) for x in (v if isinstance(v, Sequence) else (v,))}))
                if not 1 <= len(vals) <= info.copies:
                    raise ValueError(f"{locus} has {info.copies} copies: 1 to {info.copies} distinct values")
                out.append((locus, vals))
        return cls(sample_id, tuple(sorted(out)))

    def get(self, locus: str) -> YValue | None:
        for name, v in self.alleles:
            if name == locus:
                return v
        return None

    @property
    def loci(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.alleles)

    def as_dict(self) -> dict[str, YValue]:
        return dict(self.alleles)


@dataclass(frozen=True)
class YReject:
    """A genotype row not used for Y: ``row`` its 0-based position in the input rows,
    ``sample_id``, ``locus`` as spelled, ``field`` (locus, allele1, allele2, ...) and a
    one-line ``reason`` that never quotes an allele value."""

    row: int
    sample_id: str
    locus: str
    field: str
    reason: str


@dataclass
class YParse:
    """What :func:`parse_y_rows` made of the rows: ``haplotypes`` by sample id, ``rejects``,
    ``not_y`` the number of rows of other markers (autosomal, amelogenin) passed over."""

    haplotypes: dict[str, YHaplotype]
    rejects: list[YReject] = field(default_factory=list)
    not_y: int = 0


@functools.lru_cache(maxsize=4096)
def _value(label: str) -> tuple[float | None, str | None]:
    if label.upper() == "OL":
        return None, "off-ladder (OL) call: re-analyse or type the sample again"
    if not valid_allele(label):
        return None, "not a repeat-number allele label (expected e.g. 13, 14 or 17.2): correct the call"
    return float(canonical_allele(label)), None


def parse_y_rows(rows: Iterable[Sequence[str | None]],
                 sexes: Mapping[str, str] | None = None) -> YParse:
    """Y haplotypes from genotype rows ``(sample_id, locus, allele1, allele2[, allele3, ...])``
    (strings; a missing or empty allele2 means one value; the long form of the genotypes
    contract, further allele columns for multi-copy loci such as DYS464 allowed).

    Rows of markers other than Y loci (:func:`reunion.loci.locus_kind`) are passed over and
    counted in ``not_y``. A Y row is rejected, with its reason, when: the locus is the Yindel
    (a biallelic indel, not a repeat: no stepwise model) or a Y locus this module does not
    know (copy number unknown); ``sexes`` (sample_id -> M/F/U) gives the sample as female
    (a woman has no Y chromosome: a mix-up or a sex error); no allele is called; a call is
    off-ladder (OL) or not a repeat number; a single-copy locus carries two different values
    (a duplication or a mixture); a multi-copy locus more distinct values than copies; the
    sample has the locus twice. One copy of a multi-copy locus reported on its own row
    (``DYS385a`` / ``DYS385b``) is merged with the sample's other copies of it.
    """
    sexes = sexes or {}
    res = YParse({})
    got: dict[str, dict[str, set[float]]] = {}
    first: dict[tuple[str, str, bool], int] = {}
    spelt: dict[str, tuple[bool, bool, YLocus | None, bool, str]] = {}   # once per spelling
    for i, cells in enumerate(rows):
        sid, raw = (cells[0] or "").strip(), (cells[1] or "").strip()
        calls = [(c or "").strip() for c in cells[2:]]
        known = spelt.get(raw)
        if known is None:
            info, part = y_locus(raw)
            key = locus_key(raw)
            known = spelt[raw] = (locus_kind(raw) == "y" or info is not None, key == "YINDEL",
                                  info, part, key)
        is_y, indel, info, part, raw_key = known
        if not is_y:
            res.not_y += 1
            continue

        def reject(fld: str, why: str, i=i, sid=sid, raw=raw) -> None:
            res.rejects.append(YReject(i, sid, raw, fld, why))

        if indel:
            reject("locus", "the Yindel is a biallelic insertion/deletion, not a repeat: "
                   "it is not scored in the Y LR")
            continue
        if info is None:
            reject("locus", f"Y locus '{raw}' is not one this version knows (copy number "
                   "unknown): it is not scored; add it to Y_LOCI with its copy number")
            continue
        if sexes.get(sid) == "F":
            reject("locus", f"Y-STR locus on sample '{sid}', recorded as female: a woman has "
                   "no Y chromosome; check for a sample mix-up or correct the sex")
            continue
        key = (sid, info.name, part)
        if part:
            key = (sid, raw_key, True)
        dup = first.setdefault(key, i)
        if dup != i:
            reject("locus", f"duplicate Y typing of sample '{sid}' at '{raw}' (first on input "
                   f"row {dup}): keep one typing per sample and locus")
            continue
        named = [(f"allele{k + 1}", c) for k, c in enumerate(calls) if c]
        if not named:
            reject("allele1", "no allele called (untyped locus): drop the row or type the locus")
            continue
        values, bad = [], False
        for fld, c in named:
            v, why = _value(c)
            if why:
                reject(fld, why)
                bad = True
                break
            values.append(v)
        if bad:
            continue
        distinct = set(values)
        if info.copies == 1 and len(distinct) > 1:
            reject("allele2", f"two different alleles at single-copy Y locus '{info.name}' "
                   "(duplication or mixture): resolve the profile before matching")
            continue
        have = got.get(sid, {}).get(info.name, set())
        if len(have | distinct) > info.copies:
            reject(named[-1][0], f"more distinct alleles than the {info.copies} copies of "
                   f"'{info.name}' (mixture or artefact): resolve the profile before matching")
            continue
        got.setdefault(sid, {})[info.name] = have | distinct
    for sid, loci in got.items():
        vals = {}
        for locus, vs in loci.items():
            info = _BY_NAME[locus]
            vals[locus] = next(iter(vs)) if info.copies == 1 else tuple(vs)
        res.haplotypes[sid] = YHaplotype.of(sid, vals)
    return res


# ------------------------------------------------------------------------------ mutation rates
def load_ystr_rates(path: str | Path | None = None) -> dict[str, float]:
    """Per-locus Y-STR mutation rates per father-son meiosis, float, keyed by canonical locus
    name, from a CSV with columns ``locus, rate, source`` (default: the shipped
    ``configs/ystr_mutation_rates.csv``; sources in ``configs/ystr_mutation_rates.md``).
    Spellings are normalised (:func:`y_locus`); ValueError for an unknown locus, a rate
    outside (0, 0.5) or a row without a source."""
    path = Path(path) if path is not None else RATES_CSV
    out: dict[str, float] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for k, row in enumerate(csv.DictReader(fh), start=2):
            info, part = y_locus(row["locus"])
            if info is None or part:
                raise ValueError(f"{path.name} line {k}: '{row['locus']}' is not a known Y locus")
            rate = float(row["rate"])
            if not 0.0 < rate < 0.5:
                raise ValueError(f"{path.name} line {k}: rate must be in (0, 0.5)")
            if not (row.get("source") or "").strip():
                raise ValueError(f"{path.name} line {k}: every rate needs its source")
            out[info.name] = rate
    return out


def per_copy_rate(rate: float, copies: int) -> float:
    """The per-copy rate of a c-copy locus whose published rate is per marker (any copy
    changes): 1 - (1 - rate)^(1/c); ``rate`` itself for a single-copy locus."""
    return rate if copies == 1 else 1.0 - (1.0 - rate) ** (1.0 / copies)


def step_law(rate: float, meioses: int = 1, two_step: float = 0.0) -> np.ndarray:
    """The distribution of the repeat change d over ``meioses`` male-line meioses, float64
    [2 s m + 1] for d = -s m .. s m (s = 1, or 2 where ``two_step`` > 0): the ``meioses``-fold
    convolution of the one-meiosis law f(0) = 1 - rate, f(+-1) = rate (1 - w) / 2,
    f(+-2) = rate w / 2 (w = ``two_step``). Sums to 1; symmetric."""
    if not 0.0 <= rate <= 1.0 or not 0.0 <= two_step <= 1.0 or meioses < 0:
        raise ValueError("rate and two_step in [0, 1], meioses >= 0")
    if two_step > 0.0:
        one = np.array([rate * two_step / 2, rate * (1 - two_step) / 2, 1.0 - rate,
                        rate * (1 - two_step) / 2, rate * two_step / 2])
    else:
        one = np.array([rate / 2, 1.0 - rate, rate / 2])
    law = np.ones(1)
    for _ in range(meioses):
        law = np.convolve(law, one)
    return law


def step_kernel(n: int, rate: float, meioses: int = 1, two_step: float = 0.0) -> np.ndarray:
    """float64 [n, n] K[i, j] = P(value j | value i, ``meioses`` meioses) on a lattice of n
    consecutive repeat numbers (:func:`step_law`; mass beyond the lattice is dropped).
    Symmetric."""
    law = step_law(rate, meioses, two_step)
    half = (len(law) - 1) // 2
    d = np.arange(n)[None, :] - np.arange(n)[:, None]
    K = np.zeros((n, n))
    ok = np.abs(d) <= half
    K[ok] = law[d[ok] + half]
    return K


# ------------------------------------------------------------------------------ the paternal line
@dataclass(frozen=True)
class YMan:
    """A man of a paternal-line tree: ``id``, ``father`` (id of his father in the tree, None
    for the topmost man), ``meioses`` on the link to that father (1 for a father; more for
    a compressed chain of untyped men), ``label`` free text."""

    id: str
    father: str | None = None
    meioses: int = 1
    label: str = ""


@dataclass(frozen=True)
class PaternalLine:
    """The men who share the lost man's Y chromosome by descent: a tree of :class:`YMan`
    (``men``), the lost man's id ``lost`` (one of them), and ``ignored``: (member id, reason)
    for the registered members left out of the Y evidence. Checked on construction: unique
    ids, fathers in the tree, no cycle, meioses >= 1."""

    men: tuple[YMan, ...]
    lost: str
    ignored: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        ids = [m.id for m in self.men]
        if len(set(ids)) != len(ids) or self.lost not in ids:
            raise ValueError("paternal line: unique ids, the lost man among them")
        by = {m.id: m for m in self.men}
        for m in self.men:
            if m.father is not None and m.father not in by:
                raise ValueError(f"paternal line: {m.id}'s father is not in the tree")
            if m.meioses < 1:
                raise ValueError(f"paternal line: {m.id}: meioses >= 1")
            seen, cur = {m.id}, m.father
            while cur is not None:
                if cur in seen:
                    raise ValueError("paternal line: a cycle of fatherhood")
                seen.add(cur)
                cur = by[cur].father

    def edges(self) -> list[tuple[str, str, int]]:
        """(son, father, meioses) for every link."""
        return [(m.id, m.father, m.meioses) for m in self.men if m.father is not None]

    def meioses_to_lost(self) -> dict[str, int]:
        """Meioses between every man and the lost man along the tree (0 for himself)."""
        adj: dict[str, list[tuple[str, int]]] = {m.id: [] for m in self.men}
        for s, f, k in self.edges():
            adj[s].append((f, k))
            adj[f].append((s, k))
        dist, todo = {self.lost: 0}, [self.lost]
        while todo:
            u = todo.pop()
            for v, k in adj[u]:
                if v not in dist:
                    dist[v] = dist[u] + k
                    todo.append(v)
        return dist


#: where a registered man of each relation sits in the paternal-line tree built by
#: :func:`paternal_line` (his father there); the same structure as
#: :func:`reunion.genetics.engine.relatives_pedigree` for the male line
_PLACE = {
    Relation.FATHER: None,                         # the father: top or son of the grandfather
    Relation.PATERNAL_GRANDFATHER: None,           # the top
    Relation.PATERNAL_UNCLE_AUNT: "gf",            # a son of the paternal grandfather
    Relation.FULL_SIBLING: "f",                    # a son of the father
    Relation.HALF_SIBLING_PATERNAL: "f",           # a son of the father by another mother
    Relation.PATERNAL_FIRST_COUSIN: "uncle",       # a son of an (untyped) paternal uncle
    Relation.CHILD: "lost",                        # the lost man's son
}
_NO_Y = {
    Relation.MOTHER: "a woman carries no Y chromosome",
    Relation.HALF_SIBLING_MATERNAL: "a maternal half brother has another father's Y",
    Relation.MATERNAL_GRANDFATHER: "the maternal side shares no Y with the lost man",
    Relation.MATERNAL_GRANDMOTHER: "a woman carries no Y chromosome",
    Relation.PATERNAL_GRANDMOTHER: "a woman carries no Y chromosome",
    Relation.MATERNAL_UNCLE_AUNT: "the maternal side shares no Y with the lost man",
    Relation.MATERNAL_FIRST_COUSIN: "the maternal side shares no Y with the lost man",
    Relation.CHILD_OTHER_PARENT: "the other parent of the lost man's children is no paternal-line man",
    Relation.HALF_SIBLING: "side unknown: a maternal half brother shares no Y; register the side",
    Relation.GRANDPARENT: "side unknown: a maternal grandfather shares no Y; register the side",
    Relation.AVUNCULAR: "side unknown: a maternal uncle shares no Y; register the side",
    Relation.GRANDCHILD: "a grandchild may descend through a daughter (no Y): not used",
}


def meioses_of(relation: Relation | str) -> int | None:
    """Meioses between the lost man and a paternal-line man of ``relation`` in the tree of
    :func:`paternal_line`: father 1, paternal grandfather 2, paternal uncle 3, brother and
    paternal half brother 2, paternal first cousin 4, son 1; None for a relation that shares
    no Y with him (or whose side is unknown)."""
    rel = Relation(relation)
    if rel not in _PLACE:
        return None
    line = paternal_line([("m", rel, "M")], {"m"})
    return line.meioses_to_lost()["m"]


def paternal_line(relatives: Iterable, typed: Iterable[str], lost_id: str = "lost") -> PaternalLine:
    """The paternal-line tree of a family registered by relation codes.

    ``relatives``: :class:`reunion.genetics.engine.Relative` records (or (id, relation, sex)
    tuples); ``typed``: the ids of the members with a Y haplotype. A member enters the tree
    when he has a Y haplotype, is not recorded female and his relation shares the lost man's
    Y: the father, the paternal grandfather, paternal uncles (sons of the grandfather),
    brothers and paternal half brothers (sons of the father), paternal first cousins (sons
    of one untyped paternal uncle, a son of the grandfather: a paternal cousin is taken to
    descend through his father, the male line, as the issue's "paternal first cousin"; one
    through a paternal aunt must not be registered for Y), and the lost man's sons. The
    father and grandfather are untyped men (``~father``, ``~paternal_grandfather``) where not
    registered. Every other member is listed in ``ignored`` with the reason (maternal side,
    women, side-less codes, grandchildren). The untyped men without a typed man below them
    are left out (they change nothing). Two registered fathers (or grandfathers): ValueError.
    """
    typed = set(typed)
    rels = []
    for r in relatives:
        rid, rel, sex = (r if isinstance(r, tuple) else (r.id, r.relation, r.sex))
        rels.append((rid, Relation(rel), sex))
    ignored, used = [], []
    for rid, rel, sex in rels:
        if rid not in typed:
            continue
        if sex == "F":
            ignored.append((rid, "recorded female: a woman carries no Y chromosome"))
        elif rel in _NO_Y:
            ignored.append((rid, _NO_Y[rel]))
        else:
            used.append((rid, rel))
    slots = {Relation.FATHER: "~father", Relation.PATERNAL_GRANDFATHER: "~paternal_grandfather"}
    for rel in slots:
        who = [rid for rid, k in used if k is rel]
        if len(who) > 1:
            raise ValueError(f"two members registered as {rel.value} with a Y haplotype")
        if who:
            slots[rel] = who[0]
    f, gf = slots[Relation.FATHER], slots[Relation.PATERNAL_GRANDFATHER]
    parent = {lost_id: f, f: None}
    for rid, rel in used:
        place = _PLACE[rel]
        if rel is Relation.PATERNAL_GRANDFATHER or place in ("gf", "uncle"):
            parent[f] = gf
            parent.setdefault(gf, None)
        if place == "f":
            parent[rid] = f
        elif place == "gf":
            parent[rid] = gf
        elif place == "uncle":
            parent.setdefault("~paternal_uncle", gf)
            parent[rid] = "~paternal_uncle"
        elif place == "lost":
            parent[rid] = lost_id
    men = _prune([YMan(pid, fa) for pid, fa in parent.items()], lost_id, {rid for rid, _ in used})
    return PaternalLine(tuple(men), lost_id, tuple(ignored))


def _prune(men: list[YMan], lost: str, typed: set[str]) -> list[YMan]:
    """Keep the lost man, the typed men and the untyped men on a path between them."""
    by = {m.id: m for m in men}
    keep = {lost}
    for t in typed:
        if t not in by:
            continue
        up_t, cur = [], t
        while cur is not None:
            up_t.append(cur)
            cur = by[cur].father
        up_l, cur = [], lost
        while cur is not None:
            up_l.append(cur)
            cur = by[cur].father
        common = next((u for u in up_t if u in set(up_l)), None)
        if common is None:
            continue                                   # not on the lost man's line
        keep.update(up_t[:up_t.index(common) + 1])
        keep.update(up_l[:up_l.index(common) + 1])
    out = []
    for m in men:
        if m.id in keep:
            out.append(YMan(m.id, m.father if m.father in keep else None, m.meioses, m.label))
    return out


def paternal_line_from_pedigree(ped, typed: Iterable[str]) -> PaternalLine:
    """The paternal-line tree of an explicit :class:`reunion.genetics.engine.Pedigree`: the
    men joined to the lost child by father-son links (a person's Y comes from his father; a
    daughter's line stops there), pruned to the typed men (``typed``: ids with a Y
    haplotype) and the untyped men between them and the lost child. A lost child recorded
    female gives a tree of the lost child alone (no Y factor)."""
    typed = set(typed)
    persons = {q.id: q for q in ped.persons}
    fathers = {q.father for q in persons.values() if q.father is not None}

    def male(pid: str) -> bool:
        q = persons[pid]
        return q.sex == "M" or pid in fathers or (q.sex is None and pid in typed)

    lost = ped.lost
    if persons[lost].sex == "F":
        return PaternalLine((YMan(lost),), lost, ())
    men = [YMan(pid, q.father if q.father is not None else None, 1, q.label)
           for pid, q in persons.items() if male(pid) or pid == lost]
    men = [YMan(m.id, m.father if m.father in persons and male(m.father) else None, 1, m.label)
           for m in men]
    kept = _prune(men, lost, {t for t in typed if t in persons and male(t)})
    ignored = tuple((t, "not on the lost child's male line") for t in sorted(typed)
                    if t in persons and t not in {m.id for m in kept})
    return PaternalLine(tuple(kept), lost, ignored)


# ------------------------------------------------------------------------------ peeling
@dataclass(frozen=True)
class YPosterior:
    """The lost man's value at one locus given the typed men: ``values`` float64 [R] the
    lattice of repeat numbers (consecutive, one microvariant class), ``copies`` c, ``prob``
    float64 of shape (R,) * c: P(lost man's copies = (values[i1], ..., values[ic]) | typed
    men), ordered copies, summing to 1; ``meioses`` to the nearest typed man."""

    values: np.ndarray
    copies: int
    prob: np.ndarray
    meioses: int

    def of(self, value: YValue) -> float:
        """P(the lost man is observed with ``value``): a repeat number (single-copy) or the set
        of distinct values (multi-copy; the sum over ordered copies showing that set). 0 for
        a value off the lattice (another microvariant class: no stepwise path)."""
        vals = (value,) if self.copies == 1 else tuple(value)
        idx = []
        for v in vals:
            i = _index(self.values, v)
            if i is None:
                return 0.0
            idx.append(i)
        if self.copies == 1:
            return float(self.prob[idx[0]])
        want = set(idx)
        return float(sum(self.prob[s] for s in itertools.product(sorted(want), repeat=self.copies)
                         if set(s) == want))


def _tenths(v: float) -> int:
    return round(10.0 * v)


def _index(values: np.ndarray, v: float) -> int | None:
    t0, t = _tenths(values[0]), _tenths(v)
    if (t - t0) % 10:
        return None
    i = (t - t0) // 10
    return i if 0 <= i < len(values) else None


def _values_of(v: YValue) -> tuple[float, ...]:
    return (v,) if isinstance(v, (int, float)) else tuple(v)


def y_locus_posterior(line: PaternalLine, haplotypes: Mapping[str, YHaplotype], locus: str,
                      rate: float, *, pad: int = 6, two_step: float = 0.0,
                      extra: Iterable[YValue] = ()) -> YPosterior | None:
    """P(lost man's value at ``locus`` | the typed men of ``line``), exact on the bounded range.

    ``haplotypes``: Y haplotypes by man id (the lost man's, if given, is not used); a man
    without a value at ``locus`` is untyped there. ``rate``: the locus' per-meiosis rate
    (per marker; split over copies by :func:`per_copy_rate`). The range is the lattice of
    repeat numbers (the typed values' microvariant class) from ``pad`` steps below the
    smallest to ``pad`` above the largest of the typed values and ``extra`` (the values to
    be looked up). Peeling towards the lost man: each untyped man's value is summed out, each
    link a :func:`step_kernel` applied along every copy axis; cost O(P c R^(c+1)) for P men.
    None when no typed man of the line is typed at the locus (no evidence there).
    Raises :class:`InconsistentFamilyError` when the typed men cannot share a line at the
    locus under the model (values in different microvariant classes, or further apart than
    the steps the meioses between them allow).
    """
    info = _BY_NAME[locus]
    c = info.copies
    obs = {}
    for m in line.men:
        h = haplotypes.get(m.id)
        if m.id != line.lost and h is not None and h.get(locus) is not None:
            obs[m.id] = _values_of(h.get(locus))
    if not obs:
        return None
    typed_vals = [v for vs in obs.values() for v in vs]
    classes = {_tenths(v) % 10 for v in typed_vals}
    if len(classes) > 1:
        raise InconsistentFamilyError(
            f"the paternal-line men's values at {locus} are in different microvariant classes: "
            "no single-step path joins them; check the calls or leave the locus out")
    r = classes.pop()
    on = [v for v in list(_values_of_all(extra)) if _tenths(v) % 10 == r]
    units = [(_tenths(v) - r) // 10 for v in typed_vals + on]
    lo, hi = min(units) - pad, max(units) + pad
    R = hi - lo + 1
    values = (np.arange(lo, hi + 1) * 10 + r) / 10.0
    # the tree rooted at the lost man (the symmetric kernel makes every rooting equal)
    adj: dict[str, list[tuple[str, int]]] = {m.id: [] for m in line.men}
    for s, f, k in line.edges():
        adj[s].append((f, k))
        adj[f].append((s, k))
    order, parent, seen = [], {line.lost: (None, 0)}, {line.lost}
    stack = [line.lost]
    while stack:
        u = stack.pop()
        order.append(u)
        for v, k in adj[u]:
            if v not in seen:
                seen.add(v)
                parent[v] = (u, k)
                stack.append(v)
    # which subtrees hold a typed man (others sum to 1: left out)
    has = {u: u in obs for u in order}
    for u in reversed(order):
        p = parent[u][0]
        if p is not None and has[u]:
            has[p] = True
    mu = per_copy_rate(rate, c)
    kernels: dict[int, np.ndarray] = {}
    shape = (R,) * c
    msg: dict[str, np.ndarray] = {}
    for u in reversed(order):                       # leaves first
        if not has[u]:
            continue
        b = _evidence(obs.get(u), values, c) if u in obs else np.ones(shape)
        for v, _k in adj[u]:
            if parent.get(v, (None,))[0] == u and v in msg:
                b = b * msg.pop(v)
        p, k = parent[u]
        if p is None:
            msg[u] = b
            continue
        K = kernels.get(k)
        if K is None:
            K = kernels[k] = step_kernel(R, mu, k, two_step)
        for ax in range(c):
            b = np.moveaxis(np.tensordot(K, b, axes=([1], [ax])), 0, ax)
        msg[u] = b
    b = msg[line.lost]
    Z = float(b.sum())
    if not Z > 0.0:
        raise InconsistentFamilyError(
            f"the paternal-line men's values at {locus} are further apart than the meioses "
            "between them allow under this step model: check the family, allow two-step "
            "changes (two_step), or leave the locus out")
    dist = line.meioses_to_lost()
    return YPosterior(values, c, b / Z, min(dist[t] for t in obs))


def _values_of_all(extra: Iterable[YValue]) -> Iterable[float]:
    for v in extra:
        yield from _values_of(v)


def _evidence(vals: tuple[float, ...], values: np.ndarray, c: int) -> np.ndarray:
    """Indicator over ordered copy states: 1 where the set of the copies' values is ``vals``."""
    out = np.zeros((len(values),) * c)
    idx = sorted({_index(values, v) for v in vals})
    if c == 1:
        out[idx[0]] = 1.0
        return out
    for s in itertools.product(idx, repeat=c):
        if set(s) == set(idx):
            out[s] = 1.0
    return out


def y_locus_table(line: PaternalLine, haplotypes: Mapping[str, YHaplotype], locus: str,
                  values: Sequence[YValue], rate: float, *, pad: int = 6,
                  two_step: float = 0.0) -> np.ndarray | None:
    """The numerator's per-locus table: float64 [len(values)], P(lost man shows values[i] at
    ``locus`` | the typed paternal-line men) (:func:`y_locus_posterior` with ``values`` in its
    range). The Y counterpart of an autosomal lost-child table, over the missing men's Y
    values at the locus (e.g. the values the shards' Y dictionary holds); its log10 is what
    the gather-sum kernel adds. None where no typed man is typed at the locus."""
    post = y_locus_posterior(line, haplotypes, locus, rate, pad=pad, two_step=two_step, extra=values)
    if post is None:
        return None
    return np.array([post.of(v) for v in values], dtype=np.float64)


# ------------------------------------------------------------------------------ the Y LR
@dataclass(frozen=True)
class YLR:
    """The Y evidence of one missing man against one family: ``loci`` the compared loci
    (typed in him and in a typed paternal-line man, with a rate), ``per_locus`` P(his value |
    the typed men) per compared locus, ``numerator`` their product, ``denominator`` the
    population probability of his haplotype over the compared loci, ``lr`` = numerator /
    denominator, ``log10_lr``; ``meioses`` to the nearest typed man per locus; ``skipped``
    (locus, reason) for loci he is typed at but that are not compared."""

    loci: tuple[str, ...]
    per_locus: tuple[float, ...]
    numerator: float
    denominator: float
    lr: float
    log10_lr: float
    meioses: tuple[int, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def y_lr(missing: YHaplotype | None, line: PaternalLine, haplotypes: Mapping[str, YHaplotype],
         rates: Mapping[str, float],
         frequency: float | Callable[[YHaplotype, tuple[str, ...]], float],
         *, missing_sex: str | None = None, default_rate: float | None = None, pad: int = 6,
         two_step: float = 0.0) -> YLR | None:
    """LR_Y = prod over compared loci of P(h_l | typed paternal-line men) / P(h over them).

    ``missing``: the missing man's haplotype; ``line`` and ``haplotypes``: the family's
    paternal-line tree (:func:`paternal_line`) and its men's haplotypes; ``rates``: per-locus
    rates (:func:`load_ystr_rates`), ``default_rate`` for loci without one (None: such a locus
    is skipped, with the reason); ``frequency``: the population probability of the missing
    haplotype, a number (already over the compared loci) or a function (haplotype, loci) ->
    probability such as :meth:`HaplotypeDatabase.counting`, :meth:`HaplotypeDatabase.kappa`
    or :meth:`DiscreteLaplace.probability`.

    None (no Y factor) for a female missing person (``missing_sex`` 'F'), a missing person
    without a Y haplotype, or a family whose line has no typed man at any locus he is typed
    at. The numerator factorises over loci (:func:`y_locus_posterior` per locus); the
    denominator does not (one haplotype probability). lr is 0 where a locus' value cannot be
    reached (log10_lr -inf). Raises :class:`InconsistentFamilyError` from a locus where the
    typed men themselves cannot share a line.
    """
    if missing_sex == "F" or missing is None or not missing.alleles:
        return None
    loci, per, mei, skipped = [], [], [], []
    for locus, value in missing.alleles:
        rate = rates.get(locus, default_rate)
        if rate is None:
            skipped.append((locus, "no mutation rate for this locus"))
            continue
        post = y_locus_posterior(line, haplotypes, locus, rate, pad=pad, two_step=two_step,
                                 extra=(value,))
        if post is None:
            skipped.append((locus, "no typed paternal-line man at this locus"))
            continue
        loci.append(locus)
        per.append(post.of(value))
        mei.append(post.meioses)
    if not loci:
        return None
    num = math.prod(per)
    den = float(frequency(missing, tuple(loci)) if callable(frequency) else frequency)
    if not 0.0 < den <= 1.0:
        raise ValueError("the haplotype probability must be in (0, 1]")
    lr = num / den
    return YLR(tuple(loci), tuple(per), num, den, lr, math.log10(lr) if lr > 0 else -math.inf,
               tuple(mei), tuple(skipped))


# ------------------------------------------------------------------------------ the denominator
class HaplotypeDatabase:
    """A reference database of Y haplotypes (the run's male profiles, a shipped or supplied
    database) and the count-based haplotype probabilities.

    A haplotype's key over a tuple of loci is its values there; only database haplotypes
    typed at every one of those loci count (N: their number), so each estimate is over the
    loci compared. Counts per loci tuple are built once and cached.
    """

    def __init__(self, haplotypes: Iterable[YHaplotype]):
        self._haps = list(haplotypes)
        self._counts: dict[tuple[str, ...], tuple[Counter, int]] = {}

    def _table(self, loci: tuple[str, ...]) -> tuple[Counter, int]:
        t = self._counts.get(loci)
        if t is None:
            keys = []
            for h in self._haps:
                d = h.as_dict()
                if all(locus in d for locus in loci):
                    keys.append(tuple(d[locus] for locus in loci))
            t = self._counts[loci] = (Counter(keys), len(keys))
        return t

    def count(self, h: YHaplotype, loci: Sequence[str]) -> tuple[int, int]:
        """(x, N): how many of the N database haplotypes typed at ``loci`` equal ``h`` there."""
        loci = tuple(loci)
        counts, n = self._table(loci)
        d = h.as_dict()
        return counts.get(tuple(d.get(locus) for locus in loci), 0), n

    def counting(self, h: YHaplotype, loci: Sequence[str]) -> float:
        """(x + 1) / (N + 1): the count of ``h`` in the database augmented by ``h`` itself
        (the evidence haplotype is added before counting, so a type new to the database gets
        1/(N + 1), never 0; SWGDAM Y-STR guidelines 2014, 8.2; Brenner 2010 sec. 2.2)."""
        return counting_probability(*self.count(h, loci))

    def singleton_fraction(self, loci: Sequence[str]) -> float:
        """kappa: the fraction of the N database haplotypes (over ``loci``) whose type occurs
        exactly once in the database (Brenner 2010, "Analysis of singletons")."""
        counts, n = self._table(tuple(loci))
        if n == 0:
            raise ValueError("empty database over these loci")
        return sum(1 for c in counts.values() if c == 1) / n

    def kappa(self, h: YHaplotype, loci: Sequence[str]) -> float:
        """Brenner's kappa method (Brenner 2010, FSI:Genetics 4:281): for a type not in the
        database of N, the probability that a random man has it is (1 - kappa) / N, kappa the
        singleton fraction (:meth:`singleton_fraction`); Brenner's argument covers new types
        only, so a type seen x >= 1 times gets the augmented count (x + 1) / (N + 1)."""
        x, n = self.count(h, loci)
        if x > 0:
            return counting_probability(x, n)
        counts, _ = self._table(tuple(loci))
        return kappa_probability(x, n, sum(1 for c in counts.values() if c == 1))


def counting_probability(x: int, n: int) -> float:
    """(x + 1) / (N + 1): a haplotype seen x times among N, the evidence haplotype added
    (:meth:`HaplotypeDatabase.counting`; also the lineage search's coded counts)."""
    return (x + 1) / (n + 1)


def kappa_probability(x: int, n: int, singletons: int) -> float:
    """Brenner's kappa estimate from the counts (:meth:`HaplotypeDatabase.kappa`): x seen
    among N, ``singletons`` the database haplotypes whose type occurs once; (1 - kappa)/N for
    x = 0 (kappa = singletons / N), else (x + 1)/(N + 1). ValueError where kappa = 1 or N = 0."""
    if x > 0:
        return counting_probability(x, n)
    if n == 0:
        raise ValueError("empty database over these loci")
    kap = singletons / n
    if kap >= 1.0:
        raise ValueError("every database haplotype is a singleton (kappa = 1): the kappa "
                         "estimate is 0; use counting or the discrete Laplace model")
    return (1.0 - kap) / n


class DiscreteLaplace:
    """The discrete Laplace mixture model of Y-STR haplotype frequencies (Andersen, Eriksen
    & Morling 2013, J. Theor. Biol. 329:39; the R package disclapmix).

    The population is a mixture of ``clusters`` subpopulations (clans); within cluster j the
    loci are independent, locus k differing from the cluster's central haplotype y_jk by d
    steps with the discrete Laplace probability DL(d; p) = (1 - p)/(1 + p) p^|d|:

        P(h) = sum_j tau_j prod_k (1 - p_jk)/(1 + p_jk) p_jk^|h_k - y_jk|.

    Fitted by EM: responsibilities (E); tau_j their means, y_jk the weighted median of locus k
    (the DL location's maximum-likelihood estimate), p_jk from the weighted mean absolute
    deviation m: p = (sqrt(1 + m^2) - 1) / m, the root of the score equation
    m (1 - p^2) = 2 p (M). Unlike disclapmix, each p_jk is free (disclapmix fits
    logit p_jk = locus effect + cluster effect, a GLM); ``min_p`` keeps p away from 0.
    Coordinates: a single-copy locus its value, a c-copy locus c coordinates, the sorted
    copies (the smaller first, as disclapmix splits DYS385a/b; a set with fewer values than
    copies repeats its largest); microvariants are rounded down to whole repeats.
    ``fit`` starts from the most frequent haplotype and then, greedily, the haplotypes
    farthest (L1) from the centres chosen (deterministic).
    """

    def __init__(self, loci: Sequence[str], clusters: int = 1, *, iterations: int = 200,
                 tol: float = 1e-10, min_p: float = 1e-6):
        self.loci = tuple(loci)
        self.clusters = clusters
        self.iterations = iterations
        self.tol = tol
        self.min_p = min_p
        self.tau: np.ndarray | None = None        # float64 [clusters]
        self.centres: np.ndarray | None = None    # float64 [clusters, coordinates]
        self.p: np.ndarray | None = None          # float64 [clusters, coordinates]
        self.loglik: float | None = None

    def coordinates(self, h: YHaplotype) -> np.ndarray | None:
        """float64 [coordinates] of ``h`` over the model's loci, None if a locus is untyped."""
        out = []
        for locus in self.loci:
            v = h.get(locus)
            if v is None:
                return None
            c = _BY_NAME[locus].copies
            vals = sorted(math.floor(x + 1e-9) for x in _values_of(v))
            vals = vals + [vals[-1]] * (c - len(vals))
            out.extend(vals)
        return np.array(out, dtype=np.float64)

    def _component_logp(self, X: np.ndarray) -> np.ndarray:
        """float64 [n, clusters]: log of each cluster's probability of each row of X."""
        p = self.p
        d = np.abs(X[:, None, :] - self.centres[None, :, :])
        return (np.log((1 - p) / (1 + p))[None] + d * np.log(p)[None]).sum(axis=2)

    def fit(self, haplotypes: Iterable[YHaplotype]) -> DiscreteLaplace:
        """Fit by EM on the database haplotypes typed at every model locus; returns self."""
        rows = [x for x in (self.coordinates(h) for h in haplotypes) if x is not None]
        if len(rows) < self.clusters:
            raise ValueError("fewer typed haplotypes than clusters")
        X = np.vstack(rows)
        L = X.shape[1]
        uniq, counts = np.unique(X, axis=0, return_counts=True)
        centres = [uniq[int(np.argmax(counts))]]
        while len(centres) < self.clusters:
            dist = np.min([np.abs(uniq - c).sum(axis=1) for c in centres], axis=0)
            centres.append(uniq[int(np.argmax(dist))])
        self.centres = np.array(centres, dtype=np.float64)
        self.tau = np.full(self.clusters, 1.0 / self.clusters)
        self.p = np.full((self.clusters, L), 0.1)
        prev = -math.inf
        for _ in range(self.iterations):
            lp = self._component_logp(X) + np.log(self.tau)[None]
            top = lp.max(axis=1, keepdims=True)
            w = np.exp(lp - top)
            ll = float((top[:, 0] + np.log(w.sum(axis=1))).sum())
            w /= w.sum(axis=1, keepdims=True)                 # responsibilities [n, clusters]
            self.tau = np.maximum(w.mean(axis=0), 1e-300)
            for j in range(self.clusters):
                wj = w[:, j]
                for k in range(L):
                    self.centres[j, k] = _weighted_median(X[:, k], wj)
                    m = float((wj * np.abs(X[:, k] - self.centres[j, k])).sum() / wj.sum())
                    pk = (math.sqrt(1.0 + m * m) - 1.0) / m if m > 0 else 0.0
                    self.p[j, k] = min(max(pk, self.min_p), 1 - 1e-9)
            self.loglik = ll
            if abs(ll - prev) <= self.tol * max(1.0, abs(ll)):
                break
            prev = ll
        return self

    def probability(self, h: YHaplotype, loci: Sequence[str] | None = None) -> float:
        """P(h) under the fitted mixture. ``loci`` (as :func:`y_lr` passes them) must be the
        model's loci, in any order: the model is fitted over a fixed locus set."""
        if self.p is None:
            raise ValueError("fit the model first")
        if loci is not None and set(loci) != set(self.loci):
            raise ValueError("the discrete Laplace model was fitted over other loci: fit one "
                             "over the compared loci")
        x = self.coordinates(h)
        if x is None:
            raise ValueError("the haplotype is not typed at every model locus")
        lp = self._component_logp(x[None])[0] + np.log(self.tau)
        return float(np.exp(lp).sum())


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """The smallest x at which the cumulative weight reaches half the total."""
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    return float(x[order][int(np.searchsorted(cw, 0.5 * cw[-1]))])
