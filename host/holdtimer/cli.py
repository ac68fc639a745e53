"""The `holdtimer` command: a table of subcommands, each a small module imported only when run."""
import argparse
import importlib
import sys

from holdtimer import __version__
from holdtimer.errors import UserError

# name -> (module under holdtimer.commands, one-line help). Modules define add_arguments(p) and
# run(args) -> exit code; they import heavy things (serial, sqlite, rich, matplotlib) inside run().
COMMANDS = {
    "validate": ("validate", "check routine files; exit 1 on any error"),
    "show": ("show", "print the expanded plan of a routine: every step and the total time"),
    "devices": ("devices", "list connected holdtimer devices (USB 2E8A:0005)"),
    "sync": ("sync", "send changed routines to the device and set its clock"),
    "pull": ("pull", "copy new session logs from the device into the local store"),
    "history": ("history", "sessions newest first, or one session step by step"),
    "report": ("report", "adherence, streaks, hold time per side, discomfort hot spots"),
    "export": ("export", "sessions and steps as CSV or JSON"),
    "install": ("install", "build the firmware with mpy-cross and deploy it with mpremote"),
    "sim": ("sim", "run the simulated device (real firmware under the MicroPython unix port)"),
}


def build_parser(only=None):
    parser = argparse.ArgumentParser(
        prog="holdtimer",
        description="Wearable hold-timer for floor stretching: routines, device sync and session review.",
    )
    parser.add_argument("--version", action="version", version="holdtimer " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == only:
            importlib.import_module("holdtimer.commands." + module).add_arguments(p)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only the chosen command's module is imported, so `holdtimer --help` stays fast.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    module = importlib.import_module("holdtimer.commands." + COMMANDS[args.command][0])
    try:
        return module.run(args) or 0
    except UserError as e:
        print("holdtimer %s: error: %s" % (args.command, e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("holdtimer %s: interrupted" % args.command, file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
