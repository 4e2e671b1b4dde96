import itertools

import numpy as np
import pytest

from musicgan.core import constants as C
from musicgan.core.meter import FOUR_FOUR, Meter
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


def test_chord_markov_follows_the_chord_where_the_plain_chain_cannot():
    # a melody that sings each bar's chord root on every quarter note, over C G Am F: the pitch is the chord's
    # root, so only a chain that reads the chord can follow it
    roots = {"C": 60, "G": 55, "Am": 57, "F": 53}
    melody = np.array([[t for s in ("C", "G", "Am", "F")
                        for t in [C.FIRST_PITCH_TOKEN + roots[s] - C.MIN_PITCH, C.HOLD, C.HOLD, C.HOLD] * 4]] * 64)
    chain = baselines.ChordMarkov(melody, IDS, np.tile([4, 4], (64, 1)))
    rng = np.random.default_rng(0)
    tokens = chain(IDS, PROFILE, rng, meter=FOUR_FOUR)
    assert tokens.shape == (64, 64)
    on_root = np.mean([t == m for t, m in zip(tokens[:, ::4].ravel(), melody[:, ::4].ravel())])
    assert on_root > 0.9 and metrics.notes_per_bar(tokens) > 3.5
    plain = baselines.Markov(melody)(IDS, PROFILE, rng)
    assert np.mean(plain[:, ::4] == melody[:, ::4]) < 0.6
    # the state is relative to the root: the same chain follows the song a tone higher (D A Bm G)
    up = np.array([[progression.parse_chord(s).id for s in ("D", "A", "Bm", "G") for _ in range(8)]] * 64)
    assert np.mean(chain(up, PROFILE, rng, meter=FOUR_FOUR)[:, ::4] == melody[:, ::4] + 2) > 0.9


def test_chord_markov_reads_the_beat_and_counts_exactly():
    melody = np.array([[C.FIRST_PITCH_TOKEN + 12, C.HOLD] * 6] * 4)          # 8ths in 3/4 over C
    ids = np.full((4, 6), progression.parse_chord("C").id)
    chain = baselines.ChordMarkov(melody, ids, np.tile([3, 4], (4, 1)))
    c_major = 0
    # after the onset of C4 (12 above the root C3: relative 12 + 11), on an offbeat 16th (level 4): 4 rows x 6
    # onsets, each followed by HOLD. Backing off with ALPHA 5: level alone (24 + 1) / (24 + 50), then the
    # state without the quality (24 + 5 p) / 29, then the full state the same way
    level = 25 / 74
    no_quality = (24 + 5 * level) / 29
    seen = chain.table[baselines.ONSET_KIND, 23, c_major, 4]
    assert seen[C.HOLD] == pytest.approx((24 + 5 * no_quality) / 29) and seen.sum() == pytest.approx(1)
    assert Meter(3, 4).step_levels(12).tolist() == [0, 4, 3, 4, 2, 4, 3, 4, 2, 4, 3, 4]
    assert Meter(6, 8).step_levels(12).tolist() == [0, 4, 3, 4, 3, 4, 2, 4, 3, 4, 3, 4]
    assert FOUR_FOUR.step_levels(16)[[0, 4, 8, 12]].tolist() == [0, 2, 1, 2]
    assert set(baselines.all_baselines(melody, _Split(melody, ids))) >= {"markov", "markov (chords)"}


class _Split:
    def __init__(self, melody, ids):
        self.melody, self.chords, self.meter = melody, ids, np.tile([3, 4], (len(melody), 1))
