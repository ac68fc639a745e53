# Serves the device end of the USB link on stdin/stdout, as the app's main loop does, without the
# rest of the app: `micropython tests/fw/link_serve.py ROOT [real|fake]`. Routines live under
# ROOT/routines (firmware/storage.py's Storage, or with "fake" the test FakeStorage). While the file
# ROOT/busy exists the device reports a running session. Used by tests/test_link_host.py over a pty.
import os
import select
import sys

here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, here)
sys.path.insert(0, here + "/../../firmware")

root = sys.argv[1]
fake = len(sys.argv) > 2 and sys.argv[2] == "fake"
if not fake:
    import routine  # noqa: E402

    routine.parse(b"{}", "warm-up")  # compile the validator first, on an unfragmented heap (from .py)

import link  # noqa: E402
from linkfakes import FakeApp, FakeStorage  # noqa: E402

if fake:
    store = FakeStorage(root)
else:
    import storage

    store = storage.Storage(root)


class App(FakeApp):
    def busy(self):
        try:
            os.stat(root + "/busy")
            return True
        except OSError:
            return False

    def info(self):
        d = FakeApp.info(self)
        d["session"] = self.busy()
        return d


dev = link.DeviceLink(store, App())
poller = select.poll()
poller.register(sys.stdin, select.POLLIN)
out = sys.stdout.buffer
print("link_serve: ready")  # other text on the link: the host must skip it
while True:
    poller.poll(1000)
    link.pump(dev, poller, sys.stdin.buffer, out)
