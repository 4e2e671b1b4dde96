"""How fast `musicgan.data.corpus.prepare` turns a MIDI folder into phrases, cold and cached.

Three kinds of timed run of prepare(DATA, cache_dir=..., jobs=..., progress=False), wall clock:
  cold, 1 job       fresh empty cache dir, files read in this process
  cold, all cores   a fresh empty cache dir, os.cpu_count() spawned workers (their start-up
                    and imports included)
  cached            a second all-cores run on the same cache dir: no MIDI is read
Each is repeated --repeat times (median reported; pretty_midi is imported once beforehand so the
first in-process run is not charged for it). For each: files/second and seconds per 1000 files.
Also the phrase count before and after transposition (`Corpus.augmented()`) and the skip reasons
of the cold run.

Run from the repository root:
    .venv/bin/python bench/prepare_speed.py [--data data] [--melody-chord-weight 0.5] [--repeat 3]
Prints a table and writes bench/prepare_speed.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from musicgan.core.config import Representation
from musicgan.data.corpus import prepare


def timed(data, jobs, rep, repeat, cached=False):
    """(corpus of the last run, median seconds) over `repeat` runs, each with a fresh cache dir."""
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            if cached:
                prepare(data, cache_dir=cache, rep=rep, jobs=jobs, progress=False)
            t0 = time.perf_counter()
            corpus = prepare(data, cache_dir=cache, rep=rep, jobs=jobs, progress=False)
            times.append(time.perf_counter() - t0)
    return corpus, statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/chorales", help="folder scanned for MIDI files (default data/chorales)")
    ap.add_argument("--melody-chord-weight", type=float, default=Representation().melody_chord_weight)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each kind (median reported)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")), help="JSON results file")
    args = ap.parse_args()
    rep = Representation(melody_chord_weight=args.melody_chord_weight)
    cores = os.cpu_count() or 1

    import pretty_midi  # noqa: F401  (imported once, outside the timings)

    load = [os.getloadavg()[0]]
    runs = {}
    corpus, runs["cold, 1 job"] = timed(args.data, 1, rep, args.repeat)
    _, runs[f"cold, {cores} jobs"] = timed(args.data, None, rep, args.repeat)
    cached, runs["cached"] = timed(args.data, None, rep, args.repeat, cached=True)
    load.append(os.getloadavg()[0])
    summary = corpus.summary()
    files = summary["files_found"]
    melody, _, _ = corpus.augmented()
    out = {"data": args.data, "representation": vars(rep), "cores": cores, "repeat": args.repeat,
           "load_average_1min_before_after": [round(x, 2) for x in load],
           "files_found": files,
           "files_used": summary["files_used"], "skipped": summary["skipped"],
           "phrases": summary["phrases"], "phrases_augmented": len(melody),
           "cached_run_reread": cached.reread,
           "cached_phrases_match": len(cached.melody) == summary["phrases"],
           "runs": {name: {"seconds": round(s, 3), "files_per_second": round(files / s, 1),
                           "seconds_per_1000_files": round(1000 * s / max(files, 1), 3)}
                    for name, s in runs.items()}}

    print(f"{args.data}: {files} MIDI files, {summary['files_used']} used, melody_chord_weight={rep.melody_chord_weight}, "
          f"{cores} cores, load average {load[0]:.2f} before / {load[1]:.2f} after (others' work skews times)")
    print(f"\n{'run':<16} {'seconds':>9} {'files/s':>9} {'s/1000 files':>13}")
    for name, r in out["runs"].items():
        print(f"{name:<16} {r['seconds']:>9.2f} {r['files_per_second']:>9.1f} "
              f"{r['seconds_per_1000_files']:>13.2f}")
    print(f"\nphrases          {out['phrases']:>8}  (untransposed)")
    print(f"phrases          {out['phrases_augmented']:>8}  (after corpus.augmented())")
    print(f"cached run       re-read {cached.reread} files, same phrases: {out['cached_phrases_match']}")
    print(f"skipped files    {files - summary['files_used']:>8}")
    for reason, n in summary["skipped"].items():
        print(f"  {n:>6}  {reason}")
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
