"""The lost child's sex against the missing person's (issue 16; scoring.sex_mismatch).

Families: F1 a trio registered by relation codes with lost_sex F on its rows, F2 a duo (father)
registered as an explicit pedigree whose lost_child row is M, F3 a duo with no sex registered.
Missing persons: QM (samples sex M; the trio's true child, so F1 is its best family), QF (no sex
in the samples, amelogenin X,X: female), QU (sex unknown). Checked through ingest and the
re-match's graph: the query shards carry the known sexes; with ``exclude`` (the default) QM is
no candidate of F1 and QF none of F2, every other pair is listed as with ``flag`` (which lists every pair and marks the
mismatches in the reviewers' table); with top_k 1
QM still gets its best compatible family (the screen keeps no slot for a mismatch).
"""

from __future__ import annotations

import csv

import dask
import pytest
from batches import write_frequencies

from reunion.flows import pieces
from reunion.ingest import ingest, load_manifest, read_shard, shards_of
from reunion.settings import load_settings

FREQ = {"D3S1358": (["14", "15", "16"], [0.2, 0.3, 0.5]),
        "TH01": (["6", "7", "8"], [0.5, 0.3, 0.2]),
        "FGA": (["20", "21", "22"], [0.25, 0.25, 0.5])}
#: locus -> genotypes of FA1, MO1 (F1's parents), FA2 (F2's father), FA3 (F3's father), QM, QF, QU
#: (no mutation: every missing person shares an allele with every father, and could be F1's child)
G = {"D3S1358": ("14/16", "15/16", "14/16", "15/16", "14/15", "16/16", "14/16"),
     "TH01": ("6/8", "7/8", "6/8", "7/8", "6/7", "8/8", "6/8"),
     "FGA": ("20/22", "21/22", "20/22", "21/22", "20/21", "22/22", "20/22")}
IDS = ("FA1", "MO1", "FA2", "FA3", "QM", "QF", "QU")

