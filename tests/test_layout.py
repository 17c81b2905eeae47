"""The card's folders import as reunion.flows / reunion.kernels / reunion.contracts from a
plain checkout (no install, no import hook); pyproject.toml ships them, and configs/, by the
same symlinks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_subpackages_are_symlinks_to_the_card_folders():
    for link, target in (("flows", "flows"), ("kernels", "kernels"), ("contracts", "data_contracts"),
                         ("configs", "configs")):
        p = ROOT / "reunion" / link
        assert p.is_symlink() and p.resolve() == (ROOT / target).resolve(), link


def test_plain_checkout_imports_without_the_editable_hook(tmp_path):
    # -S: no site-packages (so no editable finder, and no numpy or pyarrow): only the checkout
    code = ("import pathlib, reunion.kernels, reunion.flows;"
            "print(pathlib.Path(reunion.kernels.__file__).resolve().parent.name,"
            " pathlib.Path(reunion.flows.__file__).resolve().parent.name)")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["kernels", "flows"]


def test_tests_mirror_the_tree():
    """tests/<name>/ holds the tests of reunion/<name>/ (or reunion/<name>.py); tests/data/
    holds input files of the tests, tests/golden/ published worked examples with sources."""
    folders = sorted(p.name for p in (ROOT / "tests").iterdir()
                     if p.is_dir() and not p.name.startswith((".", "_")) and p.name not in ("data", "golden"))
    assert folders == ["cli", "flows", "genetics", "io", "kernels", "report"]
    for name in folders:
        assert (ROOT / "reunion" / name).is_dir() or (ROOT / "reunion" / f"{name}.py").is_file(), name
