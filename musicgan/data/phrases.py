"""Songs <-> arrays: the 16th-note grid, melody tokens, per-beat chord ids, phrases, transposition.

Melody tokens per step: REST, HOLD (the note before goes on) or the onset of a pitch in
MIN_PITCH..MAX_PITCH, so repeated notes stay distinct. Chords are one id per beat (see chords.py).
"""

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR, Meter
from ..harmony import chords
from ..io.midi import MidiError, make_track


class SkipSong(MidiError):
    """A readable song this pipeline cannot use (meter, no melody, too short); message = reason."""


def step_grid(beats, steps_per_beat=FOUR_FOUR.steps_per_beat):
    """(beats * steps_per_beat + 1,) step boundary times in seconds, from the file's own beat times."""
    beats = np.asarray(beats, float)
    if len(beats) < 2:
        raise SkipSong("too short (fewer than 2 beats)")
    edges = np.append(beats, beats[-1] + (beats[-1] - beats[-2]))
    frac = np.arange(steps_per_beat) / steps_per_beat
    steps = edges[:-1, None] + np.diff(edges)[:, None] * frac
    return np.append(steps.ravel(), edges[-1])


def to_steps(times, grid):
    """Nearest grid index of each time (times past the end clamp to the last boundary)."""
    return np.rint(np.interp(times, grid, np.arange(len(grid)))).astype(int)


def _note_steps(track, grid):
    start = to_steps(track.starts, grid)
    end = np.maximum(to_steps(track.ends, grid), start + 1)    # a note shorter than a 16th keeps one step
    return start, end


def pick_melody(song):
    """Index of the melody track: by name, else the highest-pitched non-drum track."""
    candidates = [i for i, t in enumerate(song.tracks) if not t.is_drum and len(t)]
    for i in candidates:
        if any(n in song.tracks[i].name.lower() for n in C.MELODY_NAMES):
            return i
    return max(candidates, key=lambda i: np.mean(song.tracks[i].pitches))


def melody_line(track, grid):
    """Top monophonic line on the grid: (pitch per step, -1 = rest) and (onset per step) arrays."""
    n = len(grid) - 1
    pitch = np.full(n, -1)
    began = np.full(n, -1)
    start, end = _note_steps(track, grid)
    for k in np.lexsort((start, track.pitches)):   # low to high: the highest sounding note wins a step
        s, e = start[k], min(end[k], n)
        pitch[s:e] = track.pitches[k]
        began[s:e] = s
    onset = (began == np.arange(n)) | (pitch != np.append(-1, pitch[:-1]))  # a revealed lower note re-attacks
    return pitch, onset & (pitch >= 0)


def tokens_from_line(pitch, onset):
    """Melody tokens from a line already inside MIN_PITCH..MAX_PITCH."""
    tokens = np.where(pitch < 0, C.REST, C.HOLD)
    return np.where(onset, pitch - C.MIN_PITCH + C.FIRST_PITCH_TOKEN, tokens).astype(np.uint8)


def tokens_to_notes(tokens, step_seconds, offset=0.0):
    """[(pitch, start, end)] in seconds from melody tokens; HOLD after REST is a rest."""
    notes, current = [], None
    for i, tok in enumerate(np.asarray(tokens).tolist() + [C.REST]):
        if tok == C.HOLD and current is not None:
            continue
        if current is not None:
            notes.append((current[0], offset + current[1] * step_seconds, offset + i * step_seconds))
            current = None
        if tok >= C.FIRST_PITCH_TOKEN:
            current = (tok - C.FIRST_PITCH_TOKEN + C.MIN_PITCH, i)
    return notes


def melody_track(tokens, step_seconds, name=C.MELODY_TRACK, program=0, offset=0.0):
    return make_track(name, tokens_to_notes(tokens, step_seconds, offset), program)


