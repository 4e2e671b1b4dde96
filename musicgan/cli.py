"""`python -m musicgan COMMAND`: the command line, with errors shown as one readable line."""

import argparse
import json
import sys
from pathlib import Path

from . import __version__


def _prepare(args):
    from .config import Representation
    from .dataset import format_summary, prepare

    corpus = prepare(args.data, args.cache, Representation(chord_source=args.chord_source),
                     jobs=args.jobs, progress=not args.quiet)
    summary = corpus.summary()
    print(format_summary(summary))
    cache = Path(args.cache) if args.cache else Path(args.data) / "cache"
    print(f"per-file report: {cache / 'report.json'}")
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["files_used"] else 1


def _corpus(args):
    from .corpus import export_chorales

    result = export_chorales(args.out, jobs=args.jobs, limit=args.limit, progress=not args.quiet)
    print(json.dumps(result, indent=1))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m musicgan",
        description="Learn melodies over chords from a MIDI corpus and write new songs.")
    parser.add_argument("--version", action="version", version=f"musicgan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("prepare", help="read a MIDI folder into cached training phrases and report",
                       description="Read every *.mid/*.midi under --data (recursively, in parallel), "
                       "pick the melody, recognise one chord per beat, cut phrases and cache them. "
                       "Bad files are skipped with a reason; a second run re-reads only changed files.")
    p.add_argument("--data", default="data", help="folder of MIDI files (default: data)")
    p.add_argument("--cache", help="cache folder (default: DATA/cache)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--chord-source", choices=("accompaniment", "all"), default="accompaniment",
                   help="recognise chords from the non-melody tracks (default) or from all tracks")
    p.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_prepare)

    p = sub.add_parser("corpus", help="rebuild the bundled Bach chorale MIDI corpus from music21",
                       description="Export the Bach chorales shipped with music21 to MIDI, one "
                       "track per voice, the soprano named as the melody. Output is reproducible.")
    p.add_argument("--out", default="data/chorales", help="output folder (default: data/chorales)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--limit", type=int, help="export only the first N chorales")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_corpus)
    return parser


QUICK = {"epochs": 3, "sample_every": 1, "save_every": 1}


def build_train_parser():
    p = argparse.ArgumentParser(
        prog="python train.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the conditional GAN on every MIDI file under --data and write "
        "generator.h5, discriminator.h5, gan.h5, config.json, training_log.csv, samples/ and "
        "checkpoints/ to --models.",
        epilog="Batch semantics: an iteration is one mini-batch of B phrases (one discriminator "
        "step; a generator step every --d-steps iterations); an epoch is ceil(N/B) iterations "
        "(floor with --drop-remainder), N = phrases after transposition. Larger batches take "
        "fewer, less noisy steps and want a larger learning rate: --lr-scaling linear multiplies "
        "the base rates by B/reference batch (sqrt: by its square root), ramped up linearly over "
        "--warmup-epochs. Ctrl-C saves a checkpoint; --resume continues exactly where it stopped.")
    p.add_argument("--data", default="data", help="folder of MIDI files, searched recursively (default: data)")
    p.add_argument("--models", default="models", help="output folder for models and logs (default: models)")
    p.add_argument("--cache", help="phrase cache folder (default: DATA/cache)")
    p.add_argument("--config", help="JSON file of overrides, e.g. {\"train\": {\"loss\": \"wgan-gp\"}, "
                   "\"model\": {\"width\": 64}}")
    p.add_argument("--epochs", type=int, help="passes over the data (default: 40)")
    p.add_argument("--batch-size", type=int, help="phrases per mini-batch B (default: 64)")
    p.add_argument("--seed", type=int, help="seed of shuffling, noise and initial weights (default: 0)")
    p.add_argument("--loss", choices=("nonsaturating", "wgan-gp"),
                   help="non-saturating with label smoothing + feature matching (default), or WGAN-GP")
    p.add_argument("--d-steps", type=int, help="discriminator steps per generator step (default: 1)")
    p.add_argument("--lr-scaling", choices=("none", "linear", "sqrt"),
                   help="scale the learning rates by batch size / reference batch (default: none)")
    p.add_argument("--drop-remainder", action="store_true", help="drop the last partial batch of each epoch")
    p.add_argument("--resume", action="store_true", help="continue the run in --models from its last checkpoint")
    p.add_argument("--fresh", action="store_true", help="delete --models/checkpoints and start over")
    p.add_argument("--quick", action="store_true",
                   help="a short run (3 epochs, samples and .h5 every epoch) to see the whole loop work")
    p.add_argument("--jobs", type=int, help="processes reading MIDI (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def train_config(args):
    """Defaults, then --quick, then --config JSON, then explicit flags (later wins)."""
    from .config import Config, config_from_dict

    data = Config().to_dict()
    if args.quick:
        data["train"].update(QUICK)
    if args.config:
        overrides = json.loads(Path(args.config).read_text())
        for part, values in overrides.items():
            if part not in data or not isinstance(values, dict):
                raise ValueError(f"{args.config}: unknown section {part!r}; known: {', '.join(data)}")
            data[part].update(values)
    flags = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed, "loss": args.loss,
             "d_steps": args.d_steps, "lr_scaling": args.lr_scaling,
             "drop_remainder": args.drop_remainder or None}
    data["train"].update({k: v for k, v in flags.items() if v is not None})
    return config_from_dict(data)


def _train(args):
    from .training import train

    cfg = train_config(args)
    train(cfg, args.data, args.models, args.cache, resume=args.resume, fresh=args.fresh,
          progress=not args.quiet, jobs=args.jobs)
    print(f"models written to {args.models}/")
    return 0


def train_main(argv=None):
    return run(_train, build_train_parser().parse_args(argv))


def run(run_fn, args):
    """Call `run_fn(args)`; turn expected failures into one line on stderr and an exit code."""
    try:
        return run_fn(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def main(argv=None):
    args = build_parser().parse_args(argv)
    return run(args.run, args)
