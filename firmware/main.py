# Device entry point: safe mode when the button is held at power-up, else the app; a crash is
# written to the crash log on flash and the app restarts into the menu.
import gc
import sys

import board
import ticks

SAFE_HOLD_MS = 300
MAX_RESTARTS = 5


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


def run():
    if _held_at_boot():
        _safe_mode()
        return
    restarts = 0
    while True:
        try:
            import app

            gc.collect()  # free what the imports left behind before the app allocates
            app.App().run()
            return
        except KeyboardInterrupt:
            return  # mpremote or Ctrl-C: leave the REPL free
        except Exception as e:  # noqa: BLE001 - anything uncaught: log it, restart into the menu
            _log_crash(e)
            restarts += 1
            gc.collect()
            if restarts >= MAX_RESTARTS:
                import screens

                screens.error(board.display, "Crashed 5 times", "see crash.log")
                board.display.show()
                return


run()
