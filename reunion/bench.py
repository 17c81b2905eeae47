"""Kernel benchmark: pairs per second of the screening kernel against a plain NumPy scorer.

    python -m reunion.bench --device cpu --queries 2000 --references 20000 --loci 24 [--json]
    reunion bench kernel ...            (the same options: :func:`main`)

``queries`` is the number of table rows T (lost-child tables: one family and
hypothesis each), ``references`` the number of profiles R screened against
them, so one run scores ``pairs = T * R`` (profile, table) pairs. Tables are
random log10 LRs over realistic loci (12 to 20 alleles each, so 79 to 211
genotype slots per locus, slot 0 = untyped = 0.0); about 2% of a profile's loci
are untyped.

The chosen kernel is timed after a warm-up (numba compilation or NVRTC build),
best of ``repeats``; on the GPU with CUDA events around the screen alone (tables
staged and profiles resident on the device beforehand: a standing database).
In the same run a plain vectorised NumPy scorer does the same work (gather-sum
locus by locus over a transposed table, then a partition top-k, chunked to
bound memory), timed on a subset of the profiles when the full run would be
long, and scaled per pair. Its scores are checked against the kernel's on a
few profiles.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import time
from typing import Any, Literal, NamedTuple

import numpy as np

from reunion.kernels.topk import empty_topk, select_topk

Device = Literal["cpu", "gpu"]
Workload = Literal["random", "kinship"]

NUMPY_MAX_PAIRS = 20_000_000      # NumPy scorer timed on at most this many pairs
EXACT_MAX_REFERENCES = 1_000_000  # GPU exact mode timed up to this many profiles
NUMPY_CHUNK_ELEMS = 1 << 17       # [profiles chunk, T] accumulator: cache-sized (fastest measured)


def make_offsets(rng: np.random.Generator, loci: int, alleles: tuple[int, int] = (12, 20)) -> np.ndarray:
    """Per-locus slot offsets for random allele counts n (slots = 1 + n(n+1)/2)."""
    n = rng.integers(alleles[0], alleles[1] + 1, loci)
    slots = 1 + n * (n + 1) // 2
    return np.concatenate([[0], np.cumsum(slots)[:-1]]).astype(np.int32), int(slots.sum()), slots


def make_tables(rng: np.random.Generator, T: int, offsets: np.ndarray, W: int,
                dtype: Any = np.float64) -> np.ndarray:
    """Random log10 LR tables [T, W]: mostly mild negatives, some strong positives, slot 0 = 0."""
    tables = rng.normal(-0.3, 0.8, (T, W))
    tables[:, offsets] = 0.0
    return tables.astype(dtype)


def make_profiles(rng: np.random.Generator, R: int, slots: np.ndarray, untyped: float = 0.02) -> np.ndarray:
    """Random genotype indices uint16 [R, L] (0 = untyped with probability ``untyped``)."""
    L = slots.size
    prof = (rng.random((R, L)) * (slots - 1)).astype(np.int64) + 1
    prof[rng.random((R, L)) < untyped] = 0
    return prof.astype(np.uint16)


class KinshipWorkload(NamedTuple):
    """The pipeline's screening work, for the benchmark (see :func:`make_kinship_workload`)."""

    offsets: np.ndarray      # int32 [L]: first slot of each locus in a table row
    width: int               # W, slots per table row
    tables: np.ndarray       # float [T, W] log10 LRs (trio, father duo, mother duo, in turn)
    profiles: np.ndarray     # uint16 [R, L] unrelated profiles' genotype indices (0 = untyped)
    fathers: np.ndarray      # uint16 [T, L] (used by trio and father-duo rows)
    mothers: np.ndarray      # uint16 [T, L] (used by trio and mother-duo rows)
    info: dict               # population, frequency table and sha256, mutation model, loci, floor


