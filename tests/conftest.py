"""Fixtures built in code: tiny MIDI files written with pretty_midi."""

import pretty_midi
import pytest

# A 4/4 C G Am F progression, one chord a bar, at 120 bpm (a beat is 0.5 s, a 16th 0.125 s).
PROGRESSION = [[48, 52, 55], [43, 47, 50], [45, 48, 52], [41, 45, 48]]
MELODY = [(72, 0, 2), (74, 2, 4), (76, 4, 8), (79, 8, 12), (76, 12, 14), (76, 14, 16)]  # steps in a bar


def write_midi(path, bars=8, bpm=120.0, meter=(4, 4), melody_name="Melody", accompaniment=True,
               drums_only=False, pitch_shift=0):
    """A song whose melody repeats MELODY each bar over the progression; returns the path."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    pm.time_signature_changes = [pretty_midi.TimeSignature(*meter, 0)]
    step = 60.0 / bpm / 4
    bar_len = 16 * step
    if drums_only:
        drums = pretty_midi.Instrument(0, is_drum=True, name="Drums")
        drums.notes = [pretty_midi.Note(100, 36, i * 4 * step, (i * 4 + 1) * step) for i in range(16)]
        pm.instruments.append(drums)
    else:
        mel = pretty_midi.Instrument(0, name=melody_name)
        mel.notes = [pretty_midi.Note(90, p + pitch_shift, b * bar_len + s * step, b * bar_len + e * step)
                     for b in range(bars) for p, s, e in MELODY]
        pm.instruments.append(mel)
        if accompaniment:
            acc = pretty_midi.Instrument(0, name="Piano")
            acc.notes = [pretty_midi.Note(70, p, b * bar_len, (b + 1) * bar_len)
                         for b in range(bars) for p in PROGRESSION[b % 4]]
            pm.instruments.append(acc)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


@pytest.fixture
def song_file(tmp_path):
    return write_midi(tmp_path / "song.mid")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A width-8 model trained one epoch on two tiny 4/4 songs and a waltz: ROOT/models, its corpus in ROOT/midi."""
    from musicgan.train import loop as training

    from .test_training import tiny_config

    root = tmp_path_factory.mktemp("tiny")
    for i in range(2):
        write_midi(root / "midi" / f"s{i}.mid", bars=8)
    write_midi(root / "midi" / "waltz.mid", bars=10, meter=(3, 4))     # so the model knows 3/4 too
    training.train(tiny_config(epochs=1), root / "midi", root / "models", progress=False, print_fn=str, jobs=1)
    return root / "models"
