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

Every profile is typed with a kit (a locus set) drawn at random; a fraction
of the profiles are partial and lose 1-4 further loci. All outputs go through
:mod:`reunion.io.atomic`; the same seed gives byte-identical files. Nothing
logged here contains a genotype.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from reunion.contracts import GENOTYPES, SAMPLES, check_table
from reunion.frequencies import FrequencyTable
from reunion.io.atomic import ensure_dir, write_table
from reunion.loci import LocusNormaliser

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


class SimulationConfig(BaseModel):
    """Shape of a simulated national database."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    n_families: int = Field(200, ge=1, le=10_000_000,
                            description="Registered families (each searching for one lost child).")
    lost_child_fraction: float = Field(0.5, ge=0.0, le=1.0, description="Fraction of families whose "
                                       "lost child appears on the missing side (exact count, rounded).")
    n_unrelated_missing: int = Field(100, ge=0, le=10_000_000,
                                     description="Missing persons related to no registered family.")
    one_parent_fraction: float = Field(0.2, ge=0.0, le=1.0, description="Fraction of families with "
                                       "only one parent registered (father or mother at random); the "
                                       "other parent still exists genetically.")
    sibling_fraction: float = Field(0.3, ge=0.0, le=1.0, description="Fraction of families that also "
                                    "register 1-2 full siblings of the lost child.")
    mutation_rate_male: float = Field(0.003, ge=0.0, le=0.5, description="Paternal mutation rate per "
                                      "locus per transmission (stepwise +-1 repeat, +-2 for 5 %).")
    mutation_rate_female: float = Field(0.001, ge=0.0, le=0.5, description="Maternal mutation rate "
                                        "per locus per transmission.")
    dropout_fraction: float = Field(0.05, ge=0.0, le=1.0, description="Fraction of profiles that are "
                                    "partial: each loses 1-4 random loci of its kit (at least one "
                                    "locus is kept).")
    kits: dict[str, list[str]] | None = Field(None, description="Kit name -> loci typed by the kit. "
                                              "None: 'full' (every table locus), 'core20' (CODIS core "
                                              "loci in the table), 'id15' (Identifiler loci in the table).")
    kit_weights: dict[str, float] | None = Field(None, description="Kit name -> relative weight of "
                                                 "the kit. None: full 0.5, core20 0.3, id15 0.2 for the "
                                                 "built-in kits, equal weights for configured kits.")
    corrupt_rows: int = Field(0, ge=0, le=1_000_000, description="Malformed genotype rows to inject "
                              "(unknown locus, off-ladder allele 'OL', third allele), listed in "
                              "truth_corrupt.csv.")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed of the random generator; the same seed "
                      "gives byte-identical files.")

    @field_validator("kits")
    @classmethod
    def _kits_nonempty(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v is not None:
            if not v:
                raise ValueError("kits is empty; give at least one kit or None for the defaults")
            for name, loci in v.items():
                if not name.strip():
                    raise ValueError("a kit name is empty")
                if not loci:
                    raise ValueError(f"kit '{name}' lists no loci")
        return v

    @field_validator("kit_weights")
    @classmethod
    def _weights_positive(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None:
            for name, w in v.items():
                if not (w >= 0.0) or not np.isfinite(w):
                    raise ValueError(f"kit_weights[{name}] = {w} must be a finite number >= 0")
            if not any(w > 0 for w in v.values()):
                raise ValueError("kit_weights: at least one weight must be > 0")
        return v


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


# --------------------------------------------------------------------------- helpers

def _label_of_tenths(t: int) -> str:
    """Allele label of a repeat value held in tenths: 93 -> '9.3', 100 -> '10'."""
    whole, frac = divmod(int(t), 10)
    return str(whole) if frac == 0 else f"{whole}.{frac}"


def _exact_mask(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """Boolean mask with exactly round(fraction * n) True entries at random positions."""
    k = int(round(fraction * n))
    mask = np.zeros(n, dtype=bool)
    if k:
        mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def _resolve_kits(table: FrequencyTable, config: SimulationConfig) -> tuple[list[str], np.ndarray,
                                                                          np.ndarray]:
    """Kit names, locus masks [n_kits, n_loci] and sampling weights."""
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
    wd = config.kit_weights if config.kit_weights is not None else default_w
    unknown = sorted(set(wd) - set(names)) if config.kit_weights is not None else []
    if unknown:
        raise ValueError(f"kit_weights names kits {unknown} that are not defined; kits: {names}")
    weights = np.array([float(wd.get(k, 0.0)) for k in names], dtype=np.float64)
    if weights.sum() <= 0:
        raise ValueError(f"kit_weights give every kit weight 0; kits: {names}")
    return names, masks, weights / weights.sum()


def _draw_founders(rng: np.random.Generator, table: FrequencyTable, n: int) -> np.ndarray:
    """Founder genotypes [n, n_loci, 2] in tenths of a repeat, drawn under HWE."""
    out = np.empty((n, len(table.loci), 2), dtype=np.int16)
    for li, lf in enumerate(table.loci.values()):
        tenths = np.array([int(round(float(a) * 10)) for a in lf.alleles], dtype=np.int16)
        cdf = np.cumsum(lf.frequencies / lf.frequencies.sum())
        cdf[-1] = 1.0
        u = rng.random((n, 2))
        out[:, li, :] = tenths[np.minimum(np.searchsorted(cdf, u, side="right"), len(tenths) - 1)]
    return out


def _transmit(rng: np.random.Generator, parent_g: np.ndarray, rate: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """One transmitted allele per child and locus, with stepwise mutation.

    ``parent_g`` is [n_children, n_loci, 2] (the transmitting parent's genotype).
    Returns (alleles [n_children, n_loci], mutated mask).
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


def _dict_strings(indices: np.ndarray, dictionary: list[str] | np.ndarray) -> pa.Array:
    """Plain string array built from integer codes into a dictionary (fast for millions of rows)."""
    arr = pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)),
                                         pa.array(list(dictionary), type=pa.string()))
    return arr.dictionary_decode()


