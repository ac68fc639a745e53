"""The paced clock of the simulated board (sim.py) for interactive use, loaded only then, so that it
costs the simulated device's heap nothing in the tests."""
import time

from micropython import const

import board as sim  # this module is boards/sim.py, named board on the device

_SLIP_MS = const(100)  # paced: at most this much wall time behind before device time slips
_anchor = None         # (wall us, device ms) from which wall-clock x SPEED is counted


def anchor(now):
    """Device time `now` is paced from here; when it has fallen too far behind, it slips."""
    global _anchor
    if _anchor is None or wall_ms() - now > _SLIP_MS * sim.SPEED:
        _anchor = (time.ticks_us(), now)


def paced():
    return _anchor is not None


def wall_ms():
    """Device ms that wall-clock x SPEED has reached."""
    w, v = _anchor
    return v + int(time.ticks_diff(time.ticks_us(), w) * sim.SPEED) // 1000


def sleep_until(target, poller):
    """Sleep until wall-clock x SPEED reaches device ms `target`, or (with a poller) until input
    arrives. Returns the poll result (a list of ready objects; [] without a poller)."""
    speed = sim.SPEED
    while True:
        left = target - wall_ms()
        us = int(left * 1000 / speed) if left > 0 else 0
        ready = None
        if us >= 2000 and poller is not None:
            ready = poller.poll(us // 1000)
        elif us:
            ready = poller.poll(0) if poller is not None else None
            if not ready:
                time.sleep_us(us if us < 2000 else 2000)
        if ready or wall_ms() >= target:
            return ready or []
