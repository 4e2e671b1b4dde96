"""Subprocess side of tests/test_distribute.py: strategies need TensorFlow fresh (devices, cluster).

python -m tests.distributed_run mirrored DATA OUT    # an epoch with the default, then 2 mirrored CPUs -> OUT/*.npz
python -m tests.distributed_run worker DATA MODELS OUT.npz WORKERS INDEX EPOCHS [--resume]
"""

import sys
import time
from pathlib import Path

import numpy as np


def config(epochs):
    """tests.test_training's tiny config, with samples and .h5 only at the end (faster), and the
    generator's moving average (replicas and a resumed run must average alike too)."""
    from tests.test_training import tiny_config

    return tiny_config(epochs=epochs, sample_every=5, save_every=5, generator_average=0.9)


def train_steps(cfg, data_dir, strategy=None):
    """The weights train() reaches, without its logs, samples and saves: every batch of cfg's epochs."""
    from musicgan.data.corpus import prepare
    from musicgan.data.pipeline import tf_dataset
    from musicgan.train import trainer

    rows = prepare(data_dir, progress=False, jobs=1).rows()
    gan = trainer.GAN(cfg, strategy)
    step = 0
    for epoch in range(cfg.train.epochs):
        data = trainer.with_noise(tf_dataset(rows.melody, rows.chords, rows.previous, rows.meter, cfg.train.batch_size,
                                             epoch, cfg.train.seed), cfg, epoch)
        for batch in gan.strategy.experimental_distribute_dataset(data):
            gan.train_batch(batch, step)
            step += 1
    return gan


def weights(gan):
    return {f"{i}": w.numpy() for i, w in enumerate(gan.generator.weights + gan.discriminator.weights
                                                    + gan.average.weights)}


START = time.time()


def _threads():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def print_fn(*args):
    """Lines with wall and CPU seconds: on a busy machine the two tell waiting from working."""
    print(f"{time.time() - START:7.1f}s cpu {time.process_time():6.1f}", *args, flush=True)


def main(mode, data, out, *rest):
    from musicgan.train import distribute, trainer
    from musicgan.train import loop as training

    if mode == "mirrored":
        mirrored = distribute.make_strategy("mirrored", replicas=2)       # first: it splits the CPU
        for name, strategy in (("default", None), ("mirrored", mirrored)):
            gan = train_steps(config(1), data, strategy)
            np.savez(Path(out) / f"{name}.npz", **weights(gan))
    else:
        npz, workers, index, epochs = rest[:4]
        strategy = distribute.make_strategy("multiworker", workers, int(index), timeout=300)
        threads, step = [], trainer.GAN.train_batch

        def counting(gan, *args):                    # the process's threads before each step
            threads.append(_threads())
            return step(gan, *args)

        trainer.GAN.train_batch = counting
        gan = training.train(config(int(epochs)), data, out, resume="--resume" in rest,
                             progress=False, print_fn=print_fn, strategy=strategy)
        np.savez(npz, **weights(gan), threads=threads)
    print_fn("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
