"""Songs from a trained model: load generator.h5 + config.json, write MIDI (and a JSON sidecar) per sample."""

import json
import re
from pathlib import Path

from . import chords as ch
from . import constants as C
from . import quiet_tensorflow_import
from .config import load_config
from .files import write_text
from .midi_io import write_song
from .sampling import generate_melodies, render_song


class ModelError(ValueError):
    """A model folder that cannot be used; the message says which file and how to get a good one."""


def key_shift(key):
    """Semitones to move a progression written in C: 'D' -> 2, 'Bb' -> -2, '-3' -> -3, '+5' -> 5."""
    if key is None:
        return 0
    try:
        return int(key)
    except ValueError:
        pass
    if not re.fullmatch(r"[A-G][#b]?", key):
        raise ValueError(f"bad --key {key!r}: give a note name (C, D, Eb, F#, ...) or semitones (-3, +2)")
    root = ch.parse_chord(key).root
    return root - 12 if root > 6 else root


def load_generator(models_dir, engine="numpy"):
    """(generator, Config, raw config.json dict) from models_dir, checked against each other.

    engine "numpy" runs generator.h5 without TensorFlow (`numpy_model`) when it holds only layers
    that module knows, else loads Keras, as engine "keras" always does.
    """
    if engine not in ("numpy", "keras"):
        raise ValueError(f"engine must be numpy or keras, got {engine!r}")
    models_dir = Path(models_dir)
    path = models_dir / "generator.h5"
    if not path.exists():
        raise ModelError(f"no trained model at {path}: train one with `python train.py --models {models_dir}`"
                         " (or pass --models DIR)")
    cfg, raw = load_config(models_dir)
    try:
        generator = _load(path, engine)
    except Exception as e:  # noqa: BLE001 - h5py and Keras raise many kinds on a bad file
        raise ModelError(f"cannot load {path} ({str(e).splitlines()[0][:100]}); retrain it with "
                         f"`python train.py --models {models_dir} --fresh`") from None
    rep, model = cfg.representation, cfg.model
    expected = {"noise": (model.latent,), "chords": (rep.phrase_bars * C.BEATS_PER_BAR, C.CHORD_DIM),
                "previous": (C.STEPS_PER_BAR,)}
    found = {i.name: tuple(i.shape[1:]) for i in generator.inputs}
    output = tuple(generator.output.shape[1:])
    if found != expected or output != (rep.phrase_bars * C.STEPS_PER_BAR, C.VOCAB_SIZE):
        raise ModelError(f"{path} does not match {models_dir / 'config.json'}: the model takes {found} -> "
                         f"{output}, the config says {expected} -> "
                         f"{(rep.phrase_bars * C.STEPS_PER_BAR, C.VOCAB_SIZE)}; retrain or restore the pair")
    return generator, cfg, raw


def _load(path, engine):
    if engine == "numpy":
        from .numpy_model import NumpyGenerator, Unsupported

        try:
            return NumpyGenerator(path)
        except Unsupported:
            pass
    quiet_tensorflow_import()
    import keras

    return keras.models.load_model(path, compile=False)


def song_paths(out, num_samples):
    out = Path(out)
    if num_samples == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i + 1:02d}{out.suffix}") for i in range(num_samples)]


def generate_songs(progression, models_dir="models", bars=16, out="out/song.mid", num_samples=1, seed=0,
                   temperature=1.0, bpm=100.0, accompaniment="block", melody_program=0, chord_program=0,
                   key=None):
    """Write `num_samples` songs over the progression; returns [(midi path, metadata dict)]."""
    if bars < 1:
        raise ValueError(f"--bars must be at least 1, got {bars}")
    if not 20 <= bpm <= 400:
        raise ValueError(f"--bpm must be 20-400, got {bpm}")
    if temperature < 0:
        raise ValueError(f"--temperature must be >= 0, got {temperature}")
    bar_chords = ch.parse_progression(progression)
    shift = key_shift(key)
    if shift:
        bar_chords = [[c.transposed(shift) for c in bar] for bar in bar_chords]
    features, beat_chords = ch.progression_features(bar_chords, bars)
    generator, cfg, raw = load_generator(models_dir)
    tokens = generate_melodies(generator, features, cfg.representation.phrase_bars, num_samples, seed, temperature)
    names = [c.symbol for c in beat_chords]
    results = []
    for i, (path, melody) in enumerate(zip(song_paths(out, num_samples), tokens)):
        write_song(render_song(melody, beat_chords, bpm, accompaniment, melody_program, chord_program), path)
        meta = {"chords": " | ".join(" ".join(c.symbol for c in bar) for bar in bar_chords), "bars": bars,
                "bpm": bpm, "seed": seed, "sample": i + 1, "temperature": temperature, "key_shift": shift,
                "model": str(models_dir), "model_epochs": raw.get("epochs_trained"), "beat_chords": names}
        write_text(Path(path).with_suffix(".json"), json.dumps(meta, indent=1))
        results.append((Path(path), meta))
    return results
