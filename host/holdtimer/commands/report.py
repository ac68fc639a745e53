"""`holdtimer report`: adherence to each routine's frequency, streaks, hold time per side, discomfort."""
import os

from holdtimer.errors import UserError
from holdtimer.words import count

TERMINAL_WEEKS = 12   # weeks and days shown in the terminal tables
TERMINAL_DAYS = 14
HTML_WEEKS = 104      # and in the HTML page (--since/--until choose another period)
HTML_DAYS = 56


def add_arguments(p):
    p.add_argument("--routine", metavar="ID", help="only this routine")
    p.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD, today, yesterday, 7d, 2w)")
    p.add_argument("--until", metavar="DATE", help="up to and including this day (default: today)")
    p.add_argument("--charts", metavar="DIR", help="write PNG charts into DIR (created if needed; the folder it is in must exist)")
    p.add_argument("--html", metavar="FILE", help="write one self-contained HTML page (tables and charts); its folder must exist")


def build(st, routine=None, lo=None, hi=None, since=None, until=None, today=None):
    """The report of every routine with sessions in the range: a list of review.routine_report dicts."""
    from holdtimer import review
    infos = st.routines()
    sessions = st.sessions(routine, lo, hi, oldest_first=True)
    totals = st.step_totals(routine, lo, hi)
    by_routine, tot_by = {}, {}
    for s in sessions:
        by_routine.setdefault(s["routine_id"], []).append(s)
    for r in totals:
        tot_by.setdefault(r["routine_id"], []).append(r)
    return [review.routine_report(rid, by_routine[rid], tot_by.get(rid, []), infos.get(rid), since, until, today)
            for rid in sorted(by_routine)]


def tables(rep, max_weeks=None, max_days=None, narrow=False):
    """The report of one routine as plain tables: [dict(title, columns, rows, right=[column indexes],
    legend=line or None)]. `narrow`: the same tables laid out for 80 columns (one row per exercise
    and side, shorter headers, each with a legend line for its abbreviations)."""
    from holdtimer import review
    out = []
    a = rep.get("adherence")
    if a:
        weeks = a["weeks"][-max_weeks:] if max_weeks else a["weeks"]
        out.append({
            "title": "Adherence per week (%s)" % review.freq_text(rep["freq"])
                     + (", last %d weeks" % len(weeks) if len(weeks) < len(a["weeks"]) else ""),
            "columns": ["week", "from", "planned", "done", "%"], "right": [2, 3, 4],
            "rows": [[review.week_label(w[0]), w[0].isoformat(), str(w[1]), str(w[2]),
                      review.pct(w[2] / w[1]) if w[1] else "-"] for w in weeks]})
        if a["per"] == "day":
            days = a["days"][-max_days:] if max_days else a["days"]
            out.append({
                "title": "Adherence per day" + (", last %d days" % len(days) if len(days) < len(a["days"]) else ""),
                "columns": ["day", "planned", "done", ""], "right": [1, 2],
                "rows": [[d[0].strftime("%a %Y-%m-%d"), str(d[1]), str(d[2]),
                          "met" if d[2] >= d[1] else ("partly" if d[2] else "missed")] for d in days]})
    rows = []
    for e in rep["exercises"]:
        def side(name):
            r = e["sides"].get(name)
            if not r:
                return "-"
            if not r["planned_ms"]:  # press reps: no planned time
                return review.fmt_ms(r["actual_ms"])
            return "%s/%s" % (review.fmt_ms(r["actual_ms"]), review.fmt_ms(r["planned_ms"]))
        rows.append([e["exercise"], str(e["n"]), side("left"), side("right"), side("none"),
                     review.balance_text(e["balance"]), str(e["short"]), str(e["skipped"]), str(e["discomfort"])])
    if narrow:
        out.append(exercise_sides_table(rep["exercises"]))
    else:
        out.append({"title": "Hold time per exercise (held / planned)",
                    "columns": ["exercise", "holds", "left", "right", "no side", "balance", "short", "skipped",
                                "discomfort"],
                    "right": [1, 2, 3, 4, 6, 7, 8], "rows": rows})
    spots = rep["hot_spots"]
    out.append({"title": "Discomfort hot spots" + ("" if spots else ": no discomfort marks"),
                "columns": ["exercise", "side", "marks", "of holds", "share"], "right": [2, 3, 4],
                "rows": [[h["exercise"], "-" if h["side"] == "none" else h["side"], str(h["marks"]), str(h["n"]),
                          review.pct(h["rate"])] for h in spots]})
    trend = rep["trend"][-max_weeks:] if max_weeks else rep["trend"]
    out.append({"title": "Weekly trend" + (", last %d weeks" % len(trend) if len(trend) < len(rep["trend"]) else ""),
                "columns": ["week", "sessions", "counted", "completion", "hold time", "cut", "disc."] if narrow
                else ["week", "sessions", "counted", "completion", "hold time", "short/skipped", "discomfort"],
                "right": [1, 2, 3, 4, 5, 6],
                "legend": "cut: share of the holds cut short or skipped; disc.: discomfort marks" if narrow else None,
                "rows": [[w["label"], str(w["sessions"]), str(w["done"]), review.pct(w["completion"]),
                          review.fmt_ms(w["work_ms"]), review.pct(w["cut_rate"]) if w["holds"] else "-",
                          str(w["discomfort"])] for w in trend]})
    return out


