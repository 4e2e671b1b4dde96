"""GAN losses as pure functions of discriminator outputs (logits) and features."""

import tensorflow as tf


def _bce(logits, target):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), target), logits=logits))


def d_nonsaturating(real_logits, fake_logits, smoothing=0.9):
    """-E[s·log σ(D(x))+(1-s)·log(1-σ(D(x)))] - E[log(1 - σ(D(G(z))))]; one-sided smoothing s on reals only."""
    return _bce(real_logits, smoothing) + _bce(fake_logits, 0.0)


def g_nonsaturating(fake_logits):
    """-E[log σ(D(G(z)))]: the generator's non-saturating loss (strong gradients early on)."""
    return _bce(fake_logits, 1.0)


def feature_matching(real_features, fake_features):
    """||E[f(x)] - E[f(G(z))]||² over the batch (Salimans et al. 2016), averaged over features."""
    return tf.reduce_mean(tf.square(tf.reduce_mean(real_features, 0) - tf.reduce_mean(fake_features, 0)))


def d_wasserstein(real_logits, fake_logits):
    """E[D(G(z))] - E[D(x)]: the critic's loss (WGAN); add `gradient_penalty`."""
    return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)


def g_wasserstein(fake_logits):
    """-E[D(G(z))]."""
    return -tf.reduce_mean(fake_logits)


def gradient_penalty(critic, real, fake, conditions, seed):
    """E[(||∇_x̂ D(x̂)||₂ - 1)²] at x̂ = εx + (1-ε)x̃, ε ~ U(0, 1) per example (Gulrajani et al. 2017)."""
    eps = tf.random.stateless_uniform([tf.shape(real)[0], 1, 1], seed)
    return input_gradient_penalty(critic, eps * real + (1.0 - eps) * fake, conditions)


def input_gradient_penalty(critic, mixed, conditions):
    """E[(||∇_x̂ D(x̂)||₂ - 1)²] at given points x̂ (B, steps, VOCAB)."""
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        out = critic([mixed, *conditions], training=True)
    grads = tape.gradient(out, mixed)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2]) + 1e-12)
    return tf.reduce_mean(tf.square(norm - 1.0))
