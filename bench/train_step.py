"""The training step, measured in one process: compiled vs eager, share of the float32 matmul peak,
where the time goes, and whether it ever waits for data; and the step at each precision against
its own matmul peak: float32 as before this branch (Keras' LeakyReLU, whose second derivative runs
the gradient penalty's zero path), float32 and mixed bfloat16, timed alternately in one process.

python -m bench.train_step [--steps 8] [--rounds 5] [--eager-steps 2]   (prints one JSON line)
Run by `python -m bench`. Others' work on a shared machine slows some calls: the measurements
alternate in rounds (matmul, compiled, real data, ...) and every call is timed alone,
in wall time and in this process's CPU time (all threads). Two estimates follow:
  wall   the fastest call of each, the time the machine gave it whole; ratios between those
  cpu    the median CPU seconds of a call: the work it took whatever the load (the machine's
         other processes take turns, they do not add to ours), so FLOPs per CPU-second of the
         step over those of the matmul is the share of peak that load does not move
Waiting (for data, for a sync) costs wall time, not CPU time: those comparisons use wall time.
"""

import argparse
import json
import os
import statistics
import time

MATMUL_N = 1024          # square float32 matmuls for the peak: big enough to run at full rate,
MATMUL_CHAIN = 12        # chained in one call of ~26 GFLOP, about one training iteration's work, so
                         # that both are timed in calls of similar length


def _summary(calls):
    """{best, median wall seconds, median cpu seconds} of [(wall, cpu), ...]."""
    walls, cpus = zip(*calls)
    return {"best": min(walls), "median": statistics.median(walls), "cpu": statistics.median(cpus)}


