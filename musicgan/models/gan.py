"""The conditional GAN's functional Keras models: generator, discriminator and the two wired as `gan`.

Both networks see the conditions in every block (MidiNet style) and the steps before the phrase,
so a song of any length is written phrase by phrase, each conditioned on how the last one ended.
Shapes: noise (B, latent + steps x local_noise); chords (B, slots, CONDITION_DIM): chord and meter features per 8th-note
slot; previous (B, context steps) tokens; melody (B, steps, VOCAB) one-hot or probabilities. The
generator grows quarter notes -> 8ths -> 16ths; the discriminator shrinks 16ths -> 8ths -> quarters
-> steps/16. Nothing here assumes a meter: where the bars and beats are is in the conditions.

`policy` is a Keras dtype policy ("float32", "mixed_bfloat16", "mixed_float16"): under a mixed one
the layers compute in 16 bits on float32 weights, while the token softmax and the critic's logit
stay float32 (so do the Gumbel noise and the losses computed from them).
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ..core import constants as C
from ..core.config import noise_width


@keras.saving.register_keras_serializable("musicgan")
class LeakyReLU(layers.LeakyReLU):
    """Keras' LeakyReLU, except that its gradient takes the slope mask (x > 0) as a constant.

    The same values and the same first and second derivatives. The gradient penalty differentiates
    D's input gradient once more; through Keras' LeakyReLU that sends the gradient of the mask, an
    all-zeros tensor, back through D's whole forward pass (7.5% of an iteration's FLOPs). Here the
    mask is a comparison, which has no gradient, so that path does not exist.
    """

    def call(self, inputs):
        return _leaky_relu(inputs, self.negative_slope)


def _leaky_relu(x, slope):
    @tf.custom_gradient
    def leaky(x):
        def grad(dy):
            return tf.where(x > 0, dy, dy * slope)          # as TF's LeakyReluGrad, but x is not an input
        return tf.nn.leaky_relu(x, slope), grad
    return leaky(x)


@keras.saving.register_keras_serializable("musicgan")
class MinibatchStd(layers.Layer):
    """(B, T, C) -> (B, T, C + 1): a last channel holding the batch's spread, the standard deviation of
    each feature over the batch averaged to one number (ProGAN's minibatch standard deviation). A batch
    of near-copies has a small one, so the critic can tell a generator that ignores its noise."""

    def call(self, x):
        spread = tf.reduce_mean(tf.sqrt(tf.math.reduce_variance(tf.cast(x, tf.float32), axis=0) + 1e-8))
        channel = tf.fill(tf.concat([tf.shape(x)[:2], [1]], 0), tf.cast(spread, x.dtype))
        return tf.concat([x, channel], -1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def _heights():
    """(VOCAB,) float32: each pitch token's height in octaves around F#4; 0 for rest and hold."""
    height = np.zeros(C.VOCAB_SIZE, np.float32)
    height[C.FIRST_PITCH_TOKEN:] = (np.arange(C.NUM_PITCHES) + C.MIN_PITCH - 66) / 12
    return height


@keras.saving.register_keras_serializable("musicgan")
class SoundingPitch(layers.Layer):
    """[melody (B, T, VOCAB) token probabilities, previous (B, context) tokens] -> (B, T, 1): the height
    of the pitch sounding at each step (`_heights`), an onset's carried through its holds, 0 over a rest:
    s_t = height(onset_t) + P(hold_t) s_(t-1), from the context's last sounding pitch. Linear in the
    probabilities, so the critic's gradient reaches each of them. Two half notes, eight steps apart
    as tokens, are one step apart here: a filter of width 2 reads their interval."""

    def call(self, inputs):
        melody, previous = inputs
        tokens = tf.concat([tf.one_hot(previous, C.VOCAB_SIZE), tf.cast(melody, tf.float32)], 1)
        onset = tf.tensordot(tokens, tf.constant(_heights()), 1)          # (B, context + T)
        hold = tokens[..., C.HOLD]
        sounding = [onset[:, 0]]
        for t in range(1, tokens.shape[1]):
            sounding.append(onset[:, t] + hold[:, t] * sounding[-1])
        out = tf.stack(sounding[previous.shape[1]:], 1)[..., None]
        return tf.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], 1)


@contextlib.contextmanager
def _policy(name):
    """Layers made inside compute in dtype policy `name` (weights stay float32)."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def _inputs(rep, first):
    """The condition inputs shared by both networks, after the network's own first input."""
    chords = keras.Input((rep.phrase_slots, C.CONDITION_DIM), name="chords")
    previous = keras.Input((rep.context_steps,), dtype="int32", name="previous")
    return [first, chords, previous]


def _previous_summary(previous, cfg, name):
    x = layers.Embedding(C.VOCAB_SIZE, cfg.embed, name=f"{name}_prev_embed")(previous)
    return layers.Dense(cfg.width, activation="relu", name=f"{name}_prev_dense")(layers.Flatten()(x))


def _block(x, chords_at, width, name, strides=1, leaky=layers.LeakyReLU):
    """Concatenate the conditions at this resolution, then convolve: (B, T, ·) -> (B, T/strides, width)."""
    x = layers.Concatenate(name=f"{name}_cond")([x, chords_at])
    x = layers.Conv1D(width, 5, strides=strides, padding="same", name=f"{name}_conv")(x)
    return leaky(0.2, name=f"{name}_act")(x)


def build_generator(rep, cfg, policy="float32"):
    """generator(noise, chords, previous) -> (B, steps, VOCAB) token probabilities (float32)."""
    with _policy(policy):
        return _generator(rep, cfg)


