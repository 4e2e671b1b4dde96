"""Simple melody makers the GAN must beat, scored with the same metrics: random notes and two Markov chains,
one blind to the chords and one that reads them and the beat.

Each takes chord ids (N, slots), the corpus' onset profile of a bar, a numpy Generator and the `Meter`
and returns melody tokens (N, steps). The random baselines share the corpus' rhythm (the chance of an
onset at each step of the bar), so they differ from real melodies in pitch choice only.
"""

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR, SLOT_STEPS, STEP_LEVELS, Meter
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


def uniform_notes(chord_ids, profile, rng, meter=None):
    """Any pitch of the range, uniformly."""
    n, steps = _shape(chord_ids)
    return _fill(_rhythm(n, steps, profile, rng), rng.integers(C.MIN_PITCH, C.MAX_PITCH + 1, (n, steps)))


def key_notes(chord_ids, profile, rng, meter=None):
    """Pitches of the major/minor scale that best covers the phrase's chords, in MIDI 60-71."""
    n, steps = _shape(chord_ids)
    weight = chords.TEMPLATES[chord_ids].sum(1)                              # (N, 12)
    scales = np.array([[(k + s) % 12 for s in MAJOR_SCALE] for k in range(12)])   # (12 keys, 7)
    key = np.take_along_axis(weight[:, None, :].repeat(12, 1), scales[None], 2).sum(2).argmax(1)
    pcs = scales[key][np.arange(n)[:, None], rng.integers(0, 7, (n, steps))]
    return _fill(_rhythm(n, steps, profile, rng), 60 + pcs)


def chord_tone_notes(chord_ids, profile, rng, meter=None):
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


# the chord-aware chain's state: the last token's kind, the last pitch heard relative to the chord's root
REST_KIND, ONSET_KIND, HOLD_KIND = 0, 1, 2
RELATIVE = C.NUM_PITCHES + C.PITCH_CLASSES - 1      # pitch index - root + 11: every (pitch, root) pair
NO_PITCH = RELATIVE                                 # nothing heard yet
NEXT = 2 + RELATIVE                                 # next token: REST, HOLD, or a pitch relative to the root
N_C = chords.NUM_QUALITIES                          # the quality class of N.C. (its root counts as C)


def _chord_frame(chord_ids):
    """(root (0 for N.C.), quality class (N_C for N.C.)) of chord ids, any shape."""
    ids = np.asarray(chord_ids)
    root, quality = np.divmod(np.maximum(ids - 1, 0), chords.NUM_QUALITIES)
    return np.where(ids == 0, 0, root), np.where(ids == 0, N_C, quality)


