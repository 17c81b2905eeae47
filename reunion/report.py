"""Review report of a re-match run: categories, rival ratios, posteriors, one HTML page.

``write_report(run_dir)`` reads a run folder (``candidates.parquet``,
``per_locus.parquet``, ``run.json``) and writes, atomically and with mode 0640:

- ``review.parquet`` and ``review.csv``: the candidates plus the review
  columns of :data:`REVIEW_FIELDS` (category, rival ratio, posterior, prior);
- ``report.html``: one self-contained page (inline CSS, JS and SVG; it never
  touches the network) with the run summary, what changed since a previous
  run, a sortable and filterable overview of the missing persons, and a
  per-candidate detail view with the per-locus table.

Categories (thresholds in :class:`ReviewSettings`; SF/Z JD0105001-2016 as
labs summarise it, and the "undisputed" rule of the R package dvir):

- ``strong``: LR >= ``strong_lr`` and at most ``max_inconsistent_strong``
  inconsistent loci;
- ``undisputed``: a strong candidate at rank 1 whose LR beats the rank-2
  candidate's by ``undisputed_factor`` or more, or that has no rival;
- ``inconclusive``: ``inconclusive_low`` < LR < ``strong_lr``;
- ``weak``: everything else, including LR >= ``strong_lr`` with too many
  inconsistent loci (``category_reason`` says which).

Rival ratio: for the candidate at rank r of a missing person, LR_r / LR_{r+1}
(so rank 1 gets LR1/LR2, the margin over the best rival). The last candidate
of a list has no rival (null, shown as "no rival": every other family scored
below the run's LR floor or outside the top k). Equal LRs give 1; a rival
with LR 0 gives inf. Everything is computed from log10 LRs, so LRs of 1e40
or 0 (-inf) neither overflow nor divide by zero.

Report URL parameters (in the hash or the query string), applied on load:
``sort=<key>-<asc|desc>`` with key one of id, family, hyp, lr, rival, cat,
post, loci, inc, n; ``q=<text>`` (filter on ids); ``cat=<category>``;
``open=<missing_id>`` (show that missing person's candidates) and
``family=<family_id>`` (expand that candidate; default rank 1).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from reunion.contracts import CANDIDATES, PER_LOCUS, check_table
from reunion.frequencies import file_sha256
from reunion.io import atomic

REVIEW_PARQUET = "review.parquet"
REVIEW_CSV = "review.csv"
REPORT_HTML = "report.html"

CATEGORIES = ("undisputed", "strong", "inconclusive", "weak")
"""Strongest first."""

CATEGORY_COLORS = {"undisputed": "#1a7f37", "strong": "#56a46a", "inconclusive": "#d4901c",
                   "weak": "#9aa1a9"}
_CAT_ORDER = {c: len(CATEGORIES) - i for i, c in enumerate(CATEGORIES)}   # higher = stronger
_MAX_CHANGES_LISTED = 200


class ReviewSettings(BaseModel):
    """Thresholds that sort candidates into review categories."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strong_lr: float = Field(
        10_000, gt=1, le=1e300,
        description="LR at or above which a candidate supports parentage (SF/Z JD0105001-2016 as "
                    "labs summarise it: CPI >= 10,000), given few enough inconsistent loci.")
    max_inconsistent_strong: int = Field(
        2, ge=0, le=50,
        description="Most inconsistent (Mendelian-incompatible) loci a strong candidate may have; "
                    "3 or more exclude in SF/Z practice.")
    inconclusive_low: float = Field(
        2_000, ge=1, le=1e300,
        description="LR above which (and below strong_lr) a candidate is inconclusive: type more "
                    "loci or test the other parent.")
    undisputed_factor: float = Field(
        100, ge=1, le=1e300,
        description="A rank-1 strong candidate is undisputed when its LR is at least this factor "
                    "above the rank-2 candidate's (as the R package dvir does), or it has no rival.")
    prior: Literal["half", "one_over_families"] = Field(
        "half",
        description="Prior probability of H1 behind the posterior: 'half' (0.5, paternity-report "
                    "convention) or 'one_over_families' (1 / number of families searched).")
    detail_ranks: int = Field(
        3, ge=1, le=100,
        description="Candidates of rank up to this get a per-locus detail view in report.html.")

    @model_validator(mode="after")
    def _ordered(self) -> "ReviewSettings":
        if self.inconclusive_low >= self.strong_lr:
            raise ValueError(f"inconclusive_low ({self.inconclusive_low:g}) must be below "
                             f"strong_lr ({self.strong_lr:g})")
        return self


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
    _f("prior", pa.string(), "Prior behind the posterior: 'half' or 'one_over_families'.", False),
    _f("prior_probability", pa.float64(), "Prior probability of H1 used (0.5 or 1/families).",
       False),
]
REVIEW = pa.schema(list(CANDIDATES) + REVIEW_FIELDS)


# --------------------------------------------------------------------------- numbers
def _pow10(x: float) -> float:
    """10**x without OverflowError (inf above the float range, 0 below)."""
    if x != x:
        return float("nan")
    if x > 308.2:
        return math.inf
    if x < -340:
        return 0.0
    return 10.0 ** x


def _log10_of(c: dict) -> float:
    l = c.get("log10_lr")
    if l is None:
        lr = c.get("lr")
        if lr is None:
            raise ValueError(f"candidate {c.get('missing_id')}/{c.get('family_id')} has no LR")
        l = math.log10(lr) if lr > 0 else -math.inf
    l = float(l)
    if l != l:
        raise ValueError(f"candidate {c.get('missing_id')}/{c.get('family_id')}: log10 LR is NaN")
    return l


def log10_ratio(a: float, b: float) -> float:
    """log10(LR_a / LR_b) from log10 LRs; equal values (also both -inf) give 0."""
    if a == b:
        return 0.0
    return a - b


def prior_probability(settings: "ReviewSettings", n_families: int | None) -> float:
    if settings.prior == "half":
        return 0.5
    if not n_families or n_families < 1:
        raise ValueError("prior 'one_over_families' needs the number of families searched (>= 1)")
    return 1.0 / n_families


def posterior(log10_lr: float, prior: float) -> float:
    """P(H1 | data) = LR*prior / (LR*prior + 1 - prior), computed in log10 (no overflow)."""
    if log10_lr == -math.inf or prior <= 0:
        return 0.0
    if prior >= 1 or log10_lr == math.inf:
        return 1.0
    t = log10_lr + math.log10(prior) - math.log10(1.0 - prior)   # log10 posterior odds
    if t > 0:
        return 1.0 / (1.0 + _pow10(-t))
    o = _pow10(t)
    return o / (1.0 + o)


# --------------------------------------------------------------------------- categories
def _lr_text(x: float) -> str:
    return f"{x:,.0f}" if x < 1e15 else f"{x:.3g}"


