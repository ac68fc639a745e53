# The simulated Pico's "ROM" under the MicroPython unix port, started by holdtimer.simulator (`holdtimer
# sim`) with the process's cwd at the flash directory (--fs). Environment from the simulator:
#   HOLDTIMER_SIM_BOOT      "app": a power-up, run main.py; "repl": no main.py, the simulator started
#                           micropython with -i for a REPL (the app ended, or a soft reset in the raw REPL)
#   HOLDTIMER_SIM_FIRMWARE  "flash": run the firmware installed on the flash (main.py, *.mpy, board.mpy
#                           there), as a Pico does; "repo": the build next to this file, with the
#                           simulated board (sim) as `board`
#   HOLDTIMER_SIM_REPL      "1": when main returns (Ctrl-C on the link, safe mode, too many crashes) the
#                           REPL takes the link over, as on a Pico; else the device powers off
# The exit status tells the simulator what happened (holdtimer/simulator.py has the same numbers):
# 0 power off, 100 main ended: start the REPL, 101 machine.reset(), 102 machine.soft_reset().
# Kept small: whatever this file leaves on the heap the app does not have.
import os
import sys

# From here on Ctrl-C is a KeyboardInterrupt: the simulator holds the link's input until it reads this.
sys.stderr.write("holdtimer-sim-ready\n")

if os.getenv("HOLDTIMER_SIM_FIRMWARE") == "flash":
    sys.path[:] = ["", ".frozen"]  # the flash (the cwd) only, like a Pico's sys.path
else:
    _here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    sys.path.insert(0, os.getenv("HOLDTIMER_FIRMWARE") or _here + "/../firmware")
    sys.path.insert(0, _here)
    del _here

if os.getenv("HOLDTIMER_SIM_BOOT") == "repl":

    class _Machine:
        """The unix port's `machine` plus reset() and soft_reset() as a Pico has them (mpremote's
        `reset` calls machine.reset()): the simulator restarts the process = reboots the device."""

        def __init__(self, real):
            self._real = real

        def __getattr__(self, name):
            return getattr(self._real, name)

        def reset(self):
            sys.exit(101)

        def soft_reset(self):
            sys.exit(102)

    import machine

    sys.modules["machine"] = _Machine(machine)
    del machine, _Machine
else:
    try:
        if os.getenv("HOLDTIMER_SIM_FIRMWARE") != "flash":
            import sim

            sys.modules["board"] = sim
            try:
                os.mkdir(sim.root)
            except OSError:
                pass
            del sim
        import main  # noqa: F401
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - as on a Pico: the traceback, then the REPL
        if os.getenv("HOLDTIMER_SIM_REPL") != "1":
            raise
        sys.print_exception(e)
        sys.print_exception(e, sys.stderr)
    if os.getenv("HOLDTIMER_SIM_REPL") == "1":
        sys.exit(100)
