"""Simple melody makers the GAN must beat, scored with the same metrics: random notes and a Markov chain.

Each takes chord ids (N, slots), the corpus' onset profile of a bar and a numpy Generator and returns
melody tokens (N, steps). The random baselines share the corpus' rhythm (the chance of an onset at
each step of the bar), so they differ from real melodies in pitch choice only.
"""

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR, SLOT_STEPS
from ..harmony import chords
from .metrics import MAJOR_SCALE


def onset_profile(melody, meter=FOUR_FOUR):
    """(steps per bar,) chance of a note starting at each step of a bar in real melodies."""
    onsets = np.asarray(melody) >= C.FIRST_PITCH_TOKEN
    whole = meter.whole_bars(onsets.shape[1]) * meter.steps_per_bar
    return onsets[:, :whole].reshape(-1, meter.steps_per_bar).mean(0)


def _shape(chord_ids):
    """(melodies, steps) of melodies over per-slot chord ids."""
    return len(chord_ids), chord_ids.shape[1] * SLOT_STEPS


def _rhythm(n, steps, profile, rng):
    onset = rng.random((n, steps)) < np.resize(profile, steps)          # the bar's profile, bar after bar
    onset[:, 0] = True                                   # start on the downbeat: no leading rest
    return onset


def _fill(onset, pitch):
    """Tokens: the pitch at each onset, HOLD elsewhere (notes last until the next onset)."""
    return np.where(onset, pitch - C.MIN_PITCH + C.FIRST_PITCH_TOKEN, C.HOLD).astype(np.uint8)


def uniform_notes(chord_ids, profile, rng):
    """Any pitch of the range, uniformly."""
    n, steps = _shape(chord_ids)
    return _fill(_rhythm(n, steps, profile, rng), rng.integers(C.MIN_PITCH, C.MAX_PITCH + 1, (n, steps)))


def key_notes(chord_ids, profile, rng):
    """Pitches of the major/minor scale that best covers the phrase's chords, in MIDI 60-71."""
    n, steps = _shape(chord_ids)
    weight = chords.TEMPLATES[chord_ids].sum(1)                              # (N, 12)
    scales = np.array([[(k + s) % 12 for s in MAJOR_SCALE] for k in range(12)])   # (12 keys, 7)
    key = np.take_along_axis(weight[:, None, :].repeat(12, 1), scales[None], 2).sum(2).argmax(1)
    pcs = scales[key][np.arange(n)[:, None], rng.integers(0, 7, (n, steps))]
    return _fill(_rhythm(n, steps, profile, rng), 60 + pcs)


def chord_tone_notes(chord_ids, profile, rng):
    """A random tone of the chord sounding at each onset (any pitch class over N.C.), in MIDI 60-71."""
    n, steps = _shape(chord_ids)
    tones = chords.TEMPLATES[np.repeat(chord_ids, SLOT_STEPS, 1)]      # (N, steps, 12)
    tones[tones.sum(-1) == 0] = 1
    pick = rng.random(tones.shape) * tones
    return _fill(_rhythm(n, steps, profile, rng), 60 + pick.argmax(-1))


class Markov:
    """First-order Markov chain over melody tokens, fitted on real melodies (chords ignored)."""

    def __init__(self, melody):
        melody = np.asarray(melody).astype(int)
        counts = np.ones((C.VOCAB_SIZE, C.VOCAB_SIZE))                          # add-one smoothing
        np.add.at(counts, (melody[:, :-1].ravel(), melody[:, 1:].ravel()), 1)
        self.transition = counts / counts.sum(1, keepdims=True)
        start = np.bincount(melody[:, 0], minlength=C.VOCAB_SIZE) + 1.0
        self.start = start / start.sum()

    def __call__(self, chord_ids, profile, rng, meter=FOUR_FOUR):
        n, steps = _shape(chord_ids)
        out = np.zeros((n, steps), int)
        out[:, 0] = rng.choice(C.VOCAB_SIZE, n, p=self.start)
        cumulative = self.transition.cumsum(1)
        for s in range(1, steps):
            u = rng.random(n)[:, None]
            out[:, s] = (cumulative[out[:, s - 1]] < u).sum(1).clip(0, C.VOCAB_SIZE - 1)
        return out.astype(np.uint8)


def all_baselines(melody):
    """{name: maker} with the Markov chain fitted on `melody` (the training split)."""
    return {"uniform random": uniform_notes, "random in key": key_notes,
            "random chord tones": chord_tone_notes, "markov": Markov(melody)}
