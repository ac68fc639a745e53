"""Where holdtimer keeps its data: $HOLDTIMER_HOME, or the platform's user data directory."""
import os

from holdtimer.errors import UserError


def data_dir(create=True):
    """The data directory (created when `create`); UserError when it is a file or cannot be made."""
    d = os.environ.get("HOLDTIMER_HOME")
    what = "HOLDTIMER_HOME=%s" % d if d else "the data directory %s"
    if not d:
        import platformdirs

        d = platformdirs.user_data_dir("holdtimer")
        what = what % d
    if os.path.exists(d) and not os.path.isdir(d):
        raise UserError("%s is a file, not a directory: set HOLDTIMER_HOME to a directory" % what)
    if create:
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            raise UserError("cannot create %s (%s): set HOLDTIMER_HOME to a writable directory"
                            % (what, e.strerror or e.__class__.__name__)) from None
    return d


def check_output(path, what="file"):
    """The one rule for files and folders the commands write (export -o, report --html/--charts):
    the folder they go into must exist (a typo in it is not silently created). UserError if not."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UserError("cannot write the %s %s: the folder %s does not exist (create it first)"
                        % (what, path, parent))
    if what == "file" and os.path.isdir(path):
        raise UserError("cannot write %s: it is a folder; give a file name" % path)
