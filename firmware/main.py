# Device entry point: safe mode when the button is held at power-up, else the app; a crash is
# written to the crash log on flash and the app restarts into the menu.
import gc
import sys

import board
import ticks

SAFE_HOLD_MS = 300
MAX_RESTARTS = 5  # crashes within RESTART_WINDOW_MS that stop the app (a crash loop)
RESTART_WINDOW_MS = 600000  # 10 minutes: crashes further apart never add up


def _held_at_boot():
    t0 = board.ticks_ms()
    while board.button():
        if ticks.diff(board.ticks_ms(), t0) >= SAFE_HOLD_MS:
            return True
        board.sleep_ms(10)
    return False


def _safe_mode():
    import screens

    screens.safe_mode(board.display)
    board.display.show()
    if board.trace:
        board.trace("safe_mode")


def _log_crash(e):
    try:
        import io

        buf = io.StringIO()
        sys.print_exception(e, buf)
        text = buf.getvalue()
    except Exception:
        text = repr(e)
    sys.print_exception(e, sys.stderr)
    try:
        import storage

        storage.Storage(board.root).crash(text)
    except Exception:
        pass
    if board.trace:
        board.trace("crash", repr(e).replace(" ", "_")[:60])


# The app's modules, leaves first. Each is imported on its own with a collection after it, so the
# temporaries of one import are freed before the next loads: a lower peak than importing app (which
# would load them all nested, each on top of the others' temporaries), and no holes left between
# the modules for a later import to miss.
_MODULES = ("ticks", "sessionlog", "storage", "routine", "plan", "engine", "gestures", "haptics", "screens",
            "screens_extra", "logwalk", "logops")


def _load():
    for name in _MODULES:
        if name not in sys.modules:
            __import__(name)
            gc.collect()


def crash_loop(times, now, limit=MAX_RESTARTS, window=RESTART_WINDOW_MS):
    """Record a crash at tick `now` in `times` (the ticks of earlier crashes, kept to the window) and
    say whether `limit` crashes have happened within `window` ms: only then does the app stop."""
    times.append(now)
    while times and ticks.diff(now, times[0]) >= window:
        times.pop(0)
    return len(times) >= limit


def run():
    if _held_at_boot():
        _safe_mode()
        return
    crashes = []
    while True:
        try:
            _load()
            import app

            gc.collect()  # free what the imports left behind before the app allocates
            app.App().run()
            return
        except KeyboardInterrupt:
            return  # mpremote or Ctrl-C: leave the REPL free
        except Exception as e:  # noqa: BLE001 - anything uncaught: log it, restart into the menu
            _log_crash(e)
            gc.collect()
            if crash_loop(crashes, board.ticks_ms()):
                import screens

                screens.error(board.display, "Crashed %d times" % MAX_RESTARTS, "see crash.log")
                board.display.show()
                return


if __name__ == "__main__" or __name__ == "main":
    run()
