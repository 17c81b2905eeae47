"""Screening kernels on the CPU.

- the numba kernel equals the NumPy reference exactly (indices and scores);
- device resolution without a GPU;
- the CUDA sources compile for sm_80 / sm_90 without spills (when nvcc exists);
- the GPU launcher's float32 error bound and widened floors, on NumPy;
- screen.cu itself, run on the host: compiled as C++ with a small CUDA shim
  (one std::thread per CUDA thread, a std::barrier for __syncthreads, blocks in
  turn), launched through kernels/gpu.py's real launch logic, and compared
  exactly with gpu.emulate_screen_topk. This exercises tiling, staging,
  chunking, the per-thread top-k and the merge without a GPU; cp.async and
  timing are left to tests/kernels/test_kernels_gpu.py.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reunion.kernels import cpu, device, gpu, reference, topk

KERNELS = Path(gpu.__file__).resolve().parent


# ----------------------------------------------------------------- random cases


def make_offsets(rng: np.random.Generator, L: int, alleles: tuple[int, int] = (1, 8)):
    """Offsets from random per-locus allele counts n: slots = 1 + n(n+1)/2, slot 0 = untyped."""
    n = rng.integers(alleles[0], alleles[1] + 1, L)
    slots = 1 + n * (n + 1) // 2
    offsets = np.concatenate([[0], np.cumsum(slots)[:-1]]).astype(np.int32) if L else np.zeros(0, np.int32)
    return offsets, int(slots.sum()), slots


def random_case(seed: int, T: int, L: int, R: int, dtype=np.float64, *, alleles=(1, 8),
                integer: bool = False, neg_inf: float = 0.0, untyped: float = 0.1, scale: float = 1.0):
    """(tables [T, W], offsets [L], profiles [R, L]) with slot 0 of every locus = 0.0."""
    rng = np.random.default_rng(seed)
    offsets, W, slots = make_offsets(rng, L, alleles)
    if integer:
        tables = rng.integers(-2, 3, (T, W)).astype(np.float64)
    else:
        tables = rng.normal(0.0, scale, (T, W))
    if neg_inf:
        tables[rng.random((T, W)) < neg_inf] = -np.inf
    if L:
        tables[:, offsets] = 0.0
    profiles = np.zeros((R, L), dtype=np.uint16)
    for l in range(L):
        profiles[:, l] = rng.integers(0, slots[l], R)
    if untyped:
        profiles[rng.random((R, L)) < untyped] = 0
    return tables.astype(dtype), offsets, profiles


# (name, T, L, R, k, floor, options)
CASES = [
    ("basic", 57, 12, 41, 5, -np.inf, {}),
    ("R1", 30, 10, 1, 4, -np.inf, {}),
    ("T1", 1, 10, 25, 3, -np.inf, {}),
    ("L1", 20, 1, 33, 6, -np.inf, {}),
    ("T_lt_k", 3, 8, 17, 10, -np.inf, {}),
    ("untyped", 40, 9, 30, 5, -np.inf, {"untyped": 0.6}),
    ("all_untyped", 12, 6, 8, 4, -np.inf, {"untyped": 1.0}),
    ("ties", 64, 5, 50, 7, -np.inf, {"integer": True}),
    ("ties_floor", 64, 5, 50, 7, 1.0, {"integer": True}),
    ("neg_inf", 45, 8, 40, 6, -np.inf, {"neg_inf": 0.05}),
    ("neg_inf_floor", 45, 8, 40, 6, -3.0, {"neg_inf": 0.05}),
    ("floor_mid", 60, 10, 30, 8, 1.5, {}),
    ("floor_all", 25, 10, 20, 4, 1e9, {}),
    ("k1", 50, 7, 20, 1, -np.inf, {}),
    ("k_big", 70, 6, 12, 64, -np.inf, {}),
    ("many_tiles", 150, 24, 203, 10, -np.inf, {}),          # tail tile, R not a multiple of 4
    ("ties_across_tiles", 100, 4, 90, 9, 0.0, {"integer": True}),
]


def _case(name, T, L, R, k, floor, opts, dtype, seed_base=0):
    seed = int(hashlib.sha256(f"{name}{seed_base}".encode()).hexdigest()[:8], 16)
    return random_case(seed, T, L, R, dtype, **opts)


# ----------------------------------------------------------------- CPU == reference


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cpu_equals_reference(case, dtype):
    name, T, L, R, k, floor, opts = case
    tables, offsets, profiles = _case(name, T, L, R, k, floor, opts, dtype)
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
    ci, cs = cpu.screen_topk(tables, offsets, profiles, k, floor)
    assert ci.dtype == np.int32 and cs.dtype == tables.dtype
    assert ci.shape == cs.shape == (R, k)
    np.testing.assert_array_equal(ci, ri)
    np.testing.assert_array_equal(cs, rs)
    if name == "floor_all":
        assert (ci == -1).all() and np.isneginf(cs).all()


def test_cpu_unrolled_module_is_current():
    """kernels/_cpu_unrolled.py is exactly what kernels/cpu_codegen.py writes (regenerate if not)."""
    from reunion.kernels import cpu_codegen
    assert cpu_codegen.TARGET.read_text() == cpu_codegen.render(), \
        "run `python -m reunion.kernels.cpu_codegen` and commit kernels/_cpu_unrolled.py"


def test_cpu_tiles_layout():
    """Tile t holds tables t*lanes.. genotype-row major; padding tables are zero."""
    tables = np.arange(3 * 20, dtype=np.float32).reshape(20, 3)      # T=20, W=3 -> 2 tiles of 16
    tiles = cpu.tile_tables(tables)
    assert tiles.shape == (2, 3 * 16)
    assert tiles[0, 2 * 16 + 5] == tables[5, 2] and tiles[1, 1 * 16 + 3] == tables[19, 1]
    assert (tiles[1].reshape(3, 16)[:, 4:] == 0).all()
    assert cpu.tile_tables(tables.astype(np.float64)).shape == (3, 3 * 8)


def test_reference_tie_and_floor_semantics():
    # integer tables: many exact ties; the floor itself passes (score >= floor)
    tables = np.array([[0, 1, 2], [0, 2, 1], [0, 1, 2], [0, 2, 2]], dtype=np.float64)
    offsets = np.array([0], np.int32)
    profiles = np.array([[1], [2], [0]], np.uint16)
    idx, sc = cpu.screen_topk(tables, offsets, profiles, 3, 2.0)
    np.testing.assert_array_equal(idx, [[1, 3, -1], [0, 2, 3], [-1, -1, -1]])
    np.testing.assert_array_equal(sc, [[2, 2, -np.inf], [2, 2, 2], [-np.inf] * 3])
    # -inf floor keeps -inf scores, ranked before the unused slots
    tables = np.array([[0, -np.inf], [0, -np.inf]])
    idx, sc = cpu.screen_topk(tables, offsets, np.array([[1]], np.uint16), 3, -np.inf)
    np.testing.assert_array_equal(idx, [[0, 1, -1]])
    assert np.isneginf(sc).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_cpu_shards_of_one_row(dtype):
    """Screening row by row (one-row shards) and merging equals screening all rows."""
    tables, offsets, profiles = random_case(7, 23, 9, 31, dtype, integer=True)
    k, floor = 6, -1.0
    full_i, full_s = reference.screen_topk(tables, offsets, profiles, k, floor)
    cand_s, cand_t = [], []
    for t in range(tables.shape[0]):
        shard = tables[t:t + 1]
        si, ss = cpu.screen_topk(shard, offsets, profiles, k, floor)
        ri, rs = reference.screen_topk(shard, offsets, profiles, k, floor)
        np.testing.assert_array_equal(si, ri)
        np.testing.assert_array_equal(ss, rs)
        assert (si[:, 1:] == -1).all()
        cand_s.append(ss[:, 0])
        cand_t.append(np.where(si[:, 0] >= 0, t, -1))
    cand_s, cand_t = np.stack(cand_s, 1), np.stack(cand_t, 1)
    for r in range(profiles.shape[0]):
        order = [t for t in np.lexsort((np.arange(tables.shape[0]), -cand_s[r])) if cand_t[r, t] >= 0][:k]
        np.testing.assert_array_equal(full_i[r, :len(order)], order)
        np.testing.assert_array_equal(full_s[r, :len(order)], cand_s[r, order])


def test_cpu_non_contiguous_and_empty():
    tables, offsets, profiles = random_case(3, 40, 6, 10)
    view = tables[::2]
    np.testing.assert_array_equal(cpu.screen_topk(view, offsets, profiles, 4, -np.inf)[0],
                                  reference.screen_topk(view, offsets, profiles, 4, -np.inf)[0])
    i, s = cpu.screen_topk(tables[:0], offsets, profiles, 3, -np.inf)
    assert (i == -1).all() and np.isneginf(s).all()
    i, s = cpu.screen_topk(tables, offsets, profiles[:0], 3, -np.inf)
    assert i.shape == (0, 3)


@pytest.mark.parametrize("seed", range(8))
def test_select_topk_equals_brute_force_sort(seed):
    """topk.select_topk (a partition when k < N) equals sorting each row by (allowed, score desc, row asc)."""
    rng = np.random.default_rng(seed)
    R, N = 30, 50
    score = rng.integers(-3, 4, (R, N)).astype(np.float32 if seed % 2 else np.float64)   # heavy ties
    score[rng.random((R, N)) < 0.1] = -np.inf
    floor = (-np.inf, 0.0, 2.0, 9.0)[seed % 4]
    ok = score >= floor
    for k in (0, 1, 3, 17, N - 1, N, N + 5):
        index, best, count = topk.select_topk(score, k, ok)
        assert index.dtype == np.int32 and best.dtype == score.dtype
        assert index.shape == best.shape == (R, k) and count.shape == (R,)
        for r in range(R):
            want = sorted((t for t in range(N) if ok[r, t]), key=lambda t: (-score[r, t], t))[:k]
            assert count[r] == len(want)
            assert index[r].tolist() == want + [-1] * (k - len(want))
            assert best[r].tolist() == [score[r, t] for t in want] + [-np.inf] * (k - len(want))
        # rows given explicitly (merge, settle): a permuted copy ranks the same
        perm = np.stack([rng.permutation(N) for _ in range(R)])
        pi, ps, pc = topk.select_topk(np.take_along_axis(score, perm, 1), k,
                                      np.take_along_axis(ok, perm, 1), perm)
        np.testing.assert_array_equal(pi, index)
        np.testing.assert_array_equal(ps, best)
        np.testing.assert_array_equal(pc, count)


# ----------------------------------------------------------------- device choice


def test_resolve_without_gpu():
    if device.gpu_available():
        pytest.skip("a GPU is present: covered by tests/kernels/test_kernels_gpu.py")
    assert device.resolve("auto") == "cpu"
    assert device.resolve("cpu") == "cpu"
    assert device.get_kernel("auto") is cpu.screen_topk
    assert device.get_kernel("cpu", cache_key="tables.npy") is cpu.screen_topk   # read in place
    with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
        device.resolve("gpu")
    with pytest.raises(RuntimeError):
        device.get_kernel("gpu")


def test_gpu_module_imports_without_cupy():
    code = ("import sys; import reunion.kernels.gpu, reunion.kernels.compile_check, reunion.bench; "
            "assert 'cupy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------- compile check


@pytest.mark.slow
def test_compile_check_sm80_sm90():
    from reunion.kernels import compile_check  # noqa: PLC0415

    if compile_check.find_nvcc() is None:
        pytest.skip("nvcc not found: CUDA compile check skipped (needs the CUDA toolkit)")
    tool, results = compile_check.run_check()
    assert tool == "nvcc"
    assert results, "no .cu file compiled"
    failed = [f"{r.source} [{r.variant}] sm_{r.arch}:\n{r.log}" for r in results if not r.ok]
    assert not failed, "\n".join(failed)
    names = {k.name for r in results for k in r.kernels}
    assert {"screen_topk_smem", "screen_topk_simple", "screen_merge"} <= names
    spills = [(r.variant, r.arch, k.name, k.spill_stores, k.spill_loads)
              for r in results for k in r.kernels if (k.spill_stores or 0) + (k.spill_loads or 0)]
    assert not spills, spills
    assert all(k.registers is not None and k.registers <= 128 for r in results for k in r.kernels)


def test_compile_check_nvrtc_sm90():
    """The NVRTC build gpu.py launches (CuPy RawModule options) compiles, without spills."""
    from reunion.kernels import compile_check  # noqa: PLC0415

    if compile_check._nvrtc() is None:
        pytest.skip("CuPy's NVRTC not available: NVRTC compile check skipped")
    tool, results = compile_check.run_check((90,), tool="nvrtc")
    assert tool == "nvrtc"
    failed = [f"{r.source} [{r.variant}]:\n{r.log}" for r in results if not r.ok]
    assert not failed, "\n".join(failed)
    assert not [k for r in results for k in r.kernels if (k.spill_stores or 0) + (k.spill_loads or 0)]


def test_compile_check_parses_ptxas():
    from reunion.kernels import compile_check  # noqa: PLC0415

    log = """ptxas info    : Compiling entry function 'screen_topk_smem' for 'sm_90'
