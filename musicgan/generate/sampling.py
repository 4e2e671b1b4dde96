"""Model -> melody tokens: a GAN's generator one phrase at a time (noise and conditions in), each after the
steps before it; an LSTM (`numpy_runtime.NumpyLSTM`) one 16th at a time over the whole song."""

import numpy as np

from ..core import constants as C
from ..core.errors import UserError
from ..core.meter import SLOT_STEPS
from ..data.pipeline import conditions

MAX_CHORD_WEIGHT = 10.0        # e^10: every onset a chord tone, whatever the network says


def model_temperature(raw, meter=None):
    """The temperature a model is sampled at in `meter` unless told otherwise: its config.json's
    `meter_temperatures` entry for that meter, else its `temperature` (both chosen on its training songs
    by `python -m bench.temperature`), else 1."""
    return float((raw.get("meter_temperatures") or {}).get(str(meter), raw.get("temperature", 1.0)))


def model_chord_weight(raw, meter=None):
    """How strongly a model's melodies are pulled onto the chord's tones in `meter` unless told otherwise
    (`chord_weighted`): config.json's `meter_chord_weights` entry for that meter, else its `chord_weight`
    (both chosen with the temperature by `python -m bench.temperature`), else 0."""
    return float((raw.get("meter_chord_weights") or {}).get(str(meter), raw.get("chord_weight", 0.0)))


def chord_tones(features):
    """(N, steps, VOCAB) bool: the tokens that start a tone of each 16th's chord, from per-slot conditions
    (N, slots, CONDITION_DIM), whose first 12 numbers are the chord's sounding pitch classes."""
    sounding = np.repeat(np.asarray(features)[..., :C.PITCH_CLASSES] > 0.5, SLOT_STEPS, 1)
    tones = np.zeros(sounding.shape[:2] + (C.VOCAB_SIZE,), bool)
    tones[..., C.FIRST_PITCH_TOKEN:] = sounding[..., (np.arange(C.NUM_PITCHES) + C.MIN_PITCH) % C.PITCH_CLASSES]
    return tones


def chord_weighted(probs, tones, weight):
    """`probs` (..., VOCAB) with the onsets of chord tones (`tones`, as `chord_tones`) made e^weight times
    likelier, renormalised: 0 leaves the network's odds; higher puts more of the notes, and more notes
    rather than holds, on the chord. The network's own odds still choose among the chord's tones, and
    between them and the passing notes."""
    if not weight:
        return probs
    weighted = np.asarray(probs) * np.exp(weight * tones)
    return weighted / weighted.sum(-1, keepdims=True)


def sample_tokens(probs, temperature, rng):
    """Draw one token per step from (..., VOCAB) probabilities; temperature 0 takes the most likely."""
    if temperature <= 0:
        return probs.argmax(-1)
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, logits.shape)))
    return (logits + gumbel).argmax(-1)


def recurrent(model):
    """The model as a `NumpyLSTM` if it is an LSTM (a NumpyLSTM, or the Keras network `LSTMTrainer.exported`
    gives), else None."""
    if getattr(model, "recurrent", False):
        return model
    if getattr(model, "name", None) == "lstm":
        from ..models.numpy_runtime import NumpyLSTM

        return NumpyLSTM.from_keras(model, model.context_steps)
    return None


