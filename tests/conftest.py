"""Shared fixtures: a small simulated national database and its ingested shards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reunion.prefect_env import configure_prefect

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # quiet flows; no handler writes at exit

configure_prefect()

ROOT = Path(__file__).resolve().parents[1]
NIST = ROOT / "configs" / "frequencies" / "nist1036_us_2017.csv"


@pytest.fixture(scope="session")
def settings():
    from reunion.settings import load_settings
    return load_settings(ROOT / "configs" / "demo.yaml")


@pytest.fixture(scope="session")
def asian_table(settings):
    from reunion.frequencies import load_frequency_table
    return load_frequency_table(settings.frequencies.table, settings.frequencies.population)


@pytest.fixture(scope="session")
def small_db(tmp_path_factory, asian_table) -> Path:
    """120 families, 60 unrelated missing persons, 4 corrupt rows (seeded)."""
    from reunion.simulate import SimulationSettings, simulate_database
    out = tmp_path_factory.mktemp("db") / "input"
    simulate_database(out, asian_table, SimulationSettings(
        n_families=120, n_unrelated_missing=60, corrupt_rows=4, seed=11))
    return out


def pytest_collection_modifyitems(config, items):
    from reunion.kernels.device import gpu_available
    if gpu_available():
        return
    skip = pytest.mark.skip(reason="no usable CUDA GPU on this machine (gpu marker)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
