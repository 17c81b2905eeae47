"""Mutation models for parent-child transmissions (KINSHIP.md, "Mutation").

Conventions follow Familias and the R package pedmut (Egeland, Kling & Mostad,
*Relationship Inference with Familias and R*, 2016, ch. 2; pedmut's
``mutationModel``), so results can be compared with theirs. A matrix ``M``
has rows = allele the parent carries, columns = allele transmitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from reunion.encoding import Encoding
from reunion.settings import MutationSettings

Model = Literal["none", "equal", "proportional", "stepwise"]
#: Sex of a transmitting parent: its sex-specific rate, or 'U' the sex-neutral one.
Sex = Literal["M", "F", "U"]


def _microgroup(value: float) -> int:
    # g(a) = round(10 * (a - round(a))); Python's round is half-to-even like R's.
    return int(round(10 * (value - round(value))))


def mutation_matrix(model: Model, alleles: list[str], p: np.ndarray, rate: float,
                    rate2: float = 0.0, range_: float = 0.1) -> np.ndarray:
    """float64 [n, n] mutation matrix over ``alleles`` (labels, repeat values).

    - ``none``: identity.
    - ``equal``: M(i->j) = rate/(n-1), M(i->i) = 1 - rate.
    - ``proportional`` (stationary): M = (1-a) I + a 1 p^T, a = rate / sum p_i (1-p_i).
    - ``stepwise`` (Familias "stepwise unstationary"): within i's microvariant group,
      M(i->j) proportional to range**|a_i - a_j| and summing to ``rate``; to each
      allele outside the group rate2 / (alleles outside); diagonal the rest.
    """
    n = len(alleles)
    p = np.asarray(p, dtype=np.float64)
    if model == "none" or n == 1 or rate == 0.0 and (model != "stepwise" or rate2 == 0.0):
        return np.eye(n)
    if model == "equal":
        M = np.full((n, n), rate / (n - 1))
        np.fill_diagonal(M, 1.0 - rate)
        return M
    if model == "proportional":
        a = rate / float(np.sum(p * (1.0 - p)))
        if a > 1.0:
            raise ValueError(f"proportional model: rate {rate} too high for these frequencies "
                             f"(a = {a:.3g} > 1)")
        return (1.0 - a) * np.eye(n) + a * np.outer(np.ones(n), p)
    if model == "stepwise":
        values = np.array([float(a) for a in alleles])
        groups = np.array([_microgroup(v) for v in values])
        M = np.zeros((n, n))
        for i in range(n):
            same = (groups == groups[i])
            same[i] = False
            other = groups != groups[i]
            if same.any():
                w = range_ ** np.abs(values[same] - values[i])
                M[i, same] = rate * w / w.sum()
            if other.any():
                M[i, other] = rate2 / other.sum()
            M[i, i] = 1.0 - M[i].sum()
        return M
    raise ValueError(f"unknown mutation model {model!r}; use none, equal, proportional or stepwise")


@dataclass(frozen=True)
class LocusModel:
    """What one locus' formulas need: ``p`` float64 [n] and, for the father and mother of
    a hypothesis, the mutation matrix float64 [n, n] and ``pushed_*`` = p.M float64 [n]
    (the allele an untested parent of that sex transmits)."""

    p: np.ndarray
    M_father: np.ndarray
    M_mother: np.ndarray
    pushed_father: np.ndarray
    pushed_mother: np.ndarray


class MutationModels:
    """Per-locus, per-sex mutation matrices of a run (built lazily, cached)."""

    def __init__(self, settings: MutationSettings, encoding: Encoding):
        self.settings = settings
        self.encoding = encoding
        self.on = settings.model != "none"
        self._cache: dict[tuple[int, str], np.ndarray] = {}
        self._loci: dict[tuple, LocusModel] = {}

    def rate(self, locus: str, sex: Sex) -> float:
        """Per-transmission rate at ``locus``; 'U': the sex-neutral rate (locus_rates, else rate)."""
        s = self.settings
        return s.locus_rates.get(locus, s.rate) if sex == "U" else s.rate_for(locus, sex)

    def matrix(self, locus_i: int, sex: Sex) -> np.ndarray:
        """float64 [n, n] mutation matrix of a parent of ``sex`` at locus ``locus_i``."""
        key = (locus_i, sex)
        if key not in self._cache:
            lc = self.encoding.loci[locus_i]
            s = self.settings
            self._cache[key] = mutation_matrix(s.model, lc.alleles, lc.frequencies,
                                               self.rate(lc.locus, sex), s.rate2, s.range)
        return self._cache[key]

    def pushed(self, locus_i: int, sex: Sex) -> np.ndarray:
        """p.M: the allele an untested parent of ``sex`` transmits, float64 [n]."""
        key = (locus_i, sex + "pm")
        if key not in self._cache:
            self._cache[key] = self.encoding.loci[locus_i].frequencies @ self.matrix(locus_i, sex)
        return self._cache[key]

    def eye(self, locus_i: int) -> np.ndarray:
        """float64 [n, n] identity: transmission without mutation."""
        key = (locus_i, "I")
        if key not in self._cache:
            self._cache[key] = np.eye(self.encoding.loci[locus_i].n_alleles)
        return self._cache[key]

    def locus(self, locus_i: int, sexes: tuple[Sex, Sex] = ("M", "F")) -> LocusModel:
        """The :class:`LocusModel` of a father of sex ``sexes[0]`` and a mother of ``sexes[1]``."""
        key = (locus_i, *sexes)
        if key not in self._loci:
            f, m = sexes
            self._loci[key] = LocusModel(self.encoding.loci[locus_i].frequencies,
                                         self.matrix(locus_i, f), self.matrix(locus_i, m),
                                         self.pushed(locus_i, f), self.pushed(locus_i, m))
        return self._loci[key]

    def identity(self, locus_i: int) -> LocusModel:
        """The :class:`LocusModel` without mutation (M = I, p.M = p)."""
        key = (locus_i, "I")
        if key not in self._loci:
            p, eye = self.encoding.loci[locus_i].frequencies, self.eye(locus_i)
            self._loci[key] = LocusModel(p, eye, eye, p, p)
        return self._loci[key]
