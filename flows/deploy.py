"""Scheduled national re-match: the deployable entry point, `reunion serve`, and the runs root.

The runs root is the one place that reruns update. It holds one folder per run and
``current.json``, the pointer to the standing run and its shard set::

    RUNS_ROOT/current.json   {"run": "20261206T020000Z", "shards": "20261203T101500Z-rerun/shards", ...}
    RUNS_ROOT/20261203T101500Z-rerun/   a rerun: its shards/ hold the standing set plus the batch
    RUNS_ROOT/20261206T020000Z/         the next scheduled re-match, of those shards

A scheduled run re-matches the shard set the pointer names when it starts (the
deployment's ``shards`` only until the root has a pointer), writes its report against the
run the pointer named, and moves the pointer to itself; ``reunion rerun --runs-root`` moves
it to the rerun. The pointer is replaced atomically (reunion/io/atomic.py), under a lock,
and only while it still names the shard set the run started from, so a run never takes
the pointer back from a newer batch. Paths inside the root are stored relative to it.

``prefect.yaml`` at the project root declares the same deployment for a Prefect server
(``prefect deploy --all``); ``reunion serve`` runs it here with its cron schedule, without
a separate worker. Relative paths in the deployment's parameters are resolved against
:data:`ROOT` (the folder holding ``configs/``: the checkout, or the installed package),
whatever the worker's working folder.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from prefect import flow, get_run_logger, tags
from prefect.runtime import flow_run

from reunion.contracts.records import RunRecord
from reunion.errors import InputError
from reunion.flows.rematch import rematch_flow
from reunion.frequencies import file_sha256
from reunion.io import atomic, locks
from reunion.settings import CONFIG_DIR, WEEKLY_CRON, load_settings

DEFAULT_CRON = WEEKLY_CRON
DEPLOYMENT = "weekly-national-rematch"
FLOW = "scheduled-national-rematch"
#: the pointer of a runs root to its standing run and shard set
CURRENT = "current.json"
#: relative deployment parameters are relative to this folder (configs/ is in it)
ROOT = CONFIG_DIR.parent
TAGS = ["rematch", "scheduled"]


def resolve(path: str | Path, root: Path = ROOT) -> Path:
    """``path`` made absolute against ``root`` (not the working folder)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (root / p).resolve()


def _stored(path: Path, runs_root: Path) -> str:
    """``path`` as the pointer stores it: relative to the runs root when inside it."""
    path, runs_root = Path(path).resolve(), Path(runs_root).resolve()
    return str(path.relative_to(runs_root)) if path.is_relative_to(runs_root) else str(path)


def read_current(runs_root: Path) -> dict | None:
    """The runs root's pointer with absolute ``run`` and ``shards`` paths; None when there is none."""
    p = Path(runs_root) / CURRENT
    if not p.exists():
        return None
    try:
        cur = json.loads(p.read_text())
        return {**cur, "run": str(resolve(cur["run"], Path(runs_root))),
                "shards": str(resolve(cur["shards"], Path(runs_root)))}
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{p}: not a runs-root pointer ({exc}); restore it or point it at the "
                         "standing run with 'reunion rerun --runs-root'") from None


def _locked(runs_root: Path):
    """The pointer's lock (held for a read and a replace: moments, so waited for without bound)."""
    return locks.file_lock(Path(runs_root) / ".current.lock", "moving current.json", None)


