"""Generator -> melody tokens: noise and conditions in, one phrase at a time, each after the steps before it."""

import numpy as np

from ..core import constants as C
from ..core.errors import UserError
from ..core.meter import SLOT_STEPS
from ..data.pipeline import conditions


def sample_tokens(probs, temperature, rng):
    """Draw one token per step from (..., VOCAB) probabilities; temperature 0 takes the most likely."""
    if temperature <= 0:
        return probs.argmax(-1)
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, logits.shape)))
    return (logits + gumbel).argmax(-1)


def sample_phrases(generator, features, rng, previous=None, temperature=1.0, noise=None):
    """One phrase per row of `features` (N, slots, CONDITION_DIM): tokens (N, steps) drawn from the
    generator (Keras or `numpy_runtime.NumpyGenerator`) with `noise` (N, latent; default fresh from
    `rng`); `previous` (N, context steps) defaults to rests."""
    n = len(features)
    if previous is None:
        previous = np.full((n, generator.inputs[2].shape[-1]), C.REST, np.int32)
    if noise is None:
        noise = rng.standard_normal((n, generator.inputs[0].shape[-1])).astype(np.float32)
    probs = generator([np.asarray(noise, np.float32), np.asarray(features, np.float32), np.asarray(previous, np.int32)])
    return sample_tokens(np.asarray(probs), temperature, rng)


def generate_melodies(generator, chord_features, meter, num_samples=1, seed=0, temperature=1.0, previous=None,
                      noises=None):
    """(tokens (num_samples, steps), the noise of each phrase) over per-slot chord features (slots, 24)
    of whole bars in `meter`, after `previous` (num_samples, any steps; default rests).

    The melody is written phrase by phrase. Each phrase starts at a bar line and sees the steps before
    it; of each phrase the whole bars are kept (4 of 4/4, 5 of 3/4 in 64 steps) and the next phrase
    starts after them, so any length works. `noises` (one (num_samples, latent) array a phrase)
    replays the phrases of an earlier call: the same music where the conditions are the same.
    """
    slots = generator.inputs[1].shape[1]
    context = generator.inputs[2].shape[-1]
    steps = slots * SLOT_STEPS
    keep = meter.whole_bars(steps) * meter.steps_per_bar
    if keep == 0:
        raise UserError(f"a bar of {meter} ({meter.steps_per_bar} 16ths) is longer than this model's phrase "
                        f"({steps} 16ths)")
    total = len(chord_features) * SLOT_STEPS
    rng = np.random.default_rng(seed)
    song = np.full((num_samples, context), C.REST, np.int32)           # rests before the song
    if previous is not None and previous.shape[1]:
        song = np.concatenate([song, previous], 1)[:, -context:]
    used = []
    for k, start in enumerate(range(0, total, keep)):
        window = np.arange(start // SLOT_STEPS, start // SLOT_STEPS + slots) % len(chord_features)
        cond = conditions(np.repeat(chord_features[None, window], num_samples, 0), meter)
        noise = noises[k] if noises is not None and k < len(noises) else \
            rng.standard_normal((num_samples, generator.inputs[0].shape[-1])).astype(np.float32)
        tokens = sample_phrases(generator, cond, rng, song[:, -context:], temperature, noise)
        song = np.concatenate([song, tokens[:, :keep]], 1)
        used.append(noise)
    return song[:, context:context + total].astype(np.uint8), used
