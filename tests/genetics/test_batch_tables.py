"""The vectorised table builders (reunion/genetics/batch_tables.py) against the per-family
builder (FamilyScorer.table_row, through hypotheses.locus_table): every family kind, every
mutation model and theta, rtol 1e-12 (trio / duo rows bit for bit), with untyped loci,
exclusions (model none: LR 0, log10 -inf) and nuclear families impossible at a locus
(their locus has LR 1, log10 0, in both)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reunion.encoding import Encoding, genotype_index
from reunion.frequencies import load_frequency_table
from reunion.genetics import batch_tables
from reunion.genetics.family import Family, FamilyScorer, Member
from reunion.genetics.mutation import MutationModels
from reunion.settings import MutationSettings

NIST = Path(__file__).parents[2] / "configs/frequencies/nist1036_us_2017.csv"
SEX = {"father": "M", "mother": "F"}
#: one composition per family kind of today's menu (the hypothesis each gets is asserted below)
KINDS = {
    "trio": ("father", "mother"),
    "duo_father": ("father",),
    "duo_mother": ("mother",),
    "nuclear_sib": ("full_sibling",),
    "nuclear_two_sibs": ("full_sibling", "full_sibling"),
    "nuclear_father_sib": ("father", "full_sibling"),
    "nuclear_mother_two_sibs": ("mother", "full_sibling", "full_sibling"),
    "nuclear_trio_sibs": ("father", "mother", "full_sibling", "full_sibling", "full_sibling"),
    "nuclear_half": ("half_sibling",),
    "nuclear_father_half": ("father", "half_sibling"),
    "nuclear_sib_half": ("full_sibling", "half_sibling"),
    "nuclear_four_sibs": ("full_sibling",) * 4,
    "pair_grandparent": ("grandparent",),
    "pair_avuncular": ("avuncular",),
    "pedigree_grandparents": ("paternal_grandfather", "paternal_grandmother"),
    "pedigree_uncle_father": ("father", "paternal_uncle_aunt"),
    "pedigree_mixed": ("mother", "maternal_grandmother", "half_sibling_paternal"),
}
MODELS = [dict(model="none"), dict(model="equal", rate=0.005),
          dict(model="proportional", rate=0.004),
          dict(model="stepwise", rate_male=0.003, rate_female=0.001, rate2=1e-6, range=0.1)]


@pytest.fixture(scope="module")
def enc():
    table = load_frequency_table(NIST, "Asian")
    return Encoding.build(table, observed={"TH01": {"13"}, "FGA": {"50"}}, floor=0.001)


def _families(enc, kinds, n_each, seed, typed=0.8):
    rng = np.random.default_rng(seed)

    def prof():
        return np.array([genotype_index(*rng.integers(0, lc.n_alleles, 2)) if rng.random() < typed else 0
                         for lc in enc.loci], dtype=np.uint16)
    out = []
    for kind in kinds:
        for k in range(n_each):
            out.append((kind, Family(f"{kind}{k}", [Member(f"{kind}{k}-{i}", r, SEX.get(r), prof())
                                                    for i, r in enumerate(KINDS[kind])])))
    return out


def _compare(scorer, fams):
    hyps = [scorer.hypothesis(f) for _, f in fams]
    batch = scorer.table_rows(hyps)
    single = np.vstack([scorer.table_row(*h) for h in hyps])
    assert batch.shape == single.shape
    # same exclusions (-inf) and LR-1 slots, the rest to rtol 1e-12
    assert np.array_equal(np.isneginf(batch), np.isneginf(single))
    fin = np.isfinite(single)
    assert np.isfinite(batch[fin]).all()
    np.testing.assert_allclose(batch[fin], single[fin], rtol=1e-12, atol=1e-13)
    parents = [i for i, h in enumerate(hyps) if h[0] in ("trio", "duo_father", "duo_mother")]
    assert np.array_equal(batch[parents], single[parents])      # the same operations: bit for bit
    return hyps, batch


@pytest.mark.parametrize("mut", MODELS, ids=[m["model"] for m in MODELS])
def test_batch_tables_equal_per_family_every_kind_and_model(enc, mut):
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**mut), enc), pedigree=True)
    fams = _families(enc, list(KINDS), 6, seed=len(mut["model"]))
    hyps, batch = _compare(scorer, fams)
    got = {kind: h[0].value for (kind, _), h in zip(fams, hyps)}
    for kind, h in got.items():
        want = kind if not kind.startswith(("nuclear", "pedigree")) else kind.split("_")[0]
        assert h == want, (kind, h)
    if mut["model"] == "none":       # random siblings and parents: some loci impossible, LR 1 there
        assert np.isneginf(batch).any()


@pytest.mark.parametrize("theta", [0.01, 0.03])
def test_batch_tables_equal_per_family_with_theta(enc, theta):
    """theta > 0 (model none): trio / duo and pairwise (siblings scored pairwise or through
    the parents: no nuclear or pedigree hypothesis) as arrays, the Balding-Nichols forms."""
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="none"), enc), theta=theta)
    kinds = ["trio", "duo_father", "duo_mother", "nuclear_sib", "nuclear_half", "nuclear_father_sib",
             "pair_grandparent", "pair_avuncular"]
    hyps, _ = _compare(scorer, _families(enc, kinds, 8, seed=int(theta * 1000)))
    assert {h[0].value for h in hyps} == {"trio", "duo_father", "duo_mother", "pair_full_sibling",
                                          "pair_half_sibling", "pair_grandparent", "pair_avuncular"}


def test_batch_tables_large_batches_are_cut_and_untyped_parents_use_origins(enc, monkeypatch):
    """Many nuclear families of one shape in batches smaller than the group (the byte cap),
    with both parents untyped (the sum over allele origins) and typed (the dense sum)."""
    monkeypatch.setattr(batch_tables, "NUCLEAR_BATCH_BYTES", 1 << 16)
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(**MODELS[3]), enc))
    _compare(scorer, _families(enc, ["nuclear_two_sibs", "nuclear_trio_sibs", "nuclear_sib_half"], 12,
                               seed=5, typed=0.95))


def test_hand_value_nuclear_two_sibs_locus(tmp_path):
    """One locus, two alleles A (p 0.6), B (0.4), no mutation, untyped parents, full siblings
    AA and BB: the parents must both be AB, so the lost child is AA 1/4, AB 1/2, BB 1/4;
    LR = P / P_HW: AA 0.25/0.36, AB 0.5/0.48, BB 0.25/0.16."""
    path = tmp_path / "f.csv"
    path.write_text("population,locus,allele,frequency,n\nT,L1,1,0.6,100\nT,L1,2,0.4,100\n")
    enc = Encoding.build(load_frequency_table(path, "T"), observed={}, floor=0.001)
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="none"), enc))
    aa, bb = (enc.encode_profile({"L1": g}) for g in (("1", "1"), ("2", "2")))
    fam = Family("f", [Member("s1", "full_sibling", None, aa), Member("s2", "full_sibling", None, bb)])
    row = scorer.table_rows([scorer.hypothesis(fam)])[0]
    slot = {g: genotype_index(*g) for g in ((0, 0), (0, 1), (1, 1))}
    np.testing.assert_allclose(10 ** row[[slot[0, 0], slot[0, 1], slot[1, 1]]],
                               [0.25 / 0.36, 0.5 / 0.48, 0.25 / 0.16], rtol=1e-12)
