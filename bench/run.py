"""`make bench`: runs every bench/bench_*.py, prints their figures and writes docs/performance.md.

Each benchmark prints lines `name value unit target` (target `-` when there is none) and human
notes prefixed with "# ". The table in docs/performance.md is made from those lines, with the
machine and the date; bench/notes.md (what limits each figure) is appended as written.
"""
import datetime
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = ", %.0f GiB RAM" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return "%s, %d cores%s, %s, Python %s" % (cpu, os.cpu_count() or 0, mem, platform.system(), platform.python_version())


def main():
    only = sys.argv[1:]
    scripts = sorted(n for n in os.listdir(HERE) if n.startswith("bench_") and n.endswith(".py"))
    if only:
        scripts = [s for s in scripts if any(o in s for o in only)]
    rows, failed = [], []
    for s in scripts:
        print("\n== %s" % s, flush=True)
        t0 = time.time()
        p = subprocess.Popen([sys.executable, os.path.join(HERE, s)], stdout=subprocess.PIPE, text=True, cwd=REPO)
        for line in p.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            parts = line.split()
            if line.startswith("#") or len(parts) < 4:
                continue
            try:
                float(parts[1])
            except ValueError:
                continue
            rows.append((s[6:-3], parts[0], parts[1], parts[2], " ".join(parts[3:])))
        if p.wait():
            failed.append(s)
        print("-- %s took %.1f s" % (s, time.time() - t0), flush=True)
    write_doc(rows, failed, scripts)
    print("\n%-12s %-34s %12s %-8s %s" % ("bench", "figure", "value", "unit", "target"))
    for r in rows:
        print("%-12s %-34s %12s %-8s %s" % r)
    if failed:
        print("\nfailed: %s" % ", ".join(failed))
        return 1
    return 0


def write_doc(rows, failed, scripts):
    if len(scripts) < len([n for n in os.listdir(HERE) if n.startswith("bench_")]):
        print("(a partial run: docs/performance.md not rewritten)")
        return
    out = ["# Performance", "",
           "Measured by `make bench` on %s, %s." % (datetime.date.today().isoformat(), machine()),
           "Every figure below comes from that run; rerun `make bench` to remake this page.", "",
           "| bench | figure | value | unit | target |", "| --- | --- | ---: | --- | --- |"]
    for r in rows:
        out.append("| %s | %s | %s | %s | %s |" % r)
    if failed:
        out += ["", "These benchmarks failed in this run: %s." % ", ".join(failed)]
    notes = os.path.join(HERE, "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            out += ["", f.read().rstrip()]
    with open(os.path.join(REPO, "docs", "performance.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\nwrote docs/performance.md")


if __name__ == "__main__":
    sys.exit(main())