def measure(steps, rounds, eager_steps, batch_size, loss):
    import numpy as np
    import tensorflow as tf

    from bench.flops import iteration_flops
    from musicgan.core import constants as C
    from musicgan.core.config import Config, TrainConfig
    from musicgan.data.corpus import prepare
    from musicgan.data.pipeline import tf_dataset
    from musicgan.models import gan as networks
    from musicgan.models import losses
    from musicgan.train.privacy import batches
    from musicgan.train.trainer import GAN, batch_noise, with_noise

    cfg = Config(train=TrainConfig(loss=loss, batch_size=batch_size, precision="float32"))
    corpus = prepare("data/chorales", progress=False).rows()
    rows = np.random.default_rng(0).choice(len(corpus.melody), batch_size, replace=False)
    batch = (*next(batches(corpus, [rows])), batch_noise(cfg, batch_size, tf.constant([0, 0], tf.int64)))
    noise = batch[3]
    ours = networks.LeakyReLU
    networks.LeakyReLU = tf.keras.layers.LeakyReLU      # the discriminator as it was before this branch
    before = GAN(cfg)
    networks.LeakyReLU = ours
    gan = GAN(cfg)
    variants = {"float32_before": before, "float32": gan,
                "bfloat16": GAN(Config(train=TrainConfig(loss=loss, batch_size=batch_size, precision="bfloat16")))}
    flops = iteration_flops(cfg.train, gan.generator, gan.discriminator)
    data = iter(with_noise(tf_dataset(corpus.melody, corpus.chords, corpus.previous, corpus.meter, batch_size,
                                      seed=0).repeat(), cfg, 0))

    a, b = tf.random.normal([MATMUL_N] * 2), tf.random.normal([MATMUL_N] * 2) / MATMUL_N ** 0.5

    @tf.function
    def matmul(a, b):               # a chain, so that no product can be skipped or run alongside another
        for _ in range(MATMUL_CHAIN):
            a = tf.matmul(a, b)
        return tf.reduce_sum(tf.cast(a, tf.float32))

    a16, b16 = tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16)   # for reference: the CPU has AVX512_BF16

    def timed(fn, k):               # k calls, each timed alone: [(wall, cpu) seconds]
        out = []
        for i in range(k):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(i)
            out.append((time.perf_counter() - t0, time.process_time() - c0))
        return out

    float_seconds = []

    def float_after(i):             # train_batch's float() of the metrics, timed apart from the steps
        out = gan.d_step(batch)
        out.update(gan.g_step(batch))
        t0 = time.perf_counter()
        {k: float(v) for k, v in out.items()}
        float_seconds.append(time.perf_counter() - t0)

    calls = {"peak": lambda i: matmul(a, b).numpy(),
             "peak_bfloat16": lambda i: matmul(a16, b16).numpy(),
             "compiled": lambda i: gan.train_batch(batch, i),
             "real_data": lambda i: gan.train_batch(next(data), i),
             "input_only": lambda i: next(data),
             "eager": lambda i: gan.train_batch(batch, i, eager=True),
             **{f"step {name}": (lambda i, g=g: g.train_batch(batch, i)) for name, g in variants.items()}}
    for name, fn in calls.items():
        timed(fn, 2)                # trace and warm up everything first
    times = {name: [] for name in calls}
    for r in range(rounds):
        times["peak"] += timed(calls["peak"], steps)
        times["peak_bfloat16"] += timed(calls["peak_bfloat16"], 2)
        times["compiled"] += timed(calls["compiled"], steps)
        times["real_data"] += timed(calls["real_data"], steps)
        times["input_only"] += timed(calls["input_only"], steps)
        timed(float_after, 2)
        if r < 2:
            times["eager"] += timed(calls["eager"], eager_steps)
        for name in variants:
            times[f"step {name}"] += timed(calls[f"step {name}"], steps)

    # where the time goes: each part alone as its own tf.function, synced, best of `rounds`
    real = tf.one_hot(batch[0], C.VOCAB_SIZE)
    fake = gan.fake_melody(batch[1], batch[2], noise["d_latent"], noise["d_uniform"])
    d_vars, g_vars = gan.discriminator.trainable_variables, gan.generator.trainable_variables

    @tf.function
    def fakes(chords, previous):
        return tf.reduce_sum(gan.fake_melody(chords, previous, noise["d_latent"], noise["d_uniform"]))

    @tf.function
    def d_pass(melody, chords, previous):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(gan.critic([melody, chords, previous], training=True)[0])
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, d_vars) if g is not None])

    @tf.function
    def penalty(real, fake, chords, previous):
        with tf.GradientTape() as tape:
            loss = losses.gradient_penalty(gan.discriminator, real, fake, (chords, previous), noise["gp_eps"])
        return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss, d_vars) if g is not None])

    def apply(opt, variables):      # Adam's update alone (zero gradients: the cost does not depend on them)
        return tf.function(lambda: [opt.apply_gradients([(tf.zeros_like(v), v) for v in variables]),
                                    tf.constant(0)][1])

    d_apply, g_apply = apply(gan.d_opt, d_vars), apply(gan.g_opt, g_vars)
    noop = tf.function(lambda: tf.constant(0))
    parts = {
        "d_step": lambda: float(gan.d_step(batch)["d_loss"]),
        "g_step": lambda: float(gan.g_step(batch)["g_loss"]),
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
        part_times[name] = _summary(timed(lambda i, fn=fn: fn(), 3 * rounds))

    # what a run without padding paid once: both steps traced again for the epoch's short last batch
    short = tuple(x[:batch_size // 2 + 1] for x in batch[:3]) + (
        {k: v[:batch_size // 2 + 1] for k, v in noise.items()},)
    t0 = time.perf_counter()
    before.train_batch(short, 0)
    retrace = time.perf_counter() - t0

    t = {k: _summary(v) for k, v in times.items()}
    work = {"peak": 2 * MATMUL_N ** 3 * MATMUL_CHAIN, "peak_bfloat16": 2 * MATMUL_N ** 3 * MATMUL_CHAIN,
            "compiled": flops["iteration"] * batch_size,
            **{f"step {name}": flops["iteration"] * batch_size for name in variants}}
    gflops = {f"{k}_{est}": work[k] / t[k][key] / 1e9 for k in work for est, key in (("wall", "best"), ("cpu", "cpu"))}

    def at_precision(name):     # nominal FLOPs (bench/flops.py) over the matmul peak of the same precision
        peak = "peak_bfloat16" if name == "bfloat16" else "peak"
        k = f"step {name}"
        return {"phrases_per_second": batch_size / t[k]["best"],
                "phrases_per_second_median": batch_size / t[k]["median"],
                "phrases_per_cpu_second": batch_size / t[k]["cpu"],
                "seconds_per_iteration": t[k],
                "step_gflops": {"wall": gflops[f"{k}_wall"], "per_cpu_second": gflops[f"{k}_cpu"]},
                "share_of_peak": {"wall": gflops[f"{k}_wall"] / gflops[f"{peak}_wall"],
                                  "cpu": gflops[f"{k}_cpu"] / gflops[f"{peak}_cpu"]},
                "over_float32_before": {"wall": t["step float32_before"]["best"] / t[k]["best"],
                                        "median": t["step float32_before"]["median"] / t[k]["median"],
                                        "cpu": t["step float32_before"]["cpu"] / t[k]["cpu"]}}

    return {**{name: at_precision(name) for name in variants}, "retrace_seconds": retrace,
            "batch_size": batch_size, "loss": loss, "steps": steps, "rounds": rounds,
            "flops_per_phrase": flops,
            "matmul_peak_gflops": {"wall": gflops["peak_wall"], "per_cpu_second": gflops["peak_cpu"]},
            "bfloat16_matmul_gflops": {"wall": gflops["peak_bfloat16_wall"],
                                       "per_cpu_second": gflops["peak_bfloat16_cpu"]},
            "step_gflops": {"wall": gflops["compiled_wall"], "per_cpu_second": gflops["compiled_cpu"]},
            "share_of_peak": {"wall": gflops["compiled_wall"] / gflops["peak_wall"],
                              "cpu": gflops["compiled_cpu"] / gflops["peak_cpu"]},
            "cores_busy": {k: t[k]["cpu"] / t[k]["median"] for k in ("peak", "compiled")},
            "phrases_per_second": {k: batch_size / t[k]["best"] for k in ("compiled", "real_data", "eager")},
            "seconds_per_iteration": {k: v for k, v in t.items() if not k.startswith(("peak", "step "))},
            "real_data_over_constant": {"best": t["real_data"]["best"] / t["compiled"]["best"],
                                        "median": t["real_data"]["median"] / t["compiled"]["median"]},
            "compiled_over_eager": {"wall": t["eager"]["best"] / t["compiled"]["best"],
                                    "cpu": t["eager"]["cpu"] / t["compiled"]["cpu"]},
            "float_metrics_ms": {"median": 1000 * statistics.median(float_seconds),
                                 "max": 1000 * max(float_seconds)},
            "parts_ms": {k: {"wall": 1000 * v["best"], "cpu": 1000 * v["cpu"]} for k, v in part_times.items()},
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
