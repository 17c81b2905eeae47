"""Ingest flow: validate a lab's export, encode it and write shards with a manifest."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from reunion.ingest import IngestSummary, ingest
from reunion.flows.retry import io_error_only
from reunion.settings import Settings


@task(name="ingest", cache_policy=NO_CACHE, persist_result=False,
      retries=1, retry_delay_seconds=2, retry_condition_fn=io_error_only)
def ingest_task(samples: Path | list[Path], genotypes: list[Path], out_dir: Path, settings: Settings,
                source: str | None = None) -> IngestSummary:
    return ingest(samples, genotypes, out_dir, settings, source=source)


@flow(name="ingest")
def ingest_flow(samples: Path | list[Path], genotypes: list[Path], out_dir: Path, settings: Settings,
                source: str | None = None) -> IngestSummary:
    """Validate, normalise, encode and shard one export (files, or a PostgreSQL ``source``
    URL without its password)."""
    return ingest_task(samples, genotypes, out_dir, settings, source)
