import numpy as np
import pytest

from musicgan.core import constants as C
from musicgan.evaluate import classifier, metrics, novelty
from musicgan.harmony import progression


def tok(p):
    return C.FIRST_PITCH_TOKEN + p - C.MIN_PITCH


C_MAJ = progression.parse_chord("C").id
H, R = C.HOLD, C.REST


def test_chord_tones_only_scores_one_and_a_foreign_note_lowers_it():
    bar = [tok(60), H, H, H, tok(64), H, H, H, tok(67), H, H, H, tok(72), H, H, H]
    ids = np.full((1, 8), C_MAJ)                       # a chord per 8th-note slot
    assert metrics.chord_tone_ratio(np.array([bar]), ids) == 1.0
    bar[4] = tok(62)                                   # D for one beat out of four
    assert metrics.chord_tone_ratio(np.array([bar]), ids) == pytest.approx(0.75)
    assert metrics.chord_tone_ratio(np.array([bar]), ids, strong_beats_only=True) == 1.0


def test_empty_bars_notes_per_bar_and_intervals():
    one = [tok(60), H, H, H, tok(72), H, H, H, tok(86 - 12), H, R, R, tok(60), R, R, R]
    empty = [R] * 16
    tokens = np.array([one + empty])
    assert metrics.empty_bar_rate(tokens) == 0.5
    assert metrics.notes_per_bar(tokens) == 2.0
    assert metrics.intervals(tokens).tolist() == [12, 2, 14]
    assert metrics.mean_abs_interval(tokens) == pytest.approx(28 / 3)
    assert metrics.leap_rate(tokens) == pytest.approx(1 / 3)


def test_sounding_pitch_carries_holds_and_stops_at_rests():
    tokens = np.array([[tok(60), H, R, H, tok(62)]])
    assert metrics.sounding_pitch(tokens).tolist() == [[60, 60, -1, -1, 62]]


def test_entropy_and_diversity():
    scale = np.array([[tok(60 + s) for s in (0, 2, 4, 5, 7, 9, 11, 12)]])
    assert metrics.pitch_class_entropy(scale) == pytest.approx(-(6 / 8 * np.log2(1 / 8) + 2 / 8 * np.log2(2 / 8)))
    same = np.repeat(scale, 3, 0)
    assert metrics.diversity(same) == 0.0
    other = same.copy()
    other[1, :4] = tok(48)
    assert metrics.diversity(other) == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_scale_range_and_fragments():
    c_major = [tok(60), H, tok(62), H, tok(64), H, tok(65), H, tok(67), H, tok(69), H, tok(71), H, tok(72), H]
    chromatic = [tok(60 + i) for i in range(16)]
    assert metrics.scale_consistency(np.array([c_major])) == 1.0
    assert metrics.scale_consistency(np.array([chromatic])) == pytest.approx(10 / 16)   # Db major: 7 pcs + C, Db, Eb again
    assert metrics.pitch_range(np.array([c_major, chromatic])) == pytest.approx((12 + 15) / 2)
    assert metrics.fragment_rate(np.array([c_major])) == 0.0
    assert metrics.fragment_rate(np.array([chromatic])) == 1.0


def test_entropy_is_per_melody_so_transposition_does_not_raise_it():
    one_note = np.array([[tok(60), H, H, H] * 4])
    scale = np.array([[tok(60 + s) for s in (0, 2, 4, 5, 7, 9, 11, 12)] * 2])
    assert metrics.pitch_class_entropy(one_note) == 0.0
    both = metrics.pitch_class_entropy(np.concatenate([one_note, scale]))
    assert both == pytest.approx(metrics.pitch_class_entropy(scale) / 2)
    in_all_keys = np.concatenate([scale + k for k in range(12)])
    assert metrics.pitch_class_entropy(in_all_keys) == pytest.approx(metrics.pitch_class_entropy(scale))


def _tune(rng, bars=2):
    """A melody of random pitches, one every beat."""
    notes = rng.integers(tok(55), tok(80), bars * 4)
    return np.stack([notes, np.full_like(notes, H), np.full_like(notes, H), np.full_like(notes, H)], 1).ravel()


