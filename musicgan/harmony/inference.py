"""Chords by a key-aware Viterbi over (key, chord) states: from a melody alone on spans that follow the
meter (infer_chords), and over the beats of a full score (smooth_chords).

The design is note_seq's `chord_inference.py`, rewritten for chord ids and numpy:

- **Spans.** Chords can change only at span boundaries. A span is a bar, a half bar or a beat
  (`InferenceSettings.span`); a bar of an odd number of beats (3/4, 9/8) has no half and stays whole
  under "half". The chord-change probability is `bar_change_prob` at a bar line and
  `mid_change_prob` at a boundary inside a bar, so the search itself chooses between one chord a
  bar, two a bar (and, with span "beat", one a beat): a lower mid-bar probability asks for more
  evidence before it splits a bar.
- **Emission** of a span under a chord: exp(concentration * cosine(the span's duration-weighted
  pitch classes, the chord's template)). A silent span explains every chord equally (cosine 0), so
  the chord and key run on through it; it is reported as N.C.
- **Key-chord prior** (`key_prior`): in key k, P(chord) is proportional to
  (1 - out_of_key_prob) ** (chord tones in k's scale) * out_of_key_prob ** (tones outside it),
  as in note_seq, times `primary_weight` for the key's I, IV, V and V7 (minor: i, iv, V, V7).
  That factor is ours: without it a melody note is as likely a chord's root as its third or fifth
  and the key slips to a neighbour (Hector the Hero in E, William and Nancy in C, not A and G); on
  the lead sheets of bench/chord_inference.py it lifts root agreement per bar from 44% to 69%. Keys are the 12 major
  scales and, with `minor_keys`, the 12 harmonic-minor scales (E7 belongs to A minor). Without the
  prior every chord is equally likely and there are no keys.
- **Transitions** from (k, c) to (k', c'): the key changes with probability key_change_prob
  (to one of the other keys uniformly, the chord drawn from the new key's prior); otherwise, with
  the span boundary's change probability, the chord is drawn afresh from the key's prior (it may
  draw the same chord), else it stays. (note_seq excludes the old chord from the redraw.)

For a full score (`smooth_chords`) the spans are beats and the emission is `concentration` times
the per-beat recognition's own template score (chords.template_scores, bass included), so the
smoothing changes a beat's label only where the recognition's evidence is weak against the key and
the chords around it (bench/chord_inference.py, full scores).

The chords inferred are those of `qualities` on all 12 roots (default major, minor and dominant
seventh: the chords a folk accompaniment plays). Per span the Viterbi costs O(keys * chords), not
the square: the best way into a state is to stay, to change chord from the best other chord of the
same key, or to change key from the best state of another key.
"""

import functools

import numpy as np

from ..core.config import CHORD_SPANS as SPANS
from ..core.config import ChordInference
from ..core.errors import ConfigError
from . import chords

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)       # harmonic minor: its dominant is a major (seventh) chord


class InferenceError(ValueError):
    """Input that chord inference cannot use (shapes, bars that do not divide into beats)."""


InferenceSettings = ChordInference      # the settings live with the rest of the config
DEFAULT = InferenceSettings()


def melody_weights(pitch):
    """(steps, 12) float32 one-hot pitch classes from a line of MIDI pitches (-1 = rest)."""
    pitch = np.asarray(pitch)
    w = np.zeros((len(pitch), 12), np.float32)
    on = pitch >= 0
    w[np.flatnonzero(on), pitch[on] % 12] = 1
    return w


