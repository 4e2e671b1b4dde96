"""The accompaniment and the song: per-beat chords -> a Chords track, tokens + chords -> a `Song`."""

from ..core.meter import FOUR_FOUR
from ..data.phrases import melody_track
from ..io.midi import Song, make_track


def chord_track(beat_chords, beat_seconds, style="block", program=0, meter=FOUR_FOUR):
    """Voice per-beat `Chord`s: block chords (over the chord's bass) held while the chord lasts and
    struck again at each bar line, or arpeggios in eighth notes."""
    notes, start = [], 0
    for i in range(1, len(beat_chords) + 1):
        if i < len(beat_chords) and beat_chords[i] == beat_chords[start] and i % meter.beats_per_bar:
            continue
        chord = beat_chords[start]
        if chord.root >= 0:
            voicing = sorted(60 + (pc - chord.root) % 12 + chord.root - (12 if chord.root > 6 else 0)
                             for pc in chord.pitch_classes)
            bass = 36 + chord.bass
            if style == "arpeggio":
                pattern = [bass] + voicing
                for k, b in enumerate(range(start * 2, i * 2)):          # eighth notes
                    notes.append((pattern[k % len(pattern)], b * beat_seconds / 2, (b + 1) * beat_seconds / 2))
            else:
                notes += [(p, start * beat_seconds, i * beat_seconds) for p in [bass] + voicing]
        start = i
    return make_track("Chords", notes, program)


def render_song(tokens, beat_chords, bpm, accompaniment="block", melody_program=0, chord_program=0, meter=FOUR_FOUR):
    """A `Song` with a 'Melody' track from tokens and a 'Chords' track from the per-beat chords."""
    beat = 60.0 / bpm
    tracks = [melody_track(tokens, beat / meter.steps_per_beat, program=melody_program)]
    if accompaniment != "none":
        tracks.append(chord_track(beat_chords, beat, accompaniment, chord_program, meter))
    return Song(tracks=tracks, bpm=bpm, time_signatures=[(meter.numerator, meter.denominator, 0.0)])
