"""CuPy launcher of ``screen.cu``: the GPU screening kernel.

Same contract as :func:`reunion.kernels.reference.screen_topk` except for
precision: the device sums in **float32** (tables converted on the device), so

- ``index`` holds the table rows whose float32 score passes a per-row *widened*
  floor (below), ranked by float32 score, ties to the lower row: it is a screen
  that never loses a row whose exact float64 score passes ``floor``;
- ``score`` holds the float32 screen scores, returned in the tables' dtype
  (float32 values upcast to float64 for float64 tables). They are not the exact
  scores: the shortlisted rows are re-scored exactly in float64 elsewhere.

The float32 score is bit-identical to NumPy summing ``tables.astype(float32)``
locus by locus (both are IEEE float32 additions in the same order, from 0.0;
no fused or reassociated operations, no flush-to-zero), which
:func:`emulate_screen_topk` does: a CPU twin of what the device returns.

Error bound (why the widened floor is safe)
-------------------------------------------
For one profile and table row, let x_1..x_L be the float64 entries gathered
(in locus order), S = sum x_l their exact real sum, S64 the float64 score of
the reference (left-to-right float64 sum), s32 the device's score. Write
u = 2^-24 (float32 unit roundoff), u64 = 2^-53, gamma_n(u) = n u / (1 - n u),
eta = 2^-150 (half the smallest float32 subnormal).

1. Conversion: y_l = fl32(x_l) satisfies |y_l - x_l| <= u |x_l| + eta
   (relative error u in the normal range, absolute error eta when underflowing).
2. Summation: s32 = fl(...fl(fl(0 + y_1) + y_2)... + y_L); the standard
   recursive-summation bound (Higham, *Accuracy and Stability of Numerical
   Algorithms*, 2nd ed., sec. 4.2) gives |s32 - sum y_l| <= gamma_{L-1}(u) sum |y_l|
   (additions never underflow harmfully: a subnormal sum of floats is exact).
3. Together, with sum |y_l| <= (1 + u) sum |x_l| + L eta and
   (1 + gamma_{L-1}(u))(1 + u) <= 1 + gamma_L(u):
   |s32 - S| <= gamma_L(u) sum |x_l| + (1 + gamma_L(u)) L eta.
4. The float64 reference itself errs by |S64 - S| <= gamma_{L-1}(u64) sum |x_l|.
5. sum |x_l| <= M_t := sum over loci of max |tables[t, slot]| over the locus's
   slots (finite entries only: a -inf entry makes both S64 and s32 -inf, and a
   +inf entry makes both +inf, so only all-finite gathers need the bound).

Hence, per table row t, with
   B_t = (gamma_L(u) + gamma_{L-1}(u64)) M_t + (1 + gamma_L(u)) L eta,
S64 >= floor implies s32 >= floor - B_t. The device compares s32 against
f_t = the largest float32 <= floor - B_t (the float64 subtraction is rounded
down one ulp, then the conversion to float32 rounded down), so it keeps every
row whose reference score passes ``floor``; it may keep a few extra rows with
S64 in [floor - 2 B_t, floor), which the exact rescoring drops. For log10 LRs
of a few units per locus and L = 24, B_t is about 24 * 6e-8 * M_t, i.e. a few
times 1e-5 in log10 units. Float32 overflow (|x| or M_t near 3.4e38) is
rejected with ValueError, since it would void the bound. ``floor = -inf`` and
``+inf`` are passed through unchanged (both sides agree exactly there).

What the bound does not cover: the top-k cut. Two rows whose exact scores are
within B_t + B_t' of each other may swap ranks in float32, so the k-th place
can differ from the exact top-k. Hence the exact mode below.

Exact mode (``screen_topk(..., exact=True)``, the pipeline's default)
--------------------------------------------------------------------
The device screens k2 = k + ``EXACT_MARGIN`` rows per profile; the kept rows
are re-scored on the device from the tables as given (their dtype), locus by
locus from 0 (the reference's own sums: IEEE additions in the same order, so
bit-identical), then filtered by the exact floor and ranked by (score desc,
row asc) on the host (:func:`exact_sums`, :func:`settle`). That is the
reference's answer whenever no row the device dropped could rank among the
first k:

- the device list is not full: every row with S64 >= floor passed its widened
  floor and was kept (above), so nothing was dropped that matters;
- it is full, with float32 score s_last at place k2: a dropped row d has
  s32_d <= s_last, so S64_d <= s_last + max_t B_t =: U (rounded up). If U < floor
  no dropped row passes; if the k-th exact score is > U, every dropped row ranks
  after it (strictly: an equal score with a lower row would rank before).

Profiles that neither condition settles (near-ties spanning more than the
margin, duplicated tables at the cut) are screened again by the exact CPU
kernel. So the GPU returns the reference's indices and scores exactly, and a
re-match's candidate lists do not depend on the device.

Launch
------
The module is compiled by NVRTC (``cupy.RawModule``) for the current device
with the shape as ``-D`` defines (loci per profile, rows per staged group,
profiles per thread, largest k), cached per device and shape. Large row counts
are split over ``blockIdx.y`` chunks when there are too few profile tiles to
fill the GPU, and the per-chunk lists are merged on the device. CuPy is
imported lazily: importing this module needs only NumPy.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

KERNEL_SOURCE = Path(__file__).with_name("screen.cu")

THREADS = 256          # threads per block of screen_topk_smem
MIN_BLOCKS = 2         # its __launch_bounds__ minimum blocks per SM
SIMPLE_THREADS = 128   # threads per block of screen_topk_simple
MERGE_THREADS = 128
MAX_CHUNKS = 64        # SCREEN_MAXCHUNK
MAX_K = 1024
EXACT_MARGIN = 8       # rows screened beyond k in exact mode (module docstring)

U32 = 2.0 ** -24
U64 = 2.0 ** -53
ETA32 = 2.0 ** -150
FLT_MAX = float(np.finfo(np.float32).max)


def _gamma(n: int, u: float) -> float:
    return n * u / (1.0 - n * u) if n > 0 else 0.0


# ---------------------------------------------------------------- error bound


def _locus_segments(offsets: np.ndarray, W: int) -> list[tuple[int, int]] | None:
    """[start, end) of each locus's slots when offsets are strictly increasing in [0, W)."""
    offs = [int(o) for o in offsets]
    ends = offs[1:] + [W]
    if all(0 <= o < e <= W for o, e in zip(offs, ends)):
        return list(zip(offs, ends))
    return None


