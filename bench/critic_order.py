"""How much a GAN's critic cares about the order of a melody's pitches, in each meter the model writes.

For training rows of each meter, the critic's mean score on the real melodies, on the same melodies
with their onsets' pitches shuffled within the phrase (the rhythm, the pitches and the chords kept;
only the order, and so the steps, changed), and on the generator's melodies over the same chords
(drawn at temperature 1, as training shows them to the critic). `order` is real minus shuffled:
how much worse the critic finds a melody whose steps are scrambled; `fake` is real minus generated.
A meter whose `order` is near 0 while its generated steps are too wide has a critic that does not
see the steps, whatever the generator can do (docs/experiments.md, "A critic blind to steps").

Needs the model's discriminator.h5 (models/folk ships one). Run from the repository root (a minute):
    .venv/bin/python -m bench.critic_order --models models/folk --data data/folk
"""

import argparse
import json
from pathlib import Path

import numpy as np

from musicgan.core import constants as C
from musicgan.core.files import write_text
from musicgan.data.pipeline import conditions
from musicgan.generate.sampling import sample_phrases
from musicgan.harmony.chords import FEATURES
from musicgan.models.files import load_model

from .temperature import meter_windows, training_windows


def shuffle_pitches(melody, rng):
    """(N, steps) tokens with each row's onset pitches in a random order (rests and holds where they were)."""
    out = melody.copy()
    for row in out:
        onsets = np.flatnonzero(row >= C.FIRST_PITCH_TOKEN)
        row[onsets] = rng.permutation(row[onsets])
    return out


def mean_step(melody):
    """Mean absolute semitones between successive onsets, over rows with at least two."""
    steps = [np.abs(np.diff(row[row >= C.FIRST_PITCH_TOKEN].astype(int))) for row in melody]
    return float(np.mean(np.concatenate(steps))) if any(len(s) for s in steps) else float("nan")


def critic_order(models_dir, data_dir, windows=512, seed=0):
    import keras

    import musicgan.models.gan  # noqa: F401 - registers the critic's own layers for loading

    generator, cfg, raw = load_model(models_dir)
    path = Path(models_dir) / "discriminator.h5"
    if not path.exists():
        raise SystemExit(f"{path} is missing: this model ships no critic (train one, or use models/folk)")
    critic = keras.models.load_model(path, compile=False)
    train, (mel, ids, prev, source) = training_windows(cfg, data_dir)
    rng = np.random.default_rng(seed)
    out = {}
    for name, m, mine in meter_windows(raw, train.meter[source], windows, rng):
        features = conditions(FEATURES[ids[mine]], m)
        melodies = {"real": mel[mine], "shuffled": shuffle_pitches(mel[mine], rng),
                    "generated": sample_phrases(generator, features, rng, prev[mine], 1.0)}
        score = {k: float(np.mean(critic.predict([np.eye(C.VOCAB_SIZE, dtype=np.float32)[v], features, prev[mine]],
                                                 batch_size=256, verbose=0)))
                 for k, v in melodies.items()}
        out[name] = {"windows": len(mine), "score": score, "order": score["real"] - score["shuffled"],
                     "fake": score["real"] - score["generated"], "steps": {k: mean_step(v) for k, v in melodies.items()}}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--windows", type=int, default=512, help="training windows per meter (default: 512)")
    p.add_argument("--out", help="JSON report (default: bench/critic_order_MODELNAME.json)")
    args = p.parse_args(argv)
    result = critic_order(args.models, args.data, args.windows)
    for name, r in result.items():
        s = r["steps"]
        print(f"{name}: order {r['order']:+.3f}  fake {r['fake']:+.3f}  steps real {s['real']:.2f} "
              f"shuffled {s['shuffled']:.2f} generated {s['generated']:.2f}")
    out = Path(args.out or Path(__file__).parent / f"critic_order_{Path(args.models).name}.json")
    write_text(out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
