"""Tests of the synthetic national database (reunion.simulate)."""

from __future__ import annotations

import csv
import math
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pydantic
import pytest

from reunion.contracts import GENOTYPES, RELATIONS, SAMPLES
from reunion.frequencies import FrequencyTable, LocusFrequencies, load_frequency_table
from reunion.loci import valid_allele
from reunion.simulate import (IDENTIFILER15, SimulationSettings, SimulationSummary,
                              _exact_mask, _label_of_tenths, _transmit, simulate_database)

TABLE_PATH = Path(__file__).parents[1] / "configs" / "frequencies" / "nist1036_us_2017.csv"
FILES = ("samples.csv", "genotypes.csv", "truth.csv")


@pytest.fixture(scope="module")
def table() -> FrequencyTable:
    return load_frequency_table(TABLE_PATH, "Asian")


def _rows(path: Path | str) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _load(out: Path):
    samples = _rows(out / "samples.csv")
    genos = _rows(out / "genotypes.csv")
    truth = _rows(out / "truth.csv")
    return samples, genos, truth


def _profiles(genos: list[dict[str, str]]) -> dict[str, dict[str, tuple[str, str]]]:
    prof: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for r in genos:
        assert r["locus"] not in prof[r["sample_id"]], "duplicate locus row"
        prof[r["sample_id"]][r["locus"]] = (r["allele1"], r["allele2"])
    return prof


def _run(tmp_path: Path, table: FrequencyTable, name: str = "db", **kw) -> tuple[Path, SimulationSummary]:
    out = tmp_path / name
    return out, simulate_database(out, table, SimulationSettings(**kw))


# --------------------------------------------------------------------------- reproducibility

def test_same_seed_same_bytes_other_seed_differs(tmp_path, table):
    a, sa = _run(tmp_path, table, "a", seed=7, corrupt_rows=3)
    b, sb = _run(tmp_path, table, "b", seed=7, corrupt_rows=3)
    c, _ = _run(tmp_path, table, "c", seed=8, corrupt_rows=3)
    for name in FILES + ("truth_corrupt.csv",):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "genotypes.csv").read_bytes() != (c / "genotypes.csv").read_bytes()
    assert (a / "truth.csv").read_bytes() != (c / "truth.csv").read_bytes()
    # rerun into the same folder: same bytes, no leftover temporary files
    before = {n: (a / n).read_bytes() for n in FILES}
    simulate_database(a, table, SimulationSettings(seed=7, corrupt_rows=3))
    assert {n: (a / n).read_bytes() for n in FILES} == before
    assert sorted(p.name for p in a.iterdir()) == sorted(FILES + ("truth_corrupt.csv",))
    assert (sa.n_genotype_rows, sa.n_mutations) == (sb.n_genotype_rows, sb.n_mutations)
    # outputs are not world-readable
    assert (a / "genotypes.csv").stat().st_mode & 0o007 == 0


# --------------------------------------------------------------------------- counts and contracts

