"""The training loop: epochs of iterations, checkpoints and resume, around a trainer and its epoch-end hooks.

An epoch is durable as a whole: its log row, samples, quality watch, best model and export are
written first and its checkpoint last, so a run killed at any moment resumes from a checkpoint all
of whose epochs are on disk, and redoes (identically) only what came after it. Within an epoch a
checkpoint is also written every `checkpoint_minutes`, so that a kill loses at most those minutes
of a long epoch (a 768,000-row folk epoch takes 13 minutes or more). SIGINT (Ctrl-C),
SIGTERM and SIGHUP take effect between two iterations. A lock file keeps other runs out of the folder.
"""

import contextlib
import dataclasses
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..core.config import load_config, save_config
from ..core.files import folder_lock, remove_leftovers
from ..data.corpus import fingerprint, prepare
from ..data.pipeline import iterations_per_epoch
from . import checkpoints as ckpts
from . import distribute, precision, pretrained
from .hooks import EpochEnd
from .lstm import LSTMTrainer
from .privacy import PrivateGAN
from .signals import StopSignals
from .trainer import GAN, TrainingError

RUN_OUTPUTS = ("checkpoints", "best", "samples", "logs", "training_log.csv")    # one run's; --fresh deletes them


@dataclass
class Run:
    """Where a run reads and writes, and how it reports."""
    data_dir: Path
    models_dir: Path
    cache_dir: Path = None
    resume: bool = False
    fresh: bool = False
    progress: bool = True
    print_fn: object = print
    jobs: int = None
    command: str = None
    checkpoint_minutes: float = 10.0   # a mid-epoch checkpoint after this long (0: at epoch ends only)

    @property
    def checkpoints(self):
        return self.models_dir / "checkpoints"


def train(cfg, data_dir="data", models_dir="models", cache_dir=None, resume=False, fresh=False,
          progress=True, print_fn=print, jobs=None, command=None, strategy=None, checkpoint_minutes=10.0):
    """Train on every MIDI file under data_dir; write checkpoints, logs, samples and .h5 to models_dir.

    Returns the trained `GAN` (or `LSTMTrainer`, when cfg.model.kind is "lstm"). SIGINT (Ctrl-C), SIGTERM and SIGHUP stop it after the iteration in
    progress, save a checkpoint and raise `Interrupted`; a diverging loss raises TrainingError. Under a
    multi-worker `strategy` only the chief writes models_dir: the others run the same loop into a
    temporary folder, removed at the end, and take the chief's state at the start (so --resume needs
    the checkpoint on the chief only).
    """
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    requested = cfg.train.precision            # 'auto' is decided here and saved as what it chose
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train.for_replicas(replicas),
                                                             precision=precision.resolve(requested)))
    print_fn(precision.describe(requested, cfg.train.precision,
                                 cfg.train.precision != "bfloat16" or precision.native_bfloat16()))
    if cfg.train.batch_size % replicas:
        raise TrainingError(f"batch size {cfg.train.batch_size} does not split over {replicas} replicas: "
                            f"--batch-size is the global batch, use a multiple of {replicas}")
    multi = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    chief = distribute.is_chief(strategy)
    out_dir = Path(models_dir) if chief else Path(tempfile.mkdtemp(prefix="musicgan-worker-"))
    run = Run(Path(data_dir), out_dir, cache_dir, resume and chief, fresh and chief, progress, print_fn, jobs, command,
              0 if multi else checkpoint_minutes)     # workers would reach the minute at different iterations
    try:
        with StopSignals() as stop, folder_lock(out_dir, print_fn) if chief else contextlib.nullcontext():
            return _train(cfg, run, strategy, multi, stop)
    except distribute.LOST_WORKER as e:
        if not multi:
            raise
        cluster = strategy.cluster_resolver.cluster_spec().as_dict()
        raise TrainingError(f"lost another worker ({distribute.lost_whom(e.message, cluster)}), so every worker "
                            f"stops; start them all again with --resume (the chief's last checkpoint is in "
                            f"{Path(models_dir) / 'checkpoints'})") from None
    finally:
        if not chief:
            shutil.rmtree(out_dir, ignore_errors=True)


