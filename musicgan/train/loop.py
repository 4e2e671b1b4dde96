"""The training loop: epochs of iterations, checkpoints and resume, around a trainer and its epoch-end hooks."""

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
from ..data.corpus import prepare
from ..data.pipeline import iterations_per_epoch
from . import distribute, precision
from .hooks import EpochEnd
from .privacy import PrivateGAN
from .trainer import GAN, TrainingError


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

    @property
    def checkpoints(self):
        return self.models_dir / "checkpoints"


def train(cfg, data_dir="data", models_dir="models", cache_dir=None, resume=False, fresh=False,
          progress=True, print_fn=print, jobs=None, command=None, strategy=None):
    """Train on every MIDI file under data_dir; write checkpoints, logs, samples and .h5 to models_dir.

    Returns the trained `GAN`. Ctrl-C saves a checkpoint and returns; a diverging loss raises
    TrainingError and leaves the last good checkpoint. Under a multi-worker `strategy` only the chief
    writes models_dir: the others run the same loop into a temporary folder, removed at the end, and
    take the chief's state at the start (so --resume needs the checkpoint on the chief only).
    """
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    requested = cfg.train.precision            # 'auto' is decided here and saved as what it chose
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train.for_replicas(replicas),
                                                             precision=precision.resolve(requested)))
    print_fn(precision.describe(requested, cfg.train.precision))
    if cfg.train.batch_size % replicas:
        raise TrainingError(f"batch size {cfg.train.batch_size} does not split over {replicas} replicas: "
                            f"--batch-size is the global batch, use a multiple of {replicas}")
    multi = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    chief = distribute.is_chief(strategy)
    out_dir = Path(models_dir) if chief else Path(tempfile.mkdtemp(prefix="musicgan-worker-"))
    run = Run(Path(data_dir), out_dir, cache_dir, resume and chief, fresh and chief, progress, print_fn, jobs, command)
    try:
        return _train(cfg, run, strategy, multi)
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


def _train(cfg, run, strategy, multi):
    _check_start(cfg, run)
    corpus, rows = _training_rows(cfg, run)
    gan = (PrivateGAN if cfg.privacy.dp else GAN)(cfg, strategy)
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
            rows.melody, rows.chords, rows.previous, json.dumps(cfg.to_dict(), sort_keys=True))):
        raise TrainingError("the workers differ in their phrases or settings: every machine needs the same "
                            "MIDI files under --data and the same training flags")

    manager = tf.train.CheckpointManager(gan.checkpoint, str(run.checkpoints), max_to_keep=2)
    if run.resume:
        gan.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    else:
        # the run's config sits with its checkpoints; models/config.json changes only with the .h5 files
        save_config(run.checkpoints, cfg, {"tensorflow_version": tf.__version__, "batch": summary,
                                           "command": run.command})
    if multi:
        distribute.broadcast_from_chief(strategy, gan.state())
    if int(gan.epoch.numpy()) or int(gan.iteration.numpy()):
        run.print_fn(f"resumed at epoch {int(gan.epoch.numpy()) + 1}, iteration {int(gan.iteration.numpy())}")
    epoch_end = EpochEnd(gan, cfg, run.models_dir, corpus, summary, run.command, run.print_fn)
    iters = summary["iterations_per_epoch"]

    while int(gan.epoch.numpy()) < cfg.train.epochs:
        epoch = int(gan.epoch.numpy())
        stop = gan.iteration.numpy() == 0 and gan.before_epoch(epoch, iters)
        if stop:
            run.print_fn(stop)
            if epoch % cfg.train.save_every:
                epoch_end.export(epoch)
            break
        means, seconds = _run_epoch(gan, rows, cfg, run, epoch, iters)
        if means is None:
            manager.save()
            run.print_fn(f"interrupted: saved epoch {epoch + 1} at iteration {int(gan.iteration.numpy())} in "
                         f"{run.checkpoints}; continue with --resume")
            return gan
        gan.epoch.assign_add(1)
        gan.iteration.assign(0)
        manager.save()
        epoch_end(epoch + 1, {"epoch": epoch + 1, **means, "seconds": round(seconds, 2)})
    return gan


def _check_start(cfg, run):
    """Refuse to mix runs: a folder that holds a run needs --resume or --fresh, and resume needs the same config."""
    if run.fresh and run.checkpoints.exists():
        shutil.rmtree(run.checkpoints)
    has_ckpt = tf.train.latest_checkpoint(str(run.checkpoints)) is not None
    if has_ckpt and not run.resume:
        raise TrainingError(f"{run.checkpoints} already holds a run: continue it with --resume, or start over "
                            "with --fresh")
    if run.resume:
        if not has_ckpt:
            raise TrainingError(f"nothing to resume: no checkpoint in {run.checkpoints}")
        saved, _ = load_config(run.checkpoints)
        mine, theirs = cfg.to_dict(), saved.to_dict()
        mine["train"].pop("epochs"), theirs["train"].pop("epochs")
        diffs = [f"{part}.{k}: checkpoint {theirs[part][k]!r}, now {mine[part][k]!r}"
                 for part in mine for k in mine[part] if mine[part][k] != theirs[part][k]]
        if diffs:
            raise TrainingError(f"cannot resume: the config differs from the checkpoint's ({'; '.join(diffs)}); "
                                "use the same settings, or train afresh with --fresh")


