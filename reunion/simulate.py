"""A seeded, reproducible synthetic national database of families and missing persons.

Used for demos, tests and benchmarks: it produces the same inputs a lab export
would (``samples.csv`` and ``genotypes.csv`` following the SAMPLES and
GENOTYPES contracts) plus the ground truth the matcher should recover
(``truth.csv``, and ``truth_corrupt.csv`` when malformed rows are injected).

Genetics of the simulation
--------------------------
* Founders (fathers, mothers, unrelated missing persons) draw two alleles per
  locus independently from the table's frequencies (Hardy-Weinberg and
  linkage equilibrium; the frequencies of a locus are rescaled to sum to 1 for
  sampling only).
* A child receives one allele, chosen at random, from each parent. With the
  sex-specific rate (per locus, per transmission) the transmitted allele
  mutates stepwise: +-1 repeat, or +-2 repeats for 5 % of mutations, the
  direction at random, keeping the microvariant part (9.3 -> 10.3 or 8.3).
  An allele never drops below 1 repeat (the step is then taken upwards). A
  mutated allele may be absent from the frequency table; it is kept (the
  pipeline gives it the rare-allele floor).
* Each family has a father and a mother (both exist genetically, one or both
  are registered), the lost child and optionally 1-2 full siblings of the lost
  child (same two parents), registered as ``full_sibling``. A fraction of the
  lost children are "found": they appear on the missing side. Unrelated
  missing persons are further founders.
* Long separations (issue 16; the fractions default to 0): exact shares of the
  families register no parent: siblings only (1-2 full siblings), one side's
  grandparents and uncles / aunts (sided codes; the grandparents drawn given
  that parent, the uncles / aunts their children), or a missing adult's own
  children (with an other parent, registered in half of them). Their draws
  come from a stream of their own (``[seed, KINDS_STREAM]``), so a database
  without them is byte-identical to one simulated before they existed; their
  people follow everyone else in the person order (:func:`_draw_extended`).
* Paternal lines (issue 20; off by default): shares of the families search for a lost boy
  through men of his paternal line only: one paternal uncle and one paternal first cousin (the
  son of another, untyped paternal uncle), or 1-2 paternal half brothers (the father's sons by
  mothers of their own); drawn from the kinds' stream after the kinds above. With
  ``y_haplotypes`` every man also has a Y haplotype (:func:`_draw_y`, a stream of its own,
  ``[seed, Y_STREAM]``): each family's paternal line (from its paternal grandfather down:
  father, uncles, brothers, half brothers, cousins, the lost man's sons) is one line of a village
  lineage, every other man (a mother's father, an unrelated missing man, ...) a line of his own of
  a lineage at random, ``y_lines_per_lineage`` lines to a lineage; a line's top man is
  ``y_generations`` generations below the lineage founder, and every son takes his father's
  haplotype through one meiosis of the shipped per-locus rates (:func:`_y_descend`, the
  machinery of :func:`simulate_lineages`). Male profiles get Y rows at the Y kit, appended after
  the autosomal rows of genotypes.csv; ``y_lineages.csv`` gives each one's lineage. The autosomal
  files are the same with or without it.

Every profile is typed with a kit (a locus set) drawn at random; a fraction
of the profiles are partial and lose 1-4 further loci. All outputs go through
:mod:`reunion.io.atomic`; the same seed gives byte-identical files. Nothing
logged here contains a genotype.

Alleles are held as int16/int64 tenths of a repeat (9.3 -> 93, 10 -> 100; -1
is the off-ladder label 'OL' of a corrupt row). People are indexed in one
order throughout: fathers [0, nf), mothers [nf, 2 nf), unrelated founders
[2 nf, 2 nf + nu), then the children family by family, each family's lost
child first. Profiles (rows of samples.csv) are the registered relatives,
family by family, then the missing persons in id order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from reunion.contracts import GENOTYPES, PEDIGREE_COLUMNS, SAMPLES, check_table
from reunion.frequencies import FrequencyTable
from reunion.errors import SettingsError
from reunion.io.atomic import ensure_dir, write_table
from reunion.loci import LocusNormaliser
from reunion.settings import LineageSimulationSettings, SimulationSettings

log = logging.getLogger(__name__)

# The 20 CODIS core loci (FBI, since 2017) and the 15 loci of the AmpFlSTR Identifiler kit.
CODIS_CORE20 = (
    "CSF1PO", "FGA", "TH01", "TPOX", "vWA", "D3S1358", "D5S818", "D7S820", "D8S1179",
    "D13S317", "D16S539", "D18S51", "D21S11", "D1S1656", "D2S441", "D2S1338", "D10S1248",
    "D12S391", "D19S433", "D22S1045",
)
IDENTIFILER15 = (
    "D8S1179", "D21S11", "D7S820", "CSF1PO", "D3S1358", "TH01", "D13S317", "D16S539",
    "D2S1338", "D19S433", "vWA", "TPOX", "D18S51", "D5S818", "FGA",
)
DEFAULT_KIT_WEIGHTS = {"full": 0.5, "core20": 0.3, "id15": 0.2}
REGIONS = ("Northridge", "Eastvale", "Southport", "Westmarch", "Central Plains", "Lakeside",
           "Highmoor", "Riverbend")
DATE_FIRST = np.datetime64("2020-01-01")
DATE_LAST = np.datetime64("2025-12-31")
TWO_STEP_FRACTION = 0.05  # share of mutations that move by two repeats
UNKNOWN_LOCUS = "DXS999"
OFF_LADDER = "OL"
#: by relation code: 0..3 the nuclear slots (father, mother, sibling 1, sibling 2), then the
#: relatives of the long-separation kinds (:func:`_draw_extended`)
RELATION_NAMES = ("father", "mother", "full_sibling", "full_sibling",
                  "paternal_grandfather", "paternal_grandmother", "maternal_grandfather",
                  "maternal_grandmother", "paternal_uncle_aunt", "maternal_uncle_aunt",
                  "child", "child_other_parent", "paternal_first_cousin", "half_sibling_paternal")
_GF = {"paternal": (4, 5), "maternal": (6, 7)}   # (grandfather, grandmother) of a side
_UNCLE = {"paternal": 8, "maternal": 9}
_CHILD, _OTHER_PARENT = 10, 11
_PATERNAL_COUSIN, _PATERNAL_HALF_SIBLING = 12, 13
#: family kinds by code (:attr:`_Families.kind`; reunion.evaluate names them the same from samples.csv)
FAMILY_KINDS = ("both parents", "one parent", "siblings only", "grandparents and uncles/aunts",
                "missing adult's children", "paternal uncle and cousin", "paternal half brothers")
#: stream of the long-separation kinds' draws: the main stream's draws stay those of the
#: fields before them, so a database without these kinds is byte-identical to before
KINDS_STREAM = 16
#: stream of the Y haplotypes' draws (issue 20): the autosomal files are the same with or without them
Y_STREAM = 20
#: where a person's Y comes from (:func:`_draw_y`; person indices >= 0 are his father)
Y_OWN_LINE, Y_NONE = -1, -2

@dataclass
class SimulationSummary:
    """Counts of a simulated database and the files written."""

    n_families: int
    n_relatives: int          # registered relative profiles
    n_missing: int            # missing-side profiles (planted + unrelated)
    n_planted: int            # lost children on the missing side
    n_planted_trio: int       # planted lost children with both parents registered
    n_mutations: int          # mutation events over all simulated transmissions (all children)
    n_genotype_rows: int      # data rows of genotypes.csv, corrupt rows included
    n_corrupt_rows: int
    paths: dict[str, str] = field(default_factory=dict)
    planted_by_kind: dict[str, int] = field(default_factory=dict)   # FAMILY_KINDS -> planted lost children
    n_y_rows: int = 0         # Y rows of genotypes.csv (appended after the autosomal rows)
    n_y_mutations: int = 0    # Y mutation events over all simulated male-line meioses


# --------------------------------------------------------------------------- records of the steps

@dataclass(frozen=True)
class _Kits:
    """The kits profiles are typed with."""

    names: list[str]          # [n_kits]
    masks: np.ndarray         # bool [n_kits, n_loci]: loci typed by each kit (table order)
    weights: np.ndarray       # float64 [n_kits], sums to 1: sampling probability of each kit


@dataclass(frozen=True)
class _Families:
    """Composition of the registered families; every array is [n_families]."""

    father_reg: np.ndarray    # bool: the father is registered
    mother_reg: np.ndarray    # bool: the mother is registered (at least one of the two is)
    n_sibs: np.ndarray        # int64 in {0, 1, 2}: registered full siblings of the lost child
    planted: np.ndarray       # bool: the lost child is on the missing side
    kind: np.ndarray | None = None   # int64: index into FAMILY_KINDS (:func:`_assign_kinds`)


@dataclass(frozen=True)
class _People:
    """Genotypes of everyone simulated (person order: see the module docstring)."""

    geno: np.ndarray          # int16 [n_people, n_loci, 2], tenths; a child's [..., 0] is paternal
    n_founders: int           # 2 n_families + n_unrelated_missing
    child_offset: np.ndarray  # int64 [n_families]: row of each family's lost child among children
    mut_p: np.ndarray         # bool [n_children, n_loci]: the paternal allele mutated
    mut_m: np.ndarray         # bool [n_children, n_loci]: the maternal allele mutated

    @property
    def lost_child(self) -> np.ndarray:
        """int64 [n_families]: person index of each family's lost child."""
        return self.n_founders + self.child_offset


