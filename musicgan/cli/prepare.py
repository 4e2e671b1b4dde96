"""`python -m musicgan prepare`: read a MIDI folder into cached phrases and print what was used and skipped."""

import json
from pathlib import Path

from ..core.config import Representation


def run(args):
    from ..data import cache as phrase_cache
    from ..data.corpus import format_summary, prepare

    rep = Representation(melody_chord_weight=args.melody_chord_weight)
    corpus = prepare(args.data, args.cache, rep, jobs=args.jobs, progress=not args.quiet)
    summary = corpus.summary()
    print(format_summary(summary))
    cache = Path(args.cache) if args.cache else Path(args.data) / "cache"
    print(f"per-file report: {phrase_cache.entry_dir(cache, rep) / 'report.json'}")
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["files_used"] else 1


def add_parser(sub):
    p = sub.add_parser("prepare", help="read a MIDI folder into cached training phrases and report",
                       description="Read every *.mid/*.midi under --data (recursively, in parallel), "
                       "pick the melody, recognise one chord per beat, cut phrases and cache them. "
                       "Bad files are skipped with a reason; a second run re-reads only changed files.")
    p.add_argument("--data", default="data/chorales", help="folder of MIDI files (default: data/chorales)")
    p.add_argument("--cache", help="cache folder (default: DATA/cache)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--melody-chord-weight", type=float, default=Representation.melody_chord_weight,
                   help="how much the melody counts in chord recognition against the other tracks: "
                   f"0 = accompaniment only, 1 = all voices alike (default: {Representation.melody_chord_weight})")
    p.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
