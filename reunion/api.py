"""reunion's Python API: the command line's steps as functions, for scripts and notebooks.

Each function takes paths and the settings, runs the same code as the ``reunion`` command
of the same name and returns a typed result: the step's summary record and, for runs,
the Arrow tables it wrote. No ``if __name__ == "__main__":`` guard is needed around the
calls: Dask's worker processes do not re-run the calling script
(:func:`reunion.flows.cluster.workers_skip_main_script`).

>>> from reunion import api
>>> sim = api.simulate("work/input", n_families=200, seed=7)            # doctest: +SKIP
>>> shards = api.ingest(sim.paths["samples"], [sim.paths["genotypes"]], "work/shards")  # doctest: +SKIP
>>> run = api.rematch("work/shards", "work/run", overrides=["scoring.top_k=5"])  # doctest: +SKIP
>>> run.candidates.num_rows, run.record.counts.missing                  # doctest: +SKIP

**Settings.** Every function takes ``settings``: a :class:`~reunion.settings.Settings`
(e.g. from :func:`load_settings`), the path of a settings YAML, or None for the embedded
default (``configs/demo.yaml``); and ``overrides``: ``section.field=value`` strings, the
command line's ``--set`` (``["scoring.top_k=5", "cluster.kind=local-threads"]``).

**Errors.** A mistake in what is given (a missing file, a bad setting, a malformed row)
raises :class:`~reunion.errors.InputError` or :class:`~reunion.errors.SettingsError`
(both :class:`~reunion.errors.UserError`) with a one-line message; anything else is a bug.

**State.** Importing this module sets Prefect's offline defaults and reunion's state
folders (Prefect home, numba cache) where the environment does not
(:mod:`reunion.prefect_env`): a checkout's project folder, else the user's state folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reunion.prefect_env import configure_prefect

configure_prefect()  # before Prefect and numba are imported

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from reunion import code_version
from reunion.contracts.records import RunCounts, RunRecord
from reunion.errors import InputError, SettingsError, require_file
from reunion.settings import (
    Settings,
    SimulationSettings,
    _apply_override,
    load_settings,
    settings_problem,
)

if TYPE_CHECKING:
    from reunion.ingest import IngestSummary
    from reunion.simulate import SimulationSummary

__all__ = [
    "ReportResult",
    "RunResult",
    "ScoreResult",
    "code_version",
    "ingest",
    "load_settings",
    "rematch",
    "report",
    "rerun",
    "resolve_settings",
    "score",
    "simulate",
]

PathLike = str | os.PathLike
SettingsLike = Settings | PathLike | None


def resolve_settings(settings: SettingsLike = None, overrides: Sequence[str] | None = None) -> Settings:
    """The settings a call runs with: ``settings`` (a Settings, a YAML path or None for the
    default ``configs/demo.yaml``) with ``overrides`` (``section.field=value``) applied.

    Raises :class:`SettingsError` for a missing or invalid file or a refused override."""
    if settings is None or isinstance(settings, (str, os.PathLike)):
        return load_settings(Path(settings) if settings is not None else None,
                             list(overrides) if overrides else None)
    if not isinstance(settings, Settings):
        raise SettingsError(f"settings: expected a Settings, a settings YAML path or None, "
                            f"got a {type(settings).__name__}")
    if not overrides:
        return settings
    # every section, the simulation one too (Settings leaves it out of its own dump)
    data = {name: getattr(settings, name).model_dump(mode="json") for name in Settings.model_fields}
    for o in overrides:
        _apply_override(data, o)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"settings with --set {' --set '.join(overrides)}: "
                            f"{settings_problem(exc)}") from None


@dataclass(frozen=True)
class RunResult:
    """A finished re-match or rerun: its folder, its run.json record and its tables (read
    from the folder when first used)."""

    run_dir: Path
    #: run.json (:class:`reunion.contracts.records.RunRecord`): provenance (code_version,
    #: config), counts, timings, cluster, mode; ``report`` the report's path
    record: RunRecord = field(repr=False)

    @cached_property
    def candidates(self) -> pa.Table:
        """``candidates.parquet``: every missing person's ranked candidates (CANDIDATES contract)."""
        return pq.read_table(self.run_dir / "candidates.parquet")

    @cached_property
    def per_locus(self) -> pa.Table:
        """``per_locus.parquet``: each candidate's genotypes and LR, locus by locus."""
        return pq.read_table(self.run_dir / "per_locus.parquet")

    @property
    def counts(self) -> RunCounts:
        """run.json's counts (missing, families, pairs_screened, candidates, ...)."""
        return self.record.counts

    @property
    def report_html(self) -> Path | None:
        """The reviewers' report the run wrote, where it wrote one."""
        path = self.record.report
        return Path(path) if path else None


