"""The kernel benchmark's kinship workload (reunion.bench).

- its tables are the pipeline's lost-child log10 LRs: a trio's value at a
  child genotype is checked against the hand formula 1 / (8 p_a p_c), a
  father duo's against 1 / (4 p_a) (up to the stepwise mutation model's
  effects, rate 0.002: inside 1%), and a child unexplained without mutation
  gets log10 LR < -2;
- the numba kernel equals the NumPy reference exactly on it, at the
  configured floor and at -inf;
- the benchmark records the workload, its floor and frequency table, and its
  NumPy and kernel scores agree.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reunion import bench
from reunion.encoding import genotype_index
from reunion.kernels import cpu, reference
from reunion.settings import Settings


@pytest.fixture(scope="module")
def workload():
    rng = np.random.default_rng(7)
    return bench.make_kinship_workload(rng, 30, 400, 12, np.float64)


def _slot(offsets, l: int, a: int, b: int) -> int:
    return int(offsets[l]) + int(genotype_index(min(a, b), max(a, b)))


def test_kinship_tables_are_trio_and_duo_lrs(workload):
    from reunion.encoding import Encoding  # noqa: PLC0415
    from reunion.frequencies import load_frequency_table  # noqa: PLC0415

    w = workload
    s = Settings()
    ft = load_frequency_table(s.frequencies.table, s.frequencies.population)
    enc = Encoding.build(ft, {}, s.frequencies.floor)
    assert w.info["loci_names"] == enc.locus_names[:12]
    assert w.tables.shape == (30, w.width) and w.profiles.shape == (400, 12)
    assert np.all(w.tables[:, w.offsets] == 0.0)                  # untyped slots hold 0
    trio_checked = duo_checked = 0
    for l in range(12):
        p = enc.loci[l].frequencies
        n = enc.loci[l].n_alleles
        for t in range(0, 30, 3):                                 # trios: rows 0, 3, 6, ...
            a, b = enc.decode(l, int(w.fathers[t, l]))
            c, d = enc.decode(l, int(w.mothers[t, l]))
            if len({a, b, c, d}) < 4:
                continue
            # child ac: 1/2 * 1/2 over 2 p_a p_c (mutation: a factor (1 - 0.002)^2 or so)
            lr = 10.0 ** w.tables[t, _slot(w.offsets, l, a, c)]
            assert lr == pytest.approx(1 / (8 * p[a] * p[c]), rel=0.01)
            # a child sharing no allele with either parent: only mutation explains it
            x = next(x for x in range(n) if x not in (a, b, c, d))
            assert w.tables[t, _slot(w.offsets, l, x, x)] < -2.0
            trio_checked += 1
        for t in range(1, 30, 3):                                 # father duos: rows 1, 4, 7, ...
            a, b = enc.decode(l, int(w.fathers[t, l]))
            if a == b:
                continue
            x = max((x for x in range(n) if x not in (a, b)), key=lambda x: p[x])
            # child ax: 1/2 * p_x over 2 p_a p_x = 1 / (4 p_a); x the commonest other allele,
            # so that the untyped mother's mutated allele frequencies (p M)_x stay near p_x
            lr = 10.0 ** w.tables[t, _slot(w.offsets, l, a, x)]
            assert lr == pytest.approx(1 / (4 * p[a]), rel=0.01)
            duo_checked += 1
    assert trio_checked >= 10 and duo_checked >= 10


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("floor", [0.0, -np.inf])
def test_cpu_equals_reference_on_kinship_workload(workload, dtype, floor):
    t = workload.tables.astype(dtype)
    got = cpu.screen_topk(t, workload.offsets, workload.profiles, 5, floor)
    want = reference.screen_topk(t, workload.offsets, workload.profiles, 5, floor)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    if floor == 0.0:   # unrelated profiles: few candidates reach log10 LR 0
        assert (want[0] >= 0).sum() < 0.2 * want[0].size


def test_benchmark_records_kinship_workload():
    res = bench.run_kernel_benchmark("cpu", 24, 300, 10, k=3, repeats=1, workload="kinship")
    assert res["workload"] == "kinship"
    assert res["floor"] == Settings().scoring.log10_lr_floor
    assert res["population"] == Settings().frequencies.population
    assert res["frequency_table"] == Settings().frequencies.table.name
    assert len(res["loci_names"]) == 10
    assert res["checked"] is True
    assert 0.0 <= res["kept_per_profile"] <= 3.0
    assert math.isclose(res["pairs"], 24 * 300)
    with pytest.raises(ValueError, match="use 1 to 29"):
        bench.run_kernel_benchmark("cpu", 4, 4, 30, workload="kinship")
    with pytest.raises(ValueError, match="workload must be"):
        bench.run_kernel_benchmark("cpu", 4, 4, 3, workload="real")


def test_numpy_baseline_equals_reference_on_ties():
    """The NumPy baseline ranks ties by row as the reference does (small chunks: many partitions)."""
    rng = np.random.default_rng(5)
    offsets = np.array([0, 4, 9], np.int32)
    tables = rng.integers(-1, 2, (40, 15)).astype(np.float64)            # scores in -3..3: ties everywhere
    tables[:, offsets] = 0.0
    profiles = rng.integers(0, 4, (25, 3)).astype(np.uint16)
    for k, floor in ((1, -np.inf), (6, 0.0), (40, 1.0), (45, -np.inf)):
        got = bench.numpy_screen_topk(tables, offsets, profiles, k, floor, chunk_elems=97)
        want = reference.screen_topk(tables, offsets, profiles, k, floor)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_cli_main_prints_json_and_rejects_bad_options(capsys):
    """``python -m reunion.bench`` (and ``reunion bench kernel``): one parser, JSON out, errors exit 2."""
    import json  # noqa: PLC0415

    assert bench.main(["--queries", "12", "--references", "30", "--loci", "4", "-k", "2",
                       "--repeats", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["queries"], res["references"], res["loci"], res["k"], res["pairs"]) == (12, 30, 4, 2, 360)
    assert res["checked"] is True and res["floor"] == "-inf"
    for bad in (["--loci", "30", "--workload", "kinship"], ["--device", "tpu"]):
        with pytest.raises(SystemExit) as exc:
            bench.main(bad, prog="reunion bench kernel")
        assert exc.value.code == 2
    assert "reunion bench kernel: error" in capsys.readouterr().err
