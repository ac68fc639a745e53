"""Routine files as every command takes them (validate, show, sync): the same rules everywhere.

- A folder means the *.json files in it (sorted); a file is taken as given.
- The same file named twice (or through a folder and by name, or via a symlink) counts once.
- A file is read at most MAX_BYTES + 1 bytes: a huge file or /dev/zero is refused without being read.
"""
import os

from holdtimer.errors import UserError


def expand(paths):
    """The routine files of `paths` (folders -> their *.json), each real file once, in order.
    A folder that holds no *.json file is a UserError; missing files are kept (reading says so)."""
    files, seen, empty = [], set(), []
    for p in paths:
        if os.path.isdir(p):
            try:
                names = sorted(n for n in os.listdir(p) if n.endswith(".json"))
            except OSError as e:
                raise UserError("cannot list the folder %s: %s" % (p, e.strerror or e)) from None
            if not names:
                empty.append(p)
            found = [os.path.join(p, n) for n in names]
        else:
            found = [p]
        for f in found:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                files.append(f)
    if empty and not files:
        raise UserError("no routine files (*.json) in %s" % ", ".join(empty))
    return files


def read(path, limit):
    """(bytes, None) or (None, "<path>: file: <what is wrong>"). Reads at most limit+1 bytes."""
    try:
        if os.path.isdir(path):
            return None, "%s: file: is a directory" % path
        with open(path, "rb") as f:
            regular = os.path.isfile(path)
            data = f.read(limit + 1)
    except FileNotFoundError:
        return None, "%s: file: no such file" % path
    except PermissionError:
        return None, "%s: file: permission denied" % path
    except OSError as e:
        return None, "%s: file: cannot read it (%s)" % (path, e.strerror or e.__class__.__name__)
    if len(data) > limit:
        if regular:
            try:
                size = "%d bytes" % os.path.getsize(path)
            except OSError:
                size = "more than %d bytes" % limit
            return None, "%s: file: %s, more than the %d a routine may have (shorten `notes` and `why`)" % (
                path, size, limit)
        return None, "%s: file: not a regular file, and larger than the %d bytes a routine may have" % (path, limit)
    return data, None
