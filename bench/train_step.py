"""The training step, measured in one process: compiled vs eager, share of the float32 matmul peak,
where the time goes, and whether it ever waits for data.

python -m bench.train_step [--steps 8] [--rounds 5] [--eager-steps 2]   (prints one JSON line)
Run by `python -m bench`. Others' work on a shared machine slows some calls: the measurements
alternate in rounds (matmul, compiled, real data, no sync, ...), every call is timed alone, and
each measurement keeps its fastest call, the time the machine gave it whole; ratios are taken
between fastest calls, and medians are kept too.
"""

import argparse
import json
import os
import statistics
import time

MATMUL_N = 1024          # square float32 matmuls for the peak: big enough to run at full rate,
MATMUL_CHAIN = 12        # chained in one call of ~26 GFLOP, about one training iteration's work, so
                         # that both are timed in calls of similar length


def _best_and_median(xs):
    return {"best": min(xs), "median": statistics.median(xs)}


def measure(steps, rounds, eager_steps, batch_size, loss):
    import numpy as np
    import tensorflow as tf

    from bench.flops import iteration_flops
    from musicgan import losses
    from musicgan.chords import FEATURES
    from musicgan.config import Config, TrainConfig
    from musicgan.dataset import prepare, tf_dataset
    from musicgan.training import GAN

    cfg = Config(train=TrainConfig(loss=loss, batch_size=batch_size))
    mel, ids, prev = prepare("data", progress=False).augmented()
    rows = np.random.default_rng(0).choice(len(mel), batch_size, replace=False)
    batch = (tf.constant(mel[rows], tf.int32), tf.constant(FEATURES[ids[rows]]), tf.constant(prev[rows], tf.int32))
    gan = GAN(cfg)
    flops = iteration_flops(cfg.train, gan.generator, gan.discriminator)
    data = iter(tf_dataset(mel, ids, prev, batch_size, seed=0).repeat())

    a, b = tf.random.normal([MATMUL_N] * 2), tf.random.normal([MATMUL_N] * 2) / MATMUL_N ** 0.5

    @tf.function
    def matmul(a, b):               # a chain, so that no product can be skipped or run alongside another
        for _ in range(MATMUL_CHAIN):
            a = tf.matmul(a, b)
        return tf.reduce_sum(a)

    def timed(fn, k):               # k calls, each timed alone
        out = []
        for i in range(k):
            t0 = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - t0)
        return out

    def four(i):                    # 4 iterations of train_batch
        for j in range(4):
            gan.train_batch(batch, j)

    def no_sync(i):                 # the same without train_batch's float() of each metric: one sync
        for _ in range(4):
            out = gan.d_step(*batch)
            out.update(gan.g_step(*batch))
        float(out["g_loss"])

    calls = {"peak": lambda i: matmul(a, b).numpy(),
             "compiled": lambda i: gan.train_batch(batch, i),
             "real_data": lambda i: gan.train_batch(next(data), i),
             "input_only": lambda i: next(data),
             "eager": lambda i: gan.train_batch(batch, i, eager=True)}
    for name, fn in calls.items():
        timed(fn, 2)                # trace and warm up everything first
    timed(no_sync, 1)
    times = {name: [] for name in (*calls, "four", "no_sync")}
    for r in range(rounds):
        times["peak"] += timed(calls["peak"], steps)
        times["compiled"] += timed(calls["compiled"], steps)
        times["real_data"] += timed(calls["real_data"], steps)
        times["input_only"] += timed(calls["input_only"], steps)
        times["four"] += [t / 4 for t in timed(four, 1)]
        times["no_sync"] += [t / 4 for t in timed(no_sync, 1)]
        if r < 2:
            times["eager"] += timed(calls["eager"], eager_steps)

    # where the time goes: each part alone as its own tf.function, synced, best of `rounds`
    real = tf.one_hot(batch[0], 39)
    fake = gan.fake_melody(batch[1], batch[2])
    d_vars, g_vars = gan.discriminator.trainable_variables, gan.generator.trainable_variables

    @tf.function
    def fakes(chords, previous):
        return tf.reduce_sum(gan.fake_melody(chords, previous))

    @tf.function
    def d_pass(melody, chords, previous):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(gan.critic([melody, chords, previous], training=True)[0])
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, d_vars) if g is not None])

    @tf.function
    def penalty(real, fake, chords, previous):
        with tf.GradientTape() as tape:
            loss = losses.gradient_penalty(gan.discriminator, real, fake, (chords, previous), tf.constant([1, 2]))
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, d_vars) if g is not None])

    def apply(opt, variables):      # Adam's update alone (zero gradients: the cost does not depend on them)
        return tf.function(lambda: [opt.apply_gradients([(tf.zeros_like(v), v) for v in variables]),
                                    tf.constant(0)][1])

    d_apply, g_apply = apply(gan.d_opt, d_vars), apply(gan.g_opt, g_vars)
    noop = tf.function(lambda: tf.constant(0))
    parts = {
        "d_step": lambda: float(gan.d_step(*batch)["d_loss"]),
        "g_step": lambda: float(gan.g_step(*batch)["g_loss"]),
        "d_step.fakes (G forward + Gumbel)": lambda: fakes(batch[1], batch[2]).numpy(),
        "d_step.D forward+backward, reals": lambda: d_pass(real, batch[1], batch[2]).numpy(),
        "d_step.D forward+backward, fakes": lambda: d_pass(fake, batch[1], batch[2]).numpy(),
        "d_step.gradient penalty": lambda: penalty(real, fake, batch[1], batch[2]).numpy(),
        "d_step.Adam apply": lambda: d_apply().numpy(),
        "g_step.Adam apply": lambda: g_apply().numpy(),
        "per iteration: 6 round trips to TF (2 step calls, 4 float())": lambda: [noop().numpy() for _ in range(6)],
    }
    if loss != "wgan-gp":
        del parts["d_step.gradient penalty"]
    part_times = {}
    for name, fn in parts.items():
        fn()
        part_times[name] = min(timed(lambda i, fn=fn: fn(), 3 * rounds))

    best = {k: min(v) for k, v in times.items() if v}
    peak_flops = 2 * MATMUL_N ** 3 * MATMUL_CHAIN / best["peak"]
    step_flops = flops["iteration"] * batch_size / best["compiled"]
    return {"batch_size": batch_size, "loss": loss, "steps": steps, "rounds": rounds,
            "flops_per_phrase": flops,
            "matmul_peak_gflops": {"best": peak_flops / 1e9,
                                   "median": 2e-9 * MATMUL_N ** 3 * MATMUL_CHAIN / statistics.median(times["peak"])},
            "step_gflops": step_flops / 1e9, "share_of_peak": step_flops / peak_flops,
            "phrases_per_second": {k: batch_size / best[k] for k in ("compiled", "real_data", "no_sync", "eager")},
            "seconds_per_iteration": {k: _best_and_median(v) for k, v in times.items() if v and k != "peak"},
            "real_data_over_constant": {"best": best["real_data"] / best["compiled"],
                                        "median": statistics.median(times["real_data"])
                                        / statistics.median(times["compiled"])},
            "compiled_over_eager": best["eager"] / best["compiled"],
            "sync_cost": {"best": best["four"] / best["no_sync"] - 1,
                          "median": statistics.median(times["four"]) / statistics.median(times["no_sync"]) - 1},
            "parts_ms": {k: 1000 * v for k, v in part_times.items()},
            "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                        "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
            "tensorflow": tf.__version__, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8, help="iterations per timed round (default 8)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each measurement (default 5)")
    ap.add_argument("--eager-steps", type=int, default=2, help="eager iterations per round (2 rounds)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--loss", default="wgan-gp")
    args = ap.parse_args()
    print(json.dumps(measure(args.steps, args.rounds, args.eager_steps, args.batch_size, args.loss)))


if __name__ == "__main__":
    main()