ptxas info    : Function properties for screen_topk_smem
    512 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 119 registers, used 1 barriers, 512 bytes cumulative stack size"""
    (k,) = compile_check.parse_ptxas(log)
    assert (k.name, k.registers, k.stack_bytes, k.spill_stores, k.spill_loads) == ("screen_topk_smem", 119, 512, 8, 4)


# ----------------------------------------------------------------- float32 bound


def _scores(tables, offsets, profiles):
    return reference.screen_scores(tables, offsets, profiles)


@pytest.mark.parametrize("scale", [1.0, 1e4, 1e-30], ids=["unit", "large", "tiny"])
@pytest.mark.parametrize("seed", range(4))
def test_float32_error_bound_holds(seed, scale):
    tables, offsets, profiles = random_case(100 + seed, 40, 24, 200, alleles=(3, 12), scale=scale)
    if seed % 2:  # heavy cancellation: huge entries of both signs around small sums
        tables[:, 1::3] += 1e3 * scale
        tables[:, 2::3] -= 1e3 * scale
        tables[:, offsets] = 0.0
    bound = gpu.float32_error_bound(tables, offsets)
    s64 = _scores(tables, offsets, profiles)
    s32 = _scores(tables.astype(np.float32), offsets, profiles).astype(np.float64)
    err = np.abs(s32 - s64)
    assert (err <= bound[None, :]).all()
    assert (bound > 0).all()


@pytest.mark.parametrize("seed", range(6))
def test_widened_floor_never_drops_a_passing_candidate(seed):
    tables, offsets, profiles = random_case(200 + seed, 35, 24, 150, alleles=(3, 12),
                                            neg_inf=0.01 if seed % 3 == 0 else 0.0,
                                            scale=10.0 ** (seed - 2))
    s64 = _scores(tables, offsets, profiles)
    s32 = _scores(tables.astype(np.float32), offsets, profiles)
    bound = gpu.float32_error_bound(tables, offsets)
    finite = s64[np.isfinite(s64)]
    # floors right at exact scores (the hardest place), plus a few quantiles
    floors = list(np.random.default_rng(seed).choice(finite, 25)) + list(np.quantile(finite, [0.1, 0.5, 0.99]))
    for floor in floors:
        f = gpu.widened_floors(bound, floor)
        assert f.dtype == np.float32
        passing = s64 >= floor
        assert (s32[passing] >= np.broadcast_to(f, s32.shape)[passing]).all()
        assert (f.astype(np.float64) <= floor - bound).all()
    # k = T: the emulated screen keeps a superset of the reference's candidates
    T = tables.shape[0]
    floor = float(np.median(finite))
    ri, _ = reference.screen_topk(tables, offsets, profiles, T, floor)
    ei, _ = gpu.emulate_screen_topk(tables, offsets, profiles, T, floor)
    for r in range(profiles.shape[0]):
        assert set(ri[r][ri[r] >= 0]) <= set(ei[r][ei[r] >= 0])


# ----------------------------------------------------------------- exact mode (GPU)


def _emulated(tables, offsets, profiles, floor, calls=None):
    """The float32 screen a device returns (gpu.emulate_screen_topk), as exact_topk's ``screen``."""
    def screen(k2):
        if calls is not None:
            calls.append(k2)
        return gpu.emulate_screen_topk(tables, offsets, profiles, k2, floor)
    return screen


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_exact_mode_equals_reference(case, dtype):
    name, T, L, R, k, floor, opts = case
    tables, offsets, profiles = _case(name, T, L, R, k, floor, opts, dtype)
    calls = []
    gi, gs = gpu.exact_topk(tables, offsets, profiles, k, floor, _emulated(tables, offsets, profiles, floor, calls))
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
    np.testing.assert_array_equal(gi, ri)
    np.testing.assert_array_equal(gs, rs)
    assert gi.dtype == np.int32 and gs.dtype == tables.dtype
    assert calls == [k + gpu.EXACT_MARGIN]


