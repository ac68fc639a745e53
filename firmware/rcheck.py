"""The checks behind routine.parse (format v1, docs/routines.md): a strict JSON parser of its own and
the routine's rules. Use routine.parse; this module is loaded only while validating (the app drops it
from sys.modules after a routine arrived).

The JSON is read by this module's own parser (not the json module) so that a syntax error gets the
same "line L:C" on CPython and on MicroPython, nesting is bounded (depth-limited recursion), duplicate
keys are caught, and no input can make it raise. Error messages are built from the input's bytes and
ints only (no float repr, no dict order), so both runtimes produce identical lists.
"""
import canon
from routine import MAX_BYTES, VERSION, ex_seconds

MAX_DEPTH = 8           # nested objects/lists; a routine needs 3
MAX_ERRORS = 20         # then one more line says that errors were left out
EX_LIMIT_S = 2 * 3600   # an exercise's planned time must stay under this
ROUTINE_LIMIT_S = 4 * 3600
MAX_NUMBER = 32         # characters of one number literal

TOP_KEYS = ("v", "id", "name", "src", "freq", "prep", "notes", "ex")
EX_KEYS = ("name", "cue", "hold", "tempo", "press", "reps", "sides", "sets", "rest", "srest",
           "switch", "prep", "why")
FREQ_KEYS = ("n", "per")
KINDS = ("hold", "tempo", "press")
SIDES = ("none", "alt", "each")
PERS = ("day", "week")
# Whole-number keys of an exercise: key -> (min, max, unit)
EX_INTS = {"hold": (1, 600, " s"), "tempo": (1, 60, " s"), "reps": (1, 100, ""), "sets": (1, 20, ""),
           "rest": (0, 600, " s"), "srest": (0, 600, " s"), "switch": (1, 60, " s"), "prep": (0, 120, " s")}
# Text: (min, max characters); all of it printable ASCII except `notes` and `why`
NAME_LEN = (1, 32)
EX_NAME_LEN = (1, 16)
CUE_LEN = (0, 16)
SRC_LEN = (1, 120)
ID_MAX = 32
EX_COUNT = (1, 30)


def parse(data, name):
    """routine.parse: (doc, errors). MemoryError is raised, never turned into an error line: the heap
    is exhausted (the device answers `err memory`), the routine is not known to be invalid."""
    try:
        return _parse(data, name)
    except MemoryError:
        raise
    except Exception as e:  # last resort: everything below is written not to raise
        return None, ["%s: top: internal validator error (%s); please report it" % (name, type(e).__name__)]


# ---------------------------------------------------------------------------------------------
# Errors


class _Stop(Exception):
    pass


class _Errors:
    def __init__(self, name):
        self.name = name
        self.list = []

    def add(self, place, msg):
        if len(self.list) >= MAX_ERRORS:
            self.list.append("%s: top: more errors not shown (stopped after %d)" % (self.name, MAX_ERRORS))
            raise _Stop()
        self.list.append("%s: %s: %s" % (self.name, place, msg))


def _parse(data, name):
    E = _Errors(name)
    if isinstance(data, str):
        data = data.encode()
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        return None, ["%s: top: expected the file's bytes, not %s" % (name, type(data).__name__)]
    try:
        if len(data) > MAX_BYTES:
            E.add("file", "%d bytes, more than the %d a routine may have (shorten `notes` and `why`)"
                  % (len(data), MAX_BYTES))
            return None, E.list
        if data[:3] == b"\xef\xbb\xbf":
            E.add("line 1:1", "the file starts with a byte order mark (BOM); save it as UTF-8 without BOM")
            return None, E.list
        bad = _bad_utf8(data)
        if bad >= 0:
            E.add("line %d:%d (byte %d)" % (_linecol(data, bad) + (bad,)),
                  "not valid UTF-8 (byte 0x%02X); save the file as UTF-8" % data[bad])
            return None, E.list
        p = _Parser(data)
        try:
            doc = p.document(_TOP)
        except _Syntax as e:
            E.add("line %d:%d" % _linecol(data, e.args[0]), e.args[1])
            return None, E.list
        for pos, msg in p.dups:
            E.add("line %d:%d" % _linecol(data, pos), msg)
        p = p.nex
        _check(doc, E, p)
    except _Stop:
        pass
    if E.list:
        return None, E.list
    return doc, []


# ---------------------------------------------------------------------------------------------
# Bytes: UTF-8 and positions


