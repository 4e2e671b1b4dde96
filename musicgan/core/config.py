"""One validated configuration for data, model and training, saved as JSON next to the models."""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, ModelError
from .meter import FOUR_FOUR


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


@dataclass
class Representation:
    """How MIDI becomes arrays; a cache or a model made with other values cannot be reused."""
    phrase_bars: int = 4          # bars per training phrase
    hop_bars: int = 2             # bars between the starts of consecutive phrases of a song
    melody_chord_weight: float = 0.5  # how much the melody votes in chord recognition against the
                                  # other tracks (0: accompaniment only, 1: all voices alike);
                                  # 0 / 0.5 / 1 agree with music21's chordify on 50 / 77 / 81% of
                                  # chorale beats (root + quality): bench/chord_agreement.py
    transpose: bool = True        # augment into every key where the melody stays in range

    def __post_init__(self):
        _check(1 <= self.phrase_bars <= 16, f"phrase_bars must be 1-16, got {self.phrase_bars}")
        _check(1 <= self.hop_bars <= self.phrase_bars,
               f"hop_bars must be 1..phrase_bars ({self.phrase_bars}), got {self.hop_bars}")
        _check(0 <= self.melody_chord_weight <= 1,
               f"melody_chord_weight must be in [0, 1], got {self.melody_chord_weight}")

    @property
    def meter(self):
        """The meter phrases are cut in (4/4 only until the representation learns the others)."""
        return FOUR_FOUR

    @property
    def phrase_steps(self):
        return self.meter.steps(self.phrase_bars)

    @property
    def phrase_beats(self):
        return self.meter.beats(self.phrase_bars)


@dataclass
class ModelConfig:
    """Network sizes."""
    latent: int = 64              # noise dimensions
    width: int = 128              # channels of the convolution blocks
    embed: int = 16               # embedding size of a previous-bar token
    pitch_channel: bool = False   # give the discriminator each onset's pitch height as a number

    def __post_init__(self):
        for name in ("latent", "width", "embed"):
            _check(1 <= getattr(self, name) <= 4096, f"{name} must be 1-4096, got {getattr(self, name)}")


LOSSES = ("nonsaturating", "wgan-gp")
LR_SCALINGS = ("auto", "none", "linear", "sqrt")
DP_UNITS = ("phrase", "song")
HOLDOUT_BY = ("tune", "song")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")


@dataclass
class TrainConfig:
    """How training runs. Learning rates are for `reference_batch`; see `effective_lr`."""
    epochs: int = 40
    batch_size: int = 64
    loss: str = "wgan-gp"         # or "nonsaturating" (collapsed to one held note in 3 epochs: docs/experiments.md)
    d_steps: int = 1              # discriminator updates per generator update
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    label_smoothing: float = 0.9  # target for real logits (one-sided; non-saturating loss only)
    feature_matching: float = None  # weight of the feature-matching term in the generator loss;
                                  # default 1, or 0 under DP (it reads real data outside the private D step)
    gp_weight: float = 10.0       # gradient-penalty weight (wgan-gp only)
    gumbel_temperature: float = 1.0
    lr_scaling: str = "auto"      # none | linear | sqrt, by batch_size / reference_batch; auto: linear
                                  # when several replicas share a batch above reference_batch, else none
    reference_batch: int = 64
    warmup_epochs: float = 1.0    # learning-rate warmup when scaled
    drop_remainder: bool = False
    save_every: int = 5           # epochs between .h5 exports (and at the end)
    sample_every: int = 5         # epochs between sample MIDI files
    max_loss: float = 1e4         # a loss above this (or NaN) stops the run
    holdout: float = 0.15         # share of songs kept out of training for `musicgan evaluate`
    holdout_by: str = "tune"      # keep out whole tune families (songs sharing a passage), or single songs
    precision: str = "auto"       # float32, or mixed bfloat16 / float16; auto: what the hardware
                                  # multiplies fastest (train/precision.py), decided at the start
    seed: int = 0

    def __post_init__(self):
        _check(self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}")
        _check(self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}")
        _check(self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        _check(self.lr_scaling in LR_SCALINGS,
               f"lr_scaling must be one of {', '.join(LR_SCALINGS)}, got {self.lr_scaling!r}")
        _check(self.d_steps >= 1, f"d_steps must be at least 1, got {self.d_steps}")
        _check(self.g_lr > 0 and self.d_lr > 0, "learning rates must be positive")
        _check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must be in [0, 1)")
        _check(0 < self.label_smoothing <= 1, f"label_smoothing must be in (0, 1], got {self.label_smoothing}")
        _check(self.gumbel_temperature > 0, "gumbel_temperature must be positive")
        _check(self.reference_batch >= 1 and self.warmup_epochs >= 0, "reference_batch >= 1, warmup_epochs >= 0")
        _check(self.save_every >= 1 and self.sample_every >= 1, "save_every and sample_every must be >= 1")
        _check(0 <= self.holdout < 1, f"holdout must be in [0, 1), got {self.holdout}")
        _check(self.holdout_by in HOLDOUT_BY,
               f"holdout_by must be one of {', '.join(HOLDOUT_BY)}, got {self.holdout_by!r}")
        _check(self.precision in PRECISIONS,
               f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

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

    def to_dict(self):
        return dataclasses.asdict(self)


def from_dict(cls, data):
    """Build dataclass `cls` from a (possibly nested) dict, naming any unknown key."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} setting(s): {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in data.items():
        sub = names[key].default_factory if names[key].default_factory is not dataclasses.MISSING else None
        kwargs[key] = from_dict(sub, value) if dataclasses.is_dataclass(sub) and isinstance(value, dict) else value
    return cls(**kwargs)


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
    parts = {k: data[k] for k in CONFIG_PARTS if k in data}
    if "train" in parts and "holdout_by" not in parts["train"]:      # saved before tune families existed
        parts["train"] = {**parts["train"], "holdout_by": "song"}
    if "train" in parts and "precision" not in parts["train"]:      # saved before mixed precision existed
        parts["train"] = {**parts["train"], "precision": "float32"}
    return config_from_dict(parts), data
