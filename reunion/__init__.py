"""reunion: DNA kinship matching of missing persons against registered families.

``__version__`` is the installed distribution's version, which setuptools-scm derives from
the git commit it was built from (``0.1.devN+gHASH`` until a release is tagged; ``.dYYYYMMDD``
is added when the tree had uncommitted changes); :func:`code_version` is the version with
the commit that is running, as ``reunion --version`` prints and run.json records it.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version
from pathlib import Path

FALLBACK_VERSION = "0.0+unknown"  # a checkout put on sys.path without being installed


def _installed_version() -> str:
    try:
        return _distribution_version("reunion")
    except PackageNotFoundError:
        return FALLBACK_VERSION


__version__ = _installed_version()


def checkout_root() -> Path | None:
    """The git checkout this package runs from (a plain checkout or an editable install), or
    None for a built install (site-packages has no pyproject.toml beside the package)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


def code_version() -> str:
    """The running code's version with its commit.

    From a git checkout: the version setuptools-scm gives the checkout now (what a build of
    it would be called: ``0.1.devN+gHASH``), ``.dirty`` when tracked files differ from the
    commit; without setuptools-scm (the dev extra installs it) the public part of
    :data:`__version__` with the checkout's commit. An editable install's metadata is that
    of install time; the checkout says what runs now. From a built install:
    :data:`__version__`, whose ``+gHASH`` is the commit the wheel was built from.
    """
    root = checkout_root()
    if root is None:
        return __version__
    scm = _scm_version(root)
    if scm is not None:
        return scm

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, capture_output=True, text=True,
                              cwd=root, timeout=5).stdout.strip()
    try:
        sha = git("rev-parse", "--short=9", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return __version__
    if not sha:
        return __version__
    return f"{__version__.split('+')[0]}+g{sha}" + (".dirty" if dirty else "")


def _scm_version(root: Path) -> str | None:
    """setuptools-scm's version of the checkout ``root`` with ``+gHASH[.dirty]``, or None."""
    try:
        import setuptools_scm

        return setuptools_scm.get_version(
            root=str(root), local_scheme=lambda v: f"+{v.node[:10]}" + (".dirty" if v.dirty else ""))
    except Exception:  # noqa: BLE001 (not installed, or git cannot say: the caller asks git)
        return None
