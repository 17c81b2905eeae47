"""Typed records of the JSON files reunion writes beside its tables: a shard set's
``manifest.json`` (:class:`Manifest`, its :class:`ShardRecord` and :class:`InputRecord` lists)
and a run's ``run.json`` (:class:`RunRecord`).

Declared once, validated when read back (:meth:`Manifest.load`, :meth:`RunRecord.load`: a
file that does not conform is one :class:`reunion.errors.InputError` line naming the file and
the field), and written by :meth:`Manifest.write` / :meth:`RunRecord.write` as the JSON reunion
always wrote: the fields in the order declared here, two-space indentation, optional fields
absent (not ``null``) when unset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer

from reunion.errors import InputError

__all__ = [
    "FileRef",
    "FloorCounts",
    "FrequencyTableRef",
    "InputRecord",
    "Manifest",
    "ManifestCounts",
    "RejectsRef",
    "RunCounts",
    "RunManifestRef",
    "RunRecord",
    "ShardRecord",
    "Watermark",
    "record_error",
]

Side = Literal["query", "reference"]


class _Record(BaseModel):
    """A frozen record of a JSON file: unknown keys refused, types not coerced."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    #: fields written only when set (absent from the JSON when None)
    OMIT_NONE: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler):
        out = handler(self)
        for name in self.OMIT_NONE:
            if out.get(name, 0) is None:
                del out[name]
        return out


def record_error(path: Path | str, what: str, exc: ValidationError, fix: str) -> InputError:
    """One line for a JSON record that does not conform: the file, the first bad field, why."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return InputError(f"{path}: not a valid {what}: field '{field}': {err['msg']}{more}; {fix}")


def _load_json(cls, path: Path | str, what: str, fix: str):
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not a valid {what}: not JSON ({exc}); {fix}") from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise record_error(path, what, exc, fix) from None


class FileRef(_Record):
    """A file beside the record (relative to its folder, or absolute) and its sha256."""
    path: str
    sha256: str


class FrequencyTableRef(_Record):
    """The frequency table the shards were encoded with."""
    path: str
    population: str | None
    sha256: str


class Watermark(_Record):
    """The latest value of a PostgreSQL table's watermark column among the rows a read selected
    (ISO text: ``2024-03-01``, ``2024-03-01T12:00:00+00:00``): ``reunion rerun --source`` reads
    only rows later than the standing run's."""
    column: str
    value: str


class InputRecord(_Record):
    """One input read by ingest: a file (absolute path) or a PostgreSQL table (its redacted label).

    read = accepted + rejected (+ skipped: rows of amelogenin and Y-STR loci, when there are any).
    ``watermark``: for a table read with a watermark column, the latest value read (None for
    a file, or when no row had one).
    """
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("skipped", "watermark")
    path: str
    kind: Literal["samples", "genotypes"]
    sha256: str
    read: int
    accepted: int
    rejected: int
    skipped: int | None = None
    watermark: Watermark | None = None


class ShardRecord(_Record):
    """One shard file: ``side`` query (missing persons) or reference (whole families).

    ``path`` is relative to the shard set's folder; ``replaces`` (an appended set's rewritten
    shard) is the sha256 of the standing shard it replaces; ``families`` only for reference shards.
    """
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("replaces", "families")
    shard_id: int
    side: Side
    path: str
    rows: int
    sha256: str
    replaces: str | None = None
    families: int | None = None


class RejectsRef(_Record):
    path: str
    rows: int


class FloorCounts(_Record):
    """Uses of the frequency floor by the profiles, and alleles that got it."""
    allele_uses: int
    alleles: int


class ManifestCounts(_Record):
    missing: int
    relatives: int
    families: int


MANIFEST_FIX = "re-run 'reunion ingest' to write the shard set again"


class Manifest(_Record):
    """``manifest.json`` of a shard set (reunion.ingest writes it; reunion.append writes that of
    an appended set, with ``appended_to`` naming the standing manifest)."""
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("registry", "notes", "appended_to", "y_haplotypes")
    contract_version: str
    reunion_version: str
    created: str
    frequency_table: FrequencyTableRef
    loci: list[str]
    alleles: FileRef
    inputs: list[InputRecord]
    rejects: RejectsRef
    registry: FileRef | None = None
    floor: FloorCounts
    counts: ManifestCounts
    shards: list[ShardRecord]
    notes: list[str] | None = None
    appended_to: FileRef | None = None
    #: the Y haplotypes of the shard set's men (contract Y_HAPLOTYPES; reunion/io/yrows.py), None
    #: where no sample has a Y typing
    y_haplotypes: FileRef | None = None

    def shard_at(self, path: str) -> ShardRecord:
        """The record of the shard file at ``path`` (relative to the shard set)."""
        return next(s for s in self.shards if s.path == path)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2)

    def write(self, path: Path | str) -> Path:
        from reunion.io import atomic
        return atomic.write_text(Path(path), self.to_json())

    @classmethod
    def load(cls, path: Path | str) -> Self:
        return _load_json(cls, path, "manifest", MANIFEST_FIX)


class RunManifestRef(_Record):
    """The manifest a run read: where, its sha256, and the inputs and shards it listed."""
    path: str
    sha256: str
    inputs: list[InputRecord]
    shards: list[ShardRecord]


class RunCounts(_Record):
    """What a run counted. ``pieces`` is None for an incremental rerun (its pieces are not a
    grid); ``candidates`` is set when the outputs are published."""
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("candidates",)
    missing: int
    families: int
    pieces: int | None
    pairs_screened: int
    missing_with_candidates: int
    missing_not_searched_too_few_loci: int
    candidates_rescored: int
    shortlist_checks_failed: int
    rows_read: int
    rows_rejected: int
    rows_skipped: int
    floored_allele_uses: int
    candidates: int | None = None


RUN_FIX = "run 'reunion rematch' again into a new --out"


class RunRecord(_Record):
    """``run.json`` of a run folder (flows/rematch.py writes it): provenance, inputs, counts.

    ``config`` is the settings tree as JSON (``Settings.model_dump(mode="json")``), ``mode``
    says how the run was made (``{"kind": "full"}``, a full re-match with its ``reason``, or
    an incremental rerun's counts), ``cluster`` the Dask cluster it ran on, ``outputs`` the
    published files (set by the publish stage), ``calibration`` what the calibration stage
    computed (reunion/calibration.py ``Calibration.info``; absent when it is off). ``report``
    is not in run.json: the record a flow returns carries the path of the report it wrote
    after run.json.
    """
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("outputs", "report", "calibration", "y_evidence")
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)
    flow: str
    who: str
    started: str
    seconds: float
    timings: dict[str, float]
    code_version: str
    config: dict[str, Any]
    config_sha256: str
    frequency_table: FrequencyTableRef
    mode: dict[str, Any]
    manifest: RunManifestRef
    cluster: dict[str, Any]
    counts: RunCounts
    outputs: dict[str, FileRef] | None = None
    calibration: dict[str, Any] | None = None
    report: str | None = None
    #: the Y evidence of a run with it (reunion/yevidence.py YContext.info: reference men,
    #: estimator and its source, rates file, compared loci); absent without
    y_evidence: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, default=str)

    def write(self, path: Path | str) -> Path:
        from reunion.io import atomic
        return atomic.write_text(Path(path), self.to_json())

    @classmethod
    def load(cls, path: Path | str) -> Self:
        return _load_json(cls, path, "run record", RUN_FIX)
