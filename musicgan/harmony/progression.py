"""Typed progressions: lead-sheet symbols (`symbols`) -> bars of `Chord`s with exact pitch classes and features.

A symbol may name a chord outside the template vocabulary (C9, C7#9): it still gets exact features
from its pitch classes, and its id is the nearest template on the same root.
"""

import re
from dataclasses import dataclass

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR, SLOT_STEPS
from .chords import NUM_QUALITIES, TEMPLATES, chord_id
from .symbols import ACCEPTED, ChordError, parse_symbol

SECTION = re.compile(r"\s*([A-Za-z][\w']*)\s*:(.*)", re.DOTALL)     # "A: C G Am F", "chorus: F C"


@dataclass(frozen=True)
class Chord:
    """One typed chord: its symbol as written, root and bass pitch class, sounding pitch classes."""
    symbol: str
    root: int = -1                 # -1 for N.C.
    pitch_classes: tuple = ()
    bass: int = -1

    @property
    def features(self):
        f = np.zeros(C.CHORD_DIM, np.float32)
        if self.root >= 0:
            f[list(self.pitch_classes)] = 1
            f[12 + self.root] = 1
        return f

    def transposed(self, semitones):
        """The same chord `semitones` higher, its symbol respelled ('Am7/G' + 2 -> 'Bm7/A')."""
        return self if self.root < 0 else _chord(parse_symbol(self.symbol).transposed(semitones))

    @property
    def id(self):
        if self.root < 0:
            return 0
        pcs = np.zeros((1, 12), np.float32)
        pcs[0, list(self.pitch_classes)] = 1
        rows = [chord_id(self.root, q) for q in range(NUM_QUALITIES)]
        best = (pcs @ (2 * TEMPLATES[rows] - 1).T)[0]      # same root, closest template
        return rows[int(best.argmax())]


def _chord(symbol):
    if symbol.root < 0:
        return Chord(C.NO_CHORD)
    return Chord(symbol.text, symbol.root, symbol.pitch_classes, symbol.bass)


def parse_chord(token, position=None):
    """Parse one symbol ('F#m7', 'B♭7', 'Cmaj9/E', 'N.C.') into a `Chord`, or raise `ChordError`."""
    try:
        return _chord(parse_symbol(token))
    except ChordError as e:
        if position is None:
            raise
        raise ChordError(str(e).replace(f"'{token}'", f"'{token}' at position {position}", 1)) from None


def parse_progression(text):
    """Bars of chords from 'C G Am F' (one chord a bar) or 'C G | Am F' (bar lines; chords share the bar).

    Returns a list of bars, each a list of `Chord`. Errors name the token and its 1-based position.
    """
    text = text.strip()
    if not text:
        raise ChordError(f"empty chord progression: expected {ACCEPTED}")
    has_bars = "|" in text
    groups = [g.split() for g in text.split("|")] if has_bars else [[t] for t in text.split()]
    groups = [g for g in groups if g]
    if not groups:
        raise ChordError(f"no chords in the progression {text!r}: expected {ACCEPTED}")
    bars, position = [], 0
    for group in groups:
        bar = []
        for token in group:
            position += 1
            bar.append(parse_chord(token, position))
        bars.append(bar)
    return bars


def parse_song(text, form=None):
    """[(section name, bars)] in the order they are played, from a progression that may name sections:
    "A: C G Am F; B: F G C C" (a section ends at ';', bar lines inside it work as in `parse_progression`),
    played as written or as `form` says ("AABA", or names separated by spaces: "verse chorus verse").
    A progression without names is one section, "".
    """
    parts = [p for p in text.split(";") if p.strip()]
    named = [SECTION.match(p) for p in parts]
    if not any(named):
        if form:
            raise ChordError("--form names sections, but the progression has none: write them as "
                             "'A: C G Am F; B: F G C C'")
        return [("", parse_progression(text))]
    if not all(named):
        bad = parts[named.index(None)].strip()
        raise ChordError(f"every section needs a name: '{bad}' has none (write 'B: {bad}')")
    sections = {}
    for m in named:
        if m[1] in sections:
            raise ChordError(f"section {m[1]} is written twice; play it twice with --form instead")
        sections[m[1]] = parse_progression(m[2])
    order = (form.split() if " " in form.strip() else list(form.strip())) if form else list(sections)
    unknown = [name for name in order if name not in sections]
    if unknown or not order:
        raise ChordError(f"--form {form!r} names {', '.join(unknown) or 'nothing'}; the sections are "
                         f"{', '.join(sections)}")
    return [(name, sections[name]) for name in order]


def bar_chords_per_beat(bar, meter=FOUR_FOUR):
    """Spread one bar's chords over its beats: 1 chord -> all beats, 2 -> half each, 3 -> 2+1+1 in 4/4."""
    n, beats = len(bar), meter.beats_per_bar
    if n > beats:
        raise ChordError(f"{n} chords in one bar ({' '.join(c.symbol for c in bar)}): at most {beats} in {meter}, "
                         "a chord a beat")
    per = [beats // n + (1 if i < beats % n else 0) for i in range(n)]
    return [c for c, k in zip(bar, per) for _ in range(k)]


def repeat_bars(bars, num_bars):
    """The progression's bars repeated (or cut) to `num_bars` bars."""
    return [bars[i % len(bars)] for i in range(num_bars)]


def progression_features(bars, num_bars, meter=FOUR_FOUR):
    """(slots, 24) chord features per 8th-note slot of `num_bars` bars in `meter`, and the per-beat
    `Chord`s, repeating the progression to fill."""
    beats = [c for bar in repeat_bars(bars, num_bars) for c in bar_chords_per_beat(bar, meter)]
    per_beat = np.stack([c.features for c in beats])
    return np.repeat(per_beat, meter.steps_per_beat // SLOT_STEPS, 0), beats
