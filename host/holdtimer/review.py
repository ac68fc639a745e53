"""Session review: the pure analysis behind `history`, `report` and `export` (no I/O, no rich).

Sessions are the store's session rows (dicts, see store.py); steps are its step rows. Times are
unix seconds shown in local time; days and weeks are local calendar days and ISO weeks (Monday).
"""
import datetime as _dt
import re

WORK_KINDS = ("hold", "tempo", "press")
SHORT_MS = 1000          # same rule as store.SHORT_MS: a hold ended > 1 s early is "cut short"
DONE_AT = 0.8            # a session counts toward adherence when >= 80 % of its planned steps were done
IMBALANCE = 0.10         # left/right hold time differing by more than 10 % is flagged
# sessionlog.REASONS: how a session ended, in words
END_NAMES = {"done": "completed", "ended": "ended early", "abandoned": "abandoned", "error": "stopped by an error",
             "unknown": "ended (reason unknown)"}


# ---------------------------------------------------------------- dates
def local_dt(ts):
    return _dt.datetime.fromtimestamp(ts)


def local_day(ts):
    return _dt.datetime.fromtimestamp(ts).date()


def day_start(day):
    """Unix seconds of local midnight starting `day`."""
    return _dt.datetime(day.year, day.month, day.day).timestamp()


def week_start(day):
    return day - _dt.timedelta(days=day.weekday())


def week_label(day):
    y, w, _ = day.isocalendar()
    return "%d-W%02d" % (y, w)


def parse_date(text, today=None):
    """A date from the command line: YYYY-MM-DD, `today`, `yesterday`, or `Nd`/`Nw` (N days/weeks ago).
    Raises ValueError with a message naming the accepted forms."""
    today = today or _dt.date.today()
    t = text.strip().lower()
    if t == "today":
        return today
    if t == "yesterday":
        return today - _dt.timedelta(days=1)
    m = re.fullmatch(r"(\d{1,4})([dw])", t)
    if m:
        n = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        return today - _dt.timedelta(days=n)
    try:
        return _dt.date.fromisoformat(t)
    except ValueError:
        raise ValueError("%r is not a date: use YYYY-MM-DD, today, yesterday, 7d or 2w" % text)


def time_bounds(since=None, until=None):
    """Unix-second bounds [start of `since`, end of `until`) for the store's filters (dates inclusive)."""
    lo = day_start(since) if since else None
    hi = day_start(until + _dt.timedelta(days=1)) if until else None
    return lo, hi


# ---------------------------------------------------------------- one session
def completion(s):
    """Done (not skipped) steps / planned steps, 0..1; None when the plan size is unknown."""
    planned = s.get("planned_steps")
    if not planned:
        if s.get("end_reason") == "done" and s.get("steps_logged"):
            planned = s["steps_logged"]
        else:
            return None
    return min(1.0, s.get("steps_done", 0) / planned)


def counts_as_done(s):
    c = completion(s)
    return s.get("end_reason") == "done" if c is None else c >= DONE_AT


def when(s, fmt="%Y-%m-%d %H:%M"):
    """Start time as local text; '~' marks a reconstructed time; 'time unknown' when it is."""
    if s.get("started_at") is None:
        return "time unknown"
    text = local_dt(s["started_at"]).strftime(fmt)
    return ("~" + text) if s.get("time_source") == "reconstructed" else text


def outcome(s, brief=False):
    """How the session ended, in words (with resumptions and a torn tail); `brief` for a narrow table."""
    end = s.get("end_reason")
    if end is None:
        text = "unfinished"
    else:
        text = END_NAMES.get(end, str(end))
        if text == "ended early" and s.get("planned_steps"):
            text = ("ended %d/%d" if brief else "ended at step %d/%d") % (
                min(s.get("steps_logged", 0), s["planned_steps"]), s["planned_steps"])
    extra = []
    if s.get("resumed"):
        extra.append("resumed" if s["resumed"] == 1 else "resumed x%d" % s["resumed"])
    if s.get("torn"):
        extra.append("tail lost" if brief else "log tail lost")
    return text + ("; " + ", ".join(extra) if extra else "")