def categorise(candidates: list[dict], settings: ReviewSettings | None = None,
               n_families: int | None = None) -> list[dict]:
    """Candidates with review columns added, grouped by missing person, in rank order.

    Adds ``rival_ratio``, ``log10_rival_ratio``, ``category``, ``category_reason``,
    ``posterior``, ``prior`` and ``prior_probability`` (see the module docstring).
    ``n_families`` (families searched) is needed for the 'one_over_families' prior.
    Input dicts are not modified.
    """
    s = settings or ReviewSettings()
    pi = prior_probability(s, n_families)
    log_strong, log_low = math.log10(s.strong_lr), math.log10(s.inconclusive_low)
    log_factor = math.log10(s.undisputed_factor)
    groups: dict[str, list[dict]] = {}
    for c in candidates:
        groups.setdefault(c["missing_id"], []).append(c)
    out: list[dict] = []
    for mid in sorted(groups):
        lst = sorted(groups[mid], key=lambda c: (c["rank"], -_log10_of(c), c["family_id"]))
        logs = [_log10_of(c) for c in lst]
        for i, c in enumerate(lst):
            l = logs[i]
            lrr = log10_ratio(l, logs[i + 1]) if i + 1 < len(lst) else None
            inc = int(c.get("inconsistent_loci") or 0)
            if l >= log_strong and inc <= s.max_inconsistent_strong:
                cat = "strong"
                why = (f"LR >= {_lr_text(s.strong_lr)} with {inc} inconsistent loci "
                       f"(at most {s.max_inconsistent_strong})")
                if i == 0 and (lrr is None or lrr >= log_factor):
                    cat = "undisputed"
                    why += ("; no rival in the list" if lrr is None else
                            f"; beats every rival by a factor of {_lr_text(s.undisputed_factor)} "
                            "or more")
                elif i == 0:
                    why += (f"; rival within a factor of {_lr_text(s.undisputed_factor)}: "
                            "not undisputed")
                else:
                    why += f"; rank {c['rank']}, a rival of the best candidate"
            elif log_low < l < log_strong:
                cat = "inconclusive"
                why = (f"{_lr_text(s.inconclusive_low)} < LR < {_lr_text(s.strong_lr)}: "
                       "type more loci or test the other parent")
            elif l >= log_strong:
                cat = "weak"
                why = (f"LR >= {_lr_text(s.strong_lr)} but {inc} inconsistent loci (more than "
                       f"{s.max_inconsistent_strong}): excluded unless mutations explain them")
            else:
                cat = "weak"
                why = f"LR <= {_lr_text(s.inconclusive_low)}"
            out.append({**c,
                        "rival_ratio": None if lrr is None else _pow10(lrr),
                        "log10_rival_ratio": lrr,
                        "category": cat, "category_reason": why,
                        "posterior": posterior(l, pi),
                        "prior": s.prior, "prior_probability": pi})
    return out


def review_table(rows: list[dict], settings: ReviewSettings | None = None) -> pa.Table:
    """The review rows as an Arrow table of the :data:`REVIEW` schema (settings in its metadata)."""
    t = check_table(pa.Table.from_pylist(rows, schema=REVIEW), REVIEW, "review")
    return t.replace_schema_metadata({
        "review_settings": (settings or ReviewSettings()).model_dump_json()})


def compare_runs(current: list[dict], previous: list[dict]) -> dict[str, list[dict]]:
    """What changed between two categorised candidate lists, by (missing_id, family_id).

    ``new``: pairs only in the current list; ``dropped``: only in the previous;
    ``improved``/``worsened``: in both, with a higher/lower category now or, in the
    same category, a higher/lower log10 LR (beyond 1e-9); ``best_changed``: missing
    persons whose rank-1 family differs (both lists non-empty for them).
    Each entry holds the current row (``now``) and the previous one (``before``).
    """
    cur = {(c["missing_id"], c["family_id"]): c for c in current}
    prev = {(c["missing_id"], c["family_id"]): c for c in previous}
    out: dict[str, list[dict]] = {k: [] for k in
                                  ("new", "improved", "worsened", "dropped", "best_changed")}
    for key, c in cur.items():
        p = prev.get(key)
        if p is None:
            out["new"].append({"now": c, "before": None})
            continue
        dc = _CAT_ORDER[c["category"]] - _CAT_ORDER[p["category"]]
        dl = _log10_of(c) - _log10_of(p) if _log10_of(c) != _log10_of(p) else 0.0
        if dc > 0 or (dc == 0 and dl > 1e-9):
            out["improved"].append({"now": c, "before": p})
        elif dc < 0 or (dc == 0 and dl < -1e-9):
            out["worsened"].append({"now": c, "before": p})
    for key, p in prev.items():
        if key not in cur:
            out["dropped"].append({"now": None, "before": p})
    best_now = {c["missing_id"]: c for c in current if c["rank"] == 1}
    best_before = {c["missing_id"]: c for c in previous if c["rank"] == 1}
    for mid in sorted(set(best_now) & set(best_before)):
        if best_now[mid]["family_id"] != best_before[mid]["family_id"]:
            out["best_changed"].append({"now": best_now[mid], "before": best_before[mid]})

    def strength(e: dict):
        c = e["now"] or e["before"]
        return (-_CAT_ORDER[c["category"]], -_log10_of(c), c["missing_id"], c["family_id"])
    for v in out.values():
        v.sort(key=strength)
    return out


# --------------------------------------------------------------------------- run folder
def _read_candidates(run_dir: Path) -> list[dict]:
    t = atomic.read_table(run_dir / "candidates.parquet")
    return check_table(t, CANDIDATES, f"{run_dir / 'candidates.parquet'}").to_pylist()


def _read_run(run_dir: Path) -> dict:
    p = run_dir / "run.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _resolve(path: str, run_dir: Path) -> Path | None:
    p = Path(path)
    tries = [p] if p.is_absolute() else [run_dir / p, run_dir.parent / p, Path.cwd() / p]
    return next((t for t in tries if t.exists()), None)


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
        manifest = json.loads(mpath.read_text())
        apath = mpath.parent / manifest["alleles"]["path"]
        if file_sha256(apath) != manifest["alleles"]["sha256"]:
            return None, f"{apath} changed since the shard set was made (sha256 differs)"
        t = atomic.read_table(apath)
        freq: dict[str, dict[str, tuple[float, bool]]] = {}
        for loc, al, f, src in zip(*(t.column(c).to_pylist()
                                      for c in ("locus", "allele", "frequency", "source"))):
            freq.setdefault(loc, {})[al] = (float(f), src == "floor")
    except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
        return None, f"allele frequencies not readable: {exc}"
    return freq, f"from {apath}"


# --------------------------------------------------------------------------- formatting
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_E = html.escape


def fmt_pow10(l: float | None, none: str = "—") -> str:
    """A positive number given by its log10, for people: 1,234 or 1.44 × 10¹⁰."""
    if l is None:
        return none
    if l == -math.inf:
        return "0"
    if l == math.inf:
        return "∞"
    if -2 <= l < 6:
        v = 10.0 ** l
        return f"{v:,.0f}" if l >= 3 else f"{v:.3g}"
    e = math.floor(l)
    mant = 10.0 ** (l - e)
    if mant >= 9.995:
        mant, e = 1.0, e + 1
    return f"{mant:.2f} × 10{str(e).translate(_SUP)}"


def fmt_log10(l: float | None) -> str:
    if l is None:
        return "—"
    if l == -math.inf:
        return "−∞"
    if l == math.inf:
        return "∞"
    return f"{l:.2f}"


def fmt_rival(lrr: float | None) -> str:
    if lrr is None:
        return "no rival"
    if lrr == 0:
        return "1 (tie)"
    if lrr == math.inf:
        return "∞ (rival LR 0)"
    return fmt_pow10(lrr)


def fmt_posterior(p: float) -> str:
    """Percent, truncated (never rounded up to 100%)."""
    if p >= 1.0 or p > 0.999999:
        return "> 99.9999%"
    pct = math.floor(p * 1e6) / 1e4
    return f"{pct:.4f}%" if pct >= 99 else f"{pct:.2f}%"


def prior_label(settings: ReviewSettings, n_families: int | None) -> str:
    return "prior 0.5" if settings.prior == "half" else f"prior 1/{n_families:,} (one over families)"


def _num_attr(x: float | None) -> str:
    if x is None:
        return "Infinity"        # no rival sorts as the largest margin
    if x == math.inf:
        return "Infinity"
    if x == -math.inf:
        return "-Infinity"
    return repr(round(float(x), 6))


def _json_num(x: float | None, nd: int = 4):
    if x is None:
        return None
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return round(float(x), nd)


