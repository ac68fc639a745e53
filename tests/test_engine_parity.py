"""The plan, the engine and the button decoder print identical traces on CPython and MicroPython."""
import os
import subprocess
import sys

import pytest

from conftest import REPO, ROUTINES, TESTS_FW, run_micropython

SCRIPT = os.path.join(TESTS_FW, "trace_engine.py")
SEEDS = sorted(n for n in os.listdir(ROUTINES) if n.endswith(".json")) if os.path.isdir(ROUTINES) else []


def trace_cpython(arg):
    r = subprocess.run([sys.executable, SCRIPT, arg], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return r.stdout


def trace_micropython(arg):
    r = run_micropython([SCRIPT, arg], heap_kb=192, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    return r.stdout


@pytest.mark.parametrize("routine", ["-"] + SEEDS)
def test_same_event_trace_on_both_runtimes(routine):
    arg = routine if routine == "-" else os.path.join(ROUTINES, routine)
    cp = trace_cpython(arg)
    mp = trace_micropython(arg)
    assert "\nev done " in cp or "\nev ended " in cp, cp[-500:]
    assert "gesture " in cp and "plan count=" in cp
    cp_lines, mp_lines = cp.splitlines(), mp.splitlines()
    for n, (a, b) in enumerate(zip(cp_lines, mp_lines)):
        assert a == b, "line %d differs:\n  CPython:     %s\n  MicroPython: %s" % (n + 1, a, b)
    assert len(cp_lines) == len(mp_lines)


def test_every_seed_routine_is_traced():
    # The seed routines live in routines/; the parity check above runs once per file.
    assert len(SEEDS) >= 5 or not SEEDS, SEEDS