def fmt_ms(ms, signed=False):
    """Milliseconds as m:ss (or s for under a minute); `signed` adds + or -."""
    if ms is None:
        return ""
    sign = ""
    if signed:
        sign = "-" if ms < 0 else "+"
    ms = abs(int(ms))
    sec = (ms + 500) // 1000
    if sec < 60 and not signed:
        return "%ds" % sec
    if sec < 60:
        return "%s%ds" % (sign, sec)
    if sec < 3600:
        return "%s%d:%02d" % (sign, sec // 60, sec % 60)
    return "%s%d:%02d:%02d" % (sign, sec // 3600, sec // 60 % 60, sec % 60)


def _diff(ms):
    return "0s" if abs(ms) < 500 else fmt_ms(ms, signed=True)


def pct(x):
    return "?" if x is None else "%d%%" % round(100 * x)


def history_row(s, routines=None, short_when=False):
    """One line of `holdtimer history` as text cells; also the narrow table's: `cut` (holds cut
    short/skipped), `ended_brief`, and `when` without the year with `short_when`."""
    r = (routines or {}).get(s["routine_id"]) or {}
    short = s.get("holds_short", 0)
    skipped = s.get("holds_skipped", 0)
    return {
        "id": s["uid"][:8], "when": when(s, "%m-%d %H:%M" if short_when else "%Y-%m-%d %H:%M"), "routine": r.get("name") or s["routine_id"],
        "duration": fmt_ms(s.get("duration_ms", 0)), "done": pct(completion(s)),
        "holds": "%d" % s.get("holds", 0), "short": str(short) if short else "-",
        "skipped": str(skipped) if skipped else "-",
        "discomfort": str(s["discomfort"]) if s.get("discomfort") else "-",
        "ended": outcome(s), "ended_brief": outcome(s, brief=True),
        "cut": "%d/%d" % (short, skipped) if short or skipped else "-",
    }


def step_label(step, names=None):
    name = step.get("ex_name") or (names[step["ex"]] if names and step["ex"] < len(names) else None)
    return name or "exercise %d" % (step["ex"] + 1)


def step_marks(step):
    marks = []
    if step["skipped"]:
        marks.append("skipped")
    elif (step["kind"] in WORK_KINDS and step["planned_ms"] > 0
          and step["actual_ms"] < step["planned_ms"] - SHORT_MS):
        marks.append("cut short")
    if step["discomfort"]:
        marks.append("DISCOMFORT")
    if step["pauses"]:
        marks.append("paused" if step["pauses"] == 1 else "paused x%d" % step["pauses"])
    if step.get("ended"):
        marks.append("session ended here")
    return marks


def session_detail(steps, names=None, all_steps=False):
    """`history SESSION`: one row per work step, and per other step that carries a discomfort mark or
    the session's end (every step with `all_steps`), planned against actual."""
    rows = []
    for st in steps:
        if not all_steps and st["kind"] not in WORK_KINDS and not st["discomfort"] and not st.get("ended"):
            continue
        planned = st["planned_ms"]
        rows.append({
            "step": str(st["i"] + 1), "exercise": step_label(st, names), "kind": st["kind"],
            "set_rep": ("%d/%d" % (st["set_no"], st["rep"])) if st["set_no"] or st["rep"] else "",
            "side": "" if st["side"] == "none" else st["side"],
            "planned": fmt_ms(planned) if planned else "press",
            "actual": fmt_ms(st["actual_ms"]),
            "diff": _diff(st["actual_ms"] - planned) if planned and not st["skipped"] else "",
            "marks": ", ".join(step_marks(st)),
        })
    return rows


def side_summary(steps, names=None):
    """Per exercise of one session: planned and actual hold time on each side."""
    out = {}
    for st in steps:
        if st["kind"] not in WORK_KINDS:
            continue
        key = (st["ex"], step_label(st, names))
        d = out.setdefault(key, {})
        p, a = d.get(st["side"], (0, 0))
        d[st["side"]] = (p + st["planned_ms"], a + st["actual_ms"])
    return [{"ex": ex, "exercise": name, "sides": sides} for (ex, name), sides in sorted(out.items())]


# ---------------------------------------------------------------- adherence and streaks
def streaks(met, in_progress_last=False):
    """(current, longest) runs of True in `met` (oldest first). The current run ends at the last
    period; if that period is still in progress and not met yet, it does not break the run."""
    longest = run = 0
    for m in met:
        run = run + 1 if m else 0
        longest = max(longest, run)
    cur = 0
    seq = list(met)
    if in_progress_last and seq and not seq[-1]:
        seq = seq[:-1]
    for m in reversed(seq):
        if not m:
            break
        cur += 1
    return cur, longest


def adherence(sessions, n, per, start, end, today=None):
    """Planned against done for a routine prescribed `n` times per `per` ('day' or 'week'), over the
    local days start..end inclusive. A session counts when counts_as_done(); a day (week) never
    counts more than `n`, so extra sessions do not make up for a missed one.
    Returns dict(days=[(day, planned, done)], weeks=[(monday, planned, done)], planned, done, rate,
    streak=(current, longest), unit='days'|'weeks', unknown=sessions of unknown time)."""
    today = today or _dt.date.today()
    per_day = {}
    unknown = 0
    for s in sessions:
        if s.get("started_at") is None:
            unknown += 1
            continue
        if not counts_as_done(s):
            continue
        d = local_day(s["started_at"])
        if start <= d <= end:
            per_day[d] = per_day.get(d, 0) + 1
    days = []
    d = start
    while d <= end:
        days.append((d, n if per == "day" else 0, per_day.get(d, 0)))
        d += _dt.timedelta(days=1)
    weeks = []
    for day, planned, done in days:
        wk = week_start(day)
        if not weeks or weeks[-1][0] != wk:
            weeks.append([wk, 0, 0])
        weeks[-1][1] += planned
        weeks[-1][2] += min(done, planned) if per == "day" else done
    if per == "day":
        met = [done >= n for _, _, done in days]
        in_progress = end == today
        unit = "days"
    else:
        for w in weeks:
            w[1] = n
            w[2] = min(w[2], n)
        met = [w[2] >= n for w in weeks]
        in_progress = end >= today and week_start(end) == week_start(today)
        unit = "weeks"
    weeks = [tuple(w) for w in weeks]
    planned = sum(w[1] for w in weeks)
    done = sum(w[2] for w in weeks)
    return {"days": days, "weeks": weeks, "planned": planned, "done": done,
            "rate": (done / planned) if planned else None,
            "streak": streaks(met, in_progress), "unit": unit, "unknown": unknown,
            "in_progress": end >= today and week_start(end) == week_start(today),  # the last week
            "n": n, "per": per, "start": start, "end": end}


# ---------------------------------------------------------------- hold time, balance, discomfort
def exercise_sides(totals, names=None):
    """Step totals (store.step_totals rows of one routine) folded per exercise:
    [{ex, exercise, sides: {side: row}, left_ms, right_ms, balance}] where balance is
    (left - right) / max(left, right) of actual hold time, None without both sides."""
    by_ex = {}
    for r in totals:
        e = by_ex.setdefault(r["ex"], {"ex": r["ex"], "exercise": None, "sides": {}, "marks_elsewhere": 0})
        if not r["n"]:  # only prep/rest/switch steps on this side: their marks count, no hold time
            e["marks_elsewhere"] += r["discomfort"] or 0
            continue
        e["sides"][r["side"]] = r
        e["exercise"] = e["exercise"] or r.get("ex_name")
    out = []
    for ex in sorted(by_ex):
        e = by_ex[ex]
        if not e["exercise"]:
            e["exercise"] = names.get(ex) if isinstance(names, dict) else (
                names[ex] if names and ex < len(names) else None)
        e["exercise"] = e["exercise"] or "exercise %d" % (ex + 1)
        left = e["sides"].get("left", {}).get("actual_ms", 0) or 0
        right = e["sides"].get("right", {}).get("actual_ms", 0) or 0
        e["left_ms"], e["right_ms"] = left, right
        e["balance"] = (left - right) / max(left, right) if "left" in e["sides"] and "right" in e["sides"] \
            and max(left, right) > 0 else None
        e["total_ms"] = sum((r.get("actual_ms") or 0) for r in e["sides"].values())
        e["planned_ms"] = sum((r.get("planned_ms") or 0) for r in e["sides"].values())
        e["n"] = sum(r["n"] for r in e["sides"].values())
        e["short"] = sum(r["short"] or 0 for r in e["sides"].values())
        e["skipped"] = sum(r["skipped"] or 0 for r in e["sides"].values())
        e["discomfort"] = sum(r["discomfort"] or 0 for r in e["sides"].values()) + e["marks_elsewhere"]
        out.append(e)
    return out


def balance_text(b):
    """Left/right balance in words: 'even' within IMBALANCE, else which side held how much less."""
    if b is None:
        return ""
    if abs(b) <= IMBALANCE:
        return "even"
    return "%s %d%% less" % ("right" if b > 0 else "left", round(100 * abs(b)))


def hot_spots(totals, names=None):
    """Exercise x side with discomfort marks, most first: [{exercise, side, marks, n, rate}]."""
    ex = {e["ex"]: e["exercise"] for e in exercise_sides(totals, names)}
    spots = [{"ex": r["ex"], "exercise": ex[r["ex"]], "side": r["side"], "marks": r["discomfort"],
              "n": r["n"], "rate": r["discomfort"] / r["n"] if r["n"] else 0.0}
             for r in totals if r["discomfort"]]
    spots.sort(key=lambda x: (-x["marks"], -x["rate"], x["ex"], x["side"]))
    return spots


def weekly_trend(sessions, start=None, end=None):
    """Per ISO week (every week in start..end, or those with sessions): sessions, counted ones,
    average completion, hold minutes, share of holds cut short or skipped, discomfort marks."""
    weeks = {}
    for s in sessions:
        if s.get("started_at") is None:
            continue
        wk = week_start(local_day(s["started_at"]))
        w = weeks.setdefault(wk, {"sessions": 0, "done": 0, "comp": [], "work_ms": 0, "holds": 0,
                                  "short": 0, "skipped": 0, "discomfort": 0})
        w["sessions"] += 1
        w["done"] += 1 if counts_as_done(s) else 0
        c = completion(s)
        if c is not None:
            w["comp"].append(c)
        w["work_ms"] += s.get("work_ms", 0)
        w["holds"] += s.get("holds", 0)
        w["short"] += s.get("holds_short", 0)
        w["skipped"] += s.get("holds_skipped", 0)
        w["discomfort"] += s.get("discomfort", 0)
    if start and end:
        wk = week_start(start)
        while wk <= end:
            weeks.setdefault(wk, {"sessions": 0, "done": 0, "comp": [], "work_ms": 0, "holds": 0,
                                  "short": 0, "skipped": 0, "discomfort": 0})
            wk += _dt.timedelta(days=7)
    out = []
    for wk in sorted(weeks):
        w = weeks[wk]
        out.append({"week": wk, "label": week_label(wk), "sessions": w["sessions"], "done": w["done"],
                    "completion": sum(w["comp"]) / len(w["comp"]) if w["comp"] else None,
                    "work_ms": w["work_ms"], "holds": w["holds"],
                    "cut_rate": (w["short"] + w["skipped"]) / w["holds"] if w["holds"] else None,
                    "discomfort": w["discomfort"]})
    return out


def routine_report(routine_id, sessions, totals, info=None, since=None, until=None, today=None):
    """Everything `report` shows for one routine. `info` is store.routines()[id] (name, freq, names)."""
    today = today or _dt.date.today()
    info = info or {}
    known = [s for s in sessions if s.get("started_at") is not None]
    first = min((local_day(s["started_at"]) for s in known), default=None)
    last = max((local_day(s["started_at"]) for s in known), default=None)
    start = since or first
    end = until or (max(today, last) if last else today)
    rep = {"id": routine_id, "name": info.get("name") or routine_id, "sessions": len(sessions),
           "unknown_time": len(sessions) - len(known), "freq": None, "adherence": None,
           "counted": sum(1 for s in sessions if counts_as_done(s)),
           "work_ms": sum(s.get("work_ms", 0) for s in sessions),
           "start": start, "end": end}
    n, per = info.get("freq_n"), info.get("freq_per")
    if n and per in ("day", "week"):
        rep["freq"] = (n, per)
        if start is not None:
            rep["adherence"] = adherence(sessions, n, per, start, end, today)
    rep["exercises"] = exercise_sides(totals, info.get("names"))
    rep["hot_spots"] = hot_spots(totals, info.get("names"))
    rep["trend"] = weekly_trend(sessions, start, end) if start else []
    return rep


def freq_text(freq):
    if not freq:
        return "frequency unknown"
    n, per = freq
    words = {1: "once", 2: "twice", 3: "three times"}
    return "%s %s" % (words.get(n, "%d times" % n), "daily" if per == "day" else "a week")


# ---------------------------------------------------------------- export
SESSION_FIELDS = ("session_id", "device", "seq", "routine_id", "routine_name", "routine_hash",
                  "started_at", "started_local", "time_source", "boot", "uptime_ms", "duration_s",
                  "planned_steps", "steps_done", "steps_skipped", "completion", "holds", "holds_short",
                  "holds_skipped", "discomfort_marks", "pauses", "hold_planned_s", "hold_actual_s",
                  "end_reason", "outcome", "resumed", "torn", "pulled_at")
STEP_FIELDS = ("step_pos", "step_index", "kind", "exercise_index", "exercise", "set", "rep", "side",
               "planned_s", "actual_s", "skipped", "cut_short", "discomfort", "pauses", "offset_s",
               "ended_here")
# CSV rows hold a session's columns and a step's side by side: a step column named like a session
# column (pauses) is called step_<name> there, so that every header is unique.
CSV_STEP_FIELDS = tuple("step_" + f if f in SESSION_FIELDS else f for f in STEP_FIELDS)


def _iso(ts):
    return None if ts is None else _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(
        timespec="seconds").replace("+00:00", "Z")


def _s(ms):
    return None if ms is None else round(ms / 1000.0, 3)


def export_session(s, routines=None):
    r = (routines or {}).get(s["routine_id"]) or {}
    c = completion(s)
    return {
        "session_id": s["uid"], "device": s["device"], "seq": s["seq"], "routine_id": s["routine_id"],
        "routine_name": r.get("name"), "routine_hash": s.get("routine_hash"),
        "started_at": _iso(s.get("started_at")),
        "started_local": None if s.get("started_at") is None else local_dt(s["started_at"]).isoformat(
            timespec="seconds"),
        "time_source": s["time_source"], "boot": s.get("boot"), "uptime_ms": s.get("uptime_ms"),
        "duration_s": _s(s.get("duration_ms")), "planned_steps": s.get("planned_steps"),
        "steps_done": s.get("steps_done"), "steps_skipped": s.get("steps_skipped"),
        "completion": None if c is None else round(c, 4), "holds": s.get("holds"),
        "holds_short": s.get("holds_short"), "holds_skipped": s.get("holds_skipped"),
        "discomfort_marks": s.get("discomfort"), "pauses": s.get("pauses"),
        "hold_planned_s": _s(s.get("work_planned_ms")), "hold_actual_s": _s(s.get("work_ms")),
        "end_reason": s.get("end_reason"), "outcome": outcome(s), "resumed": s.get("resumed", 0),
        "torn": bool(s.get("torn")), "pulled_at": _iso(s.get("pulled_at")),
    }


def export_step(st, names=None):
    return {
        "step_pos": st["pos"], "step_index": st["i"], "kind": st["kind"], "exercise_index": st["ex"],
        "exercise": st.get("ex_name") or (names[st["ex"]] if names and st["ex"] < len(names) else None),
        "set": st["set_no"], "rep": st["rep"], "side": st["side"],
        "planned_s": _s(st["planned_ms"]), "actual_s": _s(st["actual_ms"]), "skipped": bool(st["skipped"]),
        "cut_short": "cut short" in step_marks(st), "discomfort": bool(st["discomfort"]),
        "pauses": st["pauses"], "offset_s": _s(st.get("offset_ms")), "ended_here": bool(st.get("ended")),
    }
