"""Generator -> melody tokens, phrase by phrase, and tokens + chords -> a `Song` with Melody and Chords tracks."""

import numpy as np

from . import constants as C
from .encoding import melody_track
from .midi_io import Song, make_track


def sample_tokens(probs, temperature, rng):
    """Draw one token per step from (..., VOCAB) probabilities; temperature 0 takes the most likely."""
    if temperature <= 0:
        return probs.argmax(-1)
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, logits.shape)))
    return (logits + gumbel).argmax(-1)


def sample_phrases(generator, features, rng, previous=None, temperature=1.0):
    """One phrase per row of per-beat chord `features` (N, beats, 24): fresh noise, then tokens
    (N, steps) drawn from the generator (Keras or `numpy_model.NumpyGenerator`); `previous` (N, 16)
    defaults to a bar of rests."""
    n = len(features)
    if previous is None:
        previous = np.full((n, C.STEPS_PER_BAR), C.REST, np.int32)
    noise = rng.standard_normal((n, generator.inputs[0].shape[-1])).astype(np.float32)
    probs = generator([noise, np.asarray(features, np.float32), np.asarray(previous, np.int32)])
    return sample_tokens(np.asarray(probs), temperature, rng)


def generate_melodies(generator, features, phrase_bars, num_samples=1, seed=0, temperature=1.0):
    """(num_samples, bars * 16) tokens over per-beat chord `features` (bars * 4, 24).

    The song is written phrase by phrase; each phrase sees the last bar of the one before, so
    any length works (a final partial phrase is generated whole and cut).
    """
    rng = np.random.default_rng(seed)
    beats_per_phrase = phrase_bars * C.BEATS_PER_BAR
    total_beats = len(features)
    phrases = -(-total_beats // beats_per_phrase)
    padded = features[np.arange(phrases * beats_per_phrase) % total_beats]    # repeat to whole phrases
    previous = None
    out = []
    for k in range(phrases):
        chords = np.repeat(padded[None, k * beats_per_phrase:(k + 1) * beats_per_phrase], num_samples, 0)
        tokens = sample_phrases(generator, chords, rng, previous, temperature)
        out.append(tokens)
        previous = tokens[:, -C.STEPS_PER_BAR:].astype(np.int32)
    return np.concatenate(out, 1)[:, :total_beats * C.STEPS_PER_BEAT].astype(np.uint8)


def chord_track(beat_chords, beat_seconds, style="block", program=0):
    """Voice per-beat `Chord`s: block chords (over the chord's bass) held while the chord lasts and
    struck again at each bar line, or arpeggios in eighth notes."""
    notes, start = [], 0
    for i in range(1, len(beat_chords) + 1):
        if i < len(beat_chords) and beat_chords[i] == beat_chords[start] and i % C.BEATS_PER_BAR:
            continue
        chord = beat_chords[start]
        if chord.root >= 0:
            voicing = sorted(60 + (pc - chord.root) % 12 + chord.root - (12 if chord.root > 6 else 0)
                             for pc in chord.pitch_classes)
            bass = 36 + chord.bass
            if style == "arpeggio":
                pattern = [bass] + voicing
                for k, b in enumerate(range(start * 2, i * 2)):          # eighth notes
                    notes.append((pattern[k % len(pattern)], b * beat_seconds / 2, (b + 1) * beat_seconds / 2))
            else:
                notes += [(p, start * beat_seconds, i * beat_seconds) for p in [bass] + voicing]
        start = i
    return make_track("Chords", notes, program)


def render_song(tokens, beat_chords, bpm, accompaniment="block", melody_program=0, chord_program=0):
    """A `Song` with a 'Melody' track from tokens and a 'Chords' track from the per-beat chords."""
    beat = 60.0 / bpm
    tracks = [melody_track(tokens, beat / C.STEPS_PER_BEAT, program=melody_program)]
    if accompaniment != "none":
        tracks.append(chord_track(beat_chords, beat, accompaniment, chord_program))
    return Song(tracks=tracks, bpm=bpm, time_signatures=[(C.BEATS_PER_BAR, 4, 0.0)])
