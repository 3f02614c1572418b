"""The two install paths (pip from pyproject.toml, conda from environment.yml) agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    conda -= {"python", "pip"}
    assert conda == wanted
    pip_part = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert any(p.startswith("-e .[") for p in pip_part), "environment.yml installs the project"


def test_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d.replace(" ", "") for d in env["dependencies"] if isinstance(d, str)}
    for r in reqs:
        assert conda[_name(r)] == r.replace(" ", ""), r


def test_package_data_is_where_the_code_reads_it():
    from simlib.pricing import PRICES_PATH
    from simlib.runtimes import DATA_PATH

    assert PRICES_PATH.is_file() and DATA_PATH.is_file()
