"""Minimal valid records (manifest.json, run.json) for tests that write one by hand."""

from __future__ import annotations

from reunion.contracts import CONTRACT_VERSION
from reunion.contracts.records import (
    FileRef,
    FloorCounts,
    FrequencyTableRef,
    Manifest,
    ManifestCounts,
    RejectsRef,
    RunCounts,
    RunManifestRef,
    RunRecord,
)

ZERO = "0" * 64


def manifest_with(**fields) -> Manifest:
    """A valid manifest of an empty shard set, with ``fields`` replaced."""
    base = dict(contract_version=CONTRACT_VERSION, reunion_version="test", created="2026-01-02T03:04:05+00:00",
                frequency_table=FrequencyTableRef(path="nist.csv", population="Asian", sha256=ZERO),
                loci=[], alleles=FileRef(path="alleles.parquet", sha256=ZERO), inputs=[],
                rejects=RejectsRef(path="rejects.csv", rows=0),
                registry=FileRef(path="registry.parquet", sha256=ZERO),
                floor=FloorCounts(allele_uses=0, alleles=0),
                counts=ManifestCounts(missing=0, relatives=0, families=0), shards=[])
    return Manifest(**{**base, **fields})


def run_record_with(**fields) -> RunRecord:
    """A valid run record of an empty run, with ``fields`` replaced."""
    counts = RunCounts(missing=0, families=0, pieces=0, pairs_screened=0, missing_with_candidates=0,
                       missing_not_searched_too_few_loci=0, candidates_rescored=0, shortlist_checks_failed=0,
                       rows_read=0, rows_rejected=0, rows_skipped=0, floored_allele_uses=0, candidates=0)
    base = dict(flow="national-rematch", who="tester", started="2026-01-02T03:04:05+00:00", seconds=0.0,
                timings={}, code_version="test", config={}, config_sha256=ZERO,
                frequency_table=FrequencyTableRef(path="nist.csv", population="Asian", sha256=ZERO),
                mode={"kind": "full"}, manifest=RunManifestRef(path="manifest.json", sha256=ZERO, inputs=[],
                                                               shards=[]),
                cluster={}, counts=counts)
    return RunRecord(**{**base, **fields})
