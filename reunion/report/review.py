"""Review categories, rival ratios and posteriors of a run's candidates.

Categories (thresholds in :class:`ReviewSettings`; SF/Z JD0105001-2016 as
labs summarise it, and the "undisputed" rule of the R package dvir):

- ``strong``: LR >= ``strong_lr`` and at most ``max_inconsistent_strong``
  inconsistent loci, and, for a calibrated candidate (a run with the calibration
  columns), ``expected_chance_matches`` below ``max_chance_matches_strong``: fewer than
  that many unrelated missing persons of this database are expected to reach its LR
  against its family (else ``inconclusive``, its reason says why);
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

A candidate here is a dict with the columns of ``reunion.contracts.CANDIDATES``
(a row of candidates.parquet); :func:`categorise` adds the columns of
``reunion.report.schema.REVIEW_FIELDS``.
"""

from __future__ import annotations

import math

from reunion.report.format import chance_words, fmt_pow10, lr_text
from reunion.settings import STRONG_LR, ReviewSettings  # noqa: F401  (the settings tree is their home)

CATEGORIES = ("undisputed", "strong", "inconclusive", "weak")
"""Strongest first."""

CATEGORY_RANK = {c: len(CATEGORIES) - i for i, c in enumerate(CATEGORIES)}
"""Category -> int, higher = stronger (weak 1 ... undisputed 4)."""

CATEGORY_COLORS = {"undisputed": "#1a7f37", "strong": "#56a46a", "inconclusive": "#d4901c",
                   "weak": "#9aa1a9"}


# --------------------------------------------------------------------------- numbers
def pow10(x: float) -> float:
    """10**x without OverflowError (inf above the float range, 0 below)."""
    if x != x:
        return float("nan")
    if x > 308.2:
        return math.inf
    if x < -340:
        return 0.0
    return 10.0 ** x


def log10_of(c: dict) -> float:
    """A candidate's log10 LR: its ``log10_lr``, else log10 of its ``lr`` (-inf for LR 0).

    Raises ValueError when the candidate has neither, or its log10 LR is NaN.
    """
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


def prior_probability(settings: ReviewSettings, n_families: int | None) -> float:
    """Prior probability of H1: 1/n_families (which must then be >= 1), the configured
    ``prior_value`` ('fixed'), or 0.5 ('half')."""
    if settings.prior == "half":
        return 0.5
    if settings.prior == "fixed":
        return settings.prior_value
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
        return 1.0 / (1.0 + pow10(-t))
    o = pow10(t)
    return o / (1.0 + o)


# --------------------------------------------------------------------------- categories
def categorise(candidates: list[dict], settings: ReviewSettings | None = None,
               n_families: int | None = None, searched: int | None = None,
               sexes: tuple[dict[str, str], dict[str, str]] | None = None) -> list[dict]:
    """Candidates with review columns added, grouped by missing person, in rank order.

    Adds ``rival_ratio``, ``log10_rival_ratio``, ``category``, ``category_reason``,
    ``posterior``, ``prior``, ``prior_probability``, ``posterior_single_case`` (at prior
    0.5) and ``chance_words`` (see the module docstring and :func:`chance_words`).
    ``n_families`` (families searched) is needed for the 'one_over_families' prior,
    ``searched`` (missing persons searched, run.json's calibration) for the words. A candidate
    with ``expected_chance_matches`` (a calibrated run) is strong only below
    ``max_chance_matches_strong``. ``sexes`` (``scoring.sex_mismatch: flag``: missing id -> sex,
    family id -> its lost child's registered sex, :func:`reunion.ingest.registered_sexes_of_pairs`):
    a pair whose two known sexes differ is at most ``inconclusive``, its reason naming both.
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
        lst = sorted(groups[mid], key=lambda c: (c["rank"], -log10_of(c), c["family_id"]))
        logs = [log10_of(c) for c in lst]
        for i, c in enumerate(lst):
            l = logs[i]
            lrr = log10_ratio(l, logs[i + 1]) if i + 1 < len(lst) else None
            inc = int(c.get("inconsistent_loci") or 0)
            ecm = c.get("expected_chance_matches")
            if (l >= log_strong and inc <= s.max_inconsistent_strong and ecm is not None
                    and ecm >= s.max_chance_matches_strong):
                cat = "inconclusive"
                why = (f"LR >= {lr_text(s.strong_lr)} with {inc} inconsistent loci, but "
                       f"{fmt_pow10(math.log10(ecm)) if ecm > 0 else '0'} chance matches expected "
                       f"in this database (strong needs fewer than {s.max_chance_matches_strong:g}): "
                       "type more loci or another relative")
            elif l >= log_strong and inc <= s.max_inconsistent_strong:
                cat = "strong"
                why = (f"LR >= {lr_text(s.strong_lr)} with {inc} inconsistent loci "
                       f"(at most {s.max_inconsistent_strong})")
                if i == 0 and (lrr is None or lrr >= log_factor):
                    cat = "undisputed"
                    why += ("; no rival in the list" if lrr is None else
                            f"; beats every rival by a factor of {lr_text(s.undisputed_factor)} "
                            "or more")
                elif i == 0:
                    why += (f"; rival within a factor of {lr_text(s.undisputed_factor)}: "
                            "not undisputed")
                else:
                    why += f"; rank {c['rank']}, a rival of the best candidate"
            elif log_low < l < log_strong:
                cat = "inconclusive"
                why = (f"{lr_text(s.inconclusive_low)} < LR < {lr_text(s.strong_lr)}: "
                       "type more loci or test the other parent")
            elif l >= log_strong:
                cat = "weak"
                why = (f"LR >= {lr_text(s.strong_lr)} but {inc} inconsistent loci (more than "
                       f"{s.max_inconsistent_strong}): excluded unless mutations explain them")
            else:
                cat = "weak"
                why = f"LR <= {lr_text(s.inconclusive_low)}"
            if sexes is not None:
                ms, ls = sexes[0].get(mid), sexes[1].get(c["family_id"])
                if ms and ls and ms != ls:
                    if cat in ("undisputed", "strong"):
                        cat = "inconclusive"
                    why = (f"sex mismatch: the family registered its lost child as {ls}, this missing "
                           f"person is {ms}; check the registration before anything else. " + why)
            out.append({**c,
                        "rival_ratio": None if lrr is None else pow10(lrr),
                        "log10_rival_ratio": lrr,
                        "category": cat, "category_reason": why,
                        "posterior": posterior(l, pi),
                        "prior": s.prior, "prior_probability": pi,
                        "posterior_single_case": posterior(l, 0.5),
                        "chance_words": chance_words(c.get("p_h2"), ecm, searched,
                                                     c.get("probability_error"))})
    return out


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
        dc = CATEGORY_RANK[c["category"]] - CATEGORY_RANK[p["category"]]
        dl = log10_of(c) - log10_of(p) if log10_of(c) != log10_of(p) else 0.0
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
        return (-CATEGORY_RANK[c["category"]], -log10_of(c), c["missing_id"], c["family_id"])
    for v in out.values():
        v.sort(key=strength)
    return out


def prior_label(settings: ReviewSettings, n_families: int | None) -> str:
    """The prior in words for the page: 'prior 1/N (one over the families searched)', 'prior
    0.001 (configured)' or 'prior 0.5 (single case)'."""
    if settings.prior == "half":
        return "prior 0.5 (single case)"
    if settings.prior == "fixed":
        return f"prior {settings.prior_value:g} (configured)"
    return f"prior 1/{n_families:,} (one over the families searched)"
