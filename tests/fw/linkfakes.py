"""Stand-ins for the link tests on both runtimes: a Storage with the firmware's API, an app.

FakeStorage keeps routines and logs in memory, or (root given) routines as files under
root/routines with the same write-temp-then-rename replacement as storage.py, so a test can read
what a device process holds. Hashes are canon.content_hash of the stored bytes, like storage.py.
"""
import json
import os

import canon


class FakeStorage:
    def __init__(self, root=None, free=1000000):
        self.root = root
        self.mem = {}
        self.log = {}        # name -> bytearray
        self.pulled = set()
        self._free = free
        self.fail_write = False
        if root:
            for d in (root, root + "/routines"):
                try:
                    os.mkdir(d)
                except OSError:
                    pass

    def _path(self, rid):
        return "%s/routines/%s.json" % (self.root, rid)

    def routines(self):
        ids = sorted(self.mem) if not self.root else sorted(
            n[:-5] for n in os.listdir(self.root + "/routines") if n.endswith(".json"))
        out = []
        for rid in ids:
            data = self.read_routine(rid)
            out.append((rid, canon.content_hash(data), len(data)))
        return out

    def read_routine(self, rid):
        if not self.root:
            return self.mem[rid]
        with open(self._path(rid), "rb") as f:
            return f.read()

    def put_routine(self, rid, data):
        try:
            doc = json.loads(data)
        except ValueError:
            raise ValueError("%s: not JSON" % rid)
        if not isinstance(doc, dict) or doc.get("id") != rid:
            raise ValueError("%s: id does not match" % rid)
        if self.fail_write:
            raise OSError(28)
        if not self.root:
            self.mem[rid] = bytes(data)
        else:
            tmp = self._path(rid)[:-5] + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, self._path(rid))
        return canon.content_hash(data)

    def delete_routine(self, rid):
        try:
            if not self.root:
                del self.mem[rid]
            else:
                os.remove(self._path(rid))
        except (KeyError, OSError):
            return False
        return True

    def logs(self):
        return [(n, len(self.log[n]), n in self.pulled) for n in sorted(self.log)]

    def read_log(self, name, offset, n):
        if name not in self.log:
            raise OSError(2)
        return bytes(self.log[name][offset:offset + n])

    def confirm_log(self, name, size=None):
        if name not in self.log:
            raise OSError(2)
        if size is not None and size != len(self.log[name]):
            return False
        self.pulled.add(name)
        return True

    def free(self):
        return self._free


class FakeApp:
    def __init__(self):
        self.session = False
        self.clock = None

    def info(self):
        return {"fw": "test", "serial": "E66038B713849D31", "battery": 80, "usb": True,
                "clock": self.clock, "boot": 3, "uptime_ms": 1234, "session": self.session}

    def busy(self):
        return self.session

    def set_clock(self, epoch):
        self.clock = epoch
