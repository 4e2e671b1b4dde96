"""Data-parallel training throughput: phrases/second with 1 replica, 2 mirrored replicas (the CPU split in
two logical devices) and 2 multi-worker processes on 127.0.0.1, and the scaling efficiency of each.

python -m bench.distributed_speed [--steps 30] [--batch-size 64]
Each setting runs in fresh processes (devices and clusters are fixed when TensorFlow starts), on the
bundled corpus with the default model, through the real input pipeline (noise drawn with the global
batch, split over the replicas). Efficiency = (phrases/s with R replicas) / (R x phrases/s with 1).
Writes bench/distributed_speed.json.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def measure(setting, steps, batch_size, workers=None, index=None):
    import tensorflow as tf

    from musicgan.core.config import Config, TrainConfig
    from musicgan.data.corpus import prepare
    from musicgan.data.pipeline import tf_dataset
    from musicgan.train import distribute
    from musicgan.train.trainer import GAN, with_noise

    strategy = {"one": lambda: None, "mirrored": lambda: distribute.make_strategy("mirrored", replicas=2),
                "worker": lambda: distribute.make_strategy("multiworker", workers, index)}[setting]()
    strategy = strategy or tf.distribute.get_strategy()
    cfg = Config(train=TrainConfig(batch_size=batch_size))
    rows = prepare("data/chorales", progress=False).rows()
    gan = GAN(cfg, strategy)
    data = with_noise(tf_dataset(rows.melody, rows.chords, rows.previous, rows.meter, batch_size, drop_remainder=True),
                      cfg, 0)
    batches = iter(strategy.experimental_distribute_dataset(data))
    for step in range(3):                                        # trace / warm up
        gan.train_batch(next(batches), step)
    t0 = time.perf_counter()
    for step in range(steps):
        gan.train_batch(next(batches), step)
    return {"phrases_per_second": steps * batch_size / (time.perf_counter() - t0),
            "replicas": strategy.num_replicas_in_sync}


def free_ports(n):
    """n TCP ports on 127.0.0.1 that were free a moment ago (for local worker clusters)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workers", help=argparse.SUPPRESS)
    ap.add_argument("--index", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.steps, args.batch_size, args.workers, args.index)))
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    def child(setting, *extra):
        cmd = [sys.executable, "-m", "bench.distributed_speed", "--child", setting, "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), *extra]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)

    def result(proc):
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode:
            raise SystemExit(f"a measurement failed (exit {proc.returncode})")
        return json.loads(out.strip().splitlines()[-1])

    results = {"1 replica": result(child("one")), "mirrored, 2 CPU replicas": result(child("mirrored"))}
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    procs = [child("worker", "--workers", workers, "--index", str(i)) for i in range(2)]
    per_worker = [result(p) for p in procs]
    results["multiworker, 2 processes"] = {"phrases_per_second": min(r["phrases_per_second"] for r in per_worker),
                                           "replicas": 2}
    base = results["1 replica"]["phrases_per_second"]
    for r in results.values():
        r["efficiency"] = r["phrases_per_second"] / (r["replicas"] * base)
    print(f"global batch {args.batch_size}, {args.steps} iterations, {os.cpu_count()} CPUs")
    print(f"{'setting':<28}{'phrases/s':>10}{'efficiency':>12}")
    for name, r in results.items():
        print(f"{name:<28}{r['phrases_per_second']:>10.0f}{r['efficiency']:>12.2f}")
    Path(__file__).with_name("distributed_speed.json").write_text(json.dumps(
        {"batch_size": args.batch_size, "steps": args.steps, "cpus": os.cpu_count(),
         "load_average_after": os.getloadavg(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
