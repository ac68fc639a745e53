"""`holdtimer sync`: validate routines, send the changed ones to the device, set its clock.

With no ROUTINE arguments it syncs ./routines/*.json (the routines folder of the current
directory). A folder argument means its *.json files. Nothing is sent unless every file is valid.
The device compares nothing itself: the PC lists the device's routines with their content hashes
and sends only those whose compact bytes differ; each one replaces the old copy atomically.
"""
import os
import sys

from holdtimer.errors import UserError

PROGRESS_FROM = 2048  # bytes to send before a progress counter is shown (on a terminal)


def add_arguments(p):
    p.add_argument("routines", nargs="*", metavar="ROUTINE",
                   help="routine files or folders of them (default: ./routines)")
    p.add_argument("--port", metavar="P", help="serial port of the device (found by itself when one is connected)")
    p.add_argument("--prune", action="store_true", help="delete routines on the device that are not given here")


def collect(paths):
    """Routine file paths from the arguments (folders -> their *.json), or ./routines."""
    if not paths:
        if not os.path.isdir("routines"):
            raise UserError("no routines given and no ./routines folder here: holdtimer sync FILE...")
        paths = ["routines"]
    from holdtimer import routinefiles
    files = routinefiles.expand(paths)
    if not files:
        raise UserError("no routine files (*.json) in %s" % ", ".join(paths))
    return files


def prepare(files, err=None):
    """Validate every file; -> [(id, compact bytes, hash, file)]. Prints each error, then raises."""
    from holdtimer import fw, routinefiles

    routine = fw.load("routine")
    items, errors, seen = [], [], {}
    for path in files:
        data, problem = routinefiles.read(path, routine.MAX_BYTES)
        if problem:
            errors.append(problem)
            continue
        doc, errs = routine.parse(data, path)
        if errs or doc is None:
            errors += errs or ["%s: not a valid routine" % path]
            continue
        rid = doc["id"]
        if rid in seen:
            errors.append("%s: id %r is also the id of %s" % (path, rid, seen[rid]))
            continue
        seen[rid] = path
        data = routine.compact(doc)
        items.append((rid, data, routine.content_hash(data), path))
    if errors:
        for e in errors:
            print(e, file=err or sys.stderr)
        raise UserError("%d error%s in the routines: nothing was sent" % (len(errors), "" if len(errors) == 1 else "s"))
    return items


def sync(client, items, prune=False, epoch=None, progress=None, say=None):
    """Bring the device's routines in line with `items` (from prepare) and set its clock.
    -> dict(sent=[(id, new?)], unchanged=[id], deleted=[id], kept=[id], clock=epoch)."""
    client.hello()
    have = {rid: h for rid, h, size in client.routines()}
    given = {it[0] for it in items}
    send = [it for it in items if have.get(it[0]) != it[2]]
    drop = sorted(rid for rid in have if rid not in given) if prune else []
    if send or drop:
        client.require_idle()
    res = {"sent": [], "unchanged": [it[0] for it in items if have.get(it[0]) == it[2]],
           "deleted": [], "kept": sorted(rid for rid in have if rid not in given and not prune)}
    res["clock"] = client.set_clock(epoch)  # first: set even if a routine fails below
    total = sum(len(it[1]) for it in send)
    done = 0
    for rid, data, h, path in send:
        got = client.put_routine(rid, data, progress and (lambda d, n, base=done: progress(base + d, total, rid)))
        if got != h:
            raise UserError("the device stored %s with hash %s, not %s: its firmware differs from this "
                            "holdtimer; update it with `holdtimer install`" % (rid, got, h))
        done += len(data)
        res["sent"].append((rid, rid not in have))
        if say:
            say("sent %s (%s, %d bytes)" % (rid, "new" if rid not in have else "changed", len(data)))
    for rid in drop:
        client.delete_routine(rid)
        res["deleted"].append(rid)
        if say:
            say("deleted %s" % rid)
    return res


def message(res):
    n = len(res["unchanged"])
    if not res["sent"] and not res["deleted"]:
        text = "nothing changed (%d routine%s up to date), clock set" % (n, "" if n == 1 else "s")
    else:
        text = "sent %d, unchanged %d, deleted %d, clock set" % (len(res["sent"]), n, len(res["deleted"]))
    if res["kept"]:
        text += "; %d other routine%s on the device kept (--prune deletes them)" % (
            len(res["kept"]), "" if len(res["kept"]) == 1 else "s")
    return text


class _Counter:
    """"sending 3.1/7.9 KB" on stderr, redrawn in place, for transfers of PROGRESS_FROM bytes or more."""

    def __init__(self):
        self.on = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done, total, rid):
        if not self.on or total < PROGRESS_FROM:
            return
        sys.stderr.write("\rsending %-32s %5.1f/%.1f KB" % (rid, done / 1024, total / 1024))
        sys.stderr.flush()
        self.shown = True

    def close(self):
        if self.shown:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()
            self.shown = False


def run(args):
    from holdtimer import devices
    from holdtimer.link import Client
    from holdtimer.store import Store

    # Everything that can be checked is checked before the device is touched: the routine files,
    # the port, and that the store takes the writes made after the sync (tried, then rolled back).
    items = prepare(collect(args.routines))
    port = devices.resolve_port(args.port)
    with Store() as store:
        store.rehearse(lambda st: remember(st, items))
        counter = _Counter()

        def say(line):
            counter.close()
            print(line)

        try:
            with Client(port) as client:
                res = sync(client, items, prune=args.prune, progress=counter, say=say)
        finally:
            counter.close()
        remember(store, items)
    print(message(res))
    return 0


def remember(store, items):
    """Record the synced routines in the local store, so reports know their names, exercises and
    prescribed frequency when the sessions come back."""
    for _rid, data, h, _path in items:
        store.add_routine(data, h)