def _bad_utf8(d):
    """Offset of the first byte that is not part of valid UTF-8 (strict: no overlongs, no
    surrogates, nothing above U+10FFFF), or -1."""
    i = 0
    n = len(d)
    while i < n:
        b = d[i]
        if b < 0x80:
            i += 1
            continue
        lo = 0x80
        hi = 0xBF
        if 0xC2 <= b <= 0xDF:
            k = 1
        elif b == 0xE0:
            k = 2
            lo = 0xA0
        elif b == 0xED:
            k = 2
            hi = 0x9F
        elif 0xE1 <= b <= 0xEF:
            k = 2
        elif b == 0xF0:
            k = 3
            lo = 0x90
        elif b == 0xF4:
            k = 3
            hi = 0x8F
        elif 0xF1 <= b <= 0xF3:
            k = 3
        else:
            return i
        if i + k >= n:
            return i
        c = d[i + 1]
        if c < lo or c > hi:
            return i
        j = i + 2
        while j <= i + k:
            if d[j] & 0xC0 != 0x80:
                return i
            j += 1
        i += k + 1
    return -1


def _linecol(d, pos):
    """(line, column) of byte offset pos, both from 1; the column counts characters. No copies."""
    start = d.rfind(b"\n", 0, pos) + 1
    line = d.count(b"\n", 0, start) + 1
    col = 1
    for j in range(start, pos):
        if d[j] & 0xC0 != 0x80:
            col += 1
    return line, col


# ---------------------------------------------------------------------------------------------
# The JSON parser: strict RFC 8259, depth-limited recursive descent over the bytes
#
# Its heap is bounded by the routine format, not only by the input's size (issue 9): what it builds
# depends on where a value is (its "shape"). _ANY builds any JSON (document() with no shape: tests).
# For a routine (_TOP) it builds only what the checks read: the routine object, `freq`, the list `ex`
# (its first EX_COUNT[1] items, the rest only counted: nex) and the exercises, with scalars for their
# keys. A list or object where a scalar belongs is checked but not built (an empty [] or {} stands
# for it, all the type error needs: _A_LIST, _AN_OBJECT); so is the value of an unknown key (the first MAX_UNKNOWN unknown
# keys of the document are kept, with None, for their messages) and of a duplicate key (the first
# MAX_ERRORS + 1 duplicates are kept for messages). Every value that is not built is under an error,
# so the routine is refused whatever the rest holds; the syntax (and nesting) of all of it is checked.


class _Syntax(Exception):
    pass


_WS = b" \t\n\r"
_ESC = {0x22: '"', 0x5C: "\\", 0x2F: "/", 0x62: "\b", 0x66: "\f", 0x6E: "\n", 0x72: "\r", 0x74: "\t"}


def _isword(b):
    return (0x61 <= b <= 0x7A) or (0x41 <= b <= 0x5A) or (0x30 <= b <= 0x39) or b == 0x5F


def _isdigit(b):
    return 0x30 <= b <= 0x39


_ANY = 0     # build any JSON
_SKIP = 1    # check the syntax, build nothing (None)
_SCALAR = 2  # a scalar is built; a list or object is checked and stands as _A_LIST or _AN_OBJECT
_TOP = 3     # the routine object
_FREQ = 4    # its `freq`
_EXS = 5     # its `ex`: a list of _EX
_EX = 6      # an exercise
_A_LIST = []     # stands for a list that is not built (one for all: the checks only read its type,
_AN_OBJECT = {}  # and a document holding it has an error, so it is never returned)
MAX_UNKNOWN = MAX_ERRORS + 1  # unknown keys kept in all (one more than can be reported)


def _sub(shape, key):
    """Shape of the value of key in an object of shape `shape`; _SKIP for an unknown key."""
    if shape == _EX:
        return _SCALAR if key in EX_KEYS else _SKIP
    if shape == _TOP:
        if key == "ex":
            return _EXS
        if key == "freq":
            return _FREQ
        return _SCALAR if key in TOP_KEYS else _SKIP
    return _SCALAR if key in FREQ_KEYS else _SKIP


