"""Tests of reunion.io.readers: validated samples and genotypes readers."""

from __future__ import annotations

import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from reunion.contracts import GENOTYPES, REJECTS, SAMPLES
from reunion.io.readers import (
    ReadResult, Reject, detect_format, read_genotypes, read_samples, rejects_table, write_rejects,
)
from reunion.loci import LocusNormaliser

NORM = LocusNormaliser(["vWA", "TH01", "Penta D", "D3S1358", "CSF1PO"])


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _rejects(result: ReadResult) -> list[tuple[int, str]]:
    return [(r.row, r.field) for r in result.rejects]


def _check_invariant(result: ReadResult) -> None:
    assert result.n_read == result.table.num_rows + len(result.rejects) + result.n_skipped
    assert result.n_accepted == result.table.num_rows == len(result.lines)


# --------------------------------------------------------------------------- samples

SAMPLES_CSV = """\
sample_id,role,family_id,relation,sex,kit,collected_on,region,population
M1,missing,,,m,GlobalFiler,2024-03-01,North,
R1,relative,F1,father,M,,,,
R2,Relative,F1,Mother,f,,2024-02-29,,Han
,missing,,,,,,,
R1,relative,F1,mother,F,,,,
X1,suspect,,,,,,,
R3,relative,,father,M,,,,
R4,relative,F2,uncle,M,,,,
R5,relative,F2,,M,,,,
M2,missing,,father,,,,,
M3,missing,,,Q,,,,
M4,missing,,,,,2024-13-01,,

M5,missing,F9,,U,,,,
"""


def test_read_samples_csv(tmp_path: Path) -> None:
    path = _write(tmp_path / "samples.csv", SAMPLES_CSV)
    res = read_samples(path)
    _check_invariant(res)
    assert res.n_read == 13  # the blank line is not a data row
    assert res.table.schema == SAMPLES
    none = dict(father_id=None, mother_id=None, lost_sex=None)     # the pedigree columns, absent here
    assert [{k: v for k, v in r.items() if k not in none} for r in res.table.to_pylist()] == [
        dict(sample_id="M1", role="missing", family_id=None, relation=None, sex="M",
             kit="GlobalFiler", collected_on="2024-03-01", region="North", population=None),
        dict(sample_id="R1", role="relative", family_id="F1", relation="father", sex="M",
             kit=None, collected_on=None, region=None, population=None),
        dict(sample_id="R2", role="relative", family_id="F1", relation="mother", sex="F",
             kit=None, collected_on="2024-02-29", region=None, population="Han"),
        dict(sample_id="M5", role="missing", family_id="F9", relation=None, sex="U",
             kit=None, collected_on=None, region=None, population=None),
    ]
    # rows are the editor's lines: header = line 1; the blank line 14 counts as a line
    assert _rejects(res) == [
        (5, "sample_id"), (6, "sample_id"), (7, "role"), (8, "family_id"), (9, "relation"),
        (10, "relation"), (11, "relation"), (12, "sex"), (13, "collected_on"),
    ]
    assert res.lines == [2, 3, 4, 15]
    assert all(r[k] is None for r in res.table.to_pylist() for k in none)
    assert all(r.file == str(path) for r in res.rejects)
    reasons = {r.row: r.reason for r in res.rejects}
    assert "line 3" in reasons[6]                     # duplicate names the first row's line
    assert "missing persons carry no relation" in reasons[11]
    assert "father" in reasons[9] and "full_sibling" in reasons[9]


