"""reunion installs like any Python tool: a non-editable install from a clean clone ships the
configs, frequency tables, report assets and CUDA sources, knows its version with its commit,
keeps its state out of site-packages and runs the demo from another folder.

Offline: the wheel is built with this environment's setuptools and setuptools-scm (the dev
extra) through the PEP 517 hooks, no build isolation; it is installed with --no-deps into a
fresh venv that sees this environment's packages through a .pth file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.compile(r"^\d+(\.\d+)*(\.dev\d+)?\+g(?P<sha>[0-9a-f]{7,})(\.d\d{8})?$")

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, text=True, capture_output=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done.stdout


def _build(source: Path, out: Path, kind: str = "wheel") -> Path:
    """A wheel or sdist of ``source`` through setuptools' PEP 517 hooks (what pip runs)."""
    out.mkdir(parents=True, exist_ok=True)
    code = f"from setuptools import build_meta as b; print(b.build_{kind}({str(out)!r}))"
    name = _run([sys.executable, "-c", code], cwd=source).strip().splitlines()[-1]
    return out / name


def _clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "NUMBA_", "XDG_", "VIRTUAL_ENV", "PYTHON"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of this checkout, with its uncommitted changes copied over (none in CI)."""
    pytest.importorskip("setuptools_scm", reason="the dev extra installs setuptools-scm")
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    dest = tmp_path_factory.mktemp("install") / "clone"
    _run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)], cwd=ROOT)
    changed = _run(["git", "ls-files", "-m", "-o", "--exclude-standard", "-z"], cwd=ROOT).split("\0")
    for rel in filter(None, changed):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for rel in filter(None, _run(["git", "ls-files", "-d", "-z"], cwd=ROOT).split("\0")):
        (dest / rel).unlink(missing_ok=True)
    return dest


@pytest.fixture(scope="module")
def wheel(clone) -> Path:
    return _build(clone, clone.parent / "dist")


def _shipped(root: Path) -> set[str]:
    """The data files the wheel must ship, from the checkout's own folders."""
    files = {f"reunion/configs/{p.name}" for p in (root / "configs").iterdir() if p.is_file()}
    files |= {f"reunion/configs/frequencies/{p.name}" for p in (root / "configs" / "frequencies").iterdir()}
    files |= {f"reunion/report/assets/{p.name}" for p in (root / "reunion" / "report" / "assets").iterdir()}
    files |= {f"reunion/kernels/{p.name}" for p in (root / "kernels").glob("*.cu")}
    return files


def test_wheel_ships_configs_tables_assets_and_kernels(wheel, clone):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = _shipped(clone)
    assert {"reunion/configs/demo.yaml", "reunion/configs/national.yaml",
            "reunion/configs/frequencies/SOURCES.md", "reunion/kernels/screen.cu",
            "reunion/report/assets/report.css"} <= wanted
    assert wanted <= names, sorted(wanted - names)
    # the symlinked card folders are real folders in the wheel
    assert {"reunion/flows/rematch.py", "reunion/kernels/cpu.py", "reunion/contracts/__init__.py"} <= names


def test_version_is_the_clones_commit(wheel, clone):
    version = wheel.name.split("-")[1]
    m = VERSION.match(version)
    assert m, version
    head = _run(["git", "rev-parse", "HEAD"], cwd=clone).strip()
    assert head.startswith(m.group("sha"))


def test_sdist_carries_the_data_and_builds_the_same_wheel(wheel, clone, tmp_path):
    sdist = _build(clone, tmp_path / "sdist", "sdist")
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
        tar.extractall(tmp_path / "unpacked", filter="data")
    # the reunion/configs symlink is stored as the folder it points at
    assert members["reunion/configs/demo.yaml"].isfile()
    assert members["reunion/configs/frequencies/SOURCES.md"].isfile()
    (tree,) = (tmp_path / "unpacked").iterdir()
    # no git there: the version comes from the sdist's PKG-INFO
    again = _build(tree, tmp_path / "from-sdist")
    assert again.name == wheel.name
    assert set(zipfile.ZipFile(again).namelist()) == set(zipfile.ZipFile(wheel).namelist())


