"""Families registered as explicit pedigrees: checking the registrations, building the pedigree.

The samples contract (:data:`reunion.contracts.SAMPLES`) registers a family in one of two
forms (issue 16). By relation codes to the lost child (``paternal_grandmother``, ...), placed
by :func:`reunion.genetics.engine.relatives_pedigree`; or as an explicit pedigree: the
optional ``father_id`` / ``mother_id`` columns name other members of the same family, untyped
people are rows with no genotype rows, exactly one member has relation ``lost_child`` (the
person searched for; no genotype rows), founders have empty links, and every person who is
someone's parent has a sex (M or F). In that form the links define the pedigree and every
other relation (a code, or ``other``) is a label for reviewers.

A family is in the explicit form when any of its rows gives a ``father_id`` or ``mother_id``,
or has relation ``lost_child`` or ``other``. :func:`registration_problems` checks the rows
of such families (ingest rejects the rows it names, into rejects.csv);
:func:`explicit_pedigree` turns a checked family's members into an
:class:`reunion.genetics.engine.Pedigree` (person ids are the sample ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from reunion.genetics.engine import Pedigree, PedigreeError, Person
from reunion.genetics.roles import Relation

__all__ = ["EXPLICIT_RELATIONS", "explicit_pedigree", "is_explicit",
           "lost_child_ids", "registration_problems"]

#: relations only the explicit form uses (either makes a family explicit)
EXPLICIT_RELATIONS = frozenset((Relation.LOST_CHILD.value, Relation.OTHER.value))
_LINKS = ("father_id", "mother_id")


class _Registered(Protocol):
    """A registered member as :class:`reunion.genetics.family.Member` holds it."""

    sample_id: str
    relation: str
    sex: str | None
    father: str | None
    mother: str | None


def is_explicit(row: Mapping) -> bool:
    """Whether a samples row (a dict of the SAMPLES contract) puts its family in the explicit form."""
    return bool(row.get("father_id") or row.get("mother_id")) or row.get("relation") in EXPLICIT_RELATIONS


def lost_child_ids(rows: Iterable[Mapping]) -> set[str]:
    """Sample ids of the ``lost_child`` rows (the person searched for: no genotype rows)."""
    return {r["sample_id"] for r in rows if r.get("relation") == Relation.LOST_CHILD.value}


def registration_problems(rows: Sequence[Mapping], where: Sequence[str]) -> dict[int, tuple[str, str]]:
    """The relatives' rows that cannot be registered as given: {row index: (field, reason)}.

    ``rows``: the accepted relatives' rows (SAMPLES contract dicts: sample_id, family_id,
    relation, sex, father_id, mother_id, lost_sex), of every input file together; ``where``:
    each row's place for messages ('samples.csv line 7'). In a family given by relation codes
    alone, a row whose ``lost_sex`` (M / F) differs from the family's first one is rejected
    alone. An explicit-form family is checked whole: a link to an id of another family or
    to no registered sample; no ``lost_child`` or a second one; a parent without sex (M or F),
    a father registered F, a mother registered M, one person both a father and a mother; a
    cycle of parenthood; a ``lost_sex`` that differs from the lost_child row's sex. A family
    with any such row is not registered: those rows get their reason, every other row of the
    family a reason naming the first of them (so read = accepted + rejected still holds and
    no half pedigree is scored).
    """
    family_of = {r["sample_id"]: r["family_id"] for r in rows}
    explicit = {r["family_id"] for r in rows if is_explicit(r)}
    by_family: dict[str, list[int]] = {}
    out: dict[int, tuple[str, str]] = {}
    first_sex: dict[str, int] = {}                         # relation-code family -> its first lost_sex row
    for i, r in enumerate(rows):
        if r["family_id"] in explicit:
            by_family.setdefault(r["family_id"], []).append(i)
        elif _sex(r.get("lost_sex")):
            k = first_sex.setdefault(r["family_id"], i)
            if _sex(rows[k]["lost_sex"]) != _sex(r["lost_sex"]):
                out[i] = ("lost_sex", f"lost_sex {r['lost_sex']} differs from the lost_sex {rows[k]['lost_sex']} "
                                      f"family {r['family_id']} gives on {where[k]}: a family searches for one "
                                      "person; correct one of them")
    for fid, idx in by_family.items():
        bad = _family_problems(fid, [rows[i] for i in idx], [where[i] for i in idx], family_of)
        if not bad:
            continue
        first = min(bad)
        summary = f"{where[idx[first]]}, field {bad[first][0]}"
        for k, i in enumerate(idx):
            out[i] = bad.get(k) or ("*", f"family {fid} is registered as a pedigree (father_id / mother_id) "
                                         f"that is not consistent (see {summary}): none of its rows is "
                                         "registered; correct that row and ingest the family again")
    return out


def _family_problems(fid: str, rows: list[Mapping], where: list[str],
                     family_of: Mapping[str, str]) -> dict[int, tuple[str, str]]:
    """{index within the family: (field, reason)} of one explicit-form family's rows."""
    bad: dict[int, tuple[str, str]] = {}
    at = {r["sample_id"]: k for k, r in enumerate(rows)}
    for k, r in enumerate(rows):                           # links
        for col in _LINKS:
            pid = r.get(col)
            if not pid or pid in at:
                continue
            if pid in family_of:
                why = (f"{col} '{pid}' is a member of family {family_of[pid]}, not of {fid}: a pedigree's "
                       "links stay within its family; correct the id or the family_id")
            else:
                why = (f"{col} '{pid}' is no registered sample of family {fid}: register that person (a "
                       "row with no genotype rows for someone untyped) or correct the id")
            bad.setdefault(k, (col, why))
    lost = [k for k, r in enumerate(rows) if r["relation"] == Relation.LOST_CHILD.value]
    if not lost:
        for k in range(len(rows)):
            bad.setdefault(k, ("relation", f"family {fid} is registered as a pedigree (father_id / mother_id) "
                                           "but no member has relation lost_child: add the row of the "
                                           "person searched for (relation lost_child, no genotype rows)"))
        return bad
    for k in lost[1:]:
        bad.setdefault(k, ("relation", f"family {fid} already has its lost child {rows[lost[0]]['sample_id']} "
                                       f"({where[lost[0]]}): a family searches for one person; register "
                                       "another lost child as its own family"))
    lost_sex = _sex(rows[lost[0]].get("sex"))
    for k, r in enumerate(rows):
        given = _sex(r.get("lost_sex"))
        if given and lost_sex and given != lost_sex:
            bad.setdefault(k, ("lost_sex", f"lost_sex {given} differs from the sex {lost_sex} of the lost "
                                           f"child {rows[lost[0]]['sample_id']} ({where[lost[0]]}): "
                                           "correct one of them"))
    roles: dict[str, dict[str, str]] = {}                  # parent id -> {column: a child's id}
    for r in rows:
        for col in _LINKS:
            if r.get(col) in at:
                roles.setdefault(r[col], {}).setdefault(col, r["sample_id"])
    for pid, as_ in roles.items():                         # parents' sexes
        k, sex = at[pid], _sex(rows[at[pid]].get("sex"))
        if len(as_) == 2:
            why = (f"{pid} is the father of {as_['father_id']} and the mother of {as_['mother_id']}: "
                   "correct one of the links")
            bad.setdefault(k, ("sex", why))
            continue
        col, child = next(iter(as_.items()))
        need, what = ("M", "father") if col == "father_id" else ("F", "mother")
        if sex is None:
            bad.setdefault(k, ("sex", f"{pid} is the {what} of {child} ({col}): a parent's sex is required; "
                                      f"give sex {need}"))
        elif sex != need:
            bad.setdefault(k, ("sex", f"{pid} is the {what} of {child} ({col}) but registered {sex}: "
                                      "correct the sex or the link"))
    cycle = _cycle(rows, at)
    if cycle:
        path = " -> ".join(cycle)
        k = at[cycle[0]]
        col = "father_id" if rows[k].get("father_id") == cycle[1] else "mother_id"
        bad.setdefault(k, (col, f"a cycle of parenthood: {path} (each a child of the next): correct the "
                                "father_id / mother_id of one of them"))
    return bad