def test_read_samples_optional_columns_missing(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", "Sample ID,ROLE,family_id,relation\nA,missing,,\nB,relative,F,father\n")
    res = read_samples(path)
    _check_invariant(res)
    assert res.rejects == []
    assert res.table.column("sex").to_pylist() == [None, None]
    assert res.table.column("population").to_pylist() == [None, None]
    assert res.table.column("family_id").to_pylist() == [None, "F"]


@pytest.mark.parametrize("column", ["sample_id", "role"])
def test_read_samples_missing_required_column(tmp_path: Path, column: str) -> None:
    cols = [c for c in ("sample_id", "role", "family_id") if c != column]
    path = _write(tmp_path / "s.csv", ",".join(cols) + "\n" + ",".join("x" for _ in cols) + "\n")
    with pytest.raises(ValueError, match=f"'{column}'") as err:
        read_samples(path)
    assert str(path) in str(err.value)


def test_read_samples_parquet(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"sample_id": ["A", "B", "C"], "role": ["missing", "relative", "relative"],
                             "family_id": [None, "F", None], "relation": [None, "full_sibling", "father"]}),
                   path)
    res = read_samples(path)
    _check_invariant(res)
    assert res.table.column("sample_id").to_pylist() == ["A", "B"]
    assert res.table.column("relation").to_pylist() == [None, "full_sibling"]
    assert res.rejects == [Reject(str(path), 4, "family_id", res.rejects[0].reason)]  # row index 2 + 2


def test_ragged_row_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", "sample_id,role\nA,missing\nB\nC,missing,extra\nD,missing,,\n")
    res = read_samples(path)
    _check_invariant(res)
    assert res.table.column("sample_id").to_pylist() == ["A", "D"]  # trailing empty cells are fine
    assert _rejects(res) == [(3, "*"), (4, "*")]


# --------------------------------------------------------------------------- genotypes (CSV, Parquet)

GENOTYPES_CSV = """\
sample_id,locus,allele1,allele2
S1,vWA,16,17
S1,TH-01,09,9.3
S1,PentaD,12,
S2,VWA,15,15
S2,THO1,OL,8
S2,PENTA_D,10,11
S2,D3S1358,15.x,16
S2,AMEL,X,Y
S2,CSF1PO,,
S1,vwa,16,18
,TH01,6,7
S3,CSF1PO,,11
S4,D3S1358,14,15
S2,CSF1PO,10,12,
"""


