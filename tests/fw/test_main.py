"""main.py, the device's entry point: its crash-loop rule. Runs under CPython and MicroPython."""
import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
_FW = _here + "/../../firmware"


def _main_module():
    # main.py without running it: its crash-loop rule is a plain function.
    class _Board:
        trace = None

        @staticmethod
        def ticks_ms():
            return 0

    sys.modules["board"] = _Board
    ns = {"__name__": "main_under_test"}
    with open(_FW + "/main.py") as f:
        exec(f.read(), ns)
    del sys.modules["board"]
    return ns


def test_the_app_stops_only_after_five_crashes_within_ten_minutes_not_five_in_a_power_up():
    m = _main_module()
    loop, window, limit = m["crash_loop"], m["RESTART_WINDOW_MS"], m["MAX_RESTARTS"]
    times = []
    # One crash a day for a week (ticks wrap at 2**30 ms, about 12 days): never a loop.
    t = (1 << 30) - 3 * 86400000
    for day in range(7):
        assert loop(times, t & ((1 << 30) - 1)) is False
        t += 86400000
    # Five within the window: a loop.
    times = []
    for k in range(limit - 1):
        assert loop(times, 1000 + k * (window // limit)) is False
    assert loop(times, 1000 + (limit - 1) * (window // limit)) is True
    # Four, then the fifth just after the first left the window: not a loop.
    times = []
    for k in range(limit - 1):
        loop(times, k * 1000)
    assert loop(times, window + 1) is False
