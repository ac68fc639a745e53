"""`holdtimer pull`: copy new session logs from the device into the local store, then confirm them.

Order per log: read it, parse it with the device's own sessionlog module, commit it to the store
(one transaction), and only after all of that tell the device it may delete the log. A pull cut
anywhere leaves each session either not in the store (the device still has it, unconfirmed) or
in the store (a later pull finds it there and confirms it): never lost, never twice.
"""
import sys
import time

from holdtimer.errors import UserError

PROGRESS_FROM = 3  # show a progress bar from this many logs on


def add_arguments(p):
    p.add_argument("--port", metavar="P", help="serial port of the device (found by itself when one is connected)")
    p.add_argument("--all", action="store_true",
                   help="also re-read logs the device keeps as already pulled (e.g. into a new store)")


def _get(d, *names):
    for n in names:
        if d.get(n) is not None:
            return d[n]
    return None


def device_clock(hello, pc_now=None):
    """(serial, boot, uptime_ms, now) from the device's hello reply, `now` being the PC's time at hello.
    The PC's clock is the reference (sync sets the device's clock from it), and an unset device clock
    (the rp2 RTC starts at 2021-01-01) would mislead: only the uptime since the start matters."""
    serial = _get(hello, "serial", "sn", "id")
    boot = _get(hello, "boot", "boots")
    uptime = _get(hello, "uptime_ms", "uptime")
    return (None if serial is None else str(serial), boot, uptime, pc_now)


def wall_time(parsed, hello, pc_now=None):
    """(start epoch s or None, source): the log's own wall clock ('device'); else, for a session of the
    device's current boot, now - (uptime now - uptime at start) ('reconstructed'); else (None, 'unknown')."""
    wall = parsed.get("wall")
    if wall:
        return float(wall), "device"
    _, boot, uptime, now = device_clock(hello, pc_now)
    start_up = parsed.get("uptime_ms")
    if (now is not None and boot is not None and uptime is not None and start_up is not None
            and parsed.get("boot") == boot and 0 <= start_up <= uptime):
        return now - (uptime - start_up) / 1000.0, "reconstructed"
    return None, "unknown"


def pull(client, st, read, progress=None, include_pulled=False, warn=None):
    """Pull every unpulled log of `client` into store `st`; `read` parses log bytes (sessionlog.read).
    `progress(i, n, name)` is called before each log. Returns a dict of counts and log names."""
    hello = client.hello()
    pc_now = time.time()
    serial = device_clock(hello)[0]
    if not serial:
        raise UserError("the device did not say its serial number: update its firmware (`holdtimer install`)")
    logs = [(name, size) for name, size, pulled in client.logs() if include_pulled or not pulled]
    # The newest log may still be resumed on the device; older unfinished ones can no longer be.
    newest = max((_seq_of(n) for n, _ in logs), default=None)
    res = {"new": 0, "same": 0, "updated": 0, "unfinished": [], "bad": [], "mismatch": [], "confirmed": []}
    committed = []
    try:
        for k, (name, size) in enumerate(logs):
            if progress:
                progress(k, len(logs), name)
            data = client.read_log(name)
            try:
                parsed = read(data)
                if parsed.get("seq") is None:
                    raise ValueError("no readable header")
            except Exception as e:  # a damaged log stays on the device; the others go on
                res["bad"].append(name)
                if warn:
                    warn("log %s could not be read (%s); it stays on the device" % (name, e))
                continue
            if parsed.get("seq") != _seq_of(name):
                # Not the session its name says: storing or confirming it under that name could let
                # the device delete a session the store does not have. Left on the device, reported.
                res["mismatch"].append(name)
                if warn:
                    warn("log %s holds session %s, not %s: it stays on the device (please report this)"
                         % (name, parsed.get("seq"), _seq_of(name)))
                continue
            start, source = wall_time(parsed, hello, pc_now)
            outcome = st.put_session(parsed, serial, start, source)  # committed when it returns
            res[outcome] += 1
            if parsed.get("end") is None and _seq_of(name) == newest:
                res["unfinished"].append(name)  # stored, but left on the device: it can be resumed
                continue
            committed.append(name)
        if progress:
            progress(len(logs), len(logs), None)
    except BaseException:
        # Cut mid-way: what is committed may still be confirmed if the link works; if not, the
        # next pull finds those sessions in the store and confirms them then.
        if committed:
            try:
                client.confirm(committed)
            except Exception:
                pass
        raise
    if committed:
        client.confirm(committed)
        res["confirmed"] = committed
    return res


def _seq_of(name):
    head = name.split(".")[0]
    return int(head) if head.isdigit() else -1


def message(res):
    """The one-line summary of a pull."""
    text = "pulled %d new session%s (%d already in the store)" % (
        res["new"], "" if res["new"] == 1 else "s", res["same"])
    if res["updated"]:
        text += "; %d unfinished session%s updated" % (res["updated"], "" if res["updated"] == 1 else "s")
    if res["unfinished"]:
        text += "; the last session has no end yet: it stays on the device, which can resume it"
    if res["mismatch"]:
        n = len(res["mismatch"])
        text += "; %d log%s did not hold the session %s name says (left on the device)" % (
            n, "" if n == 1 else "s", "its" if n == 1 else "their")
    if res["bad"]:
        text += "; %d log%s could not be read (left on the device)" % (len(res["bad"]), "" if len(res["bad"]) == 1 else "s")
    return text


def run(args):
    from holdtimer import devices, fw, link
    from holdtimer.store import Store

    port = devices.resolve_port(args.port)
    read = fw.load("sessionlog").read
    st = Store()
    try:  # locked, read-only or damaged: said now, before the device is asked for anything
        st.rehearse(lambda s: s.count())
    except BaseException:
        st.close()
        raise
    bar = _Progress()
    try:
        with link.Client(port) as client:
            res = pull(client, st, read, progress=bar.update, include_pulled=args.all,
                       warn=lambda m: print("holdtimer pull: warning: " + m, file=sys.stderr))
    finally:
        bar.close()
        st.close()
    print(message(res))
    if res["new"] or res["updated"]:
        print("see them with `holdtimer history`")
    return 1 if res["bad"] or res["mismatch"] else 0


class _Progress:
    """A rich progress bar on stderr once there are PROGRESS_FROM logs or more."""

    def __init__(self):
        self.bar = None
        self.task = None

    def update(self, i, n, name):
        if n < PROGRESS_FROM or not sys.stderr.isatty():
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress
            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("pulling logs", total=n)
        self.bar.update(self.task, completed=i, description="pulling %s" % (name or "done"))

    def close(self):
        if self.bar is not None:
            self.bar.stop()
