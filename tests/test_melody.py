"""Melody detection on small songs built in code, where the old rule (name, else highest) fails."""

import numpy as np
import pytest

from musicgan.core import constants as C
from musicgan.data import melody
from musicgan.io.midi import make_track

BEAT = 0.5                                                   # seconds, 120 bpm
# p5..p95 of TUNE, which the reason prints as its register, is 60..68.25
TUNE = [60, 62, 64, 65, 67, 65, 64, 62, 64, 65, 67, 69, 67, 65, 64, 60]   # steps, one a beat
CHORDS = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]         # one a bar (4 beats)


def tune(name="Track 1", program=0, shift=0):
    return make_track(name, [(p + shift, k * BEAT, (k + 0.9) * BEAT) for k, p in enumerate(TUNE)], program)


def pad_above(name="Track 2", program=89):
    """Block chords an octave and more above the tune, one a bar."""
    return make_track(name, [(p + 12, b * 4 * BEAT, (b + 1) * 4 * BEAT)
                             for b, chord in enumerate(CHORDS) for p in chord], program)


def bass(name="Track 3"):
    return make_track(name, [(chord[0] - 24, b * 4 * BEAT + k * BEAT, b * 4 * BEAT + (k + 0.9) * BEAT)
                             for b, chord in enumerate(CHORDS) for k in range(4)], 33)


def drums(name="Track 4"):
    return make_track(name, [(p, k * BEAT, (k + 0.2) * BEAT) for k, p in enumerate([36, 42, 38, 42] * 4)],
                      is_drum=True)


def old_rule(tracks):
    """Round 1's pick: a track named like a melody, else the highest-pitched non-drum track."""
    candidates = [i for i, t in enumerate(tracks) if not t.is_drum and len(t)]
    named = [i for i in candidates if any(n in tracks[i].name.lower() for n in C.MELODY_NAMES)]
    return named[0] if named else max(candidates, key=lambda i: np.mean(tracks[i].pitches))


def test_pad_above_the_tune_fools_the_old_rule_not_this_one():
    tracks = [pad_above(), bass(), drums(), tune()]
    assert old_rule(tracks) == 0                             # the highest mean pitch
    index, reason = melody.pick_melody(tracks)
    assert index == 3
    assert reason.startswith("track 3 'Track 1': monophonic 100%, register 60-68, on top 100%; runner-up track")


def test_a_pad_named_lead_loses_to_the_unnamed_tune():
    tracks = [drums("Drums"), tune("Synth"), pad_above("Lead"), bass("Bass")]
    assert old_rule(tracks) == 2                             # "lead" is a melody name
    assert melody.pick_melody(tracks)[0] == 1


def test_the_name_decides_between_two_equal_lines():
    for order in ([tune("Strings 2"), tune("Vocal")], [tune("Vocal"), tune("Strings 2")]):
        index, reason = melody.pick_melody(order)
        assert order[index].name == "Vocal"
        assert "name says melody" in reason


@pytest.mark.parametrize("name, cue", [("Lead Vocal", 1.0), ("MELODY", 1.0), ("Bass", -1.0), ("Warm Pad", -1.0),
                                       ("Strings", -1.0), ("Backing Vocals", 0.0), ("Bassoon", 0.0),
                                       ("Harp", 0.0), ("Track 3", 0.0), ("", 0.0)])
def test_name_cue(name, cue):
    assert melody.track_scores([tune(name)])[0]["cues"]["name"] == cue


def test_drums_are_never_picked_whatever_they_are_called():
    tracks = [make_track("Melody", [(60 + k % 5, k * BEAT, (k + 0.9) * BEAT) for k in range(16)], is_drum=True),
              bass()]
    assert melody.pick_melody(tracks)[0] == 1
    assert [row["index"] for row in melody.track_scores(tracks)] == [1]


def test_no_melodic_track_is_a_typed_error():
    with pytest.raises(melody.NoMelodyTrack, match="no non-drum track with notes"):
        melody.pick_melody([drums(), make_track("Empty", [])])
    with pytest.raises(melody.NoMelodyTrack):
        melody.pick_melody([])


def test_a_single_track_song_picks_it():
    assert melody.pick_melody([tune("Piano")]) == (
        0, "track 0 'Piano': monophonic 100%, register 60-68, on top 100%; the only melodic track")


def test_weights_must_name_every_cue():
    with pytest.raises(ValueError, match="weights must name exactly the cues"):
        melody.pick_melody([tune()], weights={"name": 1.0})


def test_monophony_counts_pitch_classes_so_octaves_are_one_line():
    # 0-1 s one note, 1-2 s a third (two classes), 2-3 s an octave (one class), 3-4 s silent, 4-5 s one
    t = make_track("x", [(60, 0, 1), (60, 1, 2), (64, 1, 2), (67, 2, 3), (79, 2, 3), (62, 4, 5)])
    assert melody.track_scores([t])[0]["features"]["monophony"] == pytest.approx(3 / 4)


def test_prominence_ignores_chords_but_not_lines_above():
    line = make_track("line", [(60, 0, 1), (62, 1, 2), (64, 2, 3), (65, 3, 4)])
    chords = make_track("pad", [(70, 0, 2), (74, 0, 2)])                    # a chord on top: no rival
    high = make_track("descant", [(72, 2, 3)])                              # a line on top for 1 s of 4
    rows = melody.track_scores([line, chords, high])
    assert rows[0]["features"]["prominence"] == pytest.approx(3 / 4)
    assert rows[1]["features"]["prominence"] == pytest.approx(1.0)
    assert rows[2]["features"]["prominence"] == pytest.approx(1.0)


def test_repetition_of_a_looped_figure():
    figure = make_track("arp", [(p, k * 0.25, (k + 1) * 0.25) for k, p in enumerate([60, 64, 67, 72] * 3)])
    # 11 attacks with a following onset -> 8 figures of 4; the last 4 repeat the first 4
    assert melody.track_scores([figure])[0]["features"]["repetition"] == pytest.approx(0.5)
    # the tune's 12 figures repeat once: 62 64 65 67 (beats 1-4) comes back at beats 7-10
    assert melody.track_scores([tune()])[0]["features"]["repetition"] == pytest.approx(1 / 12)


def test_each_cue_stays_in_its_range_and_the_score_is_their_weighted_sum():
    rows = melody.track_scores([pad_above(), bass(), drums(), tune()])
    for row in rows:
        assert set(row["cues"]) == set(melody.WEIGHTS)
        assert all(-1.0 <= c <= 1.0 for c in row["cues"].values())
        assert row["score"] == pytest.approx(sum(melody.WEIGHTS[k] * row["cues"][k] for k in melody.WEIGHTS))


def test_bench_labels_the_melody_it_arranged():
    from bench import melody_detection as bench

    notes = [(p, float(k), k + 0.9) for k, p in enumerate(TUNE)]
    chords = [(4.0 * b, 4.0 * b + 4, tuple(sorted(p % 12 for p in c)), c[0] % 12) for b, c in enumerate(CHORDS)]
    rng = np.random.default_rng(0)
    for _ in range(20):
        tracks, label, _tags = bench.arrange({"source": "folk", "melody": notes, "chords": chords}, rng)
        steps = np.diff(tracks[label].pitches)
        assert not tracks[label].is_drum and len(tracks[label]) == len(TUNE)
        np.testing.assert_array_equal(steps, np.diff(TUNE))   # the same tune, maybe transposed
        assert sum(t.is_drum for t in tracks) == 1
