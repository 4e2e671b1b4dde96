"""Typed errors. A `UserError` is the user's to fix (bad input, a missing or mismatched model, a
setting out of range): the command line shows its message as one line and exits with 2. Any other
exception is a bug and keeps its traceback. `Interrupted` is a run stopped by a signal."""

import signal


class UserError(Exception):
    """Something the user can fix; the message says what, and how."""


class ConfigError(UserError, ValueError):
    """A setting out of range, of the wrong type, or unknown."""


class ModelError(UserError, ValueError):
    """A model folder that cannot be used; the message says which file and how to get a good one."""


class Interrupted(KeyboardInterrupt):
    """Stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP; the message says what was saved and how to go on.

    The command line exits with 128 + the signal's number (130 for Ctrl-C), as a shell does.
    """

    def __init__(self, message, signum=signal.SIGINT):
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self):
        return 128 + int(self.signum)