def _members(s: str) -> list[tuple[str, str]]:
    out = []
    for part in (s or "").split(";"):
        if part:
            role, _, sid = part.partition(":")
            out.append((role, sid))
    return out


_REL = {"full_sibling": "full sibling", "half_sibling": "half sibling", "grandparent": "grandparent",
        "avuncular": "uncle or aunt", "father": "father", "mother": "mother"}


def hypotheses(c: dict, population: str | None = None) -> tuple[str, str]:
    """(H1, H2) in words for a candidate."""
    m = dict(_members(c.get("members", "")))
    fam, hyp = c["family_id"], c["hypothesis"]
    if hyp == "trio":
        h1 = (f"the couple {m.get('father', '?')} (father) and {m.get('mother', '?')} (mother) "
              f"of family {fam} are the missing person's parents")
    elif hyp == "duo_father":
        h1 = f"{m.get('father', '?')}, the father of family {fam}, is the missing person's father"
    elif hyp == "duo_mother":
        h1 = f"{m.get('mother', '?')}, the mother of family {fam}, is the missing person's mother"
    elif hyp.startswith("pair_"):
        rel = _REL.get(hyp[5:], hyp[5:].replace("_", " "))
        who = m.get("other") or next(iter(m.values()), "?")
        h1 = (f"the missing person is family {fam}'s lost child, so {who} "
              f"(registered as the lost child's {rel}) is the missing person's {rel}")
    else:
        h1 = f"the missing person is family {fam}'s lost child ({hyp})"
    who = " and ".join(m.values()) or "the family members tested"
    pop = f" of the {population} population" if population else ""
    h2 = f"the missing person is unrelated to {who}: a random person{pop}"
    return h1, h2


# --------------------------------------------------------------------------- SVG
def _nice_ticks(top: int) -> list[int]:
    """0, step, 2*step, ... up to the first multiple of step >= top (step 1, 2 or 5 x 10^k)."""
    top = max(int(top), 1)
    for k in range(0, 12):
        for m in (1, 2, 5):
            step = m * 10 ** k
            if math.ceil(top / step) <= 5:
                return [step * i for i in range(math.ceil(top / step) + 1)]
    return [0, top]


def histogram_svg(rank1: list[dict], settings: ReviewSettings, width: int = 640,
                  height: int = 230) -> str:
    """Stacked histogram (by category) of the rank-1 log10 LRs, as inline SVG."""
    vals = [(_log10_of(c), c["category"]) for c in rank1]
    finite = [v for v, _ in vals if math.isfinite(v)]
    n_zero = sum(1 for v, _ in vals if v == -math.inf)
    if not finite:
        return (f'<p class="muted">No rank-1 candidate with a finite LR'
                f'{f" ({n_zero} with LR 0)" if n_zero else ""}.</p>')
    lo = math.floor(min(finite + [0.0]))
    hi = max(math.floor(max(finite)) + 1, math.ceil(math.log10(settings.strong_lr)) + 1, lo + 1)
    step = max(1, math.ceil((hi - lo) / 40))
    nb = math.ceil((hi - lo) / step)
    counts = [dict.fromkeys(CATEGORIES, 0) for _ in range(nb)]
    for v, cat in vals:
        if math.isfinite(v):
            counts[min(nb - 1, int((v - lo) // step))][cat] += 1
    top = _nice_ticks(max(sum(b.values()) for b in counts))[-1]
    ml, mr, mt, mb = 44, 12, 12, 40
    pw, ph = width - ml - mr, height - mt - mb
    bw = pw / nb

    def x(v: float) -> float:
        return ml + (v - lo) / (nb * step) * pw

    def y(n: float) -> float:
        return mt + ph - n / top * ph

    parts = [f'<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Histogram of the best candidate\'s log10 LR per missing person">']
    for t in _nice_ticks(top):
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                     'class="grid"/><text x="{0}" y="{1:.1f}" class="tick" text-anchor="end">'
                     '{2}</text>'.format(ml - 5, y(t) + 4, t))
    for i, b in enumerate(counts):
        base = 0
        for cat in reversed(CATEGORIES):          # weak at the bottom
            n = b[cat]
            if not n:
                continue
            parts.append(
                f'<rect x="{ml + i * bw + 1:.1f}" y="{y(base + n):.1f}" width="{max(bw - 2, 1):.1f}" '
                f'height="{y(base) - y(base + n):.1f}" fill="{CATEGORY_COLORS[cat]}">'
                f'<title>log10 LR {lo + i * step} to {lo + (i + 1) * step}: {n} {cat}</title></rect>')
            base += n
    label_every = max(1, math.ceil(nb / 16))
    for i in range(0, nb + 1, label_every):
        v = lo + i * step
        parts.append(f'<text x="{x(v):.1f}" y="{mt + ph + 15}" class="tick" '
                     f'text-anchor="middle">{v}</text>')
    for thr, dx, anchor in ((settings.inconclusive_low, -3, "end"), (settings.strong_lr, 3, "start")):
        tx = x(math.log10(thr))
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{mt}" y2="{mt + ph}" class="thr"/>'
                     f'<text x="{tx + dx:.1f}" y="{mt + 9}" class="thr-label" text-anchor="{anchor}">'
                     f'{_E(_lr_text(thr))}</text>')
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    parts.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 6}" class="axis-label" '
                 'text-anchor="middle">log10 LR of the best candidate</text>')
    parts.append(f'<text x="12" y="{mt + ph / 2:.1f}" class="axis-label" text-anchor="middle" '
                 f'transform="rotate(-90 12 {mt + ph / 2:.1f})">missing persons</text>')
    parts.append("</svg>")
    if n_zero:
        parts.append(f'<p class="muted">{n_zero} best candidates with LR 0 not drawn.</p>')
    return "".join(parts)


# --------------------------------------------------------------------------- HTML
def _json_script(obj) -> str:
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _detail_data(rows: list[dict], per_locus: dict, settings: ReviewSettings,
                 population: str | None, n_families: int | None = None) -> tuple[dict, list[str], list[str]]:
    alt = None          # the other prior, shown beside the stated one in the evidence view
    if settings.prior == "half" and n_families:
        alt = (1.0 / n_families, f"prior 1/{n_families:,}")
    elif settings.prior == "one_over_families":
        alt = (0.5, "prior 0.5")
    loci: list[str] = []
    whys: dict[str, int] = {}           # category reasons repeat: stored once, referenced by index
    lidx: dict[str, int] = {}
    data: dict[str, list[dict]] = {}
    for c in rows:
        l = _log10_of(c)
        d = {"r": c["rank"], "f": c["family_id"], "hyp": c["hypothesis"],
             "mem": _members(c["members"]),
             "lr": fmt_pow10(l), "l": _json_num(l, 3), "rv": fmt_rival(c["log10_rival_ratio"]),
             "cat": c["category"], "why": whys.setdefault(c["category_reason"], len(whys)),
             "post": fmt_posterior(c["posterior"]),
             "post2": f"{fmt_posterior(posterior(l, alt[0]))} at {alt[1]}" if alt else None,
             "lc": c["loci_compared"],
             "inc": c["inconsistent_loci"], "flo": c["floored_alleles"],
             "df": _json_num(c.get("log10_lr_duo_father"), 2),
             "dm": _json_num(c.get("log10_lr_duo_mother"), 2)}
        if c["rank"] <= settings.detail_ranks:
            d["h1"], d["h2"] = hypotheses(c, population)
            L = []
            for r in per_locus.get((c["missing_id"], c["family_id"]), []):
                if r["locus"] not in lidx:
                    lidx[r["locus"]] = len(loci)
                    loci.append(r["locus"])
                flags = (1 if r["compared"] else 0) | (2 if r["inconsistent"] else 0) | \
                        (4 if r["floored"] else 0)
                L.append([lidx[r["locus"]], r["missing_genotype"], r["father_genotype"],
                          r["mother_genotype"], r["other_genotype"],
                          _json_num(r["log10_lr"], 4), flags])
            d["L"] = L
        data.setdefault(c["missing_id"], []).append(d)
    return data, loci, list(whys)


