"""Lineage search of a Y database: ``reunion lineage`` (issue 20, "Male lineages").

A boy lost decades ago whose father is dead still shares his Y haplotype, up to a few
mutations, with the men of his paternal lineage: grandfather, uncles, brothers, cousins,
their sons. National systems type men village by village (surveys of men who are no
registered relatives); a found man's haplotype then points to a lineage (a clan, a surname,
a village) whose men are tested next. For every male missing person this module lists

- the database men whose haplotypes are within ``lineage.max_steps`` repeat steps of his,
  ranked by the likelihood ratio of a paternal relationship, with the most likely number of
  meioses to them through a common paternal ancestor; and
- the lineages, surnames and regions of those men (``lineage.group_by``), ranked by their
  best man.

The likelihood ratio of man r for missing man q, m meioses apart, is

    LR_m = prod over compared loci l of P(q_l | r_l, m meioses) / P(h_q),

the numerator the Y step model of :func:`reunion.genetics.ystr.y_locus_posterior` (a
paternal line of the two men, m meioses apart; per-locus rates, single-step or with a
two-step fraction); the denominator the population probability of q's haplotype over the
compared loci (Brenner's kappa or (x+1)/(N+1), :func:`reunion.genetics.ystr.kappa_probability`,
counted by :class:`CodedCounts` in the Y database itself, plus ``lineage.reference``), because
P(h_q, h_r | related) / P(h_q, h_r | unrelated) = P(h_r) P(h_q | h_r) / (P(h_r) P(h_q)).
The listed LR averages LR_m over m = 1 .. ``lineage.max_meioses`` with equal weight (the
LR of "a paternal relative within max_meioses meioses, their number unknown"); the best m
and its LR are given beside it. A village database holds the missing man's own lineage, so
counting his haplotype there overstates its population frequency: the LR is conservative.

The screen is :mod:`reunion.kernels.lineage` (numba: a step sum that stops at max_steps,
then per-meiosis gather-sums for the pairs left). Inputs are read and validated as every
input (:mod:`reunion.io.readers`): every row is used, set aside (counted: autosomal rows,
other samples' rows) or in ``rejects.csv`` with its file, line, field and reason. Outputs are
written atomically with the restrictive mode of :mod:`reunion.io.atomic`. No haplotype value
appears in a log line, an error or the report.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reunion.contracts import (LINEAGE_GROUPS, LINEAGE_MEN, SEXES, Y_DATABASE_REQUIRED,
                               Y_DATABASE_SAMPLES, check_table)
from reunion.errors import InputError, require_file
from reunion.genetics.ystr import (PaternalLine, YHaplotype, YMan, YValue, counting_probability,
                                   kappa_probability, load_ystr_rates, parse_y_rows, y_locus,
                                   y_locus_posterior)
from reunion.io import readers
from reunion.io.atomic import ensure_dir, write_table, write_text
from reunion.io.readers import Reject, read_samples, write_rejects
from reunion.kernels import lineage as kernel
from reunion.loci import locus_kind
from reunion.report.format import fmt_log10, fmt_pow10
from reunion.settings import LineageSettings

log = logging.getLogger(__name__)

__all__ = ["CodedCounts", "YDatabaseMan", "YRead", "YPanel", "LineageSearch", "LineageSummary", "read_y_database",
           "read_y_genotypes", "read_missing_men", "build_panel", "steps_table", "logp_table",
           "search", "run_lineage", "lineage_markdown"]

#: the citation of each estimator, as the report gives it
ESTIMATORS = {
    "kappa": "Brenner's kappa method: a haplotype new to the database of N has probability "
             "(1 - kappa)/N, kappa the database's singleton fraction; a seen one (x+1)/(N+1) "
             "(Brenner C.H. 2010, FSI:Genetics 4:281-291)",
    "counting": "counting with the evidence haplotype added: (x+1)/(N+1) (SWGDAM Y-STR "
                "interpretation guidelines 2014, 8.2)",
}
MEN_FILE, GROUPS_FILE, REJECTS_FILE = "lineage_men", "lineage_groups", "rejects.csv"
REPORT_FILE, SUMMARY_FILE = "lineage.md", "lineage.json"


# ------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class YDatabaseMan:
    """A surveyed man of the Y database: ``sample_id`` and his optional attributes."""

    sample_id: str
    lineage: str | None = None
    surname: str | None = None
    region: str | None = None


@dataclass
class YRead:
    """Haplotypes read from genotype files: ``haplotypes`` by sample id, ``rejects`` (file,
    line, field, reason), and the row counts: ``n_read == n_used + len(rejects) +
    n_set_aside`` (set aside: rows of other markers or other samples, not for this search)."""

    haplotypes: dict[str, YHaplotype] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    n_read: int = 0
    n_used: int = 0
    n_set_aside: int = 0

    def add(self, other: YRead) -> None:
        for sid in other.haplotypes:
            if sid in self.haplotypes:
                raise InputError(f"sample '{sid}' has Y genotypes in two genotype files; give each "
                                 "sample's Y typing in one file")
        self.haplotypes.update(other.haplotypes)
        self.rejects.extend(other.rejects)
        self.n_read += other.n_read
        self.n_used += other.n_used
        self.n_set_aside += other.n_set_aside


def read_y_database(path: Path) -> tuple[dict[str, YDatabaseMan], list[Reject], int]:
    """The Y database's samples file (:data:`reunion.contracts.Y_DATABASE_SAMPLES`; CSV,
    Parquet or spreadsheet): (men by id, rejects, rows read). Rejected: an empty or
    duplicate sample_id, a sex other than M/U/empty (F: a woman carries no Y)."""
    path = Path(path)
    file = str(path)
    rejects: list[Reject] = []
    men: dict[str, YDatabaseMan] = {}
    first: dict[str, int] = {}
    n = 0
    with readers._open_rows(require_file(path, "Y database samples", "--ydb-samples")) as (header, rows):
        col = readers._columns(path, header, {readers._key(f.name): f.name for f in Y_DATABASE_SAMPLES})
        readers._require(path, col, Y_DATABASE_REQUIRED, "Y database samples")
        name = {c: header[i] for c, i in col.items()}
        for line, cells in rows:
            n += 1
            if cells is None:
                rejects.append(readers._ragged(file, line, len(header)))
                continue
            v = {c: cells[i].strip() for c, i in col.items()}
            sid, sex = v["sample_id"], v.get("sex", "").upper()
            if not sid:
                rejects.append(Reject(file, line, name["sample_id"], "empty sample_id: every row "
                                      "needs the man's sample identifier"))
                continue
            if sid in first:
                rejects.append(Reject(file, line, name["sample_id"], f"duplicate sample_id '{sid}' "
                                      f"(first on line {first[sid]}): each man must appear once"))
                continue
            if sex and sex not in SEXES:
                rejects.append(Reject(file, line, name["sex"], f"sex '{v['sex']}' is not one of "
                                      f"{', '.join(SEXES)} (or empty)"))
                continue
            if sex == "F":
                rejects.append(Reject(file, line, name["sex"], "recorded female: a woman carries "
                                      "no Y chromosome and is not searched in a Y database; check "
                                      "the sample or correct the sex"))
                continue
            first[sid] = line
            men[sid] = YDatabaseMan(sid, v.get("lineage") or None, v.get("surname") or None,
                                    v.get("region") or None)
    return men, rejects, n


def read_y_genotypes(path: Path, samples: Mapping[str, str | None] | None,
                     wanted: set[str] | None = None, *, y_only: bool = False,
                     option: str = "--genotypes", beside_reader: bool = False,
                     already: Mapping[str, str] | None = None) -> YRead:
    """Y haplotypes from a genotypes file (the genotypes contract's layout: sample_id, locus,
    allele1, allele2[, allele3 ...]; CSV in any Excel dialect, Parquet, spreadsheet or a
    GeneMapper export), through :func:`reunion.genetics.ystr.parse_y_rows` (aliases
    normalised, a second differing allele at a single-copy locus rejected, multi-copy loci as
    unordered sets, Y loci on a female sample rejected).

    ``samples``: the known sample ids -> sex (M/F/U or None): rows of other samples are
    rejected (None: every sample is known). ``wanted``: the ids searched (rows of other known
    samples are set aside; None: all). ``y_only`` (a Y database file): a row of another marker
    is rejected; else (a lab's full export) it is set aside. ``beside_reader`` (ingest, which
    reads the same file with :func:`reunion.io.readers.read_genotypes`): the rows that reader
    rejects itself (ragged rows, empty sample ids, samples not in ``samples``) are set aside
    here, not rejected twice, and a row is Y exactly when that reader sets it aside as Y
    (:func:`reunion.loci.locus_kind`), so the two reads account for every row once.
    ``already`` (append): sample id -> the reject reason of each Y row of a man whose Y
    haplotype is already registered (the standing shard set's).
    """
    path = require_file(Path(path), "genotype", option)
    file = str(path)
    fmt = readers.detect_format(path)
    if fmt == "cmf":
        raise InputError(f"{path}: the lineage search reads Y genotypes from CSV, Parquet, "
                         "spreadsheet or GeneMapper files; export the CMF file's Y loci as one")
    decimal_comma = fmt == "xlsx" or (fmt != "parquet" and readers.sniff(path).decimal_comma)
    res = YRead()
    y_rows: list[tuple[str, ...]] = []
    y_lines: list[int] = []
    kinds: dict[str, bool] = {}
    with readers._open_rows(path) as (header, rows):
        col = readers.genotype_columns(path, header)
        name = {c: header[i] for c, i in col.items()}
        alleles = sorted((c for c in col if c.startswith("allele")), key=lambda c: int(c[6:]))
        idx = [col[c] for c in alleles]
        i_sid, i_locus = col["sample_id"], col["locus"]
        for line, cells in rows:
            res.n_read += 1
            if cells is None:
                if beside_reader:
                    res.n_set_aside += 1
                else:
                    res.rejects.append(readers._ragged(file, line, len(header)))
                continue
            sid, raw = cells[i_sid].strip(), cells[i_locus].strip()
            if beside_reader and (not sid or (samples is not None and sid not in samples)):
                res.n_set_aside += 1
                continue
            if not sid:
                res.rejects.append(Reject(file, line, name["sample_id"], "empty sample_id: every "
                                          "row needs the sample's lab identifier"))
                continue
            if samples is not None and sid not in samples:
                res.rejects.append(Reject(file, line, name["sample_id"], f"sample '{sid}' is not in "
                                          "the samples file, or it was rejected there: fix the "
                                          "samples file or remove these genotypes"))
                continue
            is_y = kinds.get(raw)
            if is_y is None:
                is_y = kinds[raw] = bool(raw) and (locus_kind(raw) == "y" or (
                    not beside_reader and y_locus(raw)[0] is not None))
            if not is_y:
                if y_only:
                    res.rejects.append(Reject(file, line, name["locus"], f"'{raw}' is not a Y-STR "
                                              "locus: a Y database file holds Y loci only; give "
                                              "autosomal typings to reunion ingest"))
                else:
                    res.n_set_aside += 1
                continue
            if wanted is not None and sid not in wanted:
                res.n_set_aside += 1
                continue
            if already is not None and sid in already:
                res.rejects.append(Reject(file, line, name["sample_id"], already[sid]))
                continue
            calls = [cells[i].strip() for i in idx]
            if decimal_comma:
                calls = [c.replace(",", ".") for c in calls]
            y_rows.append((sid, raw, *calls))
            y_lines.append(line)
    sexes = {k: v for k, v in (samples or {}).items() if v}
    parsed = parse_y_rows(y_rows, sexes)
    for r in parsed.rejects:
        res.rejects.append(Reject(file, y_lines[r.row], name.get(r.field, r.field), r.reason))
    res.n_used = len(y_rows) - len(parsed.rejects)
    res.haplotypes = parsed.haplotypes
    assert res.n_read == res.n_used + len(res.rejects) + res.n_set_aside
    log.info("%s: %d rows read, %d Y rows used, %d rejected, %d set aside", path, res.n_read,
             res.n_used, len(res.rejects), res.n_set_aside)
    return res


def read_missing_men(samples: Sequence[Path], genotypes: Sequence[Path]
                     ) -> tuple[dict[str, YHaplotype], dict[str, int], list[Reject], YRead]:
    """The male missing persons' Y haplotypes from the missing persons' files (read and
    validated by :func:`reunion.io.readers.read_samples`; Y rows by :func:`read_y_genotypes`).
    Returns (haplotypes of the missing persons not recorded female, counts {missing, female,
    no_y}, the samples files' rejects, the genotypes' read)."""
    sexes: dict[str, str | None] = {}
    missing: set[str] = set()
    rejects: list[Reject] = []
    for path in samples:
        r = read_samples(require_file(path, "samples", "--samples"))
        rejects.extend(r.rejects)
        for sid, role, sex in zip(r.table.column("sample_id").to_pylist(),
                                  r.table.column("role").to_pylist(),
                                  r.table.column("sex").to_pylist()):
            if sid in sexes:
                raise InputError(f"{path}: sample '{sid}' is in two samples files; give each "
                                 "sample once")
            sexes[sid] = sex
            if role == "missing":
                missing.add(sid)
    read = YRead()
    for path in genotypes:
        read.add(read_y_genotypes(path, sexes, missing))
    female = {s for s in missing if sexes.get(s) == "F"}
    haps = {s: h for s, h in read.haplotypes.items() if s not in female}
    counts = {"missing": len(missing), "female": len(female),
              "no_y": len(missing) - len(female) - len(haps)}
    return haps, counts, rejects, read


# ------------------------------------------------------------------------------ encoding
@dataclass(frozen=True)
class YPanel:
    """The compared loci and their value dictionaries: ``loci`` canonical names (typed in some
    missing man, with a mutation rate), ``values[l]`` the values of locus l in code order
    (code k + 1 is values[l][k]; code 0 untyped), from both sides."""

    loci: tuple[str, ...]
    values: tuple[tuple[YValue, ...], ...]

    @property
    def width(self) -> int:
        """C: codes per locus including 0, the tables' last two axes."""
        return 1 + max((len(v) for v in self.values), default=0)

    def encode(self, haplotypes: Sequence[YHaplotype]) -> np.ndarray:
        """uint16 [len(haplotypes), L] value codes (0 where untyped or not in the dictionary)."""
        index = [{v: k + 1 for k, v in enumerate(vals)} for vals in self.values]
        pos = {locus: i for i, locus in enumerate(self.loci)}
        out = np.zeros((len(haplotypes), len(self.loci)), dtype=np.uint16)
        for n, h in enumerate(haplotypes):
            for locus, v in h.alleles:
                i = pos.get(locus)
                if i is not None:
                    out[n, i] = index[i].get(v, 0)
        return out


def _sort_key(v: YValue) -> tuple[float, ...]:
    return (v,) if isinstance(v, float) else tuple(v)


def build_panel(missing: Iterable[YHaplotype], men: Iterable[YHaplotype],
                rates: Mapping[str, float]) -> YPanel:
    """The loci typed in some missing man that have a rate, and every value seen there."""
    missing, men = list(missing), list(men)
    loci = sorted({locus for h in missing for locus in h.loci if locus in rates})
    seen: dict[str, set] = {locus: set() for locus in loci}
    for h in (*missing, *men):
        for locus, v in h.alleles:
            if locus in seen:
                seen[locus].add(v)
    if max((len(s) for s in seen.values()), default=0) >= 65535:
        raise InputError("more than 65534 distinct values at one Y locus: check the input")
    return YPanel(tuple(loci), tuple(tuple(sorted(seen[locus], key=_sort_key)) for locus in loci))


def _copies(locus: str) -> int:
    return y_locus(locus)[0].copies


def _expansions(vals: tuple[float, ...], c: int) -> list[tuple[float, ...]]:
    """The sorted c-copy states whose set of distinct values is ``vals``."""
    return sorted({tuple(sorted(s)) for s in itertools.product(vals, repeat=c) if set(s) == set(vals)})


def value_steps(a: YValue, b: YValue, copies: int) -> int:
    """Repeat steps between two values of a locus: |a - b| for a single-copy locus; for a
    c-copy locus the fewest steps over the copy states each set of values allows, copies
    paired in sorted order (the cheapest pairing on a line). :data:`kernel.UNREACHABLE`
    where a pairing crosses microvariant classes (no stepwise path) or the steps exceed 254."""
    va = (a,) if copies == 1 else tuple(a)
    vb = (b,) if copies == 1 else tuple(b)
    best = kernel.UNREACHABLE
    for xa in _expansions(va, copies):
        for xb in _expansions(vb, copies):
            s = 0
            for x, y in zip(xa, xb):
                d = round(10 * x) - round(10 * y)
                if d % 10:
                    s = kernel.UNREACHABLE
                    break
                s += abs(d) // 10
            best = min(best, s)
    return min(best, kernel.UNREACHABLE)


def steps_table(panel: YPanel) -> np.ndarray:
    """uint8 [L, C, C]: steps[l, a, b] = :func:`value_steps` of codes a and b (0 row/column 0)."""
    C = panel.width
    out = np.zeros((len(panel.loci), C, C), dtype=np.uint8)
    for l, (locus, vals) in enumerate(zip(panel.loci, panel.values)):
        c = _copies(locus)
        for i, a in enumerate(vals):
            for j in range(i, len(vals)):
                out[l, i + 1, j + 1] = out[l, j + 1, i + 1] = value_steps(a, vals[j], c)
    return out


def logp_table(panel: YPanel, rates: Mapping[str, float], max_meioses: int,
               two_step: float = 0.0) -> np.ndarray:
    """float64 [M, L, C, C]: logp[m, l, a, b] = log10 P(a man m + 1 meioses from a man showing
    value a at locus l shows value b), from :func:`reunion.genetics.ystr.y_locus_posterior` on
    the paternal line of the two men (one typed man: f^{*m}(b - a) for a single-copy locus);
    -inf where impossible, 0 in row and column 0."""
    C, L = panel.width, len(panel.loci)
    out = np.zeros((max_meioses, L, C, C))
    for l, (locus, vals) in enumerate(zip(panel.loci, panel.values)):
        for m in range(1, max_meioses + 1):
            line = PaternalLine((YMan("man"), YMan("missing", "man", m)), "missing")
            for i, a in enumerate(vals):
                post = y_locus_posterior(line, {"man": YHaplotype("man", ((locus, a),))}, locus,
                                         rates[locus], two_step=two_step, extra=vals)
                p = np.array([post.of(b) for b in vals])
                with np.errstate(divide="ignore"):
                    out[m - 1, l, i + 1, 1:len(vals) + 1] = np.log10(p)
    return out


# ------------------------------------------------------------------------------ the search
@dataclass
class LineageSearch:
    """What :func:`search` found: ``men`` (:data:`reunion.contracts.LINEAGE_MEN`) and
    ``groups`` (:data:`reunion.contracts.LINEAGE_GROUPS`) tables, ``n_pairs`` the pairs within
    max_steps, ``seconds`` by stage (panel, tables, screen, likelihoods, frequencies, rank)."""

    men: pa.Table
    groups: pa.Table
    n_pairs: int
    loci: tuple[str, ...]
    seconds: dict[str, float] = field(default_factory=dict)


def _log10_mean(logs: np.ndarray) -> np.ndarray:
    """float64 [P]: log10 of the mean over the last axis of 10**logs (stable; -inf rows kept)."""
    top = logs.max(axis=1)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log10(np.mean(10.0 ** (logs - safe[:, None]), axis=1))


def search(missing: Mapping[str, YHaplotype], men: Mapping[str, YHaplotype],
           attributes: Mapping[str, YDatabaseMan], settings: LineageSettings,
           rates: Mapping[str, float] | None = None,
           reference: Iterable[YHaplotype] = ()) -> LineageSearch:
    """Every missing man against every database man (``men``: haplotypes by id; ``attributes``
    their lineage, surname, region). ``rates``: per-locus Y rates (default: ``settings.rates``);
    ``reference``: further haplotypes counted in the frequencies."""
    t0 = time.perf_counter()
    sec: dict[str, float] = {}
    rates = dict(rates) if rates is not None else load_ystr_rates(settings.rates)
    q_ids = sorted(missing)
    r_ids = sorted(men)
    q_haps = [missing[s] for s in q_ids]
    r_haps = [men[s] for s in r_ids]
    reference = list(reference)
    panel = build_panel(q_haps, [*r_haps, *reference], rates)
    Q, R = panel.encode(q_haps), panel.encode(r_haps)
    sec["encode"] = time.perf_counter() - t0
    t = time.perf_counter()
    steps = steps_table(panel)
    logp = logp_table(panel, rates, settings.max_meioses, settings.two_step)
    sec["tables"] = time.perf_counter() - t
    t = time.perf_counter()
    pq_, pr, ps, pn = kernel.pairs(R, Q, steps, settings.max_steps, settings.min_loci)
    sec["screen"] = time.perf_counter() - t
    t = time.perf_counter()
    ll = kernel.loglik(R, Q, pq_, pr, logp)                       # [P, M]
    sec["likelihoods"] = time.perf_counter() - t
    t = time.perf_counter()
    M = settings.max_meioses
    log_num = _log10_mean(ll)
    best_m = ll.argmax(axis=1) + 1 if ll.size else np.zeros(0, dtype=np.int64)
    log_best = ll.max(axis=1) if ll.size else np.zeros(0)
    with np.errstate(invalid="ignore", over="ignore"):
        w = 10.0 ** (ll - log_best[:, None]) if ll.size else np.zeros((0, M))
        mean_m = (w * np.arange(1, M + 1)).sum(axis=1) / w.sum(axis=1) if ll.size else np.zeros(0)
    # the denominator per (missing man, compared loci): coded counts, cached per loci pattern
    counts = CodedCounts(np.vstack([R, panel.encode(list(reference))]) if reference else R,
                         panel.width)
    both = (R[pr] > 0) & (Q[pq_] > 0)                             # bool [P, L]
    keys = np.packbits(both, axis=1) if both.size else np.zeros((len(pq_), 0), np.uint8)
    prob = np.zeros(len(pq_))
    estimator = [settings.frequency] * len(pq_)
    cache: dict[tuple[int, bytes], tuple[float, str]] = {}
    for p in range(len(pq_)):
        key = (int(pq_[p]), keys[p].tobytes())
        got = cache.get(key)
        if got is None:
            x, n, _ = counts.count(Q[pq_[p]], both[p], singletons=False)
            if x == 0 and settings.frequency == "kappa":          # kappa needs the singletons
                x, n, single = counts.count(Q[pq_[p]], both[p])
            else:
                single = None
            got = cache[key] = haplotype_probability((x, n, single), settings.frequency)
        prob[p], estimator[p] = got
    sec["frequencies"] = time.perf_counter() - t
    t = time.perf_counter()
    log_lr = log_num - np.log10(prob) if len(pq_) else np.zeros(0)
    log_lr_best = log_best - np.log10(prob) if len(pq_) else np.zeros(0)
    order = np.lexsort((pr, ps, -log_lr, pq_))                    # per missing man: LR desc
    pq_, pr, ps, pn = pq_[order], pr[order], ps[order], pn[order]
    log_lr, log_lr_best, best_m, mean_m, prob = (x[order] for x in (log_lr, log_lr_best, best_m,
                                                                    mean_m, prob))
    estimator = [estimator[i] for i in order]
    starts = np.searchsorted(pq_, pq_, side="left")
    rank = (np.arange(len(pq_)) - starts + 1).astype(np.int32)
    att = [attributes.get(r_ids[r], YDatabaseMan(r_ids[r])) for r in pr]
    keep = rank <= settings.top_men
    men_table = pa.table({
        "missing_id": pa.array([q_ids[q] for q in pq_[keep]], pa.string()),
        "rank": pa.array(rank[keep], pa.int32()),
        "man_id": pa.array([r_ids[r] for r in pr[keep]], pa.string()),
        "lineage": pa.array([a.lineage for a, k in zip(att, keep) if k], pa.string()),
        "surname": pa.array([a.surname for a, k in zip(att, keep) if k], pa.string()),
        "region": pa.array([a.region for a, k in zip(att, keep) if k], pa.string()),
        "steps": pa.array(ps[keep], pa.int32()),
        "loci_compared": pa.array(pn[keep], pa.int32()),
        "log10_lr": pa.array(log_lr[keep], pa.float64()),
        "best_meioses": pa.array(best_m[keep], pa.int32()),
        "log10_lr_best": pa.array(log_lr_best[keep], pa.float64()),
        "meioses_mean": pa.array(mean_m[keep], pa.float64()),
        "haplotype_probability": pa.array(prob[keep], pa.float64()),
        "estimator": pa.array([e for e, k in zip(estimator, keep) if k], pa.string()),
    })
    groups = _groups(settings, q_ids, r_ids, attributes, pq_, pr, ps, log_lr, best_m, att)
    sec["rank"] = time.perf_counter() - t
    return LineageSearch(check_table(men_table, LINEAGE_MEN, "lineage men"),
                         check_table(groups, LINEAGE_GROUPS, "lineage groups"), len(pq_),
                         panel.loci, sec)


class CodedCounts:
    """Haplotype counts of a coded database over any subset of its loci, vectorised: the
    (x, N, singletons) that :class:`reunion.genetics.ystr.HaplotypeDatabase` counts, for
    100,000s of men. A man counts over loci S when typed at every locus of S; his type there
    is keyed by a 64-bit sum of random per-(locus, code) words (two different types share a
    key with probability about 2^-64 per pair). A subset's keys are the full sums less the
    loci left out (cost N x loci left out), cached per subset; its singletons are counted
    (a sort) only when asked for (Brenner's kappa of a type not seen).

    ``codes``: uint16 [N, L] (:meth:`YPanel.encode`); ``width``: codes per locus (C)."""

    def __init__(self, codes: np.ndarray, width: int):
        L = codes.shape[1]
        rng = np.random.default_rng(0x59C0DE)
        words = rng.integers(1, np.iinfo(np.int64).max, size=(L, width), dtype=np.int64).astype(np.uint64)
        words[:, 0] = 0                                          # untyped adds nothing
        self._words = words
        self._hashes = words[np.arange(L)[None, :], codes.astype(np.int64)]    # uint64 [N, L]
        self._full = self._hashes.sum(axis=1, dtype=np.uint64)                 # uint64 [N]
        self._untyped = codes == 0                                             # bool [N, L]
        self._n_untyped = self._untyped.sum(axis=1)                            # int [N]
        self._keys: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._single: dict[bytes, int] = {}

    def _subset(self, mask: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
        """(cache key, keys uint64 [n] of the men typed at every locus of ``mask``, their rows)."""
        key = np.packbits(mask).tobytes()
        got = self._keys.get(key)
        if got is None:
            out = np.flatnonzero(~mask)
            h = self._full - self._hashes[:, out].sum(axis=1, dtype=np.uint64)
            sel = (self._n_untyped - self._untyped[:, out].sum(axis=1)) == 0
            got = self._keys[key] = (h[sel], np.flatnonzero(sel))
        return key, got[0], got[1]

    def count(self, query: np.ndarray, mask: np.ndarray, singletons: bool = True
              ) -> tuple[int, int, int | None]:
        """(x, N, singletons) over the loci of ``mask`` (bool [L]) for the coded haplotype
        ``query`` (uint16 [L], typed there); singletons None unless asked for."""
        key, h, _ = self._subset(mask)
        idx = np.flatnonzero(mask)
        hq = self._words[idx, query[idx].astype(np.int64)].sum(dtype=np.uint64)
        x = int(np.count_nonzero(h == hq))
        single = None
        if singletons:
            single = self._single.get(key)
            if single is None:
                _, c = np.unique(h, return_counts=True)
                single = self._single[key] = int((c == 1).sum())
        return x, int(h.size), single


def haplotype_probability(counted: tuple[int, int, int | None], estimator: str) -> tuple[float, str]:
    """(P(haplotype), the estimator used) from coded counts (x, N, singletons) (:meth:`CodedCounts.count`):
    "kappa" (Brenner 2010; counting where kappa = 1 or N = 0) or "counting" ((x+1)/(N+1))."""
    x, n, single = counted
    if estimator == "kappa":
        try:
            return kappa_probability(x, n, single), "kappa"
        except ValueError:      # every haplotype a singleton (kappa = 1): Brenner's estimate is 0
            return counting_probability(x, n), "counting (kappa = 1)"
    return counting_probability(x, n), "counting"


def _groups(settings: LineageSettings, q_ids, r_ids, attributes, pq_, pr, ps, log_lr, best_m,
            att) -> pa.Table:
    """Per missing man and attribute, the values of the men within reach (pairs already in
    rank order: a group's first pair is its best man)."""
    cols: dict[str, list] = {f.name: [] for f in LINEAGE_GROUPS}
    for attribute in settings.group_by:
        in_db: dict[str, int] = {}
        for a in attributes.values():
            v = getattr(a, attribute)
            if v is not None:
                in_db[v] = in_db.get(v, 0) + 1
        per_q: dict[int, dict[str, list]] = {}
        for p in range(len(pq_)):
            v = getattr(att[p], attribute)
            if v is None:
                continue
            g = per_q.setdefault(int(pq_[p]), {})
            if v not in g:
                g[v] = [p, 1, int(ps[p])]          # best pair, men within, min steps
            else:
                g[v][1] += 1
                g[v][2] = min(g[v][2], int(ps[p]))
        for q in sorted(per_q):
            ranked = sorted(per_q[q].items(), key=lambda kv: (-log_lr[kv[1][0]], -kv[1][1], kv[0]))
            for k, (v, (p, n, smin)) in enumerate(ranked[:settings.top_groups], start=1):
                cols["missing_id"].append(q_ids[q])
                cols["attribute"].append(attribute)
                cols["value"].append(v)
                cols["rank"].append(k)
                cols["men_within"].append(n)
                cols["men_in_database"].append(in_db[v])
                cols["best_man_id"].append(r_ids[pr[p]])
                cols["best_log10_lr"].append(float(log_lr[p]))
                cols["best_meioses"].append(int(best_m[p]))
                cols["min_steps"].append(smin)
    return pa.Table.from_pydict(cols, schema=LINEAGE_GROUPS)


# ------------------------------------------------------------------------------ the command
@dataclass(frozen=True)
class LineageSummary:
    """What ``reunion lineage`` did: counts, the files written, seconds by stage."""

    out: str
    n_missing: int
    n_missing_female: int
    n_missing_without_y: int
    n_searched: int
    n_with_men: int
    n_database_men: int
    n_pairs: int
    loci: tuple[str, ...]
    n_rejects: int
    rejects_path: str
    files: tuple[str, ...]
    seconds: dict[str, float]
    settings: dict


def run_lineage(samples: Sequence[Path], genotypes: Sequence[Path], ydb_samples: Path,
                ydb_genotypes: Sequence[Path], out: Path, settings: LineageSettings) -> LineageSummary:
    """``reunion lineage``: read and validate, search, write ``lineage_men`` and
    ``lineage_groups`` (.parquet and .csv), ``rejects.csv``, ``lineage.md`` and ``lineage.json``
    under ``out``."""
    t0 = time.perf_counter()
    try:
        rates = load_ystr_rates(settings.rates)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"lineage.rates {settings.rates}: {exc}; give a CSV with columns locus, "
                         "rate, source") from None
    missing, counts, rejects, _ = read_missing_men(samples, genotypes)
    db_men, db_rejects, _ = read_y_database(ydb_samples)
    rejects.extend(db_rejects)
    db = YRead()
    for path in ydb_genotypes:
        db.add(read_y_genotypes(path, {s: None for s in db_men}, y_only=True, option="--ydb-genotypes"))
    rejects.extend(db.rejects)
    reference: list[YHaplotype] = []
    if settings.reference is not None:
        ref = read_y_genotypes(settings.reference, None, y_only=True, option="lineage.reference")
        rejects.extend(ref.rejects)
        reference = list(ref.haplotypes.values())
    read_s = time.perf_counter() - t0
    if not db.haplotypes:
        raise InputError(f"{', '.join(map(str, ydb_genotypes))}: no usable Y haplotype in the Y "
                         f"database (see the rejects); check the files")
    found = search(missing, db.haplotypes, db_men, settings, rates, reference)
    out = ensure_dir(Path(out))
    files = []
    for table, stem in ((found.men, MEN_FILE), (found.groups, GROUPS_FILE)):
        for suffix in (".parquet", ".csv"):
            files.append(str(write_table(table, out / f"{stem}{suffix}")))
    rejects_path = write_rejects(rejects, out / REJECTS_FILE)
    seconds = {"read": read_s, **found.seconds}
    summary = LineageSummary(
        str(out), counts["missing"], counts["female"], counts["no_y"], len(missing),
        len(set(found.men.column("missing_id").to_pylist())), len(db.haplotypes), found.n_pairs,
        found.loci, len(rejects), str(rejects_path), tuple(files), seconds,
        settings.model_dump(mode="json"))
    write_text(out / REPORT_FILE, lineage_markdown(summary, found.groups, found.men))
    seconds["total"] = time.perf_counter() - t0
    write_text(out / SUMMARY_FILE, json.dumps(dataclasses.asdict(summary), indent=2, sort_keys=True) + "\n")
    return summary


def lineage_markdown(summary: LineageSummary, groups: pa.Table, men: pa.Table,
                     rows: int = 50) -> str:
    """The report section: what was searched, how the LR is made (with the estimator's
    source), and per missing man his first lineage and man (no haplotype values)."""
    s = summary.settings
    lines = [
        "## Lineage search (Y-STR)", "",
        f"{summary.n_searched} male missing persons with a Y haplotype were searched against "
        f"{summary.n_database_men} men of the Y database over up to {len(summary.loci)} Y loci "
        f"({summary.n_missing} missing persons read: {summary.n_missing_female} recorded female, "
        f"{summary.n_missing_without_y} without Y typing). {summary.n_with_men} of them have at "
        f"least one man within {s['max_steps']} repeat steps ({summary.n_pairs} pairs).", "",
        f"LR of a man: P(both haplotypes | paternal relatives 1 to {s['max_meioses']} meioses "
        "apart through a common paternal ancestor, each number equally likely; per-locus "
        "stepwise mutation at the shipped father-son rates) / P(both | unrelated). The "
        "denominator is the missing man's haplotype probability over the compared loci, by "
        f"{ESTIMATORS[s['frequency']]}, in the Y database"
        + (" and the reference database" if s.get("reference") else "") + ". Counting a village "
        "database that holds his own lineage overstates that probability: the LRs are "
        "conservative. Y evidence says nothing about which man of a lineage is the relative; "
        "test the lineage's men next (autosomal evidence tells them apart).", "",
    ]
    first = {}
    if groups.num_rows:
        g = groups.filter(pc.equal(groups.column("rank"), 1)).to_pylist()
        for row in g:
            first.setdefault(row["missing_id"], {})[row["attribute"]] = row
    best = {r["missing_id"]: r for r in men.to_pylist() if r["rank"] == 1}
    order = sorted(best, key=lambda m: -best[m]["log10_lr"])
    if order:
        lines += ["| missing person | first lineage (men within / in database) | first surname "
                  "| first region | best man | LR | log10 LR | most likely meioses | steps "
                  "| haplotype probability |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for m in order[:rows]:
            f, b = first.get(m, {}), best[m]

            def cell(attr: str, f=f) -> str:
                r = f.get(attr)
                return f"{r['value']} ({r['men_within']}/{r['men_in_database']})" if r else "-"

            lines.append(f"| {m} | {cell('lineage')} | {cell('surname')} | {cell('region')} | "
                         f"{b['man_id']} | {fmt_pow10(b['log10_lr'])} | {fmt_log10(b['log10_lr'])} | "
                         f"{b['best_meioses']} | {b['steps']} | {b['haplotype_probability']:.3g} |")
        if len(order) > rows:
            lines.append(f"\n... and {len(order) - rows} more missing persons: see "
                         f"{GROUPS_FILE}.csv and {MEN_FILE}.csv.")
    else:
        lines.append("No missing person has a man within reach.")
    return "\n".join(lines) + "\n"
