"""Population allele-frequency tables.

A table follows the frequencies contract (population, locus, allele,
frequency, n_individuals). The run uses one population. Alleles absent from
the table get the minimum frequency 5/(2N) (NRC II, 1996), N being the number
of individuals behind the table at that locus, or the configured floor when
N is unknown (e.g. norSTR). Nothing is renormalised; every floored allele is
recorded with its source.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reunion.errors import InputError
from reunion.loci import allele_value, canonical_allele


class FrequencyTableError(InputError):
    """The frequency table cannot be used (names file, row and field)."""


@dataclass
class LocusFrequencies:
    """Allele frequencies of one locus: labels sorted by repeat value."""

    locus: str
    alleles: list[str]
    frequencies: np.ndarray  # float64 [n_alleles]
    n_individuals: float | None

    def minimum_frequency(self, floor: float) -> float:
        """5/(2N) when N is known, else ``floor``."""
        if self.n_individuals and self.n_individuals > 0:
            return 5.0 / (2.0 * self.n_individuals)
        return floor


@dataclass
class FrequencyTable:
    """The frequency table of one population."""

    population: str
    source: str
    sha256: str
    loci: dict[str, LocusFrequencies] = field(default_factory=dict)

    @property
    def locus_names(self) -> list[str]:
        return list(self.loci)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_any(path: Path) -> pa.Table:
    if path.suffix.lower() == ".parquet":
        return pq.read_table(path)
    from reunion.io.readers import sniff  # the one home of a text file's encoding and delimiter

    d = sniff(path)
    return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=d.encoding),
                          parse_options=pacsv.ParseOptions(delimiter=d.delimiter),
                          convert_options=pacsv.ConvertOptions(
        column_types={"allele": pa.string(), "locus": pa.string(), "population": pa.string()},
        strings_can_be_null=False, decimal_point="," if d.decimal_comma else "."))


def load_frequency_table(path: Path, population: str | None) -> FrequencyTable:
    """Load one population of a frequency table (CSV or Parquet).

    A table without a ``population`` column is one population (named by
    ``population`` or the file's stem). Raises :class:`FrequencyTableError`
    naming the file, row and field of the first bad row.
    """
    path = Path(path)
    if not path.exists():
        raise FrequencyTableError(f"{path}: frequency table not found. Check 'frequencies.table' "
                                  "in the configuration.")
    t = _read_any(path)
    for col in ("locus", "allele", "frequency"):
        if col not in t.column_names:
            raise FrequencyTableError(f"{path}: missing column '{col}'; expected "
                                      "population,locus,allele,frequency,n_individuals")
    rows = t.to_pylist()
    has_pop = "population" in t.column_names
    if has_pop:
        pops = sorted({str(r["population"]) for r in rows})
        if population is None:
            if len(pops) != 1:
                raise FrequencyTableError(f"{path}: holds populations {pops}; choose one with "
                                          "'frequencies.population' or --population")
            population = pops[0]
        elif population not in pops:
            raise FrequencyTableError(f"{path}: population '{population}' not found; "
                                      f"available: {', '.join(pops)}")
    name = population or path.stem
    per_locus: dict[str, dict[str, float]] = {}
    n_ind: dict[str, float | None] = {}
    for i, r in enumerate(rows, start=1):
        if has_pop and str(r["population"]) != name:
            continue
        locus = str(r["locus"]).strip()
        label = str(r["allele"]).strip().replace(",", ".")   # a decimal comma: '9,3' is 9.3
        try:
            allele = canonical_allele(label)
            allele_value(allele)
        except ValueError:
            raise FrequencyTableError(f"{path}: row {i}, field 'allele': '{label}' is not a "
                                      "repeat number such as 9 or 9.3") from None
        try:
            freq = float(r["frequency"])
        except (TypeError, ValueError):
            raise FrequencyTableError(f"{path}: row {i}, field 'frequency': not a number") from None
        if not (0.0 < freq <= 1.0) or math.isnan(freq):
            raise FrequencyTableError(f"{path}: row {i}, field 'frequency': {freq} is outside (0, 1]")
        d = per_locus.setdefault(locus, {})
        if allele in d:
            raise FrequencyTableError(f"{path}: row {i}: allele {allele} of {locus} listed twice")
        d[allele] = freq
        n = r.get("n_individuals")
        if n is not None and n != "" and not (isinstance(n, float) and math.isnan(n)):
            n_ind[locus] = max(float(n), n_ind.get(locus) or 0.0)
        else:
            n_ind.setdefault(locus, None)
    if not per_locus:
        raise FrequencyTableError(f"{path}: no rows for population '{name}'")
    table = FrequencyTable(population=name, source=str(path), sha256=file_sha256(path))
    for locus, d in per_locus.items():
        alleles = sorted(d, key=allele_value)
        freqs = np.array([d[a] for a in alleles], dtype=np.float64)
        total = freqs.sum()
        if abs(total - 1.0) > 0.02:
            raise FrequencyTableError(f"{path}: frequencies of {locus} sum to {total:.4f}; "
                                      "expected 1 (within 0.02)")
        table.loci[locus] = LocusFrequencies(locus, alleles, freqs, n_ind.get(locus))
    return table
