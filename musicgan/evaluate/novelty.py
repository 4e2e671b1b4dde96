"""Novelty: runs of a melody found verbatim (any key) in the training melodies."""

import numpy as np

from ..core.meter import FOUR_FOUR
from ..data.split import busy_windows, window_hashes


class CopyFinder:
    """Finds runs of a melody that appear verbatim (same tokens, any position) in `corpus` (M, steps).

    Pass the transposed training phrases, so that a copy in another key counts too. Runs are
    measured in whole beats; a window counts as copied only if it holds at least `min_notes`
    onsets per bar, so a held note or a rest matching the corpus is not called a copy.
    """

    def __init__(self, corpus, min_notes_per_bar=2, meter=FOUR_FOUR):
        self.corpus = np.asarray(corpus)
        self.min_notes_per_bar = min_notes_per_bar
        self.meter = meter
        self._sorted = {}

    def _corpus_hashes(self, length):
        if length not in self._sorted:
            self._sorted[length] = np.unique(window_hashes(self.corpus, length))
        return self._sorted[length]

    def copied(self, tokens, length):
        """(N,) bool: the melody has a window of `length` steps, with enough notes, found in the corpus."""
        tokens = np.asarray(tokens)
        h = window_hashes(tokens, length)
        found = self._corpus_hashes(length)
        hit = found[np.minimum(np.searchsorted(found, h), len(found) - 1)] == h
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
