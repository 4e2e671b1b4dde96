"""Tests of the chorale export: track names, tempo, pickup alignment, skips, reproducibility."""

import pretty_midi
import pytest
from music21 import corpus, note, stream

from musicgan.data.chorales import BPM, Skip, chorale_song, export_chorales

PICKUP_CHORALE = "bwv347"        # among the first three; starts with a one-beat pickup


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("chorales")
    summary = export_chorales(out, jobs=1, limit=3, progress=False)
    return out, summary


def test_summary_counts_three_files(exported):
    out, summary = exported
    assert summary["written"] == 3
    assert sorted(p.name for p in out.glob("*.mid")) == ["bwv153.1.mid", "bwv269.mid", "bwv347.mid"]
    assert set(summary) == {"written", "skipped", "seconds"}


def test_four_named_tracks_at_80_bpm(exported):
    pm = pretty_midi.PrettyMIDI(str(exported[0] / f"{PICKUP_CHORALE}.mid"))
    assert [i.name for i in pm.instruments] == ["Soprano (melody)", "Alto", "Tenor", "Bass"]
    assert all(len(i.notes) > 10 for i in pm.instruments)
    _, tempi = pm.get_tempo_changes()
    assert list(tempi) == pytest.approx([BPM])


def test_pickup_is_shifted_so_bar_one_starts_on_a_downbeat(exported):
    soprano = corpus.parse(f"bach/{PICKUP_CHORALE}").parts[0]
    pickup, bar1 = list(soprano.getElementsByClass("Measure"))[:2]
    assert pickup.paddingLeft > 0                       # the case under test
    pm = pretty_midi.PrettyMIDI(str(exported[0] / f"{PICKUP_CHORALE}.mid"))
    assert [(t.numerator, t.denominator, t.time) for t in pm.time_signature_changes] == [(4, 4, 0.0)]
    downbeats = pm.get_downbeats()
    seconds_per_quarter = 60.0 / BPM
    assert downbeats[1] == pytest.approx(4 * seconds_per_quarter)     # the pickup fills a whole 4/4 bar
    melody = sorted(pm.instruments[0].notes, key=lambda n: n.start)
    first_of_bar1 = next(n for n in melody if n.start > melody[0].start)
    assert first_of_bar1.start == pytest.approx(downbeats[1])
    assert first_of_bar1.pitch == bar1.notes.first().pitch.midi
    pickup_seconds = pickup.duration.quarterLength * seconds_per_quarter
    assert melody[0].start == pytest.approx(downbeats[1] - pickup_seconds)


def test_export_is_byte_identical(exported, tmp_path):
    export_chorales(tmp_path, jobs=1, limit=3, progress=False)
    for path in exported[0].glob("*.mid"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def test_instrument_only_score_is_skipped():
    score = stream.Score()
    part = stream.Part([note.Note("C4")])
    part.partName = "Violin"
    score.insert(0, part)
    with pytest.raises(Skip, match="no soprano"):
        chorale_song(score)
