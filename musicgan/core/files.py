"""Crash-safe file writing: everything lands under a temporary name and is renamed into place; a lock
file keeps two processes out of one folder; what a killed process left behind is found and removed."""

import contextlib
import os
import re
import socket
from pathlib import Path

from .errors import UserError

LOCK_NAME = ".lock"
_TEMPORARY = re.compile(r"\..+\.tmp\d+(\.[^.]*)?")      # `atomic_path`'s names: .NAME.tmpPID.SUFFIX


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


def remove_leftovers(folder):
    """Delete the temporary files of `atomic_path` that a killed process left in `folder` (not below it);
    return them. Only safe while holding the folder's lock (`folder_lock`): nobody else writes there."""
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in Path(folder).iterdir():
            if _TEMPORARY.fullmatch(path.name) and path.is_file():
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def folder_lock(folder, say=print):
    """Hold FOLDER/.lock for the block, or raise `UserError` naming the process that holds it.

    The lock is an flock, which the kernel releases when its process dies however it dies, so a
    lock file left by a killed run is taken over (with a message) and never blocks a folder for good.
    """
    import fcntl  # POSIX only, like training's signals

    folder, me = Path(folder), f"process {os.getpid()} on {socket.gethostname()}"
    path = folder / LOCK_NAME
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UserError(f"cannot write in {folder} ({e.strerror or e}): training needs a folder it can "
                            "write, pass another --models") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(f"{folder} is in use by another training run ({holder}): wait for it to finish, or "
                            "train into another --models folder") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)                      # the holder removed the file as we opened it: take the new one
    try:
        left = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if left:
            say(f"taking over the lock of {left}, which is no longer running ({path})")
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)