def float32_error_bound(tables: Any, offsets: Any, xp: Any = np) -> Any:
    """B_t of the module docstring: float64 [T] (array of ``xp``), per table row.

    ``tables`` may be float64 or float32 (its values are taken as the exact ones).
    """
    offs = np.asarray(_to_host(offsets), dtype=np.int64).ravel()
    T, W = tables.shape
    L = int(offs.size)
    if L == 0 or T == 0 or W == 0:
        return xp.zeros(T, dtype=xp.float64)
    a = xp.abs(tables.astype(xp.float64, copy=False))
    a = xp.where(xp.isfinite(a), a, 0.0)
    segs = _locus_segments(offs, W)
    if segs is None:  # unsorted offsets: every locus bounded by the row's max
        M = L * a.max(axis=1)
    else:
        M = xp.zeros(T, dtype=xp.float64)
        for s, e in segs:
            M += a[:, s:e].max(axis=1)
    if float(M.max()) * (1.0 + _gamma(L, U32)) >= FLT_MAX:
        raise ValueError("table magnitudes overflow float32; the GPU screen cannot bound its error")
    return (_gamma(L, U32) + _gamma(L - 1, U64)) * M + (1.0 + _gamma(L, U32)) * L * ETA32


def widened_floors(bound: Any, floor: float, xp: Any = np) -> Any:
    """float32 [T]: the largest float32 <= floor - bound[t] (floor = +-inf unchanged)."""
    floor = float(floor)
    if math.isnan(floor):
        raise ValueError("floor must not be NaN")
    T = bound.shape[0]
    if math.isinf(floor):
        return xp.full(T, floor, dtype=xp.float32)
    d = xp.nextafter(floor - bound, -np.inf)            # below the exact floor - B_t
    with np.errstate(over="ignore"):
        f = d.astype(xp.float32)                        # nearest; may round up
    up = f.astype(xp.float64) > d
    f = xp.where(up, xp.nextafter(f, xp.float32(-np.inf)), f)
    return xp.ascontiguousarray(f, dtype=xp.float32)


