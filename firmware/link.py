"""USB serial link: line frames (sequence number, CRC-32) and the device's command handler.

See docs/protocol.md. Every frame is one line of printable ASCII (0x20-0x7E) ending in "\\n":

    >12 ls 0 4c1f6a0e            host -> device: mark, sequence number, body, crc32 of the rest
    <12 ok {"r":[...]} 9b0d2e11  device -> host: "ok <json>" or "err <code> <message>"

Printable only because a 0x03 byte on the Pico's USB serial raises KeyboardInterrupt (and mpremote
needs Ctrl-C to keep working); binary data travels base64-encoded. The device parses requests as
space-separated tokens and never evaluates what it receives. `DeviceLink.feed` is pure: it takes
the bytes that arrived and returns the bytes to send back, with every buffer bounded.
Runs unchanged on CPython (the host imports the codec from here) and MicroPython.
"""
import binascii
import json

PROTO = 1            # link protocol version, reported by hello; the host refuses any other
LINE_MAX = 600       # longest frame line in bytes, without its line ending
CHUNK_MAX = 384      # routine or log bytes per frame (512 base64 characters)
ROUTINE_MAX = 4096   # largest routine the device accepts (docs/routines.md)
REQ = ">"            # mark of a request (host -> device)
REP = "<"            # mark of a reply (device -> host)
LINK_ERRORS = ("crc", "frame", "long")  # errors about the frame itself: the host sends it again


class FrameError(Exception):
    """A line that is not a valid frame: args = (code, seq or 0, message)."""


def crc(data):
    """CRC-32 of bytes as 8 lowercase hex digits."""
    return "%08x" % (binascii.crc32(data) & 0xFFFFFFFF)


def encode(mark, seq, body, prefix=""):
    """One frame line (bytes, with "\\n") for mark REQ or REP, seq 0..65535 and a printable str body
    (after `prefix`). Few copies of the line: a reply of a log piece is ~540 bytes, and on a small
    fragmented heap every extra copy is one more large block to find."""
    head = ("%s%d %s%s" % (mark, seq, prefix, body)).encode()
    return head + (" %08x\n" % (binascii.crc32(head) & 0xFFFFFFFF)).encode()


def printable(data):
    """True if every byte of data is printable ASCII (0x20-0x7E)."""
    for c in data:
        if c < 32 or c > 126:
            return False
    return True


def decode(line, mark):
    """Parse one line (bytes, without "\\n"; a trailing "\\r" is ignored) -> (seq, body str).

    Raises FrameError(code, seq, message) with code "long", "frame" or "crc"."""
    if line[-1:] == b"\r":
        line = line[:-1]
    if len(line) > LINE_MAX:
        raise FrameError("long", 0, "line longer than %d bytes" % LINE_MAX)
    if not printable(line):
        raise FrameError("frame", 0, "not printable ASCII")
    sp = line.find(b" ")
    seq = -1
    if line[:1] == mark.encode() and 1 < sp <= 6 and line[1:sp].isdigit():
        seq = int(line[1:sp])
    k = line.rfind(b" ")
    if seq < 0 or seq > 65535 or k <= sp:
        raise FrameError("frame", 0, "not a frame")
    if len(line) - k != 9 or line[k + 1:].decode() != crc(line[:k]):
        raise FrameError("crc", seq, "bad checksum")
    return seq, line[sp + 1:k].decode()


def _clean(text, n=160):
    """text made printable and short enough for an error reply."""
    out = bytearray()
    for o in str(text).encode("utf-8", "surrogatepass"):  # bytes: iterating a str interns each character (MicroPython)
        if o & 0xC0 == 0x80:
            continue  # a UTF-8 continuation byte: its character is already one "?"
        if len(out) >= n:
            break
        out.append(o if 32 <= o <= 126 else 63)
    return out.decode()


def _name_ok(name, extra):
    """Routine id [a-z0-9-]{1,32}; log names may also have '.' (not first)."""
    if not 0 < len(name) <= 32 or name[0] == ".":
        return False
    for ch in name:
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == "-" or ch in extra):
            return False
    return True


def _int(word, lo, hi):
    if not word.isdigit() or len(word) > 12:
        raise ValueError
    v = int(word)
    if v < lo or v > hi:
        raise ValueError
    return v


class _Reply(Exception):
    """An error reply raised inside a command: args = (code, message)."""


