"""The run folder: reading a run's tables and writing its review files and report.

``write_report(run_dir)`` reads a run folder (``candidates.parquet``,
``per_locus.parquet``, ``run.json``) and writes, atomically and with mode 0640,
``review.parquet`` and ``review.csv`` (the :data:`~reunion.report.schema.REVIEW`
table) and ``report.html`` (:func:`~reunion.report.page.render_html`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from reunion.calibration import CALIBRATION_DIR, CALIBRATION_JSON, FAMILIES_PARQUET, THRESHOLDS_PARQUET
from reunion.contracts import (CALIBRATED_CANDIDATES, CANDIDATES, CHANCE_THRESHOLDS, FAMILY_CALIBRATION,
                               PER_LOCUS, Y_CANDIDATES, check_table)
from reunion.contracts.records import Manifest
from reunion.frequencies import file_sha256
from reunion.io import atomic
from reunion.report.page import render_html
from reunion.report.review import ReviewSettings, categorise, compare_runs
from reunion.report.schema import review_table

REVIEW_PARQUET = "review.parquet"
REVIEW_CSV = "review.csv"
REPORT_HTML = "report.html"


def calibration_folder(run_dir: Path) -> Path:
    """Where a run folder's calibration lies: the folder itself (a calibrated run), or its
    ``calibration/`` (``reunion calibrate`` of a run made without it) when only that has one."""
    run_dir = Path(run_dir)
    later = run_dir / CALIBRATION_DIR
    if not (run_dir / FAMILIES_PARQUET).exists() and (later / FAMILIES_PARQUET).exists():
        return later
    return run_dir


def _read_candidates(run_dir: Path) -> list[dict]:
    """The run's candidates, with their calibration columns when the run has them (or
    ``reunion calibrate`` added them: :func:`calibration_folder`)."""
    t = atomic.read_table(calibration_folder(run_dir) / "candidates.parquet")
    calibrated = "p_h2" in t.column_names
    if calibrated:
        t = _null_missing(t, CALIBRATED_CANDIDATES)
    y = "log10_lr_y" in t.column_names           # a run with Y evidence (reunion/yevidence.py)
    return check_table(t, CALIBRATED_CANDIDATES if calibrated else Y_CANDIDATES if y else CANDIDATES,
                       f"{run_dir / 'candidates.parquet'}").to_pylist()


#: calibration columns a run calibrated by an older version may lack (read as null)
_LATER_FIELDS = ("error_bound_log10_h1", "probability_error")


def _null_missing(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """``t`` with the calibration columns added after it was written (:data:`_LATER_FIELDS`)
    as nulls, so a run calibrated before them still reads as calibrated."""
    for f in schema:
        if f.name in _LATER_FIELDS and f.name not in t.column_names:
            t = t.append_column(f, pa.nulls(t.num_rows, f.type))
    return t


def read_calibration(run_dir: Path) -> tuple[pa.Table | None, pa.Table | None]:
    """The run folder's (families.parquet, thresholds.parquet) of its calibration, each None
    when absent (an uncalibrated run)."""
    fam, thr = (calibration_folder(run_dir) / n for n in (FAMILIES_PARQUET, THRESHOLDS_PARQUET))
    return (check_table(_null_missing(atomic.read_table(fam), FAMILY_CALIBRATION), FAMILY_CALIBRATION, str(fam))
            if fam.exists() else None,
            check_table(atomic.read_table(thr), CHANCE_THRESHOLDS, str(thr)) if thr.exists() else None)


def _read_run(run_dir: Path) -> dict:
    """run.json as the page reads it: any fields it holds (a run of an older version, or a
    folder without run.json, still gets its report; the page shows what is there)."""
    p = run_dir / "run.json"
    run = json.loads(p.read_text()) if p.exists() else {}
    info = run_dir / CALIBRATION_DIR / CALIBRATION_JSON       # reunion calibrate's, if the run had none
    if not run.get("calibration") and calibration_folder(run_dir) != run_dir and info.exists():
        run["calibration"] = json.loads(info.read_text())
    return run


def _resolve(path: str, run_dir: Path) -> Path | None:
    p = Path(path)
    tries = [p] if p.is_absolute() else [run_dir / p, run_dir.parent / p, Path.cwd() / p]
    return next((t for t in tries if t.exists()), None)


def flagged_sexes(run: dict, run_dir: Path) -> tuple[dict[str, str], dict[str, str]] | None:
    """The sexes :func:`reunion.report.review.categorise` flags mismatches with, for a run made
    with ``scoring.sex_mismatch: flag`` (None otherwise: with ``exclude`` no mismatch is listed),
    read from the run's shard set (:func:`reunion.ingest.registered_sexes_of_pairs`). A shard set
    not reachable is an error: a flag the reviewers rely on is never silently dropped."""
    if ((run.get("config") or {}).get("scoring") or {}).get("sex_mismatch") != "flag":
        return None
    from reunion.errors import InputError
    from reunion.ingest import registered_sexes_of_pairs

    path = (run.get("manifest") or {}).get("path")
    mpath = _resolve(path, Path(run_dir)) if path else None
    if mpath is None:
        raise InputError(f"{run_dir / 'run.json'}: scoring.sex_mismatch is 'flag' but the run's shard set "
                         f"({path}) is not reachable, so mismatches cannot be flagged; restore it")
    return registered_sexes_of_pairs(mpath.parent)


def load_frequencies(run: dict, run_dir: Path) -> tuple[dict | None, str]:
    """{locus: {allele: (frequency, floored)}} of the run's shard set, and a note.

    Found through run.json's manifest path; None (with the reason) when the shard set
    is not reachable or was modified after the run (checksums differ).
    """
    m = run.get("manifest") or {}
    if not m.get("path"):
        return None, "run.json names no shard set"
    mpath = _resolve(m["path"], Path(run_dir))
    if mpath is None:
        return None, f"shard set not reachable ({m['path']})"
    try:
        if m.get("sha256") and file_sha256(mpath) != m["sha256"]:
            return None, f"{mpath} changed since this run (sha256 differs)"
        manifest = Manifest.load(mpath)
        apath = mpath.parent / manifest.alleles.path
        if file_sha256(apath) != manifest.alleles.sha256:
            return None, f"{apath} changed since the shard set was made (sha256 differs)"
        t = atomic.read_table(apath)
        freq: dict[str, dict[str, tuple[float, bool]]] = {}
        for loc, al, f, src in zip(*(t.column(c).to_pylist()
                                      for c in ("locus", "allele", "frequency", "source"))):
            freq.setdefault(loc, {})[al] = (float(f), src == "floor")
    except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
        return None, f"allele frequencies not readable: {exc}"
    return freq, f"from {apath}"


def _read_per_locus(run_dir: Path, wanted: set[tuple[str, str]]) -> pa.Table | None:
    """The per_locus.parquet rows (PER_LOCUS, file order) of the wanted (missing_id, family_id)
    pairs, as one Arrow table; None when the run folder has no per_locus.parquet."""
    pl_path = run_dir / "per_locus.parquet"
    if not pl_path.exists():
        return None
    t = atomic.read_table(pl_path)
    if "marker" in t.column_names:       # a run with Y evidence: the Y rows are in the Y section
        t = t.filter(pc.equal(t.column("marker"), "autosomal"))
    t = check_table(t, PER_LOCUS, str(pl_path))
    sep = "\x1f"
    keys = pc.binary_join_element_wise(t.column("missing_id"), t.column("family_id"), sep)
    return t.filter(pc.is_in(keys, value_set=pa.array([f"{m}{sep}{f}" for m, f in wanted], pa.string())))


def write_report(run_dir: Path, previous_run_dir: Path | None = None,
                 settings: ReviewSettings | None = None) -> Path:
    """Categorise a run's candidates; write review.parquet, review.csv and report.html.

    Returns the path of ``report.html`` (in ``run_dir``). Every file is written
    atomically with mode 0640. ``previous_run_dir`` (a run folder with
    candidates.parquet) adds "what changed since the previous run".
    """
    run_dir = Path(run_dir)
    s = settings or ReviewSettings()
    run = _read_run(run_dir)
    n_families = (run.get("counts") or {}).get("families")
    searched = (run.get("calibration") or {}).get("searched")
    rows = categorise(_read_candidates(run_dir), s, n_families, searched, flagged_sexes(run, run_dir))
    table = review_table(rows, s)
    atomic.write_table(table, run_dir / REVIEW_PARQUET)
    atomic.write_table(table, run_dir / REVIEW_CSV)
    per_locus = _read_per_locus(
        run_dir, {(c["missing_id"], c["family_id"]) for c in rows if c["rank"] <= s.detail_ranks})
    freq, freq_note = load_frequencies(run, run_dir)

    changes, prev_note = None, ""
    if previous_run_dir is not None:
        prev_dir = Path(previous_run_dir)
        if not (prev_dir / "candidates.parquet").exists():
            prev_note = f"Previous run {prev_dir} has no candidates.parquet; no comparison."
        else:
            prev_run = _read_run(prev_dir)
            prev_n = (prev_run.get("counts") or {}).get("families") or n_families
            prev_rows = categorise(_read_candidates(prev_dir), s, prev_n,
                                   (prev_run.get("calibration") or {}).get("searched"))
            changes = compare_runs(rows, prev_rows)
    families, thresholds = read_calibration(run_dir)
    html_text = render_html(run, rows, per_locus, s, freq, freq_note, changes,
                            Path(previous_run_dir) if previous_run_dir else None, prev_note,
                            families=families, thresholds=thresholds)
    return atomic.write_text(run_dir / REPORT_HTML, html_text)
