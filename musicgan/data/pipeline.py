"""Phrase arrays -> the networks' conditions and tf.data batches, and what an epoch is in iterations."""

import numpy as np

from ..core.constants import METER_FEATURES, MIN_METER_SHARE
from ..core.errors import ConfigError
from ..core.meter import SLOT_STEPS, Meter
from ..harmony import chords


def meter_table(meters, slots):
    """(index (N,) into the table, table (M, slots, METER_FEATURES)) for per-row (numerator, denominator)."""
    unique, index = np.unique(np.asarray(meters).reshape(-1, 2), axis=0, return_inverse=True)
    return index.ravel(), np.stack([Meter(int(n), int(d)).slot_features(slots) for n, d in unique])


def conditions(chord_features, meters):
    """(N, slots, CONDITION_DIM) float32: chord features (N, slots, 24) with each row's meter features;
    `meters` is (N, 2) numerator/denominator per row, or one `Meter` for all."""
    chord_features = np.asarray(chord_features, np.float32)
    n, slots = chord_features.shape[:2]
    if isinstance(meters, Meter):
        meter = np.broadcast_to(meters.slot_features(slots), (n, slots, METER_FEATURES))
    else:
        index, table = meter_table(meters, slots)
        meter = table[index]
    return np.concatenate([chord_features, meter], -1)


def one_chord_a_bar(chord_ids, meters):
    """(N, slots) chord ids with every bar's slots given the chord it holds longest (the earliest of a
    tie): the phrases' harmony as a lead sheet or a typed progression gives it, one chord a bar.
    Phrases start at a bar line; `meters` (N, 2) numerator/denominator per row."""
    chord_ids, meters = np.asarray(chord_ids), np.asarray(meters).reshape(-1, 2)
    out = chord_ids.copy()
    for num, den in np.unique(meters, axis=0):
        rows = np.flatnonzero((meters == (num, den)).all(1))
        width = max(1, Meter(int(num), int(den)).steps_per_bar // SLOT_STEPS)
        for start in range(0, chord_ids.shape[1], width):
            bar = chord_ids[rows, start:start + width]
            held = (bar[:, :, None] == bar[:, None, :]).sum(2)              # slots of the bar holding each one
            out[rows, start:start + width] = bar[np.arange(len(rows)), held.argmax(1)][:, None]
    return out


def iterations_per_epoch(samples, batch_size, drop_remainder=False):
    """ceil(samples / batch_size), or floor when the last partial batch is dropped."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    return samples // batch_size if drop_remainder else -(-samples // batch_size)


def epoch_length(n, rows=None, meter_balance=0.0):
    """Rows an epoch draws out of `n`: `rows` (train.epoch_rows; None: all n). A plain shuffle draws each
    row at most once, so at most n; drawn with replacement (meter_balance above 0), any number."""
    if rows is None:
        return n
    return rows if meter_balance else min(rows, n)


def epoch_order(meters, epoch=0, seed=0, shuffle=True, meter_balance=0.0, size=None):
    """(size,) row indices of one epoch (default size: N, every row), drawn from (seed, epoch) so that a
    resumed run sees the same.

    meter_balance 0 is a permutation (its first `size`, at most N); above 0 `size` rows are drawn with
    replacement, each with odds (its meter's row count)^-meter_balance: at 1 every meter is drawn
    equally often. A meter under
    MIN_METER_SHARE of the rows, one a model does not write, counts as that share: drawing a corpus'
    one 5/4 phrase as often as all its 2/4 would teach the model that phrase by heart."""
    n = len(meters)
    size = n if size is None else size
    if not shuffle:
        return np.arange(min(size, n))
    rng = np.random.default_rng([seed, epoch])
    if not meter_balance:
        return rng.permutation(n)[:size]
    _, index, counts = np.unique(np.asarray(meters).reshape(n, 2), axis=0, return_inverse=True, return_counts=True)
    odds = np.maximum(counts, MIN_METER_SHARE * n)[index.ravel()] ** -float(meter_balance)
    return rng.choice(n, size, p=odds / odds.sum())


def tf_dataset(melody, chord_ids, previous, meters, batch_size, epoch=0, seed=0, shuffle=True,
               drop_remainder=False, pad_remainder=False, meter_balance=0.0, size=None, bar_chords=0.0,
               bar_chord_ids=None):
    """tf.data batches of (melody (B, steps) int32, conditions (B, slots, CONDITION_DIM) float32: chord and
    meter features, previous (B, context steps) int32).

    The order is `epoch_order`'s, drawn from (seed, epoch), so a resumed run sees the same batches.
    `pad_remainder` fills the last batch up to B with copies of the epoch's first rows and adds a 4th
    element, weight (B,) float32: 1 for a row, 0 for a filler. Every batch then has one shape, so a
    compiled step traces once instead of again for each epoch's short last batch, and the losses
    weighted by it are those of the short batch. With `bar_chords` above 0, that share of the epoch's
    rows (drawn from (seed, epoch)) takes its chords from `bar_chord_ids` (`one_chord_a_bar`).
    """
    import tensorflow as tf

    order = epoch_order(meters, epoch, seed, shuffle, meter_balance, size)
    weight = np.ones(len(order), np.float32)
    if pad_remainder and not drop_remainder:
        fill = -len(order) % batch_size
        order, weight = np.append(order, order[:fill]), np.append(weight, np.zeros(fill, np.float32))
    chord_rows = order
    if bar_chords:                      # chord rows past N: the same rows' chords one a bar
        by_bar = np.random.default_rng([seed, epoch, 1]).random(len(order)) < bar_chords
        chord_rows = np.where(by_bar, order + len(melody), order)
        chord_ids = np.concatenate([chord_ids, bar_chord_ids])
    meter_index, meter_features = meter_table(meters, chord_ids.shape[1])
    tables = [tf.constant(melody.astype(np.int32)), tf.constant(previous.astype(np.int32)),
              tf.constant(meter_index.astype(np.int32))]
    chord_table = tf.constant(chord_ids.astype(np.int32))
    features, meter_features = tf.constant(chords.FEATURES), tf.constant(meter_features)

    def gather(idx, chord_idx, w):
        mel, prev, meter = (tf.gather(t, idx) for t in tables)
        cond = tf.concat([tf.gather(features, tf.gather(chord_table, chord_idx)), tf.gather(meter_features, meter)], -1)
        return (mel, cond, prev) + ((w,) if pad_remainder else ())

    return (tf.data.Dataset.from_tensor_slices((order, chord_rows, weight))
            .batch(batch_size, drop_remainder=drop_remainder)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
