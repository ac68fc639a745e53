"""The firmware test modules in tests/fw pass under the MicroPython unix port, heap capped like a Pico."""
import os

import pytest

from conftest import TESTS_FW, run_micropython

MODULES = sorted(n[:-3] for n in os.listdir(TESTS_FW) if n.startswith("test_") and n.endswith(".py"))


@pytest.mark.parametrize("module", MODULES)
def test_firmware_tests_pass_under_micropython(module):
    r = run_micropython([os.path.join(TESTS_FW, "mprun.py"), module], heap_kb=192, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert " 0 failed" in r.stdout and "PASS" in r.stdout, r.stdout[-2000:]
