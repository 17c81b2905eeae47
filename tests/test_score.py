"""``score_pairs`` end to end on tiny CSVs, against hand-computed LRs (KINSHIP.md).

Frequencies: D3S1358 alleles 10, 11, 12, 13 with 0.1, 0.2, 0.3, 0.4 (no N:
an absent allele gets the floor 0.001); TH01 alleles 7, 8, 9 with 0.5, 0.25,
0.25 (N = 100: an absent allele gets 5/(2*100) = 0.025).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from reunion.errors import SettingsError
from reunion.genetics import kinship
from reunion.genetics import theta as T
from reunion.score import ScoreInputError, score_pairs
from reunion.settings import (
    FrequencySettings,
    MutationSettings,
    ScoringSettings,
    Settings,
    load_settings,
)

REL = 1e-12

FREQ = """locus,allele,frequency,n_individuals
D3S1358,10,0.1,
D3S1358,11,0.2,
D3S1358,12,0.3,
D3S1358,13,0.4,
TH01,7,0.5,100
TH01,8,0.25,100
TH01,9,0.25,100
"""

PROFILES = """sample_id,locus,allele1,allele2
C1,D3S1358,10,11
C1,TH-01,7,8
F1,D3S1358,10,12
F1,TH01,8,8
M1,D3S1358,11,13
M1,TH01,7,9
S1,D3S1358,10,11
S1,TH01,7,9
X1,D3S1358,12,13
X1,TH01,9,9
U1,D3S1358,11,11
R1,D3S1358,10,14
R1,TH01,8,10
R2,D3S1358,14,14
R2,TH01,10,10
"""

PAIRS = """query_id,reference_id,relationship,reference2_id
C1,F1,parent-child,
C1,S1,full-sibling,
C1,F1,trio,M1
C1,X1,parent-child,
C1,U1,parent-child,
C1,F1,trio,U1
C1,R1,parent-child,
C1,S1,half-sibling,
R1,R2,parent-child,
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def files(tmp_path):
    return (write(tmp_path, "P.csv", PROFILES), write(tmp_path, "F.csv", FREQ),
            write(tmp_path, "PAIRS.csv", PAIRS))


def config(theta: float = 0.0, mutation: MutationSettings | None = None, floor: float = 0.001) -> Settings:
    """The settings of a test: no mutation model unless given (configs/demo.yaml's is stepwise)."""
    return Settings(mutation=mutation or MutationSettings(model="none"), scoring=ScoringSettings(theta=theta),
                    frequencies=FrequencySettings(floor=floor))


def run(tmp_path, profiles, freq, pairs, **kw):
    out, per = tmp_path / "SCORES.csv", tmp_path / "PER_LOCUS.csv"
    counts = score_pairs(profiles, freq, pairs, out, per, config(**kw))
    return counts, read(out), read(per)


