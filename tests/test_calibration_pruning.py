"""The calibration's error contract with probability pruning (reunion/calibration.py,
calibration.epsilon) and the law store a rerun reads (LawStore).

Contract checked here: with budget epsilon > 0, p_h2 (H2 ``sf``) and p_h1 (H1 ``cdf``) are
upper bounds and power (H1 ``sf``) a lower bound of the exact probabilities, each within the
grid shift (``error_bound``) and within ``probability_error`` (<= epsilon) of the gridded law,
so against the unpruned law on the same grid (epsilon = 0, the reference that
tests/test_calibration.py holds to brute force):

    0 <= p_h2(pruned) - p_h2(reference) <= probability_error
    0 <= p_h1(pruned) - p_h1(reference) <= probability_error
    0 <= power(reference) - power(pruned) <= probability_error

Expected values come from brute-force enumeration (small tables) or from the unpruned law.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_calibration import FREQS3, brute_force, duo_row, small_encoding, trio_row

from reunion.calibration import (
    THRESHOLD_GRID,
    LawCache,
    LawStore,
    Layout,
    SearchedSet,
    Span,
    annotate,
    family_laws,
    law_store_file,
)
from reunion.encoding import Encoding
from reunion.settings import CalibrationSettings

TOL = 1e-12          # float64 rounding of sums of up to ~1e5 terms, relative


def assert_within(pruned, ref, perr, xs, what):
    """0 <= pruned - ref <= perr at every x (up to float rounding)."""
    d = np.asarray(pruned) - np.asarray(ref)
    slack = TOL * np.maximum(np.abs(ref), 1e-300) + 1e-300
    assert np.all(d >= -slack), (what, xs[np.argmin(d)], float(np.min(d)))
    assert np.all(d <= perr + slack), (what, xs[np.argmax(d)], float(np.max(d)), perr)


def check_against_reference(pruned, ref, xs):
    """The three inequalities of the module docstring, on H2 and H1."""
    ph2 = pruned.h2
    assert 0.0 <= ph2.probability_error <= ph2_eps(pruned)
    assert_within(ph2.sf(xs), ref.h2.sf(xs), ph2.probability_error, xs, "p_h2")
    ph1 = pruned.h1
    assert 0.0 <= ph1.probability_error <= ph2_eps(pruned)
    assert_within(ph1.cdf(xs), ref.h1.cdf(xs), ph1.probability_error, xs, "p_h1")
    assert_within(ref.h1.sf(xs), ph1.sf(xs), ph1.probability_error, xs, "power")
    for d in (ph2, ph1):             # pruned mass is moved into the lumps, none is lost
        assert d.total == pytest.approx(1.0, abs=1e-12)


def ph2_eps(laws) -> float:
    return laws.epsilon * (1 + 1e-9)


# --------------------------------------------------------------------------- brute force, small tables
@pytest.mark.parametrize("model", ["none", "stepwise"])
@pytest.mark.parametrize("eps", [1e-2, 1e-4, 1e-9])
@pytest.mark.parametrize("kind", ["duo", "trio"])
def test_pruned_laws_bound_brute_force(model, eps, kind):
    """3 loci: every threshold between the brute-force atoms; p_h2 within [exact, exact at
    x - n delta + probability_error], p_h1 and power likewise; epsilon 1e-2 really prunes."""
    enc = small_encoding(FREQS3)
    lay = Layout.from_encoding(enc)
    row = (duo_row(enc, [(0, 2), (1, 1), (3, 4)], model) if kind == "duo"
           else trio_row(enc, [(0, 2), (1, 1), (3, 4)], [(1, 3), (0, 2), (0, 0)], model))
    S, P2, P1 = brute_force(lay, row, [0, 1, 2])
    fin = S[np.isfinite(S)]
    x_min = float(fin.min()) - 0.01
    law = family_laws(lay, row, x_min=x_min, epsilon=eps)
    eb2, eb1, perr2, perr1 = law.h2.error_bound, law.h1.error_bound, law.h2.probability_error, law.h1.probability_error
    assert perr2 <= eps and perr1 <= eps
    xs = np.unique(np.concatenate([fin, fin - 1e-4, fin + 1e-4]))
    xs = xs[xs >= x_min]
    for x in xs:
        p = float(law.h2.sf(x))
        assert P2[S >= x].sum() * (1 - TOL) <= p <= P2[S >= x - eb2 - 1e-12].sum() * (1 + TOL) + perr2
        q = float(law.h1.cdf(x))
        assert P1[S <= x].sum() * (1 - TOL) <= q <= P1[S <= x + eb1 + 1e-12].sum() * (1 + TOL) + perr1
        pw = float(law.h1.sf(x))
        assert P1[S >= x + eb1 + 1e-12].sum() * (1 - TOL) - perr1 <= pw <= P1[S >= x].sum() * (1 + TOL)
    if eps == 1e-2:                  # the pruning did something: points dropped, budget spent
        ref = family_laws(lay, row, x_min=x_min)
        assert perr2 + perr1 > 0.0
        assert law.h2.pmf.size + law.h1.pmf.size < ref.h2.pmf.size + ref.h1.pmf.size


def random_table(rng, lay: Layout, L: int) -> np.ndarray:
    """A table row with values from a wide range (mutation-like atoms down to -20 log10)."""
    row = np.zeros(int(lay.offsets[-1] + lay.n_genotypes[-1] + 1))
    for l in range(L):
        o, n = int(lay.offsets[l]), int(lay.n_genotypes[l])
        v = rng.normal(0.0, 0.8, n)
        low = rng.random(n) < 0.5
        v[low] = -rng.uniform(2.0, 20.0, int(low.sum()))
        row[o + 1: o + 1 + n] = v
    return row


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("eps", [1e-6, 1e-15])
@pytest.mark.parametrize("window", [(0.0, np.inf), (-3.0, 2.0), (1.5, 1.5)])
def test_pruned_equals_reference_within_budget(seed, eps, window):
    """8 loci of 6-10 alleles, random tables, both grids: the pruned law against the exact
    reference (epsilon 0) at every grid point of the window and at THRESHOLD_GRID."""
    rng = np.random.default_rng(seed)
    freqs = [list(rng.dirichlet(np.ones(int(rng.integers(6, 11))))) for _ in range(8)]
    enc = small_encoding(freqs)
    lay = Layout.from_encoding(enc)
    row = random_table(rng, lay, 8)
    lo, hi = window
    for d1 in (1e-3, 1e-2):
        ref = family_laws(lay, row, x_min=lo, x_max=hi, delta_h1=d1)
        pruned = family_laws(lay, row, x_min=lo, x_max=hi, delta_h1=d1, epsilon=eps)
        top = hi if np.isfinite(hi) else 12.0
        xs = np.round(np.arange(lo, top + 1e-9, 0.01), 6)
        if np.isinf(hi):
            xs = np.concatenate([xs, THRESHOLD_GRID])
        check_against_reference(pruned, ref, xs)


def test_nested_locus_sets_pruned_within_budget():
    """The chained pass (LawCache.prefetch_h2) with pruning: each nested set's law within the
    budget of its exact law computed alone."""
    rng = np.random.default_rng(5)
    freqs = [list(rng.dirichlet(np.ones(8))) for _ in range(9)]
    enc = small_encoding(freqs)
    lay = Layout.from_encoding(enc)
    row = random_table(rng, lay, 9)
    masks = [np.arange(9) < 4, np.arange(9) < 7, np.ones(9, bool)]
    cache = LawCache(lay, {"F": row}, epsilon=1e-12, spans={"F": Span(-1.0, 15.0, -1.0, 15.0)})
    cache.prefetch_h2("F", masks)
    xs = np.round(np.arange(-1.0, 15.0 + 1e-9, 0.05), 6)
    for m in masks:
        got = cache.laws("F", m).h2
        alone = family_laws(lay, row, m, x_min=-1.0, x_max=15.0).h2
        assert 0.0 <= got.probability_error <= 1e-12
        assert_within(got.sf(xs), alone.sf(xs), got.probability_error, xs, "nested p_h2")


# --------------------------------------------------------------------------- national scale (29 loci)
@pytest.fixture(scope="module")
def national(asian_table):
    enc = Encoding.build(asian_table, {}, 0.001)
    return enc, Layout.from_encoding(enc)


def _parent(rng, enc: Encoding) -> list[tuple[int, int]]:
    out = []
    for lc in enc.loci:
        p = lc.frequencies / lc.frequencies.sum()
        out.append(tuple(sorted(int(a) for a in rng.choice(lc.n_alleles, 2, p=p))))
    return out


@pytest.mark.parametrize("kind", ["duo", "trio"])
def test_national_stepwise_family_pruned_within_budget(national, kind):
    """A demo-like family (29 loci of the shipped Asian frequencies, stepwise mutation, the
    run's defaults: H2 grid 1e-3, H1 grid 1e-2, epsilon 1e-15): every answer a run reads
    (THRESHOLD_GRID, the power threshold, scores 0..30 by 0.01) within the budget of the exact
    reference, and the pruning shrinks the H2 law's support."""
    enc, lay = national
    rng = np.random.default_rng(11 if kind == "duo" else 12)
    father = _parent(rng, enc)
    row = (duo_row(enc, father, "stepwise") if kind == "duo"
           else trio_row(enc, father, _parent(rng, enc), "stepwise"))
    s = CalibrationSettings()
    span = Span(0.0, 30.0, 0.0, 30.0)
    ref = family_laws(lay, row, span=span, delta=s.grid, delta_h1=s.grid_h1)
    pruned = family_laws(lay, row, span=span, delta=s.grid, delta_h1=s.grid_h1, epsilon=s.epsilon)
    xs = np.unique(np.concatenate([THRESHOLD_GRID, [s.power_log10_lr], np.round(np.arange(0, 30, 0.01), 6)]))
    check_against_reference(pruned, ref, xs)
    assert pruned.h2.pmf.size < ref.h2.pmf.size
    assert pruned.h2.probability_error > 0.0


# --------------------------------------------------------------------------- the law store
def _store_case(rng):
    """6 loci; families A-D (duos and trios, stepwise) and a new family E; searched persons
    on two kits (all 6 loci, the first 4); candidates of A-E at scores in and out of [0, 20]."""
    freqs = [list(rng.dirichlet(np.ones(7))) for _ in range(6)]
    enc = small_encoding(freqs)
    lay = Layout.from_encoding(enc)

    def pairs():
        return [tuple(sorted(int(a) for a in rng.integers(0, 7, 2))) for _ in range(6)]
    rows = {f: (duo_row(enc, pairs(), "stepwise") if i % 2 else trio_row(enc, pairs(), pairs(), "stepwise"))
            for i, f in enumerate("ABCDE")}
    masks = np.array([[True] * 6, [True] * 4 + [False] * 2])
    searched = SearchedSet(masks, np.array([30, 12]))
    cands = [("m1", "A", 2.5), ("m2", "A", -0.75), ("m1", "B", 6.0), ("m3", "C", 1.25),
             ("m4", "D", 22.0), ("m2", "E", 3.5), ("m5", "E", 0.5)]
    compared = {("m3", "C"): masks[1], ("m5", "E"): masks[1]}
    return lay, rows, searched, cands, compared


def _cands(rows):
    return pa.table({"missing_id": [r[0] for r in rows], "family_id": [r[1] for r in rows],
                     "log10_lr": pa.array([r[2] for r in rows], pa.float64())})


def test_law_store_rerun_computes_only_the_new_familys_laws(tmp_path):
    """A first run over families A-D saves its laws; a rerun adding family E (same searched
    persons, same candidates of A-D) computes E's laws only (counted) and its columns equal a
    fresh run's to the bit; a changed row (same family id, other bytes) is computed again."""
    lay, rows, searched, cands, compared = _store_case(np.random.default_rng(3))
    kw = dict(compared=compared, epsilon=1e-15, delta_h1=1e-2, max_mask_groups=4)
    old = {f: rows[f] for f in "ABCD"}
    first_c = [c for c in cands if c[1] != "E"]
    s = CalibrationSettings()
    store, counts = LawStore(), {}
    annotate(_cands(first_c), lay, old, searched, families=sorted(old), store=store, counts=counts, **kw)
    assert counts["families_computed"] == 4
    path = store.write(law_store_file(tmp_path / "tables", s))
    assert (path.stat().st_mode & 0o777) == 0o640

    fresh_counts = {}
    fresh = annotate(_cands(cands), lay, rows, searched, families=sorted(rows), counts=fresh_counts, **kw)
    again = LawStore.read([path])
    counts = {}
    rerun = annotate(_cands(cands), lay, rows, searched, families=sorted(rows), store=again, counts=counts, **kw)
    assert counts["families_computed"] == 1
    # E's own laws: its families-table pass (one chain over both kits: 1 pass giving 2 H2 laws),
    # its H1 law over its loci, its candidates' (m2: own loci, already there; m5: kit 2, an H1)
    e_only = {}
    annotate(_cands([c for c in cands if c[1] == "E"]), lay, {"E": rows["E"]}, searched,
             families=["E"], counts=e_only, **kw)
    assert counts["laws_computed"] == e_only["laws_computed"]
    assert fresh_counts["laws_computed"] > counts["laws_computed"]
    assert rerun[0].equals(fresh[0]) and rerun[1].equals(fresh[1])

    # a family whose table row changed is computed again, under the same id
    changed = dict(rows)
    changed["B"] = rows["B"].copy()
    changed["B"][changed["B"] != 0] *= 1.001
    counts = {}
    annotate(_cands(cands), lay, changed, searched, families=sorted(changed),
             store=LawStore.read([path]), counts=counts, **kw)
    assert counts["families_computed"] == 2          # E and the changed B


def test_law_store_file_key_follows_the_law_settings(tmp_path):
    """Another grid, H1 grid or epsilon is another store file; threads or the power
    threshold (asked thresholds are part of each entry) are not."""
    base = CalibrationSettings()
    f = law_store_file(tmp_path, base)
    for change in ({"grid": 2e-3}, {"grid_h1": 1e-3}, {"epsilon": 0.0}):
        assert law_store_file(tmp_path, base.model_copy(update=change)) != f
    for change in ({"threads": 3}, {"max_mask_groups": 2}, {"power_log10_lr": 5.0}):
        assert law_store_file(tmp_path, base.model_copy(update=change)) == f


def test_unreadable_law_store_is_ignored(tmp_path):
    p = tmp_path / "laws" / "x.parquet"
    p.parent.mkdir()
    p.write_bytes(b"not a parquet file")
    assert LawStore.read([p]).entries == {}


def test_chance_words_of_a_p_h2_within_the_budget():
    """A p_h2 within twice its probability_error is a bound: 'fewer than 1 in N', 'at most K'
    (N = 1 / 1.5e-15 = 6.67e14, K = 1.5e-15 x 400 = 6e-13); above it the words are unchanged."""
    from reunion.report.format import chance_words

    assert chance_words(1.5e-15, 1.5e-15 * 400, 400, 1e-15) == (
        "fewer than 1 in 6.67 × 10¹⁴ unrelated people reach this LR against this family; in this "
        "database of 400, expect at most 6.00 × 10⁻¹³ such chance matches")
    assert chance_words(1 / 2500, 400 / 2500, 400, 1e-15) == (
        "about 1 in 2,500 unrelated people reach this LR against this family; in this database "
        "of 400, expect 0.16 such chance matches")


@pytest.mark.slow
def test_simulated_shards_families_table_pruned_within_budget(small_db, settings, tmp_path):
    """The simulated national database (tests/conftest.py small_db, as the demo's: 29 loci,
    stepwise mutation) ingested into shards: for 8 of its families, the families-table values
    a run writes (power, p_h2 at the threshold, the expected-chance-matches curve over the
    searched persons' locus sets) under the defaults against the exact reference: power at
    most probability_error lower, p_h2 and each curve point at most probability_error x
    (persons) higher, never the other way."""
    from reunion.calibration import family_summary, spans
    from reunion.genetics.family import FamilyScorer
    from reunion.genetics.mutation import MutationModels
    from reunion.ingest import ingest, load_encoding, load_manifest, read_shard, shard_codes, shard_families, shards_of

    s = settings.model_copy(deep=True)
    shards = tmp_path / "shards"
    ingest([small_db / "samples.csv"], [small_db / "genotypes.csv"], shards, s)
    manifest = load_manifest(shards)
    enc = load_encoding(shards, manifest)
    lay = Layout.from_encoding(enc)
    scorer = FamilyScorer(enc, MutationModels(s.mutation, enc), s.scoring.theta)
    fams = [f for rec in shards_of(manifest, "reference") for f in shard_families(read_shard(shards, rec))]
    hyps = [h for h in (scorer.hypothesis(f) for f in fams) if h is not None][:8]
    rows = {f"f{i}": r for i, r in enumerate(scorer.table_rows(hyps))}
    codes = np.vstack([shard_codes(read_shard(shards, rec)) for rec in shards_of(manifest, "query")])
    searched = SearchedSet.from_codes(codes, s.scoring.min_typed_loci)
    c = CalibrationSettings()
    sp = spans([], np.zeros(0), list(rows), c.grid, c.power_log10_lr, c.grid_h1)
    ref = LawCache(lay, rows, spans=sp, delta=c.grid, delta_h1=c.grid_h1)
    pruned = LawCache(lay, rows, spans=sp, delta=c.grid, delta_h1=c.grid_h1, epsilon=c.epsilon)
    for fid in rows:
        a = family_summary(ref, fid, searched)
        b = family_summary(pruned, fid, searched)
        pe = b["probability_error"]
        assert a["probability_error"] == 0.0 and 0.0 < pe <= c.epsilon
        assert_within([a["power"]], [b["power"]], pe, np.zeros(1), "power")
        assert_within([b["p_h2_at_threshold"]], [a["p_h2_at_threshold"]], pe, np.zeros(1), "p_h2 at 4")
        n = searched.searched
        assert_within(b["expected_chance_matches_curve"], a["expected_chance_matches_curve"], pe * n,
                      THRESHOLD_GRID, "chance-match curve")


def test_bottom_pruned_mass_is_priced_into_p_h2():
    """Two loci worked by hand, where the pruning really moves a point that can come back:
    X1 = 0 or -1 (1/2 each: genotypes 11, 22 -> 0; 12 -> -1 at frequencies 1/2, 1/2),
    X2 = +1 (genotype 11, 1/4) or -5. P(S >= 0) = P(X2 = 1) = 1/4 (S = 1 or 0). With epsilon
    0.6 the point X1 = -1 (mass 1/2, priced 1/2 x 10^-0.6 = 0.126 by the lambda = 2 Chernoff
    bound of P(X2 >= 1)) is moved below: the law's own mass at >= 0 is 1/8, and p_h2(0) must
    add the price back to stay an upper bound (1/8 + 0.126 >= 1/4)."""
    from reunion.encoding import genotype_index

    enc = small_encoding([[0.5, 0.5], [0.5, 0.5]])
    lay = Layout.from_encoding(enc)
    row = np.zeros(int(lay.offsets[-1] + lay.n_genotypes[-1] + 1))
    o1, o2 = int(lay.offsets[0]), int(lay.offsets[1])
    row[o1 + genotype_index(0, 1)] = -1.0
    row[o2 + genotype_index(0, 0)] = 1.0
    row[o2 + genotype_index(0, 1)] = row[o2 + genotype_index(1, 1)] = -5.0
    law = family_laws(lay, row, x_min=0.0, epsilon=0.6).h2
    assert law.pruned_low > 0.12                          # the X1 = -1 point was moved below
    assert float(law.pmf[max(-law.lo, 0):].sum()) + law.above == pytest.approx(1 / 8)
    p = float(law.sf(0.0))
    assert 0.25 <= p <= 0.25 + law.probability_error
    exact = family_laws(lay, row, x_min=0.0).h2
    assert float(exact.sf(0.0)) == pytest.approx(0.25, rel=1e-12)
