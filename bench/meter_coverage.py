"""How much of a mixed collection in many meters `prepare` uses, and how many onsets the 16th grid moves.

The collection is made from what music21 ships, none of it the training corpora: works of its
classical corpus (Monteverdi madrigals, Haydn, Mozart and Beethoven quartets and sonatas,
trecento songs, Josquin, Palestrina, Joplin, Handel, Corelli, ...) written to MIDI by music21's own
writer, as a user's files would come from a notation program. Prints the share of files used,
every skip reason, phrases per meter, and the share of note onsets that lie off the 16th-note
grid (triplets, quintuplets, grace notes), measured on the grid `prepare` builds.

    python -m bench.meter_coverage [--files 75] [--out bench/meter_coverage.json]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musicgan.data.corpus import prepare
from musicgan.data.grid import SkipSong, song_grid
from musicgan.io.midi import MidiError, read_song

COMPOSERS = {"monteverdi": 14, "haydn": 6, "mozart": 8, "beethoven": 8, "trecento": 12, "josquin": 4,
             "palestrina": 10, "joplin": 1, "handel": 1, "corelli": 1, "cpebach": 1, "schubert": 1,
             "verdi": 1, "weber": 1, "luca": 1, "ciconia": 1, "demos": 4}


def build(out, per_composer, seed=0):
    """Write up to `per_composer[name]` works of each composer as MIDI under `out`; returns what failed."""
    from music21 import converter, corpus

    rng = np.random.default_rng(seed)
    failed = {}
    for name, n in per_composer.items():
        paths = sorted(str(p) for p in corpus.getComposer(name))
        for path in rng.permutation(paths)[:n]:
            target = out / f"{name}_{Path(path).stem}.mid"
            try:
                converter.parse(path).write("midi", fp=str(target))
            except Exception as e:  # noqa: BLE001 - music21's writer fails on some scores; counted
                failed[target.name] = f"{type(e).__name__}: {str(e)[:60]}"
    return failed


def off_grid(folder):
    """(onsets more than a 32nd from the nearest 16th, all onsets) over the readable files."""
    off = total = 0
    for path in sorted(folder.glob("*.mid")):
        try:
            song = read_song(path)
            grid = song_grid(song)
        except (MidiError, SkipSong):
            continue
        for t in song.tracks:
            if t.is_drum:
                continue
            where = np.interp(t.starts, grid.times, np.arange(len(grid.times)))
            off += int((np.abs(where - np.rint(where)) > 0.25).sum())
            total += len(where)
    return off, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of works per composer")
    parser.add_argument("--out", default=str(Path(__file__).with_name("meter_coverage.json")))
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        failed = build(folder, {k: max(1, round(v * args.scale)) for k, v in COMPOSERS.items()})
        corpus = prepare(folder, folder / "cache", jobs=1, progress=False)
        summary = corpus.summary()
        off, onsets = off_grid(folder)
    used = summary["files_used"] / max(summary["files_found"], 1)
    result = {"files_written": summary["files_found"], "music21_could_not_write": failed,
              "files_used": summary["files_used"], "share_used": round(used, 3), "skipped": summary["skipped"],
              "phrases_per_meter": summary["phrases_per_meter"], "onsets": onsets,
              "onsets_off_the_16th_grid": off, "share_off_grid": round(off / max(onsets, 1), 4),
              "seconds": round(time.perf_counter() - t0, 1)}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"prepare used {summary['files_used']} of {summary['files_found']} files ({used:.0%}); "
          f"music21 could not write {len(failed)} more")
    for reason, n in summary["skipped"].items():
        print(f"  skipped {n:3d}: {reason}")
    print("phrases per meter: " + ", ".join(f"{m} {n}" for m, n in summary["phrases_per_meter"].items()))
    print(f"onsets off the 16th grid (more than a 32nd away): {off} of {onsets} ({off / max(onsets, 1):.2%})")
    print(f"wrote {args.out} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
