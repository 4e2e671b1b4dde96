"""Typed chords: lead-sheet symbols and progressions -> `Chord`s with exact pitch classes and features.

Typed symbols may name chords outside the template list (C9, C7#9): they still get exact
features from their pitch classes, and their id is the nearest template on the same root.
"""

import re
from dataclasses import dataclass

import numpy as np

from ..core import constants as C
from ..core.errors import UserError
from ..core.meter import FOUR_FOUR
from .chords import NOTE_NAMES, NUM_QUALITIES, QUALITIES, TEMPLATES, chord_id

# Aliases musicians type -> music21's spelling of the same kind.
_ALIASES = {"maj": "", "M": "", "min": "m", "-": "m", "mi": "m", "M7": "maj7", "Δ": "maj7",
            "Δ7": "maj7", "ma7": "maj7", "min7": "m7", "-7": "m7", "mi7": "m7", "ø": "m7b5",
            "ø7": "m7b5", "o": "dim", "°": "dim", "o7": "dim7", "°7": "dim7", "+": "aug",
            "sus": "sus4", "dom7": "7", "min6": "m6", "-6": "m6"}
_TOKEN = re.compile(r"^([A-Ga-g])([#b]?)([^/]*)(?:/([A-Ga-g])([#b]?))?$")
ACCEPTED = ("a root A-G with optional # or b, then a quality (none for major, m, 7, m7, maj7, dim, "
            "aug, sus2, sus4, 6, m6, m7b5, dim7, or another music21 kind such as 9 or 7#9), "
            "an optional /bass note, or N.C.; bars separated by |")


class ChordError(UserError, ValueError):
    """A chord symbol that cannot be read; the message names the token, where it is, and what is accepted."""


def _pc(letter, accidental):
    base = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[letter.upper()]
    return (base + {"#": 1, "b": -1, "": 0}[accidental]) % 12


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
        if self.root < 0:
            return self
        move = lambda pc: (pc + semitones) % 12
        bass = "" if self.bass == self.root else "/" + NOTE_NAMES[move(self.bass)]
        return Chord(NOTE_NAMES[move(self.root)] + _TOKEN.match(self.symbol).group(3) + bass, move(self.root),
                     tuple(sorted(map(move, self.pitch_classes))), move(self.bass))

    @property
    def id(self):
        if self.root < 0:
            return 0
        pcs = np.zeros((1, 12), np.float32)
        pcs[0, list(self.pitch_classes)] = 1
        rows = [chord_id(self.root, q) for q in range(NUM_QUALITIES)]
        best = (pcs @ (2 * TEMPLATES[rows] - 1).T)[0]      # same root, closest template
        return rows[int(best.argmax())]


def parse_chord(token, position=None):
    """Parse one symbol ('F#m7', 'Bb', 'C/E', 'N.C.') into a `Chord`, or raise `ChordError`."""
    where = f" at position {position}" if position is not None else ""
    if token.upper() in ("N.C.", "NC", "N.C", "N"):
        return Chord(C.NO_CHORD)
    m = _TOKEN.match(token)
    if not m:
        raise ChordError(f"bad chord '{token}'{where}: expected {ACCEPTED}")
    letter, acc, kind, bass_letter, bass_acc = m.groups()
    kind = _ALIASES.get(kind, kind)
    root = _pc(letter, acc)
    pcs = None
    for q, intervals in QUALITIES:
        if kind == q:
            pcs = tuple(sorted((root + i) % 12 for i in intervals))
    if pcs is None:   # an extended kind: let music21 spell it ('-' is its flat sign)
        from music21 import harmony
        try:
            cs = harmony.ChordSymbol(letter.upper() + acc.replace("b", "-") + kind)
            pcs = tuple(sorted({p.pitchClass for p in cs.pitches}))
        except Exception:  # noqa: BLE001 - music21 raises many kinds on an unknown quality
            raise ChordError(f"bad chord '{token}'{where}: unknown quality '{kind}'; expected "
                             f"{ACCEPTED}") from None
    bass = _pc(bass_letter, bass_acc) if bass_letter else root
    if bass not in pcs:
        pcs = tuple(sorted(pcs + (bass,)))
    return Chord(token, root, pcs, bass)


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


def bar_chords_per_beat(bar, beats=FOUR_FOUR.beats_per_bar):
    """Spread one bar's chords over its beats: 1 chord -> all beats, 2 -> half each, 3 -> 2+1+1."""
    n = len(bar)
    if n > beats:
        raise ChordError(f"{n} chords in one bar ({' '.join(c.symbol for c in bar)}): at most {beats}")
    per = [beats // n + (1 if i < beats % n else 0) for i in range(n)]
    return [c for c, k in zip(bar, per) for _ in range(k)]


def progression_features(bars, num_bars):
    """(num_bars * beats, 24) features and the per-beat `Chord`s, repeating the progression to fill."""
    beats = [c for i in range(num_bars) for c in bar_chords_per_beat(bars[i % len(bars)])]
    return np.stack([c.features for c in beats]), beats
