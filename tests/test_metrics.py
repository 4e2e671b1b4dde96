import numpy as np
import pytest

from musicgan import chords, metrics
from musicgan import constants as C


def tok(p):
    return C.FIRST_PITCH_TOKEN + p - C.MIN_PITCH


C_MAJ = chords.parse_chord("C").id
H, R = C.HOLD, C.REST


def test_chord_tones_only_scores_one_and_a_foreign_note_lowers_it():
    bar = [tok(60), H, H, H, tok(64), H, H, H, tok(67), H, H, H, tok(72), H, H, H]
    ids = np.full((1, 4), C_MAJ)
    assert metrics.chord_tone_ratio(np.array([bar]), ids) == 1.0
    bar[4] = tok(62)                                   # D for one beat out of four
    assert metrics.chord_tone_ratio(np.array([bar]), ids) == pytest.approx(0.75)
    assert metrics.chord_tone_ratio(np.array([bar]), ids, strong_beats_only=True) == 1.0


def test_empty_bars_notes_per_bar_and_intervals():
    one = [tok(60), H, H, H, tok(72), H, H, H, tok(86 - 12), H, R, R, tok(60), R, R, R]
    empty = [R] * 16
    tokens = np.array([one + empty])
    assert metrics.empty_bar_rate(tokens) == 0.5
    assert metrics.notes_per_bar(tokens) == 2.0
    assert metrics.intervals(tokens).tolist() == [12, 2, 14]
    assert metrics.mean_abs_interval(tokens) == pytest.approx(28 / 3)
    assert metrics.leap_rate(tokens) == pytest.approx(1 / 3)


def test_sounding_pitch_carries_holds_and_stops_at_rests():
    tokens = np.array([[tok(60), H, R, H, tok(62)]])
    assert metrics.sounding_pitch(tokens).tolist() == [[60, 60, -1, -1, 62]]


def test_entropy_and_diversity():
    scale = np.array([[tok(60 + s) for s in (0, 2, 4, 5, 7, 9, 11, 12)]])
    assert metrics.pitch_class_entropy(scale) == pytest.approx(-(6 / 8 * np.log2(1 / 8) + 2 / 8 * np.log2(2 / 8)))
    same = np.repeat(scale, 3, 0)
    assert metrics.diversity(same) == 0.0
    other = same.copy()
    other[1, :4] = tok(48)
    assert metrics.diversity(other) == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_scale_range_and_fragments():
    c_major = [tok(60), H, tok(62), H, tok(64), H, tok(65), H, tok(67), H, tok(69), H, tok(71), H, tok(72), H]
    chromatic = [tok(60 + i) for i in range(16)]
    assert metrics.scale_consistency(np.array([c_major])) == 1.0
    assert metrics.scale_consistency(np.array([chromatic])) == pytest.approx(10 / 16)   # Db major: 7 pcs + C, Db, Eb again
    assert metrics.pitch_range(np.array([c_major, chromatic])) == pytest.approx((12 + 15) / 2)
    assert metrics.fragment_rate(np.array([c_major])) == 0.0
    assert metrics.fragment_rate(np.array([chromatic])) == 1.0
