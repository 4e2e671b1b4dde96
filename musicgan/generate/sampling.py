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


def sample_phrases(generator, features, rng, previous=None, temperature=1.0):
    """One phrase per row of `features` (N, slots, CONDITION_DIM): fresh noise, then tokens (N, steps)
    drawn from the generator (Keras or `numpy_runtime.NumpyGenerator`); `previous` (N, context steps)
    defaults to rests."""
    n = len(features)
    if previous is None:
        previous = np.full((n, generator.inputs[2].shape[-1]), C.REST, np.int32)
    noise = rng.standard_normal((n, generator.inputs[0].shape[-1])).astype(np.float32)
    probs = generator([noise, np.asarray(features, np.float32), np.asarray(previous, np.int32)])
    return sample_tokens(np.asarray(probs), temperature, rng)


def generate_melodies(generator, chord_features, meter, num_samples=1, seed=0, temperature=1.0):
    """(num_samples, steps) tokens over per-slot chord features (slots, 24) of whole bars in `meter`.

    The song is written phrase by phrase. Each phrase starts at a bar line and sees the steps before
    it; of each phrase the whole bars are kept (4 of 4/4, 5 of 3/4 in 64 steps) and the next phrase
    starts after them, so any length works.
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
    for start in range(0, total, keep):
        window = np.arange(start // SLOT_STEPS, start // SLOT_STEPS + slots) % len(chord_features)
        cond = conditions(np.repeat(chord_features[None, window], num_samples, 0), meter)
        tokens = sample_phrases(generator, cond, rng, song[:, -context:], temperature)
        song = np.concatenate([song, tokens[:, :keep]], 1)
    return song[:, context:context + total].astype(np.uint8)
