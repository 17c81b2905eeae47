"""GPU screening kernel (kernels/screen.cu through kernels/gpu.py) against the reference.

Skipped without a usable CUDA GPU (CuPy installed and a device visible). On a
GPU: ``pytest -m gpu`` (benchmarks/gpu_check.sh runs it).

- exact parity with gpu.emulate_screen_topk (float32 sums in locus order are
  bit-reproducible, so indices and scores must be equal);
- against the float64 reference: scores within the derived bound of the exact
  ones, and indices equal wherever the exact scores around them are not within
  float32 error of each other;
- the widened floor never drops a row whose float64 score passes the floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from reunion.kernels import device, gpu, reference

from test_kernels import CASES, _case, random_case  # noqa: E402  (tests/ is on sys.path)

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not device.gpu_available(), reason="no usable CUDA GPU (CuPy with a visible device)"),
]

LAYOUTS = [None, ("smem", 4), ("smem", 2), ("smem", 1), ("simple", 1)]


def _near_tie_free(rs: np.ndarray, bound: float) -> np.ndarray:
    """[R, k] mask: slots whose exact score is further than 2*bound from its neighbours'."""
    gap = np.full(rs.shape, np.inf)
    with np.errstate(invalid="ignore"):
        d = np.abs(np.diff(rs, axis=1))
    d = np.where(np.isnan(d), np.inf, d)
    gap[:, 1:] = np.minimum(gap[:, 1:], d)
    gap[:, :-1] = np.minimum(gap[:, :-1], d)
    return gap > 2 * bound


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gpu_equals_emulation_and_reference(case, dtype):
    name, T, L, R, k, floor, opts = case
    tables, offsets, profiles = _case(name, T, L, R, k, floor, opts, dtype)
    xi, xs = gpu.screen_topk(tables, offsets, profiles, k, floor)          # exact mode
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
    np.testing.assert_array_equal(xi, ri)
    np.testing.assert_array_equal(xs, rs)
    gi, gs = gpu.screen_topk(tables, offsets, profiles, k, floor, exact=False)
    assert gi.dtype == np.int32 and gs.dtype == tables.dtype and gi.shape == (R, k)
    ei, es = gpu.emulate_screen_topk(tables, offsets, profiles, k, floor)
    np.testing.assert_array_equal(gi, ei)
    np.testing.assert_array_equal(gs, es.astype(tables.dtype))

    ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
    bound = float(gpu.float32_error_bound(tables, offsets).max())
    both = (gi >= 0) & (ri >= 0)
    fin = both & np.isfinite(rs)
    assert np.all(np.abs(gs[fin].astype(np.float64) - rs[fin]) <= 2 * bound + 1e-300)
    # neighbours over all rows (no floor, one more): rows just below the floor and
    # the (k+1)-th row may legitimately swap in within float32 error
    _, xs = reference.screen_topk(tables, offsets, profiles, k + 1, -np.inf)
    clear = _near_tie_free(xs.astype(np.float64), bound)[:, :k] & (ri >= 0)
    np.testing.assert_array_equal(gi[clear], ri[clear])
    if name == "floor_all":
        assert (gi == -1).all()


@pytest.mark.parametrize("layout", LAYOUTS, ids=["auto", "rows4", "rows2", "rows1", "simple"])
@pytest.mark.parametrize("R", [1, 513, 5000])
def test_gpu_layouts_chunks(layout, R):
    tables, offsets, profiles = random_case(31, 301, 24, R, alleles=(8, 16))
    be = gpu.default_backend()
    prepared = gpu.prepare_tables(tables, offsets, layout=layout)
    di, ds = gpu.screen_topk_device(prepared, offsets, profiles, 12, -np.inf, backend=be)
    ei, es = gpu.emulate_screen_topk(tables, offsets, profiles, 12, -np.inf)
    np.testing.assert_array_equal(di.get(), ei)
    np.testing.assert_array_equal(ds.get(), es)


@pytest.mark.parametrize("k", [1, 10, 32, 64, 100])
def test_gpu_k_range(k):
    tables, offsets, profiles = random_case(41, 150, 20, 300, integer=True)
    gi, gs = gpu.screen_topk(tables, offsets, profiles, k, -1.0, exact=False)
    ei, es = gpu.emulate_screen_topk(tables, offsets, profiles, k, -1.0)
    np.testing.assert_array_equal(gi, ei)
    np.testing.assert_array_equal(gs, es.astype(np.float64))


@pytest.mark.parametrize("seed", range(4))
def test_gpu_widened_floor_keeps_every_passing_row(seed):
    tables, offsets, profiles = random_case(500 + seed, 120, 24, 400, alleles=(5, 14),
                                            scale=10.0 ** (seed - 1), neg_inf=0.01 * (seed % 2))
    T = tables.shape[0]
    s64 = reference.screen_scores(tables, offsets, profiles)
    finite = s64[np.isfinite(s64)]
    for floor in np.quantile(finite, [0.5, 0.9, 0.999]):
        gi, _ = gpu.screen_topk(tables, offsets, profiles, T, float(floor), exact=False)   # k = T: no cut
        for r in range(profiles.shape[0]):
            passing = set(np.flatnonzero(s64[r] >= floor))
            assert passing <= set(gi[r][gi[r] >= 0])


def test_gpu_row_ranges_when_memory_is_short():
    tables, offsets, profiles = random_case(61, 500, 24, 700, alleles=(5, 14))
    row = gpu.table_row_bytes(tables.shape[1], tables.dtype.itemsize)
    gi, gs = gpu.screen_topk(tables, offsets, profiles, 10, -np.inf, max_bytes=120 * row)
    ri, rs = reference.screen_topk(tables, offsets, profiles, 10, -np.inf)
    np.testing.assert_array_equal(gi, ri)
    np.testing.assert_array_equal(gs, rs)
