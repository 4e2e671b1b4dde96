"""Which track of a multi-track song carries the melody: every non-drum track scored on nine cues.

A track is anything with `.name`, `.pitches`, `.starts`, `.ends` (seconds), `.program`, `.is_drum`
(musicgan's `Track`). Each cue is a number in [-1, 1], +1 meaning "looks like a melody"; a track's
score is the weighted sum of its cues (WEIGHTS), and the best-scoring track is the melody.
"""

import re
from collections import namedtuple

import numpy as np

from ..core import constants as C
from .grid import SkipSong

# How much each cue counts. Set by hand from how arrangements are built, then checked one cue at a
# time on the development half of bench/melody_detection.py (seed 0). After its first run two
# changes were made there: prominence went from 2 to 1 (descants and high arpeggios are single
# lines above the tune, and monophony already rules out a pad on top) and the motion cue was added
# at 2 (it is the cue that tells a tune from an arpeggio or a bass line). The held-out half (seed 1)
# was first run with these values; bench/melody_detection.json keeps both halves and the accuracy
# with each cue left out. Monophony outranks the name because a block-chord pad named "Lead" is
# never the tune; the name ties with motion, so a misnamed counter-line can still win over the tune.
WEIGHTS = {
    "name": 2.0,         # +1 a melody word (constants.MELODY_NAMES), -1 an accompaniment word
    "monophony": 3.0,    # share of sounding time with one pitch class: 100% -> +1, 0% -> -1
    "prominence": 1.0,   # share of sounding time on top of every other single line (chords aside)
    "register": 1.5,     # median pitch: +1 in REGISTER, down to -1 a dozen semitones outside it
    "repetition": 1.0,   # share of 4-onset figures heard before: accompaniment loops, tunes vary
    "motion": 2.0,       # mean leap between successive attacks' top notes: +1 in MOTION (tunes move
                         # by step; arpeggios and bass lines leap, a held line barely moves)
    "density": 1.0,      # onsets per sounding second in MIN_PITCH..MAX_PITCH: +1 in DENSITY, -1 at
                         # a quarter of its low end or twice its high end
    "program": 0.75,     # General MIDI family: lead-like +1, bass/ensemble/pad/effects -1
    "range": 0.5,        # pitch span p5..p95: +1 in SPAN, -1 for a drone or a 40-semitone spread
}

ACCOMPANIMENT_NAMES = re.compile(   # \b so "harp" is no "arp"; bassoon is a melody instrument
    r"\bbass(?!oon)|\bpad|\bstring|\bdrum|\bperc|\bchord|\baccomp|\bcomp\b|\barp|\brhythm"
    r"|\bharmony\b|\bbacking|\bback\b|\bpedal|\bkick|\bsnare|\bhi-?hat|\bcymbal")
PROGRAM_CUES = ((range(32, 40), -1.0),     # basses
                (range(48, 52), -1.0),     # string ensembles, synth strings
                (range(88, 96), -1.0),     # synth pads
                (range(112, 128), -1.0),   # percussive and sound effects
                (range(64, 88), 1.0))      # reeds, pipes, synth leads
REGISTER = (C.MIN_PITCH + 9, C.MAX_PITCH)  # A3..C6: where melodies sit; bass lines sit well below
DENSITY = (1.0, 6.0)                       # onsets per second: slower is a pad, faster an arpeggio
SPAN = (5, 24)                             # semitones
MOTION = (1.0, 3.0)                        # semitones; -1 at 0 (one repeated note) and at 6
FIGURE = 4                                 # onsets in the figures compared for repetition
CHORD_SPREAD = 0.03                        # seconds: onsets closer than this are one attack


Notes = namedtuple("Notes", "pitches starts ends")   # (notes,) arrays each


class NoMelodyTrack(SkipSong):
    """A song without any non-drum track that has notes."""


def _ramp(x, lo, hi, below, above):
    """+1 on [lo, hi], falling linearly to -1 at `below` under lo and `above` over hi."""
    outside = max((lo - x) / below, (x - hi) / above, 0.0)
    return float(max(1.0 - 2.0 * outside, -1.0))


def _name_cue(name):
    name = (name or "").lower()
    melody = any(word in name for word in C.MELODY_NAMES)
    accompaniment = bool(ACCOMPANIMENT_NAMES.search(name))
    return float(melody) - float(accompaniment)   # "backing vocals" says both: no cue


def _program_cue(program):
    return next((cue for family, cue in PROGRAM_CUES if int(program) in family), 0.0)


def _sounding(track, mids):
    """(distinct pitches,) and (pitches, segments) bool: which pitch sounds at each segment midpoint."""
    pitches = np.unique(track.pitches)
    on = np.empty((len(pitches), len(mids)), bool)
    for k, p in enumerate(pitches):
        sel = track.pitches == p
        on[k] = (np.searchsorted(np.sort(track.starts[sel]), mids, "right")
                 > np.searchsorted(np.sort(track.ends[sel]), mids, "right"))
    return pitches, on


def _attacks(track):
    """[(sorted pitches of one attack)], (attacks,) onset seconds: notes within CHORD_SPREAD merged."""
    order = np.lexsort((track.pitches, track.starts))
    starts, pitches = track.starts[order], track.pitches[order]
    new = np.append(True, np.diff(starts) > CHORD_SPREAD)
    groups = np.split(pitches, np.flatnonzero(new)[1:])
    return [tuple(sorted(set(g.tolist()))) for g in groups], starts[new]


