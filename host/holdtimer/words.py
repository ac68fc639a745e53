"""Counted words for what a user reads: count(1, "session") -> "1 session", count(2, ...) -> "2 sessions"."""


def plural(n, word, many=None):
    """`word` for one, else `many` (default: word + "s")."""
    return word if n == 1 else (many or word + "s")


def count(n, word, many=None):
    return "%d %s" % (n, plural(n, word, many))
