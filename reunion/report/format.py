"""Numbers and candidates in words, for the report page.

LRs come as log10 values (floats; -inf for LR 0, inf above the float range), so
nothing here overflows. Nothing here escapes HTML: the page does that.
"""

from __future__ import annotations

import math

from reunion.genetics.hypotheses import Hypothesis
from reunion.genetics.roles import Relation, Role, key_relation, parse_role

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


def chance_words(p_h2: float | None, expected: float | None, searched: int | None,
                 probability_error: float | None = None) -> str | None:
    """A calibrated candidate's chance matches in words: 'about 1 in N unrelated people reach
    this LR against this family; in this database of M, expect K such chance matches' (N =
    1 / p_h2, M = missing persons searched, K = expected_chance_matches); None when the
    candidate is not calibrated. A p_h2 within twice its ``probability_error`` (the laws'
    pruning, calibration.epsilon) is a bound, not a value: 'fewer than 1 in N ...', 'at most
    K'."""
    if p_h2 is None or expected is None:
        return None
    bound = bool(probability_error) and p_h2 <= 2.0 * probability_error
    if p_h2 <= 0:
        one_in = "no unrelated person can reach this LR against this family"
    else:
        n = 1.0 / p_h2
        one_in = (f"{'fewer than' if bound else 'about'} 1 in {fmt_count_of(n)} unrelated people reach "
                  "this LR against this family")
    k = "0" if expected <= 0 else ("at most " if bound else "") + fmt_pow10(math.log10(expected))
    m = "—" if searched is None else f"{searched:,}"
    return f"{one_in}; in this database of {m}, expect {k} such chance matches"


def fmt_count_of(n: float) -> str:
    """'1 in N': N >= 1 rounded to a whole number below a million, 1.23 × 10⁸ above."""
    return f"{max(n, 1.0):,.0f}" if n < 1e6 else fmt_pow10(math.log10(n))


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
    """A candidate's ``members`` ('father:F1;mother:M1') as [(role key, sample id), ...]."""
    out = []
    for part in (s or "").split(";"):
        if part:
            role, _, sid = part.partition(":")
            out.append((role, sid))
    return out


RELATION_WORDS = {Relation.FULL_SIBLING: "full sibling", Relation.HALF_SIBLING: "half sibling",
                  Relation.AVUNCULAR: "uncle or aunt",
                  Relation.HALF_SIBLING_PATERNAL: "paternal half sibling",
                  Relation.HALF_SIBLING_MATERNAL: "maternal half sibling",
                  Relation.PATERNAL_UNCLE_AUNT: "paternal uncle or aunt",
                  Relation.MATERNAL_UNCLE_AUNT: "maternal uncle or aunt",
                  Relation.CHILD: "child of the lost person",
                  Relation.CHILD_OTHER_PARENT: "other parent of the lost person's children",
                  Relation.GRANDCHILD: "grandchild of the lost person",
                  Relation.OTHER: "pedigree member"}      # an explicit pedigree's member: placed by its links
#: plurals that are not the singular + 's'
_PLURAL = {"paternal uncle or aunt": "paternal uncles or aunts", "maternal uncle or aunt": "maternal uncles or aunts",
           "uncle or aunt": "uncles or aunts", "child of the lost person": "children of the lost person",
           "other parent of the lost person's children": "other parents of the lost person's children",
           "grandchild of the lost person": "grandchildren of the lost person"}
#: side-less codes: the pedigree hypothesis is the mixture over their sides (engine.relatives_pedigree)
SIDELESS = frozenset((Relation.HALF_SIBLING, Relation.GRANDPARENT, Relation.AVUNCULAR))
SIDE_UNKNOWN = "side unknown: either side, prior 1/2 each"
ROLE_WORDS = {Role.FATHER: "father", Role.MOTHER: "mother", Role.SIBLING: "full sibling",
              Role.HALF_SIBLING: "half sibling", Role.MEMBER: "relative"}


def relation_words(relation: Relation | str) -> str:
    """A registered relation for people: 'uncle or aunt' for avuncular."""
    return RELATION_WORDS.get(relation, str(relation).replace("_", " "))


def key_words(key: str) -> str:
    """A role key's relation for people, for a column head: 'paternal grandmother' for
    ``paternal_grandmother1``, 'full sibling' for ``sibling2``, 'father'; the role otherwise."""
    rel = key_relation(key)
    return relation_words(rel) if rel is not None else ROLE_WORDS.get(parse_role(key)[0], key)


def _listed(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _who(role: Role, ids: list[str]) -> str:
    """'the father F1', 'the full siblings S1 and S2'."""
    word = ROLE_WORDS.get(role, role.value)
    return f"the {word}{'s' if len(ids) > 1 else ''} {_listed(ids)}"


def _pedigree_relatives(keyed: list[tuple[str, str]]) -> list[str]:
    """'the paternal grandmother G1', 'the paternal uncles or aunts U1 and U2', 'the grandparent
    G2 (side unknown: ...)': a pedigree's members by relation, in order of first appearance."""
    by_rel: dict[Relation, list[str]] = {}
    for key, sid in keyed:
        by_rel.setdefault(key_relation(key), []).append(sid)
    out = []
    for rel, ids in by_rel.items():
        word = relation_words(rel)
        word = _PLURAL.get(word, word + "s") if len(ids) > 1 else word
        out.append(f"the {word} {_listed(ids)}" + (f" ({SIDE_UNKNOWN})" if rel in SIDELESS else ""))
    return out


def hypotheses(c: dict, population: str | None = None) -> tuple[str, str]:
    """(H1, H2) in words for a candidate: its hypothesis and every member it used, by role
    (a ``pedigree``'s members by relation; a side-less one says its side is unknown)."""
    keyed = members(c.get("members", ""))
    used = [(parse_role(key)[0], sid) for key, sid in keyed]
    by_role: dict[Role, list[str]] = {}
    for role, sid in used:
        by_role.setdefault(role, []).append(sid)
    fam, hyp = c["family_id"], Hypothesis(c["hypothesis"])
    father, mother = (", ".join(by_role.get(r, ["?"])) for r in (Role.FATHER, Role.MOTHER))
    if hyp is Hypothesis.TRIO:
        h1 = (f"the couple {father} (father) and {mother} (mother) "
              f"of family {fam} are the missing person's parents")
    elif hyp is Hypothesis.DUO_FATHER:
        h1 = f"{father}, the father of family {fam}, is the missing person's father"
    elif hyp is Hypothesis.DUO_MOTHER:
        h1 = f"{mother}, the mother of family {fam}, is the missing person's mother"
    elif hyp is Hypothesis.PEDIGREE:
        h1 = (f"the missing person is family {fam}'s lost child, whose registered relatives are "
              f"{_listed(_pedigree_relatives(keyed))} (one pedigree: every typed relative jointly)")
    elif hyp.relation is not None:
        rel = relation_words(hyp.relation)
        who = next(iter(sid for _, sid in used), "?")
        h1 = (f"the missing person is family {fam}'s lost child, so {who} "
              f"(registered as the lost child's {rel}) is the missing person's {rel}")
    else:
        relatives = [_who(r, ids) for r, ids in by_role.items() if r is not Role.MISSING]
        h1 = f"the missing person is family {fam}'s lost child" + (
            f", whose registered relatives are {_listed(relatives)}" if relatives else "")
    who = _listed([sid for _, sid in used]) if used else "the family members tested"
    pop = f" of the {population} population" if population else ""
    h2 = f"the missing person is unrelated to {who}: a random person{pop}"
    return h1, h2
