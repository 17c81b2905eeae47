"""environment.yml (conda, GPU nodes) lists the same dependencies as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name where they differ; the dask[distributed] extra is
# spelled out as dask + distributed in conda.
CONDA_NAME = {"pyyaml": "pyyaml"}


def _norm(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req.strip())
    name, extra, spec = m.group(1).lower(), m.group(2) or "", m.group(3).replace(" ", "")
    return name + extra.lower(), spec


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [_norm(r) for r in project["dependencies"]
              + project["optional-dependencies"]["gpu"] + project["optional-dependencies"]["dev"]]
    wanted = {("dask", s) if n == "dask[distributed]" else (n, s) for n, s in wanted}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed |= {_norm(d) for d in dep["pip"] if not d.startswith("-e")}
        elif _norm(dep)[0] not in ("python", "pip"):
            listed.add(_norm(dep))
    assert listed == wanted, (f"only in environment.yml: {sorted(listed - wanted)}; "
                              f"only in pyproject.toml: {sorted(wanted - listed)}")
