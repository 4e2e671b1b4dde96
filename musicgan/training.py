"""The training loop: alternating discriminator / generator GradientTape steps, logs, checkpoints, exports."""

import csv
import dataclasses
import io
import json
import logging
import math
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import constants as C
from . import distribute, losses, metrics, networks, privacy
from .chords import FEATURES, parse_progression, progression_features
from .config import load_config, save_config
from .dataset import iterations_per_epoch, prepare, tf_dataset
from .files import atomic_path, write_text
from .midi_io import write_song
from .sampling import generate_melodies, render_song, sample_phrases

SAMPLE_PROGRESSIONS = ("C G Am F", "Am F C G", "Dm7 G7 Cmaj7 Cmaj7")
LOG_FIELDS = ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "quality", "chord_tone_ratio",
              "notes_per_bar", "mean_abs_interval", "diversity")
QUALITY_WINDOWS, QUALITY_SAMPLES = 16, 8     # corpus chord windows x noises per window, fixed per run
_SPLIT_BATCHES = tf.data.Options()           # each worker takes its replicas' slices of every global batch
_SPLIT_BATCHES.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what to do."""


class GAN:
    """Both networks, both optimizers and the position (epoch, iteration), with the two steps.

    The steps run under `strategy` (one replica by default) on a global batch split over the replicas;
    every random number comes with the batch (`batch_noise`), so 2 replicas give the weights of 1.
    """

    def __init__(self, cfg, strategy=None):
        self.cfg = cfg
        self.strategy = strategy or tf.distribute.get_strategy()
        t = cfg.train
        tf.keras.utils.set_random_seed(t.seed)          # same seed, same initial weights
        with self.strategy.scope():
            self.generator = networks.build_generator(cfg.representation, cfg.model)
            self.discriminator = networks.build_discriminator(cfg.representation, cfg.model)
            # one call gives D's logit and the features that feature matching compares
            self.critic = tf.keras.Model(self.discriminator.inputs, [self.discriminator.output,
                                                                     self.discriminator.get_layer("d_features").output])
            self.g_opt = tf.keras.optimizers.Adam(t.g_lr, t.beta1, t.beta2)
            self.d_opt = tf.keras.optimizers.Adam(t.d_lr, t.beta1, t.beta2)
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64)
            self.iteration = tf.Variable(0, dtype=tf.int64)    # batches done in the current epoch
        self.private = privacy.Private(self) if cfg.privacy.dp else None
        if self.private:                                 # DP-SGD replaces the D step (Poisson batch sizes vary)
            self.d_step_eager = self.private.d_step
        self.checkpoint = tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                              g_opt=self.g_opt, d_opt=self.d_opt,
                                              epoch=self.epoch, iteration=self.iteration,
                                              **(self.private.checkpoint_items() if self.private else {}))
        self.d_step = tf.function(self.d_step_eager,
                                  input_signature=self.private.signature() if self.private else None)
        self.g_step = tf.function(self.g_step_eager)

    def state(self):
        """Every variable the checkpoint holds."""
        return (self.generator.weights + self.discriminator.weights + self.g_opt.variables + self.d_opt.variables
                + [self.epoch, self.iteration])

    def fake_melody(self, chords, previous, latent, uniform):
        """Generated one-hot melodies (B, steps, VOCAB) with straight-through Gumbel-softmax gradients."""
        probs = self.generator([latent, chords, previous], training=True)
        gumbel = -tf.math.log(-tf.math.log(uniform))
        soft = tf.nn.softmax((tf.math.log(probs + 1e-9) + gumbel) / self.cfg.train.gumbel_temperature)
        hard = tf.one_hot(tf.argmax(soft, -1), C.VOCAB_SIZE)
        return hard + soft - tf.stop_gradient(soft)      # D sees hard tokens as for real music

    def _d_replica(self, melody, chords, previous, noise):
        t = self.cfg.train
        n = _global_batch(melody)
        real = tf.one_hot(melody, C.VOCAB_SIZE)
        fake = tf.stop_gradient(self.fake_melody(chords, previous, noise["d_latent"], noise["d_uniform"]))
        with tf.GradientTape() as tape:
            real_logits, _ = self.critic([real, chords, previous], training=True)
            fake_logits, _ = self.critic([fake, chords, previous], training=True)
            if t.loss == "wgan-gp":
                per_example = (losses.d_wasserstein(real_logits, fake_logits) + t.gp_weight * losses.gradient_penalty(
                    self.discriminator, real, fake, (chords, previous), noise["gp_eps"]))
            else:
                per_example = losses.d_nonsaturating(real_logits, fake_logits, t.label_smoothing)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=n)
        grads = tape.gradient(loss, self.discriminator.trainable_variables)
        self.d_opt.apply_gradients(zip(grads, self.discriminator.trainable_variables))   # sums over replicas
        return {"d_loss": loss,
                "d_real": tf.nn.compute_average_loss(tf.sigmoid(real_logits)[:, 0], global_batch_size=n),
                "d_fake": tf.nn.compute_average_loss(tf.sigmoid(fake_logits)[:, 0], global_batch_size=n)}

    def _g_replica(self, melody, chords, previous, noise):
        t = self.cfg.train
        n = _global_batch(melody)
        with tf.GradientTape() as tape:
            fake = self.fake_melody(chords, previous, noise["g_latent"], noise["g_uniform"])   # fresh noise
            fake_logits, fake_features = self.critic([fake, chords, previous], training=True)
            per_example = (losses.g_wasserstein(fake_logits) if t.loss == "wgan-gp"
                           else losses.g_nonsaturating(fake_logits))
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=n)
            if t.feature_matching > 0:
                _, real_features = self.critic([tf.one_hot(melody, C.VOCAB_SIZE), chords, previous], training=True)
                matching = losses.feature_matching(_global_mean(tf.stop_gradient(real_features), n),
                                                   _global_mean(fake_features, n))
                # every replica holds the whole term; their gradients are summed, so each adds 1/replicas
                loss += t.feature_matching * matching / tf.distribute.get_replica_context().num_replicas_in_sync
        grads = tape.gradient(loss, self.generator.trainable_variables)
        self.g_opt.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"g_loss": loss}

    def _run(self, replica_fn, batch):
        """Each replica's share of the metrics, summed in one exchange: the step's value on the global batch."""
        names = []

        def shares(*args):
            out = replica_fn(*args)
            names[:] = out
            return tf.stack(list(out.values()))

        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, self.strategy.run(shares, args=batch), axis=None)
        return dict(zip(names, tf.unstack(total)))

    def d_step_eager(self, batch):
        return self._run(self._d_replica, batch)

    def g_step_eager(self, batch):
        return self._run(self._g_replica, batch)

    def set_learning_rates(self, step, iters_per_epoch):
        """Base rates x batch scaling, ramped linearly over the warmup when scaling is on."""
        t = self.cfg.train
        factor = t.lr_factor()
        warmup = t.warmup_epochs * iters_per_epoch
        if t.lr_scaling != "none" and warmup > 0:
            factor = 1 + (factor - 1) * min(1.0, (step + 1) / warmup)
        self.g_opt.learning_rate.assign(t.g_lr * factor)
        self.d_opt.learning_rate.assign(t.d_lr * factor)

    def train_batch(self, batch, step, eager=False):
        """One iteration on (melody, chords, previous, noise): a D step, and a G step every `d_steps`."""
        d_step, g_step = (self.d_step_eager, self.g_step_eager) if eager else (self.d_step, self.g_step)
        if self.private:                            # under DP, G sees public conditions only
            out = d_step(*batch)
            if step % self.cfg.train.d_steps == 0:
                out.update(g_step(self.private.g_batch(step)))
        else:
            out = d_step(batch)
            if step % self.cfg.train.d_steps == 0:
                out.update(g_step(batch))
        return {k: float(v) for k, v in out.items()}


def _global_batch(local):
    """The examples in this step over all replicas (the last batch of an epoch may be short)."""
    local_n = tf.cast(tf.shape(local)[0], tf.float32)
    return tf.cast(tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, local_n), tf.int32)


def _global_mean(x, n):
    """Mean over the global batch of (B, F) features; differentiable (the all-reduce passes gradients on)."""
    total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(x, 0))
    return total / tf.cast(n, x.dtype)


def batch_noise(cfg, n, key):
    """The random numbers of one iteration for n examples, drawn from key (2 ints) alone.

    Drawn for the global batch before it is split, so the replicas share one draw and a resumed run
    draws the same numbers: latent (n, latent) and Gumbel uniforms (n, steps, VOCAB) for the D and
    the G step, and the gradient penalty's ε (n, 1, 1).
    """
    steps = cfg.representation.phrase_bars * C.STEPS_PER_BAR
    seeds = tf.random.experimental.stateless_split(key, 5)
    latent, uniform = [n, cfg.model.latent], [n, steps, C.VOCAB_SIZE]
    return {"d_latent": tf.random.stateless_normal(latent, seeds[0]),
            "d_uniform": tf.random.stateless_uniform(uniform, seeds[1], 1e-9, 1.0),
            "gp_eps": tf.random.stateless_uniform([n, 1, 1], seeds[2]),
            "g_latent": tf.random.stateless_normal(latent, seeds[3]),
            "g_uniform": tf.random.stateless_uniform(uniform, seeds[4], 1e-9, 1.0)}


def with_noise(data, cfg, epoch):
    """Append to each batch of `data` its noise, keyed by (seed, epoch, iteration)."""
    key = tf.constant([cfg.train.seed, epoch], tf.int64)

    def add(i, batch):
        return (*batch, batch_noise(cfg, tf.shape(batch[0])[0], tf.random.experimental.stateless_fold_in(key, i)))

    return data.enumerate().map(add, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


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


def save_models(gan, models_dir, cfg, extra, generator_only=False):
    """generator.h5, discriminator.h5, gan.h5 and config.json, each written then renamed into place."""
    models_dir = Path(models_dir)
    logging.getLogger("absl").setLevel(logging.ERROR)   # .h5 is our chosen format; Keras calls it legacy
    models = [("generator", gan.generator)]
    if not generator_only:
        models += [("discriminator", gan.discriminator), ("gan", networks.build_gan(gan.generator, gan.discriminator))]
    for name, model in models:
        with atomic_path(models_dir / f"{name}.h5") as tmp:
            model.save(str(tmp))
    save_config(models_dir, cfg, {"tensorflow_version": tf.__version__, **extra})


def _check_resumable(ckpt_dir, cfg):
    saved, _ = load_config(ckpt_dir)
    mine, theirs = cfg.to_dict(), saved.to_dict()
    mine["train"].pop("epochs"), theirs["train"].pop("epochs")
    diffs = [f"{part}.{k}: checkpoint {theirs[part][k]!r}, now {mine[part][k]!r}"
             for part in mine for k in mine[part] if mine[part][k] != theirs[part][k]]
    if diffs:
        raise TrainingError(f"cannot resume: the config differs from the checkpoint's ({'; '.join(diffs)}); "
                            "use the same settings, or train afresh with --fresh")


def write_samples(gan, models_dir, epoch, rep, bpm=100.0):
    """One MIDI file per fixed progression (4 phrases) in models/samples/, so progress can be heard."""
    paths = []
    for k, text in enumerate(SAMPLE_PROGRESSIONS):
        bars = parse_progression(text)
        features, beat_chords = progression_features(bars, 2 * rep.phrase_bars)
        tokens = generate_melodies(gan.generator, features, rep.phrase_bars, seed=k)[0]
        path = Path(models_dir) / "samples" / f"epoch{epoch:04d}_{k + 1}.mid"
        write_song(render_song(tokens, beat_chords, bpm), path)
        paths.append(path)
    return paths


class QualityWatch:
    """Cheap melody metrics on fixed corpus chord windows, compared with the corpus melodies there.

    GAN losses do not say when the music got good; this does, every `sample_every` epochs.
    """

    def __init__(self, melody, chord_ids, seed):
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(melody), min(QUALITY_WINDOWS, len(melody)), replace=False)
        self.ids = np.repeat(chord_ids[pick], QUALITY_SAMPLES, 0)          # (windows * samples, beats)
        self.real = metrics.summary(melody, chord_ids)                     # the whole corpus
        self.seed = seed

    def __call__(self, generator):
        tokens = sample_phrases(generator, FEATURES[self.ids], np.random.default_rng(self.seed))
        m = metrics.summary(tokens, self.ids)
        m["diversity"] = float(np.mean([metrics.diversity(w) for w in tokens.reshape(-1, QUALITY_SAMPLES,
                                                                                      tokens.shape[1])]))
        m["quality"] = metrics.distance(m, self.real)
        return m


def _best_quality(best_dir):
    try:
        return load_config(best_dir)[1]["quality"]["quality"]
    except (OSError, ValueError, KeyError):
        return float("inf")


def _write_log(path, rows):
    buf = io.StringIO()
    dp_fields = tuple(k for k in privacy.LOG_FIELDS if rows and k in rows[-1])
    writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS + dp_fields)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def _read_log(path, upto_epoch):
    try:
        with open(path) as f:
            return [r for r in csv.DictReader(f) if int(r["epoch"]) <= upto_epoch]
    except FileNotFoundError:
        return []


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
    cfg = dataclasses.replace(cfg, train=cfg.train.for_replicas(replicas))
    if cfg.train.batch_size % replicas:
        raise TrainingError(f"batch size {cfg.train.batch_size} does not split over {replicas} replicas: "
                            f"--batch-size is the global batch, use a multiple of {replicas}")
    multi = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    chief = distribute.is_chief(strategy)
    out_dir = Path(models_dir) if chief else Path(tempfile.mkdtemp(prefix="musicgan-worker-"))
    try:
        return _train(cfg, data_dir, out_dir, cache_dir, resume and chief, fresh and chief, progress, print_fn,
                      jobs, command, strategy, multi)
    except _LOST_WORKER as e:
        if not multi:
            raise
        cluster = strategy.cluster_resolver.cluster_spec().as_dict()
        raise TrainingError(f"lost another worker ({_lost_whom(e.message, cluster)}), so every worker stops; "
                            f"start them all again with --resume (the chief's last checkpoint is in "
                            f"{Path(models_dir) / 'checkpoints'})") from None
    finally:
        if not chief:
            shutil.rmtree(out_dir, ignore_errors=True)


_LOST_WORKER = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                tf.errors.AbortedError)


def _lost_whom(message, cluster):
    """Who stopped answering: the tasks TF's health check names ("...unhealthy...: /job:worker/replica:0/task:1")
    or the cluster address a collective could not reach; else TF's first line without its function name."""
    tasks = set(re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", message.partition("unhealthy")[2]))
    tasks |= {(job, str(i)) for job, addresses in cluster.items() for i, address in enumerate(addresses)
              if re.search(re.escape(address) + r"(?!\d)", message)}
    if tasks:
        return ", ".join(f"{job} {i}" for job, i in sorted(tasks)) + " stopped answering"
    return re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message.strip().splitlines()[0])


