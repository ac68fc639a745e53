"""Issue 9: the PC's `holdtimer validate` and the device accept exactly the same routine files, with the
same first message: the malformed corpus, the seed routines and the hostile inputs of tests/fw/rheap.py,
through the CLI (in-process, one file at a time) and through the device's storage (logops.put_routine,
what the link's `commit` runs); and the device's answers are the same under MicroPython."""
import json
import os
import re

from conftest import FIRMWARE, REPO, TESTS_FW, run_micropython

import rheap
import storage
from holdtimer import cli

MALFORMED = os.path.join(REPO, "tests", "malformed")
ROUTINES = os.path.join(REPO, "routines")


def _files(tmp_path):
    out = []
    for d in (MALFORMED, ROUTINES):
        out += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".json") and n != "expected.json"]
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    for name, data in rheap.inputs():
        p = hostile / (name + ".json")
        p.write_bytes(data)
        out.append(str(p))
    return out


def _rid(data):
    try:
        rid = json.loads(data).get("id")
    except Exception:
        return "x"
    return rid if isinstance(rid, str) and re.fullmatch(r"[a-z0-9-]{1,32}", rid) else "x"


def test_cli_and_device_accept_the_same_files(tmp_path, capsys):
    st = storage.Storage(str(tmp_path / "flash"))
    n_ok = n_bad = 0
    for path in _files(tmp_path):
        data = open(path, "rb").read()
        rc = cli.main(["validate", path])
        out, err = capsys.readouterr()
        rid = _rid(data)
        try:
            st.put_routine(rid, data)
            dev = None
        except ValueError as e:
            dev = str(e)
        if rc == 0:
            assert out.startswith("ok  %s  (" % path) and err == "", (path, out, err)
            assert dev is None, (path, dev)
            n_ok += 1
            continue
        assert rc == 1 and out == "" and "Traceback" not in err, (path, err)
        assert dev is not None, (path, err)  # the device refuses what the PC refuses
        first = err.splitlines()[0]
        assert first.startswith(path + ": "), first
        if data and len(data) <= 4096:  # (an empty or too big file is refused before parsing, in own words)
            assert dev.startswith(rid + ".json: ") and first[len(path) + 2:] == dev[len(rid) + 7:], (first, dev)
        n_bad += 1
    assert n_ok >= 5 + 6 and n_bad >= 100, (n_ok, n_bad)


SCRIPT = r"""
import sys
sys.path.insert(0, %r)
sys.path.insert(0, %r)
import rcheck
import routine
import rheap
for name, data in rheap.each():
    doc, errs = routine.parse(data, name)
    print(name, doc is not None, len(errs))
    for e in errs:
        print(e)
"""


def test_micropython_gives_the_same_answers_to_the_hostile_inputs(tmp_path):
    script = tmp_path / "same.py"
    script.write_text(SCRIPT % (FIRMWARE, TESTS_FW))
    mp = run_micropython([str(script)], heap_kb=512, timeout=300)
    assert mp.returncode == 0, mp.stdout[-2000:] + mp.stderr[-2000:]
    import routine
    want = []
    for name, data in rheap.inputs():
        doc, errs = routine.parse(data, name)
        want.append("%s %s %d\n" % (name, doc is not None, len(errs)) + "".join(e + "\n" for e in errs))
    assert mp.stdout == "".join(want)