def make_kinship_workload(rng: np.random.Generator, T: int, R: int, loci: int,
                          dtype: Any = np.float64) -> KinshipWorkload:
    """The pipeline's screening workload from the default settings' frequency table.

    Table row t is family t's lost-child table: a trio when t % 3 == 0, a father
    duo when 1, a mother duo when 2 (parents drawn under Hardy-Weinberg), built
    in float64 by :meth:`FamilyScorer.table_rows` with the configured mutation
    model, then cast to ``dtype``. ``info["floor"]`` is the configured log10 LR
    floor.
    """
    from reunion.encoding import Encoding, genotype_index  # noqa: PLC0415
    from reunion.frequencies import load_frequency_table  # noqa: PLC0415
    from reunion.genetics.family import FamilyScorer, Member  # noqa: PLC0415
    from reunion.genetics.mutation import MutationModels  # noqa: PLC0415
    from reunion.settings import Settings  # noqa: PLC0415

    s = Settings()
    ft = load_frequency_table(s.frequencies.table, s.frequencies.population)
    full = Encoding.build(ft, {}, s.frequencies.floor)
    if not 1 <= loci <= len(full.loci):
        raise ValueError(f"the kinship workload has {len(full.loci)} loci ({s.frequencies.table.name}, "
                         f"{ft.population}); got --loci {loci}: use 1 to {len(full.loci)}")
    enc = Encoding(full.loci[:loci], full.population, full.table_sha256)

    def draw(n: int) -> np.ndarray:
        out = np.empty((n, loci), dtype=np.uint16)
        for l, lc in enumerate(enc.loci):
            a = rng.choice(lc.n_alleles, size=(n, 2), p=lc.frequencies / lc.frequencies.sum())
            out[:, l] = genotype_index(a[:, 0], a[:, 1])
        return out

    fathers, mothers = draw(T), draw(T)
    hyps = []
    for i in range(T):
        used = {}
        if i % 3 in (0, 1):
            used["father"] = Member(f"F{i}", "father", "M", fathers[i])
        if i % 3 in (0, 2):
            used["mother"] = Member(f"M{i}", "mother", "F", mothers[i])
        hyps.append((("trio", "duo_father", "duo_mother")[i % 3], used))
    tables = FamilyScorer(enc, MutationModels(s.mutation, enc),
                          pedigree=s.scoring.pedigree).table_rows(hyps).astype(dtype)
    profiles = draw(R)
    profiles[rng.random((R, loci)) < 0.02] = 0
    info = {"population": ft.population, "frequency_table": s.frequencies.table.name,
            "frequency_sha256": ft.sha256, "mutation_model": s.mutation.model,
            "loci_names": enc.locus_names, "floor": s.scoring.log10_lr_floor}
    return KinshipWorkload(enc.offsets, enc.width, tables, profiles, fathers, mothers, info)