SAMPLES = """sample_id,role,family_id,relation,sex,father_id,mother_id,lost_sex
FA1,relative,F1,father,M,,,F
MO1,relative,F1,mother,F,,,
FA2,relative,F2,father,M,,,
X2,relative,F2,lost_child,M,FA2,,
FA3,relative,F3,father,M,,,
QM,missing,,,M,,,
QF,missing,,,,,,
QU,missing,,,,,,
"""


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("sex")
    write_frequencies(d / "freq.csv", FREQ)
    (d / "samples.csv").write_text(SAMPLES)
    with open(d / "genotypes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        for locus, gs in G.items():
            for sid, g in zip(IDS, gs):
                w.writerow([sid, locus, *g.split("/")])
        w.writerow(["QF", "AMEL", "X", "X"])
    over = [f"frequencies.table={d / 'freq.csv'}", "frequencies.population=Test", "mutation.model=none",
            "scoring.min_typed_loci=1", "scoring.log10_lr_floor=-50", "scoring.keep_all_log10_lr=null"]
    out = d / "shards"
    summary = ingest(d / "samples.csv", [d / "genotypes.csv"], out, load_settings(None, over))
    assert summary.rows_rejected == 0
    return out, over


def _lists(shards, over, *extra) -> dict[str, list[str]]:
    s = load_settings(None, over + list(extra))
    work = pieces.plan_work(load_manifest(shards), s)
    results = dask.compute(*pieces.rematch_graph(str(shards), s, work), scheduler="synchronous")
    out: dict[str, list[str]] = {}
    for r in results:
        for c in sorted(r["candidates"].to_pylist(), key=lambda c: c["rank"]):
            out.setdefault(c["missing_id"], []).append(c["family_id"])
    return out


def test_query_shards_carry_the_known_sex(shards):
    path, _ = shards
    m = load_manifest(path)
    (rec,) = shards_of(m, "query")
    t = read_shard(path, rec)
    assert dict(zip(t.column("sample_id").to_pylist(), t.column("sex").to_pylist())) == \
        {"QF": "F", "QM": "M", "QU": None}          # QF from its amelogenin X,X


def test_sex_mismatches_are_not_candidates(shards):
    path, over = shards
    keep = _lists(path, over, "scoring.sex_mismatch=flag")
    excl = _lists(path, over)                               # the default: exclude
    assert load_settings(None, over).scoring.sex_mismatch == "exclude"
    assert {q: set(f) for q, f in keep.items()} == {q: {"F1", "F2", "F3"} for q in ("QM", "QF", "QU")}
    assert keep["QM"][0] == "F1"                            # the true family ranks first when kept
    assert excl["QM"] == [f for f in keep["QM"] if f != "F1"]       # F1's lost child is a girl
    assert excl["QF"] == [f for f in keep["QF"] if f != "F2"]       # F2's lost child is a boy
    assert excl["QU"] == keep["QU"]                                 # unknown sex: nothing excluded
    # top_k 1: the mismatch takes no slot of the screen; QM gets its best compatible family
    top1 = _lists(path, over, "scoring.top_k=1")
    assert top1["QM"] == excl["QM"][:1] and top1["QF"] == excl["QF"][:1] and top1["QU"] == keep["QU"][:1]


def test_the_registered_sexes_a_flag_compares(shards):
    from reunion.ingest import registered_sexes_of_pairs
    path, _ = shards
    # from SAMPLES above: QM's samples sex, QF's amelogenin X,X; F1's lost_sex, F2's lost_child row
    assert registered_sexes_of_pairs(path) == ({"QM": "M", "QF": "F"}, {"F1": "F", "F2": "M"})


def test_flagged_mismatches_in_the_review(shards):
    from reunion.report.review import categorise
    path, over = shards
    from reunion.ingest import registered_sexes_of_pairs
    sexes = registered_sexes_of_pairs(path)
    # QM's true family F1 at LR 10^6 beats F3 by 10^4: undisputed, unless the sexes are flagged
    cands = [{"missing_id": "QM", "family_id": "F1", "rank": 1, "log10_lr": 6.0, "inconsistent_loci": 0},
             {"missing_id": "QM", "family_id": "F3", "rank": 2, "log10_lr": 2.0, "inconsistent_loci": 0},
             {"missing_id": "QU", "family_id": "F1", "rank": 1, "log10_lr": 6.0, "inconsistent_loci": 0}]
    plain = {(r["missing_id"], r["family_id"]): r for r in categorise(cands, n_families=3)}
    flagged = {(r["missing_id"], r["family_id"]): r for r in categorise(cands, n_families=3, sexes=sexes)}
    assert plain[("QM", "F1")]["category"] == "undisputed"
    assert flagged[("QM", "F1")]["category"] == "inconclusive"
    assert flagged[("QM", "F1")]["category_reason"].startswith(
        "sex mismatch: the family registered its lost child as F, this missing person is M")
    assert flagged[("QM", "F3")] == plain[("QM", "F3")]         # F3 registers no sex
    assert flagged[("QU", "F1")] == plain[("QU", "F1")]         # QU's sex is unknown


def test_a_flag_run_report_reads_the_sexes_of_its_shard_set(shards, tmp_path):
    from reunion.errors import InputError
    from reunion.report.run_folder import flagged_sexes
    path, _ = shards
    run = {"config": {"scoring": {"sex_mismatch": "flag"}}, "manifest": {"path": str(path / "manifest.json")}}
    assert flagged_sexes(run, tmp_path) == ({"QM": "M", "QF": "F"}, {"F1": "F", "F2": "M"})
    assert flagged_sexes({**run, "config": {"scoring": {"sex_mismatch": "exclude"}}}, tmp_path) is None
    with pytest.raises(InputError, match="sex_mismatch is 'flag' but the run's shard set"):
        flagged_sexes({**run, "manifest": {"path": str(tmp_path / "gone" / "manifest.json")}}, tmp_path)
