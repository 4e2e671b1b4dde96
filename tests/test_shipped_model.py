"""The models committed in models/ (chorales, chorales-dp) load, match their configs and write a song (what `make demo` runs)."""

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


def test_shipped_generator_knows_its_meters_and_writes_a_waltz(tmp_path):
    _, _, raw = load_generator(MODELS)
    assert {"4/4", "3/4"} <= set(raw["meters"])
    [(path, meta)] = generate_songs("C G7 | C", MODELS, bars=8, out=tmp_path / "w.mid", seed=2, meter="3/4")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert meta["meter"] == "3/4" and [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(3, 4)]
    assert len(pm.get_downbeats()) >= 8 and len(pm.instruments[0].notes) >= 8


def test_shipped_private_model_records_its_guarantee_and_its_public_start(tmp_path):
    private = MODELS.parent / "chorales-dp"
    _, cfg, raw = load_generator(private)
    record = raw["batch"]["privacy"]
    assert cfg.privacy.dp and record["unit"] == "phrase" and record["delta"] == 1e-5
    assert record["epsilon_pld"] <= 8 and record["steps"] == raw["epochs_trained"] * record["iterations_per_epoch"]
    assert raw["init_from"]["epochs_trained"] >= 1 and raw["init_from"]["corpus"]["files"] > 10000   # the folk model
    assert not (private / "corpus_hashes.txt").exists()          # a private model lists no files
    [(path, _)] = generate_songs("C G Am F", private, bars=8, out=tmp_path / "p.mid", seed=1)
    pitches = np.array([n.pitch for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes])
    assert len(pitches) >= 8 and pitches.min() >= C.MIN_PITCH and pitches.max() <= C.MAX_PITCH
