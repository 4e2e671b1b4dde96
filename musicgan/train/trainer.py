"""The trainer: both networks, both optimizers and the position (epoch, iteration), with the two steps.

Each iteration is one discriminator step and, every `d_steps` iterations, one generator step with
fresh noise. The steps run under a tf.distribute strategy on a global batch split over the
replicas; every random number comes with the batch (`batch_noise`), so 2 replicas give the weights
of 1. A second kind of training (DP-SGD: `privacy.PrivateGAN`) overrides the D step and the batches.
With train.generator_average, a moving average of G's weights follows every G step, and it is the
generator the run samples, watches and exports (the checkpoint holds both).
"""

import tensorflow as tf

from ..core import constants as C
from ..core.config import noise_width
from ..core.errors import UserError
from ..data.pipeline import epoch_length, tf_dataset
from ..models import gan as networks
from ..models import losses
from . import precision

# each worker takes its replicas' slices of every global batch
_SPLIT_BATCHES = tf.data.Options()
_SPLIT_BATCHES.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA


class TrainingError(UserError, RuntimeError):
    """Training cannot go on; the message says why and what to do."""


class GAN:
    picks_best = True               # the quality watch may keep the best epoch's generator
    d_loss_scaling = True           # float16 scales the D loss (a DP step clips per-example gradients instead)

    def __init__(self, cfg, strategy=None):
        self.cfg = cfg
        self.strategy = strategy or tf.distribute.get_strategy()
        t = cfg.train
        self.precision = precision.resolve(t.precision)
        policy = precision.POLICIES[self.precision]
        tf.keras.utils.set_random_seed(t.seed)          # same seed, same initial weights
        with self.strategy.scope():
            self.generator = networks.build_generator(cfg.representation, cfg.model, policy)
            self.discriminator = networks.build_discriminator(cfg.representation, cfg.model, policy, for_training=True)
            # one call gives D's logit and the features that feature matching compares
            self.critic = tf.keras.Model(self.discriminator.inputs, [self.discriminator.output,
                                                                     self.discriminator.get_layer("d_features").output])
            self.g_opt = _optimizer(t.g_lr, t, self.precision)
            self.d_opt = _optimizer(t.d_lr, t, self.precision if self.d_loss_scaling else "float32")
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64)
            self.iteration = tf.Variable(0, dtype=tf.int64)    # batches done in the current epoch
            # train.generator_average: G's weights averaged over its steps, and how many steps it has seen
            self.average = networks.build_generator(cfg.representation, cfg.model) if t.generator_average else None
            self.averaged_steps = tf.Variable(0, dtype=tf.int64)
        self.checkpoint = tf.train.Checkpoint(**self.checkpoint_items())
        self.d_step = tf.function(self.d_step_eager, input_signature=self.d_signature())
        self.g_step = tf.function(self.g_step_eager)
        self.average_step = tf.function(self.average_step_eager)

    def checkpoint_items(self):
        items = {"generator": self.generator, "discriminator": self.discriminator, "g_opt": self.g_opt,
                 "d_opt": self.d_opt, "epoch": self.epoch, "iteration": self.iteration}
        if self.average is not None:
            items.update(generator_average=self.average, averaged_steps=self.averaged_steps)
        return items

    def d_signature(self):
        return None

    def exported(self, discriminator=True):
        """(generator, discriminator or None) as saved: float32 Keras layers with the trained weights,
        so a model trained in mixed precision generates as a float32 one would."""
        rep, m = self.cfg.representation, self.cfg.model
        generator = networks.build_generator(rep, m)
        averaged = self.average is not None and self.averaged_steps.numpy() > 0
        generator.set_weights((self.average if averaged else self.generator).get_weights())
        if not discriminator:
            return generator, None
        critic = networks.build_discriminator(rep, m)
        critic.set_weights(self.discriminator.get_weights())
        return generator, critic

    def state(self):
        """Every variable the checkpoint holds."""
        average = [] if self.average is None else self.average.weights + [self.averaged_steps]
        return (self.generator.weights + self.discriminator.weights + self.g_opt.variables + self.d_opt.variables
                + [self.epoch, self.iteration] + average)

    # ------------------------------------------------------------ what an epoch is

    def epoch_size(self, rows):
        """N of an epoch (`data.corpus.Rows`): every row, or train.epoch_rows of them."""
        return epoch_length(len(rows.melody), self.cfg.train.epoch_rows, self.cfg.train.meter_balance)

    def describe(self):
        """(a line to print at the start of training on how this trainer differs, or None; facts for
        the run's summary)."""
        return None, {}

    def epoch_batches(self, rows, epoch, start):
        """The epoch's batches from iteration `start` on: a permutation keyed by (seed, epoch), with noise."""
        t = self.cfg.train
        data = with_noise(tf_dataset(rows.melody, rows.chords, rows.previous, rows.meter, t.batch_size, epoch,
                                     t.seed, drop_remainder=t.drop_remainder, pad_remainder=True,
                                     meter_balance=t.meter_balance, size=t.epoch_rows,
                                     bar_chords=t.bar_chords, bar_chord_ids=rows.bar_chords), self.cfg, epoch).skip(start)
        return self.strategy.experimental_distribute_dataset(data.with_options(_SPLIT_BATCHES))

    def before_epoch(self, epoch, iterations):
        """None to run epoch `epoch` (0-based), or why the run stops before it."""
        return

    def epoch_record(self, done, iterations):
        """(facts for the run's summary, fields for the log row, a line to print or None) after `done` epochs."""
        return {}, {}, None

    # ------------------------------------------------------------ the steps

    def fake_melody(self, chords, previous, latent, uniform):
        """Generated one-hot melodies (B, steps, VOCAB), drawn at `sample_temperature` (a Gumbel-max draw
        from probs^(1/T); at 0 the most likely token, no draw), with straight-through (Gumbel-)softmax
        gradients."""
        return self.drawn(self.generator([latent, chords, previous], training=True), uniform)

    def drawn(self, probs, uniform):
        """One-hot tokens drawn from `probs` as `fake_melody` draws them."""
        t = self.cfg.train
        logits = tf.math.log(probs + 1e-9)
        if t.sample_temperature > 0:
            logits = logits / t.sample_temperature - tf.math.log(-tf.math.log(uniform))   # + Gumbel noise
        soft = tf.nn.softmax(logits / t.gumbel_temperature)
        hard = tf.one_hot(tf.argmax(soft, -1), C.VOCAB_SIZE)
        return hard + soft - tf.stop_gradient(soft)      # D sees hard tokens as for real music

    def _d_replica(self, melody, chords, previous, noise, weight=None):
        """weight (B,): 1 for a row, 0 for a filler of a padded last batch (None: every row counts)."""
        weight = _ones_for(melody) if weight is None else weight
        n = _global_batch(weight)
        real = tf.one_hot(melody, C.VOCAB_SIZE)
        fake = tf.stop_gradient(self.fake_melody(chords, previous, noise["d_latent"], noise["d_uniform"]))
        with tf.GradientTape() as tape:
            real_logits, _ = self.critic([real, chords, previous], training=True)
            fake_logits, _ = self.critic([fake, chords, previous], training=True)
            negative_logits = None
            if self.cfg.train.scrambled_negatives:
                scrambled = tf.one_hot(scramble(self.cfg.train.scramble, melody, noise["scramble"], chords),
                                       C.VOCAB_SIZE)
                negative_logits, _ = self.critic([scrambled, chords, previous], training=True)
            per_example = losses.discriminator_loss(self.cfg.train, self.discriminator, real, fake, real_logits,
                                                    fake_logits, (chords, previous), noise["gp_eps"], negative_logits)
            loss = tf.nn.compute_average_loss(per_example, weight, global_batch_size=n)
            scaled = self.d_opt.scale_loss(loss)          # float16: loss scaling; else the loss itself
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_opt.apply_gradients(zip(grads, self.discriminator.trainable_variables))   # sums over replicas
        return {"d_loss": loss,
                "d_real": tf.nn.compute_average_loss(tf.sigmoid(real_logits)[:, 0], weight, global_batch_size=n),
                "d_fake": tf.nn.compute_average_loss(tf.sigmoid(fake_logits)[:, 0], weight, global_batch_size=n)}

    def _g_replica(self, melody, chords, previous, noise, weight=None):
        t = self.cfg.train
        weight = _ones_for(melody) if weight is None else weight
        n = _global_batch(weight)
        with tf.GradientTape() as tape:
            probs = self.generator([noise["g_latent"], chords, previous], training=True)      # fresh noise
            fake_logits, fake_features = self.critic([self.drawn(probs, noise["g_uniform"]), chords, previous],
                                                     training=True)
            per_example = losses.generator_loss(t, fake_logits)
            if t.mode_seeking > 0:
                other = self.generator([noise["g_other_latent"], chords, previous], training=True)
                per_example += t.mode_seeking * losses.mode_seeking(probs, other, noise["g_latent"],
                                                                    noise["g_other_latent"])
            loss = tf.nn.compute_average_loss(per_example, weight, global_batch_size=n)
            if t.feature_matching > 0:
                _, real_features = self.critic([tf.one_hot(melody, C.VOCAB_SIZE), chords, previous], training=True)
                matching = losses.feature_matching(_global_mean(tf.stop_gradient(real_features), n, weight),
                                                   _global_mean(fake_features, n, weight))
                # every replica holds the whole term; their gradients are summed, so each adds 1/replicas
                loss += t.feature_matching * matching / tf.distribute.get_replica_context().num_replicas_in_sync
            scaled = self.g_opt.scale_loss(loss)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_opt.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"g_loss": loss}

    def _run(self, replica_fn, batch):
        """Each replica's share of the metrics, summed in one exchange: the step's value on the global batch."""
        names = []

        def shares(*args):
            out = replica_fn(*args)
            names[:] = out
            return tf.stack(list(out.values()))

        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, self.strategy.run(shares, args=batch), axis=None)
        return dict(zip(names, tf.unstack(total)))

    def d_step_eager(self, batch):
        return self._run(self._d_replica, batch)

    def average_step_eager(self):
        """Move the average one G step towards G; its first step copies G (so a run from --init-from
        averages from the weights it started with, not from a random network)."""
        decay = tf.where(self.averaged_steps > 0, self.cfg.train.generator_average, 0.0)
        for mean, weight in zip(self.average.weights, self.generator.weights):
            mean.assign(decay * mean + (1 - decay) * tf.cast(weight, mean.dtype))
        self.averaged_steps.assign_add(1)

    def g_step_eager(self, batch):
        return self._run(self._g_replica, batch)

    def g_batch(self, batch, step):
        """The generator step's batch: the discriminator's."""
        return batch

    def set_learning_rates(self, step, iters_per_epoch):
        """Base rates x batch scaling, ramped linearly over the warmup when scaling is on."""
        t = self.cfg.train
        factor = t.lr_factor_at(step, iters_per_epoch)
        self.g_opt.learning_rate.assign(t.g_lr * factor)
        self.d_opt.learning_rate.assign(t.d_lr * factor)

    def train_batch(self, batch, step, eager=False):
        """One iteration: a D step, and a G step every `d_steps`."""
        d_step, g_step = (self.d_step_eager, self.g_step_eager) if eager else (self.d_step, self.g_step)
        out = d_step(batch)
        if step % self.cfg.train.d_steps == 0:
            out.update(g_step(self.g_batch(batch, step)))
            if self.average is not None:
                self.average_step_eager() if eager else self.average_step()
        return {k: float(v) for k, v in out.items()}


