"""`holdtimer validate FILE...`: check routine files with the device's own validator (firmware/routine.py).

Errors go to stderr, one line each: "<file>: <place>: <what is wrong>" (place: a JSON path such as
ex[2].hold, or line L:C for a syntax error). Each good file gets one line on stdout:
"ok  <file>  (<n> exercises, <compact size> bytes, hash <h>)". Exit 1 if any file has an error.
A folder means its *.json files; a file named twice is checked once (holdtimer.routinefiles).
"""
import sys

from holdtimer.words import count, plural


def add_arguments(p):
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="routine files (JSON, format v1; see docs/routines.md) or folders of them (their *.json)")


def run(args):
    from holdtimer import fw, routinefiles
    from holdtimer.errors import UserError

    try:
        routine = fw.load("routine")
    except Exception as e:  # a broken install, not the user's routine
        raise UserError("cannot load the firmware's routine validator (%s: %s); reinstall holdtimer"
                        % (e.__class__.__name__, e))
    bad = 0
    ids = {}
    files = routinefiles.expand(args.files)
    for path in files:
        data, err = routinefiles.read(path, routine.MAX_BYTES)
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
        print("ok  %s  (%s, %d bytes, hash %s)" % (path, count(len(doc["ex"]), "exercise"), len(packed),
                                                   routine.content_hash(packed)))
    if bad and len(files) > 1:
        print("holdtimer validate: %d of %d files %s errors" % (bad, len(files), plural(bad, "has", "have")),
              file=sys.stderr)
    return 1 if bad else 0
