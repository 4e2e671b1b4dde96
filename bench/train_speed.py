"""Training throughput: the compiled (tf.function) GradientTape loop against the same loop run eagerly.

python -m bench.train_speed [--steps 30] [--loss nonsaturating|wgan-gp]
Each setting runs in its own process (oneDNN on/off must be chosen before TensorFlow loads);
ratios are taken within one run of this script. Writes bench/train_speed.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def measure(steps, loss, batch_size):
    import numpy as np
    import tensorflow as tf

    from musicgan.chords import FEATURES
    from musicgan.config import Config, TrainConfig
    from musicgan.dataset import prepare
    from musicgan.training import GAN, batch_noise

    corpus = prepare("data", progress=False)
    mel, ids, prev = corpus.augmented()
    rows = np.random.default_rng(0).choice(len(mel), batch_size, replace=False)
    batch = (tf.constant(mel[rows], tf.int32), tf.constant(FEATURES[ids[rows]]), tf.constant(prev[rows], tf.int32))
    gan = GAN(Config(train=TrainConfig(loss=loss, batch_size=batch_size)))
    batch = (*batch, batch_noise(gan.cfg, batch_size, tf.constant([0, 0], tf.int64)))   # the pipeline draws it
    out = {}
    for mode, eager in (("compiled", False), ("eager", True)):
        gan.train_batch(batch, 0, eager)                     # trace / warm up
        t0 = time.perf_counter()
        for step in range(steps):
            gan.train_batch(batch, step, eager)
        out[mode] = steps * batch_size / (time.perf_counter() - t0)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--loss", default="wgan-gp")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.steps, args.loss, args.batch_size)))
        return
    results = {}
    for onednn in ("0", "1"):
        env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="3")
        cmd = [sys.executable, "-m", "bench.train_speed", "--child", "--steps", str(args.steps),
               "--loss", args.loss, "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        results[f"onednn={onednn}"] = json.loads(out.strip().splitlines()[-1])
    print(f"loss {args.loss}, batch {args.batch_size}, {args.steps} iterations (phrases/second)")
    print(f"{'setting':<12}{'compiled':>10}{'eager':>10}{'ratio':>8}")
    for name, r in results.items():
        print(f"{name:<12}{r['compiled']:>10.0f}{r['eager']:>10.0f}{r['compiled'] / r['eager']:>8.2f}")
    base = results["onednn=0"]["compiled"]
    print(f"oneDNN on / off (compiled): {results['onednn=1']['compiled'] / base:.2f}")
    Path(__file__).with_name("train_speed.json").write_text(json.dumps(
        {"loss": args.loss, "batch_size": args.batch_size, "steps": args.steps, "cpus": os.cpu_count(),
         "results": results}, indent=1))


if __name__ == "__main__":
    main()
