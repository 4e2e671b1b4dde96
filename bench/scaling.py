"""Training cost at k x the corpus: the corpus's phrases k times over, then what `train()` does per epoch.

python -m bench.scaling --factor 2 [--iterations 20]   (prints one JSON line)
Run by `python -m bench` in a fresh process per factor, which adds the process's peak memory.
The copies are transposed a semitone further each (phrases whose melody leaves the range are
dropped from that copy), so the arrays and tf.data tables really grow. An epoch is timed as
--iterations iterations of the real tf.data pipeline, extrapolated to ceil(N / batch) iterations:
from the fastest iteration (wall) and from the median CPU time of one (what load does not move).
"""

import argparse
import json
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factor", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()

    import musicgan  # noqa: F401  (as train.py: sets the environment first)

    t0 = time.perf_counter()
    import numpy as np

    from musicgan.core.config import Config
    from musicgan.data.corpus import prepare
    from musicgan.data.phrases import transpose
    from musicgan.data.pipeline import iterations_per_epoch, tf_dataset
    from musicgan.harmony.chords import transpose_ids
    from musicgan.train.trainer import GAN, with_noise

    cfg = Config()
    rows = prepare("data/chorales", progress=False).rows()
    parts = [(rows.melody, rows.chords, rows.previous, rows.meter)]
    for k in range(1, args.factor):            # copy k: every phrase a further semitone up (wrapping)
        mel, ok = transpose(parts[0][0], k)
        prev, ok_prev = transpose(parts[0][2], k)
        keep = ok & ok_prev
        parts.append((mel[keep], transpose_ids(parts[0][1][keep], k), prev[keep], parts[0][3][keep]))
    melody, chord_ids, previous, meters = (np.concatenate(p) for p in zip(*parts))
    t1 = time.perf_counter()
    gan = GAN(cfg)
    data = with_noise(tf_dataset(melody, chord_ids, previous, meters, cfg.train.batch_size, epoch=0, seed=cfg.train.seed),
                      cfg, 0)
    batches = iter(data)
    for i in range(2):                          # trace both steps
        gan.train_batch(next(batches), i)
    t2 = time.perf_counter()
    times, cpu = [], []
    for i in range(args.iterations):
        t, c = time.perf_counter(), time.process_time()
        gan.train_batch(next(batches), i)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    iters = iterations_per_epoch(len(melody), cfg.train.batch_size)
    print(json.dumps({"factor": args.factor, "phrases": len(melody), "iterations_per_epoch": iters,
                      "corpus_seconds": t1 - t0, "setup_seconds": t2 - t1,
                      "iteration_seconds": {"best": min(times), "median": float(np.median(times)),
                                            "cpu": float(np.median(cpu))},
                      "epoch_seconds": {"best": iters * min(times), "median": iters * float(np.median(times)),
                                        "cpu": iters * float(np.median(cpu))}}))


if __name__ == "__main__":
    main()
