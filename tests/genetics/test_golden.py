"""Published worked examples (tests/golden/*.csv) through the one pedigree engine and, where
they exist, the closed-form fast paths (duo, trio, pairwise kappa)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from reunion.encoding import genotype_pairs
from reunion.genetics import kinship
from reunion.genetics.engine import Relative, lost_child_table, relatives_pedigree
from reunion.genetics.mutation import LocusModel
from reunion.genetics.roles import Relation

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
with open(GOLDEN / "kinship_lr.csv", newline="") as _fh:
    ROWS = list(csv.DictReader(_fh))
LETTER = {"a": 0, "b": 1, "c": 2, "d": 3}
PAIRWISE_KAPPA = {Relation.FULL_SIBLING: "full-sibling", Relation.HALF_SIBLING_PATERNAL: "half-sibling",
                  Relation.PATERNAL_GRANDFATHER: "grandparent", Relation.MATERNAL_UNCLE_AUNT: "avuncular",
                  Relation.PATERNAL_FIRST_COUSIN: "first-cousin"}


def genotype(text: str) -> tuple[int, int]:
    a, b = sorted(LETTER[x] for x in text.split("/"))
    return a, b


def case(row):
    p = np.array([float(x) for x in row["frequencies"].split(";")])
    typed = {k: genotype(v) for k, v in (kv.split("=") for kv in row["typed"].split(";"))}
    return p, genotype(row["lost_child"]), typed, [Relation(r) for r in row["relations"].split("+")]


def test_the_examples_are_what_the_formulas_give():
    """The expected_lr column is the formula at the given frequencies (p_a 0.1, p_b 0.2)."""
    pa, pb = 0.1, 0.2
    by_formula = {"1/(4 p_a)": 1 / (4 * pa), "1/p_a": 1 / pa, "(p_a+p_b)/(4 p_a p_b)": (pa + pb) / (4 * pa * pb),
                  "1/(2 p_a)": 1 / (2 * pa), "1/(p_a+p_b)": 1 / (pa + pb),
                  "(1+p_a)^2/(4 p_a^2)": (1 + pa) ** 2 / (4 * pa ** 2),
                  "(1+p_a+p_b+2 p_a p_b)/(8 p_a p_b)": (1 + pa + pb + 2 * pa * pb) / (8 * pa * pb),
                  "(1+2 p_a)/(8 p_a)": (1 + 2 * pa) / (8 * pa), "(1+p_a)/(2 p_a)": (1 + pa) / (2 * pa),
                  "(1+4 p_a)/(8 p_a)": (1 + 4 * pa) / (8 * pa), "3/4 + 1/(4 p_a)": 0.75 + 1 / (4 * pa),
                  "1/(8 p_a p_b)": 1 / (8 * pa * pb), "1/(4 p_a p_b)": 1 / (4 * pa * pb),
                  "1/(4 p_a^2)": 1 / (4 * pa ** 2), "kappa0 = 1/4 (no allele shared)": 0.25}
    assert len(ROWS) == 16
    for row in ROWS:
        assert float(row["expected_lr"]) == pytest.approx(by_formula[row["formula"]], rel=1e-15), row["id"]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_engine_and_closed_forms_give_the_published_value(row):
    p, child, typed, relations = case(row)
    n = len(p)
    t = LocusModel(p, np.eye(n), np.eye(n), p.copy(), p.copy())
    lo, hi = genotype_pairs(n)
    slot = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(lo, hi))}[child]
    relatives = [Relative(r.value, r) for r in relations]
    expected = float(row["expected_lr"])
    engine = lost_child_table(relatives_pedigree(relatives), typed, t)[slot]
    assert engine == pytest.approx(expected, rel=1e-12)
    I = np.eye(n)
    if relations == [Relation.FATHER] or relations == [Relation.MOTHER]:
        fast = kinship.duo_lr(child, typed[relations[0].value], p, I, p)
    elif relations == [Relation.FATHER, Relation.MOTHER]:
        fast = kinship.trio_lr(child, typed["father"], typed["mother"], p, I, I)
    else:
        (rel,) = relations
        fast = kinship.pairwise_lr(child, typed[rel.value], p, kinship.KAPPA[PAIRWISE_KAPPA[rel]])
    assert fast == pytest.approx(expected, rel=1e-12)
