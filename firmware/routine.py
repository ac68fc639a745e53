"""Routine format v1 (docs/routines.md): defaults, compact form and content hash, and `parse`, the one
validator used by the device and by `holdtimer validate`.

parse(data, name) -> (doc, errors): `data` is the file's bytes; doc is the routine as written (no
defaults filled) or None. Every error is one string "<name>: <place>: <what is wrong>", where place
is a JSON path (`ex[2].hold`, `freq.n`, `top`), `file`, or `line L:C` for a syntax error (L and C
count from 1, C in characters).

The checks live in rcheck.py, which has its own small JSON parser (same messages on CPython and
MicroPython, bounded nesting, duplicate keys caught, never raises). rcheck is imported on the first
parse only, so a session that never validates (it needs just field() and the constants here) does not
carry the checker's ~15 KB of bytecode (~30 KB of heap on the 64-bit simulator). Its names (TOP_KEYS,
EX_INTS, KINDS, _Parser, ...) are reachable as routine.<name> too (module __getattr__, loading it).
"""
VERSION = 1

# Defaults of exercise keys (docs/routines.md). "prep" defaults to the routine's "prep".
DEFAULTS = {"reps": 1, "sides": "none", "sets": 1, "rest": 0, "srest": 30, "switch": 5}
ROUTINE_PREP = 5

MAX_BYTES = 4096        # a routine file, checked before parsing
# MAX_DEPTH, MAX_ERRORS, EX_LIMIT_S, ROUTINE_LIMIT_S and the key tables are rcheck's (routine.<name>
# reaches them too): only the validator needs them.


def field(doc, ex, key):
    """The value of `key` for exercise dict `ex` of routine `doc`, with the documented defaults."""
    if key in ex:
        return ex[key]
    if key == "prep":
        return doc.get("prep", ROUTINE_PREP)
    return DEFAULTS.get(key)


def ex_seconds(doc, ex):
    """Planned seconds of a valid exercise dict `ex`, as plan.py expands it (`press` sets count 0)."""
    reps = field(doc, ex, "reps")
    sets = field(doc, ex, "sets")
    sides = field(doc, ex, "sides")
    rest = field(doc, ex, "rest")
    switch = field(doc, ex, "switch")
    if "hold" in ex:
        work = ex["hold"]
        if sides == "none":
            one = reps * work + (reps - 1) * rest
        elif sides == "each":
            one = 2 * (reps * work + (reps - 1) * rest) + switch
        else:
            one = reps * (2 * work + switch) + (reps - 1) * rest
    else:
        work = reps * ex["tempo"] if "tempo" in ex else 0
        one = work if sides == "none" else 2 * work + switch
    return one * sets + (sets - 1) * field(doc, ex, "srest") + field(doc, ex, "prep")


def compact(doc):
    """Canonical compact bytes of a valid routine for the device: `notes` and each `why` left out."""
    out = {}
    for k in doc:
        if k == "notes":
            continue
        if k == "ex":
            exs = []
            for e in doc[k]:
                d = {}
                for ek in e:
                    if ek != "why":
                        d[ek] = e[ek]
                exs.append(d)
            out[k] = exs
        else:
            out[k] = doc[k]
    import canon  # the serializer: the PC and the validator need it, a session does not

    return canon.dumps(out)


def content_hash(data):
    """16 hex digits (first 64 bits of the SHA-256) of the bytes `data`."""
    import canon

    return canon.content_hash(data)


def parse(data, name="routine"):
    """(doc, errors): doc is the routine as written (no defaults filled) or None if there are errors.
    Raises MemoryError (only) if the heap runs out, loading the checker or checking: the routine may
    be valid, so it is not refused as invalid (the link answers `err memory`)."""
    try:
        import rcheck
        return rcheck.parse(data, name)
    except MemoryError:  # out of heap, not an invalid routine: the caller answers it as such
        raise
    except Exception as e:  # last resort: rcheck is written not to raise
        return None, ["%s: top: internal validator error (%s); please report it" % (name, type(e).__name__)]


def __getattr__(name):
    # The checker's tables and helpers (TOP_KEYS, EX_INTS, _Parser, ...) for tests and the host:
    # loads rcheck on first use, so the device does not hold them while a session runs.
    if name.startswith("__"):
        raise AttributeError(name)
    import rcheck
    try:
        return getattr(rcheck, name)
    except AttributeError:
        raise AttributeError(name)
