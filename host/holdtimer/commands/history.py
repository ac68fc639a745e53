"""`holdtimer history [SESSION]`: sessions newest first, or one session step by step."""
import sys

from holdtimer.errors import UserError
from holdtimer.words import count

DEFAULT_LIMIT = 30
WORD_MAX = 20     # a word longer than this may be folded in a narrow table
MIN_WIDTH = 40    # the narrowest console the tables are laid out for (narrower terminals wrap lines)
PLAIN_FROM = 300  # longer lists are printed as plain columns (fast for --limit 0 over 10,000 sessions)
HEADERS = ("id", "when", "routine", "time", "done", "holds", "short", "skipped", "discomfort", "ended")
KEYS = ("id", "when", "routine", "duration", "done", "holds", "short", "skipped", "discomfort", "ended")
RIGHT = (3, 4, 5, 6, 7, 8)
# the same at 80 columns (sessions_table)
NARROW_HEADERS = ("id", "when", "routine", "time", "done", "holds", "cut", "disc.", "ended")
NARROW_KEYS = ("id", "when", "routine", "duration", "done", "holds", "cut", "discomfort", "ended_brief")
NARROW_RIGHT = (3, 4, 5, 6, 7)
NARROW_LEGEND = "cut: holds cut short/skipped; disc.: discomfort marks"


def add_arguments(p):
    p.add_argument("session", nargs="?", metavar="SESSION",
                   help="a session id from the list (or a unique prefix of it): show that session step by step")
    p.add_argument("--routine", metavar="ID", help="only sessions of this routine")
    p.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD, today, yesterday, 7d, 2w)")
    p.add_argument("--until", metavar="DATE", help="up to and including this day")
    p.add_argument("--limit", metavar="N", type=int, default=DEFAULT_LIMIT,
                   help="show the N newest sessions (default %d; 0 shows all)" % DEFAULT_LIMIT)
    p.add_argument("--all-steps", action="store_true",
                   help="with SESSION: list prep, rest and switch steps too, not only the holds")


def filters(args):
    """(routine, since_ts, until_ts) from --routine/--since/--until; UserError on a bad date."""
    from holdtimer import review
    try:
        since = review.parse_date(args.since) if getattr(args, "since", None) else None
        until = review.parse_date(args.until) if getattr(args, "until", None) else None
    except ValueError as e:
        raise UserError(str(e))
    if since and until and since > until:
        raise UserError("--since %s is after --until %s" % (since, until))
    lo, hi = review.time_bounds(since, until)
    return getattr(args, "routine", None), lo, hi, since, until


def open_store_or_say(quiet=False):
    """The store, or None after telling the user there is nothing to review yet (unless `quiet`)."""
    from holdtimer import store
    st = store.open_existing()
    if st is None or st.count() == 0:
        where = st.path if st else store.db_path(create=False)
        if st:
            st.close()
        if quiet:
            return None
        print("no sessions in the store yet (%s): run a session on the device, then `holdtimer pull`" % where)
        return None
    return st


def add_columns(table, headers, rows, right=(), fixed=()):
    """Columns for a rich table that stays whole in a narrow terminal: figures (`right`) and `fixed`
    columns never wrap and keep the width of their longest cell; words wrap between words, never
    inside one (up to WORD_MAX characters). No column is narrower than its header.
    Returns the table's Fit: call its apply(console) once the rows are added."""
    mins, nats, wrap = [], [], []
    for k, name in enumerate(headers):
        cells = [r[k] for r in rows]
        natural = max([len(name)] + [len(c) for c in cells])
        if k in right or k in fixed:
            table.add_column(name, justify="right" if k in right else "left", no_wrap=True, overflow="fold",
                             min_width=natural, style="cyan" if (k == 0 and name == "id") else None)
            least = natural
        else:
            least = max([len(name)] + [min(len(w), WORD_MAX) for c in cells for w in c.split()])
            table.add_column(name, overflow="fold", min_width=least)
        mins.append(least)
        nats.append(natural)
        wrap.append(k not in right and k not in fixed)
    return Fit(table, mins, nats, wrap)


class Fit:
    """How wide a table's columns can be: `mins` (no word cut), `nats` (no cell wrapped)."""

    def __init__(self, table, mins, nats, wrap):
        self.table, self.mins, self.nats, self.wrap = table, mins, nats, wrap

    def overhead(self, out):
        """Padding and rules around the cells (the same at any column width)."""
        from rich.measure import Measurement
        cells = self.nats if self.table.row_count else self.mins  # the columns' widest content
        return Measurement.get(out, out.options.update_width(10 ** 5), self.table).maximum - sum(cells)

    def least(self, out):
        """The narrowest the table can be with every word and figure whole."""
        return sum(self.mins) + self.overhead(out)

    def apply(self, out):
        """Fix the column widths for `out`: natural when the table fits, else every column at its
        least and the room left shared fairly among the columns of words. Returns the table."""
        extra = self.overhead(out)
        if sum(self.nats) + extra <= out.width:
            return self.table
        w = share(self.mins, self.nats, self.wrap, out.width - extra)
        for col, width in zip(self.table.columns, w):
            col.width = width
        return self.table


