"""Haptic cue patterns for the vibration motor, played without blocking the main loop."""
import ticks

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

# cue -> (on, off, on, off, ...) in ms. Each cue has its own rhythm so it is felt without looking.
PATTERNS = {
    "prep": (120,),                     # one short: get into position
    "hold": (450,),                     # one long: hold now
    "tick": (40,),                      # a tap each of the last 3 seconds
    "hold_end": (150, 100, 150),        # two short: let go
    "switch": (100, 100, 100, 100, 100),  # three short: other side
    "rest": (250,),                     # one medium: rest
    "rep": (60,),                       # a tap per counted rep
    "press_wait": (120, 120, 120),      # two short: go at your pace, press when done
    "ex_done": (500, 150, 150),         # long-short: exercise done
    "done": (400, 200, 400, 200, 400),  # three long: session done
    "reminder": (50, 100, 50),          # two taps: still paused
    "ack": (30,),                       # the smallest tap: a press was taken
}
_DUTY = const(65535)


class Player:
    """Plays one pattern at a time on `motor` (on(duty)/off()); a new cue replaces the current one."""

    def __init__(self, motor, patterns=PATTERNS, duty=_DUTY):
        self.motor = motor
        self.patterns = patterns
        self.duty = duty
        self._pat = None
        self._i = 0
        self._at = 0

    def play(self, cue, now):
        pat = self.patterns.get(cue)
        if not pat:
            return
        self._pat = pat
        self._i = 0
        self._at = now
        self.update(now)

    def busy(self):
        """True while a pattern is playing (the app defers flash writes until it is not)."""
        return self._pat is not None

    def update(self, now):
        """Switch the motor on/off as the pattern says at `now`."""
        pat = self._pat
        while pat is not None and ticks.diff(now, self._at) >= 0:
            if self._i >= len(pat):
                self.motor.off()
                self._pat = pat = None
                break
            if self._i % 2 == 0:
                self.motor.on(self.duty)
            else:
                self.motor.off()
            self._at = ticks.add(self._at, pat[self._i])
            self._i += 1

    def wake_in(self, now):
        """ms until the motor must switch next, or None when idle."""
        if self._pat is None:
            return None
        return max(0, ticks.diff(self._at, now))

    def stop(self):
        self._pat = None
        self.motor.off()
