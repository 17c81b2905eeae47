"""Whom to sample next (reunion/sampling_advice.py, issue 19): the power a family would have
with an additional relative typed, checked against brute-force enumeration.

Every reference here is computed without the module's joint or the calibration's convolution:
hand-rolled trio transmission probabilities (the duo + mother case), or the engine's plain
lost-child joint with the relative typed at each of its genotypes in turn (every other
relative), then every combination of (relative, lost child) genotypes over the loci
enumerated in float64 and the tail summed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from reunion.calibration import Layout, family_laws
from reunion.contracts import FAMILY_ADVICE_FIELDS, FAMILY_CALIBRATION
from reunion.encoding import Encoding, LocusCoding, genotype_index, genotype_pairs
from reunion.genetics import engine
from reunion.genetics.family import LOST_ID, Family, FamilyScorer, Member
from reunion.genetics.mutation import MutationModels
from reunion.genetics.roles import Relation
from reunion.sampling_advice import NEXT_ID, advise, advise_family, locus_pairs, relative_power
from reunion.settings import MutationSettings, SamplingAdviceSettings, Settings

FREQS = [[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.5]]


def small_encoding(freqs=FREQS) -> Encoding:
    loci = [LocusCoding(f"L{i}", [str(10 + j) for j in range(len(f))], np.asarray(f, float),
                        np.zeros(len(f), bool)) for i, f in enumerate(freqs)]
    return Encoding(loci, "test", "0" * 64)


def scorer(enc: Encoding, model: str) -> FamilyScorer:
    return FamilyScorer(enc, MutationModels(MutationSettings(model=model), enc), pedigree=True)


def codes(pairs) -> np.ndarray:
    return np.array([0 if p is None else genotype_index(*p) for p in pairs], dtype=np.uint16)


FATHER = [(0, 1), (1, 2)]


def duo_family(father=FATHER, extra=()) -> Family:
    return Family("F1", [Member("D", "father", "M", codes(father)), *extra])


def tail(per_locus: list[tuple[np.ndarray, np.ndarray]], x: float, ge: bool = True) -> float:
    """P(sum >= x) (or <= x) by enumerating every combination of the loci's atoms
    (values float64 [m_l], masses float64 [m_l])."""
    total = 0.0
    for combo in itertools.product(*[range(v.size) for v, _ in per_locus]):
        s = sum(per_locus[l][0][i] for l, i in enumerate(combo))
        p = np.prod([per_locus[l][1][i] for l, i in enumerate(combo)])
        if (s >= x) if ge else (s <= x):
            total += p
    return total


# --------------------------------------------------------------------------- hand-rolled duo + mother
def trio_reference(enc: Encoding, model: str, father, unrelated: bool):
    """Per locus: (new log10 LR, mass) over every (mother g_M, child g_C) pair of a duo father
    plus a typed mother, by the textbook trio formula P(c | F, M) = t_F(a) t_M(b) + t_F(b) t_M(a)
    with t_P(a) = (M_P[p1, a] + M_P[p2, a]) / 2 (M_P the parent's mutation matrix, identity
    without mutation); the mother's law given the father is P_HW(g_M) (unrelated to him); the
    child's P(c | F, M) under H1 and P_HW(c) under H2 (an unrelated person)."""
    models = MutationModels(MutationSettings(model=model), enc)
    out = []
    for l, lc in enumerate(enc.loci):
        p = lc.frequencies
        n = p.size
        lo, hi = genotype_pairs(n)
        hw = np.where(lo == hi, p[lo] ** 2, 2 * p[lo] * p[hi])
        Mf, Mm = models.matrix(l, "M"), models.matrix(l, "F")
        tf = 0.5 * (Mf[father[l][0]] + Mf[father[l][1]])
        vals, mass = [], []
        for gm in range(lo.size):
            tm = 0.5 * (Mm[lo[gm]] + Mm[hi[gm]])
            pc = np.where(lo == hi, tf[lo] * tm[lo], tf[lo] * tm[hi] + tf[hi] * tm[lo])
            with np.errstate(divide="ignore"):
                vals.append(np.log10(pc / hw))
            mass.append(hw[gm] * (hw if unrelated else pc))
        out.append((np.concatenate(vals), np.concatenate(mass)))
    return out


