"""The one place that turns errors into messages: a `UserError` (or a file-system error) is one line
on stderr and exit code 2; Ctrl-C (or SIGTERM, SIGHUP: `Interrupted`) is one line and 128 + the
signal's number, 130 for Ctrl-C; anything else is a bug and keeps its traceback."""

import sys

from ..core.errors import UserError


def run(run_fn, args):
    """Call `run_fn(args)` and return its exit code."""
    try:
        return run_fn(args)
    except KeyboardInterrupt as e:
        print(str(e) or "interrupted", file=sys.stderr)
        return getattr(e, "exit_code", 130)
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
