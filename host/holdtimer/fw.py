"""Access to the firmware modules from the host: the device's own validator, plan and log reader."""
import importlib
import os
import sys


def path():
    """The folder holding the firmware .py files (the repo's firmware/, or the installed copy)."""
    from holdtimer import _fw
    return os.path.dirname(os.path.abspath(_fw.__file__)) if getattr(_fw, "__file__", None) else list(_fw.__path__)[0]


def boards_path():
    from holdtimer import _boards
    return os.path.dirname(os.path.abspath(_boards.__file__)) if getattr(_boards, "__file__", None) else list(_boards.__path__)[0]


def load(name):
    """Import firmware module `name` (e.g. "routine") as the device does: flat, by its own name."""
    p = path()
    if p not in sys.path:
        sys.path.insert(0, p)
    return importlib.import_module(name)