@dataclass(frozen=True)
class _Registry:
    """Who has a profile: registered relatives, family by family, then missing persons in id order."""

    rel_person: np.ndarray    # int64 [n_rel]: person index
    rel_family: np.ndarray    # int64 [n_rel]: family index
    rel_relation: np.ndarray  # int64 [n_rel]: index into RELATION_NAMES
    miss_person: np.ndarray   # int64 [n_miss]: person index
    miss_family: np.ndarray   # int64 [n_miss]: family of a planted lost child, -1 if unrelated
    rel_sex: np.ndarray | None = None    # <U1 [n_rel]: a sex the relation or the pedigree fixes, '' if none
    lost_sex: np.ndarray | None = None   # <U1 [n_families]: a lost child's sex the pedigree fixes, '' if none

    @property
    def person(self) -> np.ndarray:
        """int64 [n_prof]: person index of each profile."""
        return np.concatenate([self.rel_person, self.miss_person])


@dataclass(frozen=True)
class _Profiles:
    """What each profile is typed at and the record fields drawn for it; arrays are [n_prof, ...]."""

    kit: np.ndarray           # int64 [n_prof]: index into _Kits.names
    typed: np.ndarray         # bool [n_prof, n_loci]: loci with a genotype row
    sex: np.ndarray           # <U1 [n_prof]: 'M' / 'F' as drawn (parents' sex is fixed later)
    collected_on: np.ndarray  # datetime64[D] [n_prof] in [DATE_FIRST, DATE_LAST]
    region: np.ndarray        # int64 [n_prof]: index into REGIONS


@dataclass(frozen=True)
class _Ids:
    """Identifiers written to the files."""

    family: list[str]         # [n_families]: F00000, F00001, ...
    sample: list[str]         # [n_prof]: R000000... for relatives, then M000000... for missing


@dataclass(frozen=True)
class _CorruptRow:
    """One malformed genotype row and why it is wrong."""

    profile: int              # profile index
    locus: int                # index into the table's loci + [UNKNOWN_LOCUS]
    allele1: int              # tenths, -1 for 'OL'
    allele2: int              # tenths
    kind: str                 # unknown_locus / off_ladder / third_allele
    reason: str


@dataclass(frozen=True)
class _GenotypeRows:
    """Rows of genotypes.csv in file order, corrupt rows included; arrays are int64 [n_rows]."""

    profile: np.ndarray
    locus: np.ndarray         # index into the table's loci + [UNKNOWN_LOCUS]
    allele1: np.ndarray       # tenths, -1 for 'OL'; allele1 <= allele2 on clean rows
    allele2: np.ndarray
    corrupt_rownum: np.ndarray  # int64 [n_corrupt]: editor line of each corrupt row (header = 1), ascending
    corrupt_order: np.ndarray   # int64 [n_corrupt]: drawn corrupt row at each of those rows


# --------------------------------------------------------------------------- helpers

def _label_of_tenths(t: int) -> str:
    """Allele label of a repeat value held in tenths: 93 -> '9.3', 100 -> '10'."""
    whole, frac = divmod(int(t), 10)
    return str(whole) if frac == 0 else f"{whole}.{frac}"


def _table_tenths(table: FrequencyTable) -> list[np.ndarray]:
    """Per locus (table order), the table's alleles in tenths: int64 [n_alleles]."""
    return [np.array([int(round(float(a) * 10)) for a in lf.alleles]) for lf in table.loci.values()]


def _exact_mask(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """Boolean mask [n] with exactly round(fraction * n) True entries at random positions."""
    k = int(round(fraction * n))
    mask = np.zeros(n, dtype=bool)
    if k:
        mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def _dict_strings(indices: np.ndarray, dictionary: list[str] | np.ndarray) -> pa.Array:
    """Plain string array built from integer codes into a dictionary (fast for millions of rows)."""
    arr = pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)),
                                         pa.array(list(dictionary), type=pa.string()))
    return arr.dictionary_decode()


def _strings(values: list[str | None]) -> pa.Array:
    """Arrow string array; None is null."""
    return pa.array(values, type=pa.string())


# --------------------------------------------------------------------------- steps (in draw order)

def _resolve_kits(table: FrequencyTable, config: SimulationSettings) -> _Kits:
    """Kits of the configuration (or the built-in ones) as locus masks over the table."""
    loci = table.locus_names
    norm = LocusNormaliser(loci)
    index = {name: i for i, name in enumerate(loci)}
    if config.kits is None:
        spec = {"full": list(loci), "core20": list(CODIS_CORE20), "id15": list(IDENTIFILER15)}
        spec = {k: [x for x in v if norm(x) is not None] for k, v in spec.items()}
        spec = {k: v for k, v in spec.items() if v}
        default_w = DEFAULT_KIT_WEIGHTS
    else:
        spec = {}
        for name, kl in config.kits.items():
            unknown = [x for x in kl if norm(x) is None]
            if unknown:
                raise ValueError(f"kit '{name}': loci {unknown} are not in the frequency table "
                                 f"({table.population}); available: {', '.join(loci)}")
            spec[name] = list(kl)
        default_w = {k: 1.0 for k in spec}
    names = list(spec)
    masks = np.zeros((len(names), len(loci)), dtype=bool)
    for k, name in enumerate(names):
        for x in spec[name]:
            masks[k, index[norm(x)]] = True
    if config.kit_weights is not None:
        unknown = sorted(set(config.kit_weights) - set(names))
        if unknown:
            raise ValueError(f"kit_weights names kits {unknown} that are not defined; kits: {names}")
    wd = config.kit_weights if config.kit_weights is not None else default_w
    weights = np.array([float(wd.get(k, 0.0)) for k in names], dtype=np.float64)
    if weights.sum() <= 0:  # only when no kit has a locus of the table
        raise ValueError(f"kit_weights give every kit weight 0; kits: {names}")
    return _Kits(names, masks, weights / weights.sum())


def _draw_families(rng: np.random.Generator, config: SimulationSettings) -> _Families:
    """Which parents and how many siblings each family registers, and whose lost child is found."""
    nf = config.n_families
    one_parent = _exact_mask(rng, nf, config.one_parent_fraction)
    father_only = rng.random(nf) < 0.5
    n_sibs = np.zeros(nf, dtype=np.int64)
    with_sibs = _exact_mask(rng, nf, config.sibling_fraction)
    n_sibs[with_sibs] = rng.integers(1, 3, size=int(with_sibs.sum()))
    planted = _exact_mask(rng, nf, config.lost_child_fraction)
    return _Families(father_reg=~one_parent | father_only, mother_reg=~one_parent | ~father_only,
                     n_sibs=n_sibs, planted=planted)


def _assign_kinds(rng: np.random.Generator, families: _Families, config: SimulationSettings) -> _Families:
    """The long-separation and paternal-line kinds (``rng``: the kinds' own stream): exactly
    round(fraction * n_families) families of each, at random, register no parent; a
    siblings-only family 1-2 full siblings, the others no sibling (their relatives are
    drawn by :func:`_draw_extended`). Other families are 'both parents' or 'one parent' as drawn.
    Without these kinds nothing is drawn and the families are as before."""
    nf = families.n_sibs.size
    kind = np.where(families.father_reg & families.mother_reg, 0, 1).astype(np.int64)
    counts = [int(round(f * nf)) for f in (config.siblings_only_fraction, config.grandparents_fraction,
                                           config.descendants_fraction,
                                           config.paternal_uncle_cousin_fraction,
                                           config.paternal_half_brothers_fraction)]
    if not sum(counts):
        return _Families(families.father_reg, families.mother_reg, families.n_sibs, families.planted, kind)
    order = rng.permutation(nf)
    father_reg, mother_reg, n_sibs = families.father_reg.copy(), families.mother_reg.copy(), families.n_sibs.copy()
    start = 0
    for code, k in zip((2, 3, 4, 5, 6), counts):
        sel = order[start:start + k]
        start += k
        kind[sel] = code
        father_reg[sel] = mother_reg[sel] = False
        if code == 2:
            none = sel[n_sibs[sel] == 0]
            n_sibs[none] = rng.integers(1, 3, size=none.size)
        else:
            n_sibs[sel] = 0
    return _Families(father_reg, mother_reg, n_sibs, families.planted, kind)


