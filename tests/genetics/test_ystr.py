"""Y-STR evidence (reunion.genetics.ystr) against values worked out by hand or by brute force.

(a) the step law and its convolution, written out term by term;
(b) father-son LRs with 0, 1 and 2 one-step differences at given rates, and with the
    population frequency from a counted database;
(c) an uncle three meioses away (the 3-fold convolution by hand), brothers through an
    untyped father (the sum over the father's value by hand), a multi-copy locus by hand;
(d) brute-force enumeration over every untyped paternal-line man's value (and ordered copies
    of a multi-copy locus) on the peeling's range, with a kernel written here, to 1e-12;
(e) the paternal-line tree from relation codes and from an explicit pedigree: meioses,
    who is left out and why, no Y factor for a female or without a typed paternal-line man;
(f) the haplotype-frequency estimators on small databases counted here: (x+1)/(N+1),
    Brenner's kappa, the discrete Laplace model in closed form;
(g) parsing: what is rejected, with which reason, and that no reason quotes a value.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from reunion.genetics.engine import Pedigree, Person, Relative
from reunion.genetics.pedigree import InconsistentFamilyError
from reunion.genetics.roles import Relation
from reunion.genetics.ystr import (
    DiscreteLaplace,
    HaplotypeDatabase,
    PaternalLine,
    YHaplotype,
    YMan,
    load_ystr_rates,
    meioses_of,
    parse_y_rows,
    paternal_line,
    paternal_line_from_pedigree,
    per_copy_rate,
    step_law,
    y_locus_posterior,
    y_locus_table,
    y_lr,
)

H = YHaplotype.of
RATES = {"DYS19": 0.0022, "DYS390": 0.00208, "DYS391": 0.00253}


def father_line():
    return paternal_line([Relative("dad", Relation.FATHER, "M")], {"dad"})


# ----------------------------------------------------------------------------- (a) step law
def test_step_law_is_the_convolution_written_out():
    mu = 0.01
    a, b = mu / 2, 1 - mu
    np.testing.assert_allclose(step_law(mu, 1), [a, b, a], rtol=0, atol=1e-16)
    # 3 meioses: paths of three steps in {-1, 0, +1} summing to d
    f0 = b ** 3 + 6 * a * a * b          # (0,0,0); one +1, one -1, one 0 in 3! orders
    f1 = 3 * a * b * b + 3 * a ** 3      # (+1,0,0) x3; (+1,+1,-1) x3
    f2 = 3 * a * a * b                   # (+1,+1,0) x3
    f3 = a ** 3
    np.testing.assert_allclose(step_law(mu, 3), [f3, f2, f1, f0, f1, f2, f3], rtol=1e-14)
    assert f0 == pytest.approx(0.9704475, abs=1e-15) and f1 == pytest.approx(0.014701875, abs=1e-15)
    # two-step fraction w: f(+-1) = mu (1-w)/2, f(+-2) = mu w/2
    np.testing.assert_allclose(step_law(0.02, 1, two_step=0.25),
                               [0.0025, 0.0075, 0.98, 0.0075, 0.0025], rtol=1e-14)
    assert step_law(0.02, 4, two_step=0.25).sum() == pytest.approx(1.0, abs=1e-15)


# ----------------------------------------------------------------------------- (b) father-son
def test_father_son_zero_one_two_differences():
    dad = H("dad", {"DYS19": 14, "DYS390": 23, "DYS391": 10})
    line, haps = father_line(), {"dad": dad}
    same = H("x", {"DYS19": 14, "DYS390": 23, "DYS391": 10})
    one = H("x", {"DYS19": 14, "DYS390": 24, "DYS391": 10})
    two = H("x", {"DYS19": 13, "DYS390": 24, "DYS391": 10})
    r0 = y_lr(same, line, haps, RATES, 0.03)
    assert r0.numerator == pytest.approx(0.9978 * 0.99792 * 0.99747, rel=1e-13)
    assert r0.lr == pytest.approx(0.9978 * 0.99792 * 0.99747 / 0.03, rel=1e-13)
    assert r0.meioses == (1, 1, 1) and set(r0.loci) == set(RATES)
    r1 = y_lr(one, line, haps, RATES, 0.03)
    assert r1.numerator == pytest.approx(0.9978 * 0.00104 * 0.99747, rel=1e-13)
    r2 = y_lr(two, line, haps, RATES, 0.03)
    assert r2.numerator == pytest.approx(0.0011 * 0.00104 * 0.99747, rel=1e-13)
    assert r2.log10_lr == pytest.approx(math.log10(0.0011 * 0.00104 * 0.99747 / 0.03), rel=1e-12)
    # two steps at one locus in one meiosis: impossible under single-step mutation
    far = H("x", {"DYS19": 14, "DYS390": 25, "DYS391": 10})
    r3 = y_lr(far, line, haps, RATES, 0.03)
    assert r3.lr == 0.0 and r3.log10_lr == -math.inf


def test_father_son_with_the_counted_population_frequency():
    dad = H("dad", {"DYS19": 14, "DYS390": 23, "DYS391": 10})
    x = H("x", {"DYS19": 14, "DYS390": 24, "DYS391": 10})
    # 99 database men: 2 carry x's haplotype, 97 others all different
    db = [H(f"s{i}", {"DYS19": 14, "DYS390": 24, "DYS391": 10}) for i in range(2)]
    db += [H(f"o{i}", {"DYS19": 10 + i % 9, "DYS390": 30 + i // 9, "DYS391": 10}) for i in range(97)]
    base = HaplotypeDatabase(db)
    assert base.count(x, ("DYS19", "DYS390", "DYS391")) == (2, 99)
    r = y_lr(x, father_line(), {"dad": dad}, RATES, base.counting)
    assert r.denominator == pytest.approx(3 / 100, rel=1e-15)       # (2+1)/(99+1)
    assert r.lr == pytest.approx(0.9978 * 0.00104 * 0.99747 / 0.03, rel=1e-13)


# ----------------------------------------------------------------------------- (c) by hand
def test_uncle_three_meioses_away():
    line = paternal_line([Relative("u", Relation.PATERNAL_UNCLE_AUNT, "M")], {"u"})
    assert line.meioses_to_lost()["u"] == 3
    assert {m.id for m in line.men} == {"lost", "~father", "~paternal_grandfather", "u"}
    haps = {"u": H("u", {"DYS570": 17})}
    mu = 0.01
    a, b = mu / 2, 1 - mu
    t = y_locus_table(line, haps, "DYS570", [17, 18, 16, 20, 15, 21], mu)
    np.testing.assert_allclose(t, [b ** 3 + 6 * a * a * b, 3 * a * b * b + 3 * a ** 3,
                                   3 * a * b * b + 3 * a ** 3, a ** 3, 3 * a * a * b, 0.0],
                               rtol=1e-12, atol=1e-20)


def test_brothers_through_an_untyped_father():
    mu = 0.004
    a, b = mu / 2, 1 - mu
    one = paternal_line([Relative("b1", Relation.FULL_SIBLING, "M")], {"b1"})
    haps = {"b1": H("b1", {"DYS19": 14}), "b2": H("b2", {"DYS19": 15})}
    # father x in {13, 14, 15}: P(b1 = 14 | x) P(lost = v | x), normalised (sums to 1)
    assert y_locus_table(one, haps, "DYS19", [14], mu)[0] == pytest.approx(b * b + 2 * a * a, rel=1e-13)
    assert y_locus_table(one, haps, "DYS19", [15], mu)[0] == pytest.approx(2 * a * b, rel=1e-13)
    two = paternal_line([Relative("b1", Relation.FULL_SIBLING, "M"),
                         Relative("b2", Relation.HALF_SIBLING_PATERNAL, "M")], {"b1", "b2"})
    # brothers 14 and 15: only x = 14 (b * a) or x = 15 (a * b) reach both, so
    # P(lost = v) = (K(14, v) + K(15, v)) / 2
    t = y_locus_table(two, haps, "DYS19", [13, 14, 15, 16, 17], mu)
    np.testing.assert_allclose(t, [a / 2, (b + a) / 2, (a + b) / 2, a / 2, 0.0], rtol=1e-13, atol=1e-20)


def test_multi_copy_locus_by_hand():
    mu = 0.00533
    mc = per_copy_rate(mu, 2)
    assert (1 - mc) ** 2 == pytest.approx(1 - mu, rel=1e-15)
    line = father_line()
    dad = {"dad": H("dad", {"DYS385a/b": (11, 14)})}
    # father's ordered copies (11,14) or (14,11), flat; the son's copies follow each
    assert y_locus_table(line, dad, "DYS385a/b", [(11, 14)], mu)[0] == pytest.approx((1 - mc) ** 2, rel=1e-13)
    assert y_locus_table(line, dad, "DYS385a/b", [(11, 15)], mu)[0] == pytest.approx((1 - mc) * mc / 2, rel=1e-13)
    assert y_locus_table(line, dad, "DYS385a/b", [(11,)], mu)[0] == 0.0
    near = {"dad": H("dad", {"DYS385a/b": (11, 12)})}
    # (11,12) -> (12,12): the 11-copy steps up, the 12-copy stays
    assert y_locus_table(line, near, "DYS385a/b", [(12,)], mu)[0] == pytest.approx(mc / 2 * (1 - mc), rel=1e-13)


# ----------------------------------------------------------------------------- (d) brute force
def _kernel(mu, two_step=0.0):
    if two_step:
        f = {0: 1 - mu, 1: mu * (1 - two_step) / 2, -1: mu * (1 - two_step) / 2,
             2: mu * two_step / 2, -2: mu * two_step / 2}
    else:
        f = {0: 1 - mu, 1: mu / 2, -1: mu / 2}
    return lambda x, y: f.get(round(y - x), 0.0)


@pytest.mark.parametrize("two_step", [0.0, 0.3])
def test_peeling_equals_brute_force_over_untyped_men(two_step):
    rels = [Relative("bro", Relation.FULL_SIBLING, "M"), Relative("unc", Relation.PATERNAL_UNCLE_AUNT, "M"),
            Relative("cou", Relation.PATERNAL_FIRST_COUSIN, "M"), Relative("son", Relation.CHILD, "M"),
            Relative("mum", Relation.MOTHER, "F")]
    line = paternal_line(rels, {"bro", "unc", "cou", "son"})
    dist = line.meioses_to_lost()
    assert (dist["bro"], dist["unc"], dist["cou"], dist["son"]) == (2, 3, 4, 1)
    assert {m.id for m in line.men} == {"lost", "~father", "~paternal_grandfather", "~paternal_uncle",
                                        "bro", "unc", "cou", "son"}
    typed = {"bro": 14, "unc": 15, "cou": 14, "son": 13}
    haps = {k: H(k, {"DYS576": v}) for k, v in typed.items()}
    mu = 0.05
    post = y_locus_posterior(line, haps, "DYS576", mu, pad=2, two_step=two_step)
    vals = list(post.values)
    assert vals == [11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
    K = _kernel(mu, two_step)
    edges = [("lost", "~father"), ("bro", "~father"), ("~father", "~paternal_grandfather"),
             ("unc", "~paternal_grandfather"), ("~paternal_uncle", "~paternal_grandfather"),
             ("cou", "~paternal_uncle"), ("son", "lost")]
    untyped = ["~father", "~paternal_grandfather", "~paternal_uncle"]
    joint = np.zeros(len(vals))
    for i, v in enumerate(vals):
        for xs in itertools.product(vals, repeat=3):
            val = dict(typed, lost=v, **dict(zip(untyped, xs)))
            joint[i] += math.prod(K(val[s], val[f]) for s, f in edges)
    np.testing.assert_allclose(post.prob, joint / joint.sum(), rtol=0, atol=1e-12)
    assert post.meioses == 1


def test_peeling_equals_brute_force_multi_copy():
    line = paternal_line([Relative("bro", Relation.FULL_SIBLING, "M"), Relative("son", Relation.CHILD, "M")],
                         {"bro", "son"})
    haps = {"bro": H("bro", {"DYS385a/b": (11, 14)}), "son": H("son", {"DYS385a/b": (12, 14)})}
    mu = 0.08
    mc = per_copy_rate(mu, 2)
    post = y_locus_posterior(line, haps, "DYS385a/b", mu, pad=1)
    vals = list(post.values)
    assert vals == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    K = _kernel(mc)

    def K2(x, y):
        return K(x[0], y[0]) * K(x[1], y[1])

    states = list(itertools.product(vals, repeat=2))
    seen = {"bro": {11.0, 14.0}, "son": {12.0, 14.0}}
    joint = {}
    for lost in states:
        tot = 0.0
        for fa in states:
            for bro in (s for s in states if set(s) == seen["bro"]):
                for son in (s for s in states if set(s) == seen["son"]):
                    tot += K2(fa, lost) * K2(fa, bro) * K2(lost, son)
        joint[lost] = tot
    Z = sum(joint.values())
    for value in [(11, 14), (12, 14), (11, 12), (14,), (13, 14), (10, 15)]:
        want = sum(p for s, p in joint.items() if set(s) == set(map(float, value))) / Z
        assert post.of(tuple(float(v) for v in value)) == pytest.approx(want, rel=0, abs=1e-12)
    assert post.of((12, 14)) > post.of((11, 14)) > post.of((13, 14))


# ----------------------------------------------------------------------------- (e) the tree
def test_meioses_from_relation_codes():
    assert meioses_of(Relation.FATHER) == 1
    assert meioses_of(Relation.PATERNAL_GRANDFATHER) == 2
    assert meioses_of(Relation.PATERNAL_UNCLE_AUNT) == 3
    assert meioses_of(Relation.FULL_SIBLING) == 2
    assert meioses_of(Relation.HALF_SIBLING_PATERNAL) == 2
    assert meioses_of(Relation.PATERNAL_FIRST_COUSIN) == 4
    assert meioses_of(Relation.CHILD) == 1
    for r in (Relation.MOTHER, Relation.MATERNAL_GRANDFATHER, Relation.HALF_SIBLING_MATERNAL,
              Relation.AVUNCULAR, Relation.GRANDPARENT, Relation.HALF_SIBLING, Relation.GRANDCHILD):
        assert meioses_of(r) is None


def test_typed_father_and_grandfather_and_who_is_left_out():
    rels = [Relative("dad", Relation.FATHER, "M"), Relative("gf", Relation.PATERNAL_GRANDFATHER, "M"),
            Relative("mu", Relation.MATERNAL_UNCLE_AUNT, "M"), Relative("av", Relation.AVUNCULAR, "M"),
            Relative("aunt", Relation.PATERNAL_UNCLE_AUNT, "F")]
    line = paternal_line(rels, {"dad", "gf", "mu", "av", "aunt"})
    assert line.meioses_to_lost() == {"lost": 0, "dad": 1, "gf": 2}
    why = dict(line.ignored)
    assert set(why) == {"mu", "av", "aunt"}
    assert "maternal side" in why["mu"] and "side unknown" in why["av"] and "woman" in why["aunt"]


def test_no_y_factor():
    x = H("x", {"DYS19": 14})
    line = father_line()
    assert y_lr(x, line, {"dad": H("dad", {"DYS19": 14})}, RATES, 0.01, missing_sex="F") is None
    only_maternal = paternal_line([Relative("mgf", Relation.MATERNAL_GRANDFATHER, "M")], {"mgf"})
    assert {m.id for m in only_maternal.men} == {"lost"}
    assert y_lr(x, only_maternal, {"mgf": H("mgf", {"DYS19": 14})}, RATES, 0.01) is None
    assert y_lr(x, line, {}, RATES, 0.01) is None                     # father untyped
    # typed at other loci only: not compared, no factor
    assert y_lr(x, line, {"dad": H("dad", {"DYS390": 23})}, RATES, 0.01) is None
    # a locus without a rate is skipped with its reason
    r = y_lr(H("x", {"DYS19": 14, "DYS393": 13}), line,
             {"dad": H("dad", {"DYS19": 14, "DYS393": 13})}, RATES, 0.01)
    assert r.loci == ("DYS19",) and r.skipped == (("DYS393", "no mutation rate for this locus"),)


def test_explicit_pedigree_gives_the_same_line():
    ped = Pedigree((Person("G", sex="M"), Person("GM", sex="F"), Person("F", "G", "GM", "M"),
                    Person("U", "G", "GM", "M"), Person("A", "G", "GM", "F"), Person("M", sex="F"),
                    Person("lost", "F", "M", "M"), Person("AC", "X", "A", "M"), Person("X", sex="M")),
                   "lost")
    line = paternal_line_from_pedigree(ped, {"G", "U", "AC"})
    assert line.meioses_to_lost() == {"lost": 0, "F": 1, "G": 2, "U": 3}
    assert dict(line.ignored) == {"AC": "not on the lost child's male line"}   # his Y is X's
    haps = {"G": H("G", {"DYS19": 15}), "U": H("U", {"DYS19": 14})}
    codes = paternal_line([Relative("G", Relation.PATERNAL_GRANDFATHER, "M"),
                           Relative("U", Relation.PATERNAL_UNCLE_AUNT, "M")], {"G", "U"})
    a = y_locus_table(line, haps, "DYS19", [13, 14, 15, 16], 0.02)
    b = y_locus_table(codes, haps, "DYS19", [13, 14, 15, 16], 0.02)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    girl = Pedigree((Person("F", sex="M"), Person("M", sex="F"), Person("lost", "F", "M", "F")), "lost")
    assert y_locus_posterior(paternal_line_from_pedigree(girl, {"F"}), {"F": H("F", {"DYS19": 15})},
                             "DYS19", 0.01) is None


def test_typed_men_who_cannot_share_a_line():
    two = paternal_line([Relative("b1", Relation.FULL_SIBLING, "M"), Relative("dad", Relation.FATHER, "M")],
                        {"b1", "dad"})
    haps = {"b1": H("b1", {"DYS19": 14}), "dad": H("dad", {"DYS19": 16})}
    with pytest.raises(InconsistentFamilyError, match="further apart"):
        y_locus_posterior(two, haps, "DYS19", 0.01)
    micro = {"b1": H("b1", {"DYS458": 17.2}), "dad": H("dad", {"DYS458": 17})}
    with pytest.raises(InconsistentFamilyError, match="microvariant"):
        y_locus_posterior(two, micro, "DYS458", 0.01)
    # a missing man in another microvariant class than the line: probability 0
    assert y_locus_table(father_line(), {"dad": H("dad", {"DYS458": 17})}, "DYS458", [17.2], 0.01)[0] == 0.0


def test_line_checks():
    with pytest.raises(ValueError):
        PaternalLine((YMan("a", "b"), YMan("b", "a")), "a")
    with pytest.raises(ValueError):
        paternal_line([Relative("d1", Relation.FATHER, "M"), Relative("d2", Relation.FATHER, "M")], {"d1", "d2"})
    # a compressed link of 3 meioses is the uncle's path
    line = PaternalLine((YMan("lost"), YMan("u", "lost", 3)), "lost")
    t = y_locus_table(line, {"u": H("u", {"DYS19": 14})}, "DYS19", [15], 0.01)
    assert t[0] == pytest.approx(0.014701875, rel=1e-12)


# ----------------------------------------------------------------------------- (f) frequencies
def _db(types):
    out, k = [], 0
    for value, n in types:
        for _ in range(n):
            out.append(H(f"d{k}", {"DYS19": value[0], "DYS390": value[1]}))
            k += 1
    return out


def test_counting_and_kappa_on_a_tiny_database():
    # 10 haplotypes: A x3, B x2, and five singletons C..G
    db = HaplotypeDatabase(_db([((14, 23), 3), ((15, 23), 2), ((13, 22), 1), ((16, 24), 1),
                                ((14, 25), 1), ((17, 21), 1), ((12, 23), 1)]))
    loci = ("DYS19", "DYS390")
    assert db.singleton_fraction(loci) == pytest.approx(5 / 10, abs=1e-15)
    new = H("n", {"DYS19": 18, "DYS390": 26})
    assert db.counting(new, loci) == pytest.approx(1 / 11, abs=1e-15)       # (0+1)/(10+1)
    assert db.kappa(new, loci) == pytest.approx((1 - 0.5) / 10, abs=1e-15)   # (1-kappa)/N
    seen = H("s", {"DYS19": 15, "DYS390": 23})
    assert db.counting(seen, loci) == pytest.approx(3 / 11, abs=1e-15)
    assert db.kappa(seen, loci) == pytest.approx(3 / 11, abs=1e-15)
    # only haplotypes typed at every compared locus count
    db2 = HaplotypeDatabase(_db([((14, 23), 3)]) + [H("u", {"DYS19": 14})])
    assert db2.count(H("q", {"DYS19": 14, "DYS390": 23}), loci) == (3, 3)
    assert db2.count(H("q", {"DYS19": 14}), ("DYS19",)) == (4, 4)
    with pytest.raises(ValueError, match="kappa = 1"):
        HaplotypeDatabase(_db([((14, 23), 1), ((15, 23), 1)])).kappa(new, loci)


def test_discrete_laplace_single_cluster_closed_form():
    xs = [(10, 20), (10, 20), (10, 20), (11, 20), (9, 21)]
    haps = [H(f"h{i}", {"DYS19": a, "DYS390": b}) for i, (a, b) in enumerate(xs)]
    m = DiscreteLaplace(("DYS19", "DYS390"), clusters=1).fit(haps)
    # medians 10 and 20; mean absolute deviations 2/5 and 1/5; p = (sqrt(1+m^2)-1)/m
    p1 = (math.sqrt(1 + 0.4 ** 2) - 1) / 0.4
    p2 = (math.sqrt(1 + 0.2 ** 2) - 1) / 0.2
    np.testing.assert_allclose(m.centres, [[10, 20]])
    np.testing.assert_allclose(m.p, [[p1, p2]], rtol=1e-12)

    def dl(d, p):
        return (1 - p) / (1 + p) * p ** abs(d)
    q = H("q", {"DYS19": 12, "DYS390": 19})
    assert m.probability(q) == pytest.approx(dl(2, p1) * dl(-1, p2), rel=1e-12)
    assert m.probability(q, ("DYS390", "DYS19")) == pytest.approx(dl(2, p1) * dl(-1, p2), rel=1e-12)
    # the model sums to 1 over haplotypes (a wide grid)
    tot = sum(m.probability(H("g", {"DYS19": a, "DYS390": b}))
              for a in range(-30, 51) for b in range(-20, 61))
    assert tot == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="other loci"):
        m.probability(q, ("DYS19",))


def test_discrete_laplace_two_separated_clusters():
    xs = [(10, 20), (10, 20), (10, 20), (11, 20), (9, 21)]
    far = [(a + 40, b + 40) for a, b in xs]
    haps = [H(f"h{i}", {"DYS19": a, "DYS390": b}) for i, (a, b) in enumerate(xs + far)]
    m = DiscreteLaplace(("DYS19", "DYS390"), clusters=2).fit(haps)
    np.testing.assert_allclose(sorted(m.tau), [0.5, 0.5], atol=1e-9)
    p1 = (math.sqrt(1 + 0.4 ** 2) - 1) / 0.4
    p2 = (math.sqrt(1 + 0.2 ** 2) - 1) / 0.2
    q = H("q", {"DYS19": 10, "DYS390": 20})
    want = 0.5 * (1 - p1) / (1 + p1) * (1 - p2) / (1 + p2)
    assert m.probability(q) == pytest.approx(want, rel=1e-8)


def test_y_lr_with_the_kappa_denominator():
    db = HaplotypeDatabase(_db([((14, 23), 3), ((15, 23), 2), ((13, 22), 1), ((16, 24), 1),
                                ((14, 25), 1), ((17, 21), 1), ((12, 23), 1)]))
    dad = H("dad", {"DYS19": 18, "DYS390": 26})
    x = H("x", {"DYS19": 18, "DYS390": 26})
    r = y_lr(x, father_line(), {"dad": dad}, RATES, db.kappa)
    assert r.denominator == pytest.approx(0.05, abs=1e-15)
    assert r.lr == pytest.approx(0.9978 * 0.99792 / 0.05, rel=1e-13)


# ----------------------------------------------------------------------------- (g) parsing
def test_parse_rows_and_reasons():
    rows = [
        ("alpha", "DYS19", "14", "14"),        # homozygote form: one value
        ("alpha", "DYS 390", "23", ""),        # alias by the normaliser's key
        ("alpha", "DYS385a", "11", ""),        # copies on their own rows: merged
        ("alpha", "DYS385b", "14", ""),
        ("alpha", "GATA H4", "12", ""),
        ("alpha", "D3S1358", "15", "16"),      # autosomal: passed over
        ("beta", "DYS19", "14", "15"),         # two values at a single-copy locus
        ("beta", "DYS391", "OL", ""),
        ("beta", "DYS392", "x1", ""),
        ("beta", "Yindel", "2", ""),
        ("beta", "DYS999", "12", ""),
        ("beta", "DYS385a/b", "11", "13", "15"),   # three values, two copies
        ("beta", "DYS393", "", ""),
        ("beta", "DYS390", "22", ""),
        ("beta", "DYS390", "22", ""),          # duplicate
        ("gamma", "DYS19", "13", ""),          # female
        ("delta", "DYF387S1", "36", "38"),
    ]
    res = parse_y_rows(rows, sexes={"gamma": "F", "alpha": "M"})
    assert res.not_y == 1
    assert res.haplotypes["alpha"].as_dict() == {"DYS19": 14.0, "DYS390": 23.0, "DYS385a/b": (11.0, 14.0),
                                                 "Y-GATA-H4": 12.0}
    assert res.haplotypes["beta"].as_dict() == {"DYS390": 22.0}
    assert res.haplotypes["delta"].as_dict() == {"DYF387S1a/b": (36.0, 38.0)}
    assert "gamma" not in res.haplotypes
    why = {(r.row, r.field): r.reason for r in res.rejects}
    assert "duplication or mixture" in why[(6, "allele2")]
    assert "off-ladder" in why[(7, "allele1")]
    assert "not a repeat-number" in why[(8, "allele1")]
    assert "Yindel" in why[(9, "locus")]
    assert "not one this version knows" in why[(10, "locus")]
    assert "more distinct alleles than the 2 copies" in why[(11, "allele3")]
    assert "no allele called" in why[(12, "allele1")]
    assert "duplicate" in why[(14, "locus")]
    assert "female" in why[(15, "locus")] and "no Y chromosome" in why[(15, "locus")]
    assert len(res.rejects) == 9
    for r in res.rejects:                      # no reason quotes an allele value of its row
        for label in rows[r.row][2:]:
            if label and label[0].isdigit():
                assert not re.search(rf"(?<![\w.]){re.escape(label)}(?![\w.])", r.reason), r.reason


def test_shipped_rates():
    rates = load_ystr_rates()
    assert len(rates) >= 25
    for locus in ("DYS19", "DYS389I", "DYS389II", "DYS390", "DYS391", "DYS392", "DYS393", "DYS385a/b",
                  "DYS437", "DYS438", "DYS439", "DYS448", "DYS456", "DYS458", "DYS635", "Y-GATA-H4",
                  "DYS576", "DYS481", "DYS549", "DYS533", "DYS570", "DYS643", "DYS518", "DYS627",
                  "DYS460", "DYF387S1a/b", "DYS449"):
        assert 1e-4 < rates[locus] < 0.1, locus
    assert rates["DYS19"] == 0.0022 and rates["DYS570"] == 0.0114
    # the rapidly mutating loci are an order of magnitude above the slow ones
    assert min(rates[k] for k in ("DYS570", "DYS576", "DYS518", "DYS627", "DYF387S1a/b")) > 10 * rates["DYS438"]
