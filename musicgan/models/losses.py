"""GAN losses as pure functions of discriminator outputs (logits) and features.

Adversarial losses are per example, shape (B,): the caller averages them over the *global* batch
(`tf.nn.compute_average_loss`), so that replicas each holding a slice add up to one batch.
"""

import tensorflow as tf


def _bce(logits, target):
    """(B, 1) logits -> (B,) binary cross-entropies against a constant target."""
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), target), logits=logits)[:, 0]


def d_nonsaturating(real_logits, fake_logits, smoothing=0.9):
    """-[s·log σ(D(x))+(1-s)·log(1-σ(D(x)))] - log(1 - σ(D(G(z)))); one-sided smoothing s on reals only."""
    return _bce(real_logits, smoothing) + _bce(fake_logits, 0.0)


def g_nonsaturating(fake_logits):
    """-log σ(D(G(z))): the generator's non-saturating loss (strong gradients early on)."""
    return _bce(fake_logits, 1.0)


def feature_matching(real_mean, fake_mean):
    """||E[f(x)] - E[f(G(z))]||² averaged over features (Salimans et al. 2016), from batch means (F,)."""
    return tf.reduce_mean(tf.square(real_mean - fake_mean))


def mode_seeking(probs, other, latent, other_latent, eps=1e-5):
    """(B,) MSGAN's term (Mao et al. 2019): 1 / (how far apart two melodies' token odds (B, steps, VOCAB)
    are, the mean over steps of their L1 distance, per unit of distance between the two noises (B, width)
    that made them over the same conditions). Large when G ignores its noise."""
    apart = tf.reduce_mean(tf.reduce_sum(tf.abs(tf.cast(probs, tf.float32) - tf.cast(other, tf.float32)), -1), -1)
    return 1.0 / (apart / tf.reduce_mean(tf.abs(latent - other_latent), -1) + eps)


def d_wasserstein(real_logits, fake_logits):
    """D(G(z)) - D(x): the critic's loss (WGAN); add `gradient_penalty`."""
    return (fake_logits - real_logits)[:, 0]


def g_wasserstein(fake_logits):
    """-D(G(z))."""
    return -fake_logits[:, 0]


def gradient_penalty(critic, real, fake, conditions, eps):
    """(||∇_x̂ D(x̂)||₂ - 1)² at x̂ = εx + (1-ε)x̃, ε ~ U(0, 1) (B, 1, 1) per example (Gulrajani et al. 2017)."""
    mixed = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        out = critic([mixed, *conditions], training=True)
    grads = tape.gradient(out, mixed)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2]) + 1e-12)
    return tf.square(norm - 1.0)


def discriminator_loss(t, critic, real, fake, real_logits, fake_logits, conditions, eps, negative_logits=None):
    """Per-example D loss (B,) of the configured kind `t.loss` (a `TrainConfig`): the critic loss plus
    `t.gp_weight` x the gradient penalty for "wgan-gp", else the smoothed non-saturating loss.
    `negative_logits`: D on scrambled real phrases, which make up a share `t.scrambled_negatives` of the
    fakes (the fake term is the mixture's: (1 - s) x G's + s x theirs; the penalty stays on G's)."""
    if t.loss == "wgan-gp":
        loss = d_wasserstein(real_logits, fake_logits) + t.gp_weight * gradient_penalty(
            critic, real, fake, conditions, eps)
        fake_term = lambda logits: logits[:, 0]
    else:
        loss = d_nonsaturating(real_logits, fake_logits, t.label_smoothing)
        fake_term = lambda logits: _bce(logits, 0.0)
    if negative_logits is None:
        return loss
    return loss + t.scrambled_negatives * (fake_term(negative_logits) - fake_term(fake_logits))


def generator_loss(t, fake_logits):
    """Per-example G loss (B,) of the configured kind `t.loss`."""
    return g_wasserstein(fake_logits) if t.loss == "wgan-gp" else g_nonsaturating(fake_logits)
