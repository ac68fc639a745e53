"""One button's raw level + the time -> "short", "double", "triple" or "long" (pushbutton style)."""
# Fed, not polling: the app calls update(pressed, now) with the raw level and a tick (ticks.py), so
# tests drive it with scripted levels. Timing constants are class attributes, overridable per class
# or per instance (Gestures(long_ms=1000)), like Peter Hinch's pushbutton.py.
#   debounce: an accepted edge locks the level for debounce_ms (bounces inside that are ignored);
#   long:     fires WHILE held, once the press has lasted long_ms (the release is then ignored);
#   clicks:   presses shorter than long_ms; the count is reported gap_ms after the last release
#             unless another press starts before: 1 = short, 2 = double, 3 or more = triple.
# A single short therefore arrives gap_ms after its release (it might have become a double).
import ticks

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

SHORT = "short"
DOUBLE = "double"
TRIPLE = "triple"
LONG = "long"
_BY_CLICKS = const((None, "short", "double", "triple"))  # by click count


class Gestures:
    debounce_ms = 30
    long_ms = 800
    gap_ms = 350

    def __init__(self, debounce_ms=None, long_ms=None, gap_ms=None):
        if debounce_ms is not None:
            self.debounce_ms = debounce_ms
        if long_ms is not None:
            self.long_ms = long_ms
        if gap_ms is not None:
            self.gap_ms = gap_ms
        self.pressed = False  # the debounced level
        self._edge_at = None  # tick of the last accepted edge
        self._raw = False
        self._down_at = 0
        self._up_at = 0
        self._clicks = 0
        self._long = False  # the current press already fired "long"

    def reset(self):
        """Forget clicks in progress (e.g. when the screen changes under the user's finger)."""
        self._clicks = 0
        self._long = self.pressed  # a press still held must not fire "long" or count as a click

    def update(self, pressed, now):
        """Feed the raw level (True = pressed) at tick `now`; returns a gesture name or None."""
        pressed = bool(pressed)
        self._raw = pressed
        if pressed != self.pressed and (
                self._edge_at is None or ticks.diff(now, self._edge_at) >= self.debounce_ms):
            self._edge_at = now
            self.pressed = pressed
            if pressed:
                # A press after the gap has expired: first report the clicks that were waiting.
                g = self._expire(now)
                self._down_at = now
                self._long = False
                return g
            if self._long:
                self._long = False
                return None
            self._clicks += 1
            self._up_at = now
            return None
        if self.pressed:
            if not self._long and ticks.diff(now, self._down_at) >= self.long_ms:
                self._long = True
                self._clicks = 0
                return LONG
            return None
        return self._expire(now)

    def _expire(self, now):
        if self._clicks and ticks.diff(now, self._up_at) >= self.gap_ms:
            n = self._clicks
            self._clicks = 0
            return _BY_CLICKS[n if n < 3 else 3]
        return None

    def wake_in(self, now):
        """ms until update() must be called again for a pending decision, or None when idle (then
        only a level change matters: poll the button at the app's own pace)."""
        at = None
        if self._raw != self.pressed and self._edge_at is not None:
            at = ticks.add(self._edge_at, self.debounce_ms)
        elif self.pressed:
            if not self._long:
                at = ticks.add(self._down_at, self.long_ms)
        elif self._clicks:
            at = ticks.add(self._up_at, self.gap_ms)
        if at is None:
            return None
        d = ticks.diff(at, now)
        return d if d > 0 else 0

    def held_ms(self, now):
        """ms the button has been held down (debounced), 0 when released: for the safe-mode check."""
        return ticks.diff(now, self._down_at) if self.pressed else 0
