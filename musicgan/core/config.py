"""One validated configuration for data, model and training, saved as JSON next to the models."""

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, ModelError
from .meter import SLOT_STEPS


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


CHORD_SPANS = ("bar", "half", "beat")
SCORE_CHORDS = ("viterbi", "beat")
# every chord kind of harmony.chords.QUALITIES (tests/test_inference.py holds the two equal)
ALL_CHORD_KINDS = ("", "m", "7", "m7", "maj7", "dim", "aug", "sus4", "sus2", "6", "m6", "m7b5", "dim7")


@dataclass(frozen=True)
class ChordInference:
    """Every knob of the key-aware chord Viterbi (harmony/inference.py). Defaults: for melody-only files,
    the best of the settings bench/chord_inference.py tried on the lead sheets, root per bar; full
    scores use Representation.score_inference (_score_inference below)."""
    span: str = "half"               # unit chords are inferred on: "bar", "half" or "beat"
    qualities: tuple = ("", "m", "7")  # chord kinds inferred: names in harmony.chords.QUALITIES
    concentration: float = 10.0      # emission = exp(concentration * cosine) (full scores: * template score); note_seq 100
    bar_change_prob: float = 0.8     # P(chord change) at a bar line
    mid_change_prob: float = 0.2     # P(chord change) at a span boundary inside a bar
    key_change_prob: float = 0.001   # P(key change) between two spans
    out_of_key_prob: float = 0.01    # P(a chord tone lies outside the key), the key-chord prior
    primary_weight: float = 8.0      # the key's I, IV, V and V7 (minor: i, iv, V, V7) are this much likelier
    key_prior: bool = True           # False: no keys, every chord equally likely
    minor_keys: bool = True          # add the 12 harmonic-minor keys to the 12 major ones

    def __post_init__(self):
        object.__setattr__(self, "qualities", tuple(self.qualities))    # a JSON list hashes as a tuple
        _check(self.span in CHORD_SPANS, f"span must be one of {', '.join(CHORD_SPANS)}; got {self.span!r}")
        _check(len(self.qualities) and len(set(self.qualities)) == len(self.qualities),
               f"qualities must be distinct chord kinds; got {self.qualities!r}")
        _check(0 < self.concentration < 1e4, f"concentration must be in (0, 1e4); got {self.concentration}")
        for name in ("bar_change_prob", "mid_change_prob", "key_change_prob"):
            _check(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1]; got {getattr(self, name)}")
        _check(1 <= self.primary_weight <= 1e3, f"primary_weight must be in [1, 1000]; got {self.primary_weight}")
        _check(0 < self.out_of_key_prob < 1, f"out_of_key_prob must be in (0, 1); got {self.out_of_key_prob}")


def _score_inference():
    """Full scores: per beat over every chord kind, emission = 20 x the template score; chosen on the 18
    Bach chorales with Roman-numeral analyses in music21 (bench/chord_inference.py, full scores)."""
    return ChordInference(span="beat", qualities=ALL_CHORD_KINDS, concentration=20.0, bar_change_prob=0.9,
                          mid_change_prob=0.7)


@dataclass
class Representation:
    """How MIDI becomes arrays; a cache or a model made with other values cannot be reused.

    A phrase is `phrase_steps` 16ths from a bar line, within bars of one meter (4 bars of 4/4, 5 1/3
    of 3/4: generation keeps the whole bars and starts the next phrase at a bar line), with the
    `context_steps` 16ths before it. Chords and the meter come per 8th-note slot (`meter.SLOT_STEPS`).
    """
    phrase_steps: int = 64        # 16ths per phrase (a multiple of 16: the discriminator halves it twice, then x4)
    context_steps: int = 16       # 16ths before the phrase that both networks see
    hop_bars: int = 2             # bars between the starts of consecutive phrases of a song
    melody_chord_weight: float = 0.5  # how much the melody votes in chord recognition against the
                                  # other tracks (0: accompaniment only, 1: all voices alike);
                                  # 0 / 0.5 / 1 agree with music21's chordify on 50 / 77 / 81% of
                                  # chorale beats (root + quality): bench/chord_agreement.py
    transpose: bool = True        # augment into every key where the melody stays in range
    chord_inference: ChordInference = field(default_factory=ChordInference)   # for melody-only files
    score_chords: str = "viterbi"  # full scores: "viterbi" smooths each beat's template scores with the
                                  # key-aware Viterbi of score_inference; "beat" labels each beat alone
                                  # (round 2's first labels; the shipped chorale model was trained on them)
    score_inference: ChordInference = field(default_factory=_score_inference)

    def __post_init__(self):
        _check(self.phrase_steps % 16 == 0 and 32 <= self.phrase_steps <= 256,
               f"phrase_steps must be a multiple of 16 in 32-256, got {self.phrase_steps}")
        _check(1 <= self.context_steps <= 64, f"context_steps must be 1-64, got {self.context_steps}")
        _check(1 <= self.hop_bars <= 16, f"hop_bars must be 1-16, got {self.hop_bars}")
        _check(0 <= self.melody_chord_weight <= 1,
               f"melody_chord_weight must be in [0, 1], got {self.melody_chord_weight}")
        _check(self.score_chords in SCORE_CHORDS,
               f"score_chords must be one of {', '.join(SCORE_CHORDS)}, got {self.score_chords!r}")

    @property
    def phrase_slots(self):
        return self.phrase_steps // SLOT_STEPS


