"""PNG charts of a routine report (review.routine_report) with matplotlib, for `report --charts/--html`.

Each function returns PNG bytes. matplotlib is imported on first use (Agg backend, no display).
"""
from holdtimer.words import count

import io

from holdtimer.review import balance_text

GREEN, AMBER, RED, GREY = "#2e9e5b", "#e0a030", "#d2453d", "#9aa0a6"
LEFT_C, RIGHT_C, NONE_C = "#3b7dd8", "#e07b39", "#8c8c8c"
DAYS_SHOWN = 56   # the per-day panel shows the last 8 weeks
WEEKS_SHOWN = 52  # weekly charts show the last year at most (--since/--until choose another period)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _rate_color(done, planned):
    r = done / planned if planned else 0
    return GREEN if r >= 0.8 else (AMBER if r >= 0.5 else RED)


def _title(rep, what):
    return "%s: %s" % (rep["name"], what)


def adherence(rep):
    """Done against planned per day (last 8 weeks) and per week; None without a known frequency."""
    a = rep.get("adherence")
    if not a:
        return None
    plt = _plt()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
    n = a["n"]
    weeks = a["weeks"]
    if a["per"] == "day":
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), gridspec_kw={"height_ratios": [1, 1]})
        days = a["days"][-DAYS_SHOWN:]
        xs = list(range(len(days)))
        done = [min(d[2], n) for d in days]
        extra = [max(0, d[2] - n) for d in days]
        colors = [GREEN if d[2] >= n else (AMBER if d[2] else RED) for d in days]
        # a missed day gets a short red stub so it is visible, not a gap
        ax1.bar(xs, [max(v, 0.06 * n) if v == 0 else v for v in done], color=colors, width=0.8)
        if any(extra):
            ax1.bar(xs, extra, bottom=done, color=GREY, width=0.8)
        ax1.step([x - 0.5 for x in xs] + [xs[-1] + 0.5], [n] * (len(xs) + 1), where="post", color="black",
                 linestyle="--", linewidth=1)
        step = max(1, len(days) // 14)
        ax1.set_xticks(xs[::step])
        ax1.set_xticklabels([d[0].strftime("%a %d %b") for d in days][::step], rotation=45, ha="right",
                            fontsize=8)
        ax1.set_ylim(0, max(n, max(d[2] for d in days)) + 0.6)
        ax1.set_yticks(range(0, max(n, max(d[2] for d in days)) + 1))
        ax1.set_ylabel("sessions")
        ax1.set_title("sessions per day%s"
                      % (" (last %d days)" % DAYS_SHOWN if len(a["days"]) > DAYS_SHOWN else ""), fontsize=10)
        handles = [Patch(color=GREEN, label="all %d done" % n), Patch(color=AMBER, label="some done"),
                   Patch(color=RED, label="none done"),
                   Line2D([0], [0], color="black", linestyle="--", linewidth=1, label="planned (%d a day)" % n)]
        if any(extra):
            handles.append(Patch(color=GREY, label="extra (not counted)"))
        ax1.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
        ax = ax2
    else:
        fig, ax = plt.subplots(figsize=(10, 4))
    shown = weeks[-WEEKS_SHOWN:]
    xs = list(range(len(shown)))
    planned = [w[1] for w in shown]
    done = [w[2] for w in shown]
    ax.bar(xs, planned, color="none", edgecolor="black", linestyle="--", width=0.8, label="planned")
    ax.bar(xs, done, color=[_rate_color(d, p) for d, p in zip(done, planned)], width=0.8)
    for x, d, p in zip(xs, done, planned):
        if p:
            ax.text(x, max(d, p) * 1.02 + 0.1, "%d%%" % round(100 * d / p), ha="center", va="bottom",
                    fontsize=7 if len(xs) <= 20 else 6, rotation=0 if len(xs) <= 20 else 90)
    step = max(1, len(shown) // 16)
    ax.set_xticks(xs[::step])
    labels = [w[0].strftime("%d %b %y") for w in shown]
    if a.get("in_progress") and labels:
        labels[-1] += " (so far)"
    ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("sessions")
    ax.set_ylim(0, max(planned + done + [1]) * (1.18 if len(xs) <= 20 else 1.35))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("sessions per week (Monday to Sunday)%s, %% of planned"
                 % (", last %d weeks" % WEEKS_SHOWN if len(weeks) > WEEKS_SHOWN else ""), fontsize=10)
    ax.legend(handles=[Patch(facecolor="none", edgecolor="black", linestyle="--", label="planned"),
                       Patch(color=GREEN, label="done, >= 80%"), Patch(color=AMBER, label="done, 50-79%"),
                       Patch(color=RED, label="done, < 50%")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    rate = a["rate"]
    fig.suptitle(_title(rep, "adherence, %s of %s planned sessions done (%s)"
                        % (a["done"], a["planned"], "?" if rate is None else "%d%%" % round(100 * rate))))
    fig.tight_layout()
    return _png(fig)


def hold_time(rep):
    """Hold time per exercise, left / right / no side, minutes held against minutes planned."""
    ex = [e for e in rep.get("exercises", ()) if e["n"]]
    if not ex:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.7 * len(ex)))
    h = 0.27
    labels = []
    for k, e in enumerate(ex):
        y = len(ex) - 1 - k
        label = e["exercise"]
        if e["balance"] is not None and abs(e["balance"]) > 0.10:
            label += "\n" + balance_text(e["balance"])
        labels.append((y, label))
        present = [(side, c) for side, c in (("left", LEFT_C), ("right", RIGHT_C), ("none", NONE_C))
                   if side in e["sides"]]
        for j, (side, color) in enumerate(present):
            r = e["sides"][side]
            yy = y + ((len(present) - 1) / 2.0 - j) * h
            planned = (r["planned_ms"] or 0) / 60000
            actual = (r["actual_ms"] or 0) / 60000
            if planned:
                ax.barh(yy, planned, height=h * 0.9, color="none", edgecolor="black", linestyle="--",
                        linewidth=0.8)
            ax.barh(yy, actual, height=h * 0.9, color=color, alpha=0.9)
            ax.text(actual, yy, " %s" % ("%.0f%%" % (100 * actual / planned) if planned else "press reps"),
                    va="center", fontsize=7)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=LEFT_C, label="left"), Patch(color=RIGHT_C, label="right"),
                       Patch(color=NONE_C, label="no side"),
                       Patch(facecolor="none", edgecolor="black", linestyle="--", label="planned")],
              fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_yticks([y for y, _ in labels])
    ax.set_yticklabels([n for _, n in labels])
    ax.set_xlabel("minutes held (dashed: planned; label: % of planned held)")
    ax.set_title(_title(rep, "hold time per exercise and side"))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def discomfort(rep):
    """Heat map of discomfort marks, exercise x side, with the share of those holds marked."""
    ex = [e for e in rep.get("exercises", ()) if e["n"]]
    if not ex:
        return None
    plt = _plt()
    sides = [s for s in ("left", "right", "none") if any(s in e["sides"] for e in ex)]
    grid = [[(e["sides"][s]["discomfort"] or 0) if s in e["sides"] else None for s in sides] for e in ex]
    total = sum(v for row in grid for v in row if v)
    fig, ax = plt.subplots(figsize=(2.2 + 1.6 * len(sides), 1.2 + 0.5 * len(ex)))
    vmax = max([v for row in grid for v in row if v is not None] + [1])
    data = [[(v if v is not None else float("nan")) for v in row] for row in grid]
    im = ax.imshow(data, cmap="Reds", vmin=0, vmax=vmax, aspect="auto")
    for i, e in enumerate(ex):
        for j, s in enumerate(sides):
            v = grid[i][j]
            if v is None:
                ax.text(j, i, "-", ha="center", va="center", color=GREY, fontsize=8)
                continue
            n = e["sides"][s]["n"]
            ax.text(j, i, "%d\n%d%% of %d" % (v, round(100 * v / n) if n else 0, n), ha="center", va="center",
                    fontsize=7, color="white" if v > vmax * 0.6 else "black")
    ax.set_xticks(range(len(sides)))
    ax.set_xticklabels(["no side" if s == "none" else s for s in sides])
    ax.set_yticks(range(len(ex)))
    ax.set_yticklabels([e["exercise"] for e in ex])
    from matplotlib.ticker import MaxNLocator
    fig.colorbar(im, ax=ax, label="discomfort marks", ticks=MaxNLocator(integer=True))
    ax.set_title(_title(rep, "discomfort hot spots (%s)" % count(total, "mark")), fontsize=10)
    fig.tight_layout()
    return _png(fig)


