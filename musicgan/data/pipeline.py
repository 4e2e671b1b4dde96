"""Phrase arrays -> tf.data batches, and what an epoch is in iterations."""

import numpy as np

from ..core.errors import ConfigError
from ..harmony import chords


def iterations_per_epoch(samples, batch_size, drop_remainder=False):
    """ceil(samples / batch_size), or floor when the last partial batch is dropped."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    return samples // batch_size if drop_remainder else -(-samples // batch_size)


def tf_dataset(melody, chord_ids, previous, batch_size, epoch=0, seed=0, shuffle=True,
               drop_remainder=False, pad_remainder=False):
    """tf.data batches of (melody (B, steps) int32, chords (B, beats, 24) float32, previous (B, 16) int32).

    The order is a permutation drawn from (seed, epoch), so a resumed run sees the same batches.
    `pad_remainder` fills the last batch up to B with copies of the epoch's first rows and adds a 4th
    element, weight (B,) float32: 1 for a row, 0 for a filler. Every batch then has one shape, so a
    compiled step traces once instead of again for each epoch's short last batch, and the losses
    weighted by it are those of the short batch.
    """
    import tensorflow as tf

    n = len(melody)
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    weight = np.ones(n, np.float32)
    if pad_remainder and not drop_remainder:
        fill = -n % batch_size
        order, weight = np.append(order, order[:fill]), np.append(weight, np.zeros(fill, np.float32))
    tables = [tf.constant(melody.astype(np.int32)), tf.constant(chord_ids.astype(np.int32)),
              tf.constant(previous.astype(np.int32))]
    features = tf.constant(chords.FEATURES)

    def gather(idx, w):
        mel, ids, prev = (tf.gather(t, idx) for t in tables)
        return (mel, tf.gather(features, ids), prev) + ((w,) if pad_remainder else ())

    return (tf.data.Dataset.from_tensor_slices((order, weight))
            .batch(batch_size, drop_remainder=drop_remainder)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
