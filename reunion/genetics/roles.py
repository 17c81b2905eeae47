"""Relations of registered relatives and the roles they play in a hypothesis.

Both are ``str`` enums: a member equals, hashes and formats as its value, so the
strings written to shards and outputs ("father", "sibling1", ...) stay the same
and plain strings read back from files look members up directly.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["Relation", "Role", "role_key", "parse_role"]


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


class Role(StrEnum):
    """The part a person plays in a scored hypothesis.

    Siblings are numbered within a family: their role keys are ``sibling1``,
    ``sibling2``, ... and ``halfsib1``, ... (:func:`role_key`), as are the members of a
    ``pedigree`` hypothesis other than its father and mother (``member1``, ...); ``missing`` is the
    candidate lost child, ``other`` the one relative of a pairwise hypothesis.
    """

    MISSING = "missing"
    FATHER = "father"
    MOTHER = "mother"
    SIBLING = "sibling"
    HALF_SIBLING = "halfsib"
    OTHER = "other"
    MEMBER = "member"    # a member of a pedigree hypothesis other than the parents: member1, ...


_NUMBERED = (Role.SIBLING, Role.HALF_SIBLING, Role.MEMBER)
_KEY = re.compile(r"([a-z]+?)(\d*)")


def role_key(role: Role, number: int | None = None) -> str:
    """The key of ``role`` in a members / genotypes mapping: ``sibling2`` for (SIBLING, 2),
    ``father`` for (FATHER, None). Siblings need their 1-based number, other roles none."""
    if (role in _NUMBERED) != (number is not None):
        raise ValueError(f"role {role.value!r} {'needs' if role in _NUMBERED else 'takes no'} a number")
    return role.value if number is None else f"{role.value}{number}"


def parse_role(key: str) -> tuple[Role, int | None]:
    """(role, 1-based number or None) of a role key written by :func:`role_key`."""
    m = _KEY.fullmatch(key)
    if m is None:
        raise ValueError(f"not a role key: {key!r}")
    role, number = Role(m.group(1)), int(m.group(2)) if m.group(2) else None
    if role_key(role, number) != key:
        raise ValueError(f"not a role key: {key!r}")
    return role, number
