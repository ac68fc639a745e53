"""The routine validator's heap is bounded (issue 9, docs/routines.md "Limits"): under the MicroPython
unix port, every hostile input of tests/fw/rheap.py (long text, thousands of keys, duplicate keys, big
arrays, deep nesting, many errors, the largest valid routines) gets its normal answer with only
rheap.BUDGET bytes of the heap free; and the same inputs give the same answers on CPython."""
import os
import sys


from conftest import REPO, TESTS_FW, run_micropython

sys.path.insert(0, TESTS_FW)
import rheap  # noqa: E402
import routine  # noqa: E402


def test_hostile_inputs_are_4k_and_the_valid_ones_valid():

    for name, data in rheap.inputs():
        assert len(data) <= routine.MAX_BYTES, name
        doc, errs = routine.parse(data, "h.json")
        assert (doc is None) == bool(errs), name
        if name in ("seed-like", "long-notes", "long-notes-escaped", "long-notes-utf8") or name.startswith(
                ("big-valid", "valid-")):
            assert errs == [], (name, errs)
        else:
            assert errs and len(errs) <= routine.MAX_ERRORS + 1, (name, errs)

    big = dict(rheap.inputs())["big-valid-4095"]
    assert len(big) == 4095 and routine.compact(routine.parse(big)[0]) == big


def test_validation_fits_its_documented_heap_under_micropython():
    r = run_micropython([os.path.join(TESTS_FW, "rheap.py"), "--budget", str(rheap.BUDGET)], heap_kb=512,
                        timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "checked %d" % len(rheap.inputs()) in r.stdout, r.stdout[-2000:]
    assert "FAIL" not in r.stdout, r.stdout


def test_the_documented_figure_is_the_tested_one():
    with open(os.path.join(REPO, "docs", "routines.md")) as f:
        text = f.read()
    assert "at most %d KB of free heap" % (rheap.BUDGET // 1024) in text
