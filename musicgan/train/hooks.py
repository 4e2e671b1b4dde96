"""What happens when an epoch ends: the log (CSV and TensorBoard), sample songs, the quality watch,
the best generator so far, and the export of the .h5 models; all before the epoch's checkpoint."""

import csv
import io
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..core.config import load_config
from ..core.files import write_text
from ..core.meter import Meter
from ..data.pipeline import conditions
from ..evaluate import metrics
from ..generate.arrangement import render_song
from ..generate.sampling import generate_melodies, sample_phrases
from ..harmony.chords import FEATURES
from ..harmony.progression import parse_progression, progression_features
from ..io.midi import write_song
from ..models import gan as networks
from ..models.files import save_models as save_model_files
from .checkpoints import one_line
from .pretrained import export_hashes
from .trainer import TrainingError

SAMPLE_PROGRESSIONS = ("C G Am F", "Am F C G", "Dm7 G7 Cmaj7 Cmaj7")
LOG_FIELDS = ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds", "quality", "chord_tone_ratio",
              "notes_per_bar", "mean_abs_interval", "diversity")
QUALITY_WINDOWS, QUALITY_SAMPLES = 16, 8     # corpus chord windows x noises per window, fixed per run
SAMPLE_METERS = 4                            # sample songs in at most this many of the corpus' meters


class EpochEnd:
    """The hooks of one run, called once per finished epoch with its log row."""

    def __init__(self, gan, cfg, models_dir, corpus, summary, command, print_fn, source=None, facts=None):
        self.gan, self.cfg, self.models_dir = gan, cfg, Path(models_dir)
        self.summary, self.command, self.print_fn = summary, command, print_fn
        self.source = {"corpus": source} if source else {}      # what `musicgan evaluate --data` is checked against
        self.source.update(facts or {})                         # e.g. the public model it started from
        self.watch = QualityWatch(corpus.melody, corpus.chords, corpus.meter, cfg.train.seed,
                                  cfg.train.sample_temperature)
        self.meters = corpus.meters()
        self.log_path = self.models_dir / "training_log.csv"
        self.rows = read_log(self.log_path, int(gan.epoch.numpy()))     # rows past the checkpoint are redone
        try:
            self.writer = tf.summary.create_file_writer(str(self.models_dir / "logs"))
        except tf.errors.OpError as e:
            raise TrainingError(f"cannot write TensorBoard logs in {self.models_dir / 'logs'} ({one_line(e)})") from None

    def __call__(self, done, row):
        """Everything after epoch `done` (1-based): privacy record, samples and quality, log, export."""
        t = self.cfg.train
        facts, fields, line = self.gan.epoch_record(done, self.summary["iterations_per_epoch"])
        self.summary.update(facts)
        row.update(fields)
        if line:
            self.print_fn(line)
        if done % t.sample_every == 0 or done == t.epochs:
            self.quality(done, row)
        self.rows.append(row)
        write_log(self.log_path, self.rows)
        with self.writer.as_default():
            for k, v in row.items():
                if k != "epoch":
                    tf.summary.scalar(k, v, step=done)
        if done % t.save_every == 0 or done == t.epochs:
            self.export(done)

    def quality(self, done, row):
        """Samples to listen to, the quality watch's figures, and the best generator so far."""
        generator, _ = self.gan.exported(discriminator=False)      # as it will be saved: float32
        write_samples(generator, self.models_dir, done, self.meters)
        quality = self.watch(generator)
        row.update({k: round(quality[k], 4) for k in LOG_FIELDS if k in quality})
        for warning in metrics.warnings_for(quality):
            self.print_fn(f"warning (epoch {done}): {warning}")
        # lower is closer to the corpus
        if self.gan.picks_best and quality["quality"] < best_quality(self.models_dir / "best"):
            save_models(self.gan, self.models_dir / "best", self.cfg, {"epochs_trained": done, "command": self.command,
                                                                     "meters": self.meters, "quality": quality,
                                                                     **self.source},
                        generator_only=True)

    def export(self, done):
        save_models(self.gan, self.models_dir, self.cfg, {"batch": self.summary, "epochs_trained": done,
                                                          "command": self.command, "meters": self.meters,
                                                          **self.source})
        export_hashes(self.models_dir)


def save_models(gan, models_dir, cfg, extra, generator_only=False):
    """generator.h5, discriminator.h5, gan.h5 (or the generator only) and config.json, in float32; for an
    LSTM lstm.h5 and config.json."""
    generator, discriminator = gan.exported(discriminator=not generator_only)
    models = [("lstm" if cfg.model.kind == "lstm" else "generator", generator)]
    if discriminator is not None:
        models += [("discriminator", discriminator), ("gan", networks.build_gan(generator, discriminator))]
    save_model_files(models, models_dir, cfg, extra)


def write_samples(generator, models_dir, epoch, meters, bpm=100.0):
    """8 bars over each fixed progression in models/samples/, in the corpus' most common meter, and over
    the first in each of its other meters (up to SAMPLE_METERS), so progress can be heard."""
    first, *others = [Meter.parse(m) for m in list(meters)[:SAMPLE_METERS]]
    jobs = [(first, text) for text in SAMPLE_PROGRESSIONS] + [(m, SAMPLE_PROGRESSIONS[0]) for m in others]
    paths = []
    for k, (meter, text) in enumerate(jobs):
        features, beat_chords = progression_features(parse_progression(text), 8, meter)
        tokens = generate_melodies(generator, features, meter, seed=k)[0][0]
        path = Path(models_dir) / "samples" / f"epoch{epoch:04d}_{k + 1}_{meter.numerator}-{meter.denominator}.mid"
        write_song(render_song(tokens, beat_chords, bpm, meter=meter), path)
        paths.append(path)
    return paths


class QualityWatch:
    """Cheap melody metrics on fixed corpus chord windows, compared with the corpus melodies there.

    GAN losses do not say when the music got good; this does, every `sample_every` epochs.
    """

    def __init__(self, melody, chord_ids, meters, seed, temperature=1.0):
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(melody), min(QUALITY_WINDOWS, len(melody)), replace=False)
        self.ids = np.repeat(chord_ids[pick], QUALITY_SAMPLES, 0)          # (windows * samples, slots)
        self.meters = np.repeat(meters[pick], QUALITY_SAMPLES, 0)
        self.real = metrics.summary_by_meter(melody, chord_ids, meters)    # the whole corpus
        self.seed, self.temperature = seed, temperature

    def __call__(self, generator):
        tokens = sample_phrases(generator, conditions(FEATURES[self.ids], self.meters), np.random.default_rng(self.seed),
                                temperature=self.temperature)
        m = metrics.summary_by_meter(tokens, self.ids, self.meters)
        m["diversity"] = float(np.mean([metrics.diversity(w) for w in tokens.reshape(-1, QUALITY_SAMPLES,
                                                                                      tokens.shape[1])]))
        m["quality"] = metrics.distance(m, self.real)
        return m


def best_quality(best_dir):
    try:
        return load_config(best_dir)[1]["quality"]["quality"]
    except (OSError, ValueError, KeyError):
        return float("inf")


def write_log(path, rows):
    """training_log.csv: LOG_FIELDS, then any other field the rows hold (e.g. ε under --dp)."""
    extra = [k for k in (rows[-1] if rows else {}) if k not in LOG_FIELDS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS + tuple(extra))
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def read_log(path, upto_epoch):
    try:
        with open(path) as f:
            return [r for r in csv.DictReader(f) if int(r["epoch"]) <= upto_epoch]
    except FileNotFoundError:
        return []
