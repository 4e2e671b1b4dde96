"""Generator -> melody tokens: noise and chords in, one phrase at a time, each after the bar before it."""

import numpy as np

from ..core import constants as C
from ..core.meter import FOUR_FOUR


def sample_tokens(probs, temperature, rng):
    """Draw one token per step from (..., VOCAB) probabilities; temperature 0 takes the most likely."""
    if temperature <= 0:
        return probs.argmax(-1)
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, logits.shape)))
    return (logits + gumbel).argmax(-1)


def sample_phrases(generator, features, rng, previous=None, temperature=1.0):
    """One phrase per row of per-beat chord `features` (N, beats, 24): fresh noise, then tokens
    (N, steps) drawn from the generator (Keras or `numpy_runtime.NumpyGenerator`); `previous`
    (N, steps per bar) defaults to a bar of rests."""
    n = len(features)
    if previous is None:
        previous = np.full((n, generator.inputs[2].shape[-1]), C.REST, np.int32)
    noise = rng.standard_normal((n, generator.inputs[0].shape[-1])).astype(np.float32)
    probs = generator([noise, np.asarray(features, np.float32), np.asarray(previous, np.int32)])
    return sample_tokens(np.asarray(probs), temperature, rng)


def generate_melodies(generator, features, phrase_bars, num_samples=1, seed=0, temperature=1.0, meter=FOUR_FOUR):
    """(num_samples, steps) tokens over per-beat chord `features` (beats, 24).

    The song is written phrase by phrase; each phrase sees the last bar of the one before, so
    any length works (a final partial phrase is generated whole and cut).
    """
    rng = np.random.default_rng(seed)
    beats_per_phrase = meter.beats(phrase_bars)
    total_beats = len(features)
    phrases = -(-total_beats // beats_per_phrase)
    padded = features[np.arange(phrases * beats_per_phrase) % total_beats]    # repeat to whole phrases
    previous = None
    out = []
    for k in range(phrases):
        chords = np.repeat(padded[None, k * beats_per_phrase:(k + 1) * beats_per_phrase], num_samples, 0)
        tokens = sample_phrases(generator, chords, rng, previous, temperature)
        out.append(tokens)
        previous = tokens[:, -meter.steps_per_bar:].astype(np.int32)
    return np.concatenate(out, 1)[:, :total_beats * meter.steps_per_beat].astype(np.uint8)
