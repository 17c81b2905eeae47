"""A user's mistake is one line on stderr, exit status 2, no traceback, no output folder left.

Each case runs the installed ``reunion`` command as an administrator would and checks the
line names the file or setting and what to do (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def reunion(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reunion.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def one_line_error(res: subprocess.CompletedProcess) -> str:
    """The error line, after checking exit 2, no traceback, and that it is the last line."""
    assert res.returncode == 2, res.stdout + res.stderr
    text = res.stdout + res.stderr
    assert "Traceback" not in text and "╭" not in text, text
    last = [line for line in res.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error: "), res.stderr
    assert sum(line.startswith("error: ") for line in text.splitlines()) == 1, text
    return last


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    res = reunion("simulate", "--out", str(out), "--families", "5", "--unrelated", "2")
    assert res.returncode == 0, res.stderr
    return out


@pytest.mark.parametrize("args, expected", [
    (["--set", "scoring.top_k=0"], "scoring.top_k = 0: Input should be greater than or equal to 1"),
    (["--set", "scoring.nope=1"], "unknown setting 'scoring.nope'"),
    (["--set", "bogus"], "--set 'bogus': write section.field=value"),
    (["--config", "/nonexistent/x.yaml"], "/nonexistent/x.yaml: settings file not found; check the --config path"),
])
def test_a_bad_setting_is_one_line_naming_it(tmp_path, args, expected):
    line = one_line_error(reunion("simulate", "--out", str(tmp_path / "o"), *args))
    assert expected in line
    assert not (tmp_path / "o").exists()


def test_bad_yaml_names_its_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("scoring:\n  top_k: [1\n")
    line = one_line_error(reunion("simulate", "--out", str(tmp_path / "o"), "--config", str(cfg)))
    assert f"{cfg}: not valid YAML (line 3" in line


@pytest.mark.slow
def test_missing_input_file_is_one_line_and_no_output(sim, tmp_path):
    out = tmp_path / "shards"
    line = one_line_error(reunion("ingest", "--samples", str(sim / "nope.csv"), "--genotypes",
                                  str(sim / "genotypes.csv"), "--out", str(out)))
    assert line == f"error: {sim / 'nope.csv'}: samples file not found; check the --samples path"
    assert not out.exists()


@pytest.mark.slow
def test_a_file_level_mistake_inside_the_flow_is_one_line_and_no_output(sim, tmp_path):
    bad = tmp_path / "samples.csv"
    bad.write_text("id,role\nA,missing\n")           # no sample_id column
    out = tmp_path / "shards"
    line = one_line_error(reunion("ingest", "--samples", str(bad), "--genotypes",
                                  str(sim / "genotypes.csv"), "--out", str(out)))
    assert f"{bad}: missing required column 'sample_id' in the samples file" in line
    assert not out.exists()


def test_rematch_without_shards_names_the_manifest(tmp_path):
    line = one_line_error(reunion("rematch", "--shards", str(tmp_path / "none"), "--out",
                                  str(tmp_path / "run")))
    assert f"{tmp_path / 'none' / 'manifest.json'}" in line and "--shards" in line
    assert not (tmp_path / "run").exists()


def test_an_existing_output_folder_is_not_removed_on_a_mistake(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("a previous run's file")
    one_line_error(reunion("rematch", "--shards", str(tmp_path / "none"), "--out", str(out)))
    assert (out / "keep.txt").read_text() == "a previous run's file"