def test_exact_mode_empty_inputs():
    offsets = np.array([0, 5], np.int32)
    for tables, profiles in ((np.zeros((0, 10)), np.ones((3, 2), np.uint16)),
                             (np.ones((4, 10)), np.ones((0, 2), np.uint16))):
        for floor in (-np.inf, 0.0):
            gi, gs = gpu.exact_topk(tables, offsets, profiles, 3, floor,
                                    _emulated(tables, offsets, profiles, floor))
            ri, rs = reference.screen_topk(tables, offsets, profiles, 3, floor)
            np.testing.assert_array_equal(gi, ri)
            np.testing.assert_array_equal(gs, rs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_merge_topk_of_row_ranges_equals_one_screen(case):
    """Shards too large for the card are screened in row ranges: merging their lists changes nothing."""
    name, T, L, R, k, floor, opts = case
    tables, offsets, profiles = _case(name, T, L, R, k, floor, opts, np.float64)
    cuts = sorted({0, T, *np.random.default_rng(T).integers(0, T + 1, 3).tolist()})
    parts = [(a, *reference.screen_topk(tables[a:b], offsets, profiles, k, floor))
             for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    mi, ms = gpu.merge_topk(parts, k)
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
    np.testing.assert_array_equal(mi, ri)
    np.testing.assert_array_equal(ms, rs)


def _near_ties(n_rows: int, L: int = 6, R: int = 5, seed: int = 3):
    """Rows whose float64 scores differ by ~1e-12: equal in float32, distinct exactly.

    Every slot of row t holds 0.5 + t * 1e-13 (rows ordered so that the exact best is the
    last row, while float32 ties rank the first rows first)."""
    rng = np.random.default_rng(seed)
    offsets, W, slots = make_offsets(rng, L, (2, 4))
    tables = 0.5 + np.arange(n_rows)[:, None] * 1e-13 * np.ones((1, W))
    tables[:, offsets] = 0.0
    profiles = np.stack([rng.integers(1, slots[l], R) for l in range(L)], axis=1).astype(np.uint16)
    return tables, offsets, profiles


def test_exact_mode_settles_float32_near_ties_beyond_the_margin(monkeypatch):
    k = 3
    tables, offsets, profiles = _near_ties(k + gpu.EXACT_MARGIN + 10)
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, -np.inf)
    assert (ri == [[20, 19, 18]]).all()                      # exact: the highest rows
    ei, _ = gpu.emulate_screen_topk(tables, offsets, profiles, k, -np.inf)
    assert (ei == [[0, 1, 2]]).all()                         # float32: a tie, lowest rows first
    fallback = []
    real = cpu.screen_topk
    monkeypatch.setattr(cpu, "screen_topk", lambda *a: fallback.append(a[2].shape[0]) or real(*a))
    gi, gs = gpu.exact_topk(tables, offsets, profiles, k, -np.inf, _emulated(tables, offsets, profiles, -np.inf))
    np.testing.assert_array_equal(gi, ri)
    np.testing.assert_array_equal(gs, rs)
    assert fallback == [profiles.shape[0]]                   # every profile needed the exact screen
    # within the margin the host re-rank settles them without the fallback
    tables, offsets, profiles = _near_ties(k + gpu.EXACT_MARGIN - 2)
    fallback.clear()
    gi, gs = gpu.exact_topk(tables, offsets, profiles, k, -np.inf, _emulated(tables, offsets, profiles, -np.inf))
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, -np.inf)
    np.testing.assert_array_equal(gi, ri)
    np.testing.assert_array_equal(gs, rs)
    assert fallback == []