def _ones_for(local):
    return tf.ones(tf.shape(local)[:1], tf.float32)


def _global_batch(weight):
    """The examples in this step over all replicas: the sum of the rows' weights (B,) (the last batch of an
    epoch may be short, or padded with rows of weight 0)."""
    local_n = tf.reduce_sum(weight)
    return tf.cast(tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, local_n), tf.int32)


def _global_mean(x, n, weight):
    """Weighted mean over the global batch of (B, F) features, in float32; differentiable (the all-reduce
    passes gradients on)."""
    x = tf.cast(x, tf.float32) * weight[:, None]     # mixed precision computes the features in 16 bits
    total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(x, 0))
    return total / tf.cast(n, x.dtype)


def _optimizer(lr, t, chosen):
    """Adam; under float16 wrapped in dynamic loss scaling (bfloat16 has float32's range: none needed)."""
    opt = tf.keras.optimizers.Adam(lr, t.beta1, t.beta2)
    return tf.keras.mixed_precision.LossScaleOptimizer(opt) if chosen == "float16" else opt


def batch_noise(cfg, n, key):
    """The random numbers of one iteration for n examples, drawn from key (2 ints) alone.

    Drawn for the global batch before it is split, so the replicas share one draw and a resumed run
    draws the same numbers: latent (n, noise width) and Gumbel uniforms (n, steps, VOCAB) for the D and
    the G step, and the gradient penalty's ε (n, 1, 1).
    """
    steps = cfg.representation.phrase_steps
    seeds = tf.random.experimental.stateless_split(key, 5)
    latent, uniform = [n, noise_width(cfg.representation, cfg.model)], [n, steps, C.VOCAB_SIZE]
    noise = {"d_latent": tf.random.stateless_normal(latent, seeds[0]),
             "d_uniform": tf.random.stateless_uniform(uniform, seeds[1], 1e-9, 1.0),
             "gp_eps": tf.random.stateless_uniform([n, 1, 1], seeds[2]),
             "g_latent": tf.random.stateless_normal(latent, seeds[3]),
             "g_uniform": tf.random.stateless_uniform(uniform, seeds[4], 1e-9, 1.0)}
    if cfg.train.scrambled_negatives:      # drawn apart, so that the other draws stay as they were without it
        noise["scramble"] = tf.random.stateless_uniform([n, steps, 2 * REACH + 1],
                                                        tf.random.experimental.stateless_fold_in(key, 5))
    if cfg.train.mode_seeking:
        noise["g_other_latent"] = tf.random.stateless_normal(latent, tf.random.experimental.stateless_fold_in(key, 6))
    return noise