def table(title=None):
    """A rich table in the compact style of the review commands (no vertical lines, single spaces)."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table
    return Table(title=title, title_justify="left", header_style="bold", box=SIMPLE_HEAD, pad_edge=False,
                 collapse_padding=True)


def share(mins, nats, wrap, room):
    """Column widths in `room` characters: each at least its `mins`, the room left shared fairly
    among the columns that `wrap` up to their `nats` (the columns wanting least served first)."""
    w = list(mins)
    spare = room - sum(w)
    grow = sorted((n - m, k) for k, (n, m, wr) in enumerate(zip(nats, mins, wrap)) if wr)
    for j, (want, k) in enumerate(grow):
        add = max(0, min(want, spare // (len(grow) - j)))
        w[k] += add
        spare -= add
    return w


def print_plain(headers, rows, right=(), width=None, words=()):
    """Rows of text cells as aligned columns, without rich (fast for thousands of rows). With `width`,
    the columns of `words` wrap between words so that no line is longer."""
    import textwrap
    nats = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(headers)]
    wrap = [k in words for k in range(len(headers))]
    if width and sum(nats) + 2 * (len(nats) - 1) > width:
        mins = [max([len(h)] + [len(w) for r in rows for w in r[k].split()]) if wrap[k] else nats[k]
                for k, h in enumerate(headers)]
        widths = share(mins, nats, wrap, width - 2 * (len(nats) - 1))
    else:
        widths = nats

    def fmt(cells):
        parts = [textwrap.wrap(c, widths[k], break_long_words=False) or [""] if wrap[k] and len(c) > widths[k]
                 else [c] for k, c in enumerate(cells)]
        lines = []
        for n in range(max(len(p) for p in parts)):
            cs = [p[n] if n < len(p) else "" for p in parts]
            lines.append("  ".join(c.rjust(widths[k]) if k in right else c.ljust(widths[k])
                                   for k, c in enumerate(cs)).rstrip())
        return "\n".join(lines)
    out = [fmt(list(headers)), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    sys.stdout.write("\n".join(out) + "\n")


def esc(text):
    """User text (routine and exercise names) made safe from rich's [markup]."""
    from rich.markup import escape
    return escape(str(text))


def console():
    """A rich console as wide as the terminal (at least MIN_WIDTH): the tables choose their layout
    by its width. Piped output is 140 wide unless COLUMNS says otherwise."""
    import os
    import shutil
    from rich.console import Console
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        width = shutil.get_terminal_size((140, 40)).columns
    else:
        width = 140
    return Console(width=max(width, MIN_WIDTH))


def run(args):
    if args.limit < 0:
        raise UserError("--limit must be 0 (all) or more")
    routine, lo, hi, since, until = filters(args)
    st = open_store_or_say(quiet=bool(args.session))
    if st is None:
        if args.session:  # asked for one session: not there is an error, also in an empty store
            raise UserError("no session %r: the store is empty (run a session on the device, then "
                            "`holdtimer pull`)" % args.session)
        return 0
    with st:
        if args.session:
            return show_session(st, args.session, args.all_steps)
        return list_sessions(st, routine, lo, hi, args.limit)


def list_sessions(st, routine, lo, hi, limit):
    from holdtimer import review

    rows = st.sessions(routine, lo, hi, limit=limit or None)
    total = st.count_sessions(routine, lo, hi) if limit and len(rows) >= limit else len(rows)
    out = console()
    if not rows:
        what = ["routine %s" % routine] if routine else []
        if lo is not None or hi is not None:
            what.append("those dates")
        print("no sessions for %s (the store has %d; sessions of unknown time are left out when dates are given)"
              % (" and ".join(what) or "these filters", st.count()))
        return 0
    routines = st.routines()
    if len(rows) > PLAIN_FROM:  # rich lays out a few hundred rows well, not thousands: plain columns
        cells = [review.history_row(s, routines) for s in rows]
        least = [max([len(h)] + [len(c[k]) for c in cells]) for h, k in zip(HEADERS, KEYS)]
        least[2] = least[-1] = 12  # routine and ending wrap
        if sum(least) + 2 * (len(least) - 1) <= out.width:
            print_plain(HEADERS, [[c[k] for k in KEYS] for c in cells], RIGHT, out.width, words=(2, 9))
            legend = None
        else:
            year = this_year(rows)
            cells = [review.history_row(s, routines, short_when=bool(year)) for s in rows]
            print_plain(NARROW_HEADERS, [[c[k] for k in NARROW_KEYS] for c in cells], NARROW_RIGHT, out.width,
                        words=(1, 2, 8))
            legend = NARROW_LEGEND
        print("%s%s, newest first" % (count(len(rows), "session"), " of %d" % year if legend and year else ""))
        if legend:
            print(legend)
        return 0
    t, legend = sessions_table(out, rows, routines)
    if total > len(rows):
        t.caption = "%d of %s; --limit N (0 for all) shows more" % (len(rows), count(total, "session"))
        t.caption_justify = "left"
    out.print(t)
    if any(s.get("time_source") == "reconstructed" for s in rows):
        out.print("~ time reconstructed from the device's uptime (the session ran before its clock was set)")
    if legend:
        out.print(legend)
    out.print("holdtimer history ID shows one session step by step")
    return 0