def emulate_screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray,
                        k: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of the device result: (index int32 [R, k], score float32 [R, k]).

    Float32 scores summed locus by locus, per-row widened floors, ties to the
    lower row. The GPU returns exactly this (scores upcast to the tables' dtype).
    """
    from reunion.kernels.reference import screen_scores  # noqa: PLC0415

    tables = np.asarray(tables)
    t32 = tables.astype(np.float32)
    floors = widened_floors(float32_error_bound(tables, offsets), floor)
    scores = screen_scores(t32, np.asarray(offsets), np.asarray(profiles))
    R, T = scores.shape
    index = np.full((R, k), -1, dtype=np.int32)
    best = np.full((R, k), -np.inf, dtype=np.float32)
    for r in range(R):
        order = np.lexsort((np.arange(T), -scores[r]))
        keep = [t for t in order if scores[r, t] >= floors[t]][:k]
        index[r, :len(keep)] = keep
        best[r, :len(keep)] = scores[r, keep]
    return index, best


# ---------------------------------------------------------------- launch shape


@dataclass(frozen=True)
class KernelConfig:
    """Compile-time shape of one build of screen.cu."""

    variant: str          # "smem" (fast path) or "simple" (fallback)
    L: int                # SCREEN_L (1 for "simple", which takes L at run time)
    rows: int             # SCREEN_ROWS
    ppt: int              # SCREEN_PPT
    kmax: int             # SCREEN_KMAX
    threads: int = THREADS
    min_blocks: int = MIN_BLOCKS
    maxchunk: int = MAX_CHUNKS

    def defines(self) -> tuple[str, ...]:
        return (f"-DSCREEN_L={self.L}", f"-DSCREEN_ROWS={self.rows}", f"-DSCREEN_PPT={self.ppt}",
                f"-DSCREEN_THREADS={self.threads}", f"-DSCREEN_MIN_BLOCKS={self.min_blocks}",
                f"-DSCREEN_KMAX={self.kmax}", f"-DSCREEN_MAXCHUNK={self.maxchunk}")


def kmax_for(k: int) -> int:
    """SCREEN_KMAX of a build serving k: a power of two >= max(k, 16)."""
    return max(16, 1 << max(0, k - 1).bit_length())


def ppt_for(L: int) -> int:
    """Profiles per thread keeping registers under 128 without spills (0: use simple)."""
    if 1 <= L <= 40:
        return 2
    if 40 < L <= 96:
        return 1
    return 0


def padded_width(W: int) -> int:
    return -(-W // 4) * 4


def choose_layout(L: int, W: int, max_smem_block: int, max_smem_sm: int,
                  threads: int = THREADS) -> tuple[str, int, int, int]:
    """(variant, rows, ppt, dynamic shared bytes) for tables of width W and L loci.

    Prefers the most rows per staged group that still lets MIN_BLOCKS blocks share
    an SM, else the most that fit at all; "simple" when nothing fits.
    """
    ppt = ppt_for(L)
    Wp = padded_width(W)
    if ppt == 0 or Wp > 65535:
        return "simple", 1, 1, 0
    tile = threads * ppt * L * 2
    fits = [(rows, max(2 * Wp * rows * 4, tile)) for rows in (4, 2, 1)]
    fits = [(rows, smem) for rows, smem in fits if smem <= max_smem_block]
    if not fits:
        return "simple", 1, 1, 0
    for rows, smem in fits:
        if max_smem_sm // (smem + 1024) >= MIN_BLOCKS:
            return "smem", rows, ppt, smem
    rows, smem = fits[0]
    return "smem", rows, ppt, smem


def plan_chunks(tiles: int, units: int, num_sms: int, blocks_per_sm: int,
                min_units: int) -> tuple[int, int]:
    """(chunks, units per chunk): split the table rows when profile tiles alone
    would leave the GPU idle (about two waves of resident blocks)."""
    if units <= 0:
        return 1, 1
    target = 2 * num_sms * max(1, blocks_per_sm)
    n = -(-target // max(1, tiles))
    n = max(1, min(n, MAX_CHUNKS, units // min_units if units >= min_units else 1))
    per = -(-units // n)
    return -(-units // per), per


# ---------------------------------------------------------------- backends


def _to_host(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) else a)


_MODULES: dict[tuple, Any] = {}
_LOCK = threading.Lock()


class CupyBackend:
    """Compiles and launches screen.cu on the current CuPy device."""

    def __init__(self) -> None:
        import cupy  # noqa: PLC0415 (lazy on purpose)

        self.xp = cupy
        dev = cupy.cuda.Device()
        self.device_id = int(dev.id)
        attrs = dev.attributes
        self.num_sms = int(attrs.get("MultiProcessorCount", 1))
        self.max_smem_block = int(attrs.get("MaxSharedMemoryPerBlockOptin",
                                            attrs.get("MaxSharedMemoryPerBlock", 48 * 1024)))
        self.max_smem_sm = int(attrs.get("MaxSharedMemoryPerMultiprocessor", self.max_smem_block))
        props = cupy.cuda.runtime.getDeviceProperties(self.device_id)
        name = props.get("name", b"cuda")
        self.name = name.decode() if isinstance(name, bytes) else str(name)

    def function(self, config: KernelConfig, name: str) -> Any:
        key = (self.device_id, config.defines())
        with _LOCK:
            mod = _MODULES.get(key)
            if mod is None:
                mod = self.xp.RawModule(code=KERNEL_SOURCE.read_text(),
                                        options=("--std=c++17",) + config.defines())
                _MODULES[key] = mod
        return mod.get_function(name)

    def total_bytes(self) -> int:
        """Device memory in all (bytes)."""
        return int(self.xp.cuda.runtime.memGetInfo()[1])

    def free_bytes(self) -> int:
        """Device memory free now (bytes): the driver's, plus what CuPy's pool holds unused."""
        return int(self.xp.cuda.runtime.memGetInfo()[0]) + int(self.xp.get_default_memory_pool().free_bytes())

    def launch(self, config: KernelConfig, name: str, grid: tuple, block: tuple,
               smem: int, args: tuple) -> None:
        fn = self.function(config, name)
        if smem > 48 * 1024 and fn.max_dynamic_shared_size_bytes < smem:
            fn.max_dynamic_shared_size_bytes = smem
        fn(grid, block, args, shared_mem=smem)


_BACKEND: CupyBackend | None = None


def default_backend() -> CupyBackend:
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = CupyBackend()
    return _BACKEND


def device_name() -> str | None:
    """Name of the current CUDA device, or None without a usable GPU."""
    try:
        return default_backend().name
    except Exception:
        return None


# ---------------------------------------------------------------- screening


@dataclass
class DeviceTables:
    """Tables staged on the device once, reusable across screens (benchmarks)."""

    data: Any          # "smem": [G, Wp, rows] float32 interleaved; "simple": [T, W] float32
    bound: Any         # float64 [T]: B_t of the module docstring
    T: int
    W: int
    L: int
    variant: str
    rows: int
    ppt: int
    smem: int
    threads: int
    segments: list[tuple[int, int]] | None
    exact: Any = None  # the tables as given (dtype kept) on the device, for exact mode


def prepare_tables(tables: Any, offsets: Any, *, backend: Any = None,
                   layout: tuple[str, int] | None = None, keep_exact: bool = False) -> DeviceTables:
    """Copy ``tables`` (float32/64 [T, W], NumPy or device) to the device in the kernel's layout.

    ``keep_exact`` also keeps them as given (``DeviceTables.exact``, the tables'
    dtype) for the exact re-rank of exact mode.

    ``layout`` forces ("smem", rows) or ("simple", 1) instead of
    :func:`choose_layout`'s pick (tests and tuning; it must fit shared memory).
    """
    be = backend or default_backend()
    xp = be.xp
    t = xp.asarray(tables)
    if t.ndim != 2 or t.dtype not in (np.float32, np.float64):
        raise TypeError(f"tables must be a float32 or float64 [T, W] array, got {t.dtype} {t.shape}")
    offs = np.asarray(_to_host(offsets), dtype=np.int64).ravel()
    T, W = (int(n) for n in t.shape)
    L = int(offs.size)
    bound = float32_error_bound(t, offs, xp)
    t32 = xp.ascontiguousarray(t, dtype=xp.float32)
    if t.dtype == np.float64 and T and W and bool(xp.any(xp.isinf(t32) & xp.isfinite(t))):
        raise ValueError("a finite table entry overflows float32")
    threads = int(getattr(be, "threads", THREADS))
    variant, rows, ppt, smem = (choose_layout(L, W, be.max_smem_block, be.max_smem_sm, threads)
                                if L else ("simple", 1, 1, 0))
    if layout is not None:
        variant, rows = layout
        if variant == "smem":
            ppt = ppt_for(L)
            smem = max(2 * padded_width(W) * rows * 4, threads * ppt * L * 2)
            if ppt == 0 or rows not in (1, 2, 4) or smem > be.max_smem_block or padded_width(W) > 65535:
                raise ValueError(f"layout {layout} does not fit L={L}, W={W} on this device")
        elif variant == "simple":
            rows, ppt, smem = 1, 1, 0
        else:
            raise ValueError(f"unknown layout {layout}")
    if variant == "smem":
        G, Wp = -(-T // rows), padded_width(W)
        pad = xp.zeros((G * rows, Wp), dtype=xp.float32)
        pad[:T, :W] = t32
        data = xp.ascontiguousarray(pad.reshape(G, rows, Wp).transpose(0, 2, 1))
    else:
        data = t32
    return DeviceTables(data, bound, T, W, L, variant, rows, ppt, smem, threads, _locus_segments(offs, W),
                        t if keep_exact else None)


def _validate(dt: DeviceTables, offsets: np.ndarray, profiles: Any, xp: Any) -> None:
    if profiles.shape[0] == 0 or dt.L == 0:
        return
    gmax = np.asarray(_to_host(profiles.max(axis=0)), dtype=np.int64)
    if dt.segments is not None:
        width = np.array([e - s for s, e in dt.segments])
        if np.any(gmax >= width):
            raise IndexError("a genotype index runs past its locus's slots")
    elif np.any(offsets < 0) or np.any(offsets + gmax >= dt.W):
        raise IndexError("a slot index offsets[l] + profiles[r, l] is outside the table row")


def screen_topk_device(tables: Any, offsets: Any, profiles: Any, k: int, floor: float = -np.inf,
                       *, floors: Any = None, backend: Any = None,
                       validate: bool = True) -> tuple[Any, Any]:
    """Screen on device arrays: (index int32 [R, k], score float32 [R, k]), both on the device.

    ``tables`` is a float32/64 [T, W] array (device or host) or a
    :class:`DeviceTables` from :func:`prepare_tables` (reuse it to time the kernel
    alone). ``floor`` is widened per row as documented above unless explicit
    per-row float32 ``floors`` [T] are given (used as is).
    """
    be = backend or default_backend()
    xp = be.xp
    dt = tables if isinstance(tables, DeviceTables) else prepare_tables(tables, offsets, backend=be)
    offs_host = np.asarray(_to_host(offsets), dtype=np.int64).ravel()
    if offs_host.size != dt.L:
        raise ValueError(f"offsets has {offs_host.size} loci, the tables were prepared for {dt.L}")
    k = int(k)
    if not 0 <= k <= MAX_K:
        raise ValueError(f"k must be in [0, {MAX_K}], got {k}")
    prof = xp.ascontiguousarray(xp.asarray(profiles), dtype=xp.uint16)
    if prof.ndim != 2 or prof.shape[1] != dt.L:
        raise ValueError(f"profiles must be [R, {dt.L}], got {prof.shape}")
    R = int(prof.shape[0])
    index = xp.full((R, k), -1, dtype=xp.int32)
    score = xp.full((R, k), -np.inf, dtype=xp.float32)
    if R == 0 or k == 0 or dt.T == 0:
        return index, score
    if validate:
        _validate(dt, offs_host, prof, xp)
    offs_d = xp.asarray(offs_host.astype(np.int32))
    floors_d = (widened_floors(dt.bound, floor, xp) if floors is None
                else xp.ascontiguousarray(xp.asarray(floors), dtype=xp.float32))
    i32 = np.int32
    T = dt.T
    if dt.variant == "smem":
        config = KernelConfig("smem", dt.L, dt.rows, dt.ppt, kmax_for(k), threads=dt.threads)
        tiles = -(-R // (dt.threads * dt.ppt))
        G = -(-T // dt.rows)
        per_sm = max(1, min(MIN_BLOCKS, be.max_smem_sm // (dt.smem + 1024)))
        nchunk, per = plan_chunks(tiles, G, be.num_sms, per_sm, min_units=4)
        out_i = index if nchunk == 1 else xp.empty((nchunk, R, k), dtype=xp.int32)
        out_s = score if nchunk == 1 else xp.empty((nchunk, R, k), dtype=xp.float32)
        be.launch(config, "screen_topk_smem", (tiles, nchunk), (dt.threads,), dt.smem,
                  (dt.data, i32(padded_width(dt.W)), i32(T), i32(per), offs_d, prof, i32(R),
                   floors_d, i32(k), out_i, out_s))
    else:
        config = KernelConfig("simple", 1, 1, 1, kmax_for(k))
        tiles = -(-R // SIMPLE_THREADS)
        nchunk, per = plan_chunks(tiles, T, be.num_sms, 8, min_units=64)
        out_i = index if nchunk == 1 else xp.empty((nchunk, R, k), dtype=xp.int32)
        out_s = score if nchunk == 1 else xp.empty((nchunk, R, k), dtype=xp.float32)
        be.launch(config, "screen_topk_simple", (tiles, nchunk), (SIMPLE_THREADS,), 0,
                  (dt.data, i32(dt.W), i32(T), i32(per), offs_d, prof, i32(R), i32(dt.L),
                   floors_d, i32(k), out_i, out_s))
    if nchunk > 1:
        be.launch(config, "screen_merge", (-(-R // MERGE_THREADS),), (MERGE_THREADS,), 0,
                  (out_i, out_s, i32(nchunk), i32(R), i32(k), index, score))
    return index, score


def _best_k(index: np.ndarray, score: np.ndarray, ok: np.ndarray, k: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the first k entries where ``ok`` by (score desc, index asc).

    Returns index int32 [R, k] (-1 pads), score [R, k] (-inf pads), and how many
    were found (int [R], at most k).
    """
    order = np.lexsort((index, -score, ~ok), axis=1)[:, :k]
    n_ok = np.minimum(ok.sum(axis=1), k)
    used = np.arange(k)[None, :] < n_ok[:, None]
    return (np.where(used, np.take_along_axis(index, order, axis=1), -1).astype(np.int32),
            np.where(used, np.take_along_axis(score, order, axis=1), -np.inf).astype(score.dtype), n_ok)


def exact_sums(tables: Any, offsets: Any, profiles: Any, index32: Any, xp: Any = np) -> Any:
    """The reference's score of every kept row: [R, k2] in the tables' dtype (arrays of ``xp``).

    ``tables`` [T, W], ``profiles`` uint16 [R, L], ``index32`` int32 [R, k2]
    (-1 = none: its sum is meaningless). Summed locus by locus from 0, as
    :func:`reference.screen_scores` does, so bit-identical to it.
    """
    offs = np.asarray(_to_host(offsets), dtype=np.int64).ravel()
    rows = xp.where(index32 >= 0, index32, 0).astype(xp.int64)
    prof = profiles.astype(xp.int64)
    exact = xp.zeros(index32.shape, dtype=tables.dtype)
    if tables.shape[0] == 0:            # nothing kept: no row to read
        return exact
    for l in range(offs.size):
        exact += tables[rows, (int(offs[l]) + prof[:, l])[:, None]]
    return exact


def settle(index32: np.ndarray, score32: np.ndarray, exact: np.ndarray, k: int, floor: float,
           bound_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-k from a float32 screen of k2 >= k rows (module docstring, exact mode).

    ``index32`` int32 / ``score32`` [R, k2]: the screen (widened floors, best
    first); ``exact`` [R, k2]: :func:`exact_sums` of its rows; ``bound_max`` =
    max_t B_t. Returns ``(index int32 [R, k], score [R, k] in exact's dtype,
    unresolved int64 [n])``: every row but those of ``unresolved`` (profiles
    whose cut the screen cannot settle) equals :func:`reference.screen_topk`.
    """
    R, k2 = index32.shape
    if k2 < k:
        raise ValueError(f"the screen kept {k2} rows per profile, fewer than k = {k}")
    valid = index32 >= 0
    index, score, n_ok = _best_k(index32, exact, valid & (exact >= floor), k)
    full = valid[:, -1] if k2 else np.zeros(R, dtype=bool)
    last = score32[:, -1].astype(np.float64) if k2 else np.full(R, -np.inf)
    with np.errstate(invalid="ignore"):
        upper = np.nextafter(last + float(bound_max), np.inf)          # S64 of any dropped row <= upper
    upper = np.where(np.isneginf(last), -np.inf, upper)
    kth = score[:, k - 1].astype(np.float64) if k else np.full(R, np.inf)
    settled = ~full | (upper < floor) | ((n_ok >= k) & (kth > upper))
    return index, score, np.flatnonzero(~settled)


def exact_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray, k: int, floor: float,
               screen: Callable[[int], tuple[Any, Any]], *, xp: Any = np,
               on_device: tuple[Any, Any, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact mode around a float32 ``screen(k2)`` -> (index32, score32) [R, k2] arrays of ``xp``.

    ``on_device`` = (tables, profiles, B_t) as ``xp`` arrays, where the kept rows
    are re-scored (default: the host arrays given; ``profiles`` may then be
    None). Returns the reference's (index int32 [R, k], score [R, k] in the
    tables' dtype): :func:`settle`, then the exact CPU kernel for the profiles
    it leaves unsettled.
    """
    k = int(k)
    if not 0 <= k <= MAX_K:
        raise ValueError(f"k must be in [0, {MAX_K}], got {k}")
    index_x, score_x = screen(max(k, min(k + EXACT_MARGIN, MAX_K)))
    t_x, p_x, bound = on_device or (tables, profiles, float32_error_bound(tables, offsets))
    exact = exact_sums(t_x, offsets, p_x, index_x, xp)
    bmax = float(bound.max()) if bound.size else 0.0
    index, score, unresolved = settle(_to_host(index_x).astype(np.int32, copy=False), _to_host(score_x),
                                      _to_host(exact), k, floor, bmax)
    if unresolved.size:
        from reunion.kernels import cpu  # noqa: PLC0415
        stuck = _to_host(p_x[xp.asarray(unresolved)])            # those profiles only, to the host
        index[unresolved], score[unresolved] = cpu.screen_topk(tables, offsets, stuck, k, floor)
    return index, score


def table_row_bytes(W: int, itemsize: int) -> int:
    """Device bytes one table row takes at the peak of :func:`prepare_tables` in exact mode.

    The tables as given (kept), their float32 copy, the padded staging array and
    the interleaved layout: ``W * (itemsize + 3 * 4)``, plus the row's bound.
    """
    return int(W) * (int(itemsize) + 12) + 16


def merge_topk(parts: list[tuple[int, np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """One top-k from the top-k lists of consecutive row ranges of the tables.

    ``parts``: (first row, index int32 [R, k'], score [R, k']) per range, indices
    relative to the range, best first. Ranked by (score desc, row asc) as one
    screen of all rows ranks, so the result equals that screen's (for an exact
    or a float32 screen alike). Returns int32 [R, k] and [R, k].
    """
    index = np.concatenate([np.where(i >= 0, i + t0, -1) for t0, i, _ in parts], axis=1).astype(np.int32)
    score = np.concatenate([sc for _, _, sc in parts], axis=1)
    return _best_k(index, score, index >= 0, k)[:2]


MEMORY_FRACTION = 0.5  # of the device's free memory one screen may take for its tables
CACHE_FRACTION = 0.3   # of the device's memory that tables kept between screens may hold
_PREPARED: "OrderedDict[tuple, DeviceTables]" = OrderedDict()
_PREPARED_LOCK = threading.Lock()


def _cache_key(be: Any, key: Any, tables: np.ndarray, offsets: np.ndarray) -> tuple:
    return (getattr(be, "device_id", 0), key, tables.shape, tables.dtype.str, offsets.tobytes())


def _nbytes(dt: DeviceTables) -> int:
    return sum(int(a.nbytes) for a in (dt.data, dt.bound, dt.exact) if a is not None)


def _prepared(tables: np.ndarray, offsets: np.ndarray, be: Any, key: Any) -> DeviceTables:
    """:func:`prepare_tables` (keep_exact) of ``tables``, kept on the device between calls.

    ``key`` names the tables' content (the pipeline passes the shard's table file,
    whose path holds its shard sha256 and table settings): a reference shard is
    screened against many query blocks, and is copied to the device once per
    worker, not once per block. Least recently used tables are dropped beyond
    ``CACHE_FRACTION`` of the device's memory; without a key, or a backend that
    cannot tell its memory, nothing is kept.
    """
    budget = int(CACHE_FRACTION * be.total_bytes()) if key is not None and hasattr(be, "total_bytes") else 0
    if budget <= 0:
        return prepare_tables(tables, offsets, backend=be, keep_exact=True)
    ck = _cache_key(be, key, tables, offsets)
    with _PREPARED_LOCK:
        dt = _PREPARED.get(ck)
        if dt is not None:
            _PREPARED.move_to_end(ck)
            return dt
    dt = prepare_tables(tables, offsets, backend=be, keep_exact=True)
    if _nbytes(dt) <= budget:
        with _PREPARED_LOCK:
            _PREPARED[ck] = dt
            while sum(_nbytes(d) for d in _PREPARED.values()) > budget:
                _PREPARED.popitem(last=False)
    return dt


def screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray,
                k: int, floor: float, *, backend: Any = None, exact: bool = True,
                max_bytes: int | None = None, cache_key: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """See the module docstring: the reference's contract, screened in float32.

    NumPy in, NumPy out: ``index`` int32 [R, k]; ``score`` [R, k] in the tables'
    dtype. ``exact=True``: the reference's result exactly (exact mode);
    ``exact=False``: the float32 screen alone (its scores, its ranking).

    Tables larger than ``max_bytes`` of device memory (default: ``MEMORY_FRACTION``
    of what is free, when the backend can tell) are screened in row ranges that
    fit, and their lists merged by :func:`merge_topk`: the same result, so a
    reference shard never has to be sized to the card. ``cache_key`` (exact mode,
    tables that fit) keeps the staged tables on the device for the next call with
    the same key (:func:`_prepared`).
    """
    tables = np.asarray(tables)
    if tables.ndim != 2 or tables.dtype not in (np.float32, np.float64):
        raise TypeError(f"tables must be a float32 or float64 [T, W] array, got {tables.dtype} {tables.shape}")
    offsets = np.ascontiguousarray(offsets, dtype=np.int32)
    profiles = np.ascontiguousarray(profiles, dtype=np.uint16)
    be = backend or default_backend()
    T, W = tables.shape
    if cache_key is not None and exact and _cache_key(be, cache_key, tables, offsets) in _PREPARED:
        return _screen_topk(tables, offsets, profiles, k, floor, be, exact, cache_key)   # staged already
    if max_bytes is None and hasattr(be, "free_bytes"):
        max_bytes = int(MEMORY_FRACTION * be.free_bytes())
    rows = T if max_bytes is None else max(1, int(max_bytes) // table_row_bytes(W, tables.dtype.itemsize))
    if rows >= T:
        return _screen_topk(tables, offsets, profiles, k, floor, be, exact, cache_key)
    parts = [(t0, *_screen_topk(tables[t0:t0 + rows], offsets, profiles, k, floor, be, exact, None))
             for t0 in range(0, T, rows)]
    return merge_topk(parts, int(k))


def _screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray, k: int, floor: float,
                 be: Any, exact: bool, cache_key: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`screen_topk` of tables that fit the device."""
    if exact:          # kept rows re-scored on the device, from the tables as given
        dt = _prepared(tables, offsets, be, cache_key)
        prof_x = be.xp.ascontiguousarray(be.xp.asarray(profiles), dtype=be.xp.uint16)
        return exact_topk(tables, offsets, profiles, k, floor,
                          lambda kk: screen_topk_device(dt, offsets, prof_x, kk, floor, backend=be),
                          xp=be.xp, on_device=(dt.exact, prof_x, dt.bound))
    index, score = screen_topk_device(tables, offsets, profiles, k, floor, backend=be)
    return _to_host(index).astype(np.int32, copy=False), _to_host(score).astype(tables.dtype)
