"""Packaging (issue 14): ``python -m poi_ode``, one version, ``py.typed``."""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import poi_ode
from poi_ode.cli import main

ROOT = Path(__file__).resolve().parents[1]

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_python_m_poi_ode_is_the_command():
    result = subprocess.run([sys.executable, "-m", "poi_ode", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: poi-ode")
    bad = subprocess.run([sys.executable, "-m", "poi_ode", "simulate", "--species", "dog"], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode != 0


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"poi-ode {poi_ode.__version__}"
    result = subprocess.run([sys.executable, "-m", "poi_ode", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == f"poi-ode {poi_ode.__version__}"


def test_version_has_one_source():
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "poi_ode._version.__version__"}
    from poi_ode._version import __version__

    assert poi_ode.__version__ == __version__
    try:
        installed = importlib.metadata.version("poi_ode")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return
    assert installed == __version__


def test_py_typed_is_shipped():
    assert (Path(poi_ode.__file__).parent / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["poi_ode"]