def exercise_sides_table(exercises):
    """Hold time per exercise for 80 columns: a row per exercise and side (the exercise named on its
    first row), held and planned time and their ratio, the left/right balance in short."""
    from holdtimer import review
    rows, elsewhere = [], False
    for e in exercises:
        first = True
        for side in ("left", "right", "none"):
            r = e["sides"].get(side)
            if not r:
                continue
            planned = r.get("planned_ms") or 0
            rows.append([e["exercise"] if first else "", "-" if side == "none" else side, str(r["n"]),
                         review.fmt_ms(r.get("actual_ms") or 0), review.fmt_ms(planned) if planned else "-",
                         review.pct((r.get("actual_ms") or 0) / planned) if planned else "-",
                         short_balance(e["balance"]) if first else "",
                         "%d/%d" % (r["short"] or 0, r["skipped"] or 0) if r["short"] or r["skipped"] else "-",
                         str(r["discomfort"] or 0)])
            first = False
        if e.get("marks_elsewhere"):
            elsewhere = True
            rows.append([e["exercise"] if first else "", "other", "-", "-", "-", "-", "", "-",
                         str(e["marks_elsewhere"])])
    legend = ("%: held of planned; bal.: left/right balance (L-12%: left held 12% less); "
              "cut: holds cut short/skipped; disc.: discomfort marks")
    if elsewhere:
        legend += "; other: marks on prep, rest and switch steps"
    return {"title": "Hold time per exercise and side",
            "columns": ["exercise", "side", "holds", "held", "planned", "%", "bal.", "cut", "disc."],
            "right": [2, 3, 4, 5, 7, 8], "rows": rows, "legend": legend}


def short_balance(b):
    """review.balance_text in a few characters: 'even', 'L-12%' (left held 12 % less), 'R-20%'."""
    from holdtimer import review
    if b is None:
        return ""
    if abs(b) <= review.IMBALANCE:
        return "even"
    return "%s-%d%%" % ("R" if b > 0 else "L", round(100 * abs(b)))


def summary(rep):
    """A few lines about one routine: frequency, sessions, adherence, streaks."""
    from holdtimer import review
    lines = ["%s (%s): %s" % (rep["name"], rep["id"], review.freq_text(rep["freq"]))]
    span = ""
    if rep["start"]:
        span = " from %s to %s" % (rep["start"].isoformat(), rep["end"].isoformat())
    lines.append("%d session%s%s, %d counted (>= %d%% of the steps done)%s; hold time %s"
                 % (rep["sessions"], "" if rep["sessions"] == 1 else "s", span, rep["counted"], round(100 * review.DONE_AT),
                    ", %d of unknown time" % rep["unknown_time"] if rep["unknown_time"] else "",
                    review.fmt_ms(rep["work_ms"])))
    a = rep["adherence"]
    if a:
        cur, best = a["streak"]
        unit = a["unit"][:-1]  # days -> day
        lines.append("adherence %s: %d of %s done; streak %s now, longest %s"
                     % (review.pct(a["rate"]), a["done"], count(a["planned"], "planned session"),
                        count(cur, unit), count(best, unit)))
    elif not rep["freq"]:
        lines.append("adherence: the routine's frequency is unknown (its document is not in the store):"
                     " `holdtimer sync` it, then pull or report again")
    else:
        lines.append("adherence: no session of known time yet")
    return lines


