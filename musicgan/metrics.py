"""Objective melody metrics, the same code for real and generated music.

Inputs: tokens (N, steps) melody tokens and chord ids (N, beats) as the dataset stores them.
"""

import numpy as np

from . import chords
from . import constants as C


def sounding_pitch(tokens):
    """(N, steps) pitch sounding at each step, -1 for rest (HOLD continues the last onset)."""
    tokens = np.asarray(tokens)
    pitch = np.where(tokens >= C.FIRST_PITCH_TOKEN, tokens.astype(int) - C.FIRST_PITCH_TOKEN + C.MIN_PITCH, -1)
    out = np.full(tokens.shape, -1)
    current = np.full(tokens.shape[0], -1)
    for s in range(tokens.shape[1]):
        current = np.where(tokens[:, s] == C.REST, -1, np.where(pitch[:, s] >= 0, pitch[:, s], current))
        out[:, s] = current
    return out


def chord_tone_ratio(tokens, chord_ids, strong_beats_only=False):
    """Duration-weighted share of sounding melody steps whose pitch class is in the current chord."""
    hits, sounding = chord_tone_steps(tokens, chord_ids, strong_beats_only)
    return float(hits.sum() / max(sounding.sum(), 1))


def chord_tone_steps(tokens, chord_ids, strong_beats_only=False):
    """(hits, sounding) per melody: steps on a tone of the current chord, steps sounding over a chord."""
    pitch = sounding_pitch(tokens)
    tones = chords.TEMPLATES[np.repeat(np.asarray(chord_ids), C.STEPS_PER_BEAT, 1)]   # (N, steps, 12)
    sounding = (pitch >= 0) & (np.asarray(chord_ids).repeat(C.STEPS_PER_BEAT, 1) > 0)
    if strong_beats_only:   # beats 1 and 3 of each bar
        step = np.arange(pitch.shape[1]) % C.STEPS_PER_BAR
        sounding &= (step // C.STEPS_PER_BEAT) % 2 == 0
    hit = np.take_along_axis(tones, np.maximum(pitch, 0)[..., None] % 12, -1)[..., 0] > 0
    return (hit & sounding).sum(1), sounding.sum(1)


def empty_bar_rate(tokens):
    pitch = sounding_pitch(tokens)
    bars = pitch.reshape(len(pitch), -1, C.STEPS_PER_BAR)
    return float((bars < 0).all(-1).mean())


def notes_per_bar(tokens):
    tokens = np.asarray(tokens)
    return float((tokens >= C.FIRST_PITCH_TOKEN).sum() / (tokens.size / C.STEPS_PER_BAR))


def pitch_class_entropy(tokens):
    """Mean over melodies with notes of the entropy (bits) of each one's onset pitch-class histogram.

    Per melody, not pooled: pooled over a corpus in all 12 keys every pitch class is equally
    common and the entropy is log2(12) whatever the melodies do.
    """
    tokens = np.asarray(tokens).astype(int)
    onset = tokens >= C.FIRST_PITCH_TOKEN
    pcs = np.where(onset, (tokens - C.FIRST_PITCH_TOKEN + C.MIN_PITCH) % 12, 12)
    counts = np.stack([np.bincount(row, minlength=13)[:12] for row in pcs])[onset.any(1)]      # (N, 12)
    if not len(counts):
        return 0.0
    p = counts / counts.sum(1, keepdims=True)
    return float(np.mean(-(p * np.log2(np.where(p > 0, p, 1))).sum(1)))


MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)   # a natural minor scale is the pitch set of its relative major


def scale_consistency(tokens):
    """Mean over melodies of the best share of sounding steps inside one of the 24 major/minor scales."""
    pitch = sounding_pitch(tokens)
    scales = np.zeros((12, 12), bool)
    for key in range(12):
        scales[key, [(key + s) % 12 for s in MAJOR_SCALE]] = True
    counts = np.stack([np.bincount(row[row >= 0] % 12, minlength=12) for row in pitch])      # (N, 12)
    inside = counts @ scales.T                                                                 # (N, keys)
    sounding = np.maximum(counts.sum(1), 1)
    return float((inside.max(1) / sounding)[counts.sum(1) > 0].mean()) if counts.sum() else 0.0


def pitch_range(tokens):
    """Mean over melodies of highest minus lowest onset pitch, in semitones."""
    tokens = np.asarray(tokens).astype(int)
    spans = [np.ptp(row[row >= C.FIRST_PITCH_TOKEN]) for row in tokens if (row >= C.FIRST_PITCH_TOKEN).any()]
    return float(np.mean(spans)) if spans else 0.0


