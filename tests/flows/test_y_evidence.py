"""Y-STR evidence in the family LR, through the whole pipeline: ingest -> re-match -> candidates
(issue 20, "Y evidence in the family LR"; reunion/yevidence.py, reunion/io/yrows.py).

Families (three autosomal loci, no mutation; three Y loci with rates of our own file, single-step
mutation: ystr.two_step = 0, so one meiosis moves a value by d with f(0) = 1 - mu, f(+-1) = mu/2):
- F1: father FA1, typed autosomally and at DYS19 14, DYS390 22, DYS391 10;
- F2: mother MO2 (autosomal) and a maternal uncle MU2 typed for Y only, with FA1's haplotype
  (no paternal-line man: he must not give F2 a Y factor);
- F3: father FA3, autosomally the better father of the missing men, no Y typing.
Missing persons: Q0 (M) with FA1's haplotype, Q1 (M) one step away at DYS391, QF (F) whose Y
row is rejected at ingest. Reference men (ystr.reference): 99 distinct haplotypes, DYS19 16-26 x
DYS390 24-32, DYS391 10 (none equal to a run's man). Every LR_Y is worked out here by hand.
"""

from __future__ import annotations

import csv
import math

import dask
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from batches import write_frequencies

from reunion.flows import pieces
from reunion.ingest import ingest, load_manifest
from reunion.settings import load_settings

FREQ = {"D3S1358": (["14", "15", "16"], [0.2, 0.3, 0.5]),
        "TH01": (["6", "7", "8"], [0.5, 0.3, 0.2]),
        "FGA": (["20", "21", "22"], [0.25, 0.25, 0.5])}
AUTO = {"FA1": ("15/16", "6/7", "21/22"), "MO2": ("14/16", "6/7", "20/22"), "FA3": ("14/14", "8/8", "20/20"),
        "Q0": ("14/15", "7/8", "20/21"), "Q1": ("14/15", "7/8", "20/21"), "QF": ("14/15", "7/8", "20/21")}
Y = {"FA1": {"DYS19": 14, "DYS390": 22, "DYS391": 10},
     "MU2": {"DYS19": 14, "DYS390": 22, "DYS391": 10},     # maternal side: must not be used
     "Q0": {"DYS19": 14, "DYS390": 22, "DYS391": 10},
     "Q1": {"DYS19": 14, "DYS390": 22, "DYS391": 11},
     "QF": {"DYS19": 14}}                                  # on a woman: rejected
MU = {"DYS19": 0.002, "DYS390": 0.003, "DYS391": 0.004}

