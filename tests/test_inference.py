"""Chord inference from a melody: hand-made bars, the meter's spans, the prior's exact values, and the
fast Viterbi against the textbook one over the full transition matrix."""

import dataclasses
import json

import numpy as np
import pytest

from musicgan.core.config import (
    ALL_CHORD_KINDS,
    Config,
    Representation,
    config_from_dict,
    load_config,
    save_config,
)
from musicgan.harmony import chords
from musicgan.harmony import inference as inf
from musicgan.harmony.inference import DEFAULT, InferenceError, InferenceSettings

C_ARPEGGIO = [60, 64, 67, 72]
G7_ARPEGGIO = [67, 71, 74, 77]


def line(*bars, steps=16):
    """(steps * bars, 12) weights of bars of equal notes: each bar is a list of MIDI pitches (-1 = rest)."""
    pitch = np.full(steps * len(bars), -1)
    for b, notes in enumerate(bars):
        for i, p in enumerate(notes):
            pitch[b * steps + i * steps // len(notes):b * steps + (i + 1) * steps // len(notes)] = p
    return inf.melody_weights(pitch)


def names(weights, bar_steps, bar_beats, settings=DEFAULT):
    """Chord names per beat."""
    starts, at_bar, beats = inf.span_starts(bar_steps, bar_beats, settings.span)
    return [chords.chord_name(c) for c in inf.per_beat(inf.infer_chords(weights, starts, at_bar, settings), beats)]


def test_c_arpeggio_then_g7_arpeggio():
    assert names(line(C_ARPEGGIO, G7_ARPEGGIO), [16, 16], 4) == ["C"] * 4 + ["G7"] * 4


def test_silence_is_no_chord_and_does_not_break_the_chord_around_it():
    assert names(line([-1]), [16], 4) == ["N.C."] * 4
    assert names(line(C_ARPEGGIO, [-1], C_ARPEGGIO), [16] * 3, 4) == ["C"] * 4 + ["N.C."] * 4 + ["C"] * 4


def test_a_passing_tone_does_not_flip_the_chord():
    # C (beat 1), D-E (beat 2: D passes from C to E), G, E: one C bar. Alone, beat 2 is Dsus2 to
    # recognise() and E7 to the Viterbi without prior or inertia.
    w = inf.melody_weights(np.array([60] * 4 + [62] * 2 + [64] * 2 + [67] * 4 + [64] * 4))
    beat = InferenceSettings(span="beat")
    starts, _, _ = inf.span_starts([16], 4, "beat")
    assert chords.chord_name(chords.recognise(np.add.reduceat(w, starts, axis=0))[1]) == "Dsus2"
    jumpy = dataclasses.replace(beat, key_prior=False, bar_change_prob=1.0, mid_change_prob=1.0)
    assert names(w, [16], 4, jumpy)[1] == "E7"
    assert names(w, [16], 4, beat) == ["C"] * 4
    assert names(w, [16], 4) == ["C"] * 4


def test_key_prior_takes_the_in_key_chord_of_an_ambiguous_bar():
    # After C, G7, C the bar E-B-E-B is Em or E alike for the melody; in C major E's G# is out of key.
    w = line(C_ARPEGGIO, G7_ARPEGGIO, C_ARPEGGIO, [64, 71, 64, 71])
    assert names(w, [16] * 4, 4)[12:] == ["Em"] * 4
    assert names(w, [16] * 4, 4, InferenceSettings(key_prior=False))[12:] == ["E"] * 4   # tie: listed first


def test_key_chord_prior_exact_ratios():
    ids, _, log_p = inf._model(DEFAULT)                  # row 0 is C major
    p = dict(zip(ids.tolist(), np.exp(log_p[0])))
    c, dm, d = chords.chord_id(0, 0), chords.chord_id(2, 1), chords.chord_id(2, 0)
    assert p[c] / p[dm] == pytest.approx(DEFAULT.primary_weight)     # I against ii: both in key
    q = DEFAULT.out_of_key_prob
    assert p[dm] / p[d] == pytest.approx((1 - q) / q)                # D's F# is out of C major
    np.testing.assert_allclose(np.exp(log_p).sum(1), 1)
    assert log_p.shape == (24, 36)
    _, _, flat = inf._model(InferenceSettings(key_prior=False))
    np.testing.assert_allclose(flat, np.log(1 / 36))


def test_three_four_bar_is_one_span_and_six_eight_has_two():
    starts, at_bar, beats = inf.span_starts([12, 12], 3, "half")     # 3/4: no half bar
    assert starts.tolist() == [0, 12] and at_bar.tolist() == [True, True] and beats.tolist() == [3, 3]
    starts, at_bar, beats = inf.span_starts([12], 3, "beat")
    assert starts.tolist() == [0, 4, 8] and at_bar.tolist() == [True, False, False]
    starts, at_bar, beats = inf.span_starts([12, 12], 2, "half")     # 6/8: two dotted quarters
    assert starts.tolist() == [0, 6, 12, 18] and at_bar.tolist() == [True, False, True, False]
    assert beats.tolist() == [1, 1, 1, 1]
    starts, _, beats = inf.span_starts([4, 16], [1, 4], "half")      # a one-beat pickup, then 4/4
    assert starts.tolist() == [0, 4, 12] and beats.tolist() == [1, 2, 2]

    c_then_g = line([60, 64, 60, 67, 71, 74], steps=12)               # 6/8: C E C | G B D
    assert names(c_then_g, [12], 2) == ["C", "G"]
    assert names(c_then_g, [12], 2, InferenceSettings(span="bar")) == ["C", "C"]
    assert names(line(C_ARPEGGIO[:3], steps=12), [12], 3) == ["C"] * 3


@pytest.mark.parametrize("settings", [
    InferenceSettings(key_change_prob=0.05),
    InferenceSettings(key_change_prob=0.05, mid_change_prob=0.0, minor_keys=False),   # a key jump must leave the key
    InferenceSettings(key_prior=False, bar_change_prob=1.0)])
def test_fast_viterbi_equals_full_transition_matrix(settings):
    rng = np.random.default_rng(0)
    _ids, _unit, log_p = inf._model(settings)
    K, C = log_p.shape
    at_bar = rng.random(40) < 0.5
    emission = rng.normal(0, 3, (len(at_bar), C))
    got = inf._viterbi(emission, at_bar, settings)

    same_key = np.eye(K)[:, None, :, None]                          # (K, 1, K', 1)
    same_chord = np.eye(C)[None, :, None, :]
    prior = np.exp(log_p)[None, None]                               # P(c' | k') on (k', c')
    pk = settings.key_change_prob if K > 1 else 0.0
    v, back = np.log(prior[0, 0] / K) + emission[0], []
    for t in range(1, len(at_bar)):
        pc = settings.bar_change_prob if at_bar[t] else settings.mid_change_prob
        trans = same_key * (1 - pk) * ((1 - pc) * same_chord + pc * prior) + (1 - same_key) * pk / max(K - 1, 1) * prior
        with np.errstate(divide="ignore"):                          # log(0): changes a setting forbids
            total = v.reshape(-1, 1) + np.log(trans.reshape(K * C, K * C))
        back.append(total.argmax(0))
        v = total.max(0).reshape(K, C) + emission[t]
    path = [int(v.argmax())]
    for b in back[::-1]:
        path.append(int(b[path[-1]]))
    path = np.array(path[::-1])
    np.testing.assert_array_equal(got[0], path // C)
    np.testing.assert_array_equal(got[1], path % C)


def test_a_key_change_comes_from_another_key():
    values, where = inf._best_other(np.array([3.0, 1.0, 2.0]))
    assert values.tolist() == [2.0, 3.0, 3.0] and where.tolist() == [2, 0, 0]


@pytest.mark.parametrize("kwargs, match", [
    ({"span": "quarter"}, "span"), ({"qualities": ()}, "qualities"),
    ({"concentration": 0}, "concentration"), ({"mid_change_prob": 1.5}, "mid_change_prob"),
    ({"out_of_key_prob": 0}, "out_of_key_prob"), ({"primary_weight": 0.5}, "primary_weight")])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InferenceSettings(**kwargs)


def test_bad_input_is_refused():
    w = line(C_ARPEGGIO)
    with pytest.raises(InferenceError, match=r"\(steps, 12\)"):
        inf.infer_chords(w[:, :11], [0], [True])
    with pytest.raises(InferenceError, match="increase"):
        inf.infer_chords(w, [0, 8, 8], [True, False, False])
    with pytest.raises(InferenceError, match="increase"):
        inf.infer_chords(w, [0, 16], [True, True])
    with pytest.raises(InferenceError, match="one length"):
        inf.infer_chords(w, [0, 8], [True])
    with pytest.raises(InferenceError, match=">= 0"):
        inf.infer_chords(-w, [0], [True])
    with pytest.raises(InferenceError, match="bar 1: 10 steps do not make 4 whole beats"):
        inf.span_starts([16, 10], 4)


def test_an_unknown_chord_kind_is_refused_when_used():
    with pytest.raises(ValueError, match=r"qualities: \['xyz'\] are not chord kinds"):
        inf._model(InferenceSettings(qualities=("", "xyz")))


# --- full scores: smooth_chords over each beat's template scores ------------------------------------

SCORE = Representation().score_inference


def beats(*chords_):
    """(beats, 12) weights and (beats,) bass: each beat a list of MIDI pitches sounding through it, or
    of (pitch, share of the beat)."""
    w, bass = np.zeros((len(chords_), 12)), []
    for i, notes in enumerate(chords_):
        notes = [n if isinstance(n, tuple) else (n, 1.0) for n in notes]
        for pitch, share in notes:
            w[i, pitch % 12] += share
        bass.append(min(p for p, _ in notes) % 12)
    return w, np.array(bass)


def test_score_kinds_are_every_chord_kind():
    assert ALL_CHORD_KINDS == tuple(q for q, _ in chords.QUALITIES)
    assert SCORE.qualities == ALL_CHORD_KINDS


def test_a_passing_tone_on_a_weak_beat_does_not_flip_a_full_score_chord():
    # Beat 2: bass and soprano pass C-B, the tenor E-D, in 8ths: alone it is Cmaj7; in a bar of C, then a
    # bar of F, it is C.
    C, F = [48, 64, 67, 72], [53, 65, 69, 72]
    passing = [(48, .5), (47, .5), (64, .5), (62, .5), (67, 1.0), (72, .5), (71, .5)]
    w, bass = beats(C, passing, C, C, F, F, F, F)
    at_bar = np.arange(8) % 4 == 0
    assert [chords.chord_name(c) for c in chords.recognise(w, bass)][:2] == ["C", "Cmaj7"]
    assert [chords.chord_name(c) for c in inf.smooth_chords(w, bass, at_bar, SCORE)] == ["C"] * 4 + ["F"] * 4


def test_a_real_change_inside_the_bar_is_kept_and_silence_is_no_chord():
    C, G7 = [48, 64, 67, 72], [43, 65, 67, 71]
    w, bass = beats(C, C, G7, G7, C, C, C, C)
    w[5:7] = 0
    at_bar = np.arange(8) % 4 == 0
    got = [chords.chord_name(c) for c in inf.smooth_chords(w, bass, at_bar, SCORE)]
    assert got == ["C", "C", "G7", "G7", "C", "N.C.", "N.C.", "C"]


def test_a_high_concentration_is_per_beat_recognition():
    w = np.random.default_rng(3).random((60, 12)) ** 4
    bass = w.argmax(1)
    sharp = dataclasses.replace(SCORE, concentration=5e3)
    at_bar = np.arange(60) % 4 == 0
    np.testing.assert_array_equal(inf.smooth_chords(w, bass, at_bar, sharp), chords.recognise(w, bass))
    assert (inf.smooth_chords(w, bass, at_bar, SCORE) != chords.recognise(w, bass)).any()


def test_a_model_saved_before_smoothing_keeps_its_per_beat_labels(tmp_path):
    cfg = Config()
    save_config(tmp_path, cfg)
    data = json.loads((tmp_path / "config.json").read_text())
    assert load_config(tmp_path)[0].representation.score_chords == "viterbi"
    del data["representation"]["score_chords"]
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert load_config(tmp_path)[0].representation.score_chords == "beat"


def test_bad_full_score_input_is_refused():
    w, bass = beats([60, 64, 67], [60, 64, 67])
    with pytest.raises(InferenceError, match=r"\(beats, 12\)"):
        inf.smooth_chords(w, bass[:1], [True, False], SCORE)
    with pytest.raises(InferenceError, match=">= 0"):
        inf.smooth_chords(-w, bass, [True, False], SCORE)
    with pytest.raises(ValueError, match="score_chords"):
        Representation(score_chords="smooth")


def test_full_score_settings_survive_a_config_round_trip_and_a_partial_override():
    cfg = config_from_dict(json.loads(json.dumps(Config().to_dict())))
    assert cfg.representation.score_inference == SCORE
    tuned = config_from_dict({"representation": {"score_inference": {"concentration": 10}}})
    assert tuned.representation.score_inference == dataclasses.replace(SCORE, concentration=10.0)
    assert tuned.representation.chord_inference == DEFAULT