@dataclass(frozen=True)
class ReportResult:
    """The reviewers' report of a run: the page and the review table."""

    html: Path

    @cached_property
    def review(self) -> pa.Table:
        """``review.parquet``: the candidates with category, rival ratio and posterior."""
        return pq.read_table(self.html.parent / "review.parquet")


@dataclass(frozen=True)
class ScoreResult:
    """Pairs re-scored exactly: counts, and the scores (and per-locus LRs) written."""

    counts: dict[str, int]
    scores_path: Path
    per_locus_path: Path | None = None

    @cached_property
    def scores(self) -> pa.Table:
        """The scores CSV as an Arrow table."""
        from pyarrow import csv
        return csv.read_csv(self.scores_path)

    @cached_property
    def per_locus(self) -> pa.Table | None:
        """The per-locus CSV as an Arrow table (None when not asked for)."""
        from pyarrow import csv
        return csv.read_csv(self.per_locus_path) if self.per_locus_path else None


def simulate(out: PathLike, settings: SettingsLike = None, *, overrides: Sequence[str] | None = None,
             **simulation: Any) -> SimulationSummary:
    """Simulate a synthetic national database into ``out`` (``reunion simulate``).

    ``simulation``: fields of the settings' simulation section
    (:class:`~reunion.settings.SimulationSettings`: ``n_families``, ``n_unrelated_missing``,
    ``corrupt_rows``, ``seed``, ...) that replace the configured ones. Returns the
    :class:`~reunion.simulate.SimulationSummary` (counts; ``paths`` of ``samples``,
    ``genotypes`` and ``truth``). Deterministic for a seed.
    """
    from reunion.frequencies import load_frequency_table
    from reunion.simulate import simulate_database

    s = resolve_settings(settings, overrides)
    try:
        sim = SimulationSettings.model_validate({**s.simulation.model_dump(), **simulation})
    except ValidationError as exc:
        raise SettingsError(f"simulation: {settings_problem(exc)}") from None
    table = load_frequency_table(s.frequencies.table, s.frequencies.population)
    return simulate_database(Path(out), table, sim)


def ingest(samples: PathLike | Sequence[PathLike], genotypes: PathLike | Sequence[PathLike],
           out: PathLike, settings: SettingsLike = None, *,
           overrides: Sequence[str] | None = None) -> IngestSummary:
    """Validate, normalise, encode and shard a database export into ``out`` (``reunion ingest``).

    ``samples`` and ``genotypes``: one file or several (in batch order; CSV, Parquet,
    GeneMapper ID-X exports). Returns the :class:`~reunion.ingest.IngestSummary` (rows
    read, accepted and rejected per input, shards, ``manifest_path``, ``rejects_path``).
    """
    from reunion.flows.ingest import ingest_flow

    s = resolve_settings(settings, overrides)
    sample_files = [require_file(p, "samples") for p in _paths(samples)]
    genotype_files = [require_file(p, "genotype") for p in _paths(genotypes)]
    return ingest_flow(sample_files, genotype_files, Path(out), s)


