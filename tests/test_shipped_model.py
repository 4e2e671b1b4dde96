"""The model committed in models/chorales/ loads, matches its config and writes a song (what `make demo` runs)."""

from pathlib import Path

import numpy as np
import pretty_midi

from musicgan.core import constants as C
from musicgan.generate.songs import generate_songs
from musicgan.models.files import load_generator

MODELS = Path(__file__).resolve().parent.parent / "models" / "chorales"


def test_shipped_generator_writes_a_song(tmp_path):
    _, cfg, raw = load_generator(MODELS)
    assert raw["command"].startswith("python train.py") and 0 < raw["epochs_trained"] <= cfg.train.epochs
    [(path, _)] = generate_songs("C G Am F", MODELS, bars=8, out=tmp_path / "s.mid", seed=1)
    melody = pretty_midi.PrettyMIDI(str(path)).instruments[0].notes
    pitches = np.array([n.pitch for n in melody])
    assert len(melody) >= 8 and pitches.min() >= C.MIN_PITCH and pitches.max() <= C.MAX_PITCH
    assert np.abs(np.diff(pitches)).max() <= 12           # a trained melody, not noise
