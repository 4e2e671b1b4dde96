"""Songs -> phrase arrays: the melody line and its tokens, chords per 8th-note slot, phrases, transposition.

Melody tokens per step: REST, HOLD (the note before goes on) or the onset of a pitch in
MIN_PITCH..MAX_PITCH, so repeated notes stay distinct. Chords are one id per slot of SLOT_STEPS
steps: recognised per beat from all voices of a full score and smoothed by the key-aware Viterbi,
inferred from the melody (harmony/inference.py) when the melody is all there is. A phrase is
`rep.phrase_steps` steps from a bar line over bars of one meter, with the `rep.context_steps` steps
before it.
"""

import numpy as np

from ..core import constants as C
from ..core.meter import SLOT_STEPS
from ..harmony import chords
from ..harmony.inference import infer_chords, melody_weights, smooth_chords, span_starts
from ..io.midi import make_track
from .grid import SkipSong, song_grid
from .melody import pick_melody


def _note_steps(track, grid):
    start = grid.to_steps(track.starts)
    end = np.maximum(grid.to_steps(track.ends), start + 1)    # a note shorter than a 16th keeps one step
    return start, end


def melody_line(track, grid):
    """Top monophonic line on the grid: (pitch per step, -1 = rest) and (onset per step) arrays."""
    n = grid.steps
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


