"""CuPy launcher of ``screen.cu``: the GPU screening kernel (backend, staging, entry point).

Same contract as :func:`reunion.kernels.reference.screen_topk` except for
precision: the device sums in **float32** (tables converted on the device), so

- ``index`` holds the table rows whose float32 score passes a per-row *widened*
  floor, ranked by float32 score, ties to the lower row: it is a screen that
  never loses a row whose exact float64 score passes ``floor``
  (:mod:`reunion.kernels.gpu_bound`: the error bound, the widened floors and
  :func:`emulate_screen_topk`, the NumPy twin of what the device returns);
- ``score`` holds the float32 screen scores, returned in the tables' dtype
  (float32 values upcast to float64 for float64 tables).

:func:`screen_topk` with ``exact=True`` (the pipeline's default) returns the
reference's indices and scores exactly (:mod:`reunion.kernels.gpu_exact`).
Launch shapes are :mod:`reunion.kernels.gpu_launch`'s; host-side ranking and
merging are :mod:`reunion.kernels.topk`'s. This module holds the CuPy backend,
the staging of tables on the device (and the cache keeping them there between
screens), and the screens themselves. CuPy is imported lazily: importing this
module needs only NumPy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reunion.kernels.gpu_bound import emulate_screen_topk, float32_error_bound, locus_segments, widened_floors
from reunion.kernels.gpu_exact import EXACT_MARGIN, exact_sums, exact_topk
from reunion.kernels.gpu_launch import (MAX_CHUNKS, MAX_K, MERGE_THREADS, MIN_BLOCKS, SIMPLE_THREADS, THREADS,
                                        KernelConfig, choose_layout, kmax_for, padded_width, plan_chunks,
                                        ppt_for, smem_bytes)
from reunion.kernels.topk import empty_topk, merge_topk, settle, to_host

__all__ = [  # with the names moved to gpu_bound, gpu_exact, gpu_launch and topk, kept importable from here
    "EXACT_MARGIN", "MAX_CHUNKS", "MAX_K", "CACHE_FRACTION", "MEMORY_FRACTION", "CupyBackend", "DeviceTables",
    "KernelConfig", "choose_layout", "default_backend", "device_name", "emulate_screen_topk", "exact_sums",
    "exact_topk", "float32_error_bound", "kmax_for", "merge_topk", "plan_chunks", "ppt_for", "prepare_tables",
    "screen_topk", "screen_topk_device", "settle", "table_row_bytes", "widened_floors",
]

KERNEL_SOURCE = Path(__file__).with_name("screen.cu")


# ---------------------------------------------------------------- backends


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


# ---------------------------------------------------------------- staging


@dataclass
class DeviceTables:
    """Tables staged on the device once, reusable across screens (benchmarks)."""

    data: Any          # "smem": [G, Wp, rows] float32 interleaved; "simple": [T, W] float32
    bound: Any         # float64 [T]: B_t of gpu_bound.float32_error_bound
    T: int
    W: int
    L: int
    variant: str
    rows: int
    ppt: int
    smem: int
    threads: int
    segments: list[tuple[int, int]] | None   # gpu_bound.locus_segments of the offsets
    exact: Any = None  # [T, W] the tables as given (dtype kept) on the device, for exact mode


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
    offs = np.asarray(to_host(offsets), dtype=np.int64).ravel()
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
            smem = smem_bytes(W, L, rows, ppt, threads)
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
    return DeviceTables(data, bound, T, W, L, variant, rows, ppt, smem, threads, locus_segments(offs, W),
                        t if keep_exact else None)


# ---------------------------------------------------------------- screening


def _validate(dt: DeviceTables, offsets: np.ndarray, profiles: Any) -> None:
    """IndexError unless every slot ``offsets[l] + profiles[r, l]`` (int64 [L], uint16 [R, L]) is in its locus."""
    if profiles.shape[0] == 0 or dt.L == 0:
        return
    gmax = np.asarray(to_host(profiles.max(axis=0)), dtype=np.int64)
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
    alone); ``offsets`` int [L]; ``profiles`` uint16 [R, L] (device or host).
    ``floor`` is widened per row (:func:`widened_floors`) unless explicit per-row
    float32 ``floors`` [T] are given (used as is).
    """
    be = backend or default_backend()
    xp = be.xp
    dt = tables if isinstance(tables, DeviceTables) else prepare_tables(tables, offsets, backend=be)
    offs_host = np.asarray(to_host(offsets), dtype=np.int64).ravel()
    if offs_host.size != dt.L:
        raise ValueError(f"offsets has {offs_host.size} loci, the tables were prepared for {dt.L}")
    k = int(k)
    if not 0 <= k <= MAX_K:
        raise ValueError(f"k must be in [0, {MAX_K}], got {k}")
    prof = xp.ascontiguousarray(xp.asarray(profiles), dtype=xp.uint16)
    if prof.ndim != 2 or prof.shape[1] != dt.L:
        raise ValueError(f"profiles must be [R, {dt.L}], got {prof.shape}")
    R = int(prof.shape[0])
    index, score = empty_topk(R, k, xp.float32, xp)
    if R == 0 or k == 0 or dt.T == 0:
        return index, score
    if validate:
        _validate(dt, offs_host, prof)
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


# ---------------------------------------------------------------- entry point: memory, cache, screen


def table_row_bytes(W: int, itemsize: int) -> int:
    """Device bytes one table row takes at the peak of :func:`prepare_tables` in exact mode.

    The tables as given (kept), their float32 copy, the padded staging array and
    the interleaved layout: ``W * (itemsize + 3 * 4)``, plus the row's bound.
    """
    return int(W) * (int(itemsize) + 12) + 16


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
    return to_host(index).astype(np.int32, copy=False), to_host(score).astype(tables.dtype)
