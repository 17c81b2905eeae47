"""The pedigree-engine kinds as arrays: their lost-child tables once per distinct (pedigree
shape, locus, typed codes) (batch_tables.PedigreeMemo) and their re-score read from those
tables (batch_rescore), against the per-family engine path (FamilyScorer.table_row) and the
per-locus formula path (FamilyScorer.rescore) on every engine kind: grandparents, uncles /
aunts, mixtures of sides and sexes, cousins, a missing adult's children and grandchildren,
explicit pedigrees; every mutation model. Under the model none the engine's exclusions
(inconsistent loci) and families impossible at a locus (not compared there) occur and agree."""

from __future__ import annotations

import numpy as np
import pytest

from reunion.encoding import Encoding, genotype_index
from reunion.frequencies import load_frequency_table
from reunion.genetics.batch_tables import pedigree_shape
from reunion.genetics.family import Family, FamilyScorer, Member
from reunion.genetics.mutation import MutationModels
from reunion.settings import MutationSettings

from test_batch_rescore import _check, _pairs
from test_batch_tables import MODELS, NIST, SEX

#: engine kinds by relation codes (each gets the pedigree hypothesis)
ENGINE_KINDS = {
    "grandparents": ("paternal_grandfather", "paternal_grandmother"),
    "uncle_father": ("father", "paternal_uncle_aunt"),
    "mixed": ("mother", "maternal_grandmother", "half_sibling_paternal"),
    "sideless": ("grandparent", "avuncular"),                 # a mixture of sides
    "cousins": ("paternal_first_cousin", "paternal_first_cousin"),
    "children": ("child", "child", "child_other_parent"),
    "grandchild": ("grandchild", "child"),                    # the lost person's sex unknown: a mixture
    "three_generations": ("paternal_grandfather", "father", "mother", "full_sibling"),
}


@pytest.fixture(scope="module")
def enc():
    return Encoding.build(load_frequency_table(NIST, "Asian"), observed={"TH01": {"13"}, "FGA": {"50"}},
                          floor=0.001)


def _profile(enc, rng, typed=0.85, few=None):
    """uint16 [L] codes; with ``few`` each locus' genotype is one of its first ``few`` alleles' pairs."""
    out = np.zeros(len(enc.loci), np.uint16)
    for l, lc in enumerate(enc.loci):
        if rng.random() < typed:
            k = lc.n_alleles if few is None else min(few, lc.n_alleles)
            out[l] = genotype_index(*(int(x) for x in rng.integers(0, k, 2)))
    return out


def _relation_families(enc, n_each, seed, few=None):
    rng = np.random.default_rng(seed)
    return [(kind, Family(f"{kind}{k}", [Member(f"{kind}{k}-{i}", r, SEX.get(r), _profile(enc, rng, few=few))
                                         for i, r in enumerate(rels)]))
            for kind, rels in ENGINE_KINDS.items() for k in range(n_each)]


def _explicit_families(enc, n, seed):
    """Explicit pedigrees: typed paternal grandparents, an untyped father and mother (links),
    the lost child and a typed full sibling; a typed maternal aunt (a child of the mother's
    untyped parents)."""
    rng = np.random.default_rng(seed)
    zero = np.zeros(len(enc.loci), np.uint16)
    out = []
    for k in range(n):
        s = f"x{k}-"
        out.append(("explicit", Family(f"explicit{k}", [
            Member(s + "gf", "paternal_grandfather", "M", _profile(enc, rng)),
            Member(s + "gm", "paternal_grandmother", "F", _profile(enc, rng)),
            Member(s + "fa", "father", "M", zero, father=s + "gf", mother=s + "gm"),
            Member(s + "mo", "mother", "F", zero, father=s + "mgf", mother=s + "mgm"),
            Member(s + "mgf", "maternal_grandfather", "M", zero),
            Member(s + "mgm", "maternal_grandmother", "F", zero),
            Member(s + "aunt", "other", "F", _profile(enc, rng), father=s + "mgf", mother=s + "mgm"),
            Member(s + "lost", "lost_child", None, zero, father=s + "fa", mother=s + "mo"),
            Member(s + "sib", "full_sibling", "M", _profile(enc, rng), father=s + "fa", mother=s + "mo"),
        ])))
    return out