def numpy_screen_topk(tables: np.ndarray, offsets: np.ndarray, profiles: np.ndarray, k: int,
                      floor: float = -np.inf,
                      chunk_elems: int = NUMPY_CHUNK_ELEMS) -> tuple[np.ndarray, np.ndarray]:
    """Plain vectorised NumPy screen (the baseline): gather-sum + partition top-k.

    ``tables`` float [T, W], ``offsets`` int32 [L], ``profiles`` uint16 [R, L].
    Returns index int32 [R, k] and score [R, k] (tables' dtype): the reference's
    result (locus order, tables' dtype, :func:`reunion.kernels.topk.select_topk`),
    over a transposed table in profile chunks of ``chunk_elems`` scores.
    """
    tT = np.ascontiguousarray(tables.T)                        # [W, T]: a gather copies rows
    T = tables.shape[0]
    R, L = profiles.shape
    index, best = empty_topk(R, k, tables.dtype)
    if R == 0 or T == 0 or k == 0:
        return index, best
    rc = max(1, chunk_elems // T)
    buf = None
    for r0 in range(0, R, rc):
        cols = offsets.astype(np.intp) + profiles[r0:r0 + rc].astype(np.intp)    # [n, L]
        acc = tT[cols[:, 0]] if L else np.zeros((cols.shape[0], T), tables.dtype)
        if buf is None or buf.shape != acc.shape:
            buf = np.empty_like(acc)
        for l in range(1, L):
            np.take(tT, cols[:, l], axis=0, out=buf)
            acc += buf
        index[r0:r0 + rc], best[r0:r0 + rc], _ = select_topk(acc, k, acc >= floor)
    return index, best


def _machine(device: str) -> dict:
    info: dict[str, Any] = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                            "cpu_count": os.cpu_count(), "python": platform.python_version(),
                            "numpy": np.__version__}
    try:
        import numba  # noqa: PLC0415
        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
    except Exception:
        info["numba_threads"] = None
    info["gpu"] = None
    if device == "gpu":
        from reunion.kernels import gpu  # noqa: PLC0415
        info["gpu"] = gpu.device_name()
        try:
            import cupy  # noqa: PLC0415
            info["cupy"] = cupy.__version__
            info["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
            info["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        except Exception:
            pass
    return info


def _time_numpy(tables, offsets, profiles, k, floor, max_pairs: int, repeats: int) -> tuple[float, int, tuple]:
    """(seconds per pair, pairs timed, result of the subset)."""
    T = tables.shape[0]
    n = max(1, min(profiles.shape[0], max_pairs // max(T, 1)))
    sub = profiles[:n]
    numpy_screen_topk(tables[: min(T, 8)], offsets, sub[:8], k, floor)     # warm caches, tiny
    best_t, res = np.inf, None
    for _ in range(max(1, min(repeats, 2))):
        t0 = time.perf_counter()
        res = numpy_screen_topk(tables, offsets, sub, k, floor)
        best_t = min(best_t, time.perf_counter() - t0)
    return best_t / (n * T), n * T, res


def run_kernel_benchmark(device: Device, queries: int, references: int, loci: int, k: int = 10,
                         seed: int = 0, repeats: int = 3, *, floor: float | None = None,
                         dtype: str | None = None, numpy_max_pairs: int = NUMPY_MAX_PAIRS,
                         workload: Workload = "random") -> dict:
    """Time the ``device`` kernel on T = ``queries`` tables x R = ``references`` profiles.

    Returns a dict: device, queries, references, loci, k, pairs, seconds (best of
    ``repeats``), pairs_per_second, numpy_pairs_per_second, speedup_vs_numpy,
    machine, timestamp, plus workload, floor, dtype, all_seconds,
    numpy_pairs_timed, kept_per_profile (candidates at or above the floor, mean)
    and checked (the NumPy and kernel scores agreed on a sample); on the GPU also
    exact_mode_seconds (the pipeline's exact mode, wall clock, R <= 1e6). ``floor``
    None: -inf for the random workload, the configured floor for kinship. ``dtype`` is the tables'
    dtype given to the kernel (default float64; the GPU screens in float32
    whatever it is given, and its NumPy baseline then runs in float32 too).
    """
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    T, R, L = int(queries), int(references), int(loci)
    if T < 1 or R < 1 or L < 1 or k < 1:
        raise ValueError("queries, references, loci and k must be >= 1")
    if workload not in ("random", "kinship"):
        raise ValueError(f"workload must be 'random' or 'kinship', got {workload!r}")
    rng = np.random.default_rng(seed)
    tdtype = np.dtype(dtype or "float64")
    host_profiles, extra = None, {}
    if workload == "random":
        offsets, W, slots = make_offsets(rng, L)
        tables = make_tables(rng, T, offsets, W, tdtype)
        floor = -np.inf if floor is None else float(floor)
    else:
        work = make_kinship_workload(rng, T, R, L, tdtype)
        offsets, W, tables, host_profiles = work.offsets, work.width, work.tables, work.profiles
        extra = dict(work.info)
        floor = float(extra.pop("floor")) if floor is None else float(floor)
    result: dict[str, Any] = {"device": device, "workload": workload, "queries": T, "references": R,
                              "loci": L, "k": k, "pairs": T * R, "dtype": str(tdtype), "table_width": W,
                              "floor": floor if np.isfinite(floor) else str(floor), **extra}
    times: list[float] = []
    sample = min(R, 64)

    if device == "cpu":
        from reunion.kernels import cpu  # noqa: PLC0415
        profiles = make_profiles(rng, R, slots) if host_profiles is None else host_profiles
        cpu.screen_topk(tables[:4], offsets, profiles[:4], k, floor)            # compile / load cache
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            index, score = cpu.screen_topk(tables, offsets, profiles, k, floor)
            times.append(time.perf_counter() - t0)
        np_tables = tables
        kernel_scores = score[:sample]
        kept = float(np.count_nonzero(index >= 0)) / R
    else:
        from reunion.kernels import device as _device, gpu  # noqa: PLC0415
        _device.resolve("gpu")                                                    # clear error without a GPU
        import cupy  # noqa: PLC0415
        if host_profiles is not None:
            prof_d = cupy.asarray(host_profiles)
        else:
            prof_d = cupy.empty((R, L), dtype=cupy.uint16)
            crng = cupy.random.default_rng(seed)
            for l in range(L):                                                    # profiles made on the device
                prof_d[:, l] = crng.integers(1, int(slots[l]), R, dtype=cupy.int64).astype(cupy.uint16)
            prof_d[crng.random((R, L)) < 0.02] = 0
        offs_d = cupy.asarray(offsets)
        t0 = time.perf_counter()
        prepared = gpu.prepare_tables(tables, offsets, keep_exact=True)
        floors_d = gpu.widened_floors(prepared.bound, floor, cupy)
        cupy.cuda.Device().synchronize()
        result["prepare_seconds"] = time.perf_counter() - t0
        result["layout"] = {"variant": prepared.variant, "rows": prepared.rows, "ppt": prepared.ppt,
                            "shared_bytes": prepared.smem, "threads": prepared.threads}
        run = lambda: gpu.screen_topk_device(prepared, offs_d, prof_d, k, floor,  # noqa: E731
                                             floors=floors_d, validate=False)
        run()                                                                     # NVRTC build, warm-up
        cupy.cuda.Device().synchronize()
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        for _ in range(max(1, repeats)):
            start.record()
            index, score = run()
            stop.record()
            stop.synchronize()
            times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
        # exact mode, as the pipeline runs it: k + margin screened, kept rows re-scored on the
        # device, ranked on the host (wall clock, transfers included)
        exact_run = lambda: gpu.exact_topk(  # noqa: E731
            tables, offsets, None, k, floor,
            lambda kk: gpu.screen_topk_device(prepared, offs_d, prof_d, kk, floor, floors=floors_d,
                                              validate=False),
            xp=cupy, on_device=(prepared.exact, prof_d, prepared.bound))
        if R <= EXACT_MAX_REFERENCES:           # host ranking of [R, k + 8]: pipeline-sized blocks
            exact_run()
            exact_times = []
            for _ in range(max(1, repeats)):
                t0 = time.perf_counter()
                exact_run()
                exact_times.append(time.perf_counter() - t0)
            result["exact_mode_seconds"] = min(exact_times)
        profiles = cupy.asnumpy(prof_d[: max(sample, min(R, max(1, numpy_max_pairs // T)))])
        kernel_scores = cupy.asnumpy(score[:sample])
        kept = float(cupy.count_nonzero(index >= 0)) / R
        np_tables = tables.astype(np.float32)
        del index, score, prof_d

    seconds = min(times)
    per_pair, np_pairs, (np_index, np_score) = _time_numpy(np_tables, offsets, profiles, k, floor,
                                                           numpy_max_pairs, repeats)
    checked = bool(np.array_equal(np_score[:sample], kernel_scores.astype(np_score.dtype)))
    result.update({
        "seconds": seconds,
        "all_seconds": times,
        "pairs_per_second": T * R / seconds,
        "numpy_pairs_per_second": 1.0 / per_pair,
        "numpy_pairs_timed": np_pairs,
        "speedup_vs_numpy": (T * R / seconds) * per_pair,
        "checked": checked,
        "kept_per_profile": kept,
        "machine": _machine(device),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    return result


def kernel_parser(prog: str = "python -m reunion.bench") -> argparse.ArgumentParser:
    """The kernel benchmark's options (``python -m reunion.bench`` and ``reunion bench kernel``)."""
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--queries", type=int, default=2000, help="table rows T (lost-child tables: families)")
    ap.add_argument("--references", type=int, default=20000, help="profiles R (missing persons)")
    ap.add_argument("--loci", type=int, default=24, help="loci per profile")
    ap.add_argument("-k", "--k", type=int, default=10, help="candidates kept per profile")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (the best is reported)")
    ap.add_argument("--floor", type=float, default=None,
                    help="log10 LR floor (default: -inf for random, the configured floor for kinship)")
    ap.add_argument("--workload", choices=("random", "kinship"), default="random",
                    help="random tables (worst case for selection) or the pipeline's kinship tables")
    ap.add_argument("--dtype", choices=("float64", "float32"), default=None,
                    help="table dtype (default float64; the GPU screens in float32 whatever it is given)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    return ap


def main(argv: list[str] | None = None, prog: str = "python -m reunion.bench") -> int:
    """Run the kernel benchmark from command-line arguments ``argv``; print one line or JSON; 0."""
    ap = kernel_parser(prog)
    a = ap.parse_args(argv)
    try:
        res = run_kernel_benchmark(a.device, a.queries, a.references, a.loci, a.k, a.seed, a.repeats,
                                   floor=a.floor, dtype=a.dtype, workload=a.workload)
    except ValueError as exc:
        ap.error(str(exc))
    if a.json:
        print(json.dumps(res, indent=2, default=float))
    else:
        print(f"{res['device']} kernel, {res['workload']} workload, floor {res['floor']}, {res['queries']} tables x {res['references']} profiles x "
              f"{res['loci']} loci, k={res['k']}, {res['dtype']}: {res['seconds']:.3f} s, "
              f"{res['pairs_per_second']:.3e} pairs/s; NumPy {res['numpy_pairs_per_second']:.3e} pairs/s; "
              f"speedup {res['speedup_vs_numpy']:.1f}x; scores checked: {res['checked']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
