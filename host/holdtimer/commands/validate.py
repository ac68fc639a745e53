"""`holdtimer validate FILE...`: check routine files with the device's own validator (firmware/routine.py).

Errors go to stderr, one line each: "<file>: <place>: <what is wrong>" (place: a JSON path such as
ex[2].hold, or line L:C for a syntax error). Each good file gets one line on stdout:
"ok  <file>  (<n> exercises, <compact size> bytes, hash <h>)". Exit 1 if any file has an error.
"""
import os
import sys


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE", help="routine files (JSON, format v1; see docs/routines.md)")


def _read(path, limit):
    """(bytes, None) or (None, one-line error). Reads at most limit+1 bytes: the size check needs no more."""
    try:
        if os.path.isdir(path):
            return None, "%s: file: is a directory; give the routine files in it (e.g. %s)" % (
                path, os.path.join(path, "*.json"))
        with open(path, "rb") as f:
            return f.read(limit + 1), None
    except FileNotFoundError:
        return None, "%s: file: no such file" % path
    except PermissionError:
        return None, "%s: file: permission denied" % path
    except OSError as e:
        return None, "%s: file: cannot read it (%s)" % (path, e.strerror or e.__class__.__name__)


def run(args):
    from holdtimer import fw
    from holdtimer.errors import UserError

    try:
        routine = fw.load("routine")
    except Exception as e:  # a broken install, not the user's routine
        raise UserError("cannot load the firmware's routine validator (%s: %s); reinstall holdtimer"
                        % (e.__class__.__name__, e))
    bad = 0
    ids = {}
    for path in args.files:
        data, err = _read(path, routine.MAX_BYTES)
        if err is None and len(data) > routine.MAX_BYTES:
            try:
                size = os.path.getsize(path)
            except OSError:
                size = len(data)
            err = "%s: file: %d bytes, more than the %d a routine may have (shorten `notes` and `why`)" % (
                path, size, routine.MAX_BYTES)
        if err is not None:
            print(err, file=sys.stderr)
            bad += 1
            continue
        doc, errors = routine.parse(data, path)
        if not errors and doc["id"] in ids:
            errors = ["%s: id: %s is also the id of %s; each routine needs its own id (it is the file name on "
                      "the device)" % (path, doc["id"], ids[doc["id"]])]
        if errors:
            for line in errors:
                print(line, file=sys.stderr)
            bad += 1
            continue
        ids[doc["id"]] = path
        packed = routine.compact(doc)
        print("ok  %s  (%d exercises, %d bytes, hash %s)" % (path, len(doc["ex"]), len(packed),
                                                             routine.content_hash(packed)))
    if bad and len(args.files) > 1:
        print("holdtimer validate: %d of %d files have errors" % (bad, len(args.files)), file=sys.stderr)
    return 1 if bad else 0