def _train(cfg, data_dir, models_dir, cache_dir, resume, fresh, progress, print_fn, jobs, command, strategy, multi):
    from tqdm import tqdm

    ckpt_dir = models_dir / "checkpoints"
    t = cfg.train
    if fresh and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    has_ckpt = tf.train.latest_checkpoint(str(ckpt_dir)) is not None
    if has_ckpt and not resume:
        raise TrainingError(f"{ckpt_dir} already holds a run: continue it with --resume, or start over with --fresh")
    if resume:
        if not has_ckpt:
            raise TrainingError(f"nothing to resume: no checkpoint in {ckpt_dir}")
        _check_resumable(ckpt_dir, cfg)

    corpus = prepare(data_dir, cache_dir, cfg.representation, jobs=jobs, progress=progress)
    held = corpus.held_out(t.holdout, t.holdout_by)
    kept_out = (f"{int(held.sum())} phrases of {len(np.unique(corpus.song[held]))} songs held out by "
                f"{t.holdout_by} for `musicgan evaluate`")
    corpus = corpus.subset(~held)
    melody, chord_ids, previous, unit_id = privacy.unit_rows(corpus, cfg.representation.transpose, cfg.privacy.unit)
    if len(melody) == 0:
        raise TrainingError(f"no usable phrases under {data_dir} (see {corpus.summary()['skipped']})")
    dp = privacy.plan(cfg, unit_id) if cfg.privacy.dp else None     # under DP an epoch is N units, not N rows
    if dp and strategy.num_replicas_in_sync > 1:
        raise TrainingError("--dp trains on one replica only: use --strategy default")
    summary = batch_summary(cfg, dp["units"] if dp else len(melody), strategy.num_replicas_in_sync)
    if summary["iterations_per_epoch"] == 0:
        raise TrainingError(f"batch size {t.batch_size} is larger than the {len(melody)} samples and "
                            "--drop-remainder drops them all")
    print_fn(f"{len(set(corpus.song.tolist()))} songs, {len(corpus.melody)} phrases, {len(melody)} after "
             f"transposition ({kept_out})")
    print_fn(format_batch_summary(summary))
    if dp:
        print_fn(privacy.format_plan(dp))
        summary["privacy"] = dp
    if multi and not distribute.same_everywhere(strategy, distribute.fingerprint(
            melody, chord_ids, previous, json.dumps(cfg.to_dict(), sort_keys=True))):
        raise TrainingError("the workers differ in their phrases or settings: every machine needs the same "
                            "MIDI files under --data and the same training flags")

    gan = GAN(cfg, strategy)
    manager = tf.train.CheckpointManager(gan.checkpoint, str(ckpt_dir), max_to_keep=2)
    if resume:
        gan.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    else:
        # the run's config sits with its checkpoints; models/config.json changes only with the .h5 files
        save_config(ckpt_dir, cfg, {"tensorflow_version": tf.__version__, "batch": summary, "command": command})
    if multi:
        distribute.broadcast_from_chief(strategy, gan.state())
    if int(gan.epoch.numpy()) or int(gan.iteration.numpy()):
        print_fn(f"resumed at epoch {int(gan.epoch.numpy()) + 1}, iteration {int(gan.iteration.numpy())}")
    watch = QualityWatch(corpus.melody, corpus.chords, t.seed)
    log_path = models_dir / "training_log.csv"
    rows = _read_log(log_path, int(gan.epoch.numpy()))
    writer = tf.summary.create_file_writer(str(models_dir / "logs"))
    iters = summary["iterations_per_epoch"]

    while int(gan.epoch.numpy()) < t.epochs:
        epoch, start = int(gan.epoch.numpy()), int(gan.iteration.numpy())
        if dp and start == 0 and privacy.over_budget(dp, (epoch + 1) * iters, cfg.privacy.target_epsilon):
            if epoch == 0:
                raise TrainingError(f"one epoch already spends more than --dp-target-epsilon "
                                    f"{cfg.privacy.target_epsilon:g}: raise --dp-noise-multiplier or lower "
                                    "--batch-size")
            print_fn(f"stopping after epoch {epoch}: epoch {epoch + 1} would take ε past --dp-target-epsilon "
                     f"{cfg.privacy.target_epsilon:g}")
            if epoch % t.save_every:
                save_models(gan, models_dir, cfg, {"batch": summary, "epochs_trained": epoch, "command": command})
            break
        if dp:
            picks = privacy.poisson_batches(unit_id, t.batch_size, iters, int(gan.private.secret.numpy()), epoch)
            data = privacy.batches(melody, chord_ids, previous, picks[start:])
        else:
            data = with_noise(tf_dataset(melody, chord_ids, previous, t.batch_size, epoch, t.seed,
                                         drop_remainder=t.drop_remainder), cfg, epoch).skip(start)
            data = strategy.experimental_distribute_dataset(data.with_options(_SPLIT_BATCHES))
        sums, counts, t0 = {}, {}, time.perf_counter()
        bar = tqdm(data, total=iters, initial=start, desc=f"epoch {epoch + 1}/{t.epochs}",
                   disable=not progress, leave=True)
        try:
            for batch in bar:
                step = epoch * iters + int(gan.iteration.numpy())
                gan.set_learning_rates(step, iters)
                out = gan.train_batch(batch, step)
                bad = [k for k in ("d_loss", "g_loss") if k in out and not abs(out[k]) <= t.max_loss]
                if bad:
                    raise TrainingError(f"{bad[0]} is {out[bad[0]]:.4g} at epoch {epoch + 1}, iteration "
                                        f"{int(gan.iteration.numpy()) + 1}: training diverged; the last good checkpoint "
                                        f"is kept in {ckpt_dir} (try a lower learning rate, then --resume)")
                gan.iteration.assign_add(1)
                for k, v in out.items():
                    sums[k] = sums.get(k, 0.0) + v
                    counts[k] = counts.get(k, 0) + 1
                bar.set_postfix({k: f"{sums[k] / counts[k]:.3f}" for k in ("d_loss", "g_loss", "d_real", "d_fake")
                                 if k in sums}, refresh=False)
        except KeyboardInterrupt:
            bar.close()
            manager.save()
            print_fn(f"interrupted: saved epoch {epoch + 1} at iteration {int(gan.iteration.numpy())} in {ckpt_dir}; "
                     "continue with --resume")
            return gan
        bar.close()
        gan.epoch.assign_add(1)
        gan.iteration.assign(0)
        manager.save()
        done = epoch + 1
        row = {"epoch": done, **{k: round(sums[k] / counts[k], 5) for k in sums},
               "seconds": round(time.perf_counter() - t0, 2)}
        if dp:
            summary["privacy"] = {**dp, "steps": done * iters, **privacy.epsilons(dp, done * iters)}
            row.update({k: v for k, v in summary["privacy"].items() if k in privacy.LOG_FIELDS})
            print_fn(f"epoch {done}: ε = {row['epsilon_pld']:.3g} (PLD), {row['epsilon_rdp']:.3g} (RDP), "
                     f"{row['epsilon_basic']:.3g} (basic composition) at δ = {dp['delta']:g}")
        if done % t.sample_every == 0 or done == t.epochs:
            write_samples(gan, models_dir, done, cfg.representation)
            quality = watch(gan.generator)
            row.update({k: round(quality[k], 4) for k in LOG_FIELDS if k in quality})
            for warning in metrics.warnings_for(quality):
                print_fn(f"warning (epoch {done}): {warning}")
            # lower is closer to the corpus; picking a model by the private corpus would not be private
            if not dp and quality["quality"] < _best_quality(models_dir / "best"):
                save_models(gan, models_dir / "best", cfg, {"epochs_trained": done, "command": command,
                                                            "quality": quality}, generator_only=True)
        rows.append(row)
        _write_log(log_path, rows)
        with writer.as_default():
            for k, v in row.items():
                if k != "epoch":
                    tf.summary.scalar(k, v, step=done)
        if done % t.save_every == 0 or done == t.epochs:
            save_models(gan, models_dir, cfg, {"batch": summary, "epochs_trained": done, "command": command})
    return gan