class ChordMarkov:
    """A first-order chain that reads the chords and the beat: the next token given the last one (its
    kind, rest / onset / hold, and the last pitch heard, both relative to the current chord's root), the
    chord's quality and the metrical level of the step (`Meter.step_levels`), with pitches predicted
    relative to the root. Counts are smoothed by backing off, with weight ALPHA, to the same without
    the quality, then to the level alone; fitted on untransposed melodies (the state is already
    relative to the chord, so another key adds nothing but register)."""
    ALPHA = 5.0

    def __init__(self, melody, chord_ids, meters):
        """melody (N, steps) tokens, chord_ids (N, slots), meters (N, 2) numerator and denominator per row."""
        melody, meters = np.asarray(melody).astype(int), np.asarray(meters).reshape(-1, 2)
        levels = np.zeros(melody.shape, int)
        for m in np.unique(meters, axis=0):
            rows = (meters == m).all(1)
            levels[rows] = Meter(int(m[0]), int(m[1])).step_levels(melody.shape[1])
        root, quality = _chord_frame(np.repeat(chord_ids, SLOT_STEPS, 1)[:, :melody.shape[1]])
        kind, last = self._state(np.concatenate([np.full((len(melody), 1), C.REST), melody[:, :-1]], 1), root)
        pitch = melody - C.FIRST_PITCH_TOKEN
        target = np.where(melody >= C.FIRST_PITCH_TOKEN, 2 + pitch - root + C.PITCH_CLASSES - 1, melody)
        shape = (3, RELATIVE + 1, N_C + 1, STEP_LEVELS, NEXT)
        full = np.bincount(np.ravel_multi_index((kind, last, quality, levels, target), shape).ravel(),
                           minlength=int(np.prod(shape))).reshape(shape).astype(float)
        level = full.sum((0, 1, 2)) + 1.0                                    # (levels, next), add-one
        level /= level.sum(-1, keepdims=True)
        no_quality = full.sum(2)                                             # (kind, last, levels, next)
        no_quality = (no_quality + self.ALPHA * level) / (no_quality.sum(-1, keepdims=True) + self.ALPHA)
        self.table = (full + self.ALPHA * no_quality[:, :, None]) / (full.sum(-1, keepdims=True) + self.ALPHA)

    @staticmethod
    def _state(before, root):
        """(kind (N, steps), last pitch heard relative to the root, or NO_PITCH) of the tokens `before` each
        step (N, steps), against each step's chord root (N, steps)."""
        kind = np.where(before == C.REST, REST_KIND, np.where(before == C.HOLD, HOLD_KIND, ONSET_KIND))
        onset = before >= C.FIRST_PITCH_TOKEN
        where = np.maximum.accumulate(np.where(onset, np.arange(before.shape[1]), -1), 1)
        heard = np.take_along_axis(before, np.maximum(where, 0), 1) - C.FIRST_PITCH_TOKEN
        return kind, np.where(where >= 0, heard - root + C.PITCH_CLASSES - 1, NO_PITCH)

    def __call__(self, chord_ids, profile, rng, meter=FOUR_FOUR):
        n, steps = _shape(chord_ids)
        root, quality = _chord_frame(np.repeat(chord_ids, SLOT_STEPS, 1))
        levels = meter.step_levels(steps)
        # which next tokens a root allows: REST, HOLD and the relative pitches that land in the range
        rel_pitch = np.arange(RELATIVE)[None] + root[..., None] - (C.PITCH_CLASSES - 1)     # (n, steps, RELATIVE)
        allowed = np.concatenate([np.ones((n, steps, 2), bool), (rel_pitch >= 0) & (rel_pitch < C.NUM_PITCHES)], -1)
        out = np.zeros((n, steps), int)
        kind, heard = np.full(n, REST_KIND), np.full(n, -1)                  # heard: pitch index, -1 none yet
        for s in range(steps):
            last = np.where(heard >= 0, heard - root[:, s] + C.PITCH_CLASSES - 1, NO_PITCH)
            p = self.table[kind, last, quality[:, s], levels[s]] * allowed[:, s]
            choice = (p.cumsum(1) < rng.random(n)[:, None] * p.sum(1, keepdims=True)).sum(1).clip(0, NEXT - 1)
            pitch = choice - 2 + root[:, s] - (C.PITCH_CLASSES - 1)
            out[:, s] = np.where(choice >= 2, pitch + C.FIRST_PITCH_TOKEN, choice)
            kind = np.where(choice == C.REST, REST_KIND, np.where(choice == C.HOLD, HOLD_KIND, ONSET_KIND))
            heard = np.where(choice >= 2, pitch, heard)
        return out.astype(np.uint8)


def all_baselines(melody, corpus=None):
    """{name: maker} with the Markov chains fitted on the training split: `melody` (in every key) for the
    plain one, `corpus` (its untransposed `Corpus`) for the one that reads the chords."""
    makers = {"uniform random": uniform_notes, "random in key": key_notes,
              "random chord tones": chord_tone_notes, "markov": Markov(melody)}
    if corpus is not None:
        makers["markov (chords)"] = ChordMarkov(corpus.melody, corpus.chords, corpus.meter)
    return makers