class _Parser:
    def __init__(self, data):
        self.d = data
        self.n = len(data)
        self.i = 0
        self.dups = []  # (pos, message) of duplicate keys; the first value is kept
        self.nex = -1   # items in the (first) list of shape _EXS
        self.unknown = 0  # unknown keys kept (in all objects)

    def where(self, pos):
        return "line %d:%d" % _linecol(self.d, pos)

    def fail(self, msg, pos=None):
        raise _Syntax(self.i if pos is None else pos, msg)

    def ws(self):
        d = self.d
        n = self.n
        i = self.i
        while i < n and d[i] in _WS:
            i += 1
        self.i = i

    def document(self, shape=_ANY):
        self.ws()
        if self.i >= self.n:
            self.fail("empty file; a routine is a JSON object {...}")
        v = self.value(0, shape)
        self.ws()
        if self.i < self.n:
            self.fail("unexpected %s after the end of the routine (only one JSON object is allowed)"
                      % self.desc(self.i))
        return v

    def desc(self, i):
        """How to name the character at byte i in a message."""
        if i >= self.n:
            return "end of file"
        b = self.d[i]
        if 0x21 <= b <= 0x7E:
            return "`%s`" % chr(b)
        if b < 0x80:
            return "character U+%04X" % b
        j = i + 1
        while j < self.n and self.d[j] & 0xC0 == 0x80:
            j += 1
        return _shown(self.d[i:j].decode(), "character ")

    def value(self, depth, shape=_ANY):
        self.ws()
        i = self.i
        if i >= self.n:
            self.fail("unexpected end of file, expected a value")
        b = self.d[i]
        if b == 0x7B:
            if shape == _SCALAR or shape == _EXS:
                self.obj(depth + 1, _SKIP)
                return _AN_OBJECT
            return self.obj(depth + 1, shape)
        if b == 0x5B:
            if shape == _ANY or shape == _EXS or shape == _SKIP:
                return self.arr(depth + 1, shape)
            self.arr(depth + 1, _SKIP)
            return _A_LIST
        if b == 0x22:
            return self.string(shape != _SKIP)
        if b == 0x2D or _isdigit(b):
            return self.number(shape != _SKIP)
        if _isword(b):
            w = self.word()
            if w == "true":
                return True
            if w == "false":
                return False
            if w == "null":
                return None
            self.badword(w, i)
        self.badchar(i)

    def word(self):
        i = self.i
        while self.i < self.n and _isword(self.d[self.i]) and self.i - i < 24:
            self.i += 1
        return self.d[i:self.i].decode()

    def badword(self, w, i):
        if w in ("NaN", "Infinity", "-Infinity", "inf", "-inf", "nan"):
            self.fail("`%s` is not a JSON value; write a whole number" % w, i)
        if w in ("True", "False", "None", "TRUE", "FALSE", "Null", "NULL"):
            self.fail("`%s` is not JSON: write %s" % (w, "null" if w[0] in "nN" else w.lower()), i)
        self.fail("unexpected `%s`; text must be in double quotes \"...\"" % w, i)

    def badchar(self, i):
        b = self.d[i] if i < self.n else -1
        if b == 0x27:
            self.fail("text must be in double quotes \"...\", not single quotes", i)
        if b == 0x2F or b == 0x23:
            self.fail("comments are not allowed in JSON", i)
        self.fail("unexpected %s, expected a value" % self.desc(i), i)

    def obj(self, depth, shape=_ANY):
        start = self.i
        if depth > MAX_DEPTH:
            self.fail("nested deeper than %d levels" % MAX_DEPTH)
        self.i += 1
        skip = shape == _SKIP
        out = None if skip else {}
        first = None if skip else {}
        comma = -1
        d = self.d
        while True:
            self.ws()
            i = self.i
            if i >= self.n:
                self.fail("unexpected end of file: the `{` at %s is not closed" % self.where(start))
            b = d[i]
            if b == 0x7D:
                if comma >= 0:
                    self.fail("trailing comma before `}`; remove the last `,`", comma)
                self.i += 1
                return out
            if b != 0x22:
                self.badkey(i, b)
            key = self.string()
            self.ws()
            if self.i >= self.n or d[self.i] != 0x3A:
                if self.i >= self.n:
                    self.fail("unexpected end of file: the `{` at %s is not closed" % self.where(start))
                self.fail("expected `:` after the key %s, found %s" % (_q(key), self.desc(self.i)))
            self.i += 1
            if skip:
                self.value(depth, _SKIP)
            else:
                self.member(out, first, key, i, depth, shape)
            self.ws()
            i = self.i
            if i >= self.n:
                self.fail("unexpected end of file: the `{` at %s is not closed" % self.where(start))
            b = d[i]
            if b == 0x2C:
                comma = i
                self.i += 1
            elif b == 0x7D:
                self.i += 1
                return out
            elif b == 0x22:
                self.fail("missing `,` before the key (after the value of %s)" % _q(key))
            else:
                self.fail("expected `,` or `}` after the value of %s, found %s" % (_q(key), self.desc(i)))

    def badkey(self, i, b):
        if b == 0x27:
            self.fail("keys must be in double quotes \"...\", not single quotes")
        if _isword(b):
            w = self.word()
            self.fail("keys must be in double quotes: write \"%s\"" % w, i)
        if b == 0x2F or b == 0x23:
            self.fail("comments are not allowed in JSON")
        self.fail("expected a key in double quotes, found %s" % self.desc(i))

    def member(self, out, first, key, i, depth, shape):
        """Parse the value of key (at byte i) into out, as the shape of the object says."""
        if key in out:
            self.value(depth, _ANY if shape == _ANY else _SKIP)
            if shape == _ANY or len(self.dups) <= MAX_ERRORS:
                self.dups.append((i, "duplicate key %s (it is already at %s); keep one"
                                  % (_q(key), self.where(first[key]))))
            return
        sub = _ANY if shape == _ANY else _sub(shape, key)
        if sub != _SKIP:
            out[key] = self.value(depth, sub)
            first[key] = i
            return
        self.value(depth, _SKIP)
        if self.unknown < MAX_UNKNOWN:
            self.unknown += 1
            out[key] = None
            first[key] = i

    def arr(self, depth, shape=_ANY):
        start = self.i
        if depth > MAX_DEPTH:
            self.fail("nested deeper than %d levels" % MAX_DEPTH)
        self.i += 1
        out = None if shape == _SKIP else []
        count = 0
        keep = 1 << 30 if shape == _ANY else EX_COUNT[1]
        item = _EX if shape == _EXS else shape
        comma = -1
        d = self.d
        while True:
            self.ws()
            i = self.i
            if i >= self.n:
                self.fail("unexpected end of file: the `[` at %s is not closed" % self.where(start))
            if d[i] == 0x5D:
                if comma >= 0:
                    self.fail("trailing comma before `]`; remove the last `,`", comma)
                self.i += 1
                return self.done(out, count, shape)
            if out is not None and count < keep:
                out.append(self.value(depth, item))
            else:
                self.value(depth, _SKIP)
            count += 1
            self.ws()
            i = self.i
            if i >= self.n:
                self.fail("unexpected end of file: the `[` at %s is not closed" % self.where(start))
            b = d[i]
            if b == 0x2C:
                comma = i
                self.i += 1
            elif b == 0x5D:
                self.i += 1
                return self.done(out, count, shape)
            else:
                self.fail("expected `,` or `]` after item %d of the list, found %s" % (count - 1, self.desc(i)))

    def done(self, out, count, shape):
        if shape == _EXS and self.nex < 0:
            self.nex = count
        return out

    def string(self, build=True):
        d = self.d
        n = self.n
        start = self.i
        self.i += 1
        i = self.i
        seg = i
        buf = None  # UTF-8 of the text so far, once it has an escape (no str per character: see _utf8)
        while True:
            if i >= n:
                self.fail("text not closed: the `\"` at %s has no closing `\"`" % self.where(start), start)
            b = d[i]
            if b == 0x22:
                break
            if b == 0x5C:
                if build:
                    if buf is None:
                        buf = bytearray()
                    buf += memoryview(d)[seg:i]
                i = self.escape(i, buf)
                seg = i
                continue
            if b < 0x20:
                if b == 0x0A or b == 0x0D:
                    self.fail("line break inside text: a `\"` is missing, or write \\n", i)
                self.fail("control character U+%04X inside text; write it as an escape (\\t, \\u00XX)" % b, i)
            i += 1
        self.i = i + 1
        if not build:
            return None
        if buf is None:
            return str(memoryview(d)[seg:i], "utf-8")  # no copy of the bytes first
        buf += memoryview(d)[seg:i]
        return buf.decode()

    def hex4(self, i):
        """Value of the 4 hex digits at byte i, or -1."""
        if i + 4 > self.n:
            return -1
        v = 0
        for j in range(i, i + 4):
            b = self.d[j]
            if 0x30 <= b <= 0x39:
                v = v * 16 + b - 0x30
            elif 0x61 <= b <= 0x66:
                v = v * 16 + b - 0x57
            elif 0x41 <= b <= 0x46:
                v = v * 16 + b - 0x37
            else:
                return -1
        return v

    def escape(self, i, buf):
        """Decode the escape at byte i (a backslash) into bytearray buf; return the offset after it."""
        if i + 1 >= self.n:
            self.fail("text not closed (it ends in a `\\`)", i)
        b = self.d[i + 1]
        if b in _ESC:
            if buf is not None:
                buf.append(ord(_ESC[b]))
            return i + 2
        if b != 0x75:
            self.fail("invalid escape `\\%s` inside text (write \\\\ for a backslash)"
                      % (chr(b) if 0x21 <= b <= 0x7E else "?"), i)
        u = self.hex4(i + 2)
        if u < 0:
            self.fail("invalid escape: `\\u` needs 4 hex digits", i)
        if 0xDC00 <= u <= 0xDFFF:
            self.fail("invalid escape \\u%04x: a low surrogate without a high one" % u, i)
        if 0xD800 <= u <= 0xDBFF:
            lo = -1
            if i + 7 < self.n and self.d[i + 6] == 0x5C and self.d[i + 7] == 0x75:
                lo = self.hex4(i + 8)
            if not 0xDC00 <= lo <= 0xDFFF:
                self.fail("invalid escape \\u%04x: a high surrogate without a low one" % u, i)
            if buf is not None:
                _utf8(buf, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00))
            return i + 12
        if buf is not None:
            _utf8(buf, u)
        return i + 6

    def number(self, build=True):
        d = self.d
        n = self.n
        start = i = self.i
        if d[i] == 0x2D:
            i += 1
            if i < n and _isword(d[i]) and not _isdigit(d[i]):
                self.i = i
                self.badword("-" + self.word(), start)
        if i >= n or not _isdigit(d[i]):
            self.fail("invalid number: a digit must follow `-`", start)
        if d[i] == 0x30:
            i += 1
            if i < n and _isdigit(d[i]):
                self.fail("invalid number: no leading zeros (write 1, not 01)", start)
        else:
            while i < n and _isdigit(d[i]):
                i += 1
        frac = False
        if i < n and d[i] == 0x2E:
            i += 1
            if i >= n or not _isdigit(d[i]):
                self.fail("invalid number: a digit must follow `.`", start)
            while i < n and _isdigit(d[i]):
                i += 1
            frac = True
        if i < n and (d[i] == 0x65 or d[i] == 0x45):
            i += 1
            if i < n and (d[i] == 0x2B or d[i] == 0x2D):
                i += 1
            if i >= n or not _isdigit(d[i]):
                self.fail("invalid number: a digit must follow the exponent `e`", start)
            while i < n and _isdigit(d[i]):
                i += 1
            frac = True
        if i - start > MAX_NUMBER:
            self.fail("number too long (more than %d characters)" % MAX_NUMBER, start)
        self.i = i
        if not build:
            return None
        text = d[start:i].decode()
        if frac:
            return float(text)
        return int(text)


