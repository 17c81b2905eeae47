"""Compile every CUDA source of kernels/ for sm_80 and sm_90 and report registers and spills.

    python -m reunion.kernels.compile_check [--arch 80 --arch 90] [--fail-on-spill] [--json]

Uses ``nvcc -cubin -arch=sm_XX -Xptxas -v`` when nvcc is on PATH (or under
$CUDA_HOME/bin, /usr/local/cuda/bin), else NVRTC through CuPy when CuPy is
installed, else prints why it skipped and exits 0. Besides each file's default
build, screen.cu is built in the shapes kernels/gpu.py launches (loci, rows per
staged group, profiles per thread, largest k). Exits 1 on any compile error
(and on spills with --fail-on-spill). No GPU is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent
ARCHS = (80, 90)

# Shapes of screen.cu that gpu.py launches (see gpu_launch.KernelConfig.defines()).
SCREEN_VARIANTS: list[tuple[str, tuple[str, ...]]] = [
    ("L=24 rows=4 ppt=2 kmax=16", ("-DSCREEN_L=24", "-DSCREEN_ROWS=4", "-DSCREEN_PPT=2", "-DSCREEN_KMAX=16")),
    ("L=24 rows=2 ppt=2 kmax=64", ("-DSCREEN_L=24", "-DSCREEN_ROWS=2", "-DSCREEN_PPT=2", "-DSCREEN_KMAX=64")),
    ("L=24 rows=1 ppt=2 kmax=32", ("-DSCREEN_L=24", "-DSCREEN_ROWS=1", "-DSCREEN_PPT=2", "-DSCREEN_KMAX=32")),
    ("L=16 rows=4 ppt=2 kmax=32", ("-DSCREEN_L=16", "-DSCREEN_ROWS=4", "-DSCREEN_PPT=2", "-DSCREEN_KMAX=32")),
    ("L=40 rows=4 ppt=2 kmax=32", ("-DSCREEN_L=40", "-DSCREEN_ROWS=4", "-DSCREEN_PPT=2", "-DSCREEN_KMAX=32")),
    ("L=96 rows=4 ppt=1 kmax=32", ("-DSCREEN_L=96", "-DSCREEN_ROWS=4", "-DSCREEN_PPT=1", "-DSCREEN_KMAX=32")),
]


@dataclass
class KernelReport:
    name: str
    registers: int | None = None
    stack_bytes: int | None = None
    spill_stores: int | None = None
    spill_loads: int | None = None


@dataclass
class BuildResult:
    source: str
    variant: str
    arch: int
    tool: str
    ok: bool
    kernels: list[KernelReport] = field(default_factory=list)
    log: str = ""


_ENTRY = re.compile(r"(?:Compiling entry function|Function properties for) '?([A-Za-z_]\w*)'?")
_PROPS = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_REGS = re.compile(r"Used (\d+) registers")


def parse_ptxas(log: str) -> list[KernelReport]:
    """Registers, stack and spills per entry function from ``ptxas -v`` output."""
    kernels: dict[str, KernelReport] = {}
    current: KernelReport | None = None
    for line in log.splitlines():
        m = _ENTRY.search(line)
        if m:
            current = kernels.setdefault(m.group(1), KernelReport(m.group(1)))
            continue
        if current is None:
            continue
        m = _PROPS.search(line)
        if m:
            current.stack_bytes, current.spill_stores, current.spill_loads = (int(g) for g in m.groups())
        m = _REGS.search(line)
        if m:
            current.registers = int(m.group(1))
    return list(kernels.values())


def find_nvcc() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and Path(root, "bin", "nvcc").is_file():
            return str(Path(root, "bin", "nvcc"))
    return None


def _nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc  # noqa: PLC0415
        nvrtc.getVersion()
        return nvrtc
    except Exception:
        return None


def _build_nvcc(nvcc: str, src: Path, arch: int, defines: tuple[str, ...]) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [nvcc, "-cubin", f"-arch=sm_{arch}", "-Xptxas", "-v", "-std=c++17", *defines,
               "-o", str(Path(tmp, "out.cubin")), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode == 0, proc.stdout + proc.stderr


def _build_nvrtc(nvrtc, src: Path, arch: int, defines: tuple[str, ...]) -> tuple[bool, str]:
    prog = nvrtc.createProgram(src.read_text(), src.name, [], [])
    opts = [f"-arch=sm_{arch}", "--ptxas-options=-v", "--std=c++17", *defines]
    try:
        nvrtc.compileProgram(prog, opts)
        ok = True
    except Exception as exc:  # NVRTCError
        ok = False
        err = str(exc)
    log = nvrtc.getProgramLog(prog)
    nvrtc.destroyProgram(prog)
    return ok, log if ok else f"{err}\n{log}"


def run_check(archs: tuple[int, ...] = ARCHS, tool: str = "auto") -> tuple[str | None, list[BuildResult]]:
    """(tool or None when skipped, results) for every .cu and variant.

    ``tool``: "auto" (nvcc, else NVRTC), "nvcc" or "nvrtc" (None when that one is missing).
    """
    nvcc = find_nvcc() if tool in ("auto", "nvcc") else None
    nvrtc = _nvrtc() if (tool == "nvrtc" or (tool == "auto" and nvcc is None)) else None
    if nvcc is None and nvrtc is None:
        return None, []
    tool = "nvcc" if nvcc else "nvrtc"
    results = []
    for src in sorted(KERNEL_DIR.glob("*.cu")):
        variants = [("default", ())]
        if src.name == "screen.cu":
            variants += SCREEN_VARIANTS
        for label, defines in variants:
            for arch in archs:
                if nvcc:
                    ok, log = _build_nvcc(nvcc, src, arch, defines)
                else:
                    ok, log = _build_nvrtc(nvrtc, src, arch, defines)
                results.append(BuildResult(src.name, label, arch, tool, ok, parse_ptxas(log) if ok else [], log))
    return tool, results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", type=int, action="append", help="SM version (repeatable; default 80 and 90)")
    ap.add_argument("--fail-on-spill", action="store_true", help="exit 1 when any kernel spills")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--tool", choices=("auto", "nvcc", "nvrtc"), default="auto",
                    help="compiler: nvcc, NVRTC through CuPy, or auto (nvcc first)")
    args = ap.parse_args(argv)
    tool, results = run_check(tuple(args.arch) if args.arch else ARCHS, args.tool)
    if tool is None:
        print(f"compile check skipped: no compiler for --tool {args.tool} (nvcc: PATH, $CUDA_HOME/bin, "
              "/usr/local/cuda/bin; NVRTC: CuPy with libnvrtc)")
        return 0
    failed = [r for r in results if not r.ok]
    spills = [(r, k) for r in results for k in r.kernels if (k.spill_stores or 0) + (k.spill_loads or 0) > 0]
    if args.json:
        print(json.dumps([asdict(r) | {"log": r.log if not r.ok else ""} for r in results], indent=2))
    else:
        print(f"compile check with {tool}")
        for r in results:
            head = f"{r.source} [{r.variant}] sm_{r.arch}"
            if not r.ok:
                print(f"{head}: COMPILE ERROR\n{r.log}")
                continue
            for k in r.kernels:
                print(f"{head} {k.name}: {k.registers} registers, {k.stack_bytes} B stack, "
                      f"spill {k.spill_stores} B stores / {k.spill_loads} B loads")
        print(f"{len(results)} builds, {len(failed)} failed, {len(spills)} kernels spilling")
    if failed:
        return 1
    if spills and args.fail_on_spill:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
