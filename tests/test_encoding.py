import numpy as np
import pretty_midi

from musicgan.core import constants as C
from musicgan.core.config import Representation
from musicgan.data import phrases as encoding
from musicgan.data.grid import Grid, song_grid
from musicgan.harmony import chords
from musicgan.io import midi as midi_io

from .conftest import MELODY, write_midi


def _grid(step, steps):
    """A plain grid of `steps` steps of `step` seconds, bars of 16."""
    return Grid(np.arange(steps + 1) * step, np.arange(0, steps, 4), np.arange(0, steps, 16), [None] * (steps // 16))


def test_step_grid_follows_beats_with_tempo_change():
    beats = np.array([0.0, 0.5, 1.0, 1.25, 1.5])     # tempo doubles after beat 2
    grid = song_grid(midi_io.Song([], beats=beats, downbeats=beats[:1])).times
    assert len(grid) == 5 * 4 + 1
    np.testing.assert_allclose(grid[:5], [0, 0.125, 0.25, 0.375, 0.5])
    np.testing.assert_allclose(grid[8:13], [1.0, 1.0625, 1.125, 1.1875, 1.25])


def test_notes_tokens_notes_round_trip():
    step = 0.125
    notes = [(60, 0, 4), (60, 4, 5), (67, 6, 12), (84, 12, 13), (48, 16, 32)]   # repeated C, a rest, range ends
    track = midi_io.make_track("m", [(p, s * step, e * step) for p, s, e in notes])
    pitch, onset = encoding.melody_line(track, _grid(step, 32))
    tokens = encoding.tokens_from_line(pitch, onset)
    assert tokens[:6].tolist() == [14, C.HOLD, C.HOLD, C.HOLD, 14, C.REST]
    back = encoding.tokens_to_notes(tokens, step)
    assert [(p, round(s / step), round(e / step)) for p, s, e in back] == notes


def test_melody_line_is_the_top_voice_and_reattacks_a_revealed_note():
    step = 0.25
    track = midi_io.make_track("m", [(60, 0, 8 * step), (72, 2 * step, 4 * step)])
    pitch, onset = encoding.melody_line(track, _grid(step, 8))
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
    ph, info = encoding.song_phrases(song, Representation(melody_chord_weight=0))
    assert ph["melody"].shape == (3, 64) and ph["chords"].shape == (3, 32) and ph["previous"].shape == (3, 16)
    assert ph["bar"].tolist() == [0, 2, 4] and ph["meter"].tolist() == [[4, 4]] * 3
    assert info["meters"] == {"4/4": 3} and "'Melody'" in info["melody"]
    names = [chords.chord_name(c) for c in ph["chords"][0]]
    assert names == ["C"] * 8 + ["G"] * 8 + ["Am"] * 8 + ["F"] * 8
    notes = encoding.tokens_to_notes(ph["melody"][0][:16], 1)
    assert [(p, s, e) for p, s, e in notes] == MELODY
    assert (ph["previous"][0] == C.REST).all()
    np.testing.assert_array_equal(ph["previous"][1], ph["melody"][0][16:32])


def test_melody_out_of_range_moves_by_octaves(tmp_path):
    song = midi_io.read_song(write_midi(tmp_path / "hi.mid", bars=4, pitch_shift=24))   # up to MIDI 103
    mel = encoding.song_phrases(song, Representation())[0]["melody"][0]
    first = encoding.tokens_to_notes(mel, 1)[0][0]
    assert first == MELODY[0][0] and mel.max() < C.VOCAB_SIZE


def test_a_wide_melody_moves_only_by_octaves_that_keep_all_of_it_in_range(tmp_path):
    def lowest_and_reason(low, high):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        track = pretty_midi.Instrument(0, name="Melody")
        track.notes = [pretty_midi.Note(90, (low, high)[i % 2], i * 0.5, i * 0.5 + 0.5) for i in range(4 * 8)]
        pm.instruments.append(track)
        pm.write(str(tmp_path / "wide.mid"))
        try:
            mel = encoding.song_phrases(midi_io.read_song(tmp_path / "wide.mid"), Representation())[0]["melody"]
        except encoding.SkipSong as e:
            return str(e)
        assert mel.max() < C.VOCAB_SIZE
        return min(p for p, _, _ in encoding.tokens_to_notes(mel[0], 1))

    assert lowest_and_reason(50, 80) == 50                  # 30 semitones, inside: left as it is
    assert lowest_and_reason(46, 70) == 58                  # an octave up fits
    assert "melody range too wide" in lowest_and_reason(46, 77)   # up an octave overflows the top


def test_a_lone_melody_gets_chords_inferred_per_half_bar(tmp_path):
    song = midi_io.read_song(write_midi(tmp_path / "solo.mid", bars=4, accompaniment=False))
    ph, _ = encoding.song_phrases(song, Representation())
    assert ph["chords"].shape == (1, 32) and (ph["chords"] > 0).all()
    half_bars = ph["chords"][0].reshape(8, 4)                           # 4 slots = half a 4/4 bar
    assert (half_bars == half_bars[:, :1]).all()                        # changes only at half bars
    assert {chords.quality_name(c) for c in ph["chords"][0]} <= {"maj", "min", "7"}


def test_melody_weight_decides_between_accompaniment_and_all_voices():
    step = 0.125
    grid = _grid(step, 4)
    accomp = midi_io.make_track("acc", [(55, 0, 0.5), (58, 0, 0.5)])          # G Bb: Gm or Eb?
    melody = midi_io.make_track("mel", [(63, 0, 0.5)])                         # Eb on top
    ids = [encoding.beat_chords([melody, accomp], grid, [w, 1.0])[0] for w in (0.0, 0.5)]
    assert [chords.chord_name(i) for i in ids] == ["Gm", "Eb"]


def _meter_song(path, sections, bpm=120.0, pickup_quarters=0):
    """A MIDI file of (numerator, denominator, bars) sections: a scale-wise melody, one note a beat unit,
    an optional pickup of `pickup_quarters` in a time signature of its own before the first section."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    q = 60.0 / bpm
    t, notes, sigs = 0.0, [], []
    if pickup_quarters:
        sigs.append(pretty_midi.TimeSignature(pickup_quarters, 4, 0.0))
        notes += [(67, t + k * q, t + (k + 1) * q) for k in range(pickup_quarters)]
        t += pickup_quarters * q
    for num, den, bars in sections:
        sigs.append(pretty_midi.TimeSignature(num, den, t))
        unit = q * 4 / den
        for k in range(num * bars):
            notes.append((60 + [0, 2, 4, 5, 7, 5, 4, 2][k % 8], t, t + unit))
            t += unit
    mel = pretty_midi.Instrument(0, name="Melody")
    mel.notes = [pretty_midi.Note(90, p, s, e) for p, s, e in notes]
    pm.instruments.append(mel)
    pm.time_signature_changes = sigs
    pm.write(str(path))
    return path


def test_each_meter_section_has_its_own_bar_grid_and_a_pickup_shifts_nothing(tmp_path):
    song = midi_io.read_song(_meter_song(tmp_path / "m.mid", [(3, 4, 12), (6, 8, 12)], pickup_quarters=1))
    grid = song_grid(song)
    assert grid.bar_steps.tolist()[:2] == [4, 12] and grid.bar_steps.tolist()[13:15] == [12, 12]
    assert [str(m) for m in grid.bar_meters[:2]] + [str(grid.bar_meters[13])] == ["1/4", "3/4", "6/8"]
    ph, info = encoding.song_phrases(song, Representation())
    assert info["meters"] == {"3/4": 4, "6/8": 4}
    waltz = ph["meter"][:, 0] == 3
    assert ph["bar"][waltz].tolist() == [1, 3, 5, 7]                   # bar 0 is the pickup: phrases start after it
    first = encoding.tokens_to_notes(ph["melody"][waltz][0], 1)
    assert first[0][0] == 60 and [s for _, s, _ in first[:3]] == [0, 4, 8]   # the downbeat is the scale's start
    assert ph["previous"][waltz][0][-4] == 67 - 60 + 14                # the pickup is in the context
    jig = encoding.tokens_to_notes(ph["melody"][~waltz][0], 1)
    assert [s for _, s, _ in jig[:3]] == [0, 2, 4]                       # eighth notes on a 6/8 grid


def test_an_irregular_bar_breaks_a_run_but_keeps_the_tune(tmp_path):
    song = midi_io.read_song(_meter_song(tmp_path / "e.mid", [(4, 4, 6), (2, 4, 1), (4, 4, 6)]))
    ph, info = encoding.song_phrases(song, Representation(hop_bars=1))
    assert info["meters"] == {"4/4": 6}
    assert sorted(ph["bar"].tolist()) == [0, 1, 2, 7, 8, 9]              # no phrase spans the 2/4 bar


def test_a_meter_the_grid_cannot_hold_is_skipped_with_its_reason(tmp_path):
    song = midi_io.read_song(_meter_song(tmp_path / "x.mid", [(17, 4, 6)]))
    try:
        encoding.song_phrases(song, Representation())
    except encoding.SkipSong as e:
        assert "meter 17/4: a bar of 68 16ths is longer than the 64" in str(e)
    else:
        raise AssertionError("17/4 was not refused")
