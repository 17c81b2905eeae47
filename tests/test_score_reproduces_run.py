"""``reunion score`` with a run's configuration reproduces every candidate's LR of that run.

A small simulated database (tests/conftest.py's ``small_db``, with some relatives relabelled
half sibling, grandparent and avuncular so that every hypothesis kind occurs) goes through the
real pipeline (ingest, the re-match's Dask graph: tables, screen, exact re-score); the
candidate list is then scored again by :func:`reunion.score.score_pairs` from the profiles
alone, with the run's settings and allele list, and every candidate's log10 LR, loci
compared and inconsistent loci must agree. The candidate list's LRs are the re-match's
exact float64 re-score (the screen only chooses the shortlist, within ranking.CUT_TOL), and
``reunion score`` goes through the same re-score code, so they agree to rounding (1e-9
absolute in log10 is asked; the observed difference is 0).

The slow test does the same through the command line: ``reunion rematch`` (the Prefect flow,
which writes run.json), then ``reunion score --run RUN --pairs RUN/candidates.csv``.

Pedigree candidates (issue 16, part 2: grandparents, uncles / aunts, cousins, a missing
adult's children; ``scoring.pedigree`` on by default) are reproduced from their ``members``
alone: each key names the member's relation (``paternal_grandmother1``), and with ``--run``
the members' registered sexes come from the run's shards.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import dask
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from reunion.flows import pieces
from reunion.ingest import (
    ingest,
    load_encoding,
    load_manifest,
    read_shard,
    shard_codes,
    shards_of,
)
from reunion.score import RunConfiguration, score_pairs
from reunion.settings import Settings, load_settings

TOL = 1e-9          # |delta log10 LR|, far below ranking.CUT_TOL (1e-6)
#: relabellings of the database fixture's three-generation and descendant families
PEDIGREE_LABELS = {
    13: {"father": "paternal_grandfather", "mother": "paternal_grandmother", "full_sibling": "paternal_uncle_aunt"},
    17: {"father": "maternal_uncle_aunt", "mother": "maternal_grandmother", "full_sibling": "maternal_first_cousin"},
    19: {"father": "child", "mother": "mother", "full_sibling": "full_sibling"},
}


# ------------------------------------------------------------------ a run and its inputs
@pytest.fixture(scope="module")
def database(small_db, tmp_path_factory) -> Path:
    """small_db relabelled so that every hypothesis kind occurs: every 5th family's siblings
    made half siblings (and every 10th family's parents left out), the relatives of every 7th
    family made grandparents, of every 11th avuncular (of every 22nd only one kept), and the
    parents of every third family with siblings left out (siblings only); pedigrees (issue 16): of the others, every 13th
    family's father, mother and siblings registered as paternal grandfather, grandmother and
    uncles / aunts, every 17th's as maternal uncle / aunt, grandmother and first cousins, and
    every 19th's (with a father) father as a child of the lost person (parent and child share
    one allele either way; the lost person's sex unknown: the mixture over both). (The genotypes
    stay those of parents and siblings: this checks reproduction, not the relations' truth.)"""
    out = tmp_path_factory.mktemp("relabelled")
    with open(small_db / "samples.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fams: dict[str, list[dict]] = {}
    for r in rows:
        if r["family_id"]:
            fams.setdefault(r["family_id"], []).append(r)
    dropped: set[str] = set()
    for i, fid in enumerate(sorted(fams)):
        members = fams[fid]
        has_sib = any(r["relation"] == "full_sibling" for r in members)
        has_father = any(r["relation"] == "father" for r in members)
        drop_parents = has_sib and (i % 10 == 0 or (i % 3 == 1 and i % 5 and i % 7 and i % 11))
        ped = next((PEDIGREE_LABELS[k] for k in PEDIGREE_LABELS if i % k == 0), None)
        if i % 5 == 0 or i % 7 == 0 or i % 11 == 0 or (ped is PEDIGREE_LABELS[19] and not has_father):
            ped = None
        for r in members:
            if i % 5 == 0 and r["relation"] == "full_sibling":
                r["relation"] = "half_sibling"
            elif i % 5 and (i % 7 == 0 or i % 11 == 0):
                r["relation"] = "grandparent" if i % 7 == 0 else "avuncular"
            elif ped is not None:
                r["relation"] = ped[r["relation"]]
            if drop_parents and r["relation"] in ("father", "mother"):
                dropped.add(r["sample_id"])
        if i % 5 and i % 7 and i % 22 == 0:     # one uncle or aunt alone: pair_avuncular
            dropped.update(r["sample_id"] for r in sorted(members, key=lambda r: r["sample_id"])[1:])
    with open(out / "samples.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if r["sample_id"] not in dropped)
    with open(small_db / "genotypes.csv", newline="") as src, open(out / "genotypes.csv", "w", newline="") as dst:
        dst.writelines(line for line in src if line.split(",", 1)[0].strip('"') not in dropped)
    return out


@pytest.fixture(scope="module")
def shards(database, settings, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shards")
    ingest(database / "samples.csv", [database / "genotypes.csv"], out, settings)
    return out


@pytest.fixture(scope="module")
def profiles(shards, tmp_path_factory) -> Path:
    """Every accepted profile, as the shards hold it, as a genotypes CSV."""
    m = load_manifest(shards)
    enc = load_encoding(shards, m)
    path = tmp_path_factory.mktemp("profiles") / "profiles.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "locus", "allele1", "allele2"])
        for side in ("query", "reference"):
            for rec in shards_of(m, side):
                t = read_shard(shards, rec)
                codes = shard_codes(t)
                for sid, row in zip(t.column("sample_id").to_pylist(), codes):
                    for l, g in enumerate(row.tolist()):
                        if g:
                            w.writerow([sid, enc.locus_names[l], *enc.genotype_label(l, g).split("/")])
    return path


def read(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def run_candidates(shards: Path, settings: Settings) -> list[dict]:
    """Every candidate of a re-match (the real graph, Dask's synchronous scheduler)."""
    work = pieces.plan_work(load_manifest(shards), settings)
    results = dask.compute(*pieces.rematch_graph(str(shards), settings, work), scheduler="synchronous")
    return [c for r in results for c in r["candidates"].to_pylist()]


def run_configuration_of(shards: Path, settings: Settings) -> RunConfiguration:
    """What run.json would give :func:`reunion.score.run_configuration` (without a flow)."""
    m = load_manifest(shards)
    enc = load_encoding(shards, m)
    return RunConfiguration(shards / "run.json", settings,
                            {lc.locus: frozenset(lc.alleles) for lc in enc.loci},
                            m.frequency_table.sha256, shards)


def write_pairs(path: Path, cands: list[dict]) -> Path:
    """The candidates as a pairs file: query_id, relationship (the hypothesis), members."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query_id", "relationship", "members"])
        for c in cands:
            w.writerow([c["missing_id"], c["hypothesis"], c["members"]])
    return path


def compare(cands: list[dict], scores: list[dict], hypothesis: str | None = None) -> float:
    """Max |delta log10 LR| over the candidates (of ``hypothesis`` only, when given); loci
    compared and inconsistent must be equal."""
    assert len(scores) == len(cands)
    worst = 0.0
    for c, s in zip(cands, scores):
        if hypothesis is not None and c["hypothesis"] != hypothesis:
            continue
        assert (s["query_id"], s["relationship"]) == (c["missing_id"], c["hypothesis"].replace("_", "-"))
        assert s["members"] == c["members"]
        assert int(s["loci_compared"]) == c["loci_compared"], c
        assert int(s["inconsistent_loci"]) == c["inconsistent_loci"], c
        got, want = float(s["log10_lr"]), c["log10_lr"]
        if math.isinf(want):
            assert got == want, c
            continue
        worst = max(worst, abs(got - want))
        assert abs(got - want) <= TOL, (c, got)
    return worst


CONFIGS = {
    # configs/demo.yaml: stepwise, male 0.003 / female 0.001, rate2 1e-6, range 0.1; plus per-locus
    # rates for two loci (both sexes) and another range and rate2
    "stepwise-sexed": ["mutation.locus_rates={D3S1358: 0.004, FGA: 0.0005}", "mutation.range=0.2",
                       "mutation.rate2=2.0e-6"],
    # proportional (stationary) with sex-specific rates and a floor of its own
    "proportional": ["mutation.model=proportional", "mutation.rate_male=0.005", "mutation.rate_female=0.0005",
                     "frequencies.floor=0.002"],
    # theta (mutation off): siblings-only families score as pair_full_sibling / pair_half_sibling
    "theta": ["mutation.model=none", "scoring.theta=0.02"],
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_score_pairs_reproduces_every_candidate(name, database, shards, profiles, tmp_path):
    s = load_settings(None, CONFIGS[name])
    if s.frequencies.floor != load_settings(None).frequencies.floor:   # a floor of its own: ingest again
        shards = tmp_path / "shards"
        ingest(database / "samples.csv", [database / "genotypes.csv"], shards, s)
    cands = run_candidates(shards, s)
    kinds = {c["hypothesis"] for c in cands}
    expected = {"trio", "duo_father", "duo_mother", "pair_grandparent", "pair_avuncular"} | (
        {"pair_full_sibling", "pair_half_sibling"} if s.scoring.theta > 0 else {"nuclear", "pedigree"})
    assert expected <= kinds, kinds
    if s.scoring.theta == 0:        # nuclear families with half siblings occur too
        assert any("halfsib" in c["members"] for c in cands if c["hypothesis"] == "nuclear")
        # pedigrees of every relabelled kind, named by relation (three generations; descendants)
        keys = {k.split(":")[0].rstrip("0123456789") for c in cands if c["hypothesis"] == "pedigree"
                for k in c["members"].split(";")}
        assert {"paternal_grandmother", "paternal_uncle_aunt", "maternal_grandmother",
                "maternal_first_cousin", "child"} <= keys, keys

    # the profiles of the candidates' people only: the run's allele list keeps the matrices the run's
    named = {c["missing_id"] for c in cands} | {m.split(":")[1] for c in cands for m in c["members"].split(";")}
    few = tmp_path / "few.csv"
    with open(profiles, newline="") as src, open(few, "w", newline="") as dst:
        rows = csv.reader(src)
        w = csv.writer(dst)
        w.writerow(next(rows))
        w.writerows(r for r in rows if r[0] in named)
    out = tmp_path / "scores.csv"
    score_pairs(few, None, write_pairs(tmp_path / "pairs.csv", cands), out, None,
                run=run_configuration_of(shards, s))
    scores = read(out)
    worst = compare(cands, scores)
    n_ped = sum(c["hypothesis"] == "pedigree" for c in cands)
    print(f"{name}: {len(cands)} candidates ({', '.join(sorted(kinds))}) reproduced, "
          f"max |delta log10 LR| = {worst:.3g}; {n_ped} pedigree candidates, max |delta| = "
          f"{compare(cands, scores, 'pedigree'):.3g}")


# ------------------------------------------------------------------ through the command line
@pytest.mark.slow
def test_reunion_score_run_reproduces_the_candidate_list(shards, profiles, tmp_path):
    """``reunion rematch`` then ``reunion score --run RUN --pairs RUN/candidates.csv``."""
    from reunion.cli import app

    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["rematch", "--shards", str(shards), "--out", str(run),
                                   "--set", "cluster.kind=local-threads"])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "run.json").read_text())["config"]["mutation"]["rate_male"] == 0.003
    cands = pacsv.read_csv(run / "candidates.csv").to_pylist()
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(app, ["score", "--run", str(run), "--profiles", str(profiles),
                                   "--pairs", str(run / "candidates.csv"), "--out", str(out),
                                   "--per-locus", str(tmp_path / "per_locus.csv")])
    assert res.exit_code == 0, res.output
    scores = read(out)
    worst = compare(cands, scores)
    n_ped = sum(c["hypothesis"] == "pedigree" for c in cands)
    assert n_ped > 0                    # pedigrees too: members' relations from their keys, sexes from the shards
    print(f"reunion score --run: {len(cands)} candidates reproduced, max |delta log10 LR| = {worst:.3g}; "
          f"{n_ped} pedigree candidates, max |delta| = {compare(cands, scores, 'pedigree'):.3g}")
    # the trio of the issue: without the run's sex-specific rates the LR differs
    trio = next(c for c in cands if c["hypothesis"] == "trio")
    (tmp_path / "one.csv").write_text(f"query_id,relationship,members\n{trio['missing_id']},trio,"
                                      f"{trio['members']}\n")
    res = CliRunner().invoke(app, ["score", "--profiles", str(profiles), "--pairs", str(tmp_path / "one.csv"),
                                   "--out", str(tmp_path / "neutral.csv"), "--set", "mutation.rate_male=null",
                                   "--set", "mutation.rate_female=null"])
    assert res.exit_code == 0, res.output
    neutral = float(read(tmp_path / "neutral.csv")[0]["log10_lr"])
    assert abs(neutral - trio["log10_lr"]) > 1e-6
    # --run with --set is refused (the run's configuration is the point), as one line
    bad = CliRunner().invoke(app, ["score", "--run", str(run), "--profiles", str(profiles),
                                   "--pairs", str(run / "candidates.csv"), "--out", str(tmp_path / "x.csv"),
                                   "--set", "scoring.theta=0.01"])
    assert bad.exit_code == 2 and "--run takes the configuration" in bad.output
    assert not (tmp_path / "x.csv").exists()
