"""Calibrated evidence (reunion/calibration.py, issue 19): the exact laws of a family's
summed log10 LR under H2 (an unrelated person) and H1 (the true lost child), checked
against brute-force enumeration, Monte Carlo, textbook exclusion probabilities, and the
chance matches of a simulated database.

Every expected value here is worked out independently of the convolution: by enumerating
all genotype combinations, by simulating profiles with numpy, or by hand formulas.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reunion.calibration import (
    GRID,
    THRESHOLD_GRID,
    CalibrationError,
    LawCache,
    Layout,
    SearchedSet,
    Span,
    annotate,
    chance_thresholds,
    family_laws,
    spans,
)
from reunion.encoding import Encoding, LocusCoding, genotype_index, genotype_pairs
from reunion.genetics.family import FamilyScorer, Member
from reunion.genetics.hypotheses import Hypothesis
from reunion.genetics.mutation import MutationModels
from reunion.settings import MutationSettings

MC_DRAWS = 10 ** 6
MC_SE = 4.0        # Monte Carlo tolerance: 4 binomial standard errors sqrt(p (1 - p) / n)


# --------------------------------------------------------------------------- helpers
def small_encoding(freqs: list[list[float]]) -> Encoding:
    loci = [LocusCoding(f"L{i}", [str(10 + j) for j in range(len(f))], np.asarray(f, float),
                        np.zeros(len(f), bool)) for i, f in enumerate(freqs)]
    return Encoding(loci, "test", "0" * 64)


def scorer(enc: Encoding, model: str = "none") -> FamilyScorer:
    return FamilyScorer(enc, MutationModels(MutationSettings(model=model), enc))


def profile(enc: Encoding, pairs: list[tuple[int, int] | None]) -> np.ndarray:
    return np.array([0 if p is None else genotype_index(*p) for p in pairs], dtype=np.uint16)


def duo_row(enc, parent_pairs, model="none") -> np.ndarray:
    used = {"father": Member("F", "father", "M", profile(enc, parent_pairs))}
    return scorer(enc, model).table_row(Hypothesis.DUO_FATHER, used)


def trio_row(enc, father, mother, model="none") -> np.ndarray:
    used = {"father": Member("F", "father", "M", profile(enc, father)),
            "mother": Member("M", "mother", "F", profile(enc, mother))}
    return scorer(enc, model).table_row(Hypothesis.TRIO, used)


def locus_laws(layout: Layout, row: np.ndarray, loci: list[int]) -> list[tuple]:
    """Per locus of ``loci``: (values float64 [n], P_H2 [n], P_H1 [n]) over its genotypes, the
    probabilities as the module docstring of reunion.calibration defines them (normalised)."""
    segs = []
    for l in loci:
        o, n = int(layout.offsets[l]), int(layout.n_genotypes[l])
        v = row[o + 1: o + 1 + n]
        h2 = layout.hw_h2[o + 1: o + 1 + n]
        w = np.where(np.isfinite(v), 10.0 ** np.where(np.isfinite(v), v, 0.0), 0.0) * layout.hw_raw[o + 1: o + 1 + n]
        segs.append((v, h2 / h2.sum(), w / w.sum()))
    return segs


def brute_force(layout: Layout, row: np.ndarray, loci: list[int]):
    """Every genotype combination over ``loci``: (S float64 [C], P_H2 [C], P_H1 [C]),
    with the probabilities defined in the module docstring of reunion.calibration."""
    segs = locus_laws(layout, row, loci)
    S, P2, P1 = [], [], []
    for combo in itertools.product(*(range(len(s[0])) for s in segs)):
        S.append(sum(s[0][g] for s, g in zip(segs, combo)))
        P2.append(math.prod(s[1][g] for s, g in zip(segs, combo)))
        P1.append(math.prod(s[2][g] for s, g in zip(segs, combo)))
    return np.array(S), np.array(P2), np.array(P1)


def check_bracket(law, S, P2, P1, xs):
    """The documented bounds, against brute force: returns the largest |p - exact|."""
    eb = law.h2.error_bound
    worst = 0.0
    for x in xs:
        exact_ge = P2[S >= x].sum()
        p = float(law.h2.sf(x))
        assert exact_ge * (1 - 1e-12) - 1e-300 <= p <= P2[S >= x - eb - 1e-12].sum() * (1 + 1e-12) + 1e-300
        worst = max(worst, abs(p - exact_ge))
        exact_le = P1[S <= x].sum()
        q = float(law.h1.cdf(x))
        assert exact_le * (1 - 1e-12) - 1e-300 <= q <= P1[S <= x + eb + 1e-12].sum() * (1 + 1e-12) + 1e-300
        pw = float(law.h1.sf(x))
        assert P1[S >= x + eb + 1e-12].sum() * (1 - 1e-12) - 1e-300 <= pw <= P1[S >= x].sum() * (1 + 1e-12) + 1e-300
    return worst


# --------------------------------------------------------------------------- brute force
FREQS3 = [[0.1, 0.2, 0.3, 0.4], [0.05, 0.15, 0.8], [0.25, 0.25, 0.2, 0.2, 0.1]]


@pytest.mark.parametrize("model", ["none", "stepwise"])
def test_duo_equals_brute_force(model):
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = duo_row(enc, [(0, 2), (1, 1), (3, 4)], model)
    law = family_laws(lay, row, x_min=-30.0)
    S, P2, P1 = brute_force(lay, row, [0, 1, 2])
    assert law.h2.total == pytest.approx(1.0, abs=1e-12) and law.h1.total == pytest.approx(1.0, abs=1e-12)
    xs = np.unique(np.concatenate([S[np.isfinite(S)], S[np.isfinite(S)] - 1e-4, [-5.0, 0.0, 0.5, 1.0]]))
    worst = check_bracket(law, S, P2, P1, xs[xs >= -30.0])
    assert worst < 0.05          # the grid shifts atoms by < 3e-3 log10: few brute-force atoms cross
    # at thresholds away from every atom (>= n delta), the bound is attained: equal to 1e-12
    S_f = np.sort(S[np.isfinite(S)])
    mids = (S_f[1:] + S_f[:-1]) / 2
    far = mids[(S_f[1:] - S_f[:-1]) > 2 * law.h2.error_bound + 1e-9]
    for x in far:
        assert float(law.h2.sf(x)) == pytest.approx(P2[S >= x].sum(), rel=1e-12, abs=1e-300)
        assert float(law.h1.cdf(x)) == pytest.approx(P1[S <= x].sum(), rel=1e-12, abs=1e-300)
    if model == "none":          # exclusions: LR 0 is its own atom, of the brute-force mass
        assert law.h2.zero == pytest.approx(P2[S == -np.inf].sum(), rel=1e-12)
        assert law.h1.zero == 0.0


def test_trio_and_masks_equal_brute_force():
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = trio_row(enc, [(0, 1), (2, 2), (0, 4)], [(2, 3), (0, 1), None], model="stepwise")
    # the mother untyped at locus 2: the trio scores it as the father's duo; mask out locus 1
    mask = np.array([True, False, True])
    law = family_laws(lay, row, mask, x_min=-40.0)
    assert law.loci.tolist() == [0, 2]
    S, P2, P1 = brute_force(lay, row, [0, 2])
    xs = np.unique(np.concatenate([S - 1e-4, [-3.0, 0.0, 1.0, 2.0]]))
    assert check_bracket(law, S, P2, P1, xs[xs >= -40.0]) < 0.05


def random_row(enc, lay, rng, loci: int) -> np.ndarray:
    """A table row float64 [W] with random log10 LRs (N(0, 1.5)) at the first ``loci`` loci, a
    fifth of them exclusions (-inf); slot 0 and the other loci 0."""
    row = np.zeros(enc.width)
    for l in range(loci):
        o, n = int(lay.offsets[l]), int(lay.n_genotypes[l])
        v = rng.normal(0.0, 1.5, n)
        v[rng.random(n) < 0.2] = -np.inf
        row[o + 1: o + 1 + n] = v
    return row


def test_random_table_equals_brute_force():
    """The method is generic: any table, -inf entries included, on a fine and a coarse grid."""
    rng = np.random.default_rng(5)
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = random_row(enc, lay, rng, 3)
    S, P2, P1 = brute_force(lay, row, [0, 1, 2])
    for delta in (GRID, 0.05):
        law = family_laws(lay, row, delta=delta, x_min=-20.0)
        xs = np.linspace(-8, 6, 141)
        check_bracket(law, S, P2, P1, xs)
        assert law.h2.zero == pytest.approx(P2[S == -np.inf].sum(), rel=1e-12)
        assert law.h1.zero == pytest.approx(P1[S == -np.inf].sum(), rel=1e-12, abs=1e-300)


def test_below_x_min_is_refused_and_lumped_mass_is_exact():
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = duo_row(enc, [(0, 2), (1, 1), (3, 4)], "stepwise")
    law = family_laws(lay, row, x_min=0.5)
    with pytest.raises(CalibrationError):
        law.h2.sf(0.0)
    S, P2, P1 = brute_force(lay, row, [0, 1, 2])
    for x in (0.5, 1.0, 1.7):
        assert P2[S >= x].sum() <= float(law.h2.sf(x)) <= P2[S >= x - law.h2.error_bound].sum() + 1e-15
        assert P1[S <= x].sum() <= float(law.h1.cdf(x)) + 1e-15


@pytest.mark.parametrize("x_min", [-20.0, 0.5])
def test_nested_locus_sets_in_one_pass_equal_brute_force(x_min):
    """LawCache.prefetch_h2 convolves nested locus sets ({0} within {0, 2} within {0, 1, 2},
    and {1} apart) in one pass per chain: each law equals brute force over its own loci, with
    LR-0 atoms, mass lumped below x_min, and a locus where every genotype is an exclusion."""
    rng = np.random.default_rng(11)
    enc = small_encoding(FREQS3 + [[0.5, 0.5]])
    lay = Layout.from_encoding(enc)
    row = random_row(enc, lay, rng, 3)
    o3 = int(lay.offsets[3])
    row[o3 + 1: o3 + 4] = -np.inf                      # locus 3: LR 0 whatever the genotype
    sets = [[0], [0, 2], [0, 1, 2], [1], [0, 1, 2, 3]]
    masks = [np.isin(np.arange(4), s_) for s_ in sets]
    cache = LawCache(lay, {"F": row}, x_min=x_min)
    cache.prefetch_h2("F", masks)
    xs = np.linspace(max(x_min, -8.0), 6.0, 57)
    for s_, m in zip(sets, masks):
        law = cache.laws("F", m).h2
        with np.errstate(invalid="ignore"):          # H1 of the all-exclusion locus: 0 / 0, unused
            S, P2, _ = brute_force(lay, row, s_)
        assert law.n_loci == len(s_) and law.total == pytest.approx(1.0, abs=1e-12)
        assert law.zero == pytest.approx(P2[S == -np.inf].sum(), rel=1e-12)
        for x in xs:
            p = float(law.sf(x))
            assert P2[S >= x].sum() * (1 - 1e-12) <= p <= P2[S >= x - law.error_bound - 1e-12].sum() * (1 + 1e-12) + 1e-300
        alone = family_laws(lay, row, m, x_min=x_min).h2      # the same law computed by itself
        assert np.allclose(law.sf(xs), alone.sf(xs), rtol=1e-12, atol=0)
    assert float(cache.laws("F", masks[4]).h2.zero) == 1.0


# --------------------------------------------------------------------------- lumping above x_max
def gridded_brute_force(layout: Layout, row: np.ndarray, loci: list[int], delta: float):
    """Every genotype combination over ``loci`` with each locus value put on the grid as the
    module docstring states (H2 rounded up, H1 down): (K2 int [C], K1 int [C], P_H2 [C],
    P_H1 [C]); an LR-0 genotype gives K = None (excluded from both integer sums)."""
    segs = locus_laws(layout, row, loci)
    K2, K1, P2, P1 = [], [], [], []
    for combo in itertools.product(*(range(len(s_[0])) for s_ in segs)):
        vs = [s_[0][g] for s_, g in zip(segs, combo)]
        dead = any(v == -np.inf for v in vs)
        K2.append(None if dead else sum(math.ceil(v / delta) for v in vs))
        K1.append(None if dead else sum(math.floor(v / delta) for v in vs))
        P2.append(math.prod(s_[1][g] for s_, g in zip(segs, combo)))
        P1.append(math.prod(s_[2][g] for s_, g in zip(segs, combo)))
    return K2, K1, np.array(P2), np.array(P1)


def _ge(K, P, k):
    return float(sum(p for kk, p in zip(K, P) if kk is not None and kk >= k))


def _le(K, P, k, zero):
    return zero + float(sum(p for kk, p in zip(K, P) if kk is not None and kk <= k))


def _random_row(lay: Layout, seed: int, n_loci: int, scale: float = 1.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    row = np.zeros(int(lay.offsets[-1]) + 1 + int(lay.n_genotypes[-1]))
    for l in range(n_loci):
        o, n = int(lay.offsets[l]), int(lay.n_genotypes[l])
        v = rng.normal(0.5, scale, n)
        v[rng.random(n) < 0.15] = -np.inf
        row[o + 1: o + 1 + n] = v
    return row


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("window", [(-2.0, 1.5), (0.0, 0.0), (0.5, 4.0), (-30.0, -1.0), (3.0, 3.0)])
def test_laws_lumped_above_x_max_equal_unlumped_and_brute_force(seed, window):
    """Lumping the mass that can no longer fall below x_max (issue 19, speed) changes no
    answer in [x_min, x_max]: H2 sf, H1 sf and cdf equal the law lumped at neither end
    (rtol 1e-12) and the gridded brute force (every genotype combination's integer grid sum,
    rounded up for H2 and down for H1) at every x asked, including x exactly at x_min and at
    x_max, at grid points next to them, and at +-inf; a threshold above x_max is refused."""
    x_min, x_max = window
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = _random_row(lay, seed, 3)
    full = family_laws(lay, row, x_min=-60.0)
    cut = family_laws(lay, row, x_min=x_min, x_max=x_max)
    K2, K1, P2, P1 = gridded_brute_force(lay, row, [0, 1, 2], GRID)
    zero1 = float(sum(p for k, p in zip(K1, P1) if k is None))
    xs = np.unique(np.concatenate([[x_min, x_max, x_min + GRID, x_max - GRID],
                                   np.linspace(x_min, x_max, 23)]))
    xs = xs[(xs >= x_min) & (xs <= x_max)]
    for law_h, h in ((cut.h2, full.h2), (cut.h1, full.h1)):
        assert law_h.total == pytest.approx(1.0, abs=1e-12)
        for f in ("sf", "cdf"):
            got, want = getattr(law_h, f)(xs), getattr(h, f)(xs)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
        for inf in (-np.inf, np.inf):
            assert float(law_h.sf(inf)) == float(h.sf(inf)) and float(law_h.cdf(inf)) == pytest.approx(float(h.cdf(inf)), rel=1e-12)
    for x in xs:
        k_up = math.ceil(x / GRID - 1e-6)             # the grid index a threshold x reads
        k_dn = math.floor(x / GRID + 1e-6)
        assert float(cut.h2.sf(x)) == pytest.approx(_ge(K2, P2, k_up), rel=1e-12, abs=1e-300)
        assert float(cut.h1.sf(x)) == pytest.approx(_ge(K1, P1, k_up), rel=1e-12, abs=1e-300)
        assert float(cut.h1.cdf(x)) == pytest.approx(_le(K1, P1, k_dn, zero1), rel=1e-12, abs=1e-300)
    with pytest.raises(CalibrationError, match="above x_max"):
        cut.h2.sf(x_max + 0.01)
    with pytest.raises(CalibrationError, match="above x_max"):
        cut.h1.cdf(x_max + 0.01)


def test_lumping_above_prunes_the_support():
    """An H1 law asked only at the power threshold keeps a few grid points, not the whole
    support, and still gives the unlumped power (a 3-locus duo, stepwise mutation)."""
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = duo_row(enc, [(0, 2), (1, 1), (3, 4)], "stepwise")
    full = family_laws(lay, row, x_min=-60.0).h1
    one = family_laws(lay, row, x_min=0.5, x_max=0.5).h1
    assert one.pmf.size < full.pmf.size
    assert one.above > 0.0 and one.below > 0.0
    assert float(one.sf(0.5)) == pytest.approx(float(full.sf(0.5)), rel=1e-12)
    assert float(one.cdf(0.5)) == pytest.approx(float(full.cdf(0.5)), rel=1e-12)


@pytest.mark.parametrize("x_max", [0.0, 2.5])
def test_nested_locus_sets_lumped_above_equal_alone(x_max):
    """LawCache.prefetch_h2 with a family's span [x_min, x_max]: each nested set's H2 law,
    lumped at both ends in one pass, equals the unlumped law of that set computed alone
    (rtol 1e-12) at every x in the span, the ends included."""
    enc = small_encoding(FREQS3 + [[0.3, 0.7]])
    lay = Layout.from_encoding(enc)
    row = _random_row(lay, 5, 4)
    sets = [[0], [0, 2], [0, 1, 2], [1], [0, 1, 2, 3]]
    masks = [np.isin(np.arange(4), s_) for s_ in sets]
    cache = LawCache(lay, {"F": row}, spans={"F": Span(-1.0, x_max, -1.0, x_max)})
    cache.prefetch_h2("F", masks)
    xs = np.unique(np.concatenate([[-1.0, x_max], np.linspace(-1.0, x_max, 31)]))
    for m in masks:
        law = cache.laws("F", m).h2
        alone = family_laws(lay, row, m, x_min=-60.0).h2
        np.testing.assert_allclose(law.sf(xs), alone.sf(xs), rtol=1e-12, atol=1e-300)
        h1 = cache.laws("F", m).h1
        np.testing.assert_allclose(h1.cdf(xs), family_laws(lay, row, m, x_min=-60.0).h1.cdf(xs),
                                   rtol=1e-12, atol=1e-300)


def test_spans_cover_every_threshold_asked():
    """annotate's per-family spans: H2 from min(0, power, candidates) floored to the grid up
    to max(20, power, candidates); H1 from min(power, candidates) to max(power, candidates);
    a family without candidates asks H1 only at the power threshold; non-finite scores ask
    nothing."""
    got = spans(["A", "A", "B", "A"], np.array([7.25, -1.5004, np.inf, 23.0]), ["A", "B", "C"],
                1e-3, power_log10_lr=4.0)
    a = got["A"]                               # -1.5004 floored to the 1e-3 grid: -1501 x 1e-3
    assert (a.h2_min, a.h2_max, a.h1_min, a.h1_max) == pytest.approx((-1.501, 23.0, -1.501, 23.0),
                                                                     rel=1e-15)
    assert a.h2_min <= -1.5004 and a.h1_min <= -1.5004
    assert got["B"] == Span(0.0, 20.0, 4.0, 4.0)
    assert got["C"] == Span(0.0, 20.0, 4.0, 4.0)


# --------------------------------------------------------------------------- known values by hand
def test_duo_exclusion_probability_by_hand():
    """P_H2(LR = 0) for a duo, mutation model none, is the probability that a random person
    shares no allele with the parent: (1 - p_a - p_b)^2 for a heterozygous parent a/b,
    (1 - p_a)^2 for a homozygote a/a, and over independent loci
    1 - prod_l (1 - PE_l) (exclusion probability of a single parent; Evett & Weir,
    Interpreting DNA Evidence, 1998, ch. 7; Butler, Advanced Topics in Forensic DNA
    Typing: Interpretation, 2015, ch. 15-16 on parentage exclusion)."""
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    p = FREQS3
    parent = [(0, 2), (1, 1), (3, 4)]
    pe = [(1 - p[0][0] - p[0][2]) ** 2, (1 - p[1][1]) ** 2, (1 - p[2][3] - p[2][4]) ** 2]
    row = duo_row(enc, parent)
    for l in range(3):
        law = family_laws(lay, row, np.arange(3) == l, x_min=-10)
        assert law.h2.zero == pytest.approx(pe[l], rel=1e-12)
        assert law.h1.zero == 0.0                           # a true child is never excluded
    law = family_laws(lay, row, x_min=-10)
    assert law.h2.zero == pytest.approx(1 - np.prod([1 - e for e in pe]), rel=1e-12)
    # one locus, parent 10/12 (codes 0, 2): the child's LR is 1/(4 p_a) for a/x, 1/(2 p_a)
    # for a/a and (p_a + p_b)/(4 p_a p_b) for a/b (KINSHIP.md's X1); P_H2(LR >= 1/(2 p_a))
    # with p_a = 0.1 is P(child 10/10) + P(child 10/12: LR (0.4)/(0.12) = 3.33 < 5) = p_a^2.
    one = family_laws(lay, row, np.arange(3) == 0, x_min=-10)
    assert float(one.h2.sf(math.log10(1 / (2 * 0.1)))) == pytest.approx(0.1 ** 2, rel=1e-12)
    # and P_H1(child is 10/10) = P(parent gives 10) * p_10 = 0.5 * 0.1; H1 is rounded down,
    # so the atom at exactly log10 5 is counted from log10 5 - n delta (the next atom is 0.52)
    x = math.log10(1 / (2 * 0.1))
    assert float(one.h1.sf(x - one.h1.error_bound)) == pytest.approx(0.05, rel=1e-12)
    assert float(one.h1.sf(x)) == 0.0         # the documented lower bound of power


def test_trio_random_match_by_hand():
    """Parents 10/10 and 11/11 can only have 10/11 children: a random person is compatible
    with probability 2 p_10 p_11 (the random-match probability of the trio's one genotype),
    and then LR = 1 / (2 p_10 p_11) (KINSHIP.md trio formula)."""
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = trio_row(enc, [(0, 0), None, None], [(1, 1), None, None])
    law = family_laws(lay, row, x_min=-10)
    rmp = 2 * 0.1 * 0.2
    assert law.h2.zero == pytest.approx(1 - rmp, rel=1e-12)
    assert float(law.h2.sf(math.log10(1 / rmp))) == pytest.approx(rmp, rel=1e-12)
    assert float(law.h1.sf(math.log10(1 / rmp) - law.h1.error_bound)) == pytest.approx(1.0, rel=1e-12)
    # E_H2[LR] = 1: the H1 law is LR x the H2 law
    assert law.loci.tolist() == [0]


# --------------------------------------------------------------------------- Monte Carlo
@pytest.fixture(scope="module")
def national(asian_table):
    enc = Encoding.build(asian_table, {}, 0.001)
    return enc, Layout.from_encoding(enc)


def draw_profiles(rng, enc, n: int, father: np.ndarray | None = None) -> np.ndarray:
    """uint16 [n, L]: unrelated profiles (HWE, normalised frequencies) or, with a father's
    codes, his children by Mendelian transmission without mutation (the mother's allele
    from the population)."""
    out = np.zeros((n, len(enc.loci)), np.uint16)
    for l, lc in enumerate(enc.loci):
        cdf = np.cumsum(lc.frequencies / lc.frequencies.sum())
        cdf[-1] = 1.0
        a = np.searchsorted(cdf, rng.random(n), side="right")
        if father is None:
            b = np.searchsorted(cdf, rng.random(n), side="right")
        else:
            lo, hi = genotype_pairs(lc.n_alleles)
            g = int(father[l]) - 1
            b = np.where(rng.random(n) < 0.5, lo[g], hi[g])
        out[:, l] = genotype_index(a, b)
    return out


def scores(row: np.ndarray, enc: Encoding, codes: np.ndarray) -> np.ndarray:
    """The screen's gather-sum (kernels/reference.py), float64 [n]."""
    acc = np.zeros(len(codes))
    for l in range(codes.shape[1]):
        acc += row[enc.offsets[l] + codes[:, l].astype(np.int64)]
    return acc


def mc_agrees(est: float, lower: float, upper: float, n: int) -> bool:
    """``est`` (a frequency of n draws) within MC_SE binomial standard errors of [lower, upper]."""
    se = lambda p: math.sqrt(max(p * (1 - p), 1e-300) / n)
    return lower - MC_SE * se(lower) <= est <= upper + MC_SE * se(upper)


def thresholds_at(sf: np.ndarray, grid: np.ndarray, targets) -> list[float]:
    """The first grid x where a decreasing ``sf`` falls to each target or below."""
    return [float(grid[np.argmax(sf <= t)]) for t in targets]


@pytest.mark.slow
def test_monte_carlo_h2_and_h1(national):
    """10^6 unrelated profiles and 10^6 children of the typed father (29 loci), against the
    exact laws, at thresholds down to a tail of about 1e-5: each frequency within 4 binomial
    standard errors sqrt(p (1 - p) / 10^6) of the grid bracket [sf(x + n delta), sf(x)].

    H2 uses the stepwise-mutation table (every LR finite, so the upper tail is reachable) and
    the mutation-free one compared on 8 loci (a missing person typed on fewer loci; LR-0 mass:
    the exclusion probability); H1 the mutation-free table on all loci,
    as the children are simulated by Mendelian transmission without mutation."""
    enc, lay = national
    rng = np.random.default_rng(2026)
    father = draw_profiles(rng, enc, 1)[0]
    used = {"father": Member("F", "father", "M", father)}
    row_mut = scorer(enc, "stepwise").table_row(Hypothesis.DUO_FATHER, used)
    row0 = scorer(enc, "none").table_row(Hypothesis.DUO_FATHER, used)
    grid = np.arange(-60.0, 40.0, 0.01)
    unrelated_codes = draw_profiles(rng, enc, MC_DRAWS)
    report = []
    few = np.arange(len(enc.loci)) < 8          # mutation-free: 8 loci keep the finite part likely
    for row, mask in ((row_mut, None), (row0, few)):
        law = family_laws(lay, row, mask, x_min=-60.0)
        eb = law.h2.error_bound
        unrelated = scores(row, enc, unrelated_codes if mask is None else
                           np.where(mask[None, :], unrelated_codes, 0).astype(np.uint16))
        sf = law.h2.sf(grid)
        for x in thresholds_at(sf, grid, (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)):
            est = float(np.mean(unrelated >= x))
            assert mc_agrees(est, float(law.h2.sf(x + eb)), float(law.h2.sf(x)), MC_DRAWS), (x, est)
            report.append(("H2", x, est, float(law.h2.sf(x))))
        z = law.h2.zero
        assert float(np.mean(unrelated == -np.inf)) == pytest.approx(
            z, abs=MC_SE * math.sqrt(z * (1 - z) / MC_DRAWS) + 1e-300)
    assert report[4][2] > 0 and report[4][3] < 2e-5           # the 1e-5 tail was reached
    law = family_laws(lay, row0, x_min=-60.0)
    eb = law.h1.error_bound
    children = scores(row0, enc, draw_profiles(rng, enc, MC_DRAWS, father))
    assert np.all(np.isfinite(children)) and law.h1.zero == 0.0
    for x in thresholds_at(law.h1.sf(grid), grid, (0.9, 0.5, 0.1, 1e-2, 1e-3, 1e-4)):   # power side
        est = float(np.mean(children >= x))
        assert mc_agrees(est, float(law.h1.sf(x)), float(law.h1.sf(x - eb)), MC_DRAWS), (x, est)
        report.append(("H1 >=", x, est, float(law.h1.sf(x))))
    cdf = law.h1.cdf(grid)
    for t in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5):                 # lower tail: p_h1
        x = float(grid[len(grid) - 1 - np.argmax(cdf[::-1] <= t)])
        est = float(np.mean(children <= x))
        assert mc_agrees(est, float(law.h1.cdf(x - eb)), float(law.h1.cdf(x)), MC_DRAWS), (x, est)
        report.append(("H1 <=", x, est, float(law.h1.cdf(x))))
    for r in report:
        print(f"MC {r[0]:6s} x={r[1]:7.2f}  simulated {r[2]:.3e}  exact {r[3]:.3e}")