def _sex(v) -> str | None:
    return v if v in ("M", "F") else None


def _cycle(rows: list[Mapping], at: Mapping[str, int]) -> list[str] | None:
    """One cycle of parenthood among the family's links (ids, closed: first == last), or None."""
    state: dict[str, int] = {}                              # 1: on the path, 2: done
    for start in at:
        if start in state:
            continue
        path, stack = [start], [iter([rows[at[start]].get(c) for c in _LINKS])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], StopIteration)
            if nxt is StopIteration:
                state[path.pop()] = 2
                stack.pop()
            elif nxt in at:
                if state.get(nxt) == 1:
                    return path[path.index(nxt):] + [nxt]
                if nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter([rows[at[nxt]].get(c) for c in _LINKS]))
    return None


def explicit_pedigree(members: Sequence[_Registered]) -> Pedigree:
    """The :class:`Pedigree` of a family registered in the explicit form: one person per member
    in sample_id order, whatever order the members come in (the shards' or a samples file's:
    the same elimination, the same bits), with id = sample id, links as registered, sex 'M' /
    'F' or None, the relation as label; the
    member with relation ``lost_child`` is the lost child. Raises
    :class:`reunion.genetics.engine.PedigreeError` for a registration that
    :func:`registration_problems` would reject (no lost child or two, links outside the
    family, a cycle, a female father)."""
    lost = [m.sample_id for m in members if m.relation == Relation.LOST_CHILD.value]
    if len(lost) != 1:
        raise PedigreeError(f"an explicit pedigree needs exactly one member with relation lost_child, "
                            f"not {len(lost)}")
    persons = tuple(Person(m.sample_id, m.father or None, m.mother or None, _sex(m.sex), str(m.relation))
                    for m in sorted(members, key=lambda m: m.sample_id))   # one order: bit-identical LRs
    return Pedigree(persons, lost[0])
