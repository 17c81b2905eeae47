"""Nothing silent: a samples file without its relation column, a rerun batch that is all
registered already, a locus the frequency table lacks, samples of another population."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from reunion.append import append_batch
from reunion.errors import InputError
from reunion.ingest import ingest
from reunion.io.readers import read_samples

GENOTYPES = ("sample_id,locus,allele1,allele2\n"
             "M1,TH01,6,7\nM1,vWA,14,15\nM1,D3S1358,15,16\n"
             "R1,TH01,6,9\nR1,vWA,14,17\nR1,D3S1358,15,15\n"
             "R2,TH01,7,7\nR2,vWA,15,16\nR2,D3S1358,16,17\n")


def _w(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- (a) relation column

def test_relatives_without_a_relation_column_are_one_line(tmp_path: Path, settings) -> None:
    s = _w(tmp_path / "samples.csv", "sample_id,role,family_id\nM1,missing,\nR1,relative,F1\nR2,relative,F1\n")
    g = _w(tmp_path / "genotypes.csv", GENOTYPES)
    # before: every relative rejected one by one, "0 families", and a re-match of 0 pairs
    with pytest.raises(InputError, match=r"line 3 is a relative, but the header has no 'relation' column") as e:
        ingest(s, [g], tmp_path / "out", settings)
    assert str(s) in str(e.value) and "\n" not in str(e.value)
    no_family = _w(tmp_path / "s2.csv", "sample_id,role\nM1,missing\nR1,relative\n")
    with pytest.raises(InputError, match="no 'family_id' and no 'relation' column"):
        read_samples(no_family)


def test_missing_persons_alone_need_no_relation_column(tmp_path: Path) -> None:
    res = read_samples(_w(tmp_path / "s.csv", "sample_id,role\nM1,missing\nM2,missing\n"))
    assert res.table.column("sample_id").to_pylist() == ["M1", "M2"] and res.rejects == []


# --------------------------------------------------------------------------- (b) nothing new

def test_a_batch_already_registered_is_refused(tmp_path: Path, settings) -> None:
    s = _w(tmp_path / "samples.csv", "sample_id,role,family_id,relation\nM1,missing,,\n"
           "R1,relative,F1,father\nR2,relative,F1,mother\n")
    g = _w(tmp_path / "genotypes.csv", GENOTYPES)
    ingest(s, [g], tmp_path / "base", settings)
    # before: appended, 12 rows rejected as registered, and the rerun scored 0 pairs, exit 0
    with pytest.raises(InputError, match=r"samples.csv, genotypes.csv: nothing new: every row is already "
                                         r"registered in the standing shard set \(12 rows\)"):
        append_batch(tmp_path / "base", [s], [g], tmp_path / "again", settings)
    # a batch with one new sample is appended
    s2 = _w(tmp_path / "s2.csv", "sample_id,role,family_id,relation\nM1,missing,,\nM2,missing,,\n")
    g2 = _w(tmp_path / "g2.csv", "sample_id,locus,allele1,allele2\nM2,TH01,6,7\n")
    summary = append_batch(tmp_path / "base", [s2], [g2], tmp_path / "more", settings)
    assert summary.new_missing == ["M2"] and (summary.rows_read, summary.rows_rejected) == (3, 1)


# --------------------------------------------------------------------------- (c) a locus without frequencies

def test_a_locus_the_table_lacks_is_one_note(tmp_path: Path, settings) -> None:
    s = _w(tmp_path / "samples.csv", "sample_id,role,family_id,relation\nM1,missing,,\n"
           "R1,relative,F1,father\nR2,relative,F1,mother\n")
    g = _w(tmp_path / "genotypes.csv", GENOTYPES.replace("D3S1358", "D3S1385"))   # a typo, in every sample
    summary = ingest(s, [g], tmp_path / "out", settings)
    locus_notes = [n for n in summary.notes if "D3S1385" in n]
    assert locus_notes == ["locus 'D3S1385' is not in the frequency table (nist1036_us_2017.csv, Asian): "
                           "not scored, its 3 rows are in rejects.csv; did you mean 'D3S1358'?"]
    rejects = pacsv.read_csv(tmp_path / "out" / "rejects.csv").to_pylist()
    assert [(r["row"], r["field"]) for r in rejects] == [(4, "locus"), (7, "locus"), (10, "locus")]
    assert {r["reason"] for r in rejects} == {
        "locus 'D3S1385' is not in the run's frequency table (did you mean 'D3S1358'?): no sample is "
        "scored at it; correct its spelling, or use a frequency table that has it"}
    manifest = json.loads(summary.manifest_path.read_text())
    assert manifest["notes"] == summary.notes
    assert manifest["inputs"][1]["rejected"] == 3 and manifest["inputs"][1]["accepted"] == 6


# --------------------------------------------------------------------------- population

def test_samples_of_another_population_are_counted(tmp_path: Path, settings) -> None:
    s = _w(tmp_path / "samples.csv", "sample_id,role,family_id,relation,population\n"
           "M1,missing,,,Asian\nR1,relative,F1,father,asian\nR2,relative,F1,mother,Caucasian\nM2,missing,,,\n")
    g = _w(tmp_path / "genotypes.csv", GENOTYPES)
    summary = ingest(s, [g], tmp_path / "out", settings)
    assert summary.notes == ["1 of 3 samples with a population give another population than the frequency "
                             "table's 'Asian' ('Caucasian': 1); all are scored with its frequencies: check "
                             "'frequencies.population'"]
    assert summary.n_missing == 2 and summary.n_relatives == 2      # nobody dropped


def test_no_note_when_all_agree(tmp_path: Path, settings) -> None:
    s = _w(tmp_path / "samples.csv", "sample_id,role,family_id,relation,population\n"
           "M1,missing,,,Asian\nR1,relative,F1,father,Asian\nR2,relative,F1,mother,\n")
    summary = ingest(s, [_w(tmp_path / "g.csv", GENOTYPES)], tmp_path / "out", settings)
    assert summary.notes == []
    assert "notes" not in json.loads(summary.manifest_path.read_text())