def test_counts_match_files_and_contracts(tmp_path, table):
    out, s = _run(tmp_path, table, n_families=200, n_unrelated_missing=100, seed=3)
    samples, genos, truth = _load(out)
    assert list(samples[0]) == SAMPLES.names
    assert list(genos[0]) == GENOTYPES.names
    assert list(truth[0])[:5] == ["missing_id", "family_id", "kind", "parents_registered",
                                  "n_mutations"]
    assert set(s.paths) == {"samples", "genotypes", "truth"}
    assert not (out / "truth_corrupt.csv").exists()

    rel = [r for r in samples if r["role"] == "relative"]
    miss = [r for r in samples if r["role"] == "missing"]
    assert len(rel) == s.n_relatives and len(miss) == s.n_missing
    assert len(samples) == len({r["sample_id"] for r in samples})
    assert len(genos) == s.n_genotype_rows and s.n_corrupt_rows == 0
    assert len(truth) == s.n_missing == s.n_planted + 100
    assert [t["missing_id"] for t in truth] == [r["sample_id"] for r in miss]
    kinds = Counter(t["kind"] for t in truth)
    assert kinds == {"lost_child": s.n_planted, "unrelated": 100}
    assert s.n_planted == 100  # round(0.5 * 200)
    assert sum(t["parents_registered"] == "both" for t in truth) == s.n_planted_trio
    assert s.n_planted_trio < s.n_planted

    # families: every family registers at least one parent, at most two siblings
    fams: dict[str, Counter] = defaultdict(Counter)
    for r in rel:
        assert r["relation"] in RELATIONS and r["family_id"].startswith("F")
        assert r["sample_id"].startswith("R")
        fams[r["family_id"]][r["relation"]] += 1
        assert r["sex"] == {"father": "M", "mother": "F"}.get(r["relation"], r["sex"])
    assert len(fams) == s.n_families == 200
    one_parent = 0
    for c in fams.values():
        assert c["father"] <= 1 and c["mother"] <= 1 and c["father"] + c["mother"] >= 1
        assert c["full_sibling"] <= 2
        one_parent += c["father"] + c["mother"] == 1
    assert one_parent == 40  # round(0.2 * 200)
    assert sum(c["full_sibling"] > 0 for c in fams.values()) == 60  # round(0.3 * 200)
    for t in truth:
        if t["kind"] == "lost_child":
            c = fams[t["family_id"]]
            expect = "both" if c["father"] and c["mother"] else ("father" if c["father"] else "mother")
            assert t["parents_registered"] == expect
        else:
            assert t["family_id"] == "" and t["parents_registered"] == "" and t["n_mutations"] == "0"

    # missing persons: ids reveal nothing, no family fields
    for r in miss:
        assert r["sample_id"].startswith("M") and r["family_id"] == "" and r["relation"] == ""
    for r in samples:
        assert r["sex"] in ("M", "F") and r["population"] == "Asian"
        assert "2020-01-01" <= r["collected_on"] <= "2025-12-31" and len(r["collected_on"]) == 10
        assert r["kit"] in ("full", "core20", "id15") and r["region"]

    # genotype rows: every sample typed, known loci, valid sorted alleles
    prof = _profiles(genos)
    assert set(prof) == {r["sample_id"] for r in samples}
    for r in genos:
        assert r["locus"] in table.loci
        assert valid_allele(r["allele1"]) and valid_allele(r["allele2"])
        assert float(r["allele1"]) <= float(r["allele2"])
    dropped = sum(len(prof[r["sample_id"]]) < {"full": 29, "core20": 20, "id15": 15}[r["kit"]]
                  for r in samples)
    assert dropped == round(0.05 * len(samples))


def test_small_database_is_fast(tmp_path, table):
    t0 = time.perf_counter()
    simulate_database(tmp_path / "fast", table, SimulationSettings(n_families=200))
    assert time.perf_counter() - t0 < 1.0


# --------------------------------------------------------------------------- genetics

