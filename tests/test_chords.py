import numpy as np
import pytest

from musicgan.core.meter import Meter
from musicgan.harmony import chords, progression
from musicgan.harmony.progression import ChordError, parse_chord, parse_progression


@pytest.mark.parametrize("symbol, root, pcs, name", [
    ("C", 0, {0, 4, 7}, "C"), ("Bb", 10, {10, 2, 5}, "Bb"), ("F#m7", 6, {6, 9, 1, 4}, "F#m7"),
    ("Cmaj7", 0, {0, 4, 7, 11}, "Cmaj7"), ("Dm7b5", 2, {2, 5, 8, 0}, "Dm7b5"),
    ("Csus4", 0, {0, 5, 7}, "Csus4"), ("C/E", 0, {0, 4, 7}, "C"), ("Ebm6", 3, {3, 6, 10, 0}, "Ebm6"),
    ("C9", 0, {0, 2, 4, 7, 10}, "C7"), ("Am", 9, {9, 0, 4}, "Am"), ("Bdim7", 11, {11, 2, 5, 8}, "Bdim7"),
])
def test_parse_symbols(symbol, root, pcs, name):
    c = parse_chord(symbol)
    assert (c.root, set(c.pitch_classes), chords.chord_name(c.id)) == (root, pcs, name)
    assert c.features[:12].sum() == len(pcs) and c.features[12 + root] == 1


def test_slash_bass_and_no_chord():
    assert parse_chord("C/E").bass == 4
    assert parse_chord("C/D").pitch_classes == (0, 2, 4, 7)    # a foreign bass joins the chord
    nc = parse_chord("N.C.")
    assert nc.id == 0 and not nc.features.any()


def test_symbol_round_trip_every_template():
    for cid in range(chords.NUM_CHORDS):
        c = parse_chord(chords.chord_name(cid))
        assert c.id == cid
        np.testing.assert_array_equal(c.features, chords.FEATURES[cid])


def test_progression_bars_and_beats():
    bars = parse_progression("C G | Am F Dm | E7")
    assert [[c.symbol for c in b] for b in bars] == [["C", "G"], ["Am", "F", "Dm"], ["E7"]]
    feats, beats = progression.progression_features(bars, num_bars=4)
    assert feats.shape == (32, 24)                                        # 8 slots (8th notes) a 4/4 bar
    assert (feats[::2] == feats[1::2]).all()                              # one chord a beat at most
    assert [c.symbol for c in beats] == ["C", "C", "G", "G", "Am", "Am", "F", "Dm"] + ["E7"] * 4 + ["C", "C", "G", "G"]
    assert [len(b) for b in parse_progression("C G Am F")] == [1, 1, 1, 1]
    waltz, beats = progression.progression_features(parse_progression("C | G7 C"), 2, Meter(3, 4))
    assert waltz.shape == (12, 24) and [c.symbol for c in beats] == ["C"] * 3 + ["G7", "G7", "C"]
    jig, beats = progression.progression_features(parse_progression("D A |"), 1, Meter(6, 8))
    assert jig.shape == (6, 24) and [c.symbol for c in beats] == ["D", "A"]   # 6/8: two dotted-quarter beats


@pytest.mark.parametrize("text, token, position", [
    ("C G Hm F", "Hm", 3), ("C | Cxyz", "Cxyz", 2), ("Am7 F#m7/Z", "F#m7/Z", 2), ("C C7zz", "C7zz", 2)])
def test_bad_token_error_names_token_position_and_forms(text, token, position):
    with pytest.raises(ChordError) as err:
        parse_progression(text)
    msg = str(err.value)
    assert f"'{token}'" in msg and f"position {position}" in msg and "maj7" in msg and "N.C." in msg


def test_too_many_chords_in_a_bar_and_empty():
    with pytest.raises(ChordError, match="at most 4 in 4/4"):
        progression.progression_features(parse_progression("C D E F G |"), 1)
    with pytest.raises(ChordError, match="empty"):
        parse_progression("  ")


def test_recognise_every_template_root_and_inversion():
    """Root position is named exactly; any inversion at least spells the same pitch classes,
    and exactly when no other template shares them (C6 = Am7, dim7 and aug are symmetric)."""
    sets = [frozenset(np.nonzero(chords.TEMPLATES[c])[0]) for c in range(chords.NUM_CHORDS)]
    for cid in range(1, chords.NUM_CHORDS):
        for bass in sets[cid]:
            got = chords.recognise(chords.TEMPLATES[cid][None] * 2.0, np.array([bass]))[0]
            assert sets[got] == sets[cid], (chords.chord_name(cid), bass)
            if bass == chords.ROOTS[cid] or sets.count(sets[cid]) == 1:
                assert got == cid, (chords.chord_name(cid), bass, chords.chord_name(got))


def test_recognise_silence_and_passing_tone():
    w = np.zeros((2, 12))
    w[1, [0, 4, 7]] = 4
    w[1, 2] = 1                                  # a passing D does not turn C into Csus2 or C9
    assert chords.recognise(w, np.array([-1, 0])).tolist() == [0, chords.chord_id(0, 0)]


def test_transpose_ids():
    ids = np.array([0, parse_chord("Am").id, parse_chord("B7").id])
    assert [chords.chord_name(i) for i in chords.transpose_ids(ids, 3)] == ["N.C.", "Cm", "D7"]


def test_a_song_of_named_sections_in_a_form():
    plan = progression.parse_song("A: C G Am F; B: F G | C C", "AABA")
    assert [(name, len(bars)) for name, bars in plan] == [("A", 4), ("A", 4), ("B", 2), ("A", 4)]
    assert [c.symbol for c in plan[2][1][0]] == ["F", "G"]
    assert [n for n, _ in progression.parse_song("verse: C F; chorus: G C", "verse chorus verse")] == \
        ["verse", "chorus", "verse"]
    assert [n for n, _ in progression.parse_song("A: C; B: G")] == ["A", "B"]            # as written
    assert progression.parse_song("C G Am F")[0][0] == ""                                  # no sections
    for text, form, message in [("A: C; B: G", "ABX", "names X; the sections are A, B"),
                                ("A: C; G F", None, "'G F' has none"), ("A: C; A: G", None, "written twice"),
                                ("C G", "AB", "the progression has none")]:
        with pytest.raises(ChordError, match=message):
            progression.parse_song(text, form)
