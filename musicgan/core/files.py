"""Crash-safe file writing: everything lands under a temporary name and is renamed into place."""

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds.

    A crash or exception at any moment leaves the previous `path` (if any) untouched.
    The temporary name keeps the suffix so libraries that look at it (h5py, Keras) are happy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text):
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