def fragment_rate(tokens):
    """Share of notes lasting a single grid step (a 16th, the shortest the grid can hold)."""
    tokens = np.asarray(tokens)
    onset = tokens >= C.FIRST_PITCH_TOKEN
    held = np.zeros_like(onset)
    held[:, :-1] = tokens[:, 1:] == C.HOLD
    return float((onset & ~held).sum() / max(onset.sum(), 1))


def intervals(tokens):
    """Absolute semitone steps between consecutive onsets within each melody, pooled."""
    tokens = np.asarray(tokens).astype(int)
    out = [np.abs(np.diff(row[row >= C.FIRST_PITCH_TOKEN])) for row in tokens]
    return np.concatenate(out) if out else np.zeros(0, int)


def mean_abs_interval(tokens):
    steps = intervals(tokens)
    return float(steps.mean()) if len(steps) else 0.0


def leap_rate(tokens, semitones=12):
    """Share of melodic steps larger than an octave."""
    steps = intervals(tokens)
    return float((steps > semitones).mean()) if len(steps) else 0.0


def diversity(tokens):
    """Mean share of steps at which two melodies (over the same chords) differ, over all pairs."""
    pitch = sounding_pitch(tokens)
    n = len(pitch)
    if n < 2:
        return 0.0
    diff = [(pitch[i] != pitch[j]).mean() for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(diff))


def summary(tokens, chord_ids):
    return {"chord_tone_ratio": chord_tone_ratio(tokens, chord_ids),
            "strong_beat_chord_tone_ratio": chord_tone_ratio(tokens, chord_ids, strong_beats_only=True),
            "empty_bar_rate": empty_bar_rate(tokens), "notes_per_bar": notes_per_bar(tokens),
            "pitch_class_entropy": pitch_class_entropy(tokens), "mean_abs_interval": mean_abs_interval(tokens),
            "leap_rate": leap_rate(tokens), "scale_consistency": scale_consistency(tokens),
            "pitch_range": pitch_range(tokens), "fragment_rate": fragment_rate(tokens)}


# Metrics that the training loop watches, each compared with the corpus on its own scale.
WATCHED = ("chord_tone_ratio", "strong_beat_chord_tone_ratio", "empty_bar_rate", "notes_per_bar",
           "pitch_class_entropy", "mean_abs_interval", "leap_rate")


def metric_distance(key, value, real):
    """|value - real| on the metric's own scale (relative, floored at 0.1); for the two-sample
    classifier the ideal is 0.5, whatever the real row holds."""
    if key == "classifier_accuracy":
        return abs(value - 0.5) / 0.5
    return abs(value - real[key]) / max(abs(real[key]), 0.1)


def distance(model, real, keys=WATCHED):
    """Mean over `keys` of `metric_distance`: 0 = like the corpus, lower is better."""
    return float(np.mean([metric_distance(k, model[k], real) for k in keys]))


def warnings_for(m):
    """Plain-language warnings for a collapsed or silent generator, from `summary` + `diversity`."""
    out = []
    if m.get("diversity", 1.0) < 0.05:
        out.append(f"mode collapse: melodies from different noise are nearly identical "
                   f"(diversity {m['diversity']:.3f})")
    if m["notes_per_bar"] < 0.5 or m["empty_bar_rate"] > 0.5:
        out.append(f"the generator is mostly silent ({m['notes_per_bar']:.2f} notes a bar, "
                   f"{m['empty_bar_rate']:.0%} empty bars)")
    return out


# --- novelty: verbatim copies of the training melodies ---------------------------------------------

_HASH_BASE = 1_000_003                              # odd, so invertible modulo 2**64


def window_hashes(tokens, length):
    """(N, steps - length + 1) uint64 hashes of every window of `length` steps (wrapping arithmetic)."""
    t = np.asarray(tokens).astype(np.uint64) + np.uint64(1)
    h = np.zeros((t.shape[0], t.shape[1] - length + 1), np.uint64)
    with np.errstate(over="ignore"):
        for k in range(length):
            h = h * np.uint64(_HASH_BASE) + t[:, k:k + h.shape[1]]
    return h


def busy_windows(tokens, length, min_notes_per_bar):
    """(N, steps - length + 1) bool: the window of `length` steps holds >= min_notes_per_bar onsets a bar."""
    onsets = np.cumsum(np.pad(np.asarray(tokens) >= C.FIRST_PITCH_TOKEN, ((0, 0), (1, 0))), 1)
    return onsets[:, length:] - onsets[:, :-length] >= min_notes_per_bar * length / C.STEPS_PER_BAR


