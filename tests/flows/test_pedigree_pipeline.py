"""Families as pedigrees, end to end (issue 16, part 2).

- The samples contract accepts every relation code (the six of contract 1.0, the sided codes
  and a missing adult's descendants) and rejects an unknown one on its line.
- A three-generation family (paternal grandmother, an uncle and an aunt; the father, the
  grandfather and the mother untyped) goes through ingest, the re-match's Dask graph (tables,
  screen, exact re-score) and ``reunion score``: its candidate's LR is, locus by locus, the
  brute-force sum over every untyped founder allele and every meiosis of the hand-drawn
  pedigree (no mutation; nothing of reunion.genetics is used to compute it), and the candidate
  names its members by relation with their genotypes side by side in per_locus.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import dask
import pytest
from batches import write_frequencies

from reunion.contracts import RELATIONS
from reunion.flows import pieces
from reunion.ingest import ingest, load_manifest
from reunion.io.readers import read_samples
from reunion.score import RunConfiguration, score_pairs
from reunion.settings import load_settings

# ------------------------------------------------------------------ the contract


def test_samples_contract_accepts_every_relation_and_rejects_an_unknown_one(tmp_path):
    path = tmp_path / "samples.csv"
    lines = ["sample_id,role,family_id,relation,sex", "M1,missing,,,F"]
    lines += [f"R{i},relative,F1,{rel},{'M' if i % 2 else 'F'}" for i, rel in enumerate(RELATIONS)]
    lines += ["X1,relative,F1,cousin,M", "X2,relative,F1,Paternal_Grandmother,F"]
    path.write_text("\n".join(lines) + "\n")
    res = read_samples(path)
    got = [r for r in res.table.column("relation").to_pylist() if r]
    assert got == list(RELATIONS) + ["paternal_grandmother"]      # a code is read case-blind
    assert {"paternal_grandmother", "maternal_uncle_aunt", "child", "grandchild",
            "half_sibling_paternal"} <= set(got)
    assert len(res.rejects) == 1
    rej = res.rejects[0]
    # the header is line 1, M1 line 2, the 19 relatives lines 3..21: 'cousin' is on line 22
    assert (rej.row, rej.field) == (len(RELATIONS) + 3, "relation")
    assert "cousin" in rej.reason and "paternal_grandmother" in rej.reason and "child_other_parent" in rej.reason


# ------------------------------------------------------------------ a three-generation family
P = {"D3S1358": (["14", "15", "16"], [0.2, 0.3, 0.5]),
     "TH01": (["6", "7", "8"], [0.5, 0.3, 0.2]),
     "FGA": (["20", "21", "22"], [0.25, 0.25, 0.5])}
#: locus -> (grandmother, uncle, aunt, missing person), allele labels
GENOTYPES = {"D3S1358": (("14", "15"), ("15", "16"), ("14", "16"), ("15", "16")),
             "TH01": (("7", "7"), ("7", "8"), ("6", "7"), ("7", "8")),
             "FGA": (("20", "22"), ("22", "22"), ("21", "22"), ("20", "21"))}


def brute_lr(p: list[float], gm, u, a, c) -> float:
    """LR of the missing person c as the lost child of the grandmother's untyped son.

    Founders: grandfather (x1, x2), grandmother (y1, y2), the lost child's mother (z1, z2),
    alleles independent with frequencies p. Meioses (fair bits): the uncle, the aunt and the
    untyped father each take one allele of the grandfather and one of the grandmother; the lost
    child one of the father's and one of the mother's. LR = P(c, D) / (P(D) P_HW(c))."""
    n = len(p)
    def same(g, h) -> bool:
        return sorted(g) == sorted(h)
    num = den = 0.0
    for x1, x2, y1, y2, z1, z2 in itertools.product(range(n), repeat=6):
        w = p[x1] * p[x2] * p[y1] * p[y2] * p[z1] * p[z2]
        if not same((y1, y2), gm):
            continue
        for bits in itertools.product((0, 1), repeat=8):
            gf, gmo = (x1, x2), (y1, y2)
            uu = (gf[bits[0]], gmo[bits[1]])
            aa = (gf[bits[2]], gmo[bits[3]])
            father = (gf[bits[4]], gmo[bits[5]])
            child = (father[bits[6]], (z1, z2)[bits[7]])
            if same(uu, u) and same(aa, a):
                q = w / 256.0
                den += q
                num += q * same(child, c)
    hw = p[c[0]] ** 2 if c[0] == c[1] else 2 * p[c[0]] * p[c[1]]
    return num / den / hw


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("pedigree")
    write_frequencies(d / "freq.csv", P)
    (d / "samples.csv").write_text(
        "sample_id,role,family_id,relation,sex\n"
        "GM,relative,F1,paternal_grandmother,F\nU,relative,F1,paternal_uncle_aunt,M\n"
        "A,relative,F1,paternal_uncle_aunt,F\nQ,missing,,,M\n")
    with open(d / "genotypes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        for locus, gs in GENOTYPES.items():
            for sid, g in zip(("GM", "U", "A", "Q"), gs):
                w.writerow([sid, locus, *g])
    over = [f"frequencies.table={d / 'freq.csv'}", "frequencies.population=Test", "mutation.model=none",
            "scoring.min_typed_loci=1", "scoring.log10_lr_floor=-50", "scoring.keep_all_log10_lr=null"]
    return {"dir": d, "settings": load_settings(None, over), "over": over}


def _rematch(shards: Path, settings) -> dict:
    work = pieces.plan_work(load_manifest(shards), settings)
    results = dask.compute(*pieces.rematch_graph(str(shards), settings, work), scheduler="synchronous")
    return {"candidates": [c for r in results for c in r["candidates"].to_pylist()],
            "per_locus": [x for r in results for x in r["per_locus"].to_pylist()]}


def test_three_generation_family_lr_is_the_brute_force_through_the_pipeline(family, tmp_path):
    d, s = family["dir"], family["settings"]
    assert s.scoring.pedigree is True                         # the default
    shards = tmp_path / "shards"
    summary = ingest(d / "samples.csv", [d / "genotypes.csv"], shards, s)
    assert summary.rows_rejected == 0
    out = _rematch(shards, s)
    (cand,) = out["candidates"]
    assert cand["hypothesis"] == "pedigree" and cand["family_id"] == "F1"
    # members by relation and number (sample id order: A before U)
    assert cand["members"] == "paternal_uncle_aunt1:A;paternal_grandmother1:GM;paternal_uncle_aunt2:U"
    want = 0.0
    for locus, (alleles, p) in P.items():
        gm, u, a, c = ([alleles.index(x) for x in g] for g in GENOTYPES[locus])
        lr = brute_lr(p, gm, u, a, c)
        row = next(r for r in out["per_locus"] if r["locus"] == locus)
        assert row["lr"] == pytest.approx(lr, rel=1e-12), locus
        want += math.log10(lr)
        # every typed member's genotype side by side, by relation
        g = GENOTYPES[locus]
        assert row["other_genotype"] == (f"paternal_uncle_aunt1: {'/'.join(g[2])}; paternal_grandmother1: "
                                         f"{'/'.join(g[0])}; paternal_uncle_aunt2: {'/'.join(g[1])}")
    assert cand["log10_lr"] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert cand["loci_compared"] == 3 and cand["inconsistent_loci"] == 0
    # hand check of one locus (TH01: GM 7/7, U 7/8, A 6/7, Q 7/8): the father carries 7 from
    # the grandmother surely, and from the grandfather 8 or 6 with the uncle's or the aunt's
    assert brute_lr(*P["TH01"][1:], [1, 1], [1, 2], [0, 1], [1, 2]) > 1

    # reunion score reproduces it from the candidate list (relations read off the member keys)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"query_id,relationship,members\nQ,pedigree,{cand['members']}\n")
    from reunion.ingest import load_encoding
    enc = load_encoding(shards, load_manifest(shards))
    run = RunConfiguration(shards / "run.json", s, {lc.locus: frozenset(lc.alleles) for lc in enc.loci},
                           load_manifest(shards).frequency_table.sha256, shards)
    score_pairs(d / "genotypes.csv", None, pairs, tmp_path / "scores.csv", None, run=run)
    with open(tmp_path / "scores.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["log10_lr"]) == cand["log10_lr"] and row["members"] == cand["members"]

    # scoring.pedigree=false: the one relative typed at the most loci (all three at 3: the first
    # sample id, the aunt A), by the pairwise avuncular formula
    s0 = load_settings(None, family["over"] + ["scoring.pedigree=false"])
    (c0,) = _rematch(shards, s0)["candidates"]
    assert c0["hypothesis"] == "pair_avuncular" and c0["members"] == "other:A"
    assert c0["log10_lr"] != pytest.approx(cand["log10_lr"])


def test_score_refuses_a_pedigree_without_a_member_beyond_the_nuclear_family(family, tmp_path):
    from reunion.score import ScoreInputError
    d = family["dir"]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("query_id,relationship,members\nQ,pedigree,father:GM;full_sibling1:U\n")
    with pytest.raises(ScoreInputError, match="row 2, field 'members'.*beyond parents and siblings"):
        score_pairs(d / "genotypes.csv", d / "freq.csv", pairs, tmp_path / "s.csv", None, family["settings"])
    pairs.write_text("query_id,relationship,members\nQ,pedigree,cousin1:GM\n")
    with pytest.raises(ScoreInputError, match="row 2, field 'members'.*paternal_grandmother1"):
        score_pairs(d / "genotypes.csv", d / "freq.csv", pairs, tmp_path / "s.csv", None, family["settings"])


# ------------------------------------------------------------------ simulated long separations
def test_grandparent_families_found_jointly_where_the_single_relative_misses(tmp_path):
    """Every family registers one side's grandparent(s) and uncles / aunts only; the joint
    pedigree finds more planted children at rank 1 than the single relative typed at most loci,
    and evaluate() counts them under their kind."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reunion.evaluate import evaluate
    from reunion.frequencies import load_frequency_table
    from reunion.simulate import SimulationSettings, simulate_database

    s = load_settings(None)
    table = load_frequency_table(s.frequencies.table, s.frequencies.population)
    db = tmp_path / "db"
    sim = simulate_database(db, table, SimulationSettings(n_families=150, n_unrelated_missing=50,
                                                          grandparents_fraction=1.0, seed=3))
    assert sim.planted_by_kind["grandparents and uncles/aunts"] == sim.n_planted == 75
    shards = tmp_path / "shards"
    ingest(db / "samples.csv", [db / "genotypes.csv"], shards, s)
    rates = {}
    for on in (True, False):
        run = _rematch(shards, load_settings(None, [f"scoring.pedigree={str(on).lower()}"]))
        hyps = {c["hypothesis"] for c in run["candidates"]}
        assert ("pedigree" in hyps) == on and (hyps <= {"pedigree"} if on else "pedigree" not in hyps)
        path = tmp_path / f"candidates_{on}.parquet"
        pq.write_table(pa.Table.from_pylist(run["candidates"]), path)
        ev = evaluate(path, db / "truth.csv", db / "samples.csv")
        assert set(ev.by_kind) == {"grandparents and uncles/aunts"}
        n, r1 = ev.by_kind["grandparents and uncles/aunts"]
        assert (n, r1) == (ev.planted, ev.rank1)
        rates[on] = r1 / n
    print(f"rank 1, grandparents + uncles/aunts: joint {rates[True]:.3f}, single relative {rates[False]:.3f}")
    assert rates[True] >= 0.75 and rates[True] > rates[False] + 0.15