def rematch(shards: PathLike, out: PathLike, settings: SettingsLike = None, *,
            overrides: Sequence[str] | None = None, previous: PathLike | None = None) -> RunResult:
    """Re-match every missing person against every family (``reunion rematch``): a Prefect
    flow on the configured Dask cluster, writing candidates, per-locus tables, run.json and
    the report into ``out``; ``previous``: an earlier run folder the report compares with."""
    from reunion.flows.rematch import rematch_flow

    s = resolve_settings(settings, overrides)
    shards = Path(shards)
    require_file(shards / "manifest.json", "shard set's manifest.json (written by ingest)")
    if previous is not None:
        previous = Path(previous)
        require_file(previous / "candidates.parquet", "previous run's candidates")
    record = rematch_flow(shards, Path(out), s, previous_run=previous)
    return RunResult(Path(out), record)


def rerun(base: PathLike, new: PathLike | Sequence[PathLike], out: PathLike,
          settings: SettingsLike = None, *, overrides: Sequence[str] | None = None) -> RunResult:
    """After new collections (``reunion rerun``): append the batch files ``new`` to the
    standing run ``base``'s shards, score only what is new and merge into its lists, in ``out``
    (``record.mode`` says whether it was incremental and, if not, why)."""
    from reunion.flows.rerun import rerun_flow

    s = resolve_settings(settings, overrides)
    base = Path(base)
    require_file(base / "run.json", "standing run's run.json")
    new_files = [require_file(p, "new batch") for p in _paths(new)]
    record = rerun_flow(base, new_files, Path(out), s)
    return RunResult(Path(out), record)


def score(profiles: PathLike, pairs: PathLike, out: PathLike, *, per_locus: PathLike | None = None,
          frequencies: PathLike | None = None, settings: SettingsLike = None,
          overrides: Sequence[str] | None = None, run: PathLike | None = None) -> ScoreResult:
    """Re-score named pairs, trios and families exactly (``reunion score``): scores to the
    CSV ``out`` (and per-locus LRs to ``per_locus``). ``frequencies``: a table other than
    the settings' ``frequencies.table``; ``run``: a run folder whose recorded configuration
    and allele list to score with instead of ``settings`` (reproduces its LRs)."""
    from reunion.score import run_configuration, score_pairs

    out = Path(out)
    per_locus = Path(per_locus) if per_locus is not None else None
    frequencies = Path(frequencies) if frequencies is not None else None
    if run is not None:
        if settings is not None or overrides:
            raise SettingsError("run= takes the configuration the run recorded: drop settings "
                                "and overrides, or drop run= to score with settings of your own")
        counts = score_pairs(Path(profiles), frequencies, Path(pairs), out, per_locus,
                             run=run_configuration(Path(run)))
    else:
        counts = score_pairs(Path(profiles), frequencies, Path(pairs), out, per_locus,
                             resolve_settings(settings, overrides))
    return ScoreResult(counts, out, per_locus)


def report(run_dir: PathLike, previous: PathLike | None = None, settings: SettingsLike = None, *,
           overrides: Sequence[str] | None = None, prior: str | None = None) -> ReportResult:
    """(Re)build the reviewers' report of a run folder (``reunion report``): review.parquet,
    review.csv and report.html, under the settings' review thresholds; ``prior``: ``one_over_families``,
    ``fixed`` (``review.prior_value``) or ``half`` instead of ``review.prior``."""
    from reunion.report import write_report

    given = [*(overrides or []), *([f"review.prior={prior}"] if prior is not None else [])]
    review = resolve_settings(settings, given).review      # prior: a shorthand, validated as a setting
    run_dir = Path(run_dir)
    require_file(run_dir / "candidates.parquet", "run's candidates")
    return ReportResult(Path(write_report(run_dir, Path(previous) if previous else None, review)))


def _paths(value: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(value, (str, os.PathLike)):
        return [Path(value)]
    paths = [Path(v) for v in value]
    if not paths:
        raise InputError("no input files given")
    return paths