def sample_steps(lstm, features, rng, previous=None, temperature=1.0, chord_weight=0.0):
    """Tokens (N, steps) drawn one 16th at a time from `lstm` (a `NumpyLSTM`) over per-slot conditions
    (N, slots, CONDITION_DIM), after `previous` (N, any steps; default `lstm.context_steps` rests), read as
    in training: from REST, with no chord or meter, only each 16th's place in its slot; `chord_weight` as
    in `chord_weighted`."""
    n, slots = np.shape(features)[:2]
    if previous is None:
        previous = np.full((n, lstm.context_steps), C.REST, np.int32)
    prime = np.concatenate([np.full((n, 1), C.REST, np.int32), np.asarray(previous, np.int32)], 1)
    state = lstm.initial_state(n)
    context = prime.shape[1] - 1                      # the last previous token is the first step's input
    parity = np.zeros((2, lstm.condition_dim), np.float32)
    parity[1, -1] = 1                                 # before the phrase only the 16th's place is known
    for k in range(context):
        _, state = lstm.step(prime[:, k], lstm.conditions_part(parity[(k - context) % SLOT_STEPS]), state)
    steps = slots * SLOT_STEPS
    per_step = np.concatenate([np.repeat(np.asarray(features, np.float32), SLOT_STEPS, 1),
                               np.broadcast_to((np.arange(steps) % SLOT_STEPS)[None, :, None], (n, steps, 1))], -1)
    part = lstm.conditions_part(per_step)                    # (N, steps, 4 units), for all steps at once
    tones = chord_tones(features) if chord_weight else np.zeros((n, steps, 1), bool)    # none without a weight
    out = np.zeros((n, steps), np.int32)
    last = prime[:, -1]
    for s in range(steps):
        probs, state = lstm.step(last, part[:, s], state)
        out[:, s] = last = sample_tokens(chord_weighted(probs, tones[:, s], chord_weight), temperature, rng)
    return out


def sample_phrases(generator, features, rng, previous=None, temperature=1.0, noise=None, chord_weight=0.0):
    """One phrase per row of `features` (N, slots, CONDITION_DIM): tokens (N, steps) drawn from the
    generator (Keras or `numpy_runtime.NumpyGenerator`) with `noise` (N, latent; default fresh from
    `rng`), pulled onto the chords by `chord_weight` (`chord_weighted`); `previous` (N, context steps)
    defaults to rests. An LSTM writes it step by step (no noise)."""
    lstm = recurrent(generator)
    if lstm is not None:
        return sample_steps(lstm, features, rng, previous, temperature, chord_weight)
    n = len(features)
    if previous is None:
        previous = np.full((n, generator.inputs[2].shape[-1]), C.REST, np.int32)
    if noise is None:
        noise = rng.standard_normal((n, generator.inputs[0].shape[-1])).astype(np.float32)
    probs = generator([np.asarray(noise, np.float32), np.asarray(features, np.float32), np.asarray(previous, np.int32)])
    probs = np.asarray(probs)
    if chord_weight:
        probs = chord_weighted(probs, chord_tones(features), chord_weight)
    return sample_tokens(probs, temperature, rng)


def generate_melodies(generator, chord_features, meter, num_samples=1, seed=0, temperature=1.0, previous=None,
                      noises=None, chord_weight=0.0):
    """(tokens (num_samples, steps), the noise of each phrase) over per-slot chord features (slots, 24)
    of whole bars in `meter`, after `previous` (num_samples, any steps; default rests).

    The melody is written phrase by phrase. Each phrase starts at a bar line and sees the steps before
    it; of each phrase the whole bars are kept (4 of 4/4, 5 of 3/4 in 64 steps) and the next phrase
    starts after them, so any length works. `noises` (one (num_samples, latent) array a phrase)
    replays the phrases of an earlier call: the same music where the conditions are the same.
    `temperature` and `chord_weight` are as in `sample_phrases`. An LSTM writes the whole song in one
    pass, step by step, and uses no noise (it returns none).
    """
    lstm = recurrent(generator)
    if lstm is not None:
        rng = np.random.default_rng(seed)
        cond = conditions(np.repeat(np.asarray(chord_features)[None], num_samples, 0), meter)
        prev = np.full((num_samples, lstm.context_steps), C.REST, np.int32)
        if previous is not None and previous.shape[1]:
            prev = np.concatenate([prev, previous], 1)[:, -lstm.context_steps:]
        return sample_steps(lstm, cond, rng, prev, temperature, chord_weight).astype(np.uint8), []
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
        tokens = sample_phrases(generator, cond, rng, song[:, -context:], temperature, noise, chord_weight)
        song = np.concatenate([song, tokens[:, :keep]], 1)
        used.append(noise)
    return song[:, context:context + total].astype(np.uint8), used
