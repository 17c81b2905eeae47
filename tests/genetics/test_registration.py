"""Families registered as explicit pedigrees (reunion.genetics.registration; issue 16).

- The same family registered by relation codes and as an explicit pedigree (links, untyped
  persons as rows without genotypes, a lost_child row) gives identical lost-child tables through
  the one dispatch (FamilyScorer), rtol 1e-12, with sex-specific mutation; an explicit-only shape
  (double first cousins: no relation code describes it) equals the brute-force sum.
- Every inconsistent registration is named on its row with its field: a link to another family or
  to no sample, no lost child or two, a parent without sex, a female father / male mother, one
  person both father and mother, a cycle, a lost_sex contradicting the lost child's sex; the
  other rows of that family are rejected with a reason pointing at the first.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_engine import REL, _gi, _scorer, _tiny_encoding, brute_table, close

from reunion.genetics.engine import Mixture, Pedigree, PedigreeError, Person
from reunion.genetics.family import Family, Member
from reunion.genetics.hypotheses import Hypothesis
from reunion.genetics.registration import explicit_pedigree, registration_problems
from reunion.genetics.roles import Relation as R


def _m(sid, rel, codes=(0, 0), sex=None, father=None, mother=None, lost_sex=None):
    return Member(sid, rel, sex, np.array(codes, dtype=np.uint16), father, mother, lost_sex)


GM = (_gi(0, 0), _gi(1, 2))      # paternal grandmother
U = (_gi(0, 1), _gi(1, 1))       # paternal uncle
AU = (_gi(0, 2), 0)              # maternal aunt, untyped at L2


def _codes_family():
    return Family("F1", [_m("gm", R.PATERNAL_GRANDMOTHER, GM, "F"),
                         _m("u", R.PATERNAL_UNCLE_AUNT, U, "M"),
                         _m("au", R.MATERNAL_UNCLE_AUNT, AU, "F")])


def _explicit_family(lost_sex=None):
    # the same people drawn by links: untyped grandfathers, grandmother (maternal), parents
    return Family("F1", [
        _m("pgf", R.OTHER, sex="M"), _m("gm", R.PATERNAL_GRANDMOTHER, GM, "F"),
        _m("mgf", R.OTHER, sex="M"), _m("mgm", R.OTHER, sex="F"),
        _m("fa", R.FATHER, sex="M", father="pgf", mother="gm"),
        _m("mo", R.MOTHER, sex="F", father="mgf", mother="mgm"),
        _m("u", R.PATERNAL_UNCLE_AUNT, U, "M", father="pgf", mother="gm"),
        _m("au", R.OTHER, AU, "F", father="mgf", mother="mgm"),
        _m("x", R.LOST_CHILD, sex=lost_sex, father="fa", mother="mo")])


def test_relation_codes_and_the_explicit_pedigree_give_identical_tables():
    enc = _tiny_encoding()
    sc = _scorer(enc)                       # 'equal' model, male rate .05, female .01
    fc, fe = _codes_family(), _explicit_family()
    assert not fc.explicit and fe.explicit
    hc, hx = sc.hypothesis(fc), sc.hypothesis(fe)
    assert hc[0] is hx[0] is Hypothesis.PEDIGREE
    # explicit: every typed member used, keyed by its label (the aunt is labelled 'other')
    assert {k: m.sample_id for k, m in hx[1].items()} == {"other1": "au", "paternal_grandmother1": "gm",
                                                         "paternal_uncle_aunt1": "u"}
    row_c, row_x = sc.table_row(*hc), sc.table_row(*hx)
    close(row_x, row_c)
    assert np.count_nonzero(row_c) == 12   # both loci informative: not a vacuous equality
    # and both are the brute-force sum over the explicit pedigree's untyped persons
    ped = explicit_pedigree(fe.members)
    typed = [{"gm": (0, 0), "u": (0, 1), "au": (0, 2)}, {"gm": (1, 2), "u": (1, 1)}]
    for l, lc in enumerate(enc.loci):
        off = int(enc.offsets[l])
        bt = brute_table(Mixture(((1.0, ped),)), typed[l], lc.frequencies, sc.models.matrix(l, "M"),
                         sc.models.matrix(l, "F"))
        close(10 ** row_x[off + 1: off + 7], bt)
    # the exact re-score of a candidate agrees with the rows
    child = np.array([_gi(0, 1), _gi(2, 2)], dtype=np.uint16)
    cx, cc = sc.rescore(fe, child), sc.rescore(fc, child)
    assert cx.log10_lr == pytest.approx(cc.log10_lr, rel=REL)
    assert cx.log10_lr == pytest.approx(row_x[_gi(0, 1)] + row_x[int(enc.offsets[1]) + _gi(2, 2)], rel=REL)
    assert cx.members == {"other1": "au", "paternal_grandmother1": "gm", "paternal_uncle_aunt1": "u"}


def test_explicit_only_shape_double_first_cousins_equals_brute_force():
    # two brothers married to two sisters; the lost child and a typed first cousin are double
    # first cousins (no relation code says so), the cousin's grandparents untyped
    enc = _tiny_encoding()
    sc = _scorer(enc)
    fam = Family("F2", [
        _m("g1", R.OTHER, sex="M"), _m("g2", R.OTHER, sex="F"), _m("h1", R.OTHER, sex="M"),
        _m("h2", R.OTHER, sex="F"),
        _m("b1", R.FATHER, sex="M", father="g1", mother="g2"), _m("b2", R.OTHER, sex="M", father="g1", mother="g2"),
        _m("s1", R.MOTHER, sex="F", father="h1", mother="h2"), _m("s2", R.OTHER, sex="F", father="h1", mother="h2"),
        _m("cz", R.OTHER, (_gi(1, 2), _gi(0, 0)), "F", father="b2", mother="s2"),
        _m("lost", R.LOST_CHILD, father="b1", mother="s1")])
    hyp, used = sc.hypothesis(fam)
    assert hyp is Hypothesis.PEDIGREE and list(used) == ["other1"]
    row = sc.table_row(hyp, used)
    ped = explicit_pedigree(fam.members)
    for l, (lc, g) in enumerate(zip(enc.loci, [(1, 2), (0, 0)])):
        off = int(enc.offsets[l])
        bt = brute_table(Mixture(((1.0, ped),)), {"cz": g}, lc.frequencies, sc.models.matrix(l, "M"),
                         sc.models.matrix(l, "F"))
        close(10 ** row[off + 1: off + 7], bt)
    # kinship 1/4 > a single first cousin's 1/8: no mutation, L2 cousin aa, lost aa:
    # P(IBD) for double first cousins: k1 = 6/16, k2 = 1/16 -> LR = k0 + k1/p + k2/p^2
    sc0 = _scorer(enc, model_name="none")
    row0 = sc0.table_row(hyp, used)
    p = 0.6
    assert 10 ** row0[int(enc.offsets[1]) + _gi(0, 0)] == pytest.approx(9 / 16 + 6 / 16 / p + 1 / 16 / p ** 2,
                                                                        rel=REL)


def test_lost_sex_labels_the_lost_child():
    fam = _explicit_family(lost_sex="F")
    assert fam.lost_sex == "F"
    assert explicit_pedigree(fam.members).person("x").sex == "F"
    codes = Family("F3", [_m("k", R.CHILD, (_gi(0, 1),), "F", lost_sex="M")])
    assert codes.lost_sex == "M" and not codes.explicit


def test_the_lost_childs_sex_sets_the_matrix_of_its_transmission_to_its_child():
    # a missing adult's child, typed, with the other parent untyped: the lost person's allele
    # to the child goes through the male matrix if the lost person is a man, the female one if
    # a woman; unknown sex is the 1/2-1/2 mixture. Both relation codes (lost_sex on the row) and
    # the explicit form (the lost_child row's sex) give each.
    enc = _tiny_encoding()
    sc = _scorer(enc)                       # male rate .05, female .01: they differ
    kid = (_gi(0, 1), _gi(1, 2))
    rows = {}
    for sex in ("M", "F", None):
        fc = Family("F4", [_m("k", R.CHILD, kid, "F", lost_sex=sex)])
        # the lost person's own parents untyped, as relation codes place them (their alleles
        # reach the lost person through the mutation matrices, where a founder's would not)
        fe = Family("F4", [_m("xf", R.OTHER, sex="M"), _m("xm", R.OTHER, sex="F"),
                           _m("x", R.LOST_CHILD, sex=sex, father="xf", mother="xm"),
                           _m("o", R.OTHER, sex="F" if sex == "M" else "M"),
                           _m("k", R.CHILD, kid, "F", father="x" if sex != "F" else "o",
                              mother="o" if sex != "F" else "x")])
        rows[sex] = rc = sc.table_row(*sc.hypothesis(fc))
        if sex is not None:
            close(sc.table_row(*sc.hypothesis(fe)), rc)
    assert not np.allclose(rows["M"], rows["F"])
    # unknown: the mixture (P_M(c, D) + P_F(c, D)) / (P_M(D) + P_F(D)) / P_HW(c), a weighted
    # average of the two LRs (weights P_s(D) / sum): between them at every genotype
    lo, hi = np.minimum(rows["M"], rows["F"]), np.maximum(rows["M"], rows["F"])
    assert np.all(rows[None] >= lo - 1e-12) and np.all(rows[None] <= hi + 1e-12)
    assert not np.allclose(rows[None], rows["M"]) and not np.allclose(rows[None], rows["F"])


# ------------------------------------------------------------------ registration checks
def _rows(*specs):
    keys = ("sample_id", "family_id", "relation", "sex", "father_id", "mother_id", "lost_sex")
    return [dict(zip(keys, s + (None,) * (len(keys) - len(s)))) for s in specs]


def _problems(rows):
    return registration_problems(rows, [f"s.csv row {i + 2}" for i in range(len(rows))])


GOOD = (("f", "F1", "father", "M"), ("m", "F1", "mother", "F"), ("x", "F1", "lost_child", None, "f", "m"),
        ("s", "F1", "full_sibling", "F", "f", "m"))


def test_a_consistent_pedigree_and_relation_code_families_pass():
    assert _problems(_rows(*GOOD)) == {}
    # a family by relation codes alone is not looked at (a second form, checked elsewhere)
    assert _problems(_rows(("g", "F2", "grandparent", None), ("u", "F2", "avuncular", "M"))) == {}


@pytest.mark.parametrize("bad, at, field, words", [
    # a link to no sample
    ((("s", "F1", "full_sibling", "F", "f", "zz"),), 3, "mother_id", "'zz' is no registered sample of family F1"),
    # a link to another family's member
    ((("s", "F1", "full_sibling", "F", "f", "o"), ("o", "F9", "mother", "F")), 3, "mother_id",
     "is a member of family F9, not of F1"),
    # two lost children
    ((("s", "F1", "lost_child", "F", "f", "m"),), 3, "relation", "already has its lost child x (s.csv row 4)"),
    # a father registered female
    ((("f", "F1", "father", "F"),), 0, "sex", "f is the father of x (father_id) but registered F"),
    # a parent without sex
    ((("m", "F1", "mother", None),), 1, "sex", "a parent's sex is required; give sex F"),
    ((("m", "F1", "mother", "U"),), 1, "sex", "give sex F"),
    # one person father of one and mother of another
    ((("s", "F1", "full_sibling", "F", "m", "f"),), 0, "sex", "f is the father of x and the mother of s"),
    # a cycle: f is the son of s, s the daughter of f
    ((("f", "F1", "father", "M", "s", None),), 0, "father_id", "a cycle of parenthood: f -> s -> f"),
    # lost_sex against the lost child's own sex
    ((("x", "F1", "lost_child", "M", "f", "m"), ("s", "F1", "full_sibling", "F", "f", "m", "F")), 3,
     "lost_sex", "lost_sex F differs from the sex M of the lost child x"),
])
def test_inconsistent_registrations_are_named_on_their_row(bad, at, field, words):
    rows = {r[0]: r for r in GOOD}
    for r in bad:
        rows[r[0]] = r
    rows = _rows(*rows.values())
    got = _problems(rows)
    in_f1 = [i for i, r in enumerate(rows) if r["family_id"] == "F1"]
    assert set(got) == set(in_f1)                    # the whole family is held back
    assert got[at][0] == field and words in got[at][1], got[at]
    others = [got[i] for i in in_f1 if got[i][1] != got[at][1] and got[i][0] == "*"]
    assert others and all("not consistent (see s.csv row" in why for _, why in others)


def test_no_lost_child():
    rows = _rows(("f", "F1", "father", "M"), ("s", "F1", "full_sibling", "F", "f", None))
    got = _problems(rows)
    assert set(got) == {0, 1} and all(f == "relation" and "no member has relation lost_child" in why
                                      for f, why in got.values())
    # 'other' alone puts a family in the explicit form too
    assert set(_problems(_rows(("o", "F1", "other", "M")))) == {0}


def test_explicit_pedigree_refuses_what_the_checks_reject():
    with pytest.raises(PedigreeError, match="exactly one member with relation lost_child"):
        explicit_pedigree([_m("a", R.OTHER)])
    with pytest.raises(PedigreeError, match="cycle"):
        explicit_pedigree([_m("a", R.OTHER, sex="M", father="b"), _m("b", R.OTHER, sex="M", father="a"),
                           _m("x", R.LOST_CHILD, father="a")])
    ped = explicit_pedigree([_m("f", R.FATHER, sex="M"), _m("x", R.LOST_CHILD, father="f")])
    assert isinstance(ped, Pedigree) and ped.person("x").mother == "x~mother"   # implicit untyped mother
    assert ped.person("f") == Person("f", None, None, "M", "father")


def test_without_the_engine_an_explicit_family_is_not_scored():
    sc0 = _scorer(_tiny_encoding(), pedigree=False)
    assert sc0.hypothesis(_explicit_family()) is None
    with pytest.raises(ValueError, match="explicit pedigree: it is scored by the pedigree engine only"):
        _explicit_family().hypothesis(pedigree=False)


def test_a_relation_code_family_gives_one_lost_sex():
    rows = _rows(("g", "F2", "grandparent", "F", None, None, "F"), ("u", "F2", "avuncular", "M", None, None, None),
                 ("a", "F2", "avuncular", "F", None, None, "M"), ("b", "F2", "avuncular", "M", None, None, "F"),
                 ("c", "F3", "father", "M", None, None, "M"))
    got = _problems(rows)
    assert got == {2: ("lost_sex", "lost_sex M differs from the lost_sex F family F2 gives on s.csv row 2: a "
                                   "family searches for one person; correct one of them")}
