"""The capacity model (reunion/capacity.py) on synthetic timings: known coefficients are
recovered, and its predictions are the arithmetic worked out by hand here."""

from __future__ import annotations

import math

import pytest

from reunion import capacity
from reunion.capacity import Cluster, Stage, Workload

#: made-up stage costs on one core: (fixed seconds, seconds per unit of the natural size)
TRUE = {Stage.INGEST: (2.0, 1 / 1.5e5), Stage.TABLES: (0.5, 1 / 2400), Stage.SCREEN: (0.25, 1 / 4.9e8),
        Stage.MERGE: (0.1, 1 / 2e6), Stage.RESCORE: (0.3, 1 / 3000), Stage.PUBLISH: (0.2, 1 / 1e5),
        Stage.REPORT: (1.0, 1 / 1000)}


def workload(n: int) -> Workload:
    """n families and n missing persons, 23 genotype rows per profile (two profiles per family
    and one per missing person), 3 candidates per missing person."""
    return Workload(missing=n, families=n, genotype_rows=23 * 3 * n, candidates=3 * n)


def synthetic(sizes) -> list[tuple[Workload, dict[Stage, float]]]:
    return [(w, {s: a + b * w.size(s) for s, (a, b) in TRUE.items()}) for w in map(workload, sizes)]


def test_known_coefficients_are_recovered():
    fits = capacity.fit(synthetic([1000, 4000, 20000, 40000]))
    for s, (a, b) in TRUE.items():
        assert fits[s].fixed_s == pytest.approx(a, rel=1e-9, abs=1e-12), s
        assert fits[s].per_unit_s == pytest.approx(b, rel=1e-9), s
        assert fits[s].rate_per_core == pytest.approx(1 / b, rel=1e-9)
        assert fits[s].rms_s < 1e-9 and fits[s].points == 4
    # the natural sizes: the screen's is missing x families
    assert workload(4000).size(Stage.SCREEN) == 16_000_000
    assert workload(4000).size(Stage.INGEST) == 276_000


def test_least_squares_of_noisy_points_by_hand():
    # y = 1 + 2x measured as 3.1, 4.9, 7.2 at x = 1, 2, 3: slope = Sxy / Sxx over the centred
    # points, x - 2 = (-1, 0, 1) and y - 15.2/3, so Sxx = 2 and Sxy = 7.2 - 3.1 = 4.1
    f = capacity.fit_stage(Stage.TABLES, [1, 2, 3], [3.1, 4.9, 7.2])
    slope = ((1 - 2) * (3.1 - 15.2 / 3) + (3 - 2) * (7.2 - 15.2 / 3)) / 2
    assert f.per_unit_s == pytest.approx(2.05, rel=1e-12) == pytest.approx(slope)
    assert f.fixed_s == pytest.approx(15.2 / 3 - 2.05 * 2, rel=1e-12)          # mean y - slope * mean x
    residuals = [f.seconds(x) - y for x, y in [(1, 3.1), (2, 4.9), (3, 7.2)]]
    assert f.rms_s == pytest.approx(math.sqrt(sum(r * r for r in residuals) / 3), rel=1e-12)


def test_a_negative_fixed_cost_is_clamped_and_the_slope_refitted_through_the_origin():
    # the line through (10, 1) and (20, 3) has fixed cost -1: clamped, slope = Sxy / Sxx
    f = capacity.fit_stage(Stage.RESCORE, [10, 20], [1.0, 3.0])
    assert f.fixed_s == 0.0
    assert f.per_unit_s == pytest.approx((10 * 1 + 20 * 3) / (10 * 10 + 20 * 20), rel=1e-12)   # 0.14
    # a stage that gets faster with size (noise): no slope, the mean as fixed cost
    g = capacity.fit_stage(Stage.MERGE, [10, 20], [0.3, 0.1])
    assert (g.fixed_s, g.per_unit_s) == (pytest.approx(0.2), 0.0) and math.isinf(g.rate_per_core)
    # one point: through the origin and the point
    h = capacity.fit_stage(Stage.SCREEN, [4e6], [2.0])
    assert (h.fixed_s, h.per_unit_s) == (0.0, pytest.approx(5e-7))
    with pytest.raises(ValueError, match="tables: sizes and seconds must be equal-length"):
        capacity.fit_stage(Stage.TABLES, [1, 2], [1.0])


def test_the_national_prediction_by_hand():
    fits = capacity.fit(synthetic([1000, 4000, 20000]))
    national = Workload(missing=1_000_000, families=5_000_000, genotype_rows=200_000_000,
                        candidates=10_000_000)
    gpu = Cluster(nodes=2, cores=16, gpus=4, gpu_pairs_per_second=5e10)
    p = capacity.predict(fits, national, gpu)
    hand = {
        "ingest": 2.0 + 200_000_000 / 1.5e5,                 # one process: 1,335.33 s
        "tables": 0.5 + 5_000_000 / 2400 / (2 * 16),         # every core of both nodes: 65.60 s
        "screen": 0.25 + 5e12 / (2 * 4 * 5e10),              # 8 GPUs at 5e10 pairs/s: 12.75 s
        "merge": 0.1 + 10_000_000 / 2e6,                     # flow process: 5.1 s
        "rescore": 0.3 + 10_000_000 / 3000 / (2 * 16),       # 104.47 s
        "publish": 0.2 + 10_000_000 / 1e5,                   # 100.2 s
        "report": 1.0 + 10_000_000 / 1000,                   # flow process: 10,001 s
    }
    for k, v in hand.items():
        assert p[k] == pytest.approx(v, rel=1e-9), k
    assert p["total"] == pytest.approx(sum(hand.values()), rel=1e-9)
    # no GPU: the screen on the 32 cores at 4.9e8 pairs/s each
    cpu = capacity.predict(fits, national, Cluster(nodes=2, cores=16, gpus=0))
    assert cpu["screen"] == pytest.approx(0.25 + 5e12 / 4.9e8 / 32, rel=1e-9)     # 318.9 s
    assert cpu["tables"] == p["tables"] and cpu["ingest"] == p["ingest"]


def test_memory_arithmetic_and_bad_clusters():
    assert capacity.device_bytes_per_profile(24) == 48
    assert capacity.table_bytes(2000, 1752) == 2000 * 1752 * 8 == 28_032_000
    assert capacity.table_bytes(2000, 1752, itemsize=4) == 14_016_000
    with pytest.raises(ValueError, match="a cluster needs nodes >= 1"):
        Cluster(nodes=0)
    with pytest.raises(ValueError, match="a cluster needs"):
        Cluster(gpus=1, gpu_pairs_per_second=0)