def run(args):
    from holdtimer.commands.history import filters, open_store_or_say, console
    from holdtimer.paths import check_output
    routine, lo, hi, since, until = filters(args)
    if args.html:  # said before any work is done
        check_output(args.html)
    if args.charts:
        check_output(args.charts, "chart folder")
    st = open_store_or_say()
    if st is None:
        return 0
    with st:
        reports = build(st, routine, lo, hi, since, until)
    if not reports:
        print("no sessions for these filters" + (" (routine %s)" % routine if routine else ""))
        return 0
    # Files first: the terminal output may go to a pipe that closes early (`| head`).
    charts, wrote = {}, []
    if args.charts or args.html:
        from holdtimer import charts as ch
        charts = {rep["id"]: ch.all_charts(rep) for rep in reports}
    if args.charts:
        paths = write_charts(args.charts, charts)
        wrote.append("wrote %s to %s" % (count(len(paths), "chart"), args.charts))
    if args.html:
        write_html(args.html, reports, charts)
        wrote.append("wrote %s" % args.html)
    print_reports(reports, console())
    for line in wrote:
        print(line)
    return 0


def print_reports(reports, out):
    from rich.markup import escape
    for rep in reports:
        lines = summary(rep)
        out.rule("[bold]%s[/bold]" % escape(lines[0]))
        for line in lines[1:]:
            out.print(escape(line))
        wide = tables(rep, TERMINAL_WEEKS, TERMINAL_DAYS)
        narrow = tables(rep, TERMINAL_WEEKS, TERMINAL_DAYS, narrow=True)
        for tb, small in zip(wide, narrow):
            if not tb["rows"]:
                out.print("[dim]%s[/dim]" % escape(tb["title"]))
                continue
            t, fit = terminal_table(tb)
            if fit.least(out) > out.width:  # too wide for the terminal even with its words wrapped
                tb = small
                t, fit = terminal_table(tb)
            out.print(fit.apply(out))
            if tb.get("legend"):
                out.print(escape(tb["legend"]))


def terminal_table(tb):
    """(rich table, its history.Fit) of one of tables()' dicts, rows added."""
    from holdtimer.commands.history import add_columns, table
    from rich.markup import escape
    t = table(tb["title"])
    fit = add_columns(t, tb["columns"], tb["rows"], tb["right"],
                      fixed=(0,) if tb["columns"][0] in ("week", "day") else ())
    for row in tb["rows"]:
        style = "red" if row[-1] == "missed" else None
        t.add_row(*[escape(c) for c in row], style=style)
    return t, fit


def _safe_name(text):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "routine"


def write_charts(directory, charts):
    from holdtimer.paths import check_output
    check_output(directory, "chart folder")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserError("cannot write the charts into %s: it is a file, not a folder" % directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise UserError("cannot create the chart directory %s: %s" % (directory, e.strerror))
    paths = []
    for rid, items in sorted(charts.items()):
        for name, png in items:
            p = os.path.join(directory, "%s-%s.png" % (_safe_name(rid), name))
            with open(p, "wb") as f:
                f.write(png)
            paths.append(p)
    return paths


def html_page(reports, charts):
    """One self-contained HTML page: per routine its summary, charts (base64 PNG) and tables."""
    import base64
    import datetime
    from html import escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>holdtimer report</title><style>",
             "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}",
             "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px}",
             "th{background:#f2f2f2}td.r{text-align:right}tr.missed td{color:#b22}img{max-width:100%}",
             "h2{border-bottom:2px solid #444}</style></head><body>",
             "<h1>holdtimer report</h1><p>made %s</p>" % escape(datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))]
    for rep in reports:
        lines = summary(rep)
        parts.append("<section><h2>%s</h2>" % escape(lines[0]))
        parts.extend("<p>%s</p>" % escape(line) for line in lines[1:])
        for name, png in charts.get(rep["id"], ()):
            parts.append("<figure><img alt='%s' src='data:image/png;base64,%s'></figure>"
                         % (escape(name), base64.b64encode(png).decode("ascii")))
        for tb in tables(rep, HTML_WEEKS, HTML_DAYS):
            parts.append("<h3>%s</h3>" % escape(tb["title"]))
            if not tb["rows"]:
                continue
            parts.append("<table><tr>%s</tr>" % "".join("<th>%s</th>" % escape(c) for c in tb["columns"]))
            for row in tb["rows"]:
                parts.append("<tr%s>%s</tr>" % (
                    " class='missed'" if row[-1] == "missed" else "",
                    "".join("<td%s>%s</td>" % (" class='r'" if k in tb["right"] else "", escape(c))
                            for k, c in enumerate(row))))
            parts.append("</table>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html(path, reports, charts):
    from holdtimer.paths import check_output
    check_output(path)
    text = html_page(reports, charts)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UserError("cannot write %s: %s" % (path, e.strerror))
