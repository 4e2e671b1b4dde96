"""Subprocess side of tests/test_distribute.py: strategies need TensorFlow fresh (devices, cluster).

python -m tests.distributed_run mirrored DATA OUT             # default then mirrored over 2 CPUs -> OUT/*.npz
python -m tests.distributed_run worker DATA MODELS OUT.npz WORKERS INDEX EPOCHS [--resume]
"""

import sys
from pathlib import Path

import numpy as np


def _weights(gan):
    return {f"{i}": w.numpy() for i, w in enumerate(gan.generator.weights + gan.discriminator.weights)}


def main(mode, data, out, *rest):
    import time
    t0 = time.time()
    print_fn = lambda *a: print(f"{time.time() - t0:7.1f}s cpu {time.process_time():6.1f}", *a, flush=True)  # noqa
    from musicgan import distribute, training
    from tests.test_training import tiny_config

    if mode == "mirrored":
        mirrored = distribute.make_strategy("mirrored", replicas=2)       # first: it splits the CPU
        for name, strategy in (("default", None), ("mirrored", mirrored)):
            gan = training.train(tiny_config(epochs=1, sample_every=5, save_every=5), data, Path(out) / name,
                                 progress=False, print_fn=print_fn, strategy=strategy)
            np.savez(Path(out) / f"{name}.npz", **_weights(gan))
    else:
        npz, workers, index, epochs = rest[:4]
        strategy = distribute.make_strategy("multiworker", workers, int(index), timeout=300)
        gan = training.train(tiny_config(epochs=int(epochs)), data, out, resume="--resume" in rest,
                             progress=False, print_fn=print_fn, strategy=strategy)
        np.savez(npz, **_weights(gan))
    print_fn("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