def _used_frequencies(freq: dict | None, data: dict, loci: list[str]) -> dict | None:
    """Only the frequencies of alleles the missing persons in the detail views carry."""
    if freq is None:
        return None
    out: dict[str, dict[str, list]] = {}
    for cands in data.values():
        for d in cands:
            for row in d.get("L", []):
                loc = loci[row[0]]
                for a in (row[1] or "").split("/"):
                    if a and loc in freq and a in freq[loc]:
                        f, fl = freq[loc][a]
                        out.setdefault(loc, {})[a] = [round(f, 6), 1 if fl else 0]
    return out


def _kv_table(items: list[tuple[str, str]], cls: str = "kv") -> str:
    return (f'<table class="{cls}"><tbody>'
            + "".join(f"<tr><th>{_E(k)}</th><td>{_E(v)}</td></tr>" for k, v in items)
            + "</tbody></table>")


def _n(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.3f}".rstrip("0").rstrip(".")
    return str(x)


def _changes_html(changes: dict | None, previous_run_dir: Path | None, prev_note: str) -> str:
    if changes is None:
        return ('<p class="muted">No previous run was given to compare with.</p>' if not prev_note
                else f'<p class="warn">{_E(prev_note)}</p>')
    labels = {"new": "New candidates", "improved": "Improved (higher category or LR)",
              "worsened": "Worsened (lower category or LR)",
              "dropped": "Dropped from the lists", "best_changed": "Best family changed"}
    cards = "".join(f'<div class="card"><div class="num" id="changes-{k}">{len(v):,}</div>'
                    f'<div>{_E(labels[k])}</div></div>' for k, v in changes.items())
    out = [f'<p>Compared with the run in <code>{_E(str(previous_run_dir))}</code>, '
           'by (missing person, family) pair; both runs categorised with the settings below.</p>',
           f'<div class="cards">{cards}</div>']
    for k, entries in changes.items():
        if not entries:
            continue
        rows = []
        for e in entries[:_MAX_CHANGES_LISTED]:
            now, before = e["now"], e["before"]
            c = now or before
            mid = c["missing_id"]

            def desc(x: dict | None, fam: bool = False) -> str:
                if x is None:
                    return "—"
                f = f"{_E(x['family_id'])} " if fam else ""
                return (f'{f}rank {x["rank"]}, log10 LR {_E(fmt_log10(_log10_of(x)))}, '
                        f'<span class="cat cat-{x["category"]}">{x["category"]}</span>')
            fam = k == "best_changed"
            link = (f'<a href="#open={_E(quote(mid, safe=""))}" data-open="{_E(mid)}">{_E(mid)}</a>'
                    if now is not None else _E(mid))
            rows.append(f"<tr><td>{link}</td><td>{'' if fam else _E(c['family_id'])}</td>"
                        f"<td>{desc(before, fam)}</td><td>{desc(now, fam)}</td></tr>")
        more = (f'<p class="muted">… and {len(entries) - _MAX_CHANGES_LISTED:,} more '
                '(see review.parquet).</p>' if len(entries) > _MAX_CHANGES_LISTED else "")
        out.append(f'<details class="changes"><summary>{_E(labels[k])} ({len(entries):,})</summary>'
                   '<table class="grid"><thead><tr><th>Missing person</th><th>Family</th>'
                   '<th>Before</th><th>Now</th></tr></thead><tbody>' + "".join(rows)
                   + f"</tbody></table>{more}</details>")
    return "".join(out)


def _overview_rows(rows: list[dict]) -> tuple[str, int]:
    by: dict[str, list[dict]] = {}
    for c in rows:
        by.setdefault(c["missing_id"], []).append(c)
    out = []
    for mid, cs in by.items():
        b = cs[0]
        l = _log10_of(b)
        text = " ".join([mid] + [x["family_id"] for x in cs]
                        + [sid for x in cs for _, sid in _members(x["members"])]).lower()
        cat = b["category"]
        out.append(
            f'<tr data-id="{_E(mid)}" data-cat="{cat}" data-text="{_E(text)}">'
            f'<td><a href="#open={_E(quote(mid, safe=""))}" data-open="{_E(mid)}">{_E(mid)}</a></td>'
            f'<td>{_E(b["family_id"])}</td><td>{_E(b["hypothesis"])}</td>'
            f'<td class="r" data-v="{_num_attr(l)}">{_E(fmt_pow10(l))}</td>'
            f'<td class="r">{_E(fmt_log10(l))}</td>'
            f'<td class="r" data-v="{_num_attr(b["log10_rival_ratio"])}">'
            f'{_E(fmt_rival(b["log10_rival_ratio"]))}</td>'
            f'<td data-v="{_CAT_ORDER[cat]}"><span class="cat cat-{cat}" '
            f'title="{_E(b["category_reason"])}">{cat}</span></td>'
            f'<td class="r" data-v="{_num_attr(b["posterior"])}">{_E(fmt_posterior(b["posterior"]))}</td>'
            f'<td class="r" data-v="{b["loci_compared"]}">{b["loci_compared"]}</td>'
            f'<td class="r{" bad" if b["inconsistent_loci"] else ""}" data-v="{b["inconsistent_loci"]}">'
            f'{b["inconsistent_loci"]}</td>'
            f'<td class="r" data-v="{len(cs)}">{len(cs)}</td></tr>')
    return "".join(out), len(by)