def move_current(runs_root: Path, run_dir: Path, shards_dir: Path, by: str,
                 expect_manifest: str | None) -> tuple[bool, dict | None]:
    """Point the runs root at ``run_dir`` and its ``shards_dir``, if the pointer still names
    the shard set whose manifest sha256 is ``expect_manifest`` (None: no pointer yet).

    Returns (moved, the pointer as it was).
    """
    runs_root = Path(runs_root)
    with _locked(runs_root):
        was = read_current(runs_root)
        if (was["manifest_sha256"] if was else None) != expect_manifest:
            return False, was
        atomic.write_text(runs_root / CURRENT, json.dumps({
            "run": _stored(run_dir, runs_root), "shards": _stored(shards_dir, runs_root),
            "manifest_sha256": file_sha256(Path(shards_dir) / "manifest.json"),
            "by": by, "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }, indent=2))
        return True, was


def shard_set(runs_root: Path, shards: str | Path | None) -> tuple[Path, dict | None]:
    """The shard set a run on ``runs_root`` re-matches now: the pointer's, else ``shards``."""
    cur = read_current(runs_root)
    if cur is not None:
        return Path(cur["shards"]), cur
    if not shards:
        raise InputError(f"{runs_root} has no {CURRENT} and no shard set was given; give the shard "
                         "set to start from (--shards, or the deployment's 'shards' parameter: a "
                         "folder written by 'reunion ingest')")
    return resolve(shards), None


def run_stamp(suffix: str = "") -> str:
    """A run folder's name: the UTC time, to the second (and ``-suffix``)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + (f"-{suffix}" if suffix else "")


def _scheduled_name() -> str:
    p = flow_run.parameters
    try:
        shards, _ = shard_set(resolve(p["runs_root"]), p.get("shards"))
        label = f"{shards.parent.name}/{shards.name}" if shards.name == "shards" else shards.name
    except (InputError, KeyError):
        label = "?"
    return f"scheduled rematch of {label} {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M}Z"


@flow(name=FLOW, flow_run_name=_scheduled_name)
def scheduled_rematch(config: str, runs_root: str, shards: str | None = None,
                      overrides: list[str] | None = None) -> RunRecord:
    """Re-match the current shard set (``runs_root/current.json``; ``shards`` until there is
    one) into a new, time-stamped run folder under ``runs_root``; report against the
    previous run; move the pointer to the new run."""
    logger = get_run_logger()
    root = resolve(runs_root)
    settings = load_settings(resolve(config), overrides)
    shards_dir, cur = shard_set(root, shards)
    out, n = root / run_stamp(), 1
    while out.exists():                # two runs in one second get two folders
        n += 1
        out = root / run_stamp(str(n))
    logger.info("re-matching %s into %s (previous run: %s)", shards_dir, out,
                cur["run"] if cur else "none")
    with tags(*TAGS):
        record = rematch_flow(shards_dir, out, settings,
                              previous_run=Path(cur["run"]) if cur else None)
    moved, now = move_current(root, out, shards_dir, FLOW, cur["manifest_sha256"] if cur else None)
    if not moved:
        logger.warning("%s/%s not moved: it names %s now (a newer shard set); this run re-matched %s",
                       root, CURRENT, now and now["shards"], shards_dir)
    return record


def next_runs(cron: str, n: int = 1, after: dt.datetime | None = None) -> list[dt.datetime]:
    """The next ``n`` times (UTC) the cron schedule fires."""
    from prefect._vendor.croniter import croniter  # Prefect's own cron reader

    it = croniter(cron, after or dt.datetime.now(dt.timezone.utc))
    return [it.get_next(dt.datetime) for _ in range(n)]


def parameters(config: str, runs_root: str, shards: str | None = None,
               overrides: list[str] | None = None) -> dict:
    """The scheduled flow's parameters, as the deployment stores them."""
    return {"config": str(config), "runs_root": str(runs_root),
            "shards": None if shards is None else str(shards), "overrides": overrides or []}


def deployment(config: str, runs_root: str, shards: str | None = None, cron: str = DEFAULT_CRON,
               overrides: list[str] | None = None):
    """The RunnerDeployment `reunion serve` serves (typed parameters, cron schedule, tags)."""
    return scheduled_rematch.to_deployment(
        name=DEPLOYMENT, cron=cron, tags=TAGS,
        parameters=parameters(config, runs_root, shards, overrides),
        description="Every missing person against every registered family, on the runs root's "
                    "current shard set.")
