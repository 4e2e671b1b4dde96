"""Novelty: runs of a melody found verbatim (any key) in the training melodies."""

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR
from ..data.split import busy_windows, window_hashes

KEY_SHIFTS = tuple(range(-5, 7))       # as `Corpus.augmented` transposes
OFF_RANGE = 255                        # a token no melody holds: a pitch shifted out of the range


def _shifted(tokens, semitones):
    """Tokens with every pitch moved by `semitones`; one moved out of the range becomes OFF_RANGE."""
    if not semitones:
        return tokens
    pitched = tokens >= C.FIRST_PITCH_TOKEN
    moved = tokens.astype(int) + semitones * pitched
    inside = ~pitched | ((moved >= C.FIRST_PITCH_TOKEN) & (moved < C.VOCAB_SIZE))
    return np.where(inside, moved, OFF_RANGE)


class CopyFinder:
    """Finds runs of a melody that appear verbatim (same tokens, any position) in `corpus` (M, steps).

    With `keys`, a run also counts when it is in the corpus in another key (`KEY_SHIFTS`, the keys
    training transposes into): the corpus is hashed once, in its own keys, and each melody is looked
    up in every key, so memory stays that of the untransposed corpus (a 768k-row transposed folk
    corpus hashed at 16 lengths ran out of 24 GB). Runs are measured in whole beats; a window counts
    as copied only if it holds at least `min_notes` onsets per bar, so a held note or a rest
    matching the corpus is not called a copy.
    """

    def __init__(self, corpus, min_notes_per_bar=2, meter=FOUR_FOUR, keys=False):
        self.corpus = np.asarray(corpus)
        self.min_notes_per_bar = min_notes_per_bar
        self.meter = meter
        self.shifts = KEY_SHIFTS if keys else (0,)
        self._sorted = {}

    def _corpus_hashes(self, length):
        if length not in self._sorted:
            self._sorted[length] = np.unique(window_hashes(self.corpus, length))
        return self._sorted[length]

    def copied(self, tokens, length):
        """(N,) bool: the melody has a window of `length` steps, with enough notes, found in the corpus."""
        tokens = np.asarray(tokens)
        found = self._corpus_hashes(length)
        hit = np.zeros((len(tokens), tokens.shape[1] - length + 1), bool)
        for shift in self.shifts:
            h = window_hashes(_shifted(tokens, -shift), length)
            hit |= found[np.minimum(np.searchsorted(found, h), len(found) - 1)] == h
        return (hit & busy_windows(tokens, length, self.min_notes_per_bar, self.meter)).any(1)

    def longest(self, tokens):
        """(N,) length in steps of each melody's longest copied run, to the beat (0 = nothing copied)."""
        tokens = np.asarray(tokens)
        best = np.zeros(len(tokens), int)
        beat = self.meter.steps_per_beat
        for length in range(beat, tokens.shape[1] + 1, beat):
            hit = self.copied(tokens, length)
            if not hit.any():
                break                               # a longer window contains a shorter one
            best[hit] = length
        return best


def novelty(tokens, finder, bars=2):
    """Longest verbatim run from the corpus (mean and max, in bars) and the share copying >= `bars` bars."""
    longest = finder.longest(tokens) / finder.meter.steps_per_bar
    return {"longest_copy_bars": float(longest.mean()), "max_copy_bars": float(longest.max(initial=0)),
            "copy_rate": float((longest >= bars).mean())}
