"""Tiny helpers for firmware tests that run unchanged on CPython (pytest) and MicroPython (mprun)."""
import os

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
REPO = _here + "/../.."
ROUTINES = REPO + "/routines"


def raises(exc, fn, *args, **kw):
    """Assert fn(*args) raises exc; return the exception."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %r" % (exc.__name__, fn))


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def seed_files():
    """The five seed routine files, sorted by name."""
    return sorted(ROUTINES + "/" + n for n in os.listdir(ROUTINES) if n.endswith(".json"))