def this_year(rows):
    """The current year when every session of `rows` (of known time) is of it, else None."""
    import datetime
    from holdtimer import review
    year = datetime.date.today().year
    same = all(s.get("started_at") is None or review.local_dt(s["started_at"]).year == year for s in rows)
    return year if same else None


def sessions_table(out, rows, routines):
    """The table of sessions for console `out`, and a legend line for its abbreviations (or None).
    Wide: a column per figure. Narrow (80 columns): cut short and skipped in one column, shorter
    headers, the year left out when every session is of this year, briefer endings."""
    from holdtimer import review
    cells = [review.history_row(s, routines) for s in rows]
    t = table("Sessions, newest first")
    fit = add_columns(t, HEADERS, [[c[k] for k in KEYS] for c in cells], RIGHT, fixed=(0, 1))
    legend = None
    if fit.least(out) > out.width:
        year = this_year(rows)
        cells = [review.history_row(s, routines, short_when=bool(year)) for s in rows]
        t = table("Sessions of %d, newest first" % year if year else "Sessions, newest first")
        fit = add_columns(t, NARROW_HEADERS, [[c[k] for k in NARROW_KEYS] for c in cells], NARROW_RIGHT,
                          fixed=(0,))  # a date with its year may wrap before the time
        legend = NARROW_LEGEND
        keys = NARROW_KEYS
    else:
        keys = KEYS
    for s, r in zip(rows, cells):
        style = "red" if s.get("discomfort") else ("yellow" if s.get("end_reason") != "done" else None)
        t.add_row(*[esc(r[k]) for k in keys], style=style)
    return fit.apply(out), legend


def show_session(st, key, all_steps=False):
    from holdtimer import review

    s = st.find_session(key)
    steps = st.steps(s["id"])
    info = st.routines().get(s["routine_id"]) or {}
    names = None
    if s.get("routine_hash"):
        doc = st.routine_doc(s["routine_hash"])
        names = [e.get("name") for e in doc.get("ex", ())] if doc else None
    names = names or info.get("names")
    out = console()
    source = {"device": "device clock", "reconstructed": "reconstructed from uptime (boot %s)" % s.get("boot"),
              "unknown": "the device's clock was not set and could not be reconstructed"}[s["time_source"]]
    out.print("[bold]session %s[/bold]  (device %s, log %d)" % (s["uid"], s["device"], s["seq"]))
    out.print("routine   %s (%s)" % (esc(info.get("name") or s["routine_id"]), esc(s["routine_id"]))
              + ("" if info.get("name") else "  [dim]document unknown: sync the routine to see names[/dim]"))
    out.print("when      %s  [dim](%s)[/dim]" % (review.when(s), source))
    out.print("time      %s, %d of %s steps done (%s), %d paused"
              % (review.fmt_ms(s["duration_ms"]), s["steps_done"], s.get("planned_steps") or "?",
                 review.pct(review.completion(s)), s.get("pauses", 0)))
    out.print("holds     %d, %d cut short, %d skipped; discomfort marks: %d"
              % (s["holds"], s["holds_short"], s["holds_skipped"], s["discomfort"]))
    out.print("ended     %s" % review.outcome(s))
    rows = review.session_detail(steps, names, all_steps)
    if not rows:
        out.print("no %ssteps were logged" % ("" if all_steps else "hold "))
        return 0
    t = table("Steps" + ("" if all_steps else " (holds and marked steps; --all-steps for all)"))
    keys = ("step", "exercise", "kind", "set_rep", "side", "planned", "actual", "diff", "marks")
    fit = add_columns(t, ("#", "exercise", "kind", "set/rep", "side", "planned", "actual", "diff", "marks"),
                [[r[k] for k in keys] for r in rows], right=(0, 5, 6, 7), fixed=(2, 3, 4))
    for r in rows:
        style = "red" if "DISCOMFORT" in r["marks"] else ("yellow" if r["marks"] else None)
        t.add_row(*[esc(r[k]) for k in ("step", "exercise", "kind", "set_rep", "side", "planned", "actual",
                                          "diff", "marks")], style=style)
    out.print(fit.apply(out))
    sides = review.side_summary(steps, names)
    lines = []
    for e in sides:
        sd = e["sides"]
        if "left" in sd or "right" in sd:
            parts = ["%s %s of %s" % (side, review.fmt_ms(sd[side][1]), review.fmt_ms(sd[side][0]))
                     for side in ("left", "right") if side in sd]
            lines.append("  %s: %s" % (esc(e["exercise"]), ", ".join(parts)))
    if lines:
        out.print("per side (held of planned):")
        for line in lines:
            out.print(line)
    return 0
