"""One classifier of samples vs genotype files (reunion.io.readers.classify), used by
'reunion rerun --new' (flows.rerun.classify_inputs)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reunion.errors import InputError
from reunion.io.readers import classify
from xlsx_writer import write_xlsx


def _w(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("name,text,kind", [
    # what 'reunion simulate' and R's write.csv write: every header cell quoted
    ("s.csv", '"sample_id","role","family_id","relation"\n"M1","missing",,\n', "samples"),
    ("g.csv", '"sample_id","locus","allele1","allele2"\n"M1","vWA","14","15"\n', "genotypes"),
    ("s2.csv", "\ufeffSample ID;Role;Family ID\r\nM1;missing;\r\n", "samples"),
    ("g2.csv", "SAMPLE_ID\tLOCUS\tALLELE1\tALLELE2\n", "genotypes"),
    ("gm.txt", "Sample File\tSample Name\tMarker\tAllele 1\tAllele 2\n", "genotypes"),
    ("first_line_blank.csv", "\n\nsample_id,role\n", "samples"),
])
def test_classify_text(tmp_path: Path, name: str, text: str, kind: str) -> None:
    assert classify(_w(tmp_path / name, text)) == kind


def test_classify_utf16_parquet_xlsx(tmp_path: Path) -> None:
    assert classify(_w(tmp_path / "s.csv", "sample_id\trole\r\n", "utf-16")) == "samples"
    pq.write_table(pa.table({"sample_id": ["M1"], "locus": ["vWA"], "allele1": ["1"], "allele2": ["2"]}),
                   tmp_path / "g.parquet")
    assert classify(tmp_path / "g.parquet") == "genotypes"
    pq.write_table(pa.table({"sample_id": ["M1"], "role": ["missing"]}), tmp_path / "s.parquet")
    assert classify(tmp_path / "s.parquet") == "samples"
    assert classify(write_xlsx(tmp_path / "s.xlsx", [["Sample ID", "Role"], ["M1", "missing"]])) == "samples"
    assert classify(write_xlsx(tmp_path / "g.xlsx", [["Sample Name", "Marker", "Allele 1", "Allele 2"]])) \
        == "genotypes"


def test_neither_or_both_is_one_line(tmp_path: Path) -> None:
    neither = _w(tmp_path / "pairs.csv", "query_id,reference_id,relationship\n")
    with pytest.raises(InputError, match="neither a samples file .* nor a genotypes file") as err:
        classify(neither)
    assert str(neither) in str(err.value)
    both = _w(tmp_path / "both.csv", "sample_id,role,locus,allele1,allele2\n")
    with pytest.raises(InputError, match="both a 'role' column .* and a 'locus' column"):
        classify(both)


def test_rerun_classify_inputs_uses_it(tmp_path: Path) -> None:
    from reunion.flows.rerun import classify_inputs

    s = _w(tmp_path / "new_samples.csv", '"sample_id","role","family_id","relation"\n"M9","missing",,\n')
    g = _w(tmp_path / "new_genotypes.csv", '"sample_id","locus","allele1","allele2"\n')
    s2 = _w(tmp_path / "more.csv", "sample_id;role\nM8;missing\n")
    assert classify_inputs([g, s, s2]) == ([s, s2], [g])    # before: the quoted samples file was a genotype file
    with pytest.raises(InputError, match="neither"):
        classify_inputs([_w(tmp_path / "notes.csv", "comment\nhello\n")])