def test_read_genotypes_csv(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.csv", GENOTYPES_CSV)
    res = read_genotypes(path, NORM, samples={"S1": "missing", "S2": "relative", "S3": "relative"})
    _check_invariant(res)
    assert res.n_read == 14
    assert res.table.schema == GENOTYPES
    assert res.table.to_pylist() == [
        dict(sample_id="S1", locus="vWA", allele1="16", allele2="17"),
        dict(sample_id="S1", locus="TH01", allele1="9", allele2="9.3"),
        dict(sample_id="S1", locus="Penta D", allele1="12", allele2="12"),   # homozygote
        dict(sample_id="S2", locus="vWA", allele1="15", allele2="15"),
        dict(sample_id="S2", locus="Penta D", allele1="10", allele2="11"),
    ]
    assert _rejects(res) == [     # editor lines (header = line 1)
        (6, "allele1"),    # OL
        (8, "allele1"),    # malformed
        (10, "allele1"),   # untyped
        (11, "locus"),     # duplicate S1/vWA
        (12, "sample_id"),  # empty
        (13, "allele1"),   # allele2 without allele1
        (14, "sample_id"),  # S4 not in the samples file
        (15, "locus"),     # duplicate of the untyped line 10
    ]
    assert res.skipped == {"AMEL": 1}          # line 9: amelogenin is not scored ...
    assert res.observed_sex == {"S2": "M"}     # ... but kept as the observed sex (X,Y)
    reasons = {r.row: r.reason for r in res.rejects}
    assert reasons[6] == "off-ladder (OL) call: re-analyse or type the sample again"
    assert "line 2" in reasons[11]
    assert "not in the samples file" in reasons[14]
    assert "15.x" not in reasons[8]  # genotype values never echoed


def test_read_genotypes_without_samples_filter(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.csv", "sample_id,locus,allele1,allele2\nS9,csf1p0,10,12\n")
    res = read_genotypes(path, NORM)
    assert res.table.to_pylist() == [dict(sample_id="S9", locus="CSF1PO", allele1="10", allele2="12")]


def test_read_genotypes_csv_third_allele(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.csv", "sample_id,locus,allele1,allele2,allele3\nS1,vWA,14,15,\nS1,TH01,6,7,8\n")
    res = read_genotypes(path, NORM)
    _check_invariant(res)
    assert res.table.num_rows == 1
    assert _rejects(res) == [(3, "allele3")]
    assert "more than two alleles" in res.rejects[0].reason


def test_read_genotypes_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.csv", "sample_id,locus,allele1\nS1,vWA,14\n")
    with pytest.raises(ValueError, match="'allele2'"):
        read_genotypes(path, NORM)


def test_read_genotypes_parquet(tmp_path: Path) -> None:
    path = tmp_path / "g.parquet"
    pq.write_table(pa.table({"sample_id": ["S1", "S1", "S2"], "locus": ["vWA", "TH01", "D3S1358"],
                             "allele1": [14.0, 9.3, None], "allele2": [None, 10.0, 15.0]}), path)
    res = read_genotypes(path, NORM)
    _check_invariant(res)
    assert res.table.to_pylist() == [
        dict(sample_id="S1", locus="vWA", allele1="14", allele2="14"),
        dict(sample_id="S1", locus="TH01", allele1="9.3", allele2="10"),
    ]
    assert _rejects(res) == [(4, "allele1")]


# --------------------------------------------------------------------------- GeneMapper ID-X export

GM_HEADER = ["Sample File", "Sample Name", "Panel", "Marker", "Dye",
             "Allele 1", "Allele 2", "Allele 3", "Size 1", "Height 1"]
GM_ROWS = [
    ["a.fsa", "S1", "GF", "D3S1358", "B", "15", "16", "", "120.1", "1500"],
    ["a.fsa", "S1", "GF", "vWA", "B", "17", "", "", "160.2", "2100"],        # homozygote
    ["a.fsa", "S1", "GF", "TH01", "B", "6", "7", "9.3", "190.0", "900"],     # three alleles
    ["a.fsa", "S1", "GF", "AMEL", "G", "X", "Y", "", "100.0", "800"],        # amelogenin: male
    ["a.fsa", "S1", "GF", "DYS391", "G", "10", "", "", "", ""],              # Y-STR: set aside
    ["a.fsa", "S1", "GF", "Yindel", "G", "2", "", "", "", ""],               # Y: set aside
    ["a.fsa", "S1", "GF", "CSF1PO", "R", "", "", "", "", ""],                 # no allele
    ["a.fsa", "S1", "GF", "Penta D", "R", "OL", "12", "", "", ""],           # off-ladder
    ["b.fsa", "S2", "GF", "Amelogenin", "G", "X", "", "", "", ""],           # amelogenin: female
    ["b.fsa", "S2", "GF", "Penta D", "R", "9", "13", "", "", ""],
]


def _genemapper(path: Path, trailing_tab: bool = True) -> Path:
    end = "\t" if trailing_tab else ""
    lines = ["\t".join(GM_HEADER) + end] + ["\t".join(r) + end for r in GM_ROWS]
    return _write(path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("name", ["export.txt", "export.tsv", "export.csv"])
def test_read_genemapper(tmp_path: Path, name: str) -> None:
    path = _genemapper(tmp_path / name)
    assert detect_format(path) == "genemapper"
    res = read_genotypes(path, NORM, samples={"S1": "missing", "S2": "relative"})
    _check_invariant(res)
    assert res.n_read == 10
    assert res.table.to_pylist() == [
        dict(sample_id="S1", locus="D3S1358", allele1="15", allele2="16"),
        dict(sample_id="S1", locus="vWA", allele1="17", allele2="17"),
        dict(sample_id="S2", locus="Penta D", allele1="9", allele2="13"),
    ]
    assert _rejects(res) == [(4, "Allele 3"), (8, "Allele 1"), (9, "Allele 1")]
    assert res.skipped == {"AMEL": 1, "DYS391": 1, "Yindel": 1, "Amelogenin": 1}
    assert res.observed_sex == {"S1": "M", "S2": "F"}
    reasons = [r.reason for r in res.rejects]
    assert reasons[0] == "more than two alleles (mixture or artefact): resolve the profile before matching"
    assert reasons[1].startswith("no allele called (untyped locus)")
    assert reasons[2] == "off-ladder (OL) call: re-analyse or type the sample again"


def test_genemapper_missing_marker_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.txt", "Sample Name\tLocus Name\tAllele 1\tAllele 2\nS1\tvWA\t14\t15\n")
    with pytest.raises(ValueError, match="'locus'"):
        read_genotypes(path, NORM)


# --------------------------------------------------------------------------- format, rejects

def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(_write(tmp_path / "a.csv", "sample_id,role\n")) == "csv"
    assert detect_format(tmp_path / "a.parquet") == "parquet"
    assert detect_format(_write(tmp_path / "a.TXT", "x\n")) == "genemapper"
    assert detect_format(_genemapper(tmp_path / "export", trailing_tab=False)) == "genemapper"
    assert detect_format(tmp_path / "a.xlsx") == "xlsx"
    with pytest.raises(ValueError, match="unknown input format"):
        detect_format(_write(tmp_path / "a.doc", "x\n"))


def test_rejects_table_and_write(tmp_path: Path) -> None:
    rejects = [Reject("g.csv", 3, "allele1", "off-ladder"), Reject("s.csv", 1, "*", "ragged")]
    table = rejects_table(rejects)
    assert table.schema == REJECTS
    assert rejects_table([]).num_rows == 0
    out = write_rejects(rejects, tmp_path / "out" / "rejects.csv")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    back = pacsv.read_csv(out)
    assert back.to_pylist() == table.to_pylist()


def test_read_samples_pedigree_columns(tmp_path: Path) -> None:
    # the explicit pedigree form's columns: kept as given on relatives' rows; a missing person
    # with a link or a lost_sex, a link to the row itself and an unknown lost_sex are rejected
    path = _write(tmp_path / "samples.csv", (
        "sample_id,role,family_id,relation,sex,father_id,mother_id,lost_sex\n"
        "F,relative,F1,father,M,,,\n"
        "X,relative,F1,lost_child,f,F,,\n"
        "O,relative,F1,other,,,,\n"
        "K,relative,F2,child,F,,,m\n"
        "M1,missing,,,M,F,,\n"
        "M2,missing,,,M,,,F\n"
        "S,relative,F1,full_sibling,M,S,,\n"
        "T,relative,F2,child,F,,,boy\n"
        "Y,relative,F1,cousin,M,F,,\n"))
    res = read_samples(path)
    _check_invariant(res)
    got = {r["sample_id"]: (r["relation"], r["sex"], r["father_id"], r["mother_id"], r["lost_sex"])
           for r in res.table.to_pylist()}
    assert got == {"F": ("father", "M", None, None, None), "X": ("lost_child", "F", "F", None, None),
                   "O": ("other", None, None, None, None), "K": ("child", "F", None, None, "M")}
    rej = {r.row: (r.field, r.reason) for r in res.rejects}
    assert rej[6][0] == "father_id" and "missing persons carry no father_id" in rej[6][1]
    assert rej[7][0] == "lost_sex" and "missing persons carry no lost_sex" in rej[7][1]
    assert rej[8] == ("father_id", "father_id names the sample itself (S): give the id of its parent, "
                                   "another member of the family, or leave it empty for a founder")
    assert rej[9] == ("lost_sex", "lost_sex 'boy' is not one of M, F, U (or empty)")
    assert rej[10][0] == "relation" and "lost_child or other" in rej[10][1]
