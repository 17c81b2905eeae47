"""CODIS CMF XML reader (reunion/io/cmf.py): both schema variants, rejects, accounting, safety, memory.

The constructed files are in tests/data/cmf/ (their header comments say what they hold); the
expected counts below were worked out by hand from those files, and the line numbers of the
LOCUS and SPECIMEN elements are found by scanning the file's text, not by the XML parser.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pytest

from reunion.contracts import GENOTYPES, SAMPLES, check_table
from reunion.errors import InputError
from reunion.io.cmf import is_cmf, iter_specimens, read_cmf, restrict
from reunion.loci import LocusNormaliser

DATA = Path(__file__).resolve().parents[1] / "data" / "cmf"
CMF32 = DATA / "cmf32_case.xml"
RAPID = DATA / "rapid2017_booking.xml"


@pytest.fixture(scope="module")
def normalise(asian_table):
    return LocusNormaliser(asian_table.locus_names)


def _tag_lines(path: Path, tag: str) -> list[int]:
    """1-based lines holding a start tag ``<TAG`` (one per line in these files)."""
    return [i for i, line in enumerate(path.read_text().splitlines(), start=1)
            if re.search(rf"<{tag}[\s>]", line)]


# --------------------------------------------------------------------------- CMF 3.2

def test_cmf32_specimens_roles_families_and_sex(normalise):
    r = read_cmf(CMF32, normalise)
    assert r.schema == "3.2" and r.n_specimens == 7
    spec_lines = _tag_lines(CMF32, "SPECIMEN")
    assert len(spec_lines) == 7
    s = r.samples
    assert (s.n_read, s.n_accepted, len(s.rejects)) == (7, 4, 3)
    check_table(s.table, SAMPLES, "cmf samples")
    rows = {x["sample_id"]: x for x in s.table.to_pylist()}
    assert {k: (v["role"], v["family_id"], v["relation"], v["sex"]) for k, v in rows.items()} == {
        "UP-001": ("missing", None, None, "M"),           # Unidentified Person; AMEL X,Y
        "BF-001": ("relative", "CASE-1", "father", None),
        "BM-001": ("relative", "CASE-1", "mother", "F"),  # AMEL X
        "SIB-001": ("relative", "CASE-1", "full_sibling", None),
    }
    assert {v["kit"] for v in rows.values()} == {"Identifiler"}
    assert r.sex == {"UP-001": "M", "BM-001": "F"}
    assert s.lines == [spec_lines[i] for i in (0, 1, 2, 3)]
    # FU-777 (Forensic, Unknown), AF-002 (no CASEID), the second UP-001
    assert [(j.row, j.field) for j in s.rejects] == [
        (spec_lines[4], "SPECIMENCATEGORY"), (spec_lines[5], "CASEID"), (spec_lines[6], "SPECIMENID")]
    assert "not a missing-person specimen" in s.rejects[0].reason


def test_cmf32_loci_accepted_rejected_and_set_aside(normalise):
    g = read_cmf(CMF32, normalise).genotypes
    locus_lines = _tag_lines(CMF32, "LOCUS")
    assert len(locus_lines) == 21
    # read = accepted + rejected + set aside (amelogenin), counted by LOCUS element
    assert (g.n_read, g.n_accepted, len(g.rejects), sum(g.skipped.values())) == (21, 8, 11, 2)
    assert g.skipped == {"Amelogenin": 1, "AMEL": 1}
    check_table(g.table, GENOTYPES, "cmf genotypes")
    assert g.table.to_pylist() == [
        {"sample_id": "UP-001", "locus": "D3S1358", "allele1": "15", "allele2": "17"},
        {"sample_id": "UP-001", "locus": "vWA", "allele1": "16", "allele2": "16"},      # VWA, one allele
        {"sample_id": "UP-001", "locus": "Penta D", "allele1": "9", "allele2": "12"},   # PENTA_D
        {"sample_id": "BF-001", "locus": "D3S1358", "allele1": "15", "allele2": "16"},
        {"sample_id": "BF-001", "locus": "vWA", "allele1": "16", "allele2": "18"},
        {"sample_id": "BM-001", "locus": "D3S1358", "allele1": "17", "allele2": "18"},
        {"sample_id": "BM-001", "locus": "Penta D", "allele1": "12", "allele2": "13"},  # Penta D
        {"sample_id": "SIB-001", "locus": "D3S1358", "allele1": "15", "allele2": "18"},
    ]
    L = locus_lines  # LOCUS elements in file order, 0-based
    assert g.lines == [L[0], L[1], L[2], L[5], L[6], L[9], L[10], L[14]]
    by_row = {j.row: j for j in g.rejects}
    assert sorted(by_row) == [L[i] for i in (4, 7, 8, 11, 12, 15, 16, 17, 18, 19, 20)]
    assert "off-ladder bin" in by_row[L[4]].reason            # <17 (UP-001 FGA)
    assert "3 alleles" in by_row[L[7]].reason                 # TH01 with three alleles
    assert "off-ladder bin" in by_row[L[8]].reason            # >17
    assert "no ALLELEVALUE" in by_row[L[11]].reason           # empty value
    assert "repeat-number" in by_row[L[12]].reason            # INC
    assert "D99S999" in by_row[L[15]].reason                  # not in the frequency table
    for i in (16, 17, 18, 19, 20):                            # loci of the rejected specimens
        assert "is rejected" in by_row[L[i]].reason
    for j in g.rejects:                                       # no allele value is echoed
        assert not re.search(r"<17|>17|\bINC\b|\b22\b", j.reason)


def test_cmf32_specimens_given_by_a_samples_file(normalise):
    """A specimen the samples file registers needs no CMF category and is no samples row here."""
    r = read_cmf(CMF32, normalise, samples={"FU-777": "missing", "UP-001": "missing"},
                 sexes={"BM-001": "M"})
    assert r.registered_elsewhere == 2
    s = r.samples
    assert (s.n_read, s.n_accepted, len(s.rejects)) == (5, 3, 2)   # BF, BM, SIB; AF-002, 2nd UP-001
    g = r.genotypes
    assert {"sample_id": "FU-777", "locus": "vWA", "allele1": "17", "allele2": "17"} in g.table.to_pylist()
    # BM-001's AMEL shows female against the samples file's M: that row is rejected
    assert g.sex_mismatches == 1 and g.skipped == {"Amelogenin": 1}
    assert (g.n_read, g.n_accepted, len(g.rejects)) == (21, 10, 10)


def test_restrict_drops_loci_of_a_specimen_rejected_later(normalise):
    g = read_cmf(CMF32, normalise).genotypes
    kept = restrict(g, {"UP-001", "BM-001", "SIB-001"}, str(CMF32))   # BF-001 rejected by ingest
    assert kept.n_read == g.n_read
    assert kept.n_accepted == 6 and len(kept.rejects) == len(g.rejects) + 2
    assert kept.n_read == kept.n_accepted + len(kept.rejects) + sum(kept.skipped.values())
    assert "BF-001" not in kept.table.column("sample_id").to_pylist()


# --------------------------------------------------------------------------- Rapid Import CMF (2017)

def test_rapid_2017_specimens_need_a_role(normalise):
    r = read_cmf(RAPID, normalise)
    assert r.schema == "2017" and r.n_specimens == 3
    assert (r.samples.n_read, r.samples.n_accepted, len(r.samples.rejects)) == (3, 0, 3)
    assert all("not a missing-person specimen" in j.reason for j in r.samples.rejects)
    g = r.genotypes
    assert (g.n_read, g.n_accepted, len(g.rejects)) == (8, 0, 8)
    assert [j.row for j in g.rejects] == _tag_lines(RAPID, "LOCUS")


def test_rapid_2017_read_with_roles_from_a_samples_file(normalise):
    r = read_cmf(RAPID, normalise, samples={"R-001": "relative", "R-002": "missing"})
    assert r.registered_elsewhere == 2
    assert (r.samples.n_read, r.samples.n_accepted, len(r.samples.rejects)) == (1, 0, 1)
    g = r.genotypes
    assert (g.n_read, g.n_accepted, len(g.rejects)) == (8, 5, 1)
    assert g.skipped == {"Amelogenin": 1, "DYS391": 1}          # set aside, not rejected
    assert r.sex == {"R-001": "F"}
    assert g.table.to_pylist() == [
        {"sample_id": "R-001", "locus": "D18S51", "allele1": "13", "allele2": "14"},
        {"sample_id": "R-001", "locus": "TH01", "allele1": "9.3", "allele2": "9.3"},
        {"sample_id": "R-001", "locus": "D21S11", "allele1": "30", "allele2": "32.2"},
        {"sample_id": "R-002", "locus": "D18S51", "allele1": "14", "allele2": "15"},
        {"sample_id": "R-002", "locus": "TH01", "allele1": "6", "allele2": "9.3"},
    ]


def test_profiles_mode_reads_every_specimen(normalise):
    """reunion score --profiles: the category does not matter, no samples rows."""
    r = read_cmf(RAPID, normalise, require_role=False)
    assert r.samples.n_read == 0 and r.genotypes.n_accepted == 6


# --------------------------------------------------------------------------- recognition

def test_recognised_by_content_not_suffix(tmp_path):
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(CMF32.read_bytes())
    prefixed = tmp_path / "prefixed.dat"
    prefixed.write_text('<?xml version="1.0"?>\n<!-- c -->\n<c:CODISImportFile '
                        'xmlns:c="urn:CODISImportFile-schema"><c:HEADERVERSION>3.2</c:HEADERVERSION>'
                        '</c:CODISImportFile>\n')
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><root xmlns="urn:something-else"><SPECIMEN/></root>')
    csv_file = tmp_path / "g.csv"
    csv_file.write_text("sample_id,locus,allele1,allele2\nS1,TH01,6,7\n")
    assert is_cmf(CMF32) and is_cmf(RAPID) and is_cmf(renamed) and is_cmf(prefixed)
    assert not is_cmf(other) and not is_cmf(csv_file) and not is_cmf(tmp_path / "absent.xml")
    assert not is_cmf(tmp_path)                                     # a folder


def test_prefixed_and_unnamespaced_files_read(tmp_path, normalise):
    body = ('<{p}SPECIMEN CASEID="F1"><{p}SPECIMENID>M1</{p}SPECIMENID>'
            '<{p}SPECIMENCATEGORY>missing person</{p}SPECIMENCATEGORY>\n'
            '<{p}LOCUS><{p}LOCUSNAME>th01</{p}LOCUSNAME><{p}ALLELE><{p}ALLELEVALUE>7'
            '</{p}ALLELEVALUE></{p}ALLELE></{p}LOCUS></{p}SPECIMEN>')
    plain = tmp_path / "plain.xml"
    plain.write_text(f"<CODISImportFile>\n{body.format(p='')}\n</CODISImportFile>\n")
    pref = tmp_path / "pref.xml"
    pref.write_text(f'<x:CODISImportFile xmlns:x="urn:CODISImportFile-schema">\n{body.format(p="x:")}'
                    "\n</x:CODISImportFile>\n")
    for f in (plain, pref):
        r = read_cmf(f, normalise)
        assert r.samples.table.column("role").to_pylist() == ["missing"]
        assert r.genotypes.table.to_pylist() == [
            {"sample_id": "M1", "locus": "TH01", "allele1": "7", "allele2": "7"}]
        assert r.genotypes.lines == [3]


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("name", ["entity_bomb.xml", "external_entity.xml"])
def test_entities_refused_in_one_line(name, normalise):
    t0 = time.process_time()
    with pytest.raises(InputError) as exc:
        read_cmf(DATA / name, normalise)
    msg = str(exc.value)
    assert "\n" not in msg and name in msg and "refused" in msg and "line 2" in msg
    assert "root:" not in msg and "aaaa" not in msg                 # nothing expanded or read
    assert time.process_time() - t0 < 5                             # refused, not expanded (generous)
    assert is_cmf(DATA / name)                                      # recognised, then refused


def test_not_well_formed_and_wrong_root_one_line(tmp_path, normalise):
    cut = tmp_path / "cut.xml"
    cut.write_text("\n".join(CMF32.read_text().splitlines()[:30]) + "\n")
    with pytest.raises(InputError, match=r"cut\.xml: line \d+: not well-formed XML") as exc:
        read_cmf(cut, normalise)
    assert "\n" not in str(exc.value)
    wrong = tmp_path / "wrong.xml"
    wrong.write_text('<?xml version="1.0"?>\n<Profiles xmlns="urn:other"><SPECIMEN/></Profiles>\n')
    with pytest.raises(InputError, match="root element 'Profiles' is not a CODIS CMF root"):
        read_cmf(wrong, normalise)


# --------------------------------------------------------------------------- memory

LOCI_BIG = (("D3S1358", "15", "17"), ("vWA", "16", ""))


def _big_cmf(path: Path, n: int) -> None:
    """``n`` specimens: even ones Missing Person, odd ones Biological Mother of family F<i>."""
    with open(path, "w") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<CODISImportFile xmlns="urn:CODISImportFile-schema">'
                 "\n<HEADERVERSION>3.2</HEADERVERSION>\n")
        for i in range(n):
            cat = "Missing Person" if i % 2 == 0 else "Biological Mother"
            fh.write(f'<SPECIMEN CASEID="F{i}"><SPECIMENID>S{i:07d}</SPECIMENID>'
                     f"<SPECIMENCATEGORY>{cat}</SPECIMENCATEGORY>\n")
            for name, a, b in LOCI_BIG:
                second = f"<ALLELE><ALLELEVALUE>{b}</ALLELEVALUE></ALLELE>" if b else ""
                fh.write(f"<LOCUS><LOCUSNAME>{name}</LOCUSNAME><ALLELE><ALLELEVALUE>{a}</ALLELEVALUE>"
                         f"</ALLELE>{second}</LOCUS>\n")
            fh.write("</SPECIMEN>\n")
        fh.write("</CODISImportFile>\n")


@pytest.mark.parametrize("N_BIG", [10_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_many_specimens_in_bounded_memory(tmp_path, normalise, N_BIG):
    """The parser's memory does not grow with the file (100k specimens: a 33 MiB file, under
    tracemalloc about a minute on a loaded 2-core box, so in `make test`, not test-fast)."""
    big = tmp_path / "big.xml"
    _big_cmf(big, N_BIG)
    assert big.stat().st_size > N_BIG * 300               # a DOM of this file would take ~10x

    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_specimens(big))           # the parser alone: constant memory
        _, peak_stream = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        r = read_cmf(big, normalise)
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == N_BIG
    assert peak_stream < 2 * 2**20, peak_stream            # < 2 MiB whatever the file's size
    # the reader keeps the accepted rows (in Arrow, outside tracemalloc) and per specimen an id
    # for the duplicate check: well under the file's own size
    assert peak_read < (8 + 40 * N_BIG / 100_000) * 2**20, peak_read   # 48 MiB at 100k
    g, s = r.genotypes, r.samples
    assert (s.n_read, s.n_accepted) == (N_BIG, N_BIG)
    assert g.n_read == 2 * N_BIG and g.n_accepted == 2 * N_BIG and not g.skipped
    assert not g.rejects
    assert s.table.column("role").to_pylist().count("missing") == N_BIG // 2
    assert g.table.slice(2 * N_BIG - 1).to_pylist() == [
        {"sample_id": f"S{N_BIG - 1:07d}", "locus": "vWA", "allele1": "16", "allele2": "16"}]
    assert isinstance(g.table, pa.Table) and g.table.num_rows == len(g.lines)
