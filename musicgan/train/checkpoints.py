"""A run's checkpoints on disk: find them, restore the newest one that restores, save one so that a
failed write leaves no half-written files, and remove what a killed save left behind.

TensorFlow writes checkpoint N as ckpt-N.index + ckpt-N.data-*, first under ckpt-N_temp/, and names
the newest in the text file `checkpoint`; a run keeps the last `KEEP`.
"""

import json
import re
import shutil
from pathlib import Path

import tensorflow as tf

from ..core.files import write_text
from .trainer import TrainingError

KEEP = 2
PROGRESS = "progress.json"      # the running means of epochs a signal stopped part way
PREFIX = "ckpt"
_NUMBERED = re.compile(rf"{PREFIX}-(\d+)")


def one_line(error):
    """TensorFlow's message (or any exception's) as one short line, without its graph-node prefix."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text).strip()
    return (text.splitlines() or [type(error).__name__])[0][:200]


def listed(folder):
    """[(number, prefix path)] of the checkpoints in `folder`, newest first: every ckpt-N.index found,
    and the ones the `checkpoint` file names even when their files are gone (restoring them will say so)."""
    folder = Path(folder)
    numbers = {int(m.group(1)) for p in folder.glob(f"{PREFIX}-*.index") if (m := _NUMBERED.fullmatch(p.stem))}
    try:
        state = tf.train.get_checkpoint_state(str(folder))
    except Exception:  # noqa: BLE001 - a damaged state file is only an index; the files above still count
        state = None
    for path in (state.all_model_checkpoint_paths if state else []):
        if m := _NUMBERED.fullmatch(Path(path).name):
            numbers.add(int(m.group(1)))
    return [(n, folder / f"{PREFIX}-{n}") for n in sorted(numbers, reverse=True)]


def restore_newest(checkpoint, folder, say=print):
    """Restore `checkpoint` from the newest checkpoint in `folder` that restores whole; return its
    prefix, or None when there is none. Each one that fails is named with why; if all fail, TrainingError."""
    failed = []
    for _, prefix in listed(folder):
        try:
            checkpoint.restore(str(prefix)).assert_existing_objects_matched()
        except Exception as e:  # noqa: BLE001 - a damaged checkpoint raises IndexError, DataLossError, ...
            failed.append(f"{prefix.name}: {one_line(e)}")
            continue
        for why in failed:
            say(f"warning: checkpoint {why}")
        if failed:
            say(f"resuming from {prefix.name}, the newest checkpoint that restores")
            good = [str(p) for _, p in listed(folder)[len(failed):]]
            try:                  # so that the next save takes the broken one's number and replaces it
                tf.compat.v1.train.update_checkpoint_state(str(folder), str(prefix), list(reversed(good)))
            except (tf.errors.OpError, OSError):
                pass              # a read-only folder: the first save will say so
        return prefix
    if failed:
        raise TrainingError(f"no checkpoint in {folder} restores ({'; '.join(failed)}): start over with --fresh")
    return None


def manager(checkpoint, folder):
    return tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=KEEP, checkpoint_name=PREFIX)


def save(checkpoints, folder):
    """Write the next checkpoint with `checkpoints` (a CheckpointManager). A failed write (disk full,
    read-only folder) raises TrainingError in one line and leaves no temporary files; the checkpoints
    before it stay as they were."""
    before = {p.name for p in Path(folder).glob(f"{PREFIX}-*")}
    try:
        return checkpoints.save()
    except (tf.errors.OpError, OSError) as e:
        for path in Path(folder).glob(f"{PREFIX}-*"):
            if path.name not in before or path.name.endswith("_temp"):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        raise TrainingError(f"cannot write a checkpoint in {folder} ({one_line(e)}); the checkpoints before it "
                            "are intact: make room (or make the folder writable), then --resume") from None


def remove_temporary(folder):
    """Delete the ckpt-N_temp/ folders of saves that were killed half way; return them."""
    removed = [p for p in Path(folder).glob(f"{PREFIX}-*_temp") if p.is_dir()]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


# ---- the running figures of a half-done epoch, so that its resumed log row is whole

def save_progress(folder, gan, figures):
    """Before a mid-epoch checkpoint: its epoch's running sums, so the resumed epoch's log row is whole."""
    try:
        kept = json.loads((Path(folder) / PROGRESS).read_text())
    except (OSError, ValueError):
        kept = {}
    key = f"{int(gan.epoch.numpy())}:{int(gan.iteration.numpy())}"
    kept = {k: v for k, v in kept.items() if k != key}
    kept = dict(list(kept.items())[-KEEP:] + [(key, {k: figures[k] for k in ("sums", "counts", "seconds")})])
    write_text(Path(folder) / PROGRESS, json.dumps(kept))


def load_progress(folder, epoch, iteration):
    empty = {"sums": {}, "counts": {}, "seconds": 0.0}
    if not iteration:
        return empty
    try:
        return json.loads((Path(folder) / PROGRESS).read_text()).get(f"{epoch}:{iteration}", empty)
    except (OSError, ValueError, AttributeError):
        return empty
