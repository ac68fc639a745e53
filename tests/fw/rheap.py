# The routine validator's heap on hostile inputs (issue 9): the worst 4 KB inputs we could construct,
# and a measure of the heap one parse needs. Runs on CPython (the inputs, the expected results) and on
# the MicroPython unix port (the heap: tests/test_rcheck_heap.py, docs/routines.md "Limits").
#
#   micropython -X heapsize=1024k tests/fw/rheap.py [NAME ...]   # "NAME BYTES NEED ok|err FIRST-ERROR"
#   micropython -X heapsize=256k tests/fw/rheap.py --budget BYTES   # "FAIL NAME" for each input that
#       does not give its normal result with only BYTES free, then "checked N"
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
    """[(name, bytes)] of the hostile inputs; each at most 4096 bytes."""
    return list(each())


def each():
    """The hostile inputs, one at a time (name, bytes)."""
    top = SMALL[:-1]
    out = (
        ("seed-like", lambda: SMALL),
        ("long-notes", lambda: _fill(top + b',"notes":"', b"x", b'"}')),
        ("long-notes-escaped", lambda: _fill(top + b',"notes":"', b"\\u00e9", b'"}')),
        ("long-notes-utf8", lambda: _fill(top + b',"notes":"', "\u2013".encode(), b'"}')),
        ("long-name", lambda: _fill(b'{"v":1,"id":"t","name":"', b"x", b'","src":"s","freq":{"n":1,"per":"day"},"ex":[]}')),
        ("long-name-undrawable", lambda: _fill(b'{"name":"', "\u00e9".encode(), b'"}')),
        ("long-name-escaped", lambda: _fill(b'{"name":"', b"\\u00e9", b'"}')),
        ("long-cues", lambda: _fill(b'{"ex":[', b'{"name":"\\u00e9","cue":"' + b"\\u2019" * 100 + b'"},', b'{}]}')),
        ("long-id", lambda: _fill(b'{"id":"', b"A", b'"}')),
        ("long-id-utf8", lambda: _fill(b'{"id":"', "\u00c9".encode(), b'"}')),
        ("long-key", lambda: _fill(b'{"', b"k", b'":1}')),
        ("long-keys", lambda: _fill(b"{", b'"' + b"h" * 30 + b'":1,', b'"v":1}')),
        ("many-keys-top", lambda: _keys(b"{", b"}", "%x")),
        ("many-keys-ex", lambda: _keys(b'{"ex":[{', b"}]}", "%x")),
        ("many-keys-freq", lambda: _keys(b'{"freq":{', b"}}", "%x")),
        ("many-keys-strings", lambda: _keys(b"{", b"}", "%x", b'""')),
        ("many-keys-nested", lambda: _keys(b"{", b"}", "%x", b"{}")),
        ("many-known-keys", lambda: _fill(b'{"ex":[', b'{"name":"a","hold":1,"cue":"c","reps":1,"sets":1,"rest":1,'
                                  b'"srest":1,"switch":1,"prep":1,"why":"","sides":"none"},', b"{}]}")),
        ("many-keys-30-ex", lambda: _fill(b'{"ex":[', _keys(b"{", b"},", "%x", n=136), b"{}]}")),
        ("many-keys-30-ex-short", lambda: _fill(b'{"ex":[', b'{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,'
                                        b'"j":0,"k":0,"l":0,"m":0,"o":0,"p":0,"q":0,"r":0,"s":0,"t":0},', b"{}]}")),
        ("known-keys-containers", lambda: _fill(b'{"ex":[', b'{"name":{},"hold":[],"cue":{},"reps":[],"sets":{},"rest":[],'
                                        b'"srest":{},"switch":[],"prep":{},"why":[],"sides":{},"tempo":[]},', b"{}]}")),
        ("known-keys-strings", lambda: _fill(b'{"ex":[', b'{"name":"Exercise nam 01","cue":"Cue cue cue c 01",'
                                     b'"why":"' + b"w" * 60 + b'","sides":"each","hold":1},', b"{}]}")),
        ("dup-keys", lambda: _fill(b"{", b'"a":0,', b'"a":0}')),
        ("dup-known-keys", lambda: _fill(b"{", b'"v":1,', b'"v":1}')),
        ("dup-ex", lambda: _fill(b'{"ex":[{"name":"a","hold":1}]', b',"ex":[{"name":"a","hold":1}]', b"}")),
        ("dup-long-key", lambda: _fill(b'{"' + b"q" * 40 + b'":0', b',"' + b"q" * 40 + b'":0', b"}")),
        ("big-array-ints", lambda: _fill(b'{"notes":[', b"0,", b"0]}")),
        ("big-array-ex-ints", lambda: _fill(b'{"ex":[', b"0,", b"0]}")),
        ("big-array-ex-objects", lambda: _fill(b'{"ex":[', b"{},", b"{}]}")),
        ("big-array-ex-lists", lambda: _fill(b'{"ex":[', b"[],", b"[]]}")),
        ("big-array-ex-strings", lambda: _fill(b'{"ex":[', b'"",', b'""]}')),
        ("big-array-top", lambda: _fill(b"[", b"{},", b"{}]")),
        ("wide-tree", lambda: _fill(b'{"notes":[', b"[[[[[[0,0,0,0,0,0,0,0]]]]]],", b"0]}")),
        ("nested-lists", lambda: _fill(b'{"notes":[', b"[[[],[],[]],[[],[],[]]],", b"0]}")),
        ("deep-nesting", lambda: b"[" * 3000),
        ("deep-objects", lambda: b'{"a":' * 800),
        ("many-errors", lambda: _fill(b'{"ex":[', b'{"name":"\\u00e9","hold":0,"reps":0},', b"{}]}")),
        ("many-dup-errors", lambda: _fill(b'{"ex":[', b'{"name":"a","name":"b"},', b"{}]}")),
        ("many-unknown-suggest", lambda: _keys(b'{"ex":[{', b"}]}", "hol%x")),
        ("many-lines", lambda: _fill(b"{", b'\n"a":0,', b'\n"a":0}')),
        ("numbers", lambda: _fill(b'{"notes":[', b"12345678901234567890123456789012,", b"0]}")),
        ("floats", lambda: _fill(b'{"notes":[', b"1.5e300,", b"0]}")),
        ("cut-string", lambda: _fill(b'{"notes":"', b"x", b"")),
        ("whitespace", lambda: _fill(b"", b" ", b"{}")),
    )
    for name, make in out:
        yield name, make()
    yield "big-valid-4095", _big_valid()
    one = (b'{"cue":"","hold":1,"name":"a","prep":0,"reps":1,"rest":0,"sets":1,"sides":"alt","srest":0,'
           b'"switch":1,"why":""}')
    yield "valid-all-keys", SMALL[:SMALL.index(b'"ex":[') + 6] + b",".join([one] * 30) + b"]}"
    why = b'{"hold":1,"name":"a","why":"' + b"\\u00e9" * 16 + b'"}'
    yield "valid-long-whys", SMALL[:SMALL.index(b'"ex":[') + 6] + b",".join([why] * 30) + b"]}"


