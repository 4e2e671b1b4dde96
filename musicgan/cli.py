"""`python -m musicgan COMMAND`: the command line, with errors shown as one readable line."""

import argparse
import json
import sys
from pathlib import Path

from . import __version__, quiet_tensorflow_import
from .config import HOLDOUT_BY
from .constants import STRATEGIES, WORKER_TIMEOUT


def _prepare(args):
    from .config import Representation
    from .dataset import format_summary, prepare

    corpus = prepare(args.data, args.cache, Representation(melody_chord_weight=args.melody_chord_weight),
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


def _audition(args):
    from .audio import fallback_note
    from .audition import build_page, render_missing

    if not Path(args.folder).is_dir():
        raise ValueError(f"{args.folder} is not a folder")
    if args.render:
        written, methods, skipped = render_missing(args.folder, args.sample_rate)
        for note in sorted(filter(None, map(fallback_note, methods))):
            print(note)
        for name, reason in skipped:
            print(f"skipped {name}: {reason}")
        print(f"rendered {len(written)} files")
    print(f"wrote {build_page(args.folder)}")
    return 0


def _evaluate(args):
    from .evaluate import evaluate, format_report
    from .files import write_text
    from .plots import evaluation_png

    if args.seeds < 2 or args.windows < 1:
        raise ValueError("--seeds must be at least 2 (diversity compares melodies) and --windows at least 1")
    quiet_tensorflow_import()
    report = evaluate(args.models, args.data, args.cache, seeds=args.seeds, seed=args.seed,
                      max_windows=args.windows)
    print(format_report(report))
    out = Path(args.out) if args.out else Path(args.models) / "evaluation.json"
    write_text(out, json.dumps(report, indent=1))
    evaluation_png(report, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')} in {report['seconds']:.0f} s")
    return 0 if all(c["ok"] for c in report["bar"]) or not args.strict else 1


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
    p.add_argument("--melody-chord-weight", type=float, default=0.5,
                   help="how much the melody counts in chord recognition against the other tracks: "
                   "0 = accompaniment only, 1 = all voices alike (default: 0.5)")
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

    p = sub.add_parser("audition", help="write FOLDER/index.html to listen to and compare generated songs",
                       description="Write FOLDER/index.html: for every *.mid in FOLDER (sorted) an audio "
                       "player for NAME.wav, the piano roll NAME.png, the metadata of NAME.json and a "
                       "download link. A static page with no external resources: open it in a browser "
                       "or serve the folder with `python -m http.server`.")
    p.add_argument("folder", help="folder of generated .mid files (e.g. out)")
    p.add_argument("--render", action="store_true",
                   help="first write the missing .wav (FluidSynth, else sine waves) and .png files")
    p.add_argument("--sample-rate", type=int, default=22050, help="sample rate of rendered .wav (default: 22050)")
    p.set_defaults(run=_audition)

    p = sub.add_parser("evaluate", help="score a trained model against held-out songs and simple baselines",
                       description="Generate melodies over the chords of the songs training held out "
                       "(config.json's train.holdout and holdout_by), in every key, and score them with the same "
                       "metrics as the held-out melodies themselves and four baselines (uniform random "
                       "notes, random notes in the key, random chord tones, a first-order Markov chain "
                       "fitted on the training songs). Prints one table and the quality bar, writes the "
                       "report as JSON and a chart as PNG.",
                       epilog="Columns: chord/strong = share of melody time on chord tones (all / beats 1 "
                       "and 3); empty = empty bars; entropy = pitch-class entropy (bits); interval = mean "
                       "|semitones| between notes; leaps = steps over an octave; scale = best fit to one "
                       "major/minor scale; range = semitones; 16ths = notes one grid step long; divers = "
                       "how much melodies over the same chords differ; copy bars / copies = longest run "
                       "found verbatim in the training songs (any key) and the share of melodies copying "
                       ">= 2 bars; 2-sample = held-out accuracy of a classifier telling the row from real "
                       "phrases (0.5: cannot tell); distance = mean normalised distance to the real row.")
    p.add_argument("--models", default="models", help="folder with generator.h5 and config.json (default: models)")
    p.add_argument("--data", default="data", help="the corpus the model was trained on (default: data)")
    p.add_argument("--cache", help="phrase cache folder (default: DATA/cache)")
    p.add_argument("--out", help="report JSON; the chart goes next to it as .png (default: MODELS/evaluation.json)")
    p.add_argument("--seeds", type=int, default=4, help="melodies per chord window (default: 4)")
    p.add_argument("--windows", type=int, default=2048, help="at most this many chord windows (default: 2048)")
    p.add_argument("--seed", type=int, default=0, help="seed of window choice, noise and baselines (default: 0)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 unless the model meets the bar")
    p.set_defaults(run=_evaluate)
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
        "(floor with --drop-remainder), N = phrases after transposition. B is the global batch: with R "
        "replicas (--strategy) each takes B/R phrases of every batch, and the run gives the weights one "
        "replica would with the same B and seed. Larger batches take fewer, less noisy steps and want a "
        "larger learning rate: --lr-scaling linear multiplies the base rates by B/64 (the reference "
        "batch; sqrt: by its square root), ramped up linearly over the warmup epochs. The default, "
        "auto, is linear when several replicas share a B above 64 and none otherwise, so one-replica "
        "runs train as they always did; to compare a distributed run with a one-replica run, give "
        "both the same explicit --lr-scaling. Ctrl-C saves a checkpoint; --resume continues exactly "
        "where it stopped.\n\nSeveral machines: run the same command on each, e.g. "
        "--strategy multiworker --workers host1:2222,host2:2222 --task-index 0 (1 on host2), or set "
        "TF_CONFIG instead; see README.md.")
    p.add_argument("--data", default="data", help="folder of MIDI files, searched recursively (default: data)")
    p.add_argument("--models", default="models", help="output folder for models and logs (default: models)")
    p.add_argument("--cache", help="phrase cache folder (default: DATA/cache)")
    p.add_argument("--config", help="JSON file of overrides, e.g. {\"train\": {\"loss\": \"wgan-gp\"}, "
                   "\"model\": {\"width\": 64}}")
    p.add_argument("--epochs", type=int, help="passes over the data (default: 40)")
    p.add_argument("--batch-size", type=int, help="phrases per mini-batch B (default: 64)")
    p.add_argument("--seed", type=int, help="seed of shuffling, noise and initial weights (default: 0)")
    p.add_argument("--loss", choices=("nonsaturating", "wgan-gp"),
                   help="WGAN-GP (default) or non-saturating with label smoothing + feature matching")
    p.add_argument("--d-steps", type=int, help="discriminator steps per generator step (default: 1)")
    p.add_argument("--lr-scaling", choices=("auto", "none", "linear", "sqrt"),
                   help="scale the learning rates by batch size / reference batch (default: auto, below)")
    p.add_argument("--drop-remainder", action="store_true", help="drop the last partial batch of each epoch")
    p.add_argument("--holdout", type=float, help="share of songs kept out of training so that `python -m "
                   "musicgan evaluate` can judge the model on music it never saw (default: 0.15; "
                   "corpora under 20 songs keep every song)")
    p.add_argument("--holdout-by", choices=HOLDOUT_BY,
                   help="keep out whole tune families, so songs sharing a 3-bar passage in any key (one hymn "
                   "tune set twice, a song and its cover) stay on one side (default: tune), or single songs")
    p.add_argument("--resume", action="store_true", help="continue the run in --models from its last checkpoint")
    p.add_argument("--fresh", action="store_true", help="delete --models/checkpoints and start over")
    p.add_argument("--quick", action="store_true",
                   help="a short run to see the whole loop work: 3 epochs (about 2 minutes on 2 cores), "
                   "samples and .h5 every epoch")
    p.add_argument("--jobs", type=int, help="processes reading MIDI (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    dp = p.add_argument_group(
        "differential privacy", "--dp trains the discriminator with DP-SGD: every batch is a Poisson sample "
        "(each privacy unit joins independently with probability q = B/N, so batch sizes vary around B and an "
        "epoch is ceil(N/B) steps), each unit's gradient is clipped to L2 norm C, Gaussian noise N(0, σ²C²) "
        "is added to the sum, divided by B. The generator sees only D and public chord progressions, so "
        "the models are (ε, δ)-DP for the unit; ε is printed each epoch (RDP, PLD, basic composition). "
        "Feature matching reads real data in the generator step, so --dp turns it off; the best-model "
        "pick (models/best) is skipped. See README, 'Training on private music'.")
    dp.add_argument("--dp", action="store_true", help="train the discriminator with DP-SGD")
    dp.add_argument("--dp-noise-multiplier", type=float, metavar="σ",
                    help="noise std over the clip norm (default: 1.0)")
    dp.add_argument("--dp-l2-clip", type=float, metavar="C", help="per-unit gradient L2 clip norm (default: 1.0)")
    dp.add_argument("--dp-delta", type=float, metavar="δ", help="δ of (ε, δ); must be below 1/N (default: 1e-5)")
    dp.add_argument("--dp-target-epsilon", type=float, metavar="ε",
                    help="stop before the epoch that would take ε past this (default: run all epochs)")
    dp.add_argument("--dp-unit", choices=("phrase", "song"),
                    help="what one contribution is: a phrase with its 12 transpositions (default), or a whole "
                    "song (all its phrases in or out together; one random phrase of a drawn song per step)")
    g = p.add_argument_group("distributed training (tf.distribute)")
    g.add_argument("--strategy", choices=STRATEGIES, default="auto",
                   help="default: this process on one device; mirrored: the devices of this machine; "
                   "multiworker: several machines; auto (default): multiworker if --workers or TF_CONFIG "
                   "names a cluster, mirrored with several GPUs, else default")
    g.add_argument("--replicas", type=int, help="mirrored: how many GPUs, or without GPUs how many logical "
                   "devices to split the CPU into (default: all GPUs, or 2)")
    g.add_argument("--workers", help="multiworker: every machine's host:port, the same list on each "
                   "(instead of TF_CONFIG)")
    g.add_argument("--task-index", type=int, help="multiworker: this machine's place in --workers (0 is the "
                   "chief, the only one that writes --models)")
    g.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT,
                   help="multiworker: seconds to wait for all workers to start before stopping; a worker "
                   f"that dies later is noticed by its missing heartbeats (default: {WORKER_TIMEOUT})")
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
             "drop_remainder": args.drop_remainder or None, "holdout": args.holdout,
             "holdout_by": args.holdout_by}
    data["train"].update({k: v for k, v in flags.items() if v is not None})
    private = {"dp": args.dp or None, "noise_multiplier": args.dp_noise_multiplier, "l2_clip": args.dp_l2_clip,
               "delta": args.dp_delta, "target_epsilon": args.dp_target_epsilon, "unit": args.dp_unit}
    data["privacy"].update({k: v for k, v in private.items() if v is not None})
    if data["privacy"]["dp"] and not (args.config and "feature_matching" in overrides.get("train", {})):
        data["train"]["feature_matching"] = 0.0      # it reads real data outside the private D step
    return config_from_dict(data)


