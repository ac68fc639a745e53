"""Generated session logs, as sessionlog.read returns them, for the review tests and the benchmark.

`make_log(doc, seq, ...)` plays a routine through the firmware's own plan.steps and shapes what the
user did: holds cut short, skipped, marked painful, paused, a session ended early or never ended,
resumed after a power cut, a left side held shorter than the right.
"""
import datetime as dt
import hashlib
import json
import os
import sys

_FW = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
if _FW not in sys.path:
    sys.path.insert(0, _FW)

import plan  # noqa: E402  (the firmware's plan: the same steps the device logs)

TWICE_DAILY = {
    "v": 1, "id": "back-basics", "name": "Back basics", "src": "generated for tests",
    "freq": {"n": 2, "per": "day"}, "prep": 5,
    "ex": [
        {"name": "Hamstring", "hold": 30, "reps": 2, "sides": "each", "rest": 5},
        {"name": "Knee to chest", "hold": 20, "reps": 2, "sides": "alt", "rest": 5},
        {"name": "Pelvic tilt", "tempo": 3, "reps": 10},
        {"name": "Bridge", "press": True, "reps": 8},
        {"name": "Child pose", "hold": 45},
    ],
}
THREE_A_WEEK = {
    "v": 1, "id": "hips", "name": "Hip openers", "src": "generated for tests",
    "freq": {"n": 3, "per": "week"}, "prep": 0,
    "ex": [
        {"name": "Pigeon", "hold": 40, "sides": "each"},
        {"name": "Butterfly", "hold": 60},
    ],
}


def doc_hash(doc):
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def ts(y, m, d, hh=8, mm=0):
    """Unix seconds of a local date and time."""
    return dt.datetime(y, m, d, hh, mm).timestamp()