# ============================================================== no theta, no mutation
def test_end_to_end_hand_values(tmp_path, files):
    counts, scores, per = run(tmp_path, *files)
    assert counts["pairs"] == 9 and counts["profiles"] == 8 and counts["excluded"] == 1
    assert list(scores[0]) == ["query_id", "reference_id", "reference2_id", "relationship", "lr",
                               "log10_lr", "loci_compared", "inconsistent_loci", "members"]
    expected = [
        # parent-child C1 10/11, 7/8 vs F1 10/12, 8/8:
        #   D3 ab/ac 1/(4 p_10) = 1/0.4 = 2.5;  TH01 ab/bb 1/(2 p_8) = 1/0.5 = 2;  LR 5
        ("C1", "F1", "", "parent-child", 5.0, 2, 0),
        # full siblings C1 vs S1 10/11, 7/9:
        #   D3 ab/ab: 1/4 + 1/2 (0.1+0.2)/(4*0.1*0.2) + 1/4 * 1/(2*0.1*0.2) = 0.25 + 1.875 + 6.25 = 8.375
        #   TH01 ab/ac: 1/4 + 1/2 * 1/(4*0.5) = 0.25 + 0.25 = 0.5;          LR 4.1875
        ("C1", "S1", "", "full-sibling", 4.1875, 2, 0),
        # trio C1 vs F1 10/12, 8/8 and M1 11/13, 7/9:
        #   D3: [t_F(10) t_M(11) + t_F(11) t_M(10)]/(2*0.1*0.2) = (0.5*0.5 + 0)/0.04 = 6.25
        #   TH01: [t_F(7) t_M(8) + t_F(8) t_M(7)]/(2*0.5*0.25) = (0 + 1*0.5)/0.25 = 2;  LR 12.5
        ("C1", "F1", "M1", "trio", 12.5, 2, 0),
        # parent-child C1 vs X1 12/13, 9/9: no shared allele at either locus -> 0, two inconsistent
        ("C1", "X1", "", "parent-child", 0.0, 2, 2),
        # parent-child C1 vs U1 11/11 (D3 only): ab/bb 1/(2 p_11) = 1/0.4 = 2.5; TH01 not compared
        ("C1", "U1", "", "parent-child", 2.5, 1, 0),
        # trio C1 vs F1 and U1 (mother untyped at TH01):
        #   D3: t_F(10) t_M(11) / 0.04 = 0.5*1/0.04 = 12.5;  TH01 scores as the duo with F1: 2;  LR 25
        ("C1", "F1", "U1", "trio", 25.0, 2, 0),
        # parent-child C1 vs R1 10/14, 8/10: D3 ab/ac 1/(4 p_10) = 2.5; TH01 ab/bc 1/(4 p_8) = 1
        ("C1", "R1", "", "parent-child", 2.5, 2, 0),
        # half siblings C1 vs S1: D3 1/2 + 1/2 * 3.75 = 2.375; TH01 1/2 + 1/2 * 0.5 = 0.75; LR 1.78125
        ("C1", "S1", "", "half-sibling", 1.78125, 2, 0),
        # parent-child R1 10/14, 8/10 vs R2 14/14, 10/10 (floored alleles):
        #   D3 ab/bb 1/(2 p_14) = 1/(2*0.001) = 500 (floor, no N);
        #   TH01 ab/bb 1/(2 p_10) = 1/(2*0.025) = 20 (5/2N, N = 100);   LR 10000
        ("R1", "R2", "", "parent-child", 10000.0, 2, 0),
    ]
    assert len(scores) == len(expected)
    for row, (q, r, r2, rel, lr, n, inc) in zip(scores, expected):
        ids = (row["query_id"], row["reference_id"], row["reference2_id"], row["relationship"])
        assert ids == (q, r, r2, rel)
        assert int(row["loci_compared"]) == n and int(row["inconsistent_loci"]) == inc
        if lr == 0.0:
            assert row["log10_lr"] == "-inf" and float(row["lr"]) == 0.0
        else:
            assert float(row["lr"]) == pytest.approx(lr, rel=REL)
            assert float(row["log10_lr"]) == pytest.approx(math.log10(lr), rel=REL, abs=1e-15)

    # per-locus rows: canonical locus names, LR 1 for an uncompared locus, floored counts
    by = {(r["query_id"], r["reference_id"], r["reference2_id"], r["locus"]): r for r in per}
    assert float(by[("C1", "F1", "", "D3S1358")]["lr"]) == pytest.approx(2.5, rel=REL)
    assert float(by[("C1", "F1", "", "TH01")]["lr"]) == pytest.approx(2.0, rel=REL)
    assert float(by[("C1", "F1", "M1", "D3S1358")]["lr"]) == pytest.approx(6.25, rel=REL)
    un = by[("C1", "U1", "", "TH01")]
    assert float(un["lr"]) == 1.0 and un["compared"].lower() == "false"
    ex = by[("C1", "X1", "", "D3S1358")]
    assert float(ex["lr"]) == 0.0 and ex["inconsistent"].lower() == "true"
    # R1 10/14 and R2 14/14 at D3: three copies of the floored 14; TH01: 10, 10, 10
    assert int(by[("R1", "R2", "", "D3S1358")]["floored_alleles"]) == 3
    assert int(by[("R1", "R2", "", "TH01")]["floored_alleles"]) == 3
    assert int(by[("C1", "R1", "", "D3S1358")]["floored_alleles"]) == 1
    assert int(by[("C1", "F1", "", "D3S1358")]["floored_alleles"]) == 0
    assert counts["floored_alleles"] == 1 + 1 + 3 + 3
    # the raw CSV spells the exclusion -inf
    assert "-inf" in (tmp_path / "SCORES.csv").read_text()