@pytest.mark.parametrize("model", ["none", "stepwise"])
def test_duo_plus_mother_equals_hand_rolled_trio_enumeration(model):
    """A duo father + a mother typed: the advice's power (H1) and chance-match tail (H2) at
    several thresholds bracket the brute-force tails of the hand-rolled trio enumeration
    (reported power in [P(S >= x + n delta), P(S >= x)], p_h2 in [P(S >= x), P(S >= x - n delta)]),
    and on a fine grid equal them to 1e-9 where no atom lies within the bracket."""
    enc = small_encoding()
    sc = scorer(enc, model)
    fam = duo_family()
    ped = engine.relatives_pedigree([engine.Relative("D", Relation.FATHER), engine.Relative(NEXT_ID, Relation.MOTHER)],
                                    lost_id=LOST_ID)
    pairs = [locus_pairs(ped, {"D": FATHER[l]}, sc.models.locus(l)) for l in range(2)]
    ref1 = trio_reference(enc, model, FATHER, unrelated=False)
    ref2 = trio_reference(enc, model, FATHER, unrelated=True)
    # per locus, the pairs themselves: the new LR where H1 mass > 0, both masses
    for lp, (v1, m1), (_, m2) in zip(pairs, ref1, ref2):
        np.testing.assert_allclose(lp.h1, m1, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(lp.h2, m2, rtol=1e-12, atol=1e-300)
        ok = m1 > 0
        np.testing.assert_allclose(lp.values[ok], v1[ok], rtol=1e-12, atol=1e-12)
    delta = 1e-4
    n_delta = 2 * delta
    for x in (0.0, 0.5, 1.0, 1.5, 2.0):
        rp = relative_power(pairs, Relation.MOTHER, delta=delta, x=x, h2=True)
        hi, lo = tail(ref1, x), tail(ref1, x + n_delta)
        assert lo - 1e-12 <= rp.power <= hi + 1e-12, (x, lo, rp.power, hi)
        h2_lo, h2_hi = tail(ref2, x), tail(ref2, x - n_delta)
        assert h2_lo - 1e-12 <= rp.p_h2 <= h2_hi + 1e-12, (x, h2_lo, rp.p_h2, h2_hi)
        if hi - lo < 1e-15:                 # no atom in the bracket: the exact tail
            assert rp.power == pytest.approx(hi, rel=1e-9, abs=1e-15)
    # and through advise_family, with the settings' grid: the same law
    adv = advise_family(sc, fam, SamplingAdviceSettings(relatives=["mother"], grid=delta, min_mass=0.0),
                        1.0, np.ones(2, bool))
    assert adv.best.relation is Relation.MOTHER
    assert adv.best.power == pytest.approx(relative_power(pairs, Relation.MOTHER, delta=delta, x=1.0).power, rel=1e-12)


@pytest.mark.parametrize("model", ["none", "proportional"])
def test_pairs_marginal_is_the_familys_own_table(model):
    """Summed over the relative's genotype, the pairs' H1 law is the family's own lost-child
    law today: 10^table x P_HW (the run's duo table, from the closed form), for every relative.
    (With a stationary mutation model only: under the unstationary stepwise model, p.M != p,
    so a grandparent above the untyped mother changes the allele she transmits, by ~1e-4: F + R
    is then scored as the run would score it, not as F's table.)"""
    enc = small_encoding()
    sc = scorer(enc, model)
    fam = duo_family()
    hyp, used = sc.hypothesis(fam)
    row = sc.table_row(hyp, used)
    lay = Layout.from_encoding(enc)
    for rel in (Relation.MOTHER, Relation.FULL_SIBLING, Relation.MATERNAL_GRANDMOTHER, Relation.PATERNAL_UNCLE_AUNT):
        mix = engine.relatives_pedigree([engine.Relative("D", Relation.FATHER), engine.Relative(NEXT_ID, rel)],
                                        lost_id=LOST_ID)
        for l in range(2):
            lp = locus_pairs(mix, {"D": FATHER[l]}, sc.models.locus(l))
            G = genotype_pairs(enc.loci[l].n_alleles)[0].size
            marginal = lp.h1.reshape(G, G).sum(axis=0)
            o = int(lay.offsets[l])
            today = 10.0 ** row[o + 1: o + 1 + G] * lay.hw_raw[o + 1: o + 1 + G]
            np.testing.assert_allclose(marginal, today / today.sum(), rtol=1e-10)


def engine_reference(sc: FamilyScorer, fam_members: list[engine.Relative], typed_f: list[dict], rel: Relation):
    """Per locus: (new log10 LR, H1 mass) of every (relative, child) pair by the engine's plain
    joint with the relative typed at each genotype in turn: P(D_F, g_R) = sum J, the child's
    table given (D_F, g_R) from :func:`engine.table_from_joint`, P(g_R | D_F) = P(D_F, g_R) / sum."""
    mix = engine.relatives_pedigree(fam_members + [engine.Relative(NEXT_ID, rel)], lost_id=LOST_ID)
    out = []
    for l, lc in enumerate(sc.enc.loci):
        t = sc.models.locus(l)
        p = lc.frequencies
        lo, hi = genotype_pairs(p.size)
        hw = np.where(lo == hi, p[lo] ** 2, 2 * p[lo] * p[hi])
        zs, tabs = [], []
        for a, b in zip(lo.tolist(), hi.tolist()):
            J = sum(w * engine.lost_child_joint(q, {**typed_f[l], NEXT_ID: (a, b)}, t) for w, q in mix.components)
            z = float(J.sum())
            zs.append(z)
            tabs.append(engine.table_from_joint(J, z, p) if z > 0 else np.zeros(lo.size))
        zs = np.array(zs) / sum(zs)
        vals = np.concatenate([np.log10(np.where(tb > 0, tb, 1e-300)) for tb in tabs])
        mass = np.concatenate([z * tb * hw for z, tb in zip(zs, tabs)])
        out.append((vals, mass))
    return out


def test_one_parent_gains_most_from_the_other_parent_by_brute_force():
    """A family of one typed father: for each candidate relative the advice's power equals
    (within the grid bracket) the brute-force power from the engine with the relative typed
    genotype by genotype; the best relative of the brute force is the advice's best, and it
    is the mother (printed: each relative's power)."""
    enc = small_encoding()
    sc = scorer(enc, "stepwise")
    fam = duo_family()
    rels = [Relation.MOTHER, Relation.FULL_SIBLING, Relation.PATERNAL_GRANDMOTHER, Relation.MATERNAL_GRANDMOTHER,
            Relation.PATERNAL_UNCLE_AUNT, Relation.MATERNAL_UNCLE_AUNT]
    delta, x = 1e-4, 1.0
    adv = advise_family(sc, fam, SamplingAdviceSettings(relatives=[r.value for r in rels], grid=delta, min_mass=0.0),
                        x, np.ones(2, bool))
    got = {r.relation: r.power for r in adv.relatives}
    brute = {}
    for rel in rels:
        ref = engine_reference(sc, [engine.Relative("D", Relation.FATHER)], [{"D": g} for g in FATHER], rel)
        hi, lo = tail(ref, x), tail(ref, x + 2 * delta)
        brute[rel] = hi
        assert lo - 1e-12 <= got[rel] <= hi + 1e-12, (rel, lo, got[rel], hi)
        print(f"{rel.value}: advice {got[rel]:.6f}, brute force {hi:.6f}")
    best = max(brute, key=brute.get)
    assert adv.best.relation is best
    assert best is Relation.MOTHER
    # a paternal grandmother adds nothing once the father is typed (the child is independent of
    # her given him): her brute-force power is the family's power today, enumerated from its own
    # table (10^table x P_HW at each locus), and the advice's equals the calibration's power
    lay = Layout.from_encoding(enc)
    row = sc.table_row(*sc.hypothesis(fam))
    segs = [(row[o + 1: o + 1 + n], 10.0 ** row[o + 1: o + 1 + n] * lay.hw_raw[o + 1: o + 1 + n])
            for o, n in zip(lay.offsets.tolist(), lay.n_genotypes.tolist())]
    assert brute[Relation.PATERNAL_GRANDMOTHER] == pytest.approx(tail(segs, x), rel=1e-9)
    today = float(family_laws(lay, row, delta=delta).h1.sf(x))
    assert got[Relation.PATERNAL_GRANDMOTHER] == pytest.approx(today, abs=1e-9)


def test_mass_left_out_keeps_the_power_a_lower_bound():
    """min_mass > 0 leaves pairs out: the reported power stays at or below the full one, by at
    most the mass left out; the H2 tail at or above it."""
    enc = small_encoding()
    sc = scorer(enc, "stepwise")
    ped = engine.relatives_pedigree([engine.Relative("D", Relation.FATHER), engine.Relative(NEXT_ID, Relation.FULL_SIBLING)],
                                    lost_id=LOST_ID)
    pairs = [locus_pairs(ped, {"D": FATHER[l]}, sc.models.locus(l)) for l in range(2)]
    full = relative_power(pairs, Relation.FULL_SIBLING, delta=1e-3, x=0.5, h2=True)
    cut = relative_power(pairs, Relation.FULL_SIBLING, delta=1e-3, x=0.5, min_mass=1e-3, h2=True)
    assert 0 < cut.left_out < 0.5
    assert full.power - cut.left_out - 1e-12 <= cut.power <= full.power + 1e-12
    assert cut.p_h2 >= full.p_h2 - 1e-12


def test_what_is_not_offered():
    """A typed father is not offered again; a child only for a missing adult (a family
    registering the lost person's child); an explicit pedigree is not advised."""
    enc = small_encoding()
    sc = scorer(enc, "stepwise")
    s = SamplingAdviceSettings(relatives=["father", "mother", "child"], grid=0.01)
    adv = advise_family(sc, duo_family(), s, 1.0, np.ones(2, bool))
    assert adv.not_offered == {"father": "already typed", "child": "not a missing adult"}
    assert [r.relation for r in adv.relatives] == [Relation.MOTHER]
    adult = duo_family(extra=[Member("K", "child", "F", codes([(0, 0), (1, 1)]))])
    adv = advise_family(sc, adult, s, 1.0, np.ones(2, bool))
    assert [r.relation for r in adv.relatives] == [Relation.MOTHER, Relation.CHILD]
    explicit = Family("F2", [Member("D", "father", "M", codes(FATHER)),
                             Member("C", "lost_child", "F", codes([None, None]), father="D")])
    assert advise_family(sc, explicit, s, 1.0, np.ones(2, bool)) == "explicit pedigree"


def test_advise_fills_the_families_table_lowest_power_first():
    """advise(): the families below max_power, lowest power first, at most max_families, get
    the advice columns (best relative, its power, the per-relative list equal to
    advise_family's); the others say why not; run.json's summary counts them."""
    enc = small_encoding()
    settings = Settings.model_validate({"mutation": {"model": "stepwise"},
                                        "sampling_advice": {"relatives": ["mother", "full_sibling"],
                                                            "max_power": 0.5, "max_families": 1}})
    sc = FamilyScorer(enc, MutationModels(settings.mutation, enc), pedigree=True)
    fams = {"F1": duo_family(), "F2": Family("F2", [Member("E", "father", "M", codes([(2, 3), (0, 2)]))]),
            "F3": Family("F3", [Member("G", "father", "M", codes(FATHER)), Member("H", "mother", "F", codes(FATHER))])}
    lay = Layout.from_encoding(enc)
    rows = {f: sc.table_row(*sc.hypothesis(fam)) for f, fam in fams.items()}
    power = {f: float(family_laws(lay, r, delta=1e-3).h1.sf(1.0)) for f, r in rows.items()}
    base = [{"family_id": f, "hypothesis": "duo_father", "loci_typed": 2, "searched": 10, "power": power[f],
             "power_log10_lr": 1.0, "p_h2_at_threshold": 0.1, "expected_chance_matches": 1.0,
             "persons_approximated": 0, "error_bound_log10": 0.002, "expected_chance_matches_curve": [0.0]}
            for f in sorted(fams)]
    table = pa.Table.from_pylist(base, schema=FAMILY_CALIBRATION)
    out, info = advise(table, lay, rows, enc, settings, lambda ids: {f: fams[f] for f in ids}, 1.0)
    assert out.schema.names[-len(FAMILY_ADVICE_FIELDS):] == list(FAMILY_ADVICE_FIELDS)
    rec = {r["family_id"]: r for r in out.to_pylist()}
    below = sorted((f for f in fams if power[f] < 0.5), key=lambda f: (power[f], f))
    assert len(below) >= 2 and power["F3"] >= 0.5            # the trio is above max_power
    first = below[0]
    expect = advise_family(sc, fams[first], settings.sampling_advice, 1.0, lay.informative(rows[first]))
    assert rec[first]["best_next_relative"] == expect.best.relation.value
    assert rec[first]["power_with_best"] == expect.best.power
    assert rec[first]["next_relatives"] == [{"relation": r.relation.value, "power": r.power} for r in expect.relatives]
    assert rec[first]["expected_chance_matches_with_best"] == pytest.approx(expect.best.p_h2 * 10)
    assert rec[first]["advice_skipped"] is None
    assert rec[below[1]]["advice_skipped"] == "beyond sampling_advice.max_families"
    assert rec["F3"]["advice_skipped"] == "power at or above sampling_advice.max_power"
    assert rec["F3"]["best_next_relative"] is None
    assert info["families_advised"] == 1 and info["families_below_max_power"] == len(below)
    assert info["families_beyond_max_families"] == len(below) - 1


def test_sampling_advice_settings_are_bounded():
    """Every field bounded; side-less or unknown codes refused with the codes to use."""
    from pydantic import ValidationError

    for bad in ({"relatives": ["grandparent"]}, {"relatives": ["uncle"]}, {"max_power": 1.5},
                {"max_families": -1}, {"grid": 0.5}, {"min_mass": 0.1}, {"relatives": []},
                {"relatives": ["mother", "mother"]}):
        with pytest.raises(ValidationError):
            SamplingAdviceSettings.model_validate(bad)
    for name, field in SamplingAdviceSettings.model_fields.items():
        assert field.description, name


def test_kept_person_must_be_an_untyped_member():
    """lost_child_joint(also=...) keeps an untyped person only: a typed one, the lost child or
    a stranger is refused."""
    enc = small_encoding()
    t = scorer(enc, "none").models.locus(0)
    ped = engine.relatives_pedigree([engine.Relative("D", Relation.FATHER), engine.Relative(NEXT_ID, Relation.MOTHER)],
                                    lost_id=LOST_ID).components[0][1]
    K = engine.lost_child_joint(ped, {"D": (0, 1)}, t, also=NEXT_ID)
    assert K.shape == (4, 4, 4, 4)
    np.testing.assert_allclose(K.sum(axis=(0, 1)), engine.lost_child_joint(ped, {"D": (0, 1)}, t), rtol=1e-12)
    for bad in ("D", LOST_ID, "nobody"):
        with pytest.raises(engine.PedigreeError):
            engine.lost_child_joint(ped, {"D": (0, 1)}, t, also=bad)
