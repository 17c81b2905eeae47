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