def _strings_with_nulls(values: list[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


# --------------------------------------------------------------------------- main entry

def simulate_database(out_dir: Path, table: FrequencyTable, config: SimulationConfig
                      ) -> SimulationSummary:
    """Simulate a national database into ``out_dir``; see the module docstring.

    Writes ``samples.csv``, ``genotypes.csv``, ``truth.csv`` and, when
    ``config.corrupt_rows`` > 0, ``truth_corrupt.csv`` (a stale one from an
    earlier run without corrupt rows is removed). Deterministic for a seed.
    """
    out_dir = ensure_dir(Path(out_dir))
    rng = np.random.default_rng(config.seed)
    loci = table.locus_names
    n_loci = len(loci)
    kit_names, kit_masks, kit_w = _resolve_kits(table, config)

    # ---- family composition
    nf, nu = config.n_families, config.n_unrelated_missing
    one_parent = _exact_mask(rng, nf, config.one_parent_fraction)
    father_only = rng.random(nf) < 0.5
    father_reg = ~one_parent | father_only
    mother_reg = ~one_parent | ~father_only
    n_sibs = np.zeros(nf, dtype=np.int64)
    with_sibs = _exact_mask(rng, nf, config.sibling_fraction)
    n_sibs[with_sibs] = rng.integers(1, 3, size=int(with_sibs.sum()))
    planted = _exact_mask(rng, nf, config.lost_child_fraction)

    # ---- people: fathers, mothers, unrelated founders, then children family by family
    n_founders = 2 * nf + nu
    n_children = 1 + n_sibs
    child_offset = np.concatenate([[0], np.cumsum(n_children)[:-1]])
    child_family = np.repeat(np.arange(nf), n_children)
    n_people = n_founders + int(n_children.sum())
    geno = np.empty((n_people, n_loci, 2), dtype=np.int16)
    geno[:n_founders] = _draw_founders(rng, table, n_founders)
    pat, mut_p = _transmit(rng, geno[child_family], config.mutation_rate_male)
    mat, mut_m = _transmit(rng, geno[nf + child_family], config.mutation_rate_female)
    geno[n_founders:, :, 0] = pat
    geno[n_founders:, :, 1] = mat
    lost_child = n_founders + child_offset  # person index of each family's lost child

    # ---- registered relatives, family by family: father, mother, sibling 1, sibling 2
    slots = np.stack([np.arange(nf), nf + np.arange(nf), lost_child + 1, lost_child + 2], axis=1)
    valid = np.stack([father_reg, mother_reg, n_sibs >= 1, n_sibs >= 2], axis=1)
    rel_person = slots[valid]
    rel_family = np.broadcast_to(np.arange(nf)[:, None], slots.shape)[valid]
    rel_relation = np.broadcast_to(np.arange(4)[None, :], slots.shape)[valid]  # 0 father .. 2,3 sib
    n_rel = rel_person.size

    # ---- missing side: planted lost children and unrelated founders, ids from a permutation
    planted_fam = np.flatnonzero(planted)
    miss_person_raw = np.concatenate([lost_child[planted_fam], 2 * nf + np.arange(nu)])
    miss_family_raw = np.concatenate([planted_fam, np.full(nu, -1)])
    n_miss = miss_person_raw.size
    perm = rng.permutation(n_miss)  # id number of each raw missing person
    order = np.argsort(perm)        # missing persons in id order
    miss_person = miss_person_raw[order]
    miss_family = miss_family_raw[order]

    # ---- profiles: relatives then missing (id order)
    prof_person = np.concatenate([rel_person, miss_person])
    n_prof = prof_person.size
    kit_idx = rng.choice(len(kit_names), size=n_prof, p=kit_w)
    typed = kit_masks[kit_idx].copy()
    drop = _exact_mask(rng, n_prof, config.dropout_fraction)
    drop_rows = np.flatnonzero(drop)
    if drop_rows.size:
        keys = rng.random((drop_rows.size, n_loci))
        keys[~typed[drop_rows]] = np.inf
        ranked = np.argsort(keys, axis=1, kind="stable")
        n_typed = typed[drop_rows].sum(axis=1)
        n_lose = np.minimum(rng.integers(1, 5, size=drop_rows.size), n_typed - 1)
        lose = np.arange(n_loci)[None, :] < n_lose[:, None]
        r_idx = np.repeat(drop_rows, lose.sum(axis=1))
        typed[r_idx, ranked[lose]] = False
    sex_draw = np.where(rng.random(n_prof) < 0.5, "M", "F")
    day_span = int((DATE_LAST - DATE_FIRST).astype(int)) + 1
    dates = DATE_FIRST + rng.integers(0, day_span, size=n_prof).astype("timedelta64[D]")
    region_idx = rng.integers(0, len(REGIONS), size=n_prof)

    # ---- identifiers
    wf = max(5, len(str(max(nf - 1, 0))))
    wr = max(6, len(str(max(n_rel - 1, 0))))
    wm = max(6, len(str(max(n_miss - 1, 0))))
    family_ids = [f"F{i:0{wf}d}" for i in range(nf)]
    sample_ids = [f"R{i:0{wr}d}" for i in range(n_rel)] + [f"M{int(p):0{wm}d}" for p in perm[order]]

    # ---- samples table
    relation_names = np.array(["father", "mother", "full_sibling", "full_sibling"])
    sex = sex_draw.copy()
    sex[:n_rel][rel_relation == 0] = "M"
    sex[:n_rel][rel_relation == 1] = "F"
    fam_col = [family_ids[f] for f in rel_family] + [None] * n_miss
    relation_col = list(relation_names[rel_relation]) + [None] * n_miss
    samples = pa.table({
        "sample_id": pa.array(sample_ids, type=pa.string()),
        "role": _dict_strings(np.r_[np.zeros(n_rel, int), np.ones(n_miss, int)], ["relative", "missing"]),
        "family_id": _strings_with_nulls(fam_col),
        "relation": _strings_with_nulls(relation_col),
        "sex": pa.array(sex.tolist(), type=pa.string()),
        "kit": _dict_strings(kit_idx, kit_names),
        "collected_on": pa.array(np.datetime_as_string(dates, unit="D").tolist(), type=pa.string()),
        "region": _dict_strings(region_idx, list(REGIONS)),
        "population": pa.array([table.population] * n_prof, type=pa.string()),
    })
    samples = check_table(samples, SAMPLES, "simulated samples")

    # ---- genotype rows (profile-major, loci in table order), alleles sorted by repeat value
    g_prof, g_loc = np.nonzero(typed)
    pair = geno[prof_person[g_prof], g_loc]            # [rows, 2]
    a1 = pair.min(axis=1)
    a2 = pair.max(axis=1)
    n_base = g_prof.size

    # ---- corrupt rows: appended right after the chosen sample's own rows
    n_corrupt = config.corrupt_rows
    if n_corrupt > n_prof:
        raise ValueError(f"corrupt_rows = {n_corrupt} exceeds the {n_prof} profiles simulated; "
                         "at most one corrupt row per profile")
    c_kind = np.arange(n_corrupt) % 3
    rng.shuffle(c_kind)
    c_prof = np.zeros(n_corrupt, dtype=np.int64)
    c_loc = np.zeros(n_corrupt, dtype=np.int64)       # index into loci + [UNKNOWN_LOCUS]
    c_a1 = np.zeros(n_corrupt, dtype=np.int64)        # tenths, or -1 for 'OL'
    c_a2 = np.zeros(n_corrupt, dtype=np.int64)
    c_reason: list[str] = []
    c_kind_name: list[str] = []
    lf_list = list(table.loci.values())
    table_tenths = [np.array([int(round(float(a) * 10)) for a in lf.alleles]) for lf in lf_list]
    # one sample per corrupt row, each used once; an off-ladder row goes to a locus the sample
    # is not typed at and a third allele to a heterozygous locus, so each injected row is
    # wrong for exactly one reason whenever the data allow it
    candidates = rng.permutation(n_prof) if n_corrupt else np.zeros(0, dtype=np.int64)
    used = np.zeros(n_prof, dtype=bool)

    def pick(ok) -> int:
        for q in candidates:
            if not used[q] and ok(int(q)):
                used[q] = True
                return int(q)
        for q in candidates:  # no sample suits: take any unused one
            if not used[q]:
                used[q] = True
                return int(q)
        raise AssertionError("unreachable: corrupt_rows <= profiles")

    def heterozygous(q: int) -> np.ndarray:
        g = geno[prof_person[q]]
        return np.flatnonzero(typed[q] & (g[:, 0] != g[:, 1]))

    for j in range(n_corrupt):
        kind = int(c_kind[j])
        if kind == 0:
            p = pick(lambda q: True)
            c_loc[j] = n_loci
            c_a1[j], c_a2[j] = np.sort(rng.integers(8, 16, size=2) * 10)
            c_kind_name.append("unknown_locus")
            c_reason.append(f"locus '{UNKNOWN_LOCUS}' is not in the frequency table")
        elif kind == 1:
            p = pick(lambda q: not typed[q].all())
            untyped = np.flatnonzero(~typed[p])
            pool = untyped if untyped.size else np.arange(n_loci)
            li = int(pool[rng.integers(0, pool.size)])
            c_loc[j] = li
            c_a1[j] = -1
            c_a2[j] = int(table_tenths[li][rng.integers(0, table_tenths[li].size)])
            c_kind_name.append("off_ladder")
            c_reason.append(f"allele '{OFF_LADDER}' at {loci[li]} is not a repeat number"
                            + ("" if untyped.size else "; the sample is also typed there"))
        else:
            p = pick(lambda q: heterozygous(q).size > 0)
            het = heterozygous(p)
            pool = het if het.size else np.flatnonzero(typed[p])
            li = int(pool[rng.integers(0, pool.size)])
            have = geno[prof_person[p], li]
            new = table_tenths[li][~np.isin(table_tenths[li], have)]
            if new.size == 0:
                new = np.array([int(have.max()) + 10, int(have.max()) + 20])
            if have[0] != have[1]:   # keep one allele, add a third
                kept = int(have[rng.integers(0, 2)])
                added = int(new[rng.integers(0, new.size)])
            else:                    # homozygote: two new alleles make three in all
                kept, added = (int(x) for x in rng.choice(new, size=2, replace=new.size < 2))
            c_loc[j] = li
            c_a1[j], c_a2[j] = min(kept, added), max(kept, added)
            c_kind_name.append("third_allele")
            c_reason.append(f"second row for locus {loci[li]} of this sample: a third allele")
        c_prof[j] = p

    # merge base and corrupt rows: a corrupt row follows its sample's last row (rows of one
    # sample are contiguous and profile-major, so its insertion point is the block's end)
    block_end = np.cumsum(typed.sum(axis=1))
    c_order = np.lexsort((np.arange(n_corrupt), block_end[c_prof])) if n_corrupt else \
        np.zeros(0, dtype=np.int64)
    ins = block_end[c_prof][c_order]                   # base-row index each one goes before
    corrupt_rownum = ins + np.arange(n_corrupt) + 1    # 1-based data row in genotypes.csv
    corrupt_j = c_order
    n_rows = n_base + n_corrupt
    base_pos = np.arange(n_base) + np.searchsorted(ins, np.arange(n_base), side="right")
    row_prof = np.empty(n_rows, dtype=np.int64)
    row_loc = np.empty(n_rows, dtype=np.int64)
    row_a1 = np.empty(n_rows, dtype=np.int64)
    row_a2 = np.empty(n_rows, dtype=np.int64)
    for dst, base, extra in ((row_prof, g_prof, c_prof), (row_loc, g_loc, c_loc),
                             (row_a1, a1, c_a1), (row_a2, a2, c_a2)):
        dst[base_pos] = base
        dst[corrupt_rownum - 1] = extra[c_order]

    # allele labels through a lookup table over tenths of a repeat (-1 is 'OL')
    present = np.zeros(int(max(row_a1.max(initial=0), row_a2.max(initial=0))) + 2, dtype=bool)
    present[row_a1 + 1] = True
    present[row_a2 + 1] = True
    values = np.flatnonzero(present) - 1
    lut = np.zeros(present.size, dtype=np.int64)
    lut[values + 1] = np.arange(values.size)
    labels = [OFF_LADDER if v < 0 else _label_of_tenths(v) for v in values]
    genotypes = pa.table({
        "sample_id": _dict_strings(row_prof, sample_ids),
        "locus": _dict_strings(row_loc, loci + [UNKNOWN_LOCUS]),
        "allele1": _dict_strings(lut[row_a1 + 1], labels),
        "allele2": _dict_strings(lut[row_a2 + 1], labels),
    })
    genotypes = check_table(genotypes, GENOTYPES, "simulated genotypes")

    # ---- truth (mutation events of each planted lost child, from either parent)
    is_lost = miss_family >= 0
    fam_m = np.where(is_lost, miss_family, 0)
    reg = np.where(father_reg[fam_m] & mother_reg[fam_m], 0, np.where(father_reg[fam_m], 1, 2))
    t_parents = [None if not lost else ("both", "father", "mother")[r]
                 for lost, r in zip(is_lost.tolist(), reg.tolist())]
    t_family = [family_ids[f] if f >= 0 else None for f in miss_family.tolist()]
    t_kind = np.where(is_lost, "lost_child", "unrelated").tolist()
    lost_rows = child_offset[fam_m]
    mp = mut_p[lost_rows] & is_lost[:, None]
    mm = mut_m[lost_rows] & is_lost[:, None]
    t_nmut = (mp.sum(axis=1) + mm.sum(axis=1)).astype(np.int64)
    t_mutloci: list[str | None] = [None] * n_miss
    for i in np.flatnonzero(t_nmut).tolist():
        events = [f"{loci[li]}:father" for li in np.flatnonzero(mp[i])]
        events += [f"{loci[li]}:mother" for li in np.flatnonzero(mm[i])]
        t_mutloci[i] = ";".join(sorted(events))
    truth = pa.table({
        "missing_id": pa.array(sample_ids[n_rel:], type=pa.string()),
        "family_id": _strings_with_nulls(t_family),
        "kind": pa.array(t_kind, type=pa.string()),
        "parents_registered": _strings_with_nulls(t_parents),
        "n_mutations": pa.array(t_nmut, type=pa.int64()),
        "mutated_loci": _strings_with_nulls(t_mutloci),
    })

    paths = {
        "samples": str(write_table(samples, out_dir / "samples.csv")),
        "genotypes": str(write_table(genotypes, out_dir / "genotypes.csv")),
        "truth": str(write_table(truth, out_dir / "truth.csv")),
    }
    corrupt_path = out_dir / "truth_corrupt.csv"
    if n_corrupt:
        truth_corrupt = pa.table({
            "row": pa.array(corrupt_rownum, type=pa.int64()),
            "sample_id": pa.array([sample_ids[int(p)] for p in row_prof[corrupt_rownum - 1]],
                                  type=pa.string()),
            "kind": pa.array([c_kind_name[int(j)] for j in corrupt_j], type=pa.string()),
            "reason": pa.array([c_reason[int(j)] for j in corrupt_j], type=pa.string()),
        })
        paths["truth_corrupt"] = str(write_table(truth_corrupt, corrupt_path))
    elif corrupt_path.exists():
        corrupt_path.unlink()

    n_planted = int(planted.sum())
    summary = SimulationSummary(
        n_families=nf,
        n_relatives=int(n_rel),
        n_missing=int(n_miss),
        n_planted=n_planted,
        n_planted_trio=int((planted & father_reg & mother_reg).sum()),
        n_mutations=int(mut_p.sum() + mut_m.sum()),
        n_genotype_rows=int(n_base + n_corrupt),
        n_corrupt_rows=int(n_corrupt),
        paths=paths,
    )
    log.info("simulated %d families, %d relatives, %d missing (%d planted, %d trio), %d genotype "
             "rows (%d corrupt) into %s", summary.n_families, summary.n_relatives, summary.n_missing,
             summary.n_planted, summary.n_planted_trio, summary.n_genotype_rows,
             summary.n_corrupt_rows, out_dir)
    return summary


__all__ = ["SimulationConfig", "SimulationSummary", "simulate_database", "CODIS_CORE20",
           "IDENTIFILER15"]
