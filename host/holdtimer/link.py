"""The host end of the USB link (docs/protocol.md): `Client` speaks the device's frames over pyserial.

    with Client(devices.resolve_port(args.port)) as c:
        info = c.hello()                      # checks the protocol version; c.info keeps it
        c.routines()                          # [(id, hash, size)]
        c.put_routine(id, data, progress)     # -> hash; atomic on the device
        c.delete_routine(id); c.set_clock()
        for name, size, pulled in c.logs():
            data = c.read_log(name, progress) # bytes
        c.confirm([name, ...])                # -> names the device did not confirm

Requests are sent one at a time and answered in order. A frame that gets no answer in time, or
whose answer says it arrived damaged, is sent again with the same sequence number (the device
answers a repeat without doing it twice), a bounded number of times. Lines that are not frames
(the device may print other text) are skipped. Every failure is a UserError with one line that
says what to do.
"""
import binascii
import collections
import errno
import json
import os
import time

from holdtimer import fw
from holdtimer.devices import SIM_HINT
from holdtimer.errors import UserError

codec = fw.load("link")  # the firmware's own frame codec: one definition for both ends
PROTO = codec.PROTO
TIMEOUT_S = float(os.environ.get("HOLDTIMER_LINK_TIMEOUT", "1.0"))  # per try
TRIES = 4
RX_MAX = 8192  # bytes kept of a line that does not end (a device printing binary junk)

BUSY = "the device is running a session: finish it or end it (long press), then run this again"


class DeviceError(UserError):
    """The device answered a request with an error: .code (e.g. "busy", "invalid"), .detail."""

    def __init__(self, code, detail, text=None):
        super().__init__(text or "the device refused (%s): %s" % (code, detail))
        self.code, self.detail = code, detail


class SerialTransport:
    """pyserial underneath the Client: write(bytes), read(timeout) -> bytes (b"" if none), close()."""

    def __init__(self, port):
        import serial  # here, not at the top: `holdtimer --help` stays fast

        self.port = port
        self._errors = (serial.SerialException, OSError)
        try:
            self.s = serial.Serial(port, 115200, timeout=0.05, write_timeout=2, exclusive=True)
        except (serial.SerialException, OSError) as e:
            raise UserError(open_error(port, e)) from None

    def write(self, data):
        self.s.write(data)

    def read(self, timeout):
        # pyserial's read(n) waits for all n bytes: ask for what is there, or 1 (waits <= 50 ms)
        return self.s.read(max(1, self.s.in_waiting))

    def reset_input(self):
        self.s.reset_input_buffer()

    def close(self):
        self.s.close()


def open_error(port, e):
    n = getattr(e, "errno", None)
    text = str(e)
    if n in (errno.ENOTTY, errno.EISDIR) or "Inappropriate ioctl" in text or "Is a directory" in text:
        return "%s is not a serial port: give the device's port (`holdtimer devices` lists them)" % port
    if n == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
        return "no such port: %s (is the device plugged in, or the simulator running?)" % port
    if os.name == "nt" and ("Access is denied" in text or "PermissionError" in text):
        return "%s is in use by another program (a terminal, mpremote, Thonny?): close it and run this again" % port
    if n in (errno.EACCES, errno.EPERM) or "ermission denied" in text:
        return ("no permission to open %s: add yourself to the dialout group "
                "(sudo usermod -aG dialout $USER, then log in again)" % port)
    if n in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text or "busy" in text:
        return ("%s is in use by another program (a terminal, mpremote, Thonny, holdtimer sync?): "
                "close it and run this again" % port)
    return "cannot open %s: %s" % (port, text)