def _repetition(attacks, onsets):
    """Share of FIGURE-attack figures (pitches and rhythm) that already occurred earlier."""
    if len(attacks) < FIGURE + 1:
        return 0.0
    ioi = np.diff(onsets)
    quantum = np.median(ioi) / 4                          # rhythm relative to the track's own pulse
    rhythm = np.rint(ioi / quantum).astype(int).tolist()
    tokens = list(zip(attacks[:-1], rhythm))
    seen, repeats = set(), 0
    for i in range(len(tokens) - FIGURE + 1):
        figure = tuple(tokens[i:i + FIGURE])
        repeats += figure in seen
        seen.add(figure)
    return repeats / (len(tokens) - FIGURE + 1)


def _notes(track):
    """The track's notes as arrays, every note at least a millisecond long."""
    starts = np.asarray(track.starts, float)
    return Notes(np.asarray(track.pitches, int), starts,
                 np.maximum(np.asarray(track.ends, float), starts + 1e-3))


def track_scores(tracks, weights=WEIGHTS):
    """One dict per non-drum track with notes, in track order: its index, name, raw features, cues
    and weighted score. Features: monophony, prominence, repetition (shares 0..1); low, median,
    high pitch (p5, p50, p95); motion (mean semitones between attacks); density (onsets per
    sounding second in MIN_PITCH..MAX_PITCH)."""
    if set(weights) != set(WEIGHTS):
        raise ValueError(f"weights must name exactly the cues {sorted(WEIGHTS)}, got {sorted(weights)}")
    chosen = [i for i, t in enumerate(tracks) if not t.is_drum and len(t.pitches)]
    notes = [_notes(tracks[i]) for i in chosen]
    if not notes:
        return []
    edges = np.unique(np.concatenate([np.append(n.starts, n.ends) for n in notes]))
    mids, lengths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)        # (segments,)

    tops, lines, sounding, mono = [], [], [], []
    for n in notes:
        pitches, on = _sounding(n, mids)
        classes = np.zeros((C.PITCH_CLASSES, len(mids)), bool)
        for k, p in enumerate(pitches):
            classes[p % C.PITCH_CLASSES] |= on[k]
        single = classes.sum(0) == 1
        top = np.max(np.where(on, pitches[:, None], -1), axis=0)        # (segments,) -1 = silent
        sounding.append(top >= 0)
        tops.append(top)
        lines.append(np.where(single, top, -1))     # a chord is no competitor for the top line
        mono.append(lengths[single].sum() / max(lengths[top >= 0].sum(), 1e-9))
    lines = np.array(lines)                                             # (tracks, segments)

    rows = []
    for j, (i, n) in enumerate(zip(chosen, notes)):
        others = np.delete(lines, j, axis=0).max(axis=0) if len(notes) > 1 else np.full(len(mids), -1)
        time = lengths[sounding[j]].sum()
        prominence = lengths[sounding[j] & (tops[j] >= others)].sum() / max(time, 1e-9)
        attacks, onsets = _attacks(n)
        melodic = np.array([any(C.MIN_PITCH <= p <= C.MAX_PITCH for p in a) for a in attacks])
        low, median, high = np.percentile(n.pitches, [5, 50, 95])
        leaps = np.abs(np.diff([max(a) for a in attacks]))
        features = {"monophony": float(mono[j]), "prominence": float(prominence),
                    "repetition": _repetition(attacks, onsets), "low": float(low),
                    "median": float(median), "high": float(high),
                    "motion": float(leaps.mean()) if len(leaps) else 0.0,
                    "density": float(melodic.sum() / max(time, 1e-9))}
        cues = {"name": _name_cue(tracks[i].name),
                "monophony": 2 * features["monophony"] - 1,
                "prominence": 2 * features["prominence"] - 1,
                "register": _ramp(median, *REGISTER, 12, 12),
                "repetition": 1 - 2 * features["repetition"],
                "motion": _ramp(features["motion"], *MOTION, 1, 3),
                "density": _ramp(np.log2(max(features["density"], 1e-3)), *np.log2(DENSITY), 2, 1),
                "program": _program_cue(getattr(tracks[i], "program", 0)),
                "range": _ramp(high - low, *SPAN, 5, 16)}
        rows.append({"index": i, "name": tracks[i].name, "features": features, "cues": cues,
                     "score": float(sum(weights[k] * cues[k] for k in weights))})
    return rows


def _describe(row):
    f, name_cue = row["features"], row["cues"]["name"]
    parts = ["name says melody"] if name_cue > 0 else ["name says accompaniment"] if name_cue < 0 else []
    parts += [f"monophonic {f['monophony']:.0%}", f"register {f['low']:.0f}-{f['high']:.0f}",
              f"on top {f['prominence']:.0%}"]
    return f"track {row['index']} '{row['name']}': " + ", ".join(parts)


def pick_melody(tracks, weights=WEIGHTS):
    """(index into `tracks`, reason) of the melody track; `NoMelodyTrack` if none can be one.

    reason reads like "track 2 'Lead': name says melody, monophonic 97%, register 60-79, on top 88%;
    runner-up track 0 'Strings' (score 1.2 vs 6.3)", for a per-file report."""
    rows = track_scores(tracks, weights)
    if not rows:
        raise NoMelodyTrack("no non-drum track with notes")
    rows.sort(key=lambda r: -r["score"])      # stable: ties go to the earlier track
    best = rows[0]
    if len(rows) == 1:
        return best["index"], _describe(best) + "; the only melodic track"
    runner = rows[1]
    return best["index"], (_describe(best) + f"; runner-up track {runner['index']} '{runner['name']}' "
                           f"(score {runner['score']:.1f} vs {best['score']:.1f})")