MODEL_KINDS = ("gan", "lstm")


@dataclass
class ModelConfig:
    """Which model, and its network sizes: the GAN's (latent, local_noise, width, embed, pitch_channel,
    sounding_pitch, minibatch_std, wide_block) or the LSTM's."""
    kind: str = "gan"             # "gan" (models/gan.py) or "lstm", the autoregressive rival (models/lstm.py)
    latent: int = 64              # noise dimensions
    width: int = 128              # channels of the convolution blocks
    embed: int = 16               # embedding size of a previous-bar token
    pitch_channel: bool = False   # give the discriminator each onset's pitch height as a number
    sounding_pitch: bool = False  # ... and the height of the pitch sounding at every step, held through its holds
    minibatch_std: bool = False   # give the discriminator the batch's spread (against mode collapse; not with --dp)
    wide_block: bool = False      # a residual block of dilated filters in the generator's 8ths: each note reads
                                  # 24 more 16ths either side (1.5 bars of 4/4), beyond the half bar it reads without
    local_noise: int = 0          # noise channels per 16th fed to the generator's 16th-note blocks (noise
                                  # injection), beside the `latent` noise of the whole phrase
    lstm_units: int = 256         # cells per LSTM layer
    lstm_layers: int = 2
    lstm_dropout: float = 0.2     # dropout on each LSTM layer's output in training

    def __post_init__(self):
        _check(self.kind in MODEL_KINDS, f"model kind must be one of {', '.join(MODEL_KINDS)}, got {self.kind!r}")
        for name in ("latent", "width", "embed", "lstm_units"):
            _check(1 <= getattr(self, name) <= 4096, f"{name} must be 1-4096, got {getattr(self, name)}")
        _check(0 <= self.local_noise <= 16, f"local_noise must be 0-16, got {self.local_noise}")
        _check(1 <= self.lstm_layers <= 8, f"lstm_layers must be 1-8, got {self.lstm_layers}")
        _check(0 <= self.lstm_dropout < 1, f"lstm_dropout must be in [0, 1), got {self.lstm_dropout}")


def noise_width(rep, model):
    """The generator's noise input: `latent` numbers for the phrase, then `local_noise` for each 16th."""
    return model.latent + rep.phrase_steps * model.local_noise


LOSSES = ("nonsaturating", "wgan-gp")
LR_SCALINGS = ("auto", "none", "linear", "sqrt")
DP_UNITS = ("phrase", "song")
HOLDOUT_BY = ("tune", "song")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
SCRAMBLES = ("order", "chord_tones", "leaps")


