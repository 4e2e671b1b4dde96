"""FLOPs of the networks and of one training iteration, counted from the layer shapes.

What is counted: the multiply-adds of Dense and Conv1D layers, two FLOPs each (the work a matrix
multiply rate compares with). Elementwise work (bias, activations, softmax, Gumbel noise, Adam)
and the Embedding lookup are left out. tf.profiler's float_operation count of the traced graphs,
which includes the elementwise ops, agrees within 0.2% for the default model: G forward 35.89 M
per phrase (here 35.85 M), D forward 15.52 M (15.51 M), the wgan-gp D step's gradients 206.5 M
(the formula below: 206.4 M).

One iteration (d_steps = 1), in units of one network's forward pass (G, D) per phrase:
  D step   G forward for the fakes (no tape)                           1 G
           D on reals and on fakes, forward + backward (3x each)       6 D
           gradient penalty (wgan-gp): forward at the mixed points,
           its input gradient, and the weight gradient of both         5 D
  G step   G forward + backward                                        3 G
           D on the fakes: forward + input gradient only (D's weight
           gradients are not asked for and are pruned)                 2 D
           D on the reals for feature matching, forward only           1 D
Backward = 2x forward: one product for the input gradient and one for the weight gradient of
each layer. With d_steps = r the G step counts 1/r per iteration.
"""

import math


def layer_flops(layer):
    """2 x multiply-adds of one Dense or Conv1D layer per example; 0 for any other layer."""
    kind = type(layer).__name__
    if kind not in ("Dense", "Conv1D"):
        return 0
    positions = math.prod(layer.output.shape[1:-1])           # output steps (1 for a flat Dense)
    return 2 * positions * math.prod(layer.kernel.shape)      # kernel (in, out) or (k, in, out)


def forward_flops(model):
    """FLOPs of one example's forward pass through a functional model."""
    return sum(layer_flops(layer) for layer in model.layers)


def iteration_flops(train_cfg, generator, discriminator):
    """{'g_forward', 'd_forward', 'd_step', 'g_step', 'iteration'}: FLOPs per phrase (see module doc)."""
    g, d = forward_flops(generator), forward_flops(discriminator)
    penalty = 5 * d if train_cfg.loss == "wgan-gp" else 0
    d_step = g + 6 * d + penalty
    g_step = 3 * g + 2 * d + (d if train_cfg.feature_matching > 0 else 0)
    return {"g_forward": g, "d_forward": d, "d_step": d_step, "g_step": g_step,
            "iteration": d_step + g_step / train_cfg.d_steps}