def test_exact_mode_floor_and_duplicates():
    tables, offsets, profiles = random_case(77, 40, 10, 30)
    tables = np.concatenate([tables, tables[:15]])           # duplicated families: exact ties
    for floor in (-np.inf, 0.0, 2.0):
        for k in (1, 5, 20):
            gi, gs = gpu.exact_topk(tables, offsets, profiles, k, floor,
                                    _emulated(tables, offsets, profiles, floor))
            ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
            np.testing.assert_array_equal(gi, ri)
            np.testing.assert_array_equal(gs, rs)
    # the settled rows of a screen are exact without any fallback: a full list whose k-th exact
    # score clears the last float32 score by more than the bound
    k2 = 4
    ei, es = gpu.emulate_screen_topk(tables, offsets, profiles, k2, -np.inf)
    exact = gpu.exact_sums(tables, offsets, profiles, ei)
    np.testing.assert_array_equal(exact[ei >= 0], reference.screen_scores(tables, offsets, profiles)[
        np.nonzero(ei >= 0)[0], ei[ei >= 0]])
    index, score, unresolved = gpu.settle(ei, es, exact, 2, -np.inf, 1e-3)
    ri, rs = reference.screen_topk(tables, offsets, profiles, 2, -np.inf)
    ok = np.setdiff1d(np.arange(profiles.shape[0]), unresolved)
    assert ok.size > 0
    np.testing.assert_array_equal(index[ok], ri[ok])
    np.testing.assert_array_equal(score[ok], rs[ok])
    settled_by_margin = (rs[:, 1] > es[:, -1].astype(np.float64) + 1e-3)
    np.testing.assert_array_equal(np.sort(unresolved), np.flatnonzero(~settled_by_margin))


