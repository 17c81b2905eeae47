"""Allele and genotype encoding.

Per locus, alleles get small integer codes: the frequency table's alleles in
order of repeat value, then alleles seen in the data but absent from the table
(rare alleles, given the minimum frequency), also in order of repeat value.

An unordered genotype {lo, hi} (codes, lo <= hi) has the genotype index

    g = 1 + hi*(hi+1)/2 + lo,      g = 0 means untyped,

so a locus with n alleles has ``1 + n(n+1)/2`` slots. A profile is a uint16
vector of genotype indices, two bytes per locus.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from reunion.contracts import ALLELES, check_table
from reunion.errors import InputError
from reunion.frequencies import FrequencyTable
from reunion.loci import allele_value

UNTYPED = 0
MAX_ALLELES = 361  # keeps every genotype index below 2**16


def n_genotypes(n_alleles: int) -> int:
    """Slots of one locus: untyped + n(n+1)/2 unordered pairs."""
    return 1 + n_alleles * (n_alleles + 1) // 2


def genotype_index(a: np.ndarray | int, b: np.ndarray | int):
    """Genotype index of allele codes a, b (any order)."""
    if isinstance(a, int) and isinstance(b, int):   # one genotype: no NumPy scalar ops (ingest does millions)
        lo, hi = (a, b) if a <= b else (b, a)
        return 1 + hi * (hi + 1) // 2 + lo
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    return 1 + hi * (hi + 1) // 2 + lo


@lru_cache(maxsize=None)
def genotype_pairs(n_alleles: int) -> tuple[np.ndarray, np.ndarray]:
    """Allele codes (lo, hi) of every slot 1..n(n+1)/2, as int64 arrays of that length.

    Entry ``g - 1`` describes genotype index ``g``. Built once per allele count and
    shared (the tables call this per locus and family): the arrays are read-only.
    """
    hi = np.repeat(np.arange(n_alleles), np.arange(1, n_alleles + 1))
    lo = np.concatenate([np.arange(h + 1) for h in range(n_alleles)]) if n_alleles else np.zeros(0, int)
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    lo.flags.writeable = hi.flags.writeable = False
    return lo, hi


#: int64 [65342]: allele codes (lo, hi) by genotype index, for decoding arrays (index 0, untyped: 0, 0).
PAIR_LO, PAIR_HI = (np.concatenate([[0], a]) for a in genotype_pairs(MAX_ALLELES))
# the same as Python tuples, for decoding one genotype (a re-score decodes ~100 per candidate)
_PAIRS: list[tuple[int, int] | None] = [None, *zip(PAIR_LO[1:].tolist(), PAIR_HI[1:].tolist())]


@dataclass
class LocusCoding:
    locus: str
    alleles: list[str]            # label per code
    frequencies: np.ndarray       # float64 [n]
    floored: np.ndarray           # bool [n]: frequency is the rare-allele minimum

    @property
    def n_alleles(self) -> int:
        return len(self.alleles)

    def code(self, label: str) -> int:
        return self._index[label]

    def __post_init__(self):
        self._index = {a: i for i, a in enumerate(self.alleles)}


class Encoding:
    """The run's loci, allele codes and the frequencies every LR uses."""

    def __init__(self, loci: list[LocusCoding], population: str, table_sha256: str):
        self.loci = loci
        self.population = population
        self.table_sha256 = table_sha256
        self.locus_names = [lc.locus for lc in loci]
        self.index = {name: i for i, name in enumerate(self.locus_names)}
        widths = np.array([n_genotypes(lc.n_alleles) for lc in loci], dtype=np.int64)
        #: int32 [L]: offset of each locus's first slot in a flattened table row.
        self.offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int32)
        #: total slots of a flattened table row.
        self.width = int(widths.sum())
        self._labels: dict[tuple[int, int], str] = {}

    @classmethod
    def build(cls, table: FrequencyTable, observed: dict[str, set[str]], floor: float) -> "Encoding":
        """Codes for the table's alleles plus the rare alleles ``observed`` per locus."""
        loci = []
        for name, lf in table.loci.items():
            extra = sorted(observed.get(name, set()) - set(lf.alleles), key=allele_value)
            alleles = list(lf.alleles) + extra
            if len(alleles) > MAX_ALLELES:
                raise InputError(f"locus {name}: {len(alleles)} alleles exceed the {MAX_ALLELES} "
                                 "that a uint16 genotype index can address")
            fmin = lf.minimum_frequency(floor)
            freqs = np.concatenate([lf.frequencies, np.full(len(extra), fmin)])
            floored = np.concatenate([np.zeros(len(lf.alleles), bool), np.ones(len(extra), bool)])
            loci.append(LocusCoding(name, alleles, freqs, floored))
        return cls(loci, table.population, table.sha256)

    # ------------------------------------------------------------------ persistence
    def to_table(self) -> pa.Table:
        rows = {"locus": [], "code": [], "allele": [], "frequency": [], "source": []}
        for lc in self.loci:
            for i, a in enumerate(lc.alleles):
                rows["locus"].append(lc.locus)
                rows["code"].append(i)
                rows["allele"].append(a)
                rows["frequency"].append(float(lc.frequencies[i]))
                rows["source"].append("floor" if lc.floored[i] else "table")
        return check_table(pa.Table.from_pydict(rows, schema=ALLELES), ALLELES, "alleles")

    @classmethod
    def from_table(cls, t: pa.Table, population: str, table_sha256: str) -> "Encoding":
        t = check_table(t, ALLELES, "alleles")
        loci: dict[str, list] = {}
        for r in t.to_pylist():
            loci.setdefault(r["locus"], []).append(r)
        out = []
        for name, rows in loci.items():
            rows.sort(key=lambda r: r["code"])
            out.append(LocusCoding(name, [r["allele"] for r in rows],
                                   np.array([r["frequency"] for r in rows], dtype=np.float64),
                                   np.array([r["source"] == "floor" for r in rows], dtype=bool)))
        return cls(out, population, table_sha256)

    # ------------------------------------------------------------------ profiles
    def encode_profile(self, genotypes: dict[str, tuple[str, str]]) -> np.ndarray:
        """uint16 [L] genotype indices of one profile {locus: (allele1, allele2)}."""
        out = np.zeros(len(self.loci), dtype=np.uint16)
        for locus, (a1, a2) in genotypes.items():
            i = self.index[locus]
            lc = self.loci[i]
            out[i] = genotype_index(lc.code(a1), lc.code(a2))
        return out

    def decode(self, locus_i: int, g: int) -> tuple[int, int] | None:
        """Allele codes (lo, hi) of genotype index g at locus i, None if untyped."""
        if g == UNTYPED:
            return None
        if not 0 < g < len(_PAIRS):
            raise ValueError(f"genotype index {g} at locus {self.locus_names[locus_i]} is out of range")
        return _PAIRS[g]

    def genotype_label(self, locus_i: int, g: int) -> str:
        """'a/b' allele labels of genotype index g at locus i ('' if untyped); memoised."""
        key = (locus_i, g)
        label = self._labels.get(key)
        if label is None:
            pair = self.decode(locus_i, g)
            a = self.loci[locus_i].alleles
            label = self._labels[key] = "" if pair is None else f"{a[pair[0]]}/{a[pair[1]]}"
        return label
