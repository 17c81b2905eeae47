"""Offline-safe Prefect defaults, applied before Prefect is imported.

Prefect 3 runs on a temporary local server (SQLite) unless PREFECT_API_URL
points at a server. We keep its state in a project-local PREFECT_HOME and turn
analytics off; any value already in the environment wins (README, Operations).
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


def configure_prefect(home: Path | None = None) -> None:
    root = Path(__file__).resolve().parents[1]
    os.environ.setdefault("PREFECT_HOME", str(home or root / ".prefect"))
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(root / ".numba_cache"))