# ---------------------------------------------------------------------------------------------
# Messages


def _q(s):
    """A short, ASCII-only, quoted rendering of text s."""
    if len(s) > 24:
        return canon.dumps(s[:24]).decode()[:-1] + '..."'
    return canon.dumps(s).decode()


# MicroPython interns a one-character str made by chr(), by iterating a str or by indexing one as a
# qstr, kept until reset: over many routines received, the characters of untrusted text would fill
# the heap (issue 6, tests/test_fuzz.py). So text from the input is walked through its UTF-8 bytes,
# escapes are decoded into a bytearray, and single characters are made by decoding bytes or by
# slicing, which allocate ordinary strs.


def _utf8(buf, o):
    """Append code point o (not a surrogate) to bytearray buf as UTF-8."""
    if o < 0x80:
        buf.append(o)
    elif o < 0x800:
        buf.append(0xC0 | o >> 6)
        buf.append(0x80 | o & 0x3F)
    elif o < 0x10000:
        buf.append(0xE0 | o >> 12)
        buf.append(0x80 | o >> 6 & 0x3F)
        buf.append(0x80 | o & 0x3F)
    else:
        buf.append(0xF0 | o >> 18)
        buf.append(0x80 | o >> 12 & 0x3F)
        buf.append(0x80 | o >> 6 & 0x3F)
        buf.append(0x80 | o & 0x3F)


