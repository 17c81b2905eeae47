"""Excel-style text inputs: semicolon or tab delimiters, byte-order marks, CRLF, decimal commas,
UTF-16; spreadsheets (.xlsx). Each file is read as its comma/UTF-8 twin would be."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from reunion.errors import InputError
from reunion.frequencies import load_frequency_table
from reunion.io.readers import TextDialect, detect_format, read_genotypes, read_samples, sniff
from reunion.loci import LocusNormaliser
from xlsx_writer import write_xlsx

NORM = LocusNormaliser(["vWA", "TH01", "D3S1358"])

SAMPLES = [["sample_id", "role", "family_id", "relation", "sex"],
           ["M1", "missing", "", "", "F"],
           ["R1", "relative", "F1", "father", "M"],
           ["R2", "relative", "F1", "mother", "F"]]
EXPECTED_SAMPLES = [("M1", "missing", None, None, "F"), ("R1", "relative", "F1", "father", "M"),
                    ("R2", "relative", "F1", "mother", "F")]


def _text(rows: list[list[str]], sep: str, eol: str = "\n", quote: bool = False) -> str:
    cell = (lambda c: f'"{c}"') if quote else (lambda c: c)
    return "".join(sep.join(cell(c) for c in r) + eol for r in rows)


def _samples_of(res) -> list[tuple]:
    return [(r["sample_id"], r["role"], r["family_id"], r["relation"], r["sex"]) for r in res.table.to_pylist()]


@pytest.mark.parametrize("sep,eol,bom,quote", [
    (";", "\r\n", True, False),     # Excel 'CSV (semicolon)' in a comma-decimal locale
    (";", "\n", False, True),       # LibreOffice, quoted
    ("\t", "\r\n", True, False),    # tab-separated with a .csv suffix
    (",", "\r\n", True, True),      # Excel 'CSV UTF-8'
])
def test_samples_in_any_excel_dialect(tmp_path: Path, sep: str, eol: str, bom: bool, quote: bool) -> None:
    path = tmp_path / "samples.csv"
    path.write_bytes((("\ufeff" if bom else "") + _text(SAMPLES, sep, eol, quote)).encode("utf-8"))
    assert sniff(path).delimiter == sep
    res = read_samples(path)        # before: "missing required column 'sample_id'" for ';'
    assert res.rejects == []
    assert _samples_of(res) == EXPECTED_SAMPLES
    assert res.lines == [2, 3, 4]


def test_semicolon_genotypes_with_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes("\ufeffsample_id;locus;allele1;allele2\r\nM1;TH01;9,3;10\r\nM1;vWA;14;\r\n"
                     "M1;D3S1358;15,x;16\r\n".encode("utf-8"))
    res = read_genotypes(path, NORM)
    assert res.table.to_pylist() == [
        dict(sample_id="M1", locus="TH01", allele1="9.3", allele2="10"),
        dict(sample_id="M1", locus="vWA", allele1="14", allele2="14"),
    ]
    assert [(r.row, r.field) for r in res.rejects] == [(4, "allele1")]


def test_a_comma_in_a_comma_separated_allele_is_not_a_decimal(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text('sample_id,locus,allele1,allele2\nM1,TH01,"9,3",10\n')
    res = read_genotypes(path, NORM)
    assert res.table.num_rows == 0 and [(r.row, r.field) for r in res.rejects] == [(2, "allele1")]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_byte_order_mark(tmp_path: Path, codec: str) -> None:
    text = "Sample Name\tMarker\tAllele 1\tAllele 2\r\nM1\tvWA\t14\t16\r\nM1\tTH01\t6\t\r\n"
    raw = text.encode(codec) if codec == "utf-16" else b"\xfe\xff" + text.encode(codec)
    path = tmp_path / "export.txt"
    path.write_bytes(raw)
    assert sniff(path) == TextDialect("utf-16", "\t")
    res = read_genotypes(path, NORM)
    assert res.table.to_pylist() == [dict(sample_id="M1", locus="vWA", allele1="14", allele2="16"),
                                     dict(sample_id="M1", locus="TH01", allele1="6", allele2="6")]
    assert res.lines == [2, 3]


def test_utf16_samples_csv(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    path.write_bytes(_text(SAMPLES, ";", "\r\n").encode("utf-16"))
    assert _samples_of(read_samples(path)) == EXPECTED_SAMPLES


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    path.write_bytes("sample_id,role,region\nM1,missing,Bogot\u00e1\n".encode("cp1252"))
    with pytest.raises(InputError, match="is not UTF-8 text.*CSV UTF-8") as err:
        read_samples(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_workbook_named_csv_is_one_line(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", SAMPLES).rename(tmp_path / "samples.csv")
    with pytest.raises(InputError, match=r"zip file \(an Excel workbook\?\).*\.xlsx"):
        read_samples(path)


def test_frequency_table_with_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("population,locus,allele,frequency,n_individuals\n"
                     "P,TH01,6,0.25,100\nP,TH01,9.3,0.75,100\nP,vWA,14,1.0,100\n")
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffpopulation;locus;allele;frequency;n_individuals\r\n"
                      "P;TH01;6;0,25;100\r\nP;TH01;9,3;0,75;100\r\nP;vWA;14;1;100\r\n".encode("utf-8"))
    a, b = load_frequency_table(plain, "P"), load_frequency_table(excel, "P")
    assert list(b.loci) == ["TH01", "vWA"]
    assert b.loci["TH01"].alleles == ["6", "9.3"]
    assert b.loci["TH01"].frequencies.tolist() == [0.25, 0.75]
    assert b.loci["TH01"].n_individuals == 100.0
    assert {k: v.frequencies.tolist() for k, v in a.loci.items()} == \
        {k: v.frequencies.tolist() for k, v in b.loci.items()}


# --------------------------------------------------------------------------- spreadsheets

def test_xlsx_samples_first_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "samples.xlsx", SAMPLES + [[], ["M2", "missing", "", "", "X"]],
                      ("Notes", [["sample_id", "role"], ["Z9", "missing"]]))
    assert detect_format(path) == "xlsx"
    res = read_samples(path)
    assert _samples_of(res) == EXPECTED_SAMPLES      # the second sheet is not read
    assert [(r.row, r.field) for r in res.rejects] == [(6, "sex")]   # Excel row 6 (row 5 blank)


def test_xlsx_genotypes_numbers_become_labels(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "g.xlsx", [
        ["Sample Name", "Marker", "Allele 1", "Allele 2"],
        [1001, "vWA", 14, 16.0],            # numeric sample id and alleles, as Excel stores them
        [1001, "TH01", 9.3, "10"],
        [1001, "D3S1358", "15,2", ""],      # a text cell with a decimal comma
    ])
    res = read_genotypes(path, NORM)
    assert res.rejects == []
    assert res.table.to_pylist() == [
        dict(sample_id="1001", locus="vWA", allele1="14", allele2="16"),
        dict(sample_id="1001", locus="TH01", allele1="9.3", allele2="10"),
        dict(sample_id="1001", locus="D3S1358", allele1="15.2", allele2="15.2"),
    ]
    assert res.lines == [2, 3, 4]


def test_unreadable_workbook_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("nothing.txt", "not a workbook")
    with pytest.raises(InputError, match="cannot be read as a spreadsheet.*CSV UTF-8") as err:
        read_samples(path)
    assert str(path) in str(err.value)
