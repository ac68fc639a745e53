"""`make demo`: the whole product on the simulated device, from routine files to the review.

Validates and shows the seed routines, starts the simulated device (real firmware, MicroPython
unix port), syncs the routines to it over its serial link, runs one at accelerated speed with
presses (pause, resume, a discomfort mark) while its screens show, pulls the log and reviews it.
"""
import glob
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "out", "demo")
EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")
SPEED = 25


def say(title):
    print("\n\033[1m== %s\033[0m" % title, flush=True)


def cli(*args, show=True):
    r = subprocess.run([EXE] + list(args), capture_output=True, text=True, env=os.environ)
    if show:
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
    if r.returncode:
        sys.exit("demo: `holdtimer %s` failed (exit %d)" % (" ".join(args), r.returncode))
    return r.stdout


def main():
    sys.path.insert(0, os.path.join(REPO, "host"))
    from holdtimer import simulator

    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    os.environ["HOLDTIMER_HOME"] = os.path.join(OUT, "home")
    routines = sorted(glob.glob(os.path.join(REPO, "routines", "*.json")))
    rel = [os.path.relpath(p, REPO) for p in routines]

    say("holdtimer validate routines/*.json")
    cli("validate", *rel)
    # The session below runs the first routine of the device's menu, which lists them by id:
    # the plan shown in full is that routine's.
    import json
    ids = {}
    for p in rel:
        with open(os.path.join(REPO, p), encoding="utf-8") as f:
            ids[json.load(f)["id"]] = p
    run_id = min(ids)
    say("holdtimer show %s  (the routine the session below runs: first in the menu)" % ids[run_id])
    cli("show", ids[run_id])
    for p in rel:
        if p != ids[run_id]:
            print("%-40s %s" % (p, cli("show", p, show=False).strip().splitlines()[-1]))

    link = os.path.join(OUT, "link")
    state = {"shown": set(), "sim": None}

    def on_event(ev):
        sim = state["sim"]
        if ev.kind == "C" and ev.name == "cue":
            name, at, i = ev.data.split()
            print("  [%7.2f s]  cue %-10s step %s" % (ev.ms / 1000, name, i), flush=True)
            if name == "press_wait":
                sim.press("short")  # the user finishes the set at their own pace
        elif ev.kind == "C" and ev.name in ("gesture", "session_start", "session_end", "notice"):
            if ev.name == "session_start":
                state["started"] = ev.data.split()[0]
            print("  [%7.2f s]  %s %s" % (ev.ms / 1000, ev.name, ev.data.split()[0] if ev.data else ""), flush=True)
        elif ev.kind == "F":
            state["frame"] = ev

    say("holdtimer sim --link out/demo/link --speed %d  (the simulated device)" % SPEED)
    sim = simulator.Simulator(os.path.join(OUT, "flash"), link=link, speed=SPEED, on_event=on_event,
                              keep_frames=False)
    state["sim"] = sim
    sim.start()
    try:
        time.sleep(1.0)
        say("holdtimer sync --port out/demo/link routines/*.json")
        cli("sync", "--port", link, *rel)
        say("a session: long press starts the first routine in the menu, %s" % run_id)
        sim.press("long")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "cue" and e.data.startswith("hold "), 30)
        if state.get("started") != run_id:
            raise SystemExit("demo: the device started %s, not %s whose plan was shown"
                             % (state.get("started"), run_id))
        time.sleep(0.15)
        show_screen(state, "the hold screen")
        sim.press("short")
        time.sleep(0.4)
        show_screen(state, "paused (short press)")
        sim.press("short")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "cue" and e.data.startswith("rest "), 60)
        sim.press("triple")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        time.sleep(0.3)
        show_screen(state, "session done")
        say("holdtimer pull --port out/demo/link")
        cli("pull", "--port", link)
        say("holdtimer history")
        out = cli("history")
        sid = next((w for line in out.splitlines() for w in line.split() if len(w) == 12 and all(c in "0123456789abcdef" for c in w)), None)
        if sid:
            say("holdtimer history %s" % sid)
            cli("history", sid)
        say("holdtimer report")
        cli("report")
    finally:
        sim.stop()
    print("\nThe demo's data is in out/demo (store: out/demo/home, device flash: out/demo/flash).")


def show_screen(state, title):
    from holdtimer import simulator

    ev = state.get("frame")
    if ev is None:
        return
    print("  -- screen: %s --" % title)
    for line in simulator.frame_to_text(ev.data).splitlines():
        print("  |" + line + "|")


if __name__ == "__main__":
    main()
