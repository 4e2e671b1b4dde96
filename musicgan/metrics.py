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
    pitch = sounding_pitch(tokens)
    tones = chords.TEMPLATES[np.repeat(np.asarray(chord_ids), C.STEPS_PER_BEAT, 1)]   # (N, steps, 12)
    sounding = (pitch >= 0) & (np.asarray(chord_ids).repeat(C.STEPS_PER_BEAT, 1) > 0)
    if strong_beats_only:   # beats 1 and 3 of each bar
        step = np.arange(pitch.shape[1]) % C.STEPS_PER_BAR
        sounding &= (step // C.STEPS_PER_BEAT) % 2 == 0
    hit = np.take_along_axis(tones, np.maximum(pitch, 0)[..., None] % 12, -1)[..., 0] > 0
    return float((hit & sounding).sum() / max(sounding.sum(), 1))


def empty_bar_rate(tokens):
    pitch = sounding_pitch(tokens)
    bars = pitch.reshape(len(pitch), -1, C.STEPS_PER_BAR)
    return float((bars < 0).all(-1).mean())


def notes_per_bar(tokens):
    tokens = np.asarray(tokens)
    return float((tokens >= C.FIRST_PITCH_TOKEN).sum() / (tokens.size / C.STEPS_PER_BAR))


def pitch_class_entropy(tokens):
    """Entropy (bits) of the onset pitch-class histogram, pooled over all melodies."""
    tokens = np.asarray(tokens)
    pcs = (tokens[tokens >= C.FIRST_PITCH_TOKEN].astype(int) - C.FIRST_PITCH_TOKEN + C.MIN_PITCH) % 12
    p = np.bincount(pcs, minlength=12) / max(len(pcs), 1)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


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


def distance(model, real):
    """Mean over WATCHED of |model - real| / max(|real|, 0.1): 0 = like the corpus, lower is better."""
    return float(np.mean([abs(model[k] - real[k]) / max(abs(real[k]), 0.1) for k in WATCHED]))


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