def _shares(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return bool(set(a) & set(b))


def test_mendelian_consistency_and_mutations_in_truth(tmp_path, table):
    # high rates so that plenty of mutations appear among the planted children
    out, s = _run(tmp_path, table, n_families=400, lost_child_fraction=1.0, n_unrelated_missing=20,
                  mutation_rate_male=0.02, mutation_rate_female=0.01, dropout_fraction=0.3, seed=11)
    samples, genos, truth = _load(out)
    prof = _profiles(genos)
    parents = defaultdict(dict)
    for r in samples:
        if r["relation"] in ("father", "mother"):
            parents[r["family_id"]][r["relation"]] = r["sample_id"]
    n_compared = n_inconsistent = 0
    total_events = 0
    for t in truth:
        events = [e.split(":") for e in t["mutated_loci"].split(";")] if t["mutated_loci"] else []
        assert int(t["n_mutations"]) == len(events)
        total_events += len(events)
        if t["kind"] != "lost_child":
            continue
        mutated = defaultdict(set)
        for locus, parent in events:
            assert locus in table.loci and parent in ("father", "mother")
            mutated[parent].add(locus)
        child = prof[t["missing_id"]]
        assert set(parents[t["family_id"]]) == {"both": {"father", "mother"},
                                                "father": {"father"},
                                                "mother": {"mother"}}[t["parents_registered"]]
        for relation, pid in parents[t["family_id"]].items():
            for locus in child.keys() & prof[pid].keys():
                n_compared += 1
                if not _shares(child[locus], prof[pid][locus]):
                    n_inconsistent += 1
                    # an inconsistency is always a recorded mutation from that parent
                    assert locus in mutated[relation], (t["missing_id"], locus, relation)
                    # stepwise: some child allele lies 1 or 2 repeats from a parent allele,
                    # same microvariant part
                    steps = {round(abs(float(c) - float(p)), 1)
                             for c in child[locus] for p in prof[pid][locus]}
                    assert steps & {1.0, 2.0}
    assert n_compared > 5000
    assert n_inconsistent >= 20  # the test must see mutations at work
    # every planted child's mutations are counted in the summary total
    assert total_events <= s.n_mutations
    # transmissions: 2 per child and locus; mean mutation rate 0.015
    n_children = 400 + sum(r["relation"] == "full_sibling" for r in samples)
    expected = n_children * 29 * (0.02 + 0.01)
    assert abs(s.n_mutations - expected) < 5 * math.sqrt(expected)


def test_no_mutation_every_child_consistent_with_registered_parents(tmp_path, table):
    out, s = _run(tmp_path, table, n_families=150, lost_child_fraction=1.0, sibling_fraction=1.0,
                  mutation_rate_male=0.0, mutation_rate_female=0.0, seed=5)
    samples, genos, truth = _load(out)
    assert s.n_mutations == 0 and all(t["n_mutations"] == "0" for t in truth)
    prof = _profiles(genos)
    by_family = defaultdict(lambda: defaultdict(list))
    for r in samples:
        if r["role"] == "relative":
            by_family[r["family_id"]][r["relation"]].append(r["sample_id"])
    for t in truth:
        if t["kind"] == "lost_child":
            by_family[t["family_id"]]["lost"].append(t["missing_id"])
    checked = 0
    for fam in by_family.values():
        for child in fam["lost"] + fam["full_sibling"]:
            for parent in fam["father"] + fam["mother"]:
                for locus in prof[child].keys() & prof[parent].keys():
                    assert _shares(prof[child][locus], prof[parent][locus])
                    checked += 1
            if fam["father"] and fam["mother"]:
                f, m = prof[fam["father"][0]], prof[fam["mother"][0]]
                for locus in prof[child].keys() & f.keys() & m.keys():
                    a, b = prof[child][locus]
                    assert (a in f[locus] and b in m[locus]) or (b in f[locus] and a in m[locus])
    assert checked > 5000


def test_stepwise_mutation_keeps_microvariant_and_stays_positive(tmp_path):
    lf = LocusFrequencies("L1", ["1", "9.3"], np.array([0.5, 0.5]), 500.0)
    tiny = FrequencyTable(population="Toy", source="test", sha256="0", loci={"L1": lf})
    out, s = _run(tmp_path, tiny, n_families=300, lost_child_fraction=1.0, n_unrelated_missing=0,
                  mutation_rate_male=0.5, mutation_rate_female=0.5, dropout_fraction=0.0)
    samples, genos, _ = _load(out)
    assert {r["kit"] for r in samples} == {"full"}  # core20/id15 have no locus in this table
    seen = set()
    for r in genos:
        for a in (r["allele1"], r["allele2"]):
            v = float(a)
            assert v >= 1.0 and valid_allele(a)
            seen.add(a)
    assert seen <= {"1", "2", "3", "7.3", "8.3", "9.3", "10.3", "11.3"}
    assert {"2", "8.3", "10.3"} <= seen  # mutated alleles absent from the table are kept
    assert s.n_mutations > 0


def test_founder_frequencies_follow_the_table(tmp_path, table):
    # 2000 families, both parents registered, one locus: 4000 founders = 8000 alleles.
    # The SD of an allele's observed frequency is sqrt(p(1-p)/8000) <= 0.0056, so a bound of
    # 0.03 is more than 5 SD: the chance that any of the ~10 common alleles exceeds it by chance
    # is below 1e-6 (and the seed is fixed, so the test is deterministic anyway).
    locus = "D21S11"
    out, _ = _run(tmp_path, table, n_families=2000, one_parent_fraction=0.0, sibling_fraction=0.0,
                  lost_child_fraction=0.0, n_unrelated_missing=0, dropout_fraction=0.0,
                  kits={"one": [locus]}, seed=21)
    samples, genos, _ = _load(out)
    founders = {r["sample_id"] for r in samples if r["relation"] in ("father", "mother")}
    assert len(founders) == 4000
    counts: Counter = Counter()
    homozygous = 0
    for r in genos:
        assert r["locus"] == locus and r["sample_id"] in founders
        counts[r["allele1"]] += 1
        counts[r["allele2"]] += 1
        homozygous += r["allele1"] == r["allele2"]
    lf = table.loci[locus]
    p = lf.frequencies / lf.frequencies.sum()
    assert set(counts) <= set(lf.alleles)
    common = 0
    for a, pa_ in zip(lf.alleles, p):
        if pa_ > 0.05:
            common += 1
            assert abs(counts[a] / 8000 - pa_) < 0.03, a
    assert common >= 4
    # Hardy-Weinberg: homozygosity sum p^2 (SD about 0.006 over 4000 genotypes)
    assert abs(homozygous / 4000 - float((p ** 2).sum())) < 0.03


# --------------------------------------------------------------------------- kits and dropout

def test_kits_restrict_loci(tmp_path, table):
    kits = {"a": ["CSF1PO", "FGA", "th01"], "b": ["VWA", "Penta D"]}
    out, _ = _run(tmp_path, table, n_families=60, n_unrelated_missing=20, dropout_fraction=0.0,
                  kits=kits, seed=4)
    samples, genos, _ = _load(out)
    prof = _profiles(genos)
    expect = {"a": {"CSF1PO", "FGA", "TH01"}, "b": {"vWA", "Penta D"}}
    assert {r["kit"] for r in samples} == {"a", "b"}
    for r in samples:
        assert set(prof[r["sample_id"]]) == expect[r["kit"]]

    out, _ = _run(tmp_path, table, "w", n_families=30, kits=kits, kit_weights={"a": 1.0, "b": 0.0})
    assert {r["kit"] for r in _rows(out / "samples.csv")} == {"a"}
    with pytest.raises(ValueError, match="not in the frequency table"):
        simulate_database(tmp_path / "bad", table, SimulationSettings(kits={"x": ["DXS999"]}))
    with pytest.raises(ValueError, match="not defined"):
        simulate_database(tmp_path / "bad", table, SimulationSettings(kit_weights={"zz": 1.0}))


def test_default_kits_and_dropout(tmp_path, table):
    out, _ = _run(tmp_path, table, n_families=100, dropout_fraction=0.0, seed=9)
    samples, genos, _ = _load(out)
    prof = _profiles(genos)
    kits = Counter(r["kit"] for r in samples)
    assert set(kits) == {"full", "core20", "id15"} and kits["full"] > kits["id15"]
    for r in samples:
        loci = set(prof[r["sample_id"]])
        if r["kit"] == "full":
            assert loci == set(table.loci)
        elif r["kit"] == "id15":
            assert loci == set(IDENTIFILER15)
        else:
            assert len(loci) == 20 and not loci & {"Penta D", "Penta E", "SE33", "F13B"}

    out, _ = _run(tmp_path, table, "drop", n_families=100, dropout_fraction=1.0,
                  kits={"full": list(table.loci)}, seed=9)
    lost = Counter(29 - len(v) for v in _profiles(_rows(out / "genotypes.csv")).values())
    assert set(lost) == {1, 2, 3, 4}


# --------------------------------------------------------------------------- corrupt rows

def test_corrupt_rows_present_and_listed(tmp_path, table):
    out, s = _run(tmp_path, table, n_families=100, corrupt_rows=9, seed=2)
    genos = _rows(out / "genotypes.csv")
    bad = _rows(out / "truth_corrupt.csv")
    assert s.n_corrupt_rows == 9 and len(bad) == 9 and s.paths["truth_corrupt"]
    assert len(genos) == s.n_genotype_rows
    assert Counter(b["kind"] for b in bad) == {"unknown_locus": 3, "off_ladder": 3, "third_allele": 3}
    bad_rows = {int(b["row"]) for b in bad}
    for b in bad:
        r = genos[int(b["row"]) - 2]            # row = editor line, header = line 1
        assert r["sample_id"] == b["sample_id"] and b["reason"]
        if b["kind"] == "unknown_locus":
            assert r["locus"] == "DXS999"
        elif b["kind"] == "off_ladder":
            assert r["allele1"] == "OL" and r["locus"] in table.loci
            # placed at a locus the sample is not otherwise typed at: wrong for one reason only
            assert not [g for g in genos if g["sample_id"] == r["sample_id"]
                        and g["locus"] == r["locus"] and g is not r]
        else:
            earlier = [g for i, g in enumerate(genos[: int(b["row"]) - 2], start=2)
                       if g["sample_id"] == r["sample_id"] and g["locus"] == r["locus"]
                       and i not in bad_rows]
            assert len(earlier) == 1
            assert len({*earlier[0].values(), r["allele1"], r["allele2"]} - {r["sample_id"],
                                                                             r["locus"]}) == 3
    # without the listed rows the file is clean
    clean = [g for i, g in enumerate(genos, start=2) if i not in bad_rows]
    _profiles(clean)
    for g in clean:
        assert g["locus"] in table.loci and valid_allele(g["allele1"]) and valid_allele(g["allele2"])
    with pytest.raises(ValueError, match="exceeds"):
        simulate_database(tmp_path / "x", table, SimulationSettings(n_families=1, n_unrelated_missing=0,
                                                                  corrupt_rows=50))
    # a rerun without corrupt rows removes the stale list
    simulate_database(out, table, SimulationSettings(n_families=100, seed=2))
    assert not (out / "truth_corrupt.csv").exists()


# --------------------------------------------------------------------------- configuration

@pytest.mark.parametrize("bad", [
    {"n_families": 0}, {"lost_child_fraction": 1.5}, {"one_parent_fraction": -0.1},
    {"mutation_rate_male": 0.9}, {"dropout_fraction": 2.0}, {"corrupt_rows": -1},
    {"kits": {}}, {"kits": {"a": []}}, {"kit_weights": {"full": 0.0}}, {"no_such_field": 1},
    {"kits": {" ": ["FGA"]}}, {"kit_weights": {}}, {"kit_weights": {"full": -1.0}},
    {"kit_weights": {"full": float("inf")}}, {"kit_weights": {"full": float("nan")}},
    {"seed": -1}, {"n_unrelated_missing": -1}, {"sibling_fraction": 1.01},
    {"mutation_rate_female": -0.001},
])
def test_config_is_bounded(bad):
    with pytest.raises(pydantic.ValidationError):
        SimulationSettings(**bad)


def test_config_fields_are_described():
    for name, f in SimulationSettings.model_fields.items():
        assert f.description, name


def test_config_fields_are_bounded_in_the_schema():
    props = SimulationSettings.model_json_schema()["properties"]
    for name, f in props.items():
        if f.get("type") in ("integer", "number"):
            assert "minimum" in f and "maximum" in f, name
        elif f.get("type") == "boolean":   # y_haplotypes: on or off
            assert name == "y_haplotypes"
        elif name == "y_kit":              # a non-empty, bounded list of loci, or None for Yfiler
            (lst,) = [s for s in f["anyOf"] if s.get("type") == "array"]
            assert lst["minItems"] == 1 and lst["maxItems"] == 64
        else:  # kits, kit_weights: a non-empty mapping, or None for the built-in kits
            (mapping,) = [s for s in f["anyOf"] if s.get("type") == "object"]
            assert mapping["minProperties"] == 1, name
    assert set(props) == set(SimulationSettings.model_fields)


def test_simulation_is_a_section_of_the_one_settings_tree_outside_the_run_record():
    from reunion.settings import Settings, load_settings

    s = load_settings(None, ["simulation.n_families=50", "simulation.seed=3"])
    assert (s.simulation.n_families, s.simulation.seed) == (50, 3)
    assert s.simulation == SimulationSettings(n_families=50, seed=3)
    # it shapes simulated input only: a run's record and digest do not carry it
    assert "simulation" not in s.model_dump(mode="json")
    assert s.digest() == load_settings(None).digest()
    assert Settings.model_validate(s.model_dump(mode="json")).simulation == SimulationSettings()



# --------------------------------------------------------------------------- steps

def test_label_of_tenths():
    assert [_label_of_tenths(t) for t in (93, 100, 10, 5, 213)] == ["9.3", "10", "1", "0.5", "21.3"]


def test_exact_mask_counts():
    rng = np.random.default_rng(0)
    for n, fraction, k in ((10, 0.25, 2), (10, 0.35, 4), (7, 0.0, 0), (7, 1.0, 7), (1, 0.5, 0)):
        m = _exact_mask(rng, n, fraction)
        assert m.dtype == bool and m.shape == (n,) and int(m.sum()) == k  # round half to even


def test_transmit_without_and_with_mutation():
    rng = np.random.default_rng(1)
    parent = np.tile(np.array([10, 93], dtype=np.int16), (500, 3, 1))  # 1 and 9.3 repeats
    allele, mutated = _transmit(rng, parent, 0.0)
    assert allele.shape == (500, 3) and not mutated.any()
    assert set(np.unique(allele).tolist()) == {10, 93}
    allele, mutated = _transmit(rng, parent, 1.0)
    assert mutated.all()
    # 1 repeat can only step up (to 2 or 3); 9.3 steps to 7.3, 8.3, 10.3 or 11.3
    assert set(np.unique(allele).tolist()) == {20, 30, 73, 83, 103, 113}
    two_steps = np.isin(allele, (30, 73, 113)).mean()
    assert abs(two_steps - 0.05) < 0.02  # 1500 mutations, SD of the share about 0.006


# --------------------------------------------------------------------------- long-separation kinds (issue 16)
LONG = {"siblings_only_fraction": 0.15, "grandparents_fraction": 0.25, "descendants_fraction": 0.1}


def test_long_separation_kinds_in_the_configured_proportions(tmp_path, table):
    from reunion.evaluate import KINDS, family_kinds
    out, s = _run(tmp_path, table, n_families=200, n_unrelated_missing=10, seed=5, **LONG)
    samples, _, truth = _load(out)
    kinds = family_kinds(out / "samples.csv")
    count = {k: sum(v == k for v in kinds.values()) for k in KINDS}
    # exact counts: round(fraction * 200); every family registers someone
    assert (count["siblings only"], count["grandparents and uncles/aunts"], count["missing adult's children"]) \
        == (30, 50, 20)
    assert count["both parents"] + count["one parent"] == 100 and count["other"] == 0 and len(kinds) == 200
    # the simulator's own count of planted lost children by kind agrees with the samples' kinds
    planted = [t["family_id"] for t in truth if t["kind"] == "lost_child"]
    assert len(planted) == 100
    assert s.planted_by_kind == {k: sum(kinds[f] == k for f in planted) for k in KINDS[:-1]}
    rels = defaultdict(list)
    for r in samples:
        if r["family_id"]:
            rels[r["family_id"]].append(r)
    for fid, kind in kinds.items():
        codes = {r["relation"] for r in rels[fid]}
        if kind == "grandparents and uncles/aunts":       # one side, sided codes only
            (side,) = {c.split("_")[0] for c in codes}
            assert codes <= {f"{side}_grandfather", f"{side}_grandmother", f"{side}_uncle_aunt"}
            assert f"{side}_uncle_aunt" in codes and codes & {f"{side}_grandfather", f"{side}_grandmother"}
            assert 1 <= sum(r["relation"].endswith("uncle_aunt") for r in rels[fid]) <= 2
            for r in rels[fid]:
                if r["relation"].endswith("grandfather"):
                    assert r["sex"] == "M"
                if r["relation"].endswith("grandmother"):
                    assert r["sex"] == "F"
        elif kind == "missing adult's children":
            assert codes <= {"child", "child_other_parent"} and "child" in codes
            assert 1 <= sum(r["relation"] == "child" for r in rels[fid]) <= 3
        elif kind == "siblings only":
            assert codes == {"full_sibling"}
    # no parent registered in the three kinds: truth says 'none'
    by_family = {t["family_id"]: t for t in truth if t["kind"] == "lost_child"}
    for f, t in by_family.items():
        if kinds[f] in KINDS[2:5]:
            assert t["parents_registered"] == "none"


def test_long_separation_relatives_are_genetically_related(tmp_path, table):
    # uncles / aunts carry an allele of each registered grandparent pair; children share an allele
    # with the planted lost person (mutations aside); the other parent has the lost person's other sex
    out, _ = _run(tmp_path, table, n_families=300, n_unrelated_missing=0, lost_child_fraction=1.0,
                  dropout_fraction=0.0, seed=8, mutation_rate_male=0.0, mutation_rate_female=0.0, **LONG)
    samples, genos, truth = _load(out)
    prof = _profiles(genos)
    lost = {t["family_id"]: t["missing_id"] for t in truth if t["kind"] == "lost_child"}
    sex = {r["sample_id"]: r["sex"] for r in samples}
    fams = defaultdict(dict)
    for r in samples:
        if r["family_id"]:
            fams[r["family_id"]].setdefault(r["relation"], []).append(r["sample_id"])
    n_gp = n_kid = 0
    for fid, by_rel in fams.items():
        gf = next((v[0] for k, v in by_rel.items() if k.endswith("grandfather")), None)
        gm = next((v[0] for k, v in by_rel.items() if k.endswith("grandmother")), None)
        for u in (v for k, vs in by_rel.items() if k.endswith("uncle_aunt") for v in vs):
            for locus, g in prof[u].items():
                if gf and gm and locus in prof[gf] and locus in prof[gm]:   # one allele from each
                    a, b = g
                    assert ((a in prof[gf][locus] and b in prof[gm][locus])
                            or (b in prof[gf][locus] and a in prof[gm][locus])), (fid, locus)
                    n_gp += 1
        for c in by_rel.get("child", []):
            q = lost[fid]
            for locus, g in prof[c].items():
                if locus in prof[q]:
                    assert _shares(g, prof[q][locus]), (fid, locus)
                    n_kid += 1
            for o in by_rel.get("child_other_parent", []):
                assert sex[o] != sex[q] and {sex[o], sex[q]} == {"M", "F"}
    assert n_gp > 100 and n_kid > 100


def test_long_separation_kinds_off_change_nothing(tmp_path, table):
    # the kinds' draws come from their own stream: with the fractions 0 (the default) the files
    # are those of a database simulated without the fields; with them, others
    a, _ = _run(tmp_path, table, "a", n_families=150, seed=4)
    b, _ = _run(tmp_path, table, "b", n_families=150, seed=4, siblings_only_fraction=0.0,
                grandparents_fraction=0.0, descendants_fraction=0.0)
    c, _ = _run(tmp_path, table, "c", n_families=150, seed=4, grandparents_fraction=0.2)
    for name in ("samples.csv", "genotypes.csv", "truth.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "samples.csv").read_bytes() != (c / "samples.csv").read_bytes()


def test_long_separation_fractions_are_shares():
    with pytest.raises(pydantic.ValidationError, match="exceeds 1"):
        SimulationSettings(siblings_only_fraction=0.5, grandparents_fraction=0.4, descendants_fraction=0.2)
    for f in ("siblings_only_fraction", "grandparents_fraction", "descendants_fraction"):
        with pytest.raises(pydantic.ValidationError):
            SimulationSettings(**{f: 1.5})
