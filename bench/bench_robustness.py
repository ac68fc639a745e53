"""Robustness at `make bench` size (issue 6): the long power-cut run and the fuzzers at 10,000 examples.

1. `micropython -X heapsize=4M tests/fw/powercut.py --long`: LittleFS (vfs.VfsLfs2, rp2's parameters)
   on a NOR-flash image, the power cut at every flash operation of every storage operation, in three
   ways, on three fillings of the flash; the boot path and the checks of docs/storage.md after each.
2. `HOLDTIMER_FUZZ_EXAMPLES=10000 pytest -n 2 tests/test_fuzz.py`: every fuzz test at 10,000 examples
   (Hypothesis' own statistics give the count), the mutated-JSON corpus of 10,000 files through
   `holdtimer validate` and through the validator under MicroPython.
Several minutes in all. Prints `name value unit target` lines; notes start with "# ".
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "host"))

from holdtimer.simulator import micropython_exe  # noqa: E402

EXAMPLES = int(os.environ.get("BENCH_FUZZ_EXAMPLES", "10000"))


def line(name, value, unit, target="-"):
    if isinstance(value, float):
        value = "%.1f" % value
    print("%s %s %s %s" % (name, value, unit, target), flush=True)


def note(text):
    print("# " + text, flush=True)


def powercut():
    t = time.time()
    r = subprocess.run([micropython_exe(), "-X", "heapsize=4M", os.path.join(REPO, "tests", "fw", "powercut.py"),
                        "--long"], capture_output=True, text=True, cwd=REPO, timeout=3600)
    secs = time.time() - t
    out = r.stdout.strip().splitlines()
    m = re.search(r"(\d+) power cuts tried, (\d+) failures", out[-1] if out else "")
    if not m:
        raise SystemExit("powercut.py --long: no summary (exit %d): %s%s" % (r.returncode, r.stdout[-2000:],
                                                                              r.stderr[-2000:]))
    note("tests/fw/powercut.py --long (MicroPython unix port, vfs.VfsLfs2 on a NOR-flash image, %.0f s):" % secs)
    for row in out[:-1]:
        if not row.startswith("FAIL"):
            note("  " + row)
    for row in [x for x in out if x.startswith("FAIL")][:10]:
        note("  " + row)
    line("robust_powercut_cuts_tried", int(m.group(1)), "cuts", "-")
    line("robust_powercut_failures", int(m.group(2)), "cuts", "0")
    line("robust_powercut_time", secs, "s", "-")


SECTION = re.compile(r"^tests/test_fuzz\.py::(\w+):$")
COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
RESULT = re.compile(r"(PASSED|FAILED|ERROR) tests/test_fuzz\.py::(\w+)")


def fuzz():
    env = dict(os.environ, HOLDTIMER_FUZZ_EXAMPLES=str(EXAMPLES))
    t = time.time()
    r = subprocess.run([sys.executable, "-m", "pytest", "-v", "-n", "2", "-p", "no:cacheprovider",
                        "--hypothesis-show-statistics", os.path.join("tests", "test_fuzz.py")],
                       capture_output=True, text=True, cwd=REPO, env=env, timeout=7200)
    secs = time.time() - t
    stats = {}
    name = None
    for row in r.stdout.splitlines():
        m = SECTION.match(row.strip())
        if m:
            name = m.group(1)
            continue
        m = COUNTS.search(row)
        if m and name:
            s = stats.setdefault(name, [0, 0, 0])
            for k in range(3):
                s[k] += int(m.group(k + 1))
    results = {m.group(2): m.group(1) for m in RESULT.finditer(r.stdout)}
    note("HOLDTIMER_FUZZ_EXAMPLES=%d pytest -n 2 tests/test_fuzz.py: %.0f s; examples = Hypothesis' passing "
         "+ failing test cases of each test (its statistics), invalid ones (assume()) not counted" % (EXAMPLES, secs))
    failed = 0
    for test in sorted(results):
        short = test.replace("test_fuzz_", "")
        ok = results[test] == "PASSED"
        failed += 0 if ok else 1
        if test in stats:
            p, f, inv = stats[test]
            line("fuzz_%s_examples" % short, p + f, "examples", ">=%d" % EXAMPLES)
            line("fuzz_%s_failing" % short, f, "examples", "0")
        elif "untrusted_text" in test:  # a fixed MicroPython check: 24 malformed routines through the link
            line("fuzz_%s_passed" % short, 1 if ok else 0, "bool", "1")
        else:  # the corpus tests: one run over N files
            line("fuzz_%s_files" % short, EXAMPLES, "files", ">=%d" % EXAMPLES)
            line("fuzz_%s_passed" % short, 1 if ok else 0, "bool", "1")
    line("fuzz_tests_failed", failed, "tests", "0")
    line("fuzz_time", secs, "s", "-")
    if failed or r.returncode:
        tail = [x for x in r.stdout.splitlines() if x.startswith(("E ", "FAILED", "Falsifying", "Failing"))]
        for x in tail[:30]:
            note("  " + x[:300])
    note("the fuzz tests (tests/test_fuzz.py): routine.parse on random bytes, byte-mutated and structurally "
         "mutated seeds and generated routines (accepted ones must compact, plan and run in the engine to "
         "`done` on time); Gestures driven by wake_in() against polling every ms, and bouncy scripted "
         "presses; sessionlog.read/scan on random bytes, Writer logs with out-of-range values and mutated "
         "logs (no record before the damage lost); DeviceLink.feed on valid, mutated and random frames in "
         "any split (same replies, bounded buffers, recovers); link.decode. Each call under a hang alarm "
         "(10 s) and tracemalloc (peak bounded linearly in the input).")


def main():
    which = sys.argv[1:] or ["powercut", "fuzz"]
    if "powercut" in which:
        powercut()
    if "fuzz" in which:
        fuzz()


if __name__ == "__main__":
    main()
