"""The LSTM's trainer: the network, its Adam and the position (epoch, iteration), with the one step the loop
calls, offering the methods `loop.py` and `hooks.py` call on `trainer.GAN` (so --resume, checkpoints,
logs, samples, the quality watch and the best model work as they are).

A step reads the batches `trainer.GAN` reads (the same permutation of the same transposed rows), runs
the network over the previous steps and the phrase (`models.lstm`: the token before each step, the
chord and meter of its slot) and minimises the cross-entropy of the phrase's tokens (teacher forcing).
Dropout masks come with the batch, keyed by (seed, epoch, iteration), so a resumed run draws the same.
"""

import tensorflow as tf

from ..core import constants as C
from ..core.meter import SLOT_STEPS
from ..data.pipeline import epoch_length, tf_dataset
from ..models import lstm as networks
from . import precision
from .trainer import _SPLIT_BATCHES, _global_batch


class LSTMTrainer:
    picks_best = True               # the quality watch keeps the best epoch's network, as for the GAN

    def __init__(self, cfg, strategy=None):
        self.cfg = cfg
        self.strategy = strategy or tf.distribute.get_strategy()
        t = cfg.train
        self.precision = precision.resolve(t.precision)
        tf.keras.utils.set_random_seed(t.seed)          # same seed, same initial weights
        with self.strategy.scope():
            self.network, self.training_network = networks.build_lstm(cfg.model, precision.POLICIES[self.precision],
                                                                      for_training=True)
            self.opt = tf.keras.optimizers.Adam(t.lstm_lr, global_clipnorm=1.0)
            if self.precision == "float16":
                self.opt = tf.keras.mixed_precision.LossScaleOptimizer(self.opt)
            self.opt.build(self.network.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64)
            self.iteration = tf.Variable(0, dtype=tf.int64)    # batches done in the current epoch
        self.checkpoint = tf.train.Checkpoint(lstm=self.network, opt=self.opt, epoch=self.epoch,
                                              iteration=self.iteration)
        self.step = tf.function(self.step_eager)

    def exported(self, discriminator=False):
        """(the network as saved: float32 layers with the trained weights, None: there is no critic)."""
        network = networks.build_lstm(self.cfg.model)
        network.set_weights(self.network.get_weights())
        network.context_steps = self.cfg.representation.context_steps      # read by generate.sampling
        return network, None

    def state(self):
        return self.network.weights + self.opt.variables + [self.epoch, self.iteration]

    def epoch_size(self, rows):
        return epoch_length(len(rows.melody), self.cfg.train.epoch_rows, self.cfg.train.meter_balance)

    def describe(self):
        m = self.cfg.model
        return (f"LSTM: {m.lstm_layers} x {m.lstm_units} cells, {self.network.count_params():,} weights, "
                f"Adam {self.cfg.train.lstm_lr:g}, dropout {m.lstm_dropout:g}"), {"model_kind": "lstm"}

    def epoch_batches(self, rows, epoch, start):
        """The GAN's batches (the same permutation keyed by (seed, epoch)), each with its dropout key."""
        t = self.cfg.train
        key = tf.constant([t.seed, epoch], tf.int64)
        data = tf_dataset(rows.melody, rows.chords, rows.previous, rows.meter, t.batch_size, epoch, t.seed,
                          drop_remainder=t.drop_remainder, pad_remainder=True, meter_balance=t.meter_balance,
                          size=t.epoch_rows, bar_chords=t.bar_chords,
                          bar_chord_ids=rows.bar_chords)
        data = data.enumerate().map(lambda i, b: (*b, tf.random.experimental.stateless_fold_in(key, i)))
        return self.strategy.experimental_distribute_dataset(data.skip(start).with_options(_SPLIT_BATCHES))

    def before_epoch(self, epoch, iterations):
        return None

    def epoch_record(self, done, iterations):
        return {}, {}, None

    def set_learning_rates(self, step, iters_per_epoch):
        t = self.cfg.train
        self.opt.learning_rate.assign(t.lstm_lr * t.lr_factor_at(step, iters_per_epoch))

    # ------------------------------------------------------------ the step

    def _replica(self, melody, cond, previous, weight, key):
        m = self.cfg.model
        n = _global_batch(weight)
        b, context = tf.shape(melody)[0], tf.shape(previous)[1]
        tokens_in, conditions = step_inputs(melody, cond, previous)
        keep = 1.0 - m.lstm_dropout
        seeds = tf.random.experimental.stateless_split(key, m.lstm_layers)
        masks = [tf.cast(tf.random.stateless_uniform([b, tf.shape(tokens_in)[1], m.lstm_units], seeds[i]) < keep,
                         tf.float32) / keep for i in range(m.lstm_layers)]
        with tf.GradientTape() as tape:
            probs = self.training_network([tokens_in, conditions, *masks], training=True)[:, context:]
            ce = tf.keras.losses.sparse_categorical_crossentropy(melody, probs)          # (B, steps)
            loss = tf.nn.compute_average_loss(tf.reduce_mean(ce, 1), weight, global_batch_size=n)
            scaled = self.opt.scale_loss(loss)
        grads = tape.gradient(scaled, self.network.trainable_variables)
        self.opt.apply_gradients(zip(grads, self.network.trainable_variables))
        right = tf.reduce_mean(tf.cast(tf.argmax(probs, -1, output_type=tf.int32) == melody, tf.float32), 1)
        return {"loss": loss, "accuracy": tf.nn.compute_average_loss(right, weight, global_batch_size=n)}

    def step_eager(self, batch):
        names = []

        def shares(*args):
            out = self._replica(*args)
            names[:] = out
            return tf.stack(list(out.values()))

        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, self.strategy.run(shares, args=batch), axis=None)
        return dict(zip(names, tf.unstack(total)))

    def train_batch(self, batch, step, eager=False):
        return {k: float(v) for k, v in (self.step_eager if eager else self.step)(batch).items()}


def step_inputs(melody, cond, previous):
    """The network's inputs for (melody (B, steps), slot conditions (B, slots, CONDITION_DIM), previous (B,
    context)): tokens (B, context + steps), REST then every token but the last; conditions (B, context +
    steps, STEP_CONDITION_DIM): zeros over the context, then each slot's on its two 16ths; and everywhere
    the 16th's place in its slot (counted from the phrase's start)."""
    b, context = tf.shape(melody)[0], tf.shape(previous)[1]
    seq = tf.concat([previous, melody], 1)
    tokens_in = tf.concat([tf.fill([b, 1], C.REST), seq[:, :-1]], 1)
    phrase = tf.repeat(tf.cast(cond, tf.float32), SLOT_STEPS, axis=1)
    phrase = tf.concat([tf.zeros([b, context, C.CONDITION_DIM]), phrase], 1)
    parity = tf.cast((tf.range(tf.shape(seq)[1]) - context) % SLOT_STEPS, tf.float32)   # 1 on a slot's 2nd 16th
    return tokens_in, tf.concat([phrase, tf.broadcast_to(parity[None, :, None], [b, tf.shape(seq)[1], 1])], -1)