class Client:
    """The device on `port` (a path or COM name), or over `transport` (tests)."""

    def __init__(self, port=None, transport=None, timeout=None, tries=TRIES):
        self.port = port or getattr(transport, "port", "the link")
        self.timeout = TIMEOUT_S if timeout is None else timeout
        self.tries = tries
        self.info = None
        self.chunk = codec.CHUNK_MAX
        self.frames = 0          # requests answered
        self.resent = 0          # requests sent again
        self._t = transport
        self._rx = bytearray()
        self._noise = collections.deque(maxlen=4)
        self._seq = 1 + int.from_bytes(os.urandom(2), "big") % 60000

    # -- life cycle -----------------------------------------------------------------------------
    def open(self):
        if self._t is None:
            self._t = SerialTransport(self.port)
        try:
            if hasattr(self._t, "reset_input"):
                self._t.reset_input()
            self._t.write(b"\n")  # ends whatever half line the device holds from an earlier cut
        except OSError as e:
            self._lost(e)
        return self

    def close(self):
        if self._t is not None:
            try:
                self._t.close()
            except Exception:
                pass
            self._t = None

    def __enter__(self):
        return self.open() if self._t is None else self

    def __exit__(self, *exc):
        self.close()

    # -- requests -------------------------------------------------------------------------------
    def call(self, body, tries=None):
        """Send one request (its body text) and return the JSON of the ok reply; DeviceError on err."""
        if self._t is None:
            self.open()
        self._seq = self._seq % 65535 + 1
        seq = self._seq
        frame = codec.encode(codec.REQ, seq, body)
        if not codec.printable(frame[:-1]) or len(frame) > codec.LINE_MAX + 1:
            raise UserError("cannot send %r to the device: not printable ASCII or too long" % body[:40])
        for attempt in range(tries or self.tries):
            if attempt:
                self.resent += 1
            try:
                self._t.write(frame)
                reply = self._await(seq, time.monotonic() + self.timeout)
            except OSError as e:  # pyserial's SerialException is an OSError too
                self._lost(e)
            if reply is None:
                continue  # no answer in time: send it again
            word, _, rest = reply.partition(" ")
            if word == "ok":
                self.frames += 1
                return _json(rest)
            code, _, detail = rest.partition(" ")
            if code in codec.LINK_ERRORS:
                continue  # it arrived damaged: send it again
            raise device_error(code, detail)
        raise UserError(self._timeout_text())

    def _await(self, seq, deadline):
        while True:
            line = self._readline(deadline)
            if line is None:
                return None
            r = self._parse(line)
            if r is not None and r[0] == seq:
                return r[1]
            # an answer to an earlier try, an error about junk (seq 0), or text: skip it

    def _readline(self, deadline):
        while True:
            i = self._rx.find(b"\n")
            if i >= 0:
                line = bytes(self._rx[:i])
                del self._rx[:i + 1]
                return line
            if len(self._rx) > RX_MAX:
                self._note(bytes(self._rx[:80]))
                del self._rx[:]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._rx += self._t.read(left)

    def _parse(self, line):
        i = line.find(codec.REP.encode())
        damaged = None
        while i >= 0:
            try:
                return codec.decode(line[i:], codec.REP)
            except codec.FrameError as e:
                if e.args[0] == "crc" and damaged is None:
                    damaged = e.args[1]
                i = line.find(codec.REP.encode(), i + 1)
        if damaged:  # a reply that arrived damaged: its request is sent again at once
            return damaged, "err crc damaged reply"
        self._note(line)
        return None

    def _note(self, line):
        text = line.decode("ascii", "replace").strip()
        if text:
            self._noise.append(text[:80])

    def _timeout_text(self):
        seen = " | ".join(self._noise)
        if ">>>" in seen or "MicroPython v" in seen or "raw REPL" in seen:
            return ("the device on %s shows the MicroPython prompt, not the holdtimer app (safe mode, or "
                    "the app stopped): unplug and replug it without holding the button" % self.port)
        if "Traceback" in seen or "Error" in seen:
            return ("the device on %s printed an error and does not answer (%s): unplug and replug it"
                    % (self.port, self._noise[-1][:60]))
        return ("no answer from the device on %s (is the holdtimer firmware running?): unplug and replug "
                "it; %s" % (self.port, SIM_HINT))

    def _lost(self, e):
        raise UserError("lost the connection to the device on %s (%s): plug it back in and run this "
                        "again; nothing half-sent is kept" % (self.port, str(e) or type(e).__name__)) from None

    # -- the device's commands -------------------------------------------------------------------
    def hello(self):
        """The device's hello (dict: proto, fw, serial, free, battery, usb, clock, boot, uptime_ms,
        session, limits). Raises UserError if it speaks another protocol version."""
        try:
            info = self.call("hello %d" % PROTO, tries=3)
        except DeviceError as e:
            raise UserError("the device does not understand this holdtimer's hello (%s): update its "
                            "firmware with `holdtimer install`" % e.detail) from None
        proto = info.get("proto") if isinstance(info, dict) else None
        if proto != PROTO:
            raise UserError("the device speaks link protocol %s, this holdtimer speaks %d: %s"
                            % (proto, PROTO, "update the device with `holdtimer install`" if
                               isinstance(proto, int) and proto < PROTO else "update holdtimer (pip install -U holdtimer)"))
        limits = info.get("limits") or []
        if len(limits) > 1 and isinstance(limits[1], int) and 0 < limits[1] < self.chunk:
            self.chunk = limits[1]
        self.info = info
        return info

    def _ready(self):
        if self.info is None:
            self.hello()

    def require_idle(self):
        """UserError if a session is running on the device (its routines cannot change then)."""
        self._ready()
        if self.info.get("session"):
            raise UserError(BUSY)

    def _pages(self, cmd, key):
        rows, start = [], 0
        while start is not None:
            page = self.call("%s %d" % (cmd, start))
            rows += [tuple(r) for r in page[key]]
            start = page.get("next")
        return rows

    def routines(self):
        """[(id, hash, size)] of the routines on the device, sorted by id."""
        self._ready()
        return sorted(self._pages("ls", "r"))

    def put_routine(self, rid, data, progress=None):
        """Send routine bytes under id; the device validates and replaces atomically. -> its hash.
        progress(done_bytes, total_bytes) is called after each chunk."""
        self._ready()
        data = bytes(data)
        self.call("put %s %d %s" % (rid, len(data), codec.crc(data)))
        for off in range(0, len(data), self.chunk):
            part = data[off:off + self.chunk]
            self.call("chunk %d %s" % (off, binascii.b2a_base64(part, newline=False).decode()))
            if progress:
                progress(off + len(part), len(data))
        return self.call("commit")["hash"]

    def delete_routine(self, rid):
        """Delete a routine on the device; False if it had none of that id."""
        self._ready()
        return self.call("del %s" % rid)["deleted"]

    def set_clock(self, epoch=None):
        """Set the device clock to epoch seconds (UTC; now if None); returns what was set."""
        self._ready()
        return self.call("clock %d" % int(time.time() if epoch is None else epoch))["clock"]

    def logs(self):
        """[(name, size, pulled)] of the session logs on the device."""
        self._ready()
        return self._pages("logs", "l")

    def read_log(self, name, progress=None, size=None):
        """The whole log `name` as bytes, read in chunks; progress(done, size or None) per chunk."""
        self._ready()
        out = bytearray()
        while True:
            d = binascii.a2b_base64(self.call("read %s %d %d" % (name, len(out), self.chunk))["d"])
            out += d
            if progress and d:
                progress(len(out), size)
            if len(d) < self.chunk:
                return bytes(out)

    def confirm(self, names):
        """Tell the device these logs are safely stored on the PC, so it may delete them later.
        `names`: log names, or (name, size) pairs: a log no longer of that size (still being written)
        is left unconfirmed. Returns the names the device did not confirm."""
        self._ready()
        left = []
        for item in names:
            name, size = (item, None) if isinstance(item, str) else item
            r = self.call("confirm %s" % name if size is None else "confirm %s %d" % (name, size))
            if r.get("confirmed") is False:
                left.append(name)
        return left


def _json(text):
    try:
        return json.loads(text)
    except ValueError:
        raise UserError("the device sent a reply this holdtimer cannot read (%r): update both" % text[:60]) from None


def device_error(code, detail):
    if code == "busy":
        return DeviceError(code, detail, BUSY)
    if code == "invalid":
        return DeviceError(code, detail, "the device rejected the routine: %s" % detail)
    if code == "storage":
        return DeviceError(code, detail, "the device could not write its flash: %s (free room: "
                           "`holdtimer pull`, or sync with --prune)" % detail)
    if code == "notfound":
        return DeviceError(code, detail, "the device has no such item: %s" % detail)
    if code == "memory":
        return DeviceError(code, detail, "the device ran out of memory for this (%s); the step that failed "
                           "changed nothing: unplug the device and plug it in again (a fresh start frees "
                           "its memory), then run this again; if it happens again, please report it" % detail)
    return DeviceError(code, detail)
