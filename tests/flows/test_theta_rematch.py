"""Theta inside the re-match engine: the family scorer uses the Balding-Nichols forms."""

import math

import pytest
from pydantic import ValidationError

from reunion.encoding import Encoding
from reunion.frequencies import load_frequency_table
from reunion.genetics.family import Family, FamilyScorer, Member
from reunion.genetics.mutation import MutationModels
from reunion.settings import MutationSettings, Settings


@pytest.fixture()
def enc(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("population,locus,allele,frequency,n_individuals\n"
                    "X,TH01,6,0.1,100\nX,TH01,7,0.2,100\nX,TH01,8,0.3,100\nX,TH01,9,0.4,100\n")
    return Encoding.build(load_frequency_table(path, "X"), {}, 0.001)


def test_duo_pi_with_theta_matches_kinship_md(enc):
    theta = 0.03
    scorer = FamilyScorer(enc, MutationModels(MutationSettings(model="none"), enc), theta)
    father = Member("F", "father", "M", enc.encode_profile({"TH01": ("6", "8")}))   # a c
    sib = Member("S", "full_sibling", None, enc.encode_profile({"TH01": ("9", "9")}))
    fam = Family("fam", [father, sib])
    hyp, used = scorer.hypothesis(fam)
    assert hyp == "duo_father"                      # theta runs score sibling families through parents
    child = enc.encode_profile({"TH01": ("6", "7")})  # a b
    # KINSHIP.md: child ab, parent ac -> PI = (1 + 2 theta) / (4 (theta + (1 - theta) p_a))
    expected = (1 + 2 * theta) / (4 * (theta + (1 - theta) * 0.1))   # 1.06 / 0.48 = 2.2083...
    s = scorer.rescore(fam, child)
    assert s.log10_lr == pytest.approx(math.log10(expected), rel=1e-12)
    row = scorer.table_row(hyp, used)
    assert row[enc.offsets[0] + child[0]] == pytest.approx(math.log10(expected), rel=1e-12)


def test_theta_requires_no_mutation_model():
    with pytest.raises(ValidationError, match="theta and mutation together"):
        Settings.model_validate({"scoring": {"theta": 0.01}})
    s = Settings.model_validate({"scoring": {"theta": 0.01}, "mutation": {"model": "none"}})
    assert s.scoring.theta == 0.01
