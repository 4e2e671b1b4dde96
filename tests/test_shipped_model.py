"""The models committed in models/ (each STYLE, its LSTM rival, chorales-dp) load, match their configs and
write songs (what `make demo` runs)."""

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from musicgan.core import constants as C
from musicgan.generate.songs import generate_songs
from musicgan.models.files import load_generator

ROOT = Path(__file__).resolve().parent.parent / C.MODELS_DIR
MODELS = ROOT / "chorales"
FOLK_EPOCH_7 = "603704caf6e1d917"      # weights_sha256 of the folk model after its 7 epochs from scratch


@pytest.mark.parametrize("style", C.STYLES)
def test_shipped_generator_writes_a_song(tmp_path, style):
    _, cfg, raw = load_generator(ROOT / style)
    assert raw["command"].startswith("python train.py") and 0 < raw["epochs_trained"] <= cfg.train.epochs
    assert (ROOT / style / "evaluation.json").exists()
    [(path, _)] = generate_songs("C G Am F", ROOT / style, bars=8, out=tmp_path / "s.mid", seed=1)
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


def test_the_folk_model_writes_jigs_waltzes_marches_and_reels(tmp_path):
    folk = ROOT / "folk"
    for meter in ("4/4", "3/4", "6/8", "2/4"):
        [(path, _)] = generate_songs("D G A D", folk, bars=8, out=tmp_path / "f.mid", seed=3, meter=meter)
        pm = pretty_midi.PrettyMIDI(str(path))
        assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [tuple(map(int, meter.split("/")))]
        assert len(pm.instruments[0].notes) >= 8


def test_shipped_lstm_beside_the_gan_writes_a_song_on_the_gan_s_split(tmp_path):
    from musicgan.evaluate.report import rival_differs
    from musicgan.models.files import load_model

    _, cfg, raw = load_model(MODELS / "lstm", "lstm")
    assert raw["model"]["kind"] == "lstm" and raw["epochs_trained"] > 0
    _, gan_cfg, gan_raw = load_generator(MODELS)
    assert rival_differs(gan_cfg, gan_raw, cfg, raw) == []
    [(path, _)] = generate_songs("C G Am F", MODELS / "lstm", bars=8, out=tmp_path / "s.mid", seed=1)
    pitches = np.array([n.pitch for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes])
    assert len(pitches) >= 8 and np.abs(np.diff(pitches)).max() <= 12


def test_shipped_private_model_records_its_guarantee_and_its_public_start(tmp_path):
    private = MODELS.parent / "chorales-dp"
    _, cfg, raw = load_generator(private)
    record = raw["batch"]["privacy"]
    assert cfg.privacy.dp and record["unit"] == "phrase" and record["delta"] == 1e-5
    assert record["epsilon_pld"] <= 8 and record["steps"] == raw["epochs_trained"] * record["iterations_per_epoch"]
    assert raw["init_from"]["epochs_trained"] >= 1 and raw["init_from"]["corpus"]["files"] > 10000   # the folk model
    # its public start is the folk model's epoch 7 (which the shipped folk model continued from, README),
    # sampled at that model's temperature
    assert raw["init_from"]["weights_sha256"] == FOLK_EPOCH_7 and raw["init_from"]["epochs_trained"] == 7
    assert raw["temperature"] == raw["init_from"]["temperature"] == 0.2
    assert not (private / "corpus_hashes.txt").exists()          # a private model lists no files
    [(path, _)] = generate_songs("C G Am F", private, bars=8, out=tmp_path / "p.mid", seed=1)
    pitches = np.array([n.pitch for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes])
    assert len(pitches) >= 8 and pitches.min() >= C.MIN_PITCH and pitches.max() <= C.MAX_PITCH