def _training_rows(cfg, run):
    """(the corpus without its held-out songs, its training `Rows`), as printed at the start."""
    t = cfg.train
    corpus = prepare(run.data_dir, run.cache_dir, cfg.representation, jobs=run.jobs, progress=run.progress)
    held = corpus.held_out(t.holdout, t.holdout_by)
    kept_out = (f"{int(held.sum())} phrases of {len(np.unique(corpus.song[held]))} songs held out by "
                f"{t.holdout_by} for `musicgan evaluate`")
    corpus = corpus.subset(~held)
    rows = corpus.rows(cfg.representation.transpose, cfg.privacy.unit)
    if len(rows.melody) == 0:
        raise TrainingError(f"no usable phrases under {run.data_dir} (see {corpus.summary()['skipped']})")
    run.print_fn(f"{len(set(corpus.song.tolist()))} songs, {len(corpus.melody)} phrases, {len(rows.melody)} after "
                 f"transposition ({kept_out})")
    return corpus, rows


def _run_epoch(gan, rows, cfg, run, epoch, iters):
    """The rest of epoch `epoch`'s iterations: (mean of each step figure, seconds), or (None, seconds)
    when Ctrl-C stopped it. A loss above max_loss (or NaN) raises TrainingError."""
    from tqdm import tqdm

    start = int(gan.iteration.numpy())
    sums, counts, t0 = {}, {}, time.perf_counter()
    bar = tqdm(gan.epoch_batches(rows, epoch, start), total=iters, initial=start,
               desc=f"epoch {epoch + 1}/{cfg.train.epochs}", disable=not run.progress, leave=True)
    try:
        for batch in bar:
            step = epoch * iters + int(gan.iteration.numpy())
            gan.set_learning_rates(step, iters)
            out = gan.train_batch(batch, step)
            bad = [k for k in ("d_loss", "g_loss") if k in out and not abs(out[k]) <= cfg.train.max_loss]
            if bad:
                raise TrainingError(f"{bad[0]} is {out[bad[0]]:.4g} at epoch {epoch + 1}, iteration "
                                    f"{int(gan.iteration.numpy()) + 1}: training diverged; the last good checkpoint "
                                    f"is kept in {run.checkpoints} (try a lower learning rate, then --resume)")
            gan.iteration.assign_add(1)
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
            bar.set_postfix({k: f"{sums[k] / counts[k]:.3f}" for k in ("d_loss", "g_loss", "d_real", "d_fake")
                             if k in sums}, refresh=False)
    except KeyboardInterrupt:
        return None, time.perf_counter() - t0
    finally:
        bar.close()
    return {k: round(sums[k] / counts[k], 5) for k in sums}, time.perf_counter() - t0


def batch_summary(cfg, samples, replicas=1):
    """The numbers that say what one epoch is, as printed at the start of training."""
    t = cfg.train
    iters = iterations_per_epoch(samples, t.batch_size, t.drop_remainder)
    return {"samples": samples, "batch_size": t.batch_size, "replicas": replicas,
            "per_replica_batch": t.batch_size // replicas, "iterations_per_epoch": iters,
            "epochs": t.epochs, "total_steps": iters * t.epochs,
            "lr_scaling": t.lr_scaling, "lr_factor": t.lr_factor(),
            "g_lr": t.g_lr * t.lr_factor(), "d_lr": t.d_lr * t.lr_factor(),
            "warmup_steps": math.ceil(t.warmup_epochs * iters) if t.lr_scaling not in ("none", "auto") else 0}


def format_batch_summary(s):
    rule = "ceil" if s["iterations_per_epoch"] * s["batch_size"] >= s["samples"] else "floor"
    replicas = f"{s['replicas']} replica{'s' if s['replicas'] > 1 else ''}"
    return (f"samples N={s['samples']}  batch B={s['batch_size']} (global = {replicas} x {s['per_replica_batch']})  "
            f"iterations/epoch={s['iterations_per_epoch']} ({rule}(N/B))  epochs={s['epochs']}  "
            f"total steps={s['total_steps']}\n"
            f"learning rates: G {s['g_lr']:.3g}  D {s['d_lr']:.3g}  (base x {s['lr_factor']:.3g}, "
            f"scaling {s['lr_scaling']}, warmup {s['warmup_steps']} steps)")

