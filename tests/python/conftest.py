"""Shared fixtures of the Python package's tests: the repository, the command line, a scratch folder.

Run by ctest (tests/CMakeLists.txt) with PYTHONPATH=build/python and QSYNC_CLI=build/qsync;
by hand: PYTHONPATH=build/python QSYNC_CLI=build/qsync /usr/bin/python3 -m pytest tests/python
"""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("QSYNC_CLI", str(ROOT / "build" / "qsync"))
    assert os.access(path, os.X_OK), f"no qsync program at {path}: build it (make) or set QSYNC_CLI"
    return path


@pytest.fixture(scope="session")
def run_json(cli):
    def run(*args):
        out = subprocess.run([cli, *map(str, args), "--json"], capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)
    return run