def test_widened_floor_infinities_and_overflow():
    b = np.array([0.5, 0.0])
    assert np.isneginf(gpu.widened_floors(b, -np.inf)).all()
    assert np.isposinf(gpu.widened_floors(b, np.inf)).all()
    assert np.isneginf(gpu.widened_floors(b, -1e300)).all()
    with pytest.raises(ValueError):
        gpu.widened_floors(b, float("nan"))
    with pytest.raises(ValueError, match="overflow"):
        gpu.float32_error_bound(np.array([[0.0, 1e39]]), np.array([0], np.int32))


def test_layout_and_chunk_planning():
    assert gpu.choose_layout(24, 3457, 227 * 1024, 228 * 1024) == ("smem", 4, 2, 2 * 3460 * 16)
    assert gpu.choose_layout(24, 3457, 163 * 1024, 164 * 1024)[1] == 2     # A100: 2 blocks/SM
    assert gpu.choose_layout(24, 40000, 227 * 1024, 228 * 1024)[0] == "simple"
    assert gpu.choose_layout(200, 3000, 227 * 1024, 228 * 1024)[0] == "simple"
    n, per = gpu.plan_chunks(tiles=10, units=500, num_sms=132, blocks_per_sm=2, min_units=4)
    assert 1 < n <= gpu.MAX_CHUNKS and (n - 1) * per < 500 <= n * per
    assert gpu.plan_chunks(tiles=100_000, units=500, num_sms=132, blocks_per_sm=2, min_units=4) == (1, 500)
    assert gpu.kmax_for(1) == 16 and gpu.kmax_for(32) == 32 and gpu.kmax_for(33) == 64


