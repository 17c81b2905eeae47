"""Offline-safe Prefect defaults and reunion's state folders, applied before Prefect (and
numba) are imported.

Prefect 3 runs on a temporary local server (SQLite) unless PREFECT_API_URL
points at a server. We keep its state (PREFECT_HOME) and numba's compiled-kernel cache
(NUMBA_CACHE_DIR) in reunion's state folder, never inside site-packages, and turn
analytics off; any value already in the environment wins (README, Install and Operations).

The state folder (:func:`state_dir`) is the project folder in a checkout (``.prefect`` and
``.numba_cache`` beside pyproject.toml, plain or editable install), else the user's state
folder: ``$XDG_STATE_HOME/reunion`` or ``~/.local/state/reunion`` (platformdirs' user state
folder where platformdirs is installed), holding ``prefect`` and ``numba_cache``.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "INFO",
}


def project_dir() -> Path | None:
    """The checkout this package runs from (pyproject.toml beside the package), else None."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def user_state_dir() -> Path:
    """The user's state folder for reunion (an installed package's state)."""
    try:
        import platformdirs  # optional: the platform's convention where installed
    except ImportError:
        xdg = os.environ.get("XDG_STATE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
        return base / "reunion"
    return Path(platformdirs.user_state_dir("reunion", appauthor=False))


def state_dirs() -> dict[str, Path]:
    """Where PREFECT_HOME and NUMBA_CACHE_DIR go unless the environment sets them."""
    project = project_dir()
    if project is not None:
        return {"PREFECT_HOME": project / ".prefect", "NUMBA_CACHE_DIR": project / ".numba_cache"}
    state = user_state_dir()
    return {"PREFECT_HOME": state / "prefect", "NUMBA_CACHE_DIR": state / "numba_cache"}


def configure_prefect(home: Path | None = None) -> None:
    """Set Prefect's offline defaults and the state folders (``home``: PREFECT_HOME unless
    the environment sets it) where the environment does not already set them."""
    dirs = state_dirs()
    if home is not None:
        dirs["PREFECT_HOME"] = Path(home)
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)
    for k, path in dirs.items():
        if k in os.environ:
            continue
        os.environ[k] = str(path)
        try:  # Prefect creates its home but not the folders above it (~/.local/state)
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # Prefect and numba then say what they cannot write


def stop_temporary_server() -> None:
    """Stop the temporary Prefect server this process started, if any (Prefect otherwise
    stops it at interpreter exit, after the command's last line)."""
    import sys

    server = sys.modules.get("prefect.server.api.server")
    if server is None or not server.SubprocessASGIServer._instances:
        return
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)  # the run's last log lines reach the server first
    for instance in list(server.SubprocessASGIServer._instances.values()):
        instance.stop()
