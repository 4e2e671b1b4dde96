"""Differentially private discriminator training (DP-SGD): Poisson batches of privacy units,
per-example clipped and noised gradients, public conditions for the generator step, and the
privacy accountant (dp-accounting: RDP and PLD, with basic composition for comparison).

Only the discriminator reads private data, so the generator (trained through D alone, on
conditions drawn from public music theory) is private by post-processing. Shapes: melody (b,)
rows of (steps,) tokens; chords (b, beats, 24); previous (b, 16); b varies (Poisson sampling).
"""

import logging
import secrets

import numpy as np
import tensorflow as tf

from . import chords as chords_mod
from . import constants as C
from . import losses

LOG_FIELDS = ("dp_clipped", "epsilon_rdp", "epsilon_pld", "epsilon_basic")
# chords of a major key (root above the tonic, quality) that G's public conditions are drawn from
DIATONIC = ((0, ""), (2, "m"), (4, "m"), (5, ""), (7, ""), (7, "7"), (9, "m"), (2, "m7"), (0, "maj7"))


def fresh_secret():
    """The seed of the DP noise and of the Poisson draws: never in config.json (whoever knows it
    can subtract the noise), kept only in the checkpoint so that --resume repeats the same run."""
    return secrets.randbits(62)


# ---------------------------------------------------------------- sampling

def unit_rows(corpus, transpose, unit):
    """(melody, chord_ids, previous, unit_id) rows: every phrase in every key, each row labelled
    with its privacy unit. A phrase's 12 transpositions are one unit (the same music in another
    key); with unit "song", every phrase of a file is one unit."""
    mel, ids, prev, source = corpus.augmented(transpose, sources=True)
    unit_id = corpus.song[source] if unit == "song" else source
    return mel, ids, prev, unit_id


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


def batches(melody, chord_ids, previous, picks):
    """tf batches (melody int32, chord features float32, previous int32) for lists of row indices."""
    for idx in picks:
        yield (tf.constant(melody[idx].astype(np.int32)), tf.constant(chords_mod.FEATURES[chord_ids[idx]]),
               tf.constant(previous[idx].astype(np.int32)))


def public_conditions(rng, n, rep):
    """Conditions for the generator step that no training data touched: a random major key, one
    random diatonic chord a bar, and a bar of rests before the phrase (as in generation)."""
    names = [q for q, _ in chords_mod.QUALITIES]
    table = np.array([[chords_mod.chord_id((key + r) % 12, names.index(q)) for r, q in DIATONIC] for key in range(12)])
    keys = rng.integers(0, 12, (n, 1))
    bars = table[keys, rng.integers(0, len(DIATONIC), (n, rep.phrase_bars))]       # (n, bars)
    ids = np.repeat(bars, C.BEATS_PER_BAR, 1)                                          # (n, beats)
    return (tf.constant(chords_mod.FEATURES[ids]),
            tf.constant(np.full((n, C.STEPS_PER_BAR), C.REST, np.int32)))


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


