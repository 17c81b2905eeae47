"""reunion.api: the command line's steps as functions; a script without a main guard runs
them on worker processes to the end, with the command line's candidates."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from multiprocessing import spawn
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from batches import read_rows, split_files

from reunion import api
from reunion.errors import InputError, SettingsError
from reunion.flows.cluster import workers_skip_main_script
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
REUNION = Path(sys.executable).with_name("reunion")


# --------------------------------------------------------------------------- settings and mistakes

def test_resolve_settings_from_default_path_and_object():
    assert api.resolve_settings().scoring.top_k == load_settings(None).scoring.top_k
    s = api.resolve_settings(ROOT / "configs" / "demo.yaml", ["scoring.top_k=5"])
    assert s.scoring.top_k == 5
    # a Settings object with overrides keeps its other values, the simulation section too
    t = api.resolve_settings(api.resolve_settings(None, ["simulation.n_families=7"]),
                             ["cluster.kind=local-threads"])
    assert (t.cluster.kind, t.simulation.n_families) == ("local-threads", 7)


@pytest.mark.parametrize("overrides", [["scoring.top_k=0"], ["scoring.no_such=1"], ["top_k"]])
def test_bad_override_is_a_settings_error(overrides):
    with pytest.raises(SettingsError):
        api.resolve_settings(api.resolve_settings(), overrides)
    with pytest.raises(SettingsError):
        api.resolve_settings(None, overrides)


def test_missing_inputs_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="samples file not found"):
        api.ingest(tmp_path / "nope.csv", [tmp_path / "g.csv"], tmp_path / "shards")
    with pytest.raises(InputError, match="manifest.json"):
        api.rematch(tmp_path, tmp_path / "run")
    with pytest.raises(InputError, match="run.json"):
        api.rerun(tmp_path, [tmp_path / "new.csv"], tmp_path / "run")
    with pytest.raises(InputError, match="candidates"):
        api.report(tmp_path)
    assert not (tmp_path / "shards").exists() and not (tmp_path / "run").exists()


def test_unknown_simulation_field_and_bad_prior_are_settings_errors(tmp_path):
    with pytest.raises(SettingsError, match="n_famlies"):
        api.simulate(tmp_path / "db", n_famlies=3)
    with pytest.raises(SettingsError, match="prior"):
        api.report(tmp_path, prior="uniform")


def test_simulate_returns_the_summary_and_writes_the_files(tmp_path):
    sim = api.simulate(tmp_path / "db", n_families=12, n_unrelated_missing=5, seed=4)
    # lost_child_fraction 0.5 of 12 families (an exact count): 6 planted + 5 unrelated
    assert (sim.n_families, sim.n_planted, sim.n_missing) == (12, 6, 11)
    assert {p.name for p in (tmp_path / "db").iterdir()} >= {"samples.csv", "genotypes.csv", "truth.csv"}


# --------------------------------------------------------------------------- the main-guard fix

def _plain_script_main(monkeypatch) -> types.ModuleType:
    fake = types.ModuleType("__main__")
    fake.__file__, fake.__spec__ = "/somewhere/analysis.py", None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    return fake


def test_spawned_workers_do_not_rerun_a_plain_script(monkeypatch):
    main = _plain_script_main(monkeypatch)
    assert spawn.get_preparation_data("w")["init_main_from_path"] == "/somewhere/analysis.py"
    with workers_skip_main_script():
        data = spawn.get_preparation_data("w")
        assert "init_main_from_path" not in data and data["init_main_from_name"] == "__main__"
    assert main.__spec__ is None
    assert spawn.get_preparation_data("w")["init_main_from_path"] == "/somewhere/analysis.py"


def test_inactive_or_run_by_name_leaves_main_alone(monkeypatch):
    main = _plain_script_main(monkeypatch)
    with workers_skip_main_script(active=False):
        assert main.__spec__ is None
    main.__spec__ = spec = types.SimpleNamespace(name="mypkg.run")  # python -m mypkg.run
    with workers_skip_main_script():
        assert main.__spec__ is spec
    assert main.__spec__ is spec


SCRIPT = '''\
# a notebook exported as a script: no `if __name__ == "__main__":` guard
import json, sys
from pathlib import Path
print("SCRIPT-TOP-LEVEL", flush=True)
from reunion import api

work = Path(sys.argv[1])
sim = api.simulate(work / "input", n_families=40, n_unrelated_missing=20, seed=3)
shards = api.ingest(sim.paths["samples"], [sim.paths["genotypes"]], work / "shards")
run = api.rematch(work / "shards", work / "run", overrides=["cluster.kind=local-cpu",
                                                            "cluster.n_workers=2"])
print("RESULT " + json.dumps({
    "n_missing": sim.n_missing, "families": run.counts.families,
    "missing": run.counts.missing, "rows": run.candidates.num_rows,
    "rows_read": shards.rows_read, "cluster": run.record.cluster,
    "run_dir": str(run.run_dir), "report": str(run.report_html)}), flush=True)
'''


@pytest.mark.slow
def test_unguarded_script_completes_with_the_cli_candidates(tmp_path):
    script = tmp_path / "analysis.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    # the timeout only stops a hang (before the fix: workers re-ran the script for > 10 min)
    proc = subprocess.run(check=False, args=[sys.executable, str(script), str(work)], cwd=tmp_path, text=True,
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("SCRIPT-TOP-LEVEL") == 1, "a worker process re-ran the script"
    result = json.loads(next(line[7:] for line in proc.stdout.splitlines() if line.startswith("RESULT ")))
    # 40 families, half (an exact count) with their lost child on the missing side, + 20 unrelated
    assert (result["families"], result["n_missing"], result["missing"]) == (40, 40, 40)
    assert result["cluster"]["kind"] == "local-cpu" and result["cluster"]["workers"] == 2
    assert Path(result["report"]).is_file()

    # the command line on the same shards, on one process with threads: the same candidates
    cli = tmp_path / "cli"
    done = subprocess.run(check=False, args=[str(REUNION), "rematch", "--shards", str(work / "shards"),
                                             "--out", str(cli / "run"), "--set", "cluster.kind=local-threads"],
                          cwd=tmp_path, text=True, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    api_candidates = pq.read_table(work / "run" / "candidates.parquet")
    cli_candidates = pq.read_table(cli / "run" / "candidates.parquet")
    assert api_candidates.num_rows == result["rows"] > 0
    assert api_candidates.equals(cli_candidates)
    assert pq.read_table(work / "run" / "per_locus.parquet").equals(
        pq.read_table(cli / "run" / "per_locus.parquet"))

    # and the command line's simulate writes the same input for the same shape and seed
    done = subprocess.run(check=False, args=[str(REUNION), "simulate", "--out", str(cli / "input"), "--families", "40",
                           "--unrelated", "20", "--seed", "3"], cwd=tmp_path, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("samples.csv", "genotypes.csv", "truth.csv"):
        assert (cli / "input" / name).read_bytes() == (work / "input" / name).read_bytes(), name


@pytest.mark.slow
def test_rerun_report_and_score_return_their_tables(tmp_path):
    """A standing run without three missing persons, a rerun with them, the report of the
    rerun, and the rerun's candidate list re-scored with its own configuration."""
    small_db = api.simulate(tmp_path / "db", n_families=60, n_unrelated_missing=20, seed=8).paths
    small_db = Path(small_db["samples"]).parent
    samples, genos = read_rows(small_db / "samples.csv"), read_rows(small_db / "genotypes.csv")
    batch = {r["sample_id"] for r in samples if r["role"] == "missing"}
    batch = set(sorted(batch)[:3])
    base_s, base_g, new_s, new_g = split_files(tmp_path, samples, genos, batch)
    threads = ["cluster.kind=local-threads"]
    shards = api.ingest(base_s, base_g, tmp_path / "shards", overrides=threads)
    assert shards.n_missing == len([r for r in samples if r["role"] == "missing"]) - 3
    base = api.rematch(tmp_path / "shards", tmp_path / "base", overrides=threads)
    assert isinstance(base, api.RunResult) and base.run_dir == tmp_path / "base"
    assert base.candidates.num_rows > 0 and base.per_locus.num_rows > 0
    assert set(base.candidates.column("missing_id").to_pylist()).isdisjoint(batch)

    new = api.rerun(base.run_dir, [new_s, new_g], tmp_path / "new", overrides=threads)
    assert new.record.mode["kind"] == "incremental"
    assert new.counts.missing == base.counts.missing + 3

    rep = api.report(new.run_dir, previous=base.run_dir, overrides=["review.prior=half"])
    assert rep.html == new.run_dir / "report.html" and rep.html.is_file()
    assert rep.review.num_rows == new.candidates.num_rows
    assert set(rep.review.column("prior").to_pylist()) == {"half"}

    # a run's candidates.csv is a pairs file; scored with the run's configuration it gives
    # the run's LRs, row by row
    scored = api.score(small_db / "genotypes.csv", new.run_dir / "candidates.csv",
                       tmp_path / "scores.csv", per_locus=tmp_path / "per_locus.csv", run=new.run_dir)
    assert scored.counts["pairs"] == new.candidates.num_rows == scored.scores.num_rows
    assert scored.per_locus is not None and scored.per_locus.num_rows > 0
    got = scored.scores.column("log10_lr").to_pylist()
    want = new.candidates.column("log10_lr").to_pylist()
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_the_api_reference_builds(tmp_path):
    """make docs: pdoc renders the modules the Makefile names (docs/API.md)."""
    pytest.importorskip("pdoc")
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines() if x.startswith("DOCS_MODULES"))
    modules = line.split(":=", 1)[1].split()
    assert "reunion.api" in modules
    done = subprocess.run(check=False, args=[sys.executable, "-m", "pdoc", "--docformat", "restructuredtext",
                                             "--no-search", "-o", str(tmp_path), *modules],
                          cwd=tmp_path, text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "reunion" / "api.html").read_text()
    for name in ("RunResult", "RunResult.candidates", "rematch", "simulate", "ingest", "rerun", "score",
                 "report", "resolve_settings"):
        assert f'id="{name}"' in page, name
