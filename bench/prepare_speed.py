"""How fast `musicgan.data.corpus.prepare` turns a MIDI folder into phrases, cold and cached, against
the bare parse of the same files.

The folder is --data's MIDI files --copies times over (each copy in its own subfolder, so 4 copies of
the 350 chorales are 1,400 files). In rounds, each kind timed once a round (so that others' load
falls on all of them alike), wall clock, median of --repeat rounds:
  pretty_midi parse   pretty_midi.PrettyMIDI of every file in this process: one core, no beats, no
                      phrases (what reading cost before symusic)
  symusic parse       symusic.Score.from_midi of every file's bytes
  cold, 1 job         prepare(...) in this process with an empty cache
  cold, N jobs        prepare(...) with os.cpu_count() workers (their start-up included)
  cold, 1 job, before prepare(...) in this process reading with pretty_midi (`read_song_pretty_midi`,
                      the reader before symusic)
  cached              a second run on the same cache: no MIDI is read
Also the start-up of a pool of workers, forked and spawned, over the seconds of one file read in
process: the break-even number of files per worker that MIN_FILES_PER_WORKER is set from.

Run from the repository root:
    .venv/bin/python bench/prepare_speed.py [--data data] [--copies 4] [--repeat 3]
Prints a table and writes bench/prepare_speed.json.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from musicgan.core.config import Representation
from musicgan.data.corpus import prepare, scan
from musicgan.io import midi


def _noop(x):
    return x


def copies(data, n, into):
    """`n` copies of every MIDI file under data, in into/copy0 ... into/copy{n-1}; the folder."""
    files = scan(data, exclude=[Path(data) / "cache"])
    for k in range(n):
        for f in files:
            target = Path(into) / f"copy{k}" / f.relative_to(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    return Path(into)


def pool_start(method, jobs):
    """Seconds to start `jobs` workers and have each answer once, then shut them down."""
    t0 = time.perf_counter()
    with multiprocessing.get_context(method).Pool(jobs) as pool:
        pool.map(_noop, range(jobs), chunksize=1)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/chorales", help="folder scanned for MIDI files (default data/chorales)")
    ap.add_argument("--copies", type=int, default=4, help="copies of the folder's files (default 4)")
    ap.add_argument("--melody-chord-weight", type=float, default=Representation().melody_chord_weight)
    ap.add_argument("--repeat", type=int, default=3, help="rounds (median reported)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")), help="JSON results file")
    args = ap.parse_args()
    rep = Representation(melody_chord_weight=args.melody_chord_weight)
    cores = os.cpu_count() or 1

    import pretty_midi
    import symusic

    load = [os.getloadavg()[0]]
    times = {k: [] for k in ("pretty_midi parse", "symusic parse", "cold, 1 job, before", "cold, 1 job",
                             f"cold, {cores} jobs", "cached")}
    starts = {"fork": [], "spawn": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = copies(args.data, args.copies, Path(tmp) / "midi")
        paths = scan(data)

        def parse_pretty():
            for p in paths:
                pretty_midi.PrettyMIDI(str(p))

        def parse_symusic():
            for p in paths:
                symusic.Score.from_midi(p.read_bytes())

        def cold(jobs):
            with tempfile.TemporaryDirectory() as cache:
                return prepare(data, cache_dir=cache, rep=rep, jobs=jobs, progress=False)

        def cold_before():
            ours = midi.read_song
            midi.read_song = midi.read_song_pretty_midi
            try:
                return cold(1)
            finally:
                midi.read_song = ours

        def cached():
            with tempfile.TemporaryDirectory() as cache:
                prepare(data, cache_dir=cache, rep=rep, jobs=None, progress=False)
                t0 = time.perf_counter()
                corpus = prepare(data, cache_dir=cache, rep=rep, jobs=None, progress=False)
                return corpus, time.perf_counter() - t0

        parse_pretty(), parse_symusic()        # warm the page cache and the imports
        for _ in range(args.repeat):
            for name, fn in (("pretty_midi parse", parse_pretty), ("symusic parse", parse_symusic),
                             ("cold, 1 job, before", cold_before), ("cold, 1 job", lambda: cold(1)),
                             (f"cold, {cores} jobs", lambda: cold(None))):
                t0 = time.perf_counter()
                out = fn()
                times[name].append(time.perf_counter() - t0)
                if name == "cold, 1 job":
                    corpus = out
            again, seconds = cached()
            times["cached"].append(seconds)
            for method, seconds_list in starts.items():
                seconds_list.append(pool_start(method, cores))
    load.append(os.getloadavg()[0])
    summary = corpus.summary()
    files = summary["files_found"]
    med = {k: statistics.median(v) for k, v in times.items()}
    per_file = med["cold, 1 job"] / files
    melody, _, _ = corpus.augmented()
    out = {"data": args.data, "copies": args.copies, "representation": vars(rep), "cores": cores,
           "repeat": args.repeat, "load_average_1min_before_after": [round(x, 2) for x in load],
           "files_found": files, "files_used": summary["files_used"], "skipped": summary["skipped"],
           "phrases": summary["phrases"], "phrases_augmented": len(melody),
           "cached_run_reread": again.reread, "cached_phrases_match": len(again.melody) == summary["phrases"],
           "runs": {name: {"seconds": round(s, 3), "files_per_second": round(files / s, 1),
                           "seconds_per_1000_files": round(1000 * s / max(files, 1), 3)}
                    for name, s in med.items()},
           "cold_over_pretty_midi_parse": {name: round(med[name] / med["pretty_midi parse"], 3)
                                           for name in ("cold, 1 job, before", "cold, 1 job", f"cold, {cores} jobs")},
           "symusic_over_pretty_midi_parse": round(med["symusic parse"] / med["pretty_midi parse"], 4),
           "worker_start_seconds": {m: round(statistics.median(v), 3) for m, v in starts.items()},
           "break_even_files_per_worker": {m: round(statistics.median(v) / per_file) for m, v in starts.items()}}

    print(f"{files} MIDI files ({args.copies} x {args.data}), {summary['files_used']} used, {cores} cores, load "
          f"average {load[0]:.2f} before / {load[1]:.2f} after (others' work skews times)")
    print(f"\n{'run':<20} {'seconds':>9} {'files/s':>9} {'s/1000 files':>13}")
    for name, r in out["runs"].items():
        print(f"{name:<20} {r['seconds']:>9.2f} {r['files_per_second']:>9.1f} {r['seconds_per_1000_files']:>13.2f}")
    for name, ratio in out["cold_over_pretty_midi_parse"].items():
        print(f"prepare {name} / pretty_midi parse: {ratio:.3f}")
    for m in starts:
        print(f"{cores} workers {m}ed: {out['worker_start_seconds'][m]:.3f} s to start = "
              f"{out['break_even_files_per_worker'][m]} files read in process")
    print(f"cached run       re-read {again.reread} files, same phrases: {out['cached_phrases_match']}")
    for reason, n in summary["skipped"].items():
        print(f"  {n:>6}  {reason}")
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