def make_log(doc, seq, wall=None, boot=1, uptime_ms=120000, end="done", stop_after=None, skip=(),
             short=None, discomfort=(), pauses=None, side_factor=None, resumed=0, torn=False,
             press_ms=25000, planned_steps=True):
    """A parsed session log of routine `doc`.
    wall: start time (unix s) or None (clock not set); stop_after: number of steps logged before
    the session ended (`end` is then the reason, or None for a log without end record);
    skip / discomfort: step indexes; short: {step index: actual ms}; pauses: {step index: count};
    side_factor: {"left": 0.7} scales the actual time of the holds on that side."""
    out = []
    offset = 0
    all_steps = list(plan.steps(doc))
    n = len(all_steps) if stop_after is None else min(stop_after, len(all_steps))
    for i, (kind, ex, set_no, rep, side, dur) in enumerate(all_steps[:n]):
        actual = dur if dur else press_ms
        side_name = plan.SIDE_NAMES[side] if side else "none"
        if side_factor and kind in (plan.HOLD, plan.TEMPO) and side_name in side_factor:
            actual = int(actual * side_factor[side_name])
        if short and i in short:
            actual = short[i]
        skipped = i in skip
        if skipped:
            actual = min(actual, 1500)
        p = (pauses or {}).get(i, 0)
        out.append({"i": i, "kind": kind, "ex": ex, "set": set_no, "rep": rep, "side": side,
                    "planned_ms": dur, "actual_ms": actual, "skipped": skipped,
                    "discomfort": i in discomfort, "pauses": p, "offset_ms": offset})
        offset += actual + p * 10000
    if stop_after is not None and out and end is not None:
        out[-1]["ended"] = True
    import hashlib
    uid = hashlib.sha256(("%d/%d/%d/%s" % (seq, boot, uptime_ms, doc["id"])).encode()).hexdigest()[:16]
    return {"seq": seq, "uid": uid, "routine_id": doc["id"], "routine_hash": doc_hash(doc), "boot": boot,
            "uptime_ms": uptime_ms, "wall": wall,
            "planned_steps": plan.count(doc) if planned_steps else None,
            "steps": out, "end": end, "resumed": [{"boot": boot + k + 1, "uptime_ms": 3000, "wall": 0, "i": out[len(out) // 2]["i"],
                         "offset_ms": out[len(out) // 2]["offset_ms"], "after": len(out) // 2}
                        for k in range(resumed)] if out else [],
            "torn": torn}


def fill(st, days, start, serial="E6614103E7", doc=TWICE_DAILY, per_day=2, seq0=1, miss=(), every=None):
    """Put `per_day` good sessions a day for `days` days from date `start` (skipping days in `miss`,
    or keeping only every `every`-th day); returns the next free seq."""
    seq = seq0
    st.add_routine(doc, doc_hash(doc))
    for k in range(days):
        day = start + dt.timedelta(days=k)
        if day in miss or (every and k % every):
            continue
        for j in range(per_day):
            st.add_session(make_log(doc, seq, wall=ts(day.year, day.month, day.day, 7 + 12 * j)), serial,
                           ts(day.year, day.month, day.day, 7 + 12 * j), "device")
            seq += 1
    return seq


def realistic(st, today, weeks=8, serial="E6614103E7", seed=7):
    """`weeks` weeks up to `today` of a user who mostly keeps to a twice-daily routine (misses evenings
    more and more, skips days), holds the left hamstring shorter, marks discomfort on the right knee
    to chest, and does a three-a-week routine on some days; plus a few sessions of unknown time.
    Returns the number of sessions added."""
    import random
    rnd = random.Random(seed)
    st.add_routine(TWICE_DAILY, doc_hash(TWICE_DAILY))
    st.add_routine(THREE_A_WEEK, doc_hash(THREE_A_WEEK))
    hs = list(plan.steps(TWICE_DAILY))
    knee_right = [i for i, s in enumerate(hs) if s[1] == 1 and s[0] == plan.HOLD and s[4] == plan.RIGHT]
    seq = 1
    added = 0
    start = today - dt.timedelta(days=7 * weeks - 1)
    for k in range(7 * weeks):
        day = start + dt.timedelta(days=k)
        progress = k / (7 * weeks)
        for slot, hour in enumerate((7, 19)):
            p_miss = 0.08 + (0.35 * progress if slot else 0.0)
            if rnd.random() < p_miss or (day.weekday() == 6 and rnd.random() < 0.5):
                continue
            kw = {"side_factor": {"left": 0.75 + 0.2 * progress}}
            if rnd.random() < 0.25 + 0.3 * progress:
                kw["discomfort"] = {rnd.choice(knee_right)}
            if rnd.random() < 0.1:
                kw["stop_after"], kw["end"] = rnd.randint(5, 15), "ended"
            if rnd.random() < 0.1:
                kw["skip"] = {rnd.randrange(len(hs))}
            if rnd.random() < 0.05:
                kw["resumed"] = 1
            t = ts(day.year, day.month, day.day, hour, rnd.randint(0, 50))
            known = rnd.random() > 0.03
            st.add_session(make_log(TWICE_DAILY, seq, wall=t if known else None, **kw), serial,
                           t if known else None, "device" if known else "unknown")
            seq += 1
            added += 1
        if day.weekday() in (0, 2, 4) and rnd.random() < 0.8:
            t = ts(day.year, day.month, day.day, 12, 30)
            st.add_session(make_log(THREE_A_WEEK, seq, wall=None), serial, t, "reconstructed")
            seq += 1
            added += 1
    return added


def encode_log(parsed):
    """The bytes the device would have written for a parsed log (firmware sessionlog encoders)."""
    import sessionlog as sl
    buf = bytearray(sl.MAX_RECORD)
    out = bytearray()
    n = sl.encode_header(buf, parsed["seq"], parsed["routine_id"], parsed["routine_hash"], parsed["boot"],
                         parsed["uptime_ms"], parsed["wall"] or 0, parsed["planned_steps"] or 0,
                         bytes.fromhex(parsed["uid"]) if parsed.get("uid") else None)
    out += buf[:n]
    resumes = {}
    for r in parsed.get("resumed") or ():
        resumes.setdefault(r.get("after", len(parsed["steps"]) // 2), []).append(r)
    for k, s in enumerate(parsed["steps"]):
        for r in resumes.pop(k, ()):
            n = sl.encode_resume(buf, r["boot"], r.get("uptime_ms", 1000), r.get("wall", 0) or 0, s["i"],
                                 s["offset_ms"])
            out += buf[:n]
        flags = (sl.SKIPPED if s["skipped"] else 0) | (sl.DISCOMFORT if s["discomfort"] else 0) | (
            sl.ENDED if s.get("ended") else 0)
        n = sl.encode_step(buf, s["i"], s["kind"], s["ex"], s["set"], s["rep"], s["side"], s["planned_ms"],
                           s["actual_ms"], s["offset_ms"], flags, s["pauses"])
        out += buf[:n]
    if parsed["end"] is not None:
        last = parsed["steps"][-1] if parsed["steps"] else None
        off = last["offset_ms"] + last["actual_ms"] if last else 0
        n = sl.encode_end(buf, parsed["end"], sum(s["actual_ms"] for s in parsed["steps"]), off)
        out += buf[:n]
    return bytes(out)