def test_copy_finder_finds_a_copied_phrase_in_another_key_and_nothing_in_new_music():
    rng = np.random.default_rng(0)
    corpus = np.stack([_tune(rng, 4) for _ in range(50)])
    finder = novelty.CopyFinder(np.concatenate([corpus, corpus + 2]))      # the corpus in two keys
    new = np.stack([_tune(rng, 4) for _ in range(5)])
    copied = new.copy()
    copied[0, 16:48] = corpus[7, 8:40] + 2                                # 2 bars from song 7, moved up
    assert finder.longest(new).max() < 32                                  # random tunes share < 2 bars
    assert finder.longest(copied)[0] == 32
    nov = novelty.novelty(copied, finder)
    assert nov["copy_rate"] == pytest.approx(1 / 5) and nov["max_copy_bars"] == 2.0
    held = np.array([[tok(60)] + [H] * 63])                                # one long note: no notes to copy
    assert not novelty.CopyFinder(held).copied(held, 32).any()


def test_real_diversity_compares_bars_over_the_same_chords_from_different_songs():
    a = [tok(60), H, H, H] * 4
    b = [tok(64), H, H, H] * 4
    melody = np.array([a, a, b])
    ids = np.full((3, 8), C_MAJ)
    previous = np.full((3, 16), R)
    assert metrics.real_diversity(melody, ids, previous, song=np.array([0, 1, 1])) == 0.5   # a-a, a-b
    assert np.isnan(metrics.real_diversity(melody, ids, previous, song=np.zeros(3)))   # one song: no pairs


def test_real_diversity_draws_pairs_uniformly_when_there_are_too_many_to_list():
    a = [tok(60), H, H, H] * 4
    b = [tok(64), H, H, H] * 4
    n = 4000                                   # one chord everywhere: 8 million pairs of bars
    melody = np.array([a] * (n // 4) + [b] * (3 * n // 4))
    ids = np.full((n, 8), C_MAJ)
    previous = np.full((n, 16), R)
    got = metrics.real_diversity(melody, ids, previous, song=np.arange(n))
    assert got == pytest.approx(2 * 0.25 * 0.75 * n / (n - 1), abs=0.01)     # the share of a-b pairs
    same_song = metrics.real_diversity(melody, ids, previous, song=np.arange(n) // 2)
    assert same_song == pytest.approx(got, abs=0.015)


@pytest.mark.parametrize("n", [240, 40])        # 40: a rare meter's few windows get the same training
def test_two_sample_classifier_tells_noise_from_tunes_but_not_tunes_from_tunes(n):
    rng = np.random.default_rng(1)
    tunes = np.stack([np.concatenate([_tune(rng, 1)] * 2) for _ in range(3 * n)])   # a bar, repeated
    noise = rng.integers(C.FIRST_PITCH_TOKEN, C.VOCAB_SIZE, (n, 32))
    ids = np.full((n, 8), C_MAJ)
    groups = np.arange(n) % 12
    told = classifier.two_sample_accuracy(tunes[:n], noise, ids, groups)
    assert told > 0.9
    assert classifier.two_sample_accuracy(tunes[:n], tunes[n:2 * n], ids, groups) < 0.7
    # one network per melody length is reused: each call starts afresh, whatever ran before it
    assert classifier.two_sample_accuracy(tunes[:n], noise, ids, groups) == told


def test_looking_a_melody_up_in_every_key_equals_a_corpus_in_every_key():
    rng = np.random.default_rng(1)
    corpus = np.stack([_tune(rng, 4) for _ in range(30)])
    queries = np.stack([_tune(rng, 4) for _ in range(6)])
    queries[0, 16:48] = novelty._shifted(corpus[3, 8:40], 4)              # 2 bars of song 3, a third up
    queries[1, :32] = novelty._shifted(corpus[5, 16:48], -5)              # 2 bars of song 5, a fourth down
    transposed = np.concatenate([novelty._shifted(corpus, k) for k in novelty.KEY_SHIFTS])
    every_key = novelty.CopyFinder(transposed)
    looked_up = novelty.CopyFinder(corpus, keys=True)
    np.testing.assert_array_equal(looked_up.longest(queries), every_key.longest(queries))
    assert looked_up.longest(queries)[:2].tolist() == [32, 32]
    assert (novelty.CopyFinder(corpus).longest(queries)[:2] < 32).all()        # one key only: not found
