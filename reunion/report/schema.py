"""The review table: the candidates plus the review columns (review.parquet, review.csv)."""

from __future__ import annotations

import pyarrow as pa

from reunion.contracts import CALIBRATED_CANDIDATE_FIELDS, CANDIDATES, check_table
from reunion.report.review import ReviewSettings


def _f(name: str, typ: pa.DataType, desc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable, metadata={"description": desc})


REVIEW_FIELDS = [
    _f("rival_ratio", pa.float64(), "LR of this candidate / LR of the next-ranked candidate of the "
       "same missing person (rank 1: LR1/LR2); null when there is none ('no rival'), inf when "
       "the next one has LR 0, 1 for a tie."),
    _f("log10_rival_ratio", pa.float64(), "log10 of rival_ratio (null when no rival)."),
    _f("category", pa.string(), "undisputed, strong, inconclusive or weak (ReviewSettings).", False),
    _f("category_reason", pa.string(), "Why the candidate got its category, in words.", False),
    _f("posterior", pa.float64(), "Posterior probability of H1 from the LR and the stated prior.",
       False),
    _f("prior", pa.string(), "Prior behind the posterior: 'one_over_families', 'fixed' "
       "(review.prior_value) or 'half'.", False),
    _f("prior_probability", pa.float64(), "Prior probability of H1 used (1/families, the "
       "configured value, or 0.5).", False),
    _f("posterior_single_case", pa.float64(), "Posterior at prior 0.5: the single-case view "
       "(a paternity report's convention), not the database search's.", False),
    _f("chance_words", pa.string(), "The candidate's calibrated chance matches in words ('about "
       "1 in N unrelated people reach this LR against this family; in this database of M, expect "
       "K such chance matches'); null for an uncalibrated run."),
]
#: the review table: the candidates, their calibration (null for an uncalibrated run), the review
REVIEW = pa.schema(list(CANDIDATES) + [f.with_nullable(True) for f in CALIBRATED_CANDIDATE_FIELDS]
                   + REVIEW_FIELDS)


def review_table(rows: list[dict], settings: ReviewSettings | None = None) -> pa.Table:
    """The review rows as an Arrow table of the :data:`REVIEW` schema (settings in its metadata)."""
    t = check_table(pa.Table.from_pylist(rows, schema=REVIEW), REVIEW, "review")
    return t.replace_schema_metadata({
        "review_settings": (settings or ReviewSettings()).model_dump_json()})
