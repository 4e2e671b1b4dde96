"""`python -m musicgan evaluate`: a trained model against held-out songs and baselines."""

import json
from pathlib import Path

from .. import quiet_tensorflow_import
from ..core.constants import MODELS_DIR
from ..core.errors import UserError


def run(args):
    from ..core.files import write_text
    from ..evaluate.chart import evaluation_png
    from ..evaluate.report import evaluate, format_report
    from ..evaluate.typed import PROGRESSIONS, read_progressions

    if args.seeds < 2 or args.windows < 1:
        raise UserError("--seeds must be at least 2 (diversity compares melodies) and --windows at least 1")
    progressions = read_progressions(args.progressions) if args.progressions else PROGRESSIONS if args.typed else None
    quiet_tensorflow_import()
    report = evaluate(args.models, args.data, args.cache, seeds=args.seeds, seed=args.seed,
                      max_windows=args.windows, progressions=progressions)
    print(format_report(report))
    out = Path(args.out) if args.out else Path(args.models) / "evaluation.json"
    write_text(out, json.dumps(report, indent=1))
    evaluation_png(report, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')} in {report['seconds']:.0f} s")
    bars = [report["bar"]] + ([report["typed"]["bar"]] if "typed" in report else [])
    return 0 if all(c["ok"] for bar in bars for c in bar) or not args.strict else 1


def add_parser(sub):
    p = sub.add_parser("evaluate", help="score a trained model against held-out songs and simple baselines",
                       description="Generate melodies over the chords of the songs training held out "
                       "(config.json's train.holdout and holdout_by), in every key, and score them with the same "
                       "metrics as the held-out melodies themselves, the LSTM rival in MODELS/lstm/ when there is one, "
                       "and five baselines (uniform random notes, random notes in the key, random chord tones, a "
                       "first-order Markov chain fitted on the training songs, and one that also reads the chord and "
                       "the beat). Prints one table and the quality bar, writes the "
                       "report as JSON and a chart as PNG.",
                       epilog="Columns: chord/strong = share of melody time on chord tones (all / beats 1 "
                       "and 3); empty = empty bars; entropy = pitch-class entropy (bits); interval = mean "
                       "|semitones| between notes; leaps = steps over an octave; scale = best fit to one "
                       "major/minor scale; range = semitones; 16ths = notes one grid step long; divers = "
                       "how much melodies over the same chords differ; copy bars / copies = longest run "
                       "found verbatim in the training songs (any key) and the share of melodies copying "
                       ">= 2 bars; 2-sample = held-out accuracy of a classifier telling the row from real "
                       "phrases (0.5: cannot tell); distance = mean normalised distance to the real row.")
    p.add_argument("--models", default=f"{MODELS_DIR}/chorales",      # the model of the bundled corpus
                   help=f"folder with generator.h5 and config.json, and optionally lstm/ with the rival LSTM "
                   f"(default: {MODELS_DIR}/chorales, the model of the default --data)")
    p.add_argument("--data", default="data/chorales", help="the corpus the model was trained on (default: data/chorales)")
    p.add_argument("--cache", help="phrase cache folder (default: DATA/cache)")
    p.add_argument("--out", help="report JSON; the chart goes next to it as .png (default: MODELS/evaluation.json)")
    p.add_argument("--seeds", type=int, default=4, help="melodies per chord window (default: 4)")
    p.add_argument("--windows", type=int, default=2048, help="at most this many chord windows (default: 2048)")
    p.add_argument("--seed", type=int, default=0, help="seed of window choice, noise and baselines (default: 0)")
    p.add_argument("--typed", action="store_true", help="also judge songs over typed progressions, one chord a "
                   "bar (15 common ones in several keys), in each meter, against the held-out melodies")
    p.add_argument("--progressions", help="like --typed, over the progressions in FILE, one a line")
    p.add_argument("--strict", action="store_true", help="exit with status 1 unless the model meets the bar")
    p.set_defaults(run=run)
