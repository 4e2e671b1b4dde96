"""The held-out split: songs kept out of training, whole tune families at a time, found by hashing passages.

`window_hashes` and `busy_windows` are shared with the copy finder of `evaluate.novelty`.
"""

import zlib
from pathlib import Path

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR

TUNE_BARS = 3                # songs sharing a passage this long are one tune (2 bars: stock figures join most chorales)
MIN_SONGS_TO_HOLD_OUT = 20   # below this every song is needed for training


def held_out(corpus, fraction, by="tune"):
    """(P,) bool: phrases of the songs kept out of training. By "song", single songs; by "tune",
    whole tune families (`tune_families`), so that no tune is on both sides. A family is chosen by a
    hash of its first file name, so it stays on its side when files are moved or the corpus is
    re-read (a new file can join two families). Under MIN_SONGS_TO_HOLD_OUT songs, none is kept out."""
    if len(np.unique(corpus.song)) < MIN_SONGS_TO_HOLD_OUT:
        return np.zeros(len(corpus.song), bool)
    names = [Path(f).name for f in corpus.files]
    family = tune_families(corpus) if by == "tune" else np.arange(len(names))
    first = {}
    for i in sorted(range(len(names)), key=names.__getitem__):
        first.setdefault(family[i], names[i])
    held = np.array([zlib.crc32(first[f].encode()) % 10_000 < fraction * 10_000 for f in family], bool)
    return held[corpus.song]


def tune_families(corpus):
    """(files,) int: one label per file, shared by the songs that hold the same TUNE_BARS-bar passage
    (>= 2 notes a bar) in some key: Bach's several settings of one hymn tune, a song and its cover."""
    mel, _, _, source = corpus.augmented(sources=True)
    length = min(FOUR_FOUR.steps(TUNE_BARS), mel.shape[1])
    busy = busy_windows(mel, length, 2)
    hashes = window_hashes(mel, length)[busy]
    songs = np.broadcast_to(corpus.song[source][:, None], busy.shape)[busy]
    order = np.lexsort((songs, hashes))
    hashes, songs = hashes[order], songs[order]
    link = (hashes[1:] == hashes[:-1]) & (songs[1:] != songs[:-1])    # one passage, two songs
    parent = np.arange(len(corpus.files))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]      # path halving keeps the trees flat
            i = parent[i]
        return i

    for a, b in zip(songs[:-1][link], songs[1:][link]):
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(len(parent))])


# --- passages as hashes ----------------------------------------------------------------------

_HASH_BASE = 1_000_003                              # odd, so invertible modulo 2**64


def window_hashes(tokens, length):
    """(N, steps - length + 1) uint64 hashes of every window of `length` steps (wrapping arithmetic)."""
    t = np.asarray(tokens).astype(np.uint64) + np.uint64(1)
    h = np.zeros((t.shape[0], t.shape[1] - length + 1), np.uint64)
    with np.errstate(over="ignore"):
        for k in range(length):
            h = h * np.uint64(_HASH_BASE) + t[:, k:k + h.shape[1]]
    return h


def busy_windows(tokens, length, min_notes_per_bar, meter=FOUR_FOUR):
    """(N, steps - length + 1) bool: the window of `length` steps holds >= min_notes_per_bar onsets a bar."""
    onsets = np.cumsum(np.pad(np.asarray(tokens) >= C.FIRST_PITCH_TOKEN, ((0, 0), (1, 0))), 1)
    return onsets[:, length:] - onsets[:, :-length] >= min_notes_per_bar * length / meter.steps_per_bar
