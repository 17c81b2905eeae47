"""Published worked examples of pedigree likelihoods, registered in the explicit pedigree form.

Each pedigree is written as the samples contract's explicit form would register it (members
with father_id / mother_id, one lost_child) and built by
:func:`reunion.genetics.registration.explicit_pedigree`; the lost child's table is the engine's
(:func:`reunion.genetics.engine.lost_child_table`), no mutation. The engine gives
LR(g) = P(lost = g | D) / P_HW(g), so P(lost = g | D) = LR(g) * P_HW(g).

Sources
-------
[V&E 2024] M. D. Vigeland and T. Egeland, "Kinship and pedigree analysis: Methods and
  applications", ISFG-GHEP Online School 2024, exercise set III and its solutions
  (pedsuite course material: github.com/magnusdv/pedsuite, vignettes/web_only/courses/ghep2024/
  exercises3.pdf and solutions3.pdf; the same pedigree is exercise II-1 of the ISFG 2024 and
  ISFG 2026 workshops).
"""

from __future__ import annotations

import numpy as np
import pytest

from reunion.encoding import genotype_pairs
from reunion.genetics.engine import lost_child_table
from reunion.genetics.family import Member
from reunion.genetics.mutation import LocusModel
from reunion.genetics.registration import explicit_pedigree
from reunion.genetics.roles import Relation as R


def _model(p) -> LocusModel:
    p = np.asarray(p, dtype=np.float64)
    eye = np.eye(len(p))
    return LocusModel(p, eye, eye, p, p)


def _m(sid, rel, sex=None, father=None, mother=None) -> Member:
    return Member(sid, rel, sex, np.zeros(1, np.uint16), father, mother)


def _posterior(ped, typed, p) -> dict[tuple[int, int], float]:
    """P(lost = g | D) for every unordered genotype g: the engine's LR times P_HW(g)."""
    lr = lost_child_table(ped, typed, _model(p))
    lo, hi = genotype_pairs(len(p))
    hw = np.where(lo == hi, p[lo] ** 2, 2 * p[lo] * p[hi])
    return {(int(a), int(b)): float(x) for a, b, x in zip(lo, hi, lr * hw)}


#: alleles of exercise III-1 ([V&E 2024]): 13, 14, 15, 21, 22 as codes 0..4, plus an allele
#: nobody carries (code 5); the exercise gives no frequencies and its answers do not depend on
#: them, so two different frequency sets must give the same answers
A13, A14, A15, A21, A22 = range(5)
FREQS = (np.array([0.2, 0.15, 0.1, 0.25, 0.2, 0.1]), np.array([0.05, 0.3, 0.3, 0.05, 0.1, 0.2]))


def _exercise_iii_1(lost: str):
    """The pedigree of [V&E 2024] exercise III-1: founders 1 (13/13) and 2 (14/14) have
    children 4 and 5; 3 (untyped, male) and 4 have children 7 (13/21) and 8 (13/22); 5 and
    6 (13/15) have child 9. 3, 4, 5, 9 are untyped; ``lost`` is the one searched for."""
    members = [_m("1", R.OTHER, "M"), _m("2", R.OTHER, "F"), _m("3", R.OTHER, "M"),
               _m("4", R.OTHER, "F", "1", "2"), _m("5", R.OTHER, "M", "1", "2"), _m("6", R.OTHER, "F"),
               _m("7", R.OTHER, "M", "3", "4"), _m("8", R.OTHER, "F", "3", "4"),
               _m("9", R.OTHER, None, "5", "6")]
    members = [_m(m.sample_id, R.LOST_CHILD, m.sex, m.father, m.mother) if m.sample_id == lost else m
               for m in members]
    typed = {"1": (A13, A13), "2": (A14, A14), "6": (A13, A15), "7": (A13, A21), "8": (A13, A22)}
    return explicit_pedigree(members), typed


@pytest.mark.parametrize("p", FREQS)
def test_vigeland_egeland_exercise_iii_1e_genotypes_of_individual_9(p):
    # Solution III-1 c), e): 4 and 5 are 13/14 (children of 13/13 and 14/14); 9, the child of
    # 5 (13/14) and 6 (13/15), is 13/13, 13/14, 13/15 or 14/15, "each with probability 1/4":
    # 5 passes 13 or 14 (1/2 each), 6 passes 13 or 15 (1/2 each), independently.
    post = _posterior(*_exercise_iii_1("9"), p)
    want = {(A13, A13): 0.25, (A13, A14): 0.25, (A13, A15): 0.25, (A14, A15): 0.25}
    for g, x in post.items():
        assert x == pytest.approx(want.get(g, 0.0), rel=1e-12, abs=1e-15), g
    assert sum(post.values()) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("p", FREQS)
def test_vigeland_egeland_exercise_iii_1d_genotype_of_individual_3(p):
    # Solution III-1 d): "Individual 3 has genotype 21/22 (because his children must have gotten
    # 13 from their mother)": 4 is 13/14, so 7 (13/21) and 8 (13/22) got 21 and 22 from 3.
    # 3 is an untyped founder with typed children: a lost person found through its children.
    post = _posterior(*_exercise_iii_1("3"), p)
    assert post[(A21, A22)] == pytest.approx(1.0, rel=1e-12)
    assert sum(x for g, x in post.items() if g != (A21, A22)) == pytest.approx(0.0, abs=1e-15)


def test_vigeland_egeland_exercise_iii_2_paternity_lr_25():
    # Solution III-2 c), d): alleged father AF a/b, child CH a/c, mother untyped,
    # p = (a .01, b .30, c .69); kinshipLR gives 25, by hand
    #   LR = (2 pa pb * 1/2 * pc) / (2 pa pb * 2 pa pc) = 1 / (4 pa) = 25.
    # Registered with the child as the lost child of AF (father_id) and an untyped mother.
    ped = explicit_pedigree([_m("AF", R.FATHER, "M"), _m("MO", R.MOTHER, "F"),
                             _m("CH", R.LOST_CHILD, "M", "AF", "MO")])
    p = np.array([0.01, 0.30, 0.69])
    lr = lost_child_table(ped, {"AF": (0, 1)}, _model(p))
    lo, hi = genotype_pairs(3)
    ac = int(np.flatnonzero((lo == 0) & (hi == 2))[0])
    assert lr[ac] == pytest.approx(25.0, rel=1e-12)
    assert lr[ac] == pytest.approx(1 / (4 * 0.01), rel=1e-12)
