"""Short training runs of config variants, scored with musicgan.metrics against the corpus.

python -m bench.experiment --epochs 3 --variant '{"train": {"loss": "wgan-gp"}}' ...
Prints one row per variant: metrics of generated phrases over corpus chords, diversity over one
progression, and seconds; the corpus row is the target.
"""

import argparse
import json
import time

import numpy as np


def score(generator, rep, corpus_chords, seed=0, n=256):
    from musicgan import chords, metrics
    from musicgan.sampling import sample_phrases

    rng = np.random.default_rng(seed)
    ids = corpus_chords[rng.choice(len(corpus_chords), n, replace=False)]
    row = metrics.summary(sample_phrases(generator, chords.FEATURES[ids], rng), ids)
    same = np.repeat(ids[:1], 16, 0)
    row["diversity"] = metrics.diversity(sample_phrases(generator, chords.FEATURES[same], rng))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--variant", action="append", default=[], help="JSON overrides (repeatable)")
    ap.add_argument("--data", default="data")
    args = ap.parse_args()

    from musicgan import metrics
    from musicgan.config import Config, config_from_dict
    from musicgan.dataset import prepare
    from musicgan.training import train

    corpus = prepare(args.data, progress=False)
    real = metrics.summary(corpus.melody, corpus.chords)
    real["diversity"] = float("nan")
    rows = [("corpus", real, 0.0)]
    for v in args.variant or ["{}"]:
        data = Config().to_dict()
        for part, values in json.loads(v).items():
            data[part].update(values)
        data["train"].update(epochs=args.epochs, sample_every=10**6, save_every=10**6)
        cfg = config_from_dict(data)
        t0 = time.perf_counter()
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            gan = train(cfg, args.data, tmp, progress=False, print_fn=lambda *a: None)
        rows.append((v, score(gan.generator, cfg.representation, corpus.chords), time.perf_counter() - t0))
        print(json.dumps({"variant": v, **rows[-1][1], "seconds": round(rows[-1][2], 1)}), flush=True)
    keys = list(real)
    print("variant".ljust(50) + "".join(k[:12].rjust(13) for k in keys) + "  seconds")
    for name, row, sec in rows:
        print(name[:50].ljust(50) + "".join(f"{row[k]:13.3f}" for k in keys) + f"  {sec:7.0f}")


if __name__ == "__main__":
    main()