def test_h1_is_lr_times_h2(national):
    """E_H2[LR] = sum over atoms of P_H2 x 10^s = 1 - P_H1(below) (the table is exact): on a
    national encoding, mutation stepwise, grid error included (10^(n delta))."""
    enc, lay = national
    rng = np.random.default_rng(3)
    father = draw_profiles(rng, enc, 1)[0]
    row = scorer(enc, "stepwise").table_row(Hypothesis.DUO_FATHER,
                                            {"father": Member("F", "father", "M", father)})
    law = family_laws(lay, row, x_min=-200.0)
    s = (law.h2.lo + np.arange(law.h2.pmf.size)) * law.h2.delta
    mean_lr = float(np.sum(law.h2.pmf * 10.0 ** s))
    assert 1.0 <= mean_lr * (1 + 1e-9) and mean_lr <= 10 ** law.h2.error_bound * (1 + 1e-9)
    assert law.h1.normaliser < 1e-6


def test_cache_and_annotate_columns(national):
    enc, lay = national
    rng = np.random.default_rng(4)
    rows = {}
    for i in range(3):
        f = draw_profiles(rng, enc, 1)[0]
        rows[f"F{i}"] = scorer(enc, "none").table_row(Hypothesis.DUO_FATHER,
                                                      {"father": Member("F", "father", "M", f)})
    codes = draw_profiles(rng, enc, 50)
    searched = SearchedSet.from_codes(codes, 6)
    assert searched.searched == 50 and len(searched.counts) == 1
    import pyarrow as pa
    cands = pa.table({"missing_id": ["M0", "M1", "M2"], "family_id": ["F0", "F0", "F1"],
                      "log10_lr": [2.0, -np.inf, 5.0]})
    cache_calls = LawCache(lay, rows)
    out, fams = annotate(cands, lay, rows, searched, families=sorted(rows))
    p = out.column("p_h2").to_pylist()
    law0 = cache_calls.laws("F0")
    assert p[0] == pytest.approx(float(law0.h2.sf(2.0)), rel=1e-12)
    assert p[1] == 1.0 and out.column("p_h1").to_pylist()[1] == pytest.approx(law0.h1.zero)
    assert out.column("expected_chance_matches").to_pylist()[2] == pytest.approx(p[2] * 50)
    f = fams.to_pylist()
    assert [r["family_id"] for r in f] == ["F0", "F1", "F2"]
    assert f[0]["expected_chance_matches"] == pytest.approx(50 * float(law0.h2.sf(4.0)), rel=1e-12)
    assert f[0]["power"] == pytest.approx(float(law0.h1.sf(4.0)), rel=1e-12)
    th = chance_thresholds(fams.append_column("kind", pa.array(["duo"] * 3)), by=("kind",)).to_pylist()[0]
    total = np.sum([r["expected_chance_matches_curve"] for r in f], axis=0)
    assert th["log10_lr_threshold"] == THRESHOLD_GRID[np.argmax(total <= 1)]
    assert len(cache_calls) == 1