def test_outputs_are_private(tmp_path, files):
    run(tmp_path, *files)
    assert (tmp_path / "SCORES.csv").stat().st_mode & 0o777 == 0o640


# ============================================================== theta
def test_theta_hand_values(tmp_path, files):
    profiles, freq, _ = files
    pairs = write(tmp_path, "PT.csv", "query_id,reference_id,relationship,reference2_id\n"
                  "C1,F1,parent-child,\nC1,F1,trio,M1\nC1,S1,full-sibling,\nC1,X1,parent-child,\n")
    t = 0.01
    _, scores, _ = run(tmp_path, profiles, freq, pairs, theta=t)
    # parent-child: D3 ab/ac (1+2t)/(4(t+(1-t)p_10)) = 1.02/(4*0.109) = 1.02/0.436
    #               TH01 ab/bb (1+2t)/(2(2t+(1-t)p_8)) = 1.02/(2*(0.02+0.2475)) = 1.02/0.535
    assert float(scores[0]["lr"]) == pytest.approx((1.02 / 0.436) * (1.02 / 0.535), rel=REL)
    # trio: D3 child ab, F ac, M bd: (1+3t)(1+4t)/(8(t+(1-t)p_10)(t+(1-t)p_11))
    #         = 1.0712/(8*0.109*0.208) = 1.0712/0.181376
    #       TH01 child 7/8, F 8/8, M 7/9: T = 0.5;
    #         P(7/8 | 8,8,7,9) = 2 (t+(1-t)0.5)/(1+3t) * (2t+(1-t)0.25)/(1+4t)
    #         = 2*0.505*0.2675/1.0712 = 0.270175/1.0712;  LR = 0.5*1.0712/0.270175 = 0.5356/0.270175
    assert float(scores[1]["lr"]) == pytest.approx((1.0712 / 0.181376) * (0.5356 / 0.270175), rel=REL)
    # full siblings: the theta kappa formula per locus (checked by hand in test_theta.py)
    fs = (T.pairwise_lr_theta((0, 1), (0, 1), [0.1, 0.2, 0.3, 0.4], kinship.KAPPA["full-sibling"], t)
          * T.pairwise_lr_theta((0, 1), (0, 2), [0.5, 0.25, 0.25], kinship.KAPPA["full-sibling"], t))
    assert float(scores[2]["lr"]) == pytest.approx(fs, rel=REL)
    # exclusion stays -inf with theta
    assert scores[3]["log10_lr"] == "-inf" and int(scores[3]["inconsistent_loci"]) == 2


# ============================================================== mutation
MUT_PROFILES = "\n".join(PROFILES.strip().splitlines()[:11]) + "\n"  # C1, F1, M1, S1, X1 only


def test_mutation_equal_duo_hand(tmp_path):
    profiles = write(tmp_path, "P.csv", MUT_PROFILES)
    freq = write(tmp_path, "F.csv", FREQ)
    pairs = write(tmp_path, "PAIRS.csv", "query_id,reference_id,relationship\nC1,X1,parent-child\n"
                  "C1,F1,parent-child\nC1,S1,full-sibling\n")
    R = 0.002
    _, scores, _ = run(tmp_path, profiles, freq, pairs,
                         mutation=MutationSettings(model="equal", rate=R, rate2=0.0))
    # D3 (n = 4): M(i->j) = R/3. child 10/11, parent 12/13: t_X(10) = t_X(11) = R/3.
    #   p.M(x) = p_x (1-R) + (1-p_x) R/3: p.M(10) = 0.0998 + 0.0006 = 0.1004,
    #                                     p.M(11) = 0.1996 + 0.8*0.002/3 = 0.2001333...
    #   LR = (R/3)(0.2001333 + 0.1004)/(2*0.1*0.2) = 0.000666..*0.3005333../0.04 = 0.00500888...
    d3 = (R / 3) * ((0.1996 + 0.8 * R / 3) + 0.1004) / 0.04
    # TH01 (n = 3): M(i->j) = R/2. child 7/8, parent 9/9: t_X(7) = t_X(8) = R/2 = 0.001
    #   p.M(7) = 0.499 + 0.0005 = 0.4995, p.M(8) = 0.2495 + 0.00075 = 0.25025
    #   LR = 0.001*(0.25025 + 0.4995)/(2*0.5*0.25) = 0.00074975/0.25 = 0.002999
    th = 0.001 * (0.25025 + 0.4995) / 0.25
    assert float(scores[0]["lr"]) == pytest.approx(d3 * th, rel=REL)
    assert int(scores[0]["inconsistent_loci"]) == 2      # counted without mutation
    assert float(scores[1]["lr"]) == pytest.approx(5.0, rel=2e-2)   # close to the PI of 5
    assert float(scores[1]["lr"]) != pytest.approx(5.0, rel=1e-9)
    # full siblings: mutation does not apply -> the plain kappa LR
    assert float(scores[2]["lr"]) == pytest.approx(4.1875, rel=REL)


