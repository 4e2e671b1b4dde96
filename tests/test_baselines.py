import itertools

import numpy as np

from musicgan.core import constants as C
from musicgan.evaluate import baselines, metrics
from musicgan.harmony import progression

IDS = np.array([[progression.parse_chord(s).id for s in ("C", "G", "Am", "F") for _ in range(8)]] * 64)   # a 4/4 bar each
PROFILE = np.tile([1.0, 0, 0, 0], 4)                     # quarter notes


def test_random_baselines_follow_the_rhythm_and_their_rule():
    rng = np.random.default_rng(0)
    for make in (baselines.uniform_notes, baselines.key_notes, baselines.chord_tone_notes):
        tokens = make(IDS, PROFILE, rng)
        assert tokens.shape == (64, 64) and tokens.max() < C.VOCAB_SIZE
        assert metrics.notes_per_bar(tokens) == 4.0
    assert metrics.chord_tone_ratio(baselines.chord_tone_notes(IDS, PROFILE, rng), IDS) == 1.0
    assert metrics.scale_consistency(baselines.key_notes(IDS, PROFILE, rng)) == 1.0
    assert metrics.chord_tone_ratio(baselines.uniform_notes(IDS, PROFILE, rng), IDS) < 0.5


def test_markov_chain_learns_transitions():
    pattern = np.array([C.FIRST_PITCH_TOKEN + p if p >= 0 else C.HOLD for p in [12, -1, 14, -1, 16, -1, 14, -1] * 8])
    chain = baselines.Markov(np.tile(pattern, (500, 1)))
    tokens = chain(IDS, PROFILE, np.random.default_rng(1))
    seen = set(itertools.pairwise(pattern))
    pairs = list(zip(tokens[:, :-1].ravel(), tokens[:, 1:].ravel()))
    assert sum(p in seen for p in pairs) / len(pairs) > 0.9
    assert set(baselines.all_baselines(pattern[None])) == {"uniform random", "random in key",
                                                           "random chord tones", "markov"}
