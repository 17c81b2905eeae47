"""Hypotheses in words name every member used, by role (report/format.py)."""

from __future__ import annotations

import pytest

from reunion.report.format import hypotheses


@pytest.mark.parametrize("hyp, members, h1", [
    ("trio", "father:F1;mother:M1",
     "the couple F1 (father) and M1 (mother) of family K7 are the missing person's parents"),
    ("duo_mother", "mother:M1", "M1, the mother of family K7, is the missing person's mother"),
    ("nuclear", "father:F1;sibling1:S1;sibling2:S2",
     "the missing person is family K7's lost child, whose registered relatives are the father F1 "
     "and the full siblings S1 and S2"),
    ("nuclear", "mother:M1;halfsib1:H1",
     "the missing person is family K7's lost child, whose registered relatives are the mother M1 "
     "and the half sibling H1"),
    ("pair_avuncular", "other:U1",
     "the missing person is family K7's lost child, so U1 (registered as the lost child's uncle "
     "or aunt) is the missing person's uncle or aunt"),
])
def test_h1_names_every_member_by_role(hyp, members, h1):
    got1, got2 = hypotheses({"family_id": "K7", "hypothesis": hyp, "members": members}, "EastAsia")
    assert got1 == h1
    ids = [m.split(":")[1] for m in members.split(";")]
    who = ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]
    assert got2 == f"the missing person is unrelated to {who}: a random person of the EastAsia population"


def test_an_unknown_hypothesis_or_role_is_refused():
    with pytest.raises(ValueError):
        hypotheses({"family_id": "K7", "hypothesis": "quartet", "members": "father:F1"})
    with pytest.raises(ValueError):
        hypotheses({"family_id": "K7", "hypothesis": "trio", "members": "uncle:U1"})


@pytest.mark.parametrize("members, h1", [
    ("paternal_uncle_aunt1:A;paternal_grandmother1:GM;paternal_uncle_aunt2:U",
     "the missing person is family K7's lost child, whose registered relatives are the paternal "
     "uncles or aunts A and U and the paternal grandmother GM (one pedigree: every typed relative jointly)"),
    ("father:F1;maternal_grandmother1:G;half_sibling_maternal1:H",
     "the missing person is family K7's lost child, whose registered relatives are the father F1, "
     "the maternal grandmother G and the maternal half sibling H (one pedigree: every typed relative "
     "jointly)"),
    ("grandparent1:G1;avuncular1:U1",
     "the missing person is family K7's lost child, whose registered relatives are the grandparent G1 "
     "(side unknown: either side, prior 1/2 each) and the uncle or aunt U1 (side unknown: either "
     "side, prior 1/2 each) (one pedigree: every typed relative jointly)"),
    ("child1:C1;child2:C2;child_other_parent1:O",
     "the missing person is family K7's lost child, whose registered relatives are the children of "
     "the lost person C1 and C2 and the other parent of the lost person's children O (one pedigree: "
     "every typed relative jointly)"),
])
def test_h1_names_a_pedigrees_members_by_relation(members, h1):
    got1, got2 = hypotheses({"family_id": "K7", "hypothesis": "pedigree", "members": members})
    assert got1 == h1
    assert got2.startswith("the missing person is unrelated to ") and got2.endswith(": a random person")


def test_key_words_name_relations_for_column_heads():
    from reunion.report.format import key_words
    assert [key_words(k) for k in ("father", "sibling2", "halfsib1", "paternal_grandmother1",
                                   "maternal_uncle_aunt2", "other")] == [
        "father", "full sibling", "half sibling", "paternal grandmother", "maternal uncle or aunt", "other"]
