"""Tests of the folk export: pickups, meter changes, repeats, tuplets, keys, skips, cache, reproducibility."""

import json

import pretty_midi
import pytest

from musicgan.data.abc import mend_abc, notated_meters, parse_tune, split_tunes
from musicgan.data.folk import MARKER, collection_paths, export_folk
from musicgan.data.tunes import BPM, TRACK_NAME, key_number, measures_of, play_order

SPQ = 60.0 / BPM                     # seconds per quarter note: 0.5

# Four tunes that export and two that are skipped; times below are in quarter notes.
TUNES = """\
% a file header: comments only
X:1
T:Pickup jig with a repeat
M:6/8
L:1/8
K:G
D|G2A B2c|d3 d2:|

X:2
T:Two-four to three-four
M:2/4
L:1/8
K:Dm
A2 B2|c2-c2|
M:3/4
d2 c2 B2|A6|]

X:3
T:Triplet, grace note, chord symbol, dash
M:2/4
L:1/8
K:Ador
(3c{e}de f2|"Am"e2 G-A|c4|]

X:4
T:Two parts, no start repeat, a header line that is not a field
M:2/4
L:1/8
I (1) :| (2) ||
K:C
C2 D2|E4:|G2 A2|c4:|

X:5
T:Free meter
M:none
L:1/8
K:C
CDE|FGAB|c2|

X:6
T:Broken unit note length
M:2/4
L:0
K:C
C2 D2|E4|
"""


def notes(pm):
    return [(n.pitch, n.start, n.end) for n in sorted(pm.instruments[0].notes, key=lambda n: n.start)]


def q(*quarters):
    return pytest.approx([x * SPQ for x in quarters])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("folk")
    abc = root / "tiny.abc"
    abc.write_text(TUNES)
    out = root / "out"
    summary = export_folk(out, jobs=1, progress=False, collections={"tiny": [abc]})
    return abc, out, summary


def midi(built, number):
    return pretty_midi.PrettyMIDI(str(built[1] / "tiny" / f"tiny_{number}.mid"))


def test_summary_counts_and_reasons(built):
    _, out, summary = built
    assert sorted(p.name for p in (out / "tiny").iterdir()) == [f"tiny_{i}.mid" for i in (1, 2, 3, 4)]
    assert summary["written"] == 4
    assert summary["skipped"] == {"free meter (M: none)": 1, "parse error: ABCTokenException": 1}
    assert summary["skipped tunes"] == {"free meter (M: none)": ["tiny/tiny_5"],
                                        "parse error: ABCTokenException": ["tiny/tiny_6"]}
    assert summary["collections"]["tiny"]["tunes"] == 6
    assert summary["meters"] == {"2/4": 2, "6/8": 1, "2/4 3/4": 1}
    assert summary["repeats expanded"] == 2            # tunes 1 and 4
    assert summary["irregular bars"] == 0
    assert summary["cached"] is False


def test_pickup_ends_bar_zero_and_is_replayed_into_the_short_last_bar(built):
    pm = midi(built, 1)
    assert [i.name for i in pm.instruments] == [TRACK_NAME]
    assert list(pm.get_tempo_changes()[1]) == pytest.approx([BPM])
    assert [(t.numerator, t.denominator, t.time) for t in pm.time_signature_changes] == [(6, 8, 0.0)]
    assert [(k.key_number, k.time) for k in pm.key_signature_changes] == [(7, 0.0)]   # G major
    downbeats = pm.get_downbeats()
    assert downbeats[:5] == q(0, 3, 6, 9, 12)        # a 6/8 bar is three quarters
    got = notes(pm)
    assert got[0][1] == pytest.approx(2.5 * SPQ)     # the pickup D ends bar 0 ...
    assert got[1][1] == pytest.approx(downbeats[1])  # ... and G starts the first full bar
    # D | G2A B2c | d3 d2 D | G2A B2c | d3 d2: the :| goes back to the start, pickup and all.
    assert [p for p, _, _ in got] == [62, 67, 69, 71, 72, 74, 74, 62, 67, 69, 71, 72, 74, 74]
    assert [s for _, s, _ in got] == q(2.5, 3, 4, 4.5, 5.5, 6, 7.5, 8.5, 9, 10, 10.5, 11.5, 12, 13.5)
    assert [e - s for _, s, e in got] == q(.5, 1, .5, 1, .5, 1.5, 1, .5, 1, .5, 1, .5, 1.5, 1)


def test_meter_change_is_written_at_its_bar_and_ties_join(built):
    pm = midi(built, 2)
    assert [(t.numerator, t.denominator, t.time) for t in pm.time_signature_changes] == [(2, 4, 0.0), (3, 4, 2.0)]
    assert pm.get_downbeats() == q(0, 2, 4, 7)
    assert [(k.key_number, k.time) for k in pm.key_signature_changes] == [(14, 0.0)]  # D minor
    assert notes(pm) == [(69, 0.0, 0.5), (70, 0.5, 1.0), (72, 1.0, 2.0),              # c2-c2 is one note
                         (74, 2.0, 2.5), (72, 2.5, 3.0), (70, 3.0, 3.5), (69, 3.5, 5.0)]