def _pick(x, start, size, name):
    """Columns start..start+size of x (B, n): a fixed 0/1 projection (a layer numpy_runtime reads)."""
    pick = np.zeros((x.shape[-1], size), np.float32)
    pick[start + np.arange(size), np.arange(size)] = 1
    return layers.Dense(size, use_bias=False, trainable=False, name=name,
                        kernel_initializer=keras.initializers.Constant(pick))(x)


def _generator(rep, cfg):
    quarters = rep.phrase_slots // 2
    noise, chords, previous = inputs = _inputs(rep, keras.Input((noise_width(rep, cfg),), name="noise"))
    prev = _previous_summary(previous, cfg, "g")
    chords_16th = layers.UpSampling1D(2, name="g_chords_16th")(chords)
    cond_16th = chords_16th
    if cfg.local_noise:       # the 16th blocks read noise of their own step: ornaments drawn together
        local = _pick(noise, cfg.latent, rep.phrase_steps * cfg.local_noise, "g_local_noise")
        local = layers.Reshape((rep.phrase_steps, cfg.local_noise), name="g_local_noise_steps")(local)
        cond_16th = layers.Concatenate(name="g_cond_16th")([chords_16th, local])
        noise = _pick(noise, 0, cfg.latent, "g_phrase_noise")
    x = layers.Concatenate(name="g_seed")([noise, prev])
    x = layers.Dense(quarters * cfg.width, activation="relu", name="g_dense")(x)
    x = layers.Reshape((quarters, cfg.width), name="g_reshape")(x)             # one slot a quarter note
    x = _block(x, layers.AveragePooling1D(2, name="g_chords_quarter")(chords), cfg.width, "g_beat")
    x = _block(layers.UpSampling1D(2, name="g_up1")(x), chords, cfg.width, "g_8th")
    if cfg.wide_block:
        x = _wide_block(x, chords, cfg.width)
    x = _block(layers.UpSampling1D(2, name="g_up2")(x), cond_16th, cfg.width, "g_16th")
    x = _block(x, cond_16th, cfg.width, "g_16th_b")
    x = layers.Concatenate(name="g_out_cond")([x, chords_16th])
    probs = layers.Conv1D(C.VOCAB_SIZE, 1, activation="softmax", dtype="float32", name="tokens")(x)
    return keras.Model(inputs, probs, name="generator")


def _wide_block(x, chords, width):
    """x + a residual branch over 8ths reading +-12 8ths more (dilated filters; 'g_wide_*'): the notes of
    a bar of half notes, 8 steps apart, beyond the reach of the 16th blocks, plan their steps together.
    The branch's last filter starts at zero, so that the block starts as the identity and a model
    without it grows one (`--init-from`)."""
    h = layers.Concatenate(name="g_wide_cond")([x, chords])
    h = layers.Conv1D(width, 5, dilation_rate=2, padding="same", name="g_wide_conv")(h)
    h = layers.LeakyReLU(0.2, name="g_wide_act")(h)
    h = layers.Conv1D(width, 5, dilation_rate=4, padding="same", kernel_initializer="zeros", name="g_wide_out")(h)
    return layers.Add(name="g_wide_add")([x, h])


def build_discriminator(rep, cfg, policy="float32", for_training=False):
    """discriminator(melody, chords, previous) -> (B, 1) logit (float32); layer 'd_features' feeds feature
    matching. `for_training`: with the `LeakyReLU` whose second derivative skips the zero path (the same
    numbers; saved files hold Keras' own, see `GAN.exported`)."""
    with _policy(policy):
        return _discriminator(rep, cfg, LeakyReLU if for_training else layers.LeakyReLU)


def _discriminator(rep, cfg, leaky):
    melody, chords, previous = inputs = _inputs(rep, keras.Input((rep.phrase_steps, C.VOCAB_SIZE), name="melody"))
    chords_16th = layers.UpSampling1D(2, name="d_chords_16th")(chords)
    chords_quarter = layers.AveragePooling1D(2, name="d_chords_quarter")(chords)
    x = melody
    if cfg.pitch_channel:   # a fixed projection: onset height in octaves around F#4, 0 for rest/hold,
        # so that melodic intervals are one linear filter away instead of 39x39 token pairs
        h = layers.Dense(1, use_bias=False, trainable=False, name="d_pitch_height",
                         kernel_initializer=keras.initializers.Constant(_heights()[:, None]))(melody)
        x = layers.Concatenate(name="d_melody_height")([melody, h])
    if cfg.sounding_pitch:
        x = layers.Concatenate(name="d_melody_sounding")([x, SoundingPitch(name="d_sounding_pitch")([melody, previous])])
    x = _block(x, chords_16th, cfg.width, "d_16th", leaky=leaky)
    x = _block(x, chords_16th, cfg.width, "d_8th", strides=2, leaky=leaky)
    x = _block(x, chords, cfg.width, "d_beat", strides=2, leaky=leaky)
    x = _block(x, chords_quarter, cfg.width, "d_bar", strides=4, leaky=leaky)   # (B, steps / 16, width)
    if cfg.minibatch_std:
        x = MinibatchStd(name="d_batch_spread")(x)
    x = layers.Flatten(name="d_flat")(x)
    x = layers.Concatenate(name="d_join")([x, _previous_summary(previous, cfg, "d")])
    features = layers.Dense(cfg.width, name="d_features")(x)
    logit = layers.Dense(1, dtype="float32", name="logit")(leaky(0.2, name="d_features_act")(features))
    return keras.Model(inputs, logit, name="discriminator")


def build_gan(generator, discriminator):
    """gan(noise, chords, previous) -> logit of D on G's expected melody (probabilities)."""
    noise, chords, previous = generator.inputs
    logit = discriminator([generator([noise, chords, previous]), chords, previous])
    return keras.Model(generator.inputs, logit, name="gan")
