"""Review report of a re-match run: categories, rival ratios, posteriors, one HTML page.

``write_report(run_dir)`` reads a run folder (``candidates.parquet``,
``per_locus.parquet``, ``run.json``) and writes, atomically and with mode 0640:

- ``review.parquet`` and ``review.csv``: the candidates plus the review
  columns of :data:`REVIEW_FIELDS` (category, rival ratio, posterior, prior);
- ``report.html``: one self-contained page (inline CSS, JS and SVG; it never
  touches the network) with the run summary, what changed since a previous
  run, a sortable and filterable overview of the missing persons, and a
  per-candidate detail view with the per-locus table.

Modules: ``review`` (categories, rival ratios, posteriors, run comparison; the
rules are in its docstring), ``schema`` (the review table), ``format`` (numbers
and candidates in words), ``svg`` (the histogram), ``page`` (the HTML page from
``assets/page.html``, ``report.css`` and ``report.js``; URL parameters in its
docstring), ``run_folder`` (reading a run, writing the review files).
"""

from reunion.report.format import fmt_log10, fmt_posterior, fmt_pow10, fmt_rival, hypotheses
from reunion.report.page import render_html
from reunion.report.review import (CATEGORIES, CATEGORY_COLORS, STRONG_LR, ReviewSettings,
                                   categorise, compare_runs, log10_ratio, posterior, prior_label,
                                   prior_probability)
from reunion.report.run_folder import (REPORT_HTML, REVIEW_CSV, REVIEW_PARQUET, load_frequencies,
                                       write_report)
from reunion.report.schema import REVIEW, REVIEW_FIELDS, review_table
from reunion.report.svg import histogram_svg

__all__ = [
    "CATEGORIES", "CATEGORY_COLORS", "REPORT_HTML", "REVIEW", "REVIEW_CSV", "REVIEW_FIELDS",
    "REVIEW_PARQUET", "STRONG_LR", "ReviewSettings", "categorise", "compare_runs", "fmt_log10",
    "fmt_posterior", "fmt_pow10", "fmt_rival", "histogram_svg", "hypotheses", "load_frequencies",
    "log10_ratio", "posterior", "prior_label", "prior_probability", "render_html", "review_table",
    "write_report",
]
