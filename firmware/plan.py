"""A routine's exercises expanded into timed steps, lazily, with counts and times (docs/routines.md)."""
# A step is a tuple (kind, ex, set_no, rep, side, dur_ms):
#   kind    PREP, HOLD, REST, SWITCH, SREST, TEMPO or PRESS
#   ex      exercise index, 0-based
#   set_no  1-based set number
#   rep     1-based rep number of a HOLD; 0 in TEMPO and PRESS steps (they hold all of a set's reps)
#   side    NONE, LEFT or RIGHT
#   dur_ms  planned duration; 0 for PRESS (open ended: the user ends it with a press)
# The transition steps (PREP, REST, SWITCH, SREST) carry the set, rep and side of the step they lead
# to, so a screen can say what comes next. Steps of 0 s are left out (PRESS excepted).
# Counts and times are computed per exercise by arithmetic, so finding step i or the total never
# expands the whole routine (the device has a small heap).
import routine

PREP = 0
HOLD = 1
REST = 2
SWITCH = 3
SREST = 4
TEMPO = 5
PRESS = 6
KIND_NAMES = ("prep", "hold", "rest", "switch", "srest", "tempo", "press")

NONE = 0
LEFT = 1
RIGHT = 2
SIDE_NAMES = ("-", "left", "right")


def _kind(ex):
    if "hold" in ex:
        return HOLD
    if "tempo" in ex:
        return TEMPO
    return PRESS


def _params(doc, ex):
    """(kind, sides, reps, sets, work_ms, rest_ms, srest_ms, switch_ms, prep_ms) of exercise dict ex."""
    kind = _kind(ex)
    reps = routine.field(doc, ex, "reps")
    if kind == HOLD:
        work = ex["hold"] * 1000
    elif kind == TEMPO:
        work = reps * ex["tempo"] * 1000
    else:
        work = 0
    return (kind, routine.field(doc, ex, "sides"), reps, routine.field(doc, ex, "sets"), work,
            routine.field(doc, ex, "rest") * 1000, routine.field(doc, ex, "srest") * 1000,
            routine.field(doc, ex, "switch") * 1000, routine.field(doc, ex, "prep") * 1000)


def ex_steps(doc, e):
    """Generator of the steps of exercise `e` (0-based) of routine `doc`."""
    kind, sides, reps, sets, work, rest, srest, switch, prep = _params(doc, doc["ex"][e])
    first = LEFT if sides != "none" else NONE
    r1 = 1 if kind == HOLD else 0
    if prep:
        yield (PREP, e, 1, r1, first, prep)
    for s in range(1, sets + 1):
        if s > 1 and srest:
            yield (SREST, e, s, r1, first, srest)
        if kind != HOLD:
            yield (kind, e, s, 0, first, work)
            if sides != "none":
                if switch:
                    yield (SWITCH, e, s, 0, RIGHT, switch)
                yield (kind, e, s, 0, RIGHT, work)
        elif sides == "none":
            for r in range(1, reps + 1):
                if r > 1 and rest:
                    yield (REST, e, s, r, NONE, rest)
                yield (HOLD, e, s, r, NONE, work)
        elif sides == "each":
            for side in (LEFT, RIGHT):
                if side == RIGHT and switch:
                    yield (SWITCH, e, s, 1, RIGHT, switch)
                for r in range(1, reps + 1):
                    if r > 1 and rest:
                        yield (REST, e, s, r, side, rest)
                    yield (HOLD, e, s, r, side, work)
        else:  # "alt": left, switch, right, rest, left, switch, right ...
            for r in range(1, reps + 1):
                if r > 1 and rest:
                    yield (REST, e, s, r, LEFT, rest)
                yield (HOLD, e, s, r, LEFT, work)
                if switch:
                    yield (SWITCH, e, s, r, RIGHT, switch)
                yield (HOLD, e, s, r, RIGHT, work)


def ex_size(doc, e):
    """(number of steps, planned ms) of exercise `e`, by arithmetic (no expansion)."""
    kind, sides, reps, sets, work, rest, srest, switch, prep = _params(doc, doc["ex"][e])
    sw = 1 if switch else 0
    rs = 1 if rest else 0
    if kind != HOLD:
        if sides == "none":
            n, ms = 1, work
        else:
            n, ms = 2 + sw, 2 * work + switch
    elif sides == "none":
        n, ms = reps + (reps - 1) * rs, reps * work + (reps - 1) * rest
    elif sides == "each":
        n, ms = 2 * reps + 2 * (reps - 1) * rs + sw, 2 * reps * work + 2 * (reps - 1) * rest + switch
    else:
        n, ms = 2 * reps + reps * sw + (reps - 1) * rs, 2 * reps * work + reps * switch + (reps - 1) * rest
    n = n * sets + (sets - 1) * (1 if srest else 0) + (1 if prep else 0)
    ms = ms * sets + (sets - 1) * srest + prep
    return n, ms


def count(doc):
    """Number of steps of the whole routine."""
    n = 0
    for e in range(len(doc["ex"])):
        n += ex_size(doc, e)[0]
    return n


def total_ms(doc):
    """Planned ms of the whole routine (PRESS steps count 0: they last as long as the user takes)."""
    ms = 0
    for e in range(len(doc["ex"])):
        ms += ex_size(doc, e)[1]
    return ms


def ex_bounds(doc, i):
    """(e, first, n) for step index i: its exercise e, that exercise's first step index and its
    number of steps (so the screen can say "exercise e+1 of len(doc['ex'])", "step i-first+1 of n").
    None if i is past the end."""
    first = 0
    for e in range(len(doc["ex"])):
        n = ex_size(doc, e)[0]
        if i < first + n:
            return e, first, n
        first += n
    return None


def steps(doc, start=0):
    """Generator of the routine's steps in order, beginning at step index `start`."""
    first = 0
    for e in range(len(doc["ex"])):
        n = ex_size(doc, e)[0]
        if start < first + n:
            j = first
            for st in ex_steps(doc, e):
                if j >= start:
                    yield st
                j += 1
        first += n


def nth(doc, i):
    """Step i (0-based), or None past the end; expands only the exercise that holds it."""
    for st in steps(doc, i):
        return st
    return None


def ms_before(doc, i):
    """Planned ms of the steps before step index i (the routine's elapsed time when step i starts)."""
    ms = 0
    first = 0
    for e in range(len(doc["ex"])):
        n, t = ex_size(doc, e)
        if i >= first + n:
            ms += t
            first += n
            continue
        for st in ex_steps(doc, e):
            if first >= i:
                break
            ms += st[5]
            first += 1
        break
    return ms


def progress(doc, i, into_ms=0, scale=100, total=None):
    """How far through the routine, as an int 0..scale, at `into_ms` into step i (integers only:
    floats allocate on the device). Pass `total` (total_ms) to save recomputing it."""
    if total is None:
        total = total_ms(doc)
    if total <= 0:
        return 0
    done = ms_before(doc, i) + into_ms
    if done >= total:
        return scale
    if done <= 0:
        return 0
    if total > 0xFFFFF:  # keep done * scale a small int on a 32-bit device
        done >>= 8
        total >>= 8
    return done * scale // total