# ----------------------------------------------------------------- screen.cu on the host

SHIM = r"""
#include <algorithm>
#include <cstring>
#include <cstddef>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__
#define __align__(n)
#define __launch_bounds__(...)
struct float4 { float x, y, z, w; };
struct float2 { float x, y; };
struct int4 { int x, y, z, w; };
struct uint3_ { unsigned x, y, z; };
extern thread_local uint3_ threadIdx;
extern uint3_ blockIdx, blockDim, gridDim;
void __syncthreads();
template <class T> inline T __ldg(const T* p) { return *p; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
using std::min;
using std::max;
"""

HARNESS = r"""
#include <barrier>
#include <functional>
#include <thread>
#include <vector>
#include "screen.cu"

thread_local uint3_ threadIdx;
uint3_ blockIdx, blockDim, gridDim;
const size_t SMEM_BYTES = 256 * 1024;
alignas(16) unsigned char screen_smem[SMEM_BYTES];
static std::barrier<>* g_barrier = nullptr;
void __syncthreads() { g_barrier->arrive_and_wait(); }

static int run_grid(int gx, int gy, int bx, long long smem, const std::function<void()>& body) {
    if (smem < 0 || (size_t)smem > SMEM_BYTES) return 1;
    gridDim = {(unsigned)gx, (unsigned)gy, 1u};
    blockDim = {(unsigned)bx, 1u, 1u};
    for (int y = 0; y < gy; ++y)
        for (int x = 0; x < gx; ++x) {
            blockIdx = {(unsigned)x, (unsigned)y, 0u};
            std::memset(screen_smem, 0xff, SMEM_BYTES);   // NaN poison: unstaged reads never score
            std::barrier<> bar(bx);
            g_barrier = &bar;
            std::vector<std::thread> threads;
            for (int t = 0; t < bx; ++t)
                threads.emplace_back([&body, t] { threadIdx = {(unsigned)t, 0u, 0u}; body(); });
            for (auto& th : threads) th.join();
        }
    return 0;
}

extern "C" int launch_screen_topk_smem(int gx, int gy, int bx, long long smem,
        const void* tables_il, int Wp, int T, int per, const int* offsets, const unsigned short* profiles,
        int R, const float* floors, int k, int* oi, float* os) {
    return run_grid(gx, gy, bx, smem, [&] {
        screen_topk_smem((const screen_vec*)tables_il, Wp, T, per, offsets, profiles, R, floors, k, oi, os); });
}
extern "C" int launch_screen_topk_simple(int gx, int gy, int bx, long long smem,
        const float* tables, int W, int T, int per, const int* offsets, const unsigned short* profiles,
        int R, int L, const float* floors, int k, int* oi, float* os) {
    return run_grid(gx, gy, bx, smem, [&] {
        screen_topk_simple(tables, W, T, per, offsets, profiles, R, L, floors, k, oi, os); });
}
extern "C" int launch_screen_merge(int gx, int gy, int bx, long long smem,
        const int* pi, const float* ps, int nchunk, int R, int k, int* oi, float* os) {
    return run_grid(gx, gy, bx, smem, [&] { screen_merge(pi, ps, nchunk, R, k, oi, os); });
}
"""


_HOST_LIBS: dict = {}   # one build per define set, shared by the tests of a session