def test_mutation_trio_sex_specific_hand(tmp_path):
    profiles = write(tmp_path, "P.csv", MUT_PROFILES)
    freq = write(tmp_path, "F.csv", FREQ)
    pairs = write(tmp_path, "PAIRS.csv", "query_id,reference_id,relationship,reference2_id\n"
                  "C1,X1,trio,M1\n")
    Rm, Rf = 0.004, 0.001
    _, scores, _ = run(tmp_path, profiles, freq, pairs, mutation=MutationSettings(
        model="equal", rate=0.002, rate_male=Rm, rate_female=Rf, rate2=0.0))
    # alleged father X1 (12/13, 9/9), alleged mother M1 (11/13, 7/9), child 10/11, 7/8.
    # D3: t_F(10) = t_F(11) = Rm/3; t_M(11) = 0.5(1-Rf) + 0.5 Rf/3, t_M(10) = Rf/3,
    #     so t_M(11) + t_M(10) = 0.5 and LR = (Rm/3)(0.5)/(2*0.1*0.2) = 0.0013333*0.5/0.04 = 1/60
    # TH01: t_F(7) = t_F(8) = Rm/2 = 0.002; t_M(8) = Rf/2 = 0.0005, t_M(7) = 0.4995 + 0.00025 = 0.49975
    #     LR = 0.002 * (0.0005 + 0.49975)/(2*0.5*0.25) = 0.0010005/0.25 = 0.004002
    assert float(scores[0]["lr"]) == pytest.approx((1 / 60) * 0.004002, rel=REL)
    assert int(scores[0]["inconsistent_loci"]) == 2


def test_theta_with_mutation_refused_by_the_settings(tmp_path, files):
    # one rule, the settings tree's: theta needs mutation.model none (whatever the pairs are)
    with pytest.raises(SettingsError, match=r"scoring.theta = 0.01 with mutation.model = 'stepwise'.*not supported yet"):
        load_settings(None, ["scoring.theta=0.01"])
    with pytest.raises(ValueError, match="not supported yet"):
        config(theta=0.01, mutation=MutationSettings(model="stepwise"))
    # a theta bound is the settings' (THETA_CONFIGURABLE), not a second copy
    with pytest.raises(SettingsError, match="scoring.theta = -0.1"):
        load_settings(None, ["scoring.theta=-0.1", "mutation.model=none"])


def test_theta_refused_for_known_mother_and_nuclear(tmp_path, files):
    profiles, freq, _ = files
    for rel, people in (("trio-known-mother", "F1,M1,"), ("nuclear", ",,father:F1;sibling1:S1")):
        pairs = write(tmp_path, "PT.csv", "query_id,reference_id,reference2_id,members,relationship\n"
                      f"C1,F1,,,parent-child\nC1,{people},{rel}\n")
        with pytest.raises(ScoreInputError, match=rf"PT.csv: row 3, field 'relationship': {rel} with "
                           r"scoring.theta = 0.01.*scoring.theta=0"):
            score_pairs(profiles, freq, pairs, tmp_path / "S.csv", None, config(theta=0.01))


