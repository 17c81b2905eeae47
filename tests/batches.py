"""CSV helpers for tests that split a simulated database into a standing part and new batches."""

from __future__ import annotations

import csv
from pathlib import Path


def write_frequencies(path: Path, freq: dict[str, tuple[list[str], list[float]]],
                      population: str = "Test", n_individuals: int = 1000) -> Path:
    """A frequency table in the frequencies contract: {locus: (alleles, frequencies)}."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["population", "locus", "allele", "frequency", "n_individuals"])
        for locus, (alleles, p) in freq.items():
            for a, f in zip(alleles, p):
                w.writerow([population, locus, a, f, n_individuals])
    return path


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def split_files(folder: Path, samples: list[dict], genos: list[dict], batch: set[str],
                prefix: tuple[str, str] = ("s", "g")) -> tuple[Path, Path, Path, Path]:
    """(standing samples, standing genotypes, batch samples, batch genotypes) CSV files:
    the samples in ``batch`` and their genotype rows go to the batch, the rest stays."""
    s, g = prefix
    return (write_rows(folder / f"{s}_base.csv", [r for r in samples if r["sample_id"] not in batch]),
            write_rows(folder / f"{g}_base.csv", [x for x in genos if x["sample_id"] not in batch]),
            write_rows(folder / f"{s}_new.csv", [r for r in samples if r["sample_id"] in batch]),
            write_rows(folder / f"{g}_new.csv", [x for x in genos if x["sample_id"] in batch]))


def table_only(samples: list[dict], genos: list[dict], table) -> tuple[list[str], list[str]]:
    """(missing person ids, family ids) whose every allele is in the frequency table."""
    from reunion.flows.benchmark import table_allele_profiles
    return table_allele_profiles(samples, genos, {(locus, a) for locus, lf in table.loci.items()
                                                  for a in lf.alleles})
