"""The accompaniment and the song: per-beat chords -> a Chords track, tokens + chords -> a `Song`.

The default accompaniment follows the meter: a bass note on each strong beat and the chord on
the others, so a 3/4 bar is bass-chord-chord (a waltz), 6/8 two pulses (bass, chord), 4/4 a march
(bass, chord, bass, chord). "block" holds the chord over its bass until it changes or the bar
ends; "arpeggio" walks bass and chord tones in eighth notes.
"""

from ..core.meter import FOUR_FOUR
from ..data.phrases import melody_track
from ..io.midi import Song, make_track

ACCOMPANIMENTS = ("pulse", "block", "arpeggio", "none")
STEP_SECONDS_AT_60 = 0.25       # a 16th at 60 quarter notes a minute: --bpm counts quarter notes, as MIDI does


def _voicing(chord):
    """(bass, chord tones around middle C) of a `Chord`."""
    tones = sorted(60 + (pc - chord.root) % 12 + chord.root - (12 if chord.root > 6 else 0)
                   for pc in chord.pitch_classes)
    return 36 + chord.bass, tones


def _spans(beat_chords, meter):
    """(first beat, end beat, chord) of each run of one chord, cut at bar lines."""
    out, start = [], 0
    for i in range(1, len(beat_chords) + 1):
        if i < len(beat_chords) and beat_chords[i] == beat_chords[start] and i % meter.beats_per_bar:
            continue
        out.append((start, i, beat_chords[start]))
        start = i
    return out


def chord_notes(beat_chords, beat_seconds, style="pulse", meter=FOUR_FOUR):
    """[(pitch, start, end)] seconds of the accompaniment of per-beat `Chord`s in `meter`."""
    notes = []
    strong = set(meter.strong_beats)
    for first, end, chord in _spans(beat_chords, meter):
        if chord.root < 0:
            continue
        bass, tones = _voicing(chord)
        if style == "block":
            notes += [(p, first * beat_seconds, end * beat_seconds) for p in [bass] + tones]
        elif style == "arpeggio":
            per_beat = meter.steps_per_beat // 2                     # eighth notes in a beat
            pattern = [bass] + tones
            for k, e in enumerate(range(first * per_beat, end * per_beat)):
                notes.append((pattern[k % len(pattern)], e * beat_seconds / per_beat, (e + 1) * beat_seconds / per_beat))
        else:
            for b in range(first, end):
                t0, t1 = b * beat_seconds, (b + 1) * beat_seconds
                notes += [(bass, t0, t1)] if b % meter.beats_per_bar in strong else [(p, t0, t1) for p in tones]
    return notes


def render_song(tokens, beat_chords, bpm, accompaniment="pulse", melody_program=0, chord_program=0, meter=FOUR_FOUR):
    """A `Song` in `meter` with a 'Melody' track from tokens and a 'Chords' track from the per-beat
    chords, lasting exactly its bars (the last bar sounds whole even when it is silent)."""
    step = STEP_SECONDS_AT_60 * 60.0 / bpm
    tracks = [melody_track(tokens, step, program=melody_program)]
    if accompaniment != "none":
        tracks.append(make_track("Chords", chord_notes(beat_chords, step * meter.steps_per_beat, accompaniment,
                                                       meter), chord_program))
    return Song(tracks=tracks, bpm=bpm, time_signatures=[(meter.numerator, meter.denominator, 0.0)],
                end=len(tokens) * step)