def beat_chords(tracks, grid, weights=None, steps_per_beat=FOUR_FOUR.steps_per_beat):
    """Chord id per beat from duration-weighted pitch classes and the lowest note of each beat.

    `weights` (one per track, default 1) lets the melody vote less than the accompaniment.
    """
    n_steps = len(grid) - 1
    weight = np.zeros((n_steps, 12), np.float32)
    low = np.full(n_steps, 128)
    for t, w in zip(tracks, weights or [1.0] * len(tracks)):
        if t.is_drum or not len(t) or w <= 0:
            continue
        start, end = _note_steps(t, grid)
        end = np.minimum(end, n_steps)
        lengths = np.maximum(end - start, 0)
        steps = np.repeat(start, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        pitches = np.repeat(t.pitches, lengths)
        np.add.at(weight, (steps, pitches % 12), w)
        np.minimum.at(low, steps, pitches)
    beats = n_steps // steps_per_beat
    weight = weight[:beats * steps_per_beat].reshape(beats, steps_per_beat, 12).sum(1)
    low = low[:beats * steps_per_beat].reshape(beats, steps_per_beat).min(1)
    return chords.recognise(weight, np.where(low < 128, low % 12, -1))


def song_phrases(song, rep):
    """Cut a song into phrases: dict of melody (P, steps) uint8, chords (P, beats) int16,
    previous (P, steps per bar) uint8 (the bar before each phrase, rests at the start), bar (P,).

    Raises SkipSong with the reason when nothing usable comes out.
    """
    meter = rep.meter
    for num, den, _ in song.time_signatures:
        if Meter(num, den) != meter:
            raise SkipSong(f"meter {num}/{den} not supported yet ({meter} only)")
    grid = step_grid(song.beats, meter.steps_per_beat)
    m = pick_melody(song)
    pitch, onset = melody_line(song.tracks[m], grid)
    solo = len(song.tracks) == 1       # a lone track is its own harmony
    beat_ids = beat_chords(song.tracks, grid, [rep.melody_chord_weight if i == m and not solo else 1.0
                                               for i in range(len(song.tracks))], meter.steps_per_beat)

    bar_steps, bar_beats = meter.steps_per_bar, meter.beats_per_bar
    bars = len(pitch) // bar_steps
    steps, beats = rep.phrase_steps, rep.phrase_beats
    out = {"melody": [], "chords": [], "previous": [], "bar": []}
    reasons = set()
    for bar in range(0, bars - rep.phrase_bars + 1, rep.hop_bars):
        s = bar * bar_steps
        p, o = pitch[s:s + steps], onset[s:s + steps]
        if (p.reshape(rep.phrase_bars, -1) < 0).all(1).any():
            reasons.add("empty melody bars")
            continue
        lo, hi = p[p >= 0].min(), p[p >= 0].max()
        if hi - lo > C.MAX_PITCH - C.MIN_PITCH:
            reasons.add("melody range too wide")
            continue
        shift = 12 * (int(np.ceil(max(C.MIN_PITCH - lo, 0) / 12)) - int(np.ceil(max(hi - C.MAX_PITCH, 0) / 12)))
        prev = np.full(bar_steps, C.REST, np.uint8)
        if bar > 0:
            pp = pitch[s - bar_steps:s]
            prev = tokens_from_line(fold_into_range(np.where(pp >= 0, pp + shift, -1)), onset[s - bar_steps:s])
        out["melody"].append(tokens_from_line(np.where(p >= 0, p + shift, -1), o))
        out["chords"].append(beat_ids[bar * bar_beats:bar * bar_beats + beats].astype(np.int16))
        out["previous"].append(prev)
        out["bar"].append(bar)
    if not out["melody"]:
        why = " and ".join(sorted(reasons)) if reasons else f"shorter than {rep.phrase_bars} bars"
        raise SkipSong(f"no usable phrase ({why})")
    return {k: np.asarray(v) for k, v in out.items()}


def fold_into_range(pitch):
    """Move each pitch (-1 = rest) by whole octaves into MIN_PITCH..MAX_PITCH."""
    up = np.clip(np.ceil((C.MIN_PITCH - pitch) / 12), 0, None) * 12
    down = np.clip(np.ceil((pitch - C.MAX_PITCH) / 12), 0, None) * 12
    return np.where(pitch < 0, -1, pitch + up - down).astype(int)


def transpose(tokens, semitones):
    """Shift pitch tokens by `semitones`: (shifted, ok), ok False for rows that would leave the range."""
    pitched = tokens >= C.FIRST_PITCH_TOKEN
    moved = tokens.astype(int) + semitones * pitched
    ok = (~pitched | ((moved >= C.FIRST_PITCH_TOKEN) & (moved < C.VOCAB_SIZE))).all(-1)
    return moved.astype(np.uint8), ok
