# The routine validator's heap on hostile inputs (issue 9): the worst 4 KB inputs we could construct,
# and a measure of the heap one parse needs. Runs on CPython (the inputs, the expected results) and on
# the MicroPython unix port (the heap: tests/test_rcheck_heap.py, docs/routines.md "Limits").
#
#   micropython -X heapsize=512k tests/fw/rheap.py [NAME ...]   # prints "NAME BYTES ok|err" per input
import gc
import sys

MAX = 4096
SMALL = (b'{"v":1,"id":"t","name":"T","src":"test","freq":{"n":1,"per":"day"},'
         b'"ex":[{"name":"Knee","hold":30}]}')


def _fill(head, unit, tail, n=MAX):
    """head + unit * k + tail, k as large as fits in n bytes."""
    k = (n - len(head) - len(tail)) // len(unit)
    return head + unit * k + tail


def _keys(head, tail, fmt, val=b"0", n=MAX):
    """head + '"<fmt % i>":val,' ... + tail with as many distinct keys as fit."""
    parts = [head]
    size = len(head) + len(tail)
    i = 0
    while True:
        k = b'"' + (fmt % i).encode() + b'":' + val + b","
        if size + len(k) > n:
            break
        parts.append(k)
        size += len(k)
        i += 1
    out = b"".join(parts)
    if out.endswith(b","):
        out = out[:-1]
    return out + tail


