"""Amelogenin and Y-STR loci are recognised, not rejected as misspelt autosomal loci."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from reunion.ingest import ingest
from reunion.io.readers import read_genotypes
from reunion.loci import LocusNormaliser, locus_kind

NORM = LocusNormaliser(["vWA", "TH01"])


@pytest.mark.parametrize("name,kind", [
    ("AMEL", "amelogenin"), ("Amelogenin", "amelogenin"), ("amel", "amelogenin"),
    ("DYS391", "y"), ("DYS385a/b", "y"), ("DYF387S1", "y"), ("Y-GATA-H4", "y"), ("Y GATA H4", "y"),
    ("GATA H4", "y"), ("GATA_H4", "y"), ("GATA-H4.1", "y"), ("GATA A10", "y"),
    ("Yindel", "y"), ("vWA", "autosomal"), ("D3S1358", "autosomal"), ("Penta D", "autosomal"),
])
def test_locus_kind(name: str, kind: str) -> None:
    assert locus_kind(name) == kind


def test_amelogenin_kept_as_sex_and_y_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("sample_id,locus,allele1,allele2\n"
                    "S1,vWA,14,15\n"
                    "S1,AMEL,X,Y\n"           # male, as the samples say
                    "S1,DYS391,10,\n"
                    "S1,DYS19,14,\n"
                    "S2,Amelogenin,X,\n"      # female; the samples say M: rejected, profile kept
                    "S2,TH01,6,7\n"
                    "S2,Y-GATA-H4,11,\n"
                    "S3,AMEL,X,Z\n"           # not a call
                    "S3,AMEL,X,X\n")          # a second amelogenin row of S3
    res = read_genotypes(path, NORM, sexes={"S1": "M", "S2": "M", "S3": ""})
    assert res.n_read == 9
    assert res.table.to_pylist() == [dict(sample_id="S1", locus="vWA", allele1="14", allele2="15"),
                                     dict(sample_id="S2", locus="TH01", allele1="6", allele2="7")]
    assert res.skipped == {"AMEL": 1, "DYS391": 1, "DYS19": 1, "Y-GATA-H4": 1}
    assert res.observed_sex == {"S1": "M", "S2": "F"}
    assert res.sex_mismatches == 1
    assert [(r.row, r.field) for r in res.rejects] == [(6, "locus"), (9, "allele1"), (10, "locus")]
    reasons = [r.reason for r in res.rejects]
    assert reasons[0] == ("amelogenin of sample 'S2' shows female but the samples file gives sex M: "
                          "check for a sample mix-up or correct the sex; the profile is kept, this row "
                          "is not used")
    assert reasons[1].startswith("an amelogenin call is X or Y")
    assert "first on line 9" in reasons[2]
    assert not any("frequency table" in r for r in reasons)      # before: 'check its spelling' for each


def test_ingest_counts_them_in_notes_and_inputs(tmp_path: Path, settings) -> None:
    s = tmp_path / "samples.csv"
    s.write_text("sample_id,role,family_id,relation,sex\nM1,missing,,,F\nR1,relative,F1,father,M\n")
    g = tmp_path / "genotypes.csv"
    g.write_text("Sample Name\tMarker\tAllele 1\tAllele 2\n"
                 "M1\tTH01\t6\t7\nM1\tAMEL\tX\tY\nM1\tDYS391\t10\t\n"
                 "R1\tTH01\t6\t9\nR1\tAMEL\tX\tY\nR1\tDYS391\t10\t\nR1\tDYS389II\t29\t\n")
    summary = ingest(s, [g], tmp_path / "out", settings)
    assert summary.notes == [
        # M1 is recorded female: her DYS391 row is rejected; R1's two Y rows are his haplotype
        "Y-STR loci: 3 rows, 2 kept as the Y haplotypes of 1 men (2 loci: DYS389II, DYS391; "
        "y_haplotypes.parquet, scored when scoring.y_evidence is true), 1 in rejects.csv",
        "amelogenin typed for 2 samples; 1 disagree with the samples' sex (rejects.csv says which; "
        "their profiles are kept)",
    ]
    rec = json.loads(summary.manifest_path.read_text())["inputs"][1]
    # 7 rows = 4 accepted (2 TH01, R1's 2 Y rows) + 2 rejected (M1's amelogenin, M1's Y row: female)
    # + 1 set aside (R1's AMEL)
    assert (rec["read"], rec["accepted"], rec["rejected"], rec["skipped"]) == (7, 4, 2, 1)
    rejects = pacsv.read_csv(tmp_path / "out" / "rejects.csv").to_pylist()
    assert [(r["row"], r["field"]) for r in rejects] == [(3, "Marker"), (4, "Marker")]
    assert "recorded as female" in rejects[1]["reason"]
    y = pq.read_table(tmp_path / "out" / "y_haplotypes.parquet").to_pylist()
    assert y == [dict(sample_id="R1", locus="DYS389II", value="29"),
                 dict(sample_id="R1", locus="DYS391", value="10")]
    assert summary.n_missing == 1 and summary.n_relatives == 1     # M1's profile is kept