def _result(data):
    import routine
    return routine.parse(data, "h.json")


def _ballast(budget):
    """Fill the heap but for one free region of about `budget` bytes; return what fills it. The
    holes left by earlier allocations are filled too, so the region is the whole free heap."""
    gc.collect()
    room = bytearray(budget) if budget > 0 else None  # the region, kept free for parse
    hold = [[None] * 256 for _ in range(32)]
    n = 0
    size = 4096
    while size >= 1 and n < 256 * 32:
        try:
            hold[n >> 8][n & 255] = bytearray(size)
            n += 1
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


BUDGET = 16 * 1024  # docs/routines.md, "Limits": the heap one validation needs (64-bit unix port)


def main(names):
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    sys.path.insert(0, here + "/../../firmware")
    import routine
    routine.parse(SMALL)  # rcheck loaded, as on the device before the first routine is checked
    if names[:1] == ["--budget"]:
        budget = int(names[1])
        n = 0
        for name, data in each():
            want = _result(data)
            if not fits(data, budget, want):
                print("FAIL", name)
            n += 1
        print("checked", n)
        return
    for name, data in inputs():
        if names and name not in names:
            continue
        n = need(data)
        doc, errs = _result(data)
        print(name, len(data), n, "ok" if doc is not None else "err", (errs or [""])[0][:90])


if __name__ == "__main__":
    main(sys.argv[1:])