def _big_valid():
    """A valid routine of 4095 compact bytes: 30 exercises with most keys, names and cues at their
    limits (the case of issue 9); canonical (keys sorted), so it is its own compact form."""
    def build(cut):
        exs = []
        for i in range(30):
            cue = b"Cue cue cue c %02d" % i
            exs.append(b'{"cue":"' + cue[cut // 30 + (i < cut % 30):] + b'","hold":100,"name":"Exercise nam %02d",'
                       b'"prep":0,"reps":2,"rest":0,"sets":1,"sides":"each","srest":30,"switch":5}' % i)
        return (b'{"ex":[' + b",".join(exs) + b'],"freq":{"n":20,"per":"week"},"id":"big-valid",'
                b'"name":"Big","prep":0,"src":"S","v":1}')
    cut = 0
    while len(build(cut)) > 4095 - 20:
        cut += 1
    data = build(cut)
    return data.replace(b'"name":"Big"', b'"name":"Big' + b"x" * (4095 - len(data)) + b'"')


def inputs():
    """(name, bytes) of the hostile inputs; each at most 4096 bytes."""
    top = SMALL[:-1]
    out = [
        ("seed-like", SMALL),
        ("long-notes", _fill(top + b',"notes":"', b"x", b'"}')),
        ("long-notes-escaped", _fill(top + b',"notes":"', b"\\u00e9", b'"}')),
        ("long-notes-utf8", _fill(top + b',"notes":"', "\u2013".encode(), b'"}')),
        ("long-name", _fill(b'{"v":1,"id":"t","name":"', b"x", b'","src":"s","freq":{"n":1,"per":"day"},"ex":[]}')),
        ("long-name-undrawable", _fill(b'{"name":"', "\u00e9".encode(), b'"}')),
        ("long-name-escaped", _fill(b'{"name":"', b"\\u00e9", b'"}')),
        ("long-cues", _fill(b'{"ex":[', b'{"name":"\\u00e9","cue":"' + b"\\u2019" * 100 + b'"},', b'{}]}')),
        ("long-id", _fill(b'{"id":"', b"A", b'"}')),
        ("long-id-utf8", _fill(b'{"id":"', "\u00c9".encode(), b'"}')),
        ("long-key", _fill(b'{"', b"k", b'":1}')),
        ("long-keys", _fill(b"{", b'"' + b"h" * 30 + b'":1,', b'"v":1}')),
        ("many-keys-top", _keys(b"{", b"}", "%x")),
        ("many-keys-ex", _keys(b'{"ex":[{', b"}]}", "%x")),
        ("many-keys-freq", _keys(b'{"freq":{', b"}}", "%x")),
        ("many-keys-strings", _keys(b"{", b"}", "%x", b'""')),
        ("many-keys-nested", _keys(b"{", b"}", "%x", b"{}")),
        ("many-known-keys", _fill(b'{"ex":[', b'{"name":"a","hold":1,"cue":"c","reps":1,"sets":1,"rest":1,'
                                  b'"srest":1,"switch":1,"prep":1,"why":"","sides":"none"},', b"{}]}")),
        ("dup-keys", _fill(b"{", b'"a":0,', b'"a":0}')),
        ("dup-known-keys", _fill(b"{", b'"v":1,', b'"v":1}')),
        ("dup-ex", _fill(b'{"ex":[{"name":"a","hold":1}]', b',"ex":[{"name":"a","hold":1}]', b"}")),
        ("dup-long-key", _fill(b'{"' + b"q" * 40 + b'":0', b',"' + b"q" * 40 + b'":0', b"}")),
        ("big-array-ints", _fill(b'{"notes":[', b"0,", b"0]}")),
        ("big-array-ex-ints", _fill(b'{"ex":[', b"0,", b"0]}")),
        ("big-array-ex-objects", _fill(b'{"ex":[', b"{},", b"{}]}")),
        ("big-array-ex-lists", _fill(b'{"ex":[', b"[],", b"[]]}")),
        ("big-array-ex-strings", _fill(b'{"ex":[', b'"",', b'""]}')),
        ("big-array-top", _fill(b"[", b"{},", b"{}]")),
        ("wide-tree", _fill(b'{"notes":[', b"[[[[[[0,0,0,0,0,0,0,0]]]]]],", b"0]}")),
        ("nested-lists", _fill(b'{"notes":[', b"[[[],[],[]],[[],[],[]]],", b"0]}")),
        ("deep-nesting", b"[" * 3000),
        ("deep-objects", b'{"a":' * 800),
        ("many-errors", _fill(b'{"ex":[', b'{"name":"\\u00e9","hold":0,"reps":0},', b"{}]}")),
        ("many-dup-errors", _fill(b'{"ex":[', b'{"name":"a","name":"b"},', b"{}]}")),
        ("many-unknown-suggest", _keys(b'{"ex":[{', b"}]}", "hol%x")),
        ("many-lines", _fill(b"{", b'\n"a":0,', b'\n"a":0}')),
        ("numbers", _fill(b'{"notes":[', b"12345678901234567890123456789012,", b"0]}")),
        ("floats", _fill(b'{"notes":[', b"1.5e300,", b"0]}")),
        ("cut-string", _fill(b'{"notes":"', b"x", b"")),
        ("whitespace", _fill(b"", b" ", b"{}")),
    ]
    out.append(("big-valid-4095", _big_valid()))
    for name, data in out:
        assert len(data) <= MAX, (name, len(data))
    return out


def _result(data):
    import routine
    return routine.parse(data, "h.json")


def _ballast(budget):
    """Fill the heap but for one free region of about `budget` bytes; return what fills it. The
    holes left by earlier allocations are filled too, so the region is the whole free heap."""
    gc.collect()
    hold = [None] * 16384
    room = bytearray(budget) if budget > 0 else None  # the region, kept free for parse
    i = 0
    size = 4096
    while i < len(hold) and size >= 1:
        try:
            hold[i] = bytearray(size)
            i += 1
        except MemoryError:
            size //= 2
    room = None
    gc.collect()
    return hold


def fits(data, budget, want):
    """True if routine.parse(data) gives `want` with only `budget` bytes of the heap free."""
    hold = _ballast(budget)
    try:
        got = _result(data)
    except MemoryError:
        got = None
    hold = None
    gc.collect()
    return got == want


def need(data):
    """About the least free heap (bytes) with which parse(data) gives its normal result."""
    want = _result(data)
    lo, hi = 0, 8192
    while not fits(data, hi, want):
        lo = hi
        hi *= 2
        if hi > 1 << 21:
            return -1
    while hi - lo > 512:
        mid = (lo + hi) // 2
        if fits(data, mid, want):
            hi = mid
        else:
            lo = mid
    return hi


def main(names):
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    sys.path.insert(0, here + "/../../firmware")
    import routine
    routine.parse(SMALL)  # rcheck loaded, as on the device before the first routine is checked
    for name, data in inputs():
        if names and name not in names:
            continue
        n = need(data)
        doc, errs = _result(data)
        print(name, len(data), n, "ok" if doc is not None else "err", (errs or [""])[0][:90])


if __name__ == "__main__":
    main(sys.argv[1:])
