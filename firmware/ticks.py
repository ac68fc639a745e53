"""Wraparound-safe millisecond tick arithmetic, period 2**30, like rp2's time.ticks_add/ticks_diff."""
# The unix port's time.ticks_ms() wraps at a larger period on 64-bit machines, so the firmware uses
# these two functions everywhere instead: the device and the simulator then agree exactly.
# Every intermediate value stays a small int on a 32-bit MicroPython (no heap allocation).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

PERIOD = 1 << 30
_MASK = const(0x3FFFFFFF)  # PERIOD - 1
_HALF = const(0x20000000)  # PERIOD // 2


def add(t, d):
    """Tick `t` plus `d` ms (d may be negative), wrapped into 0 .. PERIOD-1."""
    return (t + d) & _MASK


def diff(a, b):
    """Signed ms from tick `b` to tick `a` (a - b), correct across the wrap; in -2**29 .. 2**29-1."""
    return (((a - b) & _MASK) ^ _HALF) - _HALF