def test_empty_pairs_file(tmp_path, files):
    profiles, freq, _ = files
    pairs = write(tmp_path, "E.csv", "query_id,reference_id,relationship\n")
    counts, scores, per = run(tmp_path, profiles, freq, pairs)
    assert counts["pairs"] == 0 and scores == [] and per == []


# ============================================================== input errors
def expect_error(tmp_path, files, *, pairs=None, profiles=None, freq=None, match=(), **kw):
    p, f, pr = files
    if pairs is not None:
        pr = write(tmp_path, "BADPAIRS.csv", pairs)
    if profiles is not None:
        p = write(tmp_path, "BADP.csv", profiles)
    if freq is not None:
        f = write(tmp_path, "BADF.csv", freq)
    with pytest.raises(ScoreInputError) as e:
        score_pairs(p, f, pr, tmp_path / "S.csv", tmp_path / "PL.csv", config(**kw))
    msg = str(e.value)
    for m in match:
        assert m in msg, msg
    assert not (tmp_path / "S.csv").exists()
    return msg


HDR = "query_id,reference_id,relationship,reference2_id\n"


def test_error_unknown_sample(tmp_path, files):
    expect_error(tmp_path, files, pairs=HDR + "C1,F1,parent-child,\nC1,NOPE,parent-child,\n",
                 match=("BADPAIRS.csv", "row 3", "'reference_id'", "NOPE", "P.csv"))
    expect_error(tmp_path, files, pairs=HDR + "Q9,F1,parent-child,\n",
                 match=("BADPAIRS.csv", "row 2", "'query_id'"))
    expect_error(tmp_path, files, pairs=HDR + "C1,F1,trio,Z9\n",
                 match=("BADPAIRS.csv", "row 2", "'reference2_id'"))


def test_error_unknown_relationship(tmp_path, files):
    msg = expect_error(tmp_path, files, pairs=HDR + "C1,F1,parent-child,\nC1,S1,full-sibling,\n"
                       "C1,S1,second-cousin,\n",
                       match=("BADPAIRS.csv", "row 4", "'relationship'", "second-cousin"))
    assert "first-cousin" in msg  # lists the accepted values


def test_error_missing_reference2_for_trio(tmp_path, files):
    expect_error(tmp_path, files, pairs=HDR + "C1,F1,trio,\n",
                 match=("BADPAIRS.csv", "row 2", "'reference2_id'", "alleged mother"))
    # and a reference2 on a pairwise relationship is refused too
    expect_error(tmp_path, files, pairs=HDR + "C1,F1,full-sibling,M1\n",
                 match=("row 2", "'reference2_id'", "trio"))


def test_error_malformed_allele(tmp_path, files):
    bad = PROFILES.replace("F1,TH01,8,8", "F1,TH01,8,8x")
    expect_error(tmp_path, files, profiles=bad, match=("BADP.csv", "row 5", "'allele2'"))
    bad = PROFILES.replace("M1,D3S1358,11,13", "M1,D3S1358,OL,13")
    expect_error(tmp_path, files, profiles=bad, match=("BADP.csv", "row 6", "'allele1'", "off-ladder"))


def test_error_locus_absent_from_frequencies(tmp_path, files):
    bad = PROFILES + "C1,FGA,21,22\n"
    expect_error(tmp_path, files, profiles=bad, match=("BADP.csv", "row 17", "'locus'", "FGA",
                                                       "frequency table"))


def test_error_bad_frequency_row(tmp_path, files):
    bad = FREQ.replace("D3S1358,11,0.2,", "D3S1358,11,abc,")
    expect_error(tmp_path, files, freq=bad, match=("BADF.csv", "row 2", "'frequency'"))


def test_error_missing_pairs_column_and_files(tmp_path, files):
    expect_error(tmp_path, files, pairs="query_id,relationship\nC1,trio\n",
                 match=("BADPAIRS.csv", "'reference_id'"))
    p, f, pr = files
    with pytest.raises(ScoreInputError, match="none.csv: profiles file not found; check the --profiles"):
        score_pairs(tmp_path / "none.csv", f, pr, tmp_path / "S.csv", None, config())
    with pytest.raises(ScoreInputError, match="nofreq.csv: frequencies file not found"):
        score_pairs(p, tmp_path / "nofreq.csv", pr, tmp_path / "S.csv", None, config())


