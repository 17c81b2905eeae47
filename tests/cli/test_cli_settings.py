"""Settings tree (bounds, overrides) and the reviewers' `reunion score` command."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from records_cases import manifest_with, run_record_with
from typer.testing import CliRunner

from reunion.cli import app
from reunion.errors import SettingsError
from reunion.settings import DEFAULT_CONFIG, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_described():
    def walk(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, Settings.__mro__[1]):
                walk(ann)
    walk(Settings)


def test_overrides_and_bounds():
    s = load_settings(DEFAULT_CONFIG, ["scoring.top_k=3", "mutation.model=equal"])
    assert s.scoring.top_k == 3 and s.mutation.model == "equal"
    assert Path(s.frequencies.table).is_absolute() and Path(s.frequencies.table).exists()
    with pytest.raises(SettingsError, match=r"scoring.top_k = 0: .*greater than or equal to 1"):
        load_settings(DEFAULT_CONFIG, ["scoring.top_k=0"])
    with pytest.raises(SettingsError, match="unknown setting 'scoring.no_such_field'"):
        load_settings(DEFAULT_CONFIG, ["scoring.no_such_field=1"])
    assert load_settings(ROOT / "configs" / "national.yaml").frequencies.population == "EastAsia"


def test_score_command_writes_hand_checked_lrs(tmp_path):
    (tmp_path / "p.csv").write_text("sample_id,locus,allele1,allele2\nC,TH01,6,7\nF,TH01,6,9\n"
                                    "M,TH01,7,8\nC,vWA,14,15\nF,vWA,14,14\nM,vWA,15,17\n")
    (tmp_path / "f.csv").write_text("locus,allele,frequency\nTH01,6,0.2\nTH01,7,0.3\nTH01,8,0.1\n"
                                    "TH01,9,0.4\nvWA,14,0.1\nvWA,15,0.2\nvWA,17,0.7\n")
    (tmp_path / "pairs.csv").write_text("query_id,reference_id,relationship,reference2_id\n"
                                        "C,F,parent-child,\nC,F,trio,M\n")
    # the settings tree's mutation section applies (configs/demo.yaml: stepwise): switch it off
    res = CliRunner().invoke(app, ["score", "--profiles", str(tmp_path / "p.csv"),
                                   "--frequencies", str(tmp_path / "f.csv"),
                                   "--pairs", str(tmp_path / "pairs.csv"), "--out", str(tmp_path / "s.csv"),
                                   "--set", "mutation.model=none"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    # PI: TH01 child 6/7, father 6/9 -> 1/(4*0.2) = 1.25; vWA 14/15 vs 14/14 -> 1/(2*0.1) = 5
    assert float(rows[0]["lr"]) == pytest.approx(6.25, rel=1e-12)
    # trio: TH01 (1/2*1/2)/(2*0.2*0.3) = 2.0833..; vWA father 14/14, mother 15/17 -> (1*1/2)/(2*0.1*0.2) = 12.5
    assert float(rows[1]["lr"]) == pytest.approx(0.25 / 0.12 * 12.5, rel=1e-12)
    bad = CliRunner().invoke(app, ["score", "--profiles", str(tmp_path / "p.csv"),
                                   "--frequencies", str(tmp_path / "f.csv"),
                                   "--pairs", str(tmp_path / "p.csv"), "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "p.csv" in bad.output
    # bounds are the settings' (one copy): a theta beyond THETA_CONFIGURABLE is refused by them
    from reunion.genetics.theta import THETA_CONFIGURABLE
    over = CliRunner().invoke(app, ["score", "--profiles", str(tmp_path / "p.csv"),
                                    "--frequencies", str(tmp_path / "f.csv"),
                                    "--pairs", str(tmp_path / "pairs.csv"), "--out", str(tmp_path / "y.csv"),
                                    "--set", "mutation.model=none", "--set", f"scoring.theta={THETA_CONFIGURABLE * 2}"])
    assert over.exit_code == 2 and "scoring.theta" in over.output and not (tmp_path / "y.csv").exists()
    # the old options are gone: the settings tree is their one home
    gone = CliRunner().invoke(app, ["score", "--profiles", str(tmp_path / "p.csv"),
                                    "--frequencies", str(tmp_path / "f.csv"), "--pairs", str(tmp_path / "pairs.csv"),
                                    "--out", str(tmp_path / "z.csv"), "--theta", "0.01"])
    assert gone.exit_code != 0 and "--theta" in gone.output
    # with the stepwise sex-specific rates of configs/demo.yaml (male 0.003, female 0.001) the LRs
    # move off the mutation-free values: the mutation section is applied, not ignored
    res = CliRunner().invoke(app, ["score", "--profiles", str(tmp_path / "p.csv"),
                                   "--frequencies", str(tmp_path / "f.csv"),
                                   "--pairs", str(tmp_path / "pairs.csv"), "--out", str(tmp_path / "m.csv")])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "m.csv", newline="") as fh:
        mut = list(csv.DictReader(fh))
    assert float(mut[1]["lr"]) == pytest.approx(0.25 / 0.12 * 12.5, rel=1e-2)
    assert float(mut[1]["lr"]) != pytest.approx(0.25 / 0.12 * 12.5, rel=1e-6)


def test_score_run_option_takes_the_runs_configuration_only(tmp_path):
    (tmp_path / "p.csv").write_text("sample_id,locus,allele1,allele2\nC,TH01,6,7\n")
    (tmp_path / "pairs.csv").write_text("query_id,reference_id,relationship\n")
    base = ["score", "--profiles", str(tmp_path / "p.csv"), "--pairs", str(tmp_path / "pairs.csv"),
            "--out", str(tmp_path / "s.csv"), "--run", str(tmp_path / "RUN")]
    for extra in (["--set", "scoring.theta=0.01"], ["--config", str(DEFAULT_CONFIG)]):
        res = CliRunner().invoke(app, base + extra)
        assert res.exit_code == 2 and "--run takes the configuration the run recorded" in res.output
    res = CliRunner().invoke(app, base)
    assert res.exit_code == 2 and "RUN/run.json: run's run.json file not found; check the --run path" in res.output
    assert not (tmp_path / "s.csv").exists()


def test_score_known_mother_and_user_kappa(tmp_path):
    from reunion.score import score_pairs
    (tmp_path / "p.csv").write_text("sample_id,locus,allele1,allele2\nC,TH01,6,7\nM,TH01,6,8\n"
                                    "F,TH01,7,9\nS,TH01,6,7\n")
    (tmp_path / "f.csv").write_text("locus,allele,frequency\nTH01,6,0.1\nTH01,7,0.2\nTH01,8,0.3\n"
                                    "TH01,9,0.4\n")
    (tmp_path / "pairs.csv").write_text(
        "query_id,reference_id,relationship,reference2_id\n"
        "C,F,trio-known-mother,M\nC,S,kappa:0.25/0.5/0.25,\nC,S,full-sibling,\n")
    plain = load_settings(None, ["mutation.model=none"])
    score_pairs(tmp_path / "p.csv", tmp_path / "f.csv", tmp_path / "pairs.csv", tmp_path / "s.csv", None, plain)
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    # child ab (6/7), known mother ac (6/8), alleged father bd (7/9):
    # [t_M(a) t_F(b) + t_M(b) t_F(a)] / [t_M(a) p_b + t_M(b) p_a] = (1/2 * 1/2) / (1/2 * 0.2) = 2.5
    assert float(rows[0]["lr"]) == pytest.approx(2.5, rel=1e-12)
    # user kappa (1/4, 1/2, 1/4) is the full-sibling formula: ab/ab ->
    # 1/4 + 1/2 (0.1+0.2)/(4*0.1*0.2) + 1/4 * 1/(2*0.1*0.2) = 0.25 + 1.875 + 6.25 = 8.375
    assert float(rows[1]["lr"]) == pytest.approx(8.375, rel=1e-12)
    assert float(rows[2]["lr"]) == pytest.approx(8.375, rel=1e-12)
    (tmp_path / "bad.csv").write_text("query_id,reference_id,relationship\nC,S,kappa:0.5/0.1/0.4\n")
    from reunion.score import ScoreInputError
    with pytest.raises(ScoreInputError, match=r"bad.csv: row 2, field 'relationship'.*Thompson"):
        score_pairs(tmp_path / "p.csv", tmp_path / "f.csv", tmp_path / "bad.csv", tmp_path / "x.csv", None, plain)


def test_every_setting_declares_what_it_changes_and_the_three_keys_follow():
    """One answer to "which settings change a result": the tables' folder, the resumable
    pieces' key and the rerun's may-I-extend check all come from Settings.AFFECTS."""
    from reunion.flows.tables import tables_dir
    from reunion.flows.rerun import settings_changed
    from reunion.settings import Affects

    s = load_settings(None)
    for name in type(s).model_fields:
        section = type(getattr(s, name))
        assert set(section.AFFECTS) == set(section.model_fields), name
    assert s.affecting(Affects.TABLES) == {
        "frequencies": {"table", "population", "floor"},
        "mutation": {"model", "rate", "rate_male", "rate_female", "rate2", "range", "locus_rates"},
        "scoring": {"theta", "pedigree"}}
    base = run_record_with(config=s.model_dump(mode="json"))
    manifest = manifest_with()
    folder = tables_dir(Path("/r"), manifest, s)
    for dotted, tables_same, lists_same in (("scoring.top_k=3", True, False),
                                            ("scoring.device=gpu", True, True),
                                            ("scoring.query_block=7", True, True),
                                            ("ingest.families_per_shard=5", True, True),
                                            ("mutation.rate=0.004", False, False)):
        t = load_settings(None, [dotted])
        assert (tables_dir(Path("/r"), manifest, t) == folder) is tables_same, dotted
        assert (settings_changed(base, t) is None) is lists_same, dotted
    assert settings_changed(base, load_settings(None, ["scoring.top_k=3"])) == "the scoring settings changed"
    assert settings_changed(base, load_settings(None, ["mutation.rate=0.004"])) == "the mutation settings changed"


def test_review_thresholds_are_a_section_of_the_one_settings_tree():
    s = load_settings(None, ["review.strong_lr=50000", "review.prior=one_over_families"])
    assert (s.review.strong_lr, s.review.prior) == (50000, "one_over_families")
    assert load_settings(None).review.strong_lr == 10_000            # SF/Z CPI 10,000
    assert load_settings(None).scoring.keep_all_log10_lr == 4.0       # log10 of the same
    with pytest.raises(SettingsError, match="inconclusive_low"):
        load_settings(None, ["review.inconclusive_low=20000"])       # above strong_lr 10,000


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_shipped_config_loads(name):
    s = load_settings(ROOT / "configs" / name)
    assert Path(s.frequencies.table).exists()


def test_long_separation_config_registers_the_kinds_of_long_separations():
    sim = load_settings(ROOT / "configs" / "long_separation.yaml").simulation
    assert (sim.siblings_only_fraction, sim.grandparents_fraction, sim.descendants_fraction) == (0.15, 0.25, 0.10)
    assert load_settings(ROOT / "configs" / "long_separation.yaml").scoring.pedigree is True