def render_html(run: dict, rows: list[dict], per_locus: dict, settings: ReviewSettings,
                freq: dict | None, freq_note: str, changes: dict | None,
                previous_run_dir: Path | None = None, prev_note: str = "") -> str:
    """The report page (a string); see :func:`write_report`."""
    counts = run.get("counts") or {}
    n_families = counts.get("families")
    population = ((run.get("config") or {}).get("frequencies") or {}).get("population")
    rank1 = [c for i, c in enumerate(rows) if i == 0 or rows[i - 1]["missing_id"] != c["missing_id"]]
    by_cat_best = {k: sum(1 for c in rank1 if c["category"] == k) for k in CATEGORIES}
    by_cat_all = {k: sum(1 for c in rows if c["category"] == k) for k in CATEGORIES}
    data, loci, whys = _detail_data(rows, per_locus, settings, population, n_families)
    payload = {"loci": loci, "whys": whys, "freq": _used_frequencies(freq, data, loci),
               "freq_note": freq_note, "ranks": settings.detail_ranks, "m": data}
    overview, n_missing_listed = _overview_rows(rows)

    short = {"undisputed": f"strong, ≥ {_lr_text(settings.undisputed_factor)}× every rival",
             "strong": f"a rival within {_lr_text(settings.undisputed_factor)}×",
             "inconclusive": f"{_lr_text(settings.inconclusive_low)} < LR < {_lr_text(settings.strong_lr)}",
             "weak": f"LR ≤ {_lr_text(settings.inconclusive_low)} or > "
                     f"{settings.max_inconsistent_strong} inconsistent"}
    cards = "".join(
        f'<div class="card cat-card" style="border-color:{CATEGORY_COLORS[k]}">'
        f'<div class="num" id="count-{k}">{by_cat_best[k]:,}</div><div><b>{k}</b></div>'
        f'<div class="muted small">{_E(short[k])}</div>'
        f'<div class="muted small">{by_cat_all[k]:,} of all candidates</div></div>'
        for k in CATEGORIES)
    missing_total = counts.get("missing")
    with_c = counts.get("missing_with_candidates", n_missing_listed)
    no_cand = (missing_total - with_c) if isinstance(missing_total, int) and isinstance(with_c, int) \
        else None
    cards += (f'<div class="card"><div class="num" id="count-none">{_n(no_cand)}</div>'
              '<div>no candidate</div><div class="muted small">missing persons</div></div>')

    secs = run.get("seconds")
    pairs = counts.get("pairs_screened")
    run_items = [
        ("Missing persons", _n(counts.get("missing"))),
        ("Families searched", _n(n_families)),
        ("Pairs screened", _n(pairs)),
        ("Missing persons with candidates", _n(counts.get("missing_with_candidates"))),
        ("Not searched (too few loci typed)", _n(counts.get("missing_not_searched_too_few_loci"))),
        ("Candidates kept", _n(counts.get("candidates", len(rows)))),
        ("Candidates re-scored exactly", _n(counts.get("candidates_rescored"))),
        ("Input rows read", _n(counts.get("rows_read"))),
        ("Input rows rejected", _n(counts.get("rows_rejected"))),
        ("Rare-allele floor uses", _n(counts.get("floored_allele_uses"))),
        ("Run time", f"{secs:,.1f} s" if isinstance(secs, (int, float)) else "—"),
        ("Throughput", f"{pairs / secs:,.0f} pairs/s"
         if isinstance(secs, (int, float)) and secs > 0 and isinstance(pairs, int) else "—"),
    ]
    for k, v in (run.get("timings") or {}).items():
        run_items.append((f"Time: {k}", f"{v:,.2f} s" if isinstance(v, (int, float)) else str(v)))
    cfg = run.get("config") or {}
    sc = cfg.get("scoring") or {}
    ft = run.get("frequency_table") or {}
    mode = run.get("mode") or {}
    about = [
        ("Flow", str(run.get("flow", "—"))), ("Started", str(run.get("started", "—"))),
        ("Run by", str(run.get("who", "—"))), ("Code version", str(run.get("code_version", "—"))),
        ("Config sha256", str(run.get("config_sha256", "—"))[:16]),
        ("Frequency table", f"{ft.get('path', '—')} ({ft.get('population') or 'one population'}); "
                            f"sha256 {str(ft.get('sha256', ''))[:16]}"),
        ("Mutation model", str((cfg.get("mutation") or {}).get("model", "—"))),
        ("List", f"top {sc.get('top_k', '—')} families per missing person with log10 LR >= "
                 f"{sc.get('log10_lr_floor', '—')}"
                 + (f", and every family with log10 LR >= {sc['keep_all_log10_lr']}"
                    if sc.get("keep_all_log10_lr") is not None else "")),
    ]
    if mode:
        about.append(("Mode", ", ".join(f"{k}: {v}" for k, v in mode.items())))
    cluster = run.get("cluster") or {}
    if cluster:
        about.append(("Cluster", f"{cluster.get('kind', '—')}, {cluster.get('workers', '—')} workers"))
    rules = [
        ("undisputed", f"strong, rank 1, and LR at least {_lr_text(settings.undisputed_factor)}× "
                       "the rank-2 candidate's (or no rival)"),
        ("strong", f"LR ≥ {_lr_text(settings.strong_lr)} and at most "
                   f"{settings.max_inconsistent_strong} inconsistent loci"),
        ("inconclusive", f"{_lr_text(settings.inconclusive_low)} < LR < "
                         f"{_lr_text(settings.strong_lr)}: type more loci or test the other parent"),
        ("weak", f"LR ≤ {_lr_text(settings.inconclusive_low)}, or LR ≥ "
                 f"{_lr_text(settings.strong_lr)} with more than "
                 f"{settings.max_inconsistent_strong} inconsistent loci"),
    ]
    rules_html = "".join(f'<li><span class="cat cat-{k}">{k}</span> {_E(v)}</li>' for k, v in rules)
    plabel = prior_label(settings, n_families)
    options = "".join(f'<option value="{k}">{k}</option>' for k in CATEGORIES)
    title = f"reunion review — {run.get('started', '')}"
    return _PAGE.format(
        title=_E(title), css=_CSS, js=_JS,
        started=_E(str(run.get("started", "—"))),
        code=_E(str(run.get("code_version", "—"))),
        cards=cards, hist=histogram_svg(rank1, settings),
        run_table=_kv_table(run_items), about_table=_kv_table(about),
        rules=rules_html, prior=_E(plabel),
        prior_note=(" (the single-case paternity convention; it overstates the posterior of a "
                    "database search, so the evidence view also gives it at prior 1/number of "
                    "families)" if settings.prior == "half" else ""),
        changes=_changes_html(changes, previous_run_dir, prev_note),
        options=options, overview=overview, n_listed=f"{n_missing_listed:,}",
        n_listed_raw=n_missing_listed,
        freq_note=_E(freq_note), data=_json_script(payload),
    )


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
    rows = categorise(_read_candidates(run_dir), s, n_families)
    table = review_table(rows, s)
    atomic.write_table(table, run_dir / REVIEW_PARQUET)
    atomic.write_table(table, run_dir / REVIEW_CSV)

    per_locus: dict[tuple[str, str], list[dict]] = {}
    pl_path = run_dir / "per_locus.parquet"
    if pl_path.exists():
        wanted = {(c["missing_id"], c["family_id"]) for c in rows if c["rank"] <= s.detail_ranks}
        t = check_table(atomic.read_table(pl_path), PER_LOCUS, str(pl_path))
        sep = "\x1f"
        keys = pc.binary_join_element_wise(t.column("missing_id"), t.column("family_id"), sep)
        t = t.filter(pc.is_in(keys, value_set=pa.array([f"{m}{sep}{f}" for m, f in wanted],
                                                        pa.string())))
        for r in t.to_pylist():
            per_locus.setdefault((r["missing_id"], r["family_id"]), []).append(r)
    freq, freq_note = load_frequencies(run, run_dir)

    changes, prev_note = None, ""
    if previous_run_dir is not None:
        prev_dir = Path(previous_run_dir)
        if not (prev_dir / "candidates.parquet").exists():
            prev_note = f"Previous run {prev_dir} has no candidates.parquet; no comparison."
        else:
            prev_run = _read_run(prev_dir)
            prev_n = (prev_run.get("counts") or {}).get("families") or n_families
            prev_rows = categorise(_read_candidates(prev_dir), s, prev_n)
            changes = compare_runs(rows, prev_rows)
    html_text = render_html(run, rows, per_locus, s, freq, freq_note, changes,
                            Path(previous_run_dir) if previous_run_dir else None, prev_note)
    return atomic.write_text(run_dir / REPORT_HTML, html_text)


