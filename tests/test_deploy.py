"""The schedule and deployment definitions load and agree."""

from pathlib import Path

import yaml

from reunion.flows.deploy import DEFAULT_CRON, deployment, scheduled_rematch
from reunion.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_prefect_yaml_deployment_loads():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (dep,) = spec["deployments"]
    module, name = dep["entrypoint"].split(":")
    assert (ROOT / module).exists() and name == scheduled_rematch.fn.__name__
    assert dep["schedules"][0]["cron"] == DEFAULT_CRON
    params = scheduled_rematch.parameters.properties
    assert set(dep["parameters"]) == set(params)
    load_settings(ROOT / dep["parameters"]["config"])   # the config it names is valid


def test_served_deployment_has_schedule_and_parameters(tmp_path):
    d = deployment(str(ROOT / "configs" / "demo.yaml"), str(tmp_path / "shards"), str(tmp_path / "runs"),
                   cron="30 3 * * *")
    assert d.name == "weekly-national-rematch"
    assert d.schedules[0].schedule.cron == "30 3 * * *"
    assert d.parameters["runs_root"] == str(tmp_path / "runs")