@dataclass(frozen=True)
class _Extended:
    """People and registrations of the grandparents, descendants and paternal-line kinds."""

    geno: np.ndarray          # int16 [n_extra, n_loci, 2]: appended after every other person
    person: np.ndarray        # int64 [n_reg]: person index of each registered relative
    family: np.ndarray        # int64 [n_reg]
    relation: np.ndarray      # int64 [n_reg]: index into RELATION_NAMES
    sex: np.ndarray           # <U1 [n_reg]: '' where the relation fixes none
    lost_sex: np.ndarray      # <U1 [n_families]: the lost child's sex where the pedigree fixes it
    y_father: np.ndarray | None = None      # int64 [n_extra]: person index of each one's father
                                            # (whose Y he carries), Y_OWN_LINE (a man at the top of
                                            # a line) or Y_NONE (a woman)
    paternal_gf: np.ndarray | None = None   # int64 [n_families]: person index of the paternal
                                            # grandfather where he was drawn, else -1


def _draw_extended(rng: np.random.Generator, table: FrequencyTable, families: _Families, people: _People,
                   config: SimulationSettings) -> _Extended:
    """Relatives of the long-separation and paternal-line kinds (``rng``: the kinds' own
    stream; the kinds in this order, each family by family).

    Grandparents and uncles / aunts: a side (paternal or maternal, 1/2 each); the
    grandparents of that side are drawn given that parent (founder alleles independent:
    the parent's two alleles are one from each grandparent, which from whom at random, and
    each grandparent's other allele from the frequencies; no mutation on these two
    transmissions); 1-2 uncles / aunts are their children (with mutation); registered: the
    grandmother alone (1/2), the grandfather alone (1/5) or both (3/10), and the uncles / aunts.
    Descendants: the lost person's sex (1/2 each), an other parent (a founder), 1-3 children
    of the two (with mutation at each parent's rate); registered: the children and, with
    probability 1/2, the other parent.
    Paternal uncle and cousin (a lost boy): the paternal grandparents drawn given the father
    as above, two sons of theirs (the uncle registered; the other untyped) and a son of the
    untyped one by a founder wife (the paternal first cousin, registered), as the pedigree
    engine places a cousin (:func:`reunion.genetics.engine.relatives_pedigree`).
    Paternal half brothers (a lost boy): 1-2 sons of the father, each by a founder mother of
    his own; registered, male.
    """
    nf = families.n_sibs.size
    L = people.geno.shape[1]
    kind = families.kind
    next_person = people.geno.shape[0]
    geno, person, family, relation, sex, y_father = [], [], [], [], [], []
    lost_sex = np.full(nf, "", dtype="<U1")
    paternal_gf = np.full(nf, -1, dtype=np.int64)

    def add(g: np.ndarray, y) -> np.ndarray:
        """Append people int16 [n, n_loci, 2]; ``y``: their Y source (a person index,
        Y_OWN_LINE or Y_NONE; one for all, or one each)."""
        nonlocal next_person
        geno.append(g.astype(np.int16))
        idx = np.arange(next_person, next_person + g.shape[0])
        next_person += g.shape[0]
        y_father.append(np.broadcast_to(np.asarray(y, dtype=np.int64), idx.shape))
        return idx

    def register(idx, f: int, rel: int, sx: str = ""):
        for q in np.atleast_1d(idx).tolist():
            person.append(q)
            family.append(f)
            relation.append(rel)
            sex.append(sx)

    def grandparents(parent_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(grandfather, grandmother) int16 [L, 2] given their child's genotype [L, 2]."""
        loci = np.arange(L)
        b = rng.integers(0, 2, size=L)
        other = _draw_founders(rng, table, 2)
        return (np.stack([parent_g[loci, b], other[0, :, 0]], axis=1),
                np.stack([parent_g[loci, 1 - b], other[1, :, 0]], axis=1))

    def children(father_g: np.ndarray, mother_g: np.ndarray, n: int) -> np.ndarray:
        """n children int16 [n, L, 2] of one father and one mother ([L, 2] each), or of one
        father and n mothers ([n, L, 2])."""
        pat, _ = _transmit(rng, np.repeat(father_g[None], n, axis=0), config.mutation_rate_male)
        mothers = mother_g if mother_g.ndim == 3 else np.repeat(mother_g[None], n, axis=0)
        mat, _ = _transmit(rng, mothers, config.mutation_rate_female)
        return np.stack([pat, mat], axis=2)

    for f in np.flatnonzero(kind == 3).tolist():
        side = "paternal" if rng.random() < 0.5 else "maternal"
        pg = people.geno[f if side == "paternal" else nf + f]          # [L, 2]
        gf, gm = grandparents(pg)
        n_ua = rng.integers(1, 3)
        ua = children(gf, gm, n_ua)
        i_gf, i_gm = add(gf[None], Y_OWN_LINE), add(gm[None], Y_NONE)
        i_ua = add(ua, i_gf[0])
        if side == "paternal":
            paternal_gf[f] = i_gf[0]
        u = rng.random()
        if u >= 0.5:                       # the grandfather (alone: 1/5; with her: 3/10)
            register(i_gf, f, _GF[side][0], "M")
        if u < 0.5 or u >= 0.7:            # the grandmother (alone: 1/2; with him: 3/10)
            register(i_gm, f, _GF[side][1], "F")
        register(i_ua, f, _UNCLE[side])
    lost_of = people.lost_child
    for f in np.flatnonzero(kind == 4).tolist():
        lsex = "M" if rng.random() < 0.5 else "F"
        op = _draw_founders(rng, table, 1)[0]
        n_ch = rng.integers(1, 4)
        lost_rate, op_rate = ((config.mutation_rate_male, config.mutation_rate_female) if lsex == "M"
                              else (config.mutation_rate_female, config.mutation_rate_male))
        from_lost, _ = _transmit(rng, np.repeat(people.geno[lost_of[f]][None], n_ch, axis=0), lost_rate)
        from_op, _ = _transmit(rng, np.repeat(op[None], n_ch, axis=0), op_rate)
        kids = np.stack([from_lost, from_op] if lsex == "M" else [from_op, from_lost], axis=2)
        i_op = add(op[None], Y_NONE if lsex == "M" else Y_OWN_LINE)
        i_kids = add(kids, lost_of[f] if lsex == "M" else i_op[0])
        lost_sex[f] = lsex
        register(i_kids, f, _CHILD)
        if rng.random() < 0.5:
            register(i_op, f, _OTHER_PARENT, "F" if lsex == "M" else "M")
    for f in np.flatnonzero(kind == 5).tolist():
        gf, gm = grandparents(people.geno[f])
        uncles = children(gf, gm, 2)                 # [0] registered, [1] the cousin's father
        wife = _draw_founders(rng, table, 1)[0]
        cousin = children(uncles[1], wife, 1)
        i_gf = add(gf[None], Y_OWN_LINE)
        add(gm[None], Y_NONE)
        i_uncles = add(uncles, i_gf[0])
        add(wife[None], Y_NONE)
        i_cousin = add(cousin, i_uncles[1])
        paternal_gf[f] = i_gf[0]
        lost_sex[f] = "M"
        register(i_uncles[0], f, _UNCLE["paternal"], "M")
        register(i_cousin, f, _PATERNAL_COUSIN, "M")
    for f in np.flatnonzero(kind == 6).tolist():
        n_hb = int(rng.integers(1, 3))
        mothers = _draw_founders(rng, table, n_hb)
        half = children(people.geno[f], mothers, n_hb)
        add(mothers, Y_NONE)
        i_half = add(half, f)
        lost_sex[f] = "M"
        register(i_half, f, _PATERNAL_HALF_SIBLING, "M")
    return _Extended(np.concatenate(geno) if geno else np.zeros((0, L, 2), np.int16),
                     np.array(person, dtype=np.int64), np.array(family, dtype=np.int64),
                     np.array(relation, dtype=np.int64), np.array(sex, dtype="<U1"), lost_sex,
                     np.concatenate(y_father) if y_father else np.zeros(0, np.int64), paternal_gf)


def _draw_founders(rng: np.random.Generator, table: FrequencyTable, n: int) -> np.ndarray:
    """Founder genotypes int16 [n, n_loci, 2] in tenths of a repeat, drawn under HWE."""
    out = np.empty((n, len(table.loci), 2), dtype=np.int16)
    for li, (lf, tenths) in enumerate(zip(table.loci.values(), _table_tenths(table))):
        tenths = tenths.astype(np.int16)
        cdf = np.cumsum(lf.frequencies / lf.frequencies.sum())
        cdf[-1] = 1.0
        u = rng.random((n, 2))
        out[:, li, :] = tenths[np.minimum(np.searchsorted(cdf, u, side="right"), len(tenths) - 1)]
    return out


def _transmit(rng: np.random.Generator, parent_g: np.ndarray, rate: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """One transmitted allele per child and locus, with stepwise mutation.

    ``parent_g`` is int16 [n_children, n_loci, 2] (the transmitting parent's
    genotype, tenths). Returns (alleles int16 [n_children, n_loci], mutated
    mask bool [n_children, n_loci]).
    """
    n, n_loci, _ = parent_g.shape
    pick = rng.integers(0, 2, size=(n, n_loci))
    allele = np.take_along_axis(parent_g, pick[..., None], axis=2)[..., 0].copy()
    mutated = rng.random((n, n_loci)) < rate
    k = int(mutated.sum())
    if k:
        step = np.where(rng.random(k) < TWO_STEP_FRACTION, 20, 10).astype(np.int16)
        sign = np.where(rng.random(k) < 0.5, -1, 1).astype(np.int16)
        old = allele[mutated]
        new = old + sign * step
        low = new < 10  # an allele stays >= 1 repeat: step upwards instead
        new[low] = old[low] + step[low]
        allele[mutated] = new
    return allele, mutated


def _draw_people(rng: np.random.Generator, table: FrequencyTable, families: _Families,
                 config: SimulationSettings) -> _People:
    """Founders' genotypes, then each child's from its two parents (paternal, then maternal)."""
    nf = families.n_sibs.size
    n_founders = 2 * nf + config.n_unrelated_missing
    n_children = 1 + families.n_sibs
    child_offset = np.concatenate([[0], np.cumsum(n_children)[:-1]])
    child_family = np.repeat(np.arange(nf), n_children)
    geno = np.empty((n_founders + int(n_children.sum()), len(table.loci), 2), dtype=np.int16)
    geno[:n_founders] = _draw_founders(rng, table, n_founders)
    pat, mut_p = _transmit(rng, geno[child_family], config.mutation_rate_male)
    mat, mut_m = _transmit(rng, geno[nf + child_family], config.mutation_rate_female)
    geno[n_founders:, :, 0] = pat
    geno[n_founders:, :, 1] = mat
    return _People(geno=geno, n_founders=n_founders, child_offset=child_offset,
                   mut_p=mut_p, mut_m=mut_m)


def _draw_registry(rng: np.random.Generator, families: _Families, people: _People,
                   n_unrelated: int, extended: _Extended | None = None) -> _Registry:
    """Registered relatives (father, mother, sibling 1, sibling 2 of each family, and the
    relatives of ``extended``, family by family) and the missing side (planted lost children
    and unrelated founders) in the order of a random id permutation."""
    nf = families.n_sibs.size
    lost_child = people.lost_child
    slots = np.stack([np.arange(nf), nf + np.arange(nf), lost_child + 1, lost_child + 2], axis=1)
    valid = np.stack([families.father_reg, families.mother_reg, families.n_sibs >= 1,
                      families.n_sibs >= 2], axis=1)
    planted_fam = np.flatnonzero(families.planted)
    miss_person_raw = np.concatenate([lost_child[planted_fam], 2 * nf + np.arange(n_unrelated)])
    miss_family_raw = np.concatenate([planted_fam, np.full(n_unrelated, -1)])
    perm = rng.permutation(miss_person_raw.size)  # id number of each raw missing person
    order = np.argsort(perm)                      # missing persons in id order
    rel_person = slots[valid]
    rel_family = np.broadcast_to(np.arange(nf)[:, None], slots.shape)[valid]
    rel_relation = np.broadcast_to(np.arange(4)[None, :], slots.shape)[valid]
    rel_sex = np.full(rel_person.size, "", dtype="<U1")
    lost_sex = None
    if extended is not None and extended.person.size:
        rel_person = np.concatenate([rel_person, extended.person])
        rel_family = np.concatenate([rel_family, extended.family])
        rel_relation = np.concatenate([rel_relation, extended.relation])
        rel_sex = np.concatenate([rel_sex, extended.sex])
        by_family = np.argsort(rel_family, kind="stable")          # family by family
        rel_person, rel_family, rel_relation, rel_sex = (a[by_family] for a in
                                                         (rel_person, rel_family, rel_relation, rel_sex))
        lost_sex = extended.lost_sex
    return _Registry(
        rel_person=rel_person,
        rel_family=rel_family,
        rel_relation=rel_relation,
        miss_person=miss_person_raw[order],
        miss_family=miss_family_raw[order],
        rel_sex=rel_sex,
        lost_sex=lost_sex,
    )


def _choose_kits_and_untyped(rng: np.random.Generator, kits: _Kits, n_prof: int,
                             dropout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """A kit per profile; partial profiles lose 1-4 loci of their kit (keeping at least one).

    Returns (kit index int64 [n_prof], typed bool [n_prof, n_loci]).
    """
    n_loci = kits.masks.shape[1]
    kit_idx = rng.choice(len(kits.names), size=n_prof, p=kits.weights)
    typed = kits.masks[kit_idx].copy()
    drop_rows = np.flatnonzero(_exact_mask(rng, n_prof, dropout_fraction))
    if drop_rows.size:
        keys = rng.random((drop_rows.size, n_loci))
        keys[~typed[drop_rows]] = np.inf
        ranked = np.argsort(keys, axis=1, kind="stable")  # typed loci first, in random order
        n_typed = typed[drop_rows].sum(axis=1)
        n_lose = np.minimum(rng.integers(1, 5, size=drop_rows.size), n_typed - 1)
        lose = np.arange(n_loci)[None, :] < n_lose[:, None]
        typed[np.repeat(drop_rows, lose.sum(axis=1)), ranked[lose]] = False
    return kit_idx, typed


def _draw_profiles(rng: np.random.Generator, kits: _Kits, n_prof: int,
                   config: SimulationSettings) -> _Profiles:
    """Kit and typed loci, then sex, collection date and region of every profile."""
    kit_idx, typed = _choose_kits_and_untyped(rng, kits, n_prof, config.dropout_fraction)
    sex = np.where(rng.random(n_prof) < 0.5, "M", "F")
    day_span = int((DATE_LAST - DATE_FIRST).astype(int)) + 1
    dates = DATE_FIRST + rng.integers(0, day_span, size=n_prof).astype("timedelta64[D]")
    region = rng.integers(0, len(REGIONS), size=n_prof)
    return _Profiles(kit=kit_idx, typed=typed, sex=sex, collected_on=dates, region=region)


def _identifiers(n_families: int, n_rel: int, n_miss: int) -> _Ids:
    """Zero-padded ids, at least 5 (families) or 6 (samples) digits wide."""
    wf = max(5, len(str(max(n_families - 1, 0))))
    wr = max(6, len(str(max(n_rel - 1, 0))))
    wm = max(6, len(str(max(n_miss - 1, 0))))
    return _Ids(family=[f"F{i:0{wf}d}" for i in range(n_families)],
                sample=[f"R{i:0{wr}d}" for i in range(n_rel)] + [f"M{i:0{wm}d}" for i in range(n_miss)])


def _profile_sexes(registry: _Registry, profiles: _Profiles) -> np.ndarray:
    """<U1 [n_prof]: the sex samples.csv gives each profile: as drawn, except where the
    relation or the pedigree fixes it (fathers M, mothers F, grandfathers M, ..., a lost
    person's own sex where the family's kind fixes it)."""
    n_rel = registry.rel_person.size
    sex = profiles.sex.copy()
    sex[:n_rel][registry.rel_relation == 0] = "M"
    sex[:n_rel][registry.rel_relation == 1] = "F"
    if registry.rel_sex is not None:                  # grandfathers M, grandmothers F, ...
        fixed = registry.rel_sex != ""
        sex[:n_rel][fixed] = registry.rel_sex[fixed]
    if registry.lost_sex is not None:                 # a missing adult with children: its own sex
        fam = registry.miss_family
        lost = np.where(fam >= 0, registry.lost_sex[np.maximum(fam, 0)], "")
        sex[n_rel:][lost != ""] = lost[lost != ""]
    return sex


def _samples_table(table: FrequencyTable, registry: _Registry, profiles: _Profiles, kits: _Kits,
                   ids: _Ids) -> pa.Table:
    """samples.csv (SAMPLES contract): one row per profile; fathers are M, mothers F."""
    n_rel, n_miss = registry.rel_person.size, registry.miss_person.size
    sex = _profile_sexes(registry, profiles)
    samples = pa.table({
        "sample_id": _strings(ids.sample),
        "role": _dict_strings(np.r_[np.zeros(n_rel, int), np.ones(n_miss, int)], ["relative", "missing"]),
        "family_id": _strings([ids.family[f] for f in registry.rel_family] + [None] * n_miss),
        "relation": _strings(list(np.array(RELATION_NAMES)[registry.rel_relation]) + [None] * n_miss),
        **{c: pa.nulls(n_rel + n_miss, pa.string()) for c in PEDIGREE_COLUMNS},   # relation codes only
        "sex": _strings(sex.tolist()),
        "kit": _dict_strings(profiles.kit, kits.names),
        "collected_on": _strings(np.datetime_as_string(profiles.collected_on, unit="D").tolist()),
        "region": _dict_strings(profiles.region, list(REGIONS)),
        "population": _strings([table.population] * (n_rel + n_miss)),
    })
    return check_table(samples, SAMPLES, "simulated samples")


class _ProfilePicker:
    """Hands out each profile at most once, in a random order, preferring profiles that suit."""

    def __init__(self, order: np.ndarray) -> None:
        self._order = order                              # int64 [n_prof]: a permutation
        self._used = np.zeros(order.size, dtype=bool)    # bool [n_prof]

    def take(self, suits: Callable[[int], bool]) -> int:
        """The first unused profile that suits, else the first unused one."""
        unused = (int(q) for q in self._order if not self._used[q])
        q = next((q for q in unused if suits(q)), None)
        if q is None:  # no profile suits: take any unused one
            q = next(int(q) for q in self._order if not self._used[q])
        self._used[q] = True
        return q


def _unknown_locus_row(rng: np.random.Generator, picker: _ProfilePicker, n_loci: int) -> _CorruptRow:
    """A row at UNKNOWN_LOCUS with two alleles of 8-15 repeats."""
    p = picker.take(lambda q: True)
    a1, a2 = np.sort(rng.integers(8, 16, size=2) * 10)
    return _CorruptRow(p, n_loci, int(a1), int(a2), "unknown_locus",
                       f"locus '{UNKNOWN_LOCUS}' is not in the frequency table")


def _off_ladder_row(rng: np.random.Generator, picker: _ProfilePicker, typed: np.ndarray,
                    tenths: list[np.ndarray], loci: list[str]) -> _CorruptRow:
    """A row with allele 'OL' at a locus the profile is not typed at (any locus if typed at all)."""
    p = picker.take(lambda q: not typed[q].all())
    untyped = np.flatnonzero(~typed[p])
    pool = untyped if untyped.size else np.arange(len(loci))
    li = int(pool[rng.integers(0, pool.size)])
    a2 = int(tenths[li][rng.integers(0, tenths[li].size)])
    return _CorruptRow(p, li, -1, a2, "off_ladder",
                       f"allele '{OFF_LADDER}' at {loci[li]} is not a repeat number"
                       + ("" if untyped.size else "; the sample is also typed there"))


def _third_allele_row(rng: np.random.Generator, picker: _ProfilePicker, geno: np.ndarray,
                      person: np.ndarray, typed: np.ndarray, tenths: list[np.ndarray],
                      loci: list[str]) -> _CorruptRow:
    """A second row at a (heterozygous if possible) typed locus that brings a third allele.

    ``geno`` is _People.geno, int16 [n_people, n_loci, 2]; ``person`` int64 [n_prof] the person
    of each profile.
    """
    def heterozygous(q: int) -> np.ndarray:
        g = geno[person[q]]
        return np.flatnonzero(typed[q] & (g[:, 0] != g[:, 1]))

    p = picker.take(lambda q: heterozygous(q).size > 0)
    het = heterozygous(p)
    pool = het if het.size else np.flatnonzero(typed[p])
    li = int(pool[rng.integers(0, pool.size)])
    have = geno[person[p], li]
    new = tenths[li][~np.isin(tenths[li], have)]
    if new.size == 0:
        new = np.array([int(have.max()) + 10, int(have.max()) + 20])
    if have[0] != have[1]:   # keep one allele, add a third
        kept = int(have[rng.integers(0, 2)])
        added = int(new[rng.integers(0, new.size)])
    else:                    # homozygote: two new alleles make three in all
        kept, added = (int(x) for x in rng.choice(new, size=2, replace=new.size < 2))
    return _CorruptRow(p, li, min(kept, added), max(kept, added), "third_allele",
                       f"second row for locus {loci[li]} of this sample: a third allele")


def _draw_corrupt_rows(rng: np.random.Generator, table: FrequencyTable, geno: np.ndarray,
                       person: np.ndarray, typed: np.ndarray, n_corrupt: int) -> list[_CorruptRow]:
    """``n_corrupt`` malformed rows, a third of each kind in random order, one profile each.

    ``geno`` is _People.geno, int16 [n_people, n_loci, 2], ``person`` int64 [n_prof] the person
    of each profile and ``typed`` bool [n_prof, n_loci]. An off-ladder
    row goes to a locus the sample is not typed at and a third allele to a heterozygous locus, so
    each injected row is wrong for exactly one reason whenever the data allow it.
    """
    n_prof = typed.shape[0]
    if n_corrupt > n_prof:
        raise ValueError(f"corrupt_rows = {n_corrupt} exceeds the {n_prof} profiles simulated; "
                         "at most one corrupt row per profile")
    kinds = np.arange(n_corrupt) % 3
    rng.shuffle(kinds)
    if not n_corrupt:
        return []
    picker = _ProfilePicker(rng.permutation(n_prof))
    loci = table.locus_names
    tenths = _table_tenths(table)
    rows = []
    for kind in kinds.tolist():
        if kind == 0:
            rows.append(_unknown_locus_row(rng, picker, len(loci)))
        elif kind == 1:
            rows.append(_off_ladder_row(rng, picker, typed, tenths, loci))
        else:
            rows.append(_third_allele_row(rng, picker, geno, person, typed, tenths, loci))
    return rows


def _genotype_rows(geno: np.ndarray, person: np.ndarray, typed: np.ndarray,
                   corrupt: list[_CorruptRow]) -> _GenotypeRows:
    """Clean rows (profile-major, loci in table order, alleles sorted) with each corrupt row
    placed right after the last row of its profile (in draw order when a profile had several).

    ``geno`` is _People.geno, int16 [n_people, n_loci, 2], ``person`` int64 [n_prof] the person
    of each profile and ``typed`` bool [n_prof, n_loci].
    """
    g_prof, g_loc = np.nonzero(typed)
    pair = geno[person[g_prof], g_loc]                 # int16 [n_base, 2]
    n_base, n_corrupt = g_prof.size, len(corrupt)
    c_cols = [np.array([getattr(c, name) for c in corrupt], dtype=np.int64)
              for name in ("profile", "locus", "allele1", "allele2")]
    c_prof = c_cols[0]
    # rows of one profile are contiguous, so its insertion point is the end of its block
    block_end = np.cumsum(typed.sum(axis=1))
    c_order = np.lexsort((np.arange(n_corrupt), block_end[c_prof]))
    ins = block_end[c_prof][c_order]                   # base-row index each one goes before
    corrupt_rownum = ins + np.arange(n_corrupt) + 2    # editor line in genotypes.csv (header = 1),
                                                       # the row number rejects.csv gives
    base_pos = np.arange(n_base) + np.searchsorted(ins, np.arange(n_base), side="right")
    cols = []
    for base, extra in zip((g_prof, g_loc, pair.min(axis=1), pair.max(axis=1)), c_cols):
        dst = np.empty(n_base + n_corrupt, dtype=np.int64)
        dst[base_pos] = base
        dst[corrupt_rownum - 2] = extra[c_order]
        cols.append(dst)
    return _GenotypeRows(*cols, corrupt_rownum=corrupt_rownum, corrupt_order=c_order)


def _genotypes_table(rows: _GenotypeRows, ids: _Ids, loci: list[str]) -> pa.Table:
    """genotypes.csv (GENOTYPES contract); allele labels through a lookup over tenths (-1: 'OL')."""
    present = np.zeros(int(max(rows.allele1.max(initial=0), rows.allele2.max(initial=0))) + 2,
                       dtype=bool)
    present[rows.allele1 + 1] = True
    present[rows.allele2 + 1] = True
    values = np.flatnonzero(present) - 1
    lut = np.zeros(present.size, dtype=np.int64)
    lut[values + 1] = np.arange(values.size)
    labels = [OFF_LADDER if v < 0 else _label_of_tenths(v) for v in values]
    genotypes = pa.table({
        "sample_id": _dict_strings(rows.profile, ids.sample),
        "locus": _dict_strings(rows.locus, loci + [UNKNOWN_LOCUS]),
        "allele1": _dict_strings(lut[rows.allele1 + 1], labels),
        "allele2": _dict_strings(lut[rows.allele2 + 1], labels),
    })
    return check_table(genotypes, GENOTYPES, "simulated genotypes")


def _truth_table(families: _Families, people: _People, registry: _Registry, ids: _Ids,
                 loci: list[str]) -> pa.Table:
    """truth.csv: per missing person (id order) its family, the parents registered and the
    mutation events ('locus:father' / 'locus:mother', sorted) of a planted lost child."""
    miss_family = registry.miss_family
    is_lost = miss_family >= 0
    fam_m = np.where(is_lost, miss_family, 0)
    father_reg, mother_reg = families.father_reg[fam_m], families.mother_reg[fam_m]
    reg = np.where(father_reg & mother_reg, 0, np.where(father_reg, 1, np.where(mother_reg, 2, 3)))
    t_parents = [None if not lost else ("both", "father", "mother", "none")[r]
                 for lost, r in zip(is_lost.tolist(), reg.tolist())]
    lost_rows = people.child_offset[fam_m]
    mp = people.mut_p[lost_rows] & is_lost[:, None]
    mm = people.mut_m[lost_rows] & is_lost[:, None]
    t_nmut = (mp.sum(axis=1) + mm.sum(axis=1)).astype(np.int64)
    t_mutloci: list[str | None] = [None] * miss_family.size
    for i in np.flatnonzero(t_nmut).tolist():
        events = [f"{loci[li]}:father" for li in np.flatnonzero(mp[i])]
        events += [f"{loci[li]}:mother" for li in np.flatnonzero(mm[i])]
        t_mutloci[i] = ";".join(sorted(events))
    return pa.table({
        "missing_id": _strings(ids.sample[registry.rel_person.size:]),
        "family_id": _strings([ids.family[f] if f >= 0 else None for f in miss_family.tolist()]),
        "kind": _strings(np.where(is_lost, "lost_child", "unrelated").tolist()),
        "parents_registered": _strings(t_parents),
        "n_mutations": pa.array(t_nmut, type=pa.int64()),
        "mutated_loci": _strings(t_mutloci),
    })


def _truth_corrupt_table(rows: _GenotypeRows, corrupt: list[_CorruptRow], ids: _Ids) -> pa.Table:
    """truth_corrupt.csv: each corrupt row's 1-based row number, sample, kind and reason."""
    listed = [corrupt[int(j)] for j in rows.corrupt_order]
    return pa.table({
        "row": pa.array(rows.corrupt_rownum, type=pa.int64()),
        "sample_id": _strings([ids.sample[c.profile] for c in listed]),
        "kind": _strings([c.kind for c in listed]),
        "reason": _strings([c.reason for c in listed]),
    })


def _write_outputs(out_dir: Path, samples: pa.Table, genotypes: pa.Table, truth: pa.Table,
                   truth_corrupt: pa.Table | None, y_lineages: pa.Table | None = None) -> dict[str, str]:
    """Write the tables atomically; a stale truth_corrupt.csv (y_lineages.csv) is removed when
    there is none."""
    paths = {
        "samples": str(write_table(samples, out_dir / "samples.csv")),
        "genotypes": str(write_table(genotypes, out_dir / "genotypes.csv")),
        "truth": str(write_table(truth, out_dir / "truth.csv")),
    }
    for key, extra in (("truth_corrupt", truth_corrupt), ("y_lineages", y_lineages)):
        path = out_dir / f"{key}.csv"
        if extra is not None:
            paths[key] = str(write_table(extra, path))
        elif path.exists():
            path.unlink()
    return paths


# --------------------------------------------------------------------------- main entry

def simulate_database(out_dir: Path, table: FrequencyTable, config: SimulationSettings
                      ) -> SimulationSummary:
    """Simulate a national database into ``out_dir``; see the module docstring.

    Writes ``samples.csv``, ``genotypes.csv``, ``truth.csv`` and, when
    ``config.corrupt_rows`` > 0, ``truth_corrupt.csv`` (a stale one from an
    earlier run without corrupt rows is removed); with ``config.y_haplotypes`` the men's Y
    rows after the autosomal ones in genotypes.csv and ``y_lineages.csv`` (likewise).
    Deterministic for a seed: the steps below draw from one generator in this order (the
    kinds and the Y from streams of their own).
    """
    out_dir = ensure_dir(Path(out_dir))
    rng = np.random.default_rng(config.seed)
    loci = table.locus_names
    kits = _resolve_kits(table, config)
    kinds_rng = np.random.default_rng([config.seed, KINDS_STREAM])
    families = _assign_kinds(kinds_rng, _draw_families(rng, config), config)
    people = _draw_people(rng, table, families, config)
    extended = _draw_extended(kinds_rng, table, families, people, config)
    if extended.geno.shape[0]:
        people = _People(np.concatenate([people.geno, extended.geno]), people.n_founders,
                         people.child_offset, people.mut_p, people.mut_m)
    registry = _draw_registry(rng, families, people, config.n_unrelated_missing, extended)
    person = registry.person
    profiles = _draw_profiles(rng, kits, person.size, config)
    ids = _identifiers(config.n_families, registry.rel_person.size, registry.miss_person.size)
    samples = _samples_table(table, registry, profiles, kits, ids)
    corrupt = _draw_corrupt_rows(rng, table, people.geno, person, profiles.typed,
                                 config.corrupt_rows)
    rows = _genotype_rows(people.geno, person, profiles.typed, corrupt)
    genotypes, y_lineages, n_y_rows, n_y_mut = _genotypes_table(rows, ids, loci), None, 0, 0
    if config.y_haplotypes:
        y = _draw_y(np.random.default_rng([config.seed, Y_STREAM]),
                    _y_kit(list(config.y_kit or YFILER), "simulation.y_kit"),
                    families, people, extended, config)
        y_rows, y_lineages = _y_profile_tables(y, person, _profile_sexes(registry, profiles), ids)
        genotypes = pa.concat_tables([genotypes, y_rows.cast(genotypes.schema)])
        n_y_rows, n_y_mut = y_rows.num_rows, y.n_mutations
    paths = _write_outputs(out_dir, samples, genotypes,
                           _truth_table(families, people, registry, ids, loci),
                           _truth_corrupt_table(rows, corrupt, ids) if corrupt else None, y_lineages)

    summary = SimulationSummary(
        n_families=config.n_families,
        n_relatives=int(registry.rel_person.size),
        n_missing=int(registry.miss_person.size),
        n_planted=int(families.planted.sum()),
        n_planted_trio=int((families.planted & families.father_reg & families.mother_reg).sum()),
        planted_by_kind={name: int((families.planted & (families.kind == k)).sum())
                         for k, name in enumerate(FAMILY_KINDS)},
        n_mutations=int(people.mut_p.sum() + people.mut_m.sum()),
        n_genotype_rows=int(rows.profile.size) + n_y_rows,
        n_corrupt_rows=len(corrupt),
        paths=paths,
        n_y_rows=n_y_rows,
        n_y_mutations=n_y_mut,
    )
    log.info("simulated %d families, %d relatives, %d missing (%d planted, %d trio), %d genotype "
             "rows (%d corrupt, %d Y) into %s", summary.n_families, summary.n_relatives, summary.n_missing,
             summary.n_planted, summary.n_planted_trio, summary.n_genotype_rows,
             summary.n_corrupt_rows, summary.n_y_rows, out_dir)
    return summary


__all__ = ["SimulationSettings", "SimulationSummary", "simulate_database", "CODIS_CORE20",
           "IDENTIFILER15", "FAMILY_KINDS"]


# --------------------------------------------------------------------------- paternal lineages (issue 20)
#: the Yfiler Plus loci with a typical (modal) repeat number, the centre the simulated
#: lineage founders are drawn around (a multi-copy locus: one centre per copy)
YFILER_PLUS_MODAL: dict[str, tuple[int, ...]] = {
    "DYS576": (18,), "DYS389I": (13,), "DYS635": (23,), "DYS389II": (29,), "DYS627": (21,),
    "DYS460": (11,), "DYS458": (17,), "DYS19": (15,), "Y-GATA-H4": (12,), "DYS448": (19,),
    "DYS391": (10,), "DYS456": (15,), "DYS390": (23,), "DYS438": (10,), "DYS392": (13,),
    "DYS518": (38,), "DYS570": (18,), "DYS437": (14,), "DYS385a/b": (13, 18), "DYS449": (30,),
    "DYS393": (13,), "DYS439": (12,), "DYS481": (22,), "DYF387S1a/b": (36, 38), "DYS533": (11,),
}
#: dispersion of the founders around the centre: per copy a discrete Laplace step with
#: parameter p (Andersen et al. 2013's model of a Y-STR population; p = 0.4 puts two
#: unrelated founders about 1.7 steps apart per locus)
FOUNDER_DISPERSION = 0.4
#: the Yfiler loci (16 loci, 17 markers with DYS385a/b): the family simulator's default Y kit
YFILER = ("DYS456", "DYS389I", "DYS390", "DYS389II", "DYS458", "DYS19", "DYS385a/b", "DYS393",
          "DYS391", "DYS439", "DYS635", "DYS392", "Y-GATA-H4", "DYS437", "DYS438", "DYS448")


@dataclass(frozen=True)
class _YKit:
    """A Y kit as the simulator draws it: every locus, and one column per copy of each."""

    loci: list[str]           # [n_loci]: canonical names, in kit order
    copies: list[int]         # [n_loci]: copies of each locus (columns of it, in order)
    centre: np.ndarray        # int64 [K]: the modal repeat number of each column (YFILER_PLUS_MODAL)
    mu: np.ndarray            # float64 [K]: per-copy father-son mutation rate of each column


def _y_kit(kit: Sequence[str], setting: str) -> _YKit:
    """The simulator's kit of ``kit`` (canonical Y locus names), with the shipped rates
    (:func:`reunion.genetics.ystr.load_ystr_rates`; per copy
    :func:`~reunion.genetics.ystr.per_copy_rate` for a multi-copy locus). SettingsError naming
    ``setting`` for a locus the simulator does not know."""
    from reunion.genetics.ystr import load_ystr_rates, per_copy_rate, y_locus

    rates = load_ystr_rates()
    copies, centre, mu = [], [], []
    for locus in kit:
        info = y_locus(locus)[0]
        if info is None or info.name != locus or locus not in rates or locus not in YFILER_PLUS_MODAL:
            raise SettingsError(f"{setting}: '{locus}' is not a Y locus the simulator "
                                f"knows (canonical names with a shipped rate: {', '.join(YFILER_PLUS_MODAL)})")
        copies.append(len(YFILER_PLUS_MODAL[locus]))
        for c in YFILER_PLUS_MODAL[locus]:
            centre.append(c)
            mu.append(per_copy_rate(rates[locus], info.copies))
    return _YKit(list(kit), copies, np.array(centre), np.array(mu))


def _y_founders(rng: np.random.Generator, kit: _YKit, n: int) -> np.ndarray:
    """n unrelated founder haplotypes int64 [n, K]: per column the modal value plus a discrete
    Laplace step (:data:`FOUNDER_DISPERSION`), at least 1."""
    return np.maximum(1, kit.centre + _discrete_laplace(rng, FOUNDER_DISPERSION, (n, kit.centre.size)))


def _y_descend(rng: np.random.Generator, kit: _YKit, h: np.ndarray) -> tuple[np.ndarray, int]:
    """One father-son meiosis of haplotypes int64 [n, K]: every column steps +-1 (direction at
    random; up where down would go below 1) with its rate. Returns (the sons' haplotypes int64
    [n, K], the number of mutation events)."""
    hit = rng.random(h.shape) < kit.mu
    step = np.where(rng.random(h.shape) < 0.5, -1, 1)
    out = h + np.where(hit, step, 0)
    return np.where(out < 1, h + 1, out), int(hit.sum())


def _y_rows_table(ids: np.ndarray, h: np.ndarray, kit: _YKit, typed: np.ndarray) -> pa.Table:
    """Y rows in the genotypes contract's layout, sample by sample (ids sorted stably): one
    allele per single-copy locus; a multi-copy locus as its distinct values (allele1 the
    smaller, allele2 the larger or empty where the copies agree). ``ids`` <U [n], ``h`` int64
    [n, K], ``typed`` bool [n, n_loci] (the loci each man is typed at)."""
    sid, loc, a1, a2 = [], [], [], []
    k = 0
    for j, (locus, c) in enumerate(zip(kit.loci, kit.copies)):
        vals = np.sort(h[:, k:k + c], axis=1)
        k += c
        keep = np.flatnonzero(typed[:, j])
        first = vals[keep, 0].astype(str)
        second = np.where(vals[keep, -1] != vals[keep, 0], vals[keep, -1].astype(str), "")
        sid.append(ids[keep])
        loc.append(np.full(keep.size, locus))
        a1.append(first)
        a2.append(second)
    by = np.argsort(np.concatenate(sid), kind="stable")
    return check_table(pa.table({
        "sample_id": np.concatenate(sid)[by], "locus": np.concatenate(loc)[by],
        "allele1": np.concatenate(a1)[by], "allele2": np.concatenate(a2)[by]}),
        GENOTYPES, "simulated Y genotypes")


@dataclass(frozen=True)
class _YPeople:
    """Y haplotypes of everyone simulated (person order of :class:`_People`; a woman's row is
    unused: 0 and lineage -1)."""

    kit: _YKit
    hap: np.ndarray           # int64 [n_people, K]: repeat numbers, one column per copy
    lineage: np.ndarray       # int64 [n_people]: village lineage of each man's line, -1 for a woman
    n_mutations: int          # mutation events over all the meioses drawn (lines included)


def _draw_y(rng: np.random.Generator, kit: _YKit, families: _Families, people: _People,
            extended: _Extended, config: SimulationSettings) -> _YPeople:
    """Every man's Y haplotype (``rng``: the Y's own stream; see the module docstring).

    Sources: a family's father is the son of its paternal grandfather (the person drawn for
    the grandparents or paternal-line kinds, else a virtual man at the top of the family's
    paternal line); children are sons of their father, the extended people of theirs
    (:attr:`_Extended.y_father`); unrelated missing persons, maternal grandfathers and a
    female lost person's other parent head lines of their own; mothers and other women have
    none. Lines: ``y_lines_per_lineage`` to each of ceil(n_lines / that) lineages (a random
    balanced assignment), founders :func:`_y_founders`, each line's top man ``y_generations``
    meioses below his lineage's founder; then every son one meiosis (:func:`_y_descend`) below
    his father, generation by generation.
    """
    nf = families.n_sibs.size
    n_people = people.geno.shape[0]
    n_main = n_people - (extended.y_father.size if extended.y_father is not None else 0)
    children = np.repeat(np.arange(nf), 1 + families.n_sibs)
    pgf = extended.paternal_gf if extended.paternal_gf is not None else np.full(nf, -1, np.int64)
    virtual = n_people + np.arange(nf)                 # the top of each family's paternal line
    src = np.concatenate([
        np.where(pgf >= 0, pgf, virtual),              # fathers: sons of the paternal grandfather
        np.full(nf, Y_NONE),                           # mothers
        np.full(n_main - 2 * nf - children.size, Y_OWN_LINE),   # unrelated missing persons
        children,                                      # children: sons of their family's father
        extended.y_father if extended.y_father is not None else np.zeros(0, np.int64),
        np.where(pgf >= 0, Y_NONE, Y_OWN_LINE),        # the virtual tops, where no man was drawn
    ]).astype(np.int64)
    K = kit.centre.size
    hap = np.zeros((src.size, K), dtype=np.int64)
    lineage = np.full(src.size, -1, dtype=np.int64)
    done = src == Y_NONE
    tops = np.flatnonzero(src == Y_OWN_LINE)
    n_lineages = -(-tops.size // config.y_lines_per_lineage)
    founders = _y_founders(rng, kit, n_lineages)
    lineage[tops] = rng.permutation(tops.size) % n_lineages
    h, n_mut = founders[lineage[tops]], 0
    for _ in range(config.y_generations):
        h, n = _y_descend(rng, kit, h)
        n_mut += n
    hap[tops] = h
    done[tops] = True
    while not done.all():                              # one generation of sons at a time
        sons = np.flatnonzero(~done & (src >= 0))
        sons = sons[done[src[sons]]]
        if not sons.size:
            raise AssertionError("a cycle in the simulated paternal lines")
        hap[sons], n = _y_descend(rng, kit, hap[src[sons]])
        lineage[sons] = lineage[src[sons]]
        done[sons] = True
        n_mut += n
    return _YPeople(kit, hap[:n_people], lineage[:n_people], n_mut)


def _y_profile_tables(y: _YPeople, person: np.ndarray, sex: np.ndarray, ids: _Ids
                      ) -> tuple[pa.Table, pa.Table]:
    """(Y rows of the male profiles at every locus of the kit, :func:`_y_rows_table`;
    y_lineages.csv: sample_id and lineage L000000... of each). ``person`` int64 [n_prof] is the
    person of each profile, ``sex`` <U1 [n_prof] its sex in samples.csv."""
    men = np.flatnonzero(sex == "M")
    sid = np.array(ids.sample, dtype=object)[men].astype(str)
    rows = _y_rows_table(sid, y.hap[person[men]], y.kit, np.ones((men.size, len(y.kit.loci)), bool))
    lin = y.lineage[person[men]]
    if (lin < 0).any():
        raise AssertionError("a male profile without a paternal line")
    width = max(6, len(str(max(int(y.lineage.max(initial=0)), 0))))
    return rows, pa.table({"sample_id": _strings(sid.tolist()),
                           "lineage": _strings([f"L{v:0{width}d}" for v in lin.tolist()])})


@dataclass(frozen=True)
class LineageSimulationSummary:
    """What :func:`simulate_lineages` wrote: the numbers and the paths."""

    n_lineages: int
    n_living: int
    n_database_men: int
    n_planted: int
    n_unrelated: int
    n_mutations: int
    paths: dict[str, str]


def _discrete_laplace(rng: np.random.Generator, p: float, shape: tuple[int, ...]) -> np.ndarray:
    """int64 draws of the discrete Laplace law P(d) = (1-p)/(1+p) p^|d|: the difference of
    two geometric(1-p) variables on 0, 1, 2, ..."""
    return rng.geometric(1.0 - p, shape) - rng.geometric(1.0 - p, shape)


def simulate_lineages(out_dir: Path, config: LineageSimulationSettings) -> LineageSimulationSummary:
    """Paternal lineages with Y haplotypes mutating down the generations, a Y village survey
    and male missing persons, with ground truth, into ``out_dir``.

    - ``n_lineages`` founders in clans of ``lineages_per_clan``: each clan ancestor's haplotype
      drawn around :data:`YFILER_PLUS_MODAL` (per copy a discrete Laplace step,
      :data:`FOUNDER_DISPERSION`), each founder ``clan_generations`` generations below his
      clan's ancestor (mutating as below), so the lineages of a clan are near in Y and share
      the clan's surname (clans share ``n_surnames`` surnames at random);
    - ``generations`` generations of sons (Poisson(``sons_mean``) per man; a lineage may die
      out); each son takes his father's haplotype, every copy of every locus stepping +-1
      (direction at random, never below 1) with the locus' shipped father-son rate
      (:func:`reunion.genetics.ystr.load_ystr_rates`; per copy
      :func:`~reunion.genetics.ystr.per_copy_rate` for a multi-copy locus);
    - the last two generations are alive; each living man is in the survey (the Y database)
      with probability ``coverage``; lineages are grouped ``lineages_per_region`` to a region
      (village) at random;
    - ``n_missing`` planted male missing persons: living men not surveyed, of lineages with at
      least one surveyed man; ``n_unrelated_missing`` more from lineages of their own (absent
      from the survey); a ``partial_fraction`` of all men lose 1-3 loci.

    Files (atomic writes): ``samples.csv`` and ``genotypes.csv`` (the missing persons, in the
    samples and genotypes contracts' layout), ``y_samples.csv`` (sample_id, lineage, surname,
    region) and ``y_genotypes.csv`` (the survey), ``truth.csv`` (per missing person: kind
    planted or unrelated, lineage, surname, region, the lineage's surveyed men). Deterministic
    for a seed.
    """
    out_dir = ensure_dir(Path(out_dir))
    rng = np.random.default_rng(config.seed)
    ykit = _y_kit(list(config.kit or YFILER_PLUS_MODAL), "lineage_simulation.kit")
    kit = ykit.loci

    def founders(n: int) -> np.ndarray:
        return _y_founders(rng, ykit, n)

    n_mut = 0

    def descend(h: np.ndarray) -> np.ndarray:
        nonlocal n_mut
        h, n = _y_descend(rng, ykit, h)
        n_mut += n
        return h

    L = config.n_lineages
    clan = np.arange(L) // config.lineages_per_clan
    hap, lin = founders(int(clan.max()) + 1)[clan], np.arange(L)
    for _ in range(config.clan_generations):          # clan ancestor -> lineage founders
        hap = descend(hap)
    living_h, living_l = [], []
    for g in range(1, config.generations + 1):
        sons = rng.poisson(config.sons_mean, hap.shape[0])
        hap, lin = descend(np.repeat(hap, sons, axis=0)), np.repeat(lin, sons)
        if g >= config.generations - 1:
            living_h.append(hap)
            living_l.append(lin)
    hap, lin = np.concatenate(living_h), np.concatenate(living_l)
    surveyed = rng.random(lin.size) < config.coverage
    in_survey = np.bincount(lin[surveyed], minlength=L)
    pool = np.flatnonzero(~surveyed & (in_survey[lin] > 0))
    n_planted = min(config.n_missing, pool.size)
    planted = rng.choice(pool, n_planted, replace=False)
    n_unrel = config.n_unrelated_missing
    unrel = founders(n_unrel)
    for _ in range(config.generations):
        unrel = descend(unrel)

    order = rng.permutation(L)                       # lineages to regions, at random
    region_of = np.empty(L, dtype=np.int64)
    region_of[order] = np.arange(L) // config.lineages_per_region
    surname_of = rng.integers(0, config.n_surnames, int(clan.max()) + 1)[clan]
    lineage_name = np.array([f"L{i:06d}" for i in range(L)])
    surname_name = np.array([f"S{i:04d}" for i in range(config.n_surnames)])
    region_name = np.array([f"R{i:05d}" for i in range(int(region_of.max()) + 1)])

    db = np.flatnonzero(surveyed)
    db_ids = np.array([f"Y{i:08d}" for i in range(db.size)])
    n_miss = n_planted + n_unrel
    miss_ids = np.array([f"M{i:06d}" for i in range(n_miss)])
    miss_order = rng.permutation(n_miss)             # planted and unrelated interleaved
    miss_h = np.concatenate([hap[planted], unrel])[miss_order]
    miss_lin = np.concatenate([lin[planted], np.full(n_unrel, -1)])[miss_order]

    def rows(ids: np.ndarray, h: np.ndarray) -> pa.Table:
        typed = np.ones((len(ids), len(kit)), dtype=bool)
        partial = np.flatnonzero(rng.random(len(ids)) < config.partial_fraction)
        for i in partial:
            drop = min(int(rng.integers(1, 4)), len(kit) - 1)     # keep at least one locus
            typed[i, rng.choice(len(kit), drop, replace=False)] = False
        return _y_rows_table(ids, h, ykit, typed)

    nothing = pa.nulls(n_miss, pa.string())
    samples = check_table(pa.table({
        "sample_id": miss_ids, "role": np.full(n_miss, "missing"), "family_id": nothing,
        "relation": nothing, "sex": np.full(n_miss, "M"), "kit": np.full(n_miss, "YfilerPlus"),
        "collected_on": nothing, "region": nothing, "population": nothing,
        **{c: nothing for c in PEDIGREE_COLUMNS}}), SAMPLES, "simulated missing persons")
    y_samples = pa.table({"sample_id": db_ids, "lineage": lineage_name[lin[db]],
                          "surname": surname_name[surname_of[lin[db]]],
                          "region": region_name[region_of[lin[db]]]})
    known = miss_lin >= 0
    li = np.where(known, miss_lin, 0)
    truth = pa.table({
        "sample_id": miss_ids,
        "kind": np.where(known, "planted", "unrelated"),
        "lineage": pa.array(np.where(known, lineage_name[li], None), pa.string()),
        "surname": pa.array(np.where(known, surname_name[surname_of[li]], None), pa.string()),
        "region": pa.array(np.where(known, region_name[region_of[li]], None), pa.string()),
        "lineage_men_in_database": pa.array(np.where(known, in_survey[li], 0), pa.int32()),
    })
    paths = {
        "samples": str(write_table(samples, out_dir / "samples.csv")),
        "genotypes": str(write_table(rows(miss_ids, miss_h), out_dir / "genotypes.csv")),
        "y_samples": str(write_table(y_samples, out_dir / "y_samples.csv")),
        "y_genotypes": str(write_table(rows(db_ids, hap[db]), out_dir / "y_genotypes.csv")),
        "truth": str(write_table(truth, out_dir / "truth.csv")),
    }
    summary = LineageSimulationSummary(L, int(lin.size), int(db.size), n_planted, n_unrel, n_mut, paths)
    log.info("simulated %d lineages, %d living men, %d in the Y survey, %d planted and %d unrelated "
             "male missing persons into %s", L, lin.size, db.size, n_planted, n_unrel, out_dir)
    return summary


__all__ += ["LineageSimulationSummary", "YFILER", "YFILER_PLUS_MODAL", "simulate_lineages"]
