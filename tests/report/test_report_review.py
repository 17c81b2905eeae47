"""Review categories, rival ratios, posteriors and run comparison (reunion.report.review)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from reunion.report import (ReviewSettings, categorise, compare_runs, fmt_posterior, fmt_pow10,
                            fmt_rival, posterior)
from report_cases import INF, by_key, cand


# --------------------------------------------------------------------------- settings
def test_settings_defaults_descriptions_and_bounds():
    s = ReviewSettings()
    assert (s.strong_lr, s.max_inconsistent_strong, s.inconclusive_low, s.undisputed_factor,
            s.prior, s.max_chance_matches_strong) == (10_000, 2, 2_000, 100, "one_over_families", 0.01)
    for name, f in ReviewSettings.model_fields.items():
        assert f.description, f"{name} has no description"
    with pytest.raises(ValidationError):
        ReviewSettings(strong_lr=1_000)                      # below inconclusive_low
    with pytest.raises(ValidationError):
        ReviewSettings(max_inconsistent_strong=-1)
    with pytest.raises(ValidationError):
        ReviewSettings(undisputed_factor=0.5)
    with pytest.raises(ValidationError):
        ReviewSettings(prior="flat")
    with pytest.raises(ValidationError):
        ReviewSettings(unknown_field=1)


# --------------------------------------------------------------------------- categories
def test_no_candidates():
    assert categorise([], ReviewSettings(), 10) == []


def test_single_strong_candidate_has_no_rival_and_is_undisputed():
    [r] = categorise([cand("M1", 1, "F1", 5.0)], ReviewSettings(), 10)
    assert r["rival_ratio"] is None and r["log10_rival_ratio"] is None
    assert r["category"] == "undisputed"
    assert "no rival" in r["category_reason"]
    assert fmt_rival(r["log10_rival_ratio"]) == "no rival"


def test_tie_gives_ratio_one_and_is_not_undisputed():
    rows = categorise([cand("M1", 1, "F1", 6.0), cand("M1", 2, "F2", 6.0)], ReviewSettings(), 10)
    r1, r2 = rows
    assert r1["rival_ratio"] == 1.0 and r1["log10_rival_ratio"] == 0.0
    assert r1["category"] == "strong" and r2["category"] == "strong"
    assert r2["rival_ratio"] is None
    # two exclusions tie as well
    e = categorise([cand("M2", 1, "F1", -INF), cand("M2", 2, "F2", -INF)], ReviewSettings(), 10)
    assert e[0]["rival_ratio"] == 1.0 and e[0]["category"] == "weak"


def test_rival_ratio_is_next_rank_and_undisputed_factor():
    rows = categorise([cand("M1", 3, "F3", 4.5), cand("M1", 1, "F1", 10.0),
                       cand("M1", 2, "F2", 7.0)], ReviewSettings(), 10)
    assert [r["family_id"] for r in rows] == ["F1", "F2", "F3"]        # rank order
    assert rows[0]["rival_ratio"] == pytest.approx(1e3)                # LR1/LR2
    assert rows[1]["rival_ratio"] == pytest.approx(10 ** 2.5)          # LR2/LR3
    assert rows[2]["rival_ratio"] is None
    assert [r["category"] for r in rows] == ["undisputed", "strong", "strong"]
    # a rival within the factor: strong, not undisputed
    close = categorise([cand("M1", 1, "F1", 10.0), cand("M1", 2, "F2", 8.5)], ReviewSettings(), 10)
    assert close[0]["rival_ratio"] == pytest.approx(10 ** 1.5)
    assert close[0]["category"] == "strong"
    assert "not undisputed" in close[0]["category_reason"]
    # exactly the factor is enough
    edge = categorise([cand("M1", 1, "F1", 10.0), cand("M1", 2, "F2", 8.0)], ReviewSettings(), 10)
    assert edge[0]["category"] == "undisputed"
    # only rank 1 can be undisputed
    assert categorise([cand("M1", 1, "F1", 3.0), cand("M1", 2, "F2", 3.0 - 9)],
                      ReviewSettings(), 10)[0]["category"] == "weak"


def test_inconclusive_and_weak_boundaries():
    s = ReviewSettings()
    cat = {l: categorise([cand("M", 1, "F", l)], s, 10)[0]["category"]
           for l in (math.log10(2000), 3.5, 3.999, 4.0, 1.0)}
    assert cat[math.log10(2000)] == "weak"             # LR = 2,000 is not above the low bound
    assert cat[3.5] == "inconclusive"
    assert cat[3.999] == "inconclusive"
    assert cat[4.0] == "undisputed"                    # LR = 10,000 is strong (no rival)
    assert cat[1.0] == "weak"
    # inconclusive regardless of rivals, also at rank 2
    rows = categorise([cand("M", 1, "F1", 3.6), cand("M", 2, "F2", 3.4)], s, 10)
    assert [r["category"] for r in rows] == ["inconclusive", "inconclusive"]


def test_strong_lr_with_three_inconsistent_loci_is_not_strong():
    s = ReviewSettings()
    [three] = categorise([cand("M1", 1, "F1", 12.0, inc=3)], s, 10)
    assert three["category"] == "weak"
    assert "3 inconsistent loci" in three["category_reason"]
    [two] = categorise([cand("M1", 1, "F1", 12.0, inc=2)], s, 10)
    assert two["category"] == "undisputed"
    loose = ReviewSettings(max_inconsistent_strong=3)
    assert categorise([cand("M1", 1, "F1", 12.0, inc=3)], loose, 10)[0]["category"] == "undisputed"


def test_huge_and_zero_lrs_do_not_overflow():
    rows = categorise([cand("M1", 1, "F1", 400.0), cand("M1", 2, "F2", 40.0),
                       cand("M1", 3, "F3", -INF)], ReviewSettings(), 10)
    assert rows[0]["rival_ratio"] == INF               # 10**360 is beyond float64
    assert rows[0]["log10_rival_ratio"] == pytest.approx(360.0)
    assert rows[1]["rival_ratio"] == INF               # rival excluded (LR 0)
    assert rows[1]["log10_rival_ratio"] == INF
    assert rows[0]["posterior"] == 1.0 and rows[2]["posterior"] == 0.0
    assert fmt_pow10(40.0) == "1.00 × 10⁴⁰"
    assert fmt_pow10(-INF) == "0"
    assert fmt_rival(INF) == "∞ (rival LR 0)"
    assert fmt_rival(0.0) == "1 (tie)"


def test_missing_persons_are_independent_and_inputs_untouched():
    inp = [cand("M2", 1, "F9", 5.0), cand("M1", 1, "F1", 5.0), cand("M1", 2, "F2", 4.9)]
    before = [dict(c) for c in inp]
    rows = categorise(inp, ReviewSettings(), 10)
    assert inp == before
    k = by_key(rows)
    assert k[("M2", "F9")]["category"] == "undisputed"
    assert k[("M1", "F1")]["category"] == "strong"
    assert [r["missing_id"] for r in rows] == ["M1", "M1", "M2"]


def test_posterior_by_hand_with_both_priors():
    half = categorise([cand("M1", 1, "F1", 4.0)], ReviewSettings(prior="half"), 400)[0]
    assert half["posterior"] == pytest.approx(10_000 / 10_001, rel=1e-12)
    assert half["prior"] == "half" and half["prior_probability"] == 0.5
    s = ReviewSettings(prior="one_over_families")
    one = categorise([cand("M1", 1, "F1", 4.0)], s, 400)[0]
    pi = 1 / 400
    assert one["posterior"] == pytest.approx(1e4 * pi / (1e4 * pi + 1 - pi), rel=1e-12)
    assert one["posterior"] == pytest.approx(1e4 / (1e4 + 399), rel=1e-12)
    assert one["prior"] == "one_over_families" and one["prior_probability"] == pytest.approx(pi)
    # LR 1 at prior 0.5 is 50%; LR 0 is 0; one family makes the prior 1
    assert posterior(0.0, 0.5) == 0.5
    assert posterior(-INF, 0.5) == 0.0
    assert posterior(-3.0, 1.0) == 1.0
    assert posterior(-400.0, 0.5) == pytest.approx(0.0, abs=1e-300)
    with pytest.raises(ValueError, match="number of families"):
        categorise([cand("M1", 1, "F1", 4.0)], s, None)
    # a configured prior, and the single-case view (prior 0.5) beside every headline posterior
    fixed = categorise([cand("M1", 1, "F1", 2.0)], ReviewSettings(prior="fixed", prior_value=0.01), 400)[0]
    assert fixed["posterior"] == pytest.approx(100 * 0.01 / (100 * 0.01 + 0.99), rel=1e-12)
    assert fixed["prior"] == "fixed" and fixed["prior_probability"] == 0.01
    assert fixed["posterior_single_case"] == pytest.approx(100 / 101, rel=1e-12)
    assert one["posterior_single_case"] == pytest.approx(half["posterior"], rel=1e-15)
    with pytest.raises(ValidationError):
        ReviewSettings(prior="fixed", prior_value=1.0)
    assert fmt_posterior(10_000 / 10_001) == "99.9900%"
    assert fmt_posterior(1.0) == "> 99.9999%"
    assert fmt_posterior(0.5) == "50.00%"


def test_compare_runs():
    s = ReviewSettings()
    prev = categorise([cand("M1", 1, "F1", 3.5), cand("M2", 1, "F2", 6.0),
                       cand("M3", 1, "F3", 8.0), cand("M3", 2, "F4", 2.0)], s, 10)
    cur = categorise([cand("M1", 1, "F1", 9.0), cand("M2", 1, "F2", 5.0),
                      cand("M3", 1, "F5", 9.0), cand("M3", 2, "F3", 8.0), cand("M4", 1, "F6", 1.0)],
                     s, 10)
    ch = compare_runs(cur, prev)
    assert {(e["now"]["missing_id"], e["now"]["family_id"]) for e in ch["new"]} == \
        {("M3", "F5"), ("M4", "F6")}
    assert [(e["before"]["missing_id"], e["before"]["family_id"]) for e in ch["dropped"]] == \
        [("M3", "F4")]
    assert [e["now"]["family_id"] for e in ch["improved"]] == ["F1"]           # inconclusive -> undisputed
    assert {e["now"]["family_id"] for e in ch["worsened"]} == {"F2", "F3"}     # lower LR; lost "undisputed"
    assert [e["now"]["missing_id"] for e in ch["best_changed"]] == ["M3"]
    assert all(not v for v in compare_runs(cur, cur).values())


# --------------------------------------------------------------------------- calibrated candidates
def calibrated(c: dict, p_h2: float, searched: int) -> dict:
    """A candidate of a calibrated run: p_h2 and expected_chance_matches = p_h2 x searched."""
    return {**c, "p_h2": p_h2, "expected_chance_matches": p_h2 * searched, "p_h1": 0.5,
            "error_bound_log10": 0.02}


def test_strong_needs_few_expected_chance_matches():
    """Strong (and so undisputed) only with expected_chance_matches below the bound (0.01 by
    default): with 400 persons searched, p_h2 2e-5 expects 0.008 (strong), 2.5e-5 exactly 0.01
    and 1e-4 0.04 (both inconclusive: the bound is strict); an uncalibrated candidate is
    categorised as before."""
    s = ReviewSettings()
    rows = categorise([calibrated(cand("M1", 1, "F1", 5.0), 2e-5, 400),
                       calibrated(cand("M2", 1, "F2", 5.0), 2.5e-5, 400),
                       calibrated(cand("M3", 1, "F3", 5.0), 1e-4, 400),
                       cand("M4", 1, "F4", 5.0)], s, 400, searched=400)
    k = by_key(rows)
    assert k[("M1", "F1")]["category"] == "undisputed"
    assert k[("M2", "F2")]["category"] == "inconclusive"
    assert k[("M3", "F3")]["category"] == "inconclusive"
    assert "0.04 chance matches expected" in k[("M3", "F3")]["category_reason"]
    assert "fewer than 0.01" in k[("M3", "F3")]["category_reason"]
    assert k[("M4", "F4")]["category"] == "undisputed" and k[("M4", "F4")]["chance_words"] is None
    # a looser bound makes M3 strong again; weak and inconclusive LRs are not raised by it
    loose = by_key(categorise([calibrated(cand("M3", 1, "F3", 5.0), 1e-4, 400),
                               calibrated(cand("M5", 1, "F5", 3.5), 1e-9, 400)],
                              ReviewSettings(max_chance_matches_strong=0.05), 400, searched=400))
    assert loose[("M3", "F3")]["category"] == "undisputed"
    assert loose[("M5", "F5")]["category"] == "inconclusive"


def test_chance_words_by_hand():
    """'about 1 in N ...; in this database of M, expect K ...': N = 1 / p_h2, K = p_h2 x M."""
    [r] = categorise([calibrated(cand("M1", 1, "F1", 5.0), 1 / 2500, 400)], ReviewSettings(), 400,
                     searched=400)
    assert r["chance_words"] == ("about 1 in 2,500 unrelated people reach this LR against this family; "
                                 "in this database of 400, expect 0.16 such chance matches")
    [r] = categorise([calibrated(cand("M1", 1, "F1", 9.0), 1 / 3.2e8, 2_000_000)], ReviewSettings(),
                     400, searched=2_000_000)
    # 2e6 / 3.2e8 = 0.00625
    assert r["chance_words"] == ("about 1 in 3.20 × 10⁸ unrelated people reach this LR against this "
                                 "family; in this database of 2,000,000, expect 6.25 × 10⁻³ such "
                                 "chance matches")