@pytest.mark.parametrize("mut", MODELS, ids=[m["model"] for m in MODELS])
def test_engine_kinds_tables_equal_per_family_bit_for_bit(enc, mut):
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**mut), enc), pedigree=True)
    fams = _relation_families(enc, 3, seed=31) + _explicit_families(enc, 3, seed=32)
    hyps = [scorer.hypothesis(f) for _, f in fams]
    assert {h[0].value for h in hyps} == {"pedigree"}
    batch = scorer.table_rows(hyps)
    single = np.vstack([scorer.table_row(*h) for h in hyps])
    _same(batch, single)
    if mut["model"] == "none":
        assert np.isneginf(batch).any()
        assert (single == 0.0).all(axis=1).sum() < len(single)


def _same(batch, single):
    """The batched engine's rows against the per-family engine's: the same exclusions (-inf)
    and LR-1 loci (exact zeros: nobody typed, or the family impossible there), the rest to
    rtol 1e-12 (the same factors, eliminated in another order)."""
    assert batch.shape == single.shape
    assert np.array_equal(np.isneginf(batch), np.isneginf(single))
    assert np.array_equal(batch == 0.0, single == 0.0)
    fin = np.isfinite(single)
    np.testing.assert_allclose(batch[fin], single[fin], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mut", MODELS, ids=[m["model"] for m in MODELS])
def test_engine_kinds_rescore_equal_formula_path(enc, mut):
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**mut), enc), pedigree=True)
    fams = _relation_families(enc, 2, seed=41) + _explicit_families(enc, 2, seed=42)
    got, seen = _check(scorer, _pairs(enc, fams, 200, seed=43))
    assert seen == {"pedigree"}
    assert got.floored_alleles.any() and (~np.isnan(got.duo_father)).any()   # typed fathers: their duos
    if mut["model"] == "none":
        # engine exclusions (inconsistent loci), and families impossible at a typed locus
        assert np.isneginf(got.log10_lr).any() and got.inconsistent_loci.any()
        typed = got.child != 0
        members_typed = np.array([[any(m.codes[l] for m in got.pair_used(i).values())
                                   for l in range(typed.shape[1])] for i in range(typed.shape[0])])
        assert (typed & members_typed & ~got.compared).any()


def test_memo_computes_each_distinct_shape_locus_and_codes_once(enc):
    """Families of one shape whose genotypes repeat (each locus from its first three alleles):
    the engine computes each distinct (shape, locus, typed codes) once, counted here by brute
    force; every row equals the per-family engine's; a second build takes no engine call and
    gives the same rows bit for bit."""
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**MODELS[3]), enc), pedigree=True)
    fams = [f for kind, f in _relation_families(enc, 40, seed=51, few=3) if kind in ("grandparents", "cousins")]
    hyps = [scorer.hypothesis(f) for f in fams]
    memo = scorer.pedigree_memo
    rows = scorer.table_rows(hyps)
    cells, distinct = 0, set()
    for _, used in hyps:
        codes = np.stack([m.codes for m in used.values()])
        for l in range(len(enc.loci)):
            if codes[:, l].any():
                cells += 1
                distinct.add((pedigree_shape(scorer, used), l, tuple(codes[:, l].tolist())))
    assert memo.lookups == cells
    assert memo.computed == len(distinct) < cells
    assert memo.hit_rate == pytest.approx(1 - len(distinct) / cells)
    _same(rows, np.vstack([scorer.table_row(*h) for h in hyps]))
    again = scorer.table_rows(hyps)
    assert memo.computed == len(distinct) and memo.lookups == 2 * cells
    assert np.array_equal(again, rows)


