"""Retries on I/O only: a validation error is final, a flaky disk or network is not."""

from __future__ import annotations


def io_error_only(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry on OSError other than a missing file."""
    try:
        state.result()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    except Exception:  # noqa: BLE001 (anything else is not transient)
        return False
    return False
