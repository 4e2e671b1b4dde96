"""Wall time of generate.py for 16 and 128 bars, split into TensorFlow import, model load and generation.

python -m bench.generate_speed [--models models]
Runs `python generate.py` end to end once per length, then times the parts in this process.
Writes bench/generate_speed.json.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models")
    ap.add_argument("--bars", type=int, nargs="+", default=[16, 128])
    args = ap.parse_args()
    result = {"end_to_end_seconds": {}, "parts_seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for bars in args.bars:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "generate.py", "--chords", "C G Am F", "--bars", str(bars),
                            "--models", args.models, "--out", f"{tmp}/s{bars}.mid"], check=True,
                           capture_output=True)
            result["end_to_end_seconds"][bars] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        import tensorflow  # noqa: F401
        t1 = time.perf_counter()
        from musicgan.generation import generate_songs, load_generator
        load_generator(args.models)
        t2 = time.perf_counter()
        parts = {"import_tensorflow": t1 - t0, "load_model": t2 - t1}
        for bars in args.bars:
            t = time.perf_counter()
            generate_songs("C G Am F", args.models, bars, f"{tmp}/p{bars}.mid")
            parts[f"generate_{bars}_bars_incl_load"] = time.perf_counter() - t
        result["parts_seconds"] = {k: round(v, 2) for k, v in parts.items()}
    print(json.dumps(result, indent=1))
    Path(__file__).with_name("generate_speed.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
