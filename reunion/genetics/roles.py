"""Relations of registered relatives and the roles they play in a hypothesis.

Both are ``str`` enums: a member equals, hashes and formats as its value, so the
strings written to shards and outputs ("father", "sibling1", ...) stay the same
and plain strings read back from files look members up directly.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum

__all__ = ["Relation", "Role", "key_relation", "member_key", "parse_role", "role_key"]


class Relation(StrEnum):
    """A registered relative's relation to the lost child (the contracts' ``relation`` column)."""

    FATHER = "father"
    MOTHER = "mother"
    FULL_SIBLING = "full_sibling"
    HALF_SIBLING = "half_sibling"
    GRANDPARENT = "grandparent"
    AVUNCULAR = "avuncular"
    # sided codes and a missing adult's descendants (issue 16); the side-less HALF_SIBLING,
    # GRANDPARENT and AVUNCULAR above are the 1/2-1/2 mixture over sides
    # (:func:`reunion.genetics.engine.relatives_pedigree`)
    HALF_SIBLING_PATERNAL = "half_sibling_paternal"
    HALF_SIBLING_MATERNAL = "half_sibling_maternal"
    PATERNAL_GRANDFATHER = "paternal_grandfather"
    PATERNAL_GRANDMOTHER = "paternal_grandmother"
    MATERNAL_GRANDFATHER = "maternal_grandfather"
    MATERNAL_GRANDMOTHER = "maternal_grandmother"
    PATERNAL_UNCLE_AUNT = "paternal_uncle_aunt"
    MATERNAL_UNCLE_AUNT = "maternal_uncle_aunt"
    PATERNAL_FIRST_COUSIN = "paternal_first_cousin"
    MATERNAL_FIRST_COUSIN = "maternal_first_cousin"
    CHILD = "child"                      # a child of the lost person
    CHILD_OTHER_PARENT = "child_other_parent"   # the other parent of those children
    GRANDCHILD = "grandchild"            # a grandchild of the lost person
    # the explicit pedigree form (samples' father_id / mother_id; reunion.genetics.registration):
    # the person searched for, and a member whose relation is only a label for reviewers
    LOST_CHILD = "lost_child"
    OTHER = "other"


class Role(StrEnum):
    """The part a person plays in a scored hypothesis.

    Siblings are numbered within a family: their role keys are ``sibling1``,
    ``sibling2``, ... and ``halfsib1``, ... (:func:`role_key`); the members of a ``pedigree``
    hypothesis other than its father and mother are MEMBERs keyed by their relation, numbered
    within it (``paternal_grandmother1``, ``paternal_uncle_aunt2``, :func:`member_key`: the key
    says how the member was placed, so ``reunion score`` and the report need nothing else);
    ``missing`` is the candidate lost child, ``other`` the one relative of a pairwise hypothesis.
    """

    MISSING = "missing"
    FATHER = "father"
    MOTHER = "mother"
    SIBLING = "sibling"
    HALF_SIBLING = "halfsib"
    OTHER = "other"
    MEMBER = "member"    # a pedigree member other than the parents: keyed paternal_grandmother1, ... (member_key)


_NUMBERED = (Role.SIBLING, Role.HALF_SIBLING, Role.MEMBER)
_KEY = re.compile(r"([a-z]+?)(\d*)")
_MEMBER_KEY = re.compile(r"([a-z_]+?)(\d+)")
#: relations a pedigree member is keyed by (its father and mother are ``father`` / ``mother``)
_RELATIONS = {r.value: r for r in Relation if r not in (Relation.FATHER, Relation.MOTHER)}
_ROLE_RELATION = {Role.FATHER: Relation.FATHER, Role.MOTHER: Relation.MOTHER,
                  Role.SIBLING: Relation.FULL_SIBLING, Role.HALF_SIBLING: Relation.HALF_SIBLING}


def role_key(role: Role, number: int | None = None) -> str:
    """The key of ``role`` in a members / genotypes mapping: ``sibling2`` for (SIBLING, 2),
    ``father`` for (FATHER, None). Siblings need their 1-based number, other roles none."""
    if (role in _NUMBERED) != (number is not None):
        raise ValueError(f"role {role.value!r} {'needs' if role in _NUMBERED else 'takes no'} a number")
    return role.value if number is None else f"{role.value}{number}"


def member_key(relation: Relation | str, number: int) -> str:
    """The key of a ``pedigree`` hypothesis' member: its relation and its 1-based number among
    the members of that relation (``paternal_grandmother1``, ``full_sibling2``)."""
    relation = Relation(relation)
    if number < 1 or relation.value not in _RELATIONS:
        raise ValueError(f"no member key for {relation.value!r} {number}: numbers start at 1, and "
                         "a pedigree's father and mother are keyed 'father' and 'mother'")
    return f"{relation.value}{number}"


def _member(key: str) -> tuple[Relation, int] | None:
    m = _MEMBER_KEY.fullmatch(key)
    if m is None or m.group(1) not in _RELATIONS or m.group(2).startswith("0"):
        return None
    return _RELATIONS[m.group(1)], int(m.group(2))


def key_relation(key: str) -> Relation | None:
    """The relation a role key names: a ``pedigree`` member's (:func:`member_key`), FATHER,
    MOTHER, FULL_SIBLING (``sibling1``), HALF_SIBLING (``halfsib1``); None for ``other``,
    ``missing`` and the relation-less ``member1`` keys. ValueError for a key that is no role key."""
    mem = _member(key)
    if mem is not None:
        return mem[0]
    return _ROLE_RELATION.get(parse_role(key)[0])


@functools.lru_cache(maxsize=4096)
def parse_role(key: str) -> tuple[Role, int | None]:
    """(role, 1-based number or None) of a role key written by :func:`role_key` or
    :func:`member_key` (a relation and a number: ``(Role.MEMBER, number)``). Cached: a report
    parses the same few keys for every candidate."""
    mem = _member(key)
    if mem is not None:
        return Role.MEMBER, mem[1]
    m = _KEY.fullmatch(key)
    if m is None:
        raise ValueError(f"not a role key: {key!r}")
    role, number = Role(m.group(1)), int(m.group(2)) if m.group(2) else None
    if role_key(role, number) != key:
        raise ValueError(f"not a role key: {key!r}")
    return role, number