SAMPLES = """sample_id,role,family_id,relation,sex
FA1,relative,F1,father,M
MO2,relative,F2,mother,F
MU2,relative,F2,maternal_uncle_aunt,M
FA3,relative,F3,father,M
Q0,missing,,,M
Q1,missing,,,M
QF,missing,,,F
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ylr")
    write_frequencies(d / "freq.csv", FREQ)
    (d / "samples.csv").write_text(SAMPLES)
    with open(d / "genotypes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        for sid, gs in AUTO.items():
            for locus, g in zip(FREQ, gs):
                w.writerow([sid, locus, *g.split("/")])
        for sid, hap in Y.items():
            for locus, v in hap.items():
                w.writerow([sid, locus, v, ""])
    with open(d / "rates.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["locus", "rate", "source"])
        for locus, mu in MU.items():
            w.writerow([locus, mu, "test"])
    with open(d / "yref.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        n = 0
        for a in range(16, 27):
            for b in range(24, 33):
                n += 1
                for locus, v in (("DYS19", a), ("DYS390", b), ("DYS391", 10)):
                    w.writerow([f"R{n}", locus, v, ""])
    assert n == 99
    over = [f"frequencies.table={d / 'freq.csv'}", "frequencies.population=Test", "mutation.model=none",
            "scoring.min_typed_loci=1", "scoring.log10_lr_floor=-50", "scoring.keep_all_log10_lr=null",
            f"ystr.rates={d / 'rates.csv'}", f"ystr.reference={d / 'yref.csv'}", "ystr.two_step=0",
            "calibration.enabled=false"]
    return d, over


def _ingest(d, over, name, *extra):
    out = d / name
    summary = ingest(d / "samples.csv", [d / "genotypes.csv"], out, load_settings(None, over + list(extra)))
    return out, summary


@pytest.fixture(scope="module")
def shards(inputs):
    d, over = inputs
    out, summary = _ingest(d, over, "shards")
    return out, over, summary


def _run(shards, over, *extra) -> tuple[dict, list]:
    s = load_settings(None, over + list(extra))
    work = pieces.plan_work(load_manifest(shards), s)
    results = dask.compute(*pieces.rematch_graph(str(shards), s, work), scheduler="synchronous")
    cands: dict[tuple[str, str], dict] = {}
    loci = []
    for r in results:
        for c in r["candidates"].to_pylist():
            cands[(c["missing_id"], c["family_id"])] = c
        loci.extend(r["per_locus"].to_pylist())
    return cands, loci


def test_ingest_keeps_the_men_s_haplotypes_and_rejects_a_woman_s(shards):
    out, _, summary = shards
    rows = pq.read_table(out / "y_haplotypes.parquet").to_pylist()
    assert {r["sample_id"] for r in rows} == {"FA1", "MU2", "Q0", "Q1"}
    assert len(rows) == 12
    rejects = pacsv.read_csv(out / "rejects.csv").to_pylist()
    assert len(rejects) == 1 and "recorded as female" in rejects[0]["reason"]
    rec = [i for i in load_manifest(out).inputs if i.kind == "genotypes"][0]
    # 18 autosomal + 13 Y rows = 30 accepted (18 + 12 Y) + 1 rejected (QF's Y row)
    assert (rec.read, rec.accepted, rec.rejected, rec.skipped) == (31, 30, 1, None)


def test_father_son_y_lr_by_hand(shards):
    out, over, _ = shards
    cands, loci = _run(out, over)
    # Q0 = FA1's haplotype: numerator f(0) at each locus; denominator counted (kappa estimator,
    # the default) among the reference men but Q0: FA1, MU2, Q1 and the 99 = 102 men, of whom
    # x = 2 (FA1, MU2) share it: a type seen, (x+1)/(N+1) = 3/103
    num0 = (1 - 0.002) * (1 - 0.003) * (1 - 0.004)
    c = cands[("Q0", "F1")]
    assert c["log10_lr_y"] == pytest.approx(math.log10(num0 / (3 / 103)), abs=1e-12)
    assert c["y_haplotype_probability"] == pytest.approx(3 / 103, rel=1e-12)
    assert c["y_loci_compared"] == 3
    assert c["log10_lr"] == pytest.approx(c["log10_lr_autosomal"] + c["log10_lr_y"], abs=1e-12)
    # Q1: one step at DYS391: f(1) = mu/2 there; his type is new to the 102 men (FA1, MU2, Q0, the
    # 99), of whom 99 are singletons (FA1, MU2 and Q0 share theirs): kappa = 99/102,
    # P = (1 - kappa)/102
    num1 = (1 - 0.002) * (1 - 0.003) * (0.004 / 2)
    p1 = (1 - 99 / 102) / 102
    c1 = cands[("Q1", "F1")]
    assert c1["log10_lr_y"] == pytest.approx(math.log10(num1 / p1), abs=1e-12)
    # the per-locus rows: the three numerator factors and the denominator row sum to log10_lr_y
    ys = [r for r in loci if r["missing_id"] == "Q1" and r["family_id"] == "F1" and r["marker"] != "autosomal"]
    assert [(r["locus"], r["marker"]) for r in ys] == [("DYS19", "y"), ("DYS390", "y"), ("DYS391", "y"),
                                                       ("Y haplotype", "y_haplotype")]
    assert ys[2]["lr"] == pytest.approx(0.002, rel=1e-12)
    assert ys[3]["lr"] == pytest.approx(1 / p1, rel=1e-9)
    assert sum(r["log10_lr"] for r in ys) == pytest.approx(c1["log10_lr_y"], abs=1e-12)
    # the autosomal part is what a run without Y evidence gives
    plain, _ = _run(out, over, "scoring.y_evidence=false")
    assert c1["log10_lr_autosomal"] == pytest.approx(plain[("Q1", "F1")]["log10_lr"], abs=1e-12)
    assert "log10_lr_y" not in plain[("Q1", "F1")]


def test_counting_estimator(shards):
    out, over, _ = shards
    cands, _ = _run(out, over, "ystr.estimator=counting")
    # Q1's type seen 0 times among the 102 other men: (0+1)/(102+1)
    num1 = (1 - 0.002) * (1 - 0.003) * (0.004 / 2)
    assert cands[("Q1", "F1")]["log10_lr_y"] == pytest.approx(math.log10(num1 * 103), abs=1e-12)


def test_no_y_factor_without_a_paternal_line_man_or_for_a_woman(shards):
    out, over, _ = shards
    cands, _ = _run(out, over)
    # F2's only Y-typed man is a maternal uncle; F3's father has no Y typing; QF is a woman
    for key in (("Q0", "F2"), ("Q0", "F3"), ("QF", "F1"), ("QF", "F3")):
        assert cands[key]["log10_lr_y"] is None and cands[key]["y_loci_compared"] == 0, key
        assert cands[key]["log10_lr"] == cands[key]["log10_lr_autosomal"]
    assert cands[("Q0", "F2")]["y_reason"] == "no Y factor: no typed paternal-line man"
    assert cands[("Q0", "F3")]["y_reason"] == "no Y factor: no family member has a Y typing"
    assert cands[("QF", "F1")]["y_reason"] == "no Y factor: the missing person has no Y typing (or is a woman)"
    assert cands[("Q0", "F1")]["y_reason"] is None


def test_top_k_is_by_the_total(shards):
    out, over, _ = shards
    plain, _ = _run(out, over, "scoring.y_evidence=false", "scoring.top_k=1")
    # autosomally F3 is Q0's first family: duo LRs 1/(2p) per locus with FA3 homozygous for the
    # shared allele: 1/(2*0.2) * 1/(2*0.2) * 1/(2*0.25) = 12.5; FA1 heterozygous: 1/(4p):
    # 1/(4*0.3) * 1/(4*0.3) * 1/(4*0.25) = 0.694
    assert [k for k in plain if k[0] == "Q0"] == [("Q0", "F3")]
    assert plain[("Q0", "F3")]["log10_lr"] == pytest.approx(math.log10(12.5), abs=1e-9)
    y0 = math.log10((1 - 0.002) * (1 - 0.003) * (1 - 0.004) * 103 / 3)
    assert math.log10(1 / 1.44) + y0 > math.log10(12.5)          # first by total
    cands, _ = _run(out, over, "scoring.top_k=1")
    assert [k for k in cands if k[0] == "Q0"] == [("Q0", "F1")]
    assert cands[("Q0", "F1")]["log10_lr_autosomal"] == pytest.approx(math.log10(1 / 1.44), abs=1e-9)
    assert cands[("Q0", "F1")]["rank"] == 1


def test_sharding_does_not_change_the_candidates(inputs, shards):
    d, over = inputs
    out, _, _ = shards
    one, loci1 = _run(out, over)
    split, _ = _ingest(d, over, "shards-split", "ingest.families_per_shard=1", "ingest.queries_per_shard=1")
    assert len([s for s in load_manifest(split).shards if s.side == "reference"]) == 3
    two, loci2 = _run(split, over)
    assert one == two
    key = lambda r: (r["missing_id"], r["family_id"], r["locus"])   # noqa: E731
    assert sorted(loci1, key=key) == sorted(loci2, key=key)


@pytest.mark.slow
def test_the_flow_publishes_the_y_columns_run_json_and_report(shards, tmp_path):
    import json

    from reunion.flows.rematch import rematch_flow

    out, over, _ = shards
    s = load_settings(None, over + ["cluster.kind=local-threads"])
    rematch_flow(out, tmp_path / "run", s)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    # the reference: the run's 4 men with a Y haplotype and the file's 99
    assert run["y_evidence"]["reference_men"] == 103
    assert run["y_evidence"]["estimator"] == "kappa" and "Brenner" in run["y_evidence"]["estimator_source"]
    rows = pacsv.read_csv(tmp_path / "run" / "candidates.csv").to_pylist()
    c = next(r for r in rows if (r["missing_id"], r["family_id"]) == ("Q0", "F1"))
    num0 = (1 - 0.002) * (1 - 0.003) * (1 - 0.004)
    assert c["log10_lr_y"] == pytest.approx(math.log10(num0 * 103 / 3), abs=1e-9)
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Y-STR evidence" in html and "inherited as one block" in html


def test_bad_y_settings_are_one_line_errors(inputs, shards, tmp_path):
    from reunion.errors import InputError, SettingsError
    from reunion.yevidence import build_context

    d, over = inputs
    out, _, _ = shards
    m = load_manifest(out)
    with pytest.raises(SettingsError, match="ystr.rates"):
        build_context(out, m, load_settings(None, over + [f"ystr.rates={tmp_path / 'none.csv'}"]), ["Q0"])
    bad = tmp_path / "ref.csv"
    bad.write_text("sample_id,locus,allele1,allele2\nR1,DYS19,14,\nR1,TH01,6,7\n")
    with pytest.raises(InputError, match=r"ref.csv: line 3, field locus: 'TH01' is not a Y-STR locus"):
        build_context(out, m, load_settings(None, over + [f"ystr.reference={bad}"]), ["Q0"])
    # no Y evidence: the setting off, or no missing person with a Y haplotype
    assert build_context(out, m, load_settings(None, over + ["scoring.y_evidence=false"]), ["Q0"]) is None
    assert build_context(out, m, load_settings(None, over), ["QF"]) is None


def test_family_lines_and_their_reasons():
    import numpy as np

    from reunion.genetics.family import Family, Member
    from reunion.yevidence import family_line

    z = np.zeros(1, np.uint16)
    f = Family("F", [Member("FA", "father", "M", z, lost_sex="F")])
    assert family_line(f, {"FA"}) == (None, "no Y factor: the lost child is registered female")
    line, why = family_line(Family("F", [Member("UN", "paternal_uncle_aunt", "M", z)]), {"UN"})
    assert why is None and line.meioses_to_lost()["UN"] == 3          # via the untyped grandfather
    # an explicit pedigree: grandfather GF - father FA (untyped) - lost child X, and X's sister
    ped = Family("P", [Member("GF", "other", "M", z), Member("FA", "other", "M", z, father="GF"),
                       Member("X", "lost_child", "M", z, father="FA"),
                       Member("SI", "other", "F", z, father="FA")])
    line, why = family_line(ped, {"GF", "SI"})
    assert why is None and line.meioses_to_lost()["GF"] == 2
    assert "SI" not in {m.id for m in line.men}                      # a woman: not on the male line


def test_two_step_fraction(shards):
    out, over, _ = shards
    cands, _ = _run(out, over, "ystr.two_step=0.038")
    # a fraction w = 0.038 of mutations are two-step: f(+-1) = mu (1 - w) / 2; f(0) unchanged
    num1 = (1 - 0.002) * (1 - 0.003) * (0.004 * (1 - 0.038) / 2)
    p1 = (1 - 99 / 102) / 102
    assert cands[("Q1", "F1")]["log10_lr_y"] == pytest.approx(math.log10(num1 / p1), abs=1e-12)


def test_denominator_blocks_do_not_change_the_candidates(shards, monkeypatch):
    out, over, _ = shards
    whole, loci = _run(out, over)
    monkeypatch.setattr(pieces, "_MAX_DENOMINATORS", 1)      # one missing person per screen
    split, split_loci = _run(out, over)
    assert split == whole and split_loci == loci
