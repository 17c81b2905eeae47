"""Reject rows are the line an editor shows (header = line 1), whatever the file's layout."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reunion.contracts import REJECTS
from reunion.ingest import ingest
from reunion.io.readers import read_genotypes, read_samples
from reunion.loci import LocusNormaliser


def test_lines_count_blank_lines_and_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    path.write_bytes(b"sample_id,role,region\r\n"          # line 1
                     b"M1,missing,North\r\n"               # line 2
                     b"\r\n"                               # line 3: blank
                     b'M2,missing,"two\r\nlines"\r\n'      # lines 4-5: one row
                     b"M3,suspect,\r\n"                    # line 6: bad role
                     b"\r\n\r\n"                           # lines 7, 8
                     b"M1,missing,\r\n")                   # line 9: duplicate of line 2
    res = read_samples(path)
    assert res.lines == [2, 4]
    assert [(r.row, r.field) for r in res.rejects] == [(6, "role"), (9, "sample_id")]
    assert "first on line 2" in res.rejects[1].reason


def test_parquet_rows_are_numbered_as_if_the_header_were_line_1(tmp_path: Path) -> None:
    path = tmp_path / "g.parquet"
    pq.write_table(pa.table({"sample_id": ["S1", "S1", "S1"], "locus": ["vWA", "vWA", "TH01"],
                             "allele1": ["14", "15", "OL"], "allele2": ["15", "16", "7"]}), path)
    res = read_genotypes(path, LocusNormaliser(["vWA", "TH01"]))
    assert res.lines == [2]
    assert [(r.row, r.field) for r in res.rejects] == [(3, "locus"), (4, "allele1")]


def test_ingest_rejects_file_gives_editor_lines(tmp_path: Path, settings) -> None:
    s = tmp_path / "samples.csv"
    s.write_text("sample_id,role,family_id,relation\n\nM1,missing,,\nR1,relative,F1,uncle\n")
    g = tmp_path / "genotypes.csv"
    g.write_text("sample_id,locus,allele1,allele2\nM1,TH01,6,7\nM1,vWA,OL,15\n\nR1,TH01,6,9\n")
    ingest(s, [g], tmp_path / "out", settings)
    rejects = pacsv.read_csv(tmp_path / "out" / "rejects.csv").to_pylist()
    assert [(Path(r["file"]).name, r["row"], r["field"]) for r in rejects] == [
        ("samples.csv", 4, "relation"),       # R1 is on line 4 (line 2 is blank)
        ("genotypes.csv", 3, "allele1"),      # OL
        ("genotypes.csv", 5, "sample_id"),    # R1 was rejected in the samples file
    ]


def test_rejects_contract_says_how_rows_count() -> None:
    desc = REJECTS.field("row").metadata[b"description"].decode()
    assert "header is line 1" in desc and "Parquet" in desc