# --------------------------------------------------------------------------- a simulated database
@pytest.mark.slow
@pytest.mark.parametrize("seed", [19, 7, 3])
def test_chance_matches_of_a_simulated_database(asian_table, settings, tmp_path, seed):
    """Unrelated missing persons whose rank-1 candidate reaches LR 10 (and 100), counted in a
    re-matched simulated database (300 one-parent families, 300 unrelated missing persons,
    everyone typed on the 15 Identifiler loci, so every person is compared at its family's
    loci: duo searches on few loci are where chance matches happen), against the
    expectation from the calibrated laws: E = sum_q [1 - prod_f (1 - p_h2(f, t))] with spread
    sqrt(sum_q P_q (1 - P_q)) (independent unrelated persons given the families); the
    count must lie within 4 spreads of [E(t + n delta), E(t)] (the grid bracket), on each of
    three seeds (printed: count, expectation, spread). The run's own calibrate stage wrote the
    same columns and families table as the standalone calibration of the finished folder."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from reunion.calibration import annotate_run, read_run
    from reunion.flows.rematch import rematch_flow
    from reunion.ingest import ingest
    from reunion.simulate import SimulationSettings, simulate_database

    inp, shards, run = tmp_path / "input", tmp_path / "shards", tmp_path / "run"
    simulate_database(inp, asian_table, SimulationSettings(
        n_families=300, n_unrelated_missing=300, corrupt_rows=0, dropout_fraction=0.0,
        one_parent_fraction=1.0, sibling_fraction=0.0, kit_weights={"id15": 1.0}, seed=seed))
    ingest(inp / "samples.csv", [inp / "genotypes.csv"], shards, settings)
    rematch_flow(shards, run, settings)
    truth = pacsv.read_csv(inp / "truth.csv").to_pylist()
    unrelated = {r["missing_id"] for r in truth if r["kind"] == "unrelated"}
    cands, fams = annotate_run(run)
    r = read_run(run)
    in_run = pq.read_table(run / "candidates.parquet")
    assert in_run.num_rows == cands.num_rows
    for name in ("p_h2", "expected_chance_matches", "p_h1", "error_bound_log10", "error_bound_log10_h1",
                 "probability_error"):
        assert in_run.column(name).to_pylist() == cands.column(name).to_pylist(), name
    # the run's families table is annotate's plus whom to sample next (tests/test_sampling_advice.py)
    from reunion.contracts import FAMILY_ADVICE_FIELDS
    cal_cols = [c for c in fams.column_names if c not in FAMILY_ADVICE_FIELDS]
    assert pq.read_table(run / "families.parquet").select(cal_cols).to_pylist() == fams.select(cal_cols).to_pylist()
    cache = LawCache(r.layout, r.rows)
    best = {c["missing_id"]: c["log10_lr"] for c in cands.to_pylist() if c["rank"] == 1}
    for x in (1.0, 2.0):
        count = sum(1 for m in unrelated if best.get(m, -np.inf) >= x)
        bounds = []
        for xx in (x, x + r.layout.n_loci * GRID):
            p = np.array([float(cache.laws(f).h2.sf(xx)) for f in sorted(r.rows)])
            P = 1.0 - np.prod(1.0 - p)
            bounds.append((len(unrelated) * P, math.sqrt(len(unrelated) * P * (1 - P))))
        (hi, sd_hi), (lo, sd_lo) = bounds
        print(f"seed {seed}: LR >= 10^{x:g}: {count} unrelated persons; expected {lo:.1f} .. {hi:.1f} "
              f"(spread {sd_hi:.1f})")
        assert lo - 4 * sd_lo <= count <= hi + 4 * sd_hi
    f = fams.to_pylist()
    assert all(row["persons_approximated"] == 0 for row in f)
    # pairs: every (missing person, other family) pair with LR >= 10 in the lists, against the
    # families table's expected chance matches summed over families (Poisson spread sqrt(E))
    own = {r["missing_id"]: r["family_id"] for r in truth if r["kind"] != "unrelated"}
    pairs = sum(1 for c in cands.to_pylist() if c["log10_lr"] >= 1.0 and own.get(c["missing_id"]) != c["family_id"])
    i10 = int(np.flatnonzero(THRESHOLD_GRID == 1.0)[0])
    e_pairs = sum(row["expected_chance_matches_curve"][i10] for row in f)
    print(f"pairs with LR >= 10: {pairs}; families table expects {e_pairs:.1f} (spread {math.sqrt(e_pairs):.1f})")
    assert abs(pairs - e_pairs) <= 4 * math.sqrt(e_pairs) + 1
    # `reunion calibrate RUN` writes the same tables beside the run, leaving its files alone
    from reunion.calibration import write_calibration
    before = pq.read_table(run / "candidates.parquet")
    paths = write_calibration(run)
    assert pq.read_table(paths["candidates"]).to_pylist() == in_run.to_pylist()
    assert pq.read_table(paths["families"]).select(cal_cols).equals(fams.select(cal_cols))
    assert pq.read_table(paths["families"]).equals(pq.read_table(run / "families.parquet"))
    assert pq.read_table(run / "candidates.parquet").equals(before)


def test_theta_runs_are_refused(tmp_path):
    """With theta > 0 a random person's genotype is not drawn from P_HW given the table's
    denominator (the conditional match probability): the calibration refuses the run."""
    from records_cases import run_record_with

    from reunion.calibration import read_run
    run_record_with(config={"scoring": {"theta": 0.01}}).write(tmp_path / "run.json")
    with pytest.raises(CalibrationError, match="theta"):
        read_run(tmp_path)
    from typer.testing import CliRunner

    from reunion.cli import app
    res = CliRunner().invoke(app, ["calibrate", str(tmp_path)])
    assert res.exit_code == 2 and "theta" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "calibration").exists()
    # the calibration settings are a section of the one tree: --set is validated as everywhere
    res = CliRunner().invoke(app, ["calibrate", str(tmp_path), "--set", "calibration.grid=0"])
    assert res.exit_code == 2 and "calibration.grid = 0" in res.output and "Traceback" not in res.output


def test_calibration_settings_are_a_bounded_section():
    """calibration.* in the one settings tree: described, bounded, overridable by --set."""
    from reunion.errors import SettingsError
    from reunion.settings import CalibrationSettings, load_settings

    c = load_settings(None).calibration
    assert (c.enabled, c.grid, c.power_log10_lr, c.max_mask_groups, c.threads) == (True, 1e-3, 4.0, 4, 0)
    assert all(f.description for f in CalibrationSettings.model_fields.values())
    assert load_settings(None, ["calibration.grid=0.01", "calibration.max_mask_groups=null"]).calibration.grid == 0.01
    for bad in ("calibration.grid=0", "calibration.grid=0.5", "calibration.power_log10_lr=-1",
                "calibration.max_mask_groups=0", "calibration.threads=-1"):
        with pytest.raises(SettingsError, match=bad.split("=")[0].replace(".", r"\.")):
            load_settings(None, [bad])