# ============================================================== the settings tree, the re-match's hypotheses
ONE_LOCUS = "sample_id,locus,allele1,allele2\nC,D3S1358,10,11\nA,D3S1358,10,12\nB,D3S1358,12,13\n"


def test_trio_one_locus_sex_specific_rates_hand(tmp_path):
    """Male and female rates go to the right parent (reunion score --set mutation.*)."""
    from typer.testing import CliRunner

    from reunion.cli import app

    profiles, freq = write(tmp_path, "P.csv", ONE_LOCUS), write(tmp_path, "F.csv", FREQ)
    pairs = write(tmp_path, "PAIRS.csv", "query_id,reference_id,relationship,reference2_id\n"
                  "C,A,trio,B\nC,B,trio,A\nC,B,duo_father,\nC,B,duo-mother,\nC,B,parent-child,\n")
    Rm, Rf, R = 0.004, 0.001, 0.002

    def score(*sets):
        out = tmp_path / "S.csv"
        res = CliRunner().invoke(app, ["score", "--profiles", str(profiles), "--frequencies", str(freq),
                                       "--pairs", str(pairs), "--out", str(out), "--set", "mutation.model=equal",
                                       "--set", f"mutation.rate={R}", *(x for s in sets for x in ("--set", s))])
        assert res.exit_code == 0, res.output
        return [float(r["lr"]) for r in read(out)]

    lr = score(f"mutation.rate_male={Rm}", f"mutation.rate_female={Rf}")
    # D3S1358 only (n = 4 alleles, p = 0.1, 0.2, 0.3, 0.4 for 10..13); equal model: M(i->j) = R/3,
    # M(i->i) = 1 - R; a parent X transmits a with t_X(a) = 1/2 sum over X's alleles y of M(y->a).
    # Child C 10/11, alleged father A 10/12 (rate Rm), alleged mother B 12/13 (rate Rf):
    #   t_A(10) = (1-Rm)/2 + Rm/6,  t_A(11) = Rm/3;   t_B(10) = t_B(11) = Rf/3
    #   LR = [t_A(10) t_B(11) + t_A(11) t_B(10)] / (2 p10 p11) = (Rf/3)(t_A(10) + t_A(11)) / 0.04
    #      = (Rf/3)(1/2) / 0.04 = Rf / 0.24 = 0.001/0.24 = 1/240:  only the mother's (female) rate
    assert lr[0] == pytest.approx(Rf / 0.24, rel=REL) == pytest.approx(1 / 240, rel=REL)
    # the same people with the roles swapped: B is the father (Rm) -> Rm / 0.24 = 1/60
    assert lr[1] == pytest.approx(Rm / 0.24, rel=REL) == pytest.approx(1 / 60, rel=REL)
    # duo_father B (written as the candidate list writes it): t_B = Rm/3 for 10 and 11; the untested
    # mother transmits from p.M at Rf: pM(x) = p_x (1-Rf) + (1-p_x) Rf/3, so
    #   pM(10) + pM(11) = 0.3 (1-Rf) + 1.7 Rf/3 = 0.3 + 0.8 Rf/3 = 0.300266667
    #   LR = (Rm/3)(0.300266667)/0.04 = 0.00133333 * 0.300266667 / 0.04 = 0.0100088889
    assert lr[2] == pytest.approx((Rm / 3) * (0.3 + 0.8 * Rf / 3) / 0.04, rel=REL)
    assert lr[2] == pytest.approx(0.0100088889, rel=1e-8)
    # duo-mother B: her rate Rf, the untested father's Rm: (Rf/3)(0.3 + 0.8 Rm/3)/0.04 = 0.0025088889
    assert lr[3] == pytest.approx((Rf / 3) * (0.3 + 0.8 * Rm / 3) / 0.04, rel=REL)
    assert lr[3] == pytest.approx(0.0025088889, rel=1e-8)
    # parent-child carries no sex: both transmissions at the sex-neutral rate R = 0.002
    assert lr[4] == pytest.approx((R / 3) * (0.3 + 0.8 * R / 3) / 0.04, rel=REL)
    # per-locus rates override both sexes: D3 at 0.002 -> 0.002/0.24 = 1/120 whoever is the father
    lr = score(f"mutation.rate_male={Rm}", f"mutation.rate_female={Rf}", "mutation.locus_rates={D3S1358: 0.002}")
    assert lr[0] == pytest.approx(1 / 120, rel=REL) and lr[1] == pytest.approx(1 / 120, rel=REL)


