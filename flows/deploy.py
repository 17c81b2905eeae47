"""Scheduled national re-match: the deployable entry point and `reunion serve`.

``prefect.yaml`` at the project root declares the same deployment for a Prefect
server (``prefect deploy --all``); ``reunion serve`` runs it here with its cron
schedule, without a separate worker.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow

from reunion.flows.rematch import rematch_flow
from reunion.settings import WEEKLY_CRON, load_settings

DEFAULT_CRON = WEEKLY_CRON


@flow(name="scheduled-national-rematch")
def scheduled_rematch(config: str, shards: str, runs_root: str,
                      overrides: list[str] | None = None) -> dict:
    """Re-match the current shards into a new, time-stamped run folder under runs_root."""
    settings = load_settings(Path(config), overrides)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return rematch_flow(Path(shards), Path(runs_root) / stamp, settings)


def deployment(config: str, shards: str, runs_root: str, cron: str = DEFAULT_CRON,
               overrides: list[str] | None = None):
    """The RunnerDeployment `reunion serve` serves (typed parameters, cron schedule)."""
    return scheduled_rematch.to_deployment(
        name="weekly-national-rematch", cron=cron,
        parameters={"config": str(config), "shards": str(shards), "runs_root": str(runs_root),
                    "overrides": overrides or []},
        description="Every missing person against every registered family, on the current shards.")