class Private:
    """DP-SGD for one `GAN`: its secret noise RNG (checkpointed) and the private D step."""

    def __init__(self, gan):
        self.gan = gan
        self.secret = tf.Variable(fresh_secret(), dtype=tf.int64, trainable=False)
        self.rng = tf.random.Generator.from_seed(int(self.secret.numpy()))

    def signature(self):
        """The D step's input signature: one trace for every Poisson batch size."""
        rep = self.gan.cfg.representation
        steps, beats = rep.phrase_bars * C.STEPS_PER_BAR, rep.phrase_bars * C.BEATS_PER_BAR
        return [tf.TensorSpec([None, steps], tf.int32), tf.TensorSpec([None, beats, C.CHORD_DIM], tf.float32),
                tf.TensorSpec([None, C.STEPS_PER_BAR], tf.int32)]

    def checkpoint_items(self):
        return {"dp_secret": self.secret, "dp_rng": self.rng}

    def g_batch(self, step):
        """The generator step's batch: B public conditions keyed by (seed, step); no melody is read."""
        cfg = self.gan.cfg
        chords, previous = public_conditions(np.random.default_rng([cfg.train.seed, step]), cfg.train.batch_size,
                                             cfg.representation)
        from .training import batch_noise

        steps, b = cfg.representation.phrase_bars * C.STEPS_PER_BAR, cfg.train.batch_size
        noise = batch_noise(cfg, b, tf.constant([cfg.train.seed, step], tf.int64))    # G's noise is not private
        return tf.zeros((b, steps), tf.int32), chords, previous, noise

    def example_loss(self, real, fake, chords, previous, eps):
        """D's loss on ONE example (batch of 1): its real term, the fake made over its conditions and,
        for WGAN-GP, the penalty between the two. All three read example i (the fake through its
        chords and previous bar), so all three are clipped together as example i's gradient."""
        t = self.gan.cfg.train
        d = self.gan.discriminator
        real_logit, fake_logit = d([real, chords, previous], training=True), d([fake, chords, previous], training=True)
        if t.loss == "wgan-gp":
            loss = losses.d_wasserstein(real_logit, fake_logit) + t.gp_weight * losses.gradient_penalty(
                d, real, fake, (chords, previous), eps)
        else:
            loss = losses.d_nonsaturating(real_logit, fake_logit, t.label_smoothing)
        return tf.reduce_sum(loss), real_logit, fake_logit

    def per_example_grads(self, real, fake, chords, previous, eps):
        """Gradients of `example_loss` for every example at once (tf.vectorized_map), (b, ...) each."""
        variables = self.gan.discriminator.trainable_variables

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

    def d_step(self, melody, chords, previous):
        p = self.gan.cfg.privacy
        real = tf.one_hot(melody, C.VOCAB_SIZE)
        variables = self.gan.discriminator.trainable_variables

        def drawn():      # the D step's random numbers come from the secret-seeded RNG, not the batch
            b = tf.shape(real)[0]
            latent = self.rng.normal([b, self.gan.cfg.model.latent])
            uniform = self.rng.uniform(tf.shape(real), 1e-9, 1.0)
            fake = tf.stop_gradient(self.gan.fake_melody(chords, previous, latent, uniform))   # over example i's conditions
            eps = self.rng.uniform([b, 1, 1])
            return self.per_example_grads(real, fake, chords, previous, eps)

        none = [tf.zeros([0, *v.shape]) for v in variables] + [tf.zeros([0])] + [tf.zeros([0, 1])] * 2
        grads, loss, real_logit, fake_logit = tf.cond(          # neither G nor pfor take an empty batch
            tf.shape(real)[0] > 0, drawn, lambda: (none[:-3], *none[-3:]))
        clipped, norms = clip(grads, p.l2_clip)
        noised = noisy_mean(clipped, p.noise_multiplier, p.l2_clip, float(self.gan.cfg.train.batch_size), self.rng)
        self.gan.d_opt.apply_gradients(zip(noised, variables))
        n = tf.maximum(tf.cast(tf.shape(real)[0], tf.float32), 1.0)      # an empty batch still adds noise
        return {"d_loss": tf.reduce_sum(loss) / n, "d_real": tf.reduce_sum(tf.sigmoid(real_logit)) / n,
                "d_fake": tf.reduce_sum(tf.sigmoid(fake_logit)) / n,
                "dp_clipped": tf.reduce_sum(tf.cast(norms > p.l2_clip, tf.float32)) / n}


# ---------------------------------------------------------------- accounting

def plan(cfg, unit_id):
    """What a private epoch is: units N, sampling rate q = B/N, steps per epoch ceil(N/B), δ."""
    p, b = cfg.privacy, cfg.train.batch_size
    n = len(np.unique(unit_id))
    if b > n:
        raise ValueError(f"--dp: the expected batch size {b} is larger than the {n} {p.unit}s; pass a smaller "
                         "--batch-size")
    if p.delta >= 1 / n:
        raise ValueError(f"--dp-delta {p.delta:g} is not below 1/N = {1 / n:.3g} ({n} {p.unit}s): with it one "
                         "unit could leak whole; pass a smaller --dp-delta")
    return {"unit": p.unit, "units": n, "q": b / n, "iterations_per_epoch": -(-n // b),
            "noise_multiplier": p.noise_multiplier, "l2_clip": p.l2_clip, "delta": p.delta}


def epsilon(noise_multiplier, q, steps, delta, accountant="rdp"):
    """ε for δ after `steps` Poisson-sampled Gaussian steps: "rdp" (moments accountant), "pld"
    (privacy loss distributions, tighter) or "basic" (T · ε₁ at δ/T each: loose, for comparison)."""
    import dp_accounting
    from dp_accounting import pld, rdp

    if steps == 0:
        return 0.0
    logging.getLogger("absl").setLevel(logging.ERROR)       # RDP warns for each order it skips
    step = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(noise_multiplier))
    if accountant == "basic":
        one = pld.PLDAccountant()
        one.compose(step)
        return steps * one.get_epsilon(delta / steps)
    acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
    acc.compose(dp_accounting.SelfComposedDpEvent(step, steps))
    return float(acc.get_epsilon(delta))


def epsilons(pl, steps):
    """The three ε figures of the log, rounded."""
    return {f"epsilon_{a}": round(epsilon(pl["noise_multiplier"], pl["q"], steps, pl["delta"], a), 4)
            for a in ("rdp", "pld", "basic")}


def over_budget(pl, steps, target):
    """True when `steps` would spend more than ε = target by the tighter of RDP and PLD (both are upper bounds)."""
    return target is not None and min(epsilon(pl["noise_multiplier"], pl["q"], steps, pl["delta"], a)
                                       for a in ("rdp", "pld")) > target


def format_plan(pl):
    return (f"differential privacy: unit {pl['unit']} ({pl['units']}), Poisson sampling q = B/N = {pl['q']:.4g}, "
            f"{pl['iterations_per_epoch']} steps/epoch = ceil(N/B), noise σ = {pl['noise_multiplier']:g}, "
            f"clip C = {pl['l2_clip']:g}, δ = {pl['delta']:g}")
