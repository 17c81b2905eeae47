"""Numbers and candidates in words, for the report page.

LRs come as log10 values (floats; -inf for LR 0, inf above the float range), so
nothing here overflows. Nothing here escapes HTML: the page does that.
"""

from __future__ import annotations

import math

_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def lr_text(x: float) -> str:
    """A threshold LR (a plain float, not a log10): 2,000, or 1e+20 as 1e+20."""
    return f"{x:,.0f}" if x < 1e15 else f"{x:.3g}"


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
    """A log10 with two decimals; — for none, −∞ and ∞."""
    if l is None:
        return "—"
    if l == -math.inf:
        return "−∞"
    if l == math.inf:
        return "∞"
    return f"{l:.2f}"


def fmt_rival(lrr: float | None) -> str:
    """A rival ratio given by its log10: 'no rival', '1 (tie)', '∞ (rival LR 0)' or a number."""
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


def fmt_count(x) -> str:
    """A run.json value for a table cell: ints with thousands separators, floats to 3 places."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.3f}".rstrip("0").rstrip(".")
    return str(x)


def num_attr(x: float | None) -> str:
    """A number for a data-v sort attribute (JS parseFloat); None sorts as the largest."""
    if x is None:
        return "Infinity"        # no rival sorts as the largest margin
    if x == math.inf:
        return "Infinity"
    if x == -math.inf:
        return "-Infinity"
    return repr(round(float(x), 6))


def json_num(x: float | None, nd: int = 4):
    """A float for the page's JSON: rounded to nd places, 'inf'/'-inf' as strings, None kept."""
    if x is None:
        return None
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return round(float(x), nd)


def members(s: str) -> list[tuple[str, str]]:
    """A candidate's ``members`` ('father:F1;mother:M1') as [(role, sample id), ...]."""
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
    m = dict(members(c.get("members", "")))
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