def test_the_runs_allele_list_spans_the_mutation_matrices(tmp_path):
    from reunion.frequencies import file_sha256
    from reunion.score import RunConfiguration

    profiles, freq = write(tmp_path, "P.csv", ONE_LOCUS), write(tmp_path, "F.csv", FREQ)
    pairs = write(tmp_path, "PAIRS.csv", "query_id,reference_id,relationship\nC,B,parent-child\n")
    R = 0.002
    s = Settings(mutation=MutationSettings(model="equal", rate=R), frequencies=FrequencySettings(table=freq))
    score_pairs(profiles, None, pairs, tmp_path / "S.csv", None, s)
    # n = 4: (R/3)(pM(10) + pM(11))/0.04 with pM(x) = p_x (1-R) + (sum of the other p) R/3
    #   = (R/3)(0.3 (1-R) + (0.9 + 0.8) R/3)/0.04
    assert float(read(tmp_path / "S.csv")[0]["lr"]) == pytest.approx((R / 3) * (0.3 * (1 - R) + 1.7 * R / 3) / 0.04,
                                                                      rel=REL)
    # a run whose database also held the rare D3 allele 14 (the floor 0.001: the p sum to 1.001):
    # its matrices are 5 x 5, M(i->j) = R/4, and pM(x) = p_x (1-R) + (1.001 - p_x) R/4:
    #   (R/4)(0.3 (1-R) + (0.901 + 0.801) R/4)/0.04 = 0.0005 * 0.300251 / 0.04 = 0.0037531375
    alleles = {"D3S1358": frozenset({"10", "11", "12", "13", "14"}), "TH01": frozenset({"7", "8", "9"})}
    run = RunConfiguration(tmp_path / "run.json", s, alleles, file_sha256(freq))
    score_pairs(profiles, None, pairs, tmp_path / "S.csv", None, run=run)
    assert float(read(tmp_path / "S.csv")[0]["lr"]) == pytest.approx((R / 4) * (0.3 * (1 - R) + 1.702 * R / 4) / 0.04,
                                                                      rel=REL)
    # the run's table is checked to be the one it used
    changed = RunConfiguration(tmp_path / "run.json", s, alleles, "0" * 64)
    with pytest.raises(ScoreInputError, match=r"F.csv: sha256 differs from the frequency table .*run.json"):
        score_pairs(profiles, None, pairs, tmp_path / "S.csv", None, run=changed)
    with pytest.raises(ValueError, match="not both"):
        score_pairs(profiles, None, pairs, tmp_path / "S.csv", None, s, run=run)


