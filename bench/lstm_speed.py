"""Seconds to sample 16 bars (and 128) step by step from an LSTM in numpy, over "C G Am F" in 4/4.

python -m bench.lstm_speed [--models models/chorales/lstm] [--repeats 10]   (prints one JSON line)
The sampling alone (`generate_melodies`: conditions, 16 steps a bar through every layer, temperature 1),
the median of --repeats runs, after loading lstm.h5; bench.generate_speed --models DIR times a whole
generate.py run.
"""

import argparse
import json
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models/chorales/lstm")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()

    import numpy as np

    from musicgan.core.meter import FOUR_FOUR
    from musicgan.generate.sampling import generate_melodies
    from musicgan.harmony.progression import (
        parse_progression,
        progression_features,
        repeat_bars,
    )
    from musicgan.models.files import load_model

    t = time.perf_counter()
    model, _, _ = load_model(args.models, "lstm")
    out = {"models": args.models, "load": round(time.perf_counter() - t, 4)}
    for bars in (16, 128):
        features, _ = progression_features(repeat_bars(parse_progression("C G Am F"), bars), bars, FOUR_FOUR)
        times = []
        for k in range(args.repeats):
            t = time.perf_counter()
            generate_melodies(model, features, FOUR_FOUR, seed=k)
            times.append(time.perf_counter() - t)
        out[f"sample_{bars}_bars"] = round(float(np.median(times)), 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
