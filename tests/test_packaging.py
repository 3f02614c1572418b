"""The install paths agree: pip from pyproject.toml, conda from environment.yml, make lab.

There is no conda here, so environment.yml is checked statically: it must list exactly
the core dependencies and the ``notebooks`` extra, at the same versions, under names
that exist on conda-forge, and install the project with ``pip install -e .[notebooks]``.
Test tools stay pip extras (``.[test]``) and out of a learner's environment.
"""

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

import simlib
from simlib import pricing, runtimes

ROOT = Path(__file__).resolve().parent.parent

# pip (PyPI) name -> conda-forge name, where the two differ. Add a row when a dependency
# that environment.yml must list is named differently on conda-forge (playwright is the
# example: on conda-forge it is playwright-python).
CONDA_FORGE_NAME = {
    "playwright": "playwright-python",
}
# Names checked to exist on conda-forge (anaconda.org/conda-forge/NAME). A new dependency
# goes here once its conda-forge name is checked; a pip-only name then fails below.
KNOWN_ON_CONDA_FORGE = {
    "python", "pip", "simpy", "numpy", "pandas", "matplotlib", "pyyaml", "tqdm",
    "jupyterlab", "ipywidgets", "nbconvert", "playwright-python",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _spec(requirement: str) -> str:
    """The version part of a requirement, spaces removed: 'numpy >= 1.26' -> '>=1.26'."""
    return requirement.replace(" ", "")[len(_name(requirement)):]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> tuple[dict[str, str], list]:
    """environment.yml as ({conda name: version spec}, pip part)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda, pips = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pips.append(dep["pip"])
        else:
            assert _name(dep) not in conda, f"{dep} is listed twice"
            conda[_name(dep)] = _spec(dep)
    assert len(pips) == 1, "environment.yml has one pip section"
    return conda, pips[0]


def test_environment_yml_is_core_and_notebooks_deps_under_conda_forge_names():
    project = _project()["project"]
    wanted = {}
    for r in project["dependencies"] + project["optional-dependencies"]["notebooks"]:
        wanted[CONDA_FORGE_NAME.get(_name(r), _name(r))] = _spec(r)
    conda, _ = _environment()
    assert conda.pop("pip") == ""
    assert conda.pop("python") == project["requires-python"]
    assert conda == wanted  # same names and the same versions: nothing missing, nothing extra


def test_environment_yml_names_exist_on_conda_forge():
    conda, _ = _environment()
    unknown = sorted(set(conda) - KNOWN_ON_CONDA_FORGE)
    assert not unknown, f"not known conda-forge names: {unknown} (see CONDA_FORGE_NAME)"


def test_test_tools_stay_out_of_the_learners_environment():
    project = _project()["project"]
    conda, pip_part = _environment()
    test_only = {CONDA_FORGE_NAME.get(_name(r), _name(r))
                 for r in project["optional-dependencies"]["test"]}
    test_only -= {_name(r) for r in project["dependencies"]}
    assert not test_only & set(conda)
    assert pip_part == ["-e .[notebooks]"]


def test_build_backend_and_test_extra_agree_on_setuptools():
    """tests/test_wheel.py builds without isolation, with the venv's setuptools: the
    ``test`` extra must ask for the version the build system requires."""
    data = _project()
    build = [r for r in data["build-system"]["requires"] if _name(r) == "setuptools"]
    test = [r for r in data["project"]["optional-dependencies"]["test"]
            if _name(r) == "setuptools"]
    assert build and test and _spec(build[0]) == _spec(test[0])
    # The SPDX licence expression (PEP 639) needs setuptools >= 77.
    assert data["project"]["license"] == "Apache-2.0"
    assert _spec(build[0]) == ">=77"
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]


def test_package_data_is_inside_the_package():
    package = Path(simlib.__file__).resolve().parent  # the package root, not core/
    for path in (pricing.PRICES_PATH, runtimes.DATA_PATH):
        assert path.is_file(), path
        assert Path(path).resolve().is_relative_to(package), f"{path} is outside simlib/"
    globs = _project()["tool"]["setuptools"]["package-data"]["simlib.data"]
    shipped = {p.name for g in globs for p in (package / "data").glob(g)}
    assert {pricing.PRICES_PATH.name, runtimes.DATA_PATH.name} <= shipped


def _dry_run(target: str) -> list[str]:
    """The shell lines ``make -n -B TARGET`` would run (continuations joined)."""
    proc = subprocess.run(["make", "--no-print-directory", "-n", "-B", target], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lab_commands() -> list[list[str]]:
    return [shlex.split(line) for line in _dry_run("lab")]


def test_make_lab_serves_on_localhost_with_a_token(lab_commands):
    (lab,) = [c for c in lab_commands if c[0].endswith("/jupyter") and c[1] == "lab"]
    assert "--ip=127.0.0.1" in lab
    assert not [a for a in lab if re.match(r"--(ServerApp\.|LabApp\.)?ip=", a)
                and a != "--ip=127.0.0.1"]
    # Authentication stays JupyterLab's own: no token, password or XSRF settings at all.
    assert not [a for a in lab if re.search(r"token|password|xsrf|allow_origin", a, re.I)]
    assert "--LabApp.news_url=None" in lab


def test_make_lab_turns_off_the_news_prompt(lab_commands):
    """JupyterLab 4 asks about news whatever news_url is; the venv's default setting
    (an overrides.d file, below the learner's own settings) answers it."""
    (write,) = [c for c in lab_commands if ">" in c and "overrides.d" in c[-1]]
    assert write[-1].startswith(".venv/share/jupyter/lab/settings/overrides.d/")
    assert json.loads(write[write.index(">") - 1]) == {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}
    }


def test_chromium_is_installed_without_recommends():
    ci = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    installs = [line for line in _dry_run("browser-deps") + ci.splitlines()
                if "apt-get install" in line]
    assert len(installs) == 2, installs
    for line in installs:
        assert re.search(r"apt-get install [^;']*--no-install-recommends[^;']* chromium", line)


def test_the_files_a_workshop_host_looks_for_agree_with_the_package():
    """LICENSE, CITATION.cff, CONTRIBUTING.md and CHANGELOG.md exist; the citation is
    Citation File Format 1.2.0 (its required keys: cff-version, message, title, authors)
    with the package's version and license, so a release cannot leave it behind."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["message"] and cff["title"] and cff["authors"]
    assert str(cff["version"]) == project["version"] == simlib.__version__
    assert cff["license"] == project["license"]
    assert (ROOT / "LICENSE").read_text().strip()
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    for step in ("make test", "nbval_sanitize.cfg", "nbconvert --to notebook --execute",
                 "tests/test_notebooks_structure.py"):
        assert step in contributing
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## Unreleased ({project['version']})" in changelog


def test_the_dev_container_installs_and_opens_the_lessons():
    """.devcontainer/ (Codespaces): a Python the project supports, the Makefile's own
    install and lab targets, JupyterLab's port forwarded."""
    import json

    spec = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    image_python = re.search(r"python:(\d+)\.(\d+)", spec["image"])
    required = re.search(r">=(\d+)\.(\d+)", _project()["project"]["requires-python"])
    assert image_python and tuple(map(int, image_python.groups())) >= tuple(
        map(int, required.groups()))
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    for key in ("postCreateCommand", "postAttachCommand"):
        command = spec[key].split()
        assert command[0] == "make" and command[1] in targets, spec[key]
    assert 8888 in spec["forwardPorts"]  # JupyterLab's default port
