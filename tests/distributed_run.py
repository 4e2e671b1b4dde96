"""Subprocess side of tests/test_distribute.py: strategies need TensorFlow fresh (devices, cluster).

python -m tests.distributed_run mirrored DATA OUT             # default then mirrored over 2 CPUs -> OUT/*.npz
python -m tests.distributed_run worker DATA MODELS OUT.npz WORKERS INDEX EPOCHS [--resume]
"""

import sys
import time
from pathlib import Path

import numpy as np


def config(epochs):
    """tests.test_training's tiny config, with samples and .h5 only at the end (faster)."""
    from tests.test_training import tiny_config

    return tiny_config(epochs=epochs, sample_every=5, save_every=5)


def _weights(gan):
    return {f"{i}": w.numpy() for i, w in enumerate(gan.generator.weights + gan.discriminator.weights)}


START = time.time()


def print_fn(*args):
    """Lines with wall and CPU seconds: on a busy machine the two tell waiting from working."""
    print(f"{time.time() - START:7.1f}s cpu {time.process_time():6.1f}", *args, flush=True)


def main(mode, data, out, *rest):
    from musicgan import distribute, training

    if mode == "mirrored":
        mirrored = distribute.make_strategy("mirrored", replicas=2)       # first: it splits the CPU
        for name, strategy in (("default", None), ("mirrored", mirrored)):
            gan = training.train(config(1), data, Path(out) / name, progress=False, print_fn=print_fn,
                                 strategy=strategy)
            np.savez(Path(out) / f"{name}.npz", **_weights(gan))
    else:
        npz, workers, index, epochs = rest[:4]
        strategy = distribute.make_strategy("multiworker", workers, int(index), timeout=300)
        gan = training.train(config(int(epochs)), data, out, resume="--resume" in rest,
                             progress=False, print_fn=print_fn, strategy=strategy)
        np.savez(npz, **_weights(gan))
    print_fn("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