REACH = 7                  # semitones a note may move to a tone of its chord (arpeggiate_onsets)


def arpeggiate_onsets(melody, uniform, chords, keep_tones=False):
    """(B, steps) tokens with each onset moved to a tone of its chord (chords: (B, slots, CONDITION_DIM), the
    chord's pitch classes first) within a fifth, drawn by `uniform` (B, steps, 15): the rhythm and the
    chords stay, the line becomes an arpeggio of random chord tones (`train.scramble` "chord_tones").
    `keep_tones`: each onset moves instead to another pitch within a fifth that is a chord tone exactly
    when it was one, so the share of chord tones stays too and only the steps change ("leaps"). An
    onset with nowhere to go within reach (no chord) stays."""
    pitch = melody - C.FIRST_PITCH_TOKEN
    offsets = tf.range(-REACH, REACH + 1, dtype=melody.dtype)
    to = pitch[..., None] + offsets                                          # (B, steps, 15) candidates
    tones = tf.repeat(chords[..., :12], tf.shape(melody)[1] // tf.shape(chords)[1], axis=1) > 0.5
    is_tone = tf.gather(tones, tf.math.floormod(to + C.MIN_PITCH, 12), batch_dims=2)
    if keep_tones:
        ok = (is_tone == is_tone[..., REACH:REACH + 1]) & (offsets != 0) & tf.reduce_any(tones, -1, keepdims=True)
    else:
        ok = is_tone
    ok &= (to >= 0) & (to < C.NUM_PITCHES)
    pick = tf.argmax(tf.where(ok, uniform, -1.0), -1, output_type=melody.dtype)
    moved = tf.gather(to, pick[..., None], batch_dims=2)[..., 0] + C.FIRST_PITCH_TOKEN
    return tf.where((melody >= C.FIRST_PITCH_TOKEN) & tf.reduce_any(ok, -1), moved, melody)


def scramble_onsets(melody, uniform):
    """(B, steps) tokens with each row's onset pitches put in the order of their `uniform` (B, steps, ·) first draws:
    the rhythm (which steps are onsets, holds, rests) and the pitches stay, their order and so the steps
    between them do not (`train.scramble` "order")."""
    onset = melody >= C.FIRST_PITCH_TOKEN
    position = tf.cast(tf.range(tf.shape(melody)[1]), tf.float32)[None]
    by_position = tf.argsort(tf.where(onset, position, position + 1e6))   # onsets first, in their order
    by_draw = tf.argsort(tf.where(onset, uniform[..., 0], position + 1e6))   # onsets first, shuffled; then the same
    moved = tf.gather(tf.gather(melody, by_draw, batch_dims=1), tf.argsort(by_position), batch_dims=1)
    return tf.where(onset, moved, melody)


def scramble(kind, melody, uniform, chords):
    """`melody` (B, steps) scrambled as `train.scramble` `kind` says, by `uniform` (B, steps, 15)."""
    if kind == "order":
        return scramble_onsets(melody, uniform)
    return arpeggiate_onsets(melody, uniform, chords, keep_tones=kind == "leaps")


def with_noise(data, cfg, epoch):
    """Each batch of `data` with its noise, keyed by (seed, epoch, iteration): (melody, chords, previous,
    noise) and, for a padded dataset, then the weights (`tf_dataset`)."""
    key = tf.constant([cfg.train.seed, epoch], tf.int64)

    def add(i, batch):
        noise = batch_noise(cfg, tf.shape(batch[0])[0], tf.random.experimental.stateless_fold_in(key, i))
        return (*batch[:3], noise, *batch[3:])

    return data.enumerate().map(add, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