def test_shape_ignores_names_not_relations_or_order(enc):
    """The shape key: the same relation codes in member order under other sample ids are one
    shape; another order, another relation or another lost-child sex is another."""
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="none"), enc), pedigree=True)
    c = np.ones(len(enc.loci), np.uint16)

    def shape(rels, names, lost_sex=None):
        fam = Family("f", [Member(n, r, SEX.get(r), c, lost_sex=lost_sex) for n, r in zip(names, rels)])
        return pedigree_shape(scorer, scorer.hypothesis(fam)[1])
    gp = ("paternal_grandfather", "paternal_grandmother")
    assert shape(gp, ("a1", "a2")) == shape(gp, ("b1", "b2"))
    assert shape(gp, ("a1", "a2")) != shape(gp[::-1], ("a1", "a2"))
    assert shape(gp, ("a1", "a2")) != shape(("paternal_grandfather", "maternal_grandmother"), ("a1", "a2"))
    assert shape(("child", "grandchild"), ("a", "b"), "M") != shape(("child", "grandchild"), ("a", "b"), "F")


def test_memo_is_bounded(enc):
    """A memo over its byte budget is cleared, and the tables stay the engine's."""
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**MODELS[1]), enc), pedigree=True)
    scorer.pedigree_memo.max_bytes = 20_000
    hyps = [scorer.hypothesis(f) for _, f in _relation_families(enc, 2, seed=61)]
    rows = scorer.table_rows(hyps)
    assert scorer.pedigree_memo._bytes <= 20_000
    _same(rows, np.vstack([scorer.table_row(*h) for h in hyps]))


def test_batched_joint_equals_the_engine_on_a_loop(enc):
    """engine.lost_child_joint_batch against engine.lost_child_joint family by family on a
    pedigree with a loop (the lost child of first cousins; typed: a grandfather, his son and the
    two cousins), homozygous and heterozygous typed
    members, with and without mutation: J rtol 1e-12, and Z = 0 exactly where the engine
    finds the family impossible."""
    from reunion.genetics import engine
    from reunion.genetics.pedigree import InconsistentFamilyError
    P = engine.Person
    ped = engine.Pedigree((P("gf", sex="M"), P("gm", sex="F"), P("a", "gf", "gm", "M"), P("b", "gf", "gm", "F"),
                           P("sa", sex="F"), P("sb", sex="M"), P("c1", "a", "sa", "M"), P("c2", "sb", "b", "F"),
                           P("lost", "c1", "c2")), "lost")
    rng = np.random.default_rng(71)
    for mut in (MODELS[0], MODELS[3]):
        models = MutationModels(MutationSettings(**mut), enc)
        t = models.locus(0)
        n = len(t.p)
        alleles = np.sort(rng.integers(0, min(n, 4), (25, 4, 2)), axis=-1)
        alleles[:5, :, 1] = alleles[:5, :, 0]                   # homozygotes
        ids = ["gf", "a", "c1", "c2"]            # gf and a: parent and child
        J, Z = engine.mixture_joint_batch(ped, ids, alleles, t)
        zeros = 0
        for b in range(len(alleles)):
            typed = {pid: tuple(int(x) for x in alleles[b, k]) for k, pid in enumerate(ids)}
            try:
                ref, z = engine.mixture_joint(ped, typed, t)
            except InconsistentFamilyError:
                assert Z[b] == 0.0
                zeros += 1
                continue
            np.testing.assert_allclose(J[b], ref, rtol=1e-12, atol=1e-300)
            assert Z[b] == pytest.approx(z, rel=1e-12)
        if mut["model"] == "none":
            assert zeros > 0


def test_array_rescore_never_takes_the_formula_path(enc, monkeypatch):
    """The array re-score of every kind (engine kinds included) runs without
    FamilyScorer.rescore or hypotheses.locus_lr (the formula path is the tests' oracle only)."""
    from reunion.genetics import family as family_mod
    from test_batch_tables import KINDS, _families

    def refuse(*a, **k):
        raise AssertionError("formula path called")
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**MODELS[2]), enc), pedigree=True)
    fams = _relation_families(enc, 2, seed=81) + _explicit_families(enc, 2, seed=82) + \
        _families(enc, list(KINDS), 2, seed=83)
    pairs = _pairs(enc, fams, 120, seed=84)
    monkeypatch.setattr(FamilyScorer, "rescore", refuse)
    monkeypatch.setattr(family_mod, "locus_lr", refuse)
    got = scorer.rescore_arrays([f for f, _ in pairs], np.array([c for _, c in pairs]))
    assert {got.pair_hypothesis(i).value for i in range(len(pairs))} >= {"pedigree", "nuclear", "trio"}
    assert got.compared.any()
