"""ticks.add/diff behave like rp2's time.ticks_add/ticks_diff (period 2**30), across the wrap."""
import ticks

P = ticks.PERIOD
HALF = P // 2


def _ref_diff(a, b):
    # MicroPython's C definition: ((a - b + PERIOD/2) & (PERIOD - 1)) - PERIOD/2
    return ((a - b + HALF) & (P - 1)) - HALF


def test_period_is_2_to_the_30():
    assert P == 1073741824


def test_add_wraps_into_the_period():
    assert ticks.add(0, 5) == 5
    assert ticks.add(P - 1, 1) == 0
    assert ticks.add(P - 5000, 7000) == 2000
    assert ticks.add(3, -5) == P - 2
    assert ticks.add(0, P) == 0


def test_diff_is_signed_and_wraparound_safe():
    assert ticks.diff(10, 3) == 7
    assert ticks.diff(3, 10) == -7
    assert ticks.diff(2000, P - 5000) == 7000
    assert ticks.diff(P - 5000, 2000) == -7000
    assert ticks.diff(5, 5) == 0


def test_diff_range_is_half_the_period_each_way():
    assert ticks.diff(HALF - 1, 0) == HALF - 1
    assert ticks.diff(HALF, 0) == -HALF
    assert ticks.diff(0, HALF) == -HALF


def test_diff_undoes_add_for_every_offset_that_fits():
    seed = 12345
    for _ in range(2000):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        t = seed & (P - 1)
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        d = (seed % P) - HALF
        u = ticks.add(t, d)
        assert 0 <= u < P
        assert ticks.diff(u, t) == d, (t, d)
        assert ticks.diff(u, t) == _ref_diff(u, t)
        assert ticks.diff(t, u) == _ref_diff(t, u)
