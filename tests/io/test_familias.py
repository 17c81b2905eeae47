"""Familias 3 case files (reunion/io/familias.py): reading, scoring, refusals and export-case.

The constructed files in tests/data/familias/ are laid out line by line as pedFamilias'
readFam (R/readFam.R) reads a Familias 3 file (Windows line ends, quoted strings): see that
folder's README.md. paternity.fam is pedFamilias' own example (saved by Familias 3.3.1; GPL >= 3).

Hand arithmetic (frequencies L1: 10 .2, 11 .3, 12 .5; L2: 7 .4, 8 .6; L3: 14 .1, 15 .3, 16 .2,
17 .4; AF 10/11, 7/8, 14/16; MO 12/12, 7/8, 15/17; CH 11/12, 8/8, 16/17): the LRs below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reunion.errors import InputError
from reunion.io.familias import read_fam, score_case

DATA = Path(__file__).resolve().parents[1] / "data" / "familias"
P = {"L1": {"10": .2, "11": .3, "12": .5}, "L2": {"7": .4, "8": .6},
     "L3": {"14": .1, "15": .3, "16": .2, "17": .4}}


def scores(name: str, reference: str | None = None) -> dict[str, tuple[float, float]]:
    return {s.pedigree: (s.log10_likelihood, s.lr) for s in score_case(read_fam(DATA / name), reference)}


def test_reads_persons_pedigrees_and_database():
    case = read_fam(DATA / "trio.fam")
    assert case.version == "3.3.1" and case.theta == 0.0 and case.database == "hand"
    assert [(p.name, p.sex) for p in case.persons] == [("AF", "M"), ("MO", "F"), ("CH", "M")]
    assert case.persons[2].genotypes == {"L1": ("11", "12"), "L2": ("8", "8"), "L3": ("16", "17")}
    assert [p.name for p in case.pedigrees] == ["Trio", "Mother only", "Grandfather", "Unrelated"]
    gf = case.pedigree("Grandfather")
    assert gf.extras == (("~Grandfather_extra_1", "M"),)
    assert gf.links == (("AF", "~Grandfather_extra_1"), ("~Grandfather_extra_1", "CH"), ("MO", "CH"))
    assert [lc.name for lc in case.loci] == ["L1", "L2", "L3"]
    assert case.loci[2].alleles == ("14", "15", "16", "17")
    assert case.loci[2].frequencies == (.1, .3, .2, .4)
    assert case.loci[0].database_size == 1000 and case.loci[0].dropout == 0.0


def test_duo_paternity_index_by_hand():
    # PI per locus: L1 AF 10/11, CH 11/12: 1/(4 p11) = 1/1.2; L2 CH 8/8, AF 7/8: 1/(2 p8) = 1/1.2;
    # L3 AF 14/16, CH 16/17: 1/(4 p16) = 1/0.8
    lr = (1 / 1.2) * (1 / 1.2) * (1 / 0.8)                     # = 0.8680555...
    s = scores("duo.fam")
    assert s["Paternity"][1] == pytest.approx(lr, rel=1e-12)
    assert s["Unrelated"][1] == 1.0
    # log10 P(data | unrelated) = sum over loci of log10 P_HW(AF) P_HW(CH)
    ll = math.log10((2 * .2 * .3) * (2 * .3 * .5) * (2 * .4 * .6) * .6 ** 2 * (2 * .1 * .2) * (2 * .2 * .4))
    assert s["Unrelated"][0] == pytest.approx(ll, abs=1e-12)
    assert s["Paternity"][0] == pytest.approx(ll + math.log10(lr), abs=1e-12)


def test_trio_mother_only_and_grandfather_by_hand():
    trio = (0.5 * 1 / (2 * .3 * .5)) * (0.5 * 0.5 / .6 ** 2) * (0.5 * 0.5 / (2 * .2 * .4))   # 3125/1728
    mother = (1 * .3 / (2 * .3 * .5)) * (0.5 * .6 / .6 ** 2) * (0.5 * .2 / (2 * .2 * .4))   # 0.5208333
    # AF the paternal grandfather: the father (untyped) passes AF's allele with prob 1/2, else a random one
    gf = ((.5 * .5 + .5 * .3) * 1 / (2 * .3 * .5)) * ((.5 * .5 + .5 * .6) * .5 / .6 ** 2) \
        * ((.5 * .5 + .5 * .2) * .5 / (2 * .2 * .4))                                          # 1.114
    s = scores("trio.fam")                                   # default reference: Unrelated (no links)
    assert trio == pytest.approx(3125 / 1728, rel=1e-14)
    assert s["Trio"][1] == pytest.approx(trio, rel=1e-12)
    assert s["Mother only"][1] == pytest.approx(mother, rel=1e-12)
    assert s["Grandfather"][1] == pytest.approx(gf, rel=1e-12)
    s2 = scores("trio.fam", reference="Mother only")       # the paternity index given the mother
    assert s2["Trio"][1] == pytest.approx(trio / mother, rel=1e-12)
    assert s2["Mother only"][1] == 1.0


def test_duo_equal_model_per_sex_by_hand():
    r, f = 0.005, 0.001                                      # male (the alleged father), female
    # L1: AF 10/11 transmits x: t(x) = 1/2 M(10, x) + 1/2 M(11, x), M(i, i) = 1 - r, else r / 2;
    # the untyped mother transmits q(x) = p(x)(1 - f) + (1 - p(x)) f / 2
    q = {a: p * (1 - f) + (1 - p) * f / 2 for a, p in P["L1"].items()}
    l1 = ((.5 * (1 - r) + .5 * r / 2) * q["12"] + (r / 2) * q["11"]) / (2 * .3 * .5)
    # L2 (two alleles): t(8) = 1/2 r + 1/2 (1 - r) = 1/2; q(8) = .6 (1 - f) + .4 f
    l2 = .5 * (.6 * (1 - f) + .4 * f) / .6 ** 2
    q = {a: p * (1 - f) + (1 - p) * f / 3 for a, p in P["L3"].items()}
    l3 = ((.5 * r / 3 + .5 * (1 - r)) * q["17"] + (r / 3) * q["16"]) / (2 * .2 * .4)
    assert scores("duo_equal.fam")["Paternity"][1] == pytest.approx(l1 * l2 * l3, rel=1e-12)


def test_public_paternity_fam_reproduces_published_lr():
    # pedFamilias README: forrel::kinshipLR(readFam("paternity.fam")) gives H1:H2 760.3445
    # (10 loci, extended stepwise, male 0.002 / female 0.001, range 0.1, rate2 1e-6)
    case = read_fam(DATA / "paternity.fam")
    assert case.version == "3.3.1" and len(case.loci) == 10
    assert case.loci[0].model == {"F": 4, "M": 4} and case.loci[0].rate == {"F": 0.001, "M": 0.002}
    s = {x.pedigree: x.lr for x in score_case(case)}
    assert round(s["H1"], 4) == 760.3445 and s["H2"] == 1.0


def test_shared_extra_and_default_reference_the_last():
    # an extra male shared by every pedigree ("Known relations": AF's father): no pedigree is
    # without links, so the default reference is the last (Unrelated); AF's untyped father
    # changes nothing: the duo's LR
    case = read_fam(DATA / "shared_extra.fam")
    assert case.pedigrees[1].links == (("~extra_1", "AF"),) and case.pedigrees[1].extras == (("~extra_1", "M"),)
    s = {x.pedigree: x.lr for x in score_case(case)}
    assert s["Paternity"] == pytest.approx((1 / 1.2) ** 2 / 0.8, rel=1e-12) and s["Unrelated"] == 1.0


def test_cli_writes_one_row_per_pedigree(tmp_path):
    from reunion.cli import app

    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["familias", str(DATA / "duo.fam"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0] == '"pedigree","log10_likelihood","log10_lr","lr"'
    assert [ln.split(",")[0] for ln in lines[1:]] == ['"Paternity"', '"Unrelated"']
    assert float(lines[1].split(",")[3]) == pytest.approx((1 / 1.2) ** 2 / 0.8, rel=1e-12)
    res = CliRunner().invoke(app, ["familias", str(DATA / "duo.fam"), "--reference", "Nope"])
    assert res.exit_code == 2 and "no pedigree named 'Nope'" in res.output


@pytest.mark.parametrize("name, says", [
    ("silent.fam", "locus L1: a silent allele (frequency 0.01); reunion does not model silent alleles"),
    ("dropout.fam", "locus L1: dropout probability 0.05 considered for 'CH'; reunion does not model dropout"),
    ("stationary.fam", "'Stepwise (stationary)'"),
    ("theta.fam", "Theta/Kinship/Fst = 0.02: reunion's pedigree engine is theta-free"),
])
def test_refusals_one_line(name, says):
    with pytest.raises(InputError) as exc:
        score_case(read_fam(DATA / name))
    msg = str(exc.value)
    assert says in msg and "\n" not in msg and msg.startswith(str(DATA / name))


def _edited(tmp_path: Path, old: str, new: str, count: int = 1, src: str = "duo.fam") -> Path:
    text = (DATA / src).read_text()
    assert old in text
    out = tmp_path / f"edited{len(list(tmp_path.iterdir()))}_{src}"
    out.write_text(text.replace(old, new, count))
    return out


def test_more_refusals_one_line(tmp_path):
    cases = [
        # a twin link ('Direct' on the parent line), as readFam refuses
        (_edited(tmp_path, '"Paternity"\n0\n0\n1\n0\n1', '"Paternity"\n0\n0\n1\n0 Direct\n1'), "twins"),
        # precomputed probabilities (#TRUE# before the database)
        (_edited(tmp_path, "#FALSE# (#Databases", "#TRUE# (#Databases"), "precomputed probabilities"),
    ]
    for path, says in cases:
        with pytest.raises(InputError) as exc:
            score_case(read_fam(path))
        assert says in str(exc.value) and "\n" not in str(exc.value)
    # plain stepwise (code 2) where a microvariant makes rate2 matter: refused; extended (4): scored
    text = (DATA / "duo.fam").read_text().replace('"L1"\n0\n0\n0\n0', '"L1"\n0.001\n0.002\n2\n2')
    text = text.replace('"12"\n0.5', '"11.3"\n0.5')
    (tmp_path / "step2.fam").write_text(text)
    with pytest.raises(InputError, match="plain 'Stepwise' with microvariant alleles and rate2 > 0"):
        score_case(read_fam(tmp_path / "step2.fam"))
    (tmp_path / "step4.fam").write_text(text.replace('"L1"\n0.001\n0.002\n2\n2', '"L1"\n0.001\n0.002\n4\n4'))
    assert score_case(read_fam(tmp_path / "step4.fam"))[0].lr > 0
    # a stepwise model over non-numeric alleles
    (tmp_path / "alpha.fam").write_text(text.replace('"L1"\n0.001\n0.002\n2\n2', '"L1"\n0.001\n0.002\n4\n4')
                                        .replace('"10"\n0.2', '"A"\n0.2'))
    with pytest.raises(InputError, match="a stepwise model needs numeric alleles"):
        score_case(read_fam(tmp_path / "alpha.fam"))
    # a DVI file
    (tmp_path / "dvi.fam").write_text((DATA / "duo.fam").read_text() + "[DVI]\n")
    with pytest.raises(InputError, match="DVI"):
        read_fam(tmp_path / "dvi.fam")


def test_exclusion_without_mutation_is_lr_zero(tmp_path):
    # CH made 12/12 at L1 (AF 10/11, no mutation): paternity impossible, likelihood 0
    text = (DATA / "duo.fam").read_text().replace('"CH"\n#FALSE#\n-1\n#FALSE#\n#TRUE#\n3\n1\n2\n0',
                                                  '"CH"\n#FALSE#\n-1\n#FALSE#\n#TRUE#\n3\n2\n2\n0')
    assert text != (DATA / "duo.fam").read_text()
    (tmp_path / "excl.fam").write_text(text)
    s = {x.pedigree: x for x in score_case(read_fam(tmp_path / "excl.fam"))}
    assert s["Paternity"].log10_likelihood == -math.inf and s["Paternity"].lr == 0.0
    with pytest.raises(InputError, match="reference pedigree 'Paternity' has likelihood 0"):
        score_case(read_fam(tmp_path / "excl.fam"), reference="Paternity")


def test_refusals_through_the_cli_exit_2():
    from reunion.cli import app

    res = CliRunner().invoke(app, ["familias", str(DATA / "silent.fam")])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "silent allele" in res.output


def test_not_a_fam_file(tmp_path):
    bad = tmp_path / "x.fam"
    bad.write_text("hello\n" * 10)
    with pytest.raises(InputError, match="not a Familias .fam file"):
        read_fam(bad)
    short = tmp_path / "short.fam"
    short.write_text("\n".join((DATA / "duo.fam").read_text().splitlines()[:30]))
    with pytest.raises(InputError, match="ends early"):
        read_fam(short)


# ------------------------------------------------------------------ export-case
EXPORTABLE = ("duo_father", "duo_mother", "trio", "nuclear", "pedigree", "pair_full_sibling")


#: relabellings so that pedigree hypotheses occur (every 4th family: grandparents and uncles /
#: aunts on the father's side; every 6th: sided half siblings)
RELABEL = {4: {"father": "paternal_grandfather", "mother": "paternal_grandmother",
               "full_sibling": "paternal_uncle_aunt"},
           6: {"full_sibling": "half_sibling_maternal"}}


@pytest.fixture(scope="module")
def database(small_db, tmp_path_factory) -> Path:
    """small_db with some families' relations relabelled (:data:`RELABEL`; the genotypes stay:
    this checks reproduction, not the relations' truth)."""
    import csv
    import shutil

    out = tmp_path_factory.mktemp("fam_db")
    with open(small_db / "samples.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fams = sorted({r["family_id"] for r in rows if r["family_id"]})
    order = {f: i for i, f in enumerate(fams)}
    for r in rows:
        i = order.get(r["family_id"])
        if i is None or not i:
            continue
        for k, labels in RELABEL.items():
            if i % k == 0:
                r["relation"] = labels.get(r["relation"], r["relation"])
                break
    with open(out / "samples.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    shutil.copy(small_db / "genotypes.csv", out / "genotypes.csv")
    return out


#: the run's mutation settings the export is checked under (demo.yaml: stepwise, male 0.003 /
#: female 0.001, range 0.1, rate2 1e-6)
MODELS = {"stepwise": [],
          "proportional": ["mutation.model=proportional", "mutation.rate_male=0.005", "mutation.rate_female=0.0005"],
          "equal": ["mutation.model=equal", "mutation.locus_rates={D3S1358: 0.004}"]}


@pytest.fixture(scope="module", params=list(MODELS))
def normalised_settings(request, settings, tmp_path_factory):
    """configs/demo.yaml with its frequency table renormalised to sum to 1 at every locus. The
    shipped table is rounded to 10 digits (sums 1 + 1e-10 .. 2e-10), and a run's LR, P(c = g | D) /
    P_HW(g), normalises by P(D) over its own pedigree where a Familias file's likelihoods use
    the frequencies as given: with sums of 1 the two agree to rounding (reunion/io/familias.py)."""
    import csv

    from reunion.settings import load_settings

    src = settings.frequencies.table
    with open(src, newline="") as fh:
        rows = list(csv.DictReader(fh))
    total: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r["population"], r["locus"])
        total[key] = total.get(key, 0.0) + float(r["frequency"])
    for r in rows:
        r["frequency"] = repr(float(r["frequency"]) / total[(r["population"], r["locus"])])
    out = tmp_path_factory.mktemp("fam_table") / Path(src).name
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return load_settings(None, [f"frequencies.table={out}", *MODELS[request.param]])


@pytest.fixture(scope="module")
def run_and_candidates(database, normalised_settings, tmp_path_factory):
    """The database ingested and re-matched (the real Dask graph, synchronous scheduler), as
    tests/test_score_reproduces_run.py does."""
    import dask

    from reunion.flows import pieces
    from reunion.ingest import ingest, load_encoding, load_manifest
    from reunion.score import RunConfiguration

    settings = normalised_settings
    shards = tmp_path_factory.mktemp("fam_shards")
    ingest(database / "samples.csv", [database / "genotypes.csv"], shards, settings)
    m = load_manifest(shards)
    work = pieces.plan_work(m, settings)
    results = dask.compute(*pieces.rematch_graph(str(shards), settings, work), scheduler="synchronous")
    cands = [c for r in results for c in r["candidates"].to_pylist()]
    enc = load_encoding(shards, m)
    run = RunConfiguration(shards / "run.json", settings, {lc.locus: frozenset(lc.alleles) for lc in enc.loci},
                           m.frequency_table.sha256, shards)
    return run, cands


def test_export_case_read_back_gives_the_runs_lr(run_and_candidates, tmp_path):
    from reunion.io.familias import candidate_case, case_codes
    from reunion.score import registered_sexes

    run, cands = run_and_candidates
    done: dict[str, int] = {}
    worst = 0.0
    for c in cands:
        if c["hypothesis"] not in EXPORTABLE or not math.isfinite(c["log10_lr"]) or done.get(c["hypothesis"], 0) >= 12:
            continue
        ids = {p.partition(":")[2] for p in c["members"].split(";")}
        enc, codes, msex = case_codes(run.shards, c["missing_id"], ids)
        text = candidate_case(run, c, codes[c["missing_id"]], {i: codes[i] for i in ids}, enc,
                              registered_sexes(run.shards, ids), msex)
        path = tmp_path / f"{c['missing_id']}_{c['family_id']}.fam"
        path.write_text(text)
        got = {s.pedigree: s.log10_lr for s in score_case(read_fam(path), reference="H2 unrelated")}
        worst = max(worst, abs(got["H1"] - c["log10_lr"]))
        assert abs(got["H1"] - c["log10_lr"]) <= 1e-9, (c, got)
        done[c["hypothesis"]] = done.get(c["hypothesis"], 0) + 1
    assert all(done.get(h, 0) > 0 for h in ("trio", "duo_father", "nuclear", "pedigree")), done
    assert worst <= 1e-9


def test_ped_export_read_back_gives_the_runs_lr(run_and_candidates, tmp_path):
    """The pedsuite folder (reunion/io/ped.py) of each exportable candidate, read back with
    reunion's ped reader and scored by the engine: H1 against H2 is the run's LR to 1e-9."""
    from reunion.io.familias import candidate_hypotheses, case_codes
    from reunion.io.ped import read_case_folder, read_ped, write_case_folder
    from reunion.score import registered_sexes

    run, cands = run_and_candidates
    done: dict[str, int] = {}
    for c in cands:
        if c["hypothesis"] not in EXPORTABLE or not math.isfinite(c["log10_lr"]) or done.get(c["hypothesis"], 0) >= 8:
            continue
        ids = {p.partition(":")[2] for p in c["members"].split(";")}
        enc, codes, msex = case_codes(run.shards, c["missing_id"], ids)
        case = candidate_hypotheses(run, c, codes[c["missing_id"]], {i: codes[i] for i in ids}, enc,
                                    registered_sexes(run.shards, ids), msex)
        folder = write_case_folder(case, tmp_path / f"{c['missing_id']}_{c['family_id']}", "t", c["log10_lr"])
        got = {s.pedigree: s.log10_lr for s in score_case(read_case_folder(folder), reference="H2")}
        assert abs(got["H1"] - c["log10_lr"]) <= 1e-9, (c, got)
        # H2 is two pedigrees in the pedsuite's sense: the family, and the missing person alone
        _, h2 = read_ped(folder / "H2.ped")
        alone = [r for r in h2 if r.id == c["missing_id"]]
        assert alone[0].father is None and [r.famid for r in h2].count(alone[0].famid) == 1
        assert f"{10 ** c['log10_lr']:.12g}" in (folder / "reproduce.R").read_text()
        done[c["hypothesis"]] = done.get(c["hypothesis"], 0) + 1
    assert all(done.get(h, 0) > 0 for h in ("trio", "duo_father", "nuclear", "pedigree")), done


def test_export_refuses_a_mixture_and_an_unknown_format(run_and_candidates, tmp_path):
    from reunion.io.familias import candidate_case, export_case

    run, cands = run_and_candidates
    c = next(c for c in cands if c["hypothesis"] == "trio")
    father = dict(p.split(":") for p in c["members"].split(";"))["father"]
    # a side-less half sibling: H1 is a mixture of two pedigrees (paternal, maternal), refused
    mixed = dict(c, hypothesis="pedigree", members=f"half_sibling1:{father}")
    with pytest.raises(InputError, match="H1 is a mixture of 2 pedigrees"):
        candidate_case(run, mixed, None, {}, None, {})
    with pytest.raises(InputError, match="--format xlsx: not one of familias, ped"):
        export_case(tmp_path, c["missing_id"], c["family_id"], tmp_path / "x.xlsx", "xlsx")


@pytest.mark.slow
def test_cli_export_case_then_familias_gives_the_runs_lr(database, normalised_settings, tmp_path):
    """``reunion ingest``, ``reunion rematch`` (the Prefect flow, run.json), then for a few
    candidates ``reunion export-case`` and ``reunion familias`` on the file it wrote."""
    import pyarrow.parquet as pq

    from reunion.cli import app

    sets = [x for o in [f"frequencies.table={normalised_settings.frequencies.table}",
                        *MODELS[normalised_settings.mutation.model]] for x in ("--set", o)]
    shards, run = tmp_path / "shards", tmp_path / "run"
    res = CliRunner().invoke(app, ["ingest", "--samples", str(database / "samples.csv"), "--genotypes",
                                   str(database / "genotypes.csv"), "--out", str(shards), *sets])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["rematch", "--shards", str(shards), "--out", str(run), *sets,
                                   "--set", "cluster.kind=local-threads"])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "run.json").read_text())["config"]["mutation"]["model"] == \
        normalised_settings.mutation.model
    cands = pq.read_table(run / "candidates.parquet").to_pylist()
    picked = {}
    for c in cands:
        if c["hypothesis"] in ("trio", "pedigree", "nuclear") and math.isfinite(c["log10_lr"]):
            picked.setdefault(c["hypothesis"], c)
    assert len(picked) == 3
    for c in picked.values():
        fam, out = tmp_path / f"{c['missing_id']}.fam", tmp_path / f"{c['missing_id']}.csv"
        res = CliRunner().invoke(app, ["export-case", str(run), c["missing_id"], c["family_id"],
                                       "--format", "familias", "--out", str(fam)])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(app, ["familias", str(fam), "--reference", "H2 unrelated", "--out", str(out)])
        assert res.exit_code == 0, res.output
        rows = {r.split(",")[0].strip('"'): r.split(",") for r in out.read_text().splitlines()[1:]}
        assert abs(float(rows["H1"][2]) - c["log10_lr"]) <= 1e-9, (c, rows)
        folder = tmp_path / f"{c['missing_id']}_ped"
        res = CliRunner().invoke(app, ["export-case", str(run), c["missing_id"], c["family_id"],
                                       "--format", "ped", "--out", str(folder)])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(app, ["pedsuite", str(folder), "--out", str(out)])
        assert res.exit_code == 0, res.output
        rows = {r.split(",")[0].strip('"'): r.split(",") for r in out.read_text().splitlines()[1:]}
        assert abs(float(rows["H1"][2]) - c["log10_lr"]) <= 1e-9, (c, rows)
    res = CliRunner().invoke(app, ["export-case", str(run), "M_NOPE", "F_NOPE", "--out", str(tmp_path / "n.fam")])
    assert res.exit_code == 2 and "no candidate with missing_id M_NOPE" in res.output