def test_members_and_a_candidate_list_as_pairs_file(tmp_path):
    # C1, F1, M1, S1, X1: no allele outside the table, so every locus' frequencies sum to 1 (the
    # nuclear peeling sums over the untyped parents' genotypes: floored alleles would add to it)
    profiles, freq = write(tmp_path, "P.csv", MUT_PROFILES), write(tmp_path, "F.csv", FREQ)
    # the candidate list's columns (missing_id, hypothesis, members; others ignored)
    pairs = write(tmp_path, "CANDS.csv", "missing_id,rank,family_id,hypothesis,members,log10_lr\n"
                  "C1,1,FA,nuclear,sibling1:S1,0\nC1,2,FB,trio,father:F1;mother:M1,0\n"
                  "C1,3,FC,duo_father,father:F1,0\nC1,4,FD,pair_half_sibling,other:S1,0\n"
                  "C1,5,FE,duo_mother,mother:F1,0\n")
    _, scores, per = run(tmp_path, profiles, freq, pairs)
    # nuclear, one typed full sibling and no parent, no mutation: the full-sibling kappa formula,
    # 8.375 * 0.5 = 4.1875 (test_end_to_end_hand_values)
    assert float(scores[0]["lr"]) == pytest.approx(4.1875, rel=REL) and scores[0]["members"] == "sibling1:S1"
    assert float(scores[1]["lr"]) == pytest.approx(12.5, rel=REL)          # the trio above
    assert scores[1]["members"] == "father:F1;mother:M1"
    assert float(scores[2]["lr"]) == pytest.approx(5.0, rel=REL)           # PI of C1 and F1
    assert float(scores[3]["lr"]) == pytest.approx(1.78125, rel=REL)       # half siblings
    assert float(scores[4]["lr"]) == pytest.approx(5.0, rel=REL)           # the same person as a mother
    assert [r["relationship"] for r in scores] == ["nuclear", "trio", "duo-father", "pair-half-sibling",
                                                   "duo-mother"]
    assert [(r["locus"], r["members"]) for r in per[:2]] == [("D3S1358", "sibling1:S1"), ("TH01", "sibling1:S1")]
    assert float(per[0]["lr"]) == pytest.approx(8.375, rel=REL) and float(per[1]["lr"]) == pytest.approx(0.5, rel=REL)
    # the run's hypotheses named by reference_id (trio: reference2_id the mother)
    pairs = write(tmp_path, "REF.csv", "query_id,reference_id,relationship,reference2_id\n"
                  "C1,F1,duo-father,\nC1,S1,pair-full-sibling,\n")
    _, scores, _ = run(tmp_path, profiles, freq, pairs)
    assert float(scores[0]["lr"]) == pytest.approx(5.0, rel=REL) and scores[0]["members"] == "father:F1"
    assert float(scores[1]["lr"]) == pytest.approx(4.1875, rel=REL) and scores[1]["members"] == "other:S1"


def test_members_errors(tmp_path, files):
    H = "query_id,reference_id,relationship,reference2_id,members\n"
    for body, match in (
            ("C1,,parent-child,,other:F1\n", ("row 2", "'members'", "reference_id")),
            ("C1,F1,trio,M1,father:F1;mother:M1\n", ("row 2", "'members'", "not both")),
            ("C1,,nuclear,,father:F1;mother:M1\n", ("row 2", "'members'", "sibling")),
            ("C1,,nuclear,,father:F1;uncle1:S1\n", ("row 2", "'members'", "uncle1")),
            ("C1,,trio,,father:F1\n", ("row 2", "'members'", "father:ID;mother:ID")),
            ("C1,,nuclear,,sibling1:S1;sibling1:M1\n", ("row 2", "'members'", "twice")),
            ("C1,,nuclear,,sibling1:S1;sibling2:C1\n", ("row 2", "'members'", "twice in this pair")),
            ("C1,,nuclear,,sibling1:NOPE\n", ("row 2", "'members'", "NOPE", "P.csv")),
            ("C1,F1,nuclear,,\n", ("row 2", "'members'", "members column"))):
        expect_error(tmp_path, files, pairs=H + body, match=("BADPAIRS.csv", *match))


def test_run_configuration_errors(tmp_path):
    import json

    from reunion.errors import InputError
    from reunion.score import run_configuration

    with pytest.raises(InputError, match=r"run.json: run's run.json file not found; check the --run path"):
        run_configuration(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(InputError, match="run.json: not valid JSON"):
        run_configuration(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"flow": "rematch"}))
    with pytest.raises(InputError, match="run.json: no 'config' section"):
        run_configuration(tmp_path)
    config = Settings().model_dump(mode="json")
    config["mutation"]["rate"] = 0.5
    (tmp_path / "run.json").write_text(json.dumps({"config": config}))
    with pytest.raises(SettingsError, match=r"run.json: config: mutation.rate = 0.5"):
        run_configuration(tmp_path)
    config["mutation"]["rate"] = 0.002
    (tmp_path / "run.json").write_text(json.dumps({"config": config, "frequency_table": {"sha256": "0"},
                                                   "manifest": {"path": str(tmp_path / "gone" / "manifest.json"),
                                                                "sha256": "0"}}))
    with pytest.raises(InputError, match="the run's shards .*gone.* are not found"):
        run_configuration(tmp_path)
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="manifest.json: sha256 differs from the one .*run.json records"):
        run_configuration(tmp_path)