def step_pitch_classes(tracks, grid, weights=None):
    """(steps, 12) duration-weighted pitch classes of `tracks` (weights: one per track, default 1) and
    (steps,) the lowest sounding pitch (128 for none)."""
    weight = np.zeros((grid.steps, 12), np.float32)
    low = np.full(grid.steps, 128)
    for t, w in zip(tracks, weights or [1.0] * len(tracks)):
        if t.is_drum or not len(t) or w <= 0:
            continue
        start, end = _note_steps(t, grid)
        end = np.minimum(end, grid.steps)
        lengths = np.maximum(end - start, 0)
        steps = np.repeat(start, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        pitches = np.repeat(t.pitches, lengths)
        np.add.at(weight, (steps, pitches % 12), w)
        np.minimum.at(low, steps, pitches)
    return weight, low


def beat_chords(tracks, grid, weights=None, smooth=None):
    """Chord id per beat from duration-weighted pitch classes and the lowest note of each beat.

    `weights` (one per track, default 1) lets the melody vote less than the accompaniment. `smooth`
    (a ChordInference) runs inference.smooth_chords over the beats; None labels each beat alone.
    """
    weight, low = step_pitch_classes(tracks, grid, weights)
    per_beat = np.add.reduceat(weight, grid.beat_starts, axis=0)
    lowest = np.minimum.reduceat(low, grid.beat_starts)
    bass = np.where(lowest < 128, lowest % 12, -1)
    if smooth is None:
        return chords.recognise(per_beat, bass)
    return smooth_chords(per_beat, bass, np.isin(grid.beat_starts, grid.bar_starts), smooth)


def inferred_spans(pitch, grid, settings):
    """(span starts (spans,), chord id per span) inferred from a melody line alone, chord spans
    following each bar's meter (a pickup before the first bar is a span of its own)."""
    bar_steps = grid.bar_steps
    beat = np.array([m.steps_per_beat if m else s for m, s in zip(grid.bar_meters, bar_steps)])
    beats = np.maximum(bar_steps // beat, 1)
    beats = np.where(bar_steps % beats == 0, beats, 1)          # an odd bar is one span
    starts, at_bar, _ = span_starts(bar_steps, beats, settings.span)
    starts = starts + grid.bar_starts[0]
    if grid.bar_starts[0] > 0:                                   # notes before the first downbeat
        starts, at_bar = np.append(0, starts), np.append(True, at_bar)
    return starts, infer_chords(melody_weights(pitch), starts, at_bar, settings)


def slot_chords(song, grid, melody, pitch, rep):
    """(slots,) chord id per 8th-note slot: inferred from the melody when no other track sounds,
    else recognised per beat from every track with the melody counting `rep.melody_chord_weight`,
    smoothed over the beats when `rep.score_chords` is "viterbi"."""
    others = [t for i, t in enumerate(song.tracks) if i != melody and not t.is_drum and len(t)]
    slot_start = np.arange(grid.steps // SLOT_STEPS) * SLOT_STEPS
    if not others:
        starts, ids = inferred_spans(pitch, grid, rep.chord_inference)
    else:
        weights = [rep.melody_chord_weight if i == melody else 1.0 for i in range(len(song.tracks))]
        smooth = rep.score_inference if rep.score_chords == "viterbi" else None
        starts, ids = grid.beat_starts, beat_chords(song.tracks, grid, weights, smooth)
    return ids[np.searchsorted(starts, slot_start, "right") - 1]


def _windows(grid, rep):
    """Phrase starts (steps) and their bars: every `hop_bars`-th bar of each run of regular bars of one
    meter that still holds a whole phrase."""
    regular, bar_steps = grid.regular(), grid.bar_steps
    out, run_start = [], None
    for b in range(len(bar_steps) + 1):
        same = b < len(bar_steps) and regular[b] and run_start is not None and \
            grid.bar_meters[b] == grid.bar_meters[run_start]
        if same:
            continue
        if run_start is not None:                                # the run [run_start, b) ends here
            end = grid.bar_starts[run_start] + bar_steps[run_start:b].sum()
            out += [(grid.bar_starts[k], k) for k in range(run_start, b, rep.hop_bars)
                    if grid.bar_starts[k] + rep.phrase_steps <= end]
        run_start = b if b < len(bar_steps) and regular[b] else None
    return out


def song_phrases(song, rep):
    """Cut a song into phrases: (arrays, info). Arrays: melody (P, steps) uint8, chords (P, slots) int16,
    previous (P, context steps) uint8 (rests before the song's start), bar (P,), meter (P, 2) int16
    (numerator, denominator). Info: the melody track's pick and why, phrases per meter.

    Raises SkipSong with the reason when nothing usable comes out.
    """
    grid = song_grid(song)
    melody, why = pick_melody(song.tracks)
    pitch, onset = melody_line(song.tracks[melody], grid)
    windows = _windows(grid, rep)
    if not windows:
        if grid.problems:
            raise SkipSong("; ".join(f"meter {m}: {p}" for m, p in sorted(grid.problems.items())))
        raise SkipSong(f"no {rep.phrase_steps // 16} whole bars of 4/4 (or as long in one meter) in a row")
    ids = slot_chords(song, grid, melody, pitch, rep)
    steps, ctx, slots = rep.phrase_steps, rep.context_steps, rep.phrase_slots
    out = {"melody": [], "chords": [], "previous": [], "bar": [], "meter": []}
    reasons = set()
    for s, bar in windows:
        meter = grid.bar_meters[bar]
        p, o = pitch[s:s + steps], onset[s:s + steps]
        whole = meter.whole_bars(steps) * meter.steps_per_bar
        if (p[:whole].reshape(-1, meter.steps_per_bar) < 0).all(1).any():
            reasons.add("empty melody bars")
            continue
        lo, hi = p[p >= 0].min(), p[p >= 0].max()
        fewest, most = -((lo - C.MIN_PITCH) // 12), (C.MAX_PITCH - hi) // 12     # octaves it may move
        if fewest > most:                     # wider than the range, or no whole octave puts it inside
            reasons.add("melody range too wide")
            continue
        shift = 12 * int(np.clip(0, fewest, most))
        before = np.full(ctx, -1)
        before[max(ctx - s, 0):] = pitch[max(s - ctx, 0):s]
        seen = np.zeros(ctx, bool)
        seen[max(ctx - s, 0):] = onset[max(s - ctx, 0):s]
        out["melody"].append(tokens_from_line(np.where(p >= 0, p + shift, -1), o))
        out["previous"].append(tokens_from_line(fold_into_range(np.where(before >= 0, before + shift, -1)), seen))
        out["chords"].append(ids[s // SLOT_STEPS:s // SLOT_STEPS + slots].astype(np.int16))
        out["bar"].append(bar)
        out["meter"].append((meter.numerator, meter.denominator))
    if not out["melody"]:
        raise SkipSong(f"no usable phrase ({' and '.join(sorted(reasons))})")
    arrays = {k: np.asarray(v) for k, v in out.items()}
    arrays["meter"] = arrays["meter"].astype(np.int16)
    meters = {}
    for num, den in out["meter"]:
        meters[f"{num}/{den}"] = meters.get(f"{num}/{den}", 0) + 1
    return arrays, {"melody": why, "meters": meters}


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
