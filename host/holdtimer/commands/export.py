"""`holdtimer export --format csv|json`: sessions and their steps for other tools (docs/review.md).

CSV: one row per step with the session's columns repeated in front (review.SESSION_FIELDS, then
review.CSV_STEP_FIELDS: the step fields, `pauses` named `step_pauses`); a session without steps has one row with the step columns empty.
JSON: {"format": "holdtimer-export", "version": 1, "exported_at", "sessions": [{...session fields,
"steps": [{...step fields}]}]}. Sessions oldest first (time unknown: by when they were pulled).
"""
import sys

from holdtimer.errors import UserError

FORMAT_VERSION = 1


def add_arguments(p):
    p.add_argument("--format", choices=("csv", "json"), required=True, help="csv: one row per step; json: nested")
    p.add_argument("--routine", metavar="ID", help="only sessions of this routine")
    p.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD, today, yesterday, 7d, 2w)")
    p.add_argument("--until", metavar="DATE", help="up to and including this day")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output (its folder must exist)")


def records(st, routine=None, lo=None, hi=None):
    """Export dicts of the selected sessions, oldest first, each with its `steps` list."""
    from holdtimer import review
    routines = st.routines()
    sessions = st.sessions(routine, lo, hi, oldest_first=True)
    steps = st.steps_for([s["id"] for s in sessions])
    out = []
    for s in sessions:
        rec = review.export_session(s, routines)
        names = (routines.get(s["routine_id"]) or {}).get("names")
        rec["steps"] = [review.export_step(t, names) for t in steps[s["id"]]]
        out.append(rec)
    return out


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    return v


def write_csv(recs, f):
    import csv
    from holdtimer import review
    w = csv.writer(f, lineterminator="\n")
    w.writerow(review.SESSION_FIELDS + review.CSV_STEP_FIELDS)
    for rec in recs:
        head = [_cell(rec[k]) for k in review.SESSION_FIELDS]
        if not rec["steps"]:
            w.writerow(head + [""] * len(review.STEP_FIELDS))
        for st in rec["steps"]:
            w.writerow(head + [_cell(st[k]) for k in review.STEP_FIELDS])


def write_json(recs, f):
    import datetime
    import json
    doc = {"format": "holdtimer-export", "version": FORMAT_VERSION,
           "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
           .replace("+00:00", "Z"),
           "sessions": recs}
    json.dump(doc, f, indent=1, ensure_ascii=False)
    f.write("\n")


def run(args):
    from holdtimer import store
    from holdtimer.commands.history import filters
    routine, lo, hi, _, _ = filters(args)
    if args.output and args.output != "-":
        from holdtimer.paths import check_output
        check_output(args.output)
    st = store.open_existing()
    if st is None:
        recs = []
    else:
        with st:
            recs = records(st, routine, lo, hi)
    if not recs:
        print("holdtimer export: no sessions to export%s" % (
            "" if st else " (the store is empty: run `holdtimer pull` first)"), file=sys.stderr)
    write = write_csv if args.format == "csv" else write_json
    if args.output and args.output != "-":
        from holdtimer.paths import check_output
        check_output(args.output)
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                write(recs, f)
        except OSError as e:
            raise UserError("cannot write %s: %s" % (args.output, e.strerror))
        n = sum(len(r["steps"]) for r in recs)
        print("exported %d session%s (%d step%s) to %s" % (len(recs), "" if len(recs) == 1 else "s",
                                                            n, "" if n == 1 else "s", args.output), file=sys.stderr)
    else:
        write(recs, sys.stdout)
    return 0
