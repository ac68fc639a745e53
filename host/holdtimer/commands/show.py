"""`holdtimer show FILE...`: each routine's expanded plan, step by step, as the device will run it
(a folder means its *.json files)."""
import sys

from holdtimer import fw
from holdtimer.words import count

KIND_LABELS = {"prep": "prep", "hold": "hold", "rest": "rest", "switch": "switch side",
               "srest": "set rest", "tempo": "reps", "press": "reps"}


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="routine files (JSON, format v1) or folders of them (their *.json)")


def clock(ms):
    """ms as m:ss, or h:mm:ss from an hour on."""
    s = ms // 1000
    if s >= 3600:
        return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)
    return "%d:%02d" % (s // 60, s % 60)


def exercise_summary(routine, doc, ex):
    """One line of what an exercise is: 'hold 30 s, 3 reps, sides each, 2 sets'."""
    f = lambda k: routine.field(doc, ex, k)  # noqa: E731
    reps = f("reps")
    if "hold" in ex:
        parts = ["hold %d s" % ex["hold"], "%d rep%s" % (reps, "" if reps == 1 else "s")]
    elif "tempo" in ex:
        parts = ["%d rep%s, one every %d s" % (reps, "" if reps == 1 else "s", ex["tempo"])]
    else:
        parts = ["%d rep%s at your own pace, press when done" % (reps, "" if reps == 1 else "s")]
    if f("sides") != "none":
        parts.append({"each": "each side in turn", "alt": "sides alternating"}[f("sides")])
    if f("sets") > 1:
        parts.append("%d sets" % f("sets"))
    return ", ".join(parts)


def step_line(plan, routine, doc, st, start_ms):
    kind, e, set_no, rep, side, dur = st
    name = plan.KIND_NAMES[kind]
    ex = doc["ex"][e]
    reps = routine.field(doc, ex, "reps")
    what = KIND_LABELS[name]
    if kind == plan.TEMPO:
        what = "%s, one every %d s" % (count(reps, "rep"), ex["tempo"])
    elif kind == plan.PRESS:
        what = "%s, press when done" % count(reps, "rep")
    time = "your pace" if kind == plan.PRESS else "%d s" % (dur // 1000)
    cue = ex.get("cue", "") if kind in (plan.HOLD, plan.TEMPO, plan.PRESS) else ""
    return ("  %7s  %3d  %3s  %-5s  %-24s %9s  %s" % (
        clock(start_ms), set_no, rep or "-", plan.SIDE_NAMES[side], what, time, cue)).rstrip()


WIDTH = 80  # a step line is at most 80 columns (a cue is at most 16 characters); text lines wrap


def _wrapped(text, indent):
    import textwrap
    return "\n".join(textwrap.wrap(text, WIDTH, subsequent_indent=" " * indent, break_on_hyphens=False)) + "\n"


def render(doc, plan, routine, out):
    w = out.write
    w(_wrapped("%s  (%s)" % (doc["name"], doc["id"]), 2))
    w(_wrapped("source: %s" % doc["src"], 8))
    freq = doc["freq"]
    w("frequency: %d per %s\n" % (freq["n"], freq["per"]))
    w("(prep, rest and switch rows show the set, rep and side that come next)\n")
    t = 0
    presses = 0
    i = 0
    for e, ex in enumerate(doc["ex"]):
        n, ms = plan.ex_size(doc, e)
        w("\n" + _wrapped("%d. %s: %s" % (e + 1, ex["name"], exercise_summary(routine, doc, ex)), 3))
        if ex.get("cue"):
            w("   cue: %s\n" % ex["cue"])
        w("  %7s  %3s  %3s  %-5s  %-24s %9s  cue\n" % ("start", "set", "rep", "side", "step", "time"))
        for st in plan.ex_steps(doc, e):
            w(step_line(plan, routine, doc, st, t) + "\n")
            t += st[5]
            presses += st[0] == plan.PRESS
            i += 1
        w("  exercise: %d step%s, %s\n" % (n, "" if n == 1 else "s", clock(ms)))
    w("\ntotal: %s for %d exercise%s in %d steps" % (clock(t), len(doc["ex"]), "" if len(doc["ex"]) == 1 else "s", i))
    if presses:
        w(", plus %d set%s at your own pace" % (presses, "" if presses == 1 else "s"))
    w("\n")


def run(args):
    from holdtimer import routinefiles
    routine = fw.load("routine")
    plan = fw.load("plan")
    bad = 0
    for k, path in enumerate(routinefiles.expand(args.files)):
        data, err = routinefiles.read(path, routine.MAX_BYTES)
        errors = [err] if err else routine.parse(data, path)[1]
        if errors:
            for line in errors:
                print(line, file=sys.stderr)
            bad += 1
            continue
        if k:
            sys.stdout.write("\n")
        render(routine.parse(data, path)[0], plan, routine, sys.stdout)
    return 1 if bad else 0