def _train(cfg, run, strategy, multi, stop):
    _check_start(cfg, run)
    corpus, rows, source = _training_rows(cfg, run)
    gan = (LSTMTrainer if cfg.model.kind == "lstm" else PrivateGAN if cfg.privacy.dp else GAN)(cfg, strategy)
    init, inherited = pretrained.start(gan, cfg, run.models_dir, run.resume, corpus.files, source, run.print_fn)
    if not (run.resume or cfg.privacy.dp):       # a private run's file hashes would say who is in it
        pretrained.write_hashes(run.checkpoints, corpus.files, inherited)     # exported with the .h5 files
    summary = batch_summary(cfg, gan.epoch_size(rows), strategy.num_replicas_in_sync)
    if summary["iterations_per_epoch"] == 0:
        raise TrainingError(f"batch size {cfg.train.batch_size} is larger than the {len(rows.melody)} samples and "
                            "--drop-remainder drops them all")
    run.print_fn(format_batch_summary(summary))
    line, facts = gan.describe()
    if line:
        run.print_fn(line)
    summary.update(facts)
    if multi and not distribute.same_everywhere(strategy, distribute.fingerprint(
            rows.melody, rows.chords, rows.previous, rows.meter, json.dumps(cfg.to_dict(), sort_keys=True))):
        raise TrainingError("the workers differ in their phrases or settings: every machine needs the same "
                            "MIDI files under --data and the same training flags")

    if run.resume:
        ckpts.restore_newest(gan.checkpoint, run.checkpoints, run.print_fn)
    else:
        # the run's config sits with its checkpoints; models/config.json changes only with the .h5 files
        save_config(run.checkpoints, cfg, {"tensorflow_version": tf.__version__, "batch": summary,
                                           "command": run.command, **pretrained.extras(init)})
    manager = ckpts.manager(gan.checkpoint, run.checkpoints)
    if multi:
        distribute.broadcast_from_chief(strategy, gan.state())
    saved = _position(gan)              # what the newest checkpoint holds (None: none yet)
    if saved:
        run.print_fn(f"resumed at epoch {int(gan.epoch.numpy()) + 1}, iteration {int(gan.iteration.numpy())}")
    epoch_end = EpochEnd(gan, cfg, run.models_dir, corpus, summary, run.command, run.print_fn, source,
                         pretrained.extras(init) or None)
    iters = summary["iterations_per_epoch"]

    def save_part(figures):                     # a checkpoint within an epoch, with its running figures
        ckpts.save_progress(run.checkpoints, gan, figures)
        ckpts.save(manager, run.checkpoints)

    stop.deferred = True                # from here a signal stops the run between two iterations
    while int(gan.epoch.numpy()) < cfg.train.epochs:
        epoch = int(gan.epoch.numpy())
        why = gan.iteration.numpy() == 0 and gan.before_epoch(epoch, iters)
        if why:
            run.print_fn(why)
            if epoch % cfg.train.save_every:
                epoch_end.export(epoch)
            break
        figures = _run_epoch(gan, rows, cfg, run, epoch, iters, stop, saved, save_part)
        if not figures["complete"]:
            save_part(figures)
            raise stop.interrupted(f"saved {_position(gan)} in {run.checkpoints}; continue with --resume")
        gan.epoch.assign_add(1)
        gan.iteration.assign(0)
        epoch_end(epoch + 1, {"epoch": epoch + 1, **figures["means"], "seconds": round(figures["seconds"], 2)})
        ckpts.save(manager, run.checkpoints)          # last: the epoch is done only once all of it is on disk
        saved = _position(gan)
        if stop.signum and epoch + 1 < cfg.train.epochs:          # (after the last epoch there is nothing to stop)
            raise stop.interrupted(f"saved {saved} in {run.checkpoints}; continue with --resume")
    return gan


def _position(gan):
    """Where the run stands, in words ('after epoch 2', 'at epoch 3, iteration 4'), or None at the start."""
    epoch, iteration = int(gan.epoch.numpy()), int(gan.iteration.numpy())
    if iteration:
        return f"at epoch {epoch + 1}, iteration {iteration}"
    return f"after epoch {epoch}" if epoch else None


