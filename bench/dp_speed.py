"""Cost of differential privacy per training step: the DP-SGD discriminator step (per-example
gradients with tf.vectorized_map, clipping, noise) against the non-private step, both compiled.

python -m bench.dp_speed [--steps 20] [--batch-size 64] [--losses wgan-gp nonsaturating] [--blocks 1 0]
Times the D step alone and a whole iteration (D step + G step) on the same real batch of B
phrases, for both losses; with --blocks also with D training only its last K blocks and head (the
rest frozen, as fine-tuning with --d-train-blocks K does). Writes bench/dp_speed.json (--out).
"""

import argparse
import json
import os
import time
from pathlib import Path


def measure(steps, batch_size, loss, dp, blocks=None):
    import numpy as np
    import tensorflow as tf

    from musicgan.core.config import Config, PrivacyConfig, TrainConfig
    from musicgan.data.corpus import prepare
    from musicgan.train.pretrained import freeze
    from musicgan.train.privacy import PrivateGAN, batches
    from musicgan.train.trainer import GAN, batch_noise

    corpus = prepare("data/chorales", progress=False).rows()
    rows = np.random.default_rng(0).choice(len(corpus.melody), batch_size, replace=False)
    batch = next(batches(corpus, [rows]))
    gan = (PrivateGAN if dp else GAN)(Config(train=TrainConfig(loss=loss, batch_size=batch_size, feature_matching=0.0),
                                             privacy=PrivacyConfig(dp=dp)))
    out = {}
    if blocks is not None:                                   # before the steps are traced
        out["trained_weights"], out["weights"] = freeze(gan.discriminator, blocks)
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
    ap.add_argument("--losses", nargs="+", default=["wgan-gp", "nonsaturating"])
    ap.add_argument("--blocks", nargs="*", type=int, default=[], help="also time D training its last K blocks + head")
    ap.add_argument("--out", default=str(Path(__file__).with_name("dp_speed.json")))
    args = ap.parse_args()
    results = {}
    for loss in args.losses:
        for blocks in [None, *args.blocks]:
            for dp in (False, True):
                name = f"{loss} {'dp' if dp else 'plain'}" + ("" if blocks is None else f", last {blocks} + head")
                results[name] = measure(args.steps, args.batch_size, loss, dp, blocks)
    print(f"batch {args.batch_size}, {args.steps} steps, seconds per step (compiled)")
    print(f"{'setting':<36}{'D step':>10}{'D + G':>10}")
    for name, r in results.items():
        print(f"{name:<36}{r['d_step']:>10.3f}{r['iteration']:>10.3f}")
    ratios = {name.replace(" dp", ""): {k: r[k] / results[name.replace(" dp", " plain")][k]
                                         for k in ("d_step", "iteration")}
              for name, r in results.items() if " dp" in name}
    for name, r in ratios.items():
        print(f"DP / plain, {name}: D step {r['d_step']:.2f}x, iteration {r['iteration']:.2f}x")
    Path(args.out).write_text(json.dumps(
        {"batch_size": args.batch_size, "steps": args.steps, "cpus": os.cpu_count(),
         "load_average": os.getloadavg(), "seconds_per_step": results, "dp_over_plain": ratios}, indent=1))


if __name__ == "__main__":
    main()
