"""One generate.py run, timed in parts: imports, model load, generation (of which MIDI writing).

python -m bench.generate_speed --bars 16 [--engine numpy|keras] [--models models]   (prints one JSON line)
Run by `python -m bench` in a fresh process per length and engine, which adds the process's wall
time and peak memory. --engine keras is generation as it was before the numpy forward pass:
TensorFlow imported at start-up and generator.h5 loaded and called with Keras. --models DIR may hold an
LSTM (`python train.py --model lstm`): it always runs in numpy, step by step.
"""

import time

T0 = time.perf_counter()

import argparse
import json
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--engine", choices=("numpy", "keras"), default="numpy")
    ap.add_argument("--models", default="models")
    args = ap.parse_args()

    import musicgan  # first, as generate.py does: it sets the environment numpy and TF read
    from musicgan.cli import generate_main
    from musicgan.generate import songs as generation

    if args.engine == "keras":
        musicgan.quiet_tensorflow_import()
    parts = {"imports": time.perf_counter() - T0, "load_model": 0.0, "write_midi": 0.0}
    load, write = generation.load_model, generation.write_song

    def timed_load(models_dir, kind=None, engine=args.engine):
        t = time.perf_counter()
        try:
            return load(models_dir, kind, engine)
        finally:
            parts["load_model"] += time.perf_counter() - t

    def timed_write(song, path):
        t = time.perf_counter()
        write(song, path)
        parts["write_midi"] += time.perf_counter() - t

    generation.load_model, generation.write_song = timed_load, timed_write
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        code = generate_main(["--chords", "C G Am F", "--bars", str(args.bars), "--models", args.models,
                              "--out", f"{tmp}/song.mid"])
        parts["generate"] = time.perf_counter() - t - parts["load_model"]
    if code:
        raise SystemExit(code)
    print(json.dumps({"bars": args.bars, "engine": args.engine, **parts}))


if __name__ == "__main__":
    main()
