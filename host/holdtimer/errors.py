"""UserError: an error the user can act on, printed by the CLI as one line without a traceback."""


class UserError(Exception):
    """Raise with a message that says what is wrong and what to do next."""
