"""Which sampling temperature brings a model's melodies closest to its corpus, on its training songs.

The generator gives a distribution over tokens at every 16th; generate.py draws one token a step
from it. At temperature 1 a step's unlikely tokens are drawn as often as the network says, and
each such draw is a note of its own: a flicker of 16ths off the chord. Lower temperatures
sharpen the distribution. This sweep scores each temperature with the metrics of
`musicgan evaluate` (without the two-sample classifier, unless `--classifier`, and the copy search)
over chord windows of the songs the model trained on, in every meter it writes, never the held-out
songs that `musicgan evaluate` judges it on, and picks the one with the smallest distance to those songs
among those that miss the fewest of the quality bar's checks that need no classifier, copy search
or Markov chain (chord tones, steps, leaps, notes a bar, diversity: two melodies over the same
chords differ on at least half as many steps as two real bars over the same chords do, and so on),
judged against the same training songs: pooled over the meters by their windows (the checks missed
summed over the meters), and in each meter alone (a reel in 2/4 and a 4/2 air need not want the
same one). The distance alone, with diversity its only check, once chose T 0.9 for a folk model in
2/4, where its melodies then left the chord too often for the bar (docs/experiments.md, "Leaps as
fakes").
`--write` records both in the model's config.json (`temperature`, `meter_temperatures`), which
generate.py and `musicgan evaluate` then use unless told otherwise.

`--chord-weights 0,0.5,1` sweeps each temperature with each weight that pulls the notes onto the
chord's tones (`sampling.chord_weighted`: a tone's odds times e^weight), and `--write` records the
picks beside the temperatures (`chord_weight`, `meter_chord_weights`). A low temperature keeps the
melody on the network's likeliest notes, which are often held ones; the weight instead keeps the
odds among the notes it plays and moves them onto the chord.
`--temperatures 0.3,0.2,0.1,0` sweeps those instead of 1.0 down to 0.2 (0: the likeliest token at
every step, what a model trained with `train.sample_temperature` 0 is judged on).
`--own-temperatures` sweeps the weights alone, each meter at the temperature its config.json keeps,
and `--write` then records only the weights.

The LSTM rival of a model (MODELS/lstm) is swept the same way, so that `musicgan evaluate` compares
each at the temperature that suits it.

`--classifier` also trains the two-sample classifier for each meter and temperature (about 3 s
each, a third of the sweep) and scores with evaluate's whole distance. Tried on all four shipped
models, it moved the chorale GAN's 4/4 from 0.4 to 0.3 and its LSTM's 3/4 from 0.9 to 1.0, and both
moves made them further from the held-out chorales (GAN pooled 0.62 / 0.059 -> 0.63 / 0.060 and
typed 4/4 a check lost, its entropy; LSTM 3/4 0.58 / 0.046 -> 0.59 / 0.071): on training songs its
noise (a few points of accuracy) is as large as its differences between neighbouring temperatures.
So it is off by default.

Run from the repository root (folk: 4-7 minutes on 2 shared cores, 10-13 with the classifier, 7 with
`--chord-weights 0,0.5,1` on a machine with AVX-512 and 1 with `--own-temperatures` as well; 1.3 GB
resident at most; it reached 19 GB while the numpy generator's activations waited for Python's cycle
collector):
    .venv/bin/python -m bench.temperature --models models/folk --data data/folk [--write]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from musicgan.core.files import write_text
from musicgan.core.meter import Meter
from musicgan.data.corpus import prepare
from musicgan.data.pipeline import conditions
from musicgan.evaluate import metrics
from musicgan.evaluate.classifier import two_sample_accuracy
from musicgan.evaluate.report import COMPARED, judged, metric_checks
from musicgan.generate.sampling import model_temperature, recurrent, sample_phrases
from musicgan.generate.songs import model_meters
from musicgan.harmony.chords import FEATURES
from musicgan.models.files import load_model

TEMPERATURES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)


def setting(key):
    """The name of a (temperature, chord weight) pair in the report: "T=0.2 w=0.5" ("T=own": the meter's
    temperature in the model's config.json)."""
    return f"T={'own' if key[0] is None else key[0]} w={key[1]}"


def training_windows(cfg, data_dir):
    """(the model's training split, its windows as trained (melody, chord ids, previous, source row))."""
    corpus = prepare(data_dir, None, cfg.representation, progress=False)
    train = corpus.subset(~corpus.held_out(cfg.train.holdout, cfg.train.holdout_by))
    return train, train.augmented(cfg.representation.transpose, sources=True)


def meter_windows(raw, meter_rows, windows, rng):
    """(name, Meter, up to `windows` of its windows' indices, sorted) for each meter the model writes that
    has windows (`meter_rows`: (N, 2) per window); each meter draws from rng when the loop reaches it."""
    for name in model_meters(raw):
        m = Meter.parse(name)
        mine = np.flatnonzero((meter_rows == (m.numerator, m.denominator)).all(1))
        mine = np.sort(rng.permutation(mine)[:windows])
        if len(mine):
            yield name, m, mine


def sweep(models_dir, data_dir, windows=512, seed=0, temperatures=TEMPERATURES, classifier=False, print_fn=print,
          chord_weights=(0.0,)):
    generator, cfg, raw = load_model(models_dir)              # a GAN, or its LSTM rival (models/NAME/lstm)
    train, (mel, ids, prev, source) = training_windows(cfg, data_dir)
    rng = np.random.default_rng(seed)
    grid = [(t, w) for t in temperatures or (None,) for w in chord_weights]      # None: the meter's own
    table, weights = {key: {} for key in grid}, {}
    for name, m, mine in meter_windows(raw, train.meter[source], windows, rng):
        weights[name] = len(mine)
        real, songs = metrics.summary(mel[mine], ids[mine], m), train.song[source[mine]]
        real["diversity"] = metrics.real_diversity(mel[mine], ids[mine], prev[mine], songs, meter=m)
        features = np.repeat(conditions(FEATURES[ids[mine]], m), 2, 0)        # two melodies a window
        noise = None if recurrent(generator) else rng.standard_normal(
            (len(features), generator.inputs[0].shape[-1])).astype(np.float32)
        for t, w in grid:                          # the same noise and draws at every setting
            tokens = sample_phrases(generator, features, np.random.default_rng(seed), np.repeat(prev[mine], 2, 0),
                                    model_temperature(raw, m) if t is None else t, noise, chord_weight=w)
            pairs = tokens.reshape(len(mine), 2, -1)
            row = metrics.summary(tokens, np.repeat(ids[mine], 2, 0), m)
            accuracy = two_sample_accuracy(mel[mine], pairs[:, 0], ids[mine], songs, seed) if classifier else np.nan
            if np.isfinite(accuracy):              # nan: too few songs in the meter to test on some
                row["classifier_accuracy"] = accuracy
            row["distance"] = metrics.distance(row, real, [k for k in COMPARED if k in row])
            row["diversity"] = float(np.mean([metrics.diversity(pair) for pair in pairs]))
            row["missed"] = [c["check"] for c in judged(metric_checks(row, real)) if not c["ok"]]
            table[t, w][name] = row
        shown = ("distance", "diversity") + (("classifier_accuracy",) if classifier else ())
        print_fn(f"{name} (real diversity {real['diversity']:.2f}; {'/'.join(shown)}/checks missed): "
                 + "  ".join(f"{setting(key)}: " + "/".join(f"{table[key][name].get(k, np.nan):.3f}" for k in shown)
                             + f"/{len(table[key][name]['missed'])}" for key in grid))
    pooled, best, by_meter = choose(table, weights)
    return {"models": str(models_dir), "data": str(data_dir), "windows_per_meter": weights,
            "pooled_distance": {setting(key): d for key, d in pooled.items()},
            "best": best[0], "best_chord_weight": best[1], "best_per_meter": {k: t for k, (t, _) in by_meter.items()},
            "chord_weight_per_meter": {k: w for k, (_, w) in by_meter.items()},
            "per_meter": {setting(key): table[key] for key in grid}}


def choose(table, weights):
    """(pooled distance per setting, the pooled pick, the pick per meter) from table[setting][meter] =
    {distance, missed: [check]} and the meters' window counts: the fewest checks missed (summed over
    the meters, for the pooled pick), then the smallest distance (weighted by windows)."""
    total = sum(weights.values())
    pooled = {t: sum(weights[k] * row["distance"] for k, row in rows.items()) / total for t, rows in table.items()}
    best = min(table, key=lambda k: (sum(len(row["missed"]) for row in table[k].values()), pooled[k]))
    by_meter = {name: min(table, key=lambda k: (len(table[k][name]["missed"]), table[k][name]["distance"]))
                for name in weights}
    return pooled, best, by_meter


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--windows", type=int, default=512, help="training windows per meter (default: 512)")
    p.add_argument("--classifier", action="store_true",
                   help="also score with the two-sample classifier, as evaluate's distance does (slower, and "
                        "noisier than the differences it judges: docs/experiments.md)")
    p.add_argument("--chord-weights", default="0", help="comma-separated chord weights to sweep with every "
                   "temperature, e.g. 0,0.5,1 (default: 0, the network's own odds)")
    p.add_argument("--temperatures", default=",".join(map(str, TEMPERATURES)),
                   help="comma-separated temperatures to sweep (default: 1.0 down to 0.2 in steps of 0.1; "
                   "0 takes the likeliest token)")
    p.add_argument("--own-temperatures", action="store_true",
                   help="sweep only --chord-weights, each meter at the temperature MODELS/config.json keeps")
    p.add_argument("--out", help="JSON report (default: bench/temperature_MODELNAME.json)")
    p.add_argument("--write", action="store_true",
                   help="record the best temperature and chord weight, pooled and per meter, in MODELS/config.json")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    chord_weights, temperatures = (_numbers(p, flag, text) for flag, text in
                                   (("--chord-weights", args.chord_weights), ("--temperatures", args.temperatures)))
    if any(t < 0 for t in temperatures):
        p.error(f"--temperatures must be 0 or more; got {args.temperatures!r}")
    result = sweep(args.models, args.data, args.windows, classifier=args.classifier, chord_weights=chord_weights,
                   temperatures=None if args.own_temperatures else temperatures)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    picks = {k: (t, result["chord_weight_per_meter"][k]) for k, t in result["best_per_meter"].items()}
    print("pooled distance: " + "  ".join(f"{key}: {d:.3f}" for key, d in result["pooled_distance"].items())
          + f"  -> {setting((result['best'], result['best_chord_weight']))}; per meter: "
          + ", ".join(f"{k} {setting(key)}" for k, key in picks.items()))
    name = "_".join(Path(args.models).resolve().parts[-2:]) if Path(args.models).name == "lstm" else Path(args.models).name
    out = Path(args.out or Path(__file__).parent / f"temperature_{name}.json")
    write_text(out, json.dumps(result, indent=1) + "\n")
    if args.write:
        config = Path(args.models) / "config.json"
        raw = json.loads(config.read_text())
        if not args.own_temperatures:
            raw["temperature"], raw["meter_temperatures"] = result["best"], result["best_per_meter"]
        raw["chord_weight"], raw["meter_chord_weights"] = result["best_chord_weight"], result["chord_weight_per_meter"]
        write_text(config, json.dumps(raw, indent=2) + "\n")          # as training writes it
        print(f"wrote the {'' if args.own_temperatures else 'temperature and '}chord weight, pooled and per meter, "
              f"to {config}")


def _numbers(parser, flag, text):
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        parser.error(f"{flag} takes numbers separated by commas, e.g. 0,0.5,1; got {text!r}")


if __name__ == "__main__":
    main()
