"""The symusic reader gives the Song the pretty_midi reader gives: notes, tempos, time signatures, beats, downbeats."""

import io
from pathlib import Path

import mido
import numpy as np
import pytest

from musicgan.io import midi

from .conftest import write_midi

ROOT = Path(__file__).resolve().parent.parent
M, META = mido.Message, mido.MetaMessage


def _smf(tracks, tpq=480, kind=1):
    """Bytes of a MIDI file from one list of (absolute tick, message) a track."""
    f = mido.MidiFile(type=kind, ticks_per_beat=tpq)
    for events in tracks:
        track, now = mido.MidiTrack(), 0
        for tick, msg in sorted(events, key=lambda e: e[0]):          # stable: same-tick order kept
            track.append(msg.copy(time=tick - now))
            now = tick
        f.tracks.append(track)
    out = io.BytesIO()
    f.save(file=out)
    return out.getvalue()


def _notes(channel, notes, name=None, program=None):
    """(tick, message) events of (pitch, on tick, off tick) notes."""
    events = [(0, META("track_name", name=name))] if name else []
    events += [(0, M("program_change", channel=channel, program=program))] if program is not None else []
    for pitch, on, off in notes:
        events += [(on, M("note_on", channel=channel, note=pitch, velocity=80)),
                   (off, M("note_off", channel=channel, note=pitch))]
    return events


BAR4, BAR3, BAR68 = 4 * 480, 3 * 480, 6 * 240        # ticks of a 4/4, 3/4 and 6/8 bar at 480 a quarter
METERS = [(0, META("set_tempo", tempo=500000)), (0, META("time_signature", numerator=4, denominator=4)),
          (2 * BAR4 + 240, META("set_tempo", tempo=600000)),                         # 120 -> 100 bpm mid-beat
          (3 * BAR4, META("time_signature", numerator=3, denominator=4)),
          (3 * BAR4 + 2 * BAR3, META("set_tempo", tempo=428571)),                    # -> 140 bpm
          (3 * BAR4 + 2 * BAR3, META("time_signature", numerator=6, denominator=8)),
          (3 * BAR4 + 2 * BAR3 + 2 * BAR68, META("time_signature", numerator=4, denominator=4))]
END = 3 * BAR4 + 2 * BAR3 + 2 * BAR68 + BAR4
MELODY = [(72 + i % 5, i * 240, i * 240 + 200) for i in range(END // 240)]
BASS = [(48, t, t + 480) for t in range(0, END, 480)]
ODD = [(60, 0, 480), (62, 480, 960), (62, 600, 1200),        # two of one pitch overlap: one note-off ends both
       (64, 1440, 1440), (65, 1440, 1920)]                    # a zero-length note


def _agree(path):
    a, b = midi.read_song(path), midi.read_song_pretty_midi(path)
    assert [(t.name, t.program, t.is_drum) for t in a.tracks] == [(t.name, t.program, t.is_drum) for t in b.tracks]
    for x, y in zip(a.tracks, b.tracks):
        np.testing.assert_array_equal(x.pitches, y.pitches)
        np.testing.assert_allclose(x.starts, y.starts, rtol=0, atol=1e-9)
        np.testing.assert_allclose(x.ends, y.ends, rtol=0, atol=1e-9)
    assert a.bpm == pytest.approx(b.bpm, abs=1e-9)
    assert [s[:2] for s in a.time_signatures] == [s[:2] for s in b.time_signatures]
    np.testing.assert_allclose([s[2] for s in a.time_signatures], [s[2] for s in b.time_signatures], atol=1e-9)
    end = max(t.ends.max() for t in b.tracks)
    for got, want in ((a.beats, b.beats), (a.downbeats, b.downbeats)):
        if len(want) == len(got) + 1:   # pretty_midi adds beat lengths up: a beat on the last note-off is
            assert want[-1] == pytest.approx(end, abs=1e-9)      # in or out by rounding; here it is out
            want = want[:-1]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    return a


def test_readers_agree_on_tempo_changes_and_3_4_and_6_8_sections(tmp_path):
    path = tmp_path / "meters.mid"
    path.write_bytes(_smf([METERS, _notes(0, MELODY, "Melody", 73), _notes(1, BASS, "Bass", 32),
                           _notes(2, ODD, "Odd")]))
    song = _agree(path)
    assert [s[:2] for s in song.time_signatures] == [(4, 4), (3, 4), (6, 8), (4, 4)]
    assert song.bpm == pytest.approx(120)
    # 3 bars of 4/4 (the tempo drops to 100 bpm half way through the 9th beat), 2 of 3/4, 2 of 6/8 (dotted
    # quarters at 140 bpm: 2 beats a bar) and one of 4/4
    beats_per_section = [12, 6, 4, 4]
    assert len(song.beats) == sum(beats_per_section)
    assert len(song.downbeats) == 3 + 2 + 2 + 1
    assert song.beats[1] == pytest.approx(0.5) and song.beats[9] - song.beats[8] == pytest.approx(0.25 + 0.3)
    assert song.downbeats[4] - song.downbeats[3] == pytest.approx(3 * 0.6)                 # a 3/4 bar at 100
    assert song.downbeats[6] - song.downbeats[5] == pytest.approx(6 * 0.5 * 60 / 140, rel=1e-5)  # 6/8 at 140
    odd = song.tracks[2]
    assert odd.pitches.tolist() == [60, 62, 62, 65]                    # the zero-length note is gone
    assert odd.ends[1] == odd.ends[2]                                  # pretty_midi's pairing of overlaps


def test_readers_agree_without_tempo_or_meter_and_on_a_type_0_file(tmp_path):
    bare = tmp_path / "bare.mid"                                      # 120 bpm and 4/4 by default
    bare.write_bytes(_smf([_notes(0, MELODY[:20], "Lead"), _notes(9, [(36, 0, 100), (38, 480, 580)])]))
    song = _agree(bare)
    assert song.time_signatures == [(4, 4, 0.0)] and song.bpm == 120 and song.tracks[1].is_drum
    one = tmp_path / "type0.mid"
    one.write_bytes(_smf([METERS[:3] + _notes(0, MELODY[:30]) + _notes(3, BASS[:10])], kind=0))
    assert len(_agree(one).tracks) == 2


def test_readers_agree_on_a_pickup_and_a_file_written_by_pretty_midi(tmp_path):
    pickup = tmp_path / "pickup.mid"                      # a 1/4 bar, then 4/4: the grid restarts at the bar
    pickup.write_bytes(_smf([[(0, META("time_signature", numerator=1, denominator=4)),
                              (480, META("time_signature", numerator=4, denominator=4))], _notes(0, MELODY[:40])]))
    assert _agree(pickup).downbeats[:2].tolist() == [0.0, 0.5]
    _agree(write_midi(tmp_path / "song.mid", bars=4, bpm=90))


def test_readers_agree_on_the_bundled_chorales():
    paths = sorted((ROOT / "data" / "chorales").glob("*.mid"))[::7]
    if not paths:
        pytest.skip("no bundled corpus")
    for path in paths:
        _agree(path)


@pytest.mark.parametrize("data, reason", [(b"MThd\x00\x00\x00\x06\x00\x07\x00\x01\x01\xe0", "corrupt or truncated"),
                                          (_smf([[(0, META("set_tempo", tempo=50000))] + _notes(0, MELODY[:8])]),
                                           "extreme tempo 1200 bpm")])
def test_both_readers_refuse_alike(tmp_path, data, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    for read in (midi.read_song, midi.read_song_pretty_midi):
        with pytest.raises(midi.MidiError, match=reason):
            read(path)
