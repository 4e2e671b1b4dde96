"""Differentially private discriminator training (DP-SGD): Poisson batches of privacy units,
per-example clipped and noised gradients, and public conditions for the generator step.

Only the discriminator reads private data, so the generator (trained through D alone, on
conditions drawn from public music theory) is private by post-processing. Shapes: melody (b,)
rows of (steps,) tokens; conditions (b, slots, CONDITION_DIM); previous (b, context steps); b varies (Poisson
sampling). The accountant is `accounting`.
"""

import logging
import secrets

import numpy as np
import tensorflow as tf

from ..core import constants as C
from ..core.config import noise_width
from ..core.meter import SLOT_STEPS, Meter
from ..data.pipeline import conditions
from ..harmony import chords as chords_mod
from ..models import losses
from . import accounting
from .trainer import GAN, TrainingError, batch_noise

# chords of a major key (root above the tonic, quality) that G's public conditions are drawn from
DIATONIC = ((0, ""), (2, "m"), (4, "m"), (5, ""), (7, ""), (7, "7"), (9, "m"), (2, "m7"), (0, "maj7"))
PUBLIC_METERS = ("4/4", "3/4", "6/8", "2/4")   # the meters G's public conditions are drawn in


def fresh_secret():
    """The seed of the DP noise and of the Poisson draws: never in config.json (whoever knows it
    can subtract the noise), kept only in the checkpoint so that --resume repeats the same run."""
    return secrets.randbits(62)


# ---------------------------------------------------------------- sampling

def poisson_batches(unit_id, batch_size, iterations, secret, epoch):
    """Row indices of each batch of one epoch: every unit joins a batch independently with
    probability q = batch_size / units and brings ONE of its rows (a phrase of it in one of its
    keys, drawn uniformly), so one unit moves one clipped gradient per step. Keyed by
    (secret, epoch): a resumed run draws the same batches."""
    order = np.argsort(unit_id, kind="stable")                   # rows grouped by unit
    units, start, count = np.unique(unit_id[order], return_index=True, return_counts=True)
    q = batch_size / len(units)
    rng = np.random.default_rng([secret, epoch])
    out = []
    for _ in range(iterations):
        taken = np.flatnonzero(rng.random(len(units)) < q)
        out.append(order[start[taken] + (rng.random(len(taken)) * count[taken]).astype(int)])
    return out


def batches(rows, picks):
    """tf batches (melody int32, conditions float32, previous int32) of `Rows` for lists of row indices."""
    for idx in picks:
        yield (tf.constant(rows.melody[idx].astype(np.int32)),
               tf.constant(conditions(chords_mod.FEATURES[rows.chords[idx]], rows.meter[idx])),
               tf.constant(rows.previous[idx].astype(np.int32)))