def _check_start(cfg, run):
    """Remove what killed runs left, then refuse to mix runs: a folder that holds a run needs --resume or
    --fresh, and resume needs the same config. Resuming before the first checkpoint starts afresh."""
    left = [p for sub in ("", "best", "samples", "checkpoints") for p in remove_leftovers(run.models_dir / sub)]
    left += ckpts.remove_temporary(run.checkpoints)
    if left:
        run.print_fn(f"removed {len(left)} temporary file(s) that a killed run left in {run.models_dir} "
                     f"({', '.join(sorted(p.name for p in left)[:3])}{', ...' if len(left) > 3 else ''})")
    if run.fresh:
        _remove(run.models_dir, RUN_OUTPUTS)
    if ckpts.listed(run.checkpoints):
        if not run.resume:
            raise TrainingError(f"{run.checkpoints} already holds a run: continue it with --resume, or start over "
                                "with --fresh")
        _check_same_config(cfg, run)
        return
    outputs = [f"{name}/" for name in ("best", "samples") if (run.models_dir / name).exists()]
    if outputs and not (run.checkpoints / "config.json").exists():
        raise TrainingError(f"{run.models_dir} holds {' and '.join(outputs)} of an earlier run: start over with "
                            "--fresh (which deletes them), or train into another --models folder")
    if outputs:            # a first epoch killed between its files and its checkpoint: it is redone
        _remove(run.models_dir, RUN_OUTPUTS)
    if run.resume:
        run.print_fn(f"nothing to resume in {run.checkpoints} yet: starting from epoch 1")
        run.resume = False


def _check_same_config(cfg, run):
    saved, _ = load_config(run.checkpoints)
    mine, theirs = cfg.to_dict(), saved.to_dict()
    mine["train"].pop("epochs"), theirs["train"].pop("epochs")
    diffs = [f"{part}.{k}: checkpoint {theirs[part][k]!r}, now {mine[part][k]!r}"
             for part in mine for k in mine[part] if mine[part][k] != theirs[part][k]]
    if diffs:
        raise TrainingError(f"cannot resume: the config differs from the checkpoint's ({'; '.join(diffs)}); "
                            "use the same settings, or train afresh with --fresh")


def _remove(folder, names):
    for name in names:
        path = Path(folder) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _training_rows(cfg, run):
    """(the corpus without its held-out songs, its training `Rows`, the corpus' `fingerprint`), as printed."""
    t = cfg.train
    corpus = prepare(run.data_dir, run.cache_dir, cfg.representation, jobs=run.jobs, progress=run.progress)
    source = fingerprint(run.data_dir, corpus.files)
    held = corpus.held_out(t.holdout, t.holdout_by)
    kept_out = (f"{int(held.sum())} phrases of {len(np.unique(corpus.song[held]))} songs held out by "
                f"{t.holdout_by} for `musicgan evaluate`")
    corpus = corpus.subset(~held)
    rows = corpus.rows(cfg.representation.transpose, cfg.privacy.unit, bar_chords=t.bar_chords > 0)
    if len(rows.melody) == 0:
        raise TrainingError(f"no usable phrases under {run.data_dir} (see {corpus.summary()['skipped']})")
    run.print_fn(f"{len(set(corpus.song.tolist()))} songs, {len(corpus.melody)} phrases, {len(rows.melody)} after "
                 f"transposition ({kept_out})")
    return corpus, rows, source


