"""`python -m musicgan corpus`: build a MIDI corpus from what music21 ships (Bach chorales, folk tunes)."""

import json

SOURCES = ("chorales", "folk")
DEFAULT_OUT = {"chorales": "data/chorales", "folk": "data/folk"}


def run(args):
    from ..data.chorales import export_chorales
    from ..data.folk import export_folk

    export = {"chorales": export_chorales, "folk": export_folk}[args.source]
    result = export(args.out or DEFAULT_OUT[args.source], jobs=args.jobs, limit=args.limit, progress=not args.quiet)
    print(json.dumps({k: v for k, v in result.items() if k != "skipped tunes"}, indent=1))
    return 0


def add_parser(sub):
    p = sub.add_parser("corpus", help="build a MIDI corpus from music21: Bach chorales or 12,500 folk tunes",
                       description="--source chorales: the Bach chorales shipped with music21, one track per "
                       "voice, the soprano named as the melody. --source folk: the ABC folk tunes music21 ships "
                       "(Essen, O'Neill's, Ryan's, Aird's), one melody track each, meters, pickups and keys kept, "
                       "repeats played out (data/folk/README.md). Output is reproducible; a finished folk build "
                       "is not redone.")
    p.add_argument("--source", choices=SOURCES, default="chorales", help="which corpus (default: chorales)")
    p.add_argument("--out", help="output folder (default: data/chorales or data/folk)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--limit", type=int, help="export only the first N chorales, or N tunes of each folk collection")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
