"""The chord vocabulary: chord ids, their templates and features, and recognition from pitch classes.

A chord id is 0 for N.C. or 1 + root * len(QUALITIES) + quality. Features of a chord are a
24-dim vector: the 12 sounding pitch classes, then a one-hot of the root (all zeros for N.C.).
"""

import numpy as np

from ..core import constants as C

# (name used in symbols, intervals above the root). Order matters: earlier wins a tie.
QUALITIES = (
    ("", (0, 4, 7)),
    ("m", (0, 3, 7)),
    ("7", (0, 4, 7, 10)),
    ("m7", (0, 3, 7, 10)),
    ("maj7", (0, 4, 7, 11)),
    ("dim", (0, 3, 6)),
    ("aug", (0, 4, 8)),
    ("sus4", (0, 5, 7)),
    ("sus2", (0, 2, 7)),
    ("6", (0, 4, 7, 9)),
    ("m6", (0, 3, 7, 9)),
    ("m7b5", (0, 3, 6, 10)),
    ("dim7", (0, 3, 6, 9)),
)
QUALITY_NAMES = tuple({"": "maj", "m": "min"}.get(q, q) for q, _ in QUALITIES)   # for reports
NUM_QUALITIES = len(QUALITIES)
NUM_CHORDS = 1 + C.PITCH_CLASSES * NUM_QUALITIES

# (NUM_CHORDS, 12) binary templates and (NUM_CHORDS, 24) features; row 0 is N.C.
TEMPLATES = np.zeros((NUM_CHORDS, C.PITCH_CLASSES), np.float32)
for _root in range(C.PITCH_CLASSES):
    for _q, (_, _iv) in enumerate(QUALITIES):
        TEMPLATES[1 + _root * NUM_QUALITIES + _q, [(_root + i) % 12 for i in _iv]] = 1
ROOTS = np.array([-1] + [r for r in range(12) for _ in QUALITIES])          # (NUM_CHORDS,)
FEATURES = np.concatenate([TEMPLATES, np.eye(12, dtype=np.float32)[ROOTS] * (ROOTS >= 0)[:, None]], 1)


def chord_id(root, quality):
    return 1 + root * NUM_QUALITIES + quality


def chord_name(cid):
    """'Am7', 'C', 'N.C.' for a chord id."""
    if cid == 0:
        return C.NO_CHORD
    root, q = divmod(int(cid) - 1, NUM_QUALITIES)
    return C.NOTE_NAMES[root] + QUALITIES[q][0]


def quality_name(cid):
    return "N.C." if cid == 0 else QUALITY_NAMES[(int(cid) - 1) % NUM_QUALITIES]


def transpose_ids(ids, semitones):
    """Move chord ids by `semitones` (N.C. stays N.C.)."""
    ids = np.asarray(ids)
    root, q = np.divmod(np.maximum(ids - 1, 0), NUM_QUALITIES)
    moved = 1 + ((root + semitones) % 12) * NUM_QUALITIES + q
    return np.where(ids == 0, 0, moved).astype(ids.dtype)


def template_scores(weights, bass=None):
    """(n, NUM_CHORDS - 1) how well each chord (ids 1...) explains rows of duration-weighted pitch classes.

    weights: (n, 12) >= 0; bass: (n,) pitch class of the lowest note or -1. Score per template =
    share of weight on its tones - share off them - 0.1 per template tone that is absent - 0.3 per
    tone beyond a triad (so a passing seventh does not make a seventh chord), + 0.05 when the bass
    is the root (it settles C6 vs Am7 and the symmetric chords). The weights were chosen against
    music21's chordify on the chorales: bench/chord_agreement.py.
    """
    w = np.asarray(weights, np.float32)
    share = w / np.maximum(w.sum(1, keepdims=True), 1e-9)
    t = TEMPLATES[1:]
    score = share @ (2 * t - 1).T - 0.1 * ((share < 0.02).astype(np.float32) @ t.T) - 0.3 * (t.sum(1) - 3)
    if bass is not None:
        bass = np.asarray(bass)
        score += 0.05 * (ROOTS[1:][None, :] == bass[:, None])
    return score


def recognise(weights, bass=None):
    """Chord ids for rows of duration-weighted pitch classes: the best of `template_scores`, N.C. for silence."""
    ids = 1 + template_scores(weights, bass).argmax(1)
    return np.where(np.asarray(weights).sum(1) > 0, ids, 0)
