"""Short training runs of config variants, each judged by `musicgan evaluate` on the held-out songs.

python -m bench.experiment --epochs 6 --variant '{}' --variant '{"model": {"width": 64}}' ...
Prints one JSON line per variant as it finishes, then a table: the model row of the evaluation
(metrics, normalised distance to the held-out corpus, quality-bar checks met) and seconds.
"""

import argparse
import json
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--variant", action="append", default=[], help="JSON overrides (repeatable)")
    ap.add_argument("--data", default="data/chorales")
    ap.add_argument("--windows", type=int, default=512, help="chord windows evaluated (default: 512)")
    args = ap.parse_args()

    from musicgan.core.config import Config, config_from_dict
    from musicgan.evaluate.report import COLUMNS, SHORT, evaluate
    from musicgan.train.loop import train

    rows = []
    for v in args.variant or ["{}"]:
        data = Config().to_dict()
        for part, values in json.loads(v).items():
            data[part].update(values)
        data["train"].update(epochs=args.epochs, sample_every=10**6, save_every=10**6)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            train(config_from_dict(data), args.data, tmp, progress=False, print_fn=lambda *a: None)
            seconds = time.perf_counter() - t0
            report = evaluate(tmp, args.data, max_windows=args.windows, print_fn=lambda *a: None)
        if not rows:
            rows.append(("real (held out)", report["rows"]["real (held out)"], "", 0.0))
        bar = f"{sum(c['ok'] for c in report['bar'])}/{len(report['bar'])}"
        rows.append((v, report["rows"]["model"], bar, seconds))
        print(json.dumps({"variant": v, **rows[-1][1], "bar": bar, "seconds": round(seconds)}), flush=True)
    print("| variant | " + " | ".join(SHORT[c] for c in COLUMNS) + " | bar | seconds |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for name, row, bar, sec in rows:
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in COLUMNS) + f" | {bar} | {sec:.0f} |")


if __name__ == "__main__":
    main()
