"""The schedule and deployment definitions load and agree; parameters resolve from the root."""

import datetime as dt
from pathlib import Path

import yaml

from reunion.flows.deploy import (
    DEFAULT_CRON,
    DEPLOYMENT,
    TAGS,
    deployment,
    next_runs,
    resolve,
    scheduled_rematch,
)
from reunion.flows.deploy import ROOT as DEPLOY_ROOT
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_prefect_yaml_deployment_loads():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (dep,) = spec["deployments"]
    module, name = dep["entrypoint"].split(":")
    assert (ROOT / module).exists() and name == scheduled_rematch.fn.__name__
    assert dep["name"] == DEPLOYMENT and dep["tags"] == TAGS
    assert dep["schedules"][0]["cron"] == DEFAULT_CRON
    params = scheduled_rematch.parameters.properties
    assert set(dep["parameters"]) == set(params)
    assert Path(dep["parameters"]["runs_root"]).is_absolute() and Path(dep["parameters"]["shards"]).is_absolute()
    load_settings(resolve(dep["parameters"]["config"]))   # the config it names is valid


def test_relative_parameters_resolve_against_the_root_not_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert DEPLOY_ROOT == ROOT                       # the checkout: the folder holding configs/
    assert resolve("configs/national.yaml") == ROOT / "configs" / "national.yaml"
    assert resolve("/data/reunion/runs") == Path("/data/reunion/runs")


def test_served_deployment_has_schedule_tags_and_parameters(tmp_path):
    d = deployment(str(ROOT / "configs" / "demo.yaml"), str(tmp_path / "runs"), str(tmp_path / "shards"),
                   cron="30 3 * * *")
    assert d.name == "weekly-national-rematch"
    assert d.schedules[0].schedule.cron == "30 3 * * *"
    assert d.parameters["runs_root"] == str(tmp_path / "runs")
    assert d.parameters["shards"] == str(tmp_path / "shards")
    assert set(d.tags) == {"rematch", "scheduled"}


def test_next_run_is_computed_from_the_cron():
    thursday = dt.datetime(2026, 12, 3, 13, 30, tzinfo=dt.timezone.utc)
    assert next_runs(DEFAULT_CRON, 2, after=thursday) == [
        dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.timezone.utc),     # Sunday 02:00 UTC
        dt.datetime(2026, 12, 13, 2, 0, tzinfo=dt.timezone.utc)]