class DeviceLink:
    """The device end. `storage` is a storage.Storage; `app` gives info() -> dict for hello (keys in
    docs/protocol.md), busy() -> True while a session runs, and set_clock(epoch_s)."""

    def __init__(self, storage, app):
        self.storage = storage
        self.app = app
        self._buf = bytearray()
        self._skip = 0         # discarding the rest of an overlong line (2: it was a request)
        self._last = None      # (seq, crc field, reply): a repeated request gets the same reply
        self._put = None       # [id, size, crc32, bytearray, received] of a routine being received
        self.frames = 0        # requests answered
        self.errors = 0        # error replies sent
        self.ignored = 0       # lines that were not requests (no reply)
        self._cmds = {
            "hello": self._hello, "ls": self._ls, "put": self._put_begin, "chunk": self._chunk,
            "commit": self._commit, "abort": self._abort, "del": self._del, "clock": self._clock,
            "logs": self._logs, "read": self._read, "confirm": self._confirm,
        }

    # -- bytes in, bytes out -------------------------------------------------------------------
    def feed(self, data, write=None):
        """Take the bytes that arrived (any split, any content). With `write`, each reply is passed to
        write(bytes) as soon as it is made and feed returns b"": the memory used is one reply, whatever
        arrived. Without it the replies are returned joined (tests, the host's in-process device)."""
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        out = None if write is not None else []
        i = 0
        n = len(data)
        while i < n:
            j = data.find(b"\n", i)
            end = n if j < 0 else j
            if self._skip:
                pass
            elif len(self._buf) + end - i > LINE_MAX + 1:  # +1: room for a "\r" before the "\n"
                first = self._buf[:1] if self._buf else data[i:i + 1]
                self._buf = bytearray()
                self._skip = 2 if first == b">" else 1  # 2: a request too long: it gets an answer
            else:
                self._buf += data[i:end]
            if j < 0:
                break
            if self._skip:
                r = self._error(0, "long", "line longer than %d bytes" % LINE_MAX) if self._skip == 2 else None
                self._skip = 0
                self.ignored += 0 if r else 1
            else:
                line = bytes(self._buf)
                self._buf = bytearray()
                r = self._line(line)
            if r:
                if out is None:
                    write(r)
                else:
                    out.append(r)
            r = None
            i = j + 1
        return b"" if out is None else b"".join(out)

    def pending(self):
        """Bytes held of an unfinished line (never more than LINE_MAX + 1)."""
        return len(self._buf)

    def drop(self):
        """Forget a routine half received (the app calls this when a session starts)."""
        self._put = None

    def _error(self, seq, code, message):
        self.errors += 1
        return encode(REP, seq, "err %s %s" % (code, _clean(message)))

    def _line(self, line):
        if line[-1:] == b"\r":
            line = line[:-1]
        if line[:1] != b">":
            # An empty line resynchronises; a reply mark is our own echo; any other text (a terminal
            # typing, a program probing ports) is not a request: never answered, so junk costs nothing.
            self.ignored += 1
            return None
        try:
            seq, body = decode(line, REQ)
        except FrameError as e:
            return self._error(e.args[1], e.args[0], e.args[2])
        if seq == 0:
            return self._error(0, "frame", "sequence number 0 is reserved")
        key = line[-8:]
        last = self._last
        if last is not None and last[0] == seq and last[1] == key:
            return last[2]  # the host sent it again (our reply was lost): same answer, not redone
        words = body.split(" ")
        fn = self._cmds.get(words[0])
        if fn is None:
            reply = self._error(seq, "unknown", "unknown command")
        else:
            try:
                reply = encode(REP, seq, fn(words[1:]), "ok ")
            except _Reply as e:
                reply = self._error(seq, e.args[0], e.args[1])
            except (ValueError, IndexError):
                reply = self._error(seq, "args", "bad arguments for " + words[0])
            except MemoryError:
                self._put = None
                reply = self._error(seq, "memory", "out of memory")
            except Exception as e:  # storage or app failure: answer, never die in the link
                reply = self._error(seq, "device", "%s: %s" % (type(e).__name__, e))
            if len(reply) > LINE_MAX + 1:
                reply = self._error(seq, "device", "reply too long")
        self.frames += 1
        self._last = (seq, key, reply)
        return reply

    # -- commands: each takes the argument words, returns the JSON text of an ok reply ------------
    def _not_busy(self):
        if self.app.busy():
            self._put = None
            raise _Reply("busy", "a session is running")

    def _hello(self, args):
        info = dict(self.app.info())
        info["proto"] = PROTO
        if "uptime_ms" not in info and "uptime" in info:
            info["uptime_ms"] = info.pop("uptime")
        if not info.get("clock"):
            info["clock"] = None  # not set since power-up
        if "free" not in info:
            info["free"] = self.storage.free()
        info["limits"] = [LINE_MAX, CHUNK_MAX, ROUTINE_MAX]
        return json.dumps(info)

    def _page(self, rows, start, key):
        # Entries from index `start` that fit in one reply; "next" is where the next page starts.
        out = []
        size = 40
        i = start
        while i < len(rows):
            item = json.dumps(list(rows[i]))
            size += len(item) + 1
            if size > LINE_MAX - 40 and out:
                break
            out.append(item)
            i += 1
        return '{"%s":[%s],"next":%s}' % (key, ",".join(out), i if i < len(rows) else "null")

    def _ls(self, args):
        return self._page(self.storage.routines(), _int(args[0], 0, 10000) if args else 0, "r")

    def _put_begin(self, args):
        self._not_busy()
        rid, size, want = args[0], _int(args[1], 1, ROUTINE_MAX), args[2]
        if len(args) != 3 or not _name_ok(rid, "") or len(want) != 8:
            raise ValueError
        self._put = None
        self._put = [rid, size, want, bytearray(size), 0]
        return "{}"

    def _chunk(self, args):
        self._not_busy()
        p = self._put
        if p is None:
            raise _Reply("state", "no routine being received")
        off = _int(args[0], 0, ROUTINE_MAX)
        data = binascii.a2b_base64(args[1])
        if len(args) != 2 or len(data) > CHUNK_MAX or len(data) == 0:
            raise ValueError
        if off + len(data) > p[1]:
            raise _Reply("args", "chunk beyond the announced size")
        if off != p[4]:
            raise _Reply("state", "expected offset %d" % p[4])
        p[3][off:off + len(data)] = data
        p[4] = off + len(data)
        return '{"got":%d}' % p[4]

    def _commit(self, args):
        self._not_busy()
        p = self._put
        self._put = None
        if p is None:
            raise _Reply("state", "no routine being received")
        if p[4] != p[1]:
            raise _Reply("state", "incomplete: %d of %d bytes" % (p[4], p[1]))
        data = bytes(p[3])
        p = [p[0], p[2]]  # let the staging buffer go before storage works
        if crc(data) != p[1]:
            raise _Reply("mismatch", "routine data does not match its checksum")
        try:
            h = self.storage.put_routine(p[0], data)
        except ValueError as e:
            raise _Reply("invalid", e)
        except OSError as e:
            raise _Reply("storage", "flash write failed (%s); the old routine is kept" % e)
        return '{"id":"%s","hash":"%s"}' % (p[0], h)

    def _abort(self, args):
        self._put = None
        return "{}"

    def _del(self, args):
        self._not_busy()
        if len(args) != 1 or not _name_ok(args[0], ""):
            raise ValueError
        gone = self.storage.delete_routine(args[0])
        return '{"deleted":%s}' % ("false" if gone is False else "true")

    def _clock(self, args):
        epoch = _int(args[0], 946684800, 4102444800)  # 2000..2100
        self.app.set_clock(epoch)
        return '{"clock":%d}' % epoch

    def _logs(self, args):
        return self._page(self.storage.logs(), _int(args[0], 0, 100000) if args else 0, "l")

    def _log_name(self, name):
        if not _name_ok(name, "."):
            raise ValueError
        return name

    def _read(self, args):
        name = self._log_name(args[0])
        off, n = _int(args[1], 0, 1 << 30), _int(args[2], 1, CHUNK_MAX)
        try:
            data = self.storage.read_log(name, off, n)
        except OSError:
            raise _Reply("notfound", "no log " + name)
        return '{"d":"%s"}' % binascii.b2a_base64(data)[:-1].decode()

    def _confirm(self, args):
        # "confirm <name> [<size>]": with a size, a log that has grown since is not confirmed
        name = self._log_name(args[0])
        try:
            if len(args) > 1:
                done = self.storage.confirm_log(name, _int(args[1], 0, 1 << 30))
            else:
                done = self.storage.confirm_log(name)
        except OSError:
            raise _Reply("notfound", "no log " + name)
        return '{"confirmed":%s}' % ("false" if done is False else "true")


def pump(link, poller, inp, out, budget=512):
    """Serve the link from the main loop: read what has arrived (at most `budget` bytes, one at a
    time: rp2's sys.stdin.buffer.read(n) waits for all n bytes) and write the replies.
    `poller` is a select.poll with `inp` registered for POLLIN. Returns the number of bytes read."""
    got = bytearray()
    ipoll = getattr(poller, "ipoll", None)
    while len(got) < budget:
        ready = False
        for _ in (ipoll(0) if ipoll else poller.poll(0)):
            ready = True
            break
        if not ready:
            break
        try:
            b = inp.read(1)
        except OSError:  # the other end went away (a pty without a reader)
            break
        if not b:
            break
        got += b
        if b == b"\n":
            break  # answer each frame as soon as it is complete
    if got:
        link.feed(got, out.write)
    return len(got)