@dataclass
class TrainConfig:
    """How training runs. Learning rates are for `reference_batch`; see `effective_lr`."""
    epochs: int = 40
    batch_size: int = 64
    loss: str = "wgan-gp"         # or "nonsaturating" (collapsed to one held note in 3 epochs: docs/experiments.md)
    d_steps: int = 1              # discriminator updates per generator update
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    lstm_lr: float = 1e-3         # the LSTM's Adam (Keras' default betas, gradients clipped to norm 1)
    beta1: float = 0.5
    beta2: float = 0.9
    label_smoothing: float = 0.9  # target for real logits (one-sided; non-saturating loss only)
    feature_matching: float = None  # weight of the feature-matching term in the generator loss;
                                  # default 1, or 0 under DP (it reads real data outside the private D step)
    gp_weight: float = 10.0       # gradient-penalty weight (wgan-gp only)
    gumbel_temperature: float = 1.0  # softness of the straight-through gradient (not what D sees)
    sample_temperature: float = 1.0  # D judges G's melodies drawn at this temperature: the one they will
                                  # be sampled at (a model sampled at 0.5 but judged at 1 is never shown
                                  # what users hear); the quality watch samples at it too; 0: the most
                                  # likely token, no draw (all of a melody's variety from the noise)
    lr_scaling: str = "auto"      # none | linear | sqrt, by batch_size / reference_batch; auto: linear
                                  # when several replicas share a batch above reference_batch, else none
    reference_batch: int = 64
    warmup_epochs: float = 1.0    # learning-rate warmup when scaled
    drop_remainder: bool = False
    meter_balance: float = 0.0    # 0: each epoch is a permutation of the rows; b > 0: N rows drawn with
                                  # replacement, a row's odds as (its meter's row count)^-b, so rare meters
                                  # are seen more often (1: every meter equally often)
    bar_chords: float = 0.0       # share of each epoch's rows whose chords come one a bar (the chord each
                                  # bar holds longest), as lead sheets and typed progressions give them
    epoch_rows: int = None        # rows an epoch draws (None: every row); fewer make shorter epochs, each
                                  # ending in its log row and checkpoint (a short fine-tune of a big
                                  # corpus); above N only with meter_balance (drawn with replacement)
    generator_average: float = 0.0  # decay of a moving average of G's weights, kept beside G and exported
                                  # (samples, quality watch, .h5) instead of its last step: 0.999 averages
                                  # about the last 1,000 G steps, smoothing a GAN's step-to-step swings;
                                  # 0: off (the last weights)
    mode_seeking: float = 0.0     # weight of a term that asks G to write different melodies for different
                                  # noise over the same conditions (MSGAN, Mao et al. 2019): + weight /
                                  # (how far apart two noises' token odds are / how far apart the noises
                                  # are), for a generator that ignores its noise; 0: off
    scrambled_negatives: float = 0.0  # share s of the critic's fakes that are real phrases with their notes'
                                  # pitches shuffled (rhythm kept): negative data augmentation (Sinha et al.
                                  # 2021), so that the critic learns the order of pitches, the steps; 0: off
    scramble: str = "order"       # what the scrambled negatives change: "order" (the notes' pitches shuffled
                                  # within the phrase) or "chord_tones" (each note moved to a random tone
                                  # of its chord within a fifth: an arpeggio over the same rhythm) or "leaps"
                                  # (each note moved to another pitch within a fifth, a chord tone
                                  # exactly when it was one: only the steps change)
    save_every: int = 5           # epochs between .h5 exports (and at the end)
    sample_every: int = 5         # epochs between sample MIDI files
    max_loss: float = 1e4         # a loss above this (or NaN) stops the run
    holdout: float = 0.15         # share of songs kept out of training for `musicgan evaluate`
    holdout_by: str = "tune"      # keep out whole tune families (songs sharing a passage), or single songs
    precision: str = "auto"       # float32, or mixed bfloat16 / float16; auto: what the hardware
                                  # multiplies fastest (train/precision.py), decided at the start
    seed: int = 0
    init_from: str = None         # a model folder both networks start from (public pretraining), or None
    init_optimizer: bool = False  # also take both optimizers' state from init_from's newest checkpoint
    d_train_blocks: int = None    # train only the last this many of D's 4 blocks + its head (the rest frozen
                                  # from init_from); None: every layer

    def __post_init__(self):
        _check(self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}")
        _check(self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}")
        _check(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        _check(self.lr_scaling in LR_SCALINGS,
               f"lr_scaling must be one of {', '.join(LR_SCALINGS)}, got {self.lr_scaling!r}")
        _check(self.d_steps >= 1, f"d_steps must be at least 1, got {self.d_steps}")
        _check(self.g_lr > 0 and self.d_lr > 0 and self.lstm_lr > 0, "learning rates must be positive")
        _check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must be in [0, 1)")
        _check(0 < self.label_smoothing <= 1, f"label_smoothing must be in (0, 1], got {self.label_smoothing}")
        _check(self.gumbel_temperature > 0, "gumbel_temperature must be positive")
        _check(0 <= self.sample_temperature <= 2, f"sample_temperature must be in [0, 2], got {self.sample_temperature}")
        _check(self.reference_batch >= 1 and self.warmup_epochs >= 0, "reference_batch >= 1, warmup_epochs >= 0")
        _check(self.save_every >= 1 and self.sample_every >= 1, "save_every and sample_every must be >= 1")
        _check(0 <= self.meter_balance <= 1, f"meter_balance must be in [0, 1], got {self.meter_balance}")
        _check(0 <= self.bar_chords <= 1, f"bar_chords must be in [0, 1], got {self.bar_chords}")
        _check(0 <= self.scrambled_negatives < 1,
               f"scrambled_negatives must be in [0, 1) (e.g. 0.2), got {self.scrambled_negatives}")
        _check(self.scramble in SCRAMBLES, f"scramble must be one of {', '.join(SCRAMBLES)}, got {self.scramble!r}")
        _check(self.mode_seeking >= 0, f"mode_seeking must be >= 0 (e.g. 1), got {self.mode_seeking}")
        _check(0 <= self.generator_average < 1,
               f"generator_average must be in [0, 1) (e.g. 0.999), got {self.generator_average}")
        _check(self.epoch_rows is None or self.epoch_rows >= 1,
               f"epoch_rows must be at least 1, got {self.epoch_rows}")
        _check(0 <= self.holdout < 1, f"holdout must be in [0, 1), got {self.holdout}")
        _check(self.holdout_by in HOLDOUT_BY,
               f"holdout_by must be one of {', '.join(HOLDOUT_BY)}, got {self.holdout_by!r}")
        _check(self.precision in PRECISIONS,
               f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        _check(self.d_train_blocks is None or 0 <= self.d_train_blocks <= 4,
               f"d_train_blocks must be 0-4 (of the discriminator's 4 blocks), got {self.d_train_blocks}")
        _check(self.init_from or (self.d_train_blocks is None and not self.init_optimizer),
               "--d-train-blocks and --init-optimizer need --init-from: layers frozen at their random "
               "start, or no optimizer state to take, would be no fine-tuning")

    def for_replicas(self, replicas):
        """This config with 'auto' scaling decided: linear for a distributed batch above the reference.

        One replica keeps 'none' (as before 'auto' existed); the decision is saved with the run.
        """
        if self.lr_scaling != "auto":
            return self
        grows = replicas > 1 and self.batch_size > self.reference_batch
        return dataclasses.replace(self, lr_scaling="linear" if grows else "none")

    def lr_factor(self):
        """Multiplier of the base learning rates for this batch size (large batches need larger steps)."""
        ratio = self.batch_size / self.reference_batch
        return {"auto": 1.0, "none": 1.0, "linear": ratio, "sqrt": ratio ** 0.5}[self.lr_scaling]

    def lr_factor_at(self, step, iters_per_epoch):
        """`lr_factor`, ramped linearly from 1 over the warmup when scaling is on."""
        factor, warmup = self.lr_factor(), self.warmup_epochs * iters_per_epoch
        if self.lr_scaling != "none" and warmup > 0:
            factor = 1 + (factor - 1) * min(1.0, (step + 1) / warmup)
        return factor


@dataclass
class PrivacyConfig:
    """DP-SGD for the discriminator (musicgan/train/privacy.py); off unless `dp`."""
    dp: bool = False
    noise_multiplier: float = 1.0 # σ: Gaussian noise std over the clip norm
    l2_clip: float = 1.0          # C: each unit's gradient is clipped to this L2 norm
    delta: float = 1e-5           # δ of the (ε, δ) guarantee; must be below 1/units
    target_epsilon: float = None  # stop before ε would exceed this (None: run all epochs)
    unit: str = "phrase"          # phrase (with its transpositions) or song: what one person may own

    def __post_init__(self):
        _check(self.noise_multiplier > 0, f"noise multiplier must be positive, got {self.noise_multiplier}")
        _check(self.l2_clip > 0, f"clip norm must be positive, got {self.l2_clip}")
        _check(0 < self.delta < 1, f"delta must be in (0, 1), got {self.delta}")
        _check(self.target_epsilon is None or self.target_epsilon > 0, "target epsilon must be positive")
        _check(self.unit in DP_UNITS, f"privacy unit must be one of {', '.join(DP_UNITS)}, got {self.unit!r}")


CONFIG_PARTS = ("representation", "model", "train", "privacy")


@dataclass
class Config:
    representation: Representation = field(default_factory=Representation)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def __post_init__(self):
        if self.train.feature_matching is None:
            self.train.feature_matching = 0.0 if self.privacy.dp else 1.0
        _check(not (self.privacy.dp and self.train.feature_matching > 0),
               "feature matching reads real data in the generator step, outside the private "
               "discriminator: set train.feature_matching to 0 with --dp")
        _check(not (self.privacy.dp and self.train.meter_balance),
               "--dp draws each batch by Poisson sampling, which its epsilon counts; train.meter_balance "
               "would change those odds: leave it at 0 with --dp")
        _check(not (self.privacy.dp and self.train.epoch_rows is not None),
               "--dp's epoch is ceil(N/B) Poisson-sampled batches, which its epsilon counts; leave "
               "train.epoch_rows unset with --dp (--dp-target-epsilon stops a run early)")
        _check(not (self.privacy.dp and self.train.bar_chords),
               "--dp's private batches read each phrase's own chords; train.bar_chords is not made for them "
               "yet: leave it at 0 with --dp")
        _check(not (self.privacy.dp and self.train.scrambled_negatives),
               "--dp's private discriminator step is made for real and generated phrases only; leave "
               "train.scrambled_negatives at 0 with --dp")
        _check(not (self.privacy.dp and self.model.minibatch_std),
               "--dp needs each example's gradient alone; model.minibatch_std makes the critic read the "
               "whole batch: leave it off with --dp")
        _check(not (self.privacy.dp and self.model.kind == "lstm"),
               "--dp trains the GAN's discriminator privately; the LSTM reads the music itself: train it "
               "without --dp")
        _check(not (self.model.kind == "lstm" and self.train.mode_seeking),
               "train.mode_seeking asks the GAN generator to use its noise; the LSTM has none: leave it at 0")
        _check(not (self.model.kind == "lstm" and self.train.generator_average),
               "train.generator_average averages the GAN generator's weights; the LSTM has none: leave it at 0")
        _check(not (self.model.kind == "lstm" and (self.train.init_from or self.train.d_train_blocks is not None)),
               "--init-from and --d-train-blocks start and freeze a GAN's networks; the LSTM trains from scratch")

    def to_dict(self):
        return dataclasses.asdict(self)


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _typed(f, value, where):
    """`value` for field `f` if it has the field's type (an int does for a float; None where the
    default is None), else ConfigError naming the setting, what it got and what it wants."""
    kind = f.type
    if (value is None and f.default is None) or kind not in _KINDS:
        return value
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    else:
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{where}{f.name} must be {_KINDS[kind]}, got {_shown(value)}")
    return float(value) if kind is float else value


def _shown(value):
    return json.dumps(value, default=repr)[:60]


def from_dict(cls, data, where="", base=None):
    """Build dataclass `cls` from a (possibly nested) dict, naming any unknown key or wrongly typed value.
    A key left out keeps its value in `base` (a nested part whose default is not its class's own, such
    as Representation.score_inference), else cls's default."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where.rstrip('.') or cls.__name__} must be a JSON object of settings "
                          f"({{\"name\": value, ...}}), got {_shown(data)}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} setting(s): {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in data.items():
        f = names[key]
        if isinstance(f.type, type) and dataclasses.is_dataclass(f.type):
            factory = f.default_factory        # a factory of other defaults than the class's own is the base
            base_value = factory() if factory not in (dataclasses.MISSING, f.type) else None
            kwargs[key] = from_dict(f.type, value, f"{where}{key}.", base_value)
        else:
            kwargs[key] = _typed(f, value, where)
    return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)


def config_from_dict(data):
    return from_dict(Config, data)


def save_config(models_dir, cfg, extra=None):
    """models_dir/config.json: the config plus `extra` facts (versions, epochs trained, batch summary)."""
    from .. import __version__
    from .files import write_text

    data = {**cfg.to_dict(), "musicgan_version": __version__, **(extra or {})}
    write_text(Path(models_dir) / "config.json", json.dumps(data, indent=2, sort_keys=True))


def load_config(models_dir):
    """(Config, raw dict) from models_dir/config.json, with errors that say what to do."""
    path = Path(models_dir) / "config.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: train a model with `python train.py --models "
                                f"{models_dir}`") from None
    except ValueError as e:
        raise ConfigError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {_shown(data)}")
    parts = {k: data[k] for k in CONFIG_PARTS if k in data}
    if isinstance(parts.get("representation"), dict) and "phrase_bars" in parts["representation"]:
        raise ModelError(f"{path} is of a model made before musicgan read meters (phrases of 4/4 bars); "
                         f"retrain it with `python train.py --models {models_dir} --fresh`")
    if isinstance(parts.get("train"), dict) and "holdout_by" not in parts["train"]:   # saved before tune families
        parts["train"] = {**parts["train"], "holdout_by": "song"}
    if "train" in parts and isinstance(parts["train"], dict) and "precision" not in parts["train"]:
        parts["train"] = {**parts["train"], "precision": "float32"}      # saved before mixed precision existed
    if isinstance(parts.get("representation"), dict) and "score_chords" not in parts["representation"]:
        parts["representation"] = {**parts["representation"], "score_chords": "beat"}   # before smoothing
    try:
        return config_from_dict(parts), data
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