def test_tuplets_keep_their_times_grace_notes_and_chord_symbols_are_dropped(built):
    pm = midi(built, 3)
    got = notes(pm)
    # (3c{e}de: three notes in one quarter, the grace note left out; "Am" adds nothing; G-A keeps both.
    assert [p for p, _, _ in got] == [72, 74, 76, 78, 76, 67, 69, 72]        # f is F# in A dorian
    assert [s for _, s, _ in got] == q(0, 1 / 3, 2 / 3, 1, 2, 3, 3.5, 4)
    assert [e for _, _, e in got] == q(1 / 3, 2 / 3, 1, 2, 3, 3.5, 4, 6)
    assert [(k.key_number, k.time) for k in pm.key_signature_changes] == [(7, 0.0)]   # A dorian as G major


def test_second_repeat_without_start_sign_goes_back_to_the_first(built):
    score = parse_tune(split_tunes(TUNES, "tiny")[3][1])
    part = score.parts[0]
    assert play_order(part, measures_of(part)) == [0, 1, 0, 1, 2, 3, 2, 3]     # AABB, not AABAAB
    assert [p for p, _, _ in notes(midi(built, 4))] == [60, 62, 64, 60, 62, 64, 67, 69, 72, 67, 69, 72]


def test_first_and_second_endings():
    text = "X:1\nM:2/4\nL:1/8\nK:C\nC4|:D4|1 E4:|2 F4|G4|]\n"
    part = parse_tune(text).parts[0]
    assert play_order(part, measures_of(part)) == [0, 1, 2, 1, 3, 4]


def test_second_call_is_cached_and_a_missing_file_rebuilds(built, tmp_path):
    abc, out, first = built
    again = export_folk(out, jobs=1, progress=False, collections={"tiny": [abc]})
    assert again == {**first, "cached": True}
    marker = json.loads((out / MARKER).read_text())
    assert marker["summary"]["written"] == 4 and marker["key"]["limit"] is None

    copy = tmp_path / "copy"
    export_folk(copy, jobs=1, progress=False, collections={"tiny": [abc]})
    (copy / "tiny" / "tiny_2.mid").unlink()
    (copy / "tiny" / "tiny_99.mid").write_bytes(b"stale")
    rebuilt = export_folk(copy, jobs=1, progress=False, collections={"tiny": [abc]})
    assert rebuilt["cached"] is False
    assert sorted(p.name for p in (copy / "tiny").iterdir()) == [f"tiny_{i}.mid" for i in (1, 2, 3, 4)]


def test_parallel_build_is_byte_identical(built, tmp_path):
    abc, out, _ = built
    summary = export_folk(tmp_path, jobs=2, progress=False, collections={"tiny": [abc]})
    assert summary["written"] == 4
    for path in (out / "tiny").glob("*.mid"):
        assert (tmp_path / "tiny" / path.name).read_bytes() == path.read_bytes()


def test_limit_takes_the_first_tunes_of_each_music21_collection(tmp_path):
    summary = export_folk(tmp_path, jobs=1, limit=1, progress=False)
    assert summary["written"] == 4
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/*.mid")) == [
        "airds/book1_1.mid", "essen/altdeu10_1.mid", "oneills/0001-0050_1.mid",
        "ryans/42dHighlandRegimentStrathspey_1.mid"]


def test_unknown_collection_is_refused():
    with pytest.raises(ValueError, match="unknown folk collection nottingham"):
        collection_paths(["essen", "nottingham"])


def test_split_tunes_names_by_x_number():
    text = "%header\nX: 0007\nK:C\nC|\nX:\nK:C\nD|\nX:7\nK:C\nE|\n"
    assert [name for name, _ in split_tunes(text, "f")] == ["f_7", "f_0", "f_7-2"]
    assert all(body.startswith("%header\nX:") for _, body in split_tunes(text, "f"))


def test_key_numbers():
    from music21 import key

    assert key_number(key.Key("G")) == 7
    assert key_number(key.Key("e")) == 16
    assert key_number(key.Key("b-")) == 22
    assert key_number(key.Key("A", "dorian")) == 7                 # the major key of one sharp
    assert key_number(key.Key("D", "mixolydian")) == 7
    assert key_number(key.KeySignature(-1)) == 5                  # no mode: F major


def test_notated_meters():
    assert notated_meters("M:C|\nK:D\nAB|[M:3/4]ABc|\nM:3/4\nABc|M:C\n") == ["2/2", "3/4"]
    assert notated_meters("M:C\nL:1/8\nM: 6/8 % in the original\n") == ["4/4", "6/8"]
    assert notated_meters("M:none\n") == []


def test_mend_abc():
    tune = "X:1\nT:t\nI ::\nM:2/4\nL:1/8\nK:C\nC2 {d}D2|E4|\nM:3/4\nF6|[K:G]G6|\nM:2/4\n|A4|]\n"
    assert mend_abc(tune) == "X:1\nT:t\nM:2/4\nL:1/8\nK:C\nC2 D2|E4|\nM:3/4\n|F6|\nK:G\n|G6|\nM:2/4\n|A4|]\n"


def test_meter_and_key_changes_after_a_bar_line_are_kept():
    part = parse_tune("X:1\nM:2/4\nL:1/8\nK:C\nC2 D2|E4|\nM:3/4\nF6|[K:G]G6|]\n").parts[0]
    assert [(n, t.ratioString) for _, n, t in measures_of(part)] == [(2.0, "2/4"), (2.0, "2/4"), (3.0, "3/4"), (3.0, "3/4")]
    assert part.flatten().notes[-1].nameWithOctave == "G4" and measures_of(part)[3][0].keySignature.sharps == 1