def public_conditions(rng, n, rep):
    """Conditions for the generator step that no training data touched: a random major key and one of
    PUBLIC_METERS, one random diatonic chord a bar, and rests before the phrase (as in generation)."""
    names = [q for q, _ in chords_mod.QUALITIES]
    table = np.array([[chords_mod.chord_id((key + r) % 12, names.index(q)) for r, q in DIATONIC] for key in range(12)])
    meters = [Meter.parse(m) for m in PUBLIC_METERS]
    which = rng.integers(0, len(meters), n)
    ids = np.zeros((n, rep.phrase_slots), int)
    for i, k in enumerate(which):
        slots_per_bar = meters[k].steps_per_bar // SLOT_STEPS
        bars = table[rng.integers(0, 12), rng.integers(0, len(DIATONIC), -(-rep.phrase_slots // slots_per_bar))]
        ids[i] = np.repeat(bars, slots_per_bar)[:rep.phrase_slots]
    meter_rows = np.array([(meters[k].numerator, meters[k].denominator) for k in which])
    return (tf.constant(conditions(chords_mod.FEATURES[ids], meter_rows)),
            tf.constant(np.full((n, rep.context_steps), C.REST, np.int32)))


# ---------------------------------------------------------------- the private step

def clip(grads, clip_norm):
    """Scale each example's gradient (a list of (b, ...) tensors) to L2 norm <= clip_norm over all
    variables together: g_i · min(1, C / ||g_i||). Returns (clipped list, norms (b,))."""
    sq = tf.add_n([tf.reduce_sum(tf.reshape(tf.square(g), [tf.shape(g)[0], -1]), 1) for g in grads])
    norms = tf.sqrt(sq)
    scale = tf.minimum(1.0, clip_norm / tf.maximum(norms, 1e-12))
    return [g * tf.reshape(scale, [-1] + [1] * (len(g.shape) - 1)) for g in grads], norms


def noisy_mean(clipped, noise_multiplier, clip_norm, expected_batch, rng):
    """(Σ_i clip(g_i) + N(0, σ²C²)) / B for each variable: the Gaussian mechanism over a sum whose
    sensitivity is C, divided by the expected (not the drawn) batch size B, as q = B/N assumes."""
    return [(tf.reduce_sum(g, 0) + rng.normal(tf.shape(g)[1:], stddev=noise_multiplier * clip_norm))
            / expected_batch for g in clipped]


class PrivateGAN(GAN):
    """The GAN with a DP-SGD discriminator step, its secret noise RNG (checkpointed), Poisson batches
    of privacy units, and a generator step on public conditions."""
    picks_best = False          # picking a model by the private corpus would not be private
    d_loss_scaling = False      # the noised gradients go to Adam as they are

    def __init__(self, cfg, strategy=None):
        strategy = strategy or tf.distribute.get_strategy()
        if strategy.num_replicas_in_sync > 1:
            raise TrainingError("--dp trains on one replica only: use --strategy default")
        self.secret = tf.Variable(fresh_secret(), dtype=tf.int64, trainable=False)
        self.rng = tf.random.Generator.from_seed(int(self.secret.numpy()))
        self.plan = None
        super().__init__(cfg, strategy)

    def checkpoint_items(self):
        return {**super().checkpoint_items(), "dp_secret": self.secret, "dp_rng": self.rng}

    def d_signature(self):
        """The D step's input signature: one trace for every Poisson batch size."""
        rep = self.cfg.representation
        return [(tf.TensorSpec([None, rep.phrase_steps], tf.int32),
                 tf.TensorSpec([None, rep.phrase_slots, C.CONDITION_DIM], tf.float32),
                 tf.TensorSpec([None, rep.context_steps], tf.int32))]

    # ------------------------------------------------------------ what an epoch is

    def epoch_size(self, rows):
        """N of a private epoch: the privacy units, not the rows."""
        self.plan = accounting.plan(self.cfg, rows.unit_id)
        return self.plan["units"]

    def describe(self):
        return accounting.format_plan(self.plan), {"privacy": self.plan}

    def epoch_batches(self, rows, epoch, start):
        iters = self.plan["iterations_per_epoch"]
        picks = poisson_batches(rows.unit_id, self.cfg.train.batch_size, iters, int(self.secret.numpy()), epoch)
        return batches(rows, picks[start:])

    def before_epoch(self, epoch, iterations):
        target = self.cfg.privacy.target_epsilon
        if not accounting.over_budget(self.plan, (epoch + 1) * iterations, target):
            return None
        if epoch == 0:
            raise TrainingError(f"one epoch already spends more than --dp-target-epsilon {target:g}: raise "
                                "--dp-noise-multiplier or lower --batch-size")
        return f"stopping after epoch {epoch}: epoch {epoch + 1} would take ε past --dp-target-epsilon {target:g}"

    def epoch_record(self, done, iterations):
        eps = accounting.epsilons(self.plan, done * iterations)
        line = (f"epoch {done}: ε = {eps['epsilon_pld']:.3g} (PLD), {eps['epsilon_rdp']:.3g} (RDP), "
                f"{eps['epsilon_basic']:.3g} (basic composition) at δ = {self.plan['delta']:g}")
        return {"privacy": {**self.plan, "steps": done * iterations, **eps}}, eps, line

    # ------------------------------------------------------------ the steps

    def g_batch(self, batch, step):
        """B public conditions keyed by (seed, step); no melody is read."""
        cfg = self.cfg
        b = cfg.train.batch_size
        chords, previous = public_conditions(np.random.default_rng([cfg.train.seed, step]), b, cfg.representation)
        noise = batch_noise(cfg, b, tf.constant([cfg.train.seed, step], tf.int64))    # G's noise is not private
        return tf.zeros((b, cfg.representation.phrase_steps), tf.int32), chords, previous, noise

    def example_loss(self, real, fake, chords, previous, eps):
        """D's loss on ONE example (batch of 1): its real term, the fake made over its conditions and,
        for WGAN-GP, the penalty between the two. All three read example i (the fake through its
        chords and previous bar), so all three are clipped together as example i's gradient."""
        d = self.discriminator
        real_logit, fake_logit = d([real, chords, previous], training=True), d([fake, chords, previous], training=True)
        loss = losses.discriminator_loss(self.cfg.train, d, real, fake, real_logit, fake_logit, (chords, previous), eps)
        return tf.reduce_sum(loss), real_logit, fake_logit

    def per_example_grads(self, real, fake, chords, previous, eps):
        """Gradients of `example_loss` for every example at once (tf.vectorized_map), (b, ...) each."""
        variables = self.discriminator.trainable_variables

        def one(args):
            with tf.GradientTape() as tape:
                loss, real_logit, fake_logit = self.example_loss(*(a[None] for a in args))
            return tape.gradient(loss, variables), loss, real_logit[0], fake_logit[0]

        level = tf.get_logger().level         # pfor warns at trace time about loops it cannot fuse
        tf.get_logger().setLevel(logging.ERROR)
        try:
            return tf.vectorized_map(one, (real, fake, chords, previous, eps))
        finally:
            tf.get_logger().setLevel(level)

    def d_step_eager(self, batch):
        melody, chords, previous = batch
        p = self.cfg.privacy
        real = tf.one_hot(melody, C.VOCAB_SIZE)
        variables = self.discriminator.trainable_variables

        def drawn():      # the D step's random numbers come from the secret-seeded RNG, not the batch
            b = tf.shape(real)[0]
            latent = self.rng.normal([b, noise_width(self.cfg.representation, self.cfg.model)])
            uniform = self.rng.uniform(tf.shape(real), 1e-9, 1.0)
            fake = tf.stop_gradient(self.fake_melody(chords, previous, latent, uniform))   # over example i's conditions
            eps = self.rng.uniform([b, 1, 1])
            return self.per_example_grads(real, fake, chords, previous, eps)

        none = [tf.zeros([0, *v.shape]) for v in variables] + [tf.zeros([0])] + [tf.zeros([0, 1])] * 2
        grads, loss, real_logit, fake_logit = tf.cond(          # neither G nor pfor take an empty batch
            tf.shape(real)[0] > 0, drawn, lambda: (none[:-3], *none[-3:]))
        clipped, norms = clip(grads, p.l2_clip)
        noised = noisy_mean(clipped, p.noise_multiplier, p.l2_clip, float(self.cfg.train.batch_size), self.rng)
        self.d_opt.apply_gradients(zip(noised, variables))
        n = tf.maximum(tf.cast(tf.shape(real)[0], tf.float32), 1.0)      # an empty batch still adds noise
        return {"d_loss": tf.reduce_sum(loss) / n, "d_real": tf.reduce_sum(tf.sigmoid(real_logit)) / n,
                "d_fake": tf.reduce_sum(tf.sigmoid(fake_logit)) / n,
                "dp_clipped": tf.reduce_sum(tf.cast(norms > p.l2_clip, tf.float32)) / n}
