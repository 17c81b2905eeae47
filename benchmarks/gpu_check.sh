#!/usr/bin/env bash
# GPU check for an offline GPU machine (no network): GPU tests, CUDA compile
# check, then the kernel benchmark at 24 loci over growing database sizes.
#
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR]
#
# OUTPUT_DIR defaults to benchmarks/results/<gpu-name>-<date>/. Writes there:
#   pytest_gpu.txt, compile_check.txt, bench_<R>.json (one per size),
#   bench.json (all sizes), bench_kinship.json (the pipeline's own tables,
#   when time allows), bench.png (pairs/s vs database size, if matplotlib
#   is installed), summary.txt. Uses only installed packages, plus wheels in
#   benchmarks/wheels/ when that folder exists. Whole run: under 8 minutes.
set -u

T_TOTAL=470                      # seconds for everything (< 8 minutes)
T_TESTS=150
T_COMPILE=60
START=$(date +%s)
left() { echo $(( T_TOTAL - ($(date +%s) - START) )); }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi

# Offline wheels, if shipped.
if compgen -G "$ROOT/benchmarks/wheels/*.whl" >/dev/null; then
  echo "installing wheels from benchmarks/wheels (offline)"
  "$PY" -m pip install -q --no-index --find-links "$ROOT/benchmarks/wheels" "$ROOT"/benchmarks/wheels/*.whl \
    || uv pip install --python "$PY" --offline --no-index --find-links "$ROOT/benchmarks/wheels" "$ROOT"/benchmarks/wheels/*.whl \
    || echo "warning: wheel install failed; going on with what is installed"
fi

# Make `reunion.kernels` importable without installing (pyproject maps
# reunion.kernels -> kernels/, reunion.flows -> flows/, reunion.contracts -> data_contracts/).
if ! "$PY" -c "import reunion.kernels.gpu" >/dev/null 2>&1; then
  SHIM=$(mktemp -d)
  mkdir -p "$SHIM/reunion"
  for f in "$ROOT"/reunion/*; do ln -s "$f" "$SHIM/reunion/$(basename "$f")"; done
  ln -s "$ROOT/kernels" "$SHIM/reunion/kernels"
  [ -d "$ROOT/flows" ] && ln -s "$ROOT/flows" "$SHIM/reunion/flows"
  [ -d "$ROOT/data_contracts" ] && ln -s "$ROOT/data_contracts" "$SHIM/reunion/contracts"
  export PYTHONPATH="$SHIM${PYTHONPATH:+:$PYTHONPATH}"
fi

GPU_NAME=$("$PY" -c "from reunion.kernels import gpu; print(gpu.device_name() or '')" 2>/dev/null)
if [ -z "$GPU_NAME" ] && command -v nvidia-smi >/dev/null; then
  GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
fi
SAFE_NAME=$(echo "${GPU_NAME:-no-gpu}" | tr -cs 'A-Za-z0-9._-' '-' | sed 's/-*$//')
OUT=${1:-"$ROOT/benchmarks/results/${SAFE_NAME}-$(date +%Y%m%d-%H%M)"}
mkdir -p "$OUT"
echo "GPU: ${GPU_NAME:-none}; python: $PY; output: $OUT"
{
  echo "gpu: ${GPU_NAME:-none}"; echo "date: $(date -u +%FT%TZ)"; echo "host: $(uname -a)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  "$PY" -c "import cupy; print('cupy', cupy.__version__, 'runtime', cupy.cuda.runtime.runtimeGetVersion())" 2>&1
} > "$OUT/summary.txt"

# 1. GPU tests.
echo "== pytest -m gpu (limit ${T_TESTS}s)"
timeout "$T_TESTS" "$PY" -m pytest -q -m gpu "$ROOT/tests/kernels/test_kernels_gpu.py" -p no:cacheprovider \
  > "$OUT/pytest_gpu.txt" 2>&1
RC_TESTS=$?
tail -3 "$OUT/pytest_gpu.txt"
echo "pytest -m gpu: rc=$RC_TESTS" >> "$OUT/summary.txt"

# 2. Compile check (nvcc, else NVRTC through CuPy, else it says it skipped).
echo "== compile check (limit ${T_COMPILE}s)"
timeout "$T_COMPILE" "$PY" -m reunion.kernels.compile_check > "$OUT/compile_check.txt" 2>&1
RC_COMPILE=$?
tail -1 "$OUT/compile_check.txt"
echo "compile check: rc=$RC_COMPILE" >> "$OUT/summary.txt"

# 3. Benchmark at 24 loci: growing R until the card is full or time runs out.
T_BENCH=$(( $(left) - 10 ))
echo "== kernel benchmark (limit ${T_BENCH}s)"
if [ "$T_BENCH" -gt 20 ]; then
  timeout "$T_BENCH" "$PY" - "$OUT" "$T_BENCH" <<'PYEOF' 2>&1 | tee "$OUT/bench.txt"
import json, sys, time
from pathlib import Path
out, budget = Path(sys.argv[1]), float(sys.argv[2]) - 15
start = time.monotonic()
from reunion.kernels.device import gpu_available
if not gpu_available():
    print("no usable CUDA GPU (CuPy with a visible device): benchmark skipped")
    sys.exit(2)
import cupy
from reunion.bench import run_kernel_benchmark
T, L, K, REPEATS = 2000, 24, 10, 3
free, total = cupy.cuda.runtime.memGetInfo()
per_profile = L * 2 + K * 8 * 3          # profiles + outputs (+ slack for partial lists)
r_max = int(0.5 * free / per_profile)
sizes = [10_000 * 4 ** i for i in range(20) if 10_000 * 4 ** i <= r_max]
results, rate = [], None
for R in sizes:
    spent = time.monotonic() - start
    if rate is not None and spent + (REPEATS + 2) * T * R / rate + 5 > budget:
        print(f"stopping before R={R}: not enough time left"); break
    res = run_kernel_benchmark("gpu", T, R, L, K, repeats=REPEATS,
                               numpy_max_pairs=20_000_000 if not results else 4_000_000)
    rate = res["pairs_per_second"]
    results.append(res)
    (out / f"bench_{R}.json").write_text(json.dumps(res, indent=2, default=float))
    print(f"R={R:>11,} pairs={T*R:.2e} {res['seconds']*1e3:9.2f} ms {rate:.3e} pairs/s "
          f"numpy {res['numpy_pairs_per_second']:.2e} speedup {res['speedup_vs_numpy']:.0f}x "
          f"checked={res['checked']} layout={res.get('layout')}", flush=True)
(out / "bench.json").write_text(json.dumps(results, indent=2, default=float))
# The pipeline's own workload (trio and duo tables from the configured frequencies, unrelated
# profiles drawn on the host, the configured floor) at one size, when time allows.
R_kin = min(sizes[-1] if sizes else 10_000, 4_000_000)
if rate is not None and time.monotonic() - start + (REPEATS + 2) * T * R_kin / rate + 30 < budget:
    res = run_kernel_benchmark("gpu", T, R_kin, L, K, repeats=REPEATS, workload="kinship",
                               numpy_max_pairs=4_000_000)
    (out / "bench_kinship.json").write_text(json.dumps(res, indent=2, default=float))
    print(f"kinship workload R={R_kin:,}: {res['pairs_per_second']:.3e} pairs/s, floor {res['floor']}, "
          f"kept/profile {res['kept_per_profile']:.3f}, speedup {res['speedup_vs_numpy']:.0f}x "
          f"checked={res['checked']}", flush=True)
else:
    print("kinship workload skipped: not enough time left")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except Exception:
    print("matplotlib not installed: no plot")
else:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["references"] for r in results], [r["pairs_per_second"] for r in results], "o-")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel(f"database size R (profiles), T = {T} tables, {L} loci")
    ax.set_ylabel("pairs / s")
    ax.set_title(results[0]["machine"].get("gpu") or "GPU" if results else "GPU")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout(); fig.savefig(out / "bench.png", dpi=120)
    print("plot:", out / "bench.png")
PYEOF
  RC_BENCH=${PIPESTATUS[0]}
else
  echo "no time left for the benchmark"; RC_BENCH=124
fi
echo "benchmark: rc=$RC_BENCH" >> "$OUT/summary.txt"
echo "total: $(( $(date +%s) - START ))s" >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
[ "$RC_TESTS" -eq 0 ] && [ "$RC_COMPILE" -eq 0 ] && [ "$RC_BENCH" -eq 0 ]
