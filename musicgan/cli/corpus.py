"""`python -m musicgan corpus`: rebuild the bundled Bach chorale MIDI corpus from music21."""

import json


def run(args):
    from ..data.chorales import export_chorales

    result = export_chorales(args.out, jobs=args.jobs, limit=args.limit, progress=not args.quiet)
    print(json.dumps(result, indent=1))
    return 0


def add_parser(sub):
    p = sub.add_parser("corpus", help="rebuild the bundled Bach chorale MIDI corpus from music21",
                       description="Export the Bach chorales shipped with music21 to MIDI, one "
                       "track per voice, the soprano named as the melody. Output is reproducible.")
    p.add_argument("--out", default="data/chorales", help="output folder (default: data/chorales)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--limit", type=int, help="export only the first N chorales")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
