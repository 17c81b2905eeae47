"""The pedsuite case folder reader (reunion/io/ped.py) on a folder written by hand, and its
one-line errors. (A run's export read back to the run's LR: tests/io/test_familias.py.)

Hand arithmetic, no mutation (rate 0): paternity, AF the father of CH, the mother an untyped
founder. L1 (10 .2, 11 .3, 12 .5): AF 10/11, CH 11/12: P(CH | H1) = 1/2 * .5 = .25,
P(CH | H2) = 2 * .3 * .5 = .3. L2 (7 .4, 8 .6): AF 7/7, CH 7/8: P(CH | H1) = 1 * .6 = .6,
P(CH | H2) = 2 * .4 * .6 = .48. LR = (.25 / .3) * (.6 / .48).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reunion.errors import InputError
from reunion.io.familias import score_case
from reunion.io.ped import read_case_folder, read_freq_database, read_ped

H1 = ("famid\tid\tfid\tmid\tsex\tL1\tPenta D\n"
      "F1\tAF\t0\t0\t1\t10/11\t7/7\n"
      "F1\tMO\t0\t0\t2\t-/-\t-/-\n"
      "F1\tCH\tAF\tMO\t1\t11/12\t7/8\n")
H2 = ("famid\tid\tfid\tmid\tsex\tL1\tPenta D\n"
      "F1\tAF\t0\t0\t1\t10/11\t7/7\n"
      "F2\tCH\t0\t0\t1\t11/12\t7/8\n")
FREQS = '"L1"\n"10" 0.2\n"11" 0.3\n"12" 0.5\n\n"Penta D"\n"7" 0.4\n"8" 0.6\n'
MUT = ("marker\tsex\tmodel\trate\trate2\trange\n"
       + "".join(f"{m}\t{s}\tequal\t0.0\t0.0\t0.1\n" for m in ("L1", "Penta D") for s in ("female", "male")))


def folder(tmp_path: Path, **files: str) -> Path:
    texts = {"H1.ped": H1, "H2.ped": H2, "frequencies.txt": FREQS, "mutation.tsv": MUT}
    texts.update({k.replace("_", "."): v for k, v in files.items()})
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_paternity_by_hand(tmp_path):
    case = read_case_folder(folder(tmp_path))
    assert [lc.name for lc in case.loci] == ["L1", "Penta D"]
    assert {p.name: p.genotypes for p in case.persons} == {
        "AF": {"L1": ("10", "11"), "Penta D": ("7", "7")}, "CH": {"L1": ("11", "12"), "Penta D": ("7", "8")}}
    got = {s.pedigree: s.lr for s in score_case(case, "H2")}
    assert got["H1"] == pytest.approx((.25 / .3) * (.6 / .48), rel=1e-12)
    assert got["H2"] == 1.0


def test_reads_the_freq_database_list_format(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text(FREQS)
    assert read_freq_database(p) == {"L1": {"10": .2, "11": .3, "12": .5}, "Penta D": {"7": .4, "8": .6}}


def test_cli_scores_the_folder(tmp_path):
    from reunion.cli import app

    out = tmp_path / "lr.csv"
    res = CliRunner().invoke(app, ["pedsuite", str(folder(tmp_path)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    row = next(r.split(",") for r in out.read_text().splitlines()[1:] if r.startswith('"H1"') or r.startswith("H1"))
    assert float(row[2]) == pytest.approx(math.log10((.25 / .3) * (.6 / .48)), abs=1e-12)


@pytest.mark.parametrize("edit, file, message", [
    (("H1.ped", "F1\tCH\tAF\tMO\t1\t11/12\t7/8", "F1\tCH\tAF\tMO\t3\t11/12\t7/8"), "H1.ped",
     "line 4, field sex: '3' is not 0, 1 or 2"),
    (("H1.ped", "F1\tCH\tAF\tMO\t1\t11/12\t7/8", "F1\tCH\tAF\t0\t1\t11/12\t7/8"), "H1.ped",
     "line 4, fields fid/mid: CH has one parent"),
    (("H1.ped", "F1\tCH\tAF\tMO\t1\t11/12\t7/8", "F1\tCH\tAF\tMO\t1\t11/12\t7-8"), "H1.ped",
     "line 4, field Penta D: '7-8' is not a genotype 'a/b'"),
    (("H1.ped", "F1\tCH\tAF\tMO\t1\t11/12\t7/8", "F1\tCH\tAF\tMO\t1\t11/13\t7/8"), "H1.ped",
     "line 4, field L1: allele of '11/13' not in frequencies.txt"),
    (("H1.ped", "F1\tMO\t0\t0\t2", "F1\tMO\t0\t0\t1"), "H1.ped",
     "line 4, field mid: 'MO' has sex 1; a father is 1, a mother 2"),
    (("frequencies.txt", '"12" 0.5', '"12" half'), "frequencies.txt",
     "line 4, marker L1, allele 12: frequency 'half' is not a number"),
    (("mutation.tsv", "L1\tmale\tequal", "L1\tmale\tonestep"), "mutation.tsv",
     "line 3, field model: 'onestep' is not one of equal, proportional, stepwise"),
    (("H2.ped", "F2\tCH\t0\t0\t1\t11/12\t7/8", "F2\tCH\t0\t0\t1\t11/12\t7/7"), "H2.ped",
     "line 3: CH's genotypes differ from"),
])
def test_errors_name_file_line_and_field(tmp_path, edit, file, message):
    from reunion.cli import app

    name, old, new = edit
    texts = {"H1.ped": H1, "H2.ped": H2, "frequencies.txt": FREQS, "mutation.tsv": MUT}
    assert old in texts[name]
    d = folder(tmp_path, **{name.replace(".", "_"): texts[name].replace(old, new)})
    with pytest.raises(InputError, match=None) as e:
        read_case_folder(d)
    assert str(d / file) in str(e.value) and message in str(e.value), str(e.value)
    res = CliRunner().invoke(app, ["pedsuite", str(d)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert message in " ".join(res.output.split())


def test_ped_without_famid_and_space_separated(tmp_path):
    p = tmp_path / "trio.ped"
    p.write_text("id fid mid sex M\n1 0 0 1 1/1\n2 0 0 2 2/2\n3 1 2 1 1/2\n")
    markers, rows = read_ped(p)
    assert markers == ["M"] and [(r.famid, r.id, r.father, r.mother, r.sex) for r in rows] == [
        ("1", "1", None, None, "M"), ("1", "2", None, None, "F"), ("1", "3", "1", "2", "M")]
    assert rows[2].genotypes == {"M": ("1", "2")}
