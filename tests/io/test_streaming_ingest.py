"""Streaming ingest (ingest.streaming, reunion.io.stream) equals the whole-file ingest: the same
shards (table content and sha256), alleles, manifest accounting and notes, and the same
rejects.csv, on simulated databases and on files split into many tiny batches with a bad row of
every reason at a batch's first and last line. The whole-file path (ingest.streaming=false) is
today's row-by-row reader; the expected reject lines and fields are also written out by hand."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from reunion.encoding import genotype_pairs
from reunion.ingest import ingest, load_encoding, load_manifest, read_shard, shard_codes, shards_of
from reunion.io.readers import read_genotypes
from reunion.io.stream import streamable
from reunion.loci import LocusNormaliser
from reunion.settings import Settings


def _with(settings: Settings, **ingest) -> Settings:
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=ingest)})


def _both(tmp_path: Path, samples, genos, settings: Settings, batch_rows: int) -> tuple[Path, Path]:
    whole, streamed = tmp_path / "whole", tmp_path / f"streamed-{batch_rows}"
    ingest(samples, genos, whole, _with(settings, streaming=False))
    ingest(samples, genos, streamed, _with(settings, streaming=True, batch_rows=batch_rows))
    return whole, streamed


def _assert_same(a: Path, b: Path) -> None:
    ma, mb = load_manifest(a), load_manifest(b)
    assert [s.model_dump() for s in ma.shards] == [s.model_dump() for s in mb.shards]   # paths, rows, sha256
    for x, y in zip(ma.shards, mb.shards):
        assert read_shard(a, x).equals(read_shard(b, y))
    assert [i.model_dump() for i in ma.inputs] == [i.model_dump() for i in mb.inputs]
    assert (ma.counts, ma.floor, ma.notes, ma.rejects, ma.loci) == (mb.counts, mb.floor, mb.notes, mb.rejects, mb.loci)
    assert (a / "rejects.csv").read_bytes() == (b / "rejects.csv").read_bytes()
    assert (a / "alleles.parquet").read_bytes() == (b / "alleles.parquet").read_bytes()
    assert (a / "registry.parquet").read_bytes() == (b / "registry.parquet").read_bytes()


def _rejects(out: Path) -> list[tuple[str, int, str]]:
    return [(Path(r["file"]).name, r["row"], r["field"]) for r in pacsv.read_csv(
        out / "rejects.csv", convert_options=pacsv.ConvertOptions(column_types={"field": pa.string()})).to_pylist()]


@pytest.mark.parametrize("batch_rows", [1_000_000, 7, 1])
def test_simulated_database_streams_as_read_whole(tmp_path: Path, small_db: Path, settings: Settings,
                                                  batch_rows: int) -> None:
    whole, streamed = _both(tmp_path, small_db / "samples.csv", [small_db / "genotypes.csv"], settings, batch_rows)
    _assert_same(whole, streamed)
    # the corrupt rows the simulator planted (truth_corrupt.csv: its own record of them) are rejected
    planted = {int(r["row"]) for r in csv.DictReader(open(small_db / "truth_corrupt.csv"))}
    assert planted and planted <= {row for f, row, _ in _rejects(streamed) if f == "genotypes.csv"}


def test_shard_codes_decode_to_the_calls_read(tmp_path: Path, small_db: Path, settings: Settings,
                                              asian_table) -> None:
    """An oracle outside ingest: each missing person's shard codes, decoded with alleles.parquet,
    are the calls read_genotypes accepts for it (whole-file reader, row by row)."""
    out = tmp_path / "s"
    ingest(small_db / "samples.csv", [small_db / "genotypes.csv"], out, _with(settings, batch_rows=5))
    m = load_manifest(out)
    enc = load_encoding(out, m)
    res = read_genotypes(small_db / "genotypes.csv", LocusNormaliser(asian_table.locus_names))
    calls = {}
    for sid, locus, a1, a2 in zip(*(res.table.column(c).to_pylist() for c in ("sample_id", "locus", "allele1", "allele2"))):
        calls.setdefault(sid, {})[locus] = {a1, a2}
    checked = 0
    for rec in shards_of(m, "query"):
        t = read_shard(out, rec)
        for sid, row in zip(t.column("sample_id").to_pylist(), shard_codes(t)):
            for li, lc in enumerate(enc.loci):
                if row[li] == 0:
                    assert lc.locus not in calls.get(sid, {})
                    continue
                lo, hi = genotype_pairs(len(lc.alleles))
                got = {lc.alleles[lo[row[li] - 1]], lc.alleles[hi[row[li] - 1]]}
                assert got == calls[sid][lc.locus], (sid, lc.locus)
                checked += 1
    assert checked > 1000


SAMPLES = ("sample_id,role,family_id,relation,sex\n"
           "M1,missing,,,M\n"
           "M2,missing,,,F\n"
           "M3,missing,,,\n"
           "R1,relative,F1,father,M\n"
           "L1,relative,F1,lost_child,F\n")

# (cells, field of its reject or None when accepted, '-' when set aside); with batch_rows 4 every
# bad row sits at a batch's first or last line: data lines 2-5 are batch 1, 6-9 batch 2, ...
ROWS = [
    ("M1,TH01,6,7", None),              # 2
    ("M1,vWA,14,15", None),
    ("M1,FGA,20,21", None),
    ("X9,TH01,6,7", "sample_id"),       # 5  not in the samples file (batch end)
    (",TH01,6,7", "sample_id"),         # 6  empty sample id (batch start)
    ("M2,TH01,8,9.3", None),
    ("M2,D3S1358,15,", None),           #    homozygote, allele2 empty
    ("M2,,6,7", "locus"),               # 9  empty locus
    ("M2,DYS391,10,", "locus"),         # 10 Y-STR on a sample the samples file says is female
    ("M2,vWA,16,17", None),
    ("M2,D8S1179,12,13", None),
    ("M2,D99S999,6,7", "locus"),        # 13 not in the frequency table
    ("M1,TH01,8,8", "locus"),           # 14 duplicate of line 2 (an earlier batch)
    ("M3,TH01,6,7", None),
    ("M3,vWA,,", "allele1"),            # 16 no allele called
    ("M3,D21S11,,30", "allele1"),       # 17 allele1 missing
    ("M3,FGA,OL,22", "allele1"),        # 18 off-ladder
    ("M3,D8S1179,12,x1", "allele2"),
    ("M3,D5S818,11,12", None),
    ("M3,D7S820,abc,12", "allele1"),    # 21 not a repeat number
    ("M1,AMEL,X,Y", "-"),               # 22 amelogenin agrees with the sex: set aside
    ("M2,AMEL,X,Y", "locus"),           #    shows male, samples say F
    ("M3,AMEL,X,Z", "allele1"),         #    not an amelogenin call
    ("L1,TH01,6,7", "sample_id"),       # 25 a lost child has no genotype rows
    ("R1,TH01,6,7", None),              # 26
    ("R1,TH01,7,7", "locus"),           #    duplicate within the batch
    ("R1,vWA", "*"),                    #    ragged
    ("R1,FGA,20,21", None),             # 29
]


def _genotypes_text() -> str:
    return "\n".join(["sample_id,locus,allele1,allele2"] + [c for c, _ in ROWS]) + "\n"


def _expected() -> list[tuple[int, str]]:
    """(line, field) of the rejected rows, by hand: data row i is on line i + 2."""
    return [(i + 2, f) for i, (_, f) in enumerate(ROWS) if f not in (None, "-")]


@pytest.mark.parametrize("batch_rows", [4, 3, 1, 1000])
def test_every_reason_at_batch_edges(tmp_path: Path, settings: Settings, batch_rows: int) -> None:
    s = tmp_path / "samples.csv"
    s.write_text(SAMPLES)
    g = tmp_path / "genotypes.csv"
    g.write_text(_genotypes_text())
    whole, streamed = _both(tmp_path, s, [g], settings, batch_rows)
    _assert_same(whole, streamed)
    assert sorted((row, f) for name, row, f in _rejects(streamed) if name == "genotypes.csv") == _expected()
    rec = load_manifest(streamed).inputs[1]
    accepted = sum(f is None for _, f in ROWS)
    assert (rec.read, rec.accepted, rec.rejected, rec.skipped) == (len(ROWS), accepted, len(_expected()), sum(f == "-" for _, f in ROWS))


def test_blank_lines_quotes_and_a_cell_spanning_lines(tmp_path: Path, settings: Settings) -> None:
    """Blank lines count as lines; quoted cells; a quoted cell holding a newline (its row is
    numbered by its first line, and the csv module reads the rest of the file)."""
    s = tmp_path / "samples.csv"
    s.write_text(SAMPLES)
    g = tmp_path / "genotypes.csv"
    g.write_bytes(b'"sample_id","locus","allele1","allele2"\r\n'   # 1
                  b'"M1","TH01","6","7"\r\n'                        # 2
                  b"\r\n"                                           # 3 blank
                  b",,,\r\n"                                        # 4 blank (empty cells)
                  b'"M1","vWA","1""4","15"\r\n'                     # 5 a quote inside: not an allele
                  b'M2,TH01,8,9\r\n'                                # 6
                  b'M2,"FGA","20\n",21\r\n'                         # 7-8: a cell spanning two lines
                  b'M2,vWA,OL,15\r\n'                               # 9
                  b'M3,TH01,6,7')                                   # 10, no final newline
    for rows in (2, 3, 1000):
        whole, streamed = _both(tmp_path / str(rows), s, [g], settings, rows)
        _assert_same(whole, streamed)
        assert [(row, f) for name, row, f in _rejects(streamed) if name == "genotypes.csv"] == [
            (5, "allele1"), (9, "allele1")]
        # line 7's FGA: '20\n' strips to '20'
        rec = load_manifest(streamed).inputs[1]
        assert (rec.read, rec.accepted, rec.rejected) == (6, 4, 2)


def test_second_file_repeating_a_locus_and_other_dialects(tmp_path: Path, settings: Settings) -> None:
    """Several files: semicolon (decimal comma), tab-separated GeneMapper text, Parquet, a
    byte-order mark, UTF-16 (read whole); a locus typed in an earlier file is rejected there."""
    s = tmp_path / "samples.csv"
    s.write_text(SAMPLES)
    g1 = tmp_path / "g1.csv"
    g1.write_text("\ufeff" + _genotypes_text(), encoding="utf-8")
    g2 = tmp_path / "g2.csv"
    g2.write_text("sample_id;locus;allele1;allele2\nM3;D18S51;13,2;14\nM1;TH01;6;7\nM3;D2S1338;17;OL\n")
    g3 = tmp_path / "g3.txt"
    g3.write_text("Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\n"
                  "M1\tD18S51\t12\t13\t\nM2\tD18S51\t12\t13\t14\nM2\tD2S1338\t18\t19\t\n")
    g4 = tmp_path / "g4.parquet"
    pq.write_table(pa.table({"sample_id": ["R1", "R1", "M3", "R1"], "locus": ["D18S51", "vWA", "D18S51", "D18S51"],
                             "allele1": ["15", "16", "13.2", "15"], "allele2": [None, "17", "14", "16"]}), g4)
    g5 = tmp_path / "g5.csv"
    g5.write_text("sample_id,locus,allele1,allele2\nR1,D2S1338,20,21\nM1,vWA,14,15\n", encoding="utf-16")
    paths = [g1, g2, g3, g4, g5]
    assert [streamable(p) for p in paths] == [True, True, True, True, False]
    for rows in (1, 2, 100):
        whole, streamed = _both(tmp_path / str(rows), s, paths, settings, rows)
        _assert_same(whole, streamed)
    got = _rejects(streamed)
    assert sorted((r, f) for n, r, f in got if n == "g1.csv") == _expected()
    assert [x for x in got if x[0] not in ("g1.csv", "samples.csv")] == [
        ("g2.csv", 4, "allele2"),            # OL
        ("g3.txt", 3, "Allele 3"),           # a third allele
        ("g4.parquet", 5, "locus"),          # R1 D18S51 again in the same file (first on line 2)
        # the rows of a locus typed in an earlier file, after every file's own rejects, in file order
        ("g2.csv", 3, "locus"),              # M1 TH01 (g1 line 2)
        ("g4.parquet", 4, "locus"),          # M3 D18S51 (g2 line 2)
        ("g5.csv", 3, "locus"),              # M1 vWA (g1 line 3)
    ]