# --------------------------------------------------------------------------- page template
_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg2:#f6f8fa;--bad:#cf222e;--warn:#bf8700;
--undisputed:#1a7f37;--strong:#56a46a;--inconclusive:#d4901c;--weak:#9aa1a9;--accent:#0969da}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;
color:var(--fg);margin:0;background:#fff}
header{background:#24292f;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:baseline;
flex-wrap:wrap}
header h1{font-size:18px;margin:0}header .meta{color:#c9d1d9;font-size:13px}
main{padding:8px 24px 48px;max-width:1500px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.notice{background:#fff8c5;border:1px solid #d4a72c66;padding:8px 12px;border-radius:6px;margin:12px 0}
.muted{color:var(--muted)}.small{font-size:12px}.warn{color:var(--warn)}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
.card{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:8px 14px;min-width:130px}
.card .num{font-size:24px;font-weight:600}
.row{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse}
table.kv th{text-align:left;font-weight:500;color:var(--muted);padding:2px 14px 2px 0;vertical-align:top}
table.kv td{padding:2px 0;font-variant-numeric:tabular-nums}
table.grid{width:100%;font-variant-numeric:tabular-nums}
table.grid th,table.grid td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;
vertical-align:top}
table.grid thead th{background:var(--bg2);position:sticky;top:0;z-index:1;white-space:nowrap}
table.grid td.r,table.grid th.r{text-align:right}
table.grid tbody tr:nth-child(even){background:#fafbfc}
#overview thead th[data-key]{cursor:pointer;user-select:none}
#overview thead th[data-key]:hover{background:#eaeef2}
#overview thead th[aria-sort=ascending]::after{content:" ▲";font-size:10px}
#overview thead th[aria-sort=descending]::after{content:" ▼";font-size:10px}
#overview tbody tr{cursor:pointer}#overview tbody tr:hover{background:#ddf4ff}
#overview tbody tr.current{background:#ddf4ff;outline:2px solid var(--accent)}
.cat{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;
line-height:20px}
.cat-undisputed{background:var(--undisputed)}.cat-strong{background:var(--strong)}
.cat-inconclusive{background:var(--inconclusive)}.cat-weak{background:var(--weak)}
td.bad,span.bad{color:var(--bad);font-weight:600}
.controls{display:flex;gap:12px;align-items:center;margin:8px 0;flex-wrap:wrap}
.controls input,.controls select{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px}
.controls input{width:280px}
ul.rules{margin:4px 0;padding-left:18px}.rules-box{max-width:560px}
.scroll{max-height:62vh;overflow:auto;border:1px solid var(--line);border-radius:6px}ul.rules li{margin:3px 0}
.detail-nav{display:flex;gap:20px;align-items:baseline;margin:14px 0 4px;flex-wrap:wrap}
.detail-nav a{font-weight:600}
table.cands tr.current td{background:#ddf4ff}
[hidden]{display:none !important}
details.cand{border:1px solid var(--line);border-radius:6px;margin:10px 0;padding:0 12px}
details.cand>summary{cursor:pointer;padding:8px 0;font-weight:600}
details.cand[open]>summary{border-bottom:1px solid var(--line);margin-bottom:8px}
.hyp{margin:6px 0}.hyp b{display:inline-block;width:28px}
tr.inconsistent td{background:#ffebe9 !important}
tr.untyped td{color:var(--muted)}
.flag{display:inline-block;font-size:11px;border-radius:4px;padding:0 5px;margin-right:4px;border:1px solid}
.flag.inc{color:var(--bad);border-color:var(--bad)}.flag.floor{color:var(--warn);border-color:var(--warn)}
.flag.nc{color:var(--muted);border-color:var(--line)}
svg text{font:11px system-ui,sans-serif;fill:#444}
svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}svg .thr{stroke:#444;stroke-dasharray:4 3}
svg .thr-label{font-size:10px;fill:#444}svg .axis-label{font-size:12px;fill:#444}
.legend .key{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
details.changes{margin:6px 0}details.changes summary{cursor:pointer}
code{background:var(--bg2);padding:0 4px;border-radius:4px;font-size:12px}
footer{color:var(--muted);font-size:12px;margin-top:40px}
@media print{.detail-nav,#controls{display:none}header{background:none;color:#000}
details.cand{break-inside:avoid}}
"""

_JS = r"""
(function () {
"use strict";
var DATA = JSON.parse(document.getElementById("review-data").textContent);
var table = document.getElementById("overview");
var tbody = table.tBodies[0];
var rows = Array.prototype.slice.call(tbody.rows);
var heads = Array.prototype.slice.call(table.tHead.rows[0].cells).filter(function (h) { return h.dataset.key; });
var qBox = document.getElementById("q"), catSel = document.getElementById("cat");
var shown = document.getElementById("shown"), detail = document.getElementById("detail");
var listView = document.getElementById("list-view"), detailView = document.getElementById("detail-view");
var KEYS = ["sort", "q", "cat", "open", "family"];
var state = {sort: "lr-desc", q: "", cat: "", open: "", family: ""};
var SVGNS = "http://www.w3.org/2000/svg";

function h(tag, attrs) {
  var e = document.createElement(tag);
  setAttrs(e, attrs);
  for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
  return e;
}
function s(tag, attrs) {
  var e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
  return e;
}
function setAttrs(e, attrs) {
  if (!attrs) return;
  Object.keys(attrs).forEach(function (k) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) return;
    e.setAttribute(k, v === true ? "" : String(v));
  });
}
function add(e, k) {
  if (k === null || k === undefined || k === false) return;
  if (Array.isArray(k)) { k.forEach(function (x) { add(e, x); }); return; }
  e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
}
function num(x) { return x === "inf" ? Infinity : x === "-inf" ? -Infinity : x; }
function fmtLog(x) { x = num(x); return x === -Infinity ? "\u2212\u221e" : x === Infinity ? "\u221e" : x.toFixed(2); }
function fmtLR(x) {
  x = num(x);
  if (x === -Infinity) return "0";
  if (x === Infinity) return "\u221e";
  var v = Math.pow(10, x);
  if (x >= -2 && x < 6) return x >= 3 ? Math.round(v).toLocaleString("en-US") : String(Number(v.toPrecision(3)));
  var e = Math.floor(x), m = Math.pow(10, x - e);
  if (m >= 9.995) { m = 1; e += 1; }
  var sup = String(e).replace(/[-0-9]/g, function (c) { return "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079".charAt("-0123456789".indexOf(c)); });
  return m.toFixed(2) + " \u00d7 10" + sup;
}

function readParams() {
  var p = {};
  [location.search.replace(/^\?/, ""), location.hash.replace(/^#/, "")].forEach(function (src) {
    new URLSearchParams(src).forEach(function (v, k) { if (KEYS.indexOf(k) >= 0) p[k] = v; });
  });
  return p;
}
function writeHash() {
  var p = new URLSearchParams();
  KEYS.forEach(function (k) { if (state[k] && !(k === "sort" && state[k] === "lr-desc")) p.set(k, state[k]); });
  var str = p.toString();
  try { history.replaceState(null, "", str ? "#" + str : location.pathname + location.search); }
  catch (e) { /* some file:// contexts refuse; the view still works */ }
}

function applySort() {
  var parts = state.sort.split("-"), key = parts[0], dir = parts[1] === "asc" ? "asc" : "desc";
  var th = heads.filter(function (x) { return x.dataset.key === key; })[0];
  if (!th) { key = "lr"; dir = "desc"; th = heads.filter(function (x) { return x.dataset.key === "lr"; })[0]; }
  state.sort = key + "-" + dir;
  var col = th.cellIndex, isNum = th.dataset.type === "num", sign = dir === "asc" ? 1 : -1;
  var keyed = rows.map(function (r, i) {
    var c = r.cells[col], v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
    return [isNum ? parseFloat(v) : v.toLowerCase(), i, r];
  });
  keyed.sort(function (a, b) { return ((a[0] < b[0]) ? -1 : (a[0] > b[0]) ? 1 : 0) * sign || a[1] - b[1]; });
  keyed.forEach(function (k) { tbody.appendChild(k[2]); });
  heads.forEach(function (x) { x.setAttribute("aria-sort", x === th ? (dir === "asc" ? "ascending" : "descending") : "none"); });
}
function applyFilter() {
  var q = state.q.trim().toLowerCase(), n = 0;
  rows.forEach(function (r) {
    var ok = (!q || r.dataset.text.indexOf(q) >= 0) && (!state.cat || r.dataset.cat === state.cat);
    r.hidden = !ok;
    if (ok) n++;
  });
  shown.textContent = n.toLocaleString("en-US");
}

function barPlot(L) {
  var pts = L.filter(function (r) { return r[6] & 1; });
  if (!pts.length) return null;
  var vals = pts.map(function (r) { return num(r[5]); });
  var fin = vals.filter(isFinite);
  var hi = Math.max(1, Math.ceil(Math.max.apply(null, fin.concat([0]))));
  var lo = Math.min(0, Math.floor(Math.min.apply(null, fin.concat([0]))));
  if (vals.some(function (v) { return v === -Infinity; })) lo = Math.min(lo, -2);
  var bw = 22, ml = 40, mt = 10, ph = 150, mb = 70, W = ml + pts.length * bw + 10, H = mt + ph + mb;
  function y(v) { return mt + (hi - Math.max(lo, Math.min(hi, v))) / (hi - lo) * ph; }
  var svg = s("svg", {"class": "bars", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img",
                      "aria-label": "per-locus log10 LR"});
  for (var t = lo; t <= hi; t++) {
    add(svg, s("line", {x1: ml, x2: W - 10, y1: y(t), y2: y(t), "class": t === 0 ? "axis" : "grid"}));
    add(svg, s("text", {x: ml - 5, y: y(t) + 4, "text-anchor": "end"}, String(t)));
  }
  pts.forEach(function (r, i) {
    var v = vals[i], x = ml + i * bw + 3, y0 = y(0), y1 = y(v === -Infinity ? lo : v);
    var color = (r[6] & 2) ? "#cf222e" : v < 0 ? "#e5534b" : (r[6] & 4) ? "#d4901c" : "#0969da";
    add(svg, s("rect", {x: x, y: Math.min(y0, y1), width: bw - 6, height: Math.max(1, Math.abs(y1 - y0)), fill: color},
               s("title", null, DATA.loci[r[0]] + ": log10 LR " + fmtLog(v))));
    if (v === -Infinity) add(svg, s("text", {x: x + (bw - 6) / 2, y: y(lo) + 12, "text-anchor": "middle"}, "\u2212\u221e"));
    var lx = x + (bw - 6) / 2, ly = mt + ph + 8;
    add(svg, s("text", {x: lx, y: ly, "text-anchor": "end", transform: "rotate(-60 " + lx + " " + ly + ")"}, DATA.loci[r[0]]));
  });
  add(svg, s("text", {x: 12, y: mt + ph / 2, "text-anchor": "middle", "class": "axis-label",
                      transform: "rotate(-90 12 " + (mt + ph / 2) + ")"}, "log10 LR"));
  return svg;
}

function freqText(locus, gt) {
  if (!DATA.freq || !gt) return "";
  var f = DATA.freq[locus] || {};
  var seen = {};
  return gt.split("/").filter(function (a) { if (seen[a]) return false; seen[a] = 1; return true; }).map(function (a) {
    var x = f[a];
    return x ? a + ": " + x[0].toFixed(4) + (x[1] ? " (floor)" : "") : a + ": ?";
  }).join(", ");
}

function locusTable(mid, c) {
  var roles = {};
  c.mem.forEach(function (m) { roles[m[0]] = m[1]; });
  var cols = [["father", 2], ["mother", 3], ["other", 4]].filter(function (x) { return roles[x[0]] !== undefined; });
  var rel = c.hyp.indexOf("pair_") === 0 ? c.hyp.slice(5).replace("_", " ") : "";
  var head = h("tr", null, h("th", null, "Locus"), h("th", null, "Missing person", h("br"), h("span", {"class": "muted small"}, mid)),
    cols.map(function (x) { return h("th", null, x[0] === "other" ? "Relative (" + rel + ")" : x[0][0].toUpperCase() + x[0].slice(1), h("br"), h("span", {"class": "muted small"}, roles[x[0]])); }),
    DATA.freq ? h("th", null, "Allele frequencies", h("br"), h("span", {"class": "muted small"}, "missing person's alleles")) : null,
    h("th", {"class": "r"}, "LR"), h("th", {"class": "r"}, "log10 LR"), h("th", null, "Flags"));
  var body = c.L.map(function (r) {
    var locus = DATA.loci[r[0]], comp = r[6] & 1, inc = r[6] & 2, flo = r[6] & 4;
    return h("tr", {"class": inc ? "inconsistent" : comp ? null : "untyped", "data-locus": locus},
      h("td", null, locus), h("td", null, r[1] || "\u2014"),
      cols.map(function (x) { return h("td", null, r[x[1]] || "\u2014"); }),
      DATA.freq ? h("td", {"class": "small"}, freqText(locus, r[1])) : null,
      h("td", {"class": "r"}, comp ? fmtLR(r[5]) : ""), h("td", {"class": "r"}, comp ? fmtLog(r[5]) : ""),
      h("td", null, inc ? h("span", {"class": "flag inc"}, "inconsistent") : null,
        flo ? h("span", {"class": "flag floor"}, "rare-allele floor") : null,
        comp ? null : h("span", {"class": "flag nc"}, "not compared")));
  });
  var foot = h("tr", null, h("th", {colspan: 2 + cols.length + (DATA.freq ? 1 : 0)},
      "Combined over " + c.lc + " compared loci (" + c.inc + " inconsistent)"),
    h("th", {"class": "r"}, c.lr), h("th", {"class": "r"}, fmtLog(c.l)), h("th"));
  return h("table", {"class": "grid loci"}, h("thead", null, head), h("tbody", null, body), h("tfoot", null, foot));
}

function candBlock(mid, c, open) {
  var duo = [];
  if (c.df !== null && c.hyp === "trio") duo.push("father alone: log10 LR " + fmtLog(c.df));
  if (c.dm !== null && c.hyp === "trio") duo.push("mother alone: log10 LR " + fmtLog(c.dm));
  return h("details", {"class": "cand", id: "cand-" + c.r, "data-family": c.f, "data-rank": c.r, open: open},
    h("summary", null, "#" + c.r + " family " + c.f + " \u2014 LR " + c.lr + " \u2014 ", h("span", {"class": "cat cat-" + c.cat}, c.cat)),
    h("div", {"class": "hyp"}, h("b", null, "H1"), c.h1),
    h("div", {"class": "hyp"}, h("b", null, "H2"), c.h2),
    h("p", null, "LR = P(genotypes | H1) / P(genotypes | H2) = ", h("strong", null, c.lr),
      " (log10 " + fmtLog(c.l) + "); posterior " + c.post + " at " + DATA.prior + (c.post2 ? " (" + c.post2 + ")" : "") + "; rival ratio " + c.rv +
      (duo.length ? "; " + duo.join(", ") : "") + "."),
    h("p", {"class": "muted"}, DATA.whys[c.why] + "."),
    c.L && c.L.length ? [h("div", {"class": "plot"}, barPlot(c.L)),
           h("p", {"class": "legend small muted"}, "Bars: log10 LR per compared locus. ",
             [["#0969da", "supports H1"], ["#e5534b", "supports H2"], ["#cf222e", "inconsistent locus"],
              ["#d4901c", "rare-allele floor used"]].map(function (x) {
               return h("span", {"class": "key"}, h("i", {style: "background:" + x[0]}), x[1]); })),
           locusTable(mid, c),
           DATA.freq ? null : h("p", {"class": "muted small"}, "Allele frequencies not shown: " + DATA.freq_note + ".")]
        : h("p", {"class": "warn"}, "No per-locus rows for this candidate in per_locus.parquet."));
}

function hashFor(changes) {
  var p = new URLSearchParams();
  KEYS.forEach(function (k) {
    var v = changes.hasOwnProperty(k) ? changes[k] : state[k];
    if (v && !(k === "sort" && v === "lr-desc")) p.set(k, v);
  });
  return "#" + p.toString();
}
function visibleIds() {
  return Array.prototype.filter.call(tbody.rows, function (r) { return !r.hidden; }).map(function (r) { return r.dataset.id; });
}

function renderDetail() {
  rows.forEach(function (r) { r.classList.toggle("current", r.dataset.id === state.open); });
  detail.textContent = "";
  listView.hidden = !!state.open;
  detailView.hidden = !state.open;
  if (!state.open) return;
  var ids = visibleIds(), at = ids.indexOf(state.open);
  var nav = h("nav", {"class": "detail-nav"},
    h("a", {href: hashFor({open: "", family: ""}), id: "back"}, "\u2190 back to the list"),
    at > 0 ? h("a", {href: hashFor({open: ids[at - 1], family: ""}), id: "prev"}, "\u2191 previous: " + ids[at - 1]) : null,
    at >= 0 && at + 1 < ids.length ? h("a", {href: hashFor({open: ids[at + 1], family: ""}), id: "next"}, "\u2193 next: " + ids[at + 1]) : null,
    at >= 0 ? h("span", {"class": "muted"}, (at + 1) + " of " + ids.length + " in the list as sorted and filtered") : null);
  add(detail, nav);
  var cs = DATA.m[state.open];
  if (!cs) { add(detail, h("p", {"class": "warn"}, "No candidates for " + state.open + " in this run.")); return; }
  var want = state.family || cs[0].f;
  add(detail, h("h2", {id: "detail-title"}, "Missing person " + state.open + " \u2014 " + cs.length + " candidate" + (cs.length > 1 ? "s" : "")));
  add(detail, h("table", {"class": "grid cands"},
    h("thead", null, h("tr", null, ["Rank", "Family", "Hypothesis", "Members", "LR", "log10 LR", "Rival ratio", "Category", "Posterior", "Loci", "Inconsistent", "Floored alleles"].map(function (t) { return h("th", null, t); }))),
    h("tbody", null, cs.map(function (c) {
      return h("tr", {"data-family": c.f, "class": c.f === want ? "current" : null}, h("td", null, c.r),
        h("td", null, c.L ? h("a", {href: hashFor({family: c.f})}, c.f) : c.f), h("td", null, c.hyp),
        h("td", null, c.mem.map(function (m) { return m[0] + ": " + m[1]; }).join(", ")),
        h("td", {"class": "r"}, c.lr), h("td", {"class": "r"}, fmtLog(c.l)), h("td", {"class": "r"}, c.rv),
        h("td", null, h("span", {"class": "cat cat-" + c.cat, title: DATA.whys[c.why]}, c.cat)), h("td", {"class": "r"}, c.post),
        h("td", {"class": "r"}, c.lc), h("td", {"class": "r" + (c.inc ? " bad" : "")}, c.inc), h("td", {"class": "r"}, c.flo));
    }))));
  add(detail, h("p", {"class": "muted small"}, "Rival ratio: LR of this candidate / LR of the next-ranked one (\u201cno rival\u201d: no other family reached the list). Per-locus evidence below for ranks 1 to " + DATA.ranks + "."));
  cs.forEach(function (c) { if (c.L) add(detail, candBlock(state.open, c, c.f === want)); });
  var target = state.family && state.family !== cs[0].f ? detail.querySelector("details[open]") : null;
  if (target && target.scrollIntoView) target.scrollIntoView({block: "start"}); else window.scrollTo(0, 0);
}

function apply(p) {
  KEYS.forEach(function (k) { state[k] = p[k] || (k === "sort" ? "lr-desc" : ""); });
  qBox.value = state.q;
  catSel.value = state.cat;
  if (catSel.value !== state.cat) { state.cat = ""; catSel.value = ""; }
  applySort(); applyFilter(); renderDetail();
}

heads.forEach(function (th) {
  th.addEventListener("click", function () {
    var parts = state.sort.split("-");
    var dir = parts[0] === th.dataset.key ? (parts[1] === "asc" ? "desc" : "asc") : (th.dataset.type === "num" ? "desc" : "asc");
    state.sort = th.dataset.key + "-" + dir; applySort(); writeHash();
  });
});
qBox.addEventListener("input", function () { state.q = qBox.value; applyFilter(); writeHash(); });
catSel.addEventListener("change", function () { state.cat = catSel.value; applyFilter(); writeHash(); });
document.addEventListener("click", function (ev) {
  var el = ev.target.closest ? ev.target.closest("a[data-open], #overview tbody tr") : null;
  if (!el) return;
  var id = el.dataset.open || el.dataset.id;
  if (!id) return;
  ev.preventDefault();
  lastScroll = window.scrollY;
  location.hash = hashFor({open: id, family: ""});
});
var lastScroll = 0;
window.addEventListener("hashchange", function () {
  var wasOpen = !!state.open;
  apply(readParams());
  if (wasOpen && !state.open) window.scrollTo(0, lastScroll);
});
DATA.prior = document.body.dataset.prior;
apply(readParams());
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{css}</style>
</head>
<body data-prior="{prior}">
<header><h1>reunion — candidate review</h1>
<span class="meta">run started {started} · code {code}</span></header>
<main>
<div class="notice"><strong>Leads for review, not identifications.</strong> Each candidate is a
family whose registered relatives make the missing person's DNA more likely under kinship (H1) than
under no relation (H2). Confirm any candidate with a fresh reference sample and a full kinship test
before contacting a family. This page holds sample identifiers and genotypes: handle as sensitive.</div>

<div id="list-view">
<h2>Summary</h2>
<p>Missing persons by the category of their <em>best</em> candidate:</p>
<div class="cards">{cards}</div>
<div class="row">
<div><h3>Best candidate's LR</h3>{hist}</div>
<div class="rules-box"><h3>Categories</h3><ul class="rules">{rules}</ul>
<p class="muted small">Posteriors are given at {prior}{prior_note}. Rival ratio = LR of a candidate / LR of
the next-ranked candidate of the same missing person; "no rival" when no other family reached the
list.</p></div>
</div>
<div class="row">
<div><h3>This run</h3>{run_table}</div>
<div><h3>Provenance</h3>{about_table}</div>
</div>

<h2>What changed since the previous run</h2>
{changes}

<section id="overview-section">
<h2>Missing persons with candidates</h2>
<div class="controls" id="controls">
<input id="q" type="search" placeholder="Filter by missing person, family or sample id" aria-label="filter">
<select id="cat" aria-label="category"><option value="">all categories</option>{options}</select>
<span><span id="shown">{n_listed}</span> of <span id="total" data-n="{n_listed_raw}">{n_listed}</span> shown</span>
<span class="muted small">Click a header to sort, a row to open the evidence.</span>
</div>
<div class="scroll"><table class="grid" id="overview">
<thead><tr>
<th data-key="id" data-type="str">Missing person</th>
<th data-key="family" data-type="str">Best family</th>
<th data-key="hyp" data-type="str">Hypothesis</th>
<th data-key="lr" data-type="num" class="r">LR</th>
<th class="r">log10 LR</th>
<th data-key="rival" data-type="num" class="r">Rival ratio</th>
<th data-key="cat" data-type="num">Category</th>
<th data-key="post" data-type="num" class="r">Posterior</th>
<th data-key="loci" data-type="num" class="r">Loci</th>
<th data-key="inc" data-type="num" class="r">Inconsistent</th>
<th data-key="n" data-type="num" class="r">Candidates</th>
</tr></thead>
<tbody>{overview}</tbody>
</table></div>
</section>

</div>
<section id="detail-view" hidden><div id="detail"></div></section>
<noscript><p>Sorting, filtering and the per-locus evidence need JavaScript; review.csv beside this
file holds every candidate.</p></noscript>
<footer>Allele frequencies: {freq_note}. Written by reunion; review.parquet and review.csv beside
this file hold every candidate with its category.</footer>
</main>
<script type="application/json" id="review-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""
