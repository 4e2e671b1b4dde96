import numpy as np

from musicgan.core import constants as C
from musicgan.core.config import Representation
from musicgan.data import phrases as encoding
from musicgan.harmony import chords
from musicgan.io import midi as midi_io

from .conftest import MELODY, write_midi


def test_step_grid_follows_beats_with_tempo_change():
    beats = np.array([0.0, 0.5, 1.0, 1.25, 1.5])     # tempo doubles after beat 2
    grid = encoding.step_grid(beats)
    assert len(grid) == 5 * 4 + 1
    np.testing.assert_allclose(grid[:5], [0, 0.125, 0.25, 0.375, 0.5])
    np.testing.assert_allclose(grid[8:13], [1.0, 1.0625, 1.125, 1.1875, 1.25])


def test_notes_tokens_notes_round_trip():
    step = 0.125
    notes = [(60, 0, 4), (60, 4, 5), (67, 6, 12), (84, 12, 13), (48, 16, 32)]   # repeated C, a rest, range ends
    track = midi_io.make_track("m", [(p, s * step, e * step) for p, s, e in notes])
    grid = np.arange(33) * step
    pitch, onset = encoding.melody_line(track, grid)
    tokens = encoding.tokens_from_line(pitch, onset)
    assert tokens[:6].tolist() == [14, C.HOLD, C.HOLD, C.HOLD, 14, C.REST]
    back = encoding.tokens_to_notes(tokens, step)
    assert [(p, round(s / step), round(e / step)) for p, s, e in back] == notes


def test_melody_line_is_the_top_voice_and_reattacks_a_revealed_note():
    step = 0.25
    track = midi_io.make_track("m", [(60, 0, 8 * step), (72, 2 * step, 4 * step)])
    pitch, onset = encoding.melody_line(track, np.arange(9) * step)
    assert pitch.tolist() == [60, 60, 72, 72, 60, 60, 60, 60]
    assert onset.tolist() == [True, False, True, False, True, False, False, False]


def test_transpose_keeps_range_and_marks_overflow():
    tokens = np.array([[C.FIRST_PITCH_TOKEN + 30, C.HOLD, C.REST], [C.FIRST_PITCH_TOKEN, C.HOLD, C.REST]], np.uint8)
    up, ok = encoding.transpose(tokens, 6)
    assert ok.tolist() == [True, True] and up[0, 0] == tokens[0, 0] + 6 and up[0, 1] == C.HOLD
    _, ok = encoding.transpose(tokens, 7)
    assert ok.tolist() == [False, True]
    _, ok = encoding.transpose(tokens, -1)
    assert ok.tolist() == [True, False]


def test_fold_into_range():
    assert encoding.fold_into_range(np.array([-1, 30, 60, 100])).tolist() == [-1, 54, 60, 76]


def test_song_phrases_from_hand_made_midi(tmp_path):
    song = midi_io.read_song(write_midi(tmp_path / "a.mid", bars=8))
    ph = encoding.song_phrases(song, Representation(melody_chord_weight=0))
    assert ph["melody"].shape == (3, 64) and ph["chords"].shape == (3, 16) and ph["previous"].shape == (3, 16)
    assert ph["bar"].tolist() == [0, 2, 4]
    names = [chords.chord_name(c) for c in ph["chords"][0]]
    assert names == ["C"] * 4 + ["G"] * 4 + ["Am"] * 4 + ["F"] * 4
    notes = encoding.tokens_to_notes(ph["melody"][0][:16], 1)
    assert [(p, s, e) for p, s, e in notes] == MELODY
    assert (ph["previous"][0] == C.REST).all()
    np.testing.assert_array_equal(ph["previous"][1], ph["melody"][0][16:32])


def test_melody_out_of_range_moves_by_octaves(tmp_path):
    song = midi_io.read_song(write_midi(tmp_path / "hi.mid", bars=4, pitch_shift=24))   # up to MIDI 103
    mel = encoding.song_phrases(song, Representation())["melody"][0]
    first = encoding.tokens_to_notes(mel, 1)[0][0]
    assert first == MELODY[0][0] and mel.max() < C.VOCAB_SIZE


def test_a_lone_melody_track_is_its_own_harmony(tmp_path):
    song = midi_io.read_song(write_midi(tmp_path / "solo.mid", bars=4, accompaniment=False))
    ph = encoding.song_phrases(song, Representation(melody_chord_weight=0))
    assert ph["chords"].shape == (1, 16) and (ph["chords"] > 0).all()


def test_melody_weight_decides_between_accompaniment_and_all_voices():
    step = 0.125
    grid = np.arange(5) * step
    accomp = midi_io.make_track("acc", [(55, 0, 0.5), (58, 0, 0.5)])          # G Bb: Gm or Eb?
    melody = midi_io.make_track("mel", [(63, 0, 0.5)])                         # Eb on top
    ids = [encoding.beat_chords([melody, accomp], grid, [w, 1.0])[0] for w in (0.0, 0.5)]
    assert [chords.chord_name(i) for i in ids] == ["Gm", "Eb"]
