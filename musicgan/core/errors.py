"""Typed errors. A `UserError` is the user's to fix (bad input, a missing or mismatched model, a
setting out of range): the command line shows its message as one line and exits with 2. Any other
exception is a bug and keeps its traceback."""


class UserError(Exception):
    """Something the user can fix; the message says what, and how."""


class ConfigError(UserError, ValueError):
    """A setting out of range, of the wrong type, or unknown."""


class ModelError(UserError, ValueError):
    """A model folder that cannot be used; the message says which file and how to get a good one."""
