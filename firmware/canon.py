"""Canonical compact JSON: the same bytes on CPython and MicroPython (docs/routines.md, "Compact form").

dumps(obj) -> bytes: object keys sorted, separators "," and ":", no spaces, ASCII only. Strings escape
`"` and `\\` with a backslash, \\b \\f \\n \\r \\t by their short forms, every other character outside
0x20-0x7E as \\uXXXX (lower-case hex; above U+FFFF as a surrogate pair). For the values a routine can
hold (dict with str keys, list, str, int, True, False, None) this is byte for byte what CPython's
json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True) writes. Floats are refused:
their text differs between runtimes (the rp2 port has single-precision floats).
"""
import binascii
import hashlib

_SHORT = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def _str(s, out):
    # Walks the UTF-8 bytes, not the characters: MicroPython interns every character that iterating
    # a str yields (a qstr, kept until reset), and these strings come from untrusted input.
    b = s.encode("utf-8", "surrogatepass")  # CPython: a lone surrogate is escaped like json does
    plain = True
    for o in b:
        if o < 0x20 or o > 0x7E or o == 34 or o == 92:
            plain = False
            break
    if plain:
        out.append('"' + s + '"')
        return
    parts = ['"']
    i = 0
    n = len(b)
    while i < n:
        o = b[i]
        if o < 0x80:
            i += 1
        elif o < 0xE0:
            o = (o & 0x1F) << 6 | b[i + 1] & 0x3F
            i += 2
        elif o < 0xF0:
            o = (o & 0x0F) << 12 | (b[i + 1] & 0x3F) << 6 | b[i + 2] & 0x3F
            i += 3
        else:
            o = (o & 0x07) << 18 | (b[i + 1] & 0x3F) << 12 | (b[i + 2] & 0x3F) << 6 | b[i + 3] & 0x3F
            i += 4
        if 0x20 <= o <= 0x7E and o != 34 and o != 92:
            parts.append(chr(o))
        elif o in _SHORT:
            parts.append(_SHORT[o])
        elif o > 0xFFFF:
            o -= 0x10000
            parts.append("\\u%04x\\u%04x" % (0xD800 | (o >> 10), 0xDC00 | (o & 0x3FF)))
        else:
            parts.append("\\u%04x" % o)
    parts.append('"')
    out.append("".join(parts))


def _dump(obj, out, depth):
    if depth > 32:
        raise ValueError("canon: nested too deep")
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        _str(obj, out)
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for k in sorted(obj):
            if not isinstance(k, str):
                raise TypeError("canon: object keys must be str")
            if not first:
                out.append(",")
            first = False
            _str(k, out)
            out.append(":")
            _dump(obj[k], out, depth + 1)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        first = True
        for v in obj:
            if not first:
                out.append(",")
            first = False
            _dump(v, out, depth + 1)
        out.append("]")
    elif isinstance(obj, float):
        raise TypeError("canon: floats have no canonical form")
    else:
        raise TypeError("canon: cannot encode %s" % type(obj).__name__)


def dumps(obj):
    """Canonical compact JSON bytes of obj (see the module text)."""
    out = []
    _dump(obj, out, 0)
    return "".join(out).encode()


def content_hash(data):
    """First 16 hex digits of the SHA-256 of the bytes `data` (a str)."""
    return binascii.hexlify(hashlib.sha256(data).digest())[:16].decode()
