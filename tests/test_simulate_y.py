"""Tests of the family simulator's paternal lines (issue 20): the paternal-line family kinds and
every man's Y haplotype (reunion.simulate, ``y_haplotypes``).

Expectations are worked out here from the shipped rates: over m male-line meioses a copy of a
locus with per-copy rate r shows no net change with probability step_law(r, m) at 0 (the
simulator's step is +-1, symmetric, as step_law's); a c-copy locus looks the same with
probability (that)^c, up to O(r^2) coincidences (two copies trading values). The number of
loci that differ between two men is a sum of independent Bernoulli variables over pairs and
loci: the tests allow 4.5 standard deviations of it.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import pydantic
import pytest

from reunion.errors import SettingsError
from reunion.evaluate import KINDS, family_kinds
from reunion.frequencies import FrequencyTable, load_frequency_table
from reunion.genetics.ystr import load_ystr_rates, parse_y_rows, per_copy_rate, step_law, y_locus
from reunion.lineage import read_y_genotypes
from reunion.loci import locus_kind
from reunion.simulate import YFILER, FAMILY_KINDS, SimulationSettings, simulate_database

TABLE_PATH = Path(__file__).parents[1] / "configs" / "frequencies" / "nist1036_us_2017.csv"
TOL_SD = 4.5


@pytest.fixture(scope="module")
def table() -> FrequencyTable:
    return load_frequency_table(TABLE_PATH, "Asian")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _run(tmp_path: Path, table: FrequencyTable, name: str, **kw) -> Path:
    out = tmp_path / name
    simulate_database(out, table, SimulationSettings(**kw))
    return out


def _y_haps(out: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """sample_id -> Y locus -> (allele1, allele2) from genotypes.csv."""
    haps: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for r in _rows(out / "genotypes.csv"):
        if y_locus(r["locus"])[0] is not None:
            assert r["locus"] not in haps[r["sample_id"]]
            haps[r["sample_id"]][r["locus"]] = (r["allele1"], r["allele2"])
    return haps


def _differing(a: dict, b: dict) -> int:
    return sum(a[k] != b[k] for k in YFILER)


def _p_differ(meioses: int) -> dict[str, float]:
    """Per Yfiler locus, P(two men ``meioses`` male-line meioses apart differ there)."""
    rates = load_ystr_rates()
    out = {}
    for locus in YFILER:
        c = y_locus(locus)[0].copies
        law = step_law(per_copy_rate(rates[locus], c), meioses)
        out[locus] = 1.0 - law[(law.size - 1) // 2] ** c
    return out


def _assert_binomial(observed: int, n_pairs: int, meioses: int) -> None:
    p = _p_differ(meioses)
    mean = n_pairs * sum(p.values())
    sd = math.sqrt(n_pairs * sum(q * (1 - q) for q in p.values()))
    assert abs(observed - mean) <= TOL_SD * sd, (observed, mean, sd, meioses)


def _families(out: Path) -> tuple[dict, dict, dict]:
    """(family -> relation -> [sample ids], sample -> sex, family -> planted lost child id)."""
    fams: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    sex = {}
    for r in _rows(out / "samples.csv"):
        sex[r["sample_id"]] = r["sex"]
        if r["family_id"]:
            fams[r["family_id"]][r["relation"]].append(r["sample_id"])
    lost = {t["family_id"]: t["missing_id"] for t in _rows(out / "truth.csv") if t["kind"] == "lost_child"}
    return fams, sex, lost


# --------------------------------------------------------------------------- inheritance along the pedigree

def test_father_son_differences_match_the_shipped_rates(tmp_path, table):
    # every family registers its father and 1-2 full siblings; the male siblings are the
    # father's sons: one meiosis, so per pair locus l differs with probability mu_l
    out = _run(tmp_path, table, "fs", n_families=3000, n_unrelated_missing=0, lost_child_fraction=0.0,
               one_parent_fraction=0.0, sibling_fraction=1.0, y_haplotypes=True, seed=11)
    fams, sex, _ = _families(out)
    haps = _y_haps(out)
    n_pairs = n_diff = 0
    for by_rel in fams.values():
        (father,) = by_rel["father"]
        for s in by_rel["full_sibling"]:
            if sex[s] == "M":
                n_pairs += 1
                d = _differing(haps[father], haps[s])
                n_diff += d
                for locus in YFILER:               # a change is one repeat step (single-copy loci)
                    if y_locus(locus)[0].copies == 1 and haps[father][locus] != haps[s][locus]:
                        assert abs(int(haps[father][locus][0]) - int(haps[s][locus][0])) == 1
    rates = load_ystr_rates()
    assert _p_differ(1) == pytest.approx({k: rates[k] for k in YFILER}, rel=1e-12)   # one meiosis: mu
    assert n_pairs > 1800                          # about 3000 x 1.5 x 1/2
    _assert_binomial(n_diff, n_pairs, 1)
    # and not two meioses' worth (twice as many): the test tells one meiosis from two
    assert n_diff < n_pairs * sum(_p_differ(2).values()) - TOL_SD * math.sqrt(n_pairs * 0.1)


def test_uncle_and_cousin_differ_from_the_lost_boy_by_3_and_4_meioses(tmp_path, table):
    out = _run(tmp_path, table, "uc", n_families=3000, n_unrelated_missing=0, lost_child_fraction=1.0,
               paternal_uncle_cousin_fraction=1.0, y_haplotypes=True, seed=12)
    fams, sex, lost = _families(out)
    haps = _y_haps(out)
    d_uncle = d_cousin = 0
    for fid, by_rel in fams.items():
        boy = lost[fid]
        assert sex[boy] == "M"
        (uncle,) = by_rel["paternal_uncle_aunt"]
        (cousin,) = by_rel["paternal_first_cousin"]
        assert sex[uncle] == sex[cousin] == "M" and set(by_rel) == {"paternal_uncle_aunt", "paternal_first_cousin"}
        d_uncle += _differing(haps[uncle], haps[boy])
        d_cousin += _differing(haps[cousin], haps[boy])
    assert len(fams) == 3000
    # boy - father - grandfather - uncle: 3 meioses; boy - father - grandfather - uncle' - cousin: 4
    _assert_binomial(d_uncle, 3000, 3)
    _assert_binomial(d_cousin, 3000, 4)


def test_paternal_half_brothers_are_two_meioses_from_the_lost_boy(tmp_path, table):
    out = _run(tmp_path, table, "hb", n_families=3000, n_unrelated_missing=0, lost_child_fraction=1.0,
               paternal_half_brothers_fraction=1.0, y_haplotypes=True, seed=13)
    fams, sex, lost = _families(out)
    haps = _y_haps(out)
    n_pairs = n_diff = 0
    for fid, by_rel in fams.items():
        assert set(by_rel) == {"half_sibling_paternal"} and 1 <= len(by_rel["half_sibling_paternal"]) <= 2
        for hb in by_rel["half_sibling_paternal"]:
            assert sex[hb] == "M"
            n_pairs += 1
            n_diff += _differing(haps[hb], haps[lost[fid]])
    _assert_binomial(n_diff, n_pairs, 2)


def test_men_off_the_paternal_line_carry_another_lineage(tmp_path, table):
    # grandparents kinds (either side) and the descendants kind beside plain families: the
    # paternal-line men (father, brothers, paternal grandfather and uncles, a lost man's sons)
    # share the lost boy's lineage; a maternal grandfather and his sons (the maternal uncles) do
    # not, but for the chance that their line fell in the boy's lineage (1 / n_lineages)
    out = _run(tmp_path, table, "off", n_families=3000, n_unrelated_missing=500, lost_child_fraction=1.0,
               grandparents_fraction=0.6, descendants_fraction=0.2, y_haplotypes=True, seed=14)
    fams, sex, lost = _families(out)
    haps = _y_haps(out)
    lineage = {r["sample_id"]: r["lineage"] for r in _rows(out / "y_lineages.csv")}
    assert set(lineage) == {s for s, x in sex.items() if x == "M"} == set(haps)
    n_lineages = len(set(lineage.values()))
    same_line, maternal, d_maternal, d_paternal, n_paternal = 0, 0, 0, 0, 0
    for fid, by_rel in fams.items():
        boy = lost[fid]
        if sex[boy] != "M":
            continue
        paternal = [s for rel in ("father", "full_sibling", "paternal_grandfather", "paternal_uncle_aunt")
                    for s in by_rel.get(rel, [])]
        paternal += by_rel.get("child", [])               # a lost man's children are his
        for s in paternal:
            if sex[s] == "M":
                assert lineage[s] == lineage[boy], (fid, s)
                n_paternal += 1
                d_paternal += _differing(haps[s], haps[boy])
        for s in by_rel.get("maternal_grandfather", []) + by_rel.get("maternal_uncle_aunt", []):
            if sex[s] == "M":
                maternal += 1
                if lineage[s] == lineage[boy]:
                    same_line += 1
                else:
                    d_maternal += _differing(haps[s], haps[boy])
    assert maternal > 300 and n_paternal > 1000
    expected = maternal / n_lineages
    assert same_line <= expected + TOL_SD * math.sqrt(expected) + 1, (same_line, expected)
    # other lineages' founders are independent draws (discrete Laplace, p = 0.4 per copy): two
    # differ at a single-copy locus with probability 1 - ((1-p)/(1+p))^2 (1+p^2)/(1-p^2) = 0.746,
    # so at about 12 of the 16 loci; men of one line at a few meioses at well under one
    p = 0.4
    p_same = ((1 - p) / (1 + p)) ** 2 * (1 + p * p) / (1 - p * p)
    assert d_maternal / (maternal - same_line) > 0.8 * 16 * (1 - p_same)
    assert d_paternal / n_paternal < 0.5


def test_many_families_share_a_lineage_and_often_its_very_haplotype(tmp_path, table):
    # the villages: Y alone does not tell families of one lineage apart. Two lost boys of
    # one lineage (different families) are 2 x y_generations + 4 meioses apart
    out = _run(tmp_path, table, "vil", n_families=2000, n_unrelated_missing=0, lost_child_fraction=1.0,
               one_parent_fraction=0.0, sibling_fraction=0.0, y_haplotypes=True, y_lines_per_lineage=20,
               y_generations=6, seed=15)
    _, sex, lost = _families(out)
    haps = _y_haps(out)
    lineage = {r["sample_id"]: r["lineage"] for r in _rows(out / "y_lineages.csv")}
    # lines: the 2000 families' paternal lines only (the men are the fathers and the boys):
    # 2000 / 20 = 100 lineages
    assert len(set(lineage.values())) == 100
    boys = [b for b in lost.values() if sex[b] == "M"]
    by_lin = defaultdict(list)
    for b in boys:
        by_lin[lineage[b]].append(b)
    pairs = [(a, b) for v in by_lin.values() for i, a in enumerate(v) for b in v[i + 1:]]
    assert len(pairs) > 1000
    same = sum(_differing(haps[a], haps[b]) == 0 for a, b in pairs)
    # P(identical) = prod over loci of P(no net change in 16 meioses), pairs of one lineage
    # are not independent (they share the founder) but each pair's probability is this
    p_ident = math.prod(1 - q for q in _p_differ(16).values())
    assert 0.3 < p_ident < 0.6
    assert abs(same / len(pairs) - p_ident) < 0.1, (same / len(pairs), p_ident)


# --------------------------------------------------------------------------- the rows and the files

def test_y_rows_pass_the_contract_reader(tmp_path, table):
    out = _run(tmp_path, table, "rows", n_families=400, n_unrelated_missing=100, seed=16, corrupt_rows=6,
               grandparents_fraction=0.2, descendants_fraction=0.1, paternal_uncle_cousin_fraction=0.2,
               paternal_half_brothers_fraction=0.1, y_haplotypes=True)
    samples = _rows(out / "samples.csv")
    sexes = {r["sample_id"]: r["sex"] for r in samples}
    men = {s for s, x in sexes.items() if x == "M"}
    genos = _rows(out / "genotypes.csv")
    y_rows = [r for r in genos if locus_kind(r["locus"]) == "y"]
    assert len(y_rows) == 16 * len(men)
    # the genotypes contract reader of Y rows: nothing rejected, a haplotype for every man at
    # all 16 loci, and no woman typed
    read = read_y_genotypes(out / "genotypes.csv", sexes)
    assert read.rejects == [] and set(read.haplotypes) == men
    assert all(len(h.alleles) == 16 for h in read.haplotypes.values())
    parsed = parse_y_rows([(r["sample_id"], r["locus"], r["allele1"], r["allele2"]) for r in genos], sexes)
    assert parsed.rejects == [] and set(parsed.haplotypes) == men
    assert parsed.not_y == len(genos) - len(y_rows)
    for r in y_rows:                               # one allele per single-copy locus; DYS385a/b sorted
        if y_locus(r["locus"])[0].copies == 1:
            assert r["allele2"] == "" and int(r["allele1"]) >= 1
        else:
            assert r["allele2"] == "" or int(r["allele1"]) < int(r["allele2"])
    # the Y rows follow every autosomal row (the corrupt rows' row numbers stand)
    first_y = next(i for i, r in enumerate(genos) if locus_kind(r["locus"]) == "y")
    assert all(locus_kind(r["locus"]) == "y" for r in genos[first_y:])
    assert max(int(t["row"]) for t in _rows(out / "truth_corrupt.csv")) <= first_y + 1


def test_the_default_writes_no_y_rows_and_y_changes_no_autosomal_byte(tmp_path, table):
    kw = dict(n_families=300, n_unrelated_missing=50, seed=17, corrupt_rows=3,
              grandparents_fraction=0.2, paternal_uncle_cousin_fraction=0.2)
    off = _run(tmp_path, table, "off", **kw)
    default = _run(tmp_path, table, "default", n_families=300, n_unrelated_missing=50, seed=17, corrupt_rows=3)
    for out in (off, default):
        assert not any(locus_kind(r["locus"]) == "y" for r in _rows(out / "genotypes.csv"))
        assert not (out / "y_lineages.csv").exists()
    assert SimulationSettings().y_haplotypes is False
    on = _run(tmp_path, table, "on", y_haplotypes=True, **kw)
    for name in ("samples.csv", "truth.csv", "truth_corrupt.csv"):
        assert (on / name).read_bytes() == (off / name).read_bytes(), name
    g_off, g_on = (off / "genotypes.csv").read_bytes(), (on / "genotypes.csv").read_bytes()
    assert len(g_on) > len(g_off) and g_on.startswith(g_off)       # Y rows appended, nothing else
    # a stale y_lineages.csv goes when the folder is simulated again without Y
    simulate_database(on, table, SimulationSettings(**kw))
    assert not (on / "y_lineages.csv").exists()
    assert (on / "genotypes.csv").read_bytes() == g_off


def test_y_is_reproducible_and_the_seed_matters(tmp_path, table):
    kw = dict(n_families=200, n_unrelated_missing=20, paternal_uncle_cousin_fraction=0.3, y_haplotypes=True)
    a, b = _run(tmp_path, table, "a", seed=5, **kw), _run(tmp_path, table, "b", seed=5, **kw)
    c = _run(tmp_path, table, "c", seed=6, **kw)
    for name in ("genotypes.csv", "y_lineages.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()


def test_paternal_kinds_in_the_configured_proportions(tmp_path, table):
    out = _run(tmp_path, table, "kinds", n_families=400, n_unrelated_missing=0, seed=18,
               paternal_uncle_cousin_fraction=0.25, paternal_half_brothers_fraction=0.15,
               grandparents_fraction=0.1)
    kinds = family_kinds(out / "samples.csv")
    count = {k: sum(v == k for v in kinds.values()) for k in KINDS}
    assert (count["paternal uncle and cousin"], count["paternal half brothers"],
            count["grandparents and uncles/aunts"]) == (100, 60, 40)
    assert count["both parents"] + count["one parent"] == 200 and count["other"] == 0
    assert KINDS[:-1] == FAMILY_KINDS
    fams, sex, lost = _families(out)
    for fid, k in kinds.items():
        if k in ("paternal uncle and cousin", "paternal half brothers") and fid in lost:
            assert sex[lost[fid]] == "M"                 # a lost boy
    truth = {t["family_id"]: t for t in _rows(out / "truth.csv") if t["kind"] == "lost_child"}
    assert all(t["parents_registered"] == "none" for f, t in truth.items()
               if kinds[f] in ("paternal uncle and cousin", "paternal half brothers"))


def test_paternal_kinds_are_related_as_registered(tmp_path, table):
    # autosomal identity by state at a locus (a shared allele): with k1 the probability of one
    # allele identical by descent (1/2 for a half brother or an uncle, 1/4 for a first cousin)
    # and P0 the rate of unrelated men (measured), P(share) = k1 + (1 - k1) P0 (mutation aside:
    # rates 1e-3)
    out = _run(tmp_path, table, "rel", n_families=1500, n_unrelated_missing=0, lost_child_fraction=1.0,
               paternal_uncle_cousin_fraction=0.5, paternal_half_brothers_fraction=0.5, dropout_fraction=0.0,
               kits={"full": [x for x in load_frequency_table(TABLE_PATH, "Asian").locus_names]}, seed=19)
    fams, _, lost = _families(out)
    prof: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for r in _rows(out / "genotypes.csv"):
        prof[r["sample_id"]][r["locus"]] = {r["allele1"], r["allele2"]}

    def ibs(a: str, b: str) -> tuple[int, int]:
        shared = [bool(prof[a][k] & prof[b][k]) for k in prof[a] if k in prof[b]]
        return sum(shared), len(shared)

    tot = defaultdict(lambda: [0, 0])
    boys = list(lost.values())
    for i, (fid, by_rel) in enumerate(sorted(fams.items())):
        for rel, who in (("uncle", "paternal_uncle_aunt"), ("cousin", "paternal_first_cousin"),
                         ("half", "half_sibling_paternal")):
            for s in by_rel.get(who, []):
                for key, other in ((rel, lost[fid]), ("unrelated", boys[(i + 7) % len(boys)])):
                    n, m = ibs(s, other)
                    tot[key][0] += n
                    tot[key][1] += m
    rate = {k: n / m for k, (n, m) in tot.items()}
    p0 = rate["unrelated"]
    assert tot["unrelated"][1] > 40_000 and 0.3 < p0 < 0.8
    for key, k1 in (("half", 0.5), ("uncle", 0.5), ("cousin", 0.25)):
        assert abs(rate[key] - (k1 + (1 - k1) * p0)) < 0.02, (key, rate[key], k1 + (1 - k1) * p0)


# --------------------------------------------------------------------------- settings

def test_y_kit_setting(tmp_path, table):
    out = _run(tmp_path, table, "kit", n_families=50, n_unrelated_missing=10, y_haplotypes=True,
               y_kit=["DYS19", "DYS385a/b", "DYS390"], seed=20)
    loci = {r["locus"] for r in _rows(out / "genotypes.csv") if locus_kind(r["locus"]) == "y"}
    assert loci == {"DYS19", "DYS385a/b", "DYS390"}
    with pytest.raises(SettingsError, match="simulation.y_kit: 'DYS999'"):
        _run(tmp_path, table, "bad", n_families=5, y_haplotypes=True, y_kit=["DYS999"])
    for bad in ({"y_kit": []}, {"y_kit": [" "]}, {"y_lines_per_lineage": 0}, {"y_generations": 41},
                {"paternal_uncle_cousin_fraction": 1.5}, {"paternal_half_brothers_fraction": -0.1},
                {"paternal_uncle_cousin_fraction": 0.6, "paternal_half_brothers_fraction": 0.5}):
        with pytest.raises(pydantic.ValidationError):
            SimulationSettings(**bad)


def test_paternal_lines_config_is_the_long_separation_run_with_paternal_kinds_and_y():
    from reunion.settings import load_settings

    root = Path(__file__).parents[1] / "configs"
    s, long = load_settings(root / "paternal_lines.yaml"), load_settings(root / "long_separation.yaml")
    sim = s.simulation
    assert sim.y_haplotypes and sim.y_kit is None and (sim.y_lines_per_lineage, sim.y_generations) == (20, 6)
    assert (sim.paternal_uncle_cousin_fraction, sim.paternal_half_brothers_fraction, sim.siblings_only_fraction,
            sim.grandparents_fraction, sim.descendants_fraction) == (0.25, 0.15, 0.10, 0.20, 0.10)
    # the run's own settings are the long-separation run's: only the simulated input differs
    assert s.digest() == long.digest()