def span_starts(bar_steps, bar_beats, span=DEFAULT.span):
    """Where the chord spans of some bars begin: (starts, at_bar_line, beats_per_span), each (spans,).

    bar_steps: (bars,) each bar's length in grid steps; bar_beats: its beats, (bars,) or one number
    (4/4: 16 steps, 4 beats; 3/4: 12, 3; 6/8: 12, 2). A pickup or an irregular bar is a bar of its own.
    """
    bar_steps = np.atleast_1d(np.asarray(bar_steps, int))
    bar_beats = np.broadcast_to(np.asarray(bar_beats, int), bar_steps.shape)
    if span not in SPANS:
        raise InferenceError(f"span must be one of {', '.join(SPANS)}; got {span!r}")
    bad = (bar_steps < 1) | (bar_beats < 1) | (bar_steps % np.maximum(bar_beats, 1) > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InferenceError(f"bar {i}: {bar_steps[i]} steps do not make {bar_beats[i]} whole beats")
    per_bar = {"bar": np.ones_like(bar_beats), "half": np.where(bar_beats % 2 == 0, 2, 1), "beat": bar_beats}[span]
    bar_start = np.cumsum(bar_steps) - bar_steps
    first = np.repeat(np.cumsum(per_bar) - per_bar, per_bar)
    index_in_bar = np.arange(per_bar.sum()) - first                    # (spans,)
    starts = np.repeat(bar_start, per_bar) + index_in_bar * np.repeat(bar_steps // per_bar, per_bar)
    return starts, index_in_bar == 0, np.repeat(bar_beats // per_bar, per_bar)


def per_beat(span_ids, beats_per_span):
    """(beats,) chord ids from one id per span and the span's length in beats (a number or (spans,))."""
    return np.repeat(np.asarray(span_ids), beats_per_span)


@functools.lru_cache(maxsize=16)
def _model(settings):
    """(chord ids (C,), unit templates (C, 12), log P(chord | key) (K, C))."""
    quality = [q for q, _ in chords.QUALITIES]
    unknown = [q for q in settings.qualities if q not in quality]
    if unknown:
        raise ConfigError(f"chord_inference.qualities: {unknown} are not chord kinds; known: {quality}")
    ids = np.array([chords.chord_id(r, quality.index(q)) for r in range(12) for q in settings.qualities])
    t = chords.TEMPLATES[ids].astype(np.float64)
    unit = t / np.linalg.norm(t, axis=1, keepdims=True)
    if not settings.key_prior:
        return ids, unit, np.full((1, len(ids)), -np.log(len(ids)))
    scales = [MAJOR_SCALE] + ([MINOR_SCALE] if settings.minor_keys else [])
    keys = np.zeros((12 * len(scales), 12))
    for s, scale in enumerate(scales):
        for tonic in range(12):
            keys[s * 12 + tonic, [(tonic + i) % 12 for i in scale]] = 1
    inside = keys @ t.T                                                 # (K, C) chord tones in the key
    q = settings.out_of_key_prob
    log_p = inside * np.log1p(-q) + (t.sum(1) - inside) * np.log(q)
    for s, scale in enumerate(scales):                                  # I, IV, V, V7 (minor: i, iv, V, V7)
        third = "" if scale == MAJOR_SCALE else "m"
        for tonic in range(12):
            for root, kind in ((0, third), (5, third), (7, ""), (7, "7")):
                if kind in settings.qualities:
                    c = list(ids).index(chords.chord_id((tonic + root) % 12, quality.index(kind)))
                    log_p[s * 12 + tonic, c] += np.log(settings.primary_weight)
    return ids, unit, log_p - np.logaddexp.reduce(log_p, axis=1, keepdims=True)


def _best_other(v):
    """For (K,) v: for each index, the max over the other indices and where it is; two (K,) arrays."""
    first = int(v.argmax())
    rest = v.copy()
    rest[first] = -np.inf
    second = int(rest.argmax())
    where = np.full(len(v), first)
    where[first] = second
    return v[where], where


def _viterbi(emission, at_bar, settings):
    """Most likely (key, chord) index per span for (T, C) log emissions: two (T,) int arrays."""
    _, _, log_p = _model(settings)
    K, C = log_p.shape
    T = len(emission)
    pk = settings.key_change_prob if K > 1 else 0.0
    with np.errstate(divide="ignore"):
        stay, change = {}, {}
        for bar, pc in ((True, settings.bar_change_prob), (False, settings.mid_change_prob)):
            stay[bar] = np.log((1 - pk) * ((1 - pc) + pc * np.exp(log_p)))
            change[bar] = np.log((1 - pk) * pc) + log_p
        key_jump = np.log(pk / max(K - 1, 1)) + log_p
    v = log_p - np.log(K) + emission[0]
    back = np.zeros((T, K, C), np.int32)                                # flat (key * C + chord) before
    here = np.arange(K * C, dtype=np.int32).reshape(K, C)
    keys = np.arange(K)
    for t in range(1, T):
        bar = bool(at_bar[t])
        best, src = v + stay[bar], here
        col = v.argmax(1)                       # another chord, same key; from the chord itself this
        cand = v[keys, col][:, None] + change[bar]   # never beats staying, so no need to exclude it
        take = cand > best
        best, src = np.where(take, cand, best), np.where(take, (keys * C + col)[:, None], src)
        if pk > 0:                              # another key (it must be another): its best state
            okey, k = _best_other(v[keys, col])
            cand = okey[:, None] + key_jump
            take = cand > best
            best, src = np.where(take, cand, best), np.where(take, (k * C + col[k])[:, None], src)
        back[t] = src
        v = best + emission[t]
    path = np.empty(T, np.int64)
    path[-1] = v.argmax()
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t].flat[path[t]]
    return path // C, path % C


def infer_chords(weights, starts, at_bar_line, settings=DEFAULT):
    """Chord id per span (0 = N.C. for a silent span) from (steps, 12) duration-weighted pitch classes.

    starts: (spans,) increasing step indices where spans begin (span_starts gives them); a span runs
    to the next start, the last to the end of `weights`. at_bar_line: (spans,) bool, True where the
    span begins a bar (the change probability there is bar_change_prob, else mid_change_prob).
    """
    w = np.asarray(weights, np.float64)
    starts = np.asarray(starts, int)
    at_bar_line = np.asarray(at_bar_line, bool)
    if w.ndim != 2 or w.shape[1] != 12:
        raise InferenceError(f"weights must be (steps, 12); got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InferenceError("weights must be finite and >= 0")
    if starts.ndim != 1 or not len(starts) or at_bar_line.shape != starts.shape:
        raise InferenceError(f"starts and at_bar_line must be two (spans,) arrays of one length, spans >= 1; "
                             f"got {starts.shape} and {at_bar_line.shape}")
    if starts[0] < 0 or starts[-1] >= len(w) or (np.diff(starts) <= 0).any():
        raise InferenceError(f"starts must increase within the {len(w)} steps of weights; got {starts.tolist()[:8]}...")
    ids, unit, _ = _model(settings)
    x = np.add.reduceat(w, starts, axis=0)                                  # (spans, 12)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    emission = settings.concentration * (x / np.maximum(norm, 1e-12)) @ unit.T   # (spans, C)
    _, chord = _viterbi(emission, at_bar_line, settings)
    return np.where(norm[:, 0] > 0, ids[chord], 0)


def smooth_chords(weights, bass, at_bar_line, settings):
    """Chord id per beat of a full score (0 = N.C. for a silent beat): the Viterbi above over the beats,
    each beat's emission `concentration` * chords.template_scores (the per-beat recognition's own
    score, bass included) instead of the cosine.

    weights: (beats, 12) duration-weighted pitch classes of the accompaniment (the melody counting
    less); bass: (beats,) pitch class of each beat's lowest note, -1 for none; at_bar_line: (beats,)
    bool, True where a beat begins a bar. With a high concentration this is per-beat recognition;
    lower, a passing tone on a weak beat needs more evidence to change the chord.
    """
    w = np.asarray(weights, np.float64)
    at_bar_line = np.asarray(at_bar_line, bool)
    if w.ndim != 2 or w.shape[1] != 12 or not len(w) or at_bar_line.shape != (len(w),) or np.shape(bass) != (len(w),):
        raise InferenceError(f"weights must be (beats, 12) with bass and at_bar_line (beats,); got {w.shape}, "
                             f"{np.shape(bass)} and {at_bar_line.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InferenceError("weights must be finite and >= 0")
    ids, _, _ = _model(settings)
    voiced = w.sum(1) > 0
    emission = settings.concentration * chords.template_scores(w, bass)[:, ids - 1] * voiced[:, None]
    _, chord = _viterbi(emission, at_bar_line, settings)
    return np.where(voiced, ids[chord], 0)
