"""The two-sample test: how well a small classifier tells generated melodies from real ones (TensorFlow)."""

import numpy as np

from ..core import constants as C
from ..harmony.chords import FEATURES

UPDATES = 300        # the classifier's budget, in mini-batches of BATCH: the same for every row and set size
BATCH = 64
LEARNING_RATE = 1e-3


def two_sample_accuracy(real, fake, chord_ids, groups, seed=0, updates=None, test_share=0.3):
    """Held-out accuracy of a small convolutional classifier telling `real` from `fake` melodies
    (N, steps) over the same chords (N, beats); 0.5 means it cannot tell them apart.

    It trains for `updates` (default UPDATES) mini-batches whatever N is, reshuffled at each pass: a
    budget of passes starved small sets (8 passes over 50 windows of folk 4/2 are 16 updates, after
    which it told uniform noise from the tunes 50-61% of the time; 0.77-0.89 after 300).

    Row i of real and of fake share chord_ids[i] and group[i] (the source song): whole groups go
    to the test side, so transposed copies of one phrase cannot leak from training to test.
    """
    import tensorflow as tf

    real, fake, chord_ids, groups = map(np.asarray, (real, fake, chord_ids, groups))
    rng = np.random.default_rng(seed)
    names = np.unique(groups)
    test_groups = rng.permutation(names)[:max(1, round(test_share * len(names)))]
    test = np.isin(groups, test_groups)
    if test.all() or not test.any():
        return float("nan")
    steps = real.shape[1]
    chords = np.repeat(FEATURES[chord_ids], steps // chord_ids.shape[1], 1)             # (N, steps, 24)

    def inputs(rows):
        mel = np.concatenate([real[rows], fake[rows]])
        x = np.concatenate([np.eye(C.VOCAB_SIZE, dtype=np.float32)[mel], np.concatenate([chords[rows]] * 2)], -1)
        return x, np.repeat([1.0, 0.0], rows.sum()).astype(np.float32)

    tf.keras.utils.set_random_seed(seed)
    model = _network(steps)
    model.set_weights([_glorot(rng, w.shape) if len(w.shape) > 1 else np.zeros(w.shape, np.float32)
                       for w in model.weights])
    for v in model.optimizer.variables:             # Adam starts afresh: no moments, step 0 ...
        v.assign(tf.zeros_like(v))
    model.optimizer.learning_rate = LEARNING_RATE   # ... and its learning rate, one of its variables
    x, y = inputs(~test)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).repeat().batch(BATCH)
    model.fit(batches, epochs=1, steps_per_epoch=UPDATES if updates is None else updates, shuffle=False, verbose=0)
    x, y = inputs(test)
    guess = model.predict(x, batch_size=512, verbose=0)[:, 0] > 0
    return float((guess == (y > 0.5)).mean())


_NETWORKS = {}


def _network(steps):
    """The classifier for melodies of `steps`, compiled once per process: building and tracing a new
    Keras model took about 1.5 s a call, a third of a call's time and nearly all of it in the tests.
    Each call sets fresh weights, so no call sees another's."""
    from tensorflow import keras

    if steps not in _NETWORKS:
        model = keras.Sequential([
            keras.Input((steps, C.VOCAB_SIZE + C.CHORD_DIM)),
            keras.layers.Conv1D(32, 4, padding="same", activation="relu"),
            keras.layers.Conv1D(32, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Conv1D(32, 4, strides=2, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(LEARNING_RATE), keras.losses.BinaryCrossentropy(from_logits=True))
        _NETWORKS[steps] = model
    return _NETWORKS[steps]


def _glorot(rng, shape):
    """Keras' default kernel initialiser (Glorot uniform), drawn from `rng`."""
    receptive = int(np.prod(shape[:-2]))
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)