def _run_epoch(gan, rows, cfg, run, epoch, iters, stop, saved, save_part):
    """The rest of epoch `epoch`'s iterations, until its end or a signal (`stop`). Returns {"complete",
    "means" of each step figure, "sums", "counts", "seconds"}, counting the iterations a checkpoint
    resumed past (`checkpoints.load_progress`). Every `run.checkpoint_minutes` it calls `save_part`
    with the figures so far. A loss above max_loss (or NaN) raises TrainingError."""
    from tqdm import tqdm

    start = int(gan.iteration.numpy())
    part = ckpts.load_progress(run.checkpoints, epoch, start)
    sums, counts, t0 = part["sums"], part["counts"], time.perf_counter() - part["seconds"]
    bar = tqdm(gan.epoch_batches(rows, epoch, start), total=iters, initial=start,
               desc=f"epoch {epoch + 1}/{cfg.train.epochs}", disable=not run.progress, leave=True)
    complete, every = True, run.checkpoint_minutes * 60
    last_save = time.perf_counter()
    try:
        for batch in bar:
            step = epoch * iters + int(gan.iteration.numpy())
            gan.set_learning_rates(step, iters)
            out = gan.train_batch(batch, step)
            bad = [k for k in ("d_loss", "g_loss", "loss") if k in out and not abs(out[k]) <= cfg.train.max_loss]
            if bad:
                raise _diverged(bad[0], out[bad[0]], epoch, int(gan.iteration.numpy()) + 1, cfg, run, saved)
            gan.iteration.assign_add(1)
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
            bar.set_postfix({k: f"{sums[k] / counts[k]:.3f}" for k in ("d_loss", "g_loss", "d_real", "d_fake", "loss")
                             if k in sums}, refresh=False)
            if stop.signum and int(gan.iteration.numpy()) < iters:   # the last one ends the epoch first
                complete = False
                break
            if every and time.perf_counter() - last_save >= every and int(gan.iteration.numpy()) < iters:
                save_part({"sums": sums, "counts": counts, "seconds": time.perf_counter() - t0})
                last_save = time.perf_counter()
    finally:
        bar.close()
    return {"complete": complete, "means": {k: round(sums[k] / counts[k], 5) for k in sums}, "sums": sums,
            "counts": counts, "seconds": time.perf_counter() - t0}


def _diverged(name, value, epoch, iteration, cfg, run, saved):
    t = cfg.train
    kept = (f"the checkpoint {saved} is kept in {run.checkpoints}, but resuming repeats the same steps"
            if saved else "no checkpoint was written")
    return TrainingError(f"{name} is {value:.4g} at epoch {epoch + 1}, iteration {iteration}: training diverged; "
                         f"{kept}. Start over with --fresh and lower learning rates (now g_lr {t.g_lr:g}, d_lr "
                         f"{t.d_lr:g}; --config FILE with {{\"train\": {{\"g_lr\": ..., \"d_lr\": ...}}}})")


def batch_summary(cfg, samples, replicas=1):
    """The numbers that say what one epoch is, as printed at the start of training."""
    t = cfg.train
    iters = iterations_per_epoch(samples, t.batch_size, t.drop_remainder)
    return {"samples": samples, "batch_size": t.batch_size, "replicas": replicas,
            "per_replica_batch": t.batch_size // replicas, "iterations_per_epoch": iters,
            "epochs": t.epochs, "total_steps": iters * t.epochs,
            "lr_scaling": t.lr_scaling, "lr_factor": t.lr_factor(),
            **({"lstm_lr": t.lstm_lr * t.lr_factor()} if cfg.model.kind == "lstm" else
               {"g_lr": t.g_lr * t.lr_factor(), "d_lr": t.d_lr * t.lr_factor()}),
            "warmup_steps": math.ceil(t.warmup_epochs * iters) if t.lr_scaling not in ("none", "auto") else 0}


def format_batch_summary(s):
    rule = "ceil" if s["iterations_per_epoch"] * s["batch_size"] >= s["samples"] else "floor"
    replicas = f"{s['replicas']} replica{'s' if s['replicas'] > 1 else ''}"
    return (f"samples N={s['samples']}  batch B={s['batch_size']} (global = {replicas} x {s['per_replica_batch']})  "
            f"iterations/epoch={s['iterations_per_epoch']} ({rule}(N/B))  epochs={s['epochs']}  "
            f"total steps={s['total_steps']}\n"
            + (f"learning rate: LSTM {s['lstm_lr']:.3g}" if "lstm_lr" in s else
               f"learning rates: G {s['g_lr']:.3g}  D {s['d_lr']:.3g}") + f"  (base x {s['lr_factor']:.3g}, "
            f"scaling {s['lr_scaling']}, warmup {s['warmup_steps']} steps)")