def test_a_tree_without_git_builds_the_fallback_version(clone, tmp_path):
    # the tracked files only, as a GitHub archive holds them (no .git, no earlier build's egg-info)
    tree = tmp_path / "archive"
    shutil.copytree(clone, tree, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "dist"))
    built = _build(tree, tmp_path / "dist")
    assert built.name.split("-")[1] == "0.0"
    assert _shipped(clone) <= set(zipfile.ZipFile(built).namelist())


@pytest.fixture(scope="module")
def venv(wheel) -> Path:
    """A fresh venv with the wheel installed (no deps: this environment's, through a .pth)."""
    venv = wheel.parent.parent / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=wheel.parent)
    purelib = Path(_run([str(venv / "bin" / "python"), "-c",
                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=wheel.parent).strip())
    (purelib / "zz_reunion_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
          "--no-deps", "--no-index", str(wheel)], cwd=wheel.parent)
    return venv


def test_installed_version_and_state_folders(venv, wheel, tmp_path):
    version = wheel.name.split("-")[1]
    env = _clean_env(XDG_STATE_HOME=str(tmp_path / "state"), HOME=str(tmp_path / "home"))
    assert _run([str(venv / "bin" / "reunion"), "--version"], cwd=tmp_path, env=env).strip() \
        == f"reunion {version}"
    code = ("import json, os, sysconfig, reunion; from reunion import prefect_env, settings;"
            "prefect_env.configure_prefect();"
            "print(json.dumps({'file': reunion.__file__, 'version': reunion.__version__,"
            " 'code_version': reunion.code_version(), 'site': sysconfig.get_paths()['purelib'],"
            " 'config': str(settings.DEFAULT_CONFIG), 'home': os.environ['PREFECT_HOME'],"
            " 'numba': os.environ['NUMBA_CACHE_DIR']}))")
    got = json.loads(_run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=env))
    site = Path(got["site"])
    assert Path(got["file"]).is_relative_to(site) and Path(got["config"]).is_relative_to(site)
    assert Path(got["config"]).is_file()
    assert got["version"] == got["code_version"] == version
    assert got["home"] == str(tmp_path / "state" / "reunion" / "prefect")
    assert got["numba"] == str(tmp_path / "state" / "reunion" / "numba_cache")
    # no XDG_STATE_HOME: ~/.local/state/reunion; a variable already set wins
    env = _clean_env(HOME=str(tmp_path / "home"), NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    got = json.loads(_run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=env))
    assert got["home"] == str(tmp_path / "home" / ".local" / "state" / "reunion" / "prefect")
    assert got["numba"] == str(tmp_path / "mine")


def test_installed_demo_runs_from_another_folder(venv, wheel, tmp_path):
    version = wheel.name.split("-")[1]
    state, elsewhere = tmp_path / "state", tmp_path / "elsewhere"
    elsewhere.mkdir()
    # a fresh Prefect home is migrated on its first start: allow for a loaded CI machine
    env = _clean_env(XDG_STATE_HOME=str(state), HOME=str(tmp_path / "home"),
                     PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="600")
    _run([str(venv / "bin" / "reunion"), "demo", "--out", "demo", "--families", "30", "--unrelated",
          "10", "--set", "cluster.kind=local-threads"], cwd=elsewhere, env=env, timeout=600)
    results = elsewhere / "demo" / "results"
    assert (results / "candidates.parquet").is_file() and (results / "report.html").is_file()
    run = json.loads((results / "run.json").read_text())
    assert run["code_version"] == version
    assert run["config"]["frequencies"]["table"].endswith("reunion/configs/frequencies/nist1036_us_2017.csv")
    assert (state / "reunion" / "prefect").is_dir() and (state / "reunion" / "numba_cache").is_dir()
    site = Path(_run([str(venv / "bin" / "python"), "-c",
                      "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=elsewhere).strip())
    leaked = [p for p in site.rglob("*") if p.name in (".prefect", ".numba_cache", "prefect.db")
              or p.suffix == ".nbi"]
    assert leaked == []
    assert sorted(p.name for p in elsewhere.iterdir()) == ["demo"]