class HostBackend:
    """gpu.py backend running screen.cu on the CPU (g++, threads + barrier per block)."""

    xp = np
    threads = 32        # SCREEN_THREADS of the host builds (fewer OS threads per block)

    def __init__(self, tmp: Path, num_sms: int = 16, max_smem_block: int = 227 * 1024,
                 max_smem_sm: int = 228 * 1024):
        self.tmp = tmp
        self.num_sms = num_sms
        self.max_smem_block = max_smem_block
        self.max_smem_sm = max_smem_sm
        self.libs = _HOST_LIBS
        self.launches: list[tuple[str, tuple]] = []

    def _lib(self, config: gpu.KernelConfig):
        defines = config.defines()
        if defines not in self.libs:
            tag = hashlib.sha1(" ".join(defines).encode()).hexdigest()[:12]
            (self.tmp / "shim.h").write_text(SHIM)
            (self.tmp / "harness.cpp").write_text(HARNESS)
            so = self.tmp / f"screen_{tag}.so"
            cmd = ["g++", "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-include",
                   str(self.tmp / "shim.h"), f"-I{KERNELS}", *defines, str(self.tmp / "harness.cpp"), "-o", str(so)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            self.libs[defines] = ctypes.CDLL(str(so))
        return self.libs[defines]

    def launch(self, config, name, grid, block, smem, args):
        assert config.threads == self.threads or name != "screen_topk_smem"
        assert smem <= self.max_smem_block
        grid = tuple(grid) + (1,) * (2 - len(grid))
        conv = []
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.c_contiguous
                conv.append(ctypes.c_void_p(a.ctypes.data))
            elif isinstance(a, np.int32):
                conv.append(ctypes.c_int(int(a)))
            elif isinstance(a, np.float32):
                conv.append(ctypes.c_float(float(a)))
            else:
                raise TypeError(type(a))
        fn = getattr(self._lib(config), f"launch_{name}")
        fn.restype = ctypes.c_int
        rc = fn(ctypes.c_int(grid[0]), ctypes.c_int(grid[1]), ctypes.c_int(block[0]),
                ctypes.c_longlong(smem), *conv)
        assert rc == 0, f"{name}: shared memory request {smem} too large"
        self.launches.append((name, grid))


@pytest.fixture(scope="module")
def host_tmp(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ not found: host run of screen.cu skipped")
    return tmp_path_factory.mktemp("screen_host")


# few distinct loci counts: each (L, rows, kmax) is one g++ build
HOST_CASES = [
    ("basic", 57, 8, 41, 5, -np.inf, {}),
    ("R1", 30, 8, 1, 4, -np.inf, {}),
    ("T1", 1, 8, 25, 3, -np.inf, {}),
    ("L1", 20, 1, 33, 6, -np.inf, {}),
    ("T_lt_k", 3, 8, 17, 10, -np.inf, {}),
    ("untyped", 40, 8, 30, 5, -np.inf, {"untyped": 0.6}),
    ("ties_floor", 64, 8, 50, 7, 1.0, {"integer": True}),
    ("neg_inf", 45, 8, 40, 6, -np.inf, {"neg_inf": 0.05}),
    ("neg_inf_floor", 45, 8, 40, 6, -3.0, {"neg_inf": 0.05}),
    ("floor_all", 25, 8, 20, 4, 1e9, {}),
    ("k_big", 70, 8, 12, 64, -np.inf, {}),
    ("many_profiles", 30, 8, 333, 5, -np.inf, {}),
    ("many_rows", 203, 8, 40, 9, -np.inf, {"integer": True}),
]


@pytest.mark.slow
@pytest.mark.parametrize("layout", [("smem", 4), ("smem", 2), ("smem", 1), ("simple", 1)],
                         ids=["rows4", "rows2", "rows1", "simple"])
@pytest.mark.parametrize("case", HOST_CASES, ids=[c[0] for c in HOST_CASES])
def test_screen_cu_on_host_equals_emulation(case, layout, host_tmp):
    name, T, L, R, k, floor, opts = case
    tables, offsets, profiles = _case(name, T, L, R, k, floor, opts, np.float64)
    be = HostBackend(host_tmp, num_sms=16 if len(name) % 2 else 1)
    prepared = gpu.prepare_tables(tables, offsets, backend=be, layout=layout)
    di, ds = gpu.screen_topk_device(prepared, offsets, profiles, k, floor, backend=be)
    ei, es = gpu.emulate_screen_topk(tables, offsets, profiles, k, floor)
    np.testing.assert_array_equal(di, ei)
    np.testing.assert_array_equal(ds, es)
    if name == "floor_all":
        assert (di == -1).all()
    # the public wrapper: NumPy out, scores in the tables' dtype
    wi, ws = gpu.screen_topk(tables, offsets, profiles, k, floor, backend=be, exact=False)
    assert wi.dtype == np.int32 and ws.dtype == np.float64
    np.testing.assert_array_equal(wi, ei)
    np.testing.assert_array_equal(ws, es.astype(np.float64))
    # exact mode (the pipeline's): the reference's result itself
    xi, xs = gpu.screen_topk(tables, offsets, profiles, k, floor, backend=be)
    ri, rs = reference.screen_topk(tables, offsets, profiles, k, floor)
    np.testing.assert_array_equal(xi, ri)
    np.testing.assert_array_equal(xs, rs)


@pytest.mark.slow
def test_screen_cu_on_host_chunks_and_merges(host_tmp):
    tables, offsets, profiles = random_case(11, 150, 24, 70, alleles=(5, 12))
    be = HostBackend(host_tmp, num_sms=32)
    di, ds = gpu.screen_topk_device(tables, offsets, profiles, 10, -np.inf, backend=be)
    names = [n for n, _ in be.launches]
    assert names == ["screen_topk_smem", "screen_merge"] and be.launches[0][1][1] > 1
    ei, es = gpu.emulate_screen_topk(tables, offsets, profiles, 10, -np.inf)
    np.testing.assert_array_equal(di, ei)
    np.testing.assert_array_equal(ds, es)
    # against the exact float64 reference: equal where no near-tie, within the bound
    ri, rs = reference.screen_topk(tables, offsets, profiles, 10, -np.inf)
    bound = gpu.float32_error_bound(tables, offsets).max()
    assert np.all(np.abs(ds.astype(np.float64) - rs) <= 2 * bound)


@pytest.mark.slow
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "float32"])
def test_screen_cu_on_host_in_row_ranges_when_memory_is_short(exact, host_tmp):
    tables, offsets, profiles = random_case(21, 90, 24, 50, alleles=(5, 12), integer=True)
    be = HostBackend(host_tmp)
    row = gpu.table_row_bytes(tables.shape[1], tables.dtype.itemsize)
    launches = len(be.launches)
    ci, cs = gpu.screen_topk(tables, offsets, profiles, 7, 0.0, backend=be, exact=exact, max_bytes=25 * row)
    assert len(be.launches) - launches >= 4                 # 90 rows in ranges of 25: 4 screens
    if exact:
        want = reference.screen_topk(tables, offsets, profiles, 7, 0.0)
    else:
        want = gpu.emulate_screen_topk(tables, offsets, profiles, 7, 0.0)
    np.testing.assert_array_equal(ci, want[0])
    np.testing.assert_array_equal(cs, want[1].astype(np.float64))


