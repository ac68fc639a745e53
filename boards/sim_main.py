# Entry point of the simulated device under the MicroPython unix port (started by `holdtimer sim`):
# puts the firmware and the simulated board on the path, makes `board` the simulated board, runs main.
import os
import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, os.getenv("HOLDTIMER_FIRMWARE") or _here + "/../firmware")
sys.path.insert(0, _here)

import sim  # noqa: E402

sys.modules["board"] = sim
try:
    os.mkdir(sim.root)
except OSError:
    pass
import main  # noqa: E402,F401
