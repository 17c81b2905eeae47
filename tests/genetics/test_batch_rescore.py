"""The array re-score (reunion/genetics/batch_rescore.py: a gather from the families' tables)
against the per-locus formula path (FamilyScorer.rescore, through hypotheses.locus_lr):
every hypothesis, mutation model and theta, rtol 1e-12 on every total, duo total and
per-locus LR; counts and per-locus flags equal. Families recur, loci are untyped, alleles
are floored, and under model none there are exclusions (-inf) and nuclear families
impossible at a locus (not compared there)."""

from __future__ import annotations

import numpy as np
import pytest

from reunion.encoding import Encoding, genotype_index
from reunion.frequencies import load_frequency_table
from reunion.genetics.family import FamilyScorer
from reunion.genetics.mutation import MutationModels
from reunion.settings import MutationSettings

from test_batch_tables import KINDS, MODELS, NIST, _families


@pytest.fixture(scope="module")
def enc():
    return Encoding.build(load_frequency_table(NIST, "Asian"), observed={"TH01": {"13"}, "FGA": {"50"}},
                          floor=0.001)


def _pairs(enc, fams, n, seed):
    """n (family, missing person) pairs: families recur; a third of the persons are a child
    of the family's first member (an allele of it at each locus), the rest random."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        fam = fams[int(rng.integers(len(fams)))][1]
        codes = np.zeros(len(enc.loci), np.uint16)
        base = fam.members[0].codes
        for l, lc in enumerate(enc.loci):
            if rng.random() < 0.1:
                continue
            a, b = (int(x) for x in rng.integers(0, lc.n_alleles, 2))
            if base[l] and rng.random() < 0.33:
                from reunion.encoding import PAIR_HI, PAIR_LO
                a = int((PAIR_LO if rng.random() < 0.5 else PAIR_HI)[base[l]])
            codes[l] = genotype_index(a, b)
        out.append((fam, codes))
    return out


def _check(scorer, pairs, rows=None, row_of=None):
    fams = [f for f, _ in pairs]
    codes = np.array([c for _, c in pairs])
    got = scorer.rescore_arrays(fams, codes, rows, row_of)
    seen = set()
    for i, (fam, c) in enumerate(pairs):
        ref = scorer.rescore(fam, c)
        if ref is None:
            assert got.pair_hypothesis(i) is None
            continue
        seen.add(ref.hypothesis.value)
        assert got.pair_hypothesis(i) == ref.hypothesis
        assert {k: m.sample_id for k, m in got.pair_used(i).items()} == ref.members
        assert (got.loci_compared[i], got.inconsistent_loci[i], got.floored_alleles[i]) == \
            (ref.loci_compared, ref.inconsistent_loci, ref.floored_alleles)
        for a, b in ((got.log10_lr[i], ref.log10_lr), (got.duo_father[i], ref.log10_lr_duo_father),
                     (got.duo_mother[i], ref.log10_lr_duo_mother)):
            if b is None:
                assert np.isnan(a)
            elif np.isinf(b):
                assert a == b
            else:
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got.locus_lr[i], [r.lr for r in ref.loci], rtol=1e-12, atol=0)
        assert got.compared[i].tolist() == [r.compared for r in ref.loci]
        assert got.inconsistent[i].tolist() == [r.inconsistent for r in ref.loci]
        assert got.floored[i].tolist() == [r.floored for r in ref.loci]
    return got, seen


@pytest.mark.parametrize("mut", MODELS, ids=[m["model"] for m in MODELS])
def test_rescore_arrays_equal_formula_path_every_hypothesis_and_model(enc, mut):
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**mut), enc), pedigree=True)
    fams = _families(enc, list(KINDS), 3, seed=3)
    got, seen = _check(scorer, _pairs(enc, fams, 240, seed=4))
    assert seen == {"trio", "duo_father", "duo_mother", "nuclear", "pair_grandparent", "pair_avuncular",
                    "pedigree"}
    assert got.floored_alleles.any()
    if mut["model"] == "none":
        assert np.isneginf(got.log10_lr).any() and got.inconsistent_loci.any()
        # a nuclear family impossible at a typed locus: not compared there, in both paths
        nuc = [i for i in range(len(got.log10_lr)) if got.pair_hypothesis(i) == "nuclear"]
        typed = (got.child[nuc] != 0)
        assert (typed & ~got.compared[nuc]).any()


@pytest.mark.parametrize("theta", [0.01, 0.03])
def test_rescore_arrays_equal_formula_path_with_theta(enc, theta):
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="none"), enc), theta=theta)
    kinds = ["trio", "duo_father", "duo_mother", "nuclear_sib", "nuclear_half", "nuclear_father_sib",
             "pair_grandparent", "pair_avuncular"]
    _, seen = _check(scorer, _pairs(enc, _families(enc, kinds, 4, seed=8), 200, seed=9))
    assert seen == {"trio", "duo_father", "duo_mother", "pair_full_sibling", "pair_half_sibling",
                    "pair_grandparent", "pair_avuncular"}


def test_rescore_arrays_from_saved_rows_equal_built(enc):
    """Given the families' saved table rows (and each pair's row), the same values as when
    the rows are built for the re-score."""
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**MODELS[3]), enc), pedigree=True)
    fams = _families(enc, list(KINDS), 2, seed=12)
    hyps = [scorer.hypothesis(f) for _, f in fams]
    rows = scorer.table_rows(hyps)
    pairs = _pairs(enc, fams, 80, seed=13)
    where = {id(f): k for k, (_, f) in enumerate(fams)}
    row_of = np.array([where[id(f)] for f, _ in pairs])
    a, _ = _check(scorer, pairs, rows, row_of)
    b = scorer.rescore_arrays([f for f, _ in pairs], np.array([c for _, c in pairs]))
    for name in ("log10_lr", "locus_lr", "compared", "inconsistent", "floored", "duo_father", "duo_mother"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_candidate_tables_equal_the_formula_paths_rows(enc):
    """The merge's columnar rows (flows/pieces.candidate_tables, from the array re-score) equal
    the rows pieces.candidate_rows writes from the formula path's scores, on every hypothesis:
    every text and count field exactly, the LRs to rtol 1e-12."""
    import pyarrow as pa

    from reunion.contracts import CANDIDATES, PER_LOCUS
    from reunion.flows import pieces
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**MODELS[3]), enc), pedigree=True)
    pairs = _pairs(enc, _families(enc, list(KINDS), 2, seed=21), 120, seed=22)
    pairs = [(f, c) for f, c in pairs if scorer.rescore(f, c) is not None]
    ids = [f"M{i}" for i in range(len(pairs))]
    res = scorer.rescore_arrays([f for f, _ in pairs], np.array([c for _, c in pairs]))
    out = [(i, 1, f.family_id, i) for i, (f, _) in enumerate(pairs)]
    got_c, got_l = pieces.candidate_tables(scorer, ids, out, res)
    cands, loci = [], []
    for i, (f, c) in enumerate(pairs):
        cand, lo = pieces.candidate_rows(ids[i], f.family_id, scorer.rescore(f, c))
        cands.append({**cand, "rank": 1})
        loci.extend(lo)
    want_c = pa.Table.from_pylist(cands, schema=CANDIDATES)
    want_l = pa.Table.from_pylist(loci, schema=PER_LOCUS)
    assert {str(h) for h in want_c.column("hypothesis").to_pylist()} >= {
        "trio", "duo_father", "duo_mother", "nuclear", "pedigree"}
    for want, got, close in ((want_c, got_c, ("log10_lr", "lr", "log10_lr_duo_father", "log10_lr_duo_mother")),
                             (want_l, got_l, ("lr", "log10_lr"))):
        assert got.num_rows == want.num_rows
        for name in want.column_names:
            a, b = got.column(name).to_pylist(), want.column(name).to_pylist()
            if name in close:
                np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float),
                                           rtol=1e-12, atol=0, err_msg=name)
            else:
                assert a == b, name
