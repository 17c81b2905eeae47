"""The pedigree likelihood engine (reunion.genetics.engine) against independent values.

(a) hand-computed joint LRs of small pedigrees, the arithmetic in the comments;
(b) a brute-force sum over the joint unordered genotypes of every untyped person (the full
    joint probability tensor, written here from the textbook genotype-transmission
    formula, not from the engine's allele variables), with and without sex-specific
    mutation, to 1e-12, on pedigrees with half siblings, grandparents, cousins, a missing
    adult's descendants and loops (cousin marriage, double first cousins);
(c) every closed form of kinship / pedigree on its special family, rtol 1e-12;
(d) a side-less code is the prior-weighted mixture over sides, the average of the sided
    tables where the typed data are equally likely under every side;
(e) the one dispatch: FamilyScorer(pedigree=True) builds a grandmother + uncle + aunt
    family's row as the joint pedigree table (brute force on a two-locus, three-allele
    encoding), re-scores it from the same values, counts inconsistent loci without
    mutation, and keeps today's closed forms bit for bit for trio, duo, nuclear and
    one-grandparent families.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reunion.encoding import genotype_pairs
from reunion.genetics import kinship
from reunion.genetics.engine import (
    MAX_COMPONENTS,
    Mixture,
    Pedigree,
    PedigreeError,
    Person,
    Relative,
    lost_child_joint,
    lost_child_table,
    relatives_pedigree,
)
from reunion.genetics.mutation import LocusModel, mutation_matrix
from reunion.genetics.pedigree import InconsistentFamilyError, nuclear_child_table
from reunion.genetics.roles import Relation as R

REL = 1e-12


def close(a, b, rtol=REL):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


def model(p, MF=None, MM=None) -> LocusModel:
    n = len(p)
    MF = np.eye(n) if MF is None else MF
    MM = np.eye(n) if MM is None else MM
    return LocusModel(p, MF, MM, p @ MF, p @ MM)


def gts(n):
    lo, hi = genotype_pairs(n)
    return [(int(a), int(b)) for a, b in zip(lo, hi)]


def idx(n):
    return {g: i for i, g in enumerate(gts(n))}


def table(relatives, typed, t, **kw):
    return lost_child_table(relatives_pedigree(relatives, **kw), typed, t)


P3 = np.array([0.3, 0.5, 0.2])
A, B, C = 0, 1, 2
P6 = np.random.default_rng(3).dirichlet(np.ones(6) * 2)
LABELS6 = ["9", "10", "11", "12", "12.3", "13"]
MF6 = mutation_matrix("stepwise", LABELS6, P6, 0.004, 1e-5, 0.1)
MM6 = mutation_matrix("equal", LABELS6, P6, 0.002)
T6 = model(P6, MF6, MM6)
T6_0 = model(P6)


# ============================================================== (a) hand-computed
def test_grandmother_and_uncle_hand():
    # Paternal grandmother GM = aa, paternal uncle U = ab (her son), father, mother and
    # paternal grandfather GF untyped; no mutation; p = (a .3, b .5, c .2).
    # U's a came from GM (aa), so his b came from GF. The allele the father got from GF is
    # the copy U got (b) w.p. 1/2, else GF's other copy, p-distributed: b w.p. 1/2 + p_b/2,
    # x != b w.p. p_x/2. His allele from GM is a.
    # Lost child's paternal allele (1/2 each father copy):
    #   a: 1/2 + 1/2 * p_a/2 = 0.575;  b: 1/2 (1/2 + p_b/2) = 0.375;  c: p_c/4 = 0.05
    # maternal allele ~ p (untyped mother).
    # LR(aa) = 0.575 p_a / p_a^2 = 0.575/0.3 = 1.916666...
    # LR(ab) = (0.575 p_b + 0.375 p_a) / (2 p_a p_b) = (0.2875 + 0.1125)/0.3 = 1.333333...
    # LR(bb) = 0.375 / p_b = 0.75;  LR(ac) = (0.575*0.2 + 0.05*0.3)/0.12 = 0.13/0.12 = 1.083333...
    # LR(bc) = (0.375*0.2 + 0.05*0.5)/0.2 = 0.5;  LR(cc) = 0.05/0.2 = 0.25
    # (P(child) sums to .1725 + .4 + .1875 + .13 + .1 + .01 = 1.)
    t = table([Relative("gm", R.PATERNAL_GRANDMOTHER), Relative("u", R.PATERNAL_UNCLE_AUNT, "M")],
              {"gm": (A, A), "u": (A, B)}, model(P3))
    i = idx(3)
    for g, v in {(A, A): 0.575 / 0.3, (A, B): 0.4 / 0.3, (B, B): 0.75, (A, C): 0.13 / 0.12,
                 (B, C): 0.5, (C, C): 0.25}.items():
        assert t[i[g]] == pytest.approx(v, rel=REL)
    # NOT the product of the two pairwise LRs: grandparent aa / child aa 1/2 + 1/2 /p_a = 2.1666..,
    # avuncular ab / aa 1/2 + 1/2 /(2 p_a) = 1.3333..; product 2.8888.. != 1.9166..
    gp = kinship.pairwise_child_table((A, A), P3, kinship.KAPPA["grandparent"])
    av = kinship.pairwise_child_table((A, B), P3, kinship.KAPPA["avuncular"])
    assert gp[0] * av[0] == pytest.approx(2.1666666666666665 * 1.3333333333333333)
    assert abs(t[0] - gp[0] * av[0]) > 0.9


def test_both_paternal_grandparents_hand():
    # GF = ab, GM = cc (paternal), no mutation: the father is (a or b, 1/2 each) + c;
    # lost child's paternal allele: c 1/2, a 1/4, b 1/4; maternal ~ p.
    # LR(ac) = (1/4 p_c + 1/2 p_a)/(2 p_a p_c) = (0.05 + 0.15)/0.12 = 1.666666...
    # LR(cc) = 1/2 p_c / p_c^2 = 1/(2*0.2) = 2.5;  LR(aa) = 1/4 / p_a = 0.833333...
    # LR(ab) = (1/4 p_b + 1/4 p_a)/(2 p_a p_b) = 0.2/0.3 = 0.666666...
    t = table([Relative("gf", R.PATERNAL_GRANDFATHER), Relative("gm", R.PATERNAL_GRANDMOTHER)],
              {"gf": (A, B), "gm": (C, C)}, model(P3))
    i = idx(3)
    assert t[i[(A, C)]] == pytest.approx(0.2 / 0.12, rel=REL)
    assert t[i[(C, C)]] == pytest.approx(2.5, rel=REL)
    assert t[i[(A, A)]] == pytest.approx(0.25 / 0.3, rel=REL)
    assert t[i[(A, B)]] == pytest.approx(0.2 / 0.3, rel=REL)


def test_grandfather_with_sex_specific_mutation_hand():
    # Two alleles a, b (p .3, .7); 'equal' model: male rate .1, female .02 (large, to matter):
    # M_male = [[.9, .1], [.1, .9]], M_female = [[.98, .02], [.02, .98]].
    # Paternal grandfather GF = aa typed, everyone else untyped.
    # Father's allele from GF: a w.p. .9, b .1. From the untyped grandmother: p.M_female
    #   q_a = .3*.98 + .7*.02 = .308, q_b = .692.
    # The father transmits (male matrix) a w.p.
    #   1/2 (.9*.9 + .1*.1) + 1/2 (q_a*.9 + q_b*.1) = .41 + .1732 = .5832,  b: .4168.
    # The untyped mother transmits p.M_female: r = (.308, .692).
    # LR(aa) = .5832*.308/.09 = 1.99584;  LR(ab) = (.5832*.692 + .4168*.308)/(2*.3*.7)
    #   = (.4035744 + .1283744)/.42 = 1.26654476...;  LR(bb) = .4168*.692/.49 = .58862367...
    p = np.array([0.3, 0.7])
    Mm = mutation_matrix("equal", ["1", "2"], p, 0.1)
    Mf = mutation_matrix("equal", ["1", "2"], p, 0.02)
    t = table([Relative("gf", R.PATERNAL_GRANDFATHER)], {"gf": (0, 0)}, model(p, Mm, Mf))
    close(t, [0.5832 * 0.308 / 0.09, (0.5832 * 0.692 + 0.4168 * 0.308) / 0.42, 0.4168 * 0.692 / 0.49])
    # without mutation: paternal allele a w.p. 1/2 + p_a/2 = .65: LR(aa) = .65/.3 = 1/2 + 1/2 / p_a
    t0 = table([Relative("gf", R.PATERNAL_GRANDFATHER)], {"gf": (0, 0)}, model(p))
    assert t0[0] == pytest.approx(0.65 / 0.3, rel=REL)


def test_missing_adults_child_and_other_parent_hand():
    # The lost person's child K = ab with the other parent O = bc typed (no mutation):
    # K's a cannot come from O, so it came from the lost person; the lost child carries a
    # and a p-distributed other allele (HW founder parents):
    # P(lost = ax) = p_x (x != a), P(aa) = p_a;  LR(ab) = p_b/(2 p_a p_b) = 1/(2 p_a) = 1.6666..,
    # LR(aa) = p_a/p_a^2 = 1/p_a = 3.3333..;  LR(bb) = 0 (no a);  as the duo PI with K.
    t = table([Relative("k", R.CHILD, "F"), Relative("o", R.CHILD_OTHER_PARENT, "F")],
              {"k": (A, B), "o": (B, C)}, model(P3))
    i = idx(3)
    assert t[i[(A, B)]] == pytest.approx(1 / 0.6, rel=REL)
    assert t[i[(A, A)]] == pytest.approx(1 / 0.3, rel=REL)
    assert t[i[(B, B)]] == 0.0 and t[i[(C, C)]] == 0.0


# ============================================================== (b) brute force
def brute_joint(ped: Pedigree, typed: dict, p, MF, MM) -> np.ndarray:
    """P(c = g, D) for every unordered genotype g of the lost child, float64 [n(n+1)/2], by
    summing the full joint genotype probability over every untyped person's genotype:
    founders P_HW(g); a child P({a, b} | gF, gM) = t_F(a) t_M(b) + t_F(b) t_M(a) (a != b),
    t_F(a) t_M(a) (a = b), t_X(a) = 1/2 M_X[x1, a] + 1/2 M_X[x2, a]."""
    n = len(p)
    G = gts(n)
    persons = list(ped.persons)
    k = len(persons)
    axis = {q.id: j for j, q in enumerate(persons)}
    choices = [[tuple(sorted(typed[q.id]))] if q.id in typed else G for q in persons]
    shape = [len(ch) for ch in choices]
    joint = np.ones(shape)

    def hw(g):
        return p[g[0]] ** 2 if g[0] == g[1] else 2 * p[g[0]] * p[g[1]]

    def tr(g, M, a):
        return 0.5 * (M[g[0], a] + M[g[1], a])

    for q in persons:
        j = axis[q.id]
        if q.father is None:
            f = np.array([hw(g) for g in choices[j]])
            joint = joint * f.reshape([-1 if d == j else 1 for d in range(k)])
            continue
        jf, jm = axis[q.father], axis[q.mother]
        f = np.zeros((shape[jf], shape[jm], shape[j]))
        for (x, gf), (y, gm), (z, g) in itertools.product(enumerate(choices[jf]), enumerate(choices[jm]),
                                                          enumerate(choices[j])):
            a, b = g
            f[x, y, z] = tr(gf, MF, a) * tr(gm, MM, a) if a == b else \
                tr(gf, MF, a) * tr(gm, MM, b) + tr(gf, MF, b) * tr(gm, MM, a)
        order = sorted(range(3), key=lambda d: (jf, jm, j)[d])
        f = np.transpose(f, order)     # axes in pedigree order
        joint = joint * f.reshape([shape[d] if d in (jf, jm, j) else 1 for d in range(k)])
    c = axis[ped.lost]
    return joint.sum(axis=tuple(d for d in range(k) if d != c))


def brute_table(mix: Mixture, typed, p, MF, MM):
    num = sum(w * brute_joint(ped, typed, p, MF, MM) for w, ped in mix.components)
    lo, hi = genotype_pairs(len(p))
    return num / num.sum() / np.where(lo == hi, p[lo] ** 2, 2 * p[lo] * p[hi])


def drop_genes(ped: Pedigree, p, rng):
    """Genotypes of every person by gene dropping without mutation (consistent data)."""
    g = {}
    done = set()
    while len(done) < len(ped.persons):
        for q in ped.persons:
            if q.id in done or (q.father is not None and (q.father not in done or q.mother not in done)):
                continue
            if q.father is None:
                g[q.id] = tuple(rng.choice(len(p), 2, p=p))
            else:
                g[q.id] = (g[q.father][rng.integers(2)], g[q.mother][rng.integers(2)])
            done.add(q.id)
    return g


def cousin_marriage() -> Pedigree:
    # gf x gm -> s1 (M), s2 (F); s1 x w1 -> father; w2 x s2 -> mother; father x mother -> lost, sib
    # typed: gm, s2, the father's sister fs (child of s1, w1), sib
    return Pedigree((Person("gf", sex="M"), Person("gm", sex="F"), Person("s1", "gf", "gm", "M"),
                     Person("s2", "gf", "gm", "F"), Person("w1", sex="F"), Person("w2", sex="M"),
                     Person("fa", "s1", "w1", "M"), Person("fs", "s1", "w1", "F"),
                     Person("mo", "w2", "s2", "F"), Person("lost", "fa", "mo"), Person("sib", "fa", "mo")),
                    "lost")


def double_first_cousins() -> Pedigree:
    # two brothers marry two sisters; the lost child and cousin are double first cousins
    return Pedigree((Person("g1", sex="M"), Person("g2", sex="F"), Person("h1", sex="M"), Person("h2", sex="F"),
                     Person("b1", "g1", "g2", "M"), Person("b2", "g1", "g2", "M"),
                     Person("s1", "h1", "h2", "F"), Person("s2", "h1", "h2", "F"),
                     Person("lost", "b1", "s1"), Person("cousin", "b2", "s2")), "lost")


CASES = [
    # (name, relatives or an explicit pedigree, typed ids)
    ("half sibs both sides + pgf", [Relative("h1", R.HALF_SIBLING_PATERNAL), Relative("h2", R.HALF_SIBLING_MATERNAL),
                                    Relative("gf", R.PATERNAL_GRANDFATHER)], None),
    ("pgf + two uncles + mgm", [Relative("gf", R.PATERNAL_GRANDFATHER), Relative("u1", R.PATERNAL_UNCLE_AUNT, "M"),
                                Relative("u2", R.PATERNAL_UNCLE_AUNT, "F"), Relative("mg", R.MATERNAL_GRANDMOTHER)],
     None),
    ("cousins both sides + uncle", [Relative("c1", R.PATERNAL_FIRST_COUSIN), Relative("c2", R.PATERNAL_FIRST_COUSIN),
                                    Relative("c3", R.MATERNAL_FIRST_COUSIN), Relative("u", R.MATERNAL_UNCLE_AUNT)],
     None),
    ("missing adult's children", [Relative("k1", R.CHILD), Relative("k2", R.CHILD),
                                  Relative("o", R.CHILD_OTHER_PARENT, "M"), Relative("gk", R.GRANDCHILD),
                                  Relative("mo", R.MOTHER)], None),
    ("mother + sib + side-less", [Relative("mo", R.MOTHER), Relative("s", R.FULL_SIBLING),
                                  Relative("g", R.GRANDPARENT, "F"), Relative("a", R.AVUNCULAR)], None),
    ("cousin marriage (loop)", cousin_marriage(), ("gm", "s2", "fs", "sib")),
    ("double first cousins (loop)", double_first_cousins(), ("g2", "b2", "cousin", "s2")),
]


def _mix(spec):
    return Mixture(((1.0, spec),)) if isinstance(spec, Pedigree) else relatives_pedigree(spec)


@pytest.mark.parametrize("name,spec,typed_ids", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mutation", [False, True])
def test_engine_equals_brute_force(name, spec, typed_ids, mutation):
    mix = _mix(spec)
    ids = typed_ids or [r.id for r in spec]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    for n in (2, 3):
        untyped = max(sum(q.id not in ids for q in ped.persons) for _, ped in mix.components)
        if (n * (n + 1) // 2) ** untyped > 300_000:      # the full joint tensor stays small
            continue
        p = rng.dirichlet(np.ones(n) * 3)
        labels = [str(9 + i) for i in range(n)]
        MF = mutation_matrix("stepwise", labels, p, 0.05, 0.01, 0.3) if mutation else np.eye(n)
        MM = mutation_matrix("equal", labels, p, 0.02) if mutation else np.eye(n)
        for trial in range(2):
            truth = drop_genes(mix.components[0][1], p, rng)
            typed = {i: truth[i] for i in ids}
            if mutation and trial == 1:          # arbitrary genotypes: only mutation explains some
                typed = {i: tuple(sorted(rng.integers(n, size=2))) for i in ids}
            close(lost_child_table(mix, typed, model(p, MF, MM)), brute_table(mix, typed, p, MF, MM))


def test_brute_force_checks_the_sex_of_each_transmission():
    # swapping the male and female matrices changes the table (so the brute force would see
    # a transmission through the wrong matrix)
    p = np.array([0.2, 0.3, 0.5])
    MF = mutation_matrix("equal", ["1", "2", "3"], p, 0.08)
    MM = mutation_matrix("equal", ["1", "2", "3"], p, 0.01)
    mix = relatives_pedigree([Relative("gf", R.PATERNAL_GRANDFATHER), Relative("u", R.MATERNAL_UNCLE_AUNT)])
    typed = {"gf": (0, 0), "u": (1, 2)}
    a = lost_child_table(mix, typed, model(p, MF, MM))
    b = lost_child_table(mix, typed, model(p, MM, MF))
    close(a, brute_table(mix, typed, p, MF, MM))
    assert np.max(np.abs(a / b - 1)) > 1e-3


# ============================================================== (c) closed forms
@pytest.mark.parametrize("g", gts(6)[::2])
def test_duo_equals_duo_child_table(g):
    close(table([Relative("f", R.FATHER)], {"f": g}, T6), kinship.duo_child_table(g, P6, MF6, P6 @ MM6))
    close(table([Relative("m", R.MOTHER)], {"m": g}, T6), kinship.duo_child_table(g, P6, MM6, P6 @ MF6))


def test_trio_equals_trio_child_table():
    for f, m in itertools.product(gts(6)[::4], gts(6)[::5]):
        close(table([Relative("f", R.FATHER), Relative("m", R.MOTHER)], {"f": f, "m": m}, T6),
              kinship.trio_child_table(f, m, P6, MF6, MM6))


@pytest.mark.parametrize("father,mother,sibs,halfs", [
    (None, None, [(0, 1), (2, 3)], []),
    (None, None, [(0, 0), (0, 5), (4, 4)], []),
    ((0, 2), None, [(2, 5), (1, 2)], []),
    (None, (3, 4), [(0, 4)], []),
    (None, None, [(0, 1), (2, 3), (4, 5)], []),
    ((1, 1), (2, 2), [(1, 3)], []),
    ((0, 2), None, [], [(0, 1), (2, 3)]),
    (None, None, [(1, 4)], [(1, 1)]),
])
def test_nuclear_equals_nuclear_child_table(father, mother, sibs, halfs):
    rels, typed = [], {}
    for rid, rel, g in [("f", R.FATHER, father), ("m", R.MOTHER, mother)]:
        if g is not None:
            rels.append(Relative(rid, rel))
            typed[rid] = g
    for k, s in enumerate(sibs):
        rels.append(Relative(f"s{k}", R.FULL_SIBLING))
        typed[f"s{k}"] = s
    for k, h in enumerate(halfs):              # side-less: the nuclear code's 1/2-1/2 per half sibling
        rels.append(Relative(f"h{k}", R.HALF_SIBLING))
        typed[f"h{k}"] = h
    close(table(rels, typed, T6), nuclear_child_table(father, mother, sibs, P6, MF6, MM6, half_siblings=halfs))


PAIRWISE = [
    ("half-sibling", [R.HALF_SIBLING_PATERNAL, R.HALF_SIBLING_MATERNAL, R.HALF_SIBLING]),
    ("grandparent", [R.PATERNAL_GRANDFATHER, R.PATERNAL_GRANDMOTHER, R.MATERNAL_GRANDFATHER,
                     R.MATERNAL_GRANDMOTHER, R.GRANDPARENT]),
    ("avuncular", [R.PATERNAL_UNCLE_AUNT, R.MATERNAL_UNCLE_AUNT, R.AVUNCULAR]),
    ("first-cousin", [R.PATERNAL_FIRST_COUSIN, R.MATERNAL_FIRST_COUSIN]),
    ("full-sibling", [R.FULL_SIBLING]),
    ("parent-child", [R.FATHER, R.MOTHER, R.CHILD]),
]


@pytest.mark.parametrize("kappa_name,relations", PAIRWISE, ids=[k for k, _ in PAIRWISE])
def test_single_relative_without_mutation_equals_pairwise_kappa(kappa_name, relations):
    # one relative, no mutation: the pedigree LR is the kappa formula (KINSHIP.md)
    for rel in relations:
        for g in gts(6):
            close(table([Relative("x", rel)], {"x": g}, T6_0),
                  kinship.pairwise_child_table(g, P6, kinship.KAPPA[kappa_name]))


def test_grandchild_without_mutation_is_second_degree():
    for g in gts(6)[::3]:
        close(table([Relative("x", R.GRANDCHILD)], {"x": g}, T6_0),
              kinship.pairwise_child_table(g, P6, kinship.KAPPA["grandparent"]))


def test_proportional_model_nobody_typed_is_one():
    Mp = mutation_matrix("proportional", LABELS6, P6, 0.003)
    close(table([Relative("x", R.PATERNAL_UNCLE_AUNT)], {}, model(P6, Mp, Mp)), np.ones(21))


# ============================================================== (d) sides
def test_side_less_single_relative_is_the_average_of_the_sided_tables():
    # one relative of unknown side: P_s(D) is its HW probability under every side, so the
    # mixture's LR is the plain average of the sided LRs (with mutation too)
    for code, sided in [(R.HALF_SIBLING, (R.HALF_SIBLING_PATERNAL, R.HALF_SIBLING_MATERNAL)),
                        (R.AVUNCULAR, (R.PATERNAL_UNCLE_AUNT, R.MATERNAL_UNCLE_AUNT))]:
        for g in gts(6)[::4]:
            mixed = table([Relative("x", code)], {"x": g}, T6)
            parts = [table([Relative("x", s)], {"x": g}, T6) for s in sided]
            close(mixed, (parts[0] + parts[1]) / 2)
            assert np.max(np.abs(parts[0] / parts[1] - 1)) > 1e-6    # the sides differ
    g = (1, 3)
    mixed = table([Relative("x", R.GRANDPARENT, "M")], {"x": g}, T6)
    parts = [table([Relative("x", s)], {"x": g}, T6) for s in (R.PATERNAL_GRANDFATHER, R.MATERNAL_GRANDFATHER)]
    close(mixed, (parts[0] + parts[1]) / 2)
    mixed = table([Relative("x", R.GRANDPARENT)], {"x": g}, T6)       # sex unknown: four places
    parts = [table([Relative("x", s)], {"x": g}, T6) for s in _SIDED_GP]
    close(mixed, sum(parts) / 4)


_SIDED_GP = (R.PATERNAL_GRANDFATHER, R.MATERNAL_GRANDFATHER, R.PATERNAL_GRANDMOTHER, R.MATERNAL_GRANDMOTHER)


def test_side_less_members_on_one_side_together():
    # a side-less grandmother and uncle: four assignments (1/4 each); where they share a side
    # they are mother and son. Brute force over the four pedigrees, normalised by
    # sum_s w_s P_s(D) (the data are not equally likely under every assignment).
    mix = relatives_pedigree([Relative("g", R.GRANDPARENT, "F"), Relative("u", R.AVUNCULAR, "M")])
    assert len(mix.components) == 4 and all(w == 0.25 for w, _ in mix.components)
    MF = mutation_matrix("equal", ["1", "2", "3"], P3, 0.05)
    MM = mutation_matrix("equal", ["1", "2", "3"], P3, 0.01)
    for typed in ({"g": (0, 0), "u": (0, 1)}, {"g": (0, 2), "u": (1, 1)}):
        close(lost_child_table(mix, typed, model(P3, MF, MM)), brute_table(mix, typed, P3, MF, MM))


def test_two_grandfathers_of_unknown_side_take_one_side_each():
    mix = relatives_pedigree([Relative("g1", R.GRANDPARENT, "M"), Relative("g2", R.GRANDPARENT, "M")])
    assert len(mix.components) == 2     # (paternal, maternal) and (maternal, paternal)
    with pytest.raises(PedigreeError, match="places"):
        relatives_pedigree([Relative(f"g{k}", R.GRANDPARENT, "M") for k in range(3)])


# ============================================================== structure and refusals
def test_members_of_one_kind_share_connecting_ancestors():
    ped = relatives_pedigree([Relative("u1", R.PATERNAL_UNCLE_AUNT), Relative("u2", R.PATERNAL_UNCLE_AUNT),
                              Relative("c1", R.MATERNAL_FIRST_COUSIN), Relative("c2", R.MATERNAL_FIRST_COUSIN)])
    for _, p in ped.components:
        u1, u2, fa = p.person("u1"), p.person("u2"), p.person(p.person("lost").father)
        assert (u1.father, u1.mother) == (u2.father, u2.mother) == (fa.father, fa.mother)
        c1, c2 = p.person("c1"), p.person("c2")
        assert (c1.father, c1.mother) == (c2.father, c2.mother)
    assert len(ped.components) == 2     # the cousins' untyped parent: uncle or aunt


def test_theta_is_refused():
    mix = relatives_pedigree([Relative("g", R.PATERNAL_GRANDMOTHER)])
    with pytest.raises(ValueError, match="theta"):
        lost_child_table(mix, {"g": (0, 1)}, T6, theta=0.01)


def test_impossible_data_raises_inconsistent():
    # grandmother aa, her son the uncle bb: impossible without mutation
    mix = relatives_pedigree([Relative("g", R.PATERNAL_GRANDMOTHER), Relative("u", R.PATERNAL_UNCLE_AUNT)])
    with pytest.raises(InconsistentFamilyError):
        lost_child_table(mix, {"g": (0, 0), "u": (1, 1)}, T6_0)
    assert np.all(np.isfinite(lost_child_table(mix, {"g": (0, 0), "u": (1, 1)}, T6)))


@pytest.mark.parametrize("persons,lost,match", [
    ((Person("a", "b", "c"), Person("b", "a", "c", "M"), Person("c", sex="F")), "a", "cycle"),
    ((Person("x", "f", "m"), Person("f", sex="F"), Person("m")), "x", "female"),
    ((Person("x", "f", "m"), Person("m")), "x", "not a person"),
    ((Person("x"), Person("x")), "x", "unique"),
    ((Person("x", "f", "m"), Person("y", "m", "f"), Person("f"), Person("m")), "x", "both a father and a mother"),
    ((Person("x"),), "nobody", "lost child"),
])
def test_malformed_pedigrees_are_rejected(persons, lost, match):
    with pytest.raises(PedigreeError, match=match):
        Pedigree(persons, lost)


def test_registrations_refused():
    with pytest.raises(PedigreeError, match="unique"):
        relatives_pedigree([Relative("x", R.FATHER), Relative("x", R.MOTHER)])
    with pytest.raises(PedigreeError, match="sex"):
        relatives_pedigree([Relative("x", R.FATHER, "F")])
    with pytest.raises(PedigreeError, match="places"):
        relatives_pedigree([Relative("x", R.FATHER), Relative("y", R.FATHER)])
    with pytest.raises(PedigreeError, match=str(MAX_COMPONENTS)):
        relatives_pedigree([Relative(f"h{k}", R.HALF_SIBLING) for k in range(13)])
    ped = relatives_pedigree([Relative("f", R.FATHER)]).components[0][1]
    with pytest.raises(PedigreeError, match="must not be typed"):
        lost_child_joint(ped, {"lost": (0, 0)}, T6)


def test_one_named_parent_gets_an_implicit_other():
    ped = Pedigree((Person("f", sex="M"), Person("x", father="f")), "x")
    assert len(ped.persons) == 3
    close(lost_child_table(ped, {"f": (0, 2)}, T6), kinship.duo_child_table((0, 2), P6, MF6, P6 @ MM6))


def test_untyped_relatives_and_explicit_equal_relation_codes():
    # persons without typed descendants are pruned: an untyped uncle changes nothing
    a = table([Relative("g", R.PATERNAL_GRANDMOTHER), Relative("u", R.PATERNAL_UNCLE_AUNT)], {"g": (1, 4)}, T6)
    b = table([Relative("g", R.PATERNAL_GRANDMOTHER)], {"g": (1, 4)}, T6)
    close(a, b)
    # the same family as an explicit pedigree gives the same table
    ped = Pedigree((Person("pgf", sex="M"), Person("g", sex="F"), Person("fa", "pgf", "g", "M"),
                    Person("mo", sex="F"), Person("lost", "fa", "mo"), Person("u", "pgf", "g")), "lost")
    typed = {"g": (1, 4), "u": (0, 4)}
    close(lost_child_table(ped, typed, T6),
          table([Relative("g", R.PATERNAL_GRANDMOTHER), Relative("u", R.PATERNAL_UNCLE_AUNT)], typed, T6))


# ============================================================== the one dispatch (FamilyScorer)
def _tiny_encoding():
    from reunion.encoding import Encoding, LocusCoding
    return Encoding([LocusCoding("L1", ["9", "10", "11"], np.array([0.3, 0.5, 0.2]), np.zeros(3, bool)),
                     LocusCoding("L2", ["12", "13", "14"], np.array([0.6, 0.25, 0.15]), np.zeros(3, bool))],
                    "Test", "sha")


def _scorer(enc, pedigree=True, model_name="equal", theta=0.0):
    from reunion.genetics.family import FamilyScorer
    from reunion.genetics.mutation import MutationModels
    from reunion.settings import MutationSettings
    s = MutationSettings(model=model_name, rate_male=0.05, rate_female=0.01)
    return FamilyScorer(enc, MutationModels(s, enc), theta, pedigree=pedigree)


def _member(sid, rel, codes, sex=None):
    from reunion.genetics.family import Member
    return Member(sid, rel, sex, np.array(codes, dtype=np.uint16))


def _gi(a, b):
    from reunion.encoding import genotype_index
    return genotype_index(a, b)


def test_family_scorer_pedigree_table_equals_brute_force():
    # grandmother + uncle + aunt (paternal), typed at both loci but the aunt at L2:
    # the row is the joint pedigree table per locus (brute force), not the grandmother's alone
    from reunion.genetics.family import Family
    from reunion.genetics.hypotheses import Hypothesis
    enc = _tiny_encoding()
    fam = Family("f1", [_member("gm", R.PATERNAL_GRANDMOTHER, [_gi(0, 0), _gi(1, 2)]),
                        _member("u", R.PATERNAL_UNCLE_AUNT, [_gi(0, 1), _gi(1, 1)], "M"),
                        _member("a", R.PATERNAL_UNCLE_AUNT, [_gi(0, 2), 0], "F")])
    sc = _scorer(enc)
    hyp, used = sc.hypothesis(fam)
    assert hyp is Hypothesis.PEDIGREE and {k: m.sample_id for k, m in used.items()} == \
        {"paternal_uncle_aunt1": "a", "paternal_grandmother1": "gm", "paternal_uncle_aunt2": "u"}
    row = sc.table_row(hyp, used)
    mix = relatives_pedigree([Relative("gm", R.PATERNAL_GRANDMOTHER), Relative("u", R.PATERNAL_UNCLE_AUNT),
                              Relative("a", R.PATERNAL_UNCLE_AUNT)])
    typed = [{"gm": (0, 0), "u": (0, 1), "a": (0, 2)}, {"gm": (1, 2), "u": (1, 1)}]
    for l, lc in enumerate(enc.loci):
        MF, MM = sc.models.matrix(l, "M"), sc.models.matrix(l, "F")
        off = int(enc.offsets[l])
        close(row[off + 1: off + 7], np.log10(brute_table(mix, typed[l], lc.frequencies, MF, MM)))
        assert row[off] == 0.0
    # the exact re-score reads the same values: child aa at L1, 13/14 at L2
    child = np.array([_gi(0, 0), _gi(1, 2)], dtype=np.uint16)
    cs = sc.rescore(fam, child)
    assert cs.hypothesis is Hypothesis.PEDIGREE and cs.loci_compared == 2 and cs.inconsistent_loci == 0
    assert cs.log10_lr == pytest.approx(row[1 + 0] + row[int(enc.offsets[1]) + _gi(1, 2)], rel=REL)
    # without the engine: today's single relative (the most loci: gm, u tie -> first id)
    h0 = _scorer(enc, pedigree=False).hypothesis(fam)
    assert h0[0] == "pair_grandparent" and h0[1]["other"].sample_id == "gm"


def test_family_scorer_pedigree_inconsistent_loci():
    # grandmother aa, her son bb at L1: impossible without mutation (counted inconsistent),
    # explained by mutation (compared, finite LR)
    from reunion.genetics.family import Family
    enc = _tiny_encoding()
    fam = Family("f2", [_member("gm", R.PATERNAL_GRANDMOTHER, [_gi(0, 0), _gi(0, 0)]),
                        _member("u", R.PATERNAL_UNCLE_AUNT, [_gi(1, 1), _gi(0, 1)])])
    cs = _scorer(enc).rescore(fam, np.array([_gi(0, 1), _gi(2, 2)], dtype=np.uint16))
    # L2: gm aa, u ab, lost child cc: no c in the paternal line and the mother untyped -> possible
    assert cs.loci_compared == 2 and cs.inconsistent_loci == 1 and np.isfinite(cs.log10_lr)
    # mutation off: L1 is impossible family data (LR 1, not compared), as for nuclear families
    cs0 = _scorer(enc, model_name="none").rescore(fam, np.array([_gi(0, 1), _gi(2, 2)], dtype=np.uint16))
    assert cs0.loci_compared == 1


def test_family_scorer_keeps_the_closed_forms_for_todays_kinds():
    # trio, duo, nuclear (siblings) and one grandparent: the same hypothesis and bit-identical
    # rows with the engine dispatch on
    from reunion.genetics.family import Family
    enc = _tiny_encoding()
    fams = [Family("t", [_member("f", R.FATHER, [_gi(0, 1), _gi(0, 0)], "M"),
                         _member("m", R.MOTHER, [_gi(2, 2), _gi(1, 2)], "F")]),
            Family("d", [_member("f", R.FATHER, [_gi(0, 1), 0], "M")]),
            Family("n", [_member("m", R.MOTHER, [_gi(2, 2), _gi(1, 2)], "F"),
                         _member("s", R.FULL_SIBLING, [_gi(0, 2), _gi(1, 1)]),
                         _member("h", R.HALF_SIBLING, [_gi(1, 2), _gi(0, 1)])]),
            Family("g", [_member("g", R.GRANDPARENT, [_gi(0, 1), _gi(1, 1)], "F")])]
    on, off = _scorer(enc), _scorer(enc, pedigree=False)
    for fam in fams:
        h1, h0 = on.hypothesis(fam), off.hypothesis(fam)
        assert h1[0] == h0[0] and h1[0] != "pedigree"
        np.testing.assert_array_equal(on.table_row(*h1), off.table_row(*h0))


def test_family_scorer_duo_and_grandmother_is_one_pedigree():
    # a father and his mother: the pedigree (the grandmother adds nothing given the father's
    # genotype for the paternal allele, but the engine is the dispatch) equals the duo table
    from reunion.genetics.family import Family
    enc = _tiny_encoding()
    fam = Family("x", [_member("f", R.FATHER, [_gi(0, 1), _gi(1, 2)], "M"),
                       _member("g", R.PATERNAL_GRANDMOTHER, [_gi(0, 0), _gi(1, 1)])])
    sc = _scorer(enc)
    hyp, used = sc.hypothesis(fam)
    assert hyp == "pedigree" and set(used) == {"father", "paternal_grandmother1"}
    row = sc.table_row(hyp, used)
    for l, (f_g) in enumerate([(0, 1), (1, 2)]):
        t = sc.models.locus(l)
        off = int(enc.offsets[l])
        close(row[off + 1: off + 7], np.log10(kinship.duo_child_table(f_g, t.p, t.M_father, t.pushed_mother)))


def test_family_scorer_theta_and_unfit_registrations_fall_back():
    from reunion.genetics.family import Family
    enc = _tiny_encoding()
    fam = Family("y", [_member("g1", R.GRANDPARENT, [_gi(0, 1), _gi(1, 1)], "M"),
                       _member("u", R.AVUNCULAR, [_gi(0, 0), _gi(1, 2)])])
    assert _scorer(enc, model_name="none").hypothesis(fam)[0] == "pedigree"
    assert _scorer(enc, model_name="none", theta=0.02).hypothesis(fam)[0] == "pair_grandparent"
    three = Family("z", [_member(f"g{k}", R.GRANDPARENT, [_gi(0, 1), 0], "M") for k in range(3)])
    assert _scorer(enc).hypothesis(three)[0] == "pair_grandparent"      # no pedigree fits three grandfathers
    cousin = Family("c", [_member("c", R.PATERNAL_FIRST_COUSIN, [_gi(0, 1), 0])])
    assert _scorer(enc).hypothesis(cousin)[0] == "pedigree"
    with pytest.raises(ValueError, match="theta"):
        cousin.hypothesis(siblings=False, pedigree=False)
    # a scorer without the engine (theta, or pedigree off) leaves such a family unscored: a run goes on
    assert _scorer(enc, model_name="none", theta=0.02).hypothesis(cousin) is None
    assert _scorer(enc, pedigree=False).hypothesis(cousin) is None


def test_sex_mixture_merges_when_both_sexes_share_one_matrix():
    # the cousins' untyped parent is an uncle or an aunt (two components); with one matrix for
    # both sexes the two are one pedigree (merged), with sex-specific matrices they differ
    mix = relatives_pedigree([Relative("c", R.PATERNAL_FIRST_COUSIN), Relative("g", R.PATERNAL_GRANDMOTHER)])
    assert len(mix.components) == 2 and len(mix.sexless()) == 1 and mix.sexless()[0][0] == 1.0
    p = np.array([0.2, 0.3, 0.5])
    M = mutation_matrix("equal", ["1", "2", "3"], p, 0.03)
    Mf = mutation_matrix("equal", ["1", "2", "3"], p, 0.005)
    typed = {"c": (0, 1), "g": (1, 2)}
    close(lost_child_table(mix, typed, model(p, M, M)), brute_table(mix, typed, p, M, M))
    close(lost_child_table(mix, typed, model(p, M, Mf)), brute_table(mix, typed, p, M, Mf))