def trend(rep):
    """Per week: sessions counted, average completion, holds cut short or skipped, discomfort marks."""
    all_weeks = rep.get("trend") or []
    if not all_weeks:
        return None
    weeks = all_weeks[-WEEKS_SHOWN:]
    plt = _plt()
    from matplotlib.ticker import MaxNLocator
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    xs = list(range(len(weeks)))
    ax1.bar(xs, [w["sessions"] for w in weeks], color=GREY, width=0.8, label="sessions")
    ax1.bar(xs, [w["done"] for w in weeks], color=GREEN, width=0.5, label="counted (>= 80% done)")
    ax1.set_ylabel("sessions")
    ax1.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_title(_title(rep, "weekly trend" + (", last %d weeks" % WEEKS_SHOWN
                                                if len(all_weeks) > WEEKS_SHOWN else "")))
    comp = [None if w["completion"] is None else 100 * w["completion"] for w in weeks]
    cut = [None if w["cut_rate"] is None else 100 * w["cut_rate"] for w in weeks]
    ax2.plot(xs, [c if c is not None else float("nan") for c in comp], marker="o", color=GREEN,
             label="average completion %")
    ax2.plot(xs, [c if c is not None else float("nan") for c in cut], marker="s", color=AMBER,
             label="holds cut short or skipped %")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("%")
    ax3 = ax2.twinx()
    ax3.bar(xs, [w["discomfort"] for w in weeks], color=RED, alpha=0.35, width=0.5, label="discomfort marks")
    ax3.set_ylabel("discomfort marks")
    ax3.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax3.set_ylim(0, max([w["discomfort"] for w in weeks] + [1]) * 2.2)
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, loc="upper left", bbox_to_anchor=(1.08, 1), fontsize=8)
    step = max(1, len(weeks) // 16)
    ax2.set_xticks(xs[::step])
    ax2.set_xticklabels([w["label"] for w in weeks][::step], rotation=45, ha="right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


CHARTS = (("adherence", adherence), ("hold-time", hold_time), ("discomfort", discomfort), ("trend", trend))


def all_charts(rep):
    """[(name, png bytes)] of the charts this report has data for."""
    out = []
    for name, fn in CHARTS:
        png = fn(rep)
        if png:
            out.append((name, png))
    return out