def _train(args):
    from .distribute import make_strategy
    from .training import train

    cfg = train_config(args)
    strategy = make_strategy(args.strategy, args.workers, args.task_index, args.replicas, args.worker_timeout)
    train(cfg, args.data, args.models, args.cache, resume=args.resume, fresh=args.fresh,
          progress=not args.quiet, jobs=args.jobs, command=" ".join(["python train.py", *sys.argv[1:]]),
          strategy=strategy)
    print(f"models written to {args.models}/")
    best = Path(args.models) / "best"
    if (best / "config.json").exists():          # it met more of the bar than the last epoch (docs/experiments.md)
        epoch = json.loads((best / "config.json").read_text()).get("epochs_trained")
        print(f"the generator closest to the corpus by the quality watch (epoch {epoch}) is in {best}/: "
              f"python generate.py --models {best} --chords ...")
    return 0


def train_main(argv=None):
    args = build_train_parser().parse_args(argv)
    quiet_tensorflow_import()
    return run(_train, args)


def build_generate_parser():
    p = argparse.ArgumentParser(
        prog="python generate.py",
        description="Write songs over a chord progression with a trained generator: a MIDI file with "
        "a 'Melody' track and a 'Chords' track, plus a JSON sidecar (chords, seed, model).",
        epilog='Chords: "C G Am F" is one chord a bar; "C G | Am F" puts chords between bar lines '
        "(up to 4 a bar). Accepted: a root A-G with # or b, then nothing (major), m, 7, m7, maj7, "
        "dim, aug, sus2, sus4, 6, m6, m7b5, dim7 (or another music21 kind such as 9), an optional "
        "/bass, or N.C. The progression repeats to fill --bars.")
    p.add_argument("--chords", help='chord progression, e.g. "C G Am F" or "Dm7 G7 | Cmaj7"')
    p.add_argument("--chords-file", help="read the progression from a text file instead")
    p.add_argument("--bars", type=int, default=16, help="length of the song in 4/4 bars (default: 16)")
    p.add_argument("--out", default="out/song.mid", help="MIDI file to write (default: out/song.mid); "
                   "with --num-samples N: out/song_01.mid ...")
    p.add_argument("--models", default="models", help="folder with generator.h5 and config.json (default: models)")
    p.add_argument("--num-samples", type=int, default=1, help="how many songs (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same song (default: 0)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="sampling temperature: 1 follows the model, lower is safer, 0 always takes the "
                   "most likely token (default: 1.0)")
    p.add_argument("--bpm", type=float, default=100.0, help="tempo in beats per minute (default: 100)")
    p.add_argument("--key", help="transpose the progression from C: a note name (D, Bb) or semitones (-3)")
    p.add_argument("--accompaniment", choices=("block", "arpeggio", "none"), default="block",
                   help="how the Chords track plays the progression (default: block)")
    p.add_argument("--melody-program", type=int, default=0, help="General MIDI program of the melody (0-127)")
    p.add_argument("--chord-program", type=int, default=0, help="General MIDI program of the chords (0-127)")
    p.add_argument("--wav", action="store_true", help="also render each song to .wav (FluidSynth, else sine)")
    p.add_argument("--png", action="store_true", help="also draw each song's piano roll as .png")
    return p