@pytest.mark.slow
def test_screen_cu_on_host_keeps_staged_tables_by_key(host_tmp, monkeypatch):
    """A reference shard screened against several query blocks is staged once (LRU by bytes)."""
    tables, offsets, profiles = random_case(23, 60, 24, 40, alleles=(5, 12))
    other = random_case(24, 60, 24, 40, alleles=(5, 12))[0]

    class Sized(HostBackend):
        def total_bytes(self):
            return self.total

    be = Sized(host_tmp)
    dt_bytes = gpu._nbytes(gpu.prepare_tables(tables, offsets, backend=be, keep_exact=True))
    be.total = int(1.5 * dt_bytes / gpu.CACHE_FRACTION)          # room for one table set
    staged = []
    real = gpu.prepare_tables
    monkeypatch.setattr(gpu, "prepare_tables", lambda *a, **kw: staged.append(1) or real(*a, **kw))
    monkeypatch.setattr(gpu, "_PREPARED", type(gpu._PREPARED)())
    want = reference.screen_topk(tables, offsets, profiles, 5, 0.0)
    for rows in (slice(0, 15), slice(15, 40), slice(0, 40)):
        got = gpu.screen_topk(tables, offsets, profiles[rows], 5, 0.0, backend=be, cache_key="shard-a")
        np.testing.assert_array_equal(got[0], want[0][rows])
        np.testing.assert_array_equal(got[1], want[1][rows])
    assert len(staged) == 1                                      # staged once for three blocks
    got = gpu.screen_topk(other, offsets, profiles, 5, 0.0, backend=be, cache_key="shard-b")
    np.testing.assert_array_equal(got[0], reference.screen_topk(other, offsets, profiles, 5, 0.0)[0])
    assert len(staged) == 2 and list(k[1] for k in gpu._PREPARED) == ["shard-b"]   # a evicted
    gpu.screen_topk(tables, offsets, profiles, 5, 0.0, backend=be)                     # no key
    gpu.screen_topk(tables, offsets, profiles, 5, 0.0, backend=be, cache_key="shard-a")
    assert len(staged) == 4


@pytest.mark.slow
def test_screen_cu_on_host_l0_and_validation(host_tmp):
    be = HostBackend(host_tmp)
    tables = np.zeros((5, 0))
    profiles = np.zeros((3, 0), np.uint16)
    offsets = np.zeros(0, np.int32)
    di, ds = gpu.screen_topk(tables, offsets, profiles, 3, 0.0, backend=be)
    np.testing.assert_array_equal(di, [[0, 1, 2]] * 3)
    assert (ds == 0).all()
    tables, offsets, profiles = random_case(5, 10, 8, 6)
    bad = profiles.copy()
    bad[0, 1] = 60000
    with pytest.raises(IndexError):
        gpu.screen_topk(tables, offsets, bad, 3, -np.inf, backend=be)
    with pytest.raises(TypeError):
        gpu.screen_topk(tables.astype(np.int64), offsets, profiles, 3, -np.inf, backend=be)
