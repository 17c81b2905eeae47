"""Capacity model: stage costs fitted to measured runs, and a national run predicted from them.

A re-match is seven stages, each with a natural size (the unit its work grows with)::

    ingest    genotype rows    validate, encode and shard the export (one process today)
    tables    families         lost-child tables of the reference shards
    screen    pairs            missing persons x families through the screening kernel
    merge     candidates       the blocks' candidate lists concatenated and checked (flow process)
    rescore   candidates       per block: the shard top-k lists merged, the shortlist re-scored
                               exactly (float64, per locus), ranked and made into rows
    publish   candidates       candidates (Parquet, CSV), per-locus rows and run.json written
    report    candidates       the reviewers' report (review.parquet/.csv, report.html)

The benchmark times each stage on one core (flows/benchmark.py :func:`measure_stages`). Per
stage the model is ``seconds = fixed + per_unit * size`` on one core, fitted by least squares
to the measured sizes (:func:`fit_stage`; a negative fixed cost is clamped to 0 and the slope
refitted through the origin, so no stage is predicted to take less than nothing).

A run on ``nodes`` x ``cores`` with ``gpus`` per node (:func:`predict`) spreads the stages
that the pipeline runs as Dask tasks (tables, screen, rescore) over every core of every node,
or the screen over every GPU at ``gpu_pairs_per_second`` each; the stages the flow process runs
(ingest, merge, publish, report) stay on one core. A stage's fixed cost is paid once, not per core.
The stages run one after another, so a run's seconds are their sum (an upper bound where the
pipeline overlaps them: tables and screen of different shards run at once on Dask).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np


class Stage(str, Enum):
    """A stage of a re-match, in run order."""

    INGEST = "ingest"
    TABLES = "tables"
    SCREEN = "screen"
    MERGE = "merge"
    RESCORE = "rescore"
    PUBLISH = "publish"
    REPORT = "report"


#: the natural size of each stage: the :class:`Workload` field its work grows with
UNIT = {Stage.INGEST: "genotype_rows", Stage.TABLES: "families", Stage.SCREEN: "pairs",
        Stage.MERGE: "candidates", Stage.RESCORE: "candidates", Stage.PUBLISH: "candidates",
        Stage.REPORT: "candidates"}
#: stages the pipeline spreads over every core of every node (Dask tasks); the rest run in
#: the flow process, on one core
PARALLEL = frozenset({Stage.TABLES, Stage.SCREEN, Stage.RESCORE})


@dataclass(frozen=True)
class Workload:
    """The natural sizes of one run (counts)."""

    missing: int
    families: int
    genotype_rows: int
    candidates: int

    @property
    def pairs(self) -> int:
        """Missing persons x families: the pairs the screen scores."""
        return self.missing * self.families

    def size(self, stage: Stage) -> float:
        """The natural size of ``stage`` in this run."""
        return float(getattr(self, UNIT[stage]))


@dataclass(frozen=True)
class Cluster:
    """Where a run runs: ``nodes`` nodes of ``cores`` CPU cores and ``gpus`` GPUs each."""

    nodes: int = 1
    cores: int = 16
    gpus: int = 0
    #: pairs per second of one GPU's screen
    gpu_pairs_per_second: float = 5e10

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.cores < 1 or self.gpus < 0 or not self.gpu_pairs_per_second > 0:
            raise ValueError(f"a cluster needs nodes >= 1, cores >= 1, gpus >= 0 and a positive GPU "
                             f"rate, not {self}")


@dataclass(frozen=True)
class StageFit:
    """``seconds = fixed_s + per_unit_s * size`` on one core, fitted to ``points`` sizes."""

    stage: Stage
    fixed_s: float
    per_unit_s: float
    points: int
    #: root-mean-square of (fitted - measured) seconds over the points
    rms_s: float

    def seconds(self, size: float) -> float:
        """Seconds on one core at ``size`` units."""
        return self.fixed_s + self.per_unit_s * size

    @property
    def rate_per_core(self) -> float:
        """Units per second per core at large sizes (1 / per_unit_s; inf for a free stage)."""
        return math.inf if self.per_unit_s <= 0 else 1.0 / self.per_unit_s


def fit_stage(stage: Stage, sizes, seconds) -> StageFit:
    """Least-squares ``seconds = fixed + per_unit * size`` through the measured points.

    ``sizes``, ``seconds``: float64 [n] (n >= 1; with one point, or sizes all equal, the
    line goes through the origin). A negative fixed cost is clamped to 0 and the slope
    refitted through the origin; a negative slope (noise on a stage that does not grow) is
    clamped to 0 with the fixed cost the mean.
    """
    x = np.asarray(sizes, dtype=np.float64)
    y = np.asarray(seconds, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or not x.size:
        raise ValueError(f"{stage.value}: sizes and seconds must be equal-length 1-D, not {x.shape}, {y.shape}")
    if x.size >= 2 and np.ptp(x) > 0:
        (a, b), *_ = np.linalg.lstsq(np.stack([np.ones_like(x), x], axis=1), y, rcond=None)
    else:
        a, b = 0.0, float(y @ x / (x @ x)) if x @ x > 0 else 0.0
    if a < 0:
        a, b = 0.0, float(y @ x / (x @ x))
    if b < 0:
        a, b = float(y.mean()), 0.0
    rms = float(np.sqrt(np.mean((a + b * x - y) ** 2)))
    return StageFit(stage=stage, fixed_s=float(a), per_unit_s=float(b), points=int(x.size), rms_s=rms)


def fit(points: list[tuple[Workload, dict[Stage, float]]]) -> dict[Stage, StageFit]:
    """Every stage's fit to the measured (workload, {stage: seconds on one core}) points."""
    return {s: fit_stage(s, [w.size(s) for w, _ in points], [t[s] for _, t in points]) for s in Stage}


def stage_seconds(fit_: StageFit, workload: Workload, cluster: Cluster) -> float:
    """Predicted seconds of one stage of ``workload`` on ``cluster`` (see the module docstring)."""
    n = workload.size(fit_.stage)
    if fit_.stage is Stage.SCREEN and cluster.gpus > 0:
        return fit_.fixed_s + n / (cluster.nodes * cluster.gpus * cluster.gpu_pairs_per_second)
    if fit_.stage in PARALLEL:
        return fit_.fixed_s + fit_.per_unit_s * n / (cluster.nodes * cluster.cores)
    return fit_.seconds(n)


def predict(fits: dict[Stage, StageFit], workload: Workload, cluster: Cluster) -> dict[str, float]:
    """{stage: seconds} of ``workload`` on ``cluster``, and ``"total"`` (their sum)."""
    out = {s.value: stage_seconds(fits[s], workload, cluster) for s in Stage}
    out["total"] = sum(out.values())
    return out


def fits_json(fits: dict[Stage, StageFit]) -> dict[str, dict]:
    """The fits as JSON-ready dicts (stage name -> fields, plus unit and rate per core)."""
    return {s.value: {**asdict(f), "stage": s.value, "unit": UNIT[s],
                      "rate_per_core": None if math.isinf(f.rate_per_core) else f.rate_per_core}
            for s, f in fits.items()}


def device_bytes_per_profile(loci: int) -> int:
    """Bytes a screened profile takes on the device: one uint16 genotype code per locus."""
    return 2 * loci


def table_bytes(rows: int, width: int, itemsize: int = 8) -> int:
    """Bytes of ``rows`` lost-child table rows of ``width`` slots (float64: 8, float32: 4)."""
    return rows * width * itemsize
