"""Cost of differential privacy per training step: the DP-SGD discriminator step (per-example
gradients with tf.vectorized_map, clipping, noise) against the non-private step, both compiled.

python -m bench.dp_speed [--steps 20] [--batch-size 64]
Times the D step alone and a whole iteration (D step + G step) on the same real batch of B
phrases, for both losses. Writes bench/dp_speed.json.
"""

import argparse
import json
import os
import time
from pathlib import Path


def measure(steps, batch_size, loss, dp):
    import numpy as np
    import tensorflow as tf

    from musicgan.core.config import Config, PrivacyConfig, TrainConfig
    from musicgan.data.corpus import prepare
    from musicgan.train.privacy import PrivateGAN, batches
    from musicgan.train.trainer import GAN, batch_noise

    corpus = prepare("data/chorales", progress=False).rows()
    rows = np.random.default_rng(0).choice(len(corpus.melody), batch_size, replace=False)
    batch = next(batches(corpus, [rows]))
    gan = (PrivateGAN if dp else GAN)(Config(train=TrainConfig(loss=loss, batch_size=batch_size, feature_matching=0.0),
                                             privacy=PrivacyConfig(dp=dp)))
    out = {}
    if not dp:                                               # the plain steps take their noise with the batch
        batch = (*batch, batch_noise(gan.cfg, batch_size, tf.constant([0, 0], tf.int64)))
    calls = {"d_step": lambda step: gan.d_step(batch),
             "iteration": lambda step: gan.train_batch(batch, step)}
    for name, call in calls.items():
        call(0)                                              # trace
        t0 = time.perf_counter()
        for step in range(steps):
            r = call(step)
            float(r["d_loss"])                                # wait for the step to finish
        out[name] = (time.perf_counter() - t0) / steps
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    results = {}
    for loss in ("wgan-gp", "nonsaturating"):
        for dp in (False, True):
            results[f"{loss} {'dp' if dp else 'plain'}"] = measure(args.steps, args.batch_size, loss, dp)
    print(f"batch {args.batch_size}, {args.steps} steps, seconds per step (compiled)")
    print(f"{'setting':<22}{'D step':>10}{'D + G':>10}")
    for name, r in results.items():
        print(f"{name:<22}{r['d_step']:>10.3f}{r['iteration']:>10.3f}")
    ratios = {loss: {k: results[f"{loss} dp"][k] / results[f"{loss} plain"][k] for k in ("d_step", "iteration")}
              for loss in ("wgan-gp", "nonsaturating")}
    for loss, r in ratios.items():
        print(f"DP / plain, {loss}: D step {r['d_step']:.2f}x, iteration {r['iteration']:.2f}x")
    Path(__file__).with_name("dp_speed.json").write_text(json.dumps(
        {"batch_size": args.batch_size, "steps": args.steps, "cpus": os.cpu_count(),
         "load_average": os.getloadavg(), "seconds_per_step": results, "dp_over_plain": ratios}, indent=1))


if __name__ == "__main__":
    main()