def _shown(c, pre=""):
    """Non-ASCII character c in a message: itself and its code, or only its code where printing it
    could break the line or steer a terminal (C1 controls, NBSP, surrogates, U+2028-U+202E, U+2066-9)."""
    o = ord(c)
    if o <= 0xA0 or 0xD800 <= o <= 0xDFFF or 0x2028 <= o <= 0x202E or 0x2066 <= o <= 0x2069:
        return pre + "U+%04X" % o
    return '"%s" (U+%04X)' % (c, o)


def _what(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return "text " + _q(v)
    if isinstance(v, int):
        return _num(v)
    if isinstance(v, float):
        # 30.0 -> "write 30"; only small values, which single-precision floats (rp2) hold exactly
        if -1000000.0 < v < 1000000.0 and v == int(v):
            return "a decimal number (write %d)" % int(v)
        return "a decimal number"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return "a value"


def _num(v):
    s = str(v)
    return s if len(s) <= 12 else s[:10] + "..."


def _path(parent, key):
    """JSON path of key in the object at parent: freq.n, or ex[0]["odd key"] when the key is not a
    plain word (or, at the top, could be mistaken for the places `top` and `file`)."""
    simple = 0 < len(key) <= 32 and (parent != "" or key not in ("top", "file"))
    if simple:
        for o in key.encode():
            if not (0x61 <= o <= 0x7A or 0x41 <= o <= 0x5A or 0x30 <= o <= 0x39 or o == 0x5F or o == 0x2D):
                simple = False
                break
    if simple:
        return parent + "." + key if parent else key
    return parent + "[" + _q(key) + "]"


def _dist(a, b):
    """Edit distance of two short strings: insert, delete, change, or swap two neighbours."""
    pp = None
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        ca = a[i - 1:i]  # slices, not a[i]: see _utf8
        for j in range(1, len(b) + 1):
            cost = 0 if ca == b[j - 1:j] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if pp is not None and j > 1 and ca == b[j - 2:j - 1] and a[i - 2:i - 1] == b[j - 1:j] and pp[j - 2] + 1 < v:
                v = pp[j - 2] + 1
            cur.append(v)
        pp = prev
        prev = cur
    return prev[-1]


def _lower(s):
    """s with A-Z in lower case, nothing else changed (the same on every runtime)."""
    b = bytearray(s.encode())
    for i in range(len(b)):
        if 65 <= b[i] <= 90:
            b[i] += 32
    return b.decode()


def _suggest(key, keys):
    if len(key) > 24:  # no key is near it; and no copy of long text
        return None
    low = _lower(key)
    for k in keys:
        if k == low:
            return k
    if len(key) < 3:
        return None
    best = None
    bd = 3
    for k in keys:
        dd = _dist(low, k)
        if dd < bd:
            best = k
            bd = dd
    limit = 1 if len(key) <= 4 else 2
    return best if bd <= limit else None


def _unknown(obj, keys, parent, E, elsewhere, where):
    bad = [k for k in obj if k not in keys]
    bad.sort()
    for k in bad:
        msg = "unknown key"
        if k in elsewhere:
            msg += "; `%s` belongs %s" % (k, where)
        else:
            s = _suggest(k, keys)
            if s and s not in obj:
                msg += "; did you mean `%s`?" % s
            else:
                msg += "; allowed here: " + ", ".join(keys)
        E.add(_path(parent, k), msg)


# Suggested ASCII for characters the font lacks: each entry is the character, then its replacement,
# then "|" (one string: far less heap than a dict). Latin-1 letters, quotes, dashes, spaces, ...
_ASCII = ("\xc0A|\xc1A|\xc2A|\xc3A|\xc4A|\xc5A|\xc6AE|\xc7C|\xc8E|\xc9E|\xcaE|\xcbE|\xccI|\xcdI|"
          "\xceI|\xcfI|\xd0D|\xd1N|\xd2O|\xd3O|\xd4O|\xd5O|\xd6O|\xd7x|\xd8O|\xd9U|\xdaU|\xdbU|"
          "\xdcU|\xddY|\xdeTh|\xdfss|\xe0a|\xe1a|\xe2a|\xe3a|\xe4a|\xe5a|\xe6ae|\xe7c|\xe8e|\xe9e|"
          "\xeae|\xebe|\xeci|\xedi|\xeei|\xefi|\xf0d|\xf1n|\xf2o|\xf3o|\xf4o|\xf5o|\xf6o|\xf7/|"
          "\xf8o|\xf9u|\xfau|\xfbu|\xfcu|\xfdy|\xfeth|\xffy|\x09 |\x0a |\x0d |\xa0 |\xab\"|\xb4'|"
          "\xb7.|\xbb\"|\xbc1/4|\xbd1/2|\xbe3/4|\u0152OE|\u0153oe|\u2002 |\u2003 |\u2007 |\u2009 |"
          "\u2010-|\u2011-|\u2012-|\u2013-|\u2014-|\u2015-|\u2018'|\u2019'|\u201a'|\u201c\"|"
          "\u201d\"|\u201e\"|\u2022*|\u2026...|\u202f |\u2032'|\u2033\"|\u2190<-|\u2192->|\u2212-|"
          "\u2715x|")


def _ascii_for(c):
    """The suggested ASCII replacement for character c, or None."""
    i = _ASCII.find(c)
    if i < 0:
        return None
    return _ASCII[i + 1:_ASCII.find("|", i + 1)]


def _text(E, place, v, lo, hi):
    """Check a string of lo..hi printable ASCII characters; True if it is fine."""
    if not isinstance(v, str):
        E.add(place, "must be text in double quotes, not %s" % _what(v))
        return False
    ok = True
    n = len(v)
    if n < lo:
        E.add(place, "empty; give %d to %d characters" % (lo, hi))
        ok = False
    elif n > hi:
        E.add(place, "%d characters, at most %d are allowed" % (n, hi))
        ok = False
    first = None
    nbad = 0
    fix = bytearray() if n <= 60 else None  # the corrected text, only for text short enough to show
    pos = 0
    b = v.encode()
    i = 0
    while i < len(b):
        k = b[i]
        pos += 1
        if 0x20 <= k <= 0x7E:
            if fix is not None:
                fix.append(k)
            i += 1
            continue
        k = 1 if k < 0xC0 else 2 if k < 0xE0 else 3 if k < 0xF0 else 4
        c = b[i:i + k].decode()  # not `for c in v`: see _utf8
        i += k
        o = ord(c)
        nbad += 1
        r = _ascii_for(c)
        if first is None:
            first = (c, o, pos, r)
        if fix is not None:
            if r is None:
                fix = None
            else:
                fix += r.encode()
    if first is None:
        return ok
    c, o, pos, r = first
    shown = _shown(c)
    msg = "character %s at position %d cannot be drawn (the device's font has printable ASCII only)" % (shown, pos)
    if nbad > 1:
        msg += ", and %d more" % (nbad - 1)
    if fix is not None:
        msg += "; write %s" % canon.dumps(fix.decode()).decode()
    elif r is not None:
        msg += "; replace it with %s" % _q(r)
    else:
        msg += "; remove it or use ASCII"
    E.add(place, msg)
    return False


def _int(E, place, v, lo, hi, unit):
    """Check a whole number lo..hi; True if it is fine."""
    rng = "%d..%d%s" % (lo, hi, unit)
    if isinstance(v, bool) or not isinstance(v, int):
        E.add(place, "must be a whole number%s, %s, not %s"
              % (" of seconds" if unit == " s" else "", rng, _what(v)))
        return False
    if v < 0 <= lo:
        E.add(place, "%s%s is negative; it must be %s" % (_num(v), unit, rng))
        return False
    if v < lo:
        E.add(place, "%s%s is below the minimum; it must be %s" % (_num(v), unit, rng))
        return False
    if v > hi:
        E.add(place, "%s%s is above the maximum; it must be %s" % (_num(v), unit, rng))
        return False
    return True


def _choice(E, place, v, choices):
    if isinstance(v, str) and v in choices:
        return True
    E.add(place, "must be one of %s, not %s" % (", ".join('"%s"' % c for c in choices), _what(v)))
    return False


def _hms(s):
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


# ---------------------------------------------------------------------------------------------
# The routine's rules


def _missing(E, place, what):
    E.add(place, "missing (required): " + what)


def _check(doc, E, nex=-1):
    if not isinstance(doc, dict):
        E.add("top", "a routine is a JSON object {...}, not %s" % _what(doc))
        return
    if not doc:
        E.add("top", "empty routine; it needs the keys v, id, name, src, freq and ex")
        return
    _unknown(doc, TOP_KEYS, "", E, EX_KEYS, "in an exercise (in `ex`)")
    if "v" not in doc:
        _missing(E, "v", "the format version, 1")
    else:
        v = doc["v"]
        if isinstance(v, bool) or not isinstance(v, int):
            E.add("v", "must be the format version 1, not %s" % _what(v))
        elif v != VERSION:
            E.add("v", "format version %s is not supported; this validator reads version %d" % (_num(v), VERSION))
    if "id" not in doc:
        _missing(E, "id", "the routine's id, 1-32 of a-z, 0-9 and -")
    else:
        _check_id(E, doc["id"])
    if "name" not in doc:
        _missing(E, "name", "the routine's name, 1-32 characters")
    else:
        _text(E, "name", doc["name"], NAME_LEN[0], NAME_LEN[1])
    if "src" not in doc:
        _missing(E, "src", "where the routine comes from (title, author, year)")
    else:
        _text(E, "src", doc["src"], SRC_LEN[0], SRC_LEN[1])
    if "freq" not in doc:
        _missing(E, "freq", 'how often to do it, e.g. {"n": 2, "per": "day"}')
    else:
        _check_freq(E, doc["freq"])
    if "prep" in doc:
        _int(E, "prep", doc["prep"], 0, 120, " s")
    if "notes" in doc and not isinstance(doc["notes"], str):
        E.add("notes", "must be text in double quotes, not %s" % _what(doc["notes"]))
    if "ex" not in doc:
        _missing(E, "ex", "the list of exercises")
        return
    exs = doc["ex"]
    if not isinstance(exs, list):
        E.add("ex", "must be a list [...] of exercises, not %s" % _what(exs))
        return
    if not exs:
        E.add("ex", "empty; a routine needs %d to %d exercises" % EX_COUNT)
        return
    if nex < 0:
        nex = len(exs)
    if nex > EX_COUNT[1]:  # the parser kept the first EX_COUNT[1] and counted the rest
        E.add("ex", "%d exercises, at most %d are allowed" % (nex, EX_COUNT[1]))
        return
    for i in range(len(exs)):
        _check_ex(E, "ex[%d]" % i, exs[i])
    if E.list:
        return
    # Planned time: only once everything else is right (the arithmetic needs valid numbers).
    total = 0
    for i in range(len(exs)):
        s = ex_seconds(doc, exs[i])
        total += s
        if s >= EX_LIMIT_S:
            E.add("ex[%d]" % i, "planned time %s is over the limit: an exercise must take under %s"
                  % (_hms(s), _hms(EX_LIMIT_S)))
    if total >= ROUTINE_LIMIT_S:
        E.add("ex", "planned time of the routine %s is over the limit: a routine must take under %s"
              % (_hms(total), _hms(ROUTINE_LIMIT_S)))


def _check_id(E, v):
    if not isinstance(v, str):
        E.add("id", "must be text in double quotes, not %s" % _what(v))
        return
    if not v:
        E.add("id", "empty; give 1 to %d of a-z, 0-9 and -" % ID_MAX)
        return
    good = len(v) <= ID_MAX
    for o in v.encode():  # bytes, not characters: see _utf8
        if not (97 <= o <= 122 or 48 <= o <= 57 or o == 45):
            good = False
            break
    if good:
        return
    fix = bytearray()  # lower-case ASCII; anything else one `-`; the first ID_MAX + 1 are enough
    for o in v.encode():
        if 65 <= o <= 90:
            o += 32
        if not (97 <= o <= 122 or 48 <= o <= 57):
            o = 45
        if o != 45 or (fix and fix[-1] != 45):
            fix.append(o)
            if len(fix) > ID_MAX:
                break
    s = fix.decode().strip("-")[:ID_MAX].strip("-")
    msg = "%s is not a valid id: 1 to %d of a-z, 0-9 and - (it is also the file name on the device)" % (_q(v), ID_MAX)
    if s:
        msg += "; e.g. %s" % _q(s)
    E.add("id", msg)


def _check_freq(E, f):
    if not isinstance(f, dict):
        E.add("freq", 'must be an object like {"n": 2, "per": "day"}, not %s' % _what(f))
        return
    _unknown(f, FREQ_KEYS, "freq", E, (), "")
    if "n" not in f:
        _missing(E, "freq.n", "how many times per day or week, 1..20")
    else:
        _int(E, "freq.n", f["n"], 1, 20, "")
    if "per" not in f:
        _missing(E, "freq.per", '"day" or "week"')
    else:
        _choice(E, "freq.per", f["per"], PERS)


def _check_ex(E, place, ex):
    if not isinstance(ex, dict):
        E.add(place, "an exercise is a JSON object {...}, not %s" % _what(ex))
        return
    if not ex:
        E.add(place, "empty exercise; it needs a `name` and one of `hold`, `tempo` or `press`")
        return
    _unknown(ex, EX_KEYS, place, E, ("v", "id", "src", "freq", "notes", "ex"), "at the top level of the routine")
    if "name" not in ex:
        _missing(E, place + ".name", "the exercise's name, 1-16 characters")
    else:
        _text(E, place + ".name", ex["name"], EX_NAME_LEN[0], EX_NAME_LEN[1])
    if "cue" in ex:
        _text(E, place + ".cue", ex["cue"], CUE_LEN[0], CUE_LEN[1])
    kinds = [k for k in KINDS if k in ex]
    if not kinds:
        E.add(place, "needs one of `hold` (a timed hold), `tempo` (reps paced by the device) "
                     "or `press` (reps at your own pace)")
    elif len(kinds) > 1:
        E.add(place, "has both %s; keep exactly one of `hold`, `tempo` and `press`"
              % " and ".join("`%s`" % k for k in kinds))
    for k in ("hold", "tempo", "reps", "sets", "rest", "srest", "switch", "prep"):
        if k in ex:
            lo, hi, unit = EX_INTS[k]
            _int(E, place + "." + k, ex[k], lo, hi, unit)
    if "press" in ex and ex["press"] is not True:
        E.add(place + ".press", "must be true (leave `press` out for a hold or tempo exercise), not %s"
              % _what(ex["press"]))
    if "sides" in ex:
        _choice(E, place + ".sides", ex["sides"], SIDES)
    if "why" in ex and not isinstance(ex["why"], str):
        E.add(place + ".why", "must be text in double quotes, not %s" % _what(ex["why"]))
