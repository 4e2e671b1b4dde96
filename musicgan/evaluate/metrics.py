"""Objective melody metrics, the same code for real and generated music (numpy only).

Inputs: tokens (N, steps) melody tokens from a bar line in `meter`, and chord ids (N, slots) per 8th-note
slot as the dataset stores them.
"""

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR, SLOT_STEPS, Meter
from ..harmony import chords


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


def chord_tone_ratio(tokens, chord_ids, strong_beats_only=False, meter=FOUR_FOUR):
    """Duration-weighted share of sounding melody steps whose pitch class is in the current chord."""
    hits, sounding = chord_tone_steps(tokens, chord_ids, strong_beats_only, meter)
    return float(hits.sum() / max(sounding.sum(), 1))


def chord_tone_steps(tokens, chord_ids, strong_beats_only=False, meter=FOUR_FOUR):
    """(hits, sounding) per melody: steps on a tone of the current chord, steps sounding over a chord."""
    pitch = sounding_pitch(tokens)
    step_chords = np.repeat(np.asarray(chord_ids), SLOT_STEPS, 1)
    tones = chords.TEMPLATES[step_chords]                                              # (N, steps, 12)
    sounding = (pitch >= 0) & (step_chords > 0)
    if strong_beats_only:   # the meter's strong beats (4/4: beats 1 and 3)
        sounding &= meter.strong_steps(pitch.shape[1])
    hit = np.take_along_axis(tones, np.maximum(pitch, 0)[..., None] % 12, -1)[..., 0] > 0
    return (hit & sounding).sum(1), sounding.sum(1)


def empty_bar_rate(tokens, meter=FOUR_FOUR):
    """Share of the whole bars in which nothing sounds."""
    pitch = sounding_pitch(tokens)
    bars = pitch[:, :meter.whole_bars(pitch.shape[1]) * meter.steps_per_bar].reshape(len(pitch), -1, meter.steps_per_bar)
    return float((bars < 0).all(-1).mean())


def notes_per_bar(tokens, meter=FOUR_FOUR):
    tokens = np.asarray(tokens)
    return float((tokens >= C.FIRST_PITCH_TOKEN).sum() / (tokens.size / meter.steps_per_bar))


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


def summary(tokens, chord_ids, meter=FOUR_FOUR):
    return {"chord_tone_ratio": chord_tone_ratio(tokens, chord_ids, meter=meter),
            "strong_beat_chord_tone_ratio": chord_tone_ratio(tokens, chord_ids, True, meter),
            "empty_bar_rate": empty_bar_rate(tokens, meter), "notes_per_bar": notes_per_bar(tokens, meter),
            "pitch_class_entropy": pitch_class_entropy(tokens), "mean_abs_interval": mean_abs_interval(tokens),
            "leap_rate": leap_rate(tokens), "scale_consistency": scale_consistency(tokens),
            "pitch_range": pitch_range(tokens), "fragment_rate": fragment_rate(tokens)}


def summary_by_meter(tokens, chord_ids, meters):
    """`summary` of each meter's rows (meters: (N, 2) numerator, denominator), averaged with the rows' shares."""
    meters = np.asarray(meters).reshape(-1, 2)
    parts = []
    for num, den in np.unique(meters, axis=0):
        rows = (meters[:, 0] == num) & (meters[:, 1] == den)
        parts.append((rows.mean(), summary(tokens[rows], chord_ids[rows], Meter(int(num), int(den)))))
    return {k: float(sum(w * m[k] for w, m in parts)) for k in parts[0][1]}


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


def real_diversity(melody, chord_ids, previous, song, max_pairs=20000, seed=0, meter=FOUR_FOUR):
    """Diversity of real melodies over the same chords: bars with identical per-beat chords taken
    from different songs, compared step by step as `diversity` compares generated phrases. Up to
    `max_pairs` pairs, all of them when there are fewer, else drawn uniformly without listing them
    (a corpus whose bars mostly share a chord has billions)."""
    melody, chord_ids, song = np.asarray(melody), np.asarray(chord_ids), np.asarray(song)
    bar_steps, bar_slots = meter.steps_per_bar, meter.steps_per_bar // SLOT_STEPS
    bars = meter.whole_bars(melody.shape[1])
    context = np.concatenate([previous, melody], 1)            # a HOLD at a bar line needs the steps before
    flat = sounding_pitch(context)[:, previous.shape[1]:][:, :bars * bar_steps].reshape(-1, bar_steps)
    _, group = np.unique(chord_ids[:, :bars * bar_slots].reshape(-1, bar_slots), axis=0, return_inverse=True)
    group = group.ravel()
    members = np.argsort(group, kind="stable")                 # bar rows, group by group
    sizes = np.bincount(group)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pair_counts = sizes * (sizes - 1) // 2
    bar_song = np.repeat(song, bars)
    rng = np.random.default_rng(seed)
    if pair_counts.sum() <= max_pairs:
        pairs = np.concatenate([np.zeros((0, 2), int)] + [
            members[starts[g] + np.stack(np.triu_indices(sizes[g], 1), 1)] for g in np.flatnonzero(sizes > 1)])
        pairs = pairs[bar_song[pairs[:, 0]] != bar_song[pairs[:, 1]]]
    else:                                                      # rejection sampling: uniform over valid pairs
        pairs, found = [], 0
        for _ in range(50):
            g = rng.choice(len(sizes), 2 * max_pairs, p=pair_counts / pair_counts.sum())
            a = rng.integers(0, sizes[g])
            b = rng.integers(0, sizes[g] - 1)
            b += b >= a
            drawn = np.stack([members[starts[g] + a], members[starts[g] + b]], 1)
            drawn = drawn[bar_song[drawn[:, 0]] != bar_song[drawn[:, 1]]]
            pairs.append(drawn)
            found += len(drawn)
            if found >= max_pairs:
                break
        pairs = np.concatenate(pairs)
    if not len(pairs):
        return float("nan")
    pairs = pairs[rng.permutation(len(pairs))[:max_pairs]]
    return float((flat[pairs[:, 0]] != flat[pairs[:, 1]]).mean())