def _generate(args):
    from .generation import generate_songs

    if bool(args.chords) == bool(args.chords_file):
        raise ValueError("give the progression with --chords \"C G Am F\" or --chords-file FILE (one of them)")
    for name in ("melody_program", "chord_program"):
        if not 0 <= getattr(args, name) <= 127:
            raise ValueError(f"--{name.replace('_', '-')} must be a General MIDI program 0-127")
    if args.num_samples < 1:
        raise ValueError("--num-samples must be at least 1")
    text = Path(args.chords_file).read_text() if args.chords_file else args.chords
    songs = generate_songs(text, args.models, args.bars, args.out, args.num_samples, args.seed,
                           args.temperature, args.bpm, args.accompaniment, args.melody_program,
                           args.chord_program, args.key)
    _render_extras([p for p, _ in songs], args.wav, args.png)
    for path, meta in songs:
        print(f"wrote {path}  ({meta['bars']} bars at {meta['bpm']:g} bpm, seed {meta['seed']})")
    return 0


def _render_extras(paths, wav, png):
    """Render .wav / .png next to each MIDI file (the audio and plotting modules load only when asked)."""
    if wav:
        from .audio import fallback_note, write_wav

        notes = {fallback_note(write_wav(path, path.with_suffix(".wav"))) for path in paths} - {None}
        for note in notes:
            print(note)
    if png:
        from .audition import read_sidecar
        from .plots import piano_roll_png

        for path in paths:
            piano_roll_png(path, path.with_suffix(".png"), chord_names=read_sidecar(path).get("beat_chords"),
                           title=path.name)


def generate_main(argv=None):
    args = build_generate_parser().parse_args(argv)     # TensorFlow loads only if numpy cannot run the model
    return run(_generate, args)


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