class CopyFinder:
    """Finds runs of a melody that appear verbatim (same tokens, any position) in `corpus` (M, steps).

    Pass the transposed training phrases, so that a copy in another key counts too. Runs are
    measured in whole beats; a window counts as copied only if it holds at least `min_notes`
    onsets per bar, so a held note or a rest matching the corpus is not called a copy.
    """

    def __init__(self, corpus, min_notes_per_bar=2):
        self.corpus = np.asarray(corpus)
        self.min_notes_per_bar = min_notes_per_bar
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
        return (hit & busy_windows(tokens, length, self.min_notes_per_bar)).any(1)

    def longest(self, tokens):
        """(N,) length in steps of each melody's longest copied run, to the beat (0 = nothing copied)."""
        tokens = np.asarray(tokens)
        best = np.zeros(len(tokens), int)
        for length in range(C.STEPS_PER_BEAT, tokens.shape[1] + 1, C.STEPS_PER_BEAT):
            hit = self.copied(tokens, length)
            if not hit.any():
                break                               # a longer window contains a shorter one
            best[hit] = length
        return best


def novelty(tokens, finder, bars=2):
    """Longest verbatim run from the corpus (mean and max, in bars) and the share copying >= `bars` bars."""
    longest = finder.longest(tokens) / C.STEPS_PER_BAR
    return {"longest_copy_bars": float(longest.mean()), "max_copy_bars": float(longest.max(initial=0)),
            "copy_rate": float((longest >= bars).mean())}


def real_diversity(melody, chord_ids, previous, song, max_pairs=20000, seed=0):
    """Diversity of real melodies over the same chords: bars with identical per-beat chords taken
    from different songs, compared step by step as `diversity` compares generated phrases."""
    melody, chord_ids = np.asarray(melody), np.asarray(chord_ids)
    bars = melody.shape[1] // C.STEPS_PER_BAR
    context = np.concatenate([previous, melody], 1)            # a HOLD at a bar line needs the bar before
    sounding = sounding_pitch(context)[:, C.STEPS_PER_BAR:].reshape(len(melody), bars, C.STEPS_PER_BAR)
    keys = [chord_ids[i, b * C.BEATS_PER_BAR:(b + 1) * C.BEATS_PER_BAR].tobytes()
            for i in range(len(melody)) for b in range(bars)]
    groups = {}
    for row, key in enumerate(keys):
        groups.setdefault(key, []).append(row)
    pairs = [(a, b) for rows in groups.values() for i, a in enumerate(rows) for b in rows[i + 1:]
             if song[a // bars] != song[b // bars]]
    if not pairs:
        return float("nan")
    pairs = np.array(pairs)
    pairs = pairs[np.random.default_rng(seed).permutation(len(pairs))[:max_pairs]]
    flat = sounding.reshape(-1, C.STEPS_PER_BAR)
    return float((flat[pairs[:, 0]] != flat[pairs[:, 1]]).mean())


def two_sample_accuracy(real, fake, chord_ids, groups, seed=0, epochs=8, test_share=0.3):
    """Held-out accuracy of a small convolutional classifier telling `real` from `fake` melodies
    (N, steps) over the same chords (N, beats); 0.5 means it cannot tell them apart.

    Row i of real and of fake share chord_ids[i] and group[i] (the source song): whole groups go
    to the test side, so transposed copies of one phrase cannot leak from training to test.
    """
    import tensorflow as tf
    from tensorflow import keras

    from .chords import FEATURES

    tf.get_logger().setLevel("ERROR")       # a new small model per call: Keras warns of retracing

    real, fake, chord_ids, groups = map(np.asarray, (real, fake, chord_ids, groups))
    rng = np.random.default_rng(seed)
    names = np.unique(groups)
    test_groups = rng.permutation(names)[:max(1, round(test_share * len(names)))]
    test = np.isin(groups, test_groups)
    if test.all() or not test.any():
        return float("nan")
    steps = real.shape[1]
    chords = np.repeat(FEATURES[chord_ids], steps // chord_ids.shape[1], 1)             # (N, steps, 24)

    def inputs(rows):
        mel = np.concatenate([real[rows], fake[rows]])
        x = np.concatenate([np.eye(C.VOCAB_SIZE, dtype=np.float32)[mel], np.concatenate([chords[rows]] * 2)], -1)
        return x, np.repeat([1.0, 0.0], rows.sum()).astype(np.float32)

    tf.keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((steps, C.VOCAB_SIZE + C.CHORD_DIM)),
        keras.layers.Conv1D(32, 4, padding="same", activation="relu"),
        keras.layers.Conv1D(32, 4, strides=2, padding="same", activation="relu"),
        keras.layers.Conv1D(32, 4, strides=2, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    x, y = inputs(~test)
    model.fit(x, y, batch_size=64, epochs=epochs, shuffle=True, verbose=0)
    x, y = inputs(test)
    guess = model.predict(x, batch_size=512, verbose=0)[:, 0] > 0
    return float((guess == (y > 0.5)).mean())
