"""The button decoder turns scripted raw levels into short/double/triple/long as a user expects."""
import ticks
from gestures import Gestures


def feed(g, script, start=0, step=5, until=None):
    """Drive decoder g with `script`, a list of (ms_from_start, level) level changes, polling every
    `step` ms until `until` (default: 2 s after the last change). Returns [(ms_from_start, gesture)]."""
    out = []
    level = False
    j = 0
    end = (script[-1][0] if script else 0) + 2000 if until is None else until
    t = 0
    while t <= end:
        while j < len(script) and script[j][0] <= t:
            level = script[j][1]
            j += 1
        r = g.update(level, ticks.add(start, t))
        if r is not None:
            out.append((t, r))
        t += step
    return out


def clicks(n, at=100, down=80, up=120):
    s = []
    t = at
    for _ in range(n):
        s.append((t, True))
        s.append((t + down, False))
        t += down + up
    return s


def test_one_click_is_short_reported_after_the_gap():
    out = feed(Gestures(), clicks(1))
    assert out == [(180 + 350, "short")], out


def test_two_clicks_are_double_and_three_are_triple():
    assert [r for _, r in feed(Gestures(), clicks(2))] == ["double"]
    assert [r for _, r in feed(Gestures(), clicks(3))] == ["triple"]


def test_more_than_three_clicks_are_still_one_triple():
    assert [r for _, r in feed(Gestures(), clicks(5))] == ["triple"]


def test_clicks_further_apart_than_the_gap_are_separate_shorts():
    out = feed(Gestures(), clicks(2, up=400))
    assert [r for _, r in out] == ["short", "short"], out


def test_long_fires_while_held_and_the_release_adds_nothing():
    out = feed(Gestures(), [(100, True), (2000, False)])
    assert out == [(900, "long")], out


def test_long_after_a_click_is_only_long():
    out = feed(Gestures(), [(100, True), (180, False), (300, True), (1500, False)])
    assert out == [(1100, "long")], out


def test_bounces_inside_the_debounce_time_count_as_one_press():
    bouncy = [(100, True), (102, False), (104, True), (107, False), (110, True), (190, False),
              (195, True), (200, False)]
    out = feed(Gestures(), bouncy, step=1)
    assert [r for _, r in out] == ["short"], out


def test_a_press_held_less_than_long_is_a_click():
    out = feed(Gestures(), [(100, True), (100 + 790, False)])
    assert [r for _, r in out] == ["short"], out


def test_constants_can_be_overridden_per_instance():
    g = Gestures(long_ms=2000, gap_ms=100, debounce_ms=10)
    assert (g.long_ms, g.gap_ms, g.debounce_ms) == (2000, 100, 10)
    assert Gestures.long_ms == 800 and Gestures.gap_ms == 350 and Gestures.debounce_ms == 30
    out = feed(g, [(100, True), (1500, False)])
    assert [r for _, r in out] == ["short"], out
    out = feed(Gestures(gap_ms=100), clicks(2, up=200))
    assert [r for _, r in out] == ["short", "short"], out


def test_works_across_the_tick_wrap():
    start = ticks.PERIOD - 300
    assert feed(Gestures(), clicks(2), start=start)[0][1] == "double"
    assert feed(Gestures(), [(100, True), (1200, False)], start=start) == [(900, "long")]


def test_wake_in_says_when_a_pending_decision_is_due():
    g = Gestures()
    assert g.wake_in(0) is None
    g.update(True, 1000)
    assert g.wake_in(1000) == 800
    assert g.wake_in(1500) == 300
    g.update(False, 1100)
    assert g.wake_in(1100) == 350
    assert g.update(False, 1449) is None
    assert g.update(False, 1450) == "short"
    assert g.wake_in(1450) is None


def test_wake_in_covers_a_level_change_inside_the_debounce_time():
    g = Gestures()
    g.update(True, 0)
    assert g.update(False, 10) is None  # inside the debounce time: not taken yet
    assert g.pressed
    assert g.wake_in(10) == 20
    g.update(False, 30)
    assert not g.pressed


def test_held_ms_for_the_safe_mode_check():
    g = Gestures()
    assert g.held_ms(0) == 0
    g.update(True, 50)
    assert g.held_ms(550) == 500
    g.update(False, 600)
    assert g.held_ms(700) == 0


def test_reset_forgets_pending_clicks_and_the_held_press():
    g = Gestures()
    g.update(True, 0)
    g.update(False, 100)
    g.reset()
    assert g.update(False, 1000) is None
    g.update(True, 2000)
    g.reset()
    assert g.update(True, 3000) is None  # no "long" for a press that began before reset
    assert g.update(False, 3100) is None
    assert g.update(False, 4000) is None
